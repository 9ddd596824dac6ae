"""Backups and point-in-time recovery of the embedded cluster with pgBackRest.

The cluster archives every WAL segment into the repository (see
:mod:`gisplatform.store.embedded`); a backup (full, differential or incremental, at block
level) plus that archive lets :func:`restore` bring the cluster back to any moment since the
oldest backup kept. A restore never writes over the live data directory: pgBackRest restores
into ``pgdata.restore`` beside it, the running server is stopped only when that has worked, the
directories are swapped, and the old one is deleted only once the restored cluster has started
and finished its recovery; if the restored cluster does not come up, the old one is put back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql

from gisplatform.errors import ConfigurationError, DatabaseUnavailable, GisPlatformError
from gisplatform.i18n import message
from gisplatform.store.embedded import ARCHIVE_TIMEOUT_S, EmbeddedCluster

log = logging.getLogger(__name__)

BackupType = Literal["full", "diff", "incr"]
BACKUP_TYPES: tuple[BackupType, ...] = ("full", "diff", "incr")
_PROMOTE_TIMEOUT_S = 600


class RestoreRefused(GisPlatformError):
    """``restore`` would overwrite a running database and was not forced."""


@dataclass(frozen=True)
class Backup:
    """One backup set in the repository."""

    label: str
    type: str
    started: datetime
    finished: datetime
    #: size of the database at backup time, and what this backup added to it
    database_bytes: int
    delta_bytes: int
    #: what this backup takes in the repository (compressed)
    repository_bytes: int
    wal_start: str
    wal_stop: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started"] = self.started.isoformat()
        data["finished"] = self.finished.isoformat()
        return data


@dataclass(frozen=True)
class ArchiveState:
    """How far the WAL archive reaches (the RPO: what a lost disk would cost now)."""

    last_archived_wal: str | None
    last_archived_at: datetime | None
    failed_count: int
    archive_timeout_s: int


@dataclass(frozen=True)
class RestoreReport:
    """What a restore did and how long it took (the RTO)."""

    backup_label: str | None
    target: str
    restore_seconds: float
    start_seconds: float
    total_seconds: float
    recovery_stop: str | None
    old_data_removed: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _require_pgbackrest(cluster: EmbeddedCluster) -> None:
    if not cluster.archiving:
        raise ConfigurationError(message("backup_no_pgbackrest"))


def _time(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def list_backups(cluster: EmbeddedCluster) -> list[Backup]:
    """The backup sets in the repository, oldest first."""
    _require_pgbackrest(cluster)
    if not (cluster.backup_repo / "backup" / cluster.stanza).is_dir():
        return []
    stanzas = json.loads(cluster.pgbackrest("info", "--output=json"))
    found: list[Backup] = []
    for stanza in stanzas:
        for item in stanza.get("backup", []):
            info = item["info"]
            found.append(
                Backup(
                    label=item["label"],
                    type=item["type"],
                    started=_time(item["timestamp"]["start"]),
                    finished=_time(item["timestamp"]["stop"]),
                    database_bytes=int(info["size"]),
                    delta_bytes=int(info["delta"]),
                    repository_bytes=int(info["repository"]["delta"]),
                    wal_start=item["archive"]["start"],
                    wal_stop=item["archive"]["stop"],
                )
            )
    return sorted(found, key=lambda b: b.finished)


def take_backup(cluster: EmbeddedCluster, kind: BackupType = "full") -> Backup:
    """Take a backup of the running cluster (an incremental one needs a full one first:
    pgBackRest then takes a full one instead). Returns the new backup set."""
    _require_pgbackrest(cluster)
    if kind not in BACKUP_TYPES:
        raise ConfigurationError(message("backup_bad_type", kind=kind))
    if cluster.status().url is None:
        raise DatabaseUnavailable(message("embedded_not_running", path=cluster.data_dir))
    before = {b.label for b in list_backups(cluster)}
    cluster.pgbackrest("backup", f"--type={kind}")
    new = [b for b in list_backups(cluster) if b.label not in before]
    if not new:
        raise DatabaseUnavailable(message("backup_not_found_after"))
    return new[-1]


def archive_state(cluster: EmbeddedCluster) -> ArchiveState | None:
    """The archiver's progress of the running cluster (None when it is not running)."""
    status = cluster.status()
    if status.url is None:
        return None
    with psycopg.connect(status.url, connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT last_archived_wal, last_archived_time, failed_count FROM pg_stat_archiver"
        ).fetchone()
    assert row is not None
    return ArchiveState(row[0], row[1], int(row[2]), ARCHIVE_TIMEOUT_S)


def _parse_target_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(message("restore_bad_time", value=value)) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # the local time zone, as a person typing it means
    return moment


def _restore_args(
    backups: list[Backup], to_time: str | None, to_backup: str | None
) -> tuple[list[str], str | None, str]:
    """pgBackRest's restore options, the backup set it will use, and the target described."""
    if not backups:
        raise ConfigurationError(message("restore_no_backups"))
    if to_time is not None and to_backup is not None:
        raise ConfigurationError(message("restore_one_target"))
    if to_backup is not None:
        if to_backup not in {b.label for b in backups}:
            raise ConfigurationError(message("restore_unknown_backup", label=to_backup))
        args = [f"--set={to_backup}", "--type=immediate", "--target-action=promote"]
        return args, to_backup, to_backup
    if to_time is not None:
        moment = _parse_target_time(to_time)
        usable = [b for b in backups if b.finished <= moment]
        if not usable:
            first = backups[0].finished.isoformat()
            raise ConfigurationError(message("restore_before_backups", first=first))
        target = moment.isoformat(sep=" ")
        args = [f"--set={usable[-1].label}", "--type=time", f"--target={target}"]
        return [*args, "--target-action=promote"], usable[-1].label, target
    return [], backups[-1].label, "latest"


def _remove_tree(cluster: EmbeddedCluster, path: Path) -> None:
    if path.exists():
        cluster.run_tool(["rm", "-rf", "--", str(path)])


def _recovery_stop(cluster: EmbeddedCluster, log_offset: int) -> str | None:
    """PostgreSQL's own line about where the recovery stopped, from the server log."""
    try:
        with open(cluster.log_file, encoding="utf-8", errors="replace") as fh:
            fh.seek(log_offset)
            lines = fh.read().splitlines()
    except OSError:
        return None
    wanted = ("recovery stopping", "last completed transaction", "consistent recovery state")
    hits = [line.split("LOG:", 1)[-1].strip() for line in lines if any(w in line for w in wanted)]
    return "; ".join(hits) or None


#: what pgBackRest's restore writes into postgresql.auto.conf; left there, a later copy of the
#: cluster (a replica's base backup) would stop at the old target and promote itself
RECOVERY_SETTINGS = (
    "restore_command",
    "recovery_target",
    "recovery_target_action",
    "recovery_target_inclusive",
    "recovery_target_lsn",
    "recovery_target_name",
    "recovery_target_time",
    "recovery_target_timeline",
    "recovery_target_xid",
)


def _clear_recovery_settings(cluster: EmbeddedCluster) -> None:
    """Remove the restore's recovery settings once the cluster has been promoted."""
    url = cluster.status().url
    if url is None:
        return
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        for name in RECOVERY_SETTINGS:
            conn.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name)))
        conn.execute("SELECT pg_reload_conf()")


def _wait_promoted(cluster: EmbeddedCluster) -> None:
    """Wait until the restored server has finished its recovery and accepts writes."""
    deadline = time.monotonic() + _PROMOTE_TIMEOUT_S
    while True:
        url = cluster.status().url
        if url is not None:
            with (
                contextlib.suppress(psycopg.OperationalError),
                psycopg.connect(url, connect_timeout=5) as conn,
            ):
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and row[0] is False:
                    return
        if time.monotonic() > deadline:
            raise DatabaseUnavailable(message("restore_not_promoted", log=cluster.log_file))
        time.sleep(0.2)


def restore(
    cluster: EmbeddedCluster,
    *,
    to_time: str | None = None,
    to_backup: str | None = None,
    force: bool = False,
) -> RestoreReport:
    """Restore the cluster from the repository: the latest state, a moment or a backup set.

    A running cluster is replaced only with ``force``; the restored data directory is built
    first, and the old one is kept until the restored cluster has started.
    """
    _require_pgbackrest(cluster)
    began = time.monotonic()
    running = cluster.status().url is not None
    if running and not force:
        raise RestoreRefused(message("restore_running", path=cluster.data_dir))
    if running:
        # Push the WAL written so far to the archive, so any moment up to now can be reached.
        cluster.pgbackrest("check")
    args, label, target = _restore_args(list_backups(cluster), to_time, to_backup)

    scratch = cluster.data_dir / "pgdata.restore"
    old = cluster.data_dir / "pgdata.before-restore"
    _remove_tree(cluster, scratch)
    _remove_tree(cluster, old)
    scratch.mkdir(mode=0o700)
    uid, gid = _owner(cluster.data_dir)
    with contextlib.suppress(PermissionError):
        os.chown(scratch, uid, gid)
    log.info("restoring %s into %s", target, scratch)
    # pgBackRest would name the scratch directory in restore_command; the server runs in pgdata.
    fetch = shlex.join(
        ["pgbackrest", f"--config={cluster.backup_conf}", f"--stanza={cluster.stanza}"]
    )
    recovery = f'--recovery-option=restore_command={fetch} archive-get %f "%p"'
    try:
        cluster.pgbackrest("restore", f"--pg1-path={scratch}", recovery, *args)
    except GisPlatformError:
        _remove_tree(cluster, scratch)
        raise
    restored = time.monotonic()

    if running:
        cluster.stop()
    cluster.pgdata.rename(old)
    scratch.rename(cluster.pgdata)
    log_offset = cluster.log_file.stat().st_size if cluster.log_file.exists() else 0
    try:
        cluster.wait_started()
        _wait_promoted(cluster)
    except GisPlatformError:
        log.error("the restored cluster did not start; putting the old data directory back")
        with contextlib.suppress(GisPlatformError):
            cluster.stop()
        cluster.pgdata.rename(cluster.data_dir / "pgdata.failed-restore")
        old.rename(cluster.pgdata)
        if running:
            cluster.start()
        raise
    started = time.monotonic()
    _clear_recovery_settings(cluster)
    cluster.start()  # the usual checks (roles' passwords, database, stanza) on the new data
    _remove_tree(cluster, old)
    return RestoreReport(
        backup_label=label,
        target=target,
        restore_seconds=round(restored - began, 2),
        start_seconds=round(started - restored, 2),
        total_seconds=round(time.monotonic() - began, 2),
        recovery_stop=_recovery_stop(cluster, log_offset),
        old_data_removed=not old.exists(),
    )


def _owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid
