"""HTML pages (Jinja2): Ukrainian first, English with ``lang=en``; local assets only.

Templates get the interface words as a plain object (``words.features``), never a dict whose
methods a key could hit, and undefined names fail loudly. Values are formatted before they
reach a template (:mod:`gisplatform.ogcapi.htmlvalues`); a page is rendered off the event loop.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from gisplatform.ogcapi.deps import Lang, base_url

#: interface words; data texts come from the registry
WORDS: dict[str, dict[Lang, str]] = {
    "open_data": {"uk": "відкриті геодані", "en": "open geodata"},
    "intro": {
        "uk": "Відкриті геодані громади за стандартами OGC API: об’єкти, векторні тайли, "
        "просторова аналітика та каталог даних.",
        "en": "The hromada's open geodata through OGC APIs: features, vector tiles, "
        "spatial analytics and the data catalogue.",
    },
    "collections": {"uk": "Шари даних", "en": "Collections"},
    "demo_item": {
        "uk": "Демо-дані: цей об’єкт вигаданий для показу платформи, це не справжні дані громади.",
        "en": "Demo data: this feature is invented to show the platform, "
        "not the hromada's real data.",
    },
    "demo_items": {
        "uk": "Демо-дані: вигадані об’єкти на цій сторінці — {n}; це не справжні дані громади.",
        "en": "Demo data: {n} features on this page are invented; "
        "they are not the hromada's real data.",
    },
    "collections_hint": {
        "uk": "усі шари з їхніми об’єктами, полями та схемами",
        "en": "every layer with its features, fields and schemas",
    },
    "tiles": {"uk": "Векторні тайли", "en": "Vector tiles"},
    "tiles_hint": {
        "uk": "усі шари, для картографічних програм",
        "en": "all layers, for map software",
    },
    "processes": {"uk": "Просторова аналітика громади", "en": "Hromada spatial analytics"},
    "processes_hint": {
        "uk": "процеси OGC API: найближче укриття, охоплення тощо",
        "en": "OGC API processes: nearest shelter, coverage and more",
    },
    "catalogue": {"uk": "Каталог даних", "en": "Data catalogue"},
    "catalogue_hint": {"uk": "опис кожного набору даних", "en": "a record for every dataset"},
    "webmap": {"uk": "Карта громади", "en": "Hromada map"},
    "webmap_hint": {"uk": "інтерактивна карта для мешканців", "en": "the interactive map"},
    "conformance": {"uk": "Відповідність стандартам", "en": "Conformance"},
    "api": {"uk": "Опис API (OpenAPI)", "en": "API definition (OpenAPI)"},
    "as_json": {"uk": "JSON", "en": "JSON"},
    "features": {"uk": "Об’єкти", "en": "Features"},
    "feature": {"uk": "Об’єкт", "en": "Feature"},
    "queryables": {"uk": "Поля для фільтрів", "en": "Queryables"},
    "schema": {"uk": "Схема", "en": "Schema"},
    "licence": {"uk": "Ліцензія", "en": "Licence"},
    "attribution": {"uk": "Джерело", "en": "Attribution"},
    "extent": {"uk": "Охоплення", "en": "Extent"},
    "period": {"uk": "Період", "en": "Time span"},
    "count": {"uk": "Кількість об’єктів", "en": "Number of features"},
    "keywords": {"uk": "Ключові слова", "en": "Keywords"},
    "next": {"uk": "Далі", "en": "Next"},
    "prev": {"uk": "Назад", "en": "Previous"},
    "matched": {"uk": "Знайдено", "en": "Matched"},
    "returned": {"uk": "Показано", "en": "Shown"},
    "matched_more": {"uk": "понад {n}", "en": "more than {n}"},
    "capped": {
        "uk": "Сторінка HTML показує не більше {n} об’єктів; решта — за посиланням «Далі».",
        "en": "An HTML page shows at most {n} features; the rest follow the “Next” link.",
    },
    "id": {"uk": "№", "en": "ID"},
    "field": {"uk": "Поле", "en": "Field"},
    "api_name": {"uk": "Назва в API", "en": "Name in the API"},
    "type": {"uk": "Тип", "en": "Type"},
    "unit": {"uk": "Одиниця", "en": "Unit"},
    "allowed": {"uk": "Допустимі значення", "en": "Allowed values"},
    "required": {"uk": "обов’язкове", "en": "required"},
    "geometry": {"uk": "Геометрія", "en": "Geometry"},
    "identifier": {"uk": "Ідентифікатор", "en": "Identifier"},
    "theme": {"uk": "Тема", "en": "Theme"},
    "owner": {"uk": "Розпорядник даних", "en": "Data custodian"},
    "updated": {"uk": "Оновлено", "en": "Updated"},
    "frequency": {"uk": "Частота оновлення", "en": "Update frequency"},
    "records": {"uk": "Набори даних", "en": "Datasets"},
    "title_col": {"uk": "Назва", "en": "Title"},
    "description": {"uk": "Опис", "en": "Description"},
    "map": {"uk": "Карта об’єктів цієї сторінки", "en": "Map of the features on this page"},
    "on_map": {"uk": "На карті громади", "en": "On the hromada map"},
    "json": {"uk": "Ця сторінка у форматі JSON", "en": "This page as JSON"},
    "other_lang": {"uk": "English", "en": "Українською"},
}
#: the metre and kilometre of the map's scale bar
SCALE_UNITS: dict[Lang, tuple[str, str]] = {"uk": ("м", "км"), "en": ("m", "km")}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("gisplatform.ogcapi", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        auto_reload=False,
    )


def words_for(lang: Lang) -> SimpleNamespace:
    """The interface words of ``lang`` as attributes."""
    return SimpleNamespace(**{key: texts[lang] for key, texts in WORDS.items()})


def page_url(request: Request, **changes: str) -> str:
    """The current URL with some query parameters replaced."""
    params = dict(request.query_params)
    params.update(changes)
    return f"{request.url.path}?{urlencode(params)}"


def site_root(request: Request) -> str:
    """The platform's root URL (the web map), derived from the OGC API root."""
    return base_url(request).removesuffix("/ogc")


def script_json(document: Any) -> Markup:
    """``document`` as JSON safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as JSON escapes, so no value can close the script
    element or open a comment; ``JSON.parse`` reads them back unchanged.
    """
    text = orjson.dumps(document).decode()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # escaped above for the script context


def render(request: Request, template: str, lang: Lang, **context: Any) -> HTMLResponse:
    """Render ``template`` with the words of ``lang`` (call it in a worker thread)."""
    hromada = request.app.state.registry.hromada
    root = base_url(request)
    site = site_root(request)
    html = (
        _environment()
        .get_template(template)
        .render(
            lang=lang,
            words=words_for(lang),
            hromada_name=hromada.name.get(lang),
            hromada_short=hromada.short_name.get(lang),
            root=root,
            json_url=page_url(request, f="json"),
            other_lang_url=page_url(request, lang="en" if lang == "uk" else "uk", f="html"),
            css_url=f"{root}/static/ogc.css",
            map_js_url=f"{root}/static/ogc-map.js",
            leaflet_js_url=f"{site}/static/vendor/leaflet/leaflet.js",
            leaflet_css_url=f"{site}/static/vendor/leaflet/leaflet.css",
            webmap_url=f"{site}/?lang={lang}",
            **{"crumbs": [], "map_data": None, **context},
        )
    )
    return HTMLResponse(html, headers={"Content-Language": lang})


async def render_page(request: Request, template: str, lang: Lang, **context: Any) -> HTMLResponse:
    """:func:`render` in a worker thread, off the event loop."""
    return await run_in_threadpool(render, request, template, lang, **context)
