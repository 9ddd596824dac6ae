"""Validation of a file batch by batch against a layer: parsed values, geometries, problems.

The decisions that hold for the whole file (which column feeds which field, where the
geometry comes from, its CRS) are taken once from its columns and first batch; every
batch is then parsed and checked alike, its problems numbered by file row.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from gisplatform.i18n import message, reason
from gisplatform.ingest.columns import build_geometry, detect_geometry_columns, plan_columns
from gisplatform.ingest.copydata import column_array, csv_data, geometry_array
from gisplatform.ingest.crs import WGS84, parse_crs
from gisplatform.ingest.errors import IngestError, RowProblem
from gisplatform.ingest.options import ImportOptions, Reporter, Silent
from gisplatform.ingest.readers import Source, SourceBatch, open_source
from gisplatform.ingest.validate import (
    check_geometry,
    check_rules,
    duplicate_keys,
    validate_column,
)
from gisplatform.ingest.values import parse_value
from gisplatform.registry import LayerSpec


@dataclass
class CheckedBatch:
    """One batch validated: parsed values, layer-ready geometries, problems (file row numbers)."""

    offset: int
    frame: pd.DataFrame
    values: dict[str, NDArray[np.object_]]
    geometry: NDArray[np.object_]
    problems: list[RowProblem]
    #: rows left out because they lie outside the hromada (``keep_inside``); empty: none
    outside: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: rows loaded with a warning (a cross-field rule of severity "warning")
    warnings: list[RowProblem] = field(default_factory=list)

    def valid_positions(self) -> NDArray[np.intp]:
        """Positions in the batch of the rows without problems and inside the hromada."""
        mask = np.ones(len(self.geometry), dtype=bool)
        if self.problems:
            mask[np.array([p.row - 1 - self.offset for p in self.problems])] = False
        if len(self.outside):
            mask &= ~self.outside
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
    def warnings(self) -> list[RowProblem]:
        """Rows accepted with a warning, by row."""
        return [w for b in self.batches for w in b.warnings if not _left_out(b, w.row)]

    @property
    def outside_rows(self) -> list[int]:
        """File rows (1-based) left out because they lie outside the hromada."""
        return [int(i) + b.offset + 1 for b in self.batches for i in np.flatnonzero(b.outside)]

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


def _left_out(batch: CheckedBatch, row: int) -> bool:
    return bool(len(batch.outside)) and bool(batch.outside[row - 1 - batch.offset])


class BatchValidator:
    """Validation decided once from the file's columns and first rows, applied to each batch."""

    def __init__(self, spec: LayerSpec, source: Source, options: ImportOptions) -> None:
        self.spec = spec
        self.options = options
        self.source = source
        first = next(source.batches, None)
        if first is None or len(first) == 0:
            raise IngestError(message("file_no_rows", file=source.path.name))
        self._first: SourceBatch | None = first
        has_geometry = first.geometry is not None and not shapely.is_missing(first.geometry).all()
        asked = options.dms or options.x or options.y or options.wkt
        self.geometry_columns = (
            detect_geometry_columns(source.columns, options.x, options.y, options.wkt, options.dms)
            if asked or not has_geometry
            else None
        )
        if self.geometry_columns is None and not has_geometry:
            raise IngestError(message("file_no_geometry", file=source.path.name))
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
                raise IngestError(
                    message("option_value", option=f"--set {name}={raw}", message=reason(exc))
                ) from exc

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
        refused, warned = check_rules(self.spec, values, n)
        problems += refused
        outside = np.zeros(0, dtype=bool)
        if o.keep_inside is not None:
            finite = ~np.isnan(shapely.bounds(geometry)).any(axis=1)
            outside = finite & ~o.keep_inside.contains(geometry)
            problems = [p for p in problems if not outside[p.row - 1]]  # left out, not rejected

        def shift(found: list[RowProblem]) -> list[RowProblem]:
            return [
                RowProblem(p.row + offset, p.field, p.message, p.value, p.column) for p in found
            ]

        return CheckedBatch(
            offset, batch.frame, values, geometry, shift(problems), outside, shift(warned)
        )


class KeysSeen:
    """The natural keys of the rows written so far, as 64-bit hashes, to stop before one repeats.

    Eight bytes a row, in sorted runs whose sizes at least double (a handful to search).
    A repeated hash is a repeated key or, very rarely, two keys with the same hash: the
    caller then checks exactly, in the database.
    """

    def __init__(self, natural_key: tuple[str, ...]) -> None:
        self.natural_key = natural_key
        self._runs: list[NDArray[np.uint64]] = []

    def add(self, batch: CheckedBatch) -> bool:
        """Add the keys of the batch's valid rows; False if one was seen before."""
        if not self.natural_key or not all(k in batch.values for k in self.natural_key):
            return True
        positions = batch.valid_positions()
        keys = pd.DataFrame({k: batch.values[k][positions] for k in self.natural_key})
        if keys.empty:
            return True
        hashes = np.sort(pd.util.hash_pandas_object(keys, index=False).to_numpy(np.uint64))
        if len(hashes) > 1 and (hashes[1:] == hashes[:-1]).any():
            return False
        for run in self._runs:
            at = np.searchsorted(run, hashes).clip(max=len(run) - 1)
            if (run[at] == hashes).any():
                return False
        self._runs.append(hashes)
        while len(self._runs) > 1 and len(self._runs[-2]) <= 2 * len(self._runs[-1]):
            last = self._runs.pop()
            self._runs[-1] = np.sort(np.concatenate([self._runs[-1], last]), kind="stable")
        return True


def _crs_for(source: Source, from_columns: bool, lonlat: bool, given: str | None) -> CRS:
    if given is not None:
        return parse_crs(given)
    if from_columns and lonlat:
        return WGS84
    if not from_columns and source.crs is not None:
        return source.crs
    raise IngestError(message("file_no_crs", file=source.path.name))


def prepare(
    spec: LayerSpec, path: Path, options: ImportOptions, reporter: Reporter | None = None
) -> Prepared:
    """Read ``path`` and validate every row against ``spec`` (no database needed)."""
    reporter = reporter or Silent()
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
