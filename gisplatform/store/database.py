"""Where the database is: an external ``DATABASE_URL`` or the embedded cluster."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from sqlalchemy import Connection

from gisplatform.errors import DatabaseUnavailable
from gisplatform.settings import Settings

_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def normalize_url(url: str) -> str:
    """A libpq URL (``postgresql://``) from any of the usual spellings."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise DatabaseUnavailable(
            f"DATABASE_URL must start with postgresql:// (got scheme {parts.scheme!r})"
        )
    return urlunsplit(("postgresql", *parts[1:]))


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy with the psycopg 3 driver."""
    return "postgresql+psycopg" + normalize_url(url).removeprefix("postgresql")


def database_url(settings: Settings, start: bool = True) -> str:
    """The URL of the platform database, starting the embedded cluster if needed."""
    if settings.database_url:
        return normalize_url(settings.database_url)
    from gisplatform.store.embedded import EmbeddedCluster

    cluster = EmbeddedCluster(settings.data_dir, settings.db_port, settings.db_name)
    if start:
        return cluster.start()
    status = cluster.status()
    if status.url is None:
        raise DatabaseUnavailable(
            f"the embedded database in {settings.data_dir} is not running; "
            "start it with `gisplatform db start`"
        )
    return status.url


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    """Open a psycopg connection, turning failures into a readable error."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        safe = urlsplit(url)._replace(netloc=urlsplit(url).hostname or "").geturl()
        raise DatabaseUnavailable(f"cannot connect to {safe}: {exc}".strip()) from exc


def driver_execute(
    conn: Connection, query: sql.SQL | sql.Composed, params: Any = None
) -> psycopg.Cursor[Any]:
    """Run a ``psycopg.sql`` query on the psycopg connection behind a SQLAlchemy one.

    It runs inside the SQLAlchemy connection's transaction.
    """
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver.execute(query, params)
