"""The walking graph on ``streets`` (pgRouting edges and vertices) and point snapping.

Street parts become undirected edges (cost = reverse_cost = length in metres in the metric
CRS of the hromada profile) between end vertices shared by parts whose end points lie within
0.1 m. The streets layer is split at every junction, so no further noding is done: two
streets that cross without a shared vertex (a bridge, or a digitising slip) are not connected.

Points are snapped to the nearest edge, not the nearest vertex: a point at fraction ``f``
along an edge of length ``L`` between vertices ``u`` and ``v`` at straight-line distance
``s`` is joined to ``u`` at cost ``s + f·L`` and to ``v`` at ``s + (1 - f)·L``. The walk
from the entrance of a building to the street is the straight line ``s`` (an approximation:
yards, fences and footpaths not on the street layer are ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from gisplatform.analyses.common import DEFAULT_SCHEMAS, Schemas, query, run_script

FILE = "network.sql"
#: Identifiers of the virtual vertices that stand for snapped points start here.
VIRTUAL_BASE = 1_000_000_000_000


@dataclass(frozen=True)
class GraphInfo:
    """The walking graph in use."""

    revision: int
    edges: int
    vertices: int
    rebuilt: bool


def ensure_graph(
    conn: psycopg.Connection[Any], schemas: Schemas = DEFAULT_SCHEMAS, force: bool = False
) -> GraphInfo:
    """Build ``analysis.walk_edges``/``walk_vertices`` unless they match the streets revision.

    With ``schemas.prepared`` the graph was ensured before the run switched to a role that
    cannot write (or read the history): only its state is read.
    """
    if schemas.prepared and not force:
        with conn.transaction():
            state = conn.execute(query(FILE, "built_state", schemas)).fetchone()
        if state is None:
            raise RuntimeError("the walking graph was not prepared")
        return GraphInfo(int(state[0]), int(state[1]), int(state[2]), rebuilt=False)
    with conn.transaction():
        conn.execute(query(FILE, "lock", schemas))  # first: concurrent first runs race
        run_script(conn, FILE, "create_schema", schemas)
        current = _scalar(conn, query(FILE, "layer_revision", schemas))
        built = conn.execute(query(FILE, "built_state", schemas)).fetchone()
        if built is not None and built[0] == current and not force:
            return GraphInfo(int(current), int(built[1]), int(built[2]), rebuilt=False)
        run_script(conn, FILE, "build", schemas)
        row = conn.execute(query(FILE, "save_state", schemas), {"revision": current}).fetchone()
        assert row is not None
        return GraphInfo(int(current), int(row[0]), int(row[1]), rebuilt=True)


def snap_points(
    conn: psycopg.Connection[Any], max_snap_m: float, schemas: Schemas = DEFAULT_SCHEMAS
) -> None:
    """Snap ``pg_temp.analysis_points`` (kind, pid, geom_m) into ``pg_temp.analysis_snaps``.

    Points farther than ``max_snap_m`` from every edge are left out (unreachable).
    """
    run_script(conn, FILE, "snap", schemas, {"max_snap_m": max_snap_m})


def _scalar(conn: psycopg.Connection[Any], statement: sql.Composed) -> int:
    row = conn.execute(statement).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
