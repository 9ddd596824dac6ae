"""Real clients against a live server: GDAL (ogrinfo), geopandas/pyogrio, OWSLib (schemathesis:
test_fuzz_openapi.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from gisplatform.registry import Access, LayerRegistry
from tests.ogcapi_helpers import RESTRICTED_LAYERS, RequestRecorder, live_server


@pytest.fixture(scope="module")
def server(demo_db_url: str, registry: LayerRegistry) -> Iterator[tuple[str, RequestRecorder]]:
    with live_server(demo_db_url, registry) as running:
        yield running


def _count(url: str, layer: str, where: str = "TRUE") -> int:
    with psycopg.connect(url) as conn:
        query = sql.SQL("SELECT count(*) FROM {} WHERE ").format(
            sql.Identifier("api_public", layer)
        ) + sql.SQL(where)  # hand-written test oracle
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def _ogrinfo(*args: str) -> str:
    ogrinfo = shutil.which("ogrinfo")
    assert ogrinfo, "gdal-bin (ogrinfo) is required"
    done = subprocess.run(
        [ogrinfo, "-ro", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def test_gdal_lists_counts_bbox_and_pushes_where(
    server: tuple[str, RequestRecorder], demo_db_url: str, registry: LayerRegistry
) -> None:
    root, recorder = server
    source = f"OAPIF:{root}/ogc"
    listing = _ogrinfo("-q", source)
    names = {line.split(":")[1].split()[0] for line in listing.splitlines() if ":" in line}
    assert names - {"catalogue", "reports"} == {s.name for s in registry.list(Access.PUBLIC)}
    assert not names & set(RESTRICTED_LAYERS)
    for layer in ("shelters", "street_lights"):
        summary = _ogrinfo("-so", source, layer)
        assert f"Feature Count: {_count(demo_db_url, layer)}" in summary
    spat = _ogrinfo("-q", source, "shelters", "-spat", "33.45", "50.74", "33.49", "50.76")
    expected = _count(
        demo_db_url,
        "shelters",
        "ST_Intersects(geom, ST_MakeEnvelope(33.45, 50.74, 33.49, 50.76, 4326))",
    )
    assert spat.count("OGRFeature(shelters)") == expected
    recorder.records.clear()
    where = _ogrinfo("-q", source, "shelters", "-where", "capacity_persons > 100")
    assert where.count("OGRFeature(shelters)") == _count(
        demo_db_url, "shelters", "capacity_persons > 100"
    )
    queries = [str(r["query"]) for r in recorder.records if str(r["path"]).endswith("/items")]
    # the first unfiltered page only gives GDAL the schema; the data pages carry the filter
    assert any(q.startswith("f=json") and "filter=capacity_persons" in q for q in queries)
    assert all("filter=" in q for q in queries if "offset=" in q)


_GEOPANDAS_SCRIPT = """
import json, sys
import geopandas as gpd
src = sys.argv[1]
frame = gpd.read_file(src, layer="shelters")
boxed = gpd.read_file(src, layer="shelters", bbox=(33.45, 50.74, 33.49, 50.76))
print(json.dumps({"n": len(frame), "columns": list(frame.columns), "boxed": len(boxed)}))
"""


def test_geopandas_reads_through_oapif(
    server: tuple[str, RequestRecorder], demo_db_url: str
) -> None:
    # a subprocess: pyogrio keeps the GIL while GDAL downloads, which would block the server thread
    done = subprocess.run(
        [sys.executable, "-c", _GEOPANDAS_SCRIPT, f"OAPIF:{server[0]}/ogc"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["n"] == _count(demo_db_url, "shelters")
    assert "key_holder_phone" not in result["columns"] and "name" in result["columns"]
    assert result["boxed"] == _count(
        demo_db_url,
        "shelters",
        "ST_Intersects(geom, ST_MakeEnvelope(33.45, 50.74, 33.49, 50.76, 4326))",
    )


def test_owslib_features(server: tuple[str, RequestRecorder], demo_db_url: str) -> None:
    from owslib.ogcapi.features import Features

    api = Features(f"{server[0]}/ogc")
    ids = {c["id"] for c in api.collections()["collections"]}
    assert "shelters" in ids and not ids & set(RESTRICTED_LAYERS)
    queryables = api.collection_queryables("shelters")
    assert "readiness" in queryables["properties"]
    assert "registry_no" not in queryables["properties"]
    boxed = api.collection_items("shelters", bbox=[33.45, 50.74, 33.49, 50.76], limit=100)
    assert boxed["numberMatched"] == _count(
        demo_db_url,
        "shelters",
        "ST_Intersects(geom, ST_MakeEnvelope(33.45, 50.74, 33.49, 50.76, 4326))",
    )
    filtered = api.collection_items(
        "shelters", filter="capacity_persons>100 AND readiness='ready'", limit=100
    )
    assert filtered["numberMatched"] == _count(
        demo_db_url, "shelters", "capacity_persons > 100 AND readiness = 'ready'"
    )
    projected = api.collection_items(
        "shelters", crs="http://www.opengis.net/def/crs/EPSG/0/5564", limit=1
    )
    northing, easting = projected["features"][0]["geometry"]["coordinates"]
    assert 5_600_000 < northing < 5_650_000 and 6_500_000 < easting < 6_560_000
