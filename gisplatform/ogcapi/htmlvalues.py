"""Values as people read them on the HTML pages, in the page language, from the registry.

One module formats every value an HTML page shows: enum labels instead of codes, так/ні,
lists joined with commas, dates as ``01.12.2026`` (uk) or ``1 Dec 2026`` (en), numbers with
a decimal comma and a no-break-space thousands separator in Ukrainian, units after numbers
with plural-correct nouns (1 особа, 2 особи, 5 осіб; CLDR rules through Babel), OSM opening
hours in words. A missing value is an empty string; nothing ever shows a Python repr.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.numbers import format_decimal

from gisplatform.ogcapi.openinghours import readable_opening_hours
from gisplatform.registry import FieldSpec, FieldType, GeometryType
from gisplatform.registry.spec import TextFormat, UpdateFrequency

#: what an empty cell of a one-feature page shows
MISSING = "—"
#: between a number and its unit: never broken across lines
NBSP = "\u00a0"
_LOCAL_TIME = "Europe/Kyiv"

_YES_NO = {"uk": ("так", "ні"), "en": ("yes", "no")}
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: a unit is a symbol (м², кВт) or a counted noun with its CLDR plural forms
UNITS: dict[str, dict[str, str | dict[str, str]]] = {
    "persons": {
        "uk": {"one": "особа", "few": "особи", "many": "осіб", "other": "особи"},
        "en": {"one": "person", "other": "people"},
    },
    "seats": {
        "uk": {"one": "місце", "few": "місця", "many": "місць", "other": "місця"},
        "en": {"one": "seat", "other": "seats"},
    },
    "floors": {
        "uk": {"one": "поверх", "few": "поверхи", "many": "поверхів", "other": "поверху"},
        "en": {"one": "floor", "other": "floors"},
    },
    "m": {"uk": "м", "en": "m"},
    "km": {"uk": "км", "en": "km"},
    "m2": {"uk": "м²", "en": "m²"},
    "km2": {"uk": "км²", "en": "km²"},
    "ha": {"uk": "га", "en": "ha"},
    "W": {"uk": "Вт", "en": "W"},
    "kW": {"uk": "кВт", "en": "kW"},
}

_TYPE_WORDS: dict[FieldType, dict[str, str]] = {
    FieldType.STRING: {"uk": "текст", "en": "text"},
    FieldType.INTEGER: {"uk": "ціле число", "en": "whole number"},
    FieldType.NUMBER: {"uk": "число", "en": "number"},
    FieldType.BOOLEAN: {"uk": "так / ні", "en": "yes / no"},
    FieldType.DATE: {"uk": "дата", "en": "date"},
    FieldType.DATETIME: {"uk": "дата й час", "en": "date and time"},
    FieldType.ENUM: {"uk": "один із переліку", "en": "one of a list"},
    FieldType.STRING_LIST: {"uk": "список текстів", "en": "list of texts"},
}
_GEOMETRY_WORDS: dict[GeometryType, dict[str, str]] = {
    GeometryType.POINT: {"uk": "точка", "en": "point"},
    GeometryType.MULTIPOINT: {"uk": "точки", "en": "points"},
    GeometryType.LINESTRING: {"uk": "лінія", "en": "line"},
    GeometryType.MULTILINESTRING: {"uk": "лінії", "en": "lines"},
    GeometryType.POLYGON: {"uk": "полігон", "en": "polygon"},
    GeometryType.MULTIPOLYGON: {"uk": "полігони", "en": "polygons"},
}
_FREQUENCY_WORDS: dict[UpdateFrequency, dict[str, str]] = {
    UpdateFrequency.CONTINUAL: {"uk": "постійно", "en": "continually"},
    UpdateFrequency.DAILY: {"uk": "щодня", "en": "daily"},
    UpdateFrequency.WEEKLY: {"uk": "щотижня", "en": "weekly"},
    UpdateFrequency.MONTHLY: {"uk": "щомісяця", "en": "monthly"},
    UpdateFrequency.QUARTERLY: {"uk": "щокварталу", "en": "quarterly"},
    UpdateFrequency.ANNUALLY: {"uk": "щороку", "en": "annually"},
    UpdateFrequency.AS_NEEDED: {"uk": "за потреби", "en": "as needed"},
    UpdateFrequency.IRREGULAR: {"uk": "нерегулярно", "en": "irregularly"},
}


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "uk"


@lru_cache(maxsize=2)
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


@lru_cache(maxsize=1)
def _local_zone() -> ZoneInfo | None:
    try:
        return ZoneInfo(_LOCAL_TIME)
    except ZoneInfoNotFoundError:  # no time-zone data: times stay as stored
        return None


def plural_category(number: float, lang: str) -> str:
    """The CLDR plural category of ``number`` in ``lang`` (one, few, many, other)."""
    category: str = _locale(_lang(lang)).plural_form(number)
    return category


def number(value: float, lang: str, *, grouping: bool = True) -> str:
    """``1 234,5`` in Ukrainian (no-break space, decimal comma), ``1,234.5`` in English."""
    return format_decimal(value, locale=_locale(_lang(lang)), group_separator=grouping)


def unit_label(unit: str, quantity: float, lang: str) -> str:
    """The unit's word or symbol for ``quantity`` (plural-correct for counted nouns)."""
    forms = UNITS.get(unit, {}).get(_lang(lang), unit)
    if isinstance(forms, str):
        return forms
    return forms.get(plural_category(quantity, lang), forms["other"])


def quantity(value: float, unit: str | None, lang: str, *, grouping: bool = True) -> str:
    """A number followed by its unit: ``5 осіб``, ``35,1 м²``."""
    text = number(value, lang, grouping=grouping)
    return f"{text}{NBSP}{unit_label(unit, value, lang)}" if unit else text


def yes_no(value: bool, lang: str) -> str:
    """так/ні, yes/no."""
    yes, no = _YES_NO[_lang(lang)]
    return yes if value else no


def day(value: date, lang: str) -> str:
    """``01.12.2026`` in Ukrainian, ``1 Dec 2026`` in English."""
    if _lang(lang) == "en":
        return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
    return f"{value.day:02d}.{value.month:02d}.{value.year}"


def moment(value: datetime, lang: str) -> str:
    """A date and a time of day (local time of Ukraine when the value has a zone)."""
    zone = _local_zone()
    if value.tzinfo is not None and zone is not None:
        value = value.astimezone(zone)
    separator = ", " if _lang(lang) == "en" else " "
    return f"{day(value.date(), lang)}{separator}{value:%H:%M}"


def _date_of(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _datetime_of(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def text(value: str, lang: str) -> str:
    """A free text; OSM opening hours are put in words, anything else is kept."""
    readable = readable_opening_hours(value, lang) if any(c.isdigit() for c in value) else None
    return readable if readable is not None else value


def _year_like(field: FieldSpec) -> bool:
    """Whole numbers without a unit whose range is four digits (years) are not grouped."""
    return (
        field.type is FieldType.INTEGER
        and field.unit is None
        and field.minimum is not None
        and field.maximum is not None
        and 1000 <= field.minimum <= field.maximum <= 9999
    )


def enum_label(field: FieldSpec, value: str, lang: str) -> str:
    """The registry's label of an enum code in ``lang`` (the code when it is unknown)."""
    for entry in field.values:
        if entry.value == value:
            return entry.label(lang)
    return value


def field_value(field: FieldSpec, value: Any, lang: str) -> str:
    """``value`` of ``field`` for people in ``lang``; ``""`` when missing."""
    if value is None or value == "" or value == []:
        return ""
    kind = field.type
    if kind is FieldType.ENUM:
        return enum_label(field, str(value), lang)
    if kind is FieldType.BOOLEAN and isinstance(value, bool):
        return yes_no(value, lang)
    if kind.is_numeric and isinstance(value, int | float) and not isinstance(value, bool):
        return quantity(value, field.unit, lang, grouping=not _year_like(field))
    if kind is FieldType.DATE:
        parsed = _date_of(value)
        return day(parsed, lang) if parsed is not None else str(value)
    if kind is FieldType.DATETIME:
        instant = _datetime_of(value)
        return moment(instant, lang) if instant is not None else str(value)
    if isinstance(value, list | tuple):
        return ", ".join(plain(item, lang) for item in value if item is not None)
    if field.format is TextFormat.OPENING_HOURS:
        return text(str(value), lang)
    return str(value)


def plain(value: Any, lang: str) -> str:
    """A value that no field describes (counts, metadata): never a Python repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value, lang)
    if isinstance(value, int | float):
        return number(value, lang)
    if isinstance(value, datetime):
        return moment(value, lang)
    if isinstance(value, date):
        return day(value, lang)
    if isinstance(value, list | tuple):
        return ", ".join(plain(item, lang) for item in value if item is not None)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain(v, lang)}" for k, v in value.items() if v is not None)
    return text(str(value), lang)


def type_words(kind: FieldType, lang: str) -> str:
    """A field type in words (``ціле число``)."""
    return _TYPE_WORDS[kind][_lang(lang)]


def geometry_words(geometry: GeometryType, lang: str) -> str:
    """The geometry type in words (``точка``)."""
    return _GEOMETRY_WORDS[geometry][_lang(lang)]


def frequency_words(frequency: UpdateFrequency, lang: str) -> str:
    """How often a layer is updated, in words (``щотижня``)."""
    return _FREQUENCY_WORDS[frequency][_lang(lang)]


def allowed_values(field: FieldSpec, lang: str) -> str:
    """Enum labels or the numeric range of a field, for the schema page."""
    if field.values:
        return ", ".join(entry.label(lang) for entry in field.values)
    low, high = field.minimum, field.maximum
    if low is None and high is None:
        return ""
    grouping = not _year_like(field)
    shown = [number(v, lang, grouping=grouping) if v is not None else "" for v in (low, high)]
    if low is not None and high is not None:
        return f"{shown[0]}–{shown[1]}"
    return f"≥ {shown[0]}" if low is not None else f"≤ {shown[1]}"


def unit_symbol(unit: str | None, lang: str) -> str:
    """The unit as a column heading shows it (plural ``other`` form for nouns)."""
    if unit is None:
        return ""
    forms = UNITS.get(unit, {}).get(_lang(lang), unit)
    return forms if isinstance(forms, str) else forms["many" if "many" in forms else "other"]


def coordinate_range(low: float, high: float, axis: str, lang: str) -> str:
    """``33,255–33,720° сх. д.``: an extent along one axis (``lon`` or ``lat``)."""
    words = {"uk": {"lon": "сх. д.", "lat": "пн. ш."}, "en": {"lon": "E", "lat": "N"}}
    pattern = "0.000"
    shown = [format_decimal(v, format=pattern, locale=_locale(_lang(lang))) for v in (low, high)]
    return f"{shown[0]}–{shown[1]}°{NBSP}{words[_lang(lang)][axis]}"
