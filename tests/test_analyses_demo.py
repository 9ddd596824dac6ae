"""Analyses on the Romny demo data, each checked against an independent computation.

Coverage: networkx multi-source Dijkstra on the same street parts in EPSG:32636 with the
same edge snapping. Lighting: shapely differences of street parts and light circles.
"""

from __future__ import annotations

import time
from collections import defaultdict

import geopandas as gpd
import networkx as nx
import psycopg
import pytest
import shapely
from pydantic import ValidationError
from sqlalchemy import create_engine

from gisplatform.analyses import (
    LightingGapsInput,
    NearestShelterInput,
    ServiceAccessInput,
    ShelterCoverageInput,
    lighting_gaps,
    nearest_shelter,
    service_access,
    shelter_coverage,
)
from gisplatform.store.database import sqlalchemy_url

pytestmark = [pytest.mark.db, pytest.mark.slow]
MAX_SNAP = 500.0
TEN_MINUTES_M = 10 * 4500 / 60


def _frame(url: str, query: str) -> gpd.GeoDataFrame:
    engine = create_engine(sqlalchemy_url(url))
    try:
        return gpd.read_postgis(query, engine, geom_col="geom")
    finally:
        engine.dispose()


def _independent_within(url: str, limit_m: float, sources_sql: str) -> dict[str, int]:
    """Population per settlement within ``limit_m`` of a source point, by networkx."""
    streets = _frame(url, "SELECT geom FROM gis.streets").explode(index_parts=False)
    lines = list(streets.to_crs(32636).geometry)
    graph = nx.Graph()

    def key(point: tuple[float, ...]) -> tuple[float, float]:
        return (round(point[0] / 0.1) * 0.1, round(point[1] / 0.1) * 0.1)

    for line in lines:
        a, b = key(line.coords[0]), key(line.coords[-1])
        if not graph.has_edge(a, b) or graph[a][b]["weight"] > line.length:
            graph.add_edge(a, b, weight=line.length)
    tree = shapely.STRtree(lines)

    def snap(point: shapely.Point) -> tuple[int, float, float] | None:
        index = int(tree.query_nearest(point)[0])
        line = lines[index]
        distance = line.distance(point)
        return None if distance > MAX_SNAP else (index, line.project(point), distance)

    shelters = _frame(url, sources_sql)
    shelter_snaps = [s for s in map(snap, shelters.to_crs(32636).geometry) if s is not None]
    for n, (index, along, distance) in enumerate(shelter_snaps):
        line = lines[index]
        graph.add_edge(("shelter", n), key(line.coords[0]), weight=distance + along)
        graph.add_edge(("shelter", n), key(line.coords[-1]), weight=distance + line.length - along)
    sources = {("shelter", n) for n in range(len(shelter_snaps))}
    dist = nx.multi_source_dijkstra_path_length(graph, sources, weight="weight")
    buildings = _frame(
        url,
        "SELECT settlement_katottg, population, ST_Centroid(geom) AS geom FROM gis.buildings",
    )
    within: dict[str, int] = defaultdict(int)
    for settlement, population, point in zip(
        buildings.settlement_katottg,
        buildings.population,
        buildings.to_crs(32636).geometry,
        strict=True,
    ):
        snapped = snap(point)
        if snapped is None:
            continue
        index, along, distance = snapped
        line = lines[index]
        options = [
            dist.get(key(line.coords[0]), float("inf")) + along,
            dist.get(key(line.coords[-1]), float("inf")) + line.length - along,
        ]
        options += [d + abs(a - along) for i, a, d in shelter_snaps if i == index]
        if distance + min(options) <= limit_m:
            within[settlement] += int(population)
    return dict(within)


def test_shelter_coverage_matches_networkx(demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        started = time.perf_counter()
        result = shelter_coverage(conn, ShelterCoverageInput())
        elapsed = time.perf_counter() - started
    print(f"\nshelter_coverage (whole demo hromada): {elapsed:.2f} s")
    expected = _independent_within(
        demo_db_url, TEN_MINUTES_M, "SELECT geom FROM gis.shelters WHERE readiness = 'ready'"
    )
    got = {
        area.id: next(b.population for b in area.within if b.minutes == 10)
        for area in result.settlements
    }
    for settlement in set(expected) | set(got):
        assert got.get(settlement, 0) == pytest.approx(expected.get(settlement, 0), abs=3)
    assert result.population == 49_284
    assert len(result.buildings) == 10_405
    unreachable = [b for b in result.buildings if b.walk_m is None]
    assert unreachable, "villages without streets must be reported unreachable"
    uncovered = sum(a.uncovered_population for a in result.settlements)
    assert uncovered >= sum(b.population for b in unreachable)
    assert result.uncovered_areas["type"] == "FeatureCollection"
    assert len(result.starosta_districts) == 9


def test_lighting_gaps_match_shapely(demo_db_url: str) -> None:
    distance = 50.0
    with psycopg.connect(demo_db_url) as conn:
        result = lighting_gaps(conn, LightingGapsInput(distance_m=distance, min_dark_m=0))
    streets = _frame(demo_db_url, "SELECT geom FROM gis.streets").explode(index_parts=False)
    lights = _frame(demo_db_url, "SELECT geom FROM gis.street_lights WHERE status = 'ok'")
    lit = shapely.union_all(lights.to_crs(32636).buffer(distance, quad_segs=16).values)
    dark = sum(line.difference(lit).length for line in streets.to_crs(32636).geometry)
    assert result.dark_length_m == pytest.approx(dark, rel=1e-3, abs=1.0)
    assert sum(s.dark_m for s in result.segments) == pytest.approx(dark, rel=1e-3, abs=1.0)
    assert result.restricted == ["cabinets"]
    assert result.cabinets and all(c.access == "restricted" for c in result.cabinets)
    faulty = sum(c.faulty for c in result.cabinets)
    assert faulty == 3997 - 3536


def test_service_access_matches_networkx(demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        result = service_access(conn, ServiceAccessInput())
    cnap = next(s for s in result.services if s.service == "cnap")
    near_m = 15 * 4500 / 60
    expected = _independent_within(
        demo_db_url, near_m, "SELECT geom FROM gis.admin_service_centres"
    )
    for area in cnap.settlements:
        got = round(area.share_within_near * area.population)
        # the share is rounded to 4 decimals: allow that plus the snapping tolerance
        expected_here = expected.get(area.settlement_katottg, 0)
        assert got == pytest.approx(expected_here, abs=3 + area.population * 1e-4)


def test_service_access_is_consistent(demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        result = service_access(conn, ServiceAccessInput(school_types=["ліцей", "gimnaziia"]))
    assert [s.service for s in result.services] == ["cnap", "school", "health"]
    for summary in result.services:
        assert summary.facilities > 0
        assert sum(s.population for s in summary.settlements) == 49_284
        for s in summary.settlements:
            assert s.share_within_near <= s.share_within_far <= 1
            if s.median_minutes is not None:
                assert s.median_minutes <= (s.max_minutes or 0) + 1e-6
    with pytest.raises(ValidationError) as bad:
        ServiceAccessInput(health_types=["spa"])
    assert bad.value.errors()[0]["loc"][0] == "health_types"


def test_nearest_shelter_timing_on_demo(demo_db_url: str) -> None:
    params = NearestShelterInput.model_validate({"origin": {"lon": 33.475, "lat": 50.751}})
    with psycopg.connect(demo_db_url) as conn:
        nearest_shelter(conn, params)
        started = time.perf_counter()
        for _ in range(10):
            result = nearest_shelter(conn, params)
        elapsed = (time.perf_counter() - started) / 10
    print(f"\nnearest_shelter (demo, 3 ready shelters): {elapsed * 1000:.1f} ms per call")
    assert len(result.shelters) == 3
    walks = [s.walk_m for s in result.shelters]
    assert walks == sorted(walks)
    assert all(s.walk_m >= s.straight_m for s in result.shelters)
    with pytest.raises(ValidationError):
        LightingGapsInput(distance_m=-1)
