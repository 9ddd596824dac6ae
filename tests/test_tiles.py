"""OGC API - Tiles against a real PostGIS, through HTTP (ASGI) and GDAL against a live uvicorn."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import mapbox_vector_tile
import morecantile
import psycopg
import pytest
from psycopg import sql

from gisplatform.ogcapi.tilequeries import DEMO_ATTRIBUTE, TileSettings
from gisplatform.registry import Access, LayerRegistry
from tests import tiles_helpers
from tests.tiles_helpers import asgi_client, live_server, make_app

pytestmark = [pytest.mark.db, pytest.mark.anyio]
anyio_backend = tiles_helpers.anyio_backend
client = tiles_helpers.client

RESTRICTED = ("lighting_cabinets", "utility_facilities")
ROMNY = (33.4746, 50.7515)  # lon/lat of the town centre
MERCATOR = morecantile.tms.get("WebMercatorQuad")


def _tile_url(path: str, lon: float, lat: float, z: int) -> str:
    tile = MERCATOR.tile(lon, lat, z)
    return f"/ogc{path}/WebMercatorQuad/{z}/{tile.y}/{tile.x}"


def _a_shelter(url: str) -> tuple[int, str, float, float]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT fid, name, ST_X(geom), ST_Y(geom) FROM gis.shelters ORDER BY fid LIMIT 1"
        ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1]), float(row[2]), float(row[3])


def _public_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM api_public.shelters").fetchone()
    assert row is not None
    return int(row[0])


async def test_tile_matrix_sets(client: httpx.AsyncClient) -> None:
    listing = (await client.get("/ogc/tileMatrixSets")).json()
    assert {t["id"] for t in listing["tileMatrixSets"]} == {"WebMercatorQuad", "WorldCRS84Quad"}
    tms = (await client.get("/ogc/tileMatrixSets/WebMercatorQuad")).json()
    assert tms["id"] == "WebMercatorQuad" and len(tms["tileMatrices"]) == 25
    assert (await client.get("/ogc/tileMatrixSets/NoSuchQuad")).status_code == 404


async def test_tileset_metadata_carries_typed_links_and_limits(
    client: httpx.AsyncClient, registry: LayerRegistry
) -> None:
    listing = (await client.get("/ogc/collections/shelters/tiles")).json()
    assert all(link.get("type") for ts in listing["tilesets"] for link in ts["links"])
    doc = (await client.get("/ogc/collections/shelters/tiles/WebMercatorQuad")).json()
    assert doc["dataType"] == "vector" and doc["crs"].endswith("EPSG/0/3857")
    assert doc["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    rels = {link["rel"]: link for link in doc["links"]}
    assert all("type" in link for link in doc["links"])
    assert (
        rels["http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"]["type"] == "application/json"
    )
    item = rels["item"]
    assert item["type"] == "application/vnd.mapbox-vector-tile"
    assert item["href"].endswith("/collections/shelters/tiles/WebMercatorQuad/"
                                 "{tileMatrix}/{tileRow}/{tileCol}")  # fmt: skip
    limits = doc["tileMatrixSetLimits"]
    assert [lim["tileMatrix"] for lim in limits] == [str(z) for z in range(10, 23)]
    z14 = next(lim for lim in limits if lim["tileMatrix"] == "14")
    tile = MERCATOR.tile(*ROMNY, 14)
    assert z14["minTileCol"] <= tile.x <= z14["maxTileCol"]
    assert z14["minTileRow"] <= tile.y <= z14["maxTileRow"]
    public = {f.name for f in registry.get("shelters").fields_for(Access.PUBLIC)}
    assert set(doc["layers"][0]["propertiesSchema"]["properties"]) == public | {DEMO_ATTRIBUTE}
    assert "key_holder_phone" not in public


async def test_known_shelter_in_its_tile_with_public_fields_only(
    client: httpx.AsyncClient, demo_db_url: str, registry: LayerRegistry
) -> None:
    fid, name, lon, lat = _a_shelter(demo_db_url)
    response = await client.get(_tile_url("/collections/shelters/tiles", lon, lat, 16))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content)
    assert set(layers) == {"shelters"}
    found = {f["id"]: f for f in layers["shelters"]["features"]}
    assert found[fid]["properties"]["name"] == name
    public = {f.name for f in registry.get("shelters").fields_for(Access.PUBLIC)}
    for feature in layers["shelters"]["features"]:
        assert set(feature["properties"]) <= public | {DEMO_ATTRIBUTE}
        assert feature["properties"][DEMO_ATTRIBUTE] is True  # the demo shelters are invented
    # at low zoom only the label and category fields travel
    low = await client.get(_tile_url("/collections/shelters/tiles", lon, lat, 11))
    feature = mapbox_vector_tile.decode(low.content)["shelters"]["features"][0]
    assert set(feature["properties"]) <= {"name", "readiness", DEMO_ATTRIBUTE}
    # WorldCRS84Quad tiles are cut from a lon/lat envelope
    crs84 = morecantile.tms.get("WorldCRS84Quad").tile(lon, lat, 15)
    other = await client.get(
        f"/ogc/collections/shelters/tiles/WorldCRS84Quad/15/{crs84.y}/{crs84.x}"
    )
    assert fid in {
        f["id"] for f in mapbox_vector_tile.decode(other.content)["shelters"]["features"]
    }


async def test_restricted_layers_never_appear(client: httpx.AsyncClient) -> None:
    missing = await client.get("/ogc/collections/no_such_layer/tiles")
    for name in RESTRICTED:
        for suffix in (
            "",
            "/WebMercatorQuad",
            "/WebMercatorQuad/tilejson.json",
            "/WebMercatorQuad/14/5502/9715",
            "/WebMercatorQuad/xyz/metadata.json",
            "/WebMercatorQuad/xyz/14/9715/5502.pbf",
        ):
            response = await client.get(f"/ogc/collections/{name}/tiles{suffix}")
            assert response.status_code == 404
            assert response.json()["description"] == missing.json()["description"]
    tileset = (await client.get("/ogc/tiles/WebMercatorQuad")).json()
    tilejson = (await client.get("/ogc/tiles/WebMercatorQuad/tilejson.json")).json()
    names = {layer["id"] for layer in tileset["layers"]} | {
        v["id"] for v in tilejson["vector_layers"]
    }
    assert "shelters" in names and not names & set(RESTRICTED)
    for z in (12, 14, 16):
        response = await client.get(_tile_url("/tiles", *ROMNY, z))
        layers = set(mapbox_vector_tile.decode(response.content)) if response.content else set()
        assert not layers & set(RESTRICTED)
        assert "hromada_boundary" in layers


async def test_tile_addresses_outside_the_matrix_or_zoom_range(client: httpx.AsyncClient) -> None:
    base = "/ogc/collections/shelters/tiles"
    tile = MERCATOR.tile(*ROMNY, 8)
    assert (await client.get(f"{base}/WebMercatorQuad/8/{tile.y}/{tile.x}")).status_code == 204
    for path in ("WebMercatorQuad/25/0/0", "WebMercatorQuad/3/8/0", "WebMercatorQuad/3/0/8",
                 "WebMercatorQuad/x/0/0", "WebMercatorQuad/3/-1/0", "NoSuchQuad/3/0/0",
                 "WorldCRS84Quad/0/1/0"):  # fmt: skip
        assert (await client.get(f"{base}/{path}")).status_code == 404, path
    assert (await client.get(f"{base}/WorldCRS84Quad/0/0/1")).status_code == 204
    assert (await client.get(f"{base}/WebMercatorQuad/14/0/0?f=png")).status_code == 400


async def test_xyz_tileset_for_gdal_mvt_driver(
    client: httpx.AsyncClient, demo_db_url: str, registry: LayerRegistry
) -> None:
    """``…/WebMercatorQuad/xyz`` serves the same tiles in z/x/y order, with typed metadata."""
    base = "/ogc/collections/shelters/tiles/WebMercatorQuad"
    meta = (await client.get(f"{base}/xyz/metadata.json")).json()
    assert meta["tiles"][0].endswith(f"{base}/xyz/{{z}}/{{x}}/{{y}}.pbf")
    spec = registry.get("shelters")
    fields = meta["vector_layers"][0]["fields"]
    assert set(fields) == {f.name for f in spec.fields_for(Access.PUBLIC)} | {DEMO_ATTRIBUTE}
    assert fields["capacity_persons"] == "Integer" and fields["name"] == "String"
    assert meta["tilestats"]["layers"][0] == {
        "layer": "shelters", "count": _public_count(demo_db_url), "geometry": "Point"
    }  # fmt: skip
    west, south, east, north = meta["bounds"]
    assert west < ROMNY[0] < east and south < ROMNY[1] < north
    links = (await client.get(base)).json()["links"]
    described = [link for link in links if link["href"].endswith("/xyz/metadata.json")]
    assert [(link["rel"], link["type"]) for link in described] == [
        ("alternate", "application/json")
    ]
    tile = MERCATOR.tile(*ROMNY, 15)
    xyz = await client.get(f"{base}/xyz/15/{tile.x}/{tile.y}.pbf")
    zyx = await client.get(f"{base}/15/{tile.y}/{tile.x}")
    assert xyz.status_code == 200 and xyz.content == zyx.content
    assert xyz.headers["etag"] == zyx.headers["etag"]
    whole = (await client.get("/ogc/tiles/WebMercatorQuad/xyz/metadata.json")).json()
    assert {v["id"] for v in whole["vector_layers"]} == {
        s.name for s in registry.list(Access.PUBLIC)
    }
    for path in (f"{base}/xyz/15/{tile.x}/{tile.y}", f"{base}/xyz/15/{1 << 15}/0.pbf",
                 "/ogc/collections/shelters/tiles/WorldCRS84Quad/xyz/metadata.json",
                 "/ogc/collections/shelters/tiles/WorldCRS84Quad/xyz/1/0/0.pbf"):  # fmt: skip
        assert (await client.get(path)).status_code == 404, path


async def test_tilejson_for_a_collection_and_the_whole_map(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/ogc/collections/shelters/tiles/WebMercatorQuad/tilejson.json")).json()
    same = (await client.get("/ogc/collections/shelters/tiles/WebMercatorQuad?f=tilejson")).json()
    assert doc == same and doc["tilejson"] == "3.0.0"
    assert doc["minzoom"] == 10 and doc["maxzoom"] == 22 and doc["attribution"]
    assert doc["tiles"][0].endswith("/collections/shelters/tiles/WebMercatorQuad/{z}/{y}/{x}")
    west, south, east, north = doc["bounds"]
    assert west < ROMNY[0] < east and south < ROMNY[1] < north
    layer = doc["vector_layers"][0]
    assert (
        layer["id"] == "shelters" and layer["fields"]["capacity_persons"] == "Місткість (persons)"
    )
    english = await client.get("/ogc/tiles/WebMercatorQuad/tilejson.json?lang=en")
    layers = {v["id"]: v for v in english.json()["vector_layers"]}
    assert layers["buildings"]["minzoom"] == 15 and layers["shelters"]["fields"]["name"] == "Name"


async def test_feature_cap_is_reported_not_silent(
    demo_db_url: str, registry: LayerRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(demo_db_url, registry, TileSettings(max_features=5))
    async with asgi_client(app) as http:
        response = await http.get(_tile_url("/tiles", *ROMNY, 15))
    assert response.status_code == 200
    assert "layer=buildings; limit=5" in response.headers["x-tile-truncated"]
    layers = mapbox_vector_tile.decode(response.content)
    assert len(layers["buildings"]["features"]) == 5
    assert "hromada_boundary" not in response.headers["x-tile-truncated"]
    assert any("truncated by the feature cap" in r.getMessage() for r in caplog.records)


def _insert_shelter(conn: psycopg.Connection[Any], code: str, lon: float, lat: float) -> int:
    row = conn.execute(
        sql.SQL(
            "INSERT INTO gis.shelters (shelter_code, name, shelter_type, capacity_persons, "
            "readiness, readiness_checked_at, access_mode, accessible, key_holder_phone, geom) "
            "VALUES (%s, %s, 'pru', 50, 'ready', '2025-01-01', '24_7', 'full', '+380000000', "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326)) RETURNING fid"
        ),
        [code, f"Укриття {code}", lon, lat],
    ).fetchone()
    assert row is not None
    return int(row[0])


async def test_etag_304_and_an_edit_invalidates_the_cached_tile(
    clean_db: str, registry: LayerRegistry
) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        fid = _insert_shelter(conn, "T-1", *ROMNY)
    app = make_app(clean_db, registry)
    url = _tile_url("/collections/shelters/tiles", *ROMNY, 15)
    async with asgi_client(app) as http:
        first = await http.get(url)
        etag = first.headers["etag"]
        assert first.status_code == 200 and etag.startswith('"')
        assert "public" in first.headers["cache-control"]
        assert first.headers["x-tile-cache"] == "miss"
        again = await http.get(url)
        assert again.headers["x-tile-cache"] == "hit" and again.content == first.content
        unchanged = await http.get(url, headers={"If-None-Match": etag})
        assert unchanged.status_code == 304 and not unchanged.content
        with psycopg.connect(clean_db, autocommit=True) as conn:
            conn.execute("UPDATE gis.shelters SET name = 'Нова назва' WHERE fid = %s", [fid])
        edited = await http.get(url, headers={"If-None-Match": etag})
        assert edited.status_code == 200 and edited.headers["etag"] != etag
        assert edited.headers["x-tile-cache"] == "miss"
        feature = mapbox_vector_tile.decode(edited.content)["shelters"]["features"][0]
        assert feature["properties"]["name"] == "Нова назва"
        assert "key_holder_phone" not in feature["properties"]


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")
def test_gdal_mvt_driver_reads_a_served_tile(
    demo_db_url: str, registry: LayerRegistry, tmp_path: Path
) -> None:
    _, name, lon, lat = _a_shelter(demo_db_url)
    tile = MERCATOR.tile(lon, lat, 16)
    with live_server(make_app(demo_db_url, registry)) as base:
        url = f"{base}/ogc/collections/shelters/tiles/WebMercatorQuad/16/{tile.y}/{tile.x}"
        (tmp_path / "t.mvt").write_bytes(httpx.get(url).content)
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", f"MVT:{tmp_path / 't.mvt'}",
         "-oo", f"X={tile.x}", "-oo", f"Y={tile.y}", "-oo", "Z=16"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert name in result.stdout and "key_holder" not in result.stdout


GDAL_OGCAPI_READ = """
import json, sys
import pyogrio
source, lon, lat = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
layers = [str(name) for name, _ in pyogrio.list_layers(source)]
frame = pyogrio.read_dataframe(
    source, layer="Zoom level 14", bbox=(lon - 0.002, lat - 0.002, lon + 0.002, lat + 0.002)
)
print(json.dumps({"layers": layers, "columns": list(frame.columns),
                  "names": frame["name"].tolist(), "crs": str(frame.crs)}))
"""


def test_gdal_ogcapi_driver_reads_vector_tiles(demo_db_url: str, registry: LayerRegistry) -> None:
    """GDAL's OGCAPI driver follows collection → tilesets → tileset → TMS → MVT tiles.

    It runs in a subprocess (pyogrio's GDAL 3.12): GDAL holds the GIL while it
    downloads, which would starve the in-process server thread.
    """
    _, name, lon, lat = _a_shelter(demo_db_url)
    with live_server(make_app(demo_db_url, registry)) as base:
        result = subprocess.run(
            [sys.executable, "-c", GDAL_OGCAPI_READ,
             f"OGCAPI:{base}/ogc/collections/shelters", str(lon), str(lat)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert "Zoom level 14" in read["layers"]
    assert name in read["names"]
    assert "key_holder_phone" not in read["columns"] and "readiness" in read["columns"]
