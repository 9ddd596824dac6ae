"""Open311 GeoReport v2 against a running server, with real clients from PyPI, unchanged.

``georeport`` reads (services, definitions, requests, in JSON and XML); ``civicbot``'s
Open311 client also files a request (form-encoded POST, ``attribute[code]`` fields).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from civicbot import Endpoint, Open311Client
from georeport import GeoReport

from gisplatform.registry import LayerRegistry
from gisplatform.reports import load_report_kinds
from gisplatform.reports.store import handler_db_role
from gisplatform.settings import PROJECT_ROOT
from tests.live import live_server, platform_app
from tests.reports_helpers import INSIDE, OUTSIDE, api_connect, counts, empty_reports

pytestmark = [pytest.mark.db]


@pytest.fixture(scope="module")
def server(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    """The platform on the demo data, served by uvicorn; its Open311 root."""
    with live_server(platform_app(demo_db_url, registry)) as url:
        yield f"{url}/open311/v2"


@pytest.fixture
def root(server: str, demo_db_url: str) -> str:
    """The Open311 root, with no report stored yet."""
    empty_reports(demo_db_url)
    return server


def civicbot(root: str) -> Open311Client:
    """civicbot's client of our endpoint (no API key needed to post)."""
    endpoint = Endpoint(
        id="romny", name="Romny", base_url=root, write=True, api_key_required_for_write=False
    )
    return Open311Client(endpoint)


def confirm(url: str, registry: LayerRegistry, report: int, actor: str = "olena") -> None:
    """A civil-protection moderator confirms the report (``reports.transition``)."""
    kinds = load_report_kinds(PROJECT_ROOT / "reports", registry)
    role = handler_db_role(kinds, registry, ["civil_protection"])
    with api_connect(url) as conn:
        conn.execute(f'SET ROLE "{role}"')  # type: ignore[arg-type]
        conn.execute("SELECT set_config('gisplatform.actor', %s, true)", [actor])
        conn.execute("SELECT reports.transition(%s, 'open', 'checked')", [report])
        conn.commit()


def test_georeport_lists_services_and_definitions_in_json_and_xml(root: str) -> None:
    for fmt in ("json", "xml"):
        client = GeoReport(root, output_format=fmt)
        services = client.get_service_list()
        codes = [s["service_code"] for s in services]
        assert codes == ["other_problem", "shelter_problem", "street_light_out"]
        shelter = client.get_service_definition("shelter_problem")
        attributes = shelter["attributes"]
        if fmt == "xml":
            attributes = attributes["attribute"]
        problem, reasons = attributes
        assert problem["code"] == "problem" and problem["datatype"] == "singlevaluelist"
        assert str(problem["required"]).lower() == "true"
        keys = problem["values"] if fmt == "json" else problem["values"]["value"]
        assert [v["key"] for v in keys] == ["locked", "refused_entry", "missing", "unfit"]
        assert reasons["datatype"] == "multivaluelist"
        assert str(reasons["required"]).lower() == "false"
    uk = httpx.get(f"{root}/services.json", params={"lang": "uk"}).json()
    assert uk[1]["service_name"] == "Проблема з укриттям"


def test_a_client_posts_a_request_and_reads_its_status(
    root: str, demo_db_url: str, registry: LayerRegistry
) -> None:
    attack = "<script>alert(1)</script> двері зачинені"
    filed = civicbot(root).create_request(
        "shelter_problem",
        dry_run=False,
        confirm="SEND",
        validate_remote=True,
        lat=INSIDE[1],
        lng=INSIDE[0],
        description=attack,
        attributes={"problem": "unfit", "unfit_reasons": ["flooded", "dirty"]},
        email="resident@example.org",
        first_name="Olha",
        phone="+380501112233",
    )
    (answer,) = filed.response
    report = int(answer["service_request_id"])
    assert "24" in answer["service_notice"]
    with psycopg.connect(demo_db_url) as conn:
        row = conn.execute(
            "SELECT answers, contact, source, description FROM reports.requests WHERE id = %s",
            [report],
        ).fetchone()
    assert row == (
        {"problem": "unfit", "unfit_reasons": ["flooded", "dirty"]},
        "Olha; resident@example.org; +380501112233",
        "open311",
        attack,
    )
    reader = GeoReport(root)
    state = reader.get_service_request(str(report))
    assert (
        state["status"] == "open"
        and state["status_notes"] == "звернення очікує перевірки модератором"
    )
    assert state.get("description") is None  # unmoderated: nothing the resident wrote
    assert reader.get_service_requests(service_code="shelter_problem") == []

    confirm(demo_db_url, registry, report)
    for fmt in ("json", "xml"):
        listed = GeoReport(root, output_format=fmt).get_service_requests(
            service_code="shelter_problem", status="open"
        )
        entry = listed if fmt == "xml" else listed[0]
        assert str(entry["service_request_id"]) == str(report)
        assert entry["description"] == attack and entry["status_notes"] == "checked"
        assert entry["agency_responsible"] == "Цивільний захист"  # Ukrainian by default
    for path in (
        "requests.json",
        "requests.xml",
        f"requests/{report}.json",
        f"requests/{report}.xml",
    ):
        raw = httpx.get(f"{root}/{path}").text
        assert "<script>" not in raw and "resident@example.org" not in raw
        assert "+380501112233" not in raw and "Olha" not in raw
    closed = reader.get_service_requests(service_code="shelter_problem", status="closed")
    assert closed == []


@pytest.mark.parametrize(
    ("path", "data", "status", "uk", "en"),
    [
        ("services/pothole.json", None, 404, "немає послуги", "no service 'pothole'"),
        ("requests.json", {"status": "pending"}, 400, "open або closed", "open or closed"),
        (
            "requests.json",
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
            400,
            "не більше 90 днів",
            "at most 90 days",
        ),
        ("requests.json", {"start_date": "yesterday"}, 400, "ISO 8601", "ISO 8601"),
        ("requests/999999.json", None, 404, "не знайдено", "not found"),
    ],
)
def test_get_errors_are_open311_errors(
    root: str, path: str, data: dict[str, str] | None, status: int, uk: str, en: str
) -> None:
    for lang, expected in (("uk", uk), ("en", en)):
        response = httpx.get(f"{root}/{path}", params={**(data or {}), "lang": lang})
        assert response.status_code == status
        (error,) = response.json()
        assert error["code"] == status and expected in error["description"]
    xml_path = path.replace(".json", ".xml")
    response = httpx.get(f"{root}/{xml_path}", params={**(data or {}), "lang": "en"})
    error = ET.fromstring(response.content).find("error")
    assert error is not None and error.findtext("code") == str(status)


@pytest.mark.parametrize(
    ("form", "status", "field"),
    [
        ({"service_code": "pothole"}, 422, "service_code"),
        ({"attribute[problem]": None}, 422, "attribute[problem]"),
        ({"attribute[problem]": "broken"}, 422, "attribute[problem]"),
        ({"lat": str(OUTSIDE[1]), "long": str(OUTSIDE[0])}, 422, "lat/long"),
        ({"service_code": None}, 400, "service_code"),
    ],
)
def test_bad_posts_are_refused_naming_the_field_and_store_nothing(
    root: str, demo_db_url: str, form: dict[str, str | None], status: int, field: str
) -> None:
    data = {
        "service_code": "shelter_problem",
        "lat": str(INSIDE[1]),
        "long": str(INSIDE[0]),
        "attribute[problem]": "locked",
    }
    data.update(form)  # type: ignore[arg-type]
    sent = {k: v for k, v in data.items() if v is not None}
    for lang in ("uk", "en"):
        response = httpx.post(f"{root}/requests.json", data=sent, params={"lang": lang})
        assert response.status_code == status, response.text
        (error,) = response.json()
        assert error["code"] == status and field in error["description"]
    assert counts(demo_db_url) == {"requests": 0, "photos": 0, "transitions": 0}


def test_the_eleventh_post_in_a_minute_is_429(root: str, demo_db_url: str) -> None:
    data = {
        "service_code": "street_light_out",
        "lat": str(INSIDE[1]),
        "long": str(INSIDE[0]),
        "attribute[state]": "dark",
    }
    for _ in range(10):
        assert httpx.post(f"{root}/requests.json", data=data).status_code == 201
    refused = httpx.post(f"{root}/requests.xml", data=data, params={"lang": "uk"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    error = ET.fromstring(refused.content).find("error")
    assert error is not None and "забагато повідомлень" in (error.findtext("description") or "")
    assert counts(demo_db_url)["requests"] == 10
