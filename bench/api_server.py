"""ASGI factory for the API benchmark: ``uvicorn --factory api_server:create_server``.

Settings come from the environment (``DATABASE_URL``, ``GISPLATFORM_LAYERS_DIR``,
``GISPLATFORM_TILES_*``), as ``bench_api.py`` sets them.
"""

from __future__ import annotations

from fastapi import FastAPI

from gisplatform.ogcapi import create_app
from gisplatform.settings import Settings


def create_server() -> FastAPI:
    """The platform app configured from the environment."""
    return create_app(Settings())
