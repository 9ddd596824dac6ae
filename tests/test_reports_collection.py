"""The public reports as the OGC API collection ``reports``: moderated, anonymised, and read
by real clients (GDAL's OAPIF driver, OWSLib) like any layer."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from gisplatform.registry import LayerRegistry
from tests.ogcapi_helpers import live_server
from tests.reports_helpers import Published, publish_reports, remove_reports, with_demo_reports

GEOJSON = "application/geo+json"
#: what the public must never read of a report (columns of reports.requests)
PRIVATE = ("token", "contact", "client_hash", "description")


@pytest.fixture(scope="module")
def published(demo_db_url: str, registry: LayerRegistry) -> Iterator[Published]:
    with_demo_reports(demo_db_url, registry)  # other modules empty the reports tables
    made = publish_reports(demo_db_url, contact="collection-test-contact")
    try:
        yield made
    finally:
        remove_reports(demo_db_url, made.all_ids)


@pytest.fixture(scope="module")
def root(demo_db_url: str, registry: LayerRegistry, published: Published) -> Iterator[str]:
    with live_server(demo_db_url, registry) as (url, _):
        yield url


def _public_count(url: str, where: str = "TRUE", params: list[Any] | None = None) -> int:
    """The oracle: moderated reports, counted in SQL by the owner."""
    with psycopg.connect(url) as conn:
        query = sql.SQL(  # a hand-written test oracle
            "SELECT count(*) FROM reports.requests WHERE status <> 'unconfirmed' AND "
        ) + sql.SQL(where)  # type: ignore[arg-type]
        row = conn.execute(query, params or []).fetchone()
    assert row is not None
    return int(row[0])


def _items(root: str, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{root}/ogc/collections/reports/items", params=params, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(GEOJSON)
    body: dict[str, Any] = response.json()
    return body


def test_listed_in_collections_and_catalogue(root: str) -> None:
    listing = httpx.get(f"{root}/ogc/collections?f=json", timeout=60).json()
    entry = next(c for c in listing["collections"] if c["id"] == "reports")
    rels = {one["rel"] for one in entry["links"]}
    assert {"items", "http://www.opengis.net/def/rel/ogc/1.0/queryables"} <= rels
    assert not any("/tiles" in one["href"] for one in entry["links"])  # no tiles: not a layer
    assert entry["extent"]["spatial"]["bbox"][0][0] > 33  # the hromada's longitude
    record = httpx.get(f"{root}/ogc/collections/catalogue/items/reports", timeout=60)
    assert record.status_code == 200
    assert record.json()["properties"]["featureCount"] == len(
        httpx.get(f"{root}/ogc/collections/reports/items?limit=1000", timeout=60).json()["features"]
    )
    records = httpx.get(f"{root}/ogc/collections/catalogue/items?q=reports", timeout=60).json()
    assert "reports" in {one["id"] for one in records["features"]}
    for lang, title in (("uk", "Повідомлення мешканців"), ("en", "Residents' reports")):
        page = httpx.get(f"{root}/ogc/collections/reports?f=html&lang={lang}", timeout=60)
        assert page.status_code == 200 and title in page.text.replace("&#39;", "'")


def test_items_are_moderated_and_anonymised(
    root: str, demo_db_url: str, published: Published
) -> None:
    body = _items(root, limit=1000)
    ids = {f["id"] for f in body["features"]}
    assert body["numberMatched"] == _public_count(demo_db_url) == len(ids)
    assert set(published.public_ids) <= ids
    assert not ids & set(published.unconfirmed_ids)
    demo = {f["id"] for f in body["features"] if f.get("demo")}
    assert demo and not demo & set(published.public_ids)  # the demo's reports say so
    for feature in body["features"]:
        assert not set(PRIVATE) & set(feature["properties"])
        assert feature["geometry"]["type"] == "Point"
    locked = next(f for f in body["features"] if f["id"] == published.locked_id)
    props = locked["properties"]
    assert props["kind"] == "shelter_problem"
    assert props["kind_title_uk"] == "Проблема з укриттям"
    assert props["kind_title_en"] == "Problem with a shelter"
    assert props["answers"] == ["problem=locked"]
    assert props["answers_uk"] == "Що сталося? Зачинено"
    assert props["answers_en"] == "What is wrong? Locked"
    assert props["layer"] == "shelters" and props["feature_id"] == str(published.shelter_fid)
    unfit = next(f for f in body["features"] if f["id"] == published.unfit_id)["properties"]
    assert unfit["answers"] == [
        "problem=unfit",
        "unfit_reasons=flooded",
        "unfit_reasons=no_water",
    ]
    assert unfit["answers_en"] == "What is wrong? Unfit for use; Why is it unfit? No water, Flooded"
    rejected = next(f for f in body["features"] if f["id"] == published.rejected_id)["properties"]
    assert rejected["status"] == "rejected" and rejected["status_reason"]
    assert rejected["answers"] == [] and rejected["layer"] is None


def test_filters_bbox_and_paging(root: str, demo_db_url: str, published: Published) -> None:
    kinds = _items(root, kind="street_light_out", limit=1000)
    assert kinds["numberMatched"] == _public_count(demo_db_url, "kind = 'street_light_out'")
    assert kinds["numberMatched"] >= 1
    lon, lat = published.locked_point
    box = f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}"
    boxed = _items(root, bbox=box, limit=1000)
    expected = _public_count(
        demo_db_url,
        "ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
        [lon - 0.0005, lat - 0.0005, lon + 0.0005, lat + 0.0005],
    )
    assert boxed["numberMatched"] == expected >= 1
    assert published.locked_id in {f["id"] for f in boxed["features"]}
    cql = _items(root, filter="status = 'open' AND kind = 'shelter_problem'", limit=1000)
    assert cql["numberMatched"] == _public_count(
        demo_db_url, "status = 'open' AND kind = 'shelter_problem'"
    )
    seen: list[int] = []
    page = _items(root, limit=2)
    while True:
        assert page["numberReturned"] <= 2
        seen += [f["id"] for f in page["features"]]
        following = [one["href"] for one in page["links"] if one["rel"] == "next"]
        if not following:
            break
        page = httpx.get(following[0], timeout=60).json()
    assert len(seen) == len(set(seen)) == _public_count(demo_db_url)
    bad = httpx.get(f"{root}/ogc/collections/reports/items?status=nonsense&lang=uk", timeout=60)
    assert bad.status_code == 200 and bad.json()["numberMatched"] == 0
    wrong = httpx.get(f"{root}/ogc/collections/reports/items?contact=x&lang=uk", timeout=60)
    assert wrong.status_code == 400 and "contact" in wrong.text


def test_single_report_and_queryables(root: str, published: Published) -> None:
    one = httpx.get(f"{root}/ogc/collections/reports/items/{published.locked_id}", timeout=60)
    assert one.status_code == 200 and one.headers["content-type"].startswith(GEOJSON)
    feature = one.json()
    related = [x["href"] for x in feature["links"] if x["rel"] == "related"]
    assert related == [f"{root}/ogc/collections/shelters/items/{published.shelter_fid}"]
    assert httpx.get(related[0], timeout=60).status_code == 200
    hidden = published.unconfirmed_ids[0]
    assert httpx.get(f"{root}/ogc/collections/reports/items/{hidden}").status_code == 404
    page = httpx.get(
        f"{root}/ogc/collections/reports/items/{published.locked_id}?f=html&lang=uk", timeout=60
    )
    assert page.status_code == 200 and "Зачинено" in page.text and "Підтверджено" in page.text
    items = httpx.get(f"{root}/ogc/collections/reports/items?f=html&lang=en", timeout=60)
    assert items.status_code == 200 and "Problem with a shelter" in items.text
    queryables = httpx.get(f"{root}/ogc/collections/reports/queryables", timeout=60).json()
    kinds = {v["const"]: v["title"] for v in queryables["properties"]["kind"]["oneOf"]}
    assert kinds["shelter_problem"] == "Проблема з укриттям"
    assert "unconfirmed" not in queryables["properties"]["status"]["enum"]
    assert queryables["properties"]["reported_at"]["format"] == "date-time"
    assert not set(PRIVATE) & set(queryables["properties"])
    schema = httpx.get(f"{root}/ogc/collections/reports/schema?f=html&lang=en", timeout=60)
    assert schema.status_code == 200 and "Kind of report" in schema.text


def _ogrinfo(*args: str) -> str:
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "gdal-bin (ogrinfo) is required"
    done = subprocess.run(
        [ogrinfo, "-ro", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def test_gdal_reads_the_collection(root: str, demo_db_url: str) -> None:
    source = f"OAPIF:{root}/ogc"
    assert "reports" in _ogrinfo("-q", source).split()
    summary = _ogrinfo("-so", source, "reports")
    assert f"Feature Count: {_public_count(demo_db_url)}" in summary
    assert "kind_title_uk" in summary and "contact" not in summary
    where = _ogrinfo("-q", source, "reports", "-where", "kind = 'street_light_out'")
    assert where.count("OGRFeature(reports)") == _public_count(
        demo_db_url, "kind = 'street_light_out'"
    )


def test_owslib_reads_the_collection(root: str, demo_db_url: str, published: Published) -> None:
    from owslib.ogcapi.features import Features

    api = Features(f"{root}/ogc")
    assert "reports" in {c["id"] for c in api.collections()["collections"]}
    assert "status" in api.collection_queryables("reports")["properties"]
    lon, lat = published.locked_point
    boxed = api.collection_items(
        "reports", bbox=[lon - 0.0005, lat - 0.0005, lon + 0.0005, lat + 0.0005], limit=100
    )
    assert published.locked_id in {f["id"] for f in boxed["features"]}
    everything = api.collection_items("reports", limit=1000)
    assert everything["numberMatched"] == _public_count(demo_db_url)


def test_withdrawn_shelters_take_their_reports_with_them(
    root: str, demo_db_url: str, registry: LayerRegistry, published: Published
) -> None:
    """The publication kill switch: a report's point would tell where a withdrawn shelter is."""
    import time

    from gisplatform.access.publication.store import Publication, Target

    def listed() -> set[int]:
        """Every public report's id, page by page (the demo's too)."""
        ids: set[int] = set()
        for offset in range(0, 100_000, 100):
            page = _items(root, limit=100, offset=offset)["features"]
            ids |= {f["id"] for f in page}
            if len(page) < 100:
                return ids
        raise AssertionError("more than 100,000 reports")

    assert published.locked_id in listed()
    with psycopg.connect(demo_db_url, autocommit=True) as conn:
        publication = Publication(conn, registry)
        publication.withdraw(Target("shelters"), "розпорядження (test)", "tester")
        try:
            deadline = time.monotonic() + 30
            while published.locked_id in listed():
                assert time.monotonic() < deadline, "still listed 30 s after the withdrawal"
                time.sleep(0.2)
            shown = _items(root, limit=1000)["features"]
            assert not [f for f in shown if f["properties"].get("layer") == "shelters"]
            assert published.public_ids[2] in {f["id"] for f in shown}  # a street light's
        finally:
            publication.restore([w.id for w in publication.listing()], "test over")
    # back as soon as the server has seen the restore (it polls the publication state)
    deadline = time.monotonic() + 30
    while published.locked_id not in listed():
        assert time.monotonic() < deadline, "still hidden 30 s after the restore"
        time.sleep(0.2)
