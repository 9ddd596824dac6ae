"""The platform app served by a real uvicorn on a free loopback port, for HTTP-level tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from gisplatform.ogcapi import create_app
from gisplatform.registry import LayerRegistry
from tests.conftest import free_port, make_settings

__all__ = ["free_port", "live_server", "platform_app"]


def platform_app(db_url: str, registry: LayerRegistry) -> FastAPI:
    """The whole platform app (web map, OGC API, processes) on ``db_url``."""
    return create_app(make_settings(db_url), registry)


@contextmanager
def live_server(app: FastAPI, http: str = "auto") -> Iterator[str]:
    """Run ``app`` with uvicorn (its ``http`` implementation) in a background thread; yield
    its root URL (no slash)."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
        http=http,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
