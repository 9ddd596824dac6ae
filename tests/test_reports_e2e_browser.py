"""Issue 15 end to end in headless Chromium: a locked shelter, from a resident's report to the
inspection that clears it.

An anonymous resident reports the shelter in Ukrainian; the handling moderator signs in on
the map, follows "Повідомлення мешканців" to the queue and confirms it; the public map then
marks the shelter (style and popup line) and the nearest-shelter tool lists it after the
others with the warning; the moderator's inspection edit in the map's editor resolves the
report and the mark is gone; the reporter's status page lists each step. Kind, layer,
answer, role and the inspection's date field come from ``reports/*.yaml`` and the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
from psycopg import sql

from gisplatform.registry import LayerRegistry
from gisplatform.reports import ReportKind, load_report_kinds
from gisplatform.reports.marks import DISPLAY_TIMEZONE, INSPECTION_REASON
from gisplatform.settings import PROJECT_ROOT
from gisplatform.webmap.i18n import STRINGS
from tests import webmap_helpers
from tests.edit_helpers import EditSite
from tests.editor_browser_helpers import (
    assert_clean,
    new_page,
    open_form,
    open_map,
    open_popup,
)
from tests.reports_moderation_helpers import answer_marking, feature_point, reports_site, steps_of
from tests.webmap_helpers import chromium, screenshot, wait_ready

pytestmark = [pytest.mark.db, pytest.mark.slow]
#: the resident's contact: the moderator reads it, nobody else
CONTACT = "+380501112233"


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with reports_site(server_url, registry, "gisplatform_reports_e2e") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def marking(registry: LayerRegistry) -> ReportKind:
    kinds = load_report_kinds(PROJECT_ROOT / "reports", registry)
    return next(k for k in kinds if k.layer and k.marking_answers)


def _offered_shelter(site: EditSite, registry: LayerRegistry, layer: str) -> int:
    """The first feature the map's nearest tool offers (its ``map.nearest.defaults``)."""
    spec = registry.get(layer)
    assert spec.map.nearest is not None
    where = sql.SQL(" AND ").join(
        sql.SQL("{} = ANY(%s)").format(sql.Identifier(name)) for name in spec.map.nearest.defaults
    )
    query = sql.SQL("SELECT min(fid) FROM {} WHERE {}").format(sql.Identifier("gis", layer), where)
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute(query, [list(v) for v in spec.map.nearest.defaults.values()]).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def _report_from_popup(page: Any, kind: ReportKind, answers: dict[str, str]) -> str:
    """The resident fills "Повідомити про проблему" in the open popup; the status page's URL."""
    page.click(".gp-report-open")
    page.wait_for_selector("#gp-report-form")
    assert page.input_value("#gp-report-kind") == kind.code
    for question, code in answers.items():
        page.check(f'input[name="answer.{question}"][value="{code}"]')
    page.fill('textarea[name="description"]', "Двері зачинені, на дзвінок ніхто не відповідає")
    page.fill('input[name="contact"]', CONTACT)
    page.wait_for_timeout(3500)  # a person takes longer than the form's minimum fill time
    page.click("#gp-report-send")
    link = page.wait_for_selector("#gp-report-status-link", timeout=15_000)
    assert link is not None
    url = link.get_attribute("href")
    assert url and "/reports/status/" in url
    return str(url)


def _newest_report(site: EditSite) -> int:
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute("SELECT max(id) FROM reports.requests").fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def _mark_line(page: Any) -> str | None:
    marks = page.locator(".gp-popup .gp-report-mark")
    return marks.inner_text() if marks.count() else None


def _created_text(site: EditSite, ident: int) -> str:
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute("SELECT created_at FROM reports.requests WHERE id = %s", [ident])
        found = row.fetchone()
    assert found is not None
    return str(found[0].astimezone(DISPLAY_TIMEZONE).strftime("%d.%m.%Y %H:%M"))


def _nearest(page: Any, point: tuple[float, float]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(
        """async ([lon, lat]) => {
          const result = await window.gisplatform.showNearest(lat, lon);
          return result.items.map((s) => ({ fid: String(s.fid), marked: Boolean(s.mark) }));
        }""",
        [point[0], point[1]],
    )
    return found


def test_locked_shelter_report_to_inspection(
    browser: Any, site: EditSite, marking: ReportKind, registry: LayerRegistry
) -> None:
    assert marking.layer is not None
    layer = marking.layer
    spec = registry.get(layer)
    checked = spec.temporal_field
    assert checked is not None
    fid = _offered_shelter(site, registry, layer)
    point = feature_point(site, layer, fid)
    answers = answer_marking(marking)
    question, code = next(iter(answers.items()))
    option = next(q for q in marking.questions if q.code == question).option(code)
    assert option is not None
    moderator = site.logins[marking.handler_role]

    # 1. an anonymous resident, in Ukrainian, sees the shelter and reports it
    resident = new_page(browser)
    open_map(resident, site, "uk", None)
    open_popup(resident, layer, fid)
    assert _mark_line(resident) is None
    status_url = _report_from_popup(resident, marking, answers)
    resident.goto(status_url)
    resident.wait_for_selector('#report-status[data-status="unconfirmed"]')
    ident = _newest_report(site)

    # 2. the moderator signs in on the map, opens the queue from the account menu, confirms
    staff = new_page(browser)
    open_map(staff, site, "uk", moderator)
    link = staff.locator("#gp-reports-link")
    assert link.inner_text() == STRINGS["reports_queue"]["uk"]
    with staff.expect_navigation():
        link.click()
    row = staff.locator(f'tr[data-id="{ident}"]')
    row.wait_for()
    assert "прострочено" not in row.inner_text()
    screenshot(staff, "reports-queue-uk.png")
    with staff.expect_navigation():
        row.locator("a").click()
    assert staff.locator("#report-contact").inner_text() == CONTACT
    assert option.title.uk in staff.locator("dl.report").inner_text()
    screenshot(staff, "reports-request-uk.png")
    with staff.expect_navigation():
        staff.locator('form[data-to="open"] button').click()
    staff.wait_for_selector('#report-status[data-status="open"]')
    assert steps_of(site, ident)[-1] == ("unconfirmed", "open", moderator, None)
    for name in ("queue", "request"):
        path = "/reports/moderation" + ("" if name == "queue" else f"/{ident}")
        staff.goto(f"{site.url}{path}?f=html&lang=en")
        screenshot(staff, f"reports-{name}-en.png")
    assert "History of its state" in staff.content()

    # 3. the public map marks the shelter and ranks it after the others
    public = new_page(browser)
    open_map(public, site, "uk", None)
    open_popup(public, layer, fid)
    title = option.title.uk
    expected = f"⚠ {STRINGS['report_mark']['uk']}: {title[0].lower()}{title[1:]}, "
    assert _mark_line(public) == expected + _created_text(site, ident)
    dash = public.evaluate(
        """([name, fid]) => {
          let dash = null;
          window.gisplatform.state.entries[name].group.eachLayer((l) => {
            if (l.feature && String(l.feature.id) === String(fid)) dash = l.options.dashArray;
          });
          return dash;
        }""",
        [layer, fid],
    )
    assert dash == public.evaluate("() => window.gisplatform.MARKED_STYLE.dashArray")
    assert CONTACT not in public.content()
    screenshot(public, "reports-mark-popup-uk.png")
    english = webmap_helpers.new_page(browser, watch_csp=True, locale="en-GB")
    open_map(english, site, "en", None)
    open_popup(english, layer, fid)
    title_en = option.title.en
    assert _mark_line(english) == (
        f"⚠ {STRINGS['report_mark']['en']}: {title_en[0].lower()}{title_en[1:]}, "
        + _created_text(site, ident)
    )
    screenshot(english, "reports-mark-popup-en.png")
    assert_clean(english)
    english.context.close()
    public.evaluate("() => window.gisplatform.map.closePopup()")
    ranked = _nearest(public, point)
    assert ranked[-1] == {"fid": str(fid), "marked": True}
    assert not any(item["marked"] for item in ranked[:-1]) and len(ranked) > 1
    last = public.locator("#gp-nearest-results li").last
    assert last.get_attribute("data-fid") == str(fid)
    assert STRINGS["report_mark"]["uk"] in last.inner_text()
    assert public.locator("#gp-nearest-marked").inner_text() == STRINGS["nearest_marked_last"]["uk"]
    last.scroll_into_view_if_needed()
    screenshot(public, "reports-mark-nearest-uk.png")

    # 4. the inspection: the moderator records today's check in the map's editor
    staff.goto(f"{site.url}/?lang=uk")
    wait_ready(staff)
    staff.wait_for_function("() => window.gisplatform.session !== null")
    open_form(staff, layer, fid)
    staff.fill(f'#gp-edit-form input[name="{checked}"]', date.today().isoformat())
    staff.click("#gp-edit-save")
    staff.wait_for_selector("#gp-edit-status.gp-ok")
    assert steps_of(site, ident)[-1] == ("open", "resolved", moderator, INSPECTION_REASON)

    # 5. the mark is gone from a fresh public map, and the shelter is first again
    cleared = new_page(browser)
    open_map(cleared, site, "uk", None)
    open_popup(cleared, layer, fid)
    assert _mark_line(cleared) is None
    cleared.evaluate("() => window.gisplatform.map.closePopup()")
    assert _nearest(cleared, point)[0] == {"fid": str(fid), "marked": False}

    # 6. the reporter's status page shows each step
    resident.goto(status_url)
    resident.wait_for_selector('#report-status[data-status="resolved"]')
    assert CONTACT not in resident.content()
    steps = resident.locator("#report-steps tbody tr")
    assert [steps.nth(i).get_attribute("data-status") for i in range(steps.count())] == [
        "unconfirmed",
        "open",
        "resolved",
    ]
    screenshot(resident, "reports-status-uk.png")
    for page in (resident, staff, public, cleared):
        assert_clean(page)
        page.context.close()
