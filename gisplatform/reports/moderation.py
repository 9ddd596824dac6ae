"""Moderation of residents' reports: the queue, one report with its steps, transitions, duplicates.

Every query runs in one transaction on the primary as the moderator's *handler role*
(:func:`gisplatform.reports.store.handler_db_role`): the row-level security of
``reports.requests`` shows exactly the kinds the signed-in person's roles handle, so the
queue needs no filter of its own and a report of another kind does not exist for them (404).
A state change goes through ``reports.transition`` (its triggers check the allowed steps,
a rejection's reason and a duplicate's link, and record the step), with the signed-in login
as the actor (``gisplatform.actor``, set here by the server, never from the request).

Queue order: overdue reports first (the most overdue on top), then the newest. A report is
overdue when it is still waiting (``unconfirmed``, ``open``, ``in_progress``) after its
``deadline_at`` (its kind's ``deadline_hours`` after it came).

Duplicates suggested for a report: the other reports of the same kind, not rejected or
duplicates themselves, sent within :data:`DUPLICATE_WINDOW_H` hours of it, about the same
feature or within :data:`DUPLICATE_DISTANCE_M` metres; the same feature first, then the nearest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from fastapi import Request
from psycopg import AsyncConnection, sql

from gisplatform.errors import Forbidden, InvalidParameter, ReportNotFound, SignInRequired
from gisplatform.i18n import message
from gisplatform.registry import Audience, LayerRegistry
from gisplatform.reports.kinds import ReportKinds
from gisplatform.reports.store import REPORTS_SCHEMA, handled_kinds, handler_db_role

#: every state of a report, in the order of its life
STATUSES = ("unconfirmed", "open", "in_progress", "resolved", "duplicate", "rejected")
#: states still waiting for the city (the queue's default; overdue after the deadline)
WAITING = ("unconfirmed", "open", "in_progress")
#: where each state may go (``reports.transition``'s triggers enforce the same)
NEXT: dict[str, tuple[str, ...]] = {
    "unconfirmed": ("open", "duplicate", "rejected"),
    "open": ("in_progress", "resolved", "duplicate", "rejected"),
    "in_progress": ("resolved", "open"),
    "resolved": ("open",),
    "duplicate": (),
    "rejected": (),
}
DUPLICATE_DISTANCE_M = 50
DUPLICATE_WINDOW_H = 24
MAX_REASON = 2000
QUEUE_LIMIT = 200

_R = sql.Identifier(REPORTS_SCHEMA, "requests")
_T = sql.Identifier(REPORTS_SCHEMA, "transitions")
_P = sql.Identifier(REPORTS_SCHEMA, "photos")
_COLUMNS = sql.SQL(
    "r.id, r.kind, r.layer, r.feature_id, ST_X(r.geom), ST_Y(r.geom), r.answers, "
    "r.description, r.contact, r.source, r.status, r.status_reason, r.duplicate_of, "
    "r.created_at, r.updated_at, r.deadline_at, "
    "(r.status = ANY(%(waiting)s) AND r.deadline_at < now()) AS overdue, "
    "EXISTS (SELECT FROM {p} AS p WHERE p.request_id = r.id) AS has_photo"
).format(p=_P)
_QUEUE = sql.SQL(
    "SELECT {columns} FROM {r} AS r WHERE r.status = ANY(%(statuses)s) "
    "ORDER BY overdue DESC, CASE WHEN r.status = ANY(%(waiting)s) AND r.deadline_at < now() "
    "THEN r.deadline_at END ASC, r.created_at DESC, r.id DESC LIMIT %(limit)s"
).format(columns=_COLUMNS, r=_R)
_ONE = sql.SQL("SELECT {columns} FROM {r} AS r WHERE r.id = %(id)s").format(columns=_COLUMNS, r=_R)
_STEPS = sql.SQL(
    "SELECT t.from_status, t.to_status, t.actor, t.reason, t.at FROM {t} AS t "
    "WHERE t.request_id = %s ORDER BY t.id"
).format(t=_T)
_DUPLICATES = sql.SQL(
    "SELECT o.id, o.status, o.created_at, o.feature_id, "
    "round(ST_Distance(o.geom::geography, r.geom::geography)::numeric, 1)::float8 AS distance_m, "
    "(o.layer IS NOT DISTINCT FROM r.layer AND o.feature_id = r.feature_id) AS same_feature "
    "FROM {r} AS r JOIN {r} AS o ON o.kind = r.kind AND o.id <> r.id "
    "WHERE r.id = %(id)s AND o.status NOT IN ('duplicate', 'rejected') "
    "AND o.created_at BETWEEN r.created_at - make_interval(hours => %(hours)s) "
    "AND r.created_at + make_interval(hours => %(hours)s) "
    "AND ((o.layer = r.layer AND o.feature_id = r.feature_id) "
    "OR ST_DWithin(o.geom::geography, r.geom::geography, %(metres)s)) "
    "ORDER BY same_feature DESC, distance_m, abs(extract(epoch FROM o.created_at - r.created_at)) "
    "LIMIT 20"
).format(r=_R)
_TRANSITION = sql.SQL("SELECT {}(%s, %s, %s, %s)").format(
    sql.Identifier(REPORTS_SCHEMA, "transition")
)
_KIND_OF = sql.SQL("SELECT kind FROM {} WHERE id = %s").format(_R)
_PHOTO = sql.SQL("SELECT content, media_type FROM {} WHERE request_id = %s").format(_P)


def not_handled(ident: int | str) -> ReportNotFound:
    """404: no report of that number among those the moderator's roles handle."""
    return ReportNotFound(message("moderation_not_found", id=str(ident)[:20]))


@dataclass(frozen=True)
class Step:
    """One recorded change of a report's state."""

    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    at: datetime

    def as_json(self) -> dict[str, Any]:
        """The step as the API gives it to staff (the actor included)."""
        return {
            "from": self.from_status,
            "to": self.to_status,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class Suggestion:
    """Another report that may be the same problem."""

    id: int
    status: str
    created_at: datetime
    feature_id: str | None
    distance_m: float
    same_feature: bool

    def as_json(self) -> dict[str, Any]:
        """The suggestion as the API gives it."""
        return {
            "id": self.id,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "feature_id": self.feature_id,
            "distance_m": self.distance_m,
            "same_feature": self.same_feature,
        }


@dataclass(frozen=True)
class Report:
    """One report as its handlers see it (contact included: only they ever do)."""

    id: int
    kind: str
    layer: str | None
    feature_id: str | None
    lon: float
    lat: float
    answers: dict[str, Any]
    description: str
    contact: str | None
    source: str
    status: str
    status_reason: str | None
    duplicate_of: int | None
    created_at: datetime
    updated_at: datetime
    deadline_at: datetime
    overdue: bool
    has_photo: bool
    steps: list[Step] = field(default_factory=list)
    duplicates: list[Suggestion] = field(default_factory=list)

    @property
    def next_statuses(self) -> tuple[str, ...]:
        """Where this report may go now."""
        return NEXT.get(self.status, ())

    def as_json(self) -> dict[str, Any]:
        """The report for the moderation API."""
        return {
            "id": self.id,
            "kind": self.kind,
            "layer": self.layer,
            "feature_id": self.feature_id,
            "geometry": {"type": "Point", "coordinates": [self.lon, self.lat]},
            "answers": self.answers,
            "description": self.description,
            "contact": self.contact,
            "source": self.source,
            "status": self.status,
            "status_reason": self.status_reason,
            "duplicate_of": self.duplicate_of,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "deadline_at": self.deadline_at.isoformat(),
            "overdue": self.overdue,
            "has_photo": self.has_photo,
            "next": list(self.next_statuses),
            "steps": [s.as_json() for s in self.steps],
            "duplicates": [d.as_json() for d in self.duplicates],
        }


def _report(row: tuple[Any, ...]) -> Report:
    return Report(*row)


@dataclass(frozen=True)
class Moderator:
    """A signed-in person who handles some kinds: their login, handler role and kinds."""

    login: str
    db_role: str
    kinds: tuple[str, ...]


def moderator(kinds: ReportKinds, registry: LayerRegistry, audience: Audience) -> Moderator:
    """The moderator ``audience`` is: 401 for the public, 403 for staff who handle nothing."""
    if audience.is_anonymous:
        raise SignInRequired(message("moderation_sign_in"))
    role = handler_db_role(kinds, registry, audience.roles)
    handled = handled_kinds(kinds, registry, audience.roles)
    if role is None or not handled:
        raise Forbidden(message("moderation_forbidden"))
    return Moderator(audience.login or "api", role, tuple(handled))


@asynccontextmanager
async def moderation_transaction(
    request: Request, who: Moderator
) -> AsyncIterator[AsyncConnection[Any]]:
    """One transaction on the primary as ``who``'s handler role, the login as the actor."""
    pool = request.app.state.pool  # the primary: a replica may lag behind a transition
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(who.db_role)))
        await conn.execute("SELECT set_config('gisplatform.actor', %s, true)", [who.login])
        yield conn


def _params(**values: Any) -> dict[str, Any]:
    return {"waiting": list(WAITING), **values}


async def queue(
    conn: AsyncConnection[Any], statuses: tuple[str, ...] = WAITING, limit: int = QUEUE_LIMIT
) -> list[Report]:
    """The reports the moderator handles in ``statuses``: overdue first, then newest."""
    cursor = await conn.execute(_QUEUE, _params(statuses=list(statuses), limit=limit))
    return [_report(row) for row in await cursor.fetchall()]


async def report(conn: AsyncConnection[Any], ident: int) -> Report:
    """One report with every step and its duplicate suggestions; 404 if not handled."""
    cursor = await conn.execute(_ONE, _params(id=ident))
    row = await cursor.fetchone()
    if row is None:
        raise not_handled(ident)
    found = _report(row)
    found.steps.extend(Step(*r) for r in await (await conn.execute(_STEPS, [ident])).fetchall())
    found.duplicates.extend(await duplicates(conn, ident))
    return found


async def duplicates(conn: AsyncConnection[Any], ident: int) -> list[Suggestion]:
    """Reports that may be the same problem as ``ident`` (kind, feature or distance, time)."""
    params = {"id": ident, "hours": DUPLICATE_WINDOW_H, "metres": DUPLICATE_DISTANCE_M}
    cursor = await conn.execute(_DUPLICATES, params)
    return [Suggestion(*row) for row in await cursor.fetchall()]


async def photo(conn: AsyncConnection[Any], ident: int) -> tuple[bytes, str]:
    """The report's photo (re-encoded at submission, no EXIF) and its media type; 404."""
    row = await (await conn.execute(_PHOTO, [ident])).fetchone()
    if row is None:
        raise not_handled(ident)
    return bytes(row[0]), str(row[1])


def parse_status(value: Any) -> str:
    """A known state (400 naming ``status`` otherwise)."""
    if not isinstance(value, str) or value not in STATUSES:
        shown = str(value)[:40] if value is not None else "-"
        raise InvalidParameter(
            "status", message("moderation_unknown_status", status=shown, known=", ".join(STATUSES))
        )
    return value


def parse_statuses(value: str | None) -> tuple[str, ...]:
    """The queue's ``status`` filter: a comma list, ``all``, or (default) the waiting ones."""
    if value is None or value == "":
        return WAITING
    if value == "all":
        return STATUSES
    return tuple(parse_status(part.strip()) for part in value.split(","))


def parse_reason(value: Any) -> str | None:
    """The reason of a transition: text up to :data:`MAX_REASON` characters, or none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameter("reason", message("moderation_reason_text"))
    text = value.strip()
    if len(text) > MAX_REASON:
        raise InvalidParameter("reason", message("moderation_reason_long", limit=MAX_REASON))
    return text or None


def parse_duplicate_of(value: Any) -> int | None:
    """The id of the report this one duplicates, or none."""
    if value is None or value == "":
        return None
    text = str(value).strip().lstrip("#")
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidParameter("duplicate_of", message("moderation_duplicate_id"))
    return int(text)


async def transition(
    conn: AsyncConnection[Any],
    ident: int,
    to: str,
    reason: str | None,
    duplicate_of: int | None,
) -> Report:
    """Move report ``ident`` to ``to`` (checked here for clear messages and by the database).

    400 for a state it cannot go to, a rejection without a reason, a duplicate without a
    report of the same kind to point at; 404 for a report the moderator does not handle.
    """
    current = await report(conn, ident)
    if to not in current.next_statuses:
        raise InvalidParameter(
            "status",
            message(
                "moderation_step_refused",
                from_status=current.status,
                to_status=to,
                allowed=", ".join(current.next_statuses) or "-",
            ),
        )
    if to == "rejected" and not reason:
        raise InvalidParameter("reason", message("moderation_reason_needed"))
    if to == "duplicate":
        await _check_original(conn, current, duplicate_of)
    elif duplicate_of is not None:
        raise InvalidParameter("duplicate_of", message("moderation_duplicate_only"))
    try:
        await conn.execute(
            _TRANSITION, [ident, to, reason, duplicate_of if to == "duplicate" else None]
        )
    except psycopg.errors.CheckViolation as exc:  # a concurrent change got there first
        raise InvalidParameter("status", message("moderation_changed_meanwhile")) from exc
    return await report(conn, ident)


async def _check_original(
    conn: AsyncConnection[Any], current: Report, original: int | None
) -> None:
    if original is None:
        raise InvalidParameter("duplicate_of", message("moderation_duplicate_needed"))
    if original == current.id:
        raise InvalidParameter("duplicate_of", message("moderation_duplicate_self"))
    row = await (await conn.execute(_KIND_OF, [original])).fetchone()
    if row is None or row[0] != current.kind:
        raise InvalidParameter("duplicate_of", message("moderation_duplicate_unknown", id=original))
