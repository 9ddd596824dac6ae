"""OGC API - Records: the catalogue of public layers as the collection ``catalogue``.

One record per public layer, derived from the registry (titles, keywords, owner,
licence) and from the data (extent, feature count, last change from
``history.layer_state``). Counts and extents are recomputed only when a
layer's revision moves, so the catalogue follows every edit and import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from gisplatform.errors import FeatureNotFound, InvalidParameter
from gisplatform.i18n import message
from gisplatform.ogcapi.crs import CRS84
from gisplatform.ogcapi.deps import FormatDep, Lang, LangDep, public_link
from gisplatform.ogcapi.html import render_page, words_for
from gisplatform.ogcapi.htmlvalues import moment, plain
from gisplatform.ogcapi.metapages import collection_crumbs, extent_text, record_rows
from gisplatform.ogcapi.routing import read_pool
from gisplatform.ogcapi.tilemeta import REL_TILESETS_VECTOR
from gisplatform.ogcapi.tilequeries import LayerSummary, SummaryCache
from gisplatform.registry import LayerRegistry, LayerSpec
from gisplatform.store.audiences import current_reader

CATALOGUE_ID = "catalogue"
GEOJSON = "application/geo+json"
JSON = "application/json"
MVT = "application/vnd.mapbox-vector-tile"
_RECORDS = "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/"
RECORDS_CONFORMANCE: list[str] = [
    _RECORDS + c
    for c in ("record-core", "record-collection", "record-api", "json", "geojson", "searchable")
]
_THEMES_SCHEME = "https://gisplatform.org/themes"
_ITEM_PARAMS = frozenset({"f", "lang", "q", "bbox", "limit", "offset", "ids", "type"})
#: the parameters of the records' ``/items`` in the OpenAPI document (``openapi.QUERY``)
_ITEM_QUERY = ["q", "records-bbox", "records-limit", "records-offset", "ids", "type"]
_TITLES: dict[Lang, tuple[str, str]] = {
    "uk": ("Каталог даних громади", "Набори геоданих, які публікує громада."),
    "en": ("Hromada data catalogue", "Geospatial datasets published by the hromada."),
}


def _lang(request: Request) -> Lang:
    lang = request.query_params.get("lang") or request.headers.get("accept-language", "uk")
    return "en" if lang.lower().startswith("en") else "uk"


def _record_row(base: str, one: dict[str, Any], lang: Lang) -> dict[str, str]:
    properties = one["properties"]
    updated = properties.get("updated")
    return {
        "title": properties["title"],
        "url": f"{base}/collections/{CATALOGUE_ID}/items/{one['id']}?f=html&lang={lang}",
        "description": properties["description"],
        "count": plain(properties.get("featureCount") or 0, lang),
        "updated": moment(datetime.fromisoformat(updated), lang) if updated else "",
    }


def _base(request: Request) -> str:
    local = str(request.url_for("catalogue_collection"))
    return public_link(request, local).removesuffix(f"/collections/{CATALOGUE_ID}")


def _json(doc: dict[str, Any], media_type: str = JSON) -> Response:
    return Response(orjson.dumps(doc), media_type=media_type)


def union_bbox(boxes: Iterable[Sequence[float]]) -> list[float] | None:
    """The smallest box holding every ``[west, south, east, north]`` of ``boxes``."""
    found = [list(b[:4]) for b in boxes]
    if not found:
        return None
    return [
        min(b[0] for b in found),
        min(b[1] for b in found),
        max(b[2] for b in found),
        max(b[3] for b in found),
    ]


def catalogue_collection(request: Request, boxes: Iterable[Sequence[float]] = ()) -> dict[str, Any]:
    """The catalogue's entry in ``/collections`` (``itemType: record``); its extent is that
    of the records' layers (``boxes``)."""
    lang, base = _lang(request), _base(request)
    title, description = _TITLES[lang]
    url = f"{base}/collections/{CATALOGUE_ID}"
    extent = union_bbox(boxes)
    return {
        "id": CATALOGUE_ID,
        "title": title,
        "description": description,
        "itemType": "record",
        "type": "Catalog",
        "conformsTo": [_RECORDS + "record-collection"],
        "links": [
            {"rel": "self", "type": JSON, "href": url},
            {"rel": "items", "type": GEOJSON, "href": f"{url}/items"},
        ],
        "extent": {"spatial": {"bbox": [extent], "crs": CRS84}} if extent else {},
    }


def _polygon(bbox: tuple[float, float, float, float] | None) -> dict[str, Any] | None:
    if bbox is None:
        return None
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def record(
    spec: LayerSpec, summary: LayerSummary, base: str, lang: Lang, tiles: bool = True
) -> dict[str, Any]:
    """The catalogue record of one public layer (or of another collection, without tiles)."""
    collection = f"{base}/collections/{spec.name}"
    keywords = spec.keywords.en if lang == "en" else spec.keywords.uk
    properties: dict[str, Any] = {
        "type": "dataset",
        "title": spec.title.get(lang),
        "description": spec.description.get(lang),
        "keywords": list(keywords),
        "language": {"code": lang},
        "languages": [{"code": "uk"}, {"code": "en"}],
        "themes": [{"concepts": [{"id": spec.theme}], "scheme": _THEMES_SCHEME}],
        "license": spec.licence,
        "rights": spec.attribution or spec.owner.get(lang),
        "contacts": [{"organization": spec.owner.get(lang), "roles": ["custodian", "owner"]}],
        "formats": [
            {"name": "GeoJSON", "mediaType": GEOJSON},
            *([{"name": "Mapbox Vector Tiles", "mediaType": MVT}] if tiles else []),
        ],
        "updated": summary.changed_at.isoformat() if summary.changed_at else None,
        "updateFrequency": spec.update_frequency.value,
        "featureCount": summary.count,
        "geometryType": spec.geometry.value,
    }
    links = [
        {
            "rel": "self",
            "type": GEOJSON,
            "href": f"{base}/collections/{CATALOGUE_ID}/items/{spec.name}",
        },
        {"rel": "collection", "type": JSON, "href": f"{base}/collections/{CATALOGUE_ID}"},
        {"rel": "describes", "type": JSON, "title": "Collection", "href": collection},
        {"rel": "items", "type": GEOJSON, "title": "Features", "href": f"{collection}/items"},
    ]
    if tiles:
        links.append(
            {
                "rel": REL_TILESETS_VECTOR,
                "type": JSON,
                "title": "Tiles",
                "href": f"{collection}/tiles",
            }
        )
    return {
        "id": spec.name,
        "type": "Feature",
        "conformsTo": [_RECORDS + "record-core"],
        "geometry": _polygon(summary.bbox),
        "properties": properties,
        "links": links,
    }


def _matches_text(spec: LayerSpec, terms: list[str]) -> bool:
    texts = [spec.name, spec.theme, spec.title.uk, spec.title.en]
    texts += [spec.description.uk, spec.description.en, *spec.keywords.uk, *spec.keywords.en]
    haystack = " ".join(texts).casefold()
    return any(term in haystack for term in terms)


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InvalidParameter("bbox", message("bbox_four_numbers")) from None
    if len(values) == 6:  # with heights: the records have none, the plane box is kept
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4 or values[0] > values[2] or values[1] > values[3]:
        raise InvalidParameter("bbox", message("bbox_four_numbers"))
    return values[0], values[1], values[2], values[3]


def _int(request: Request, name: str, default: int, upper: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 0 <= int(text) <= upper:
        raise InvalidParameter(name, message("integer_range", upper=upper))
    return int(text)


def _overlaps(a: tuple[float, ...] | None, b: tuple[float, ...]) -> bool:
    return a is not None and a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def build_records_router() -> APIRouter:
    """Routes of the catalogue, relative to the OGC API root (``/ogc``)."""
    summaries = SummaryCache()
    router = APIRouter(tags=["Records"])

    async def summaries_of(request: Request, specs: list[LayerSpec]) -> dict[str, LayerSummary]:
        settings = getattr(request.app.state, "settings", None)
        history = str(getattr(settings, "history_schema", "history"))
        async with read_pool(request).connection() as conn:
            return await summaries.get(conn, specs, history)

    async def others(request: Request) -> list[tuple[LayerSpec, LayerSummary]]:
        """Records of collections that are not layers (``app.state.extra_records``)."""
        found = []
        for extra in getattr(request.app.state, "extra_records", ()):
            one = await extra(request)
            if one is not None:
                found.append(one)
        return found

    @router.get(
        f"/collections/{CATALOGUE_ID}", name="catalogue_collection", summary="the catalogue"
    )
    async def collection(request: Request, f: FormatDep, lang: LangDep) -> Response:
        registry: LayerRegistry = request.app.state.registry
        known = await summaries_of(request, registry.list(current_reader()))
        known.update({spec.name: summary for spec, summary in await others(request)})
        boxes = [s.bbox for s in known.values() if s.bbox is not None]
        doc = catalogue_collection(request, boxes)
        extent = union_bbox(boxes)
        if f == "html":
            words = words_for(lang)
            facts = [(words.records, plain(len(known), lang))]
            if extent is not None:
                facts.append((words.extent, extent_text(extent, lang)))
            return await render_page(
                request,
                "catalogue.html",
                lang,
                title=_TITLES[lang][0],
                description=_TITLES[lang][1],
                facts=facts,
                catalogue_id=CATALOGUE_ID,
                crumbs=collection_crumbs(request, lang, _TITLES[lang][0]),
            )
        return _json(doc)

    @router.get(
        f"/collections/{CATALOGUE_ID}/items",
        summary="records of the catalogue",
        openapi_extra={"x-query": _ITEM_QUERY, "x-media": [GEOJSON]},
    )
    async def items(request: Request, f: FormatDep, lang: LangDep) -> Response:
        unknown = set(request.query_params) - _ITEM_PARAMS
        if unknown:
            raise InvalidParameter(sorted(unknown)[0], message("unknown_query_parameter"))
        registry: LayerRegistry = request.app.state.registry
        specs = registry.list(current_reader())
        extra = {spec.name: (spec, summary) for spec, summary in await others(request)}
        specs += [spec for spec, _ in extra.values()]
        params = request.query_params
        if params.get("type") not in (None, "dataset"):
            specs = []
        if params.get("ids"):
            wanted = set(params["ids"].split(","))
            specs = [s for s in specs if s.name in wanted]
        if params.get("q"):
            terms = [t.strip().casefold() for t in params["q"].split(",") if t.strip()]
            specs = [s for s in specs if _matches_text(s, terms)]
        known = await summaries_of(request, [s for s in specs if s.name not in extra])
        known.update({name: summary for name, (_, summary) in extra.items()})
        if params.get("bbox"):
            box = _bbox(params["bbox"])
            specs = [s for s in specs if _overlaps(known[s.name].bbox, box)]
        limit, offset = _int(request, "limit", 100, 1000), _int(request, "offset", 0, 10_000)
        base = _base(request)
        page = specs[offset : offset + limit]
        links = [
            {"rel": "self", "type": GEOJSON, "href": public_link(request, str(request.url))},
            {"rel": "collection", "type": JSON, "href": f"{base}/collections/{CATALOGUE_ID}"},
        ]
        if offset + limit < len(specs):
            following = request.url.include_query_params(offset=offset + limit, limit=limit)
            links.append(
                {"rel": "next", "type": GEOJSON, "href": public_link(request, str(following))}
            )
        records = [record(s, known[s.name], base, lang, s.name not in extra) for s in page]
        if f == "html":
            following = request.url.include_query_params(
                offset=offset + limit, limit=limit, f="html"
            )
            more = offset + limit < len(specs)
            return await render_page(
                request,
                "records.html",
                lang,
                title=_TITLES[lang][0],
                matched=plain(len(specs), lang),
                returned=plain(len(page), lang),
                rows=[_record_row(base, one, lang) for one in records],
                next_url=public_link(request, str(following)) if more else "",
                crumbs=collection_crumbs(
                    request, lang, _TITLES[lang][0], f"/collections/{CATALOGUE_ID}"
                ),
            )
        doc = {
            "type": "FeatureCollection",
            "numberMatched": len(specs),
            "numberReturned": len(page),
            "features": records,
            "links": links,
        }
        return _json(doc, GEOJSON)

    @router.get(
        f"/collections/{CATALOGUE_ID}/items/{{recordId}}",
        summary="one record",
        openapi_extra={"x-media": [GEOJSON]},
    )
    async def item(request: Request, recordId: str, f: FormatDep, lang: LangDep) -> Response:
        registry: LayerRegistry = request.app.state.registry
        extra = {spec.name: (spec, summary) for spec, summary in await others(request)}
        if recordId in extra:
            spec, summary = extra[recordId]
            one = record(spec, summary, _base(request), lang, tiles=False)
        elif recordId in {s.name for s in registry.list(current_reader())}:
            spec = registry.get(recordId, current_reader())
            known = await summaries_of(request, [spec])
            one = record(spec, known[spec.name], _base(request), lang)
        else:
            raise FeatureNotFound(recordId)
        if f == "html":
            title = spec.title.get(lang)
            return await render_page(
                request,
                "record.html",
                lang,
                title=title,
                layer=spec.name,
                rows=record_rows(spec, one, lang),
                crumbs=[
                    *collection_crumbs(
                        request, lang, _TITLES[lang][0], f"/collections/{CATALOGUE_ID}"
                    ),
                    (title, ""),
                ],
            )
        return _json(one, GEOJSON)

    return router
