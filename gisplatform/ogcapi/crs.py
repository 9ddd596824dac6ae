"""Coordinate reference systems offered by the OGC API (Features Part 2).

Geometries are stored as EPSG:4326 with x = longitude. A requested CRS is turned
into an integer SRID for ``ST_Transform`` plus a flag saying whether EPSG defines
its first axis as north (latitude/northing first), in which case the SQL swaps the
axes with ``ST_FlipCoordinates``. pyproj decides the axis order, once per code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS

from gisplatform.errors import InvalidParameter
from gisplatform.i18n import message

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_PREFIX = "http://www.opengis.net/def/crs/EPSG/0/"
STORAGE_SRID = 4326

#: EPSG codes offered besides CRS84 (DOMAIN.md §5); kept only when PostGIS knows them

_EPSG_PATTERNS = (
    re.compile(r"^https?://www\.opengis\.net/def/crs/EPSG/0/(\d{1,6})$"),
    re.compile(r"^\[?EPSG:(\d{1,6})\]?$", re.IGNORECASE),
    re.compile(r"^urn:ogc:def:crs:EPSG:[\d.]*:(\d{1,6})$", re.IGNORECASE),
)
_CRS84_SPELLINGS = frozenset(
    {
        CRS84.lower(),
        CRS84.lower().replace("http://", "https://"),
        "[ogc:crs84]",
        "ogc:crs84",
        "crs84",
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "urn:ogc:def:crs:ogc::crs84",
    }
)


@dataclass(frozen=True)
class OutputCrs:
    """A CRS the API can read and write: its URI, PostGIS SRID and axis swap."""

    uri: str
    srid: int
    flip: bool

    @property
    def is_storage(self) -> bool:
        """True when coordinates need neither transformation nor axis swap (CRS84)."""
        return self.srid == STORAGE_SRID and not self.flip

    @property
    def geographic(self) -> bool:
        """True for degrees (more decimals are kept in the output)."""
        return _is_geographic(self.srid)


CRS84_CRS = OutputCrs(CRS84, STORAGE_SRID, False)


@lru_cache(maxsize=64)
def _pyproj_crs(code: int) -> CRS:
    return CRS.from_epsg(code)


@lru_cache(maxsize=64)
def north_first(code: int) -> bool:
    """True when EPSG defines the first axis of ``code`` as north/south."""
    axes = _pyproj_crs(code).axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


@lru_cache(maxsize=64)
def _is_geographic(code: int) -> bool:
    return bool(_pyproj_crs(code).is_geographic)


def epsg_uri(code: int) -> str:
    """The OGC URI of EPSG ``code``."""
    return f"{EPSG_PREFIX}{code}"


class CrsCatalogue:
    """The CRSs this server offers, limited to those its PostGIS can transform to."""

    def __init__(self, offered: tuple[int, ...], available_srids: set[int] | None = None) -> None:
        codes = [code for code in offered if available_srids is None or code in available_srids]
        self._by_code = {code: OutputCrs(epsg_uri(code), code, north_first(code)) for code in codes}

    @property
    def uris(self) -> list[str]:
        """CRS84 first, then each EPSG code as a URI."""
        return [CRS84, *(c.uri for c in self._by_code.values())]

    def parse(self, text: str | None, parameter: str) -> OutputCrs:
        """The CRS named by ``text`` (URI or safe CURIE); CRS84 when absent."""
        if text is None or not text.strip():
            return CRS84_CRS
        value = text.strip()
        if value.lower() in _CRS84_SPELLINGS:
            return CRS84_CRS
        for pattern in _EPSG_PATTERNS:
            match = pattern.match(value)
            if match:
                found = self._by_code.get(int(match.group(1)))
                if found is not None:
                    return found
                break
        raise InvalidParameter(parameter, message("unsupported_crs"))
