"""Multi-source walking distances: every target to its nearest facility in one graph search."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from gisplatform.analyses.common import DEFAULT_SCHEMAS, Schemas, query, run_script
from gisplatform.analyses.network import VIRTUAL_BASE, ensure_graph, snap_points

FILE = "reach.sql"
#: Search bound used when the caller sets none (metres; larger than any hromada).
UNBOUNDED_M = 1e9


def start_points(conn: psycopg.Connection[Any], schemas: Schemas) -> None:
    """Create an empty ``pg_temp.analysis_points`` (kind, pid, geom_m) for the caller to fill."""
    run_script(conn, FILE, "points", schemas)


def add_points(
    conn: psycopg.Connection[Any], statement: sql.Composed, params: dict[str, Any] | None = None
) -> None:
    """Fill ``pg_temp.analysis_points`` with the rows of an INSERT statement."""
    conn.execute(statement, params)


def link_points(conn: psycopg.Connection[Any], max_snap_m: float, schemas: Schemas) -> None:
    """Snap the points and join origins and facilities to the graph as virtual vertices."""
    snap_points(conn, max_snap_m, schemas)
    run_script(conn, FILE, "links", schemas, {"base": VIRTUAL_BASE})


def start_column(conn: psycopg.Connection[Any]) -> sql.Identifier:
    """The start-vertex column of ``pgr_drivingDistance``: ``from_v`` (<= 3.5) or ``start_vid``.

    Read from the installed function's output columns on every call, so an upgraded extension
    needs no restart; the query costs a catalog lookup, the search nothing per row.
    """
    row = conn.execute(query(FILE, "start_column", DEFAULT_SCHEMAS)).fetchone()
    return sql.Identifier(str(row[0]) if row else "from_v")


def nearest_facility_distances(
    conn: psycopg.Connection[Any],
    schemas: Schemas,
    max_snap_m: float,
    max_distance_m: float | None = None,
) -> int:
    """Fill ``pg_temp.analysis_distances`` (pid, facility, distance_m) for every target.

    The points must be in ``pg_temp.analysis_points`` (kinds ``facility`` and ``target``).
    One ``pgr_drivingDistance`` from all facilities at once (``equicost``) gives every
    vertex its nearest facility. Returns the number of facilities that reached the graph.
    """
    ensure_graph(conn, schemas)
    link_points(conn, max_snap_m, schemas)
    row = conn.execute(query(FILE, "facility_starts", schemas), {"base": VIRTUAL_BASE}).fetchone()
    starts: list[int] = list(row[0]) if row else []
    bound = UNBOUNDED_M if max_distance_m is None else max_distance_m
    params = {"base": VIRTUAL_BASE, "starts": starts, "max_m": bound}
    if starts:
        run_script(conn, FILE, "reach", schemas, params, {"start_column": start_column(conn)})
    else:
        conn.execute("DROP TABLE IF EXISTS pg_temp.analysis_reach")
        conn.execute(
            "CREATE TEMP TABLE analysis_reach (node bigint, facility bigint, agg_cost float8)"
        )
    run_script(conn, FILE, "target_distances", schemas, params)
    return len(starts)
