"""Browser sessions in the database: reached only through functions, ended by the CLI."""

from __future__ import annotations

import hashlib
import secrets

import psycopg
import pytest
from psycopg import errors
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.registry import LayerRegistry
from gisplatform.store.roles import API_ROLE
from gisplatform.store.views import PUBLIC_ROLE
from tests.accounts_helpers import cli_ok, migrated_cli_db
from tests.conftest import role_url

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def sessions_db(scratch_url: str, registry: LayerRegistry, monkeypatch: pytest.MonkeyPatch) -> str:
    migrated_cli_db(scratch_url, registry, monkeypatch)
    cli_ok("users", "add", "olena", "--password-stdin", stdin=PASSWORD + "\n")
    return scratch_url


def _api(url: str) -> psycopg.Connection:
    """The server's login, as it calls the auth functions (no audience role)."""
    conn = psycopg.connect(role_url(url, API_ROLE), autocommit=True)
    conn.execute("SET ROLE NONE")
    return conn


def _start(conn: psycopg.Connection, lifetime: int = 3600, idle: int = 600) -> bytes:
    digest = hashlib.sha256(secrets.token_bytes(32)).digest()
    conn.execute(
        "SELECT auth.session_start(%s, 'olena', %s, %s, '127.0.0.1')", [digest, lifetime, idle]
    )
    return digest


def _of(conn: psycopg.Connection, digest: bytes) -> list[tuple[object, ...]]:
    return conn.execute("SELECT * FROM auth.session_of(%s)", [digest]).fetchall()


def test_api_role_reaches_sessions_only_through_functions(sessions_db: str) -> None:
    with _api(sessions_db) as conn:
        digest = _start(conn)
        assert _of(conn, digest) == [("olena", [])]
        assert _of(conn, hashlib.sha256(b"made up").digest()) == []
        for query in ("SELECT * FROM auth.sessions", "DELETE FROM auth.sessions"):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(query)
        conn.execute("SELECT auth.session_end(%s)", [digest])
        assert _of(conn, digest) == []
        # the audience role requests run as may not call them at all
        conn.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(PUBLIC_ROLE)))
        with pytest.raises(errors.InsufficientPrivilege):
            _of(conn, digest)
    with psycopg.connect(sessions_db) as conn:
        (stored,) = conn.execute("SELECT token_hash, ended_at IS NOT NULL FROM auth.sessions")
    assert stored == (digest, True)


def test_cli_signout_and_new_password_end_sessions(sessions_db: str) -> None:
    with _api(sessions_db) as conn:
        first, second = _start(conn), _start(conn)
        result = CliRunner().invoke(app, ["users", "signout", "olena"])
        assert result.exit_code == 0, result.output
        assert "olena: 2" in result.output
        assert _of(conn, first) == [] and _of(conn, second) == []
        third = _start(conn)
        assert _of(conn, third) == [("olena", [])]
        result = CliRunner().invoke(
            app, ["users", "passwd", "olena", "--password-stdin"], input="another one\n"
        )
        assert result.exit_code == 0, result.output
        assert _of(conn, third) == []
        unknown = CliRunner().invoke(app, ["users", "signout", "nobody"])
        assert unknown.exit_code != 0
