"""Demo features say so wherever they are served: GeoJSON, vector tiles and HTML pages.

The demo database holds invented shelters (``is_demo``) beside real register points
(``hydro_and_protected``), so both kinds are checked on the same server.
"""

from __future__ import annotations

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from psycopg import sql

from gisplatform.ogcapi.tilequeries import DEMO_ATTRIBUTE
from tests.tiles_helpers import anyio_backend, client

__all__ = ["anyio_backend", "client"]

pytestmark = [pytest.mark.db, pytest.mark.anyio]

MERCATOR = morecantile.tms.get("WebMercatorQuad")
DEMO_LAYER = "shelters"
REAL_LAYER = "hydro_and_protected"


def _first(url: str, layer: str) -> tuple[int, float, float, bool]:
    """fid, a point on the feature (lon, lat) and its demo flag, read from the table."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT fid, ST_X(p), ST_Y(p), is_demo FROM (SELECT fid, is_demo, "
                "ST_PointOnSurface(geom) AS p FROM {} ORDER BY fid LIMIT 1) AS s"
            ).format(sql.Identifier("gis", layer))
        ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), float(row[2]), bool(row[3])


async def test_geojson_marks_demo_features_only(client: httpx.AsyncClient) -> None:
    demo = (await client.get(f"/ogc/collections/{DEMO_LAYER}/items?limit=1000")).json()
    real = (await client.get(f"/ogc/collections/{REAL_LAYER}/items?limit=1000")).json()
    assert demo["features"] and all(f["demo"] is True for f in demo["features"])
    assert real["features"] and not any("demo" in f for f in real["features"])


async def test_tiles_mark_demo_features_only(client: httpx.AsyncClient, demo_db_url: str) -> None:
    for layer, expected in ((DEMO_LAYER, True), (REAL_LAYER, False)):
        fid, lon, lat, is_demo = _first(demo_db_url, layer)
        assert is_demo is expected
        tile = MERCATOR.tile(lon, lat, 15)
        response = await client.get(
            f"/ogc/collections/{layer}/tiles/WebMercatorQuad/15/{tile.y}/{tile.x}"
        )
        features = {
            f["id"]: f for f in mapbox_vector_tile.decode(response.content)[layer]["features"]
        }
        assert features[fid]["properties"].get(DEMO_ATTRIBUTE, False) is expected, layer


async def test_html_pages_say_demo_data_in_both_languages(
    client: httpx.AsyncClient, demo_db_url: str
) -> None:
    fid, *_ = _first(demo_db_url, DEMO_LAYER)
    uk = await client.get(f"/ogc/collections/{DEMO_LAYER}/items/{fid}?f=html&lang=uk")
    en = await client.get(f"/ogc/collections/{DEMO_LAYER}/items/{fid}?f=html&lang=en")
    assert "Демо-дані: цей об’єкт вигаданий" in uk.text
    assert "Demo data: this feature is invented" in en.text
    page = await client.get(f"/ogc/collections/{DEMO_LAYER}/items?f=html&lang=uk&limit=5")
    assert "Демо-дані: вигадані об’єкти на цій сторінці — 5" in page.text
    real, *_ = _first(demo_db_url, REAL_LAYER)
    for path in (f"{REAL_LAYER}/items/{real}?f=html", f"{REAL_LAYER}/items?f=html"):
        response = await client.get(f"/ogc/collections/{path}&lang=uk")
        assert response.status_code == 200 and "Демо-дані" not in response.text, path
