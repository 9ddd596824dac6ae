"""Backups and point-in-time recovery with pgBackRest, through the real commands.

The restore drill: load the demo, take a backup, make edits A, note the time T, make edits B,
drop a layer table; ``db restore --to-time T`` must bring back exactly the state at T, compared
by an md5 of every layer table. The drill prints its RPO and RTO.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.registry import LayerRegistry
from gisplatform.settings import Settings
from gisplatform.store.backup import archive_state
from gisplatform.store.database import database_url, embedded_cluster
from tests.test_embedded import cli_env, free_port, make_scratch, own_cluster_settings

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def embedded() -> Iterator[Settings]:
    """Settings of a cluster of its own (no DATABASE_URL) with the demo loaded."""
    path = make_scratch()
    settings = own_cluster_settings(path)
    result = CliRunner().invoke(app, ["demo"], env=_env(settings))
    assert result.exit_code == 0, result.output
    yield settings
    embedded_cluster(settings).stop()
    shutil.rmtree(path, ignore_errors=True)


def _env(settings: Settings) -> dict[str, str | None]:
    return cli_env(settings)


def _cli(settings: Settings, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["db", *args], env=_env(settings))
    assert result.exit_code == code, result.output
    # a domain error reaches main(), which prints it; the runner keeps the exception
    return result.output + (str(result.exception) if code == 1 else "")


def _fingerprints(url: str, registry: LayerRegistry, schema: str) -> dict[str, str | None]:
    """An md5 of every layer table's rows (None: the table is missing)."""
    found: dict[str, str | None] = {}
    with psycopg.connect(url) as conn:
        for spec in registry:
            exists = conn.execute("SELECT to_regclass(%s)", [f"{schema}.{spec.name}"]).fetchone()
            if exists is None or exists[0] is None:
                found[spec.name] = None
                continue
            query = sql.SQL(
                "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
            ).format(sql.Identifier(schema, spec.name))
            row = conn.execute(query).fetchone()
            found[spec.name] = row[0] if row else None
    return found


def _edit(url: str, schema: str, table: str, tag: str) -> None:
    """Change one row of ``table`` and delete another (a small, real edit)."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = %s AND data_type IN ('text', 'character varying')"
            " ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        assert columns, table
        target = sql.Identifier(schema, table)
        column = sql.Identifier(columns[0][0])
        conn.execute(
            sql.SQL(
                "UPDATE {t} SET {c} = left(coalesce({c}, '') || %s, 200)"
                " WHERE ctid = (SELECT ctid FROM {t} ORDER BY ctid LIMIT 1)"
            ).format(t=target, c=column),
            [f" [{tag}]"],
        )
        conn.execute(
            sql.SQL("DELETE FROM {t} WHERE ctid = (SELECT max(ctid) FROM {t})").format(t=target)
        )


def test_backup_needs_no_external_database(embedded: Settings) -> None:
    env = {**_env(embedded), "DATABASE_URL": "postgresql://u:p@127.0.0.1:1/x"}
    result = CliRunner().invoke(app, ["db", "backups"], env=env)
    assert result.exit_code == 2
    assert "pgBackRest" in result.output


def test_restore_drill_to_a_moment(embedded: Settings, registry: LayerRegistry) -> None:
    schema = embedded.layer_schema
    owner = database_url(embedded)
    names = [spec.name for spec in registry]
    populated = [n for n in names if _fingerprints(owner, registry, schema)[n] is not None]

    out = _cli(embedded, "backup", "--type", "full")
    assert "taken" in out
    listed = json.loads(_cli(embedded, "backups", "--json"))
    assert len(listed["backups"]) == 1
    first = listed["backups"][0]
    assert first["type"] == "full" and first["database_bytes"] > 0
    assert first["repository_bytes"] > 0

    # edits A, then the moment T (as the database's clock has it), then edits B and a drop
    _edit(owner, schema, names[0], "A")
    _edit(owner, schema, names[1], "A")
    time.sleep(1.1)
    with psycopg.connect(owner) as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    moment: datetime = row[0]
    at_t = _fingerprints(owner, registry, schema)
    time.sleep(1.1)
    _edit(owner, schema, names[0], "B")
    _edit(owner, schema, names[2], "B")
    dropped = names[-1]
    with psycopg.connect(owner) as conn:
        conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(sql.Identifier(schema, dropped)))
    after_b = _fingerprints(owner, registry, schema)
    assert after_b[dropped] is None and after_b[names[0]] != at_t[names[0]]
    assert at_t[names[1]] is not None

    # a running database is not replaced without --force
    refused = _cli(embedded, "restore", "--to-time", moment.isoformat(), code=2)
    assert "--force" in refused
    assert _fingerprints(owner, registry, schema) == after_b

    last_write = datetime.now(UTC)
    began = time.monotonic()
    out = _cli(embedded, "restore", "--to-time", moment.isoformat(), "--force")
    rto = time.monotonic() - began
    assert "RTO" in out and first["label"] in out
    restored = _fingerprints(database_url(embedded), registry, schema)
    assert restored == at_t, "the restored state differs from the state at T"
    assert restored[dropped] is not None and dropped in populated

    # the restore's recovery target is gone, so no later copy (a replica) stops at it
    with psycopg.connect(embedded_cluster(embedded).login_url()) as conn:
        row = conn.execute(
            "SELECT pg_is_in_recovery(), (SELECT count(*) FROM pg_file_settings"
            " WHERE name LIKE 'recovery_target%%' OR name = 'restore_command')"
        ).fetchone()
    assert row == (False, 0)
    auto_conf = embedded_cluster(embedded).pgdata / "postgresql.auto.conf"
    assert "recovery_target" not in auto_conf.read_text()

    state = archive_state(embedded_cluster(embedded))
    assert state is not None
    # The drill's own loss: none (T was reached exactly); the bound for a lost disk is the
    # WAL not yet archived, at most archive_timeout seconds of writes.
    print(
        f"\nrestore drill: RPO 0 s at T (every commit up to T back, none after); "
        f"bound for a lost disk: {state.archive_timeout_s} s (archive_timeout); "
        f"RTO {rto:.1f} s (restore + start + WAL replay); "
        f"writes after T undone: {(last_write - moment).total_seconds():.1f} s of them"
    )
    print(out)

    # the restored cluster archives again and takes a further backup
    _cli(embedded, "backup", "--type", "incr")
    listed = json.loads(_cli(embedded, "backups", "--json"))
    assert [b["type"] for b in listed["backups"]] == ["full", "incr"]
    assert listed["archive"]["last_archived_wal"]


def test_a_replica_of_a_restored_cluster_stays_a_standby(embedded: Settings) -> None:
    from gisplatform.store.replica import replica_cluster, start_replica

    primary = embedded_cluster(embedded)
    port = free_port()
    start_replica(primary, port)
    replica = replica_cluster(primary, port)
    try:
        with psycopg.connect(primary.login_url(), autocommit=True) as conn:
            conn.execute("SELECT pg_switch_wal()")  # past any old recovery target
        time.sleep(2)
        url = replica.status().url
        assert url is not None
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        assert row == (True,)
    finally:
        replica.stop()


def test_restore_refuses_unknown_backup_and_early_time(embedded: Settings) -> None:
    out = _cli(embedded, "restore", "--to-backup", "20000101-000000F", "--force", code=1)
    assert "20000101-000000F" in out
    out = _cli(embedded, "restore", "--to-time", "2000-01-01T00:00:00Z", "--force", code=1)
    assert "earlier" in out


def test_backup_and_archive_age_in_metrics(embedded: Settings, registry: LayerRegistry) -> None:
    import httpx

    from gisplatform.ogcapi import create_app
    from tests import live

    with live.live_server(create_app(embedded, registry)) as root:
        text = httpx.get(f"{root}/metrics", timeout=10).text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert 0 <= values["gisplatform_backup_age_seconds"] < 600
    assert 0 <= values["gisplatform_wal_archive_age_seconds"] < 600
    assert values["gisplatform_wal_archive_failures"] == 0
    assert values['gisplatform_db_pool_waiting{pool="primary"}'] == 0
    assert values['gisplatform_db_pool_size{pool="primary"}'] >= 1
