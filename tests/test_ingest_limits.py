"""Imports within bounds: a busy layer fails fast and says so, memory holds a few batches,
and the server's metrics count the failures from the database's import log."""

from __future__ import annotations

import csv
import gc
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gisplatform.i18n import set_language
from gisplatform.ingest import ImportOptions, ImportTimeouts, IngestError, Mode, import_file
from gisplatform.ingest.batches import BatchValidator, CheckedBatch
from gisplatform.ingest.readers import SourceBatch
from gisplatform.registry import LayerRegistry
from tests.ingest_helpers import run_cli, shelter, snapshot, write_geojson
from tests.tiles_helpers import asgi_client, make_app

pytestmark = [pytest.mark.db]


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def layer_locked(clean_db: str) -> Iterator[threading.Event]:
    """Another session holds the shelters layer (as a long migration or a stuck client would)."""
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with psycopg.connect(clean_db) as conn:
            conn.execute("LOCK TABLE gis.shelters IN ACCESS EXCLUSIVE MODE")
            held.set()
            release.wait(60)
            conn.rollback()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(30)
    yield release
    release.set()
    thread.join(30)


@pytest.mark.parametrize(
    ("lang", "words"),
    [("uk", ["«shelters»", "зайнятий", "1 с", "не змінено"]),
     ("en", ["'shelters'", "busy", "1 s", "unchanged"])],
)  # fmt: skip
def test_a_locked_layer_fails_fast_naming_it(
    clean_db: str,
    tmp_path: Path,
    layer_locked: threading.Event,
    lang: str,
    words: list[str],
) -> None:
    set_language(lang)  # as the CLI does from GISPLATFORM_LANG or the locale
    path = write_geojson(tmp_path / "a.geojson", [shelter("A"), shelter("B")])
    started = time.monotonic()
    result = run_cli(
        clean_db,
        "import",
        "shelters",
        str(path),
        env={"GISPLATFORM_IMPORT_LOCK_TIMEOUT_S": "1"},
    )
    set_language("en")
    elapsed = time.monotonic() - started
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    for word in words:
        assert word in output, (word, output)
    assert elapsed < 20, f"the import waited {elapsed:.1f} s for the lock"
    layer_locked.set()
    assert snapshot(clean_db) == (0, None)
    assert _rows(clean_db, "SELECT layer, status FROM history.imports") == [("shelters", "failed")]


def test_session_limits_are_set(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import's own session carries the three timeouts while it works."""
    path = write_geojson(tmp_path / "a.geojson", [shelter("A")])
    connections: list[psycopg.Connection[Any]] = []
    connect = psycopg.connect

    def recording_connect(*args: Any, **kwargs: Any) -> psycopg.Connection[Any]:
        conn = connect(*args, **kwargs)
        connections.append(conn)
        return conn

    seen: list[tuple[Any, ...] | None] = []
    original = BatchValidator.check

    def check(self: BatchValidator, batch: SourceBatch) -> CheckedBatch:
        (conn,) = connections
        seen.append(
            conn.execute(
                "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'),"
                " current_setting('idle_in_transaction_session_timeout')"
            ).fetchone()
        )
        return original(self, batch)

    monkeypatch.setattr("gisplatform.ingest.importer.psycopg.connect", recording_connect)
    monkeypatch.setattr(BatchValidator, "check", check)
    timeouts = ImportTimeouts(lock_s=2.5, statement_s=120, idle_s=30)
    import_file(clean_db, _shelters(), path, ImportOptions(timeouts=timeouts))  # type: ignore[arg-type]
    assert seen == [("2500ms", "2min", "30s")]


def _shelters() -> object:
    from gisplatform.registry import load_registry
    from tests.ingest_helpers import LAYERS_DIR

    return load_registry(LAYERS_DIR).get("shelters")


@pytest.mark.parametrize("mode", ["append_empty", "append", "upsert", "replace"])
def test_an_import_keeps_a_bounded_number_of_batches(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """40 batches of 2 rows, with bad rows and repeated keys: at most 3 batches alive at once."""
    monkeypatch.setattr("gisplatform.ingest.readers.BATCH_ROWS", 2)
    if mode != "append_empty":
        seed = write_geojson(tmp_path / "seed.geojson", [shelter("S000"), shelter("OLD")])
        assert run_cli(clean_db, "import", "shelters", str(seed)).exit_code == 0
    rows = [shelter(f"S{i:03d}") for i in range(80)]
    rows[11] = shelter("S011", capacity_persons=-5)  # invalid
    rows[50] = shelter("S007")  # repeats row 8's key, in a later batch
    path = write_geojson(tmp_path / "a.geojson", rows)
    alive: list[weakref.ref[CheckedBatch]] = []
    most = 0
    original = BatchValidator.check

    def check(self: BatchValidator, batch: SourceBatch) -> CheckedBatch:
        nonlocal most
        gc.collect()
        most = max(most, sum(1 for ref in alive if ref() is not None))
        checked = original(self, batch)
        alive.append(weakref.ref(checked))
        return checked

    monkeypatch.setattr(BatchValidator, "check", check)
    report = tmp_path / "rejected.csv"
    chosen = Mode.APPEND if mode.startswith("append") else Mode(mode)
    options = ImportOptions(mode=chosen, skip_invalid=True, report=report)
    result = import_file(clean_db, _shelters(), path, options)  # type: ignore[arg-type]
    assert len(alive) >= 40
    assert most <= 3, f"{most} validated batches were alive at once"
    rejected = {"12", "8", "51"} | ({"1"} if mode == "append" else set())
    with report.open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert {line["row"] for line in lines} == rejected
    by_row = {line["row"]: line for line in lines}
    assert by_row["51"]["shelter_code"] == "S007", "the row's values, read again from the file"
    assert "8" in by_row["51"]["reason"] and "S007" in by_row["51"]["reason"]
    assert by_row["12"]["field"] == "capacity_persons"
    assert result.rejected == len(rejected)
    stored = {r[0] for r in _rows(clean_db, "SELECT shelter_code FROM gis.shelters")}
    expected = {f"S{i:03d}" for i in range(80)} - {"S011", "S007", "S050"}
    if mode in ("append", "upsert"):
        expected |= {"OLD", "S000"}
    assert stored == expected


def test_metrics_count_failed_imports_from_the_database(
    clean_db: str, tmp_path: Path, registry: LayerRegistry
) -> None:
    import anyio

    bad = write_geojson(tmp_path / "bad.geojson", [shelter("A", capacity_persons=-1)])
    good = write_geojson(tmp_path / "good.geojson", [shelter("B")])
    assert run_cli(clean_db, "import", "shelters", str(bad)).exit_code == 1
    assert run_cli(clean_db, "import", "shelters", str(good)).exit_code == 0
    no_geometry = tmp_path / "names.csv"
    no_geometry.write_text("shelter_code,name\nC,Школа\n", encoding="utf-8")
    with pytest.raises(IngestError):
        import_file(clean_db, _shelters(), no_geometry, ImportOptions())  # type: ignore[arg-type]

    async def scrape() -> str:
        async with asgi_client(make_app(clean_db, registry)) as http:
            # tiles counted by the worker's tile cache: a miss, then a hit
            tile = "/ogc/collections/shelters/tiles/WebMercatorQuad/14/5512/9715"
            for _ in range(2):
                assert (await http.get(tile)).status_code in (200, 204)
            response = await http.get("/metrics")
            assert response.status_code == 200
            return response.text

    text = anyio.run(scrape)
    assert 'gisplatform_imports{status="rejected"} 1.0' in text
    assert 'gisplatform_imports{status="succeeded"} 1.0' in text
    assert 'gisplatform_imports{status="failed"} 1.0' in text
    assert 'gisplatform_imports{status="partial"} 0.0' in text
    assert "gisplatform_import_failures 2.0" in text
    assert 'gisplatform_tile_cache_requests_total{result="miss"} 1.0' in text
    assert 'gisplatform_tile_cache_requests_total{result="hit"} 1.0' in text


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
def test_encoding_check_reads_in_chunks_and_names_the_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The offset of the first bad byte is exact wherever the chunks split the text."""
    from gisplatform.ingest import readers

    monkeypatch.setattr(readers, "ENCODING_CHUNK", chunk)
    good = "назва,x\nШкола №1,33.4\n".encode()
    path = tmp_path / "bad.csv"
    path.write_bytes(good + b"\xff" + "ще".encode())
    with pytest.raises(IngestError) as caught:
        readers._check_encoding(path, None)
    text = str(caught.value)
    assert f"0xff at offset {len(good)}" in text, text
    # a character cut in half at the end of the file is named too
    path.write_bytes(good + "Ш".encode()[:1])
    with pytest.raises(IngestError, match=f"offset {len(good)}"):
        readers._check_encoding(path, None)
    path.write_bytes(good)
    readers._check_encoding(path, None)
    readers._check_encoding(path, "cp1251")  # every byte is some cp1251 character
