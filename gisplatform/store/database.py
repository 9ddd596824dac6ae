"""Where the database is, and as whom to connect: an external ``DATABASE_URL`` or the embedded
cluster; the owner (migrate, import, demo), the API role (the server) or the analyses' role."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from sqlalchemy import Connection

from gisplatform.errors import ConfigurationError, DatabaseUnavailable
from gisplatform.i18n import message
from gisplatform.settings import Settings
from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE, OWNER_ROLE, RoleLogins

if TYPE_CHECKING:
    from gisplatform.store.embedded import EmbeddedCluster

_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2")


def normalize_url(url: str) -> str:
    """A libpq URL (``postgresql://``) from any of the usual spellings."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise DatabaseUnavailable(message("url_scheme", scheme=repr(parts.scheme)))
    return urlunsplit(("postgresql", *parts[1:]))


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy with the psycopg 3 driver."""
    return "postgresql+psycopg" + normalize_url(url).removeprefix("postgresql")


def _cluster(settings: Settings) -> EmbeddedCluster:
    from gisplatform.store.embedded import EmbeddedCluster

    return EmbeddedCluster(settings.data_dir, settings.db_port, settings.db_name)


def _running_cluster(settings: Settings, start: bool) -> EmbeddedCluster:
    cluster = _cluster(settings)
    if start:
        cluster.start()
    elif cluster.status().url is None:
        raise DatabaseUnavailable(message("embedded_not_running", path=settings.data_dir))
    return cluster


def admin_url(settings: Settings, start: bool = True) -> str:
    """The URL ``migrate`` runs with: ``DATABASE_URL``, or the embedded cluster's superuser.

    It creates the roles (:mod:`gisplatform.store.roles`); nothing else should use it.
    """
    if settings.database_url:
        return normalize_url(settings.database_url)
    if settings.api_database_url:
        raise ConfigurationError(
            "DATABASE_URL не задано: міграції потрібен користувач-власник / "
            "DATABASE_URL is not set: migrate, import and demo need the owner's URL"
        )
    return _running_cluster(settings, start).login_url()


def database_url(settings: Settings, start: bool = True) -> str:
    """The owner's URL (import, export, demo): ``DATABASE_URL``, or the embedded owner login."""
    if settings.uses_embedded_db:
        return _running_cluster(settings, start).login_url(OWNER_ROLE)
    return admin_url(settings, start)


def _service_url(settings: Settings, role: str, configured: str | None, name: str) -> str:
    if configured:
        url = normalize_url(configured)
        if urlsplit(url).username != role:
            raise ConfigurationError(f"{name} must log in as {role}, not {urlsplit(url).username}")
        return url
    if not settings.uses_embedded_db:
        raise ConfigurationError(
            f"{name} не задано: сервер з зовнішньою базою підключається лише як {role} / "
            f"{name} is not set: with an external database the server connects as {role} "
            f"only (postgresql://{role}:<password>@host/db; `gisplatform db migrate` "
            "sets that password)"
        )
    return _running_cluster(settings, start=True).login_url(role)


def api_database_url(settings: Settings) -> str:
    """The web server's URL: the API role, never the owner or the superuser."""
    return _service_url(
        settings, API_ROLE, settings.api_database_url, "GISPLATFORM_API_DATABASE_URL"
    )


def analyses_database_url(settings: Settings) -> str:
    """The URL OGC API processes read with: the analyses' read-only role."""
    return _service_url(
        settings, ANALYSES_ROLE, settings.analyses_database_url, "GISPLATFORM_ANALYSES_DATABASE_URL"
    )


def _password(url: str | None, role: str) -> str | None:
    if not url:
        return None
    parts = urlsplit(normalize_url(url))
    if parts.username != role:
        raise ConfigurationError(f"the URL for {role} logs in as {parts.username}")
    return unquote(parts.password) if parts.password else None


def role_logins(settings: Settings) -> RoleLogins:
    """The passwords ``migrate`` gives the login roles, from the cluster or the settings."""
    if settings.uses_embedded_db:
        passwords = _cluster(settings).role_passwords()
        return RoleLogins(
            api=passwords.get(API_ROLE),
            analyses=passwords.get(ANALYSES_ROLE),
            owner=passwords.get(OWNER_ROLE),
        )
    return RoleLogins(
        api=_password(settings.api_database_url, API_ROLE),
        analyses=_password(settings.analyses_database_url, ANALYSES_ROLE),
    )


def connect(url: str, autocommit: bool = False) -> psycopg.Connection:
    """Open a psycopg connection, turning failures into a readable error."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        safe = urlsplit(url)._replace(netloc=urlsplit(url).hostname or "").geturl()
        raise DatabaseUnavailable(
            message("cannot_connect", url=safe, reason=str(exc).strip())
        ) from exc


def driver_execute(
    conn: Connection, query: sql.SQL | sql.Composed, params: Any = None
) -> psycopg.Cursor[Any]:
    """Run a ``psycopg.sql`` query on the psycopg connection behind a SQLAlchemy one.

    It runs inside the SQLAlchemy connection's transaction.
    """
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver.execute(query, params)
