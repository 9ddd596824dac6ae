"""Coordinate reference systems: resolving the source CRS, transforming to lon/lat.

Every reader here goes through GDAL, which hands out coordinates in the
traditional GIS order (x = easting/longitude, y = northing/latitude) even for
CRSs defined northing first, such as all UCS-2000 projected systems. So every
transformation is built with ``always_xy=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gisplatform.i18n import message
from gisplatform.ingest.errors import IngestError

WGS84 = CRS.from_epsg(4326)
#: Storage precision of coordinates in degrees (about 0.1 mm); makes round trips exact.
DEGREE_DECIMALS = 9


@dataclass(frozen=True, slots=True)
class AreaOfInterest:
    """A lon/lat box; features outside it (plus ``margin`` degrees) are rejected."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    margin: float = 0.15

    @classmethod
    def parse(cls, text: str) -> AreaOfInterest:
        """An area from ``min_lon,min_lat,max_lon,max_lat`` with no margin."""
        try:
            a, b, c, d = (float(v) for v in text.split(","))
        except ValueError as exc:
            raise IngestError(message("aoi_format", value=repr(text))) from exc
        if a >= c or b >= d:
            raise IngestError(message("aoi_order", value=repr(text)))
        return cls(a, b, c, d, 0.0)

    def contains(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which of the points lie inside the expanded box."""
        m = self.margin
        return (
            (lon >= self.min_lon - m)
            & (lon <= self.max_lon + m)
            & (lat >= self.min_lat - m)
            & (lat <= self.max_lat + m)
        )

    def describe(self) -> str:
        """The expanded box as text."""
        m = self.margin
        return (
            f"lon {self.min_lon - m:.2f}…{self.max_lon + m:.2f}, "
            f"lat {self.min_lat - m:.2f}…{self.max_lat + m:.2f}"
        )


def parse_crs(text: str) -> CRS:
    """A CRS from user input such as ``EPSG:5564``, ``5564`` or a WKT/PROJ string."""
    candidate = text.strip()
    if candidate.isdigit():
        candidate = f"EPSG:{candidate}"
    try:
        return CRS.from_user_input(candidate)
    except CRSError as exc:
        raise IngestError(message("unknown_crs", value=repr(text), reason=str(exc))) from exc


def is_wgs84_lonlat(crs: CRS) -> bool:
    """True for EPSG:4326 / CRS84 (no transformation needed)."""
    return crs.equals(WGS84, ignore_axis_order=True)


def transformer_to_wgs84(crs: CRS) -> Transformer:
    """A transformer from ``crs`` (easting first, as GDAL gives it) to lon/lat."""
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def to_wgs84(geoms: NDArray[np.object_], crs: CRS, swap_xy: bool = False) -> NDArray[np.object_]:
    """Geometries transformed to lon/lat and rounded to ``DEGREE_DECIMALS``."""
    transformer = None if is_wgs84_lonlat(crs) else transformer_to_wgs84(crs)

    def convert(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        if swap_xy:
            coords = coords[:, ::-1]
        if transformer is not None:
            x, y = transformer.transform(coords[:, 0], coords[:, 1], errcheck=False)
            coords = np.column_stack([x, y])
        return np.round(coords, DEGREE_DECIMALS)

    result: NDArray[np.object_] = shapely.transform(geoms, convert)
    return result


def swapped_inside(geoms: NDArray[np.object_], crs: CRS, area: AreaOfInterest) -> NDArray[np.bool_]:
    """For geometries found outside ``area``: would swapping x and y put them inside?"""
    if len(geoms) == 0:
        return np.zeros(0, dtype=bool)
    points = shapely.centroid(to_wgs84(geoms, crs, swap_xy=True))
    inside: NDArray[np.bool_] = area.contains(shapely.get_x(points), shapely.get_y(points))
    return inside
