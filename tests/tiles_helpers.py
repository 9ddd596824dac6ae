"""The platform app for tile and catalogue tests, optionally with test tile settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from gisplatform.ogcapi.tilequeries import TileSettings
from gisplatform.registry import LayerRegistry
from tests.live import live_server, platform_app

__all__ = ["anyio_backend", "asgi_client", "client", "live_server", "make_app"]


def make_app(url: str, registry: LayerRegistry, tiles: TileSettings | None = None) -> FastAPI:
    """The platform app on ``url``; ``tiles`` overrides the tile settings (e.g. a tiny cap)."""
    app = platform_app(url, registry)
    if tiles is not None:
        app.state.tile_settings = tiles
    return app


@asynccontextmanager
async def asgi_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client of ``app``, with the app's lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


@pytest.fixture
def anyio_backend() -> str:
    """The async tests run on asyncio."""
    return "asyncio"


@pytest.fixture
async def client(demo_db_url: str, registry: LayerRegistry) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the platform app on the demo database."""
    async with asgi_client(make_app(demo_db_url, registry)) as http:
        yield http
