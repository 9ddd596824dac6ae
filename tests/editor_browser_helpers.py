"""Shared pieces of the web-map editor's browser tests: pages that watch for script errors and
CSP violations, signing in through the map's form, opening a feature's popup and its editor
form, and reading the store behind them. Layers and fields come from the registry."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from gisplatform.registry import LayerSpec
from tests import webmap_helpers
from tests.conftest import make_settings
from tests.edit_helpers import PASSWORD, EditSite
from tests.webmap_helpers import chromium, wait_ready

__all__ = [
    "assert_clean",
    "chromium",
    "first_fid",
    "new_page",
    "open_form",
    "open_map",
    "open_popup",
    "stored",
]


def new_page(browser: Any) -> Any:
    """A page in a context of its own (its own cookies) that records errors and CSP reports."""
    return webmap_helpers.new_page(browser, watch_csp=True)


#: the browser logs the answers the editor expects (a conflict, a rejected value) as errors
EXPECTED = ("status of 412", "status of 422")


def assert_clean(page: Any) -> None:
    """No script error and no CSP violation on the page."""
    violations = page.evaluate("() => window.__csp || []") + page.csp
    assert not violations, violations
    errors = [e for e in page.log.errors if not any(x in e for x in EXPECTED)]
    assert not errors, errors


def stored(site: EditSite, spec: LayerSpec, field: str, fid: int) -> Any:
    """The value of ``field`` of feature ``fid`` in the store (asserting the feature exists)."""
    schema = make_settings(site.db_url).layer_schema
    query = sql.SQL("SELECT {} FROM {}.{} WHERE fid = %s").format(
        sql.Identifier(field), sql.Identifier(schema), sql.Identifier(spec.name)
    )
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute(query, (fid,)).fetchone()
    assert row is not None
    return row[0]


def first_fid(site: EditSite, spec: LayerSpec) -> int:
    """The smallest feature id of the layer."""
    schema = make_settings(site.db_url).layer_schema
    query = sql.SQL("SELECT min(fid) FROM {}.{}").format(
        sql.Identifier(schema), sql.Identifier(spec.name)
    )
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def open_map(page: Any, site: EditSite, lang: str, login: str | None) -> None:
    """The map in ``lang``; signed in through the map's own form when ``login`` is given."""
    page.goto(f"{site.url}/?lang={lang}")
    wait_ready(page)
    page.wait_for_function("() => window.gisplatform.accountReady !== undefined")
    page.evaluate("() => window.gisplatform.accountReady")
    if login is None:
        return
    page.click("#gp-signin-open")
    page.fill("#gp-signin input[name=login]", login)
    page.fill("#gp-signin input[name=password]", PASSWORD)
    with page.expect_navigation(timeout=20_000):  # signing in reloads the page
        page.click("#gp-signin button[type=submit]")
    page.wait_for_selector("#gp-login", timeout=20_000)
    wait_ready(page)
    page.wait_for_function("() => window.gisplatform.session !== null")


def open_popup(page: Any, layer: str, fid: int) -> None:
    """Turn ``layer`` on, zoom to feature ``fid`` and open its popup."""
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


def open_form(page: Any, layer: str, fid: int) -> Any:
    """The editor form of feature ``fid`` (through its popup's edit button)."""
    open_popup(page, layer, fid)
    page.click(".gp-edit-open")
    page.wait_for_selector("#gp-edit-form")
    return page.locator("#gp-editor")
