"""Coordinates written as text: decimal degrees or degrees-minutes-seconds.

Accepts the spellings found in Ukrainian registers and spreadsheets, e.g.
``N 50°50'22"``, ``50°50′22″ пн. ш.``, ``E 33° 41’ 0"``, ``50 50 22.5 N``,
``50,8394`` and ``-33.5``.
"""

from __future__ import annotations

import re
from typing import Literal

from gisplatform.i18n import invalid

Axis = Literal["lat", "lon"]

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Hemisphere words: Latin letters and Ukrainian abbreviations (пн./пд. ш., сх./зх. д.).
_HEMISPHERES: tuple[tuple[re.Pattern[str], Axis, int], ...] = (
    (re.compile(r"пн\.?\s*(?:ш\.?)?|півн\w*", re.IGNORECASE), "lat", 1),
    (re.compile(r"пд\.?\s*(?:ш\.?)?|півд\w*", re.IGNORECASE), "lat", -1),
    (re.compile(r"сх\.?\s*(?:д\.?)?|схід\w*", re.IGNORECASE), "lon", 1),
    (re.compile(r"зх\.?\s*(?:д\.?)?|захід\w*", re.IGNORECASE), "lon", -1),
    (re.compile(r"(?<![A-Za-z])N(?![A-Za-z])", re.IGNORECASE), "lat", 1),
    (re.compile(r"(?<![A-Za-z])S(?![A-Za-z])", re.IGNORECASE), "lat", -1),
    (re.compile(r"(?<![A-Za-z])E(?![A-Za-z])", re.IGNORECASE), "lon", 1),
    (re.compile(r"(?<![A-Za-z])W(?![A-Za-z])", re.IGNORECASE), "lon", -1),
)
_ALLOWED_REST = re.compile(r"^[\s°º˚'′’‘`´\"″”“:\-−+dmsDMS]*$")


def parse_coordinate(text: str) -> tuple[float, Axis | None]:
    """Decimal degrees from ``text`` and the axis its hemisphere letter names, if any.

    Raises ``ValueError`` with a readable reason when the text is not a coordinate.
    """
    original = text
    text = text.strip()
    if not text:
        raise invalid("dms_empty")
    axis: Axis | None = None
    sign = 1
    for pattern, hemisphere_axis, hemisphere_sign in _HEMISPHERES:
        found = pattern.search(text)
        if found:
            axis, sign = hemisphere_axis, hemisphere_sign
            text = (text[: found.start()] + " " + text[found.end() :]).strip()
            break
    if text.startswith(("-", "−")):
        sign = -sign
    numbers = _NUMBER.findall(text)
    rest = _NUMBER.sub(" ", text)
    if not numbers or len(numbers) > 3 or not _ALLOWED_REST.match(rest):
        raise invalid("dms_not_coordinate", value=repr(original))
    parts = [float(n.replace(",", ".")) for n in numbers]
    degrees = parts[0]
    minutes = parts[1] if len(parts) > 1 else 0.0
    seconds = parts[2] if len(parts) > 2 else 0.0
    if minutes >= 60 or seconds >= 60:
        raise invalid("dms_sixty", value=repr(original))
    if len(parts) > 1 and not degrees.is_integer():
        raise invalid("dms_fraction", value=repr(original))
    value = sign * (degrees + minutes / 60 + seconds / 3600)
    limit = 90 if axis == "lat" else 180
    if abs(value) > limit:
        raise invalid("dms_range", value=repr(original), limit=limit)
    return value, axis


def looks_like_dms(text: str) -> bool:
    """True when ``text`` carries degree/minute marks or a hemisphere word."""
    try:
        parse_coordinate(text)
    except ValueError:
        return False
    return bool(re.search(r"[°º˚'′’\"″]|\s\d", text.strip())) or not _is_plain_number(text)


def _is_plain_number(text: str) -> bool:
    try:
        float(text.strip().replace(",", "."))
    except ValueError:
        return False
    return True
