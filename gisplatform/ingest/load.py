"""Writing validated rows: COPY into a temporary staging table, then one merge.

Everything happens in a single transaction, so a failure of any kind (a bad
row found by the database, Ctrl-C, a killed process, a lost connection)
leaves the layer exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql

from gisplatform.ingest.errors import RowProblem
from gisplatform.registry import LayerSpec

STAGE = "gisplatform_import_stage"
ROW = "_row"
Progress = Callable[[int], None]


class Mode(StrEnum):
    """How imported rows meet the rows already in the layer."""

    APPEND = "append"
    UPSERT = "upsert"
    REPLACE = "replace"


@dataclass
class LoadCounts:
    """What the merge did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0


@dataclass(frozen=True)
class ImportRecord:
    """One line of ``history.imports``."""

    layer: str
    started_at: datetime
    actor: str
    file_name: str
    file_sha256: str
    mode: str
    dry_run: bool


def log_import(
    conn: psycopg.Connection[Any],
    record: ImportRecord,
    status: str,
    counts: dict[str, int],
    schema: str = "history",
) -> int:
    """Insert one import record and return its id."""
    template = sql.SQL(
        "INSERT INTO {table} (layer, started_at, finished_at, actor, file_name, file_sha256,"
        " mode, dry_run, status, counts) VALUES (%s, %s, clock_timestamp(), %s, %s, %s, %s, %s,"
        " %s, %s) RETURNING id"
    )
    query = template.format(table=sql.Identifier(schema, "imports"))
    row = conn.execute(
        query,
        (
            record.layer,
            record.started_at,
            record.actor,
            record.file_name,
            record.file_sha256,
            record.mode,
            record.dry_run,
            status,
            json.dumps(counts),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


class Loader:
    """Stages rows and merges them into one layer table inside the caller's transaction."""

    def __init__(
        self, conn: psycopg.Connection[Any], spec: LayerSpec, schema: str, columns: Sequence[str]
    ) -> None:
        self.conn = conn
        self.spec = spec
        self.table = sql.Identifier(schema, spec.name)
        self.columns = list(columns)
        self.stage = sql.Identifier(STAGE)

    def _cols(self, prefix: str | None = None) -> sql.Composable:
        names = [*self.columns, "geom"]
        if prefix is None:
            return sql.SQL(", ").join(sql.Identifier(c) for c in names)
        return sql.SQL(", ").join(sql.Identifier(prefix, c) for c in names)

    def begin(self, actor: str) -> None:
        """Record the actor for the history trigger and lock the layer against other writers."""
        self.conn.execute("SELECT set_config('gisplatform.actor', %s, true)", (actor,))
        self.conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(self.table))

    def stage_rows(
        self,
        rows: Iterable[Sequence[object]],
        progress: Progress | None = None,
        every: int = 10_000,
    ) -> None:
        """COPY ``(_row, *columns, geom_ewkb_hex)`` tuples into a temporary staging table."""
        self.conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT 0 AS {row}, {cols} "
                "FROM {table} WITH NO DATA"
            ).format(stage=self.stage, row=sql.Identifier(ROW), cols=self._cols(), table=self.table)
        )
        copy = sql.SQL("COPY {} ({}, {}) FROM STDIN").format(
            self.stage, sql.Identifier(ROW), self._cols()
        )
        with self.conn.cursor().copy(copy) as cp:
            for n, row in enumerate(rows, 1):
                cp.write_row(row)
                if progress is not None and n % every == 0:
                    progress(every)

    def existing_keys(self) -> list[RowProblem]:
        """Staged rows whose natural key is already in the layer (append mode)."""
        keys = self.spec.natural_key
        match = sql.SQL(" AND ").join(
            sql.SQL("t.{k} = s.{k}").format(k=sql.Identifier(k)) for k in keys
        )
        query = sql.SQL(
            "SELECT s.{row}, {keys} FROM {stage} s JOIN {table} t ON {match} ORDER BY s.{row}"
        ).format(
            row=sql.Identifier(ROW),
            keys=sql.SQL(", ").join(sql.Identifier("s", k) for k in keys),
            stage=self.stage,
            table=self.table,
            match=match,
        )
        problems = []
        for row_no, *values in self.conn.execute(query):
            shown = ", ".join(f"{k}={v!r}" for k, v in zip(keys, values, strict=True))
            problems.append(
                RowProblem(
                    int(row_no),
                    keys[0],
                    f"natural key ({shown}) already exists in the layer "
                    "(use --mode upsert to update it)",
                )
            )
        return problems

    def drop_rows(self, rows: Iterable[int]) -> None:
        """Remove rejected rows from the staging table."""
        self.conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(self.stage, sql.Identifier(ROW)),
            (list(rows),),
        )

    def merge(self, mode: Mode) -> LoadCounts:
        """Apply the staged rows to the layer table."""
        counts = LoadCounts()
        if mode is Mode.REPLACE:
            delete = sql.SQL("DELETE FROM {}").format(self.table)
            counts.deleted = self.conn.execute(delete).rowcount
        insert = sql.SQL(
            "INSERT INTO {table} AS t ({cols}) SELECT {cols} FROM {stage} ORDER BY {row}"
        ).format(table=self.table, cols=self._cols(), stage=self.stage, row=sql.Identifier(ROW))
        if mode is not Mode.UPSERT:
            counts.inserted = self.conn.execute(insert).rowcount
            return counts
        changed = sql.SQL("({}) IS DISTINCT FROM ({})").format(
            self._cols("t"), self._cols("excluded")
        )
        upsert = sql.SQL(
            "WITH m AS ({insert} ON CONFLICT ({keys}) DO UPDATE SET ({cols}) = ROW({new}) "
            "WHERE {changed} RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), "
            "(SELECT count(*) FROM {stage}) FROM m"
        ).format(
            insert=insert,
            keys=sql.SQL(", ").join(sql.Identifier(k) for k in self.spec.natural_key),
            cols=self._cols(),
            new=self._cols("excluded"),
            changed=changed,
            stage=self.stage,
        )
        result = self.conn.execute(upsert).fetchone()
        assert result is not None
        counts.inserted, counts.updated = int(result[0]), int(result[1])
        counts.unchanged = int(result[2]) - counts.inserted - counts.updated
        return counts


def counts_dict(counts: LoadCounts) -> dict[str, int]:
    """The counts as a plain dict (for JSON)."""
    return asdict(counts)
