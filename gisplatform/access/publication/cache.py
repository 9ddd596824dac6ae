"""Short cache lifetimes for the public's view of sensitive layers (``sensitive: true``).

A withdrawal must reach browsers and proxies too, not only the server: every anonymous
``GET`` whose answer may hold a sensitive layer (its collection, items, tiles, record, and the
aggregates: the collections list, the catalogue, tilesets of the whole map, OpenAPI,
processes, the web map page) is sent with ``Cache-Control: public, max-age=30,
must-revalidate``, so no cache keeps it past a minute; tiles revalidate with their ETag.
Answers that already say ``no-store``, ``no-cache`` or ``private`` keep their header, and so do
answers about one layer that is not sensitive.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gisplatform.registry import LayerRegistry

#: what the public's answers that may hold a sensitive layer carry
SENSITIVE_CACHE_CONTROL = "public, max-age=30, must-revalidate"
#: paths whose answers never hold layer data
_UNRELATED = ("/ogc/static/", "/static/", "/healthz", "/readyz", "/metrics", "/admin/")


def holds_sensitive(registry: LayerRegistry, path: str) -> bool:
    """True when the answer to ``path`` may hold a sensitive layer's data or its name."""
    if path.startswith(_UNRELATED):
        return False
    parts = path.strip("/").split("/")
    if len(parts) >= 3 and parts[:2] == ["ogc", "collections"]:
        name = parts[2]
        if name == "catalogue" and len(parts) >= 5 and parts[3] == "items":
            name = parts[4]
        if name in registry:
            return registry.get(name).sensitive
    return any(spec.sensitive for spec in registry)


class SensitiveCacheControl:
    """ASGI middleware setting :data:`SENSITIVE_CACHE_CONTROL` on the public's answers."""

    def __init__(self, app: ASGIApp, registry: LayerRegistry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or any(name == b"authorization" for name, _ in scope["headers"])
            or not holds_sensitive(self.registry, scope["path"])
        ):
            await self.app(scope, receive, send)
            return

        async def send_short(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                said = headers.get("cache-control", "").lower()
                if not any(word in said for word in ("no-store", "no-cache", "private")):
                    headers["Cache-Control"] = SENSITIVE_CACHE_CONTROL
            await send(message)

        await self.app(scope, receive, send_short)
