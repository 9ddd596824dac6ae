"""OGC API Features over HTTP against the Romny demo data: core, CRS, access, errors, ops."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg import sql
from pyproj import Transformer

from gisplatform.ogcapi import queries
from gisplatform.registry import Access, LayerRegistry
from tests.ogcapi_helpers import RESTRICTED_LAYERS, RequestRecorder, live_server


@pytest.fixture(scope="module")
def server(demo_db_url: str, registry: LayerRegistry) -> Iterator[tuple[str, RequestRecorder]]:
    with live_server(demo_db_url, registry) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: tuple[str, RequestRecorder]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[0] + "/ogc", timeout=30) as client:
        yield client


def _rows(url: str, query: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_landing_conformance_and_openapi(api: httpx.Client) -> None:
    landing = api.get("/").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    assert all("type" in link for link in landing["links"])
    assert api.get("", follow_redirects=False).status_code == 200
    classes = api.get("/conformance").json()["conformsTo"]
    for needed in (
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/basic-cql2",
        "ogcapi-features-2/1.0/conf/crs",
        "ogcapi-features-3/1.0/conf/queryables",
    ):
        assert any(c.endswith(needed) for c in classes), needed
    doc = api.get("/api").json()
    assert doc["openapi"].startswith("3.")
    refs = re.findall(r'"\$ref": ?"([^"]*)"', httpx.Response(200, json=doc).text)
    assert refs and all(ref.startswith("#/") for ref in refs)  # self-contained


def test_collections_list_only_public_layers(
    api: httpx.Client, registry: LayerRegistry, demo_db_url: str
) -> None:
    body = api.get("/collections").json()
    ids = {c["id"] for c in body["collections"]} - {"catalogue", "reports"}
    assert ids == {spec.name for spec in registry.list(Access.PUBLIC)}
    shelters = api.get("/collections/shelters").json()
    assert shelters["storageCrs"].endswith("CRS84")
    assert "http://www.opengis.net/def/crs/EPSG/0/5564" in shelters["crs"]
    xmin, ymin, xmax, ymax = shelters["extent"]["spatial"]["bbox"][0]
    ((low, _high),) = _rows(
        demo_db_url,
        "SELECT min(readiness_checked_at)::text, "
        "max(readiness_checked_at)::text FROM api_public.shelters",
    )
    assert shelters["extent"]["temporal"]["interval"][0][0].startswith(str(low))
    assert 33 < xmin < xmax < 34 and 50 < ymin < ymax < 51
    english = api.get("/collections/shelters", headers={"Accept-Language": "en"})
    assert english.headers["content-language"] == "en"
    assert english.json()["title"].startswith("Shelters")
    assert api.get("/collections/shelters").json()["title"].startswith("Укриття")


def test_items_paging_and_counts(api: httpx.Client, demo_db_url: str) -> None:
    ((total,),) = _rows(demo_db_url, "SELECT count(*) FROM api_public.street_lights")
    page = api.get("/collections/street_lights/items", params={"limit": 5, "offset": 5})
    assert page.headers["content-type"].startswith("application/geo+json")
    body = page.json()
    assert body["numberMatched"] == total and body["numberReturned"] == 5
    assert [f["id"] for f in body["features"]] == list(range(6, 11))
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "next", "prev", "alternate"} <= rels
    big = api.get(
        "/collections/street_lights/items", params={"limit": 20000, "skipGeometry": "true"}
    )
    assert big.json()["numberReturned"] == min(total, 10000)
    assert all(f["geometry"] is None for f in big.json()["features"][:10])
    deep = api.get("/collections/street_lights/items", params={"offset": 10**9}).json()
    assert deep["numberReturned"] == 0 and not any(x["rel"] == "next" for x in deep["links"])


def test_next_links_need_a_row_beyond_the_page(api: httpx.Client, demo_db_url: str) -> None:
    """A page ending exactly at the last feature has no ``next`` (it asks for limit + 1)."""
    ((total,),) = _rows(demo_db_url, "SELECT count(*) FROM api_public.street_lights")
    whole = api.get("/collections/street_lights/items", params={"limit": total}).json()
    assert whole["numberReturned"] == whole["numberMatched"] == total
    assert not any(x["rel"] == "next" for x in whole["links"])
    last = api.get(
        "/collections/street_lights/items", params={"limit": 3, "offset": total - 3}
    ).json()
    assert last["numberReturned"] == 3 and last["numberMatched"] == total
    assert not any(x["rel"] == "next" for x in last["links"])
    one_short = api.get("/collections/street_lights/items", params={"limit": total - 1}).json()
    assert any(x["rel"] == "next" for x in one_short["links"])


def test_uncounted_filters_leave_number_matched_out(
    api: httpx.Client, demo_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the count cap a filtered page has no numberMatched (JSON) and says "more than"
    the features up to the next page (HTML); the last page still counts exactly."""
    monkeypatch.setattr(queries, "COUNT_CAP", 3)  # the server runs in this process
    ((ready,),) = _rows(
        demo_db_url, "SELECT count(*) FROM api_public.shelters WHERE readiness = 'ready'"
    )
    assert ready > 10
    params = {"filter": "readiness = 'ready'", "limit": 5}
    body = api.get("/collections/shelters/items", params=params).json()
    assert "numberMatched" not in body and body["numberReturned"] == 5
    assert any(x["rel"] == "next" for x in body["links"])
    tail = api.get("/collections/shelters/items", params={**params, "offset": ready - 2}).json()
    assert tail["numberMatched"] == ready and tail["numberReturned"] == 2
    for lang, words in (("uk", "понад 5"), ("en", "more than 5")):
        page = api.get("/collections/shelters/items", params={**params, "f": "html", "lang": lang})
        assert page.status_code == 200 and words in page.text, lang


def test_items_properties_sortby_datetime_queryables(api: httpx.Client, demo_db_url: str) -> None:
    body = api.get(
        "/collections/shelters/items",
        params={
            "properties": "name,capacity_persons",
            "sortby": "-capacity_persons,name",
            "limit": 80,
        },
    ).json()
    caps = [f["properties"]["capacity_persons"] for f in body["features"]]
    assert caps == sorted(caps, reverse=True)
    assert set(body["features"][0]["properties"]) == {"name", "capacity_persons"}
    ((ready,),) = _rows(
        demo_db_url, "SELECT count(*) FROM api_public.shelters WHERE readiness='ready'"
    )
    whole = {"limit": 1000}  # one page: its numberMatched is exact (offset + returned)
    assert (
        api.get("/collections/shelters/items", params={"readiness": "ready", **whole}).json()[
            "numberMatched"
        ]
        == ready
    )
    ((since,),) = _rows(
        demo_db_url,
        "SELECT count(*) FROM api_public.shelters WHERE readiness_checked_at >= '2025-06-01'",
    )
    for value in ("2025-06-01T00:00:00Z/..", "2025-06-01/.."):
        got = api.get("/collections/shelters/items", params={"datetime": value, **whole}).json()
        assert got["numberMatched"] == since
    ((day, n),) = _rows(
        demo_db_url,
        "SELECT readiness_checked_at::text, count(*) FROM "
        "api_public.shelters GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    )
    got = api.get(
        "/collections/shelters/items", params={"datetime": f"{day}T12:00:00Z", **whole}
    ).json()
    assert got["numberMatched"] == n


@pytest.mark.parametrize(("epsg", "north_first"), [(4326, True), (3857, False), (5564, True)])
def test_crs_axis_order_and_bbox_crs(
    api: httpx.Client, demo_db_url: str, epsg: int, north_first: bool
) -> None:
    uri = f"http://www.opengis.net/def/crs/EPSG/0/{epsg}"
    stored = dict(
        _rows(demo_db_url, "SELECT fid, ARRAY[ST_X(geom), ST_Y(geom)] FROM api_public.shelters")
    )
    to_crs = Transformer.from_crs("OGC:CRS84", f"EPSG:{epsg}")  # authority axis order
    resp = api.get("/collections/shelters/items", params={"crs": uri, "limit": 100})
    assert resp.headers["content-crs"] == f"<{uri}>"
    projected = {}
    for feature in resp.json()["features"]:
        lon, lat = stored[feature["id"]]
        expected = to_crs.transform(lon, lat)
        projected[feature["id"]] = expected
        tolerance = 1e-8 if epsg == 4326 else 1e-3
        assert feature["geometry"]["coordinates"] == pytest.approx(list(expected), abs=tolerance)
    first = [v[0] for v in projected.values()]
    second = [v[1] for v in projected.values()]
    box = [
        min(first) + (max(first) - min(first)) * 0.3,
        min(second) + (max(second) - min(second)) * 0.3,
        max(first) - (max(first) - min(first)) * 0.3,
        max(second) - (max(second) - min(second)) * 0.3,
    ]
    inside = {
        fid for fid, (a, b) in projected.items() if box[0] <= a <= box[2] and box[1] <= b <= box[3]
    }
    got = api.get(
        "/collections/shelters/items",
        params={
            "bbox": ",".join(map(str, box)),
            "bbox-crs": uri,
            "limit": 100,
            "skipGeometry": "true",
        },
    ).json()
    assert inside and {f["id"] for f in got["features"]} == inside


def test_item_by_id_and_errors(api: httpx.Client) -> None:
    one = api.get("/collections/shelters/items/3")
    assert one.status_code == 200 and one.json()["id"] == 3
    feature = one.json()
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    links = {link["rel"]: link for link in feature["links"]}
    assert links["self"]["href"].endswith("/collections/shelters/items/3?f=json")
    assert {"alternate", "collection"} <= links.keys()
    assert one.headers["content-type"].startswith("application/geo+json")
    for path in (
        "/collections/shelters/items/abc",
        "/collections/shelters/items/99999999",
        "/collections/shelters/items/1e3",
        "/collections/nope/items",
    ):
        assert api.get(path).status_code == 404, path
    bad = {
        "foo": "1",
        "bbox": "1,2,3",
        "limit": "x",
        "offset": "-1",
        "crs": "EPSG:1234",
        "filter": "name = = 'x'",
        "sortby": "registry_no",
        "properties": "key_holder_phone",
        "datetime": "yesterday",
        "skipGeometry": "maybe",
        "filter-lang": "sql",
    }
    for name, value in bad.items():
        resp = api.get("/collections/shelters/items", params={name: value})
        assert resp.status_code == 400, (name, resp.text)
        assert name in resp.json()["description"] or name == "filter-lang"
    assert "X-Request-ID" in resp.headers


def test_no_restricted_layer_or_field_leaks(api: httpx.Client, registry: LayerRegistry) -> None:
    public_names = {
        f.name for s in registry.list(Access.PUBLIC) for f in s.fields_for(Access.PUBLIC)
    }
    hidden = {
        f.name for s in registry for f in s.fields if s.field_access(f) is not Access.PUBLIC
    } - public_names
    assert {"key_holder_phone", "backup_power_kw", "registry_no"} <= hidden
    bodies = [
        api.get(p).text
        for p in ("/", "/collections", "/api", "/conformance", "/?f=html", "/collections?f=html")
    ]
    for spec in registry.list(Access.PUBLIC):
        base = f"/collections/{spec.name}"
        for path in (
            base,
            f"{base}/items?limit=3",
            f"{base}/items/1",
            f"{base}/schema",
            f"{base}/queryables",
            f"{base}/items?f=html&limit=3",
            f"{base}?f=html",
            f"{base}/items/1?f=html",
        ):
            bodies.append(api.get(path).text)
    for name in RESTRICTED_LAYERS:
        bodies.append(api.get(f"/collections/{name}/items").text)
        bodies.append(api.get(f"/collections/{name}").text)
    text = "\n".join(bodies)
    for layer in RESTRICTED_LAYERS:
        assert layer not in text, layer
    for field in hidden:  # as a JSON key/value or an HTML cell, not as an ordinary word
        for form in (f'"{field}"', f">{field}<", f"{field}="):
            assert form not in text, form


def test_html_ukrainian_first_and_ops(
    api: httpx.Client, server: tuple[str, RequestRecorder]
) -> None:
    page = api.get("/collections/shelters/items", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "Укриття" in page.text
    assert "cdn" not in page.text.lower() and "unpkg" not in page.text
    english = api.get("/collections/shelters", params={"f": "html", "lang": "en"})
    assert "Shelters" in english.text
    root = server[0]
    assert httpx.get(f"{root}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{root}/readyz").status_code == 200
    metrics = httpx.get(f"{root}/metrics").text
    assert "gisplatform_http_requests_total" in metrics
    assert httpx.get(f"{root}/ogc/static/ogc.css").status_code == 200


def test_server_reads_through_public_role(demo_db_url: str) -> None:
    with psycopg.connect(demo_db_url) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier("gisplatform_public")))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM gis.shelters")
