"""Shared pieces of the tests that sign in: test accounts made and removed around a module,
their Basic headers, and the ``gisplatform`` CLI run against a migrated scratch database."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import psycopg
import pytest
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.registry import LayerRegistry
from gisplatform.store.accounts import Accounts
from gisplatform.store.migrate import migrate
from tests.conftest import LAYERS_DIR, make_settings


def basic_header(login: str, password: str) -> dict[str, str]:
    """The ``Authorization`` header of ``login`` signing in with Basic."""
    pair = base64.b64encode(f"{login}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


@contextmanager
def made_accounts(
    db_url: str,
    registry: LayerRegistry,
    prefix: str,
    roles: Mapping[str, Sequence[str]],
    password: str,
) -> Iterator[dict[str, dict[str, str]]]:
    """Accounts ``prefix + name`` with ``roles[name]``; yields each name's Basic header.

    Every account (and its sign-in events) whose login starts with ``prefix`` is removed
    before and after, so a module's accounts never meet another module's.
    """
    pattern = prefix.replace("%", r"\%").replace("_", r"\_") + "%"

    def remove(conn: psycopg.Connection) -> None:
        conn.execute("DELETE FROM auth.users WHERE login LIKE %s", [pattern])
        conn.execute("DELETE FROM auth.events WHERE login LIKE %s", [pattern])

    with psycopg.connect(db_url) as conn:
        remove(conn)
        made = Accounts(conn, registry.role_names)
        for name, granted in roles.items():
            made.add(prefix + name, list(granted), password)
        conn.commit()
    try:
        yield {name: basic_header(prefix + name, password) for name in roles}
    finally:
        with psycopg.connect(db_url) as conn:
            remove(conn)


def migrated_cli_db(scratch_url: str, registry: LayerRegistry, mp: pytest.MonkeyPatch) -> str:
    """Migrate ``scratch_url`` and point the CLI (``DATABASE_URL``, English) at it."""
    migrate(scratch_url, registry, make_settings(scratch_url))
    mp.setenv("DATABASE_URL", scratch_url)
    mp.setenv("GISPLATFORM_LAYERS_DIR", str(LAYERS_DIR))
    mp.setenv("GISPLATFORM_LANG", "en")
    return scratch_url


def cli_ok(*args: str, stdin: str | None = None) -> str:
    """Run ``gisplatform ARGS``; it must succeed; its output."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.output


def cli_fails(*args: str, stdin: str | None = None) -> str:
    """Run ``gisplatform ARGS``; it must fail; its output and the exception's text."""
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code != 0
    return result.output + str(result.exception)
