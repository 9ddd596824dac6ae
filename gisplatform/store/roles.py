"""Database roles: who may read what, enforced by PostgreSQL rather than by our code alone.

Roles (names are cluster-wide, the grants are per database; ``migrate`` creates and checks
them every time it runs, so a role changed by hand is put back):

``gisplatform_owner`` (LOGIN, embedded cluster only)
    Owns ``gis.*`` (the layers), ``history.*`` (change history, import log, layer state) and
    the audience views. ``migrate``, ``import``, ``export`` and ``demo`` connect as it. With an
    external ``DATABASE_URL`` the owner is the user of that URL instead (so an existing
    database keeps its owner); that user must be allowed to create roles (``CREATEROLE``).

audience roles: ``gisplatform_public`` and the staff ones (NOLOGIN)
    One role per audience (:mod:`gisplatform.store.audiences`: the public, staff, and each
    combination of the registry's roles that sees something different). It may read its
    audience's views (``api_public.*``, ``api_staff.*``, ``api_staff__lighting.*``…) and
    ``api_meta.layer_state``, a view of the layers' revisions that shows only the layers whose
    views the reading role may select. Nothing else: not ``gis.*``, not ``history.*``.

``gisplatform_api`` (LOGIN, NOINHERIT) — the web server
    A login with no privileges of its own. It is a member of the audience roles only, without
    inheriting their rights, so it can only *become* one with ``SET ROLE``; its default role
    (``ALTER ROLE … SET role``) is ``gisplatform_public``. ``RESET ROLE`` therefore returns to
    the public audience and ``SET ROLE NONE`` to a role that can read nothing at all, and no
    ``SET ROLE`` reaches the owner or the superuser: ``migrate`` revokes any other membership.
    The server picks the audience role of each signed-in request with ``SET ROLE`` and the
    pool sets the public role back when the connection returns.

``gisplatform_analyses`` (LOGIN, NOINHERIT) — OGC API processes
    The same shape as the API role (audience roles only, public by default), a login of its
    own so its connections and limits are apart from the web server's. A run takes its
    caller's audience role; before that, as itself (``SET ROLE NONE``), it may only call the
    owner's SECURITY DEFINER functions that build the walking graph and give building
    weights (:mod:`gisplatform.analyses.access`), keep the process jobs (``jobs.jobs``) and
    create temporary tables (PostgreSQL grants ``TEMP`` to every role by default). It never
    reads ``gis.*`` or ``history.*``, whatever role it takes.

Passwords: the embedded cluster generates one per login role (``secrets.token_urlsafe``) and
keeps them in ``connection.json`` (mode 0600) beside the superuser's. An external database
takes them from ``GISPLATFORM_API_DATABASE_URL`` and ``GISPLATFORM_ANALYSES_DATABASE_URL``
(``postgresql://gisplatform_api:<password>@host/db``): ``migrate``, run with ``DATABASE_URL``,
sets each role's password from its URL, and the server is given only the API's URL. Passwords
are sent already hashed (SCRAM), never in clear text in a statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from gisplatform.errors import ConfigurationError
from gisplatform.i18n import message
from gisplatform.registry import Access

#: schema where the analyses keep their walking graph (built by the owner's function)
ANALYSIS_SCHEMA = "analysis"

OWNER_ROLE = "gisplatform_owner"
API_ROLE = "gisplatform_api"
ANALYSES_ROLE = "gisplatform_analyses"
#: NOLOGIN role of each audience
AUDIENCE_ROLES = {Access.PUBLIC: "gisplatform_public"}
#: the login roles of the services, each a member (SET, no INHERIT) of the audience roles only
SERVICE_ROLES = (API_ROLE, ANALYSES_ROLE)
#: the schema and name of the layer-state view every audience may read
LAYER_STATE_VIEW = ("api_meta", "layer_state")

_ATTRIBUTES = ("rolsuper", "rolcreaterole", "rolcreatedb", "rolreplication", "rolbypassrls")
_NO = {
    "rolsuper": "NOSUPERUSER",
    "rolcreaterole": "NOCREATEROLE",
    "rolcreatedb": "NOCREATEDB",
    "rolreplication": "NOREPLICATION",
    "rolbypassrls": "NOBYPASSRLS",
    "rolinherit": "NOINHERIT",
}


@dataclass(frozen=True)
class RoleLogins:
    """The passwords ``migrate`` gives the login roles (None: leave the password alone).

    ``owner`` is the embedded cluster's owner login; None with an external database,
    whose owner is the migrating user itself.
    """

    api: str | None = None
    analyses: str | None = None
    owner: str | None = None

    @property
    def owner_role(self) -> str | None:
        """The role that owns the platform's objects, when it is not the migrating user."""
        return OWNER_ROLE if self.owner is not None else None


def _rows(
    conn: psycopg.Connection, query: sql.SQL | sql.Composed, params: Sequence[Any] | None = None
) -> list[tuple[Any, ...]]:
    cursor = conn.execute(query, params)
    return cursor.fetchall() if cursor.description else []


def _hashed(conn: psycopg.Connection, role: str, password: str) -> sql.Literal:
    """The password as the server stores it (SCRAM), so no clear text reaches the server."""
    return sql.Literal(conn.pgconn.encrypt_password(password.encode(), role.encode()).decode())


def _may_create_roles(conn: psycopg.Connection) -> None:
    row = _rows(
        conn, sql.SQL("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
    )
    if not row or not row[0][0]:
        raise ConfigurationError(message("cannot_create_roles"))


def _ensure_role(
    conn: psycopg.Connection, name: str, *, login: bool, inherit: bool, password: str | None
) -> None:
    """Create ``name`` or put back its attributes: never superuser, never able to add roles."""
    role = sql.Identifier(name)
    found = _rows(
        conn,
        sql.SQL("SELECT {}, rolinherit, rolcanlogin FROM pg_roles WHERE rolname = %s").format(
            sql.SQL(", ").join(map(sql.Identifier, _ATTRIBUTES))
        ),
        [name],
    )
    secret = (
        sql.SQL(" PASSWORD {}").format(_hashed(conn, name, password)) if password else sql.SQL("")
    )
    if not found:
        options = " ".join(
            ["LOGIN" if login else "NOLOGIN", "INHERIT" if inherit else "NOINHERIT"]
            + [_NO[a] for a in _ATTRIBUTES]
        )
        conn.execute(sql.SQL("CREATE ROLE {} " + options + "{}").format(role, secret))
        return
    values = dict(zip([*_ATTRIBUTES, "rolinherit", "rolcanlogin"], found[0], strict=True))
    fixes = [_NO[a] for a in _ATTRIBUTES if values[a]]
    if values["rolinherit"] != inherit:
        fixes.append("INHERIT" if inherit else "NOINHERIT")
    if values["rolcanlogin"] != login:
        fixes.append("LOGIN" if login else "NOLOGIN")
    if fixes or password:
        conn.execute(sql.SQL("ALTER ROLE {} " + " ".join(fixes) + "{}").format(role, secret))


def sync_memberships(
    conn: psycopg.Connection[Any], member: str, allowed: Sequence[str], *, inherit: bool
) -> None:
    """``member`` belongs to ``allowed`` and to no other role.

    ``inherit=False``: it may ``SET ROLE`` to them without inheriting their rights (the
    server's logins); ``inherit=True``: it inherits them and, on PostgreSQL 16+, may not
    ``SET ROLE`` (a staff member's own database login). 16+ keeps both per grant.
    """
    current = {
        str(name)
        for (name,) in _rows(
            conn,
            sql.SQL(
                "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                "WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = %s)"
            ),
            [member],
        )
    }
    target = sql.Identifier(member)
    for extra in sorted(current - set(allowed)):
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(extra), target))
    per_grant = conn.info.server_version >= 160000
    flags = " WITH INHERIT TRUE, SET FALSE" if inherit else " WITH INHERIT FALSE, SET TRUE"
    options = sql.SQL(flags if per_grant else "")
    for role in allowed:
        if role not in current or per_grant:
            conn.execute(sql.SQL("GRANT {} TO {}{}").format(sql.Identifier(role), target, options))


def _ensure_memberships(conn: psycopg.Connection, member: str, allowed: list[str]) -> None:
    """``member`` may become ``allowed`` (SET, no INHERIT), no other role; starts as public."""
    sync_memberships(conn, member, allowed, inherit=False)
    default = AUDIENCE_ROLES[Access.PUBLIC]
    conn.execute(
        sql.SQL("ALTER ROLE {} SET role = {}").format(sql.Identifier(member), sql.Literal(default))
    )


def ensure_roles(
    conn: psycopg.Connection,
    logins: RoleLogins,
    staff_roles: Sequence[str] = (),
    writer_roles: Sequence[str] = (),
) -> None:
    """Create or repair every role of the platform (inside the caller's transaction).

    ``staff_roles`` are the signed-in audiences' roles: the API and the analyses may
    become them (a process runs in its caller's audience). ``writer_roles`` (Features
    Part 4 edits) only the API may become: an analysis never writes.
    Raises :class:`ConfigurationError` when the connected user may not create roles.
    """
    _may_create_roles(conn)
    public = list(AUDIENCE_ROLES.values())
    for nologin_role in [*public, *staff_roles, *writer_roles]:
        _ensure_role(conn, nologin_role, login=False, inherit=True, password=None)
    _ensure_role(conn, API_ROLE, login=True, inherit=False, password=logins.api)
    _ensure_memberships(conn, API_ROLE, [*public, *staff_roles, *writer_roles])
    _ensure_role(conn, ANALYSES_ROLE, login=True, inherit=False, password=logins.analyses)
    _ensure_memberships(conn, ANALYSES_ROLE, [*public, *staff_roles])
    if logins.owner is not None:
        _ensure_role(conn, OWNER_ROLE, login=True, inherit=True, password=logins.owner)
        # an owner session (CLI, notebooks) may look at the data as an audience sees it
        _grant_audiences(conn, OWNER_ROLE)


def _grant_audiences(conn: psycopg.Connection, member: str) -> None:
    """``member`` may ``SET ROLE`` to every audience role (without inheriting from them)."""
    per_grant = conn.info.server_version >= 160000
    options = sql.SQL(" WITH INHERIT FALSE, SET TRUE" if per_grant else "")
    for role in AUDIENCE_ROLES.values():
        conn.execute(
            sql.SQL("GRANT {} TO {}{}").format(
                sql.Identifier(role), sql.Identifier(member), options
            )
        )


def transfer_ownership(conn: psycopg.Connection, owner: str, schemas: list[str]) -> None:
    """Give ``owner`` the ``schemas`` and everything in them that another role owns.

    Clusters made before the owner role existed have their objects owned by the superuser.
    Sequences owned by a column follow their table.
    """
    target = sql.Identifier(owner)
    for schema in _rows(
        conn,
        sql.SQL(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) "
            "AND nspowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)"
        ),
        [schemas, owner],
    ):
        conn.execute(
            sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(schema[0]), target)
        )
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE"}
    relations = _rows(
        conn,
        sql.SQL(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s) AND c.relkind = ANY(%s) "
            "AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s) "
            "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid "
            "AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))"
        ),
        [schemas, list(kinds), owner],
    )
    for schema, name, kind in relations:
        conn.execute(
            sql.SQL("ALTER " + kinds[kind] + " {} OWNER TO {}").format(
                sql.Identifier(schema, name), target
            )
        )
    functions = _rows(
        conn,
        sql.SQL(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY(%s) "
            "AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)"
        ),
        [schemas, owner],
    )
    for (signature,) in functions:
        # regprocedure's text is the function's own quoted, qualified signature.
        conn.execute(sql.SQL("ALTER FUNCTION " + signature + " OWNER TO {}").format(target))
