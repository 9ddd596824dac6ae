"""The import pipeline: read → map columns → validate → COPY (upserts: stage → merge), logged.

Files are read, validated and written batch by batch, so that the database works on one
batch while the next is parsed.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from gisplatform.i18n import message
from gisplatform.ingest.batches import BatchValidator, KeysSeen, Prepared
from gisplatform.ingest.errors import IngestError, RowProblem, RowsRejected
from gisplatform.ingest.load import ImportRecord, LoadCounts, Loader, Mode, log_import
from gisplatform.ingest.options import ImportOptions, Reporter, Silent
from gisplatform.ingest.readers import open_source
from gisplatform.ingest.validate import GEOMETRY
from gisplatform.registry import LayerSpec

__all__ = ["ImportResult", "import_file", "write_report"]


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
    #: rows left out because they lie outside the hromada (``--inside-hromada``)
    outside: int = 0
    #: rows loaded with a warning (cross-field rules of severity "warning")
    warnings: list[RowProblem] = field(default_factory=list)

    @property
    def valid(self) -> int:
        """Rows that passed validation and were loaded (or would have been)."""
        return self.read - self.rejected - self.outside

    @property
    def exit_code(self) -> int:
        """0 when every row was loaded, 2 when some were rejected (partial success)."""
        return 2 if self.rejected else 0


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
    reporter = reporter or Silent()
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
        raise IngestError(message("skip_invalid_needs_report"))
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
    writing = streamed  # still writing: no batch so far stopped the stream
    if streamed:
        loader.conn.execute("SAVEPOINT gisplatform_rows")
        seen = KeysSeen(spec.natural_key)
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
    if not writing:  # every key was seen once when the stream wrote every batch
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
    outside = prepared.outside_rows
    summary = {"read": prepared.read, "rejected": rejected, "outside": len(outside), **vars(counts)}
    status = "dry_run" if options.dry_run else ("partial" if rejected else "succeeded")
    if options.dry_run:
        conn.rollback()
    import_id = log_import(conn, record, status, summary, history_schema)
    conn.commit()
    if options.report is not None and (problems or outside):
        where = options.keep_inside.description if options.keep_inside else message("the_hromada")
        left_out = [
            RowProblem(row, GEOMETRY, message("outside_hromada", where=where)) for row in outside
        ]
        write_report(options.report, sorted(problems + left_out, key=lambda p: p.row), prepared)
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
        len(outside),
        prepared.warnings,
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
