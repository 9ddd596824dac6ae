"""An account's PostgreSQL login (``users add … --db-login``): QGIS edits the tables directly.

Everything is checked from the outside, connected as that login with the password given to
the CLI: it edits exactly what its roles write (history names it), reads exactly what its
audience reads (every column of every layer, derived from the registry), and cannot disable
the triggers, touch the history, name another actor or become another role.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import errors, sql

from gisplatform.registry import Audience, FieldType, LayerRegistry, LayerSpec
from gisplatform.registry.writes import layer_writers, writable_fields
from gisplatform.store.accounts import AUTH_SCHEMA
from gisplatform.store.audiences import PUBLIC, view_audience_for
from gisplatform.store.jobs import JOBS_SCHEMA
from gisplatform.store.migrate import migrate
from gisplatform.store.roles import API_ROLE
from gisplatform.store.views import view_columns
from tests.accounts_helpers import cli_fails, cli_ok, migrated_cli_db
from tests.conftest import make_settings
from tests.edit_helpers import edit_layer, point_in, valid_properties, value_for

pytestmark = pytest.mark.db

PASSWORD = "qgis editor's pass phrase"


@pytest.fixture
def db(scratch_url: str, registry: LayerRegistry, monkeypatch: pytest.MonkeyPatch) -> str:
    return migrated_cli_db(scratch_url, registry, monkeypatch)


def as_login(url: str, login: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, user=login, password=PASSWORD, autocommit=True)


def refused(conn: psycopg.Connection[Any], query: sql.Composable | str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(query)  # type: ignore[arg-type]


def _insert(conn: psycopg.Connection[Any], registry: LayerRegistry, spec: LayerSpec) -> int:
    props = valid_properties(spec, 1)
    query = sql.SQL(
        "INSERT INTO {t} (geom, {cols}) VALUES "
        "(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), {vals}) RETURNING fid"
    ).format(
        t=sql.Identifier("gis", spec.name),
        cols=sql.SQL(", ").join(map(sql.Identifier, props)),
        vals=sql.SQL(", ").join(sql.Placeholder() * len(props)),
    )
    row = conn.execute(query, [json.dumps(point_in(registry, 1)), *props.values()]).fetchone()
    assert row is not None
    return int(row[0])


def _history(url: str, spec: LayerSpec, fid: int) -> list[tuple[str, str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(  # type: ignore[return-value]
            "SELECT operation, changed_by, db_user FROM history.feature_changes "
            "WHERE layer = %s AND fid = %s ORDER BY id",
            [spec.name, fid],
        ).fetchall()


def test_db_login_edits_with_its_api_rights(db: str, registry: LayerRegistry) -> None:
    spec = edit_layer(registry)
    role = spec.write_roles[0]
    login = "olena.k"  # a dot: the role name is quoted everywhere
    out = cli_ok(
        "users",
        "add",
        login,
        "--role",
        role,
        "--db-login",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert f"signs in to the database as the user {login}" in out
    with as_login(db, login) as conn:
        fid = _insert(conn, registry, spec)
        field = next(
            f
            for f in writable_fields(spec, role)
            if not f.required and f.name not in valid_properties(spec, 1)
        )
        conn.execute(
            sql.SQL("UPDATE {} SET {} = %s WHERE fid = %s").format(
                sql.Identifier("gis", spec.name), sql.Identifier(field.name)
            ),
            [value_for(field, 2), fid],
        )
        # the actor setting is any session's to set: ignored for an account's login (DELETE)
        conn.execute("SET gisplatform.actor = 'someone_else'")
        conn.execute(
            sql.SQL("UPDATE {} SET geom = geom WHERE fid = %s").format(
                sql.Identifier("gis", spec.name)
            ),
            [fid],
        )
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE fid = %s").format(sql.Identifier("gis", spec.name)),
            [fid],
        )
    entries = _history(db, spec, fid)
    # the geometry set to itself changes nothing, so it leaves no entry
    assert [e[0] for e in entries] == ["INSERT", "UPDATE", "DELETE"]
    assert {(e[1], e[2]) for e in entries} == {(login, login)}


def test_db_login_cannot_leave_its_rights(db: str, registry: LayerRegistry) -> None:
    spec = edit_layer(registry)
    role = spec.write_roles[0]
    login = "petro"
    cli_ok(
        "users",
        "add",
        login,
        "--role",
        role,
        "--db-login",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    reader = Audience(signed_in=True, roles=frozenset({role}))
    with psycopg.connect(db) as admin:
        fid = _insert(admin, registry, spec)
        admin.commit()
        # every column of every layer: selectable exactly when its audience reads it
        for layer in registry:
            visible = layer.visible_to(reader)
            allowed = (
                set(view_columns(layer, reader)) | {"geom", "created_at"} if visible else set()
            )
            columns = ["fid", "geom", "created_at", *(f.name for f in layer.fields)]
            for column in columns:
                granted = admin.execute(
                    "SELECT has_column_privilege(%s, %s, %s, 'SELECT')",
                    [login, f"gis.{layer.name}", column],
                ).fetchone()
                assert granted == (column in allowed,), (layer.name, column)
            writes = role in layer_writers(registry, layer)
            can_update = admin.execute(
                "SELECT has_any_column_privilege(%s, %s, 'UPDATE')",
                [login, f"gis.{layer.name}"],
            ).fetchone()
            assert can_update == (writes,), layer.name
        owner = str(
            admin.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'gis' LIMIT 1"
            ).fetchone()[0]
        )  # type: ignore[index]
    hidden = next(
        (layer, f)
        for layer in registry
        for f in layer.fields
        if not layer.visible_to(reader) or f not in layer.fields_for(reader)
    )
    other = next(
        layer for layer in registry.list(reader) if role not in layer_writers(registry, layer)
    )
    table = sql.Identifier("gis", spec.name)
    with as_login(db, login) as conn:
        refused(
            conn,
            sql.SQL("SELECT {} FROM {}").format(
                sql.Identifier(hidden[1].name), sql.Identifier("gis", hidden[0].name)
            ),
        )
        refused(
            conn, sql.SQL("UPDATE {} SET geom = geom").format(sql.Identifier("gis", other.name))
        )
        refused(conn, sql.SQL("ALTER TABLE {} DISABLE TRIGGER ALL").format(table))
        refused(conn, "DELETE FROM history.feature_changes")
        refused(conn, "UPDATE history.feature_changes SET changed_by = 'x'")
        refused(conn, "SELECT count(*) FROM history.feature_changes")
        refused(
            conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(AUTH_SCHEMA, "users"))
        )
        refused(
            conn, sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(JOBS_SCHEMA, "jobs"))
        )
        for target in {owner, API_ROLE, PUBLIC.role, str(urlsplit(db).username)}:
            refused(conn, sql.SQL("SET ROLE {}").format(sql.Identifier(target)))
        assert conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(
                sql.SQL("(SELECT fid FROM {}) AS t").format(table)
            )
        ).fetchone() == (1,)
    # the account loses its role: the login writes nothing; migrate keeps it so
    cli_ok("users", "roles", login)
    migrate(db, registry, make_settings(db))
    with as_login(db, login) as conn:
        refused(conn, sql.SQL("UPDATE {} SET geom = geom").format(table))
    cli_ok("users", "roles", login, "--role", role)
    with as_login(db, login) as conn:
        conn.execute(
            sql.SQL("UPDATE {} SET geom = geom WHERE fid = {}").format(table, sql.Literal(fid))
        )
    # disabled: it cannot connect, its open session is ended; enabled again: it can
    open_session = as_login(db, login)
    cli_ok("users", "disable", login)
    with pytest.raises(psycopg.OperationalError):
        open_session.execute("SELECT 1")
    open_session.close()
    with pytest.raises(psycopg.OperationalError):
        as_login(db, login)
    cli_ok("users", "enable", login)
    as_login(db, login).close()
    cli_ok("users", "db-login", login, "--disable")
    with pytest.raises(psycopg.OperationalError):
        as_login(db, login)


def test_db_login_names_and_passwords(db: str) -> None:
    for taken in ("postgres", "pg_monitor", "gisplatform_api", "gisplatform_owner"):
        out = cli_fails(
            "users", "add", taken, "--db-login", "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert "cannot be a database user" in out
    assert "no database login" in cli_fails("users", "db-login", "nobody", "--disable")
    cli_ok("users", "add", "mykola", "--password-stdin", stdin="first\n")
    cli_ok("users", "db-login", "mykola", "--enable", "--password-stdin", stdin="second\n")
    psycopg.connect(db, user="mykola", password="second").close()
    cli_ok("users", "passwd", "mykola", "--password-stdin", stdin=PASSWORD + "\n")
    as_login(db, "mykola").close()
    with psycopg.connect(db) as admin:
        stored = admin.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'mykola'"
        ).fetchone()
    assert stored is not None and str(stored[0]).startswith("SCRAM-SHA-256$")


def test_db_status_gives_the_login_url(db: str) -> None:
    cli_ok("users", "add", "iryna", "--db-login", "--password-stdin", stdin=PASSWORD + "\n")
    report = json.loads(cli_ok("db", "status", "--json"))
    template = report["db_login_url"]
    assert template.startswith("postgresql://<login>@") and PASSWORD not in template
    with psycopg.connect(template.replace("<login>", "iryna"), password=PASSWORD) as conn:
        assert conn.execute("SELECT session_user").fetchone() == ("iryna",)


def test_qgis_edits_the_table_with_the_db_login(
    db: str, registry: LayerRegistry, tmp_path: Path
) -> None:
    """QGIS (Debian's python3-qgis, headless) opens the layer as the login and commits."""
    spec = edit_layer(registry)
    role = spec.write_roles[0]
    cli_ok(
        "users",
        "add",
        "oksana",
        "--role",
        role,
        "--db-login",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    with psycopg.connect(db) as admin:
        fid = _insert(admin, registry, spec)
    field = next(
        f
        for f in writable_fields(spec, role)
        if f.type is FieldType.STRING and not f.pattern and f.name not in valid_properties(spec)
    )
    value = "QGIS " + field.name
    parts = urlsplit(db)
    args = {
        "host": parts.hostname,
        "port": parts.port,
        "dbname": parts.path.lstrip("/"),
        "user": "oksana",
        "password": PASSWORD,
        "profile": str(tmp_path),
        "layer": spec.name,
        "fid": fid,
        "field": field.name,
        "value": value[: field.max_length or None],
    }
    found = _qgis(args, tmp_path)
    assert found["valid"] and found["committed"], found
    assert field.name in found["fields"]
    with psycopg.connect(db) as admin:
        row = admin.execute(
            "SELECT changed_by, db_user, changed_fields FROM history.feature_changes "
            "WHERE layer = %s AND fid = %s AND operation = 'UPDATE'",
            [spec.name, fid],
        ).fetchall()
    assert row == [("oksana", "oksana", [field.name])]


def _qgis(args: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),  # QGIS writes nothing outside the test's folders
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }
    probe = Path(__file__).with_name("qgis_pg_probe.py")
    done = subprocess.run(
        ["/usr/bin/python3", str(probe), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_qgis_reads_a_layer_through_the_staff_view(
    db: str, registry: LayerRegistry, tmp_path: Path
) -> None:
    """A login without roles reads, in QGIS, a layer with fields hidden from it: its view."""
    reader = Audience(signed_in=True, roles=frozenset())
    spec = next(s for s in registry.list(reader) if len(s.fields_for(reader)) < len(s.fields))
    cli_ok("users", "add", "taras", "--db-login", "--password-stdin", stdin=PASSWORD + "\n")
    with psycopg.connect(db) as admin:
        _insert(admin, registry, spec)
    parts = urlsplit(db)
    found = _qgis(
        {
            "host": parts.hostname,
            "port": parts.port,
            "dbname": parts.path.lstrip("/"),
            "user": "taras",
            "password": PASSWORD,
            "profile": str(tmp_path),
            "schema": view_audience_for(registry, reader).schema,
            "layer": spec.name,
        },
        tmp_path,
    )
    assert found["valid"] and found["read"] == 1, found
    assert set(found["fields"]) == set(view_columns(spec, reader)) - {"geom"}
