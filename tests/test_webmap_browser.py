"""The web map in headless Chromium against the live app with the Romny demo data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from gisplatform.analyses import NearestShelterInput
from gisplatform.registry import Access, LayerRegistry
from tests.conftest import make_settings
from tests.webmap_helpers import (
    chromium,
    live_server,
    new_page,
    screenshot,
    stats,
    wait_ready,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]


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
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh 1400×900 page (own storage) with its request and console log at ``page.log``."""
    page = new_page(browser)
    yield page
    page.context.close()


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


def _uk_plural(n: int) -> str:
    """The CLDR plural category of a whole number in Ukrainian."""
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def test_popup_shows_ukrainian_labels_and_values(
    page: Any, base_url: str, demo_db_url: str, registry: LayerRegistry
) -> None:
    from gisplatform.webmap.i18n import UNITS

    page.goto(base_url + "/?lang=uk")
    wait_ready(page)
    fid, name, readiness, capacity, *_ = _open_shelter_popup(page, demo_db_url)
    popup = page.locator(".gp-popup")
    assert popup.locator("h3").inner_text() == name
    text = popup.inner_text()
    assert "Готовність" in text and "Місткість" in text and "Вид споруди" in text
    assert popup.locator('td[data-field="readiness"]').inner_text() == _label(
        registry, SHELTERS, "readiness", readiness
    )
    persons = UNITS["persons"]["uk"]
    assert isinstance(persons, dict)
    assert re.sub(r"\s", "", popup.locator('td[data-field="capacity_persons"]').inner_text()) == (
        f"{capacity}{persons[_uk_plural(capacity)]}"
    )
    checked = popup.locator('td[data-field="readiness_checked_at"]').inner_text()
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4}", checked), checked  # 01.12.2026, not ISO
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


SHELTERS = "shelters"
#: (lat, lon) where the nearest shelter on foot, whatever its readiness, is not ready
WALK_ORIGIN = (50.745, 33.465)
#: (lat, lon) outside the hromada: the process refuses it and the map falls back
OUTSIDE = (50.60, 33.20)
#: Chromium's console line for the process' expected 400 answer
HTTP_400 = "status of 400"


def _safe_clause(safe: dict[str, list[str]]) -> tuple[sql.Composable, list[list[str]]]:
    """``field = ANY(codes) AND ...`` for every safe default, with its parameters."""
    parts = [sql.SQL("{} = ANY(%s)").format(sql.Identifier(name)) for name in safe]
    return sql.SQL(" AND ").join(parts), list(safe.values())


def _straight_nearest(url: str, lat: float, lon: float, safe: dict[str, list[str]]) -> int:
    """The nearest shelter in a straight line among those the safe defaults allow."""
    clause, params = _safe_clause(safe)
    query = sql.SQL(
        "SELECT fid FROM api_public.shelters WHERE {} ORDER BY geom::geography <-> "
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography LIMIT 1"
    ).format(clause)
    with psycopg.connect(url) as conn:
        row = conn.execute(query, [*params, lon, lat]).fetchone()
    assert row is not None
    fid: int = row[0]
    return fid


def unsafe_listed(url: str, fids: list[int], safe: dict[str, list[str]]) -> list[int]:
    """Those of ``fids`` that the safe defaults exclude (the database's view)."""
    clause, params = _safe_clause(safe)
    query = sql.SQL("SELECT fid FROM api_public.shelters WHERE fid = ANY(%s) AND NOT ({})").format(
        clause
    )
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute(query, [fids, *params]).fetchall()]


def _walking_nearest(url: str, lat: float, lon: float, limit: int = 1, **filters: Any) -> Any:
    """The process's answer computed in Python (``filters``: its inputs, e.g. readiness)."""
    from gisplatform.analyses import NearestShelterInput, nearest_shelter

    params = NearestShelterInput.model_validate(
        {"origin": {"lon": lon, "lat": lat}, "limit": limit, **filters}
    )
    with psycopg.connect(url) as conn:
        return nearest_shelter(conn, params).shelters


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


def _label(registry: LayerRegistry, layer: str, field: str, code: str, lang: str = "uk") -> str:
    entry = registry.get(layer).field(field).enum_value(code)
    assert entry is not None
    return entry.label(lang)


def _posted_inputs(page: Any) -> list[dict[str, Any]]:
    """The inputs of every nearest-shelter execution the page sent (recorded by the test)."""
    inputs: list[dict[str, Any]] = page.posted
    return inputs


def _record_posts(page: Any) -> None:
    page.posted = []

    def record(request: Any) -> None:
        if request.url.endswith("/processes/nearest-shelter/execution"):
            page.posted.append(json.loads(request.post_data)["inputs"])

    page.on("request", record)


def _safe_defaults(registry: LayerRegistry) -> dict[str, list[str]]:
    nearest = registry.get(SHELTERS).map.nearest
    assert nearest is not None
    return {name: list(codes) for name, codes in nearest.defaults.items()}


def test_nearest_shelter_is_safe_by_default(
    page: Any, base_url: str, demo_db_url: str, registry: LayerRegistry
) -> None:
    """From a point whose nearest shelter on foot is not ready, only safe shelters are listed."""
    lat, lon = WALK_ORIGIN
    safe = _safe_defaults(registry)
    assert safe["readiness"] == ["ready"]
    assert set(safe["access_mode"]) == {"24_7", "during_alert"}
    (unsafe,) = _walking_nearest(demo_db_url, lat, lon, readiness=None)
    assert unsafe_listed(demo_db_url, [unsafe.fid], safe) == [unsafe.fid]
    # what the process can filter it filters; the rest (e.g. intended_for) the map drops
    inputs = {k: v for k, v in safe.items() if k in NearestShelterInput.model_fields}
    found = _walking_nearest(demo_db_url, lat, lon, limit=50, **inputs)
    bad = set(unsafe_listed(demo_db_url, [s.fid for s in found], safe))
    expected = [s for s in found if s.fid not in bad][:5]
    assert expected and unsafe.fid not in [s.fid for s in expected]
    _record_posts(page)
    page.goto(base_url + "/?lang=uk")
    wait_ready(page)
    _wait_drawn(page, SHELTERS)
    first = _pick(page, lat, lon, zoom=17)
    assert page.locator("#gp-nearest-method").get_attribute("data-method") == "walking"
    assert "Пішохідна відстань" in page.locator("#gp-nearest-method").inner_text()
    items = page.locator("#gp-nearest-results li[data-fid]")
    fids = [int(items.nth(i).get_attribute("data-fid")) for i in range(items.count())]
    assert fids == [s.fid for s in expected]
    assert not unsafe_listed(demo_db_url, fids, safe)
    with psycopg.connect(demo_db_url) as conn:
        rows = conn.execute(
            "SELECT fid, access_mode, address_text FROM api_public.shelters WHERE fid = ANY(%s)",
            (fids,),
        ).fetchall()
    assert {r[0] for r in rows} == set(fids)
    for fid, access_mode, address in rows:
        text = page.locator(f'#gp-nearest-results li[data-fid="{fid}"]').inner_text()
        assert address in text
        assert f"Режим доступу: {_label(registry, SHELTERS, 'access_mode', access_mode)}" in text
    assert first.get_attribute("data-fid") == str(expected[0].fid)
    assert abs(_metres(first.locator(".gp-walk").inner_text()) - expected[0].walk_m) <= 1
    assert abs(_metres(first.locator(".gp-distance").inner_text()) - expected[0].straight_m) <= 1
    assert "хв пішки" in first.inner_text()
    only = page.locator("#gp-nearest-only").inner_text()
    assert _label(registry, SHELTERS, "readiness", "ready") in only
    assert "під час повітряної тривоги" in only
    route = page.locator("path.gp-route")
    assert route.count() == 1 and route.first.is_visible()
    page.mouse.move(1, 450)  # no hover tooltip over the picture
    page.evaluate(
        "() => window.gisplatform.map.eachLayer((l) => l.closeTooltip && l.closeTooltip())"
    )
    screenshot(page, "webmap-uk-walking-route.png")
    # a choice narrows the defaults; "усі" sends the defaults again, never null
    page.locator("details.gp-nearest-filters > summary").click()
    select = 'select[data-nearest-field="access_mode"]'
    assert page.locator(f"{select} option").all_inner_texts() == [
        "усі",
        *(_label(registry, SHELTERS, "access_mode", c) for c in safe["access_mode"]),
    ]
    page.select_option(select, "24_7")
    narrow = next(s for s in found if s.fid not in bad and s.access_mode == "24_7")
    first = _pick(page, lat, lon)
    assert first.get_attribute("data-fid") == str(narrow.fid)
    page.select_option(select, "")
    first = _pick(page, lat, lon)
    assert first.get_attribute("data-fid") == str(expected[0].fid)
    posted = _posted_inputs(page)
    assert len(posted) == 3
    assert posted[1]["access_mode"] == ["24_7"]
    for inputs in (posted[0], posted[2]):
        assert inputs["readiness"] == safe["readiness"]
        assert inputs["access_mode"] == safe["access_mode"]
    assert all(value is not None for inputs in posted for value in inputs.values())
    foreign = [u for u in page.log.requests if not u.startswith(base_url + "/")]
    assert not foreign, foreign
    assert not page.log.errors, page.log.errors


def test_nearest_shelter_falls_back_outside_the_hromada(
    page: Any, base_url: str, demo_db_url: str, registry: LayerRegistry
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
    safe = _safe_defaults(registry)
    assert first.get_attribute("data-fid") == str(_straight_nearest(demo_db_url, lat, lon, safe))
    assert "straight line" in first.inner_text() and first.locator(".gp-walk").count() == 0
    assert page.locator("path.gp-straight-line").count() == 1
    assert page.locator("path.gp-route").count() == 0
    screenshot(page, "webmap-en-nearest-fallback.png")
    errors = [e for e in page.log.errors if HTTP_400 not in e]
    assert not errors, errors


def test_english_switch_and_persistence(
    page: Any, base_url: str, demo_db_url: str, registry: LayerRegistry
) -> None:
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
    assert page.locator('td[data-field="readiness"]').inner_text() == _label(
        registry, SHELTERS, "readiness", readiness, "en"
    )
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


def test_demo_badge_shows_while_demo_features_are_drawn(
    page: Any, base_url: str, demo_db_url: str, registry: LayerRegistry
) -> None:
    real, demo = "hydro_and_protected", "shelters"
    assert _one(demo_db_url, "SELECT bool_or(is_demo) FROM gis.hydro_and_protected") == (False,)
    page.goto(base_url + "/")
    wait_ready(page)
    for spec in registry.list(Access.PUBLIC):
        page.evaluate("([name, on]) => window.gisplatform.setLayer(name, on)", [spec.name, False])
    page.evaluate("name => window.gisplatform.setLayer(name, true)", real)
    lat, lon = _one(
        demo_db_url,
        "SELECT ST_Y(c), ST_X(c) FROM (SELECT ST_PointOnSurface(geom) c "
        "FROM api_public.hydro_and_protected ORDER BY fid LIMIT 1) s",
    )
    page.evaluate("([lat, lon]) => window.gisplatform.map.setView([lat, lon], 13)", [lat, lon])
    _wait_drawn(page, real)
    badge = page.locator("#gp-demo")
    page.wait_for_timeout(300)
    assert not badge.is_visible(), "real register data only: no demo badge"
    page.evaluate("name => window.gisplatform.setLayer(name, true)", demo)
    page.evaluate("() => window.gisplatform.map.setView(window.gisplatform.map.getCenter(), 12)")
    _wait_drawn(page, demo)
    badge.wait_for(state="visible", timeout=10_000)
    assert badge.inner_text() == "демо-дані"
    assert "вигадані демонстраційні об’єкти" in (badge.get_attribute("title") or "")
    screenshot(page, "webmap-uk-demo-badge.png")
    page.evaluate("name => window.gisplatform.setLayer(name, false)", demo)
    badge.wait_for(state="hidden", timeout=10_000)
