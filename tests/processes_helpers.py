"""A live server with OGC API – Processes (part of the platform app)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gisplatform.registry import LayerRegistry
from tests import live


@contextmanager
def processes_server(db_url: str, registry: LayerRegistry) -> Iterator[str]:
    """Serve the platform app on a free port; yields the root URL (no trailing slash)."""
    with live.live_server(live.platform_app(db_url, registry)) as root:
        yield root
