"""Checks of the Romny demo data set in data/romny (no database needed)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import geopandas as gpd
import networkx as nx
import pytest
import shapely

from gisplatform.registry import FieldType, LayerRegistry, load_registry

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "romny"
SCRIPT = ROOT / "data" / "generate_romny.py"
METRIC = "EPSG:32636"


@pytest.fixture(scope="module")
def registry() -> LayerRegistry:
    return load_registry(ROOT / "layers")


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_romny", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def features(name: str) -> list[dict[str, Any]]:
    data = json.loads((DATA / f"{name}.geojson").read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    result: list[dict[str, Any]] = data["features"]
    return result


def frame(name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(DATA / f"{name}.geojson", engine="pyogrio")


def test_every_layer_has_a_file_that_loads_and_validates(
    registry: LayerRegistry, generator: ModuleType
) -> None:
    for spec in registry:
        gdf = frame(spec.name)
        assert len(gdf) > 0, spec.name
        assert gdf.crs is not None and gdf.crs.to_epsg() == 4326, spec.name
        assert set(gdf.geom_type) == {spec.geometry.value}, spec.name
        feats = features(spec.name)
        assert generator.validate_features(spec, feats) == [], spec.name
        minx, miny, maxx, maxy = gdf.total_bounds
        assert minx > 33.2 and maxx < 33.8 and miny > 50.5 and maxy < 51.0, spec.name


def test_demo_flag(registry: LayerRegistry) -> None:
    for spec in registry:
        flags = {f["properties"]["is_demo"] for f in features(spec.name)}
        assert flags == ({False} if spec.name == "hydro_and_protected" else {True}), spec.name


def test_building_population_sums_to_the_hromada_estimate() -> None:
    props = [f["properties"] for f in features("buildings")]
    assert sum(p["population"] for p in props) == 49_284
    city = sum(p["population"] for p in props if p["settlement_katottg"] == "UA59060110010062596")
    assert city == 37_765
    settlements = {f["properties"]["katottg"]: f["properties"] for f in features("settlements")}
    for code, settlement in settlements.items():
        residents = sum(p["population"] for p in props if p["settlement_katottg"] == code)
        assert residents == settlement["population"], settlement["name_uk"]


def test_buildings_do_not_overlap() -> None:
    gdf = frame("buildings").to_crs(METRIC)
    left, right = gdf.sindex.query(gdf.geometry, predicate="intersects")
    assert int((left != right).sum()) == 0


def test_every_shelter_enum_value_appears(registry: LayerRegistry) -> None:
    spec = registry.get("shelters")
    props = [f["properties"] for f in features("shelters")]
    for field in spec.fields:
        if field.type is FieldType.ENUM:
            seen = {p[field.name] for p in props}
            assert seen == {v.value for v in field.values}, field.name


def test_no_shelter_has_a_real_looking_street_address() -> None:
    street_and_number = re.compile(
        r"(вул\.|вулиц|бул\.|бульвар|пров\.|провул|просп|площ|пл\.)[^,]*,\s*\d", re.IGNORECASE
    )
    for f in features("shelters"):
        address = f["properties"]["address_text"]
        assert address.startswith("демо-адреса"), address
        assert not street_and_number.search(address), address
        assert f["properties"]["name"].startswith("Демо-укриття")


def test_lights_lie_on_streets_and_reference_existing_cabinets() -> None:
    lights = frame("street_lights").to_crs(METRIC)
    streets = frame("streets").to_crs(METRIC)
    tree = shapely.STRtree(streets.geometry.values)
    near, _ = tree.query(lights.geometry.values, predicate="dwithin", distance=20.0)
    assert set(near.tolist()) == set(range(len(lights)))
    cabinets = set(frame("lighting_cabinets")["cabinet_id"])
    assert set(lights["cabinet_id"]) <= cabinets
    assert set(lights["status"]) == {"ok", "defective_lamp", "broken_lantern", "column_issue"}
    assert (lights["status"] == "ok").mean() > 0.8
    per_cabinet = len(lights) / len(cabinets)
    assert 50 <= per_cabinet <= 200


def test_street_network_is_one_connected_noded_component() -> None:
    graph: nx.Graph[tuple[float, float]] = nx.Graph()
    segments = []
    for f in features("streets"):
        for line in f["geometry"]["coordinates"]:
            graph.add_edge(tuple(line[0]), tuple(line[-1]))
            segments.append(shapely.LineString(line))
    assert nx.number_connected_components(graph) == 1
    # noded: two segments meet only at shared endpoints
    tree = shapely.STRtree(segments)
    left, right = tree.query(segments, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            meet = segments[i].intersection(segments[j])
            ends = {segments[i].coords[0], segments[i].coords[-1]}
            assert meet.geom_type == "Point" and meet.coords[0] in ends, (i, j)


def test_settlements_lie_in_the_boundary_and_in_exactly_one_district() -> None:
    boundary = frame("hromada_boundary").geometry.iloc[0]
    districts = frame("starosta_districts")
    settlements = frame("settlements")
    assert len(settlements) == 74
    for _, row in settlements.iterrows():
        assert boundary.contains(row.geometry), row["name_uk"]
        hits = districts[districts.contains(row.geometry)]
        assert len(hits) == 1, row["name_uk"]
        assert hits.iloc[0]["district_id"] == row["starosta_district"]
        assert row["katottg"] in hits.iloc[0]["settlement_katottg"]
    metric = districts.to_crs(METRIC)
    assert abs(metric.area.sum() - frame("hromada_boundary").to_crs(METRIC).area.sum()) < 1e4


def test_real_protected_sites_are_present() -> None:
    props = {f["properties"]["name"]: f for f in features("hydro_and_protected")}
    for name in ("Пивний ліс", "Огнівщина"):
        assert name in props
        assert props[name]["properties"]["is_demo"] is False
        assert props[name]["properties"]["category"] == "protected_area"
    assert props["Пивний ліс"]["properties"]["reg_no"] == "П-3289"


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True)
    produced = sorted(p.name for p in tmp_path.glob("*.geojson"))
    assert produced == sorted(p.name for p in DATA.glob("*.geojson"))
    for name in produced:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
