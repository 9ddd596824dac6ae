"""Pure parsing: DMS strings, field values, column mapping, axis order of UCS-2000."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from gisplatform.ingest.columns import detect_geometry_columns, normalise, plan_columns
from gisplatform.ingest.crs import to_wgs84
from gisplatform.ingest.dms import parse_coordinate
from gisplatform.ingest.errors import IngestError
from gisplatform.ingest.values import parse_value
from gisplatform.registry import LayerRegistry


@pytest.mark.parametrize(
    ("text", "value", "axis"),
    [
        ("N 50°50'22\"", 50 + 50 / 60 + 22 / 3600, "lat"),
        ("50°50′22″ пн. ш.", 50 + 50 / 60 + 22 / 3600, "lat"),
        ('E 33° 41’ 0"', 33 + 41 / 60, "lon"),
        ("33°29'10\" сх. д.", 33 + 29 / 60 + 10 / 3600, "lon"),
        ("50 50 22.5 N", 50 + 50 / 60 + 22.5 / 3600, "lat"),
        ("50,8394", 50.8394, None),
        ("S 10°30'", -10.5, "lat"),
    ],
)
def test_dms(text: str, value: float, axis: str | None) -> None:
    parsed, found = parse_coordinate(text)
    assert parsed == pytest.approx(value, abs=1e-12) and found == axis


@pytest.mark.parametrize("text", ["abc", "50°70'", "N 95°", "1 2 3 4"])
def test_dms_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_coordinate(text)


def test_values(registry: LayerRegistry) -> None:
    spec = registry.get("shelters")
    assert parse_value(spec.field("readiness"), "Обмежено готове") == "limited_ready"
    assert parse_value(spec.field("readiness"), "NOT READY") == "not_ready"
    assert parse_value(spec.field("readiness_checked_at"), "01.05.2024") == date(2024, 5, 1)
    assert parse_value(spec.field("heating"), "так") is True
    assert parse_value(spec.field("area_m2"), "12,5") == 12.5
    assert parse_value(spec.field("capacity_persons"), 12.0) == 12
    assert parse_value(spec.field("name"), "   ") is None
    with pytest.raises(ValueError, match="not a whole number"):
        parse_value(spec.field("capacity_persons"), "12.5")


def test_mapping_aliases_and_explicit(registry: LayerRegistry) -> None:
    spec = registry.get("shelters")
    columns = [
        "Код  Укриття",
        "НАЗВА",
        "Вид",
        "місткість",
        "Готовність",
        "Дата перевірки",
        "Режим доступу",
        "Доступність",
        "extra",
    ]
    plan = plan_columns(spec, columns, "f.csv", {"extra": "source"})
    assert plan.fields["shelter_code"] == "Код  Укриття" and plan.fields["source"] == "extra"
    assert normalise("Вид географічного об’єкту") == normalise("вид географічного об'єкту")
    with pytest.raises(IngestError, match="no column for the required field"):
        plan_columns(spec, ["a", "b"], "f.csv")


def test_geometry_column_detection() -> None:
    found = detect_geometry_columns(["Довгота", "Широта", "x"])
    assert found is not None and (found.x, found.y, found.lonlat) == ("Довгота", "Широта", True)
    found = detect_geometry_columns(["X", "Y"])
    assert found is not None and not found.lonlat
    assert detect_geometry_columns(["a"]) is None


def test_ucs2000_is_read_easting_first(tmp_path: Path) -> None:
    """GDAL writes and pyogrio reads EPSG:5564 easting first; our transform agrees with pyproj."""
    import geopandas as gpd

    lon, lat = 33.4746, 50.7515
    easting, northing = Transformer.from_crs(4326, 5564, always_xy=True).transform(lon, lat)
    north_first = Transformer.from_crs(4326, 5564).transform(lat, lon)
    assert north_first == pytest.approx((northing, easting))  # the EPSG axis order
    path = tmp_path / "p.gpkg"
    gpd.GeoDataFrame(
        {"a": [1]}, geometry=[shapely.Point(easting, northing)], crs="EPSG:5564"
    ).to_file(path)
    read = gpd.read_file(path)
    assert read.geometry[0].x == pytest.approx(easting)  # stored and read easting first
    back = to_wgs84(np.array([read.geometry[0]], dtype=object), CRS.from_epsg(5564))[0]
    assert (back.x, back.y) == pytest.approx((lon, lat), abs=1e-8)
