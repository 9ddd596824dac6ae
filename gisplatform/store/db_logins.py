"""Database logins of staff accounts: QGIS (or psql) edits the layer tables directly.

``gisplatform users add LOGIN --db-login`` (or ``users db-login LOGIN --enable``) gives the
account a PostgreSQL LOGIN role of the same name, so history's ``changed_by`` (the session
user for every client but the platform's own) is the account login. Its rights equal the
account's API rights, derived from the registry like everything else:

- it *inherits* (no ``SET ROLE`` needed, QGIS runs plain statements) from the writer roles
  (:mod:`gisplatform.store.writers`) of the account's roles, so it inserts, updates and
  deletes exactly the layers and fields those roles write;
- it holds column ``SELECT`` grants on ``gis.<layer>`` for exactly the layers and fields its
  audience (staff plus its roles) reads, the columns of its staff views (staff views filter
  no rows, so the table read equals the view read);
- it inherits its audience role too, so it reads its staff views (``api_staff…``) like the
  API: QGIS (3.22) cannot open a table with a column its user may not select, the view of
  a layer it does not write shows it exactly its fields, read-only;
- it owns nothing (``ALTER TABLE … DISABLE TRIGGER`` needs ownership), has no right on
  ``history.*`` (the triggers write it as their owner) and is a member of no API, audience
  or owner role, so ``SET ROLE`` reaches none of them. It cannot name another actor either:
  ``history.current_actor()`` ignores the ``gisplatform.actor`` setting for members of
  :data:`DB_LOGIN_GROUP`.

Every such login is a member of :data:`DB_LOGIN_GROUP` (NOLOGIN, no rights): that is how
``migrate`` finds them and puts their memberships and grants back in line with the registry.
The password is stored by PostgreSQL only, sent already hashed (SCRAM). These functions need
a connection allowed to create roles (the administrator's URL).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from gisplatform.i18n import message
from gisplatform.registry import Audience, LayerRegistry
from gisplatform.registry.writes import writing_roles
from gisplatform.store.accounts import AUTH_SCHEMA, LOGIN_PATTERN, AccountError
from gisplatform.store.audiences import view_audience_for
from gisplatform.store.roles import _hashed, sync_memberships
from gisplatform.store.views import view_columns
from gisplatform.store.writers import writer_db_role

#: NOLOGIN role every database login of an account belongs to (it grants nothing)
DB_LOGIN_GROUP = "gisplatform_db_login"
#: names a login may not take: PostgreSQL's own and the platform's roles, SQL role keywords
_RESERVED_PREFIXES = ("pg_", "gisplatform")
_RESERVED = frozenset(
    {"postgres", "public", "none", "current_role", "current_user", "session_user", "all"}
)
_NO = "NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS INHERIT"


def _rows(
    conn: psycopg.Connection[Any], query: sql.SQL | sql.Composed, params: list[Any] | None = None
) -> list[tuple[Any, ...]]:
    cursor = conn.execute(query, params)
    return cursor.fetchall() if cursor.description else []


def _ensure_group(conn: psycopg.Connection[Any]) -> None:
    if not _rows(conn, sql.SQL("SELECT 1 FROM pg_roles WHERE rolname = %s"), [DB_LOGIN_GROUP]):
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(DB_LOGIN_GROUP)))


def db_logins(conn: psycopg.Connection[Any]) -> list[str]:
    """The roles that are database logins of accounts, by name."""
    return [
        str(name)
        for (name,) in _rows(
            conn,
            sql.SQL(
                "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = %s ORDER BY r.rolname"
            ),
            [DB_LOGIN_GROUP],
        )
    ]


def is_db_login(conn: psycopg.Connection[Any], login: str) -> bool:
    """True when ``login`` has a database login."""
    return login in db_logins(conn)


def check_name(conn: psycopg.Connection[Any], login: str) -> None:
    """Refuse a login whose name is PostgreSQL's, the platform's or another role's."""
    if not LOGIN_PATTERN.match(login):
        raise AccountError(message("bad_login", login=login))
    if login in _RESERVED or login.startswith(_RESERVED_PREFIXES):
        raise AccountError(message("db_login_reserved", login=login))
    taken = _rows(conn, sql.SQL("SELECT 1 FROM pg_roles WHERE rolname = %s"), [login])
    if taken and not is_db_login(conn, login):
        raise AccountError(message("db_login_reserved", login=login))


def _account(conn: psycopg.Connection[Any], login: str) -> tuple[list[str], bool] | None:
    found = _rows(
        conn,
        sql.SQL("SELECT roles, disabled FROM {} WHERE login = %s").format(
            sql.Identifier(AUTH_SCHEMA, "users")
        ),
        [login],
    )
    return (list(found[0][0]), bool(found[0][1])) if found else None


def enable(
    conn: psycopg.Connection[Any],
    registry: LayerRegistry,
    layer_schema: str,
    login: str,
    password: str,
) -> None:
    """Create (or give a new password to) the database login of the account ``login``."""
    if _account(conn, login) is None:
        raise AccountError(message("unknown_login", login=login))
    check_name(conn, login)
    _ensure_group(conn)
    role = sql.Identifier(login)
    secret = _hashed(conn, login, password)
    if is_db_login(conn, login):
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, secret))
    else:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN " + _NO + " PASSWORD {}").format(role, secret))
    sync(conn, registry, layer_schema, login)


def set_password(conn: psycopg.Connection[Any], login: str, password: str) -> bool:
    """A new password for the database login, if the account has one; whether it has."""
    if not is_db_login(conn, login):
        return False
    conn.execute(
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(login), _hashed(conn, login, password)
        )
    )
    return True


def drop(conn: psycopg.Connection[Any], layer_schema: str, login: str) -> None:
    """Remove the account's database login (its grants first)."""
    if not is_db_login(conn, login):
        raise AccountError(message("no_db_login", login=login))
    role = sql.Identifier(login)
    schema = sql.Identifier(layer_schema)
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, role))
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(schema, role))
    conn.execute(sql.SQL("DROP ROLE {}").format(role))


def sync(
    conn: psycopg.Connection[Any], registry: LayerRegistry, layer_schema: str, login: str
) -> None:
    """Put the login's attributes, memberships and grants in line with its account.

    A disabled (or removed) account's login cannot connect (NOLOGIN) and holds nothing.
    """
    account = _account(conn, login)
    roles, disabled = account if account is not None else ([], True)
    role = sql.Identifier(login)
    conn.execute(
        sql.SQL("ALTER ROLE {} " + _NO + (" NOLOGIN" if disabled else " LOGIN")).format(role)
    )
    reader = Audience(signed_in=True, roles=frozenset(roles))
    # its staff views too: QGIS opens a table only if it may read every column of it
    granted = [] if disabled else [view_audience_for(registry, reader).role]
    granted += (
        [] if disabled else [writer_db_role(r) for r in writing_roles(registry) if r in roles]
    )
    sync_memberships(conn, login, [DB_LOGIN_GROUP, *granted], inherit=True)
    schema = sql.Identifier(layer_schema)
    conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, role))
    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(schema, role))
    if disabled:
        _end_sessions(conn, login)
        return
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
    for spec in registry.list(reader):
        columns = ["geom", "created_at", *view_columns(spec, reader)]
        conn.execute(
            sql.SQL("GRANT SELECT ({}) ON {} TO {}").format(
                sql.SQL(", ").join(map(sql.Identifier, dict.fromkeys(columns))),
                sql.Identifier(layer_schema, spec.name),
                role,
            )
        )


def _end_sessions(conn: psycopg.Connection[Any], login: str) -> None:
    """End the login's open sessions, where the connected role may (a superuser may)."""
    try:
        with conn.transaction():
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                [login],
            )
    except psycopg.errors.InsufficientPrivilege:
        pass  # NOLOGIN still holds: no new session; the open ones end when QGIS closes them


def sync_all(conn: psycopg.Connection[Any], registry: LayerRegistry, layer_schema: str) -> None:
    """``migrate``: every database login back in line with its account and the registry.

    Roles belong to the whole cluster: a login whose account is in another database of the
    cluster is left to that database's migration.
    """
    for login in db_logins(conn):
        if _account(conn, login) is not None:
            sync(conn, registry, layer_schema, login)
