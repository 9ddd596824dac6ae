"""HTTP semantics every route gets without asking: ``HEAD`` and ``Vary``.

* ``HEAD`` is answered wherever ``GET`` is: the request runs as a ``GET`` and the response
  leaves with the same status and headers and no body (RFC 9110 §9.3.2).
* ``Vary`` names what a response was negotiated on: ``Accept`` when the route chose its
  format from it (:func:`mark_negotiated_on_accept`, called by the format dependency) and
  ``Accept-Language`` when the response is in a language (it has ``Content-Language``, or
  the route chose a language without ``lang``: :func:`mark_negotiated_on_language`).

* ``Location`` leaves spelled so (:class:`LocationHeaderCase`): header names are
  case-insensitive, but QGIS 3.40 (an LTR) reads a created feature's id only from a header
  named exactly ``Location``, and Starlette keeps every name lower-cased.

``Allow`` on a 405 is set by the error handler (:func:`gisplatform.ogcapi.errors.allowed_methods`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: request-state keys: the response's format (language) was chosen from ``Accept``
#: (``Accept-Language``)
_VARY_ACCEPT = "vary_accept"
_VARY_LANGUAGE = "vary_language"


def mark_negotiated_on_accept(request: Request) -> None:
    """Record that this request's response format depends on its ``Accept`` header."""
    setattr(request.state, _VARY_ACCEPT, True)


def mark_negotiated_on_language(request: Request) -> None:
    """Record that this request's response language depends on ``Accept-Language``."""
    setattr(request.state, _VARY_LANGUAGE, True)


def _vary(scope: Scope, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    names = {k.lower() for k, _ in headers}
    state = scope.get("state", {})
    wanted: list[str] = []
    if state.get(_VARY_ACCEPT):
        wanted.append("Accept")
    if b"content-language" in names or state.get(_VARY_LANGUAGE):
        wanted.append("Accept-Language")
    if not wanted:
        return headers
    present = [v.decode("latin-1") for k, v in headers if k.lower() == b"vary"]
    said = {p.strip().lower() for value in present for p in value.split(",") if p.strip()}
    missing = [w for w in wanted if w.lower() not in said]
    if not missing:
        return headers
    rest = [(k, v) for k, v in headers if k.lower() != b"vary"]
    return [*rest, (b"vary", ", ".join([*present, *missing]).encode("latin-1"))]


class HttpSemantics:
    """ASGI middleware: ``HEAD`` as a bodiless ``GET``; ``Vary`` on negotiated responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _vary(scope, list(message.get("headers", [])))}
                if head:  # the server below sees a HEAD again: no body follows the headers
                    scope["method"] = "HEAD"
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a streamed body: nothing is sent for HEAD
                message = {**message, "body": b""}
            await send(message)

        if not head:
            await self.app(scope, receive, sending)
            return
        # the scope itself (not a copy): the access log outside reads the route matched inside
        scope["method"] = "GET"
        try:
            await self.app(scope, receive, sending)
        finally:
            scope["method"] = "HEAD"


class LocationHeaderCase:
    """ASGI middleware, outermost: a 201's ``location`` header goes out as ``Location``.

    Outermost because Starlette's header mappings inside assume lower-case names.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 201:
                headers = [
                    (b"Location" if name == b"location" else name, value)
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
