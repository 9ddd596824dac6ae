"""SQL for vector tiles and layer summaries, composed with ``psycopg.sql`` only.

Tiles are built by PostGIS (``ST_AsMVT``/``ST_AsMVTGeom``) from the public
views. The bbox filter runs on the stored EPSG:4326 geometry so the GiST index
is used; the target SRID of ``ST_Transform`` is an integer (a text SRID builds
a PROJ pipeline per row on PostGIS 3.3).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import morecantile
from psycopg import AsyncConnection, sql
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gisplatform.ogcapi.tilecache import DEFAULT_MAX_ENTRIES
from gisplatform.registry import FieldSpec, FieldType, LayerSpec
from gisplatform.registry.spec import Localized
from gisplatform.store.audiences import current_reader, current_view
from gisplatform.store.roles import LAYER_STATE_VIEW

#: bump when the tile SQL changes, so ETags and cache keys change with it
TILE_FORMAT_VERSION = "2"
#: demo features carry ``is_demo: true``; real ones have NULL, which ST_AsMVT leaves out
DEMO_ATTRIBUTE = "is_demo"
DEMO_TITLE = Localized(uk="Демо-дані (вигаданий об’єкт)", en="Demo data (an invented feature)")
DEMO_MARK = sql.SQL("CASE WHEN t.is_demo THEN true END AS {}").format(
    sql.Identifier(DEMO_ATTRIBUTE)
)
#: the two tile matrix sets served, from morecantile's registry
TILE_MATRIX_SETS = ("WebMercatorQuad", "WorldCRS84Quad")
_WEB_MERCATOR_HALF = 20037508.342789244
#: From this zoom on, a tile of points is cheap per row: a parallel plan's start-up and
#: gather cost more than they save (measured on 200,000 lamps: z14 72 → 58 ms). Lines and
#: polygons cost more per row and keep their parallel scans (buildings z14: 52 vs 60 ms).
SERIAL_FROM_ZOOM = 12
SERIAL_SETTING = "SET LOCAL max_parallel_workers_per_gather = 0"
#: the server's connections read without parallel workers; the other tiles get the default back
PARALLEL_SETTING = "SET LOCAL max_parallel_workers_per_gather TO DEFAULT"


class TileSettings(BaseSettings):
    """Vector-tile settings (environment prefix ``GISPLATFORM_TILES_``)."""

    model_config = SettingsConfigDict(env_prefix="GISPLATFORM_TILES_", extra="ignore")

    cache_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="memory the in-memory tile cache may take (keys and bookkeeping included)",
    )
    cache_entries: int = Field(
        default=DEFAULT_MAX_ENTRIES, ge=0, description="tiles the in-memory cache keeps at most"
    )
    max_features: int = Field(
        default=20_000, ge=1, description="features per layer per tile; more is reported"
    )
    detail_zoom: int = Field(
        default=14, ge=0, le=24, description="below this zoom: label/category fields only"
    )
    extent: int = Field(default=4096, ge=256, le=16384, description="MVT tile extent")
    buffer: int = Field(default=64, ge=0, le=1024, description="MVT buffer in tile units")
    max_age: int = Field(default=60, ge=0, description="Cache-Control max-age in seconds")

    @property
    def fingerprint(self) -> str:
        """A short digest of everything that changes tile bytes."""
        text = (
            f"{TILE_FORMAT_VERSION}:{self.max_features}:{self.detail_zoom}:"
            f"{self.extent}:{self.buffer}"
        )
        return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TileAddress:
    """One tile of a tile matrix set; ``y`` is the row, ``x`` the column."""

    tms: morecantile.TileMatrixSet
    z: int
    x: int
    y: int

    @property
    def tms_id(self) -> str:
        """The tile matrix set identifier."""
        return str(self.tms.id)


@dataclass(frozen=True)
class LayerSummary:
    """What the catalogue and tile metadata need to know about a layer's data."""

    revision: int
    changed_at: datetime | None
    count: int
    bbox: tuple[float, float, float, float] | None


def tile_fields(spec: LayerSpec, z: int, settings: TileSettings) -> list[FieldSpec]:
    """Public fields carried by tiles at zoom ``z`` (only label/category ones at low zoom)."""
    public = list(spec.fields_for(current_reader()))
    if z >= settings.detail_zoom:
        return public
    wanted = {spec.style.label_field, spec.style.categorize_by}
    return [f for f in public if f.name in wanted]


def _column(field: FieldSpec) -> sql.Composable:
    column = sql.Identifier("t", field.name)
    if field.type is FieldType.STRING_LIST:
        value: sql.Composable = sql.SQL("array_to_string({}, ', ')").format(column)
    elif field.type in (FieldType.DATE, FieldType.DATETIME):
        value = sql.SQL("{}::text").format(column)
    else:
        value = column
    return sql.SQL("{} AS {}").format(value, sql.Identifier(field.name))


def _envelopes(address: TileAddress, settings: TileSettings) -> tuple[sql.SQL, dict[str, Any]]:
    """The clip envelope and the 4326 bbox filter (with the buffer margin) of a tile."""
    margin = settings.buffer / settings.extent
    if address.tms_id == "WebMercatorQuad":
        width = 2 * _WEB_MERCATOR_HALF / 2**address.z
        envelopes = sql.SQL(
            "SELECT ST_TileEnvelope(%(z)s::integer, %(x)s::integer, %(y)s::integer) AS clip, "
            "ST_Transform(ST_TileEnvelope(%(z)s::integer, %(x)s::integer, %(y)s::integer, "
            "margin => %(margin)s::float8), 4326) AS filter"
        )
        params: dict[str, Any] = {"z": address.z, "x": address.x, "y": address.y}
        params["margin"] = margin
    else:
        left, bottom, right, top = address.tms.xy_bounds(
            morecantile.Tile(address.x, address.y, address.z)
        )
        width = right - left
        dx, dy = width * margin, (top - bottom) * margin
        envelopes = sql.SQL(
            "SELECT ST_MakeEnvelope(%(w)s::float8, %(s)s::float8, %(e)s::float8, "
            "%(n)s::float8, 4326) AS clip, ST_MakeEnvelope(%(fw)s::float8, %(fs)s::float8, "
            "%(fe)s::float8, %(fn)s::float8, 4326) AS filter"
        )
        params = {"w": left, "s": bottom, "e": right, "n": top}
        params |= {"fw": left - dx, "fs": bottom - dy, "fe": right + dx, "fn": top + dy}
    params |= {
        "extent": settings.extent,
        "buffer": settings.buffer,
        "probe": settings.max_features + 1,
        "tolerance": width / settings.extent,
    }
    return envelopes, params


def tile_query(
    specs: list[LayerSpec], address: TileAddress, settings: TileSettings
) -> tuple[sql.Composed, dict[str, Any]]:
    """One statement giving, per layer, the feature count (up to ``probe``) and the MVT layer.

    Each layer is one pass over its rows: the clipped geometry is computed once and both
    aggregates read it (``ST_AsMVT`` skips rows whose clipped geometry is NULL, and
    ``count`` counts only the others). ``probe`` is the cap + 1, so a capped tile shows.
    """
    envelopes, params = _envelopes(address, settings)
    mercator = address.tms_id == "WebMercatorQuad"
    outputs: list[sql.Composable] = []
    laterals: list[sql.Composable] = []
    for index, spec in enumerate(specs):
        geom: sql.Composable = (
            sql.SQL("ST_Transform(t.geom, 3857)") if mercator else sql.SQL("t.geom")
        )
        if spec.geometry.family != "point" and address.z < settings.detail_zoom:
            geom = sql.SQL("ST_Simplify({}, %(tolerance)s::float8, true)").format(geom)
        columns: list[sql.Composable] = [sql.SQL("t.fid"), DEMO_MARK]
        columns += [_column(f) for f in tile_fields(spec, address.z, settings)]
        alias = sql.Identifier(f"l{index}")
        name = sql.Placeholder(f"name{index}")
        params[f"name{index}"] = spec.name
        laterals.append(
            sql.SQL(
                "LATERAL (SELECT count(s.geom) AS n, ST_AsMVT(s, {name}::text, "
                "%(extent)s::integer, 'geom', 'fid') AS mvt FROM (SELECT {columns}, "
                "ST_AsMVTGeom({geom}, b.clip, %(extent)s::integer, %(buffer)s::integer, true) "
                "AS geom FROM {view} AS t WHERE t.geom && b.filter LIMIT %(probe)s) AS s) "
                "AS {alias}"
            ).format(
                name=name,
                columns=sql.SQL(", ").join(columns),
                geom=geom,
                view=sql.Identifier(current_view().schema, spec.name),
                alias=alias,
            )
        )
        outputs.append(sql.SQL("{a}.n, {a}.mvt").format(a=alias))
    query = sql.SQL("WITH b AS ({}) SELECT {} FROM b, {}").format(
        envelopes, sql.SQL(", ").join(outputs), sql.SQL(", ").join(laterals)
    )
    return query, params


def serial_plan(specs: list[LayerSpec], address: TileAddress) -> bool:
    """True when the tile is built without parallel workers (points from SERIAL_FROM_ZOOM)."""
    return address.z >= SERIAL_FROM_ZOOM and all(s.geometry.family == "point" for s in specs)


async def _run_tile(
    conn: AsyncConnection[Any], query: sql.Composed, params: dict[str, Any], serial: bool
) -> tuple[Any, ...]:
    async with conn.transaction():
        await conn.execute(SERIAL_SETTING if serial else PARALLEL_SETTING)
        cursor = await conn.execute(query, params)
        row = await cursor.fetchone()
    assert row is not None
    return tuple(row)


async def render_tile(
    conn: AsyncConnection[Any],
    specs: list[LayerSpec],
    address: TileAddress,
    settings: TileSettings,
) -> tuple[bytes, list[tuple[str, int]]]:
    """The MVT of ``specs`` at ``address`` and the layers cut short by the feature cap."""
    if not specs:
        return b"", []
    query, params = tile_query(specs, address, settings)
    serial = serial_plan(specs, address)
    row = await _run_tile(conn, query, params, serial)
    counts = row[0::2]
    truncated = [
        (spec.name, settings.max_features)
        for spec, count in zip(specs, counts, strict=True)
        if count > settings.max_features
    ]
    if truncated:  # rare: build the capped tile again with exactly the cap
        exact = {**params, "probe": settings.max_features}
        row = await _run_tile(conn, query, exact, serial)
    body = b"".join(bytes(layer) for layer in row[1::2] if layer)
    return body, truncated


async def read_states(
    conn: AsyncConnection[Any], history_schema: str, names: list[str]
) -> dict[str, tuple[int, datetime | None]]:
    """Revision and last change of each named layer (0/None when never changed).

    Read through the audience's state view (:data:`LAYER_STATE_VIEW`), not ``history_schema``.
    """
    cursor = await conn.execute(
        sql.SQL("SELECT layer, revision, changed_at FROM {} WHERE layer = ANY(%s)").format(
            sql.Identifier(*LAYER_STATE_VIEW)
        ),
        [names],
    )
    found = {layer: (int(rev), changed) for layer, rev, changed in await cursor.fetchall()}
    return {name: found.get(name, (0, None)) for name in names}


async def read_summary(
    conn: AsyncConnection[Any], spec: LayerSpec, revision: int, changed_at: datetime | None
) -> LayerSummary:
    """Exact feature count and extent (lon/lat) of a layer's public view."""
    cursor = await conn.execute(
        sql.SQL(
            "SELECT n, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT count(*) AS n, ST_Extent(geom) AS e FROM {}) AS x"
        ).format(sql.Identifier(current_view().schema, spec.name))
    )
    row = await cursor.fetchone()
    assert row is not None
    count = int(row[0])
    bbox = None if row[1] is None else (row[1], row[2], row[3], row[4])
    return LayerSummary(revision, changed_at, count, bbox)


class SummaryCache:
    """Layer summaries kept per (layer, revision): recomputed only after a change."""

    def __init__(self) -> None:
        self._summaries: dict[tuple[str, str], LayerSummary] = {}

    async def get(
        self, conn: AsyncConnection[Any], specs: list[LayerSpec], history_schema: str
    ) -> dict[str, LayerSummary]:
        """Summaries of ``specs``, reading layer state once and the views when stale."""
        states = await read_states(conn, history_schema, [s.name for s in specs])
        result: dict[str, LayerSummary] = {}
        schema = current_view().schema
        for spec in specs:
            revision, changed_at = states[spec.name]
            known = self._summaries.get((schema, spec.name))
            if known is None or known.revision != revision or known.changed_at != changed_at:
                known = await read_summary(conn, spec, revision, changed_at)
                self._summaries[schema, spec.name] = known
            result[spec.name] = known
        return result
