"""Per-audience views and the read-only role that the public server reads through.

Anonymous requests may only ever see ``public`` layers and ``public`` fields.
The rule is applied in the application and, independently, here: the view for
the public audience holds only those columns, and the role the server uses for
anonymous requests may read nothing else (see :mod:`gisplatform.store.roles`).
The layers' revisions reach the audiences through ``api_meta.layer_state``, which
shows a layer only to a role that may read one of its audience views.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from psycopg import sql
from sqlalchemy import Connection

from gisplatform.registry import Access, LayerRegistry, LayerSpec
from gisplatform.registry.spec import Reader
from gisplatform.store.audiences import STAFF_SCHEMA, ViewAudience, view_audiences
from gisplatform.store.database import driver_execute
from gisplatform.store.roles import AUDIENCE_ROLES, LAYER_STATE_VIEW

#: schema holding the views for each audience that has one
AUDIENCE_SCHEMAS = {Access.PUBLIC: "api_public"}
#: role (NOLOGIN) the server switches to for anonymous requests
PUBLIC_ROLE = AUDIENCE_ROLES[Access.PUBLIC]
#: system columns every view exposes (version: the ETag of a feature, Features Part 4)
VIEW_SYSTEM_COLUMNS = ("fid", "geom", "is_demo", "updated_at", "version")
#: bump when the view DDL changes, so ``migrate`` recreates existing views
VIEW_FORMAT_VERSION = "4"
#: the table of withdrawals from the public (:mod:`gisplatform.access.publication.store`)
WITHDRAWALS = sql.Identifier("publication", "withdrawals")


@dataclass(frozen=True)
class ViewDefinition:
    """One audience view: its SQL and a fingerprint kept in the view's comment."""

    schema: str
    name: str
    query: sql.Composed
    fingerprint: str


def view_columns(spec: LayerSpec, audience: Reader) -> list[str]:
    """Columns of ``spec``'s view for ``audience``, in a stable order."""
    return ["fid", *(f.name for f in spec.fields_for(audience)), *VIEW_SYSTEM_COLUMNS[1:]]


def _masks(spec: LayerSpec, audience: ViewAudience) -> dict[str, tuple[str, ...]]:
    """Enum values the audience sees empty (``public_mask``, the public only), by field."""
    if not audience.is_public:
        return {}
    return {f.name: f.public_mask for f in spec.fields_for(audience.reader) if f.public_mask}


def _view_column(
    name: str, mask: tuple[str, ...] | None, withdrawable: sql.Composable | None
) -> sql.Composable:
    column = sql.Identifier(name)
    cases: list[sql.Composable] = []
    if withdrawable is not None:
        # uncorrelated: evaluated once per query, not per row
        cases.append(
            sql.SQL(
                "WHEN EXISTS (SELECT FROM {w} AS w WHERE w.layer = {layer} "
                "AND w.field = {field}) THEN NULL"
            ).format(w=WITHDRAWALS, layer=withdrawable, field=sql.Literal(name))
        )
    if mask:
        cases.append(
            sql.SQL("WHEN t.{c} = ANY({mask}) THEN NULL").format(
                c=column, mask=sql.Literal(list(mask))
            )
        )
    if not cases:
        return sql.SQL("t.{}").format(column)
    return sql.SQL("CASE {} ELSE t.{c} END AS {c}").format(sql.SQL(" ").join(cases), c=column)


def _withdrawn_rows(layer: sql.Composable) -> sql.Composable:
    """The public view's filter: nothing of a withdrawn layer, nothing in a withdrawn area."""
    return sql.SQL(
        " WHERE NOT EXISTS (SELECT FROM {w} AS w WHERE w.layer = {layer} "
        "AND w.field IS NULL AND w.area IS NULL) "
        "AND NOT EXISTS (SELECT FROM {w} AS w WHERE w.layer = {layer} "
        "AND w.area IS NOT NULL AND ST_Intersects(w.area, t.geom))"
    ).format(w=WITHDRAWALS, layer=layer)


def view_definition(spec: LayerSpec, audience: ViewAudience, layer_schema: str) -> ViewDefinition:
    """The view exposing what ``audience`` may see of ``spec``.

    The public's view also reads the publication state: it holds no rows while the layer is
    withdrawn or inside a withdrawn area, and a withdrawn field is empty (NULL).
    """
    schema = audience.schema
    columns = view_columns(spec, audience.reader)
    masks = _masks(spec, audience)
    layer = sql.Literal(spec.name) if audience.is_public else None
    fields = {f.name for f in spec.fields}
    query = sql.SQL("SELECT {} FROM {} AS t{}").format(
        sql.SQL(", ").join(
            _view_column(name, masks.get(name), layer if name in fields else None)
            for name in columns
        ),
        sql.Identifier(layer_schema, spec.name),
        _withdrawn_rows(layer) if layer is not None else sql.SQL(""),
    )
    masked = ";".join(f"{name}={','.join(values)}" for name, values in sorted(masks.items()))
    fingerprint = hashlib.sha1(
        f"{VIEW_FORMAT_VERSION}:{layer_schema}.{spec.name}:{','.join(columns)}:{masked}".encode()
    ).hexdigest()
    return ViewDefinition(schema, spec.name, query, f"gisplatform view {fingerprint}")


def owned_view_schemas() -> list[str]:
    """The schemas of views this module creates (they belong to the owner role)."""
    return [*AUDIENCE_SCHEMAS.values(), LAYER_STATE_VIEW[0]]


def layer_state_view(history_schema: str, schemas: list[str] | None = None) -> sql.Composed:
    """The layers' revisions, each row shown only to a role that may read that layer's view.

    ``current_user`` inside a view is the reading role, so ``has_table_privilege`` asks
    about the reader. The barrier keeps a reader's own functions from seeing hidden rows.
    """
    return sql.SQL(
        "CREATE OR REPLACE VIEW {view} WITH (security_barrier) AS "
        "SELECT s.layer, s.revision, s.changed_at FROM {state} AS s "
        "WHERE EXISTS (SELECT FROM pg_catalog.pg_class AS c "
        "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE c.relname = s.layer AND n.nspname = ANY({schemas}::name[]) "
        "AND pg_catalog.has_table_privilege(c.oid, 'SELECT'))"
    ).format(
        view=sql.Identifier(*LAYER_STATE_VIEW),
        state=sql.Identifier(history_schema, "layer_state"),
        schemas=sql.Literal(schemas or list(AUDIENCE_SCHEMAS.values())),
    )


def import_outcomes_function(history_schema: str) -> sql.Composed:
    """``api_meta.import_outcomes()``: how many imports ended how, for the server's metrics.

    The import log stays the owner's; the audience roles may only call this count.
    """
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {schema}.import_outcomes() "
        "RETURNS TABLE (status text, imports bigint) "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp "
        "AS $$ SELECT i.status, count(*) FROM {imports} AS i GROUP BY i.status $$"
    ).format(
        schema=sql.Identifier(LAYER_STATE_VIEW[0]),
        imports=sql.Identifier(history_schema, "imports"),
    )


def _driver_execute(
    conn: Connection, query: sql.SQL | sql.Composed, params: Any = None
) -> list[tuple[Any, ...]]:
    cursor = driver_execute(conn, query, params)
    return cursor.fetchall() if cursor.description else []


def plan_views(conn: Connection, registry: LayerRegistry, layer_schema: str) -> list[str]:
    """The view changes needed: ``create view s.v`` / ``drop view s.v`` lines."""
    changes: list[str] = []
    audiences = view_audiences(registry)
    for audience in audiences:
        schema = audience.schema
        existing: dict[str, str | None] = dict(
            _driver_execute(
                conn,
                sql.SQL(
                    "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind = 'v'"
                ),
                [schema],
            )
        )
        wanted = {s.name: s for s in registry.list(audience.reader)}
        for name, spec in wanted.items():
            definition = view_definition(spec, audience, layer_schema)
            if existing.get(name) != definition.fingerprint:
                changes.append(f"create view {schema}.{name}")
        for name in sorted(existing.keys() - wanted.keys()):
            changes.append(f"drop view {schema}.{name}")
    stale = _driver_execute(
        conn,
        sql.SQL(
            "SELECT nspname FROM pg_namespace WHERE (nspname = %s OR nspname LIKE %s) "
            "AND NOT nspname = ANY(%s) ORDER BY nspname"
        ),
        [STAFF_SCHEMA, STAFF_SCHEMA + r"\_%", [a.schema for a in audiences]],
    )
    changes.extend(f"drop schema {name}" for (name,) in stale)
    return changes


def apply_views(
    conn: Connection,
    registry: LayerRegistry,
    layer_schema: str,
    history_schema: str,
    changes: list[str],
) -> None:
    """Create the audience schemas, the planned views and the layer-state view; grant them.

    The roles exist already (:func:`gisplatform.store.roles.ensure_roles`).
    """
    audiences = {a.schema: a for a in view_audiences(registry)}
    for schema in [*owned_view_schemas(), *audiences]:
        _driver_execute(
            conn, sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
        )
    for line in changes:
        action, kind, target = line.split(" ")
        if kind == "schema":
            _driver_execute(
                conn, sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(target))
            )
            continue
        schema, name = target.split(".")
        view = sql.Identifier(schema, name)
        _driver_execute(conn, sql.SQL("DROP VIEW IF EXISTS {}").format(view))
        if action == "drop":
            continue
        definition = view_definition(registry.get(name), audiences[schema], layer_schema)
        # No security_barrier: it stops the planner from flattening the view (non-leakproof
        # quals such as ST_Intersects stay outside it and ORDER BY fid cannot use the key, so
        # bbox queries, tiles and pages all became sequential scans). A withdrawn layer is
        # filtered by a one-time test before any row is read and a withdrawn field is NULL
        # in the view's own column; only a withdrawn area filters rows one by one, and while
        # a layer has one the publication schema makes its public view a barrier
        # (publication.set_barrier; migrate puts it back after recreating views).
        _driver_execute(conn, sql.SQL("CREATE VIEW {} AS {}").format(view, definition.query))
        _driver_execute(
            conn,
            sql.SQL("COMMENT ON VIEW {} IS {}").format(view, sql.Literal(definition.fingerprint)),
        )
    _driver_execute(conn, layer_state_view(history_schema, list(audiences)))
    _driver_execute(conn, import_outcomes_function(history_schema))
    history = sql.Identifier(history_schema)
    state_schema, _ = LAYER_STATE_VIEW
    outcomes = sql.Identifier(state_schema, "import_outcomes")
    _driver_execute(conn, sql.SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(outcomes))
    for schema, audience in audiences.items():
        role = sql.Identifier(audience.role)
        for statement in (
            # Granted before the roles were separated; the state view replaces them.
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(history, role),
            sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(history, role),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), role),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                sql.Identifier(schema), role
            ),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(state_schema), role),
            sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(*LAYER_STATE_VIEW), role),
            sql.SQL("GRANT EXECUTE ON FUNCTION {}() TO {}").format(outcomes, role),
        ):
            _driver_execute(conn, statement)
