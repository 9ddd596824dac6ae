"""The ``reports`` schema: tables, functions, kinds synced from ``reports/*.yaml``, access.

``migrate`` runs :func:`ensure_reports_schema` as the owner. Access, enforced by PostgreSQL:

- the public role (and every audience role) reads ``reports.public_requests`` only, and
  calls ``reports.submit`` / ``reports.status`` / ``reports.request_state`` (owner's
  functions, ``SECURITY DEFINER``); it has no right on the tables themselves;
- one NOLOGIN *handler role* per combination of the registry roles that handle reports
  (``gisplatform_reports__civil_protection``, ``gisplatform_reports__admin__lighting`` …),
  which the API may ``SET ROLE`` to like a writer role: it reads the rows of the kinds its
  roles handle (row-level security through ``reports.handlers``; a role with ``writes_all``
  such as ``admin`` handles every kind), contact included, never the token or the address
  hash, and changes a report's state only through ``reports.transition`` (its column grants
  and the transition triggers refuse anything else; every change is recorded with the actor
  of :func:`history.current_actor`, the signed-in login the API sets).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import resources
from itertools import combinations
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Connection

from gisplatform.registry import LayerRegistry
from gisplatform.reports.kinds import ReportKinds
from gisplatform.store.audiences import view_audiences
from gisplatform.store.database import driver_execute

REPORTS_SCHEMA = "reports"
HANDLER_PREFIX = "gisplatform_reports"
#: at most this many registry roles take part in handler-role combinations
MAX_HANDLER_ROLES = 8
_MAX_NAME = 63
#: the columns a handler role reads (never token, never client_hash)
HANDLER_COLUMNS = (
    "id", "kind", "layer", "feature_id", "geom", "answers", "description", "contact", "source",
    "status", "status_reason", "duplicate_of", "created_at", "updated_at", "deadline_at",
)  # fmt: skip
#: the columns ``reports.transition`` changes (as the caller)
TRANSITION_COLUMNS = ("status", "status_reason", "duplicate_of")
#: the public's functions: name and argument types
PUBLIC_FUNCTIONS = (
    ("submit", "text, text, text, text, float8, float8, jsonb, text, text, text, text, "
     "integer, integer, bytea, text, integer, integer"),
    ("status", "text"),
    ("request_state", "bigint"),
)  # fmt: skip
TRANSITION_FUNCTION = ("transition", "bigint, text, text, bigint")


def handling_roles(kinds: ReportKinds, registry: LayerRegistry) -> tuple[str, ...]:
    """Registry roles that handle some kind: the kinds' handlers and the ``writes_all`` roles."""
    named = {k.handler_role for k in kinds} | {r.name for r in registry.roles if r.writes_all}
    return tuple(sorted(named & registry.role_names))[:MAX_HANDLER_ROLES]


def _name(roles: tuple[str, ...]) -> str:
    name = HANDLER_PREFIX + "".join(f"__{r}" for r in roles)
    if len(name) <= _MAX_NAME:
        return name
    return f"{HANDLER_PREFIX}_{hashlib.sha1(','.join(roles).encode()).hexdigest()[:16]}"


def handler_db_roles(kinds: ReportKinds, registry: LayerRegistry) -> dict[str, tuple[str, ...]]:
    """Every handler database role and the registry roles it stands for."""
    roles = handling_roles(kinds, registry)
    return {
        _name(subset): subset
        for size in range(1, len(roles) + 1)
        for subset in combinations(roles, size)
    }


def handler_db_role(
    kinds: ReportKinds, registry: LayerRegistry, roles: Iterable[str]
) -> str | None:
    """The handler role for a signed-in person with ``roles``; None if they handle nothing."""
    mine = tuple(sorted(set(roles) & set(handling_roles(kinds, registry))))
    return _name(mine) if mine else None


def handled_kinds(kinds: ReportKinds, registry: LayerRegistry, roles: Iterable[str]) -> list[str]:
    """The kinds a person with ``roles`` handles."""
    mine = set(roles)
    if any(r.writes_all and r.name in mine for r in registry.roles):
        return [k.code for k in kinds]
    return [k.code for k in kinds if k.handler_role in mine]


def _run(
    conn: Connection, query: sql.SQL | sql.Composed, params: Any = None
) -> list[tuple[Any, ...]]:
    cursor = driver_execute(conn, query, params)
    return cursor.fetchall() if cursor.description else []


def reports_sql(history_schema: str) -> sql.Composed:
    """The schema's DDL (``sql/reports.sql``) with its schema names filled in."""
    template = resources.files("gisplatform.sql").joinpath("reports.sql").read_text("utf-8")
    return sql.SQL(template).format(
        reports=sql.Identifier(REPORTS_SCHEMA), history=sql.Identifier(history_schema)
    )


def _sync_kinds(conn: Connection, kinds: ReportKinds) -> None:
    for kind in kinds:
        _run(
            conn,
            sql.SQL(
                "INSERT INTO {} (code, handler_role, deadline, layer, marking_answers) "
                "VALUES (%s, %s, make_interval(hours => %s), %s, %s) ON CONFLICT (code) DO "
                "UPDATE SET handler_role = EXCLUDED.handler_role, deadline = EXCLUDED.deadline, "
                "layer = EXCLUDED.layer, marking_answers = EXCLUDED.marking_answers"
            ).format(sql.Identifier(REPORTS_SCHEMA, "kinds")),
            [kind.code, kind.handler_role, kind.deadline_hours, kind.layer,
             Jsonb(kind.marking_answers)],
        )  # fmt: skip
    # a kind gone from reports/ stays while reports of it exist (they keep their kind)
    _run(
        conn,
        sql.SQL(
            "DELETE FROM {kinds} AS k WHERE k.code <> ALL(%s) "
            "AND NOT EXISTS (SELECT FROM {requests} AS r WHERE r.kind = k.code)"
        ).format(
            kinds=sql.Identifier(REPORTS_SCHEMA, "kinds"),
            requests=sql.Identifier(REPORTS_SCHEMA, "requests"),
        ),
        [[k.code for k in kinds]],
    )


def _sync_handlers(conn: Connection, kinds: ReportKinds, registry: LayerRegistry) -> None:
    table = sql.Identifier(REPORTS_SCHEMA, "handlers")
    _run(conn, sql.SQL("DELETE FROM {}").format(table))
    for db_role, roles in handler_db_roles(kinds, registry).items():
        for code in handled_kinds(kinds, registry, roles):
            _run(
                conn,
                sql.SQL("INSERT INTO {} (db_role, kind) VALUES (%s, %s)").format(table),
                [db_role, code],
            )


def _function(name: str, arguments: str) -> sql.Composed:
    return sql.SQL("{}(" + arguments + ")").format(sql.Identifier(REPORTS_SCHEMA, name))


def _grants(conn: Connection, kinds: ReportKinds, registry: LayerRegistry) -> None:
    schema = sql.Identifier(REPORTS_SCHEMA)
    handlers = list(handler_db_roles(kinds, registry))
    readers = [a.role for a in view_audiences(registry)]
    _run(conn, sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM PUBLIC").format(schema))
    _run(conn, sql.SQL("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {} FROM PUBLIC").format(schema))
    # handler roles that once held rights here (a kind or role since removed), never the owner
    former = _run(
        conn,
        sql.SQL(
            "SELECT DISTINCT grantee FROM information_schema.role_table_grants "
            "WHERE table_schema = %s AND grantee LIKE %s AND grantee <> current_user"
        ),
        [REPORTS_SCHEMA, HANDLER_PREFIX.replace("_", "\\_") + "%"],
    )
    for role in sorted({str(r[0]) for r in former} | set(handlers) | set(readers)):
        name = sql.Identifier(role)
        _run(conn, sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, name))
        _run(conn, sql.SQL("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {} FROM {}").format(schema, name))
    public_view = sql.Identifier(REPORTS_SCHEMA, "public_requests")
    for role in [*readers, *handlers]:
        name = sql.Identifier(role)
        _run(conn, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, name))
        _run(conn, sql.SQL("GRANT SELECT ON {} TO {}").format(public_view, name))
    for role in readers:
        for function in PUBLIC_FUNCTIONS:
            _run(
                conn,
                sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                    _function(*function), sql.Identifier(role)
                ),
            )
    requests = sql.Identifier(REPORTS_SCHEMA, "requests")
    read = sql.SQL(", ").join(map(sql.Identifier, HANDLER_COLUMNS))
    write = sql.SQL(", ").join(map(sql.Identifier, TRANSITION_COLUMNS))
    for role in handlers:
        name = sql.Identifier(role)
        _run(conn, sql.SQL("GRANT SELECT ({}), UPDATE ({}) ON {} TO {}").format(
            read, write, requests, name))  # fmt: skip
        for table in ("kinds", "handlers", "photos", "transitions"):
            target = sql.Identifier(REPORTS_SCHEMA, table)
            _run(conn, sql.SQL("GRANT SELECT ON {} TO {}").format(target, name))
        _run(
            conn,
            sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                _function(*TRANSITION_FUNCTION), name
            ),
        )


def ensure_reports_schema(
    conn: Connection, kinds: ReportKinds, registry: LayerRegistry, history_schema: str
) -> None:
    """Create or update the ``reports`` schema, sync the kinds, rebuild every grant."""
    _run(conn, reports_sql(history_schema))
    _sync_kinds(conn, kinds)
    _sync_handlers(conn, kinds, registry)
    _grants(conn, kinds, registry)
