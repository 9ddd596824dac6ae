"""The change history as each signed-in audience may read it, enforced by the database.

Neither the API login nor any audience role may read ``history.*``. Each staff audience
schema gets a function ``<schema>.feature_history(layer, fid)``, owned by the owner and run
as it (``SECURITY DEFINER``), executable by that audience's role alone, whose body names
the layers and columns that audience reads (generated from the registry by ``migrate``):
entries of other layers are never returned, values of hidden columns are cut out of the
old and new values, and a change that touched hidden columns only is left out. The public
gets no history at all.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from sqlalchemy import Connection

from gisplatform.registry import LayerRegistry
from gisplatform.store.audiences import view_audiences
from gisplatform.store.database import driver_execute
from gisplatform.store.views import view_columns

FUNCTION = "feature_history"
#: columns of a layer's history entries besides the audience's view columns
EXTRA_COLUMNS = ("created_at",)


def _run(conn: Connection, query: sql.SQL | sql.Composed) -> list[tuple[Any, ...]]:
    cursor = driver_execute(conn, query)
    return cursor.fetchall() if cursor.description else []


def history_function(
    schema: str, allowed: dict[str, list[str]], history_schema: str
) -> sql.Composed:
    """The function of one audience: ``allowed`` maps each layer it reads to its columns."""
    rows = (
        sql.SQL(", ").join(
            sql.SQL("({}, {}::text[])").format(sql.Literal(layer), sql.Literal(columns))
            for layer, columns in allowed.items()
        )
        if allowed
        else sql.SQL("(NULL::text, NULL::text[])")
    )
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {function}(p_layer text, p_fid bigint) "
        "RETURNS TABLE (id bigint, operation text, changed_at timestamptz, changed_by text, "
        "old_values jsonb, new_values jsonb, changed_fields text[]) "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$ "
        "SELECT c.id, c.operation, c.changed_at, c.changed_by, "
        "(SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(c.old_values) AS e "
        " WHERE e.key = ANY(a.cols)), "
        "(SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(c.new_values) AS e "
        " WHERE e.key = ANY(a.cols)), "
        "ARRAY(SELECT f FROM unnest(c.changed_fields) AS f WHERE f = ANY(a.cols)) "
        "FROM {changes} AS c JOIN (VALUES {rows}) AS a(layer, cols) ON a.layer = c.layer "
        "WHERE c.layer = p_layer AND c.fid = p_fid AND (c.operation <> 'UPDATE' OR EXISTS "
        " (SELECT FROM unnest(c.changed_fields) AS f WHERE f = ANY(a.cols))) "
        "ORDER BY c.id $body$"
    ).format(
        function=sql.Identifier(schema, FUNCTION),
        changes=sql.Identifier(history_schema, "feature_changes"),
        rows=rows,
    )


def apply_history_functions(conn: Connection, registry: LayerRegistry, history_schema: str) -> None:
    """(Re)create every staff audience's history function and grant it to that role only."""
    for audience in view_audiences(registry):
        if audience.is_public:
            continue
        allowed = {
            spec.name: [*view_columns(spec, audience.reader), *EXTRA_COLUMNS]
            for spec in registry.list(audience.reader)
        }
        function = sql.Identifier(audience.schema, FUNCTION)
        _run(conn, history_function(audience.schema, allowed, history_schema))
        signature = sql.SQL("{}(text, bigint)").format(function)
        _run(conn, sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(signature))
        _run(
            conn,
            sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                signature, sql.Identifier(audience.role)
            ),
        )
