"""Import semantics against a real PostGIS: modes, dry runs, skipped rows, CRSs, real data."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import psycopg
import pyogrio
import pytest
import shapely
from pyproj import Transformer
from typer.testing import Result

from gisplatform.ingest import ImportOptions, Mode, export_layer, import_file
from gisplatform.ingest.crs import AreaOfInterest
from gisplatform.ingest.dms import parse_coordinate
from gisplatform.registry import LayerRegistry
from gisplatform.settings import PROJECT_ROOT
from tests.ingest_helpers import LAYERS_DIR, run_cli, shelter, snapshot, write_geojson

GEONAMES = PROJECT_ROOT / "data" / "sources" / "sumy" / "geographic-names-sumy.geojson"


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query.encode()).fetchall()


def test_append_upsert_replace(clean_db: str, tmp_path: Path) -> None:
    first = write_geojson(tmp_path / "a.geojson", [shelter("A"), shelter("B")])
    assert run_cli(clean_db, "import", "shelters", str(first)).exit_code == 0
    second = write_geojson(
        tmp_path / "b.geojson", [shelter("A"), shelter("B", capacity_persons=300), shelter("C")]
    )
    result = run_cli(clean_db, "import", "shelters", str(second), "--mode", "upsert")
    assert result.exit_code == 0, result.output
    assert _rows(
        clean_db,
        "SELECT shelter_code, capacity_persons, version FROM gis.shelters ORDER BY shelter_code",
    ) == [("A", 120, 1), ("B", 300, 2), ("C", 120, 1)]
    actors = _rows(clean_db, "SELECT DISTINCT changed_by FROM history.feature_changes")
    assert actors and all(a[0] for a in actors)
    third = write_geojson(tmp_path / "c.geojson", [shelter("Z")])
    assert run_cli(clean_db, "import", "shelters", str(third), "--mode", "replace").exit_code == 0
    assert _rows(clean_db, "SELECT shelter_code FROM gis.shelters") == [("Z",)]
    log = _rows(
        clean_db, "SELECT mode, status, counts->>'inserted' FROM history.imports ORDER BY id"
    )
    assert log == [
        ("append", "succeeded", "2"),
        ("upsert", "succeeded", "1"),
        ("replace", "succeeded", "1"),
    ]


def test_dry_run_changes_nothing(clean_db: str, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "a.geojson", [shelter("A"), shelter("B")])
    before = snapshot(clean_db)
    result = run_cli(clean_db, "import", "shelters", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert snapshot(clean_db) == before
    assert _rows(clean_db, "SELECT status FROM history.imports") == [("dry_run",)]


def test_skip_invalid_needs_and_fills_report(clean_db: str, tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "a.geojson",
        [shelter("A"), shelter("B", readiness="???"), shelter("C", capacity_persons=-5)],
    )
    result = run_cli(clean_db, "import", "shelters", str(path), "--skip-invalid")
    assert result.exit_code == 1 and "--report" in result.output
    report = tmp_path / "rejected.csv"
    result = run_cli(
        clean_db, "import", "shelters", str(path), "--skip-invalid", "--report", str(report)
    )
    assert result.exit_code == 2, result.output
    assert _rows(clean_db, "SELECT shelter_code FROM gis.shelters") == [("A",)]
    with report.open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert [(r["row"], r["field"], r["shelter_code"]) for r in lines] == [
        ("2", "readiness", "B"),
        ("3", "capacity_persons", "C"),
    ]
    assert "below the minimum" in lines[1]["reason"]


def test_geographic_names_with_dms(clean_db: str, registry: LayerRegistry) -> None:
    """The real register file: Ukrainian headers via aliases, points from its DMS strings."""
    spec = registry.get("hydro_and_protected")
    options = ImportOptions(
        dms=("Широта", "Довгота"),
        constants={"category": "geographic_name"},
        area=AreaOfInterest.parse("32.0,50.0,35.7,52.5"),
        skip_invalid=True,
        report=Path(os.devnull),
    )
    result = import_file(clean_db, spec, GEONAMES, options)
    assert result.read == 1328 and result.valid > 1300
    frame = gpd.read_file(GEONAMES)
    near_romny = frame.cx[33.35:33.65, 50.65:50.85]
    assert len(near_romny) >= 5
    stored = {
        str(k): str(v)
        for k, v in _rows(clean_db, "SELECT reg_no, ST_AsText(geom) FROM gis.hydro_and_protected")
    }
    names = {r[0] for r in _rows(clean_db, "SELECT name FROM gis.hydro_and_protected")}
    assert {"Бобрик", "Олава"} & names
    geod = Transformer.from_crs(4326, 32636, always_xy=True)
    for _, row in near_romny.iterrows():
        lat, _ = parse_coordinate(row["Широта"])
        lon, _ = parse_coordinate(row["Довгота"])
        point = shapely.from_wkt(stored[row["Реєстраційний номер"]])
        x0, y0 = geod.transform(lon, lat)
        x1, y1 = geod.transform(point.x, point.y)
        assert abs(x1 - x0) < 1 and abs(y1 - y0) < 1


def _assert_shelters_at(url: str, known: dict[str, tuple[float, float]]) -> None:
    """Every stored shelter lies within 1 cm (in UTM 36N) of its ``known`` lon/lat."""
    geod = Transformer.from_crs(4326, 32636, always_xy=True)
    for stored_code, wkt in _rows(url, "SELECT shelter_code, ST_AsText(geom) FROM gis.shelters"):
        point = shapely.from_wkt(str(wkt))
        x0, y0 = geod.transform(*known[str(stored_code)])
        x1, y1 = geod.transform(point.x, point.y)
        assert abs(x1 - x0) < 0.01 and abs(y1 - y0) < 0.01


def test_ucs2000_geopackage(clean_db: str, registry: LayerRegistry, tmp_path: Path) -> None:
    """EPSG:5564 (northing-first CRS) GeoPackage lands where pyproj says; export round-trips."""
    spec = registry.get("shelters")
    to_ucs = Transformer.from_crs(4326, 5564, always_xy=True)
    known = {"U-1": (33.4746, 50.7515), "U-2": (33.5012, 50.7301), "U-3": (33.4411, 50.7702)}
    rows = []
    for code, (lon, lat) in known.items():
        easting, northing = to_ucs.transform(lon, lat)
        rows.append({**shelter(code)["properties"], "geometry": shapely.Point(easting, northing)})
    gpkg = tmp_path / "ucs.gpkg"
    gpd.GeoDataFrame(rows, crs="EPSG:5564").to_file(gpkg, driver="GPKG")
    result = import_file(clean_db, spec, gpkg, ImportOptions())
    assert result.counts.inserted == 3
    _assert_shelters_at(clean_db, known)
    out = tmp_path / "back.gpkg"
    export_layer(clean_db, spec, out, crs="EPSG:5564")
    back = gpd.read_file(out)
    assert back.crs.to_epsg() == 5564
    for _, row in back.iterrows():
        easting, northing = to_ucs.transform(*known[row["shelter_code"]])
        assert abs(row.geometry.x - easting) < 0.01 and abs(row.geometry.y - northing) < 0.01
    # 4326 → 5564 → 4326 goes through a Helmert transformation and its approximate
    # inverse: sub-millimetre drift is expected, so compare positions, not bytes.
    again = import_file(clean_db, spec, out, ImportOptions(mode=Mode.UPSERT))
    assert again.counts.inserted == 0 and again.rejected == 0
    _assert_shelters_at(clean_db, known)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".fgb", ".csv"])
def test_export_import_round_trip(
    suffix: str, clean_db: str, registry: LayerRegistry, tmp_path: Path
) -> None:
    spec = registry.get("shelters")
    features = [
        shelter("R-1", lon=33.4712345678, owner_edrpou="12345678", toilets=2),
        shelter(
            "R-2",
            lat=50.7612345678,
            heating=False,
            area_m2=None,
            name="Укриття «Школа №2», вхід з двору",
        ),
    ]
    import_file(clean_db, spec, write_geojson(tmp_path / "in.geojson", features), ImportOptions())
    before = snapshot(clean_db)
    out = tmp_path / f"out{suffix}"
    assert export_layer(clean_db, spec, out) == 2
    where = tmp_path / f"one{suffix}"
    assert export_layer(clean_db, spec, where, where=["shelter_code=R-2"]) == 1
    result = import_file(clean_db, spec, out, ImportOptions(mode=Mode.UPSERT))
    assert (result.counts.inserted, result.counts.updated, result.counts.unchanged) == (0, 0, 2)
    assert snapshot(clean_db) == before


def test_where_is_validated(clean_db: str, registry: LayerRegistry, tmp_path: Path) -> None:
    import_file(
        clean_db,
        registry.get("shelters"),
        write_geojson(tmp_path / "in.geojson", [shelter("W-1")]),
        ImportOptions(),
    )

    def export(where: str) -> Result:
        out = str(tmp_path / "x.geojson")
        return run_cli(clean_db, "export", "shelters", out, "--where", where)

    result = export("name='x' OR 1=1; DROP TABLE gis.shelters")
    assert result.exit_code == 0 and "exported 0 feature" in result.output  # a plain value
    assert snapshot(clean_db)[0] == 1
    result = export("1=1")
    assert result.exit_code == 1 and "FIELD=VALUE" in result.output
    result = export("capacity_persons=lots")
    assert result.exit_code == 1 and "not an integer" in result.output


def test_sigkill_mid_import_leaves_layer_unchanged(clean_db: str, tmp_path: Path) -> None:
    seed = write_geojson(tmp_path / "seed.geojson", [shelter("KEEP-1"), shelter("KEEP-2")])
    assert run_cli(clean_db, "import", "shelters", str(seed)).exit_code == 0
    before = snapshot(clean_db)
    big = write_geojson(
        tmp_path / "big.geojson",
        [
            shelter(f"K-{i}", lon=33.3 + (i % 997) * 0.0003, lat=50.6 + (i // 997) * 0.0015)
            for i in range(150_000)
        ],
    )
    code = "import typer; from gisplatform.ingest.commands import import_command as c; typer.run(c)"
    env = {**os.environ, "DATABASE_URL": clean_db, "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR)}
    process = subprocess.Popen(
        [sys.executable, "-c", code, "shelters", str(big), "--mode", "replace"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    busy: list[tuple[object, ...]] = []
    while time.monotonic() < deadline and process.poll() is None and not busy:
        busy = _rows(
            clean_db,
            "SELECT pid FROM pg_stat_activity WHERE application_name = "
            "'gisplatform-import' AND query ILIKE 'COPY%' AND state = 'active'",
        )
        time.sleep(0.05)
    assert busy, "the import never reached COPY"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    for _ in range(100):  # the server notices the lost client and rolls back
        if not _rows(
            clean_db, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'gisplatform-import'"
        ):
            break
        time.sleep(0.1)
    assert snapshot(clean_db) == before


@pytest.fixture
def two_row_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read files two rows at a time, so that small files span several batches."""
    monkeypatch.setattr("gisplatform.ingest.readers.BATCH_ROWS", 2)


@pytest.mark.usefixtures("two_row_batches")
@pytest.mark.parametrize("suffix", [".geojson", ".csv"])
def test_batches_load_in_file_order_with_history(
    clean_db: str, tmp_path: Path, suffix: str
) -> None:
    codes = "EBDAC"
    catalogue = (  # indexes dropped for the load into the empty layer come back alike
        "SELECT indexdef FROM pg_indexes WHERE schemaname = 'gis' AND tablename = 'shelters' "
        "UNION ALL SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'gis.shelters'::regclass ORDER BY 1"
    )
    indexes = _rows(clean_db, catalogue)
    path = write_geojson(tmp_path / "a.geojson", [shelter(c) for c in codes])
    if suffix == ".csv":
        frame = gpd.read_file(path)
        frame["lon"], frame["lat"] = frame.geometry.x, frame.geometry.y
        path = tmp_path / "a.csv"
        frame.drop(columns="geometry").to_csv(path, index=False)
    result = run_cli(clean_db, "import", "shelters", str(path))
    assert result.exit_code == 0, result.output
    assert _rows(clean_db, "SELECT shelter_code FROM gis.shelters ORDER BY fid") == [
        (c,) for c in codes
    ]
    assert _rows(
        clean_db,
        "SELECT h.operation, h.new_values, s.version FROM history.feature_changes h "
        "JOIN gis.shelters s USING (fid) ORDER BY h.fid",
    ) == [("INSERT", None, 1)] * len(codes)
    assert _rows(clean_db, catalogue) == indexes


@pytest.mark.usefixtures("two_row_batches")
def test_bad_row_in_a_late_batch_loads_nothing(clean_db: str, tmp_path: Path) -> None:
    rows = [shelter(c) for c in "ABCDE"] + [shelter("F", capacity_persons=-1)]
    path = write_geojson(tmp_path / "a.geojson", rows)
    before = snapshot(clean_db)
    result = run_cli(clean_db, "import", "shelters", str(path))
    assert result.exit_code != 0
    assert "row 6" in result.output and "capacity_persons" in result.output
    assert snapshot(clean_db) == before


@pytest.mark.usefixtures("two_row_batches")
def test_duplicates_across_batches_are_skipped_together(clean_db: str, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "a.geojson", [shelter(c) for c in "ABCDA"])
    report = tmp_path / "rejected.csv"
    result = run_cli(
        clean_db, "import", "shelters", str(path), "--skip-invalid", "--report", str(report)
    )
    assert result.exit_code == 2, result.output
    assert _rows(clean_db, "SELECT shelter_code FROM gis.shelters ORDER BY fid") == [
        ("B",),
        ("C",),
        ("D",),
    ]
    with report.open(encoding="utf-8") as handle:
        rejected = list(csv.DictReader(handle))
    assert [(r["row"], r["shelter_code"]) for r in rejected] == [("1", "A"), ("5", "A")]
    assert _rows(clean_db, "SELECT count(*) FROM history.feature_changes") == [(3,)]


def test_inserted_values_are_kept_until_the_first_change(clean_db: str, tmp_path: Path) -> None:
    """An INSERT entry holds no values: version 1 lives in the layer, then in old_values."""
    path = write_geojson(tmp_path / "a.geojson", [shelter("A"), shelter("B")])
    assert run_cli(clean_db, "import", "shelters", str(path)).exit_code == 0
    with psycopg.connect(clean_db) as conn:
        conn.execute("UPDATE gis.shelters SET capacity_persons = 99 WHERE shelter_code = 'A'")
        conn.execute("DELETE FROM gis.shelters WHERE shelter_code = 'B'")
    changes = _rows(
        clean_db,
        "SELECT operation, old_values->>'shelter_code', (old_values->>'capacity_persons')::int,"
        " old_values->'geom'->>'type', (old_values->>'version')::int"
        " FROM history.feature_changes WHERE operation <> 'INSERT' ORDER BY id",
    )
    assert changes == [("UPDATE", "A", 120, "Point", 1), ("DELETE", "B", 120, "Point", 1)]


def test_truncate_is_recorded_as_deletes(clean_db: str, tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "a.geojson", [shelter("A"), shelter("B")])
    assert run_cli(clean_db, "import", "shelters", str(path)).exit_code == 0
    with psycopg.connect(clean_db) as conn:
        conn.execute("TRUNCATE gis.shelters")
    assert _rows(
        clean_db,
        "SELECT old_values->>'shelter_code' FROM history.feature_changes "
        "WHERE operation = 'DELETE' ORDER BY 1",
    ) == [("A",), ("B",)]


@pytest.mark.parametrize(("suffix", "driver"), [(".kml", "LIBKML"), (".xlsx", "XLSX")])
def test_kml_and_xlsx(clean_db: str, tmp_path: Path, suffix: str, driver: str) -> None:
    places = {"A": (33.4801, 50.7502), "B": (33.4702, 50.7555)}
    source = write_geojson(
        tmp_path / "a.geojson", [shelter(c, lon=x, lat=y) for c, (x, y) in places.items()]
    )
    frame = gpd.read_file(source)
    path = tmp_path / f"shelters{suffix}"
    if driver == "XLSX":  # a list with coordinate columns, as registers are kept
        table = frame.drop(columns="geometry")
        table["lon"], table["lat"] = frame.geometry.x, frame.geometry.y
        pyogrio.write_dataframe(table, path, driver=driver)
    else:
        pyogrio.write_dataframe(frame, path, driver=driver)
    result = run_cli(clean_db, "import", "shelters", str(path))
    assert result.exit_code == 0, result.output
    rows = _rows(
        clean_db,
        "SELECT shelter_code, name, capacity_persons, heating, readiness_checked_at::text,"
        " ST_X(geom), ST_Y(geom) FROM gis.shelters ORDER BY shelter_code",
    )
    assert [r[:5] for r in rows] == [(c, f"Укриття {c}", 120, True, "2024-05-01") for c in places]
    for code, *_, x, y in rows:
        assert (x, y) == pytest.approx(places[str(code)], abs=1e-9)


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name", "ignore:Field .* created as")
def test_cp1251_shapefile_without_cpg(clean_db: str, tmp_path: Path) -> None:
    """Old municipal Shapefiles carry cp1251 DBFs and no .cpg: --encoding reads them."""
    frame = gpd.read_file(write_geojson(tmp_path / "a.geojson", [shelter("A"), shelter("B")]))
    path = tmp_path / "shelters.shp"
    pyogrio.write_dataframe(frame.to_crs(5564), path, encoding="cp1251")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    result = run_cli(clean_db, "import", "shelters", str(path), "--encoding", "cp1251")
    assert result.exit_code == 0, result.output
    rows = _rows(clean_db, "SELECT name, ST_X(geom), ST_Y(geom) FROM gis.shelters ORDER BY 1")
    assert [r[0] for r in rows] == ["Укриття A", "Укриття B"]
    for _, x, y in rows:  # the CRS came from the .prj: back in lon/lat
        assert (x, y) == pytest.approx((33.4746, 50.7515), abs=1e-7)
