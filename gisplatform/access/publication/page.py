"""The admin page of the kill switch, in the OGC pages' style: Ukrainian first, English."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from gisplatform.access.csrf import CSRF_FIELD, form_token
from gisplatform.access.publication.store import Event, Withdrawal
from gisplatform.errors import LayerNotFound
from gisplatform.ogcapi.deps import Lang, site_url
from gisplatform.ogcapi.html import render_page
from gisplatform.registry import ANONYMOUS, LayerRegistry

#: the page's words (data texts come from the registry)
WORDS: dict[str, dict[Lang, str]] = {
    "title": {"uk": "Публікація даних", "en": "Publication"},
    "intro": {
        "uk": "Вилучення з публікації діє одразу: шар, поле або об’єкти на території зникають "
        "з відкритої карти, API, тайлів, каталогу та нових експортів для всіх анонімних "
        "користувачів. Працівники, що увійшли до системи, бачать дані й далі. "
        "Кожну дію записано в журнал: хто, коли й чому.",
        "en": "A withdrawal takes effect at once: the layer, field or features in an area "
        "disappear from the public map, API, tiles, catalogue and new exports for every "
        "anonymous user. Signed-in staff keep seeing them. Every action is logged: who, "
        "when and why.",
    },
    "in_force": {"uk": "Чинні вилучення", "en": "Withdrawals in force"},
    "none": {"uk": "Нічого не вилучено.", "en": "Nothing is withdrawn."},
    "layer": {"uk": "Шар", "en": "Layer"},
    "scope": {"uk": "Що вилучено", "en": "What"},
    "whole_layer": {"uk": "увесь шар", "en": "the whole layer"},
    "field": {"uk": "поле", "en": "field"},
    "area": {"uk": "об’єкти на території", "en": "features in an area"},
    "reason": {"uk": "Причина", "en": "Reason"},
    "who": {"uk": "Хто", "en": "Who"},
    "when": {"uk": "Коли", "en": "When"},
    "restore": {"uk": "Повернути", "en": "Restore"},
    "restore_reason": {"uk": "причина повернення", "en": "reason for restoring"},
    "new": {"uk": "Вилучити з публікації", "en": "Withdraw from publication"},
    "field_choice": {"uk": "Поле (необов’язково)", "en": "Field (optional)"},
    "whole": {"uk": "— увесь шар —", "en": "— the whole layer —"},
    "area_choice": {
        "uk": "Територія (необов’язково): WKT або GeoJSON, довгота/широта",
        "en": "Area (optional): WKT or GeoJSON, lon/lat",
    },
    "reason_needed": {
        "uk": "Причина (обов’язково; напр. розпорядження МВА № …)",
        "en": "Reason (required; e.g. military administration order No …)",
    },
    "submit": {"uk": "Вилучити", "en": "Withdraw"},
    "log": {"uk": "Журнал", "en": "Audit log"},
    "action": {"uk": "Дія", "en": "Action"},
    "withdraw": {"uk": "вилучено", "en": "withdrawn"},
    "restored": {"uk": "повернуто", "en": "restored"},
    "error": {"uk": "Не виконано", "en": "Not done"},
}


def _words(lang: Lang) -> SimpleNamespace:
    return SimpleNamespace(**{key: texts[lang] for key, texts in WORDS.items()})


def _title(registry: LayerRegistry, layer: str, lang: Lang) -> str:
    return str(registry.get(layer).title.get(lang)) if layer in registry else layer


def _scope(registry: LayerRegistry, layer: str, field: str | None, area: Any, lang: Lang) -> str:
    words = _words(lang)
    if field:
        try:
            title = str(registry.get(layer).field(field).title.get(lang))
        except (KeyError, LayerNotFound):
            title = field
        quoted = f"«{title}»" if lang == "uk" else f"“{title}”"
        return f"{words.field} {quoted} ({field})"
    return str(words.area if area else words.whole_layer)


def _when(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%d %H:%M:%S %Z")).strip()


async def render_admin(
    request: Request,
    lang: Lang,
    withdrawals: list[Withdrawal],
    events: list[Event],
    error: str | None,
) -> HTMLResponse:
    """The page: the withdrawals in force (each with a restore form), the form, the log."""
    registry: LayerRegistry = request.app.state.registry
    layers = [
        SimpleNamespace(
            name=spec.name,
            title=spec.title.get(lang),
            fields=[(f.name, f.title.get(lang)) for f in spec.fields_for(ANONYMOUS)],
        )
        for spec in registry.list(ANONYMOUS)
    ]
    rows = [
        SimpleNamespace(
            id=w.id,
            layer=_title(registry, w.layer, lang),
            name=w.layer,
            scope=_scope(registry, w.layer, w.field, w.area, lang),
            reason=w.reason,
            actor=w.actor,
            when=_when(w.withdrawn_at),
        )
        for w in withdrawals
    ]
    log = [
        SimpleNamespace(
            when=_when(e.at),
            action=_words(lang).withdraw if e.action == "withdraw" else _words(lang).restored,
            layer=_title(registry, e.layer, lang),
            scope=_scope(registry, e.layer, e.field, e.area, lang),
            reason=e.reason or "",
            actor=f"{e.actor} ({e.via})",
        )
        for e in events
    ]
    return await render_page(
        request,
        "admin_publication.html",
        lang,
        t=_words(lang),
        layers=layers,
        rows=rows,
        log=log,
        error=error,
        csrf_field=CSRF_FIELD,
        csrf=form_token(request),
        action=f"{site_url(request)}/admin/publication",
    )
