"""Where a hromada's features may lie, from its profile and its boundary layer.

Two checks, both derived from the hromada profile (``layers/_hromada.yaml``):

- the **area of interest**, a sanity check that rejects rows far away (wrong CRS, swapped
  axes): the box of the boundary layer's features once loaded, else the profile's extent;
- the **territory** (``import --inside-hromada``): files that cover more than the hromada
  (an oblast register) keep only the features that touch the boundary, optionally widened
  by a buffer in metres; the others are counted as "outside the hromada", never dropped
  silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray
from psycopg import sql
from pyproj import Transformer

from gisplatform.i18n import Text, message
from gisplatform.ingest.crs import AreaOfInterest
from gisplatform.registry import LayerRegistry


@dataclass(frozen=True)
class Territory:
    """The hromada's territory in lon/lat; :meth:`contains` tells which features touch it."""

    shape: Any
    description: Text

    def __post_init__(self) -> None:
        shapely.prepare(self.shape)

    def contains(self, geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
        """Which geometries intersect the territory (missing or empty ones do not)."""
        touching: NDArray[np.bool_] = shapely.intersects(self.shape, geoms)
        return touching


def _boundary(
    conn: psycopg.Connection[Any], registry: LayerRegistry, schema: str, buffer_m: float
) -> bytes | None:
    """WKB of the union of the boundary layer's features, widened by ``buffer_m`` metres."""
    hromada = registry.hromada
    row = conn.execute(
        sql.SQL(
            "SELECT ST_AsBinary(ST_Transform(ST_Buffer(ST_Transform(ST_Union(geom), %(srid)s), "
            "%(buffer)s), 4326)) FROM {table}"
        ).format(table=sql.Identifier(schema, hromada.boundary_layer)),
        {"srid": hromada.metric_crs, "buffer": buffer_m},
    ).fetchone()
    return bytes(row[0]) if row and row[0] is not None else None


def area_of_interest(
    conn: psycopg.Connection[Any], registry: LayerRegistry, schema: str
) -> AreaOfInterest:
    """The box of the boundary layer's features, or the profile's extent while it is empty."""
    hromada = registry.hromada
    row = conn.execute(
        sql.SQL(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom)::geometry AS e FROM {table}) AS extent"
        ).format(table=sql.Identifier(schema, hromada.boundary_layer))
    ).fetchone()
    if row and row[0] is not None and row[0] < row[2] and row[1] < row[3]:
        return AreaOfInterest(*(float(v) for v in row))
    return AreaOfInterest(*hromada.extent)


def territory(
    conn: psycopg.Connection[Any], registry: LayerRegistry, schema: str, buffer_m: float = 0.0
) -> Territory:
    """The hromada's boundary (plus ``buffer_m``), or its declared extent while none is loaded."""
    hromada = registry.hromada
    wkb = _boundary(conn, registry, schema, buffer_m)
    widened = f" + {buffer_m:g} m" if buffer_m else ""
    if wkb is not None:
        where = message("hromada_boundary_source", layer=hromada.boundary_layer, widened=widened)
        return Territory(shapely.from_wkb(wkb), where)
    box = shapely.segmentize(shapely.box(*hromada.extent), 0.01)
    if buffer_m:
        to_metric = Transformer.from_crs(4326, hromada.metric_crs, always_xy=True)
        back = Transformer.from_crs(hromada.metric_crs, 4326, always_xy=True)
        metric = shapely.transform(box, lambda xy: np.column_stack(to_metric.transform(*xy.T)))
        box = shapely.transform(
            metric.buffer(buffer_m), lambda xy: np.column_stack(back.transform(*xy.T))
        )
    return Territory(box, message("hromada_extent_source", widened=widened))
