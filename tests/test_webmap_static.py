"""The web map page without a browser, and the static export opened offline in Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gisplatform.errors import LayerNotFound
from gisplatform.registry import Access, LayerRegistry
from gisplatform.webmap import export_static_map, map_config, mount_webmap
from gisplatform.webmap.i18n import LANGUAGES, STRINGS, THEMES
from tests.conftest import LAYERS_DIR
from tests.webmap_helpers import CHROMIUM, CHROMIUM_ARGS, PageLog, screenshot, stats, wait_ready

RESTRICTED = ("lighting_cabinets", "utility_facilities")


def test_config_comes_from_the_registry(registry: LayerRegistry) -> None:
    config = map_config(registry, "en")
    names = [layer["name"] for layer in config["layers"]]
    assert names == [spec.name for spec in registry.list(Access.PUBLIC)]
    assert not set(RESTRICTED) & set(names)
    shelters = next(layer for layer in config["layers"] if layer["name"] == "shelters")
    spec = registry.get("shelters")
    assert shelters["title"] == {"uk": spec.title.uk, "en": spec.title.en}
    assert shelters["minZoom"] == spec.min_zoom and shelters["categorizeBy"] == "readiness"
    assert [f["name"] for f in shelters["fields"]] == [
        f.name for f in spec.fields_for(Access.PUBLIC)
    ]
    assert {"readiness", "access_mode", "accessible", "shelter_type"} <= set(shelters["filters"])
    assert "key_holder_phone" not in str(shelters)
    readiness = next(f for f in shelters["fields"] if f["name"] == "readiness")
    assert readiness["values"][0] == {"value": "ready", "uk": "готове", "en": "ready",
                                      "color": "#1a9850"}  # fmt: skip
    assert {theme["id"] for theme in config["themes"]} <= set(THEMES)


def test_every_ui_string_has_both_languages() -> None:
    for key, texts in {**STRINGS, **THEMES}.items():
        assert set(texts) == set(LANGUAGES), key
        assert all(text.strip() for text in texts.values()), key


def test_page_references_only_local_assets(registry: LayerRegistry) -> None:
    app = FastAPI()
    mount_webmap(app, registry)
    client = TestClient(app)
    for lang in ("uk", "en", "xx"):
        response = client.get("/", params={"lang": lang})
        assert response.status_code == 200
        html = response.text
        assert f'<html lang="{"en" if lang == "en" else "uk"}">' in html
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and all(s.startswith("/static/") or s.startswith("data:") for s in sources)
        assert not re.search(r"https?://(?!www\.w3\.org)", html.split("<body>")[0])
        for source in sources:
            if source.startswith("/static/"):
                assert client.get(source).status_code == 200, source
        for name in RESTRICTED:
            assert name not in html


@pytest.mark.db
@pytest.mark.slow
def test_static_export_opens_offline(
    demo_db_url: str, registry: LayerRegistry, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with pytest.raises(LayerNotFound):
        export_static_map(demo_db_url, registry, tmp_path / "x.html", ["utility_facilities"], "uk")
    out = tmp_path / "romny.html"
    layers = ["hromada_boundary", "starosta_districts", "shelters", "streets"]
    export_static_map(demo_db_url, registry, out, layers, "uk")
    html = out.read_text(encoding="utf-8")
    markup = re.sub(r"<(script|style)>.*?</\1>", "", html, flags=re.S)
    assert "<script" not in markup.replace("<script>", "")  # no external script left
    assert not re.search(r'(?:src|href)="(?!data:|#)', markup)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        blocked: list[str] = []

        def offline(route: Any) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", offline)
        page = context.new_page()
        log = PageLog(page)
        page.goto(out.as_uri())
        wait_ready(page)
        page.evaluate("() => window.gisplatform.map.setZoom(13)")
        page.wait_for_timeout(300)
        drawn = {name: layer["drawn"] for name, layer in stats(page)["layers"].items()}
        assert set(drawn) == set(layers)
        assert all(count > 0 for count in drawn.values()), drawn
        assert drawn["shelters"] == 80
        assert page.locator(".leaflet-overlay-pane path, .leaflet-pane path").count() > 80
        screenshot(page, "webmap-static-export.png")
        # no server to route on: the nearest shelters are measured in a straight line, and say so
        page.evaluate("() => window.gisplatform.showNearest(50.745, 33.465)")
        method = page.locator("#gp-nearest-method")
        assert method.get_attribute("data-method") == "straight"
        assert method.inner_text() == STRINGS["method_static"]["uk"]
        first = page.locator("#gp-nearest-results li").first
        assert "по прямій" in first.inner_text() and first.locator(".gp-walk").count() == 0
        browser.close()
    assert not blocked, blocked
    assert not log.errors, log.errors
    assert all(url.startswith("file://") or url.startswith("data:") for url in log.requests)


@pytest.mark.db
def test_map_command_writes_the_file(demo_db_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gisplatform.cli import app

    out = tmp_path / "shelters.html"
    env = {"DATABASE_URL": demo_db_url, "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR)}
    result = CliRunner().invoke(
        app, ["map", str(out), "--layers", "shelters", "--lang", "en"], env=env
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "DEMO-SH-001" in html
