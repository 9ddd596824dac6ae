"""Submitting a resident's report: one service for the web form and Open311 POST.

:func:`submit_report` checks everything first — the kind, the answers against its questions
(required, options, follow-ups), the place (a point inside the hromada, or a feature of the
kind's layer that the public may see, whose geometry then gives the point), the lengths,
the photo — and stores the report, its first transition and its photo in one transaction
through ``reports.submit`` (which also applies the per-address rate limit). On any error
nothing is stored. Problems name the field as the caller's form or protocol calls it.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from psycopg import AsyncConnection, sql
from psycopg.types.json import Jsonb

from gisplatform.errors import ReportInvalid, TooManyReports
from gisplatform.i18n import Text, message
from gisplatform.registry import LayerRegistry
from gisplatform.reports.kinds import QuestionSpec, ReportKind, ReportKinds
from gisplatform.reports.photo import Photo
from gisplatform.settings import ReportSettings
from gisplatform.store.audiences import PUBLIC_SCHEMA

Answer = str | list[str] | bool
_TRUE = frozenset({"true", "yes", "1", "on", "так"})
_FALSE = frozenset({"false", "no", "0", "off", "ні"})


@dataclass(frozen=True)
class FieldNames:
    """How the caller names the fields (web form or Open311)."""

    kind: str = "kind"
    lat: str = "lat"
    lon: str = "lon"
    layer: str = "layer"
    feature_id: str = "feature_id"
    answer: Callable[[str], str] = field(default=lambda code: f"answer.{code}")


WEB = FieldNames()
OPEN311 = FieldNames(
    kind="service_code",
    lon="long",
    answer=lambda code: f"attribute[{code}]",
)


@dataclass(frozen=True)
class Submission:
    """A report as received, not yet checked (every value a string as sent)."""

    kind: str
    source: Literal["web", "open311"]
    lat: str | None = None
    lon: str | None = None
    layer: str | None = None
    feature_id: str | None = None
    answers: dict[str, list[str]] = field(default_factory=dict)
    description: str = ""
    contact: str = ""
    photo: Photo | None = None


@dataclass(frozen=True)
class Stored:
    """A stored report: its number and the reporter's secret status token."""

    id: int
    token: str
    kind: ReportKind


def token_hash(token: str) -> str:
    """What ``reports.requests.token`` keeps of a status token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def find_kind(kinds: ReportKinds, code: str, names: FieldNames) -> ReportKind:
    """The kind ``code``; a 422 naming the kind field otherwise."""
    kind = kinds.get(code)
    if kind is None:
        known = ", ".join(k.code for k in kinds)
        raise ReportInvalid([(names.kind, message("report_unknown_kind", kind=code, known=known))])
    return kind


def _one_answer(question: QuestionSpec, values: list[str]) -> Answer | Text:
    if question.type == "boolean":
        if len(values) != 1 or values[0].strip().lower() not in _TRUE | _FALSE:
            return message("report_not_boolean")
        return values[0].strip().lower() in _TRUE
    known = ", ".join(o.code for o in question.options)
    for value in values:
        if question.option(value) is None:
            return message("report_unknown_option", given=value, known=known)
    if question.type == "choice":
        return values[0] if len(values) == 1 else message("report_one_option")
    return list(dict.fromkeys(values))


def check_answers(
    kind: ReportKind, raw: dict[str, list[str]], names: FieldNames
) -> tuple[dict[str, Answer], list[tuple[str, Text]]]:
    """The answers by question code, and a problem per field that is wrong."""
    answers: dict[str, Answer] = {}
    problems: list[tuple[str, Text]] = []
    given = {code: [v for v in values if v != ""] for code, values in raw.items()}
    for code in given:
        if kind.question(code) is None:
            problems.append(
                (names.answer(code), message("report_unknown_question", kind=kind.code))
            )
    for question in kind.questions:
        values = given.get(question.code, [])
        asked = question.when is None or answers.get(question.when.question) == question.when.equals
        if not asked:
            if values:
                assert question.when is not None
                why = message(
                    "report_not_asked", question=question.when.question, equals=question.when.equals
                )
                problems.append((names.answer(question.code), why))
            continue
        if not values:
            if question.required:
                title = Text(question.title.uk, question.title.en)
                why = message("report_required_answer", question=title)
                problems.append((names.answer(question.code), why))
            continue
        answer = _one_answer(question, values)
        if isinstance(answer, Text):
            problems.append((names.answer(question.code), answer))
        else:
            answers[question.code] = answer
    return answers, problems


def _degrees(text: str | None, low: float, high: float) -> float | None:
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


async def _feature_point(
    conn: AsyncConnection[Any], layer: str, fid: str
) -> tuple[float, float] | None:
    """A point of the feature as the public sees it (its layer's public view), or None."""
    if not fid.strip().isdigit():
        return None
    query = sql.SQL(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM {} "
        "WHERE fid = %s) AS f"
    ).format(sql.Identifier(PUBLIC_SCHEMA, layer))
    row = await (await conn.execute(query, [int(fid)])).fetchone()
    return (float(row[0]), float(row[1])) if row and row[0] is not None else None


async def inside_hromada(
    conn: AsyncConnection[Any], registry: LayerRegistry, lon: float, lat: float
) -> bool:
    """Whether the point lies in the hromada: its boundary layer, else the profile's extent."""
    hromada = registry.hromada
    if hromada.boundary_layer in registry:
        query = sql.SQL(
            "SELECT count(*), coalesce(bool_or(ST_Intersects(geom, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))), false) FROM {}"
        ).format(sql.Identifier(PUBLIC_SCHEMA, hromada.boundary_layer))
        row = await (await conn.execute(query, [lon, lat])).fetchone()
        if row is not None and row[0]:
            return bool(row[1])
    west, south, east, north = hromada.extent
    return west <= lon <= east and south <= lat <= north


async def _location(
    conn: AsyncConnection[Any],
    registry: LayerRegistry,
    kind: ReportKind,
    report: Submission,
    names: FieldNames,
) -> tuple[tuple[float, float] | None, str | None, list[tuple[str, Text]]]:
    """The report's point and layer, or the problems with them."""
    if report.feature_id and report.feature_id.strip():
        layer = (report.layer or "").strip() or kind.layer
        if kind.layer is None:
            return None, None, [(names.layer, message("report_no_layer", kind=kind.code))]
        if layer != kind.layer:
            why = message("report_wrong_layer", kind=kind.code, wanted=kind.layer, given=layer)
            return None, None, [(names.layer, why)]
        point = await _feature_point(conn, kind.layer, report.feature_id)
        if point is None:
            why = message("report_unknown_feature", layer=kind.layer, fid=report.feature_id)
            return None, None, [(names.feature_id, why)]
        return point, kind.layer, []
    if not (report.lat or "").strip() and not (report.lon or "").strip():
        return None, None, [(names.lat, message("report_location_required"))]
    lat = _degrees(report.lat, -90, 90)
    lon = _degrees(report.lon, -180, 180)
    problems = [
        (name, message("report_not_number"))
        for name, value in ((names.lat, lat), (names.lon, lon))
        if value is None
    ]
    if lat is None or lon is None:
        return None, None, problems
    if not await inside_hromada(conn, registry, lon, lat):
        why = message("report_outside_hromada", lon=f"{lon:.6f}", lat=f"{lat:.6f}")
        return None, None, [(f"{names.lat}/{names.lon}", why)]
    return (lon, lat), None, []


def _lengths(report: Submission, limits: ReportSettings) -> list[tuple[str, Text]]:
    problems = []
    if len(report.description.strip()) > limits.max_description:
        problems.append(("description", message("report_too_long", limit=limits.max_description)))
    if len(report.contact.strip()) > limits.max_contact:
        problems.append(("contact", message("report_too_long", limit=limits.max_contact)))
    return problems


async def submit_report(
    conn: AsyncConnection[Any],
    registry: LayerRegistry,
    kinds: ReportKinds,
    report: Submission,
    client: str,
    limits: ReportSettings,
    names: FieldNames = WEB,
) -> Stored:
    """Check ``report`` and store it whole (one transaction), or raise and store nothing.

    ``client`` is the HMAC of the sender's address (:func:`gisplatform.reports.guard.
    client_hash`). Raises :class:`ReportInvalid` (422) naming each wrong field and
    :class:`TooManyReports` (429) past the rate limit.
    """
    kind = find_kind(kinds, report.kind.strip(), names)
    answers, problems = check_answers(kind, report.answers, names)
    problems += _lengths(report, limits)
    async with conn.transaction():
        point, layer, where = await _location(conn, registry, kind, report, names)
        problems += where
        if problems or point is None:
            raise ReportInvalid(problems)
        token = secrets.token_urlsafe(24)
        photo = report.photo
        cursor = await conn.execute(
            "SELECT request_id, retry_after FROM reports.submit(%s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                token_hash(token), kind.code, layer,
                report.feature_id.strip() if layer and report.feature_id else None,
                point[0], point[1], Jsonb(answers), report.description.strip(),
                report.contact.strip() or None, client, report.source,
                limits.rate_limit, limits.rate_window_s,
                photo.content if photo else None, photo.media_type if photo else None,
                photo.width if photo else None, photo.height if photo else None,
            ],
        )  # fmt: skip
        row = await cursor.fetchone()
    assert row is not None
    if row[0] is None:
        raise TooManyReports(int(row[1]))
    return Stored(int(row[0]), token, kind)
