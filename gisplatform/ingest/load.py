"""Writing validated rows: COPY straight into the layer, or via a staging table for upserts.

Appends and replacements COPY into the layer table itself (its triggers and
constraints apply to COPY as to INSERT); only the natural keys are staged
first when the layer already has rows, to name the rows that clash. Upserts
COPY into a temporary staging table and merge with one statement.
Everything happens in a single transaction, so a failure of any kind (a bad
row found by the database, Ctrl-C, a killed process, a lost connection)
leaves the layer exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql

from gisplatform.i18n import message
from gisplatform.ingest.errors import RowProblem
from gisplatform.ingest.threads import in_background
from gisplatform.registry import LayerSpec

STAGE = "gisplatform_import_stage"
ROW = "_row"


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
    """COPYs rows into one layer table (upserts: stages and merges) in the caller's transaction."""

    def __init__(
        self, conn: psycopg.Connection[Any], spec: LayerSpec, schema: str, columns: Sequence[str]
    ) -> None:
        self.conn = conn
        self.spec = spec
        self.table = sql.Identifier(schema, spec.name)
        self.table_name = (schema, spec.name)
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

    def is_empty(self) -> bool:
        """True when the layer has no rows (stable: :meth:`begin` locked out writers)."""
        row = self.conn.execute(
            sql.SQL("SELECT NOT EXISTS (SELECT FROM {})").format(self.table)
        ).fetchone()
        return bool(row and row[0])

    def _create_stage(self, columns: sql.Composable) -> None:
        self.conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT 0 AS {row}, {cols} "
                "FROM {table} WITH NO DATA"
            ).format(stage=self.stage, row=sql.Identifier(ROW), cols=columns, table=self.table)
        )

    @contextmanager
    def copy_rows(self, build_indexes_after: bool = False) -> Iterator[Callable[[bytes], None]]:
        """A ``write(csv_data)`` of CSV rows ``(*columns, geom_ewkb_hex)`` into the layer.

        Each call is one COPY statement, run by a helper thread: while the database
        stores a batch (and its history trigger records it), the caller prepares the
        next. The caller must not use the connection until the context is left.
        With ``build_indexes_after`` (for loads into an empty layer) the spatial and
        natural-key indexes are dropped first and built once after the COPY, several
        times cheaper than maintaining them row by row. That locks the layer against
        readers too until commit; they would see no rows before the commit anyway.
        """
        rebuild = self._drop_secondary_indexes() if build_indexes_after else []
        query = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(self.table, self._cols())

        def copy(data: bytes) -> None:
            with self.conn.cursor() as cur, cur.copy(query) as cp:
                cp.write(data)

        with in_background(copy) as write:
            yield write
        for statement in rebuild:
            self.conn.execute(statement)

    def _drop_secondary_indexes(self) -> list[sql.Composed | sql.SQL]:
        """Drop the indexes besides the primary key; the statements that rebuild them.

        Unique constraints referenced by a foreign key are left alone.
        """
        relid = sql.SQL("to_regclass(format('%%I.%%I', %s::text, %s::text))")
        constraints = self.conn.execute(
            sql.SQL(
                "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "WHERE c.conrelid = {rel} AND c.contype = 'u' AND NOT EXISTS "
                "(SELECT FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)"
            ).format(rel=relid),
            self.table_name,
        ).fetchall()
        indexes = self.conn.execute(
            sql.SQL(
                "SELECT n.nspname, x.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "JOIN pg_class x ON x.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = x.relnamespace "
                "WHERE i.indrelid = {rel} AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
            ).format(rel=relid),
            self.table_name,
        ).fetchall()
        rebuild: list[sql.Composed | sql.SQL] = []
        for name, definition in constraints:
            constraint = sql.Identifier(name)
            self.conn.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(self.table, constraint)
            )
            # The definitions are the catalogue's own renderings (pg_get_*def).
            add = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(self.table, constraint)
            rebuild.append(add + sql.SQL(definition))
        for schema, name, definition in indexes:
            self.conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(schema, name)))
            rebuild.append(sql.SQL(definition))
        return rebuild

    @contextmanager
    def stage_rows(self) -> Iterator[Callable[[bytes], None]]:
        """A ``write(csv_data)`` of rows ``(_row, *columns, geom_ewkb_hex)`` into a staging table.

        Like :meth:`copy_rows`, each call is one COPY run by a helper thread.
        """
        self._create_stage(self._cols())
        query = sql.SQL("COPY {} ({}, {}) FROM STDIN (FORMAT csv)").format(
            self.stage, sql.Identifier(ROW), self._cols()
        )

        def copy(data: bytes) -> None:
            with self.conn.cursor() as cur, cur.copy(query) as cp:
                cp.write(data)

        with in_background(copy) as write:
            yield write

    def staged_duplicates(self) -> list[RowProblem]:
        """Staged rows whose natural key another staged row has too (every one of them)."""
        keys = self.spec.natural_key
        by_key = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
        query = sql.SQL(
            "SELECT {row}, {keys}, rows FROM (SELECT {row}, {keys}, "
            "count(*) OVER w AS n, array_agg({row}) OVER (w ORDER BY {row} "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS rows "
            "FROM {stage} WINDOW w AS (PARTITION BY {keys})) d WHERE n > 1 ORDER BY {row}"
        ).format(row=sql.Identifier(ROW), keys=by_key, stage=self.stage)
        problems = []
        for row_no, *values, rows in self.conn.execute(query):
            shown = ", ".join(f"{k}={v!r}" for k, v in zip(keys, values, strict=True))
            others = ", ".join(str(r) for r in rows if r != row_no)
            problems.append(
                RowProblem(int(row_no), keys[0], message("duplicate_key", key=shown, rows=others))
            )
        return problems

    def unstage(self, rows: Sequence[int]) -> None:
        """Leave the staged rows numbered ``rows`` out of what is written."""
        if rows:
            self.conn.execute(
                sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(
                    self.stage, sql.Identifier(ROW)
                ),
                (list(rows),),
            )

    def insert_staged(self) -> int:
        """Insert the staged rows into the layer in file order; how many."""
        query = sql.SQL("INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ORDER BY {row}")
        return self.conn.execute(
            query.format(
                table=self.table, cols=self._cols(), stage=self.stage, row=sql.Identifier(ROW)
            )
        ).rowcount

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
                    message("key_exists", key=shown),
                )
            )
        return problems

    def delete_all(self) -> int:
        """Delete every row of the layer (replace mode); the number deleted."""
        return self.conn.execute(sql.SQL("DELETE FROM {}").format(self.table)).rowcount

    def upsert(self) -> LoadCounts:
        """Merge the staged rows into the layer by natural key, in file order."""
        insert = sql.SQL(
            "INSERT INTO {table} AS t ({cols}) SELECT {cols} FROM {stage} ORDER BY {row}"
        ).format(table=self.table, cols=self._cols(), stage=self.stage, row=sql.Identifier(ROW))
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
        counts = LoadCounts(inserted=int(result[0]), updated=int(result[1]))
        counts.unchanged = int(result[2]) - counts.inserted - counts.updated
        return counts


def counts_dict(counts: LoadCounts) -> dict[str, int]:
    """The counts as a plain dict (for JSON)."""
    return asdict(counts)
