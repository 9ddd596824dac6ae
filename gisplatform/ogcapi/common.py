"""Landing page, conformance declaration and the route of the OpenAPI document (``openapi``)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from gisplatform.ogcapi.deps import FormatDep, LangDep, base_url
from gisplatform.ogcapi.html import render_page, words_for
from gisplatform.ogcapi.records import CATALOGUE_ID

OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"
_F1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
_F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
_COMMON = "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/"

FEATURES_CONFORMANCE = [
    _COMMON + "core",
    _COMMON + "landing-page",
    _COMMON + "json",
    _COMMON + "html",
    _COMMON + "oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    _F1 + "core",
    _F1 + "oas30",
    _F1 + "html",
    _F1 + "geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    _F3 + "queryables",
    _F3 + "queryables-query-parameters",
    _F3 + "filter",
    _F3 + "features-filter",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/core-roles-features",
    _CQL2 + "cql2-text",
    _CQL2 + "cql2-json",
    _CQL2 + "basic-cql2",
    _CQL2 + "advanced-comparison-operators",
    _CQL2 + "case-insensitive-comparison",
    _CQL2 + "basic-spatial-functions",
    _CQL2 + "basic-spatial-functions-plus",
    _CQL2 + "spatial-functions",
    _CQL2 + "property-property",
    _CQL2 + "arithmetic",
]

_DESCRIPTION = {
    "uk": "Відкриті геодані громади за стандартами OGC API (Features, Tiles, Records).",
    "en": "Open geodata of the hromada through OGC APIs (Features, Tiles, Records).",
}


def json_response(
    body: Any, media_type: str = "application/json", headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson."""
    return Response(orjson.dumps(body), media_type=media_type, headers=headers)


def link(href: str, rel: str, type_: str, title: str) -> dict[str, str]:
    """A link object; ``type`` is always present (clients such as GDAL need it)."""
    return {"href": href, "rel": rel, "type": type_, "title": title}


def conformance_classes(request: Request) -> list[str]:
    """Our classes plus those of the tiles and records modules."""
    return [*FEATURES_CONFORMANCE, *request.app.state.extra_conformance]


async def landing_page(request: Request, f: FormatDep, lang: LangDep) -> Response:
    """The landing page: links to the API definition, conformance, data and tiles."""
    root = base_url(request)
    links = [
        link(f"{root}/?f=json", "self", "application/json", "this document"),
        link(f"{root}/?f=html", "alternate", "text/html", "this document as HTML"),
        link(f"{root}/api", "service-desc", OPENAPI_TYPE, "API definition"),
        link(f"{root}/conformance", "conformance", "application/json", "conformance"),
        link(f"{root}/conformance", OGC_REL + "conformance", "application/json", "conformance"),
        link(f"{root}/collections", "data", "application/json", "collections"),
        link(f"{root}/collections", OGC_REL + "data", "application/json", "collections"),
        link(f"{root}/processes", OGC_REL + "processes", "application/json", "processes"),
        link(f"{root}/jobs", OGC_REL + "job-list", "application/json", "jobs"),
    ]
    if request.app.state.has_tiles:
        links += [
            link(
                f"{root}/tileMatrixSets",
                OGC_REL + "tiling-schemes",
                "application/json",
                "tile matrix sets",
            ),
            link(
                f"{root}/tiles",
                OGC_REL + "tilesets-vector",
                "application/json",
                "vector tiles of all layers",
            ),
        ]
    body = {"title": "gisplatform OGC API", "description": _DESCRIPTION[lang], "links": links}
    if f == "html":
        return await render_page(
            request,
            "landing.html",
            lang,
            catalogue_id=CATALOGUE_ID,
            has_tiles=request.app.state.has_tiles,
        )
    return json_response(body, headers={"Content-Language": lang})


def build_common_router() -> APIRouter:
    """Routes: ``/ogc``, ``/ogc/``, ``/ogc/conformance``, ``/ogc/api``."""
    router = APIRouter(include_in_schema=False)

    router.add_api_route("/", landing_page, methods=["GET"], summary="landing page")

    @router.get("/conformance", summary="conformance classes")
    async def conformance(request: Request, f: FormatDep, lang: LangDep) -> Response:
        classes = conformance_classes(request)
        if f == "html":
            return await render_page(
                request,
                "conformance.html",
                lang,
                conforms=classes,
                crumbs=[(words_for(lang).conformance, "")],
            )
        return json_response({"conformsTo": classes})

    @router.get("/api", openapi_extra={"x-media": [OPENAPI_TYPE]})
    async def api(request: Request) -> Response:
        """The API definition (this document)."""
        from gisplatform.ogcapi.openapi import openapi_document

        return json_response(openapi_document(request), OPENAPI_TYPE)

    return router
