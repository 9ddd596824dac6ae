"""The platform app for tile and catalogue tests, optionally with test tile settings."""

from __future__ import annotations

from fastapi import FastAPI

from gisplatform.ogcapi.tilequeries import TileSettings
from gisplatform.registry import LayerRegistry
from tests.live import live_server, platform_app

__all__ = ["live_server", "make_app"]


def make_app(url: str, registry: LayerRegistry, tiles: TileSettings | None = None) -> FastAPI:
    """The platform app on ``url``; ``tiles`` overrides the tile settings (e.g. a tiny cap)."""
    app = platform_app(url, registry)
    if tiles is not None:
        app.state.tile_settings = tiles
    return app
