"""The import pipeline: read → map columns → validate → COPY (upserts: stage → merge), logged.

Files are read, validated and written batch by batch, so that the database works on one
batch while the next is parsed."""

from __future__ import annotations

import bisect
import csv
import getpass
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from gisplatform.ingest.columns import (
    build_geometry,
    detect_geometry_columns,
    plan_columns,
)
from gisplatform.ingest.copydata import column_array, csv_data, geometry_array
from gisplatform.ingest.crs import ROMNY, WGS84, AreaOfInterest, parse_crs
from gisplatform.ingest.errors import IngestError, RowProblem, RowsRejected
from gisplatform.ingest.load import (
    ImportRecord,
    LoadCounts,
    Loader,
    Mode,
    log_import,
)
from gisplatform.ingest.readers import Source, SourceBatch, open_source
from gisplatform.ingest.validate import check_geometry, duplicate_keys, validate_column
from gisplatform.ingest.values import parse_value
from gisplatform.registry import LayerSpec


class Reporter(Protocol):
    """Receives progress: a new stage with an optional total, then advances."""

    def start(self, task: str, total: int | None = None) -> None: ...

    def advance(self, amount: int) -> None: ...


class _Silent:
    def start(self, task: str, total: int | None = None) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


@dataclass(frozen=True)
class ImportOptions:
    """Everything an import can be told besides the layer and the file."""

    mode: Mode = Mode.APPEND
    source_layer: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    source_crs: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    repair: bool = False
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    dms: tuple[str, str] | None = None
    encoding: str | None = None
    area: AreaOfInterest | None = ROMNY
    swap_xy: bool = False
    report: Path | None = None
    actor: str | None = None


@dataclass
class CheckedBatch:
    """One batch validated: parsed values, layer-ready geometries, problems (file row numbers)."""

    offset: int
    frame: pd.DataFrame
    values: dict[str, NDArray[np.object_]]
    geometry: NDArray[np.object_]
    problems: list[RowProblem]

    def valid_positions(self) -> NDArray[np.intp]:
        """Positions in the batch of the rows without problems."""
        mask = np.ones(len(self.geometry), dtype=bool)
        if self.problems:
            mask[np.array([p.row - 1 - self.offset for p in self.problems])] = False
        return np.flatnonzero(mask)

    def copy_data(
        self, spec: LayerSpec, names: list[str], positions: NDArray[np.intp], numbered: bool = False
    ) -> bytes:
        """CSV rows ``([row number,] *values, geometry as EWKB hex)`` of ``positions``."""
        columns = [column_array(spec.field(n).type, self.values[n][positions]) for n in names]
        if numbered:
            columns.insert(0, pa.array(positions + self.offset + 1))
        columns.append(geometry_array(self.geometry[positions]))
        return csv_data(columns)

    def key_data(self, spec: LayerSpec, positions: NDArray[np.intp]) -> bytes:
        """CSV rows ``(row number, *natural key)`` of ``positions``."""
        keys = [
            column_array(spec.field(k).type, self.values[k][positions]) for k in spec.natural_key
        ]
        return csv_data([pa.array(positions + self.offset + 1), *keys])


@dataclass
class Prepared:
    """A whole file read and validated: its batches, in file order."""

    batches: list[CheckedBatch]
    names: list[str]
    #: Problems between rows: keys twice in the file or already in the layer.
    key_problems: list[RowProblem] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Rows in the file."""
        return sum(len(b.geometry) for b in self.batches)

    @property
    def problems(self) -> list[RowProblem]:
        """Every problem found, by row."""
        found = [p for b in self.batches for p in b.problems] + self.key_problems
        return sorted(found, key=lambda p: p.row)

    def valid_rows(self) -> Iterator[tuple[CheckedBatch, NDArray[np.intp]]]:
        """Each batch with the positions of its rows that have no problem."""
        duplicated = {p.row for p in self.key_problems}
        for batch in self.batches:
            positions = batch.valid_positions()
            if duplicated:
                keep = ~np.isin(positions + batch.offset + 1, list(duplicated))
                positions = positions[keep]
            yield batch, positions

    def find_duplicates(self, spec: LayerSpec) -> None:
        """Reject rows whose natural key occurs twice in the file (both, or all, of them)."""
        if not self.batches or not all(k in self.names for k in spec.natural_key):
            return
        values = {k: np.concatenate([b.values[k] for b in self.batches]) for k in spec.natural_key}
        rejected = np.ones(self.read, dtype=bool)
        for batch in self.batches:
            rejected[batch.valid_positions() + batch.offset] = False
        self.key_problems += duplicate_keys(spec, values, rejected)

    def original_row(self, row: int) -> list[Any]:
        """The values of file row ``row`` (1-based) as read."""
        index = bisect.bisect_right([b.offset for b in self.batches], row - 1) - 1
        batch = self.batches[index]
        return list(batch.frame.iloc[row - 1 - batch.offset].tolist())

    @property
    def columns(self) -> list[str]:
        """The file's attribute columns."""
        return [str(c) for c in self.batches[0].frame.columns] if self.batches else []


class BatchValidator:
    """Validation decided once from the file's columns and first rows, applied to each batch."""

    def __init__(self, spec: LayerSpec, source: Source, options: ImportOptions) -> None:
        self.spec = spec
        self.options = options
        self.source = source
        first = next(source.batches, None)
        if first is None or len(first) == 0:
            raise IngestError(f"{source.path.name} has no rows; nothing to import")
        self._first: SourceBatch | None = first
        has_geometry = first.geometry is not None and not shapely.is_missing(first.geometry).all()
        asked = options.dms or options.x or options.y or options.wkt
        self.geometry_columns = (
            detect_geometry_columns(source.columns, options.x, options.y, options.wkt, options.dms)
            if asked or not has_geometry
            else None
        )
        if self.geometry_columns is None and not has_geometry:
            raise IngestError(
                f"{source.path.name} has no geometry; name its columns with --lon/--lat, "
                "--x/--y, --wkt or --dms-columns LAT,LON"
            )
        self.crs = _crs_for(
            source,
            self.geometry_columns is not None,
            bool(self.geometry_columns and self.geometry_columns.lonlat),
            options.source_crs,
        )
        used = set(self.geometry_columns.names if self.geometry_columns else ())
        self.plan = plan_columns(
            spec,
            [c for c in source.columns if c not in used],
            source.path.name,
            options.mapping,
            options.constants,
        )
        self.constants: dict[str, Any] = {}
        for name, raw in self.plan.constants.items():
            try:
                self.constants[name] = parse_value(spec.field(name), raw)
            except ValueError as exc:
                raise IngestError(f"--set {name}={raw}: {exc}") from exc

    @property
    def names(self) -> list[str]:
        """The layer fields this file gives values for."""
        return [*self.constants, *self.plan.fields]

    def __iter__(self) -> Iterator[CheckedBatch]:
        first, self._first = self._first, None
        if first is None:
            raise RuntimeError("a file's batches can be validated only once")
        yield self.check(first)
        for batch in self.source.batches:
            yield self.check(batch)

    def check(self, batch: SourceBatch) -> CheckedBatch:
        """Parse and validate one batch; problems carry file row numbers."""
        n, offset = len(batch), batch.offset
        problems: list[RowProblem] = []
        if self.geometry_columns is not None:
            geometry, problems = build_geometry(batch.frame, self.geometry_columns)
        else:
            assert batch.geometry is not None
            geometry = batch.geometry
        values = {name: np.full(n, c, dtype=object) for name, c in self.constants.items()}
        for name, column in self.plan.fields.items():
            raw = batch.frame[column].to_numpy(object)
            values[name], found = validate_column(self.spec.field(name), raw)
            problems += [RowProblem(p.row, p.field, p.message, p.value, column) for p in found]
        o = self.options
        geometry, geometry_problems = check_geometry(
            geometry, self.spec, self.crs, o.area, o.repair, o.swap_xy
        )
        problems += geometry_problems
        shifted = [
            RowProblem(p.row + offset, p.field, p.message, p.value, p.column) for p in problems
        ]
        return CheckedBatch(offset, batch.frame, values, geometry, shifted)


@dataclass
class ImportResult:
    """The outcome of one import."""

    layer: str
    file: Path
    read: int
    rejected: int
    counts: LoadCounts
    problems: list[RowProblem]
    seconds: float
    dry_run: bool
    import_id: int | None = None

    @property
    def valid(self) -> int:
        """Rows that passed validation and were loaded (or would have been)."""
        return self.read - self.rejected

    @property
    def exit_code(self) -> int:
        """0 when every row was loaded, 2 when some were rejected (partial success)."""
        return 2 if self.rejected else 0


def _crs_for(source: Source, from_columns: bool, lonlat: bool, given: str | None) -> CRS:
    if given is not None:
        return parse_crs(given)
    if from_columns and lonlat:
        return WGS84
    if not from_columns and source.crs is not None:
        return source.crs
    raise IngestError(f"no CRS in {source.path.name}; give --source-crs (e.g. EPSG:5564)")


def prepare(
    spec: LayerSpec, path: Path, options: ImportOptions, reporter: Reporter | None = None
) -> Prepared:
    """Read ``path`` and validate every row against ``spec`` (no database needed)."""
    reporter = reporter or _Silent()
    reporter.start(f"reading {path.name}")
    with open_source(path, options.source_layer, options.encoding) as source:
        validator = BatchValidator(spec, source, options)
        reporter.start("validating")
        batches = []
        for batch in validator:
            batches.append(batch)
            reporter.advance(len(batch.geometry))
    prepared = Prepared(batches, validator.names)
    prepared.find_duplicates(spec)
    return prepared


def import_file(
    url: str,
    spec: LayerSpec,
    path: Path,
    options: ImportOptions,
    schema: str = "gis",
    history_schema: str = "history",
    reporter: Reporter | None = None,
) -> ImportResult:
    """Import ``path`` into layer ``spec``: all valid rows or nothing.

    Raises :class:`RowsRejected` when rows are invalid and ``skip_invalid`` is off,
    :class:`IngestError` for file-level problems; the layer is unchanged then.
    """
    reporter = reporter or _Silent()
    started = time.perf_counter()
    record = ImportRecord(
        spec.name,
        datetime.now(UTC),
        options.actor or getpass.getuser(),
        path.name,
        _sha256(path),
        options.mode.value,
        options.dry_run,
    )
    if options.skip_invalid and options.report is None:
        raise IngestError("--skip-invalid needs --report FILE to list the rejected rows")
    with psycopg.connect(url, application_name="gisplatform-import") as conn:
        try:
            reporter.start(f"reading {path.name}")
            with open_source(path, options.source_layer, options.encoding) as source:
                validator = BatchValidator(spec, source, options)
                loader = Loader(conn, spec, schema, validator.names)
                loader.begin(record.actor)
                prepared, counts = _load(loader, validator, options, reporter)
            result = _finish(conn, spec, path, prepared, counts, options, record, history_schema)
        except BaseException as exc:
            conn.rollback()
            problems = exc.problems if isinstance(exc, RowsRejected) else []
            if options.report is not None and problems:
                write_report(options.report, problems, None)
            status = "rejected" if problems else "failed"
            if not isinstance(exc, KeyboardInterrupt | psycopg.OperationalError):
                log_import(
                    conn,
                    record,
                    status,
                    {"rejected_rows": len({p.row for p in problems})},
                    history_schema,
                )
                conn.commit()
            raise
    result.seconds = time.perf_counter() - started
    return result


def _load(
    loader: Loader, validator: BatchValidator, options: ImportOptions, reporter: Reporter
) -> tuple[Prepared, LoadCounts]:
    """Validate the batches and write the valid rows as the mode says, in one transaction.

    Appends to an empty layer and replacements COPY each batch into the layer as soon as
    it is validated, so that the database writes while the next batch is read; the
    first problem stops the writing (the transaction is rolled back afterwards) unless
    invalid rows are to be skipped. Other modes need every key first, so they load
    after the last batch.
    """
    counts = LoadCounts()
    mode, spec = options.mode, validator.spec
    streamed = mode is Mode.REPLACE or (mode is Mode.APPEND and loader.is_empty())
    if mode is Mode.REPLACE:
        counts.deleted = loader.delete_all()
    reporter.start("validating and loading" if streamed else "validating")
    prepared = Prepared([], validator.names)
    if streamed:
        loader.conn.execute("SAVEPOINT gisplatform_rows")
        writing, seen = True, _KeysSeen(spec.natural_key)
        with loader.copy_rows(build_indexes_after=mode is Mode.APPEND) as write:
            for batch in validator:
                prepared.batches.append(batch)
                writing = writing and (options.skip_invalid or not batch.problems)
                writing = writing and seen.add(batch)  # a repeated key would break the COPY
                if writing:
                    positions = batch.valid_positions()
                    write(batch.copy_data(spec, prepared.names, positions))
                    counts.inserted += len(positions)
                reporter.advance(len(batch.geometry))
    else:
        for batch in validator:
            prepared.batches.append(batch)
            reporter.advance(len(batch.geometry))
    prepared.find_duplicates(spec)
    if prepared.problems and not options.skip_invalid:
        raise RowsRejected(prepared.problems)
    if streamed and prepared.key_problems:  # rows already written: write the valid ones again
        loader.conn.execute("ROLLBACK TO SAVEPOINT gisplatform_rows")
        counts.inserted = _insert(loader, prepared, reporter)
    elif mode is Mode.UPSERT:
        reporter.start("merging")
        with loader.stage_rows() as write:
            for batch, positions in prepared.valid_rows():
                write(batch.copy_data(spec, prepared.names, positions, numbered=True))
        counts = loader.upsert()
    elif not streamed:
        existing = _existing_keys(loader, prepared)
        if existing and not options.skip_invalid:
            raise RowsRejected(existing)
        prepared.key_problems += existing
        counts.inserted = _insert(loader, prepared, reporter)
    return prepared, counts


class _KeysSeen:
    """The natural keys of the rows written so far, to stop before one repeats."""

    def __init__(self, natural_key: tuple[str, ...]) -> None:
        self.natural_key = natural_key
        self.keys: set[tuple[Any, ...]] = set()

    def add(self, batch: CheckedBatch) -> bool:
        """Add the keys of the batch's valid rows; False if one was seen before."""
        if not all(k in batch.values for k in self.natural_key):
            return True
        positions = batch.valid_positions()
        columns = [batch.values[k][positions].tolist() for k in self.natural_key]
        keys = list(zip(*columns, strict=True))
        fresh = set(keys)
        if len(fresh) < len(keys) or not self.keys.isdisjoint(fresh):
            return False
        self.keys |= fresh
        return True


def _insert(loader: Loader, prepared: Prepared, reporter: Reporter) -> int:
    reporter.start("loading")
    inserted = 0
    with loader.copy_rows() as write:
        for batch, positions in prepared.valid_rows():
            write(batch.copy_data(loader.spec, prepared.names, positions))
            inserted += len(positions)
    return inserted


def _existing_keys(loader: Loader, prepared: Prepared) -> list[RowProblem]:
    """Rows whose natural key is already in the layer."""
    with loader.stage_keys() as write:
        for batch, positions in prepared.valid_rows():
            write(batch.key_data(loader.spec, positions))
    return loader.existing_keys()


def _finish(
    conn: psycopg.Connection[Any],
    spec: LayerSpec,
    path: Path,
    prepared: Prepared,
    counts: LoadCounts,
    options: ImportOptions,
    record: ImportRecord,
    history_schema: str,
) -> ImportResult:
    """Log the import, commit (roll back a dry run) and write the report."""
    problems = prepared.problems
    rejected = len({p.row for p in problems})
    summary = {"read": prepared.read, "rejected": rejected, **vars(counts)}
    status = "dry_run" if options.dry_run else ("partial" if rejected else "succeeded")
    if options.dry_run:
        conn.rollback()
    import_id = log_import(conn, record, status, summary, history_schema)
    conn.commit()
    if options.report is not None and problems:
        write_report(options.report, problems, prepared)
    return ImportResult(
        spec.name,
        path,
        prepared.read,
        rejected,
        counts,
        problems,
        0.0,
        options.dry_run,
        import_id,
    )


def write_report(path: Path, problems: list[RowProblem], prepared: Prepared | None) -> None:
    """Write the rejected rows as CSV: row, field, column, value, reason, then the row itself."""
    columns = prepared.columns if prepared is not None else []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "field", "column", "value", "reason", *columns])
        for p in problems:
            original = prepared.original_row(p.row) if prepared is not None else []
            writer.writerow(
                [
                    p.row,
                    p.field,
                    p.column,
                    p.value,
                    p.message,
                    *("" if v is None else v for v in original),
                ]
            )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
