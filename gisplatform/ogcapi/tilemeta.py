"""Tile metadata documents: tile matrix sets, tileset lists, tilesets, TileJSON, MVT metadata.

Pure functions of the registry, the layers' summaries and the OGC API root URL
(``base``); the routes that serve them live in :mod:`gisplatform.ogcapi.tiles`.
Only public layers and public fields are ever described.

Two generations of GDAL read these documents:

* GDAL >= 3.7.1 (e.g. the 3.12 bundled with pyogrio) follows collection →
  ``tilesets-vector`` → tileset (``item`` link of type MVT,
  ``tileMatrixSetLimits``) → ``tiling-scheme`` (TMS 2.0 JSON) → tiles.
* GDAL 3.6 – 3.7.0 built with CMake (Debian 12's 3.6.2, checked) fetch the
  collection, the tileset list, the tileset and the tile matrix set, then open
  nothing, whatever the server says: their OGCAPI driver was compiled without
  its vector-tile branch (it sits behind ``#ifdef OGR_ENABLE_DRIVER_GML``, which
  the build did not define for that driver; fixed by OSGeo/gdal#7993 in 3.7.1).
  Those GDALs read our tiles with their MVT driver instead, from the
  ``…/WebMercatorQuad/xyz`` tileset (``{z}/{x}/{y}.pbf`` and a
  ``metadata.json``), described by :func:`mvt_metadata`.
"""

from __future__ import annotations

from typing import Any

import morecantile
from fastapi import Request

from gisplatform.ogcapi.httpsemantics import mark_negotiated_on_language
from gisplatform.ogcapi.tilequeries import (
    DEMO_ATTRIBUTE,
    DEMO_TITLE,
    TILE_MATRIX_SETS,
    LayerSummary,
)
from gisplatform.registry import FieldSpec, FieldType, LayerSpec
from gisplatform.store.audiences import current_reader

MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
TILEJSON = "application/vnd.mapbox.tile+json"
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
REL_TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
#: the path segment, under ``…/tiles/WebMercatorQuad``, of the z/x/y tileset for GDAL's MVT driver
XYZ = "xyz"
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
#: field types in tippecanoe's ``metadata.json`` ("Integer" is GDAL's extension); else "String"
_MVT_TYPES = {
    FieldType.INTEGER: "Integer",
    FieldType.NUMBER: "Number",
    FieldType.BOOLEAN: "Boolean",
}
_DIMENSION = {"point": 0, "line": 1, "polygon": 2}
_MVT_GEOMETRY = {"point": "Point", "line": "LineString", "polygon": "Polygon"}
_WORLD_MERCATOR = (-180.0, -85.0511, 180.0, 85.0511)


def lang(request: Request) -> str:
    """``uk`` or ``en``, from ``?lang=`` or ``Accept-Language`` (Ukrainian by default)."""
    found = request.query_params.get("lang")
    if found is None:
        mark_negotiated_on_language(request)
        found = request.headers.get("accept-language", "uk")[:2]
    return "en" if found.lower().startswith("en") else "uk"


def _field_schema(field: FieldSpec, language: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _JSON_TYPES.get(field.type, "string")}
    schema["title"] = field.title.get(language)
    if field.description is not None:
        schema["description"] = field.description.get(language)
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


def zoom_range(tms: morecantile.TileMatrixSet, specs: list[LayerSpec]) -> tuple[int, int]:
    """The zooms at which at least one of ``specs`` is tiled, within the tile matrix set."""
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


def _attribution(specs: list[LayerSpec], language: str) -> str:
    texts = [
        s.attribution or f"{s.owner.get(language)} ({s.licence_label(language)})" for s in specs
    ]
    return "; ".join(dict.fromkeys(texts))


def _bbox(specs: list[LayerSpec], summaries: dict[str, LayerSummary]) -> tuple[float, ...]:
    return _union([summaries[s.name].bbox for s in specs]) or _WORLD_MERCATOR


def tms_document(tms: morecantile.TileMatrixSet) -> dict[str, Any]:
    """The OGC TMS 2.0 JSON of ``tms``, also carrying the TMS 1.0 member names.

    GDAL before 3.7 reads a tile matrix set by the 1.0 names (``supportedCRS``,
    ``boundingBox.lowerCorner``, per matrix ``identifier`` and ``topLeftCorner``;
    3.6.2 accepts the 2.0 ``tileMatrices`` array but not its members' names);
    newer clients read the 2.0 members. Both sets live side by side, so both
    generations parse the same document.
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
            "type": TILEJSON,
            "title": "TileJSON (WebMercatorQuad)",
            "href": f"{tiles}/WebMercatorQuad/tilejson.json",
        },
    ]


def tilesets(base: str, path: str, title: str) -> dict[str, Any]:
    """The tileset list of ``path`` (``/tiles`` or ``/collections/{id}/tiles``)."""
    url = base + path
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
                        "href": f"{base}/tileMatrixSets/{tms_id}",
                    },
                ],
            }
        )
    return {"links": [{"rel": "self", "type": JSON, "href": url}], "tilesets": sets}


def tileset(
    base: str,
    language: str,
    path: str,
    title: str,
    tms: morecantile.TileMatrixSet,
    specs: list[LayerSpec],
    summaries: dict[str, LayerSummary],
) -> dict[str, Any]:
    """Tileset metadata (OGC TMS 2.0 TileSetMetadata) for ``specs``."""
    url = f"{base}{path}/{tms.id}"
    bbox = _union([summaries[s.name].bbox for s in specs])
    layers = []
    for spec in specs:
        fields = spec.fields_for(current_reader())
        layers.append(
            {
                "id": spec.name,
                "title": spec.title.get(language),
                "description": spec.description.get(language),
                "dataType": "vector",
                "geometryDimension": _DIMENSION[spec.geometry.family],
                "minTileMatrix": str(spec.min_zoom),
                "maxTileMatrix": str(zoom_range(tms, [spec])[1]),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {
                        **{f.name: _field_schema(f, language) for f in fields},
                        DEMO_ATTRIBUTE: {
                            "type": "boolean",
                            "title": DEMO_TITLE.get(language),
                        },
                    },
                },
            }
        )
    links = [
        {"rel": "self", "type": JSON, "href": url},
        {"rel": REL_TILING_SCHEME, "type": JSON, "href": f"{base}/tileMatrixSets/{tms.id}"},
        {
            "rel": "item",
            "type": MVT,
            "title": "Mapbox vector tiles",
            "templated": True,
            "href": f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
        },
    ]
    if tms.id == "WebMercatorQuad":
        links[1:1] = [
            {"rel": "alternate", "type": TILEJSON, "href": f"{url}/tilejson.json"},
            {
                "rel": "alternate",
                "type": JSON,
                "title": "z/x/y tileset metadata for GDAL's MVT driver (MVT:…/xyz/{z})",
                "href": f"{url}/{XYZ}/metadata.json",
            },
        ]
    doc: dict[str, Any] = {
        "title": title,
        "dataType": "vector",
        "crs": _CRS[str(tms.id)],
        "tileMatrixSetURI": tms.uri,
        "tileMatrixSetLimits": _limits(tms, zoom_range(tms, specs), bbox),
        "layers": layers,
        "links": links,
    }
    if bbox is not None:
        doc["boundingBox"] = {
            "lowerLeft": list(bbox[:2]),
            "upperRight": list(bbox[2:]),
            "crs": _CRS84,
        }
    return doc


def tilejson(
    base: str,
    language: str,
    path: str,
    title: str,
    specs: list[LayerSpec],
    summaries: dict[str, LayerSummary],
) -> dict[str, Any]:
    """TileJSON 3.0 for the WebMercatorQuad tileset of ``specs``."""
    tms = morecantile.tms.get("WebMercatorQuad")
    minzoom, maxzoom = zoom_range(tms, specs)
    bbox = _bbox(specs, summaries)
    doc: dict[str, Any] = {
        "tilejson": "3.0.0",
        "name": title,
        "scheme": "xyz",
        "tiles": [f"{base}{path}/WebMercatorQuad/{{z}}/{{y}}/{{x}}"],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": list(bbox),
        "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, max(minzoom, 12)],
        "attribution": _attribution(specs, language),
        "vector_layers": [],
    }
    for spec in specs:
        fields = {}
        for field in spec.fields_for(current_reader()):
            unit = f" ({field.unit})" if field.unit else ""
            fields[field.name] = field.title.get(language) + unit
        fields[DEMO_ATTRIBUTE] = DEMO_TITLE.get(language)
        doc["vector_layers"].append(
            {
                "id": spec.name,
                "description": spec.description.get(language),
                "minzoom": spec.min_zoom,
                "maxzoom": min(spec.max_zoom, maxzoom),
                "fields": fields,
            }
        )
    if len(specs) == 1:
        doc["description"] = specs[0].description.get(language)
    return doc


def mvt_metadata(
    base: str,
    language: str,
    path: str,
    title: str,
    specs: list[LayerSpec],
    summaries: dict[str, LayerSummary],
) -> dict[str, Any]:
    """``metadata.json`` of the z/x/y tileset, in the shape GDAL's MVT driver reads.

    The shape is tippecanoe's: ``vector_layers[].fields`` maps each field to its
    type (``Integer``, ``Number``, ``Boolean``, ``String``) rather than to a
    description as TileJSON does, so GDAL types the attributes; ``tilestats``
    names each layer's geometry type; ``bounds`` (lon/lat) lets the driver fetch
    only the tiles over the data. Open it with ``ogrinfo MVT:<base><path>/
    WebMercatorQuad/xyz/<zoom>``; tiles are ``…/xyz/{z}/{x}/{y}.pbf``, the same
    bytes (and ETags) as ``…/WebMercatorQuad/{z}/{y}/{x}``.
    """
    tms = morecantile.tms.get("WebMercatorQuad")
    minzoom, maxzoom = zoom_range(tms, specs)
    bbox = _bbox(specs, summaries)
    layers, stats = [], []
    for spec in specs:
        fields = spec.fields_for(current_reader())
        layers.append(
            {
                "id": spec.name,
                "description": spec.description.get(language),
                "minzoom": spec.min_zoom,
                "maxzoom": min(spec.max_zoom, maxzoom),
                "fields": {
                    **{f.name: _MVT_TYPES.get(f.type, "String") for f in fields},
                    DEMO_ATTRIBUTE: "Boolean",
                },
            }
        )
        stats.append(
            {
                "layer": spec.name,
                "count": summaries[spec.name].count,
                "geometry": _MVT_GEOMETRY[spec.geometry.family],
            }
        )
    return {
        "name": title,
        "description": (
            specs[0].description.get(language)
            if len(specs) == 1
            else "; ".join(s.title.get(language) for s in specs)
        ),
        "attribution": _attribution(specs, language),
        "format": "pbf",
        "scheme": "xyz",
        "tiles": [f"{base}{path}/WebMercatorQuad/{XYZ}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": list(bbox),
        "center": [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2, max(minzoom, 12)],
        "vector_layers": layers,
        "tilestats": {"layerCount": len(stats), "layers": stats},
    }
