"""Exception handlers: one table from domain errors to HTTP status, OGC exception bodies.

Every error of the API, processes and jobs included, leaves through :func:`problem` in
one shape: RFC 7807 problem details as OGC API Common and Processes define them (``type``,
``title``, ``status``, ``detail``) with the OGC API Features keys (``code``,
``description``) beside them, in the request's language.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from psycopg_pool import PoolTimeout, TooManyRequests
from starlette.exceptions import HTTPException

from gisplatform.access.publication.store import PublicationError
from gisplatform.errors import (
    CsrfRefused,
    DatabaseUnavailable,
    FeatureInvalid,
    FeatureNotFound,
    Forbidden,
    GisPlatformError,
    IdentityProviderUnavailable,
    InvalidAccessToken,
    InvalidBody,
    InvalidParameter,
    LayerNotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ReportInvalid,
    ReportNotFound,
    SignInFailed,
    SignInRequired,
    TooManyReports,
    TooManySignIns,
    UnsupportedMediaType,
)
from gisplatform.i18n import Text, message
from gisplatform.ogcapi.deps import request_language

log = logging.getLogger("gisplatform.ogcapi")

#: domain error → (HTTP status, OGC exception code)
STATUS: dict[type[GisPlatformError], tuple[int, str]] = {
    InvalidParameter: (400, "InvalidParameterValue"),
    LayerNotFound: (404, "NotFound"),
    FeatureNotFound: (404, "NotFound"),
    DatabaseUnavailable: (503, "ServiceUnavailable"),
    IdentityProviderUnavailable: (503, "ServiceUnavailable"),
    SignInFailed: (401, "Unauthorized"),
    TooManySignIns: (429, "TooManyRequests"),
    Forbidden: (403, "Forbidden"),
    PublicationError: (400, "InvalidParameterValue"),
    CsrfRefused: (403, "Forbidden"),
    SignInRequired: (401, "Unauthorized"),
    InvalidBody: (400, "InvalidRequestBody"),
    PreconditionFailed: (412, "PreconditionFailed"),
    PayloadTooLarge: (413, "PayloadTooLarge"),
    UnsupportedMediaType: (415, "UnsupportedMediaType"),
    FeatureInvalid: (422, "InvalidFeature"),
    ReportInvalid: (422, "InvalidReport"),
    ReportNotFound: (404, "NotFound"),
    TooManyReports: (429, "TooManyRequests"),
}
#: the schemes a client may answer a 401 with (QGIS Basic, QGIS API header / scripts)
WWW_AUTHENTICATE = 'Basic realm="gisplatform", charset="UTF-8", Bearer realm="gisplatform"'
#: the challenge to a refused identity provider's access token (RFC 6750 §3.1)
INVALID_TOKEN = 'Bearer realm="gisplatform", error="invalid_token"'
#: seconds a client rate-limited on sign-in should wait
RETRY_AFTER_S = 300
#: seconds a client should wait after a 503 (database down, or every connection busy)
UNAVAILABLE_RETRY_AFTER_S = 5


def request_id(request: Request) -> str:
    """The id the access-log middleware gave this request."""
    return str(getattr(request.state, "request_id", "-"))


_OGC_EXCEPTIONS = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
#: OGC exception codes that OGC API – Processes names by URI
EXCEPTION_TYPES = {
    "NoSuchProcess": _OGC_EXCEPTIONS + "no-such-process",
    "NoSuchJob": _OGC_EXCEPTIONS + "no-such-job",
    "ResultNotReady": _OGC_EXCEPTIONS + "result-not-ready",
}
#: the JSON Schema of every error body (the OpenAPI document's ``Exception``)
EXCEPTION_SCHEMA: dict[str, object] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "description"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "description": {"type": "string"},
        "requestId": {"type": "string"},
    },
}


def problem(
    request: Request,
    status: int,
    code: str,
    description: str | Text,
    headers: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> JSONResponse:
    """An error in the API's one exception shape, in the request's language
    (``lang`` / ``Accept-Language``)."""
    lang = request_language(request)
    text = description.get(lang) if isinstance(description, Text) else description
    content: dict[str, object] = {
        "type": EXCEPTION_TYPES.get(code, "about:blank"),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": text,
        "code": code,
        "description": text,
    }
    content.update(extra or {})
    sent = {**(headers or {}), "X-Request-ID": request_id(request), "Content-Language": lang}
    if status >= 500:
        content["requestId"] = request_id(request)
    return JSONResponse(content, status_code=status, headers=sent)


def _body(
    status: int,
    code: str,
    description: str | Text,
    request: Request,
    extra: dict[str, object] | None = None,
) -> JSONResponse:
    return problem(request, status, code, description, extra=extra)


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app answers at this request's path (HEAD with GET)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(request.scope["path"]) and route.methods:
            methods |= set(route.methods)
    if not methods:  # a static mount (no route list): it reads files
        methods = {"GET"}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GisPlatformError)
    for kind in type(exc).__mro__:
        if kind in STATUS:
            status, code = STATUS[kind]
            break
    else:
        status, code = exc.status_code, "ServerError"
    if isinstance(exc, LayerNotFound):
        return _body(status, code, message("collection_not_found"), request)
    if isinstance(exc, IdentityProviderUnavailable):
        return _body(status, code, exc.text, request)
    if status >= 500:
        log.error("domain error", exc_info=exc, extra={"request_id": request_id(request)})
        response = _body(status, code, message("service_unavailable"), request)
        if status == 503:
            response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
        return response
    response = _body(status, code, exc.text, request)
    if isinstance(exc, FeatureInvalid):  # each field and its problem, for editors to show
        lang = request_language(request)
        errors = [{"field": name, "description": why.get(lang)} for name, why in exc.problems]
        response = _body(status, code, exc.text, request, {"errors": errors})
    if isinstance(exc, InvalidAccessToken):
        response.headers["WWW-Authenticate"] = INVALID_TOKEN
    elif status == 401:
        response.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    elif status == 429:
        response.headers["Retry-After"] = str(getattr(exc, "retry_after", RETRY_AFTER_S))
    return response


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HttpError")
    known = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    text = message(known) if known else str(exc.detail)
    return problem(request, exc.status_code, code, text, headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    names = [str(err.get("loc", ["", "?"])[-1]) for err in exc.errors()]
    why = message("invalid_parameters", names=", ".join(names))
    return _body(400, "InvalidParameterValue", why, request)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    """503 with ``Retry-After``: the database is down, the query ran too long, or the pool
    is exhausted (load shed rather than queued)."""
    extra = {"request_id": request_id(request)}
    if isinstance(exc, psycopg.errors.QueryCanceled):
        why = message("query_too_long")
    elif isinstance(exc, TooManyRequests | PoolTimeout):
        # one line, no traceback: under an outage or overload every request lands here
        log.warning("database connection not available: %s", exc, extra=extra)
        why = message("server_busy")
    else:
        log.warning("database error: %s: %s", type(exc).__name__, exc, extra=extra)
        why = message("database_unavailable")
    response = _body(503, "ServiceUnavailable", why, request)
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_S)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"request_id": request_id(request)})
    return _body(500, "ServerError", message("internal_error"), request)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(GisPlatformError, _domain)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    # a lost connection surfaces as OperationalError or, once closed, InterfaceError;
    # PoolTimeout and TooManyRequests (the pool's queue is full) are OperationalErrors
    app.add_exception_handler(psycopg.OperationalError, _database)
    app.add_exception_handler(psycopg.InterfaceError, _database)
    app.add_exception_handler(Exception, _unexpected)
