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


#: records every Content-Security-Policy violation of a page in ``window.__csp``
CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Headless Chromium (Debian's) driven by playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Any, **context: Any) -> Any:
    """A page in a context of its own (uk-UA, 1400×900 unless ``context`` says otherwise),
    logging its errors (``page.log``) and CSP violations (``page.csp``)."""
    options = {"viewport": {"width": 1400, "height": 900}, "locale": "uk-UA", **context}
    context_ = browser.new_context(**options)
    context_.add_init_script(CSP_WATCH)
    page = context_.new_page()
    page.log = PageLog(page)
    page.csp = []
    page.on(
        "console",
        lambda msg: page.csp.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return page


def assert_clean(page: Any, expected: tuple[str, ...] = ()) -> None:
    """No script error (but the ``expected`` ones) and no CSP violation on the page."""
    violations = page.evaluate("() => window.__csp || []") + page.csp
    assert not violations, violations
    errors = [e for e in page.log.errors if not any(x in e for x in expected)]
    assert not errors, errors


def open_map(page: Any, root: str, lang: str, login: str | None, password: str = "") -> None:
    """Open the web map at ``root``; with ``login``, sign in through the map's form."""
    page.goto(f"{root}/?lang={lang}")
    wait_ready(page)
    page.wait_for_function("() => window.gisplatform.accountReady !== undefined")
    page.evaluate("() => window.gisplatform.accountReady")
    if login is None:
        return
    page.click("#gp-signin-open")
    page.fill("#gp-signin input[name=login]", login)
    page.fill("#gp-signin input[name=password]", password)
    with page.expect_navigation(timeout=20_000):  # signing in reloads the page
        page.click("#gp-signin button[type=submit]")
    page.wait_for_selector("#gp-login", timeout=20_000)
    wait_ready(page)
    page.wait_for_function("() => window.gisplatform.session !== null")


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
