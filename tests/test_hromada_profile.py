"""The hromada profile: every Romny constant comes from ``layers/_hromada.yaml``.

A second profile (another hromada, another metric CRS) changes the web map, the import's
area of interest, the analyses' metric CRS and the CRSs the API offers, with no code change.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
import yaml

from gisplatform.analyses.common import Schemas, query
from gisplatform.errors import LayerSpecError
from gisplatform.registry import LayerRegistry, load_registry
from gisplatform.registry.hromada import PROFILE_FILE
from gisplatform.settings import PROJECT_ROOT
from gisplatform.store.migrate import migrate
from gisplatform.webmap.config import map_config
from tests.conftest import LAYERS_DIR, make_settings
from tests.ingest_helpers import run_cli, shelter, snapshot, write_geojson
from tests.ogcapi_helpers import live_server

#: Another hromada around Konotop (not shipped; a test profile), in UCS-2000 zone 6 metres.
OTHER = {
    "katottg": "UA59020130000012345",
    "name": {"uk": "Тестова міська громада", "en": "Test urban hromada"},
    "short_name": {"uk": "Тестова громада", "en": "Test hromada"},
    "oblast": {"uk": "Сумська область", "en": "Sumy oblast"},
    "centre": {"lon": 33.20, "lat": 51.24},
    "zoom": 12,
    "extent": [33.05, 51.15, 33.35, 51.33],
    "boundary_layer": "hromada_boundary",
    "metric_crs": 5564,
    "local_crs": [5561],
}


def _layers_with(tmp_path: Path, profile: dict[str, object]) -> Path:
    directory = tmp_path / "layers"
    shutil.copytree(LAYERS_DIR, directory)
    (directory / PROFILE_FILE).write_text(yaml.safe_dump(profile, allow_unicode=True), "utf-8")
    return directory


def test_project_profile_matches_the_demo_boundary(registry: LayerRegistry) -> None:
    hromada = registry.hromada
    boundary = json.loads(
        (PROJECT_ROOT / "data" / "romny" / f"{hromada.boundary_layer}.geojson").read_text("utf-8")
    )
    assert [f["properties"]["katottg"] for f in boundary["features"]] == [hromada.katottg]
    assert hromada.offered_crs[:3] == (4326, 3857, hromada.metric_crs)
    min_lon, min_lat, max_lon, max_lat = hromada.extent
    for feature in boundary["features"]:
        for ring in feature["geometry"]["coordinates"]:
            for lon, lat in ring[0]:
                assert min_lon <= lon <= max_lon and min_lat <= lat <= max_lat


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"centre": {"lon": 30.5, "lat": 50.45}}, "(top level)", "centre must lie inside"),
        ({"metric_crs": 4326}, "(top level)", "must be projected, in metres"),
        ({"katottg": "59060110000049734"}, "katottg", "pattern"),
        ({"extent": [33.7, 50.5, 33.2, 50.9]}, "(top level)", "min_lon, min_lat"),
    ],
)
def test_bad_profile_names_file_and_field(
    tmp_path: Path, change: dict[str, object], field: str, message: str
) -> None:
    directory = _layers_with(tmp_path, {**OTHER, **change})
    with pytest.raises(LayerSpecError) as caught:
        load_registry(directory)
    (source, path, text), *_ = caught.value.problems
    assert source.endswith(PROFILE_FILE) and path == field and message in text


def test_profile_must_name_a_boundary_layer_that_exists(tmp_path: Path) -> None:
    directory = _layers_with(tmp_path, {**OTHER, "boundary_layer": "no_such_layer"})
    with pytest.raises(LayerSpecError, match="no layer 'no_such_layer'"):
        load_registry(directory)


def test_second_hromada_needs_no_code_change(tmp_path: Path, scratch_url: str) -> None:
    directory = _layers_with(tmp_path, OTHER)
    other = load_registry(directory)

    # web map: opens on the other hromada, names it, finds its boundary layer
    config = map_config(other, "uk")
    assert config["center"] == [51.24, 33.20] and config["zoom"] == 12
    assert config["strings"]["app_subtitle"] == {"uk": "Тестова громада", "en": "Test hromada"}
    assert config["hromada"]["boundaryLayer"] == "hromada_boundary"
    assert config["hromada"]["katottg"] == OTHER["katottg"]

    # analyses: distances measured in the profile's metric CRS
    statement = query("lighting.sql", "segments", Schemas.for_registry(other)).as_string()
    assert "5564" in statement and "32636" not in statement

    # import: the area of interest is the other hromada's (no boundary loaded yet)
    settings = make_settings(scratch_url, layers_dir=directory)
    migrate(scratch_url, other, settings)
    romny = write_geojson(tmp_path / "romny.geojson", [shelter("R-1")])
    env = {"GISPLATFORM_LAYERS_DIR": str(directory)}
    refused = run_cli(scratch_url, "import", "shelters", str(romny), env=env)
    assert refused.exit_code == 1
    assert "outside the area of interest" in refused.output
    assert snapshot(scratch_url)[0] == 0
    konotop = write_geojson(tmp_path / "konotop.geojson", [shelter("K-1", 33.21, 51.23)])
    loaded = run_cli(scratch_url, "import", "shelters", str(konotop), env=env)
    assert loaded.exit_code == 0, loaded.output
    assert snapshot(scratch_url)[0] == 1

    # OGC API: the CRSs offered are the other profile's
    with live_server(scratch_url, other) as (root, _), httpx.Client(base_url=root) as http:
        crs = http.get("/ogc/collections/shelters", params={"f": "json"}).json()["crs"]
    assert "http://www.opengis.net/def/crs/EPSG/0/5564" in crs
    assert "http://www.opengis.net/def/crs/EPSG/0/5561" in crs
    assert "http://www.opengis.net/def/crs/EPSG/0/9856" not in crs
