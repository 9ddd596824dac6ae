"""Health, readiness, Prometheus metrics and a structured access log with request ids."""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gisplatform.ogcapi.deps import PoolDep

access_log = logging.getLogger("gisplatform.access")
REQUEST_ID_HEADER = "X-Request-ID"
#: set by the tile endpoints: "hit" (from the worker's tile cache) or "miss" (rendered)
TILE_CACHE_HEADER = "X-Tile-Cache"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

#: HTTP methods counted under their own name in the metrics; anything else is "other"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """Request counters and latencies in a registry of the app's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gisplatform_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gisplatform_http_request_duration_seconds",
            "HTTP request duration by route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.tile_cache = Counter(
            "gisplatform_tile_cache_requests",
            "Tiles answered from the worker's tile cache (hit) or rendered (miss)",
            ["result"],
            registry=self.registry,
        )


class AccessLogMiddleware:
    """Give each request an id (``X-Request-ID``), log it as one line and count it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = rid
                cached = headers.get(TILE_CACHE_HEADER)
                if cached in ("hit", "miss"):
                    self.metrics.tile_cache.labels(cached).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = str(scope.get("method", ""))
            label = method if method in KNOWN_METHODS else "other"  # labels stay bounded
            self.metrics.requests.labels(label, route, str(status)).inc()
            self.metrics.latency.labels(label, route).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "request_id": rid,
                    # the peer, or the address a trusted proxy forwarded (uvicorn's proxy headers)
                    "client": (scope.get("client") or ("-",))[0],
                    "method": method,
                    # a job id is its caller's capability: jobs are logged by route only
                    "path": route if "{jobId}" in route else scope.get("path", ""),
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )


def build_ops_router() -> APIRouter:
    """``/healthz`` (process alive), ``/readyz`` (database answers), ``/metrics``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(pool: PoolDep) -> JSONResponse:
        try:
            async with pool.connection() as conn:  # the pool's short wait: never hangs
                await conn.execute("SELECT 1")
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        ops = getattr(request.app.state, "ops_metrics", None)
        router_ = getattr(request.app.state, "read_router", None)
        if ops is not None and router_ is not None:
            pools = {"primary": router_.primary}
            pools.update({r.name: r.pool for r in router_.replicas})
            await ops.refresh(pools, getattr(request.app.state, "tile_cache", None))
        registry: CollectorRegistry = request.app.state.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
