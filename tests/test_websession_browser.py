"""Signing in on the web map, CSP and CORS in headless Chromium (Debian's, via playwright)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from psycopg import sql

from gisplatform.access.sessions import COOKIE
from gisplatform.i18n import message
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry
from gisplatform.webmap.i18n import STRINGS
from tests.accounts_helpers import made_accounts
from tests.live import platform_app
from tests.webmap_helpers import (
    chromium,
    live_server,
    new_page,
    screenshot,
    stats,
    wait_ready,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]

PASSWORD = "browser-" + base64.b16encode(os.urandom(6)).decode()
LOGIN = "browser-staff"  # the account the fixture makes


@pytest.fixture(scope="module")
def account(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    """A staff account with every role of the registry, and a password."""
    every_role = {"staff": sorted(registry.role_names)}
    with made_accounts(demo_db_url, registry, "browser-", every_role, PASSWORD):
        yield LOGIN


@pytest.fixture(scope="module")
def base(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with live_server(platform_app(demo_db_url, registry)) as url:
        yield url


@pytest.fixture(scope="module")
def other() -> Iterator[str]:
    """Another site's page, served from another port of the same loopback address."""
    app = FastAPI()

    @app.get("/page", response_class=HTMLResponse)
    def page() -> str:
        return "<!doctype html><title>another origin</title><p>another origin</p>"

    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (own cookies) logging errors and CSP violations (console and events)."""
    page = new_page(browser, watch_csp=True)
    yield page
    page.context.close()


def _staff_only(registry: LayerRegistry) -> set[str]:
    audience = Audience(signed_in=True, roles=frozenset(registry.role_names))
    staff = {s.name for s in registry.list(audience)}
    return staff - {s.name for s in registry.list(ANONYMOUS)}


def _ready(page: Any) -> None:
    wait_ready(page)
    page.wait_for_function("() => window.gisplatform.accountReady !== undefined")
    page.evaluate("() => window.gisplatform.accountReady")


def _violations(page: Any) -> list[str]:
    found: list[str] = page.evaluate("() => window.__csp || []")
    return found + page.csp


def _sign_in(page: Any, login: str, password: str) -> None:
    page.click("#gp-signin-open")
    page.fill("#gp-signin input[name=login]", login)
    page.fill("#gp-signin input[name=password]", password)


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_sign_in_shows_staff_layers_and_sign_out_hides_them(
    page: Any, base: str, account: str, registry: LayerRegistry, lang: str, demo_db_url: str
) -> None:
    hidden = _staff_only(registry)
    assert hidden
    page.goto(f"{base}/?lang={lang}")
    _ready(page)
    assert not set(stats(page)["layers"]) & hidden
    assert page.inner_text("#gp-signin-open") == STRINGS["sign_in"][lang]
    _sign_in(page, account, PASSWORD)
    form = page.locator("#gp-signin")
    assert STRINGS["password"][lang] in form.inner_text()
    screenshot(page, f"websession-signin-form-{lang}.png")
    with page.expect_navigation():
        page.click("#gp-signin button[type=submit]")
    _ready(page)
    assert hidden <= set(stats(page)["layers"])
    assert page.inner_text("#gp-login") == account
    assert STRINGS["signed_in_as"][lang] in page.inner_text("#gp-account")
    for name in hidden:
        title = getattr(registry.get(name).title, lang)
        assert title in page.inner_text("#gp-layers")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # plain http on loopback
    assert page.evaluate("() => document.cookie") == ""  # the script never sees it
    first = sorted(hidden)[0]
    with psycopg.connect(demo_db_url) as conn:
        where = conn.execute(
            sql.SQL(
                "SELECT ST_Y(ST_PointOnSurface(geom)), ST_X(ST_PointOnSurface(geom)) FROM {} "
                "ORDER BY fid LIMIT 1"
            ).format(sql.Identifier("gis", first))
        ).fetchone()
    assert where is not None
    zoom = max(registry.get(first).min_zoom, 17)
    page.evaluate(
        "([lat, lon, z]) => window.gisplatform.map.setView([lat, lon], z)", [*where, zoom]
    )
    page.evaluate("name => window.gisplatform.setLayer(name, true)", first)
    page.wait_for_function(
        "name => { const s = window.gisplatform.stats().layers[name]; return s.drawn > 0 "
        "|| s.error; }",
        arg=first,
        timeout=20_000,
    )
    assert stats(page)["layers"][first]["error"] is None
    # the page's own changes carry the session's CSRF token (the walking-routes process)
    nearest = page.evaluate("() => window.gisplatform.state.cfg.nearest.layer")
    with psycopg.connect(demo_db_url) as conn:
        origin = conn.execute(
            sql.SQL("SELECT ST_Y(geom), ST_X(geom) FROM {} ORDER BY fid LIMIT 1").format(
                sql.Identifier("api_public", nearest)
            )
        ).fetchone()
    found = page.evaluate(
        "([lat, lon]) => window.gisplatform.walkingNearest(lat, lon, 1)"
        ".then((r) => r.items.length, (e) => String(e))",
        list(origin or ()),
    )
    assert found == 1, found
    page.locator(f'#gp-layers [data-layer="{first}"]').first.scroll_into_view_if_needed()
    screenshot(page, f"websession-signed-in-{lang}.png")
    with page.expect_navigation():
        page.click("#gp-signout")
    _ready(page)
    assert not set(stats(page)["layers"]) & hidden
    assert page.is_visible("#gp-signin-open")
    assert not [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert not page.log.errors, page.log.errors
    assert not _violations(page)


def test_wrong_password_shows_the_ukrainian_message(
    page: Any, base: str, account: str, demo_db_url: str
) -> None:
    page.goto(f"{base}/?lang=uk")
    _ready(page)
    _sign_in(page, account, "not-the-password")
    page.click("#gp-signin button[type=submit]")
    page.wait_for_selector("#gp-signin-error:not([hidden])")
    assert page.inner_text("#gp-signin-error") == message("sign_in_form_failed").get("uk")
    assert page.input_value("#gp-signin input[name=password]") == ""
    screenshot(page, "websession-wrong-password-uk.png")
    assert page.evaluate("() => window.gisplatform.session") is None
    with psycopg.connect(demo_db_url) as conn:
        conn.execute("DELETE FROM auth.events WHERE login = %s", [account])


def test_map_and_pages_load_without_csp_violations(
    page: Any, base: str, account: str, registry: LayerRegistry
) -> None:
    layer = next(s for s in registry.list(ANONYMOUS) if s.geometry.family == "point").name
    page.goto(f"{base}/?lang=uk")
    _ready(page)
    for name in stats(page)["layers"]:
        page.evaluate("name => window.gisplatform.setLayer(name, true)", name)
    page.wait_for_timeout(1500)
    header = page.evaluate("async () => (await fetch('/')).headers.get('content-security-policy')")
    assert "'unsafe-inline'" not in header.split("script-src", 1)[1].split(";", 1)[0]
    assert not _violations(page), _violations(page)
    for path in (
        "/ogc?f=html",
        "/ogc/collections?f=html",
        f"/ogc/collections/{layer}?f=html",
        f"/ogc/collections/{layer}/items?f=html&limit=20",
        "/ogc/collections/catalogue/items?f=html",
    ):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert not _violations(page), (path, _violations(page))
    page.goto(f"{base}/ogc/collections/{layer}/items?f=html&limit=5")
    page.locator("table.features a").first.click()
    page.wait_for_selector("#ogc-map[data-drawn]", timeout=20_000)
    assert not _violations(page), _violations(page)
    assert not page.log.errors, page.log.errors


def test_another_origin_reads_anonymously_and_cannot_act_with_the_cookie(
    page: Any, base: str, other: str, account: str, registry: LayerRegistry, demo_db_url: str
) -> None:
    hidden = _staff_only(registry)
    page.goto(f"{base}/?lang=uk")
    _ready(page)
    _sign_in(page, account, PASSWORD)
    with page.expect_navigation():
        page.click("#gp-signin button[type=submit]")
    _ready(page)
    # a page of another origin on the same host (same site: the Lax cookie goes along)
    page.goto(other + "/page")
    read = page.evaluate(
        """async (base) => { try {
          const r = await fetch(base + '/ogc/collections?f=json', {
            headers: { 'If-None-Match': '"x"', 'Accept-Language': 'uk' } });
          return { status: r.status, ids: (await r.json()).collections.map((c) => c.id) };
        } catch (e) { return { error: String(e) }; } }""",
        base,
    )
    assert "error" not in read, (read, page.log.errors)
    assert read["status"] == 200
    assert not set(read["ids"]) & hidden  # anonymous: no cookie in CORS mode
    credentialed = page.evaluate(
        """async (base) => {
          try { await fetch(base + '/ogc/collections?f=json', { credentials: 'include' });
                return 'read'; } catch (e) { return 'blocked'; }
        }""",
        base,
    )
    assert credentialed == "blocked"  # never credentials cross-origin
    with page.expect_response(lambda r: r.url.endswith("/signout")) as answer:
        page.evaluate(
            """async (base) => fetch(base + '/signout', { method: 'POST', credentials: 'include',
                 mode: 'no-cors', body: 'x' }).catch(() => null)""",
            base,
        )
    assert answer.value.status == 403
    page.goto(f"{base}/?lang=uk")
    _ready(page)
    assert hidden <= set(stats(page)["layers"])  # still signed in
    assert page.inner_text("#gp-login") == account
    # the OGC API pages in the same browser are the staff's too
    page.goto(f"{base}/ogc/collections?f=html&lang=uk")
    for name in hidden:
        assert page.locator(f'a[href$="/collections/{name}?f=html&lang=uk"]').count() == 1
    with psycopg.connect(demo_db_url) as conn:
        live = conn.execute(
            "SELECT count(*) FROM auth.sessions WHERE login = %s AND ended_at IS NULL "
            "AND expires_at > now()",
            [account],
        ).fetchone()
    assert live is not None and live[0] >= 1
