"""The OGC API's items and item pages in headless Chromium: the small map draws the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gisplatform.registry import LayerRegistry
from tests.conftest import make_settings
from tests.webmap_helpers import (
    chromium,
    live_server,
    new_page,
    screenshot,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def root(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    from gisplatform.ogcapi.app import create_app

    with live_server(create_app(make_settings(demo_db_url), registry)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = new_page(browser, width=1280, height=1000)
    yield page
    page.context.close()


def _drawn(page: Any) -> int:
    page.wait_for_selector("#ogc-map[data-drawn]", timeout=20_000)
    return int(page.get_attribute("#ogc-map", "data-drawn"))


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_items_and_item_pages_draw_their_features(page: Any, root: str, lang: str) -> None:
    page.goto(f"{root}/ogc/collections/shelters/items?f=html&lang={lang}&limit=80")
    assert _drawn(page) == 80
    markers = page.locator("#ogc-map path.leaflet-interactive")
    assert markers.count() == 80
    scale = page.locator(".leaflet-control-scale-line").inner_text()
    assert scale.endswith("км" if lang == "uk" else "km") or scale.endswith(
        "м" if lang == "uk" else "m"
    )
    screenshot(page, f"pages-shelters-items-{lang}.png")
    page.locator("table.features a").nth(2).click()
    page.wait_for_load_state()
    assert _drawn(page) == 1
    context = page.evaluate(
        "() => JSON.parse(document.getElementById('ogc-map-data').textContent).context.length"
    )
    assert context > 0
    assert page.locator("#ogc-map path.leaflet-interactive").count() == 1 + context
    screenshot(page, f"pages-shelter-item-{lang}.png")
    assert not page.log.errors, page.log.errors
    foreign = [u for u in page.log.requests if not u.startswith(root + "/")]
    assert not foreign, foreign


def test_lines_and_polygons_draw_too(page: Any, root: str, registry: LayerRegistry) -> None:
    from gisplatform.registry import Access

    page.goto(f"{root}/ogc/?f=html&lang=uk")
    assert page.locator("h1").inner_text() == registry.hromada.name.uk
    screenshot(page, "pages-landing-uk.png")
    for family in ("line", "polygon"):
        spec = next(s for s in registry.list(Access.PUBLIC) if s.geometry.family == family)
        page.goto(f"{root}/ogc/collections/{spec.name}/items?f=html&lang=uk&limit=30")
        drawn = _drawn(page)
        assert drawn > 0, spec.name
        assert page.locator("#ogc-map path.leaflet-interactive").count() == drawn, spec.name
        screenshot(page, f"pages-{spec.name}-items-uk.png")
    assert not page.log.errors, page.log.errors
