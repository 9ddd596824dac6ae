"""The system GDAL (``/usr/bin/ogrinfo`` of gdal-bin; Debian 12: 3.6.2) reads our vector tiles.

Debian 12's GDAL 3.6.2 was built without the OGCAPI driver's vector-tile branch (see
``gisplatform.ogcapi.tilemeta``), so ``OGCAPI:…`` opens nothing there whatever we
serve; it reads the same tiles with the MVT driver from the z/x/y tileset
``…/WebMercatorQuad/xyz``. pyogrio's newer GDAL reading through ``OGCAPI:`` is
tested in ``test_tiles.py``.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import morecantile
import psycopg
import pytest

from gisplatform.registry import Access, LayerRegistry
from tests.ogcapi_helpers import RESTRICTED_LAYERS, RequestRecorder, live_server

pytestmark = pytest.mark.db

SYSTEM_OGRINFO = Path("/usr/bin/ogrinfo")
MERCATOR = morecantile.tms.get("WebMercatorQuad")
BOX = (33.45, 50.74, 33.49, 50.76)  # lon/lat: the centre of Romny
ZOOM = 14


@pytest.fixture(scope="module")
def server(demo_db_url: str, registry: LayerRegistry) -> Iterator[tuple[str, RequestRecorder]]:
    with live_server(demo_db_url, registry) as running:
        yield running


def _system_ogrinfo(*args: str) -> str:
    assert SYSTEM_OGRINFO.exists(), "gdal-bin is required (scripts/bootstrap.sh installs it)"
    done = subprocess.run(
        [str(SYSTEM_OGRINFO), "-ro", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _names_in_box(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT name FROM api_public.shelters"
            " WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
            BOX,
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def test_system_gdal_reads_shelters_from_the_xyz_tileset(
    server: tuple[str, RequestRecorder], demo_db_url: str, registry: LayerRegistry
) -> None:
    root, recorder = server
    source = f"MVT:{root}/ogc/collections/shelters/tiles/WebMercatorQuad/xyz/{ZOOM}"
    # -spat is in the layer's CRS (EPSG:3857); a Mercator rectangle is a lon/lat rectangle
    west, south = MERCATOR.xy(BOX[0], BOX[1])
    east, north = MERCATOR.xy(BOX[2], BOX[3])
    recorder.records.clear()
    listing = _system_ogrinfo(
        "-q", source, "shelters", "-spat", *map(str, (west, south, east, north))
    )
    names = sorted(re.findall(r"^  name \(String\) = (.+)$", listing, re.MULTILINE))
    assert names == _names_in_box(demo_db_url) and len(names) > 10
    # fields are typed from metadata.json; restricted fields never travel
    assert re.search(r"^  capacity_persons \(Integer\) = \d+$", listing, re.MULTILINE)
    restricted = {f.name for f in registry.get("shelters").fields} - {
        f.name for f in registry.get("shelters").fields_for(Access.PUBLIC)
    }
    assert restricted and not any(f"  {name} (" in listing for name in restricted)
    # GDAL fetched the metadata, then only tiles near the box (its filter keeps a one-tile margin)
    paths = [str(r["path"]) for r in recorder.records]
    assert any(p.endswith("/xyz/metadata.json") for p in paths)
    fetched = {
        tuple(map(int, p.removesuffix(".pbf").split("/")[-2:])) for p in paths if p.endswith(".pbf")
    }
    upper_left, lower_right = (
        MERCATOR.tile(BOX[0], BOX[3], ZOOM),
        MERCATOR.tile(BOX[2], BOX[1], ZOOM),
    )
    under = {
        (x, y)
        for x in range(upper_left.x, lower_right.x + 1)
        for y in range(upper_left.y, lower_right.y + 1)
    }
    near = {(x + dx, y + dy) for x, y in under for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
    assert under <= fetched <= near, sorted(fetched)


def test_system_gdal_lists_the_public_layers_of_the_whole_map(
    server: tuple[str, RequestRecorder], registry: LayerRegistry
) -> None:
    listing = _system_ogrinfo("-so", f"MVT:{server[0]}/ogc/tiles/WebMercatorQuad/xyz/15")
    layers = set(re.findall(r"^\d+: (\w+)", listing, re.MULTILINE))
    assert layers == {s.name for s in registry.list(Access.PUBLIC)}
    assert not layers & set(RESTRICTED_LAYERS)
