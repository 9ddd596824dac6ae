"""OGC API - Tiles 1.0: tile matrix sets, per-collection and multi-layer vector tilesets.

The documents are built in :mod:`gisplatform.ogcapi.tilemeta`; this module serves
them and the tiles. Each WebMercatorQuad tileset is also offered as a z/x/y
tileset (``…/WebMercatorQuad/xyz/{z}/{x}/{y}.pbf`` and ``…/xyz/metadata.json``)
for GDAL's MVT driver, which is how GDAL 3.6 (Debian 12) reads our tiles: its
OGCAPI driver has no vector-tile support (see ``tilemeta``).

Only public layers and public fields are ever tiled. Tiles carry a strong ETag
built from the layers' revisions (``history.layer_state``), the tile address and
the tile settings, and are kept in a bounded LRU cache under the same key, so an
edit makes the old tiles unreachable. A per-layer feature cap is reported in the
``X-Tile-Truncated`` header and logged, never applied silently.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import morecantile
import orjson
from fastapi import APIRouter, HTTPException, Request, Response

from gisplatform.errors import InvalidParameter
from gisplatform.i18n import message
from gisplatform.ogcapi import tilemeta
from gisplatform.ogcapi.deps import public_link
from gisplatform.ogcapi.routing import read_pool
from gisplatform.ogcapi.tilecache import RenderedTile, TileCache, TileKey
from gisplatform.ogcapi.tilemeta import JSON, MVT, TILEJSON, XYZ, lang
from gisplatform.ogcapi.tilequeries import (
    TILE_MATRIX_SETS,
    SummaryCache,
    TileAddress,
    TileSettings,
    read_states,
    render_tile,
)
from gisplatform.registry import LayerRegistry, LayerSpec
from gisplatform.store.audiences import current_reader, current_view

log = logging.getLogger(__name__)


def _json(doc: dict[str, Any], media_type: str = JSON) -> Response:
    return Response(orjson.dumps(doc), media_type=media_type)


def _format(request: Request, allowed: tuple[str, ...]) -> str:
    fmt = request.query_params.get("f", allowed[0])
    if fmt not in allowed:
        raise InvalidParameter("f", message("use_one_of", allowed=", ".join(allowed)))
    return fmt


def _tms(tms_id: str) -> morecantile.TileMatrixSet:
    if tms_id not in TILE_MATRIX_SETS:
        raise HTTPException(404, f"unknown tile matrix set: {tms_id}")
    return morecantile.tms.get(tms_id)


def _web_mercator(tms_id: str, what: str) -> morecantile.TileMatrixSet:
    tms = _tms(tms_id)
    if tms.id != "WebMercatorQuad":
        raise HTTPException(404, f"{what} is offered for WebMercatorQuad only")
    return tms


def _address(tms: morecantile.TileMatrixSet, matrix: str, row: str, col: str) -> TileAddress:
    """The tile at (matrix, row, col), or 404 when it lies outside the tile matrix set."""
    found = next((m for m in tms.tileMatrices if m.id == matrix), None)
    if found is None or not (row.isdigit() and col.isdigit()):
        raise HTTPException(404, "tile outside the tile matrix set")
    y, x = int(row), int(col)
    if y >= found.matrixHeight or x >= found.matrixWidth:
        raise HTTPException(404, "tile outside the tile matrix set")
    return TileAddress(tms, int(matrix), x, y)


def _public_layer(request: Request, name: str) -> LayerSpec:
    registry: LayerRegistry = request.app.state.registry
    return registry.get(name, current_reader())


class _Tiles:
    """The state behind one tiles router: its default settings and its caches."""

    def __init__(self, settings: TileSettings, cache: TileCache | None = None) -> None:
        self.settings = settings
        self.cache = (
            cache if cache is not None else TileCache(settings.cache_bytes, settings.cache_entries)
        )
        self.summaries = SummaryCache()

    @staticmethod
    def base(request: Request) -> str:
        """The URL of the OGC API root (``…/ogc``), wherever the router is mounted."""
        local = str(request.url_for("tile_matrix_sets"))
        return public_link(request, local).removesuffix("/tileMatrixSets")

    def tile_settings(self, request: Request) -> TileSettings:
        """Settings from ``app.state.tile_settings`` if present, else the router's."""
        found = getattr(request.app.state, "tile_settings", None)
        return found if isinstance(found, TileSettings) else self.settings

    @staticmethod
    def history_schema(request: Request) -> str:
        """The history schema named by the platform settings."""
        settings = getattr(request.app.state, "settings", None)
        return str(getattr(settings, "history_schema", "history"))

    async def summaries_of(self, request: Request, specs: list[LayerSpec]) -> dict[str, Any]:
        """Cached counts and extents of ``specs``, refreshed when their revision moves."""
        async with read_pool(request).connection() as conn:
            return await self.summaries.get(conn, specs, self.history_schema(request))

    async def tile(
        self, request: Request, specs: list[LayerSpec], address: TileAddress
    ) -> Response:
        """The MVT of the layers of ``specs`` visible at the tile's zoom."""
        settings = self.tile_settings(request)
        visible = [s for s in specs if s.min_zoom <= address.z <= s.max_zoom]
        view = current_view()
        scope = "public" if view.is_public else "private"
        # a browser's cache must not hand a tile to whoever signs in or out (session cookie)
        headers = {"Cache-Control": f"{scope}, max-age={settings.max_age}", "Vary": "Cookie"}
        if not view.is_public:
            headers["Vary"] = "Authorization, Cookie"
        if not visible:
            return Response(status_code=204, headers=headers)
        names = [s.name for s in visible]
        async with read_pool(request).connection() as conn:
            states = await read_states(conn, self.history_schema(request), names)
            key: TileKey = (
                tuple((n, states[n][0]) for n in names),
                address.tms_id,
                address.z,
                address.x,
                address.y,
                settings.fingerprint,
                view.schema,
            )
            headers["ETag"] = '"' + hashlib.sha256(repr(key).encode()).hexdigest()[:32] + '"'
            if _matches(request.headers.get("if-none-match"), headers["ETag"]):
                return Response(status_code=304, headers=headers)
            rendered = self.cache.get(key)
            headers["X-Tile-Cache"] = "hit" if rendered else "miss"
            if rendered is None:
                started = time.perf_counter()
                body, truncated = await render_tile(conn, visible, address, settings)
                rendered = RenderedTile(body, tuple(truncated))
                self.cache.put(key, rendered)
                log.debug(
                    "tile %s/%d/%d/%d of %s: %d bytes in %.1f ms",
                    address.tms_id, address.z, address.y, address.x, ",".join(names),
                    len(body), (time.perf_counter() - started) * 1000,
                )  # fmt: skip
        if rendered.truncated:
            headers["X-Tile-Truncated"] = ", ".join(
                f"layer={name}; limit={limit}" for name, limit in rendered.truncated
            )
            log.warning(
                "tile %s/%d/%d/%d truncated by the feature cap: %s",
                address.tms_id, address.z, address.y, address.x, headers["X-Tile-Truncated"],
            )  # fmt: skip
        if not rendered.body:
            return Response(status_code=204, headers=headers)
        return Response(rendered.body, media_type=MVT, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


#: what a tile answers besides 200 (the OpenAPI document's)
TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "no feature in the tile"},
    304: {"description": "not modified (If-None-Match)"},
}
#: the parameters of tileset documents
_TILESET = {"x-query": ["tileset-f", "lang"], "x-media": [JSON, TILEJSON]}
_LANG = {"x-query": ["lang"]}
_TILEJSON = {"x-query": ["lang"], "x-media": [TILEJSON]}


def build_tiles_router(
    settings: TileSettings | None = None, cache: TileCache | None = None
) -> APIRouter:
    """Routes of OGC API - Tiles, relative to the OGC API root (``/ogc``); ``cache`` is the
    tile cache to use (by default one sized by ``settings``)."""
    state = _Tiles(settings or TileSettings(), cache)
    router = APIRouter(tags=["Tiles"])
    whole_map = {"uk": "Громада: усі публічні шари", "en": "All public layers"}

    def public_layers(request: Request) -> list[LayerSpec]:
        registry: LayerRegistry = request.app.state.registry
        return registry.list(current_reader())

    def described(request: Request, collection: str | None) -> tuple[list[LayerSpec], str, str]:
        """The layers, the path (without the tile matrix set) and the title of a tileset."""
        if collection is None:
            return public_layers(request), "/tiles", whole_map[lang(request)]
        spec = _public_layer(request, collection)
        return [spec], f"/collections/{spec.name}/tiles", spec.title.get(lang(request))

    async def tileset(request: Request, tms_id: str, collection: str | None) -> Response:
        tms = _tms(tms_id)
        if _format(request, ("json", "tilejson")) == "tilejson":
            return await tilejson(request, tms_id, collection)
        specs, path, title = described(request, collection)
        summaries = await state.summaries_of(request, specs)
        base = state.base(request)
        return _json(tilemeta.tileset(base, lang(request), path, title, tms, specs, summaries))

    async def tilejson(request: Request, tms_id: str, collection: str | None) -> Response:
        _web_mercator(tms_id, "TileJSON")
        specs, path, title = described(request, collection)
        summaries = await state.summaries_of(request, specs)
        base = state.base(request)
        doc = tilemeta.tilejson(base, lang(request), path, title, specs, summaries)
        return _json(doc, TILEJSON)

    async def mvt_metadata(request: Request, tms_id: str, collection: str | None) -> Response:
        _web_mercator(tms_id, "The z/x/y tileset")
        specs, path, title = described(request, collection)
        summaries = await state.summaries_of(request, specs)
        base = state.base(request)
        return _json(tilemeta.mvt_metadata(base, lang(request), path, title, specs, summaries))

    @router.get("/tileMatrixSets", name="tile_matrix_sets", summary="tile matrix sets")
    async def tile_matrix_sets(request: Request) -> Response:
        base = state.base(request)
        items = [
            {
                "id": tms_id,
                "title": morecantile.tms.get(tms_id).title,
                "uri": morecantile.tms.get(tms_id).uri,
                "links": [{"rel": "self", "type": JSON, "href": f"{base}/tileMatrixSets/{tms_id}"}],
            }
            for tms_id in TILE_MATRIX_SETS
        ]
        links = [{"rel": "self", "type": JSON, "href": f"{base}/tileMatrixSets"}]
        return _json({"links": links, "tileMatrixSets": items})

    @router.get("/tileMatrixSets/{tileMatrixSetId}", summary="one tile matrix set")
    async def tile_matrix_set(tileMatrixSetId: str) -> Response:
        return _json(tilemeta.tms_document(_tms(tileMatrixSetId)))

    @router.get(
        "/collections/{collectionId}/tiles", summary="tilesets of a collection", openapi_extra=_LANG
    )
    async def collection_tilesets(request: Request, collectionId: str) -> Response:
        _, path, title = described(request, collectionId)
        return _json(tilemeta.tilesets(state.base(request), path, title))

    @router.get(
        "/collections/{collectionId}/tiles/{tileMatrixSetId}",
        summary="a tileset of a collection",
        openapi_extra=_TILESET,
    )
    async def collection_tileset(
        request: Request, collectionId: str, tileMatrixSetId: str
    ) -> Response:
        return await tileset(request, tileMatrixSetId, collectionId)

    @router.get(
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
        summary="TileJSON of a collection",
        openapi_extra=_TILEJSON,
    )
    async def collection_tilejson(
        request: Request, collectionId: str, tileMatrixSetId: str
    ) -> Response:
        return await tilejson(request, tileMatrixSetId, collectionId)

    @router.get(
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        summary="a tile of a collection",
        openapi_extra={"x-query": ["tile-f", "lang"], "x-media": [MVT]},
        responses=TILE_RESPONSES,
    )
    async def collection_tile(
        request: Request,
        collectionId: str,
        tileMatrixSetId: str,
        tileMatrix: str,
        tileRow: str,
        tileCol: str,
    ) -> Response:
        spec = _public_layer(request, collectionId)
        address = _address(_tms(tileMatrixSetId), tileMatrix, tileRow, tileCol)
        _format(request, ("mvt", "pbf"))
        return await state.tile(request, [spec], address)

    @router.get(
        f"/collections/{{collectionId}}/tiles/{{tileMatrixSetId}}/{XYZ}/metadata.json",
        openapi_extra=_LANG,
    )
    async def collection_xyz_metadata(
        request: Request, collectionId: str, tileMatrixSetId: str
    ) -> Response:
        """Metadata of the z/x/y tileset, for GDAL's MVT driver (``MVT:…/xyz/{zoom}``)."""
        return await mvt_metadata(request, tileMatrixSetId, collectionId)

    @router.get(
        f"/collections/{{collectionId}}/tiles/{{tileMatrixSetId}}/{XYZ}/{{z}}/{{x}}/{{y}}.pbf",
        openapi_extra={"x-query": ["lang"], "x-media": [MVT]},
        responses=TILE_RESPONSES,
    )
    async def collection_xyz_tile(
        request: Request, collectionId: str, tileMatrixSetId: str, z: str, x: str, y: str
    ) -> Response:
        """The tile at column ``x``, row ``y`` of zoom ``z`` (z/x/y order, GDAL's MVT driver)."""
        spec = _public_layer(request, collectionId)
        address = _address(_web_mercator(tileMatrixSetId, "The z/x/y tileset"), z, y, x)
        return await state.tile(request, [spec], address)

    @router.get("/tiles", summary="tilesets of all layers", openapi_extra=_LANG)
    async def dataset_tilesets(request: Request) -> Response:
        _, path, title = described(request, None)
        return _json(tilemeta.tilesets(state.base(request), path, title))

    @router.get(
        "/tiles/{tileMatrixSetId}", summary="a tileset of all layers", openapi_extra=_TILESET
    )
    async def dataset_tileset(request: Request, tileMatrixSetId: str) -> Response:
        return await tileset(request, tileMatrixSetId, None)

    @router.get(
        "/tiles/{tileMatrixSetId}/tilejson.json",
        summary="TileJSON of all layers",
        openapi_extra=_TILEJSON,
    )
    async def dataset_tilejson(request: Request, tileMatrixSetId: str) -> Response:
        return await tilejson(request, tileMatrixSetId, None)

    @router.get(
        "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        summary="a tile of all layers",
        openapi_extra={"x-query": ["tile-f", "lang"], "x-media": [MVT]},
        responses=TILE_RESPONSES,
    )
    async def dataset_tile(
        request: Request,
        tileMatrixSetId: str,
        tileMatrix: str,
        tileRow: str,
        tileCol: str,
    ) -> Response:
        address = _address(_tms(tileMatrixSetId), tileMatrix, tileRow, tileCol)
        _format(request, ("mvt", "pbf"))
        return await state.tile(request, public_layers(request), address)

    @router.get(f"/tiles/{{tileMatrixSetId}}/{XYZ}/metadata.json", openapi_extra=_LANG)
    async def dataset_xyz_metadata(request: Request, tileMatrixSetId: str) -> Response:
        """Metadata of the z/x/y tileset of all public layers, for GDAL's MVT driver."""
        return await mvt_metadata(request, tileMatrixSetId, None)

    @router.get(
        f"/tiles/{{tileMatrixSetId}}/{XYZ}/{{z}}/{{x}}/{{y}}.pbf",
        openapi_extra={"x-query": ["lang"], "x-media": [MVT]},
        responses=TILE_RESPONSES,
    )
    async def dataset_xyz_tile(
        request: Request, tileMatrixSetId: str, z: str, x: str, y: str
    ) -> Response:
        """The tile of all public layers at column ``x``, row ``y`` of zoom ``z``."""
        address = _address(_web_mercator(tileMatrixSetId, "The z/x/y tileset"), z, y, x)
        return await state.tile(request, public_layers(request), address)

    router.state = state  # type: ignore[attr-defined]
    return router
