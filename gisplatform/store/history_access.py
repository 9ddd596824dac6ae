"""The change history as each signed-in audience may read it, enforced by the database.

Neither the API login nor any audience role may read ``history.*``. Each staff audience
schema gets a function ``<schema>.feature_history(layer, fid)``, owned by the owner and run
as it (``SECURITY DEFINER``), executable by that audience's role alone, whose body names
the layers and columns that audience reads (generated from the registry by ``migrate``):
entries of other layers are never returned, values of hidden columns are cut out of the
old and new values, and a change that touched hidden columns only is left out. The public
gets no history at all. ``<schema>.features_as_of(layer, at, limit, offset)`` rebuilds a
layer as it was at a moment from the same pre-images, under the same limits.
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
AS_OF_FUNCTION = "features_as_of"
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


def as_of_function(
    schema: str, allowed: dict[str, list[str]], layer_schema: str, history_schema: str
) -> sql.Composed:
    """One audience's ``features_as_of(layer, at, limit, offset)``: the layer as it was at ``at``.

    A feature's state at ``at`` is the pre-image of its first change after ``at`` (an update
    or a delete); a feature unchanged since is its current row; one whose first change after
    ``at`` is its insert did not exist yet.
    """
    rows = (
        sql.SQL(", ").join(
            sql.SQL("({}, {}::text[])").format(sql.Literal(layer), sql.Literal(columns))
            for layer, columns in allowed.items()
        )
        if allowed
        else sql.SQL("(NULL::text, NULL::text[])")
    )
    query = sql.SQL(
        "WITH after AS (SELECT DISTINCT ON (c.fid) c.fid, c.operation, c.old_values "
        "FROM {changes} AS c WHERE c.layer = $1 AND c.changed_at > $2 ORDER BY c.fid, c.id) "
        "SELECT x.fid, (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(x.r) AS e "
        "WHERE e.key = ANY($3)) FROM ("
        "SELECT a.fid, a.old_values AS r FROM after AS a WHERE a.operation <> 'INSERT' "
        "UNION ALL SELECT t.fid, to_jsonb(t) - 'geom' || "
        "jsonb_build_object('geom', ST_AsGeoJSON(t.geom, 9)::jsonb) FROM %I.%I AS t "
        "WHERE NOT EXISTS (SELECT FROM after AS a WHERE a.fid = t.fid)"
        ") AS x ORDER BY x.fid LIMIT $4 OFFSET $5"
    ).format(changes=sql.Identifier(history_schema, "feature_changes"))
    return sql.SQL(
        "CREATE OR REPLACE FUNCTION {function}(p_layer text, p_at timestamptz, "
        "p_limit integer, p_offset integer) RETURNS TABLE (fid bigint, feature jsonb) "
        "LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $body$ "
        "DECLARE cols text[]; BEGIN "
        "SELECT a.cols INTO cols FROM (VALUES {rows}) AS a(layer, cols) WHERE a.layer = p_layer; "
        "IF cols IS NULL THEN RETURN; END IF; "
        "RETURN QUERY EXECUTE format({query}, {layer_schema}, p_layer) "
        "USING p_layer, p_at, cols, p_limit, p_offset; END $body$"
    ).format(
        function=sql.Identifier(schema, AS_OF_FUNCTION),
        rows=rows,
        query=sql.Literal(query.as_string()),
        layer_schema=sql.Literal(layer_schema),
    )


def apply_history_functions(
    conn: Connection, registry: LayerRegistry, layer_schema: str, history_schema: str
) -> None:
    """(Re)create every staff audience's history functions and grant them to its role only."""
    for audience in view_audiences(registry):
        if audience.is_public:
            continue
        allowed = {
            spec.name: [*view_columns(spec, audience.reader), *EXTRA_COLUMNS]
            for spec in registry.list(audience.reader)
        }
        _run(conn, history_function(audience.schema, allowed, history_schema))
        _run(conn, as_of_function(audience.schema, allowed, layer_schema, history_schema))
        for name, arguments in (
            (FUNCTION, "text, bigint"),
            (AS_OF_FUNCTION, "text, timestamptz, integer, integer"),
        ):
            signature = sql.SQL("{}(" + arguments + ")").format(
                sql.Identifier(audience.schema, name)
            )
            _run(conn, sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(signature))
            _run(
                conn,
                sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                    signature, sql.Identifier(audience.role)
                ),
            )
