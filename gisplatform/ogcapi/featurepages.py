"""The items and item HTML pages of a layer: values for people and a small map of the page.

Both run in a worker thread (:func:`starlette.concurrency.run_in_threadpool`): formatting a
thousand features is CPU work that must not hold the event loop.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from psycopg import AsyncConnection, sql

from gisplatform.ogcapi import htmlvalues, queries
from gisplatform.ogcapi.crs import CRS84_CRS
from gisplatform.ogcapi.deps import Lang, base_url
from gisplatform.ogcapi.html import SCALE_UNITS, render, script_json, words_for
from gisplatform.ogcapi.schemas import layer_revision
from gisplatform.registry import FieldSpec, LayerSpec
from gisplatform.reports.marks import feature_mark_text
from gisplatform.store.audiences import current_reader

#: simplification tolerance of the hromada outline drawn under the page map (degrees)
OUTLINE_TOLERANCE = 0.0002

#: an HTML page shows at most this many features (JSON pages go to MAX_LIMIT)
HTML_MAX_LIMIT = 1000
#: an item page's map also shows this many nearest features of the layer, for context
NEIGHBOURS = 30


def items_url(request: Request, spec: LayerSpec, **changes: int | str) -> str:
    """The HTML items page with some query parameters replaced."""
    params: dict[str, str] = {**request.query_params, "f": "html"}
    params.update({k: str(v) for k, v in changes.items()})
    return f"{base_url(request)}/collections/{spec.name}/items?{urlencode(params)}"


def _item_url(request: Request, spec: LayerSpec, fid: Any, lang: Lang) -> str:
    return f"{base_url(request)}/collections/{spec.name}/items/{fid}?f=html&lang={lang}"


def _colour(spec: LayerSpec, properties: dict[str, Any]) -> str | None:
    category = spec.style.categorize_by
    if category is None:
        return None
    value = properties.get(category)
    for entry in spec.field(category).values:
        if entry.value == value:
            return entry.color
    return None


def _label(spec: LayerSpec, feature: dict[str, Any], lang: Lang) -> str:
    """What names a feature: its label field (registry style), else its number."""
    name = spec.style.label_field
    properties = feature.get("properties") or {}
    if name is not None and properties.get(name) not in (None, ""):
        return htmlvalues.field_value(spec.field(name), properties[name], lang)
    return f"{words_for(lang).feature} {feature.get('id')}"


async def hromada_outline(conn: AsyncConnection[Any], request: Request) -> Any:
    """The outline of the hromada (its public boundary layer) as GeoJSON lines, or ``None``.

    Drawn under the page map for orientation; cached until the boundary layer's revision moves.
    """
    registry = request.app.state.registry
    name = registry.hromada.boundary_layer
    specs = {spec.name: spec for spec in registry.list(current_reader())}
    if name not in specs:
        return None
    revision = await layer_revision(conn, request, name)
    cached: tuple[int, Any] | None = getattr(request.app.state, "hromada_outline", None)
    if cached is not None and cached[0] == revision:
        return cached[1]
    query = sql.SQL(
        "SELECT ST_AsGeoJSON(ST_Boundary(ST_SimplifyPreserveTopology(ST_Union(geom), %s)), 5)"
        " FROM {}"
    ).format(queries.view(specs[name]))
    cursor = await conn.execute(query, [OUTLINE_TOLERANCE])
    row = await cursor.fetchone()
    outline = orjson.loads(row[0]) if row and row[0] else None
    request.app.state.hromada_outline = (revision, outline)
    return outline


async def neighbours(conn: AsyncConnection[Any], spec: LayerSpec, fid: int) -> list[dict[str, Any]]:
    """The features of the layer nearest to ``fid`` (lon/lat; only their label and colour
    fields, and only when those are public)."""
    public = {f.name: f for f in spec.fields_for(current_reader())}
    wanted = (spec.style.label_field, spec.style.categorize_by)
    fields = tuple(public[name] for name in dict.fromkeys(wanted) if name in public)
    query = sql.SQL(
        "SELECT {} FROM {} AS t WHERE t.fid <> %s"
        " ORDER BY t.geom <-> (SELECT geom FROM {} WHERE fid = %s) LIMIT %s"
    ).format(queries.feature_json(fields, CRS84_CRS, False), queries.view(spec), queries.view(spec))
    cursor = await conn.execute(query, [fid, fid, NEIGHBOURS])  # KNN on the spatial index
    return [orjson.loads(row[0]) for row in await cursor.fetchall()]


def _drawn(
    request: Request, spec: LayerSpec, features: list[dict[str, Any]], lang: Lang
) -> list[dict[str, Any]]:
    """Features as the map draws them: geometry, label, link to their page, colour."""
    drawn = []
    for feature in features:
        if not feature.get("geometry"):
            continue
        properties: dict[str, Any] = {
            "title": _label(spec, feature, lang),
            "url": _item_url(request, spec, feature.get("id"), lang),
        }
        colour = _colour(spec, feature.get("properties") or {})
        if colour is not None:
            properties["color"] = colour
        drawn.append({"type": "Feature", "geometry": feature["geometry"], "properties": properties})
    return drawn


def _map_data(
    request: Request,
    spec: LayerSpec,
    features: list[dict[str, Any]],
    lang: Lang,
    outline: Any,
    context: list[dict[str, Any]] | None = None,
) -> Any:
    """The page's features for the map (geometry, label, link, colour), or ``None``."""
    drawn = _drawn(request, spec, features, lang)
    if not drawn:
        return None
    hromada = request.app.state.registry.hromada
    style = spec.style
    return script_json(
        {
            "features": drawn,
            "style": {
                "color": style.color,
                "fill_color": style.fill_color,
                "fill_opacity": style.fill_opacity,
                "opacity": style.opacity,
                "weight": style.weight,
                "radius": style.radius,
            },
            "scale": SCALE_UNITS[lang],
            "decimal": "," if lang == "uk" else ".",
            "outline": outline,
            "context": _drawn(request, spec, context or [], lang),
            "centre": [hromada.centre.lon, hromada.centre.lat],
            "zoom": hromada.zoom,
        }
    )


def _crumbs(request: Request, spec: LayerSpec, lang: Lang) -> list[tuple[str, str]]:
    root, words = base_url(request), words_for(lang)
    return [
        (words.collections, f"{root}/collections?f=html&lang={lang}"),
        (spec.title.get(lang), f"{root}/collections/{spec.name}?f=html&lang={lang}"),
    ]


def _cells(fields: tuple[FieldSpec, ...], properties: dict[str, Any], lang: Lang) -> list[str]:
    return [htmlvalues.field_value(f, properties.get(f.name), lang) for f in fields]


def _matched_text(matched: int | None, next_offset: int | None, lang: Lang) -> str:
    """The number matched; uncounted, "more than" the features up to the next page."""
    if matched is not None:
        return htmlvalues.number(matched, lang)
    if next_offset is None:
        return ""
    more: str = words_for(lang).matched_more
    return more.format(n=htmlvalues.number(next_offset, lang))


def items_page(
    request: Request,
    spec: LayerSpec,
    fields: tuple[FieldSpec, ...],
    lang: Lang,
    features: list[dict[str, Any]],
    *,
    matched: int | None,
    next_offset: int | None,
    prev_offset: int | None,
    limit: int,
    capped: bool,
    with_map: bool,
    outline: Any = None,
) -> HTMLResponse:
    """One page of a layer's features: a map, a table of readable values, paging links."""
    rows = [
        {
            "id": feature.get("id"),
            "url": _item_url(request, spec, feature.get("id"), lang),
            "cells": [
                htmlvalues.field_value(
                    field, (feature.get("properties") or {}).get(field.name), lang
                )
                for field in fields
            ],
        }
        for feature in features
    ]
    words = words_for(lang)
    demo = sum(1 for feature in features if feature.get("demo"))
    return render(
        request,
        "items.html",
        lang,
        demo_note=words.demo_items.format(n=htmlvalues.number(demo, lang)) if demo else "",
        title=spec.title.get(lang),
        crumbs=[*_crumbs(request, spec, lang), (words.features, "")],
        columns=[{"title": f.title.get(lang), "numeric": f.type.is_numeric} for f in fields],
        rows=rows,
        matched=_matched_text(matched, next_offset, lang),
        returned=htmlvalues.number(len(rows), lang),
        capped=words.capped.format(n=htmlvalues.number(HTML_MAX_LIMIT, lang)) if capped else "",
        next_url=items_url(request, spec, offset=next_offset, limit=limit)
        if next_offset is not None
        else "",
        prev_url=items_url(request, spec, offset=prev_offset, limit=limit)
        if prev_offset is not None
        else "",
        map_data=_map_data(request, spec, features, lang, outline) if with_map else None,
    )


def _report_note(properties: dict[str, Any], lang: Lang) -> str:
    """The residents' reports mark of the feature as a line, or nothing."""
    text = feature_mark_text(properties)
    return text.get(lang) if text is not None else ""


def item_page(
    request: Request,
    spec: LayerSpec,
    fields: tuple[FieldSpec, ...],
    lang: Lang,
    feature: dict[str, Any],
    *,
    with_map: bool,
    outline: Any = None,
    context: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    """One feature: its map (with its nearest neighbours faint) and every public field."""
    words = words_for(lang)
    properties = feature.get("properties") or {}
    heading = _label(spec, feature, lang)
    items = f"{base_url(request)}/collections/{spec.name}/items?f=html&lang={lang}"
    rows = [(words.identifier, str(feature.get("id")))]
    rows += [
        (field.title.get(lang), htmlvalues.field_value(field, properties.get(field.name), lang))
        for field in fields
    ]
    return render(
        request,
        "item.html",
        lang,
        demo_note=words.demo_item if feature.get("demo") else "",
        report_note=_report_note(properties, lang),
        title=spec.title.get(lang),
        heading=heading,
        crumbs=[*_crumbs(request, spec, lang), (words.features, items), (heading, "")],
        rows=rows,
        map_data=_map_data(request, spec, [feature], lang, outline, context) if with_map else None,
    )
