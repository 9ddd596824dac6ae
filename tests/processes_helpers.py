"""A live server with OGC API – Processes (part of the platform app)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gisplatform.ogcapi import create_app
from gisplatform.registry import LayerRegistry
from tests import live
from tests.conftest import make_settings


@contextmanager
def processes_server(db_url: str, registry: LayerRegistry, **settings: object) -> Iterator[str]:
    """Serve the platform app on a free port; yields the root URL (no trailing slash).

    ``settings`` override the platform settings (e.g. ``process_workers=1``).
    """
    app = create_app(make_settings(db_url, **settings), registry)
    with live.live_server(app) as root:
        yield root
