"""A live OGC API server (uvicorn in a thread) on a free port, for HTTP-level tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from gisplatform.registry import LayerRegistry
from tests import live

RESTRICTED_LAYERS = ("lighting_cabinets", "utility_facilities")


class RequestRecorder(logging.Handler):
    """Keeps the access-log records (path and query of every request)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(
            {
                "path": getattr(record, "path", ""),
                "query": getattr(record, "query", ""),
                "status": getattr(record, "status", 0),
                "client": getattr(record, "client", ""),
            }
        )


@contextmanager
def live_server(db_url: str, registry: LayerRegistry) -> Iterator[tuple[str, RequestRecorder]]:
    """Serve the app on 127.0.0.1; yields the root URL (no trailing slash) and a recorder."""
    recorder = RequestRecorder()
    access = logging.getLogger("gisplatform.access")
    access.addHandler(recorder)
    access.setLevel(logging.INFO)
    with live.live_server(live.platform_app(db_url, registry)) as root:
        try:
            yield root, recorder
        finally:
            access.removeHandler(recorder)
