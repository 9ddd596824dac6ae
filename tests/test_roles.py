"""The database roles: the API's login reads the audience views and nothing else, ever."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import AsyncConnection, errors, sql

from gisplatform.errors import ConfigurationError, DatabaseUnavailable
from gisplatform.ogcapi import create_app
from gisplatform.ogcapi.app import check_least_privilege
from gisplatform.registry import LayerRegistry
from gisplatform.reports import load_report_kinds
from gisplatform.reports.store import handler_db_roles
from gisplatform.settings import PROJECT_ROOT
from gisplatform.store.audiences import view_audiences
from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE, LAYER_STATE_VIEW
from gisplatform.store.views import PUBLIC_ROLE
from gisplatform.store.writers import writer_db_roles
from tests.conftest import make_settings, role_url
from tests.ogcapi_helpers import RESTRICTED_LAYERS
from tests.tiles_helpers import asgi_client, make_app

pytestmark = [pytest.mark.db, pytest.mark.anyio]

#: what no role of the API may read, whatever role it switches to
FORBIDDEN = (
    "SELECT count(*) FROM gis.shelters",
    "SELECT count(*) FROM gis.utility_facilities",
    "SELECT count(*) FROM history.feature_changes",
    "SELECT count(*) FROM history.layer_state",
)


async def _owner(conn: AsyncConnection) -> str:
    cursor = await conn.execute(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'gis'"
    )
    row = await cursor.fetchone()
    assert row is not None
    return str(row[0])


async def _denied(conn: AsyncConnection, query: str) -> bool:
    try:
        await conn.execute(query)  # type: ignore[arg-type]
    except errors.InsufficientPrivilege:
        return True
    return False


async def test_the_pool_logs_in_as_the_api_role_and_cannot_escape(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    app = make_app(demo_db_url, registry)
    async with asgi_client(app), app.state.pool.connection() as conn:
        cursor = await conn.execute("SELECT session_user, current_user")
        assert await cursor.fetchone() == (API_ROLE, PUBLIC_ROLE)
        owner = await _owner(conn)
        cursor = await conn.execute("SELECT rolname FROM pg_roles WHERE rolsuper")
        superusers = [str(row[0]) for row in await cursor.fetchall()]
        for escape in ("RESET ROLE", "SET ROLE NONE"):
            await conn.execute(escape)
            for query in FORBIDDEN:
                assert await _denied(conn, query), (escape, query)
        for target in (owner, *superusers):
            assert await _denied(conn, f"SET ROLE {target}"), target
        cursor = await conn.execute("SELECT current_user")
        assert await cursor.fetchone() in ((PUBLIC_ROLE,), (API_ROLE,))
        await conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(PUBLIC_ROLE)))


async def test_service_roles_hold_no_rights_and_belong_to_audiences_only(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    every_audience = {a.role for a in view_audiences(registry)}
    async with await AsyncConnection.connect(demo_db_url, autocommit=True) as conn:
        owner = await _owner(conn)
        for role in (API_ROLE, ANALYSES_ROLE):
            cursor = await conn.execute(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolinherit, rolcanlogin, "
                "rolbypassrls, pg_has_role(rolname, %s, 'MEMBER') FROM pg_roles "
                "WHERE rolname = %s",
                [owner, role],
            )
            assert await cursor.fetchone() == (False, False, False, False, True, False, False)
            cursor = await conn.execute(
                "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                "WHERE m.member = %s::regrole",
                [role],
            )
            # both may become every audience (a process runs in its caller's audience),
            # the API also every writer (Features Part 4 edits) and report handler
            kinds = load_report_kinds(PROJECT_ROOT / "reports", registry)
            writers = set(writer_db_roles(registry)) | set(handler_db_roles(kinds, registry))
            expected = every_audience | writers if role == API_ROLE else every_audience
            assert {row[0] for row in await cursor.fetchall()} == expected


async def test_the_processes_login_cannot_read_the_layers_whatever_role_it_takes(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    """The processes' connection, as build_processes_api opens it: never the owner's."""
    from gisplatform.ogcapi.processes import build_processes_api

    settings = make_settings(demo_db_url)
    built = build_processes_api(settings, registry, "http://127.0.0.1/ogc")
    url = built.url
    built.close()
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        cursor = await conn.execute("SELECT session_user")
        assert await cursor.fetchone() == (ANALYSES_ROLE,)
        owner = await _owner(conn)
        audiences = [f"SET ROLE {a.role}" for a in view_audiences(registry)]
        for escape in ("RESET ROLE", "SET ROLE NONE", *audiences):
            await conn.execute(escape)  # type: ignore[arg-type]
            for query in FORBIDDEN:
                assert await _denied(conn, query), (escape, query)
        assert await _denied(conn, f"SET ROLE {owner}")
        # as itself it builds the walking graph through the owner's function, and every
        # audience reads the graph
        await conn.execute("SET ROLE NONE")
        cursor = await conn.execute("SELECT graph_edges FROM analysis.walk_graph()")
        row = await cursor.fetchone()
        assert row is not None and row[0] > 0
        for audience in view_audiences(registry):
            await conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(audience.role)))
            cursor = await conn.execute("SELECT count(*) FROM analysis.walk_edges")
            assert await cursor.fetchone() == (row[0],)
            assert await _denied(conn, "SELECT * FROM analysis.walk_graph()")


async def test_layer_state_shows_public_layers_only(demo_db_url: str) -> None:
    async with await AsyncConnection.connect(demo_db_url, autocommit=True) as conn:
        cursor = await conn.execute("SELECT layer FROM history.layer_state")
        every = {row[0] for row in await cursor.fetchall()}
        assert set(RESTRICTED_LAYERS) <= every
        await conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(PUBLIC_ROLE)))
        assert await _denied(conn, "SELECT * FROM history.layer_state")
        cursor = await conn.execute(
            sql.SQL("SELECT layer FROM {}").format(sql.Identifier(*LAYER_STATE_VIEW))
        )
        shown = {row[0] for row in await cursor.fetchall()}
        assert shown and shown <= every
        assert not shown & set(RESTRICTED_LAYERS)


async def test_a_former_grant_on_layer_state_is_revoked_by_migrate(
    scratch_url: str, registry: LayerRegistry
) -> None:
    from gisplatform.store.migrate import migrate

    settings = make_settings(scratch_url)
    migrate(scratch_url, registry, settings)
    async with await AsyncConnection.connect(scratch_url, autocommit=True) as conn:
        # what the previous version of migrate granted
        await conn.execute("GRANT USAGE ON SCHEMA history TO gisplatform_public")
        await conn.execute("GRANT SELECT ON history.layer_state TO gisplatform_public")
        await conn.execute("GRANT gisplatform_api TO gisplatform_analyses")
    migrate(scratch_url, registry, settings)
    async with await AsyncConnection.connect(scratch_url, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT has_table_privilege('gisplatform_public', 'history.layer_state', 'SELECT'),"
            " has_schema_privilege('gisplatform_public', 'history', 'USAGE'),"
            " pg_has_role('gisplatform_analyses', 'gisplatform_api', 'MEMBER')"
        )
        assert await cursor.fetchone() == (False, False, False)


async def test_server_refuses_a_login_that_sees_more_than_the_views(demo_db_url: str) -> None:
    async with await AsyncConnection.connect(demo_db_url, autocommit=True) as conn:
        with pytest.raises(ConfigurationError, match="refuses to read as"):
            await check_least_privilege(conn, make_settings(demo_db_url))


def test_server_with_an_external_database_needs_the_api_url(demo_db_url: str) -> None:
    from gisplatform.store.database import api_database_url

    with pytest.raises(ConfigurationError, match="GISPLATFORM_API_DATABASE_URL"):
        api_database_url(make_settings(demo_db_url, api_database_url=None))
    with pytest.raises(ConfigurationError, match="must log in as gisplatform_api"):
        api_database_url(make_settings(demo_db_url, api_database_url=demo_db_url))


def test_migrate_as_a_user_who_may_not_create_roles_is_a_clear_error(
    scratch_url: str, registry: LayerRegistry
) -> None:
    from gisplatform.store.migrate import migrate

    with psycopg.connect(scratch_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("DROP ROLE IF EXISTS gisplatform_test_plain")
        conn.execute("CREATE ROLE gisplatform_test_plain LOGIN PASSWORD 'plain'")
    plain = role_url(scratch_url, "gisplatform_test_plain", "plain")
    try:
        with pytest.raises(ConfigurationError, match="CREATEROLE"):
            migrate(plain, registry, make_settings(plain))
    finally:
        with psycopg.connect(scratch_url, autocommit=True) as conn:
            conn.execute("DROP ROLE gisplatform_test_plain")


async def test_server_names_migrate_when_the_api_role_cannot_log_in(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    wrong = role_url(demo_db_url, API_ROLE, "not-the-password")
    app = create_app(make_settings(demo_db_url, api_database_url=wrong), registry)
    with pytest.raises(DatabaseUnavailable, match="gisplatform db migrate"):
        async with app.router.lifespan_context(app):
            pass


def test_db_status_of_an_external_database_hides_its_passwords(db_url: str) -> None:
    from urllib.parse import urlsplit

    from typer.testing import CliRunner

    from gisplatform.cli import app

    api = role_url(db_url, API_ROLE)
    env = {"DATABASE_URL": db_url, "GISPLATFORM_API_DATABASE_URL": api, "COLUMNS": "300"}
    secrets = [urlsplit(db_url).password, urlsplit(api).password]
    assert all(secrets)
    hidden = CliRunner().invoke(app, ["db", "status"], env=env)
    assert hidden.exit_code == 0, hidden.output
    assert "external" in hidden.output and f"{API_ROLE}:***@" in hidden.output
    assert not any(str(s) in hidden.output for s in secrets)
    shown = CliRunner().invoke(app, ["db", "status", "--show-secrets"], env=env)
    assert all(str(s) in shown.output for s in secrets)
