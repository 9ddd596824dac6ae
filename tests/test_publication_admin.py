"""The kill switch's two doors: ``gisplatform publish`` and ``/admin/publication`` (JSON and the
page in Chromium), who may use them, their CSRF protection, their errors and the audit log."""

from __future__ import annotations

import base64
import getpass
import json
import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from gisplatform.access.publication.store import Publication
from gisplatform.cli import app
from gisplatform.registry import ANONYMOUS, LayerRegistry
from tests.accounts_helpers import made_accounts
from tests.conftest import LAYERS_DIR
from tests.live import live_server, platform_app
from tests.webmap_helpers import chromium, screenshot

pytestmark = pytest.mark.db

PASSWORD = "admin-" + base64.b16encode(os.urandom(6)).decode()
REASON = "розпорядження Роменської МВА № 7 від 07.12.2026"


@pytest.fixture(scope="module")
def accounts(demo_db_url: str, registry: LayerRegistry) -> Iterator[dict[str, dict[str, str]]]:
    roles = {"admin": ["admin"], "other-admin": ["admin"], "staff": ["civil_protection"]}
    with made_accounts(demo_db_url, registry, "pa-", roles, PASSWORD) as made:
        yield {"admin": made["admin"], "other": made["other-admin"], "staff": made["staff"]}


@pytest.fixture(scope="module")
def base(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with live_server(platform_app(demo_db_url, registry)) as url:
        yield url


@pytest.fixture(autouse=True)
def nothing_left(demo_db_url: str, registry: LayerRegistry) -> Iterator[None]:
    yield
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        publication = Publication(conn, registry)
        left = [w.id for w in publication.listing()]
        if left:
            publication.restore(left, "tests (cleanup)")


def _sensitive(registry: LayerRegistry) -> str:
    return next(s.name for s in registry.list(ANONYMOUS) if s.sensitive)


def _listed(http: httpx.Client) -> set[str]:
    return {c["id"] for c in http.get("/ogc/collections").json()["collections"]}


def test_only_admins_reach_the_endpoint(base: str, accounts: dict[str, dict[str, str]]) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        anonymous = http.get("/admin/publication")
        assert anonymous.status_code == 401
        assert "Basic" in anonymous.headers["www-authenticate"]
        assert http.post("/admin/publication", json={}).status_code == 401
        staff = http.get("/admin/publication", headers=accounts["staff"])
        assert staff.status_code == 403
        assert "admin" in staff.json()["description"]
        assert http.delete("/admin/publication/1", headers=accounts["staff"]).status_code == 403
        admin = http.get("/admin/publication", headers=accounts["admin"])
        assert admin.status_code == 200
        assert admin.headers["cache-control"] == "no-store"
        assert set(admin.json()) == {"withdrawals", "log"}


def test_json_withdraw_and_restore_take_effect_at_once(
    base: str, accounts: dict[str, dict[str, str]], registry: LayerRegistry
) -> None:
    layer = _sensitive(registry)
    with httpx.Client(base_url=base, timeout=30) as http:
        assert layer in _listed(http)
        made = http.post(
            "/admin/publication",
            json={"layer": layer, "reason": REASON},
            headers=accounts["admin"],
        )
        assert made.status_code == 201, made.text
        body = made.json()
        assert (body["layer"], body["scope"], body["actor"], body["via"]) == (
            layer,
            "layer",
            "pa-admin",
            "http",
        )
        assert body["reason"] == REASON
        assert layer not in _listed(http)  # this worker: at once, no waiting
        assert http.get(f"/ogc/collections/{layer}").status_code == 404
        twice = http.post(
            "/admin/publication", json={"layer": layer, "reason": "x"}, headers=accounts["admin"]
        )
        assert twice.status_code == 400 and layer in twice.json()["description"]
        listing = http.get("/admin/publication", headers=accounts["admin"]).json()
        assert [w["id"] for w in listing["withdrawals"]] == [body["id"]]
        gone = http.delete(f"/admin/publication/{body['id']}", headers=accounts["other"])
        assert gone.status_code == 200
        assert layer in _listed(http)
        again = http.delete(f"/admin/publication/{body['id']}", headers=accounts["other"])
        assert again.status_code == 404
        log = http.get("/admin/publication", headers=accounts["admin"]).json()["log"]
        mine = [e for e in log if e["withdrawal"] == body["id"]]
        assert [(e["action"], e["actor"]) for e in mine] == [
            ("restore", "pa-other-admin"),
            ("withdraw", "pa-admin"),
        ]


def test_bad_requests_name_what_is_wrong(
    base: str, accounts: dict[str, dict[str, str]], registry: LayerRegistry
) -> None:
    layer = _sensitive(registry)
    hidden = next(s.name for s in registry if not s.visible_to(ANONYMOUS))
    public_field = registry.get(layer).fields_for(ANONYMOUS)[0].name
    square = "POLYGON((33.4 50.7, 33.5 50.7, 33.5 50.8, 33.4 50.8, 33.4 50.7))"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"layer": "no_such_layer", "reason": "r"}, "no_such_layer"),
        ({"layer": hidden, "reason": "r"}, hidden),
        ({"layer": layer, "field": "no_such_field", "reason": "r"}, "no_such_field"),
        ({"layer": layer, "field": public_field, "area": square, "reason": "r"}, "area"),
        ({"layer": layer, "reason": "  "}, "reason"),
        ({"layer": layer, "area": "POINT(33.4 50.7)", "reason": "r"}, "Point"),
        ({"layer": layer, "area": "POLYGON((1 2, 3", "reason": "r"}, "WKT"),
        ({"layer": layer, "area": {"type": "Nothing"}, "reason": "r"}, "GeoJSON"),
        ({"layer": layer, "area": square.replace("50.", "95."), "reason": "r"}, "longitude"),
    ]
    with httpx.Client(base_url=base, timeout=30, headers=accounts["admin"]) as http:
        for body, named in cases:
            response = http.post("/admin/publication?lang=en", json=body)
            assert response.status_code == 400, (body, response.text)
            assert named in response.json()["description"], (body, response.json())
        uk = http.post("/admin/publication", json={"layer": layer, "reason": ""})
        assert "причину" in uk.json()["description"]
        assert http.get("/admin/publication").json()["withdrawals"] == []


def test_form_posts_need_the_pages_csrf_token(
    base: str, accounts: dict[str, dict[str, str]], registry: LayerRegistry
) -> None:
    layer = _sensitive(registry)
    form = {"layer": layer, "reason": REASON}
    with httpx.Client(base_url=base, timeout=30, headers=accounts["admin"]) as http:
        page = http.get("/admin/publication?f=html&lang=uk")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
        assert token
        assert http.post("/admin/publication", data=form).status_code == 403
        other = http.get("/admin/publication?f=html", headers=accounts["other"]).text
        foreign = re.search(r'name="csrf_token" value="([0-9a-f]+)"', other)
        assert foreign and foreign.group(1) != token.group(1)
        refused = http.post("/admin/publication", data={**form, "csrf_token": foreign.group(1)})
        assert refused.status_code == 403
        cross = http.post(
            "/admin/publication",
            json=form,
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        assert http.get("/admin/publication").json()["withdrawals"] == []
        done = http.post("/admin/publication", data={**form, "csrf_token": token.group(1)})
        assert done.status_code == 303
        (made,) = http.get("/admin/publication").json()["withdrawals"]
        assert made["actor"] == "pa-admin"
        wrong = http.post("/admin/publication", data={**form, "csrf_token": token.group(1)})
        assert wrong.status_code == 400 and "уже вилучено" in wrong.text  # the page, with why
        restore = f"/admin/publication/{made['id']}/restore"
        assert http.post(restore, data={"reason": "ok"}).status_code == 403
        back = http.post(restore, data={"reason": "ok", "csrf_token": token.group(1)})
        assert back.status_code == 303
        assert http.get("/admin/publication").json()["withdrawals"] == []


def test_cli_withdraws_restores_and_lists(
    demo_db_url: str, registry: LayerRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", demo_db_url)
    monkeypatch.setenv("GISPLATFORM_LAYERS_DIR", str(LAYERS_DIR))
    monkeypatch.setenv("GISPLATFORM_LANG", "uk")
    layer = _sensitive(registry)
    field = registry.get(layer).fields_for(ANONYMOUS)[-1].name
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    said = run("publish", "withdraw", layer, "--reason", REASON)
    assert "вилучено з публікації" in said and "працівники" in said
    run("publish", "withdraw", layer, "--field", field, "--reason", REASON)
    square = "POLYGON((33.4 50.7, 33.5 50.7, 33.5 50.8, 33.4 50.8, 33.4 50.7))"
    run("publish", "withdraw", layer, "--area", square, "--reason", REASON)
    status = json.loads(run("publish", "status", "--json", "--log", "5"))
    scopes = sorted(w["scope"] for w in status["withdrawals"])
    assert scopes == ["area", "field", "layer"]
    user = getpass.getuser()
    assert all(w["via"] == "cli" and w["actor"] == user for w in status["withdrawals"])
    assert [e["action"] for e in status["log"][:3]] == ["withdraw"] * 3
    again = runner.invoke(app, ["publish", "withdraw", layer, "--reason", REASON])
    assert again.exit_code != 0
    missing = runner.invoke(app, ["publish", "withdraw", layer, "--reason", ""])
    assert missing.exit_code != 0
    run("publish", "restore", layer, "--area", square)
    run("publish", "restore", layer, "--field", field, "--reason", "скасовано")
    run("publish", "restore", layer)
    assert json.loads(run("publish", "status", "--json"))["withdrawals"] == []
    nothing = runner.invoke(app, ["publish", "restore", layer])
    assert nothing.exit_code != 0
    assert "нічого не вилучено" in run("publish", "status")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def test_admin_page_in_chromium(
    browser: Any, base: str, accounts: dict[str, dict[str, str]], registry: LayerRegistry
) -> None:
    layer = _sensitive(registry)
    field = registry.get(layer).fields_for(ANONYMOUS)[-1].name
    context = browser.new_context(
        http_credentials={"username": "pa-admin", "password": PASSWORD},
        viewport={"width": 1280, "height": 1100},
    )
    page = context.new_page()
    try:
        page.goto(f"{base}/admin/publication?f=html&lang=uk")
        assert page.locator("h1").inner_text() == "Публікація даних"
        page.select_option("select[name=layer]", layer)
        page.select_option("select[name=field]", field)
        page.fill("textarea[name=reason]", REASON)
        with page.expect_navigation():
            page.click("button.danger")
        assert page.url.endswith("/admin/publication?f=html&lang=uk")
        row = page.locator("table.withdrawals tr").nth(1).inner_text()
        assert "pa-admin" in row and REASON in row and field in row
        page.select_option("select[name=layer]", layer)
        page.fill("textarea[name=reason]", REASON)
        with page.expect_navigation():
            page.click("button.danger")
        assert page.locator("table.withdrawals tr").count() == 3
        screenshot(page, "admin-publication-uk.png")
        page.goto(f"{base}/admin/publication?f=html&lang=en")
        assert page.locator("h1").inner_text() == "Publication"
        assert "Withdrawals in force" in page.content()
        screenshot(page, "admin-publication-en.png")
        with page.expect_navigation():
            page.locator("table.withdrawals form button").first.click()
        assert page.url.endswith("lang=en")
        assert page.locator("table.withdrawals tr").count() == 2
        assert page.locator("table.log tr").nth(1).inner_text().startswith("20")
        assert "restored" in page.locator("table.log tr").nth(1).inner_text()
    finally:
        context.close()
