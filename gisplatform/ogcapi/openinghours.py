"""OpenStreetMap ``opening_hours`` strings as people read them, for the common forms.

Understood: ``24/7``; rules separated by ``;``, each an optional weekday selector (``Mo-Fr``,
``Tu,Th``, ``PH``) followed by time spans (``08:00-12:00,13:00-17:00``) or ``off``/``closed``.
Anything else (months, weeks, comments, ``||``, sunrise) gives ``None``: the caller shows the
raw text rather than a wrong reading.
"""

from __future__ import annotations

import re

_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_DAY_NAMES = {
    "uk": ("пн", "вт", "ср", "чт", "пт", "сб", "нд"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_WORDS = {
    "uk": {"always": "цілодобово", "daily": "щодня", "off": "зачинено", "PH": "святкові дні"},
    "en": {"always": "24/7", "daily": "daily", "off": "closed", "PH": "public holidays"},
}
_DAY = r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)"
_DAY_ITEM = rf"{_DAY}(?:-{_DAY})?"
_TIME = r"(?:[01]?\d|2[0-4]):[0-5]\d"
_SPAN = rf"{_TIME}-{_TIME}"
_RULE = re.compile(
    rf"^(?:(?P<days>{_DAY_ITEM}(?:,{_DAY_ITEM})*)\s*)?"
    rf"(?:(?P<spans>{_SPAN}(?:\s*,\s*{_SPAN})*)|(?P<off>off|closed))?$"
)
_DASH = "–"


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "uk"


def _days(selector: str, lang: str) -> str | None:
    names, words = _DAY_NAMES[lang], _WORDS[lang]
    parts: list[str] = []
    for item in selector.split(","):
        first, _, last = item.partition("-")
        if first == "PH" or last == "PH":
            if last:
                return None
            parts.append(words["PH"])
            continue
        if not last:
            parts.append(names[_DAYS.index(first)])
        elif (_DAYS.index(first), _DAYS.index(last)) == (0, 6):
            parts.append(words["daily"])
        else:
            parts.append(f"{names[_DAYS.index(first)]}{_DASH}{names[_DAYS.index(last)]}")
    return ", ".join(parts)


def _time(text: str) -> str:
    hours, minutes = text.split(":")
    return f"{int(hours):02d}:{minutes}"


def _spans(text: str, lang: str) -> str | None:
    shown: list[str] = []
    for span in (s.strip() for s in text.split(",")):
        start, end = (_time(t) for t in span.split("-"))
        if start > "24:00" or end > "24:00":
            return None
        if (start, end) == ("00:00", "24:00"):
            shown.append(_WORDS[lang]["always"])
        else:
            shown.append(f"{start}{_DASH}{end}")
    return ", ".join(shown)


def _rule(rule: str, lang: str) -> str | None:
    """One rule in words."""
    words = _WORDS[lang]
    if rule == "24/7":
        return words["always"]
    match = _RULE.match(rule)
    if match is None or not (match["spans"] or match["off"]):
        return None
    days = _days(match["days"], lang) if match["days"] else None
    if match["days"] and days is None:
        return None
    if match["off"]:
        when = words["off"]
    else:
        spans = _spans(match["spans"], lang)
        if spans is None:
            return None
        when = spans
    if days in (None, words["daily"]) and when == words["always"]:
        return when
    if days is None:
        days = words["daily"] if match["spans"] else None
    if not days:
        return when
    return f"{days} — {when}" if match["off"] else f"{days} {when}"


def readable_opening_hours(text: str, lang: str) -> str | None:
    """``text`` in words of ``lang`` (``uk``/``en``), or ``None`` when not understood."""
    lang = _lang(lang)
    rules = [part.strip() for part in text.strip().removesuffix(";").split(";")]
    if any(not rule for rule in rules):
        return None
    shown: list[str] = []
    for rule in rules:
        read = _rule(rule, lang)
        if read is None:
            return None
        shown.append(read)
    return "; ".join(shown)
