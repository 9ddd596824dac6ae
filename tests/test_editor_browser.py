"""The web map's feature editor in headless Chromium (Debian's, via playwright).

A writer signs in through the form, edits a feature in the form built from the registry and
saves (PATCH with If-Match and the CSRF header); a second browser with the stale form gets the
conflict panel, never a silent overwrite; a 422 shows the field's Ukrainian message; the
public gets no edit button. Layer and fields come from the registry, never named here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gisplatform.demo import load_demo
from gisplatform.registry import FieldSpec, FieldType, LayerRegistry, LayerSpec
from gisplatform.registry.writes import writable_fields
from gisplatform.webmap.i18n import STRINGS
from tests.conftest import make_settings
from tests.edit_helpers import EditSite, basic, edit_layer, edit_site
from tests.editor_browser_helpers import (
    assert_clean,
    chromium,
    first_fid,
    new_page,
    open_form,
    open_map,
    open_popup,
    stored,
)
from tests.webmap_helpers import screenshot

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with edit_site(server_url, registry, "gisplatform_editor_browser") as running:
        load_demo(running.db_url, registry, make_settings(running.db_url).layer_schema)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def _enum_field(spec: LayerSpec, role: str) -> FieldSpec:
    """The required enum field the writer sets that colours the map (else the first one)."""
    fields = [
        f
        for f in writable_fields(spec, role)
        if f.type is FieldType.ENUM and f.required and len(f.values) >= 3
    ]
    return next((f for f in fields if f.name == spec.style.categorize_by), fields[0])


def _bounded_field(spec: LayerSpec, role: str) -> FieldSpec:
    return next(
        f for f in writable_fields(spec, role) if f.type.is_numeric and f.maximum is not None
    )


def _label(field: FieldSpec, code: str, lang: str) -> str:
    value = next(v for v in field.values if v.value == code)
    return str(getattr(value, lang))


def test_public_sees_no_edit_button(browser: Any, site: EditSite) -> None:
    spec = edit_layer(site.registry)
    fid = first_fid(site, spec)
    page = new_page(browser)
    open_map(page, site, "uk", None)
    config = page.evaluate("() => window.gisplatform.state.cfg.layers")
    assert not any(layer["writable"] or layer["editable"] for layer in config)
    if any(layer["name"] == spec.name for layer in config):
        open_popup(page, spec.name, fid)
        assert page.locator(".gp-edit-open").count() == 0
    assert_clean(page)
    page.context.close()


def test_edit_saves_and_a_stale_form_gets_the_conflict_panel(browser: Any, site: EditSite) -> None:
    spec = edit_layer(site.registry)
    role = spec.write_roles[0]
    login = site.logins[role]
    field = _enum_field(spec, role)
    fid = first_fid(site, spec)
    before = stored(site, spec, field.name, fid)
    first, second = [v.value for v in field.values if v.value != before][:2]
    third = before

    uk = new_page(browser)
    en = new_page(browser)
    open_map(uk, site, "uk", login)
    open_map(en, site, "en", login)
    form_uk = open_form(uk, spec.name, fid)
    form_en = open_form(en, spec.name, fid)  # filled from the same version: soon stale
    # Ukrainian labels, required marked, enum labels in the page's language
    title = uk.locator(f'.gp-edit-field[data-field="{field.name}"] > span').first.inner_text()
    assert title.startswith(field.title.uk) and "*" in title
    options = form_en.locator(f'select[name="{field.name}"] option').all_inner_texts()
    assert [v.en for v in field.values] == [o for o in options if not o.startswith("—")]
    screenshot(uk, "editor-uk-form.png")
    screenshot(en, "editor-en-form.png")

    uk.select_option(f'#gp-edit-form select[name="{field.name}"]', first)
    uk.click("#gp-edit-save")
    uk.wait_for_selector("#gp-edit-status.gp-ok")
    assert form_uk.locator("#gp-edit-status").inner_text() == STRINGS["saved"]["uk"]
    assert stored(site, spec, field.name, fid) == first
    # the layer is fetched again: the map draws the saved value
    uk.wait_for_function(
        """([fid, name, value, layer]) => {
          let seen = null;
          window.gisplatform.state.entries[layer].group.eachLayer((l) => {
            const f = l.feature;
            if (f && String(f.id) === String(fid)) seen = f.properties[name];
          });
          return seen === value;
        }""",
        arg=[fid, field.name, first, spec.name],
        timeout=10_000,
    )
    items = f"{site.url}/ogc/collections/{spec.name}/items/{fid}"
    versions = httpx.get(f"{items}/history", headers=basic(login)).json()["versions"]
    assert versions[-1]["changedBy"] == login
    assert versions[-1]["changes"][field.name] == {"from": before, "to": first}

    # "Історія змін" lists the new version with the user and the changed field
    uk.click("#gp-edit-history")
    latest = uk.locator(f'#gp-history tr[data-version="{versions[-1]["version"]}"]')
    latest.wait_for()
    assert latest.locator(".gp-history-who").inner_text() == login
    assert field.title.uk in latest.inner_text()
    assert STRINGS["history"]["uk"] in uk.locator("#gp-history").inner_text()
    screenshot(uk, "editor-uk-history.png")

    # the stale form: a 412, both versions shown, nothing overwritten
    en.select_option(f'#gp-edit-form select[name="{field.name}"]', second)
    en.click("#gp-edit-save")
    en.wait_for_selector("#gp-conflict:not([hidden])")
    row = en.locator(f'#gp-conflict tr[data-field="{field.name}"]')
    assert row.locator(".gp-yours").inner_text() == _label(field, second, "en")
    assert row.locator(".gp-stored").inner_text() == _label(field, first, "en")
    assert "gp-differs" in (row.get_attribute("class") or "")
    assert stored(site, spec, field.name, fid) == first
    screenshot(en, "editor-en-conflict.png")

    # overwriting is a conscious second step
    en.click("#gp-conflict-overwrite")
    en.wait_for_selector("#gp-edit-status.gp-ok")
    assert stored(site, spec, field.name, fid) == second

    # now the Ukrainian form is stale: its conflict panel, then reload the stored version
    uk.select_option(f'#gp-edit-form select[name="{field.name}"]', third)
    uk.click("#gp-edit-save")
    uk.wait_for_selector("#gp-conflict:not([hidden])")
    assert STRINGS["conflict_title"]["uk"] in uk.locator("#gp-conflict").inner_text()
    row = uk.locator(f'#gp-conflict tr[data-field="{field.name}"]')
    assert row.locator(".gp-stored").inner_text() == _label(field, second, "uk")
    screenshot(uk, "editor-uk-conflict.png")
    uk.click("#gp-conflict-reload")
    uk.wait_for_selector("#gp-edit-form")
    selected = uk.eval_on_selector(f'#gp-edit-form select[name="{field.name}"]', "s => s.value")
    assert selected == second
    assert stored(site, spec, field.name, fid) == second
    for page in (uk, en):
        assert_clean(page)
        page.context.close()


def test_invalid_value_shows_the_fields_ukrainian_message(browser: Any, site: EditSite) -> None:
    spec = edit_layer(site.registry)
    role = spec.write_roles[0]
    login = site.logins[role]
    field = _bounded_field(spec, role)
    fid = first_fid(site, spec)
    before = stored(site, spec, field.name, fid)
    too_big = int(field.maximum or 0) + 1
    # what the API itself says of that value, in Ukrainian
    answer = httpx.patch(
        f"{site.url}/ogc/collections/{spec.name}/items/{fid}?lang=uk",
        json={"properties": {field.name: too_big}},
        headers={**basic(login), "Content-Type": "application/merge-patch+json"},
    )
    assert answer.status_code == 422, answer.text
    wanted = next(e["description"] for e in answer.json()["errors"] if field.name in e["field"])

    page = new_page(browser)
    open_map(page, site, "uk", login)
    open_form(page, spec.name, fid)
    page.fill(f'#gp-edit-form input[name="{field.name}"]', str(too_big))
    page.click("#gp-edit-save")
    page.wait_for_selector("#gp-edit-status.gp-bad")
    error = page.locator(f'.gp-edit-field[data-field="{field.name}"] .gp-field-error')
    assert error.is_visible()
    assert error.inner_text() == wanted
    assert any("а" <= ch <= "я" for ch in wanted.lower())
    assert stored(site, spec, field.name, fid) == before
    screenshot(page, "editor-uk-invalid.png")
    assert_clean(page)
    page.context.close()
