"""Demo residents' reports for the Romny demo: invented, reproducible, marked as demo.

46 reports on demo shelters and street lights (and a few of no layer) over the last
ninety days, each with a plausible history of moderation (received → open → in progress →
resolved, or rejected, or a duplicate), so the public collection, the data-quality view and
the analyst notebook have something to show. Demo reports are marked ``is_demo`` (the
public collection says ``"demo": true`` of them, like of demo features) and have no contact,
no description and no photo (``--reset`` replaces them; a second load leaves them alone).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from psycopg import Connection, sql

from gisplatform.reports.kinds import ReportKind, ReportKinds

#: the client hash of every demo report (a real one is an HMAC of an address: never this)
DEMO_CLIENT = "demo"
DEMO_ACTOR = "demo"
SEED = 15
#: share of each final status among the demo reports; reports whose answers mark a feature
#: (a locked shelter) end resolved, rejected or duplicate, so the demo map shows no marks
STATUSES = (
    ("open", 0.25),
    ("in_progress", 0.15),
    ("resolved", 0.4),
    ("rejected", 0.05),
    ("duplicate", 0.05),
    ("unconfirmed", 0.1),
)
PER_LAYER = {"shelters": 18, "street_lights": 16}
WITHOUT_LAYER = 6
DAYS = 90


@dataclass(frozen=True)
class _Target:
    layer: str | None
    feature_id: str | None
    lon: float
    lat: float


def _answers(kind: ReportKind, rnd: random.Random) -> dict[str, Any]:
    """Answers to every question that applies (follow-ups only when their condition holds)."""
    answers: dict[str, Any] = {}
    for question in kind.questions:
        if (
            question.when is not None
            and answers.get(question.when.question) != question.when.equals
        ):
            continue
        codes = [o.code for o in question.options]
        if question.type == "multi_choice":
            answers[question.code] = rnd.sample(codes, k=min(len(codes), rnd.randint(1, 3)))
        elif question.type == "boolean":
            answers[question.code] = rnd.random() < 0.5
        elif codes:
            answers[question.code] = rnd.choice(codes)
    return answers


def _targets(conn: Connection[Any], schema: str, layer: str, n: int) -> list[_Target]:
    rows = conn.execute(
        sql.SQL(
            "SELECT fid, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
            " FROM {} WHERE is_demo ORDER BY fid LIMIT %s"
        ).format(sql.Identifier(schema, layer)),
        [n * 4],
    ).fetchall()
    return [_Target(layer, str(r[0]), float(r[1]), float(r[2])) for r in rows]


def _history(
    status: str, deadline: float, rnd: random.Random
) -> list[tuple[str | None, str, float, str | None]]:
    """(from, to, hours after the report, reason) of each step to ``status``; most reports
    are resolved within their kind's deadline, some late."""
    steps: list[tuple[str | None, str, float, str | None]] = [(None, "unconfirmed", 0.0, None)]
    if status == "unconfirmed":
        return steps
    at = rnd.uniform(0.05, 0.2) * deadline
    if status == "rejected":
        return [*steps, ("unconfirmed", "rejected", at, "Демо: повідомлення не підтвердилося")]
    if status == "duplicate":
        return [*steps, ("unconfirmed", "duplicate", at, None)]
    steps.append(("unconfirmed", "open", at, None))
    if status in ("in_progress", "resolved"):
        at += rnd.uniform(0.05, 0.3) * deadline
        steps.append(("open", "in_progress", at, None))
    if status == "resolved":
        at += rnd.uniform(0.1, 1.1) * deadline
        steps.append(("in_progress", "resolved", at, "Демо: усунено, перевірено на місці"))
    return steps


FINAL = (("resolved", 0.8), ("rejected", 0.1), ("duplicate", 0.1))


def _status(rnd: random.Random, marks: bool) -> str:
    pick, total = rnd.random(), 0.0
    for status, share in FINAL if marks else STATUSES:
        total += share
        if pick < total:
            return status
    return STATUSES[-1][0]


def load_demo_reports(
    conn: Connection[Any], kinds: ReportKinds, schema: str, reset: bool = False
) -> int:
    """Insert the demo reports (in the caller's transaction); how many were inserted."""
    present = conn.execute("SELECT count(*) FROM reports.requests WHERE is_demo").fetchone()
    if present and present[0] and not reset:
        return 0
    # a demo duplicate points at another demo report: the whole set goes at once
    conn.execute("DELETE FROM reports.requests WHERE is_demo")
    rnd = random.Random(SEED)
    plan: list[tuple[ReportKind, _Target]] = []
    anchors: list[_Target] = []
    for kind in kinds:
        if kind.layer is None or kind.layer not in PER_LAYER:
            continue
        targets = _targets(conn, schema, kind.layer, PER_LAYER[kind.layer])
        anchors += targets
        chosen = rnd.sample(targets, k=min(len(targets), PER_LAYER[kind.layer]))
        chosen += chosen[:3]  # three features reported twice: the repeated ones
        plan += [(kind, target) for target in chosen]
    for kind in kinds:
        if kind.layer is None and anchors:  # a point near a reported feature, in a settlement
            for _ in range(WITHOUT_LAYER):
                near = rnd.choice(anchors)
                lon = near.lon + rnd.uniform(-0.002, 0.002)
                plan.append((kind, _Target(None, None, lon, near.lat + rnd.uniform(-0.002, 0.002))))
    first_of: dict[tuple[str | None, str | None], int] = {}
    made = 0
    for number, (kind, target) in enumerate(plan):
        status = _status(rnd, bool(kind.marking_answers))
        key = (target.layer, target.feature_id)
        if status == "duplicate" and key not in first_of:
            status = "resolved"
        hours_ago = rnd.uniform(2, DAYS * 24)
        steps = _history(status, kind.deadline_hours, rnd)
        token = hashlib.sha256(f"demo-report-{SEED}-{number}".encode()).hexdigest()
        row = conn.execute(
            "INSERT INTO reports.requests (token, kind, layer, feature_id, geom, answers,"
            " client_hash, source, status, status_reason, duplicate_of, created_at, updated_at,"
            " deadline_at, is_demo)"
            " VALUES (%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s::jsonb, %s,"
            " 'web', %s, %s, %s, now() - %s, now() - %s, now() - %s + %s, true) RETURNING id",
            [
                token,
                kind.code,
                target.layer,
                target.feature_id,
                target.lon,
                target.lat,
                orjson.dumps(_answers(kind, rnd)).decode(),
                DEMO_CLIENT,
                status,
                steps[-1][3],
                first_of.get(key) if status == "duplicate" else None,
                timedelta(hours=hours_ago),
                timedelta(hours=max(hours_ago - steps[-1][2], 0)),
                timedelta(hours=hours_ago),
                timedelta(hours=kind.deadline_hours),
            ],
        ).fetchone()
        assert row is not None
        first_of.setdefault(key, int(row[0]))
        for before, after, hours, reason in steps:
            conn.execute(
                "INSERT INTO reports.transitions (request_id, from_status, to_status, actor,"
                " reason, at) VALUES (%s, %s, %s, %s, %s, now() - %s)",
                [
                    row[0],
                    before,
                    after,
                    "resident" if before is None else DEMO_ACTOR,
                    reason,
                    timedelta(hours=max(hours_ago - hours, 0)),
                ],
            )
        made += 1
    return made
