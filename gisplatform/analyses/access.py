"""What the analyses' login may do in the database, installed by ``migrate``.

OGC API processes connect as ``gisplatform_analyses``, a login with no rights of its own on
the layers or the history (see :mod:`gisplatform.store.roles`). Two things a run needs
cannot be read through an audience's views, so the owner provides them as SECURITY DEFINER
functions that only that login may call:

``analysis.walk_graph()``
    Builds the walking graph (``analysis.walk_edges``, ``walk_vertices``) from
    ``gis.streets`` when the streets' revision changed, and returns its state. The graph
    tables are readable by every audience role (default privileges of the schema).
``analysis.building_weights()``
    ``(fid, population)`` of every building, for runs whose audience may not see
    ``buildings.population``: the weights only feed aggregates published under
    :mod:`gisplatform.analyses.disclosure`. Made only when the registry has that field.

The login also keeps the process jobs (``jobs.jobs``), and nothing else.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy import Connection

from gisplatform.analyses.common import Schemas, statements
from gisplatform.registry import LayerRegistry
from gisplatform.store.audiences import view_audiences
from gisplatform.store.database import driver_execute
from gisplatform.store.jobs import JOBS_SCHEMA
from gisplatform.store.roles import ANALYSES_ROLE

#: the graph function, relative to the analysis schema
WALK_GRAPH = "walk_graph"
#: the building weights function, relative to the analysis schema
BUILDING_WEIGHTS = "building_weights"
_NETWORK = "network.sql"

_WALK_GRAPH_SQL = """
CREATE OR REPLACE FUNCTION {function}()
    RETURNS TABLE (graph_revision bigint, graph_edges integer, graph_vertices integer,
                   graph_rebuilt boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = {path}
AS $fn$
DECLARE
    v_current bigint;
    v_built record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('gisplatform.analysis.walk_graph'));
    v_current := coalesce(
        (SELECT s.revision FROM {history}.layer_state AS s WHERE s.layer = 'streets'), 0);
    SELECT g.revision, g.edges, g.vertices INTO v_built
      FROM {analysis}.graph_state AS g WHERE g.graph = 'walk';
    IF FOUND AND v_built.revision = v_current
       AND to_regclass({edges}) IS NOT NULL THEN
        RETURN QUERY SELECT v_current, v_built.edges, v_built.vertices, false;
        RETURN;
    END IF;
{build}
    INSERT INTO {analysis}.graph_state AS g (graph, layer, revision, edges, vertices, built_at)
    SELECT 'walk', 'streets', v_current,
           (SELECT count(*) FROM {analysis}.walk_edges),
           (SELECT count(*) FROM {analysis}.walk_vertices), now()
    ON CONFLICT (graph) DO UPDATE
        SET revision = excluded.revision, edges = excluded.edges,
            vertices = excluded.vertices, built_at = excluded.built_at;
    RETURN QUERY SELECT g.revision, g.edges, g.vertices, true
      FROM {analysis}.graph_state AS g WHERE g.graph = 'walk';
END $fn$
"""

_WEIGHTS_SQL = """
CREATE OR REPLACE FUNCTION {function}()
    RETURNS TABLE (fid bigint, population integer)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT b.fid::bigint, b.population::integer FROM {buildings} AS b $fn$
"""


def _extension_path(conn: Connection) -> sql.Composable:
    """``pg_catalog``, the schemas of PostGIS and pgRouting, ``pg_temp`` last."""
    rows = driver_execute(
        conn,
        sql.SQL(
            "SELECT DISTINCT n.nspname FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname IN ('postgis', 'pgrouting') ORDER BY 1"
        ),
    ).fetchall()
    names = ["pg_catalog", *(str(r[0]) for r in rows if r[0] != "pg_catalog"), "pg_temp"]
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def has_weights(registry: LayerRegistry) -> bool:
    """True when the registry's buildings have a population field."""
    return "buildings" in registry and any(
        f.name == "population" for f in registry.get("buildings").fields
    )


def ensure_analysis_access(
    conn: Connection, registry: LayerRegistry, layer_schema: str, history_schema: str
) -> None:
    """Create the analysis schema, its graph and weights functions, and grant them.

    The graph needs a hromada profile (its metric CRS) and a ``streets`` layer; a registry
    without them gets the schema and the grants only.
    """
    srid = registry.hromada.metric_crs if registry.has_hromada else None
    schemas = Schemas(layers=layer_schema, history=history_schema, metric_srid=srid)
    for statement in statements(_NETWORK, "create_schema", schemas):
        driver_execute(conn, statement)
    analysis = sql.Identifier(schemas.analysis)
    login = sql.Identifier(ANALYSES_ROLE)
    audiences = [sql.Identifier(a.role) for a in view_audiences(registry)]
    functions = []
    if srid is not None and "streets" in registry:
        functions.append(_walk_graph(conn, schemas))
    if has_weights(registry):
        weights = sql.Identifier(schemas.analysis, BUILDING_WEIGHTS)
        buildings = sql.Identifier(layer_schema, "buildings")
        driver_execute(conn, sql.SQL(_WEIGHTS_SQL).format(function=weights, buildings=buildings))
        functions.append(weights)
    for function in functions:
        driver_execute(conn, sql.SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(function))
        driver_execute(
            conn, sql.SQL("GRANT EXECUTE ON FUNCTION {}() TO {}").format(function, login)
        )
    readers = sql.SQL(", ").join([login, *audiences])
    driver_execute(conn, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(analysis, readers))
    audience_list = sql.SQL(", ").join(audiences)
    driver_execute(
        conn,
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
            analysis, audience_list
        ),
    )
    driver_execute(
        conn,
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(analysis, audience_list),
    )
    jobs = sql.Identifier(JOBS_SCHEMA)
    driver_execute(conn, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(jobs, login))
    driver_execute(
        conn,
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
            sql.Identifier(JOBS_SCHEMA, "jobs"), login
        ),
    )


def _walk_graph(conn: Connection, schemas: Schemas) -> sql.Identifier:
    """Create the graph function (its body: the build statements of ``network.sql``)."""
    build = sql.SQL("\n").join(
        sql.SQL("    EXECUTE {};").format(sql.Literal(statement.as_string(_driver(conn))))
        for statement in statements(_NETWORK, "build", schemas)
    )
    walk = sql.Identifier(schemas.analysis, WALK_GRAPH)
    driver_execute(
        conn,
        sql.SQL(_WALK_GRAPH_SQL).format(
            function=walk,
            path=_extension_path(conn),
            history=schemas.identifiers()["history"],
            analysis=sql.Identifier(schemas.analysis),
            edges=sql.Literal(f'"{schemas.analysis}".walk_edges'),
            build=build,
        ),
    )
    return walk


def _driver(conn: Connection) -> psycopg.Connection:
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver
