"""The report form on the web map in headless Chromium, without signing in.

An anonymous resident opens a shelter's popup, reports it locked in Ukrainian, sees the
status link and opens it; in English a report from a point picked on the map shows the
missing answer next to its question, then goes through. The form is built from
``/reports/kinds``; the kind, question and option are read from the kinds here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gisplatform.registry import LayerRegistry
from gisplatform.reports import load_report_kinds
from gisplatform.settings import PROJECT_ROOT
from tests.editor_browser_helpers import open_popup
from tests.live import platform_app
from tests.reports_helpers import counts, empty_reports, shelter_fid
from tests.webmap_helpers import chromium, live_server, new_page, screenshot, wait_ready

pytestmark = [pytest.mark.db, pytest.mark.slow]

#: the answer the form refuses on purpose (a missing required answer)
EXPECTED = ("status of 422",)


@pytest.fixture(scope="module")
def site(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with live_server(platform_app(demo_db_url, registry)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


def _page(browser: Any, locale: str) -> Any:
    return new_page(browser, locale=locale, watch_csp=True)


#: a screen point over an area of the hromada (district, boundary) with no point feature on it
FREE_SPOT = """() => {
  for (let y = 200; y < 800; y += 23) {
    for (let x = 200; x < 1000; x += 23) {
      const el = document.elementFromPoint(x, y);
      if (el && el.closest('.leaflet-gp-areas-pane')) return [x, y];
    }
  }
  throw new Error('no free spot inside the hromada');
}"""


def _clean(page: Any) -> None:
    """No script error and no CSP violation on the page."""
    violations = page.evaluate("() => window.__csp || []") + page.csp
    assert not violations, violations
    errors = [e for e in page.log.errors if not any(x in e for x in EXPECTED)]
    assert not errors, errors


def test_a_resident_reports_a_locked_shelter_from_its_popup_in_ukrainian(
    site: str, browser: Any, demo_db_url: str, registry: LayerRegistry
) -> None:
    empty_reports(demo_db_url)
    kinds = load_report_kinds(PROJECT_ROOT / "reports", registry)
    (kind,) = [k for k in kinds if k.layer is not None and k.marking_answers]
    question, follow_up = kind.questions[0], kind.questions[1]
    assert kind.layer is not None and follow_up.when is not None
    option = question.options[0]  # locked
    fid = shelter_fid(demo_db_url)
    page = _page(browser, "uk-UA")
    page.goto(f"{site}/?lang=uk")
    wait_ready(page)
    open_popup(page, kind.layer, fid)
    page.click(".gp-report-open")
    page.wait_for_selector("#gp-report-form")
    assert page.input_value("#gp-report-kind") == kind.code
    assert page.locator("#gp-report-kind option").count() == len(kinds.for_layer(kind.layer))
    legend = page.locator(f'fieldset[data-field="answer.{question.code}"] legend')
    assert legend.text_content() == f"{question.title.uk} *"
    follow = page.locator(f'fieldset[data-field="answer.{follow_up.code}"]')
    assert follow.is_hidden()
    page.check(f'input[name="answer.{question.code}"][value="{follow_up.when.equals}"]')
    assert follow.is_visible()  # the follow-up appears with its condition
    page.check(f'input[name="answer.{question.code}"][value="{option.code}"]')
    assert follow.is_hidden()
    text = "Двері <b>зачинені</b> о 21:40"
    page.fill('textarea[name="description"]', text)
    page.fill('input[name="contact"]', "+380501112233")
    screenshot(page, "report-form-uk.png")
    page.wait_for_timeout(3200)  # a person takes longer than the minimum fill time
    page.click("#gp-report-send")
    link = page.wait_for_selector("#gp-report-status-link", timeout=30_000)
    assert link is not None
    assert "прийнято" in (page.text_content("#gp-report") or "")
    status_url = link.get_attribute("href")
    assert status_url and "/reports/status/" in status_url
    screenshot(page, "report-sent-uk.png")
    _clean(page)

    page.goto(status_url)
    assert page.text_content("#report-status") == "Очікує перевірки"
    assert page.text_content("#report-description") == text  # shown as text, not markup
    assert "+380501112233" not in page.content()
    assert page.locator("#report-steps tbody tr").count() == 1
    assert option.title.uk in (page.text_content(".report-facts") or "")
    screenshot(page, "report-status-uk.png")
    with psycopg.connect(demo_db_url) as conn:
        row = conn.execute(
            "SELECT kind, layer, feature_id, answers FROM reports.requests"
        ).fetchone()
    assert row == (kind.code, kind.layer, str(fid), {question.code: option.code})
    page.context.close()


def test_a_report_from_a_point_shows_field_errors_in_english(
    site: str, browser: Any, demo_db_url: str
) -> None:
    empty_reports(demo_db_url)
    page = _page(browser, "en-GB")
    page.goto(f"{site}/?lang=en")
    wait_ready(page)
    page.click("#gp-report-here")
    x, y = page.evaluate(FREE_SPOT)
    page.mouse.click(x, y)
    page.wait_for_selector("#gp-report-form")
    kinds = page.locator("#gp-report-kind option")
    assert kinds.count() == 3
    page.select_option("#gp-report-kind", index=1)
    first = page.locator("fieldset.gp-report-question").first
    page.wait_for_timeout(3200)
    page.click("#gp-report-send")
    error = first.locator(".gp-field-error")
    error.wait_for(state="visible", timeout=30_000)
    assert (error.text_content() or "") == "answer the question 'What is wrong?'"
    assert counts(demo_db_url)["requests"] == 0
    screenshot(page, "report-form-en.png")
    first.locator("input").first.check()
    page.click("#gp-report-send")
    link = page.wait_for_selector("#gp-report-status-link", timeout=30_000)
    assert link is not None
    status_url = link.get_attribute("href")
    assert status_url and status_url.endswith("?lang=en")
    _clean(page)
    page.goto(status_url)
    assert page.text_content("#report-status") == "Awaiting moderation"
    screenshot(page, "report-status-en.png")
    assert counts(demo_db_url)["requests"] == 1
    page.context.close()
