"""OGC API Features routes of the read-only collection ``reports`` (moderated, anonymised).

The routes sit beside the layers' (``/ogc/collections/reports/…``, included before the
``{collectionId}`` routes) and reuse their parsing, schemas and pages with the collection's
:class:`LayerSpec` from :mod:`gisplatform.reports.public`; only the rows' source differs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
import psycopg
from fastapi import APIRouter, Request, Response
from psycopg import AsyncConnection, sql
from starlette.concurrency import run_in_threadpool

from gisplatform.errors import FeatureNotFound, InvalidParameter, LayerNotFound
from gisplatform.i18n import message
from gisplatform.ogcapi import queries
from gisplatform.ogcapi.common import link
from gisplatform.ogcapi.deps import (
    CrsDep,
    FormatDep,
    Lang,
    LangDep,
    PoolDep,
    base_url,
    check_parameters,
)
from gisplatform.ogcapi.featurepages import HTML_MAX_LIMIT, hromada_outline, item_page, items_page
from gisplatform.ogcapi.features import (
    GEOJSON,
    ITEM_PARAMETERS,
    ITEMS_QUERY,
    SCHEMA_JSON,
    ItemsRequest,
    parse_items,
)
from gisplatform.ogcapi.html import render_page, words_for
from gisplatform.ogcapi.metapages import collection_crumbs, collection_facts, schema_rows
from gisplatform.ogcapi.routing import read_pool
from gisplatform.ogcapi.schemas import LayerStats, collection_body, json_schema
from gisplatform.ogcapi.tilequeries import LayerSummary
from gisplatform.registry import LayerSpec
from gisplatform.reports.public import COLLECTION_ID, collection_spec, source
from gisplatform.reports.published import published_kinds
from gisplatform.store.audiences import current_reader

_ROOT = f"/collections/{COLLECTION_ID}"


def reports_spec(request: Request) -> LayerSpec:
    """The collection's description for this app (built once from its report kinds)."""
    state = request.app.state
    cached: LayerSpec | None = getattr(state, "reports_collection_spec", None)
    if cached is None:
        if not published_kinds(state):
            raise LayerNotFound(COLLECTION_ID)
        cached = collection_spec(published_kinds(state), state.registry)
        state.reports_collection_spec = cached
    return cached


def _source(request: Request) -> sql.Composable:
    kinds = published_kinds(request.app.state)
    pointed = {k.layer for k in kinds if k.layer}
    specs = request.app.state.registry.list(current_reader())
    return source(kinds, [(s.name, queries.view(s)) for s in specs if s.name in pointed])


async def reports_stats(conn: AsyncConnection[Any], request: Request) -> LayerStats:
    """Extent, time span and number of the published reports (few: counted every time)."""
    query = sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), tmin, tmax, n FROM ("
        "SELECT ST_Extent(geom), min(reported_at), max(reported_at), count(*) FROM {} AS t)"
        " AS s(e, tmin, tmax, n)"
    ).format(_source(request))
    cursor = await conn.execute(query)
    row = await cursor.fetchone()
    assert row is not None
    bbox = None if row[0] is None else [float(v) for v in row[:4]]
    interval: list[str | None] | None = None
    if row[4] is not None:
        interval = [row[4].isoformat(), row[5].isoformat()]
    return LayerStats(bbox, interval, int(row[6]))


def reports_collection_body(
    request: Request, stats: LayerStats, lang: Lang, crs_uris: list[str]
) -> dict[str, Any]:
    """The collection's entry in ``/collections`` (a layer's, without tiles)."""
    body = collection_body(request, reports_spec(request), stats, lang, crs_uris)
    tiles = f"{base_url(request)}{_ROOT}/tiles"
    body["links"] = [one for one in body["links"] if not one["href"].startswith(tiles)]
    return body


async def listed_collection(
    request: Request, conn: AsyncConnection[Any], lang: Lang, crs_uris: list[str]
) -> dict[str, Any] | None:
    """What ``/collections`` lists for the reports (see ``app.state.extra_collections``);
    nothing when the app has no report kinds."""
    if not published_kinds(request.app.state):
        return None
    return reports_collection_body(request, await reports_stats(conn, request), lang, crs_uris)


async def catalogue_entry(request: Request) -> tuple[LayerSpec, LayerSummary] | None:
    """The reports' record in the catalogue (see ``app.state.extra_records``); nothing when
    the app has no report kinds."""
    if not published_kinds(request.app.state):
        return None
    query = sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), changed, n FROM ("
        "SELECT ST_Extent(geom), max(changed_at), count(*) FROM {} AS t) AS s(e, changed, n)"
    ).format(_source(request))
    async with read_pool(request).connection() as conn:
        cursor = await conn.execute(query)
        row = await cursor.fetchone()
    assert row is not None
    bbox = None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))
    return reports_spec(request), LayerSummary(0, row[4], int(row[5]), bbox)


def _items_query(request: Request, parsed: ItemsRequest) -> tuple[sql.Composed, list[Any]]:
    order = queries.order_by(parsed.sort)
    query = sql.SQL("SELECT {} FROM (SELECT * FROM {} AS t{}{} LIMIT %s OFFSET %s) AS t{}").format(
        queries.feature_json(parsed.fields, parsed.out, parsed.skip_geometry),
        _source(request),
        parsed.where.sql(),
        order,
        order,
    )
    return query, [*parsed.where.params, parsed.limit, parsed.offset]


async def _page(
    request: Request, pool: PoolDep, parsed: ItemsRequest
) -> tuple[list[bytes], int, Any]:
    count = sql.SQL("SELECT count(*) FROM {} AS t{}").format(_source(request), parsed.where.sql())
    async with pool.connection() as conn:
        try:
            cursor = await conn.execute(count, parsed.where.params)
            row = await cursor.fetchone()
            cursor = await conn.execute(*_items_query(request, parsed))
            rows = await cursor.fetchall()
        except (psycopg.errors.DataError, psycopg.errors.InternalError_) as exc:
            raise InvalidParameter("filter", message("filter_not_evaluable")) from exc
        outline = await hromada_outline(conn, request)
    return [r[0].encode() for r in rows], int(row[0]) if row else 0, outline


def _links(request: Request, parsed: ItemsRequest, returned: int, matched: int) -> list[Any]:
    root = f"{base_url(request)}{_ROOT}"
    params = {k: v for k, v in request.query_params.items() if k != "f"}

    def url(fmt: str, offset: int) -> str:
        return f"{root}/items?{urlencode({**params, 'f': fmt, 'offset': str(offset)})}"

    links = [
        link(url("json", parsed.offset), "self", GEOJSON, "this page"),
        link(url("html", parsed.offset), "alternate", "text/html", "this page as HTML"),
        link(f"{root}?f=json", "collection", "application/json", "the collection"),
    ]
    if parsed.offset + returned < matched:
        links.append(link(url("json", parsed.offset + parsed.limit), "next", GEOJSON, "next"))
    if parsed.offset > 0:
        previous = max(parsed.offset - parsed.limit, 0)
        links.append(link(url("json", previous), "prev", GEOJSON, "previous page"))
    return links


def _feature_links(request: Request, fid: str, feature: dict[str, Any]) -> list[Any]:
    root = f"{base_url(request)}{_ROOT}"
    links = [
        link(f"{root}/items/{fid}?f=json", "self", GEOJSON, "this report"),
        link(f"{root}/items/{fid}?f=html", "alternate", "text/html", "as HTML"),
        link(f"{root}?f=json", "collection", "application/json", "the collection"),
    ]
    properties = feature.get("properties") or {}
    if properties.get("layer") and properties.get("feature_id"):
        href = f"{base_url(request)}/collections/{properties['layer']}/items/"
        links.append(link(href + str(properties["feature_id"]), "related", GEOJSON, "the feature"))
    return links


def build_reports_collection_router() -> APIRouter:
    """Routes of the collection ``reports`` under the OGC API root."""
    router = APIRouter()

    @router.get(_ROOT, summary="residents' reports")
    async def collection(
        request: Request, pool: PoolDep, crs: CrsDep, f: FormatDep, lang: LangDep
    ) -> Response:
        check_parameters(request, {"f", "lang"})
        async with pool.connection() as conn:
            stats = await reports_stats(conn, request)
        body = reports_collection_body(request, stats, lang, crs.uris)
        if f == "html":
            spec = reports_spec(request)
            return await render_page(
                request,
                "collection.html",
                lang,
                c=body,
                facts=collection_facts(spec, stats, lang),
                crumbs=collection_crumbs(request, lang, body["title"]),
                has_tiles=False,
            )
        return Response(orjson.dumps(body), media_type="application/json")

    @router.get(
        f"{_ROOT}/items",
        summary="published reports",
        openapi_extra={
            "x-query": [p for p in ITEMS_QUERY if p not in ("f", "lang")],
            "x-media": [GEOJSON],
        },
    )
    async def items(
        request: Request, pool: PoolDep, crs: CrsDep, f: FormatDep, lang: LangDep
    ) -> Response:
        spec = reports_spec(request)
        parsed = parse_items(request, spec, crs)
        capped = f == "html" and parsed.limit > HTML_MAX_LIMIT
        if f == "html":
            parsed.limit = min(parsed.limit, HTML_MAX_LIMIT)
        features, matched, outline = await _page(request, pool, parsed)
        returned = len(features)
        if f == "html":
            following = parsed.offset + parsed.limit if parsed.offset + returned < matched else None
            previous = max(parsed.offset - parsed.limit, 0) if parsed.offset > 0 else None
            with_map = parsed.out.is_storage and not parsed.skip_geometry
            return await run_in_threadpool(
                items_page,
                request,
                spec,
                parsed.fields,
                lang,
                [orjson.loads(one) for one in features],
                matched=matched,
                next_offset=following,
                prev_offset=previous,
                limit=parsed.limit,
                capped=capped,
                with_map=with_map,
                outline=outline if with_map else None,
            )
        footer = {
            "numberMatched": matched,
            "numberReturned": returned,
            "links": _links(request, parsed, returned, matched),
        }
        body = (
            b'{"type":"FeatureCollection","features":['
            + b",".join(features)
            + b"],"
            + orjson.dumps(footer)[1:]
        )
        headers = {"Content-Crs": f"<{parsed.out.uri}>", "Content-Language": lang}
        return Response(body, media_type=GEOJSON, headers=headers)

    @router.get(
        f"{_ROOT}/items/{{featureId}}",
        summary="one published report",
        openapi_extra={"x-query": ["crs"], "x-media": [GEOJSON]},
    )
    async def item(
        request: Request, featureId: str, pool: PoolDep, crs: CrsDep, f: FormatDep, lang: LangDep
    ) -> Response:
        check_parameters(request, ITEM_PARAMETERS)
        out = crs.parse(request.query_params.get("crs"), "crs")
        if not featureId.isascii() or not featureId.isdigit() or len(featureId) > 18:
            raise FeatureNotFound(featureId)
        spec = reports_spec(request)
        fields = spec.fields_for(current_reader())
        query = sql.SQL("SELECT {} FROM {} AS t WHERE t.fid = %s").format(
            queries.feature_json(fields, out, False), _source(request)
        )
        async with pool.connection() as conn:
            cursor = await conn.execute(query, [int(featureId)])
            row = await cursor.fetchone()
            outline = await hromada_outline(conn, request) if f == "html" else None
        if row is None:
            raise FeatureNotFound(featureId)
        feature = orjson.loads(row[0])
        if f == "html":
            return await run_in_threadpool(
                item_page,
                request,
                spec,
                fields,
                lang,
                feature,
                with_map=out.is_storage,
                outline=outline,
            )
        feature["links"] = _feature_links(request, featureId, feature)
        headers = {"Content-Crs": f"<{out.uri}>", "Content-Language": lang}
        return Response(orjson.dumps(feature), media_type=GEOJSON, headers=headers)

    async def schema_document(request: Request, f: str, lang: Lang, kind: str) -> Response:
        spec = reports_spec(request)
        queryables = kind == "queryables"
        if f == "html":
            words = words_for(lang)
            heading = words.queryables if queryables else words.schema
            title = spec.title.get(lang)
            return await render_page(
                request,
                "schema.html",
                lang,
                title=title,
                heading=heading,
                rows=schema_rows(spec, lang, queryables=queryables),
                crumbs=[*collection_crumbs(request, lang, title, _ROOT), (heading, "")],
            )
        url = f"{base_url(request)}{_ROOT}/{kind}"
        document = json_schema(spec, lang, url, queryables=queryables)
        return Response(
            orjson.dumps(document), media_type=SCHEMA_JSON, headers={"Content-Language": lang}
        )

    @router.get(
        f"{_ROOT}/queryables", summary="queryables", openapi_extra={"x-media": [SCHEMA_JSON]}
    )
    async def queryables(request: Request, f: FormatDep, lang: LangDep) -> Response:
        return await schema_document(request, f, lang, "queryables")

    @router.get(
        f"{_ROOT}/schema", summary="schema of the reports", openapi_extra={"x-media": [SCHEMA_JSON]}
    )
    async def schema(request: Request, f: FormatDep, lang: LangDep) -> Response:
        return await schema_document(request, f, lang, "schema")

    return router
