"""Shared fixtures: a real PostGIS (embedded cluster or ``DATABASE_URL``) and the registry."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from gisplatform.i18n import set_language
from gisplatform.registry import LayerRegistry, load_registry
from gisplatform.settings import PROJECT_ROOT, Settings
from gisplatform.store.database import normalize_url
from gisplatform.store.migrate import migrate
from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE

LAYERS_DIR = PROJECT_ROOT / "layers"

# Most tests read messages in English; the Ukrainian default is tested where it is the point
# (they clear GISPLATFORM_LANG or enter use_language("uk")).
os.environ["GISPLATFORM_LANG"] = "en"
set_language("en")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _database_url(admin_url: str, name: str) -> str:
    """Create (or re-create) database ``name`` on the server of ``admin_url``."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(urlsplit(admin_url)._replace(path="/" + name))


@pytest.fixture(autouse=True)
def english_messages() -> None:
    """Every test starts in English, whatever an earlier one (a CLI run) left set."""
    set_language("en")


@pytest.fixture
def ukrainian_locale(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The CLI as a user without an English locale runs it (its default: Ukrainian)."""
    monkeypatch.delenv("GISPLATFORM_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    try:
        yield
    finally:
        set_language("en")  # the command set the locale's language for this test process


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """Admin URL of a PostGIS server for the whole test session.

    The embedded cluster lives in a world-traversable temp dir: as root the
    server runs as the ``postgres`` user, which cannot enter pytest's 0700 dirs.
    """
    external = os.environ.get("DATABASE_URL")
    if external:
        yield normalize_url(external)
        return
    from gisplatform.store.embedded import EmbeddedCluster

    data_dir = Path(tempfile.mkdtemp(prefix="gisplatform-test-"))
    data_dir.chmod(0o755)
    cluster = EmbeddedCluster(data_dir, free_port(), "gisplatform_admin")
    url = cluster.start()
    try:
        yield url
    finally:
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def registry() -> LayerRegistry:
    """The project's layer registry."""
    return load_registry(LAYERS_DIR)


#: password ``migrate`` gives the service roles of the test cluster (shared by its databases)
SERVICE_PASSWORD = "test-" + secrets.token_urlsafe(12)


def role_url(url: str, role: str, password: str = SERVICE_PASSWORD) -> str:
    """``url`` logging in as ``role``."""
    parts = urlsplit(url)
    netloc = f"{role}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def make_settings(url: str, **overrides: object) -> Settings:
    """Settings pointing at ``url`` (the owner's), with the service roles' URLs beside it."""
    values: dict[str, object] = {
        "layers_dir": LAYERS_DIR,
        "api_database_url": role_url(url, API_ROLE),
        "analyses_database_url": role_url(url, ANALYSES_ROLE),
        # in-process servers on a shared 2-core machine: a map page's burst of requests waits
        # for a connection instead of a 503 after the production 1 s (tests/test_outage.py
        # checks that bound on a server process of its own)
        "pool_timeout": 10.0,
        **overrides,
    }
    return Settings(DATABASE_URL=url, **values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def db_url(server_url: str, registry: LayerRegistry) -> str:
    """A database with every layer of ``layers/`` migrated (tests that write use clean_db)."""
    url = _database_url(server_url, "gisplatform_test")
    migrate(url, registry, make_settings(url))
    return url


@pytest.fixture(scope="session")
def settings(db_url: str) -> Settings:
    """Settings for the migrated test database."""
    return make_settings(db_url)


@pytest.fixture
def clean_db(db_url: str, settings: Settings, registry: LayerRegistry) -> str:
    """The migrated test database with every layer table and the history emptied."""
    tables = [sql.Identifier(settings.layer_schema, spec.name) for spec in registry]
    tables += [
        sql.Identifier(settings.history_schema, "feature_changes"),
        sql.Identifier(settings.history_schema, "imports"),
    ]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(sql.SQL(", ").join(tables)))
    return db_url


@pytest.fixture(scope="session")
def demo_db_url(server_url: str, registry: LayerRegistry) -> str:
    """A separate database with the Romny demo data loaded (read-only for tests)."""
    from gisplatform.demo import load_demo

    url = _database_url(server_url, "gisplatform_demo")
    settings = make_settings(url)
    migrate(url, registry, settings)
    load_demo(url, registry, settings.layer_schema)
    return url


@pytest.fixture
def scratch_url(server_url: str, request: pytest.FixtureRequest) -> str:
    """An empty database of its own for one test (migrations that change the schema)."""
    name = "scratch_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    safe = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return _database_url(server_url, safe)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With GISPLATFORM_FAIL_ON_SKIP=1 (the README test command) a skipped test fails the run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and os.environ.get("GISPLATFORM_FAIL_ON_SKIP") == "1":
        reporter.write_line(
            f"FAILED: {len(skipped)} test(s) skipped; every test must run here", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
