"""HTML pages (Jinja2): Ukrainian first, English with ``lang=en``; local CSS only."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from gisplatform.ogcapi.deps import Lang, site_url

#: interface words; data texts come from the registry
WORDS: dict[str, dict[Lang, str]] = {
    "title": {"uk": "OGC API — геодані громади", "en": "OGC API — hromada geodata"},
    "collections": {"uk": "Шари даних", "en": "Collections"},
    "conformance": {"uk": "Відповідність стандартам", "en": "Conformance"},
    "api": {"uk": "Опис API (OpenAPI)", "en": "API definition (OpenAPI)"},
    "items": {"uk": "Об'єкти", "en": "Features"},
    "queryables": {"uk": "Поля для фільтрів", "en": "Queryables"},
    "schema": {"uk": "Схема", "en": "Schema"},
    "licence": {"uk": "Ліцензія", "en": "Licence"},
    "attribution": {"uk": "Джерело", "en": "Attribution"},
    "extent": {"uk": "Охоплення", "en": "Extent"},
    "keywords": {"uk": "Ключові слова", "en": "Keywords"},
    "next": {"uk": "Далі", "en": "Next"},
    "prev": {"uk": "Назад", "en": "Previous"},
    "matched": {"uk": "Знайдено", "en": "Matched"},
    "returned": {"uk": "Показано", "en": "Returned"},
    "property": {"uk": "Поле", "en": "Property"},
    "type": {"uk": "Тип", "en": "Type"},
    "value": {"uk": "Значення", "en": "Value"},
    "json": {"uk": "Цією сторінкою у JSON", "en": "This page as JSON"},
    "other_lang": {"uk": "English", "en": "Українською"},
}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("gisplatform.ogcapi", "templates"),
        autoescape=select_autoescape(["html"]),
        auto_reload=False,
    )


def page_url(request: Request, **changes: str) -> str:
    """The current URL with some query parameters replaced."""
    params = dict(request.query_params)
    params.update(changes)
    return f"{request.url.path}?{urlencode(params)}"


def render(request: Request, template: str, lang: Lang, **context: Any) -> HTMLResponse:
    """Render ``template`` with the words of ``lang``."""
    words = {key: texts[lang] for key, texts in WORDS.items()}
    html = (
        _environment()
        .get_template(template)
        .render(
            lang=lang,
            words=words,
            json_url=page_url(request, f="json"),
            other_lang_url=page_url(request, lang="en" if lang == "uk" else "uk", f="html"),
            css_url=site_url(request) + "/ogc/static/ogc.css",
            **context,
        )
    )
    return HTMLResponse(html, headers={"Content-Language": lang})
