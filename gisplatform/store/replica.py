"""A streaming replica of the embedded cluster, on another port, for reads.

``replica/`` in the primary's data directory holds a second cluster made with
``pg_basebackup`` over a replication connection as ``gisplatform_replication`` (LOGIN
REPLICATION, nothing else; its password in ``replica/replication.json``, mode 0600), through a
physical replication slot so the primary keeps the WAL a stopped replica still needs (bounded
by ``max_slot_wal_keep_size``). The replica is a hot standby: every role of the primary, with
the same passwords, logs in to it read-only, so the API's URL for it differs only in the port.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from gisplatform.errors import ConfigurationError, DatabaseUnavailable
from gisplatform.i18n import message
from gisplatform.store.embedded import HOST, EmbeddedCluster, find_postgres_bin_dir
from gisplatform.store.roles import API_ROLE

REPLICATION_ROLE = "gisplatform_replication"
SLOT_NAME = "gisplatform_replica"
#: on a standby: the replayed LSN, and the seconds its replay is behind (0 when it has
#: replayed all it received; else the age of the last replayed commit)
REPLICA_LAG_SQL = (
    "SELECT pg_last_wal_replay_lsn()::text, CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT"
    " FROM pg_last_wal_replay_lsn() THEN 0 ELSE coalesce(extract(epoch FROM now() -"
    " pg_last_xact_replay_timestamp()), 0) END::float8"
)


@dataclass(frozen=True)
class ReplicaStatus:
    """What ``db replica status`` reports."""

    running: bool
    port: int
    data_dir: Path
    api_url: str | None
    replay_lsn: str | None
    primary_lsn: str | None
    lag_bytes: int | None
    lag_seconds: float | None

    def as_json(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data["data_dir"] = str(self.data_dir)
        return data


def replica_cluster(primary: EmbeddedCluster, port: int) -> EmbeddedCluster:
    """The replica's cluster object (its own data directory, port and socket; no archiving)."""
    return EmbeddedCluster(primary.data_dir / "replica", port, primary.db_name, archive=False)


def _replication_password(primary: EmbeddedCluster) -> str:
    path = primary.data_dir / "replica-replication.json"
    if path.is_file():
        return str(json.loads(path.read_text())["password"])
    password = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"user": REPLICATION_ROLE, "password": password}, fh)
    return password


def _ensure_replication_role(primary: EmbeddedCluster, password: str) -> None:
    """The replication login and the slot on the primary (both idempotent)."""
    with psycopg.connect(primary.login_url(), autocommit=True) as conn:
        hashed = conn.pgconn.encrypt_password(password.encode(), REPLICATION_ROLE.encode())
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [REPLICATION_ROLE])
        verb = "ALTER" if exists.fetchone() else "CREATE"
        conn.execute(
            sql.SQL(
                verb + " ROLE {} LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}"
            ).format(sql.Identifier(REPLICATION_ROLE), sql.Literal(hashed.decode()))
        )
        slot = conn.execute(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [SLOT_NAME]
        ).fetchone()
        if slot is None:
            conn.execute("SELECT pg_create_physical_replication_slot(%s)", [SLOT_NAME])


def start_replica(primary: EmbeddedCluster, port: int) -> ReplicaStatus:
    """Make the replica (first time: a base backup of the running primary) and start it."""
    if primary.status().url is None:
        raise DatabaseUnavailable(message("embedded_not_running", path=primary.data_dir))
    if port == primary.port:
        raise ConfigurationError(message("replica_same_port", port=port))
    replica = replica_cluster(primary, port)
    password = _replication_password(primary)
    _ensure_replication_role(primary, password)
    if not (replica.pgdata / "PG_VERSION").is_file():
        replica.data_dir.mkdir(mode=0o700, exist_ok=True)
        replica.give_to_service_user(replica.data_dir)
        scratch = replica.data_dir / "pgdata.basebackup"
        if scratch.exists():
            replica.run_tool(["rm", "-rf", "--", str(scratch)])
        bin_dir = find_postgres_bin_dir()
        replica.run_tool(
            [
                *(str(bin_dir / "pg_basebackup"), "-h", HOST, "-p", str(primary.port)),
                *("-U", REPLICATION_ROLE, "-D", str(scratch), "-X", "stream"),
                *("-S", SLOT_NAME, "-R", "--checkpoint=fast", "--no-password"),
            ],
            {"PGPASSWORD": password},
        )
        _drop_recovery_targets(scratch / "postgresql.auto.conf")
        scratch.rename(replica.pgdata)
        shutil.copy2(primary.conn_file, replica.conn_file)
        replica.conn_file.chmod(0o600)
    replica.wait_started()
    return replica_status(primary, port)


def _drop_recovery_targets(auto_conf: Path) -> None:
    """A standby follows the primary for ever: no recovery target copied from the primary
    (a primary restored before ``backup.restore`` cleared them may still carry one)."""
    if not auto_conf.is_file():
        return
    lines = auto_conf.read_text().splitlines(keepends=True)
    kept = [line for line in lines if not line.lstrip().startswith("recovery_target")]
    if kept != lines:
        auto_conf.write_text("".join(kept))


def stop_replica(primary: EmbeddedCluster, port: int) -> None:
    """Stop the replica (its data stays; ``start`` resumes streaming where it left off)."""
    replica_cluster(primary, port).stop()


def lsn_int(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def replica_status(primary: EmbeddedCluster, port: int) -> ReplicaStatus:
    """Whether the replica runs, and how far behind the primary it is."""
    replica = replica_cluster(primary, port)
    status = replica.status()
    if status.url is None:
        return ReplicaStatus(False, status.port, replica.data_dir, None, None, None, None, None)
    with psycopg.connect(status.url, connect_timeout=5) as conn:
        row = conn.execute(REPLICA_LAG_SQL).fetchone()
    assert row is not None
    replay, lag_seconds = row
    primary_lsn = None
    if primary.status().url is not None:
        with psycopg.connect(primary.login_url(), connect_timeout=5) as conn:
            current = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        primary_lsn = current[0] if current else None
    lag_bytes = None
    if replay and primary_lsn:
        lag_bytes = max(0, lsn_int(primary_lsn) - lsn_int(replay))
    api_url = (
        replica.login_url(API_ROLE, status.port) if API_ROLE in replica.role_passwords() else None
    )
    return ReplicaStatus(
        True, status.port, replica.data_dir, api_url, replay, primary_lsn, lag_bytes, lag_seconds
    )
