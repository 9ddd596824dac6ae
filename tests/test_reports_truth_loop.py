"""The truth loop over HTTP: a moderated report marks its feature in the Features output and
ranks it last in nearest-shelter; an inspection edit (the layer's check date) clears it.

The marking kind, its layer, answer and handler, and the inspection's field (the layer's
``temporal_field``) come from ``reports/*.yaml`` and the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from gisplatform.registry import LayerRegistry
from gisplatform.reports import ReportKind, ReportKinds, load_report_kinds
from gisplatform.reports.marks import INSPECTION_REASON, MARK_PROPERTY
from gisplatform.settings import PROJECT_ROOT
from tests.edit_helpers import MERGE_PATCH, EditSite
from tests.reports_helpers import empty_reports
from tests.reports_moderation_helpers import (
    answer_marking,
    feature_point,
    reports_site,
    steps_of,
    submit,
)

pytestmark = [pytest.mark.db]
QUEUE = "/reports/moderation"
NEAREST = "/ogc/processes/nearest-shelter/execution"


@pytest.fixture(scope="module")
def kinds(registry: LayerRegistry) -> ReportKinds:
    return load_report_kinds(PROJECT_ROOT / "reports", registry)


@pytest.fixture(scope="module")
def marking(kinds: ReportKinds) -> ReportKind:
    return next(k for k in kinds if k.layer and k.marking_answers)


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with reports_site(server_url, registry, "gisplatform_reports_truth") as running:
        yield running


@pytest.fixture
def fresh(site: EditSite) -> EditSite:
    empty_reports(site.db_url)
    return site


def _items(site: EditSite, layer: str) -> dict[int, dict[str, Any]]:
    answer = httpx.get(
        f"{site.url}/ogc/collections/{layer}/items",
        params={"f": "json", "limit": 10000},
        timeout=60,
    )
    assert answer.status_code == 200
    return {int(f["id"]): f["properties"] for f in answer.json()["features"]}


def _open(site: EditSite, kind: ReportKind, ident: int) -> None:
    moved = httpx.post(
        f"{site.url}{QUEUE}/{ident}/transition",
        json={"status": "open"},
        headers=site.headers(kind.handler_role),
        timeout=60,
    )
    assert moved.status_code == 200, moved.text


def _nearest(site: EditSite, origin: tuple[float, float], limit: int = 3) -> list[dict[str, Any]]:
    inputs = {"origin": {"lon": origin[0], "lat": origin[1]}, "limit": limit}
    answer = httpx.post(site.url + NEAREST, json={"inputs": inputs}, timeout=120)
    assert answer.status_code == 200, answer.text
    shelters: list[dict[str, Any]] = answer.json()["shelters"]
    return shelters


def _ready_shelter(site: EditSite, layer: str) -> int:
    """A shelter the nearest-shelter tool would offer (ready), the first by fid."""
    query = sql.SQL("SELECT min(fid) FROM {} WHERE readiness = 'ready'").format(
        sql.Identifier("gis", layer)
    )
    with psycopg.connect(site.db_url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def test_only_a_moderated_open_report_marks_its_feature_in_the_features_output(
    fresh: EditSite, marking: ReportKind, kinds: ReportKinds
) -> None:
    assert marking.layer is not None
    fid = _ready_shelter(fresh, marking.layer)
    answers = answer_marking(marking)
    question, code = next(iter(answers.items()))
    ident, _ = submit(fresh, marking, fid, answers, contact="+380 67 000 00 02")
    before = _items(fresh, marking.layer)
    assert before[fid][MARK_PROPERTY] is None  # unconfirmed: not yet a public mark
    _open(fresh, marking, ident)
    after = _items(fresh, marking.layer)
    mark = after[fid][MARK_PROPERTY]
    option = next(q for q in marking.questions if q.code == question).option(code)
    assert option is not None
    assert mark["kind"] == marking.code and mark["answer"] == code and mark["request"] == ident
    assert mark["answer_title"] == {"uk": option.title.uk, "en": option.title.en}
    assert mark["at"][:10] == date.today().isoformat()
    assert [f for f, p in after.items() if p[MARK_PROPERTY]] == [fid]
    assert "+380 67" not in str(after[fid])  # the contact is never public
    one = httpx.get(f"{fresh.url}/ogc/collections/{marking.layer}/items/{fid}?f=json", timeout=60)
    assert one.json()["properties"][MARK_PROPERTY]["answer"] == code
    page = httpx.get(
        f"{fresh.url}/ogc/collections/{marking.layer}/items/{fid}?f=html&lang=uk", timeout=60
    ).text
    title = option.title.uk
    assert f"⚠ є повідомлення: {title[0].lower()}{title[1:]}, " in page
    # a layer no marking kind points at has no such property
    other = next(k.layer for k in kinds if k.layer and k.layer != marking.layer)
    assert all(MARK_PROPERTY not in p for p in _items(fresh, other).values())


def test_nearest_shelter_ranks_a_marked_shelter_after_the_others(
    fresh: EditSite, marking: ReportKind
) -> None:
    assert marking.layer is not None
    fid = _ready_shelter(fresh, marking.layer)
    origin = feature_point(fresh, marking.layer, fid)
    plain = _nearest(fresh, origin)
    assert plain[0]["fid"] == fid and plain[0]["report_mark"] is None
    ident, _ = submit(fresh, marking, fid, answer_marking(marking))
    _open(fresh, marking, ident)
    ranked = _nearest(fresh, origin)
    assert [s["fid"] for s in ranked[:-1]] == [s["fid"] for s in _unmarked(ranked)]
    assert ranked[-1]["fid"] == fid and ranked[-1]["report_mark"]["request"] == ident
    walks = [s["walk_m"] for s in ranked[:-1]]
    assert walks == sorted(walks) and len(walks) == 3
    warning = ranked[-1]["warning"]
    assert warning["uk"].startswith("є повідомлення: ") and warning["en"].startswith("reported: ")


def _unmarked(routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in routes if s["report_mark"] is None]


def _patch(site: EditSite, role: str, layer: str, fid: int, props: dict[str, Any]) -> None:
    answer = httpx.patch(
        f"{site.url}/ogc/collections/{layer}/items/{fid}",
        json={"properties": props},
        headers={**site.headers(role), "Content-Type": MERGE_PATCH},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text


def test_an_inspection_edit_resolves_the_report_and_clears_the_mark(
    fresh: EditSite, marking: ReportKind, registry: LayerRegistry
) -> None:
    assert marking.layer is not None
    spec = registry.get(marking.layer)
    checked = spec.temporal_field
    assert checked is not None
    role = marking.handler_role
    fid = _ready_shelter(fresh, marking.layer)
    ident, _ = submit(fresh, marking, fid, answer_marking(marking))
    _open(fresh, marking, ident)
    label = spec.style.label_field
    assert label is not None
    # an edit that records no check, or a check older than the report, is no inspection
    _patch(fresh, role, marking.layer, fid, {label: "Укриття після ремонту"})
    _patch(fresh, role, marking.layer, fid, {checked: "2020-01-01"})
    assert _items(fresh, marking.layer)[fid][MARK_PROPERTY] is not None
    assert [s[1] for s in steps_of(fresh, ident)] == ["unconfirmed", "open"]
    _patch(fresh, role, marking.layer, fid, {checked: date.today().isoformat()})
    assert steps_of(fresh, ident)[-1] == ("open", "resolved", fresh.logins[role], INSPECTION_REASON)
    assert _items(fresh, marking.layer)[fid][MARK_PROPERTY] is None
    assert _nearest(fresh, feature_point(fresh, marking.layer, fid))[0]["fid"] == fid
