"""The truth loop: a moderated report that a feature is not what the map says marks it publicly.

Which answers mark a feature is data: the options with ``marks_feature: true`` in
``reports/*.yaml`` (a locked, missing or unfit shelter). ``migrate`` copies them with their
titles into ``reports.mark_answers``, and the view ``reports.feature_marks`` gives, per
feature, the newest **open or in-progress** report (so moderated: an unconfirmed report
marks nothing) holding one of them. Everything that shows a mark reads that view:

- the Features output of a marked layer carries the property :data:`MARK_PROPERTY`
  (``{"kind", "question", "answer", "answer_title": {uk, en}, "at", "request"}`` or null);
- the web map styles the feature and adds a line to its popup
  ("є повідомлення: зачинено, 01.12.2026 21:40");
- the nearest-shelter analysis ranks marked shelters after the others, with the warning.

The mark goes when no open report is left: the moderator resolves (or rejects) it, or an
**inspection** clears it: an edit through the editing API that sets the layer's
``temporal_field`` (the date its state was last checked, e.g. the shelter's readiness check)
to a date on or after the report's day resolves the open marking reports of that feature,
as a transition by the editing user with the reason :data:`INSPECTION_REASON`
(:func:`resolve_by_inspection`). A layer without a temporal field is cleared by moderators only.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from psycopg import AsyncConnection, sql
from sqlalchemy import Connection

from gisplatform.i18n import Text, message
from gisplatform.registry import Audience, LayerRegistry, LayerSpec
from gisplatform.reports.kinds import ReportKinds
from gisplatform.reports.store import REPORTS_SCHEMA, handler_db_role, handler_db_roles
from gisplatform.store.audiences import view_audiences
from gisplatform.store.database import driver_execute

#: the property of a marked layer's features that carries the mark
MARK_PROPERTY = "report_mark"
#: the view of the marks, one row per marked feature
MARKS_VIEW = sql.Identifier(REPORTS_SCHEMA, "feature_marks")
#: the reason recorded when an inspection edit resolves a report
INSPECTION_REASON = "inspection"
#: where the hromada's people read times ("01.12.2026 21:40")
DISPLAY_TIMEZONE = ZoneInfo("Europe/Kyiv")
#: statuses whose reports mark a feature
MARKING_STATUSES = ("open", "in_progress")


def mark_text(answer_title: dict[str, str], at: datetime) -> Text:
    """ "є повідомлення: зачинено, 01.12.2026 21:40" / "reported: locked, …" (Kyiv time)."""
    shown = at.astimezone(DISPLAY_TIMEZONE).strftime("%d.%m.%Y %H:%M")
    uk, en = answer_title.get("uk", ""), answer_title.get("en", "")
    answer = Text(uk[:1].lower() + uk[1:], en[:1].lower() + en[1:])
    return message("report_mark_warning", answer=answer, at=shown)


def feature_mark_text(properties: dict[str, Any]) -> Text | None:
    """The mark of a feature as the Features output gives it (``report_mark``), as text."""
    mark = properties.get(MARK_PROPERTY)
    if not isinstance(mark, dict) or not isinstance(mark.get("answer_title"), dict):
        return None
    try:
        at = datetime.fromisoformat(str(mark.get("at")))
    except ValueError:
        return None
    return mark_text(mark["answer_title"], at)


def marked_layers(kinds: ReportKinds) -> frozenset[str]:
    """The layers some kind's marking answer points at (from the kinds, never restated)."""
    return frozenset(
        kind.layer for kind in kinds if kind.layer is not None and kind.marking_answers
    )


def mark_rows(kinds: ReportKinds) -> list[tuple[str, str, str, str]]:
    """``(kind, question, answer, title json)`` of every marking answer."""
    rows = []
    for kind in kinds:
        if kind.layer is None:
            continue
        for question in kind.questions:
            for option in question.options:
                if option.marks_feature:
                    title = {"uk": option.title.uk, "en": option.title.en}
                    rows.append(
                        (kind.code, question.code, option.code, orjson.dumps(title).decode())
                    )
    return rows


def _script() -> sql.Composed:
    text = resources.files("gisplatform.sql").joinpath("reports_marks.sql").read_text("utf-8")
    return sql.SQL(text).format(reports=sql.Identifier(REPORTS_SCHEMA))


def apply_marks(conn: Connection, kinds: ReportKinds, registry: LayerRegistry) -> None:
    """Create the marks table and view, copy the marking answers, grant them to the readers.

    Runs in ``migrate``'s transaction as the owner, after the reports schema (whose grants
    it would otherwise lose). The audience roles read the marks (maps, Features, analyses);
    the handler roles read the marking answers too (an inspection edit resolves by them).
    """
    driver_execute(conn, _script())
    table = sql.Identifier(REPORTS_SCHEMA, "mark_answers")
    driver_execute(conn, sql.SQL("DELETE FROM {}").format(table))
    for row in mark_rows(kinds):
        driver_execute(
            conn, sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s::jsonb)").format(table), row
        )
    readers = [a.role for a in view_audiences(registry)] + list(handler_db_roles(kinds, registry))
    for role in readers:
        name = sql.Identifier(role)
        schema = sql.Identifier(REPORTS_SCHEMA)
        driver_execute(conn, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, name))
        driver_execute(
            conn, sql.SQL("GRANT SELECT ON {}, {} TO {}").format(MARKS_VIEW, table, name)
        )


@lru_cache(maxsize=64)
def mark_json(layer: str) -> sql.Composed:
    """The mark of the row ``t`` of ``layer`` as a JSON object, NULL when it has none."""
    return sql.SQL(
        "(SELECT json_build_object('kind', m.kind, 'question', m.question, 'answer', m.answer, "
        "'answer_title', m.title, 'at', m.at, 'request', m.request_id) "
        "FROM {view} AS m WHERE m.layer = {layer} AND m.feature_id = t.fid::text)"
    ).format(view=MARKS_VIEW, layer=sql.Literal(layer))


def marked_fids_query() -> sql.Composed:
    """The fids of the marked features of one layer (``%s``) with their mark as JSON."""
    return sql.SQL(
        "SELECT m.feature_id, json_build_object('kind', m.kind, 'question', m.question, "
        "'answer', m.answer, 'answer_title', m.title, 'at', m.at, 'request', m.request_id) "
        "FROM {} AS m WHERE m.layer = %s"
    ).format(MARKS_VIEW)


def inspection_date(spec: LayerSpec, values: dict[str, Any], sent: frozenset[str]) -> date | None:
    """The check date an edit sets (the layer's temporal field), when it sets one."""
    field = spec.temporal_field
    if field is None or field not in sent:
        return None
    value = values.get(field)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


_OPEN_MARKING = sql.SQL(
    "SELECT r.id FROM {requests} AS r "
    "WHERE r.layer = %s AND r.feature_id = %s AND r.status = ANY(%s) "
    "AND r.created_at::date <= %s "
    "AND EXISTS (SELECT FROM {answers} AS a WHERE a.kind = r.kind "
    "AND (r.answers -> a.question = to_jsonb(a.answer) OR (jsonb_typeof(r.answers -> a.question) "
    "= 'array' AND r.answers -> a.question ? a.answer))) ORDER BY r.id FOR UPDATE"
).format(
    requests=sql.Identifier(REPORTS_SCHEMA, "requests"),
    answers=sql.Identifier(REPORTS_SCHEMA, "mark_answers"),
)
_TRANSITION = sql.SQL("SELECT {}(%s, 'resolved', %s, NULL)").format(
    sql.Identifier(REPORTS_SCHEMA, "transition")
)


async def resolve_by_inspection(
    conn: AsyncConnection[Any],
    marked: frozenset[str],
    spec: LayerSpec,
    fid: int,
    values: dict[str, Any],
    sent: frozenset[str],
    role: str,
) -> list[int]:
    """Resolve the open marking reports of feature ``fid`` an inspection edit answers.

    Runs inside the edit's transaction (its actor setting is the editing user) in the
    caller's audience ``role``: the reports' row security lets it resolve only the kinds
    it handles. Returns the ids resolved.
    """
    if spec.name not in marked:
        return []
    checked = inspection_date(spec, values, sent)
    if checked is None:
        return []
    await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    cursor = await conn.execute(
        _OPEN_MARKING, [spec.name, str(fid), list(MARKING_STATUSES), checked]
    )
    ids = [int(row[0]) for row in await cursor.fetchall()]
    for ident in ids:
        await conn.execute(_TRANSITION, [ident, INSPECTION_REASON])
    return ids


def report_map_config(kinds: ReportKinds, handlers: frozenset[str], queue: str) -> dict[str, Any]:
    """The web map's part of the reports: the mark, the marked layers, the queue's address.

    ``handlers`` are the registry roles that moderate some kind; the map links the queue
    from the account menu of a user who holds one.
    """
    return {
        "markProperty": MARK_PROPERTY,
        "marked": sorted(marked_layers(kinds)),
        "timeZone": DISPLAY_TIMEZONE.key,
        "moderation": queue,
        "handlers": sorted(handlers),
    }


async def after_edit(
    request: Any,
    conn: AsyncConnection[Any],
    spec: LayerSpec,
    fid: int,
    values: dict[str, Any],
    sent: frozenset[str],
    audience: Audience,
) -> list[int]:
    """The editing API's hook: an inspection edit resolves the reports it answers.

    The editor resolves only what their roles handle (their handler role's row security);
    an editor who handles no kind resolves nothing and the moderator does it.
    """
    kinds: ReportKinds | None = getattr(request.app.state, "report_kinds", None)
    if kinds is None or spec.name not in marked_layers(kinds):
        return []
    role = handler_db_role(kinds, request.app.state.registry, audience.roles)
    if role is None:
        return []
    return await resolve_by_inspection(conn, marked_layers(kinds), spec, fid, values, sent, role)
