"""The web map on a phone (390×844, touch) in headless Chromium, and its wording and numbers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gisplatform.registry import LayerRegistry
from tests.test_webmap_browser import (  # noqa: F401  (module fixtures)
    base_url,
    browser,
    unsafe_listed,
)
from tests.webmap_helpers import PageLog, screenshot, stats, wait_ready

pytestmark = [pytest.mark.db, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
FALLBACK_UK = "Не вдалося визначити ваше місцеперебування — торкніться карти, щоб обрати точку"
#: a demo point in Romny (lat, lon): the phone's position when geolocation is granted
HERE = (50.745, 33.465)


def _phone(browser: Any, *, geolocation: bool, lang: str = "uk") -> Any:  # noqa: F811
    options: dict[str, Any] = {
        "viewport": PHONE,
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "uk-UA" if lang == "uk" else "en-GB",
    }
    if geolocation:
        options |= {
            "geolocation": {"latitude": HERE[0], "longitude": HERE[1]},
            "permissions": ["geolocation"],
        }
    context = browser.new_context(**options)
    page = context.new_page()
    page.log = PageLog(page)
    return page


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:  # noqa: F811
    """A phone page whose position is :data:`HERE` (geolocation granted)."""
    page = _phone(browser, geolocation=True)
    yield page
    page.context.close()


@pytest.fixture
def phone_denied(browser: Any) -> Iterator[Any]:  # noqa: F811
    """A phone page that was refused the position."""
    page = _phone(browser, geolocation=False)
    yield page
    page.context.close()


def _area(box: dict[str, float] | None) -> float:
    assert box is not None
    return box["width"] * box["height"]


def test_phone_opens_on_the_map_and_one_tap_lists_the_nearest_shelters(
    phone: Any,
    base_url: str,  # noqa: F811
    demo_db_url: str,
    registry: LayerRegistry,
) -> None:
    phone.goto(base_url + "/?lang=uk")
    wait_ready(phone)
    viewport = PHONE["width"] * PHONE["height"]
    assert _area(phone.locator(".folium-map").bounding_box()) >= 0.95 * viewport
    assert not phone.locator("#gp-panel").is_visible()  # the layer panel is folded away
    layers = phone.locator("#gp-layers-button")
    assert layers.is_visible()
    go = phone.locator("#gp-nearest-go")
    assert go.is_visible() and go.inner_text().strip() == "Найближче укриття"
    box = go.bounding_box()
    assert box is not None and box["height"] >= 44  # a finger-sized target
    screenshot(phone, "webmap-phone-uk-open.png")
    go.tap()
    phone.wait_for_selector("#gp-nearest-results li[data-fid]", timeout=20_000)
    assert phone.locator("#gp-nearest-method").get_attribute("data-method") == "walking"
    sheet = phone.locator("#gp-panel").bounding_box()
    assert sheet is not None and sheet["height"] <= 0.6 * PHONE["height"]  # the map stays visible
    assert not phone.locator("#gp-layers").is_visible()  # the sheet shows the shelters only
    nearest = registry.get("shelters").map.nearest
    assert nearest is not None
    fids = [int(f) for f in phone.locator("#gp-nearest-results li[data-fid]").evaluate_all(
        "items => items.map(li => li.dataset.fid)"
    )]  # fmt: skip
    assert len(fids) >= 1
    safe = {name: list(codes) for name, codes in nearest.defaults.items()}
    assert not unsafe_listed(demo_db_url, fids, safe)
    phone.wait_for_timeout(500)
    screenshot(phone, "webmap-phone-uk-nearest.png")
    # the sheet closes; the layer button opens the whole panel as a sheet over part of the map
    phone.locator(".gp-close").tap()
    assert not phone.locator("#gp-panel").is_visible()
    layers.tap()
    assert phone.locator("#gp-layers").is_visible()
    sheet = phone.locator("#gp-panel").bounding_box()
    assert sheet is not None and sheet["height"] <= 0.6 * PHONE["height"] and sheet["y"] > 300
    screenshot(phone, "webmap-phone-uk-layers.png")
    assert not phone.log.errors, phone.log.errors


def test_phone_without_a_position_says_so_and_takes_a_tap(
    phone_denied: Any,
    base_url: str,  # noqa: F811
) -> None:
    page = phone_denied
    page.goto(base_url + "/?lang=uk")
    wait_ready(page)
    page.locator("#gp-nearest-go").tap()
    toast = page.locator("#gp-toast")
    toast.wait_for(state="visible", timeout=20_000)
    page.wait_for_function(
        "text => document.getElementById('gp-toast').textContent === text", arg=FALLBACK_UK
    )
    screenshot(page, "webmap-phone-uk-denied.png")
    # the fallback: one tap on the map picks the point
    page.evaluate("([lat, lon]) => window.gisplatform.map.setView([lat, lon], 16)", list(HERE))
    page.wait_for_timeout(300)
    point = page.evaluate(
        "([lat, lon]) => window.gisplatform.map.latLngToContainerPoint([lat, lon])", list(HERE)
    )
    page.touchscreen.tap(point["x"], point["y"])
    page.wait_for_selector("#gp-nearest-results li[data-fid]", timeout=20_000)
    assert not toast.is_visible()
    assert not page.log.errors, page.log.errors


def test_desktop_in_english_lists_the_safe_shelters_in_english(
    browser: Any,  # noqa: F811
    base_url: str,  # noqa: F811
) -> None:
    context = browser.new_context(
        viewport={"width": 1400, "height": 900},
        locale="en-GB",
        geolocation={"latitude": HERE[0], "longitude": HERE[1]},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.log = PageLog(page)
    page.goto(base_url + "/?lang=en")
    wait_ready(page)
    assert page.locator("#gp-panel").is_visible()  # a desktop opens with the panel
    assert not page.locator("#gp-layers-button").is_visible()
    page.locator("#gp-nearest-go").click()
    first = page.locator("#gp-nearest-results li[data-fid]").first
    first.wait_for(timeout=20_000)
    text = first.inner_text()
    assert "Access mode: during air-raid alerts" in text or "Access mode: 24/7" in text
    assert "min on foot" in text and "Address:" in text
    only = page.locator("#gp-nearest-only").inner_text()
    assert only.startswith("Only: Readiness — ready; Access mode — 24/7, during air-raid alerts")
    assert page.evaluate("() => window.gisplatform.formatDistance(1250)") == "1.25 km"
    page.wait_for_timeout(500)
    screenshot(page, "webmap-en-desktop-nearest.png")
    assert not page.log.errors, page.log.errors
    context.close()


def test_numbers_units_hours_and_scale_in_the_page_language(
    phone: Any,
    base_url: str,  # noqa: F811
) -> None:
    phone.goto(base_url + "/?lang=uk")
    wait_ready(phone)
    check = phone.evaluate(
        """() => {
          const gp = window.gisplatform;
          const persons = gp.state.cfg.layers.flatMap((l) => l.fields)
            .find((f) => f.unit && typeof f.unit.uk === 'object');
          return {
            km: gp.formatDistance(1250), m: gp.formatDistance(850),
            one: gp.formatValue(persons, 1), few: gp.formatValue(persons, 3),
            many: gp.formatValue(persons, 5), eleven: gp.formatValue(persons, 11),
            big: gp.formatValue(persons, 1500),
            allDay: gp.formatHours('24/7'), week: gp.formatHours('Mo-Fr 08:00-17:00'),
            two: gp.formatHours('Tu,Th 09:00-13:00; Sa off'), odd: gp.formatHours('sunrise-sunset'),
            fold: gp.fold("В'юнне") === gp.fold('В’юнне')
              && gp.fold('Вʼюнне') === gp.fold('в’юнне'),
            scale: document.querySelector('.leaflet-control-scale-line').textContent,
          };
        }"""
    )
    assert check["km"] == "1,25 км" and check["m"] == "850 м"
    assert (check["one"], check["few"], check["many"], check["eleven"]) == (
        "1 особа",
        "3 особи",
        "5 осіб",
        "11 осіб",
    )
    assert check["big"].replace("\u00a0", " ") == "1 500 осіб"
    assert check["allDay"] == "цілодобово"
    assert check["week"] == "пн–пт 08:00–17:00"
    assert check["two"] == "вт, чт 09:00–13:00; сб зачинено"
    assert check["odd"] == "sunrise-sunset"  # what it cannot read is shown as written
    assert check["fold"] is True
    assert check["scale"].endswith((" м", " км")) and " m" not in check["scale"]
    assert not phone.log.errors, phone.log.errors


def test_search_treats_apostrophes_alike(
    phone: Any,
    base_url: str,  # noqa: F811
    demo_db_url: str,
) -> None:
    """Typing ' finds names written with ’ (KATOTTG) and the other way round."""
    with psycopg.connect(demo_db_url) as conn:
        row = conn.execute(
            "SELECT name_uk FROM api_public.settlements WHERE name_uk ~ '[’ʼ'']' LIMIT 1"
        ).fetchone()
    assert row is not None
    name: str = row[0]
    typed = name.replace("’", "'").replace("ʼ", "'") if "'" not in name else name.replace("'", "’")
    assert typed != name
    phone.goto(base_url + "/?lang=uk")
    wait_ready(phone)
    phone.locator("#gp-layers-button").tap()
    phone.fill("#gp-search", typed)
    phone.locator("#gp-search-results a", has_text=name).first.wait_for(timeout=15_000)
    assert stats(phone)["ready"]
    assert not phone.log.errors, phone.log.errors
