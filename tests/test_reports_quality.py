"""``/reports/quality``: the staff data-quality view, derived from the registry and the kinds."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from gisplatform.registry import LayerRegistry
from gisplatform.store.accounts import Accounts
from tests.conftest import make_settings
from tests.live import live_server
from tests.reports_helpers import Published, publish_reports, remove_reports, with_demo_reports

PASSWORD = "quality-" + secrets.token_hex(6)
DAYS = 180


@pytest.fixture(scope="module", autouse=True)
def demo_reports(demo_db_url: str, registry: LayerRegistry) -> None:
    """The demo's reports, as ``gisplatform demo`` leaves them (other modules empty the table)."""
    with_demo_reports(demo_db_url, registry)


@pytest.fixture(scope="module")
def published(demo_db_url: str) -> Iterator[Published]:
    made = publish_reports(demo_db_url, contact="quality-test-contact")
    try:
        yield made
    finally:
        remove_reports(demo_db_url, made.all_ids)


@pytest.fixture(scope="module")
def logins(demo_db_url: str, registry: LayerRegistry) -> Iterator[dict[str, dict[str, str]]]:
    wanted = {
        "quality-civil": ["civil_protection"],
        "quality-admin": ["admin"],
        "quality-staff": [],
    }
    with psycopg.connect(demo_db_url) as conn:
        accounts = Accounts(conn, registry.role_names)
        conn.execute("DELETE FROM auth.users WHERE login LIKE 'quality-%'")
        for login, roles in wanted.items():
            accounts.add(login, roles, PASSWORD)
        conn.commit()
    yield {
        login: {
            "Authorization": "Basic " + base64.b64encode(f"{login}:{PASSWORD}".encode()).decode()
        }
        for login in wanted
    }
    with psycopg.connect(demo_db_url) as conn:
        conn.execute("DELETE FROM auth.users WHERE login LIKE 'quality-%'")
        conn.execute("DELETE FROM auth.events WHERE login LIKE 'quality-%'")


@pytest.fixture(scope="module")
def root(demo_db_url: str, registry: LayerRegistry, published: Published) -> Iterator[str]:
    from gisplatform.ogcapi import create_app

    app = create_app(make_settings(demo_db_url, reports_quality_days=DAYS), registry)
    with live_server(app) as url:
        yield url


def _expected(url: str, public_only: bool) -> dict[str, set[int]]:
    """The oracle, in SQL as the owner: shelters never verified, stale, or reported twice."""
    table = "reports.public_requests" if public_only else "reports.requests"
    with psycopg.connect(url) as conn:
        never = conn.execute(
            "SELECT fid FROM gis.shelters WHERE verified_on_site IS NOT TRUE"
            " OR inspection_date IS NULL"
        ).fetchall()
        stale = conn.execute(
            "SELECT fid FROM gis.shelters WHERE current_date - inspection_date > %s", [DAYS]
        ).fetchall()
        repeated = conn.execute(
            f"SELECT feature_id::bigint FROM {table} WHERE layer = 'shelters'"  # noqa: S608
            " AND status <> 'rejected' AND created_at >= now() - make_interval(days => %s)"
            " GROUP BY feature_id HAVING count(*) >= 2",
            [DAYS],
        ).fetchall()
    return {
        "never": {r[0] for r in never},
        "stale": {r[0] for r in stale},
        "repeated": {r[0] for r in repeated},
    }


def _found(body: dict[str, Any], layer: str) -> dict[str, set[int]]:
    rows = body["layers"][layer]
    return {
        "never": {r["feature_id"] for r in rows if r["never_verified"]},
        "stale": {r["feature_id"] for r in rows if r["stale"]},
        "repeated": {r["feature_id"] for r in rows if r["repeated"]},
    }


def test_public_is_refused(root: str) -> None:
    for lang, word in (("uk", "увійдіть"), ("en", "sign in")):
        response = httpx.get(f"{root}/reports/quality?lang={lang}", timeout=60)
        assert response.status_code == 401 and word in response.text


def test_handler_sees_every_state_of_the_kinds_it_handles(
    root: str, demo_db_url: str, logins: dict[str, dict[str, str]], published: Published
) -> None:
    response = httpx.get(f"{root}/reports/quality", headers=logins["quality-civil"], timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["days"] == DAYS
    # derived from the kinds: the layers reports point at, shelters with an inspection date
    assert list(body["layers"]) == ["shelters", "street_lights"]
    expected = _expected(demo_db_url, public_only=False)
    assert expected["never"] and expected["repeated"]  # the demo data has both
    assert _found(body, "shelters") == expected
    assert published.shelter_fid in _found(body, "shelters")["repeated"]
    mine = next(r for r in body["layers"]["shelters"] if r["feature_id"] == published.shelter_fid)
    assert mine["reports"] >= 3  # locked, unfit and the one still unconfirmed
    assert mine["url"].endswith(f"/ogc/collections/shelters/items/{published.shelter_fid}")
    # the street lights' reports are the lighting role's: a civil-protection handler's
    # row-level security hides them, so none of their lights is "repeated" for them
    assert body["layers"]["street_lights"] == []


def test_admin_handles_every_kind(root: str, logins: dict[str, dict[str, str]]) -> None:
    response = httpx.get(f"{root}/reports/quality", headers=logins["quality-admin"], timeout=60)
    lights = response.json()["layers"]["street_lights"]
    # street lights declare no inspection: only repeated reports (the demo's) list them
    assert lights and all(r["repeated"] and not r["never_verified"] for r in lights)


def test_other_staff_count_moderated_reports_only(
    root: str, demo_db_url: str, logins: dict[str, dict[str, str]]
) -> None:
    response = httpx.get(f"{root}/reports/quality", headers=logins["quality-staff"], timeout=60)
    assert response.status_code == 200
    assert _found(response.json(), "shelters") == _expected(demo_db_url, public_only=True)


def test_page_in_both_languages(
    root: str, logins: dict[str, dict[str, str]], published: Published
) -> None:
    headers = {**logins["quality-civil"], "Accept": "text/html"}
    uk = httpx.get(f"{root}/reports/quality", headers=headers, timeout=60)
    assert uk.status_code == 200 and uk.headers["content-type"].startswith("text/html")
    assert "Якість даних" in uk.text and "ніколи не перевірено на місці" in uk.text
    assert f"/ogc/collections/shelters/items/{published.shelter_fid}?f=html" in uk.text
    assert 'href="http://127.0.0.1' in uk.text and "На карті громади" in uk.text
    en = httpx.get(f"{root}/reports/quality?f=html&lang=en", headers=headers, timeout=60)
    assert "Data quality" in en.text and "never verified on site" in en.text
    assert "repeated reports only" in en.text  # the street lights' note
    bad = httpx.get(f"{root}/reports/quality?days=3", headers=headers, timeout=60)
    assert bad.status_code == 400 and "days" in bad.text
