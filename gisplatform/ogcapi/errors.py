"""Exception handlers: one table from domain errors to HTTP status, OGC exception bodies."""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException

from gisplatform.errors import (
    DatabaseUnavailable,
    FeatureNotFound,
    GisPlatformError,
    InvalidParameter,
    LayerNotFound,
)

log = logging.getLogger("gisplatform.ogcapi")

#: domain error → (HTTP status, OGC exception code)
STATUS: dict[type[GisPlatformError], tuple[int, str]] = {
    InvalidParameter: (400, "InvalidParameterValue"),
    LayerNotFound: (404, "NotFound"),
    FeatureNotFound: (404, "NotFound"),
    DatabaseUnavailable: (503, "ServiceUnavailable"),
}


def request_id(request: Request) -> str:
    """The id the access-log middleware gave this request."""
    return str(getattr(request.state, "request_id", "-"))


def _body(status: int, code: str, description: str, request: Request) -> JSONResponse:
    content: dict[str, object] = {"code": code, "description": description, "status": status}
    headers = {"X-Request-ID": request_id(request)}
    if status >= 500:
        content["requestId"] = request_id(request)
    return JSONResponse(content, status_code=status, headers=headers)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GisPlatformError)
    for kind in type(exc).__mro__:
        if kind in STATUS:
            status, code = STATUS[kind]
            break
    else:
        status, code = exc.status_code, "ServerError"
    if isinstance(exc, LayerNotFound):
        return _body(status, code, "collection not found", request)
    if status >= 500:
        log.error("domain error", exc_info=exc, extra={"request_id": request_id(request)})
        return _body(status, code, "the service cannot answer now", request)
    content = _body(status, code, str(exc), request)
    return content


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = "NotFound" if exc.status_code == 404 else "HttpError"
    return _body(exc.status_code, code, str(exc.detail), request)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    names = [str(err.get("loc", ["", "?"])[-1]) for err in exc.errors()]
    return _body(400, "InvalidParameterValue", f"invalid parameter: {', '.join(names)}", request)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return _body(503, "ServiceUnavailable", "the query took too long", request)
    log.error("database error", exc_info=exc, extra={"request_id": request_id(request)})
    return _body(503, "ServiceUnavailable", "the database cannot answer now", request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"request_id": request_id(request)})
    return _body(500, "ServerError", "internal error; quote the request id", request)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(GisPlatformError, _domain)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(psycopg.OperationalError, _database)
    app.add_exception_handler(PoolTimeout, _database)
    app.add_exception_handler(Exception, _unexpected)
