"""OGC API - Records: the catalogue of public layers, through HTTP against a real PostGIS."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from gisplatform.ogcapi.records import RECORDS_CONFORMANCE
from gisplatform.registry import Access, LayerRegistry
from tests import tiles_helpers
from tests.test_tiles import RESTRICTED, ROMNY, _insert_shelter
from tests.tiles_helpers import asgi_client, make_app

pytestmark = [pytest.mark.db, pytest.mark.anyio]
anyio_backend = tiles_helpers.anyio_backend
client = tiles_helpers.client


async def test_catalogue_lists_every_public_layer_and_nothing_else(
    client: httpx.AsyncClient, registry: LayerRegistry
) -> None:
    collection = (await client.get("/ogc/collections/catalogue")).json()
    assert collection["itemType"] == "record" and collection["extent"]["spatial"]["bbox"]
    items = await client.get("/ogc/collections/catalogue/items")
    assert items.headers["content-type"] == "application/geo+json"
    ids = [f["id"] for f in items.json()["features"]]
    # every public layer, then the collections that are not layers (residents' reports)
    assert ids == [*(s.name for s in registry.list(Access.PUBLIC)), "reports"]
    assert not set(ids) & set(RESTRICTED)
    missing = await client.get("/ogc/collections/catalogue/items/no_such_layer")
    for name in RESTRICTED:
        hidden = await client.get(f"/ogc/collections/catalogue/items/{name}")
        assert hidden.status_code == 404 and hidden.json() == missing.json()
    assert any(c.endswith("/record-core") for c in RECORDS_CONFORMANCE)


async def test_a_record_describes_its_layer(client: httpx.AsyncClient) -> None:
    record = (await client.get("/ogc/collections/catalogue/items/shelters")).json()
    props = record["properties"]
    assert record["type"] == "Feature" and record["geometry"]["type"] == "Polygon"
    assert props["type"] == "dataset" and props["title"].startswith("Укриття")
    assert props["featureCount"] == 80 and props["updated"]
    assert props["license"] == "CC-BY-4.0" and props["contacts"][0]["organization"]
    assert props["themes"][0]["concepts"][0]["id"] == "safety"
    rels = {link["rel"] for link in record["links"]}
    assert {"self", "collection", "items", "describes"} <= rels
    english = (await client.get("/ogc/collections/catalogue/items/shelters?lang=en")).json()
    assert english["properties"]["title"].startswith("Shelters")
    assert "civil protection" in english["properties"]["keywords"]


async def test_search_by_text_bbox_and_limit(client: httpx.AsyncClient) -> None:
    found = (await client.get("/ogc/collections/catalogue/items", params={"q": "укриття"})).json()
    assert "shelters" in [f["id"] for f in found["features"]]
    assert "streets" not in [f["id"] for f in found["features"]]
    either = await client.get("/ogc/collections/catalogue/items", params={"q": "shelters,street"})
    assert {"shelters", "streets"} <= {f["id"] for f in either.json()["features"]}
    bbox = f"{ROMNY[0] - 0.01},{ROMNY[1] - 0.01},{ROMNY[0] + 0.01},{ROMNY[1] + 0.01}"
    near = (await client.get("/ogc/collections/catalogue/items", params={"bbox": bbox})).json()
    assert "buildings" in {f["id"] for f in near["features"]}
    far = (await client.get("/ogc/collections/catalogue/items", params={"bbox": "0,0,1,1"})).json()
    assert far["numberMatched"] == 0
    page = (await client.get("/ogc/collections/catalogue/items", params={"limit": 2})).json()
    assert page["numberReturned"] == 2 and any(link["rel"] == "next" for link in page["links"])
    for bad in ({"bbox": "1,2,3"}, {"limit": "-1"}, {"colour": "red"}):
        response = await client.get("/ogc/collections/catalogue/items", params=bad)
        assert response.status_code == 400, bad


async def test_record_follows_edits_to_the_layer(clean_db: str, registry: LayerRegistry) -> None:
    app = make_app(clean_db, registry)
    url = "/ogc/collections/catalogue/items/shelters"
    async with asgi_client(app) as http:
        with psycopg.connect(clean_db, autocommit=True) as conn:
            _insert_shelter(conn, "R-1", *ROMNY)
        first = (await http.get(url)).json()
        assert first["properties"]["featureCount"] == 1
        with psycopg.connect(clean_db, autocommit=True) as conn:
            _insert_shelter(conn, "R-2", ROMNY[0] + 0.05, ROMNY[1] + 0.05)
        second = (await http.get(url)).json()
    assert second["properties"]["featureCount"] == 2
    assert second["properties"]["updated"] > first["properties"]["updated"]
    ring = second["geometry"]["coordinates"][0]
    assert max(p[0] for p in ring) == pytest.approx(ROMNY[0] + 0.05)
