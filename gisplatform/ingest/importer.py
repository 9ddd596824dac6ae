"""The import pipeline: read → map columns → validate → COPY (upserts: stage → merge), logged.

Files are read, validated and written batch by batch, so that the database works on one
batch while the next is parsed, and an import holds only a few batches in memory however
large the file: one being read ahead, one being validated, one being written. Rejected
rows go to a report spool on disk and the keys written so far are kept as 8-byte hashes.
Appends to an empty layer and replacements COPY straight into the layer; other modes, and
a file whose keys repeat, COPY into a staging table, where the database finds the keys
repeated in the file or already in the layer, and write from it.

The import's session waits at most ``ImportTimeouts.lock_s`` for the layer's lock and
sets a statement and an idle-in-transaction timeout, so that neither a busy layer nor a
stalled import blocks anybody for long.
"""

from __future__ import annotations

import getpass
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import errors as pg_errors

from gisplatform.i18n import message
from gisplatform.ingest.batches import BatchValidator, CheckedBatch, KeysSeen
from gisplatform.ingest.errors import IngestError, RowProblem, RowsRejected
from gisplatform.ingest.load import ImportRecord, LoadCounts, Loader, Mode, log_import
from gisplatform.ingest.options import ImportOptions, ImportTimeouts, Reporter, Silent
from gisplatform.ingest.readers import open_source
from gisplatform.ingest.report import ReportSpool, report_line
from gisplatform.ingest.validate import GEOMETRY
from gisplatform.registry import LayerSpec

__all__ = ["ImportResult", "import_file"]


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


@dataclass
class Findings:
    """What a pass over the file found; the rows themselves are not kept (see ReportSpool)."""

    spool: ReportSpool
    outside_message: Any
    read: int = 0
    outside: int = 0
    #: problems of single rows, in file order
    problems: list[RowProblem] = field(default_factory=list)
    #: keys repeated in the file or already in the layer, in file order
    key_problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)

    def take(self, batch: CheckedBatch) -> None:
        """Note one validated batch; its problem and left-out rows go to the spool."""
        self.read += len(batch.geometry)
        self.problems += batch.problems
        left_out = set((np.flatnonzero(batch.outside) + batch.offset + 1).tolist())
        self.outside += len(left_out)
        self.warnings += [w for w in batch.warnings if w.row not in left_out]
        outside = [RowProblem(row, GEOMETRY, self.outside_message) for row in sorted(left_out)]
        self.spool.add([*batch.problems, *outside], batch.frame, batch.offset)

    def restart(self) -> None:
        """Forget everything: the file is read again from the start."""
        self.spool.clear()
        self.read = self.outside = 0
        self.problems, self.key_problems, self.warnings = [], [], []

    @property
    def all_problems(self) -> list[RowProblem]:
        """Every problem, by row."""
        return sorted(self.problems + self.key_problems, key=lambda p: p.row)

    @property
    def rejected(self) -> int:
        """How many rows have a problem."""
        return len({p.row for p in self.problems} | {p.row for p in self.key_problems})


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
    :class:`IngestError` for file-level problems and when the layer stays locked by
    others or a timeout ends the import; the layer is unchanged then.
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
    where = options.keep_inside.description if options.keep_inside else message("the_hromada")
    with (
        psycopg.connect(url, application_name="gisplatform-import") as conn,
        ReportSpool() as spool,
    ):
        _limit_session(conn, options.timeouts)
        findings = Findings(spool, message("outside_hromada", where=where))
        try:
            try:
                counts = _load(conn, spec, schema, path, options, reporter, findings)
            except pg_errors.LockNotAvailable as exc:
                seconds = f"{options.timeouts.lock_s:g}"
                raise IngestError(
                    message("import_layer_locked", layer=spec.name, seconds=seconds)
                ) from exc
            except pg_errors.QueryCanceled as exc:
                seconds = f"{options.timeouts.statement_s:g}"
                raise IngestError(
                    message("import_timed_out", layer=spec.name, seconds=seconds)
                ) from exc
            result = _finish(conn, spec, path, findings, counts, options, record, history_schema)
        except BaseException as exc:
            problems = exc.problems if isinstance(exc, RowsRejected) else []
            if options.report is not None and problems:
                _write_report(options.report, path, options, findings)
            if not isinstance(exc, KeyboardInterrupt) and not conn.closed:
                status = "rejected" if problems else "failed"
                _log_failure(conn, record, status, len({p.row for p in problems}), history_schema)
            raise
    result.seconds = time.perf_counter() - started
    return result


def _log_failure(
    conn: psycopg.Connection[Any], record: ImportRecord, status: str, rows: int, schema: str
) -> None:
    """Record a failed or rejected import (``gisplatform_import_failures`` counts them)."""
    try:
        conn.rollback()
        log_import(conn, record, status, {"rejected_rows": rows}, schema)
        conn.commit()
    except psycopg.Error:  # the session is gone: the original error says more
        pass


def _limit_session(conn: psycopg.Connection[Any], timeouts: ImportTimeouts) -> None:
    """Set the session's lock, statement and idle-in-transaction timeouts (milliseconds)."""
    conn.execute(
        "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false),"
        " set_config('idle_in_transaction_session_timeout', %s, false)",
        tuple(
            str(round(s * 1000)) for s in (timeouts.lock_s, timeouts.statement_s, timeouts.idle_s)
        ),
    )
    conn.commit()


@contextmanager
def _validator(path: Path, spec: LayerSpec, options: ImportOptions) -> Iterator[BatchValidator]:
    """The file opened and its validation decided; iterate it for the checked batches."""
    with open_source(path, options.source_layer, options.encoding) as source:
        yield BatchValidator(spec, source, options)


def _load(
    conn: psycopg.Connection[Any],
    spec: LayerSpec,
    schema: str,
    path: Path,
    options: ImportOptions,
    reporter: Reporter,
    findings: Findings,
) -> LoadCounts:
    """Validate the batches and write the valid rows as the mode says, in one transaction.

    Appends to an empty layer and replacements COPY each batch into the layer as soon as
    it is validated; the first problem stops the writing (the transaction is rolled back
    afterwards) unless invalid rows are to be skipped. A key seen before stops it too: the
    file is then read again and staged (:func:`_staged`), as in the other modes.
    """
    with _validator(path, spec, options) as validator:
        loader = Loader(conn, spec, schema, validator.names)
        loader.begin(options.actor or getpass.getuser())
        counts = LoadCounts()
        mode = options.mode
        if not (mode is Mode.REPLACE or (mode is Mode.APPEND and loader.is_empty())):
            return _staged(loader, validator, options, reporter, findings, counts)
        if mode is Mode.REPLACE:
            counts.deleted = loader.delete_all()
        reporter.start("validating and loading")
        conn.execute("SAVEPOINT gisplatform_rows")
        seen = KeysSeen(spec.natural_key)
        writing = repeated = False
        with loader.copy_rows(build_indexes_after=mode is Mode.APPEND) as write:
            writing = True
            for batch in validator:
                findings.take(batch)
                writing = writing and (options.skip_invalid or not batch.problems)
                if not repeated and not seen.add(batch):  # it would break the COPY
                    writing, repeated = False, True
                if writing:
                    positions = batch.valid_positions()
                    write(batch.copy_data(spec, loader.columns, positions))
                    counts.inserted += len(positions)
                reporter.advance(len(batch.geometry))
    if findings.problems and not options.skip_invalid and not repeated:
        raise RowsRejected(findings.all_problems)
    if not repeated:
        return counts
    conn.execute("ROLLBACK TO SAVEPOINT gisplatform_rows")
    findings.restart()
    reporter.start(f"reading {path.name} again")
    with _validator(path, spec, options) as validator:
        return _staged(loader, validator, options, reporter, findings, counts)


def _staged(
    loader: Loader,
    validator: BatchValidator,
    options: ImportOptions,
    reporter: Reporter,
    findings: Findings,
    counts: LoadCounts,
) -> LoadCounts:
    """Stage the valid rows, let the database find repeated and existing keys, write the rest."""
    spec = loader.spec
    reporter.start("validating and staging")
    with loader.stage_rows() as write:
        for batch in validator:
            findings.take(batch)
            positions = batch.valid_positions()
            write(batch.copy_data(spec, loader.columns, positions, numbered=True))
            reporter.advance(len(batch.geometry))
    keyed = spec.natural_key and all(k in loader.columns for k in spec.natural_key)
    if keyed:
        findings.key_problems = loader.staged_duplicates()
        if options.mode is Mode.APPEND:
            existing = loader.existing_keys()
            findings.key_problems = sorted(findings.key_problems + existing, key=lambda p: p.row)
    if findings.rejected and not options.skip_invalid:
        raise RowsRejected(findings.all_problems)
    loader.unstage(sorted({p.row for p in findings.key_problems}))
    if options.mode is Mode.UPSERT:
        reporter.start("merging")
        merged = loader.upsert()
        merged.deleted = counts.deleted
        return merged
    reporter.start("loading")
    counts.inserted = loader.insert_staged()
    return counts


def _finish(
    conn: psycopg.Connection[Any],
    spec: LayerSpec,
    path: Path,
    findings: Findings,
    counts: LoadCounts,
    options: ImportOptions,
    record: ImportRecord,
    history_schema: str,
) -> ImportResult:
    """Log the import, commit (roll back a dry run) and write the report."""
    rejected = findings.rejected
    summary = {
        "read": findings.read,
        "rejected": rejected,
        "outside": findings.outside,
        **vars(counts),
    }
    status = "dry_run" if options.dry_run else ("partial" if rejected else "succeeded")
    if options.dry_run:
        conn.rollback()
    import_id = log_import(conn, record, status, summary, history_schema)
    conn.commit()
    if options.report is not None and (rejected or findings.outside):
        _write_report(options.report, path, options, findings)
    return ImportResult(
        spec.name,
        path,
        findings.read,
        rejected,
        counts,
        findings.all_problems,
        0.0,
        options.dry_run,
        import_id,
        findings.outside,
        findings.warnings,
    )


def _write_report(report: Path, path: Path, options: ImportOptions, findings: Findings) -> None:
    """The spooled rows, and those with key problems read again from the file."""
    wanted = {p.row for p in findings.key_problems}
    originals: dict[int, list[Any]] = {}
    if wanted:
        rows = np.array(sorted(wanted))
        with open_source(path, options.source_layer, options.encoding) as source:
            for batch in source.batches:
                first, last = batch.offset + 1, batch.offset + len(batch)
                for row in rows[(rows >= first) & (rows <= last)].tolist():
                    originals[row] = batch.frame.iloc[row - 1 - batch.offset].tolist()
    later = [report_line(p, originals.get(p.row, [])) for p in findings.key_problems]
    findings.spool.write(report, later)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
