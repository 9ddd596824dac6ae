"""Processes as the caller's audience: registry per run, public views and role, safe figures."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from gisplatform.analyses import ShelterCoverageInput, shelter_coverage
from gisplatform.analyses.audience import prepare_run
from gisplatform.analyses.disclosure import K_BUILDINGS
from gisplatform.registry import Access, Audience, LayerRegistry, load_registry
from gisplatform.store.audiences import PUBLIC, view_audience_for
from gisplatform.store.roles import ANALYSES_ROLE
from gisplatform.store.views import PUBLIC_ROLE
from tests.conftest import LAYERS_DIR, role_url
from tests.processes_helpers import processes_server

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORIGIN = {"lon": 33.475, "lat": 50.751}
RUNS: dict[str, dict[str, Any]] = {
    "nearest-shelter": {"origin": ORIGIN},
    "shelter-coverage": {"include_buildings": False},
    "lighting-gaps": {"distance_m": 20},
    "service-access": {},
}
#: processes that read the shelters layer
READ_SHELTERS = {"nearest-shelter", "shelter-coverage"}


def _registry(tmp_path: Path, edit: tuple[str, str, str]) -> LayerRegistry:
    """A copy of layers/ with one text replacement in one file (``file, old, new``)."""
    target = tmp_path / "layers"
    shutil.copytree(LAYERS_DIR, target)
    file, old, new = edit
    text = (target / file).read_text("utf-8")
    assert old in text
    (target / file).write_text(text.replace(old, new, 1), "utf-8")
    return load_registry(target)


def _execute(http: httpx.Client, process: str, inputs: dict[str, Any]) -> httpx.Response:
    return http.post(f"/processes/{process}/execution", json={"inputs": inputs})


@pytest.fixture(scope="module")
def http(demo_db_url: str, registry: LayerRegistry) -> Iterator[httpx.Client]:
    with (
        processes_server(demo_db_url, registry) as url,
        httpx.Client(
            headers={"Accept-Language": "en"}, base_url=url + "/ogc", timeout=300
        ) as client,
    ):
        yield client


def test_staff_shelters_are_refused_by_every_process_that_reads_them(
    demo_db_url: str, tmp_path: Path
) -> None:
    staff = _registry(tmp_path, ("shelters.yaml", "\naccess: public", "\naccess: staff"))
    with (
        processes_server(demo_db_url, staff) as url,
        httpx.Client(headers={"Accept-Language": "en"}, base_url=url + "/ogc", timeout=300) as http,
    ):
        assert http.get("/collections/shelters/items").status_code == 404
        for process, inputs in RUNS.items():
            response = _execute(http, process, inputs)
            if process in READ_SHELTERS:
                assert response.status_code == 404, response.text
                assert "layer shelters" in response.json()["description"]
            else:
                assert response.status_code == 200, response.text
                assert "shelter" not in response.text.lower()


def test_output_columns_follow_the_fields_the_audience_may_see(
    demo_db_url: str, tmp_path: Path
) -> None:
    edit = ("shelters.yaml", "  - name: name\n", "  - name: name\n    access: staff\n")
    hidden = _registry(tmp_path, edit)
    assert "name" not in {f.name for f in hidden.get("shelters").fields_for(Access.PUBLIC)}
    with (
        processes_server(demo_db_url, hidden) as url,
        httpx.Client(headers={"Accept-Language": "en"}, base_url=url + "/ogc", timeout=300) as http,
    ):
        body = _execute(http, "nearest-shelter", {"origin": ORIGIN, "limit": 3}).json()
    assert body["shelters"]
    for shelter in body["shelters"]:
        assert "name" not in shelter and shelter["shelter_code"] and shelter["walk_m"] > 0


def test_runs_read_the_public_views_as_the_public_role(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    layers = ("shelters", "buildings", "streets")
    with psycopg.connect(role_url(demo_db_url, ANALYSES_ROLE)) as conn:
        schemas = prepare_run(conn, registry, PUBLIC, layers, graph=True)
        assert schemas.layers == "api_public" and schemas.prepared
        assert schemas.weights is not None  # the population reaches the run as weights only
        row = conn.execute("SELECT current_user").fetchone()
        assert row is not None and row[0] == PUBLIC_ROLE
        assert conn.execute("SELECT count(*) FROM api_public.shelters").fetchone()
        conn.commit()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM gis.shelters")
        conn.rollback()
        with pytest.raises(psycopg.errors.UndefinedColumn):  # staff field: not in the view
            conn.execute("SELECT population FROM api_public.buildings LIMIT 1")


def test_staff_runs_read_their_audience_views_as_its_role(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    staff = view_audience_for(registry, Audience(signed_in=True))
    assert not staff.is_public
    layers = ("shelters", "buildings", "streets")
    with psycopg.connect(role_url(demo_db_url, ANALYSES_ROLE)) as conn:
        schemas = prepare_run(conn, registry, staff, layers, graph=True)
        assert schemas.layers == staff.schema and schemas.weights is None
        assert "population" in schemas.fields["buildings"]  # type: ignore[index]
        row = conn.execute("SELECT current_user").fetchone()
        assert row is not None and row[0] == staff.role
        query = sql.SQL("SELECT count(population) FROM {}").format(
            sql.Identifier(staff.schema, "buildings")
        )
        assert conn.execute(query).fetchone()
        conn.commit()
        for escape in ("SELECT 1", "RESET ROLE", "SET ROLE NONE"):
            conn.execute(escape)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT count(*) FROM gis.buildings")
            conn.rollback()


def _lonely_building(body: dict[str, Any]) -> tuple[str, float, float]:
    """(settlement, m, m + δ): exactly one building of the settlement walks in (m, m + δ]."""
    by_area: dict[str, list[float]] = {}
    for building in body["buildings"]:
        if building["walk_minutes"] is not None and building["settlement_katottg"]:
            by_area.setdefault(building["settlement_katottg"], []).append(building["walk_minutes"])
    for area, times in sorted(by_area.items(), key=lambda item: -len(item[1])):
        times.sort()
        for before, lonely, after in zip(times, times[1:], times[2:], strict=False):
            if before < lonely < after and 1 < lonely < 50:
                return area, (before + lonely) / 2, (lonely + after) / 2
    raise AssertionError("no building to isolate")


def test_caller_chosen_bands_cannot_rebuild_a_building_population(
    http: httpx.Client, demo_db_url: str
) -> None:
    public = _execute(http, "shelter-coverage", {"include_buildings": True}).json()
    area, low, high = _lonely_building(public)
    # the attack works on the raw analysis (what a staff member sees) ...
    with psycopg.connect(demo_db_url) as conn:
        raw = [
            shelter_coverage(conn, ShelterCoverageInput(bands_minutes=[band]))
            for band in (low, high)
        ]
    rows = [next(s for s in r.settlements if s.id == area).within[0] for r in raw]
    assert rows[1].buildings - rows[0].buildings == 1
    assert rows[1].population is not None and rows[0].population is not None
    # ... and gives the public only suppressed figures
    for band in (low, high):
        body = _execute(http, "shelter-coverage", {"bands_minutes": [band]}).json()
        settlement = next(s for s in body["settlements"] if s["id"] == area)
        assert settlement["within"][0]["population"] is None
        assert settlement["uncovered_population"] is None
        assert all(load["assigned_population"] is None for load in body["shelter_loads"])
    speed = _execute(http, "shelter-coverage", {"speed_kmh": 4.6}).json()
    assert all(b["population"] is None for s in speed["settlements"] for b in s["within"])


def _cells(area: dict[str, Any]) -> list[int]:
    cells, previous = [], 0
    for band in area["within"]:
        cells.append(band["buildings"] - previous)
        previous = band["buildings"]
    return [
        *cells,
        area["uncovered_buildings"] - area["unreachable_buildings"],
        area["unreachable_buildings"],
    ]


def test_standard_coverage_publishes_only_figures_of_many_buildings(http: httpx.Client) -> None:
    body = _execute(http, "shelter-coverage", {"include_buildings": False}).json()
    areas = body["settlements"] + body["starosta_districts"]
    published = [a for a in areas if a["uncovered_population"] is not None]
    assert published, "the standard table must publish figures"
    for area in areas:
        small = [c for c in _cells(area) if 0 < c < K_BUILDINGS]
        assert (area["uncovered_population"] is None) == bool(small), area["id"]
        if area["population"] is not None:
            assert area["buildings"] >= K_BUILDINGS
    loads = body["shelter_loads"]
    hidden = [load for load in loads if load["assigned_population"] is None]
    for load in loads:
        if 0 < load["assigned_buildings"] < K_BUILDINGS:
            assert load["assigned_population"] is None
    if hidden:
        assert sum(load["assigned_buildings"] for load in hidden) >= K_BUILDINGS
    assert all("population" not in b for b in body["buildings"])
    withheld = [a for a in body["settlements"] if a["uncovered_population"] is None]
    if body["uncovered_population"] is not None:  # the hromada total minus the rest
        for group in (
            sum(a["uncovered_buildings"] for a in withheld),
            sum(a["buildings"] - a["uncovered_buildings"] for a in withheld),
        ):
            assert group == 0 or group >= K_BUILDINGS


def test_service_access_thresholds_cannot_isolate_buildings(http: httpx.Client) -> None:
    standard = _execute(http, "service-access", {}).json()
    chosen = _execute(http, "service-access", {"near_minutes": 7.3}).json()
    for service in chosen["services"]:
        for row in service["settlements"]:
            assert row["share_within_near"] is None and row["mean_minutes"] is None
    shown = [
        row
        for service in standard["services"]
        for row in service["settlements"]
        if row["share_within_near"] is not None
    ]
    assert shown
    for row in shown:
        reached = row["buildings"] - row["unreachable_buildings"]
        cells = [
            row["buildings_within_near"],
            row["buildings_within_far"] - row["buildings_within_near"],
            reached - row["buildings_within_far"],
            row["unreachable_buildings"],
        ]
        assert not [c for c in cells if 0 < c < K_BUILDINGS]
