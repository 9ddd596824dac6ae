"""Processes for signed-in staff over HTTP with Basic: their audience's views, their jobs.

What a role unlocks is taken from the registry (the field's or layer's access and roles),
what the result must hold from PostGIS.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from gisplatform.analyses.processes import LIGHTING_GAPS, SHELTER_COVERAGE
from gisplatform.ogcapi import create_app
from gisplatform.registry import Access, Audience, LayerRegistry
from gisplatform.settings import Settings
from gisplatform.store.accounts import Accounts
from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE
from tests import live
from tests.conftest import LAYERS_DIR, role_url
from tests.processes_helpers import processes_server

pytestmark = [pytest.mark.db, pytest.mark.slow]

PASSWORD = "staff-processes-password-1"


def _role_for(registry: LayerRegistry, layer: str) -> str:
    roles = registry.get(layer).roles
    assert roles, f"{layer} names no role in the registry"
    return str(roles[0])


@pytest.fixture(scope="module")
def logins(demo_db_url: str, registry: LayerRegistry) -> dict[str, tuple[str, str]]:
    """Basic credentials: plain staff, and staff with the role of the cabinets' layer."""
    (cabinets, _), *_ = LIGHTING_GAPS.unlocked_by
    made = {"staff": "proc-staff", "role": "proc-role", "other": "proc-other"}
    roles = {"staff": [], "role": [_role_for(registry, cabinets)], "other": []}
    with psycopg.connect(demo_db_url) as conn:
        conn.execute("DELETE FROM auth.users WHERE login = ANY(%s)", [list(made.values())])
        accounts = Accounts(conn, registry.role_names)
        for key, login in made.items():
            accounts.add(login, roles[key], PASSWORD)
        conn.commit()
    return {key: (login, PASSWORD) for key, login in made.items()}


@pytest.fixture(scope="module")
def root(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with processes_server(demo_db_url, registry) as url:
        yield url + "/ogc"


def _run(
    root: str, process: str, inputs: dict[str, Any], auth: tuple[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{root}/processes/{process}/execution",
        json={"inputs": inputs},
        auth=auth,
        headers={"Accept-Language": "en"},
        timeout=300,
    )


def test_staff_coverage_has_the_building_population_the_public_does_not_get(
    root: str, logins: dict[str, tuple[str, str]], demo_db_url: str, registry: LayerRegistry
) -> None:
    ((layer, field),) = SHELTER_COVERAGE.unlocked_by
    staff = Audience(signed_in=True)
    assert field in {f.name for f in registry.get(layer).fields_for(staff)}
    assert field not in {f.name for f in registry.get(layer).fields_for(Access.PUBLIC)}
    inputs = {"bands_minutes": [7], "include_buildings": True}
    public = _run(root, "shelter-coverage", inputs)
    signed_in = _run(root, "shelter-coverage", inputs, logins["staff"])
    assert public.status_code == 200 and signed_in.status_code == 200, signed_in.text
    assert all(field not in b for b in public.json()["buildings"])
    # a caller-chosen band: no population figure for the public, every one for staff
    assert all(a["within"][0]["population"] is None for a in public.json()["settlements"])
    body = signed_in.json()
    assert all(a["within"][0]["population"] is not None for a in body["settlements"])
    with psycopg.connect(demo_db_url) as conn:
        query = sql.SQL("SELECT fid, {} FROM {}").format(
            sql.Identifier(field), sql.Identifier("gis", layer)
        )
        truth = dict(conn.execute(query).fetchall())
    assert body["buildings"]
    for building in body["buildings"]:
        assert building[field] == truth[building["fid"]]


def test_the_cabinets_are_for_the_role_that_reads_their_layer(
    root: str, logins: dict[str, tuple[str, str]], demo_db_url: str
) -> None:
    with_role = _run(root, "lighting-gaps", {"distance_m": 30}, logins["role"])
    assert with_role.status_code == 200, with_role.text
    body = with_role.json()
    with psycopg.connect(demo_db_url) as conn:
        cabinets = {row[0] for row in conn.execute("SELECT cabinet_id FROM gis.lighting_cabinets")}
    assert cabinets and {c["cabinet_id"] for c in body["cabinets"]} <= cabinets
    assert body["cabinets"] and body["restricted"] == ["cabinets"]
    plain = _run(root, "lighting-gaps", {"distance_m": 30}, logins["staff"])
    assert plain.status_code == 200 and "cabinets" not in plain.json()
    refused = _run(root, "lighting-gaps", {"include_cabinets": True}, logins["staff"])
    assert refused.status_code == 400
    assert "include_cabinets" in refused.json()["description"]
    assert "roles" in refused.json()["description"]


def _wait(root: str, job: str, auth: tuple[str, str] | None) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        status: dict[str, Any] = httpx.get(f"{root}/jobs/{job}", auth=auth).json()
        if status.get("status") not in ("accepted", "running") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def test_a_staff_job_is_reached_only_by_its_creator(
    root: str, logins: dict[str, tuple[str, str]]
) -> None:
    owner = logins["role"]
    accepted = httpx.post(
        f"{root}/processes/lighting-gaps/execution",
        json={"inputs": {"distance_m": 30}},
        auth=owner,
        headers={"Prefer": "respond-async"},
        timeout=60,
    )
    assert accepted.status_code == 201, accepted.text
    job = accepted.json()["jobID"]
    assert _wait(root, job, owner)["status"] == "successful"
    result = httpx.get(f"{root}/jobs/{job}/results", auth=owner)
    assert result.status_code == 200 and result.json()["cabinets"]  # run as the creator's role
    for stranger in (None, logins["other"]):
        assert httpx.get(f"{root}/jobs/{job}", auth=stranger).status_code == 404
        assert httpx.get(f"{root}/jobs/{job}/results", auth=stranger).status_code == 404
        assert httpx.delete(f"{root}/jobs/{job}", auth=stranger).status_code == 404
    assert httpx.delete(f"{root}/jobs/{job}", auth=owner).status_code == 200
    assert httpx.get(f"{root}/jobs/{job}", auth=owner).status_code == 404


def test_an_anonymous_job_is_not_a_signed_in_users(
    root: str, logins: dict[str, tuple[str, str]]
) -> None:
    accepted = httpx.post(
        f"{root}/processes/lighting-gaps/execution",
        json={"inputs": {"distance_m": 30}},
        headers={"Prefer": "respond-async"},
        timeout=60,
    )
    assert accepted.status_code == 201, accepted.text
    job = accepted.json()["jobID"]
    assert _wait(root, job, None)["status"] == "successful"
    assert "cabinets" not in httpx.get(f"{root}/jobs/{job}/results").json()
    assert httpx.get(f"{root}/jobs/{job}", auth=logins["staff"]).status_code == 404


def test_a_server_holding_only_the_service_logins_runs_processes_for_staff(
    demo_db_url: str, registry: LayerRegistry, logins: dict[str, tuple[str, str]]
) -> None:
    """No owner (or superuser) URL anywhere in the server's settings: processes still run."""
    settings = Settings(
        layers_dir=LAYERS_DIR,
        api_database_url=role_url(demo_db_url, API_ROLE),
        analyses_database_url=role_url(demo_db_url, ANALYSES_ROLE),
    )
    assert settings.database_url is None
    inputs = {"origin": {"lon": 33.475, "lat": 50.751}, "limit": 2}
    with live.live_server(create_app(settings, registry)) as url:
        for auth in (None, logins["staff"]):
            answer = _run(url + "/ogc", "nearest-shelter", inputs, auth)
            assert answer.status_code == 200, answer.text
            assert len(answer.json()["shelters"]) == 2
