"""The walking graph and nearest_shelter on a small hand-made network with known answers.

Layout in EPSG:32636 metres around (x0, y0): streets P0(0,0)–P1(0,200), P0–P2(300,0),
P2–P3(300,200) and P3–P4(60,200). The origin (5,190) is 5 m off the first street. Shelter
S3 (60,195) is 55.2 m away in a straight line but the walk goes round the block:
5 + 190 + 300 + 200 + 240 + 5 = 940 m. S2 (150,10): 5 + 190 + 150 + 10 = 355 m.
S1 (295,190): 5 + 190 + 300 + 190 + 5 = 690 m. S4 (5,100) is not ready: 5 + 90 + 5 = 100 m.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from pydantic import ValidationError
from pyproj import Transformer

from gisplatform.analyses import NearestShelterInput, ensure_graph, nearest_shelter
from gisplatform.analyses.reach import start_column
from gisplatform.registry import LayerRegistry
from gisplatform.store.migrate import migrate
from tests.conftest import make_settings

pytestmark = pytest.mark.db

X0, Y0 = 330_000.0, 5_624_000.0
TO_LONLAT = Transformer.from_crs(32636, 4326, always_xy=True)
STREETS = {
    "T1": [(0, 0), (0, 200)],
    "T2": [(0, 0), (300, 0)],
    "T3": [(300, 0), (300, 200)],
    "T4": [(300, 200), (60, 200)],
}
SHELTERS = {  # code: (x, y, readiness, capacity)
    "S1": (295, 190, "ready", 100),
    "S2": (150, 10, "ready", 20),
    "S3": (60, 195, "ready", 300),
    "S4": (5, 100, "not_ready", 50),
}
ORIGIN = (5, 190)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """Local metres to lon/lat."""
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def _wkt_line(points: list[tuple[int, int]]) -> str:
    coords = ", ".join("{} {}".format(*lonlat(x, y)) for x, y in points)
    return f"MULTILINESTRING(({coords}))"


def add_street(conn: psycopg.Connection, code: str, points: list[tuple[int, int]]) -> None:
    """Insert one street of the hand-made network."""
    conn.execute(
        "INSERT INTO gis.streets (street_id, name_uk, street_type, settlement_katottg, geom) "
        "VALUES (%s, %s, 'vulytsia', 'UA59060110010062596', ST_GeomFromText(%s, 4326))",
        (code, f"вулиця {code}", _wkt_line(points)),
    )


@pytest.fixture
def tiny_url(scratch_url: str, registry: LayerRegistry) -> Iterator[str]:
    """A scratch database with streets, shelters and a boundary of the hand-made network."""
    names = ("streets", "shelters", "hromada_boundary")
    subset = LayerRegistry([registry.get(name) for name in names])
    migrate(scratch_url, subset, make_settings(scratch_url))
    ring = [(-500, -500), (800, -500), (800, 700), (-500, 700), (-500, -500)]
    boundary = ", ".join("{} {}".format(*lonlat(x, y)) for x, y in ring)
    with psycopg.connect(scratch_url) as conn:
        for code, points in STREETS.items():
            add_street(conn, code, points)
        for code, (x, y, readiness, capacity) in SHELTERS.items():
            conn.execute(
                "INSERT INTO gis.shelters (shelter_code, name, shelter_type, capacity_persons, "
                "readiness, readiness_checked_at, access_mode, accessible, geom) VALUES "
                "(%s, %s, 'pru', %s, %s, '2025-01-01', '24_7', 'full', "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                (code, f"Укриття {code}", capacity, readiness, *lonlat(x, y)),
            )
        conn.execute(
            "INSERT INTO gis.hromada_boundary (katottg, name_uk, geom) VALUES "
            "('UA59060110000049734', 'Тест', ST_GeomFromText(%s, 4326))",
            (f"MULTIPOLYGON((({boundary})))",),
        )
    yield scratch_url


def _origin(**extra: object) -> NearestShelterInput:
    lon, lat = lonlat(*ORIGIN)
    return NearestShelterInput.model_validate({"origin": {"lon": lon, "lat": lat}, **extra})


def test_graph_is_built_and_rebuilt_on_street_change(tiny_url: str) -> None:
    with psycopg.connect(tiny_url) as conn:
        first = ensure_graph(conn)
        assert (first.edges, first.vertices, first.rebuilt) == (4, 5, True)
        assert ensure_graph(conn).rebuilt is False
        add_street(conn, "T5", [(300, 0), (500, 0)])
        conn.commit()
        second = ensure_graph(conn)
        assert (second.edges, second.vertices, second.rebuilt) == (5, 6, True)
        assert second.revision > first.revision
        lengths = conn.execute("SELECT sum(length_m) FROM analysis.walk_edges").fetchone()
        assert lengths is not None and lengths[0] == pytest.approx(1140, abs=0.01)


def test_start_column_follows_the_installed_pgrouting(tiny_url: str) -> None:
    """``from_v`` up to pgRouting 3.5 (Debian 12: 3.4), ``start_vid`` from 3.6 (Debian 13: 3.7)."""
    with psycopg.connect(tiny_url) as conn:
        row = conn.execute("SELECT pgr_version()").fetchone()
        assert row is not None
        major, minor = (int(part) for part in str(row[0]).split(".")[:2])
        column = start_column(conn)
        assert column == sql.Identifier("start_vid" if (major, minor) >= (3, 6) else "from_v")
        edges = "SELECT 1 AS id, 1 AS source, 2 AS target, 5.0 AS cost, 5.0 AS reverse_cost"
        rows = conn.execute(
            sql.SQL(
                "SELECT d.{}, d.node, d.agg_cost FROM pgr_drivingDistance("
                "%s, ARRAY[1, 2]::bigint[], 10, directed => false, equicost => true) AS d "
                "ORDER BY d.node"
            ).format(column),
            (edges,),
        ).fetchall()
    assert rows == [(1, 1, 0.0), (2, 2, 0.0)]


def test_nearest_shelter_walks_round_the_block(tiny_url: str) -> None:
    with psycopg.connect(tiny_url) as conn:
        result = nearest_shelter(conn, _origin(limit=5))
    got = [(s.shelter_code, s.walk_m) for s in result.shelters]
    assert [code for code, _ in got] == ["S2", "S1", "S3"]
    for (_, walk), expected in zip(got, [355, 690, 940], strict=True):
        assert walk == pytest.approx(expected, abs=0.2)
    s3 = result.shelters[2]
    assert s3.straight_m == pytest.approx((55**2 + 5**2) ** 0.5, abs=0.1)
    assert s3.walk_minutes == pytest.approx(940 / 75, abs=0.01)
    coords = s3.route["coordinates"]
    assert s3.route["type"] == "LineString"
    assert coords[0] == pytest.approx(list(lonlat(*ORIGIN)), abs=1e-6)
    assert coords[-1] == pytest.approx(list(lonlat(60, 195)), abs=1e-6)
    assert result.snap_m == pytest.approx(5.0, abs=0.01)


def test_filters_speed_and_radius(tiny_url: str) -> None:
    with psycopg.connect(tiny_url) as conn:
        any_state = nearest_shelter(
            conn, _origin(readiness=["готове", "not ready"], limit=1, speed_kmh=3)
        )
        big = nearest_shelter(conn, _origin(min_capacity=50))
        near = nearest_shelter(conn, _origin(search_radius_m=400))
    assert [s.shelter_code for s in any_state.shelters] == ["S4"]
    assert any_state.shelters[0].walk_m == pytest.approx(100, abs=0.2)
    assert any_state.shelters[0].walk_minutes == pytest.approx(2.0, abs=0.01)
    assert [s.shelter_code for s in big.shelters] == ["S1", "S3"]
    assert [s.shelter_code for s in near.shelters] == ["S2"]


def _loc(error: ValidationError) -> str:
    return str(error.errors()[0]["loc"][0])


def test_bad_inputs_name_the_input(tiny_url: str) -> None:
    with pytest.raises(ValidationError) as unknown:
        _origin(readiness=["maybe"])
    assert _loc(unknown.value) == "readiness"
    with pytest.raises(ValidationError) as negative:
        _origin(search_radius_m=-5)
    assert _loc(negative.value) == "search_radius_m"
    with pytest.raises(ValidationError) as speed:
        _origin(speed_kmh=0)
    assert _loc(speed.value) == "speed_kmh"
    far = NearestShelterInput.model_validate({"origin": {"lon": 30.5, "lat": 50.45}})
    with psycopg.connect(tiny_url) as conn, pytest.raises(ValidationError) as outside:
        nearest_shelter(conn, far)
    assert _loc(outside.value) == "origin"
    assert "outside the hromada" in str(outside.value)
