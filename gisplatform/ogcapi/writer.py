"""The write transaction of one Features Part 4 request, and the SQL it runs.

One transaction on the primary in the writer role of the caller's role
(:mod:`gisplatform.store.writers`), with the signed-in login as the history's actor (a
transaction-local setting the history triggers read, set here and nowhere from the
request). Database refusals become 422s naming the field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import psycopg
from fastapi import Request
from psycopg import AsyncConnection, sql

from gisplatform.errors import FeatureInvalid, Forbidden
from gisplatform.i18n import message
from gisplatform.registry import Audience, FieldSpec, LayerSpec
from gisplatform.registry.writes import writable_fields
from gisplatform.store.writers import writer_db_role
from gisplatform.validate import ValidFeature


class Writer:
    """One write transaction of one request: the writer role, the actor, the layer table."""

    def __init__(self, conn: AsyncConnection[Any], spec: LayerSpec, role: str, schema: str) -> None:
        self.conn = conn
        self.spec = spec
        self.fields: tuple[FieldSpec, ...] = writable_fields(spec, role)
        self.table = sql.Identifier(schema, spec.name)

    async def locked(self, fid: int) -> dict[str, Any] | None:
        """The stored feature (writable fields, lon/lat geometry, version), locked; None."""
        columns = sql.SQL(", ").join(sql.Identifier(f.name) for f in self.fields)
        query = sql.SQL(
            "SELECT version, ST_AsGeoJSON(geom, 9)::text{}{} FROM {} WHERE fid = %s FOR UPDATE"
        ).format(sql.SQL(", ") if self.fields else sql.SQL(""), columns, self.table)
        cursor = await self.conn.execute(query, [fid])
        row = await cursor.fetchone()
        if row is None:
            return None
        properties = {f.name: value for f, value in zip(self.fields, row[2:], strict=True)}
        return {"version": row[0], "geometry": orjson.loads(row[1]), "properties": properties}

    def _values(
        self, valid: ValidFeature, only: frozenset[str] | None = None
    ) -> tuple[list[sql.Composable], list[Any]]:
        chosen = {k: v for k, v in valid.values.items() if only is None or k in only}
        names: list[sql.Composable] = [sql.Identifier(name) for name in chosen]
        params: list[Any] = list(chosen.values())
        if valid.geometry_wkb:
            names.insert(0, sql.Identifier("geom"))
            params.insert(0, valid.geometry_wkb)
        return names, params

    @staticmethod
    def _placeholders(names: list[sql.Composable]) -> list[sql.Composable]:
        return [
            sql.SQL("ST_SetSRID(ST_GeomFromWKB(%s), 4326)")
            if name == sql.Identifier("geom")
            else sql.SQL("%s")
            for name in names
        ]

    async def insert(self, valid: ValidFeature) -> tuple[int, int]:
        """Store a new feature; its fid and version."""
        names, params = self._values(valid)
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING fid, version").format(
            self.table, sql.SQL(", ").join(names), sql.SQL(", ").join(self._placeholders(names))
        )
        row = await (await self.conn.execute(query, params)).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    async def update(
        self, fid: int, valid: ValidFeature, only: frozenset[str] | None = None
    ) -> int:
        """Store ``valid`` (only the fields in ``only`` when given, e.g. a merge patch's)."""
        names, params = self._values(valid, only)
        if not names:  # a patch that sets nothing: the version stays
            row = await (
                await self.conn.execute(
                    sql.SQL("SELECT version FROM {} WHERE fid = %s").format(self.table), [fid]
                )
            ).fetchone()
        else:
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = {}").format(name, holder)
                for name, holder in zip(names, self._placeholders(names), strict=True)
            )
            query = sql.SQL("UPDATE {} SET {} WHERE fid = %s RETURNING version").format(
                self.table, assignments
            )
            row = await (await self.conn.execute(query, [*params, fid])).fetchone()
        assert row is not None
        return int(row[0])

    async def delete(self, fid: int) -> None:
        """Delete the feature (the history keeps its last values)."""
        query = sql.SQL("DELETE FROM {} WHERE fid = %s").format(self.table)
        await self.conn.execute(query, [fid])


def _refusal(spec: LayerSpec, exc: psycopg.errors.IntegrityError) -> FeatureInvalid:
    """A constraint the database enforces, named in the caller's terms."""
    if isinstance(exc, psycopg.errors.UniqueViolation):
        key = ", ".join(spec.natural_key)
        return FeatureInvalid(
            [(name, message("edit_key_taken", key=key)) for name in spec.natural_key]
        )
    diag = exc.diag
    name = diag.column_name or spec.natural_key[0]
    return FeatureInvalid(
        [(name, message("edit_constraint", constraint=diag.constraint_name or diag.sqlstate))]
    )


@asynccontextmanager
async def write_transaction(
    request: Request, spec: LayerSpec, audience: Audience, role: str
) -> AsyncIterator[Writer]:
    """One transaction on the primary in ``role``'s writer role, the login as the actor.

    Database refusals (unique natural key, checks, not-null) become 422s naming the field;
    a missing grant (which the registry and the grants should never disagree on) a 403.
    """
    pool = request.app.state.pool  # the primary: writes never go to a replica
    schema: str = request.app.state.settings.layer_schema
    async with pool.connection() as conn:
        try:
            async with conn.transaction():
                await conn.execute(
                    sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(writer_db_role(role)))
                )
                await conn.execute(
                    "SELECT set_config('gisplatform.actor', %s, true)",
                    [audience.login or "api"],
                )
                yield Writer(conn, spec, role, schema)
        except psycopg.errors.IntegrityError as exc:
            raise _refusal(spec, exc) from None
        except psycopg.errors.InsufficientPrivilege:
            raise Forbidden(message("edit_forbidden", layer=spec.name)) from None
