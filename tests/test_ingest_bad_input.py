"""Every kind of bad input: a readable message naming row and field, exit 1, layer unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gisplatform.cli import app
from tests.ingest_helpers import run_cli, shelter, snapshot, write_geojson

SEED = [shelter("S-1"), shelter("S-2", lon=33.48)]


@pytest.fixture
def seeded(clean_db: str, tmp_path: Path) -> str:
    """The test database with two shelters already stored."""
    result = run_cli(
        clean_db, "import", "shelters", str(write_geojson(tmp_path / "seed.geojson", SEED))
    )
    assert result.exit_code == 0, result.output
    return clean_db


def _truncated(p: Path) -> Path:
    text = json.dumps({"type": "FeatureCollection", "features": [shelter("T-1")] * 3})
    p.write_text(text[: len(text) // 2], encoding="utf-8")
    return p


def _polygon(p: Path) -> Path:
    f = shelter("T-1")
    f["geometry"] = {"type": "LineString", "coordinates": [[33.47, 50.75], [33.48, 50.76]]}
    return write_geojson(p, [shelter("T-0"), f])


def _empty_geometry(p: Path) -> Path:
    f = shelter("T-1")
    f["geometry"] = {"type": "MultiPoint", "coordinates": []}
    return write_geojson(p, [shelter("T-0"), f])


def _no_crs_csv(p: Path) -> Path:
    p.write_text(
        "shelter_code,name,shelter_type,capacity_persons,readiness,"
        "readiness_checked_at,access_mode,accessible,x,y\n"
        "C-1,A,pru,10,ready,2024-05-01,24_7,full,533538,5624657\n",
        encoding="utf-8",
    )
    return p


def _swapped_csv(p: Path) -> Path:
    p.write_text(
        "shelter_code,name,shelter_type,capacity_persons,readiness,"
        "readiness_checked_at,access_mode,accessible,lon,lat\n"
        "C-1,A,pru,10,ready,2024-05-01,24_7,full,50.7515,33.4746\n",
        encoding="utf-8",
    )
    return p


def _wrong_layer(p: Path) -> Path:
    return write_geojson(
        p,
        [
            {
                "type": "Feature",
                "properties": {"pole_id": "L-1", "power_w": 50},
                "geometry": {"type": "Point", "coordinates": [33.47, 50.75]},
            }
        ],
    )


def _cp1251_csv(p: Path) -> Path:
    p.write_bytes(
        "shelter_code;name;shelter_type;capacity_persons;readiness;"
        "readiness_checked_at;access_mode;accessible;lon;lat\n"
        "C-1;Укриття школи;pru;10;ready;2024-05-01;24_7;full;33.47;50.75\n".encode("cp1251")
    )
    return p


CASES: dict[str, tuple[Callable[[Path], Path], list[str], list[str]]] = {
    # kind: (file maker, extra CLI args, fragments the message must contain)
    "truncated geojson": (_truncated, [], ["cannot read", "truncated or corrupt"]),
    "wrong geometry type": (_polygon, [], ["row 2", "'geometry'", "LineString", "Point"]),
    "empty geometry": (_empty_geometry, [], ["row 2", "'geometry'", "empty"]),
    "missing required field": (
        lambda p: write_geojson(p, [shelter("T-0"), shelter("T-1", name="  ")]),
        [],
        ["row 2", "'name'", "required value is missing"],
    ),
    "unknown enum value": (
        lambda p: write_geojson(p, [shelter("T-1", readiness="maybe")]),
        [],
        ["row 1", "'readiness'", "unknown value 'maybe'"],
    ),
    "text in numeric field": (
        lambda p: write_geojson(p, [shelter("T-0"), shelter("T-1", capacity_persons="багато")]),
        [],
        ["row 2", "'capacity_persons'", "is not an integer"],
    ),
    "value out of range": (
        lambda p: write_geojson(p, [shelter("T-1", capacity_persons=20000)]),
        [],
        ["row 1", "'capacity_persons'", "above the maximum 10000"],
    ),
    "pattern mismatch": (
        lambda p: write_geojson(p, [shelter("T-1", owner_edrpou="12AB")]),
        [],
        ["row 1", "'owner_edrpou'", "does not match"],
    ),
    "duplicate keys in file": (
        lambda p: write_geojson(p, [shelter("T-1"), shelter("T-2"), shelter("T-1")]),
        [],
        ["row 1", "row 3", "'shelter_code'", "duplicate natural key"],
    ),
    "duplicate key against store": (
        lambda p: write_geojson(p, [shelter("T-1"), shelter("S-2")]),
        [],
        ["row 2", "'shelter_code'", "already exists"],
    ),
    "no crs": (_no_crs_csv, [], ["no CRS in", "give --source-crs"]),
    "swapped axes": (_swapped_csv, [], ["row 1", "'geometry'", "axes look swapped"]),
    "wrong layer": (
        _wrong_layer,
        [],
        ["no column for the required", "shelter_code", "pole_id, power_w"],
    ),
    "zero rows": (lambda p: write_geojson(p, []), [], ["has no rows"]),
    "ready but kept by key (МВС 579)": (
        lambda p: write_geojson(p, [shelter("T-0"), shelter("T-1", access_mode="by_key")]),
        [],
        ["row 2", "'access_mode'", "around the clock", "rule ready_means_open_round_the_clock"],
    ),
    "accessible toilet without a toilet": (
        lambda p: write_geojson(p, [shelter("T-1", accessible_toilet=True, toilets=0)]),
        [],
        ["row 1", "'toilets'", "number of toilets is 0", "accessible_toilet_needs_a_toilet"],
    ),
    "non-utf8 encoding": (_cp1251_csv, [], ["not UTF-8", "--encoding"]),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_bad_input_rejected_and_layer_unchanged(kind: str, seeded: str, tmp_path: Path) -> None:
    make, args, fragments = CASES[kind]
    suffix = ".csv" if "csv" in make.__name__ else ".geojson"
    path = make(tmp_path / f"bad{suffix}")
    before = snapshot(seeded)
    report = tmp_path / "report.csv"
    result = run_cli(seeded, "import", "shelters", str(path), "--report", str(report), *args)
    assert result.exit_code == 1, result.output
    message = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert snapshot(seeded) == before


def test_self_intersecting_polygon_named_and_repaired(clean_db: str, tmp_path: Path) -> None:
    """An invalid polygon is rejected with GEOS's reason; --repair makes it valid."""
    bowtie = [[[33.4, 50.7], [33.5, 50.8], [33.5, 50.7], [33.4, 50.8], [33.4, 50.7]]]
    feature = {
        "type": "Feature",
        "properties": {"код": "D-1", "назва": "Бантик", "центр округу": "UA" + "1" * 17},
        "geometry": {"type": "Polygon", "coordinates": bowtie},
    }
    layer = "starosta_districts"
    path = write_geojson(tmp_path / "bowtie.geojson", [feature])
    before = snapshot(clean_db, layer)
    result = run_cli(clean_db, "import", layer, str(path))
    message = " ".join(result.output.split())
    assert result.exit_code == 1, message
    assert "row 1" in message and "'geometry'" in message and "Self-intersection" in message
    assert "--repair" in message
    assert snapshot(clean_db, layer) == before
    result = run_cli(clean_db, "import", layer, str(path), "--repair")
    assert result.exit_code == 0, result.output
    assert snapshot(clean_db, layer)[0] == 1


def test_rule_problem_reads_in_ukrainian_by_default(
    seeded: str, tmp_path: Path, ukrainian_locale: None
) -> None:
    """Without an English locale the CLI says the same in Ukrainian, naming field and rule."""
    path = write_geojson(tmp_path / "bykey.geojson", [shelter("T-1", access_mode="by_key")])
    env = {"DATABASE_URL": seeded, "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["import", "shelters", str(path)], env=env)
    message = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "рядок 1, поле «access_mode»" in message and "цілодобово" in message
