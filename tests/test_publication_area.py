"""Areas and targets of the kill switch, checked before anything reaches the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from gisplatform.access.publication.store import PublicationError, check_target, parse_area
from gisplatform.i18n import use_language
from gisplatform.registry import ANONYMOUS, LayerRegistry

SQUARE = [[33.4, 50.7], [33.5, 50.7], [33.5, 50.8], [33.4, 50.8], [33.4, 50.7]]


def test_an_area_is_read_from_wkt_geojson_and_files(tmp_path: Path) -> None:
    polygon = {"type": "Polygon", "coordinates": [SQUARE]}
    feature = {"type": "Feature", "properties": {}, "geometry": polygon}
    strip = tmp_path / "strip.geojson"
    strip.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    wkt = "POLYGON((33.4 50.7, 33.5 50.7, 33.5 50.8, 33.4 50.8, 33.4 50.7))"
    expected = shapely.from_wkt(wkt)
    for given in (wkt, json.dumps(polygon), polygon, feature, str(strip)):
        assert shapely.from_wkb(parse_area(given)).equals(expected), given


def test_a_self_crossing_polygon_is_repaired_to_its_area() -> None:
    bowtie = "POLYGON((33.4 50.7, 33.5 50.8, 33.5 50.7, 33.4 50.8, 33.4 50.7))"
    repaired = shapely.from_wkb(parse_area(bowtie))
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(0.005)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ("POINT(33.4 50.7)", "Point"),
        ("LINESTRING(33.4 50.7, 33.5 50.8)", "LineString"),
        ("POLYGON((1 2, 3", "WKT"),
        ('{"type": "Circle"}', "GeoJSON"),
        ("{not json", "GeoJSON"),
        ("POLYGON((5564000 6533000, 5565000 6533000, 5565000 6534000, 5564000 6533000))", "lon"),
        ("/no/such/file.geojson", "file.geojson"),
    ],
)
def test_a_bad_area_says_why(given: str, named: str) -> None:
    with use_language("en"), pytest.raises(PublicationError) as caught:
        parse_area(given)
    assert named in str(caught.value)


def test_only_public_layers_and_fields_can_be_withdrawn(registry: LayerRegistry) -> None:
    public = registry.list(ANONYMOUS)
    hidden = [s for s in registry if not s.visible_to(ANONYMOUS)]
    assert public and hidden
    with use_language("en"):
        for spec in hidden:
            with pytest.raises(PublicationError, match=spec.name):
                check_target(registry, spec.name)
        for spec in public:
            assert check_target(registry, spec.name).layer == spec.name
            for field in spec.fields:
                if field in spec.fields_for(ANONYMOUS):
                    assert check_target(registry, spec.name, field.name).field == field.name
                else:
                    with pytest.raises(PublicationError, match=field.name):
                        check_target(registry, spec.name, field.name)
