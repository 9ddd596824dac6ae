"""Shared pieces of the web-map browser tests: a live server thread and headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gisplatform.settings import PROJECT_ROOT
from tests.live import live_server

__all__ = ["live_server"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Screenshots for people to look at (gitignored: /build/).
SCREENSHOT_DIR = PROJECT_ROOT / "build" / "webmap-screenshots"


class PageLog:
    """Every request URL and every console error or page error of one page."""

    def __init__(self, page: Any) -> None:
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on(
            "console",
            lambda msg: self.errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))


def wait_ready(page: Any, timeout: float = 30_000) -> None:
    """Wait until the map script has started and the boundary is drawn."""
    page.wait_for_function(
        "() => window.gisplatform && window.gisplatform.stats && window.gisplatform.stats().ready",
        timeout=timeout,
    )


def stats(page: Any) -> dict[str, Any]:
    """``window.gisplatform.stats()``."""
    result: dict[str, Any] = page.evaluate("() => window.gisplatform.stats()")
    return result


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under :data:`SCREENSHOT_DIR` and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / name
    page.screenshot(path=str(path))
    return path


def open_popup(page: Any, layer: str, fid: int) -> None:
    """Show ``layer`` and open the popup of its feature ``fid`` (a GeoJSON-drawn layer)."""
    page.evaluate("name => window.gisplatform.setLayer(name, true)", layer)
    page.wait_for_function(
        "name => window.gisplatform.stats().layers[name].drawn > 0", arg=layer, timeout=20_000
    )
    opened = page.evaluate(
        """([name, fid]) => {
          let found = false;
          window.gisplatform.state.entries[name].group.eachLayer((l) => {
            if (!found && l.feature && String(l.feature.id) === String(fid)) {
              window.gisplatform.map.setView(l.getLatLng(), 17, { animate: false });
              l.openPopup();
              found = true;
            }
          });
          return found;
        }""",
        [layer, fid],
    )
    assert opened
    page.wait_for_selector(f'.gp-popup[data-layer="{layer}"][data-fid="{fid}"]', timeout=10_000)
