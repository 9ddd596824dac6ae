"""Editing on the web map in headless Chromium: move a point by dragging it, add a feature with
a click, delete one after a confirmation, cancel a move; a stale move gets the conflict panel;
a feature that cannot be read says why. The store is checked by SQL and the history names the
signed-in user. Layer and fields come from the registry, never named here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from gisplatform.demo import load_demo
from gisplatform.registry import FieldType, LayerRegistry, LayerSpec
from gisplatform.webmap.i18n import STRINGS
from tests.conftest import make_settings
from tests.edit_helpers import (
    GEOJSON,
    MERGE_PATCH,
    EditSite,
    basic,
    edit_layer,
    edit_site,
    feature,
    history,
    valid_properties,
)
from tests.editor_browser_helpers import (
    assert_clean,
    chromium,
    new_page,
    open_form,
    open_map,
    open_popup,
)
from tests.webmap_helpers import screenshot

pytestmark = [pytest.mark.db, pytest.mark.slow]

#: the drag handle's position and the drawn point of a feature, as the page has them
HANDLE_JS = """() => {
  let found = null;
  window.gisplatform.map.eachLayer((l) => {
    if (l.dragging && l.options.icon && l.options.icon.options.className === 'gp-drag-handle') {
      found = l.getLatLng();
    }
  });
  return found && [found.lng, found.lat];
}"""
DRAWN_JS = """([name, fid]) => {
  let found = null;
  window.gisplatform.state.entries[name].group.eachLayer((l) => {
    if (l.feature && String(l.feature.id) === String(fid)) found = l.getLatLng();
  });
  return found && [found.lng, found.lat];
}"""


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with edit_site(server_url, registry, "gisplatform_editor_geometry") as running:
        load_demo(running.db_url, registry, make_settings(running.db_url).layer_schema)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _table(site: EditSite, spec: LayerSpec) -> sql.Composed:
    return sql.SQL("{}.{}").format(
        sql.Identifier(make_settings(site.db_url).layer_schema), sql.Identifier(spec.name)
    )


def _point(site: EditSite, spec: LayerSpec, fid: int) -> tuple[list[float], int] | None:
    """The stored position (lon, lat) and version of ``fid``; None when it is not stored."""
    query = sql.SQL("SELECT ST_X(geom), ST_Y(geom), version FROM {} WHERE fid = %s").format(
        _table(site, spec)
    )
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute(query, [fid]).fetchone()
    return None if row is None else ([row[0], row[1]], row[2])


def _fids(site: EditSite, spec: LayerSpec) -> list[int]:
    query = sql.SQL("SELECT fid FROM {} ORDER BY fid").format(_table(site, spec))
    with psycopg.connect(site.db_url) as conn:
        return [row[0] for row in conn.execute(query).fetchall()]


def _writer(site: EditSite) -> tuple[LayerSpec, str]:
    spec = edit_layer(site.registry)
    return spec, site.logins[spec.write_roles[0]]


def _drag(page: Any, dx: float, dy: float) -> list[float]:
    """Drag the handle by (dx, dy) pixels with the mouse; its new position (lon, lat)."""
    handle = page.locator(".gp-drag-handle")
    handle.wait_for()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()
    page.wait_for_selector("#gp-edit-moved:not([hidden])")
    position: list[float] = page.evaluate(HANDLE_JS)
    return position


def _created(site: EditSite, spec: LayerSpec, n: int) -> int:
    """A feature made through the API (so a test deletes its own, not the demo's)."""
    r = httpx.post(
        f"{site.url}/ogc/collections/{spec.name}/items",
        json=feature(site.registry, spec, n),
        headers={**basic(site.logins[spec.write_roles[0]]), "Content-Type": GEOJSON},
    )
    assert r.status_code == 201, r.text
    return int(r.headers["Location"].rsplit("/", 1)[1])


def _fill(page: Any, spec: LayerSpec, values: dict[str, Any]) -> None:
    """Type ``values`` into the editor form, each as its input takes it."""
    for name, value in values.items():
        field = spec.field(name)
        selector = f'#gp-edit-form [name="{name}"]'
        if field.type is FieldType.ENUM:
            page.select_option(selector, value)
        elif field.type is FieldType.BOOLEAN:
            page.select_option(selector, "true" if value else "false")
        elif field.type is FieldType.STRING_LIST:
            page.fill(selector, ", ".join(value))
        elif field.type is FieldType.DATETIME:
            page.fill(selector, str(value)[:16])
        else:
            page.fill(selector, str(value))


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_drag_a_point_and_save_moves_it(browser: Any, site: EditSite, lang: str) -> None:
    spec, login = _writer(site)
    fid = _fids(site, spec)[1 if lang == "uk" else 2]
    before = _point(site, spec, fid)
    assert before is not None
    page = new_page(browser)
    open_map(page, site, lang, login)
    form = open_form(page, spec.name, fid)
    assert STRINGS["move_hint"][lang] in form.inner_text()
    moved = _drag(page, 90, 45)
    assert moved != pytest.approx(before[0], abs=1e-7)
    # the drawn point follows the handle before anything is saved
    assert page.evaluate(DRAWN_JS, [spec.name, fid]) == pytest.approx(moved, abs=1e-7)
    assert _point(site, spec, fid) == before
    screenshot(page, f"editor-{lang}-move.png")
    page.click("#gp-edit-save")
    page.wait_for_selector("#gp-edit-status.gp-ok")
    assert form.locator("#gp-edit-status").inner_text() == STRINGS["saved"][lang]
    after = _point(site, spec, fid)
    assert after is not None
    assert after[0] == pytest.approx(moved, abs=1e-6)
    assert after[1] == before[1] + 1
    assert history(site.db_url, spec, fid)[-1] == ("UPDATE", login, ["geom"])
    # the layer is read again and drawn at the saved position
    page.wait_for_function(
        """([name, fid, lon]) => {
          const f = window.gisplatform.state.entries[name].features()
            .find((x) => String(x.id) === String(fid));
          return f && Math.abs(f.geometry.coordinates[0] - lon) < 1e-6;
        }""",
        arg=[spec.name, fid, moved[0]],
        timeout=15_000,
    )
    assert page.evaluate(DRAWN_JS, [spec.name, fid]) == pytest.approx(moved, abs=1e-6)
    assert_clean(page)
    page.context.close()


def test_cancel_puts_the_point_back_and_stores_nothing(browser: Any, site: EditSite) -> None:
    spec, login = _writer(site)
    fid = _fids(site, spec)[3]
    before = _point(site, spec, fid)
    entries = len(history(site.db_url, spec, fid))
    page = new_page(browser)
    open_map(page, site, "en", login)
    open_form(page, spec.name, fid)
    start = page.evaluate(DRAWN_JS, [spec.name, fid])
    moved = _drag(page, -70, 60)
    assert page.evaluate(DRAWN_JS, [spec.name, fid]) == pytest.approx(moved, abs=1e-7)
    page.click("#gp-edit-cancel")
    page.wait_for_selector("#gp-editor", state="detached")
    assert page.locator(".gp-drag-handle").count() == 0
    assert page.evaluate(DRAWN_JS, [spec.name, fid]) == pytest.approx(start, abs=1e-9)
    assert _point(site, spec, fid) == before
    assert len(history(site.db_url, spec, fid)) == entries
    assert_clean(page)
    page.context.close()


def test_a_stale_move_gets_the_conflict_panel(browser: Any, site: EditSite) -> None:
    spec, login = _writer(site)
    fid = _created(site, spec, 30)
    page = new_page(browser)
    open_map(page, site, "uk", login)
    open_form(page, spec.name, fid)
    # someone else moves it first
    elsewhere = {"geometry": {"type": "Point", "coordinates": _point(site, spec, fid)[0]}}
    elsewhere["geometry"]["coordinates"][0] += 3e-4
    r = httpx.patch(
        f"{site.url}/ogc/collections/{spec.name}/items/{fid}",
        json=elsewhere,
        headers={**basic(login), "Content-Type": MERGE_PATCH},
    )
    assert r.status_code == 200, r.text
    theirs = _point(site, spec, fid)
    _drag(page, 40, -40)
    page.click("#gp-edit-save")
    page.wait_for_selector("#gp-conflict:not([hidden])")
    row = page.locator('#gp-conflict tr[data-field="geometry"]')
    assert row.locator(".gp-stored").inner_text() == (
        f"{theirs[0][1]:.6f}, {theirs[0][0]:.6f}"  # latitude first, as people read it
    )
    assert _point(site, spec, fid) == theirs
    page.click("#gp-conflict-reload")
    page.wait_for_function(
        "([lon]) => { const p = (" + HANDLE_JS + ")(); return p && Math.abs(p[0] - lon) < 1e-7; }",
        arg=[theirs[0][0]],
    )
    assert_clean(page)
    page.context.close()


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_add_a_feature_with_a_click_on_the_map(browser: Any, site: EditSite, lang: str) -> None:
    spec, login = _writer(site)
    known = set(_fids(site, spec))
    page = new_page(browser)
    open_map(page, site, lang, login)
    centre = site.registry.hromada.centre
    page.evaluate(
        "([lat, lon]) => window.gisplatform.map.setView([lat, lon], 16, { animate: false })",
        [centre.lat + (0.0012 if lang == "uk" else -0.0012), centre.lon],
    )
    page.click("#gp-add-open")
    hint = page.locator("#gp-add-panel .gp-add-hint")
    assert hint.inner_text() == STRINGS["add_hint"][lang]
    screenshot(page, f"editor-{lang}-add-place.png")
    box = page.locator(".folium-map").first.bounding_box()
    target = {"x": box["width"] / 2 - 150, "y": box["height"] / 2 + 30}
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.wait_for_selector("#gp-edit-form.gp-new")
    assert page.locator(".gp-editor-title").inner_text() == STRINGS["add_title"][lang]
    assert page.locator("#gp-edit-delete").count() == 0
    placed = page.evaluate(HANDLE_JS)
    values = valid_properties(spec, 50 if lang == "uk" else 51)
    _fill(page, spec, values)
    screenshot(page, f"editor-{lang}-add-form.png")
    page.click("#gp-edit-save")
    page.wait_for_selector("#gp-edit-status.gp-ok")
    assert page.locator("#gp-edit-status").inner_text() == STRINGS["created"][lang]
    new = set(_fids(site, spec)) - known
    assert len(new) == 1
    fid = new.pop()
    stored = _point(site, spec, fid)
    assert stored is not None and stored[0] == pytest.approx(placed, abs=1e-6)
    assert history(site.db_url, spec, fid) == [("INSERT", login, None)]
    # the form is now the new feature's, and the map draws it
    assert page.locator(".gp-editor-layer").inner_text().endswith(str(fid))
    assert page.locator("#gp-edit-delete").count() == 1
    page.wait_for_function(
        "(args) => (" + DRAWN_JS + ")(args) !== null", arg=[spec.name, fid], timeout=15_000
    )
    item = httpx.get(f"{site.url}/ogc/collections/{spec.name}/items/{fid}", headers=basic(login))
    for name, value in values.items():
        assert item.json()["properties"][name] == value, name
    assert_clean(page)
    page.context.close()


@pytest.mark.parametrize("lang", ["uk", "en"])
def test_delete_asks_first_then_removes_it(browser: Any, site: EditSite, lang: str) -> None:
    spec, login = _writer(site)
    fid = _created(site, spec, 33 if lang == "uk" else 34)
    page = new_page(browser)
    open_map(page, site, lang, login)
    open_form(page, spec.name, fid)
    page.click("#gp-edit-delete")
    dialog = page.locator("#gp-delete-confirm")
    dialog.wait_for()
    assert dialog.get_attribute("role") == "alertdialog"
    assert STRINGS["delete_confirm"][lang] in dialog.inner_text()
    screenshot(page, f"editor-{lang}-delete-confirm.png")
    page.click("#gp-delete-no")  # changed one's mind: nothing sent
    assert dialog.is_hidden()
    assert _point(site, spec, fid) is not None
    page.click("#gp-edit-delete")
    page.click("#gp-delete-yes")
    page.wait_for_selector("#gp-editor", state="detached")
    assert page.locator("#gp-notice").inner_text() == STRINGS["deleted"][lang]
    assert _point(site, spec, fid) is None
    assert history(site.db_url, spec, fid)[-1][:2] == ("DELETE", login)
    page.wait_for_function(
        "(args) => (" + DRAWN_JS + ")(args) === null", arg=[spec.name, fid], timeout=15_000
    )
    assert page.locator(".gp-drag-handle").count() == 0
    assert_clean(page)
    page.context.close()


def test_a_feature_that_cannot_be_read_says_why(browser: Any, site: EditSite) -> None:
    spec, login = _writer(site)
    fid = _created(site, spec, 36)
    page = new_page(browser)
    open_map(page, site, "uk", login)
    open_popup(page, spec.name, fid)
    gone = httpx.delete(f"{site.url}/ogc/collections/{spec.name}/items/{fid}", headers=basic(login))
    assert gone.status_code == 204
    page.click(".gp-edit-open")
    status = page.locator("#gp-editor #gp-edit-status")
    status.wait_for()
    assert status.get_attribute("role") == "alert"
    assert status.inner_text() == f"{STRINGS['open_failed']['uk']}: {STRINGS['open_gone']['uk']}"
    assert page.locator("#gp-edit-form").count() == 0
    page.click("#gp-edit-cancel")
    page.wait_for_selector("#gp-editor", state="detached")
    errors = [e for e in page.log.errors if "status of 404" not in e]
    page.log.errors[:] = errors
    assert_clean(page)
    page.context.close()
