"""Roles on the embedded cluster, through the real commands: passwords, ownership, status."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors, sql
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.registry import LayerRegistry
from gisplatform.reports import load_report_kinds
from gisplatform.settings import PROJECT_ROOT, Settings
from gisplatform.store.database import (
    admin_url,
    analyses_database_url,
    api_database_url,
    database_url,
)
from gisplatform.store.embedded import EmbeddedCluster
from gisplatform.store.migrate import migrate
from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE, OWNER_ROLE
from gisplatform.store.views import PUBLIC_ROLE
from tests.conftest import make_settings
from tests.reports_helpers import submit_row
from tests.test_embedded import cli_env, make_scratch, own_cluster_settings

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def embedded() -> Iterator[Settings]:
    """Settings of a cluster of its own (no DATABASE_URL)."""
    path = make_scratch()
    settings = own_cluster_settings(path)
    yield settings
    EmbeddedCluster(settings.data_dir, settings.db_port, settings.db_name).stop()
    shutil.rmtree(path, ignore_errors=True)


def _env(settings: Settings) -> dict[str, str | None]:
    return cli_env(settings)


def _owners(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('gis', 'history', 'api_public', 'api_meta') "
            "UNION SELECT pg_get_userbyid(p.proowner) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'history' "
            "UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace "
            "WHERE nspname IN ('gis', 'history', 'api_public', 'api_meta')"
        ).fetchall()
    return {str(row[0]) for row in rows}


def test_migrate_hands_an_old_cluster_to_the_owner_and_demo_loads_as_it(
    embedded: Settings, registry: LayerRegistry
) -> None:
    admin = admin_url(embedded)
    migrate(admin, registry, make_settings(admin))  # as before: everything the superuser's
    assert _owners(admin) == {"gisplatform"}
    with psycopg.connect(admin, autocommit=True) as conn:  # as the previous version granted
        conn.execute("GRANT USAGE ON SCHEMA history TO gisplatform_public")
        conn.execute("GRANT SELECT ON history.layer_state TO gisplatform_public")

    result = CliRunner().invoke(app, ["demo"], env=_env(embedded))
    assert result.exit_code == 0, result.output
    assert _owners(admin) == {OWNER_ROLE}
    with psycopg.connect(admin) as conn:
        granted = conn.execute(
            "SELECT has_table_privilege('gisplatform_public', 'history.layer_state', 'SELECT')"
        ).fetchone()
    assert granted == (False,)
    with psycopg.connect(database_url(embedded)) as conn:
        row = conn.execute(
            "SELECT session_user, (SELECT rolsuper FROM pg_roles WHERE rolname = session_user),"
            " (SELECT count(*) FROM gis.shelters),"
            " (SELECT array_agg(DISTINCT db_user) FROM history.feature_changes)"
        ).fetchone()
    assert row is not None
    assert row[:2] == (OWNER_ROLE, False) and row[2] > 0 and row[3] == [OWNER_ROLE]

    cluster = EmbeddedCluster(embedded.data_dir, embedded.db_port, embedded.db_name)
    assert cluster.conn_file.stat().st_mode & 0o777 == 0o600
    assert set(json.loads(cluster.conn_file.read_text())["roles"]) >= {OWNER_ROLE, API_ROLE}


@pytest.mark.parametrize("role", [API_ROLE, ANALYSES_ROLE])
def test_service_logins_read_the_public_views_and_nothing_else(
    embedded: Settings, registry: LayerRegistry, role: str
) -> None:
    migrate(admin_url(embedded), registry, embedded)
    url = api_database_url(embedded) if role == API_ROLE else analyses_database_url(embedded)
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT session_user, current_user").fetchone() == (role, PUBLIC_ROLE)
        conn.execute("SELECT count(*) FROM api_public.shelters")
        for escape in ("RESET ROLE", "SET ROLE NONE"):
            conn.execute(escape)
            for table in (("gis", "shelters"), ("gis", "buildings"), ("history", "layer_state")):
                with pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table)))
        for target in (OWNER_ROLE, "gisplatform"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(target)))


def test_status_and_start_print_no_owner_or_admin_secret(embedded: Settings) -> None:
    cluster = EmbeddedCluster(embedded.data_dir, embedded.db_port, embedded.db_name)
    cluster.start()
    info = json.loads(cluster.conn_file.read_text())
    secrets = [info["password"], info["roles"][OWNER_ROLE], info["roles"][ANALYSES_ROLE]]

    started = CliRunner().invoke(app, ["db", "start"], env=_env(embedded))
    assert started.exit_code == 0, started.output
    assert not any(s in started.output for s in [*secrets, info["roles"][API_ROLE]])

    status = CliRunner().invoke(app, ["db", "status"], env=_env(embedded))
    assert status.exit_code == 0, status.output
    assert not any(s in status.output for s in secrets), status.output
    assert f"postgresql://{API_ROLE}:{info['roles'][API_ROLE]}@127.0.0.1" in status.output

    shown = CliRunner().invoke(app, ["db", "status", "--show-secrets"], env=_env(embedded))
    assert shown.exit_code == 0, shown.output
    assert info["password"] in shown.output and info["roles"][OWNER_ROLE] in shown.output


def test_import_runs_as_the_owner(embedded: Settings, registry: LayerRegistry) -> None:
    migrate(admin_url(embedded), registry, embedded)
    shelters = PROJECT_ROOT / "data" / "romny" / "shelters.geojson"
    args = ["import", "shelters", str(shelters), "--mode", "replace"]
    result = CliRunner().invoke(app, args, env=_env(embedded))
    assert result.exit_code == 0, result.output
    with psycopg.connect(database_url(embedded)) as conn:
        row = conn.execute(
            "SELECT actor <> '', (SELECT db_user FROM history.feature_changes "
            "ORDER BY id DESC LIMIT 1) FROM history.imports ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert row == (True, OWNER_ROLE)


def test_processes_run_on_the_embedded_cluster_as_a_user_runs_them(
    embedded: Settings, registry: LayerRegistry
) -> None:
    """Command 1's path: the server of an embedded cluster (no superuser URL) runs analyses."""
    from gisplatform.demo import load_demo
    from gisplatform.ogcapi import create_app
    from tests.live import live_server

    migrate(admin_url(embedded), registry, embedded)
    load_demo(database_url(embedded), registry, embedded.layer_schema, reset=True)
    inputs = {"origin": {"type": "Point", "coordinates": [33.465, 50.745]}, "limit": 2}
    with live_server(create_app(embedded, registry)) as root:
        import httpx

        answer = httpx.post(
            f"{root}/ogc/processes/nearest-shelter/execution", json={"inputs": inputs}, timeout=120
        )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["shelters"]) == 2


def test_reports_work_as_the_owner_after_two_migrations(
    embedded: Settings, registry: LayerRegistry
) -> None:
    """The reports schema's grants never revoke the owner's own rights (its functions and
    views run as the owner): a report is stored and the marks read after migrating twice."""
    for _ in range(2):
        result = CliRunner().invoke(app, ["db", "migrate"], env=_env(embedded))
        assert result.exit_code == 0, result.output
    kinds = load_report_kinds(PROJECT_ROOT / "reports", registry)
    kind = next(k for k in kinds if k.layer is None)
    with psycopg.connect(api_database_url(embedded)) as conn:
        ident, _ = submit_row(conn, kind.code)
        assert conn.execute("SELECT count(*) FROM reports.feature_marks").fetchone() == (0,)
    with psycopg.connect(database_url(embedded)) as conn:
        owner = conn.execute(
            "SELECT session_user, has_table_privilege('reports.requests', 'INSERT'),"
            " (SELECT count(*) FROM reports.transitions WHERE request_id = %s)",
            [ident],
        ).fetchone()
    assert owner == (OWNER_ROLE, True, 1)
