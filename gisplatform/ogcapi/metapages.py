"""What the metadata HTML pages show: collection facts, schema rows, catalogue records.

Every value goes through :mod:`gisplatform.ogcapi.htmlvalues`; the registry says the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import Request

from gisplatform.ogcapi import htmlvalues
from gisplatform.ogcapi.deps import AUDIENCE, Lang, base_url
from gisplatform.ogcapi.html import words_for
from gisplatform.registry import FieldType, LayerSpec
from gisplatform.webmap.i18n import theme_title

if TYPE_CHECKING:
    from gisplatform.ogcapi.schemas import LayerStats


def collection_crumbs(
    request: Request, lang: Lang, title: str, path: str | None = None
) -> list[tuple[str, str]]:
    """Breadcrumbs down to a collection (linked when ``path`` is given)."""
    root = base_url(request)
    crumbs = [(words_for(lang).collections, f"{root}/collections?f=html&lang={lang}")]
    crumbs.append((title, f"{root}{path}?f=html&lang={lang}" if path else ""))
    return crumbs


def extent_text(bbox: list[float] | tuple[float, ...] | None, lang: Lang) -> str:
    """A lon/lat box in words (``33,250–33,720° сх. д., 50,580–50,920° пн. ш.``)."""
    if not bbox:
        return ""
    west, south, east, north = bbox[0], bbox[1], bbox[2], bbox[3]
    lon = htmlvalues.coordinate_range(west, east, "lon", lang)
    return f"{lon}, {htmlvalues.coordinate_range(south, north, 'lat', lang)}"


def _instant(text: str | None, lang: Lang) -> str:
    if text is None:
        return "…"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return text
    return htmlvalues.day(value.date(), lang)


def collection_facts(spec: LayerSpec, stats: LayerStats, lang: Lang) -> list[tuple[str, str]]:
    """The description list of a collection page."""
    words = words_for(lang)
    keywords = spec.keywords.en if lang == "en" else spec.keywords.uk
    facts = [
        (words.count, htmlvalues.number(stats.count, lang)),
        (words.geometry, htmlvalues.geometry_words(spec.geometry, lang)),
        (words.theme, theme_title(spec.theme)[lang]),
        (words.keywords, ", ".join(keywords)),
        (words.owner, spec.owner.get(lang)),
        (words.frequency, htmlvalues.frequency_words(spec.update_frequency, lang)),
        (words.licence, spec.licence),
    ]
    if spec.attribution:
        facts.append((words.attribution, spec.attribution))
    if stats.bbox is not None:
        facts.append((words.extent, extent_text(stats.bbox, lang)))
    if stats.interval is not None:
        start, end = (_instant(t, lang) for t in stats.interval)
        facts.append((words.period, f"{start} – {end}"))
    return [(term, value) for term, value in facts if value]


def schema_rows(spec: LayerSpec, lang: Lang, *, queryables: bool) -> list[dict[str, Any]]:
    """One row per property of the schema or the queryables, in words."""
    words = words_for(lang)
    rows: list[dict[str, Any]] = []
    if not queryables:
        rows.append(
            {
                "title": words.identifier,
                "name": "id",
                "type": htmlvalues.type_words(FieldType.INTEGER, lang),
                "unit": "",
                "allowed": "",
                "required": True,
            }
        )
    rows.append(
        {
            "title": words.geometry,
            "name": "geometry",
            "type": htmlvalues.geometry_words(spec.geometry, lang),
            "unit": "",
            "allowed": "",
            "required": not queryables,
        }
    )
    for field in spec.fields_for(AUDIENCE):
        rows.append(
            {
                "title": field.title.get(lang),
                "name": field.name,
                "type": htmlvalues.type_words(field.type, lang),
                "unit": htmlvalues.unit_symbol(field.unit, lang),
                "allowed": htmlvalues.allowed_values(field, lang),
                "required": field.required and not queryables,
            }
        )
    return rows


def record_rows(spec: LayerSpec, record: dict[str, Any], lang: Lang) -> list[tuple[str, str]]:
    """The description list of one catalogue record."""
    words = words_for(lang)
    properties = record["properties"]
    updated = properties.get("updated")
    changed = htmlvalues.moment(datetime.fromisoformat(updated), lang) if updated else ""
    rows = [
        (words.description, spec.description.get(lang)),
        (words.count, htmlvalues.number(properties.get("featureCount") or 0, lang)),
        (words.geometry, htmlvalues.geometry_words(spec.geometry, lang)),
        (words.theme, theme_title(spec.theme)[lang]),
        (words.keywords, ", ".join(properties.get("keywords") or [])),
        (words.owner, spec.owner.get(lang)),
        (words.licence, spec.licence),
        (words.attribution, spec.attribution or ""),
        (words.updated, changed),
        (words.frequency, htmlvalues.frequency_words(spec.update_frequency, lang)),
    ]
    geometry = record.get("geometry")
    if geometry:
        ring = geometry["coordinates"][0]
        rows.append((words.extent, extent_text([*ring[0], *ring[2]], lang)))
    return [(term, value) for term, value in rows if value]
