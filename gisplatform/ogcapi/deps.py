"""Typed request dependencies: the layer in the path, output format, language, parameters.

The dependencies are coroutines: FastAPI runs a plain ``def`` dependency in a worker
thread, and five thread hops per request cost more than the work they wrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from gisplatform.errors import InvalidParameter
from gisplatform.i18n import message
from gisplatform.ogcapi.auth import AudiencePool, current_reader, request_audience
from gisplatform.ogcapi.crs import CrsCatalogue
from gisplatform.ogcapi.httpsemantics import (
    mark_negotiated_on_accept,
    mark_negotiated_on_language,
)
from gisplatform.registry import Audience, LayerRegistry, LayerSpec

Format = Literal["json", "html"]
Lang = Literal["uk", "en"]

_FORMATS: dict[str, Format] = {"json": "json", "geojson": "json", "html": "html"}


def get_registry(request: Request) -> LayerRegistry:
    """The layer registry of the running app."""
    registry: LayerRegistry = request.app.state.registry
    return registry


async def get_pool(request: Request) -> AudiencePool:
    """The pool this request reads from (a replica or the primary, see ``routing``); each
    connection taken runs as the request's read-only audience role."""
    from gisplatform.ogcapi.routing import read_pool

    return read_pool(request)


async def get_crs(request: Request) -> CrsCatalogue:
    """The CRSs this server offers."""
    catalogue: CrsCatalogue = request.app.state.crs
    return catalogue


async def get_layer(
    collectionId: str, request: Request, audience: Annotated[Audience, Depends(request_audience)]
) -> LayerSpec:
    """The layer named in the path; 404 for unknown layers and those the audience may not read."""
    return get_registry(request).get(collectionId, current_reader())


async def output_format(request: Request) -> Format:
    """``f=json|html`` or, without ``f``, HTML for browsers and JSON otherwise."""
    requested = request.query_params.get("f")
    if requested is not None:
        found = _FORMATS.get(requested.lower())
        if found is None:
            raise InvalidParameter("f", message("use_json_or_html"))
        return found
    mark_negotiated_on_accept(request)
    accept = request.headers.get("accept", "")
    if "text/html" in accept and "json" not in accept.split("text/html")[0]:
        return "html"
    return "json"


async def language(request: Request) -> Lang:
    """``lang=uk|en``, else the first of uk/en in Accept-Language; Ukrainian by default."""
    requested = request.query_params.get("lang")
    if requested is not None and requested.lower()[:2] not in ("uk", "en"):
        raise InvalidParameter("lang", message("use_uk_or_en"))
    if requested is None:
        mark_negotiated_on_language(request)
    return request_language(request)


def request_language(request: Request) -> Lang:
    """The request's language for messages, never failing: ``lang``, Accept-Language, uk."""
    requested = request.query_params.get("lang", "").lower()[:2]
    if requested in ("uk", "en"):
        return "en" if requested == "en" else "uk"
    for part in request.headers.get("accept-language", "").split(","):
        code = part.strip().lower()[:2]
        if code in ("uk", "en"):
            return "en" if code == "en" else "uk"
    return "uk"


def check_parameters(request: Request, allowed: set[str] | frozenset[str]) -> None:
    """400 naming the first query parameter the endpoint does not know."""
    for name in request.query_params:
        if name not in allowed:
            raise InvalidParameter(name, message("unknown_query_parameter"))


def site_url(request: Request) -> str:
    """The site's root URL, without a trailing slash: ``GISPLATFORM_PUBLIC_URL`` if set.

    Otherwise the request's own, whose Host the trusted-host check has let through.
    """
    settings = getattr(request.app.state, "settings", None)
    public = getattr(settings, "public_url", None)
    return str(public).rstrip("/") if public else str(request.base_url).rstrip("/")


def base_url(request: Request) -> str:
    """Absolute URL of the OGC API root (``…/ogc``), without a trailing slash."""
    return site_url(request) + "/ogc"


def public_link(request: Request, url: str) -> str:
    """``url``, an address on this request's own host, on the site's public URL."""
    local = str(request.base_url).rstrip("/")
    return site_url(request) + url[len(local) :] if url.startswith(local) else url


async def registry_dependency(request: Request) -> LayerRegistry:
    """:func:`get_registry` as a dependency."""
    return get_registry(request)


@dataclass(frozen=True)
class ReadContext:
    """What the hot read endpoints (items, one item) take from the request, in one piece."""

    spec: LayerSpec
    pool: AudiencePool
    crs: CrsCatalogue
    f: Format
    lang: Lang


async def read_context(
    collectionId: str, request: Request, audience: Annotated[Audience, Depends(request_audience)]
) -> ReadContext:
    """The layer, pool, CRSs, format and language of a read, checked in that order.

    One dependency instead of five: FastAPI's resolution of each cost more than its work
    (a fifth of a small page's CPU time under ``wrk``).
    """
    spec = await get_layer(collectionId, request, audience)
    return ReadContext(
        spec,
        await get_pool(request),
        await get_crs(request),
        await output_format(request),
        await language(request),
    )


#: the dependencies ``read_context`` runs itself (the OpenAPI document lists their parameters)
read_context.calls = (get_layer, get_pool, get_crs, output_format, language)  # type: ignore[attr-defined]

ReadDep = Annotated[ReadContext, Depends(read_context)]
LayerDep = Annotated[LayerSpec, Depends(get_layer)]
RegistryDep = Annotated[LayerRegistry, Depends(registry_dependency)]
PoolDep = Annotated[AudiencePool, Depends(get_pool)]
AudienceDep = Annotated[Audience, Depends(request_audience)]
CrsDep = Annotated[CrsCatalogue, Depends(get_crs)]
FormatDep = Annotated[Format, Depends(output_format)]
LangDep = Annotated[Lang, Depends(language)]
