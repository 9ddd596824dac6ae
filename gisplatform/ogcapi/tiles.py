"""OGC API - Tiles 1.0: tile matrix sets, per-collection and multi-layer vector tilesets.

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
from gisplatform.ogcapi.deps import public_link
from gisplatform.ogcapi.tilecache import RenderedTile, TileCache, TileKey
from gisplatform.ogcapi.tilequeries import (
    TILE_MATRIX_SETS,
    LayerSummary,
    SummaryCache,
    TileAddress,
    TileSettings,
    read_states,
    render_tile,
)
from gisplatform.registry import Access, FieldSpec, FieldType, LayerRegistry, LayerSpec

log = logging.getLogger(__name__)

MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
REL_TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
_TMS = "http://www.opengis.net/spec/tms/2.0/conf/"
TILES_CONFORMANCE: list[str] = [
    *(
        _TILES + c
        for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "dataset-tilesets", "mvt")
    ),
    *(
        _TMS + c
        for c in ("tilematrixset", "json-tilematrixset", "tilesetmetadata", "json-tilesetmetadata")
    ),
]
_CRS = {
    "WebMercatorQuad": "http://www.opengis.net/def/crs/EPSG/0/3857",
    "WorldCRS84Quad": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
}
_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_JSON_TYPES = {
    FieldType.INTEGER: "integer",
    FieldType.NUMBER: "number",
    FieldType.BOOLEAN: "boolean",
}
_DIMENSION = {"point": 0, "line": 1, "polygon": 2}


def _json(doc: dict[str, Any], media_type: str = JSON) -> Response:
    return Response(orjson.dumps(doc), media_type=media_type)


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang")
    if lang is None:
        lang = request.headers.get("accept-language", "uk")[:2]
    return "en" if lang.lower().startswith("en") else "uk"


def _format(request: Request, allowed: tuple[str, ...]) -> str:
    fmt = request.query_params.get("f", allowed[0])
    if fmt not in allowed:
        raise InvalidParameter("f", f"use one of {', '.join(allowed)}")
    return fmt


def _tms(tms_id: str) -> morecantile.TileMatrixSet:
    if tms_id not in TILE_MATRIX_SETS:
        raise HTTPException(404, f"unknown tile matrix set: {tms_id}")
    return morecantile.tms.get(tms_id)


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
    return registry.get(name, Access.PUBLIC)


def _field_schema(field: FieldSpec, lang: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _JSON_TYPES.get(field.type, "string")}
    schema["title"] = field.title.get(lang)
    if field.description is not None:
        schema["description"] = field.description.get(lang)
    if field.values:
        schema["enum"] = [v.value for v in field.values]
    if field.unit:
        schema["x-unit"] = field.unit
    return schema


def _union(boxes: list[tuple[float, float, float, float] | None]) -> tuple[float, ...] | None:
    known = [b for b in boxes if b is not None]
    if not known:
        return None
    return (
        min(b[0] for b in known),
        min(b[1] for b in known),
        max(b[2] for b in known),
        max(b[3] for b in known),
    )


def _zoom_range(tms: morecantile.TileMatrixSet, specs: list[LayerSpec]) -> tuple[int, int]:
    top = len(tms.tileMatrices) - 1
    return min(s.min_zoom for s in specs), min(top, max(s.max_zoom for s in specs))


def _limits(
    tms: morecantile.TileMatrixSet, zooms: tuple[int, int], bbox: tuple[float, ...] | None
) -> list[dict[str, Any]]:
    """tileMatrixSetLimits for the zoom range, narrowed to the data's extent."""
    limits = []
    for z in range(zooms[0], zooms[1] + 1):
        matrix = tms.matrix(z)
        cols, rows = (0, matrix.matrixWidth - 1), (0, matrix.matrixHeight - 1)
        if bbox is not None:
            west, south, east, north = bbox
            upper_left, lower_right = tms.tile(west, north, z), tms.tile(east, south, z)
            cols = (max(0, upper_left.x), min(cols[1], lower_right.x))
            rows = (max(0, upper_left.y), min(rows[1], lower_right.y))
        limits.append(
            {
                "tileMatrix": matrix.id,
                "minTileRow": rows[0],
                "maxTileRow": rows[1],
                "minTileCol": cols[0],
                "maxTileCol": cols[1],
            }
        )
    return limits


def _attribution(specs: list[LayerSpec], lang: str) -> str:
    texts = [s.attribution or f"{s.owner.get(lang)} ({s.licence})" for s in specs]
    return "; ".join(dict.fromkeys(texts))


def tms_document(tms: morecantile.TileMatrixSet) -> dict[str, Any]:
    """The OGC TMS 2.0 JSON of ``tms``, also carrying the TMS 1.0 member names.

    GDAL 3.6 (Debian 12) parses only TMS 1.0 JSON; newer clients read the 2.0
    members. Both sets live side by side, so both generations read the same document.
    """
    doc: dict[str, Any] = tms.model_dump(mode="json", exclude_none=True, by_alias=True)
    left, bottom, right, top = tms.xy_bbox
    doc["type"] = "TileMatrixSetType"
    doc["identifier"] = doc["id"]
    doc["supportedCRS"] = doc["crs"]
    doc["boundingBox"] = {
        "type": "BoundingBoxType",
        "crs": doc["crs"],
        "lowerLeft": [left, bottom],
        "upperRight": [right, top],
        "lowerCorner": [left, bottom],
        "upperCorner": [right, top],
    }
    doc["tileMatrix"] = [
        {
            "type": "TileMatrixType",
            "identifier": m["id"],
            "scaleDenominator": m["scaleDenominator"],
            "topLeftCorner": m["pointOfOrigin"],
            "tileWidth": m["tileWidth"],
            "tileHeight": m["tileHeight"],
            "matrixWidth": m["matrixWidth"],
            "matrixHeight": m["matrixHeight"],
        }
        for m in doc["tileMatrices"]
    ]
    return doc


def collection_tile_links(base_url: str, collection_id: str) -> list[dict[str, str]]:
    """Links a ``/collections/{id}`` document adds so tile clients (GDAL) find the tilesets."""
    tiles = f"{base_url}/collections/{collection_id}/tiles"
    return [
        {"rel": REL_TILESETS_VECTOR, "type": JSON, "title": "Vector tilesets", "href": tiles},
        {
            "rel": "describedby",
            "type": "application/vnd.mapbox.tile+json",
            "title": "TileJSON (WebMercatorQuad)",
            "href": f"{tiles}/WebMercatorQuad/tilejson.json",
        },
    ]


class _Tiles:
    """The state behind one tiles router: its default settings and its caches."""

    def __init__(self, settings: TileSettings) -> None:
        self.settings = settings
        self.cache = TileCache(settings.cache_bytes)
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
        async with request.app.state.pool.connection() as conn:
            return await self.summaries.get(conn, specs, self.history_schema(request))

    def tilesets(self, request: Request, path: str, title: str) -> dict[str, Any]:
        """The tileset list of ``path`` (``/tiles`` or ``/collections/{id}/tiles``)."""
        url = self.base(request) + path
        sets = []
        for tms_id in TILE_MATRIX_SETS:
            tms = morecantile.tms.get(tms_id)
            sets.append(
                {
                    "title": f"{title} ({tms_id})",
                    "dataType": "vector",
                    "crs": _CRS[tms_id],
                    "tileMatrixSetURI": tms.uri,
                    "links": [
                        {"rel": "self", "type": JSON, "href": f"{url}/{tms_id}"},
                        {
                            "rel": REL_TILING_SCHEME,
                            "type": JSON,
                            "href": f"{self.base(request)}/tileMatrixSets/{tms_id}",
                        },
                    ],
                }
            )
        return {"links": [{"rel": "self", "type": JSON, "href": url}], "tilesets": sets}

    def tileset(
        self,
        request: Request,
        path: str,
        title: str,
        tms: morecantile.TileMatrixSet,
        specs: list[LayerSpec],
        summaries: dict[str, LayerSummary],
    ) -> dict[str, Any]:
        """Tileset metadata (OGC TMS 2.0 TileSetMetadata) for ``specs``."""
        lang, base = _lang(request), self.base(request)
        url = f"{base}{path}/{tms.id}"
        bbox = _union([summaries[s.name].bbox for s in specs])
        layers = []
        for spec in specs:
            fields = spec.fields_for(Access.PUBLIC)
            layer: dict[str, Any] = {
                "id": spec.name,
                "title": spec.title.get(lang),
                "description": spec.description.get(lang),
                "dataType": "vector",
                "geometryDimension": _DIMENSION[spec.geometry.family],
                "minTileMatrix": str(spec.min_zoom),
                "maxTileMatrix": str(_zoom_range(tms, [spec])[1]),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {f.name: _field_schema(f, lang) for f in fields},
                },
            }
            layers.append(layer)
        doc: dict[str, Any] = {
            "title": title,
            "dataType": "vector",
            "crs": _CRS[str(tms.id)],
            "tileMatrixSetURI": tms.uri,
            "tileMatrixSetLimits": _limits(tms, _zoom_range(tms, specs), bbox),
            "layers": layers,
            "links": [
                {"rel": "self", "type": JSON, "href": url},
                {
                    "rel": "alternate",
                    "type": "application/vnd.mapbox.tile+json",
                    "href": f"{url}/tilejson.json",
                },
                {"rel": REL_TILING_SCHEME, "type": JSON, "href": f"{base}/tileMatrixSets/{tms.id}"},
                {
                    "rel": "item",
                    "type": MVT,
                    "title": "Mapbox vector tiles",
                    "templated": True,
                    "href": f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                },
            ],
        }
        if bbox is not None:
            doc["boundingBox"] = {
                "lowerLeft": list(bbox[:2]),
                "upperRight": list(bbox[2:]),
                "crs": _CRS84,
            }
        return doc

    def tilejson(
        self,
        request: Request,
        path: str,
        title: str,
        specs: list[LayerSpec],
        summaries: dict[str, LayerSummary],
    ) -> dict[str, Any]:
        """TileJSON 3.0 for the WebMercatorQuad tileset of ``specs``."""
        lang = _lang(request)
        tms = morecantile.tms.get("WebMercatorQuad")
        minzoom, maxzoom = _zoom_range(tms, specs)
        bbox = _union([summaries[s.name].bbox for s in specs]) or (-180.0, -85.0511, 180.0, 85.0511)
        doc: dict[str, Any] = {
            "tilejson": "3.0.0",
            "name": title,
            "scheme": "xyz",
            "tiles": [f"{self.base(request)}{path}/WebMercatorQuad/{{z}}/{{y}}/{{x}}"],
            "minzoom": minzoom,
            "maxzoom": maxzoom,
            "bounds": list(bbox),
            "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, max(minzoom, 12)],
            "attribution": _attribution(specs, lang),
            "vector_layers": [],
        }
        for spec in specs:
            fields = {}
            for field in spec.fields_for(Access.PUBLIC):
                unit = f" ({field.unit})" if field.unit else ""
                fields[field.name] = field.title.get(lang) + unit
            doc["vector_layers"].append(
                {
                    "id": spec.name,
                    "description": spec.description.get(lang),
                    "minzoom": spec.min_zoom,
                    "maxzoom": min(spec.max_zoom, maxzoom),
                    "fields": fields,
                }
            )
        if len(specs) == 1:
            doc["description"] = specs[0].description.get(lang)
        return doc

    async def tile(
        self, request: Request, specs: list[LayerSpec], address: TileAddress
    ) -> Response:
        """The MVT of the layers of ``specs`` visible at the tile's zoom."""
        settings = self.tile_settings(request)
        visible = [s for s in specs if s.min_zoom <= address.z <= s.max_zoom]
        headers = {"Cache-Control": f"public, max-age={settings.max_age}"}
        if not visible:
            return Response(status_code=204, headers=headers)
        names = [s.name for s in visible]
        async with request.app.state.pool.connection() as conn:
            states = await read_states(conn, self.history_schema(request), names)
            key: TileKey = (
                tuple((n, states[n][0]) for n in names),
                address.tms_id,
                address.z,
                address.x,
                address.y,
                settings.fingerprint,
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


def build_tiles_router(settings: TileSettings | None = None) -> APIRouter:
    """Routes of OGC API - Tiles, relative to the OGC API root (``/ogc``)."""
    state = _Tiles(settings or TileSettings())
    router = APIRouter(tags=["Tiles"])

    def public_layers(request: Request) -> list[LayerSpec]:
        registry: LayerRegistry = request.app.state.registry
        return registry.list(Access.PUBLIC)

    @router.get("/tileMatrixSets", name="tile_matrix_sets")
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

    @router.get("/tileMatrixSets/{tileMatrixSetId}")
    async def tile_matrix_set(tileMatrixSetId: str) -> Response:
        return _json(tms_document(_tms(tileMatrixSetId)))

    @router.get("/collections/{collectionId}/tiles")
    async def collection_tilesets(request: Request, collectionId: str) -> Response:
        spec = _public_layer(request, collectionId)
        path = f"/collections/{spec.name}/tiles"
        return _json(state.tilesets(request, path, spec.title.get(_lang(request))))

    @router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}")
    async def collection_tileset(
        request: Request,
        collectionId: str,
        tileMatrixSetId: str,
    ) -> Response:
        spec = _public_layer(request, collectionId)
        tms = _tms(tileMatrixSetId)
        fmt = _format(request, ("json", "tilejson"))
        if fmt == "tilejson":
            return await collection_tilejson(request, collectionId, tileMatrixSetId)
        summaries = await state.summaries_of(request, [spec])
        path, title = f"/collections/{spec.name}/tiles", spec.title.get(_lang(request))
        return _json(state.tileset(request, path, title, tms, [spec], summaries))

    @router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json")
    async def collection_tilejson(
        request: Request,
        collectionId: str,
        tileMatrixSetId: str,
    ) -> Response:
        spec = _public_layer(request, collectionId)
        if _tms(tileMatrixSetId).id != "WebMercatorQuad":
            raise HTTPException(404, "TileJSON is offered for WebMercatorQuad only")
        summaries = await state.summaries_of(request, [spec])
        path, title = f"/collections/{spec.name}/tiles", spec.title.get(_lang(request))
        doc = state.tilejson(request, path, title, [spec], summaries)
        return _json(doc, "application/vnd.mapbox.tile+json")

    @router.get(
        "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"
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

    @router.get("/tiles")
    async def dataset_tilesets(request: Request) -> Response:
        title = "Громада: усі публічні шари" if _lang(request) == "uk" else "All public layers"
        return _json(state.tilesets(request, "/tiles", title))

    @router.get("/tiles/{tileMatrixSetId}")
    async def dataset_tileset(request: Request, tileMatrixSetId: str) -> Response:
        tms = _tms(tileMatrixSetId)
        if _format(request, ("json", "tilejson")) == "tilejson":
            return await dataset_tilejson(request, tileMatrixSetId)
        specs = public_layers(request)
        summaries = await state.summaries_of(request, specs)
        title = "Громада: усі публічні шари" if _lang(request) == "uk" else "All public layers"
        return _json(state.tileset(request, "/tiles", title, tms, specs, summaries))

    @router.get("/tiles/{tileMatrixSetId}/tilejson.json")
    async def dataset_tilejson(request: Request, tileMatrixSetId: str) -> Response:
        if _tms(tileMatrixSetId).id != "WebMercatorQuad":
            raise HTTPException(404, "TileJSON is offered for WebMercatorQuad only")
        specs = public_layers(request)
        summaries = await state.summaries_of(request, specs)
        title = "Громада: усі публічні шари" if _lang(request) == "uk" else "All public layers"
        doc = state.tilejson(request, "/tiles", title, specs, summaries)
        return _json(doc, "application/vnd.mapbox.tile+json")

    @router.get("/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}")
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

    router.state = state  # type: ignore[attr-defined]
    return router
