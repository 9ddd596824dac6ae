"""OGC API – Processes over HTTP with OWSLib: descriptions, sync and async runs, errors, access."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from owslib.ogcapi.processes import Processes  # type: ignore[import-untyped]

from gisplatform.ogcapi.processes import PROCESSES_CONFORMANCE
from gisplatform.ogcapi.pygeoapi_config import PROCESSORS
from gisplatform.registry import LayerRegistry
from tests.processes_helpers import processes_server

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORIGIN = {"lon": 33.475, "lat": 50.751}
#: small but real inputs per process, and a key every result has
RUNS: dict[str, tuple[dict[str, Any], str]] = {
    "nearest-shelter": ({"origin": ORIGIN, "limit": 2}, "shelters"),
    "shelter-coverage": ({"include_buildings": False}, "settlements"),
    "lighting-gaps": ({"distance_m": 40}, "segments"),
    "service-access": ({}, "services"),
}


@pytest.fixture(scope="module")
def root(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with processes_server(demo_db_url, registry) as url:
        yield url + "/ogc"


@pytest.fixture(scope="module")
def http(root: str) -> Iterator[httpx.Client]:
    # messages asserted in English; the Ukrainian default is tested in test_messages.py
    headers = {"Accept-Language": "en"}
    with httpx.Client(base_url=root, timeout=300, headers=headers) as client:
        yield client


def _execute(http: httpx.Client, process: str, inputs: dict[str, Any]) -> httpx.Response:
    return http.post(f"/processes/{process}/execution", json={"inputs": inputs})


def test_list_and_describe_with_owslib(root: str) -> None:
    client = Processes(root)
    listed = {p["id"]: p for p in client.processes()}
    assert set(listed) == set(RUNS)
    for process_id in RUNS:
        description = client.process(process_id)
        assert {"sync-execute", "async-execute"} <= set(description["jobControlOptions"])
        assert description["inputs"] and "result" in description["outputs"]
        assert description["outputs"]["result"]["schema"]["type"] == "object"
        for spec in description["inputs"].values():
            assert "schema" in spec and spec["minOccurs"] in (0, 1)
    origin = client.process("nearest-shelter")["inputs"]["origin"]
    assert origin["minOccurs"] == 1
    lonlat, geojson = origin["schema"]["oneOf"]
    assert set(lonlat["required"]) == {"lon", "lat"}
    assert geojson["format"] == "geojson-geometry"
    assert geojson["properties"]["type"]["enum"] == ["Point"]


def test_descriptions_are_bilingual_and_state_the_public_rule(http: httpx.Client) -> None:
    uk = http.get("/processes/lighting-gaps", params={"lang": "uk"}).json()
    en = http.get("/processes/lighting-gaps", params={"lang": "en"}).json()
    assert uk["title"] == "Неосвітлені ділянки вулиць" and en["title"] == "Street-lighting gaps"
    assert "public data only for an anonymous caller" in en["description"]
    assert "cabinet" in en["description"] and "roles that may read them" in en["description"]
    assert "include_cabinets" not in en["inputs"]
    result_schema = en["outputs"]["result"]["schema"]
    assert "cabinets" not in result_schema["properties"]
    coverage = http.get("/processes/shelter-coverage", params={"lang": "en"}).json()
    building = coverage["outputs"]["result"]["schema"]["properties"]["buildings"]["items"]
    assert "population" not in building["properties"]


@pytest.mark.parametrize("process_id", list(RUNS))
def test_execute_sync_with_owslib(root: str, process_id: str) -> None:
    inputs, key = RUNS[process_id]
    result = Processes(root, timeout=300).execute(process_id, inputs, response="raw")
    assert result.get(key)


@pytest.mark.parametrize("process_id", ["nearest-shelter", "lighting-gaps"])
def test_execute_as_job(root: str, http: httpx.Client, process_id: str) -> None:
    inputs, key = RUNS[process_id]
    client = Processes(root, timeout=300)
    accepted = client.execute(process_id, inputs, response="raw", async_=True)
    assert accepted["status"] == "accepted"
    location = client.response_headers["Location"]
    job_id = accepted["jobID"]
    assert location.endswith(f"/jobs/{job_id}")
    deadline = time.monotonic() + 120
    while True:
        status = http.get(f"/jobs/{job_id}").json()
        if status["status"] not in ("accepted", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["status"] == "successful", status
    assert any(link["rel"].endswith("/results") for link in status["links"])
    result = http.get(f"/jobs/{job_id}/results").json()
    assert result[key]
    assert http.get("/jobs").json()["jobs"] == []  # no listing: the id is the capability
    assert http.delete(f"/jobs/{job_id}").json()["status"] == "dismissed"
    assert http.get(f"/jobs/{job_id}").status_code == 404


@pytest.mark.parametrize(
    ("process_id", "inputs", "named"),
    [
        ("nearest-shelter", {"origin": {"lon": 30.52, "lat": 50.45}}, "origin"),
        ("lighting-gaps", {"distance_m": -5}, "distance_m"),
        ("nearest-shelter", {"origin": ORIGIN, "search_radius_m": -1}, "search_radius_m"),
        ("shelter-coverage", {"readiness": ["bogus"]}, "readiness"),
        ("service-access", {"school_types": ["university"]}, "school_types"),
        ("nearest-shelter", {}, "origin"),
        ("lighting-gaps", {"include_cabinets": True}, "include_cabinets"),
    ],
)
def test_bad_inputs_are_400_naming_the_input(
    http: httpx.Client, process_id: str, inputs: dict[str, Any], named: str
) -> None:
    response = _execute(http, process_id, inputs)
    assert response.status_code == 400, response.text
    assert f"invalid input {named}" in response.json()["description"]


def test_unknown_process_and_job_are_404(http: httpx.Client) -> None:
    assert _execute(http, "no-such-process", {}).status_code == 404
    assert http.get("/processes/no-such-process").status_code == 404
    assert http.get("/jobs/no-such-job").status_code == 404


def test_anonymous_lighting_gaps_has_no_cabinet_data(http: httpx.Client, demo_db_url: str) -> None:
    response = _execute(http, "lighting-gaps", {})
    assert response.status_code == 200
    body = response.json()
    assert "cabinets" not in body and "restricted" not in body
    with psycopg.connect(demo_db_url) as conn:
        cabinets = [row[0] for row in conn.execute("SELECT cabinet_id FROM gis.lighting_cabinets")]
    assert cabinets
    assert not [cabinet for cabinet in cabinets if cabinet in response.text]


def test_anonymous_coverage_has_no_per_building_population(http: httpx.Client) -> None:
    body = _execute(http, "shelter-coverage", {"bands_minutes": [10]}).json()
    assert body["buildings"] and all("population" not in b for b in body["buildings"])
    assert body["population"] > 0


def test_conformance_lists_processes(http: httpx.Client) -> None:
    classes = http.get("/conformance", params={"f": "json"}).json()["conformsTo"]
    assert set(PROCESSES_CONFORMANCE) <= set(classes)
    assert any(c.endswith("ogcapi-features-1/1.0/conf/core") for c in classes)


def test_processes_appear_in_openapi(http: httpx.Client) -> None:
    paths = http.get("/api").json()["paths"]
    assert {"/processes", "/processes/{processId}", "/jobs/{jobId}"} <= set(paths)
    # one execution path per process, each with the request body of its description
    for process_id in PROCESSORS:
        body = paths[f"/processes/{process_id}/execution"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["properties"]["inputs"]
