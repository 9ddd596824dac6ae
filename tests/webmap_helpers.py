"""Shared pieces of the web-map browser tests: a live server thread and headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
#: collects every CSP violation a page reports, from its first script on
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""
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


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by playwright (never a downloaded browser)."""
    from playwright import sync_api

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(
    browser: Any, *, width: int = 1400, height: int = 900, watch_csp: bool = False, **options: Any
) -> Any:
    """A page in a context of its own (own cookies, ``uk-UA`` unless ``locale`` is given) with
    its request and error log at ``page.log``; ``watch_csp`` also gathers CSP violations, from
    events (``window.__csp``) and from the console (``page.csp``)."""
    options.setdefault("locale", "uk-UA")
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    if watch_csp:
        context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.log = PageLog(page)
    page.csp = []
    page.on(
        "console",
        lambda msg: page.csp.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return page
