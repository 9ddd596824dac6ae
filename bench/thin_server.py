"""The raw-SQL ceiling of the API benchmark: our server's statements behind a bare ASGI app.

For each benchmark request it runs the statements gisplatform runs for that answer
(``gisplatform.ogcapi.queries`` and ``tilequeries``: the page and one row more, with the
layer revision when unfiltered, then a capped count where ours needs one; the item; the
tile) as the public role, and sends what PostGIS built. No framework, parameter checks,
links, HTML, logging or metrics: what remains is HTTP plus SQL, the least any Python
server on these statements can cost.

``plan`` is shared with the in-process variant in ``bench_api.py`` (no HTTP at all).

    uvicorn --factory thin_server:create_server --port 8095   # env as for api_server.py
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import morecantile
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool

from gisplatform.ogcapi import queries
from gisplatform.ogcapi.cql import compile_filter
from gisplatform.ogcapi.crs import CRS84_CRS
from gisplatform.ogcapi.tilequeries import (
    PARALLEL_SETTING,
    SERIAL_SETTING,
    TileAddress,
    TileSettings,
    serial_plan,
    tile_query,
)
from gisplatform.registry import Access, LayerRegistry, LayerSpec, load_registry
from gisplatform.settings import Settings
from gisplatform.store.database import database_url
from gisplatform.store.views import PUBLIC_ROLE

ITEMS = re.compile(r"^/ogc/collections/(\w+)/items$")
ITEM = re.compile(r"^/ogc/collections/(\w+)/items/(\d+)$")
TILE = re.compile(r"^/ogc/collections/(\w+)/tiles/WebMercatorQuad/(\d+)/(\d+)/(\d+)$")
Statement = tuple[sql.Composed, Any]
#: as the server's pool sets them (``app._configure``): no parallel workers, no JIT
SESSION_SETTING = (
    "SELECT set_config('max_parallel_workers_per_gather', '0', false), "
    "set_config('jit', 'off', false)"
)
CONTENT_TYPES = {
    "items": b"application/geo+json",
    "item": b"application/geo+json",
    "tile": b"application/vnd.mapbox-vector-tile",
}


@dataclass(frozen=True)
class Plan:
    """The statements of one answer: ``before`` (results unused), then the one answering."""

    kind: str  # items | item | tile
    before: list[Statement]
    answer: Statement
    serial: bool = False  # answer in a transaction without parallel workers, as tiles.py does
    limit: int = 0  # items: the page size (the answer reads one row more)
    where: queries.Where | None = None  # items: a filtered page's conditions
    layer: LayerSpec | None = None

    def after(self, rows: list[tuple[Any, ...]], offset: int) -> list[Statement]:
        """What ours runs after the page: a capped count when numberMatched needs one."""
        more = len(rows) > self.limit
        reach = queries.count_reach(offset, self.limit)
        if self.where is None or self.layer is None or not more or reach is None:
            return []
        return [queries.count_query(self.layer, self.where, reach)]

    def body(self, rows: list[tuple[Any, ...]]) -> bytes:
        """The response body from the rows of the answering statement."""
        if self.kind == "tile":
            return bytes(rows[0][1] or b"") if rows else b""
        if self.kind == "item":
            return str(rows[0][0]).encode() if rows else b""
        features = b",".join(str(r[0]).encode() for r in rows[: self.limit])
        return b'{"type":"FeatureCollection","features":[' + features + b"]}"


def plan(
    registry: LayerRegistry, tiles: TileSettings, path: str, params: dict[str, str]
) -> Plan | None:
    """The statements for ``path`` and query ``params``; None for paths it does not serve."""
    if m := TILE.match(path):
        spec = registry.get(m.group(1))
        z, row, col = (int(v) for v in m.group(2, 3, 4))
        address = TileAddress(morecantile.tms.get("WebMercatorQuad"), z, col, row)
        serial = serial_plan([spec], address)
        return Plan("tile", [], tile_query([spec], address, tiles), serial)
    if m := ITEM.match(path):
        spec = registry.get(m.group(1))
        fields = spec.fields_for(Access.PUBLIC)
        return Plan("item", [], (queries.item_query(spec, fields, CRS84_CRS), [int(m.group(2))]))
    if m := ITEMS.match(path):
        spec = registry.get(m.group(1))
        fields = spec.fields_for(Access.PUBLIC)
        where = queries.Where()
        if "bbox" in params:
            box = [float(v) for v in params["bbox"].split(",")]
            where.add(*queries.bbox_clause(box, CRS84_CRS))
        if "filter" in params:
            where.add(*compile_filter(params["filter"], "cql2-text", fields, CRS84_CRS))
        limit = int(params.get("limit", 10))
        page = queries.items_query(
            spec,
            fields,
            CRS84_CRS,
            False,
            where,
            [],
            limit + 1,
            int(params.get("offset", 0)),
            with_revision=not where.clauses,
        )
        filtered = where if where.clauses else None
        return Plan("items", [], page, limit=limit, where=filtered, layer=spec)
    return None


async def _configure(conn: AsyncConnection[Any]) -> None:
    await conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(PUBLIC_ROLE)))
    await conn.execute(SESSION_SETTING)  # no parallel workers, as the server's pool


class ThinServer:
    """A bare ASGI app over one connection pool of the public role."""

    def __init__(self, settings: Settings) -> None:
        self.registry = load_registry(settings.layers_dir)
        self.tiles = TileSettings()  # GISPLATFORM_TILES_* from the environment
        self.pool = AsyncConnectionPool(
            database_url(settings),
            min_size=1,
            max_size=10,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self.pool.open(wait=True)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.pool.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        params = dict(parse_qsl(scope["query_string"].decode()))
        found = plan(self.registry, self.tiles, scope["path"], params)
        if found is None:
            await _send(send, 404, b"not found", b"text/plain")
            return
        async with self.pool.connection() as conn:
            for query, args in found.before:
                await (await conn.execute(query, args)).fetchall()
            if found.kind == "tile":  # in a transaction with its worker setting, as tiles.py
                async with conn.transaction():
                    await conn.execute(SERIAL_SETTING if found.serial else PARALLEL_SETTING)
                    rows = await _answer(conn, found)
            else:
                rows = await _answer(conn, found)
            for query, args in found.after(rows, int(params.get("offset", 0))):
                await (await conn.execute(query, args)).fetchall()
        if found.kind == "item" and not rows:
            await _send(send, 404, b"no such feature", b"text/plain")
            return
        await _send(send, 200, found.body(rows), CONTENT_TYPES[found.kind])


async def _answer(conn: AsyncConnection[Any], found: Plan) -> list[tuple[Any, ...]]:
    query, args = found.answer
    # a page is never prepared, as in the server (a generic plan of a bbox page sorts all)
    cursor = await conn.execute(query, args, prepare=found.kind != "items")
    return await cursor.fetchall()


async def _send(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_server() -> ThinServer:
    """The thin server configured from the environment, as ``api_server.py`` is."""
    return ThinServer(Settings())
