"""The report of an import: the rows not loaded, with why and their values as read.

Problems are found batch by batch; each rejected (or left-out) row is written at once,
with its original values, to a spool file on disk, so that an import holds no rows of
earlier batches in memory however many are rejected. The report is the spool merged
in row order with the problems found between rows at the end (keys repeated in the
file or already in the layer), whose values are read again from the file.
"""

from __future__ import annotations

import csv
import heapq
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import pandas as pd

from gisplatform.ingest.errors import RowProblem

__all__ = ["ReportSpool", "report_line"]


def report_line(problem: RowProblem, original: Sequence[Any]) -> list[Any]:
    """One CSV line: row, field, column, value, reason, then the row's values as read."""
    return [
        problem.row,
        problem.field,
        problem.column,
        problem.value,
        problem.message,
        *("" if _missing(v) else v for v in original),
    ]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


class ReportSpool:
    """Report lines in file-row order, on disk until :meth:`write`."""

    def __init__(self) -> None:
        # closed by __exit__: the spool lives as long as its import
        self._file: IO[str] = tempfile.TemporaryFile(  # noqa: SIM115
            "w+", encoding="utf-8", newline="", prefix="gisplatform-report-"
        )
        self._writer = csv.writer(self._file)
        self.columns: list[str] = []
        self.lines = 0

    def __enter__(self) -> ReportSpool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._file.close()

    def clear(self) -> None:
        """Forget what was spooled (the file is being read again from the start)."""
        self._file.seek(0)
        self._file.truncate()
        self.lines = 0

    def add(self, problems: Iterable[RowProblem], frame: pd.DataFrame, offset: int) -> None:
        """Spool ``problems`` of one batch (rows ``offset + 1 …``), with the rows as read."""
        if not self.columns:
            self.columns = [str(c) for c in frame.columns]
        for problem in sorted(problems, key=lambda p: p.row):
            original = frame.iloc[problem.row - 1 - offset].tolist()
            self._writer.writerow(report_line(problem, original))
            self.lines += 1

    def _spooled(self) -> Iterator[list[str]]:
        self._file.flush()
        self._file.seek(0)
        yield from csv.reader(self._file)

    def write(self, path: Path, later: Iterable[list[Any]] = ()) -> None:
        """Write the report: the spooled lines merged by row with ``later`` ones (row-sorted)."""
        merged = heapq.merge(self._spooled(), later, key=lambda line: int(line[0]))
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "field", "column", "value", "reason", *self.columns])
            writer.writerows(merged)
        self._file.seek(0, 2)
