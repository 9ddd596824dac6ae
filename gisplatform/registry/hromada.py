"""The hromada profile (``layers/_hromada.yaml``): what is particular to one community.

A second hromada runs the platform with its own profile and layers and no code change:
its names, where the map opens, the area imports are checked against until its boundary
layer is loaded, the metric CRS of distances and areas, and the local CRSs the API offers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, StringConstraints, ValidationError, model_validator
from pyproj import CRS
from pyproj.exceptions import CRSError

from gisplatform.errors import LayerSpecError
from gisplatform.registry.spec import Identifier, Localized, _Frozen
from gisplatform.registry.yamlfile import read_yaml

#: The profile's file name inside a layers directory (not a layer: it starts with "_").
PROFILE_FILE = "_hromada.yaml"
#: CRSs every deployment offers: WGS 84 and Web Mercator.
BASE_CRS = (4326, 3857)

Katottg = Annotated[str, StringConstraints(pattern=r"^UA[0-9]{17}$")]


class Point(_Frozen):
    """A lon/lat point."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class HromadaProfile(_Frozen):
    """One territorial community: names, place on the map, coordinate systems."""

    katottg: Katottg
    name: Localized
    short_name: Localized
    oblast: Localized
    centre: Point
    zoom: int = Field(default=11, ge=0, le=20)
    extent: tuple[float, float, float, float] = Field(
        description="min_lon, min_lat, max_lon, max_lat of the territory"
    )
    boundary_layer: Identifier
    metric_crs: int = Field(description="EPSG code of a projected CRS in metres")
    local_crs: tuple[int, ...] = Field(default=(), description="further EPSG codes offered")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        min_lon, min_lat, max_lon, max_lat = self.extent
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise ValueError("extent must be min_lon, min_lat, max_lon, max_lat in degrees")
        if not (min_lon <= self.centre.lon <= max_lon and min_lat <= self.centre.lat <= max_lat):
            raise ValueError("centre must lie inside the extent")
        for code in (self.metric_crs, *self.local_crs):
            try:
                CRS.from_epsg(code)
            except CRSError:
                raise ValueError(f"EPSG:{code} is not a known CRS") from None
        metric = CRS.from_epsg(self.metric_crs)
        unit = metric.axis_info[0].unit_name if metric.axis_info else ""
        if not metric.is_projected or unit not in ("metre", "meter"):
            raise ValueError(f"metric_crs EPSG:{self.metric_crs} must be projected, in metres")
        return self

    @property
    def offered_crs(self) -> tuple[int, ...]:
        """EPSG codes the API and the importer offer, without repeats."""
        return tuple(dict.fromkeys((*BASE_CRS, self.metric_crs, *self.local_crs)))


def load_profile(path: Path) -> HromadaProfile:
    """Read and validate a profile file; problems name the file and the field."""
    data = read_yaml(path)
    try:
        return HromadaProfile.model_validate(data)
    except ValidationError as exc:
        problems = [
            (
                str(path),
                ".".join(str(p) for p in e["loc"]) or "(top level)",
                e["msg"].removeprefix("Value error, "),
            )
            for e in exc.errors()
        ]
        raise LayerSpecError(problems) from None
