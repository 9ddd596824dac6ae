"""Parsing one raw value into the Python value a layer field stores.

Each parser raises ``ValueError`` with a reader-friendly reason. ``None`` means
"no value" (empty strings, NaN and NaT count as no value).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from gisplatform.i18n import invalid
from gisplatform.registry import FieldSpec, FieldType

#: Naive date-times in files are taken as local time of the hromada.
LOCAL_ZONE = ZoneInfo("Europe/Kyiv")
INT32 = (-(2**31), 2**31 - 1)
_TRUE = frozenset({"true", "t", "yes", "y", "1", "так", "+", "істина", "да"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "ні", "-", "хибність", "нет"})
_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def is_missing(raw: object) -> bool:
    """True for None, NaN/NaT and blank strings."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list | tuple | np.ndarray):
        return False
    return bool(pd.isna(raw))


def _text(raw: object) -> str:
    if isinstance(raw, float | np.floating) and float(raw).is_integer():
        return str(int(raw))
    text = str(raw).strip()
    if "\x00" in text:
        raise invalid("value_nul")
    return text


def _string(f: FieldSpec, raw: object) -> str:
    text = _text(raw)
    if f.max_length is not None and len(text) > f.max_length:
        raise invalid("value_too_long", length=len(text), maximum=f.max_length)
    if f.pattern is not None and not re.search(f.pattern, text):
        raise invalid("value_pattern", value=repr(text), pattern=f.pattern)
    return text


def _number(f: FieldSpec, raw: object) -> float:
    if isinstance(raw, bool | np.bool_):
        raise invalid("value_boolean_not_number", value=repr(raw))
    if isinstance(raw, int | float | np.integer | np.floating):
        value = float(raw)
    else:
        text = re.sub(r"[\s\u00a0]", "", str(raw)).replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            key = "value_not_integer" if f.type is FieldType.INTEGER else "value_not_number"
            raise invalid(key, value=repr(str(raw).strip())) from None
    if not math.isfinite(value):
        raise invalid("value_not_finite", value=repr(raw))
    if f.minimum is not None and value < f.minimum:
        raise invalid("value_below_minimum", value=f"{value:g}", minimum=f"{f.minimum:g}")
    if f.maximum is not None and value > f.maximum:
        raise invalid("value_above_maximum", value=f"{value:g}", maximum=f"{f.maximum:g}")
    return value


def _integer(f: FieldSpec, raw: object) -> int:
    value = _number(f, raw)
    if not value.is_integer():
        raise invalid("value_not_whole", value=repr(raw))
    if not INT32[0] <= value <= INT32[1]:
        raise invalid("value_int32", value=f"{value:g}")
    return int(value)


def _boolean(f: FieldSpec, raw: object) -> bool:
    if isinstance(raw, bool | np.bool_):
        return bool(raw)
    text = _text(raw).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise invalid("value_not_boolean", value=repr(raw))


def _datetime(f: FieldSpec, raw: object) -> datetime:
    if isinstance(raw, pd.Timestamp):
        raw = raw.to_pydatetime()
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime.combine(raw, time())
    else:
        text = _text(raw)
        match = _DMY.match(text)
        try:
            if match:
                d, m, y, hh, mm, ss = match.groups()
                value = datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
            else:
                value = datetime.fromisoformat(text.replace("/", "-"))
        except ValueError:
            key = "value_not_date" if f.type is FieldType.DATE else "value_not_datetime"
            raise invalid(key, value=repr(text)) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_ZONE)
    return value


def _date(f: FieldSpec, raw: object) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    value = _datetime(f, raw)
    if value.time() != time():
        raise invalid("value_has_time", value=repr(raw))
    return value.date()


def _enum(f: FieldSpec, raw: object) -> str:
    text = _text(raw)
    entry = f.enum_value(text)
    if entry is None:
        allowed = ", ".join(f"{v.value} ({v.uk})" for v in f.values[:8])
        more = " …" if len(f.values) > 8 else ""
        raise invalid("value_unknown_enum", value=repr(text), allowed=allowed + more)
    return entry.value


def _string_list(f: FieldSpec, raw: object) -> list[str]:
    if isinstance(raw, list | tuple | np.ndarray):
        items = [str(v) for v in raw]
    else:
        text = _text(raw)
        if text.startswith("["):
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError:
                raise invalid("value_not_json_list", value=repr(text)) from None
            items = [str(v) for v in loaded] if isinstance(loaded, list) else [text]
        else:
            items = text.split(";")
    return [_string(f, item) for item in items if item.strip()]


PARSERS: dict[FieldType, Callable[[FieldSpec, object], object]] = {
    FieldType.STRING: _string,
    FieldType.INTEGER: _integer,
    FieldType.NUMBER: _number,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.ENUM: _enum,
    FieldType.STRING_LIST: _string_list,
}


def parse_value(f: FieldSpec, raw: object) -> object:
    """The stored value of ``raw`` for field ``f`` (``None`` when missing)."""
    if is_missing(raw):
        return None
    return PARSERS[f.type](f, raw)
