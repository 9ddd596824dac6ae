"""The web map in headless Chromium against the live app with the Romny demo data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gisplatform.registry import Access, LayerRegistry
from tests.conftest import make_settings
from tests.webmap_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PageLog,
    live_server,
    screenshot,
    stats,
    wait_ready,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def base_url(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    """The platform app (OGC API + web map) served on a free local port."""
    from gisplatform.ogcapi.app import create_app
    from gisplatform.webmap import mount_webmap

    app = create_app(make_settings(demo_db_url), registry)
    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        mount_webmap(app)
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by playwright (never a downloaded browser)."""
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh 1400×900 page (own storage) with its request and console log at ``page.log``."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="uk-UA")
    page = context.new_page()
    page.log = PageLog(page)
    yield page
    context.close()


def _one(url: str, query: str, *params: object) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return tuple(row)


def _wait_drawn(page: Any, layer: str, timeout: float = 20_000) -> dict[str, Any]:
    page.wait_for_function(
        "name => window.gisplatform.stats().layers[name].drawn > 0", arg=layer, timeout=timeout
    )
    layer_stats: dict[str, Any] = stats(page)["layers"][layer]
    return layer_stats


def test_loads_offline_and_draws_every_public_layer(
    page: Any, base_url: str, demo_db_url: str, registry: LayerRegistry
) -> None:
    page.goto(base_url + "/")
    wait_ready(page)
    public = {spec.name for spec in registry.list(Access.PUBLIC)}
    assert set(stats(page)["layers"]) == public
    assert "lighting_cabinets" not in page.content()
    assert "utility_facilities" not in page.content()
    screenshot(page, "webmap-uk-hromada.png")
    lat, lon = _one(
        demo_db_url,
        "SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_Centroid(ST_Collect(geom)) c "
        "FROM api_public.street_lights) s",
    )
    page.evaluate("([lat, lon]) => window.gisplatform.map.setView([lat, lon], 16)", [lat, lon])
    for name in sorted(public):
        page.evaluate("name => window.gisplatform.setLayer(name, true)", name)
    for name in sorted(public):
        layer = _wait_drawn(page, name)
        assert layer["error"] is None
        if layer["source"] == "geojson":
            count = _one(demo_db_url, f"SELECT count(*) FROM api_public.{name}")[0]  # noqa: S608
            assert layer["total"] == count == layer["drawn"], name
    page.wait_for_timeout(500)
    tiled = page.locator(".leaflet-tile-container svg path").count()
    assert tiled > 100
    screenshot(page, "webmap-uk-all-layers.png")
    assert not page.log.errors, page.log.errors
    foreign = [u for u in page.log.requests if not u.startswith(base_url + "/")]
    assert not foreign, foreign
    assert any("/ogc/tiles/WebMercatorQuad/16/" in u for u in page.log.requests)


def _open_shelter_popup(page: Any, demo_db_url: str) -> tuple[Any, ...]:
    row = _one(
        demo_db_url,
        "SELECT fid, name, readiness, capacity_persons, ST_Y(geom), ST_X(geom) "
        "FROM api_public.shelters ORDER BY fid LIMIT 1",
    )
    _wait_drawn(page, "shelters")
    page.evaluate("([lat, lon]) => window.gisplatform.map.setView([lat, lon], 18)", row[4:6])
    page.wait_for_timeout(400)
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(f'.gp-popup[data-fid="{row[0]}"]', timeout=10_000)
    return row


def test_popup_shows_ukrainian_labels_and_values(
    page: Any, base_url: str, demo_db_url: str
) -> None:
    page.goto(base_url + "/?lang=uk")
    wait_ready(page)
    fid, name, readiness, capacity, *_ = _open_shelter_popup(page, demo_db_url)
    popup = page.locator(".gp-popup")
    labels = {"ready": "готова", "limited_ready": "обмежено готова", "not_ready": "не готова"}
    assert popup.locator("h3").inner_text() == name
    text = popup.inner_text()
    assert "Готовність" in text and "Місткість" in text and "Вид споруди" in text
    assert popup.locator('td[data-field="readiness"]').inner_text() == labels[readiness]
    assert re.sub(r"\s", "", popup.locator('td[data-field="capacity_persons"]').inner_text()) == (
        f"{capacity}осіб"
    )
    assert "key_holder" not in popup.inner_html()
    assert popup.locator(f'a[href="/ogc/collections/shelters/items/{fid}?f=json"]').count() == 1
    screenshot(page, "webmap-uk-popup.png")
    assert not page.log.errors, page.log.errors


def test_filters_change_map_and_count(page: Any, base_url: str, demo_db_url: str) -> None:
    page.goto(base_url + "/")
    wait_ready(page)
    total = _wait_drawn(page, "shelters")["total"]
    ready = _one(demo_db_url, "SELECT count(*) FROM api_public.shelters WHERE readiness='ready'")
    page.locator('details.gp-filters[data-layer="shelters"] > summary').click()
    page.select_option('select[data-layer="shelters"][data-field="readiness"]', "ready")
    page.wait_for_timeout(200)
    layer = stats(page)["layers"]["shelters"]
    assert layer["drawn"] == ready[0] < total
    assert f"{ready[0]} з {total}" in page.locator('[data-count="shelters"]').inner_text()
    page.select_option('select[data-layer="shelters"][data-field="access_mode"]', "24_7")
    both = _one(
        demo_db_url,
        "SELECT count(*) FROM api_public.shelters WHERE readiness='ready' AND access_mode='24_7'",
    )
    page.wait_for_timeout(200)
    assert stats(page)["layers"]["shelters"]["drawn"] == both[0]
    # vector tiles: street lights by status
    lat, lon = _one(
        demo_db_url,
        "SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_Centroid(ST_Collect(geom)) c "
        "FROM api_public.street_lights) s",
    )
    page.evaluate("([lat, lon]) => window.gisplatform.map.setView([lat, lon], 16)", [lat, lon])
    page.evaluate("() => window.gisplatform.setLayer('street_lights', true)")
    _wait_drawn(page, "street_lights")
    # tiles arrive one by one: count once every tile of the view has loaded
    page.wait_for_function(
        "() => { let busy = false; window.gisplatform.map.eachLayer("
        "(l) => { if (l.isLoading && l.isLoading()) busy = true; }); return !busy; }",
        timeout=20_000,
    )
    before = stats(page)["layers"]["street_lights"]["drawn"]
    page.locator('details.gp-filters[data-layer="street_lights"] > summary').click()
    page.select_option('select[data-layer="street_lights"][data-field="status"]', "ok")
    page.wait_for_function(
        "n => { const l = window.gisplatform.stats().layers.street_lights;"
        " return l.drawn > 0 && l.drawn < n; }",
        arg=before,
        timeout=15_000,
    )
    assert not page.log.errors, page.log.errors


#: (lat, lon) where the nearest shelter on foot is not the nearest in a straight line
WALK_ORIGIN = (50.745, 33.465)
#: (lat, lon) outside the hromada: the process refuses it and the map falls back
OUTSIDE = (50.60, 33.20)
#: Chromium's console line for the process' expected 400 answer
HTTP_400 = "status of 400"


def _straight_nearest(url: str, lat: float, lon: float) -> int:
    fid: int = _one(
        url,
        "SELECT fid FROM api_public.shelters "
        "ORDER BY geom::geography <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography LIMIT 1",
        lon,
        lat,
    )[0]
    return fid


def _walking_nearest(url: str, lat: float, lon: float, readiness: list[str] | None) -> Any:
    from gisplatform.analyses import NearestShelterInput, nearest_shelter

    params = NearestShelterInput.model_validate(
        {"origin": {"lon": lon, "lat": lat}, "limit": 1, "readiness": readiness}
    )
    with psycopg.connect(url) as conn:
        return nearest_shelter(conn, params).shelters[0]


def _pick(page: Any, lat: float, lon: float, zoom: int = 16) -> Any:
    """Centre the map on (lat, lon), pick that point and wait for the shelter list."""
    page.evaluate(
        "([lat, lon, z]) => window.gisplatform.map.setView([lat, lon], z)", [lat, lon, zoom]
    )
    page.wait_for_timeout(300)
    page.click("#gp-nearest-pick")
    point = page.evaluate(
        "([lat, lon]) => window.gisplatform.map.latLngToContainerPoint([lat, lon])", [lat, lon]
    )
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_selector("#gp-nearest-method[data-method]:not([data-method=''])", timeout=20_000)
    return page.locator("#gp-nearest-results li").first


def _metres(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def test_nearest_shelter_walks_the_streets(page: Any, base_url: str, demo_db_url: str) -> None:
    lat, lon = WALK_ORIGIN
    walking = _walking_nearest(demo_db_url, lat, lon, None)
    assert walking.fid != _straight_nearest(demo_db_url, lat, lon)  # the rankings differ here
    page.goto(base_url + "/?lang=uk")
    wait_ready(page)
    _wait_drawn(page, "shelters")
    first = _pick(page, lat, lon, zoom=17)
    assert page.locator("#gp-nearest-method").get_attribute("data-method") == "walking"
    assert "Пішохідна відстань" in page.locator("#gp-nearest-method").inner_text()
    assert first.get_attribute("data-fid") == str(walking.fid)
    assert abs(_metres(first.locator(".gp-walk").inner_text()) - walking.walk_m) <= 1
    assert abs(_metres(first.locator(".gp-distance").inner_text()) - walking.straight_m) <= 1
    labels = {"ready": "готова", "limited_ready": "обмежено готова", "not_ready": "не готова"}
    text = first.inner_text()
    assert f"Готовність: {labels[walking.readiness]}" in text and "хв пішки" in text
    assert "Доступність для маломобільних" in text
    route = page.locator("path.gp-route")
    assert route.count() == 1 and route.first.is_visible()
    screenshot(page, "webmap-uk-walking-route.png")
    # the shelter filters become process inputs
    page.locator('details.gp-filters[data-layer="shelters"] > summary').click()
    page.select_option('select[data-layer="shelters"][data-field="readiness"]', "ready")
    ready = _walking_nearest(demo_db_url, lat, lon, ["ready"])
    first = _pick(page, lat, lon)
    assert first.get_attribute("data-fid") == str(ready.fid)
    assert abs(_metres(first.locator(".gp-walk").inner_text()) - ready.walk_m) <= 1
    posts = [u for u in page.log.requests if u.endswith("/processes/nearest-shelter/execution")]
    assert len(posts) == 2
    foreign = [u for u in page.log.requests if not u.startswith(base_url + "/")]
    assert not foreign, foreign
    assert not page.log.errors, page.log.errors


def test_nearest_shelter_falls_back_outside_the_hromada(
    page: Any, base_url: str, demo_db_url: str
) -> None:
    lat, lon = OUTSIDE
    inside = _one(
        demo_db_url,
        "SELECT bool_or(ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))) "
        "FROM api_public.hromada_boundary",
        lon,
        lat,
    )[0]
    assert inside is False
    page.goto(base_url + "/?lang=en")
    wait_ready(page)
    _wait_drawn(page, "shelters")
    first = _pick(page, lat, lon, zoom=12)
    method = page.locator("#gp-nearest-method")
    assert method.get_attribute("data-method") == "straight"
    text = method.inner_text()
    assert "The server could not compute a walking route" in text
    assert "outside the hromada boundary" in text and "straight-line distance" in text
    assert first.get_attribute("data-fid") == str(_straight_nearest(demo_db_url, lat, lon))
    assert "straight line" in first.inner_text() and first.locator(".gp-walk").count() == 0
    assert page.locator("path.gp-straight-line").count() == 1
    assert page.locator("path.gp-route").count() == 0
    screenshot(page, "webmap-en-nearest-fallback.png")
    errors = [e for e in page.log.errors if HTTP_400 not in e]
    assert not errors, errors


def test_english_switch_and_persistence(page: Any, base_url: str, demo_db_url: str) -> None:
    page.goto(base_url + "/")
    wait_ready(page)
    page.click('.gp-lang button[data-lang="en"]')
    page.wait_for_url(re.compile(r"lang=en"))
    wait_ready(page)
    assert page.locator(".gp-panel h2").first.inner_text().strip().lower() == "layers"
    assert page.evaluate("document.documentElement.lang") == "en"
    _, _, readiness, *_ = _open_shelter_popup(page, demo_db_url)
    text = page.locator(".gp-popup").inner_text()
    assert "Readiness" in text and "Capacity" in text and "Готовність" not in text
    labels = {"ready": "ready", "limited_ready": "partly ready", "not_ready": "not ready"}
    assert page.locator('td[data-field="readiness"]').inner_text() == labels[readiness]
    screenshot(page, "webmap-en-popup.png")
    page.goto(base_url + "/")  # no ?lang: the stored choice wins
    wait_ready(page)
    assert page.locator(".gp-panel h2").first.inner_text().strip().lower() == "layers"
    assert not page.log.errors, page.log.errors


def test_search_finds_loaded_and_tiled_features(page: Any, base_url: str, demo_db_url: str) -> None:
    """Search covers layers loaded in the page and tiled layers (asked of the OGC API)."""
    (shelter,) = _one(demo_db_url, "SELECT name FROM gis.shelters ORDER BY fid LIMIT 1")
    (street,) = _one(
        demo_db_url, "SELECT name_uk FROM gis.streets WHERE name_uk ILIKE '%%соборна%%' LIMIT 1"
    )
    page.goto(base_url + "/?lang=uk")
    wait_ready(page)
    results = page.locator("#gp-search-results")
    page.fill("#gp-search", shelter.lower())
    results.locator("a", has_text=shelter).first.wait_for(timeout=15_000)
    page.fill("#gp-search", "соборна")
    hit = results.locator("li").filter(has_text="Вулиці").filter(has_text=street)
    hit.first.wait_for(timeout=15_000)
    tiled = [u for u in page.log.requests if "/items?" in u and "filter=" in u]
    assert tiled, "tiled layers are searched through the OGC API with a CQL2 filter"
    hit.first.locator("a").click()
    page.wait_for_function("() => window.gisplatform.map.getZoom() >= 14", timeout=10_000)
    assert not page.log.errors, page.log.errors
