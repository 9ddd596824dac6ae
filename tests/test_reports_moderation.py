"""Moderation of residents' reports over HTTP: who sees what, transitions, duplicates, overdue.

Kinds, layers and roles come from ``reports/*.yaml`` and the registry: the *marking* kind is
the one whose answers mark a feature (a shelter), the *other* kind one with another handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import psycopg
import pytest

from gisplatform.registry import LayerRegistry
from gisplatform.reports import ReportKind, ReportKinds, load_report_kinds
from gisplatform.settings import PROJECT_ROOT
from tests.edit_helpers import PASSWORD, EditSite
from tests.reports_helpers import empty_reports, jpeg_with_gps
from tests.reports_moderation_helpers import (
    answer_marking,
    feature_point,
    features_of,
    reports_site,
    shift_created,
    steps_of,
    submit,
)

pytestmark = [pytest.mark.db]
QUEUE = "/reports/moderation"


@pytest.fixture(scope="module")
def kinds(registry: LayerRegistry) -> ReportKinds:
    return load_report_kinds(PROJECT_ROOT / "reports", registry)


@pytest.fixture(scope="module")
def marking(kinds: ReportKinds) -> ReportKind:
    return next(k for k in kinds if k.layer and k.marking_answers)


@pytest.fixture(scope="module")
def other(kinds: ReportKinds, marking: ReportKind) -> ReportKind:
    return next(k for k in kinds if k.layer and k.handler_role != marking.handler_role)


@pytest.fixture(scope="module")
def site(server_url: str, registry: LayerRegistry) -> Iterator[EditSite]:
    with reports_site(server_url, registry, "gisplatform_reports_moderation") as running:
        yield running


@pytest.fixture
def fresh(site: EditSite) -> EditSite:
    empty_reports(site.db_url)
    return site


def _get(site: EditSite, role: str | None, path: str, **kw: object) -> httpx.Response:
    headers = site.headers(role) if role else {}
    return httpx.get(site.url + path, headers=headers, timeout=60, **kw)  # type: ignore[arg-type]


def _move(site: EditSite, role: str, ident: int, status: str, **body: object) -> httpx.Response:
    return httpx.post(
        f"{site.url}{QUEUE}/{ident}/transition",
        json={"status": status, **body},
        headers=site.headers(role),
        timeout=60,
    )


def test_anonymous_and_staff_who_handle_nothing_are_refused(
    fresh: EditSite, marking: ReportKind, kinds: ReportKinds
) -> None:
    fid = features_of(fresh, marking.layer)[0]
    ident, _ = submit(fresh, marking, fid, answer_marking(marking))
    anonymous = httpx.get(fresh.url + QUEUE, timeout=60)
    assert anonymous.status_code == 401
    assert (
        "увійдіть"
        in httpx.get(fresh.url + QUEUE, headers={"Accept-Language": "uk"}, timeout=60).json()[
            "description"
        ]
    )
    posted = httpx.post(
        f"{fresh.url}{QUEUE}/{ident}/transition", json={"status": "open"}, timeout=60
    )
    assert posted.status_code == 401
    handlers = {k.handler_role for k in kinds}
    idle = [r for r in fresh.logins if r not in handlers and r != "admin"]
    assert "staff" in idle
    for role in idle:
        answer = _get(fresh, role, QUEUE)
        assert answer.status_code == 403, role
        assert "не опрацьовують" in answer.json()["description"]
    assert steps_of(fresh, ident) == [(None, "unconfirmed", "resident", None)]


def test_each_handler_sees_and_moves_only_its_kinds(
    fresh: EditSite, marking: ReportKind, other: ReportKind
) -> None:
    fid = features_of(fresh, marking.layer)[0]
    mine, _ = submit(fresh, marking, fid, answer_marking(marking), contact="+380 50 000 00 01")
    theirs, _ = submit(fresh, other, features_of(fresh, other.layer)[0], {})
    queue = _get(fresh, marking.handler_role, QUEUE).json()
    assert [r["id"] for r in queue["reports"]] == [mine]
    assert queue["reports"][0]["contact"] == "+380 50 000 00 01"
    assert queue["kinds"] == [marking.code]
    # the other handler: the report does not exist for them, and they cannot move it
    other_queue = _get(fresh, other.handler_role, QUEUE).json()
    assert [r["id"] for r in other_queue["reports"]] == [theirs]
    assert _get(fresh, other.handler_role, f"{QUEUE}/{mine}").status_code == 404
    refused = _move(fresh, other.handler_role, mine, "open")
    assert refused.status_code == 404
    assert steps_of(fresh, mine) == [(None, "unconfirmed", "resident", None)]
    # admin handles every kind
    everything = {r["id"] for r in _get(fresh, "admin", QUEUE).json()["reports"]}
    assert everything == {mine, theirs}


def test_every_transition_is_recorded_with_who_and_why(
    fresh: EditSite, marking: ReportKind
) -> None:
    role = marking.handler_role
    login = fresh.logins[role]
    fid = features_of(fresh, marking.layer)[0]
    ident, _ = submit(fresh, marking, fid, answer_marking(marking))
    assert _move(fresh, role, ident, "open", reason="checked by phone").json()["status"] == "open"
    assert _move(fresh, role, ident, "in_progress").json()["next"] == ["resolved", "open"]
    resolved = _move(fresh, role, ident, "resolved", reason="opened by the caretaker").json()
    assert (
        resolved["status"] == "resolved" and resolved["status_reason"] == "opened by the caretaker"
    )
    assert _move(fresh, role, ident, "open", reason="locked again").json()["status"] == "open"
    assert steps_of(fresh, ident) == [
        (None, "unconfirmed", "resident", None),
        ("unconfirmed", "open", login, "checked by phone"),
        ("open", "in_progress", login, None),
        ("in_progress", "resolved", login, "opened by the caretaker"),
        ("resolved", "open", login, "locked again"),
    ]
    detail = _get(fresh, role, f"{QUEUE}/{ident}").json()
    assert [(s["to"], s["actor"]) for s in detail["steps"]][-1] == ("open", login)
    # refused steps say why in the caller's language, naming the parameter; nothing stored
    bad = _move(fresh, role, ident, "unconfirmed")
    assert bad.status_code == 400 and "status" in bad.json()["description"]
    unknown = _move(fresh, role, ident, "closed")
    assert unknown.status_code == 400 and "closed" in unknown.json()["description"]
    no_reason = httpx.post(
        f"{fresh.url}{QUEUE}/{ident}/transition",
        json={"status": "rejected", "reason": "  "},
        headers={**fresh.headers(role), "Accept-Language": "uk"},
        timeout=60,
    )
    assert no_reason.status_code == 400
    assert "причину" in no_reason.json()["description"]
    assert len(steps_of(fresh, ident)) == 5
    rejected = _move(fresh, role, ident, "rejected", reason="not a shelter of the fund").json()
    assert rejected["status"] == "rejected" and rejected["next"] == []
    assert steps_of(fresh, ident)[-1] == ("open", "rejected", login, "not a shelter of the fund")


def test_two_reports_on_one_feature_within_an_hour_are_proposed_as_duplicates(
    fresh: EditSite, marking: ReportKind, other: ReportKind
) -> None:
    role = marking.handler_role
    fids = features_of(fresh, marking.layer)
    first, _ = submit(fresh, marking, fids[0], answer_marking(marking))
    second, _ = submit(fresh, marking, fids[0], answer_marking(marking))
    far, _ = submit(fresh, marking, fids[-1], answer_marking(marking))
    old, _ = submit(fresh, marking, fids[0], answer_marking(marking))
    shift_created(fresh, first, timedelta(minutes=-50))
    shift_created(fresh, old, timedelta(hours=-30))
    lon, lat = feature_point(fresh, marking.layer, fids[0])
    near, _ = submit(fresh, marking, None, answer_marking(marking), where=(lon + 0.0003, lat))
    suggested = _get(fresh, role, f"{QUEUE}/{second}/duplicates").json()["duplicates"]
    ids = [d["id"] for d in suggested]
    assert ids[0] == first and suggested[0]["same_feature"] is True
    assert near in ids  # ~21 m away, no feature named
    assert far not in ids and old not in ids  # another shelter; more than a day apart
    # marking it as a duplicate links it; the original stays
    made = _move(fresh, role, second, "duplicate", duplicate_of=first).json()
    assert made["status"] == "duplicate" and made["duplicate_of"] == first
    assert _get(fresh, role, f"{QUEUE}/{first}").json()["status"] == "unconfirmed"
    # a duplicate needs an original of the same kind the moderator handles
    foreign, _ = submit(fresh, other, features_of(fresh, other.layer)[0], {})
    refused = _move(fresh, role, far, "duplicate", duplicate_of=foreign)
    assert refused.status_code == 400 and "duplicate_of" in refused.json()["description"]
    assert _move(fresh, role, far, "duplicate").status_code == 400
    assert _move(fresh, role, far, "duplicate", duplicate_of=far).status_code == 400


def test_queue_puts_overdue_first_then_newest_and_highlights_them(
    fresh: EditSite, marking: ReportKind
) -> None:
    role = marking.handler_role
    fids = features_of(fresh, marking.layer)
    late, _ = submit(fresh, marking, fids[0], answer_marking(marking))
    later, _ = submit(fresh, marking, fids[1], answer_marking(marking))
    new, _ = submit(fresh, marking, fids[2], answer_marking(marking))
    newest, _ = submit(fresh, marking, fids[3], answer_marking(marking))
    shift_created(fresh, late, timedelta(hours=-(marking.deadline_hours + 5)))
    shift_created(fresh, later, timedelta(hours=-(marking.deadline_hours + 1)))
    shift_created(fresh, new, timedelta(minutes=-5))
    queue = _get(fresh, role, QUEUE).json()["reports"]
    assert [r["id"] for r in queue] == [late, later, newest, new]
    assert [r["overdue"] for r in queue] == [True, True, False, False]
    # a resolved report is no longer waiting, so no longer overdue nor listed by default
    _move(fresh, role, late, "open")
    _move(fresh, role, late, "resolved")
    assert [r["id"] for r in _get(fresh, role, QUEUE).json()["reports"]] == [later, newest, new]
    everything = _get(fresh, role, QUEUE, params={"status": "all"}).json()["reports"]
    assert {r["id"]: r["overdue"] for r in everything}[late] is False
    page = _get(fresh, role, QUEUE, params={"f": "html", "lang": "uk"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    rows = re.findall(r'<tr class="([^"]*)" data-id="(\d+)"', page.text)
    assert [(int(i), "overdue" in c) for c, i in rows] == [
        (later, True),
        (newest, False),
        (new, False),
    ]
    assert "прострочено" in page.text
    english = _get(fresh, role, QUEUE, params={"f": "html", "lang": "en"}).text
    assert "overdue" in english and "Residents&#39; reports" in english
    bad = _get(fresh, role, QUEUE, params={"status": "lost"})
    assert bad.status_code == 400 and "status" in bad.json()["description"]


@contextmanager
def _session(site: EditSite, role: str) -> Iterator[httpx.Client]:
    """A client signed in with the map's form: its session cookie, no Authorization."""
    with httpx.Client(base_url=site.url, timeout=60) as client:
        signed = client.post("/signin", json={"login": site.logins[role], "password": PASSWORD})
        assert signed.status_code == 200
        yield client


def test_page_forms_need_the_session_csrf_token(fresh: EditSite, marking: ReportKind) -> None:
    role = marking.handler_role
    ident, _ = submit(fresh, marking, features_of(fresh, marking.layer)[0], answer_marking(marking))
    with _session(fresh, role) as browser:
        page = browser.get(f"{QUEUE}/{ident}", params={"f": "html", "lang": "uk"})
        assert page.status_code == 200
        assert "Підтвердити" in page.text and "Історія стану" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"status": "open", "reason": "перевірено"}
        forged = browser.post(f"{QUEUE}/{ident}/transition", data=form)
        assert forged.status_code == 403
        other_site = browser.post(
            f"{QUEUE}/{ident}/transition",
            data={**form, "csrf_token": token.group(1)},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert other_site.status_code == 403
        assert [s[1] for s in steps_of(fresh, ident)] == ["unconfirmed"]
        done = browser.post(
            f"{QUEUE}/{ident}/transition", data={**form, "csrf_token": token.group(1)}
        )
        assert done.status_code == 303
        assert [s[1] for s in steps_of(fresh, ident)] == ["unconfirmed", "open"]
        # a refused step shows the page again with the message
        again = browser.post(
            f"{QUEUE}/{ident}/transition?lang=uk",
            data={"status": "rejected", "reason": "", "csrf_token": token.group(1)},
        )
        assert again.status_code == 400 and "причину" in again.text
        assert [s[1] for s in steps_of(fresh, ident)] == ["unconfirmed", "open"]
    # an escaped description: what a resident wrote is never markup on the page
    fid = features_of(fresh, marking.layer)[1]
    script, _ = submit(fresh, marking, fid, answer_marking(marking), description="<script>x()</s>")
    shown = _get(fresh, role, f"{QUEUE}/{script}", params={"f": "html"}).text
    assert "<script>x()" not in shown and "&lt;script&gt;x()&lt;/s&gt;" in shown


def test_database_refuses_a_step_the_api_would_not_make(
    fresh: EditSite, marking: ReportKind
) -> None:
    """The triggers stand behind the API: a handler role cannot skip a state in SQL either."""
    ident, _ = submit(fresh, marking, features_of(fresh, marking.layer)[0], answer_marking(marking))
    with psycopg.connect(fresh.db_url) as conn, pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("SELECT reports.transition(%s, 'resolved', NULL, NULL)", [ident])


def test_the_photo_reaches_its_handlers_only(
    fresh: EditSite, marking: ReportKind, other: ReportKind
) -> None:
    ident, _ = submit(fresh, marking, features_of(fresh, marking.layer)[0], answer_marking(marking))
    picture = jpeg_with_gps()
    with psycopg.connect(fresh.db_url) as conn:
        conn.execute(
            "INSERT INTO reports.photos VALUES (%s, %s, 'image/jpeg', 40, 20)", [ident, picture]
        )
    shown = _get(fresh, marking.handler_role, f"{QUEUE}/{ident}/photo")
    assert shown.status_code == 200 and shown.content == picture
    assert shown.headers["content-type"] == "image/jpeg"
    assert shown.headers["cache-control"] == "no-store"
    page = _get(fresh, marking.handler_role, f"{QUEUE}/{ident}", params={"f": "html"}).text
    assert f'src="{QUEUE}/{ident}/photo"' in page
    assert _get(fresh, other.handler_role, f"{QUEUE}/{ident}/photo").status_code == 404
    assert httpx.get(f"{fresh.url}{QUEUE}/{ident}/photo", timeout=60).status_code == 401
