"""CORS for the OGC API: other sites' pages may read it anonymously, never with credentials.

Only ``/ogc`` answers other origins, and only to GET and HEAD. ``GISPLATFORM_CORS_ORIGINS``
lists the origins allowed (default ``*``: any; empty: none). With ``*`` the answer is
``Access-Control-Allow-Origin: *``; with a list, the request's exact origin and
``Vary: Origin``. ``Access-Control-Allow-Credentials`` is never sent, so a browser never
lets another site read what a signed-in user's cookie would show; scripts of other sites
may send an explicit ``Authorization`` header (a token they were given), which is no ambient
credential.

A CORS preflight is an ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``;
it is answered here (204, or 403 for a method or origin not allowed). Any other ``OPTIONS``
(QGIS asking which methods an endpoint allows) goes on to the API.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gisplatform.i18n import message
from gisplatform.ogcapi.deps import request_language

PREFIX = "/ogc"
METHODS = ("GET", "HEAD")
#: request headers another site's script may send
ALLOW_HEADERS = "Accept, Accept-Language, Authorization, If-None-Match, If-Modified-Since"
#: response headers another site's script may read
EXPOSE_HEADERS = "ETag, Link, Content-Crs, Content-Language, Last-Modified, X-Request-ID"
MAX_AGE_S = 600


def _vary_origin(headers: MutableHeaders) -> None:
    vary = [v.strip() for v in headers.get("vary", "").split(",") if v.strip()]
    if "origin" not in (v.lower() for v in vary):
        headers["Vary"] = ", ".join([*vary, "Origin"])


class Cors:
    """ASGI middleware: CORS headers and preflights for the OGC API."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.any = "*" in origins
        self.origins = frozenset(origins)

    def allowed(self, origin: str) -> str | None:
        """The ``Access-Control-Allow-Origin`` for ``origin``, or None when it is refused."""
        if self.any:
            return "*"
        return origin if origin in self.origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        method = scope["method"]
        if (
            origin is not None
            and method == "OPTIONS"
            and "access-control-request-method" in headers
        ):
            await self._preflight(scope, origin, headers, send)
            return
        if origin is None or method not in METHODS:
            await self.app(scope, receive, send)
            return
        allow = self.allowed(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response = MutableHeaders(scope=message)
                if allow is not None:
                    response["Access-Control-Allow-Origin"] = allow
                    response["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                if not self.any:
                    _vary_origin(response)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, origin: str, headers: Headers, send: Send) -> None:
        requested = headers["access-control-request-method"].upper()
        allow = self.allowed(origin)
        response = MutableHeaders()
        if not self.any:
            response["Vary"] = "Origin"
        if allow is None or requested not in METHODS:
            lang = request_language(Request(scope))
            why = message("cors_refused", origin=origin[:100], method=requested[:20]).get(lang)
            body = json.dumps(
                {"code": "Forbidden", "status": 403, "description": why}, ensure_ascii=False
            ).encode()
            response["Content-Type"] = "application/json"
            response["Content-Language"] = lang
            response["Content-Length"] = str(len(body))
            await send({"type": "http.response.start", "status": 403, "headers": response.raw})
            await send({"type": "http.response.body", "body": body})
            return
        response["Access-Control-Allow-Origin"] = allow
        response["Access-Control-Allow-Methods"] = ", ".join(METHODS)
        response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response["Access-Control-Max-Age"] = str(MAX_AGE_S)
        await send({"type": "http.response.start", "status": 204, "headers": response.raw})
        await send({"type": "http.response.body", "body": b""})
