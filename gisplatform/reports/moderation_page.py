"""The moderation pages (the queue and one report), in the OGC pages' style: Ukrainian first."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from gisplatform.access.csrf import CSRF_FIELD, form_token
from gisplatform.i18n import message
from gisplatform.ogcapi.deps import Lang
from gisplatform.ogcapi.html import render_page
from gisplatform.registry import LayerRegistry
from gisplatform.reports.kinds import ReportKind, ReportKinds
from gisplatform.reports.marks import DISPLAY_TIMEZONE
from gisplatform.reports.moderation import (
    DUPLICATE_DISTANCE_M,
    DUPLICATE_WINDOW_H,
    STATUSES,
    WAITING,
    Report,
    Step,
)

#: the pages' words (kinds, questions and answers come from reports/*.yaml)
WORDS: dict[str, dict[Lang, str]] = {
    "title": {"uk": "Повідомлення мешканців", "en": "Residents' reports"},
    "intro": {
        "uk": "Повідомлення тих видів, які опрацьовують ваші ролі: спершу прострочені, "
        "далі найновіші. Кожну зміну стану записано (хто, коли, чому); причину відхилення "
        "бачить автор повідомлення.",
        "en": "Reports of the kinds your roles handle: overdue first, then the newest. "
        "Every change of state is recorded (who, when, why); the reporter reads the reason "
        "of a rejection.",
    },
    "show": {"uk": "Показати", "en": "Show"},
    "waiting": {
        "uk": "очікують (нові, відкриті, в роботі)",
        "en": "waiting (new, open, in progress)",
    },
    "all": {"uk": "усі", "en": "all"},
    "none": {"uk": "Немає повідомлень.", "en": "No reports."},
    "number": {"uk": "№", "en": "No."},
    "kind": {"uk": "Вид", "en": "Kind"},
    "what": {"uk": "Що", "en": "What"},
    "where": {"uk": "Де", "en": "Where"},
    "received": {"uk": "Надійшло", "en": "Received"},
    "deadline": {"uk": "Строк відповіді", "en": "Answer due"},
    "overdue": {"uk": "прострочено", "en": "overdue"},
    "status": {"uk": "Стан", "en": "Status"},
    "open_report": {"uk": "Відкрити", "en": "Open"},
    "back": {"uk": "← До черги", "en": "← Back to the queue"},
    "to_map": {"uk": "← До карти громади", "en": "← Back to the hromada map"},
    "report": {"uk": "Повідомлення", "en": "Report"},
    "answers": {"uk": "Відповіді", "en": "Answers"},
    "description": {"uk": "Опис", "en": "Description"},
    "contact": {
        "uk": "Контакт автора (лише для вашої ролі)",
        "en": "Reporter's contact (your role only)",
    },
    "no_contact": {"uk": "не вказано", "en": "not given"},
    "photo": {"uk": "Фото", "en": "Photo"},
    "has_photo": {"uk": "додано", "en": "attached"},
    "no_photo": {"uk": "немає", "en": "none"},
    "feature": {"uk": "Об’єкт", "en": "Feature"},
    "location": {"uk": "Точка (довгота, широта)", "en": "Point (lon, lat)"},
    "source": {"uk": "Канал", "en": "Channel"},
    "reason": {"uk": "Причина", "en": "Reason"},
    "duplicate_of": {"uk": "Дублікат повідомлення", "en": "Duplicate of report"},
    "steps": {"uk": "Історія стану", "en": "History of its state"},
    "when": {"uk": "Коли", "en": "When"},
    "step": {"uk": "Зміна", "en": "Change"},
    "who": {"uk": "Хто", "en": "Who"},
    "why": {"uk": "Чому", "en": "Why"},
    "actions": {"uk": "Дії", "en": "Actions"},
    "final": {"uk": "Стан остаточний: дій немає.", "en": "The state is final: no actions."},
    "reason_optional": {"uk": "коментар (необов’язково)", "en": "comment (optional)"},
    "reason_required": {
        "uk": "причина для автора (обов’язково)",
        "en": "reason for the reporter (required)",
    },
    "duplicates": {"uk": "Можливі дублікати", "en": "Possible duplicates"},
    "duplicates_hint": {
        "uk": "Той самий вид, той самий об’єкт або ближче {m} м, у межах {h} год.",
        "en": "The same kind, the same feature or within {m} m, within {h} h.",
    },
    "no_duplicates": {"uk": "Схожих повідомлень немає.", "en": "No similar reports."},
    "same_feature": {"uk": "той самий об’єкт", "en": "the same feature"},
    "distance": {"uk": "Відстань", "en": "Distance"},
    "m": {"uk": "м", "en": "m"},
    "choose_original": {"uk": "— оберіть оригінал —", "en": "— choose the original —"},
    "error": {"uk": "Не виконано", "en": "Not done"},
    "resident": {"uk": "мешканець", "en": "resident"},
    "source_web": {"uk": "форма на карті", "en": "the map's form"},
    "source_open311": {"uk": "Open311", "en": "Open311"},
    "original_number": {"uk": "№ оригіналу", "en": "original's No."},
}


def status_text(status: str | None, lang: Lang) -> str:
    """A state's name as the reporter's page shows it (one catalogue)."""
    return message(f"report_status_{status}").get(lang) if status in STATUSES else "—"


#: the button of each step, by (from, to)
ACTION_WORDS: dict[str, dict[Lang, str]] = {
    "open": {"uk": "Підтвердити (відкрити)", "en": "Confirm (open)"},
    "reopen": {"uk": "Відкрити знову", "en": "Reopen"},
    "in_progress": {"uk": "Взяти в роботу", "en": "Start work"},
    "resolved": {"uk": "Вирішено", "en": "Resolved"},
    "duplicate": {"uk": "Позначити дублікатом", "en": "Mark as duplicate"},
    "rejected": {"uk": "Відхилити", "en": "Reject"},
}
PATH = "/reports/moderation"


def _words(lang: Lang) -> SimpleNamespace:
    return SimpleNamespace(**{key: texts[lang] for key, texts in WORDS.items()})


def when(moment: Any) -> str:
    """A time as the hromada reads it: 01.12.2026 21:40 (Kyiv time)."""
    return str(moment.astimezone(DISPLAY_TIMEZONE).strftime("%d.%m.%Y %H:%M"))


def _kind_title(kind: ReportKind | None, code: str, lang: Lang) -> str:
    return str(kind.title.get(lang)) if kind else code


def answer_pairs(
    kind: ReportKind | None, answers: dict[str, Any], lang: Lang
) -> list[tuple[str, str]]:
    """Each answer as (question, "option, option") with the kind's titles."""
    pairs = []
    for code, value in answers.items():
        question = kind.question(code) if kind else None
        values = value if isinstance(value, list) else [value]
        shown = []
        for item in values:
            if isinstance(item, bool):
                shown.append(message("report_yes" if item else "report_no").get(lang))
                continue
            option = question.option(str(item)) if question else None
            shown.append(str(option.title.get(lang)) if option else str(item))
        pairs.append((str(question.title.get(lang)) if question else code, ", ".join(shown)))
    return pairs


def answers_text(kind: ReportKind | None, answers: dict[str, Any], lang: Lang) -> list[str]:
    """Each answer as one line: "Що сталося? Зачинено", "Floor: 2"."""
    return [
        f"{question}{'' if question.endswith(('?', ':')) else ':'} {shown}"
        for question, shown in answer_pairs(kind, answers, lang)
    ]


def _where(registry: LayerRegistry, report: Report, lang: Lang) -> str:
    if not report.feature_id or not report.layer:
        return ""
    title = registry.get(report.layer).title.get(lang) if report.layer in registry else report.layer
    return f"{title} № {report.feature_id}"


def _row(
    report: Report, kinds: ReportKinds, registry: LayerRegistry, lang: Lang
) -> SimpleNamespace:
    kind = kinds.get(report.kind)
    return SimpleNamespace(
        id=report.id,
        kind=_kind_title(kind, report.kind, lang),
        what="; ".join(shown for _, shown in answer_pairs(kind, report.answers, lang))
        or report.description[:120],
        where=_where(registry, report, lang),
        received=when(report.created_at),
        deadline=when(report.deadline_at),
        overdue=report.overdue,
        status=report.status,
        status_text=status_text(report.status, lang),
    )


async def render_queue(
    request: Request,
    lang: Lang,
    kinds: ReportKinds,
    reports: list[Report],
    shown: tuple[str, ...],
) -> HTMLResponse:
    registry: LayerRegistry = request.app.state.registry
    """The queue: one row per report, overdue ones highlighted."""
    choice = "waiting" if shown == WAITING else "all" if shown == STATUSES else ",".join(shown)
    options = [("", _words(lang).waiting), ("all", _words(lang).all)] + [
        (status, status_text(status, lang)) for status in STATUSES
    ]
    return await render_page(
        request,
        "reports_queue.html",
        lang,
        t=_words(lang),
        rows=[_row(r, kinds, registry, lang) for r in reports],
        options=options,
        choice="" if choice == "waiting" else choice,
        action=PATH,
        crumbs=[],
    )


def _step(step: Step, lang: Lang) -> SimpleNamespace:
    before = status_text(step.from_status, lang)
    actor = _words(lang).resident if step.actor == "resident" else step.actor
    return SimpleNamespace(
        when=when(step.at),
        change=f"{before} → {status_text(step.to_status, lang)}",
        actor=actor,
        reason=step.reason or "",
    )


def _action(report: Report, to: str, lang: Lang) -> SimpleNamespace:
    key = "reopen" if to == "open" and report.status != "unconfirmed" else to
    return SimpleNamespace(
        to=to,
        label=ACTION_WORDS[key][lang],
        needs_reason=to == "rejected",
        duplicate=to == "duplicate",
        danger=to in ("rejected", "duplicate"),
    )


async def render_report(
    request: Request,
    lang: Lang,
    kinds: ReportKinds,
    registry: LayerRegistry,
    report: Report,
    error: str | None = None,
) -> HTMLResponse:
    """One report: what was reported, the contact, every step, the actions and duplicates."""
    words = _words(lang)
    kind = kinds.get(report.kind)
    feature_title = None
    if report.layer and report.layer in registry:
        feature_title = str(registry.get(report.layer).title.get(lang))
    return await render_page(
        request,
        "reports_request.html",
        lang,
        t=words,
        r=SimpleNamespace(
            **_row(report, kinds, registry, lang).__dict__,
            answers=answers_text(kind, report.answers, lang),
            description=report.description,
            contact=report.contact,
            has_photo=report.has_photo,
            layer=report.layer,
            layer_title=feature_title,
            feature_id=report.feature_id,
            lon=f"{report.lon:.6f}",
            lat=f"{report.lat:.6f}",
            source=WORDS.get(f"source_{report.source}", {}).get(lang, report.source),
            status_reason=report.status_reason or "",
            duplicate_of=report.duplicate_of,
        ),
        steps=[_step(s, lang) for s in report.steps],
        actions=[_action(report, to, lang) for to in report.next_statuses],
        duplicates=[
            SimpleNamespace(
                id=d.id,
                status_text=status_text(d.status, lang),
                received=when(d.created_at),
                distance=f"{d.distance_m:.0f}",
                same_feature=d.same_feature,
            )
            for d in report.duplicates
        ],
        duplicates_hint=words.duplicates_hint.format(m=DUPLICATE_DISTANCE_M, h=DUPLICATE_WINDOW_H),
        error=error,
        csrf_field=CSRF_FIELD,
        csrf=form_token(request),
        action=f"{PATH}/{report.id}/transition",
        queue=PATH,
        crumbs=[],
    )
