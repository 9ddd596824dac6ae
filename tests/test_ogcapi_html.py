"""Every HTML page of the OGC API on the Romny demo data, in Ukrainian and English."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from gisplatform.registry import Access, FieldType, LayerRegistry
from tests.ogcapi_helpers import RequestRecorder, live_server

pytestmark = [pytest.mark.db]

#: what a page for people must never show
FORBIDDEN = ("<built-in", "['", "{'", "&#39;]", "[&#39;", "{&#39;", "object at 0x")
PYTHON_WORDS = re.compile(r"\b(True|False|None)\b")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CELL = re.compile(r"<(td|dd)\b[^>]*>(.*?)</\1>", re.S)
MAP_BLOCK = re.compile(r'<script type="application/json" id="ogc-map-data">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def server(demo_db_url: str, registry: LayerRegistry) -> Iterator[tuple[str, RequestRecorder]]:
    with live_server(demo_db_url, registry) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: tuple[str, RequestRecorder]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0] + "/ogc", timeout=60) as client:
        yield client


def _visible(page: str) -> str:
    """The page without its embedded map data, tags and entities: what a reader sees."""
    page = MAP_BLOCK.sub("", page)
    page = re.sub(r"<script\b.*?</script>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _html(api: httpx.Client, path: str, lang: str) -> str:
    sep = "&" if "?" in path else "?"
    response = api.get(f"{path}{sep}f=html&lang={lang}")
    assert response.status_code == 200, (path, lang, response.text[:300])
    assert response.headers["content-type"].startswith("text/html"), path
    assert response.headers["content-language"] == lang
    return response.text


def _first_id(api: httpx.Client, name: str) -> int:
    features = api.get(f"/collections/{name}/items", params={"limit": 1}).json()["features"]
    return int(features[0]["id"])


def _paths(api: httpx.Client, registry: LayerRegistry) -> list[str]:
    paths = ["/", "/conformance", "/collections"]
    for spec in registry.list(Access.PUBLIC):
        base = f"/collections/{spec.name}"
        paths += [
            base,
            f"{base}/items?limit=40",
            f"{base}/items/{_first_id(api, spec.name)}",
            f"{base}/queryables",
            f"{base}/schema",
        ]
    paths += ["/collections/catalogue", "/collections/catalogue/items"]
    paths += [f"/collections/catalogue/items/{s.name}" for s in registry.list(Access.PUBLIC)]
    return paths


def _check_page(path: str, lang: str, page: str) -> None:
    for bad in FORBIDDEN:
        assert bad not in page, (path, lang, bad)
    words = PYTHON_WORDS.findall(_visible(page))
    assert not words, (path, lang, words)
    if lang == "uk":
        cells = [html.unescape(re.sub(r"<[^>]+>", "", m[1])) for m in CELL.findall(page)]
        dated = [cell for cell in cells if ISO_DATE.search(cell)]
        assert not dated, (path, dated[:3])


def test_every_page_of_every_public_layer_reads_well(
    api: httpx.Client, registry: LayerRegistry
) -> None:
    paths = _paths(api, registry)
    assert len(paths) > 60
    for lang in ("uk", "en"):
        for path in paths:
            _check_page(path, lang, _html(api, path, lang))


def test_items_page_title_and_labels(api: httpx.Client, registry: LayerRegistry) -> None:
    spec = registry.get("shelters", Access.PUBLIC)
    page = _html(api, "/collections/shelters/items?limit=80", "uk")
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title is not None
    assert html.unescape(title[1]) == f"{spec.title.uk} — Об’єкти"
    visible = _visible(page)
    enums = [f for f in spec.fields_for(Access.PUBLIC) if f.type is FieldType.ENUM]
    for field in enums:  # labels, never codes (codes may equal their label: Wi-Fi)
        for entry in field.values:
            if entry.value.casefold() not in entry.uk.casefold():
                assert f" {entry.value} " not in visible, entry.value
    assert " так " in visible and " ні " in visible
    assert re.search(r"\d{2}\.\d{2}\.\d{4}", visible)
    assert "цілодобово" in visible and "пн–пт 08:00–17:00" in visible
    assert "Mo-Fr" not in visible and "24/7" not in visible
    assert re.search(r"\b\d+\u00a0(особа|особи|осіб)\b", visible)
    english = _visible(_html(api, "/collections/shelters/items?limit=80", "en"))
    assert " yes " in english and "Mon–Fri 08:00–17:00" in english
    assert re.search(r"\b\d+\u00a0(person|people)\b", english)
    assert re.search(r"\d{1,2} [A-Z][a-z]{2} \d{4}", english)


def test_item_page_has_a_local_map_of_its_feature(
    api: httpx.Client, server: tuple[str, RequestRecorder]
) -> None:
    fid = _first_id(api, "shelters")
    page = _html(api, f"/collections/shelters/items/{fid}", "uk")
    assert 'id="ogc-map"' in page
    block = MAP_BLOCK.search(page)
    assert block is not None
    data = json.loads(block[1])
    (feature,) = data["features"]
    assert feature["geometry"]["type"] == "Point"
    lon, lat = feature["geometry"]["coordinates"]
    assert 33 < lon < 34 and 50 < lat < 51
    assert data["scale"] == ["м", "км"]
    assert data["outline"]["type"] in ("LineString", "MultiLineString")
    context = data["context"]
    assert 0 < len(context) <= 30
    own = f"/items/{fid}?"
    assert not [c for c in context if own in c["properties"]["url"]]  # neighbours, not itself
    root = server[0]
    assets = re.findall(r'<script\b[^>]*src="([^"]+)"', page)
    assets += re.findall(r'<link rel="(?:stylesheet|icon)" href="([^"]+)"', page)
    assert any(a.endswith("/static/vendor/leaflet/leaflet.js") for a in assets)
    assert any(a.endswith("/ogc/static/ogc-map.js") for a in assets)
    assets.remove("data:,")  # the empty favicon: no request at all
    for asset in assets:
        assert asset.startswith(root + "/"), asset
        assert httpx.get(asset).status_code == 200, asset
    assert "cdn" not in page.lower() and "unpkg" not in page


def test_items_page_map_holds_every_feature_of_the_page(api: httpx.Client) -> None:
    page = _html(api, "/collections/shelters/items?limit=25", "en")
    block = MAP_BLOCK.search(page)
    assert block is not None
    features = json.loads(block[1])["features"]
    assert len(features) == 25
    assert all(f["properties"]["url"].startswith("http") for f in features)
    assert all(f["properties"].get("color", "").startswith("#") for f in features)
    other_crs = "http://www.opengis.net/def/crs/EPSG/0/3857"
    projected = _html(api, f"/collections/shelters/items?limit=5&crs={other_crs}", "uk")
    assert 'id="ogc-map"' not in projected  # the map draws lon/lat only


def test_html_pages_are_capped_with_a_next_link(api: httpx.Client) -> None:
    page = _html(api, "/collections/buildings/items?limit=5000", "uk")
    rows = page.count('<tr><td><a href="')
    assert rows == 1000
    assert "не більше 1\u00a0000 об’єктів" in html.unescape(page)
    following = re.search(r'<a href="([^"]+)" rel="next">', page)
    assert following is not None
    query = parse_qs(urlsplit(html.unescape(following[1])).query)
    assert query["offset"] == ["1000"] and query["limit"] == ["1000"] and query["f"] == ["html"]
    json_page = api.get("/collections/buildings/items", params={"limit": 1500}).json()
    assert json_page["numberReturned"] == 1500  # the cap is for HTML only


def test_landing_page_names_the_hromada_and_links_every_part(
    api: httpx.Client, registry: LayerRegistry, server: tuple[str, RequestRecorder]
) -> None:
    for lang in ("uk", "en"):
        page = _html(api, "/", lang)
        assert f"<h1>{html.escape(registry.hromada.name.get(lang))}</h1>" in page
        links = {html.unescape(h) for h in re.findall(r'<a [^>]*href="([^"]+)"', page)}
        paths = {urlsplit(h).path for h in links}
        root = "/ogc"
        for needed in ("/collections", "/tiles", "/processes", "/collections/catalogue"):
            assert root + needed in paths, needed
        assert {root + "/conformance", root + "/api", "/"} <= paths
        for link in links:
            url = urljoin(server[0] + "/ogc/", link)
            assert httpx.get(url, timeout=60).status_code == 200, link
    uk = _visible(_html(api, "/", "uk"))
    assert "Ця сторінка у форматі JSON" in uk and "Цією сторінкою" not in uk


def test_schema_pages_speak_the_page_language(api: httpx.Client) -> None:
    schema = _visible(_html(api, "/collections/shelters/schema", "uk"))
    assert "Схема" in schema and "schema" not in schema.replace("/schema", "")
    assert "ціле число" in schema and "готове, обмежено готове, не готове" in schema
    queryables = _visible(_html(api, "/collections/shelters/queryables", "uk"))
    assert "Поля для фільтрів" in queryables and "queryables" not in queryables


def test_html_pages_render_off_the_event_loop(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every template is rendered in a worker thread: there is no running event loop there."""
    import asyncio

    from gisplatform.ogcapi import featurepages
    from gisplatform.ogcapi import html as html_module

    seen: list[tuple[str, bool]] = []
    original = html_module.render

    def watched(request: object, template: str, *args: object, **kwargs: object) -> object:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        seen.append((template, on_loop))
        return original(request, template, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(html_module, "render", watched)
    monkeypatch.setattr(featurepages, "render", watched)
    fid = _first_id(api, "shelters")
    for path in (
        "/",
        "/collections",
        "/collections/shelters",
        "/collections/shelters/items",
        f"/collections/shelters/items/{fid}",
        "/collections/shelters/schema",
        "/collections/catalogue/items",
    ):
        _html(api, path, "uk")
    assert len(seen) == 7
    assert not [template for template, on_loop in seen if on_loop], seen
