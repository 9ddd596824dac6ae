"""Metadata documents: collection descriptions (extent cached per layer revision), JSON
Schemas of the public properties (Features Parts 3 and 5), and queryable query
parameters (``?readiness=ready``) as SQL conditions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import Request
from psycopg import AsyncConnection, sql

from gisplatform.errors import InvalidParameter
from gisplatform.i18n import message
from gisplatform.ogcapi import queries
from gisplatform.ogcapi.common import link
from gisplatform.ogcapi.crs import CRS84
from gisplatform.ogcapi.deps import base_url
from gisplatform.ogcapi.tilemeta import collection_tile_links
from gisplatform.registry import FieldSpec, FieldType, LayerSpec
from gisplatform.store.audiences import current_reader, current_view

GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_GEOMETRY_FORMAT = {
    "Point": "geometry-point",
    "MultiPoint": "geometry-multipoint",
    "LineString": "geometry-linestring",
    "MultiLineString": "geometry-multilinestring",
    "Polygon": "geometry-polygon",
    "MultiPolygon": "geometry-multipolygon",
}
_BASE: dict[FieldType, dict[str, Any]] = {
    FieldType.STRING: {"type": "string"},
    FieldType.ENUM: {"type": "string"},
    FieldType.INTEGER: {"type": "integer"},
    FieldType.NUMBER: {"type": "number"},
    FieldType.BOOLEAN: {"type": "boolean"},
    FieldType.DATE: {"type": "string", "format": "date"},
    FieldType.DATETIME: {"type": "string", "format": "date-time"},
    FieldType.STRING_LIST: {"type": "array", "items": {"type": "string"}},
}


def field_schema(spec: LayerSpec, field: FieldSpec, lang: str) -> dict[str, Any]:
    """JSON Schema of one field: type, title, enum with labels, range, unit, role."""
    schema: dict[str, Any] = {"title": field.title.get(lang), **_BASE[field.type]}
    if field.description is not None:
        schema["description"] = field.description.get(lang)
    if field.values:
        schema["enum"] = [v.value for v in field.values]
        schema["oneOf"] = [
            {"const": v.value, "title": v.label(lang), "x-title-uk": v.uk, "x-title-en": v.en}
            for v in field.values
        ]
    if field.minimum is not None:
        schema["minimum"] = field.minimum
    if field.maximum is not None:
        schema["maximum"] = field.maximum
    if field.max_length is not None and field.type is FieldType.STRING:
        schema["maxLength"] = field.max_length
    if field.unit is not None:
        schema["x-ogc-unit"] = field.unit
    if field.name == spec.temporal_field:
        schema["x-ogc-role"] = "primary-instant"
    return schema


def json_schema(spec: LayerSpec, lang: str, url: str, queryables: bool) -> dict[str, Any]:
    """The queryables (Part 3) or feature schema (Part 5) of ``spec``'s public fields."""
    properties: dict[str, Any] = {}
    if not queryables:
        properties["id"] = {"title": "id", "type": "integer", "x-ogc-role": "id"}
    properties["geometry"] = {
        "title": "geometry",
        "format": _GEOMETRY_FORMAT[spec.geometry.value],
        "x-ogc-role": "primary-geometry",
    }
    for field in spec.fields_for(current_reader()):
        properties[field.name] = field_schema(spec, field, lang)
    document: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": url,
        "type": "object",
        "title": spec.title.get(lang),
        "description": spec.description.get(lang),
        "properties": properties,
        "additionalProperties": not queryables,
    }
    if not queryables:
        document["required"] = [f.name for f in spec.fields_for(current_reader()) if f.required]
    return document


def _typed(field: FieldSpec, text: str) -> Any:
    try:
        if field.type is FieldType.INTEGER:
            return int(text)
        if field.type is FieldType.NUMBER:
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(text)
            return value
        if field.type is FieldType.DATE:
            return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidParameter(
            field.name, message("not_valid_type", type=field.type.value)
        ) from exc
    if field.type is FieldType.BOOLEAN:
        folded = text.lower()
        if folded not in ("true", "false", "1", "0"):
            raise InvalidParameter(field.name, message("expected_boolean"))
        return folded in ("true", "1")
    return text


def property_value(field: FieldSpec, text: str) -> tuple[sql.Composable, list[Any]]:
    """``?<field>=<value>``: equality (membership for lists; ``,`` means any of)."""
    column = sql.Identifier(field.name)
    if field.type is FieldType.STRING_LIST:
        return sql.SQL("(%s = ANY({}))").format(column), [text]
    if field.type is FieldType.DATETIME:
        return sql.SQL("({} = %s::timestamptz)").format(column), [text]
    return sql.SQL("({} = %s)").format(column), [_typed(field, text)]


@dataclass(frozen=True)
class LayerStats:
    """Extent, temporal range and size of a layer's public view at one revision."""

    bbox: list[float] | None
    interval: list[str | None] | None
    count: int


async def layer_revision(conn: AsyncConnection[Any], request: Request, name: str) -> int:
    """The layer's revision in the history (moves with every edit and import)."""
    history = request.app.state.settings.history_schema
    cursor = await conn.execute(queries.revision_query(history), [name])
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def layer_stats(conn: AsyncConnection[Any], request: Request, spec: LayerSpec) -> LayerStats:
    """The layer's stats, recomputed only when its revision in the history changed."""
    cache: dict[tuple[str, str], tuple[int, LayerStats]] = request.app.state.stats
    key = (current_view().schema, spec.name)
    revision = await layer_revision(conn, request, spec.name)
    cached = cache.get(key)
    if cached is not None and cached[0] == revision:
        return cached[1]
    temporal = spec.field(spec.temporal_field) if spec.temporal_field else None
    cursor = await conn.execute(queries.stats_query(spec, temporal))
    row = await cursor.fetchone()
    assert row is not None
    bbox = None if row[0] is None else [float(v) for v in row[:4]]
    interval: list[str | None] | None = None
    if temporal is not None and row[4] is not None:
        interval = [_instant_text(row[4]), _instant_text(row[5])]
    stats = LayerStats(bbox, interval, int(row[6]))
    cache[key] = (revision, stats)
    return stats


def cached_count(request: Request, spec: LayerSpec, revision: int | None) -> int | None:
    """The layer's row count for this audience if the kept stats are of ``revision``."""
    if revision is None:
        return None
    cached = request.app.state.stats.get((current_view().schema, spec.name))
    return cached[1].count if cached is not None and cached[0] == revision else None


def _instant_text(value: str) -> str:
    return f"{value}T00:00:00Z" if len(value) == 10 else value


def _licence_url(licence: str) -> str:
    return f"https://spdx.org/licenses/{licence}.html"


def collection_body(
    request: Request, spec: LayerSpec, stats: LayerStats, lang: str, crs_uris: list[str]
) -> dict[str, Any]:
    """A collection's metadata document (OGC API Common/Features)."""
    root = f"{base_url(request)}/collections/{spec.name}"
    extent: dict[str, Any] = {}
    if stats.bbox is not None:
        extent["spatial"] = {"bbox": [stats.bbox], "crs": CRS84}
    if stats.interval is not None:
        extent["temporal"] = {"interval": [stats.interval], "trs": TRS}
    body: dict[str, Any] = {
        "id": spec.name,
        "title": spec.title.get(lang),
        "description": spec.description.get(lang),
        "keywords": list(spec.keywords.en if lang == "en" else spec.keywords.uk),
        "license": spec.licence if spec.is_openly_licensed else spec.licence_label(lang),
        "attribution": spec.attribution or spec.owner.get(lang),
        "itemType": "feature",
        "crs": crs_uris,
        "storageCrs": CRS84,
        "extent": extent,
        "links": [
            link(f"{root}?f=json", "self", "application/json", "this collection"),
            link(f"{root}?f=html", "alternate", "text/html", "this collection as HTML"),
            link(f"{root}/items?f=json", "items", GEOJSON, "features"),
            link(f"{root}/items?f=html", "items", "text/html", "features as HTML"),
            link(
                f"{root}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                SCHEMA_JSON,
                "queryables",
            ),
            link(
                f"{root}/schema",
                "http://www.opengis.net/def/rel/ogc/1.0/schema",
                SCHEMA_JSON,
                "schema",
            ),
            link(f"{root}/schema", "describedby", SCHEMA_JSON, "schema"),
        ],
    }
    if spec.is_openly_licensed:
        body["links"].append(link(_licence_url(spec.licence), "license", "text/html", spec.licence))
    body["links"].extend(collection_tile_links(base_url(request), spec.name))
    return body
