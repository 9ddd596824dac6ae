"""OGC API Features: collections, items, single features, queryables and schemas."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
import psycopg
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from psycopg import AsyncConnection, sql
from starlette.concurrency import run_in_threadpool

from gisplatform.errors import FeatureNotFound, InvalidParameter
from gisplatform.i18n import message
from gisplatform.ogcapi import queries
from gisplatform.ogcapi.asof import PARAMETER as AS_OF
from gisplatform.ogcapi.asof import as_of_items, require_staff
from gisplatform.ogcapi.auth import request_audience
from gisplatform.ogcapi.common import json_response, link
from gisplatform.ogcapi.cql import FILTER_LANGS, compile_filter
from gisplatform.ogcapi.crs import OutputCrs
from gisplatform.ogcapi.deps import (
    CrsDep,
    FormatDep,
    Lang,
    LangDep,
    LayerDep,
    PoolDep,
    ReadDep,
    RegistryDep,
    base_url,
    check_parameters,
)
from gisplatform.ogcapi.etag import cache_headers, etag_of, none_match
from gisplatform.ogcapi.featurepages import (
    HTML_MAX_LIMIT,
    hromada_outline,
    item_page,
    items_page,
    neighbours,
)
from gisplatform.ogcapi.html import render_page, words_for
from gisplatform.ogcapi.metapages import collection_crumbs, collection_facts, schema_rows
from gisplatform.ogcapi.schemas import (
    cached_count,
    collection_body,
    json_schema,
    layer_stats,
    property_value,
)
from gisplatform.ogcapi.spool import Spool
from gisplatform.registry import FieldSpec, LayerSpec
from gisplatform.store.audiences import current_reader, current_view

GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
STREAM_BATCH = 500
#: pages up to this many features are read at once and sent as one body
BUFFERED_PAGE_LIMIT = 100
#: the parameters of ``/items`` besides the queryables, in the OpenAPI document's order
ITEMS_QUERY = (
    "f",
    "lang",
    "bbox",
    "bbox-crs",
    "datetime",
    "limit",
    "offset",
    "crs",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
    "properties",
    "skipGeometry",
)
ITEMS_PARAMETERS = frozenset(ITEMS_QUERY)
ITEM_PARAMETERS = frozenset({"f", "lang", "crs"})
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


def _numbers(text: str) -> list[float]:
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError as exc:
        raise InvalidParameter("bbox", message("bbox_four_or_six")) from exc
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise InvalidParameter("bbox", message("bbox_four_or_six"))
    return numbers


def _integer(request: Request, name: str, default: int, minimum: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError as exc:
        raise InvalidParameter(name, message("expected_integer")) from exc
    if value < minimum:
        raise InvalidParameter(name, message("at_least", minimum=minimum))
    return value


def _boolean(name: str, text: str) -> bool:
    folded = text.strip().lower()
    if folded in ("true", "1", "yes"):
        return True
    if folded in ("false", "0", "no"):
        return False
    raise InvalidParameter(name, message("expected_boolean"))


def _names(text: str, public: dict[str, FieldSpec], parameter: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in public:
            raise InvalidParameter(parameter, message("unknown_property", name=name))
    return names


def _sortby(text: str, public: dict[str, FieldSpec]) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        if name not in public:
            raise InvalidParameter("sortby", message("unknown_property", name=name))
        keys.append((name, desc))
    return keys


@dataclass
class ItemsRequest:
    """The parsed parameters of one ``/items`` request."""

    fields: tuple[FieldSpec, ...]
    out: OutputCrs
    skip_geometry: bool
    where: queries.Where
    sort: list[tuple[str, bool]]
    limit: int
    offset: int
    #: add the residents' reports mark (a marked layer, all properties asked for)
    mark: bool = False


def marks_layer(request: Request, spec: LayerSpec) -> bool:
    """True when residents' reports mark features of ``spec`` (:mod:`gisplatform.reports`)."""
    return spec.name in getattr(request.app.state, "marked_layers", frozenset())


def parse_items(
    request: Request, spec: LayerSpec, crs: CrsDep, extra: frozenset[str] = frozenset()
) -> ItemsRequest:
    """Validate every parameter of an items request (400 names the bad one); ``extra``
    names parameters the caller reads itself."""
    public = {f.name: f for f in spec.fields_for(current_reader())}
    params = request.query_params
    check_parameters(request, ITEMS_PARAMETERS | public.keys() | extra)
    where = queries.Where()
    if "bbox" in params:
        bbox_crs = crs.parse(params.get("bbox-crs"), "bbox-crs")
        where.add(*queries.bbox_clause(_numbers(params["bbox"]), bbox_crs))
    elif "bbox-crs" in params:
        crs.parse(params["bbox-crs"], "bbox-crs")
    if "datetime" in params and spec.temporal_field:
        where.add(*queries.datetime_clause(params["datetime"], spec.field(spec.temporal_field)))
    if params.get("filter-lang", "cql2-text") not in (*FILTER_LANGS, "cql-text"):
        raise InvalidParameter("filter-lang", message("use_cql2"))
    if "filter" in params:
        filter_crs = crs.parse(params.get("filter-crs"), "filter-crs")
        where.add(
            *compile_filter(
                params["filter"], params.get("filter-lang"), tuple(public.values()), filter_crs
            )
        )
    for name, field in public.items():
        if name in params:
            where.add(*property_value(field, params[name]))
    fields = tuple(public.values())
    if "properties" in params:
        chosen = _names(params["properties"], public, "properties")
        fields = tuple(public[name] for name in chosen)
    return ItemsRequest(
        fields=fields,
        out=crs.parse(params.get("crs"), "crs"),
        skip_geometry=_boolean("skipGeometry", params.get("skipGeometry", "false")),
        where=where,
        sort=_sortby(params.get("sortby", ""), public),
        limit=min(_integer(request, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT),
        offset=_integer(request, "offset", 0, 0),
        mark=marks_layer(request, spec) and "properties" not in params,
    )


def _page_links(
    request: Request, spec: LayerSpec, parsed: ItemsRequest, returned: int, more: bool
) -> list[dict[str, str]]:
    collection = f"{base_url(request)}/collections/{spec.name}"
    root = f"{collection}/items"
    params = dict(request.query_params)
    params.pop("f", None)
    params.pop("offset", None)
    kept = urlencode(params)  # once for all the links
    prefix = f"{root}?{kept}&" if kept else f"{root}?"

    def url(fmt: str, offset: int) -> str:
        return f"{prefix}f={fmt}&offset={offset}"

    links = [
        link(url("json", parsed.offset), "self", GEOJSON, "this page"),
        link(url("html", parsed.offset), "alternate", "text/html", "this page as HTML"),
        link(collection, "collection", "application/json", "the collection"),
    ]
    following, previous = _neighbours(parsed, more)
    if following is not None:
        links.append(link(url("json", following), "next", GEOJSON, "next page"))
    if previous is not None:
        links.append(link(url("json", previous), "prev", GEOJSON, "previous page"))
    return links


def _neighbours(parsed: ItemsRequest, more: bool) -> tuple[int | None, int | None]:
    """The offsets of the next and previous pages (``None`` where there is none).

    ``more``: the query found a row beyond this page (it asks for ``limit + 1``).
    """
    following = parsed.offset + parsed.limit if more else None
    previous = max(parsed.offset - parsed.limit, 0) if parsed.offset > 0 else None
    return following, previous


@dataclass
class Page:
    """What one page query found besides its features."""

    returned: int
    more: bool  # a row beyond the page exists
    revision: int | None = None  # the layer's revision, read with an unfiltered page


async def _matched(
    conn: AsyncConnection[Any], request: Request, spec: LayerSpec, parsed: ItemsRequest, page: Page
) -> int | None:
    """``numberMatched`` when it is exact and cheap, else None (left out, as OGC API allows).

    * the last page: ``offset + returned``, no query;
    * unfiltered: the layer's row count, kept per revision (no query while it holds);
    * filtered: a count that reads no further than the end of the next page (at most
      :data:`queries.COUNT_CAP` rows, see :func:`queries.count_reach`). Never an estimate.
    """
    if not page.more and (page.returned or parsed.offset == 0):
        return parsed.offset + page.returned
    if not parsed.where.clauses:
        cached = cached_count(request, spec, page.revision)
        return cached if cached is not None else (await layer_stats(conn, request, spec)).count
    reach = queries.count_reach(parsed.offset, parsed.limit)
    if reach is None:
        return None
    query, params = queries.count_query(spec, parsed.where, reach)
    cursor = await conn.execute(query, params)
    row = await cursor.fetchone()
    count = int(row[0]) if row else 0
    return count if count <= reach else None


def _client_error(exc: psycopg.Error) -> InvalidParameter:
    """PostGIS rejected a value taken from the request (e.g. a degenerate geometry)."""
    return InvalidParameter("filter", message("filter_not_evaluable"))


def _page_query(spec: LayerSpec, parsed: ItemsRequest) -> tuple[sql.Composed, list[Any]]:
    """The SQL of one page of items and one row more (is there a next page?); unfiltered,
    with the layer's revision (is the cached count still right?)."""
    return queries.items_query(
        spec,
        parsed.fields,
        parsed.out,
        parsed.skip_geometry,
        parsed.where,
        parsed.sort,
        parsed.limit + 1,
        parsed.offset,
        mark=parsed.mark,
        with_revision=not parsed.where.clauses,
    )


def _page_of(rows: list[Any], parsed: ItemsRequest) -> tuple[list[Any], Page]:
    """The page's rows (without the one beyond it) and what the query found."""
    revision = rows[0][1] if rows and not parsed.where.clauses else None
    page = Page(min(len(rows), parsed.limit), len(rows) > parsed.limit, revision)
    return rows[: parsed.limit], page


async def _page_body(
    request: Request, pool: PoolDep, spec: LayerSpec, parsed: ItemsRequest
) -> bytes | Spool:
    """The whole FeatureCollection, read before any of it is sent.

    A small page is one round trip and one ``bytes``; a larger one is streamed from the
    database into a :class:`Spool`, and the connection goes back to the pool before the
    client reads a byte (a slow reader never holds a connection). A database failure
    part-way through raises here, before the response begins: a 503, never a cut page.
    """
    head = b'{"type":"FeatureCollection","features":['
    spool: Spool | None = None
    async with pool.connection() as conn:
        if parsed.limit <= BUFFERED_PAGE_LIMIT:  # small page: one round trip, one chunk
            try:
                cursor = await conn.execute(*_page_query(spec, parsed))
                rows, page = _page_of(await cursor.fetchall(), parsed)
                matched = await _matched(conn, request, spec, parsed, page)
            except (psycopg.errors.DataError, psycopg.errors.InternalError_) as exc:
                raise _client_error(exc) from exc
            head += b",".join(row[0].encode() for row in rows)
        else:
            spool = Spool()
            try:
                page, matched = await _spool_rows(conn, request, spec, parsed, spool, head)
            except BaseException:
                spool.close()
                raise
    footer: dict[str, Any] = {"numberReturned": page.returned}
    if matched is not None:
        footer["numberMatched"] = matched
    footer["timeStamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    footer["links"] = _page_links(request, spec, parsed, page.returned, page.more)
    tail = b"]," + orjson.dumps(footer)[1:]
    if spool is None:
        return head + tail
    spool.write(tail)
    return spool


async def _spool_rows(
    conn: AsyncConnection[Any],
    request: Request,
    spec: LayerSpec,
    parsed: ItemsRequest,
    spool: Spool,
    head: bytes,
) -> tuple[Page, int | None]:
    """Write ``head`` and the page's features into ``spool``; (what was found, matched)."""
    query, params = _page_query(spec, parsed)
    rows = conn.cursor().stream(query, params, size=STREAM_BATCH)
    try:
        first = await anext(rows, None)
    except (psycopg.errors.DataError, psycopg.errors.InternalError_) as exc:
        raise _client_error(exc) from exc
    if first is None:
        spool.write(head)
        page = Page(0, False)
        return page, await _matched(conn, request, spec, parsed, page)
    spool.write(head + first[0].encode())
    page = Page(1, False, first[1] if not parsed.where.clauses else None)
    batch: list[bytes] = []
    async for row in rows:
        if page.returned == parsed.limit:  # the row beyond the page: there is a next one
            page.more = True
            continue
        batch.append(row[0].encode())
        page.returned += 1
        if len(batch) >= STREAM_BATCH:
            spool.write(b"," + b",".join(batch))
            batch = []
    if batch:
        spool.write(b"," + b",".join(batch))
    return page, await _matched(conn, request, spec, parsed, page)


async def _fetch_items(
    request: Request, pool: PoolDep, spec: LayerSpec, parsed: ItemsRequest
) -> tuple[list[Any], Page, int | None]:
    query, params = _page_query(spec, parsed)
    async with pool.connection() as conn:
        try:
            cursor = await conn.execute(query, params)
            rows, page = _page_of(await cursor.fetchall(), parsed)
            matched = await _matched(conn, request, spec, parsed, page)
        except (psycopg.errors.DataError, psycopg.errors.InternalError_) as exc:
            raise _client_error(exc) from exc
    return [orjson.loads(row[0]) for row in rows], page, matched


async def _outline(pool: PoolDep, request: Request) -> Any:
    async with pool.connection() as conn:
        return await hromada_outline(conn, request)


async def _item_context(
    pool: PoolDep, request: Request, spec: LayerSpec, fid: int
) -> dict[str, Any]:
    """What an item page's map draws around its feature: the outline and the neighbours."""
    async with pool.connection() as conn:
        return {
            "outline": await hromada_outline(conn, request),
            "context": await neighbours(conn, spec, fid),
        }


def _crs_variant(out: OutputCrs) -> str:
    """What a feature's ETag adds for ``out``: nothing for CRS84, else the CRS's code."""
    if out.is_storage:
        return ""
    return re.sub(r"[^0-9a-z]", "", out.uri.rstrip("/").rsplit("/", 1)[-1].lower()) or "crs"


def build_features_router() -> APIRouter:
    """Routes under ``/collections`` for every public layer."""
    router = APIRouter(include_in_schema=False)

    @router.get("/collections", summary="collections")
    async def collections(
        request: Request,
        registry: RegistryDep,
        pool: PoolDep,
        crs: CrsDep,
        f: FormatDep,
        lang: LangDep,
    ) -> Response:
        root = base_url(request)
        bodies = []
        async with pool.connection() as conn:
            for spec in registry.list(current_reader()):
                stats = await layer_stats(conn, request, spec)
                bodies.append(collection_body(request, spec, stats, lang, crs.uris))
            # read-only collections that are not layers (residents' reports …)
            for extra in getattr(request.app.state, "extra_collections", ()):
                body = await extra(request, conn, lang, crs.uris)
                if body is not None:
                    bodies.append(body)
        catalogue = request.app.state.catalogue_collection
        if catalogue is not None:
            spatial = [
                b["extent"]["spatial"]["bbox"][0] for b in bodies if "spatial" in b["extent"]
            ]
            bodies.append(catalogue(request, spatial))
        if f == "html":
            return await render_page(request, "collections.html", lang, collections=bodies)
        body = {
            "links": [
                link(f"{root}/collections?f=json", "self", "application/json", "collections"),
                link(f"{root}/collections?f=html", "alternate", "text/html", "collections as HTML"),
            ],
            "collections": bodies,
            "crs": crs.uris,
        }
        return json_response(body, headers={"Content-Language": lang})

    @router.get("/collections/{collectionId}", summary="one collection")
    async def collection(
        request: Request, spec: LayerDep, pool: PoolDep, crs: CrsDep, f: FormatDep, lang: LangDep
    ) -> Response:
        async with pool.connection() as conn:
            stats = await layer_stats(conn, request, spec)
        body = collection_body(request, spec, stats, lang, crs.uris)
        if f == "html":
            return await render_page(
                request,
                "collection.html",
                lang,
                c=body,
                facts=collection_facts(spec, stats, lang),
                crumbs=collection_crumbs(request, lang, body["title"]),
                has_tiles=request.app.state.has_tiles,
            )
        return json_response(body, headers={"Content-Language": lang})

    @router.get(
        "/collections/{collectionId}/items",
        summary="features of the collection",
        openapi_extra={
            "x-query": [p for p in ITEMS_QUERY if p not in ("f", "lang")],
            "x-media": [GEOJSON],
            "x-per-collection": True,
        },
    )
    async def items(request: Request, read: ReadDep) -> Response:
        spec, pool, crs, f, lang = read.spec, read.pool, read.crs, read.f, read.lang
        if AS_OF in request.query_params:  # the layer as it was (staff, from the history)
            require_staff(await request_audience(request))
            return await as_of_items(
                request, spec, parse_items(request, spec, crs, frozenset((AS_OF,)))
            )
        parsed = parse_items(request, spec, crs)
        headers = {"Content-Crs": f"<{parsed.out.uri}>", "Content-Language": lang}
        if f == "html":
            capped = parsed.limit > HTML_MAX_LIMIT
            parsed.limit = min(parsed.limit, HTML_MAX_LIMIT)
            features, found, matched = await _fetch_items(request, pool, spec, parsed)
            following, previous = _neighbours(parsed, found.more)
            with_map = parsed.out.is_storage and not parsed.skip_geometry
            outline = await _outline(pool, request) if with_map else None
            return await run_in_threadpool(
                items_page,
                request,
                spec,
                parsed.fields,
                lang,
                features,
                matched=matched,
                next_offset=following,
                prev_offset=previous,
                limit=parsed.limit,
                capped=capped,
                with_map=with_map,
                outline=outline,
            )
        page = await _page_body(request, pool, spec, parsed)
        if isinstance(page, bytes):
            return Response(page, media_type=GEOJSON, headers=headers)
        headers["Content-Length"] = str(page.size)
        return StreamingResponse(page.chunks(), media_type=GEOJSON, headers=headers)

    @router.get(
        "/collections/{collectionId}/items/{featureId}",
        summary="one feature",
        openapi_extra={"x-query": ["crs"], "x-media": [GEOJSON]},
        responses={304: {"description": "not modified (If-None-Match)"}},
    )
    async def item(request: Request, read: ReadDep, featureId: str) -> Response:
        spec, pool, crs, f, lang = read.spec, read.pool, read.crs, read.f, read.lang
        check_parameters(request, ITEM_PARAMETERS)
        out = crs.parse(request.query_params.get("crs"), "crs")
        if not featureId.isascii() or not featureId.isdigit() or len(featureId) > 18:
            raise FeatureNotFound(featureId)
        fields = spec.fields_for(current_reader())
        async with pool.connection() as conn:
            query = queries.item_query(spec, fields, out, marks_layer(request, spec))
            cursor = await conn.execute(query, [int(featureId)])
            row = await cursor.fetchone()
        if row is None:
            raise FeatureNotFound(featureId)
        if f == "html":
            return await run_in_threadpool(
                item_page,
                request,
                spec,
                fields,
                lang,
                orjson.loads(row[0]),
                with_map=out.is_storage,
                **(
                    await _item_context(pool, request, spec, int(featureId))
                    if out.is_storage
                    else {}
                ),
            )
        headers = {"Content-Crs": f"<{out.uri}>", "Content-Language": lang}
        headers |= {"ETag": etag_of(row[1], _crs_variant(out))} | cache_headers(
            current_view().is_public
        )
        if none_match(request.headers.get("if-none-match"), headers["ETag"]):
            return Response(status_code=304, headers=headers)
        root = f"{base_url(request)}/collections/{spec.name}"
        links = [
            link(f"{root}/items/{featureId}?f=json", "self", GEOJSON, "this feature"),
            link(f"{root}/items/{featureId}?f=html", "alternate", "text/html", "as HTML"),
            link(f"{root}?f=json", "collection", "application/json", "the collection"),
        ]
        # PostgreSQL built the feature object: the links go in before its closing brace
        body = row[0].encode().rstrip()[:-1] + b',"links":' + orjson.dumps(links) + b"}"
        return Response(body, media_type=GEOJSON, headers=headers)

    @router.get(
        "/collections/{collectionId}/queryables",
        summary="queryables",
        openapi_extra={"x-media": [SCHEMA_JSON]},
    )
    async def queryables(request: Request, spec: LayerDep, f: FormatDep, lang: LangDep) -> Response:
        return await _schema_response(request, spec, f, lang, "queryables")

    @router.get(
        "/collections/{collectionId}/schema",
        summary="schema of the features",
        openapi_extra={"x-media": [SCHEMA_JSON]},
    )
    async def schema(request: Request, spec: LayerDep, f: FormatDep, lang: LangDep) -> Response:
        return await _schema_response(request, spec, f, lang, "schema")

    return router


async def _schema_response(
    request: Request, spec: LayerSpec, f: str, lang: Lang, kind: str
) -> Response:
    url = f"{base_url(request)}/collections/{spec.name}/{kind}"
    queryables = kind == "queryables"
    if f == "html":
        words = words_for(lang)
        heading = words.queryables if queryables else words.schema
        return await render_page(
            request,
            "schema.html",
            lang,
            title=spec.title.get(lang),
            heading=heading,
            rows=schema_rows(spec, lang, queryables=queryables),
            crumbs=[
                *collection_crumbs(
                    request, lang, spec.title.get(lang), f"/collections/{spec.name}"
                ),
                (heading, ""),
            ],
        )
    document = json_schema(spec, lang, url, queryables=queryables)
    return Response(
        orjson.dumps(document), media_type=SCHEMA_JSON, headers={"Content-Language": lang}
    )
