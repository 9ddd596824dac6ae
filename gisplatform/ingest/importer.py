"""The import pipeline: read → map columns → validate → COPY (upserts: stage → merge), logged."""

from __future__ import annotations

import csv
import getpass
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from gisplatform.ingest.columns import (
    ColumnPlan,
    build_geometry,
    detect_geometry_columns,
    plan_columns,
)
from gisplatform.ingest.crs import ROMNY, WGS84, AreaOfInterest, parse_crs
from gisplatform.ingest.errors import IngestError, RowProblem, RowsRejected
from gisplatform.ingest.load import (
    BULK_ROWS,
    ImportRecord,
    LoadCounts,
    Loader,
    Mode,
    log_import,
)
from gisplatform.ingest.readers import SourceData, read_source
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
class Prepared:
    """A file read and validated, ready to load."""

    source: SourceData
    plan: ColumnPlan
    values: dict[str, NDArray[np.object_]]
    geometry: NDArray[np.object_]
    problems: list[RowProblem]

    @property
    def valid(self) -> NDArray[np.bool_]:
        """Mask of the rows without problems."""
        mask = np.ones(len(self.geometry), dtype=bool)
        if self.problems:
            mask[np.array([p.row - 1 for p in self.problems])] = False
        return mask


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


def _crs_for(source: SourceData, from_columns: bool, lonlat: bool, given: str | None) -> CRS:
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
    source = read_source(path, options.source_layer, options.encoding)
    n = len(source)
    if n == 0:
        raise IngestError(f"{path.name} has no rows; nothing to import")
    reporter.start("validating", n)
    has_geometry = source.geometry is not None and not shapely.is_missing(source.geometry).all()
    asked = options.dms or options.x or options.y or options.wkt
    columns = (
        detect_geometry_columns(source.columns, options.x, options.y, options.wkt, options.dms)
        if asked or not has_geometry
        else None
    )
    problems: list[RowProblem] = []
    if columns is not None:
        geometry, problems = build_geometry(source.frame, columns)
    elif source.geometry is not None and has_geometry:
        geometry = source.geometry
    else:
        raise IngestError(
            f"{path.name} has no geometry; name its columns with --lon/--lat, --x/--y, "
            "--wkt or --dms-columns LAT,LON"
        )
    crs = _crs_for(
        source, columns is not None, bool(columns and columns.lonlat), options.source_crs
    )
    used = set(columns.names if columns else ())
    plan = plan_columns(
        spec,
        [c for c in source.columns if c not in used],
        path.name,
        options.mapping,
        options.constants,
    )
    values: dict[str, NDArray[np.object_]] = {}
    for name, raw in plan.constants.items():
        try:
            constant = parse_value(spec.field(name), raw)
        except ValueError as exc:
            raise IngestError(f"--set {name}={raw}: {exc}") from exc
        values[name] = np.full(n, constant, dtype=object)
    for name, column in plan.fields.items():
        parsed, found = validate_column(spec.field(name), source.frame[column].to_numpy(object))
        values[name] = parsed
        problems += [RowProblem(p.row, p.field, p.message, p.value, column) for p in found]
        reporter.advance(n // max(len(plan.fields), 1))
    geometry, geometry_problems = check_geometry(
        geometry, spec, crs, options.area, options.repair, options.swap_xy
    )
    problems += geometry_problems
    prepared = Prepared(source, plan, values, geometry, problems)
    if all(k in values for k in spec.natural_key):
        problems += duplicate_keys(spec, values, ~prepared.valid)
    problems.sort(key=lambda p: p.row)
    return prepared


def _columns(prepared: Prepared, names: list[str], rows: NDArray[np.intp]) -> list[list[Any]]:
    """The values of ``rows`` as one list per field, then the geometries as EWKB hex."""
    ewkb = shapely.to_wkb(
        shapely.set_srid(prepared.geometry[rows], 4326), hex=True, include_srid=True
    )
    return [*(prepared.values[n][rows].tolist() for n in names), ewkb.tolist()]


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
            prepared = prepare(spec, path, options, reporter)
            result = _load(conn, spec, prepared, options, record, schema, history_schema, reporter)
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
    conn: psycopg.Connection[Any],
    spec: LayerSpec,
    prepared: Prepared,
    options: ImportOptions,
    record: ImportRecord,
    schema: str,
    history_schema: str,
    reporter: Reporter,
) -> ImportResult:
    problems = list(prepared.problems)
    if problems and not options.skip_invalid:
        raise RowsRejected(problems)
    names = list(prepared.values)
    loader = Loader(conn, spec, schema, names)
    loader.begin(record.actor)
    rows = np.flatnonzero(prepared.valid)
    counts = LoadCounts()
    if options.mode is Mode.UPSERT:
        reporter.start("copying", len(rows))
        numbers = (rows + 1).tolist()
        loader.stage_rows(
            zip(numbers, *_columns(prepared, names, rows), strict=True), reporter.advance
        )
        reporter.start("merging")
        counts = loader.upsert()
    else:
        empty = options.mode is Mode.APPEND and loader.is_empty()
        if options.mode is Mode.APPEND and not empty:
            keys = [prepared.values[k][rows].tolist() for k in spec.natural_key]
            loader.stage_keys(zip((rows + 1).tolist(), *keys, strict=True))
            existing = loader.existing_keys()
            if existing and not options.skip_invalid:
                raise RowsRejected(existing)
            if existing:
                rows = np.setdiff1d(rows, np.array([p.row - 1 for p in existing]))
                problems = sorted(problems + existing, key=lambda p: p.row)
        if options.mode is Mode.REPLACE:
            counts.deleted = loader.delete_all()
        reporter.start("copying", len(rows))
        counts.inserted = loader.insert_rows(
            zip(*_columns(prepared, names, rows), strict=True),
            reporter.advance,
            build_indexes_after=empty and len(rows) >= BULK_ROWS,
        )
    rejected = len({p.row for p in problems})
    summary = {"read": len(prepared.geometry), "rejected": rejected, **vars(counts)}
    status = "dry_run" if options.dry_run else ("partial" if rejected else "succeeded")
    if options.dry_run:
        conn.rollback()
    import_id = log_import(conn, record, status, summary, history_schema)
    conn.commit()
    if options.report is not None and problems:
        write_report(options.report, problems, prepared.source)
    return ImportResult(
        spec.name,
        prepared.source.path,
        len(prepared.geometry),
        rejected,
        counts,
        problems,
        0.0,
        options.dry_run,
        import_id,
    )


def write_report(path: Path, problems: list[RowProblem], source: SourceData | None) -> None:
    """Write the rejected rows as CSV: row, field, column, value, reason, then the row itself."""
    columns = source.columns if source is not None else []
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "field", "column", "value", "reason", *columns])
        for p in problems:
            original = source.frame.iloc[p.row - 1].tolist() if source is not None else []
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
