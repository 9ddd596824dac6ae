"""Staff accounts and personal tokens: the CLI, the hashes, and what the API role may reach."""

from __future__ import annotations

import subprocess

import psycopg
import pytest
from psycopg import errors

from gisplatform.registry import LayerRegistry
from gisplatform.store.accounts import token_hash
from gisplatform.store.embedded import find_postgres_bin_dir
from gisplatform.store.roles import API_ROLE
from tests.accounts_helpers import cli_fails, cli_ok, migrated_cli_db
from tests.conftest import role_url

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def accounts_db(scratch_url: str, registry: LayerRegistry, monkeypatch: pytest.MonkeyPatch) -> str:
    return migrated_cli_db(scratch_url, registry, monkeypatch)


def test_users_lifecycle(accounts_db: str) -> None:
    cli_ok("users", "add", "olena", "--role", "lighting", "--password-stdin", stdin=PASSWORD + "\n")
    cli_ok("users", "add", "petro", "--no-password")
    listing = cli_ok("users", "list")
    assert "olena\tactive\tlighting\tpassword=yes" in listing
    assert "petro\tactive" in listing and "password=no" in listing
    assert "unknown roles: lightning" in cli_fails("users", "roles", "olena", "--role", "lightning")
    cli_ok("users", "roles", "olena", "--role", "lighting", "--role", "civil_protection")
    cli_ok("users", "disable", "petro")
    listing = cli_ok("users", "list")
    assert "olena\tactive\tcivil_protection, lighting" in listing
    assert "petro\tdisabled" in listing
    cli_ok("users", "enable", "petro")
    assert "petro\tactive" in cli_ok("users", "list")
    assert "exists already" in cli_fails("users", "add", "olena", "--no-password")
    assert "no account" in cli_fails("users", "disable", "nobody")
    with psycopg.connect(accounts_db) as conn:
        (before,) = conn.execute(
            "SELECT password_hash FROM auth.users WHERE login = 'olena'"
        ).fetchone()  # type: ignore[misc]
        cli_ok("users", "passwd", "olena", "--password-stdin", stdin="another one\n")
        (after,) = conn.execute(
            "SELECT password_hash FROM auth.users WHERE login = 'olena'"
        ).fetchone()  # type: ignore[misc]
    assert before.startswith("$argon2id$") and after.startswith("$argon2id$") and before != after


def test_tokens_are_printed_once_and_kept_as_hashes(accounts_db: str) -> None:
    cli_ok("users", "add", "olena", "--role", "lighting", "--no-password")
    output = cli_ok("tokens", "create", "olena", "--name", "qgis", "--expires", "90d")
    token = output.strip().splitlines()[-1]
    assert token.startswith("gpt_") and len(token) > 40
    assert "already" in cli_fails("tokens", "create", "olena", "--name", "qgis")
    assert "not a duration" in cli_fails(
        "tokens", "create", "olena", "--name", "x", "--expires", "soon"
    )
    listing = cli_ok("tokens", "list", "olena")
    assert listing.startswith("qgis\t") and "revoked=—" in listing
    with psycopg.connect(accounts_db) as conn:
        (stored,) = conn.execute("SELECT token_hash FROM auth.tokens").fetchone()  # type: ignore[misc]
        assert bytes(stored) == token_hash(token)
        (days,) = conn.execute(
            "SELECT extract(day FROM expires_at - created_at) FROM auth.tokens"
        ).fetchone()  # type: ignore[misc]
        assert int(days) == 90
    cli_ok("tokens", "revoke", "olena", "qgis")
    assert "revoked=20" in cli_ok("tokens", "list", "olena")
    assert "no valid token" in cli_fails("tokens", "revoke", "olena", "qgis")


def _api(url: str) -> psycopg.Connection:
    conn = psycopg.connect(role_url(url, API_ROLE), autocommit=True)
    conn.execute("SET ROLE NONE")
    return conn


def test_api_role_reaches_accounts_only_through_functions(accounts_db: str) -> None:
    cli_ok("users", "add", "olena", "--role", "lighting", "--password-stdin", stdin=PASSWORD + "\n")
    cli_ok("users", "add", "ivan", "--role", "utilities", "--no-password")
    good = cli_ok("tokens", "create", "olena", "--name", "a").strip().splitlines()[-1]
    gone = cli_ok("tokens", "create", "olena", "--name", "b").strip().splitlines()[-1]
    other = cli_ok("tokens", "create", "ivan", "--name", "c").strip().splitlines()[-1]
    cli_ok("tokens", "revoke", "olena", "b")
    cli_ok("users", "disable", "ivan")
    with _api(accounts_db) as conn:
        for query in (
            "SELECT * FROM auth.users",
            "SELECT * FROM auth.tokens",
            "SELECT * FROM auth.events",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(query)
        assert conn.execute("SELECT * FROM auth.token_user(%s)", [token_hash(good)]).fetchall() == [
            ("olena", ["lighting"])
        ]
        for token in (gone, other, "gpt_made_up"):
            assert (
                conn.execute("SELECT * FROM auth.token_user(%s)", [token_hash(token)]).fetchall()
                == []
            )
        (row,) = conn.execute("SELECT * FROM auth.password_of('olena')").fetchall()
        assert row[0].startswith("$argon2id$") and row[1] == ["lighting"]
        assert conn.execute("SELECT * FROM auth.password_of('ivan')").fetchall() == []
        conn.execute("SELECT auth.record('olena', '127.0.0.1', 'basic', 'failure')")
        assert conn.execute(
            "SELECT * FROM auth.failures('olena', '127.0.0.1', 300)"
        ).fetchall() == [(1, 1)]
        # The audience role the server runs as by default may not call them at all.
        conn.execute("RESET ROLE")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM auth.token_user(%s)", [token_hash(good)])


def test_no_token_or_password_in_the_database(accounts_db: str) -> None:
    cli_ok("users", "add", "olena", "--role", "lighting", "--password-stdin", stdin=PASSWORD + "\n")
    token = cli_ok("tokens", "create", "olena", "--name", "a").strip().splitlines()[-1]
    with psycopg.connect(accounts_db) as conn:
        rows = conn.execute(
            "SELECT u::text FROM auth.users AS u UNION ALL SELECT t::text FROM auth.tokens AS t "
            "UNION ALL SELECT e::text FROM auth.events AS e"
        ).fetchall()
    text = "\n".join(r[0] for r in rows)
    assert "olena" in text
    assert PASSWORD not in text and token not in text and token.removeprefix("gpt_") not in text


def test_a_database_dump_holds_no_token_or_password(accounts_db: str) -> None:
    """What a stolen backup or ``pg_dump`` gives away: hashes, never a secret that signs in."""
    changed = "another battery staple"
    cli_ok("users", "add", "olena", "--role", "lighting", "--password-stdin", stdin=PASSWORD + "\n")
    token = cli_ok("tokens", "create", "olena", "--name", "a").strip().splitlines()[-1]
    cli_ok("users", "passwd", "olena", "--password-stdin", stdin=changed + "\n")
    second = cli_ok("tokens", "create", "olena", "--name", "b").strip().splitlines()[-1]
    pg_dump = find_postgres_bin_dir() / "pg_dump"
    dump = subprocess.run(
        [str(pg_dump), "--dbname", accounts_db, "--no-owner"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "olena" in dump and "$argon2id$" in dump  # the accounts are in it, as hashes
    for secret in (PASSWORD, changed, token, second):
        assert secret not in dump
        assert secret.removeprefix("gpt_") not in dump
