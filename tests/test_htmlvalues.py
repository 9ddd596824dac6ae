"""The HTML pages' value formatting: plurals, numbers, dates, opening hours, registry fields."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from gisplatform.ogcapi import htmlvalues as hv
from gisplatform.ogcapi.html import script_json
from gisplatform.ogcapi.openinghours import readable_opening_hours
from gisplatform.registry import Access, FieldType, LayerRegistry

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("count", "uk", "en"),
    [
        (0, "0 осіб", "0 people"),
        (1, "1 особа", "1 person"),
        (2, "2 особи", "2 people"),
        (4, "4 особи", "4 people"),
        (5, "5 осіб", "5 people"),
        (11, "11 осіб", "11 people"),
        (12, "12 осіб", "12 people"),
        (21, "21 особа", "21 people"),
        (22, "22 особи", "22 people"),
        (25, "25 осіб", "25 people"),
        (111, "111 осіб", "111 people"),
        (1234, "1 234 особи", "1,234 people"),
        (1235, "1 235 осіб", "1,235 people"),
    ],
)
def test_counted_units_take_the_plural_of_their_number(count: int, uk: str, en: str) -> None:
    assert hv.quantity(count, "persons", "uk") == uk.replace(" ", NBSP)
    assert hv.quantity(count, "persons", "en") == en.replace(" ", NBSP)


def test_fractions_and_symbols() -> None:
    assert hv.quantity(1.5, "persons", "uk") == f"1,5{NBSP}особи"
    assert hv.quantity(35.1, "m2", "uk") == f"35,1{NBSP}м²"
    assert hv.quantity(18.6, "kW", "en") == f"18.6{NBSP}kW"
    assert hv.quantity(3, "seats", "uk") == f"3{NBSP}місця"
    assert hv.quantity(7, "unknown_unit", "uk") == f"7{NBSP}unknown_unit"


def test_numbers_have_a_decimal_comma_and_grouped_thousands_in_ukrainian() -> None:
    assert hv.number(1234.5, "uk") == f"1{NBSP}234,5"
    assert hv.number(1234.5, "en") == "1,234.5"
    assert hv.number(1234567, "uk") == f"1{NBSP}234{NBSP}567"
    assert hv.number(0.125, "uk") == "0,125"
    assert hv.number(1975, "uk", grouping=False) == "1975"


def test_dates_and_times() -> None:
    assert hv.day(date(2026, 12, 1), "uk") == "01.12.2026"
    assert hv.day(date(2026, 12, 1), "en") == "1 Dec 2026"
    instant = datetime.fromisoformat("2026-07-01T06:05:00+00:00")  # 09:05 in Kyiv (summer)
    assert hv.moment(instant, "uk") == "01.07.2026 09:05"
    assert hv.moment(instant, "en") == "1 Jul 2026, 09:05"
    winter = datetime.fromisoformat("2026-12-01T06:05:00+00:00")
    assert hv.moment(winter, "uk") == "01.12.2026 08:05"


@pytest.mark.parametrize(
    ("raw", "uk", "en"),
    [
        ("24/7", "цілодобово", "24/7"),
        (
            "Mo-Fr 08:00-17:00; Sa 09:00-13:00",
            "пн–пт 08:00–17:00; сб 09:00–13:00",
            "Mon–Fri 08:00–17:00; Sat 09:00–13:00",
        ),
        ("Tu,Th 09:00-13:00", "вт, чт 09:00–13:00", "Tue, Thu 09:00–13:00"),
        ("Mo-Su 00:00-24:00", "цілодобово", "24/7"),
        ("Mo-Su 08:00-20:00", "щодня 08:00–20:00", "daily 08:00–20:00"),
        (
            "08:00-12:00,13:00-17:00",
            "щодня 08:00–12:00, 13:00–17:00",
            "daily 08:00–12:00, 13:00–17:00",
        ),
        (
            "Mo-Fr 8:00-17:00; Su off",
            "пн–пт 08:00–17:00; нд — зачинено",
            "Mon–Fri 08:00–17:00; Sun — closed",
        ),
        ("PH off", "святкові дні — зачинено", "public holidays — closed"),
    ],
)
def test_opening_hours_in_words(raw: str, uk: str, en: str) -> None:
    assert readable_opening_hours(raw, "uk") == uk
    assert readable_opening_hours(raw, "en") == en


@pytest.mark.parametrize(
    "raw",
    [
        "sunrise-sunset",
        "Mo",
        "Jan-Mar Mo 10:00-12:00",
        "Mo-Fr 08:00-25:00",
        "",
        "за домовленістю",
        'Mo-Fr 08:00-17:00 || "by appointment"',
        "Mo-PH 10:00-12:00",
    ],
)
def test_opening_hours_not_understood_are_kept_raw(raw: str) -> None:
    assert readable_opening_hours(raw, "uk") is None
    assert hv.text(raw, "uk") == raw


def test_every_field_type_of_the_registry_reads_as_words(registry: LayerRegistry) -> None:
    shelters = registry.get("shelters", Access.PUBLIC)
    readiness = shelters.field("readiness")
    assert hv.field_value(readiness, "limited_ready", "uk") == readiness.values[1].uk
    assert hv.field_value(readiness, "limited_ready", "en") == readiness.values[1].en
    assert hv.field_value(shelters.field("heating"), True, "uk") == "так"
    assert hv.field_value(shelters.field("heating"), False, "en") == "no"
    assert hv.field_value(shelters.field("heating"), None, "uk") == ""
    checked = shelters.field("readiness_checked_at")
    assert hv.field_value(checked, "2025-02-19", "uk") == "19.02.2025"
    capacity = shelters.field("capacity_persons")
    assert hv.field_value(capacity, 932, "uk") == f"932{NBSP}особи"
    assert hv.field_value(shelters.field("opening_hours"), "24/7", "uk") == "цілодобово"
    lists = [f for s in registry for f in s.fields if f.type is FieldType.STRING_LIST]
    assert lists
    assert hv.field_value(lists[0], ["3", "7а"], "uk") == "3, 7а"
    assert hv.field_value(lists[0], [], "uk") == ""
    years = [f for s in registry for f in s.fields if f.name == "year_built"]
    assert hv.field_value(years[0], 1975, "uk") == "1975"  # a year is not "1 975"
    for value in (True, None, ["a", "b"], {"a": 1}, 1.5, date(2026, 1, 2)):
        shown = hv.plain(value, "uk")
        assert "True" not in shown and "None" not in shown and "[" not in shown
        assert "{" not in shown


def test_schema_words() -> None:
    assert hv.type_words(FieldType.BOOLEAN, "uk") == "так / ні"
    assert hv.unit_symbol("persons", "uk") == "осіб"
    assert hv.unit_symbol("m2", "en") == "m²"


def test_map_json_cannot_close_its_script_element() -> None:
    evil = {"title": "</script><script>alert(1)</script><!-- & ]]>"}
    text = str(script_json(evil))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == evil


def test_cells_link_web_addresses_and_escape_everything_else() -> None:
    from gisplatform.ogcapi.html import _environment

    template = _environment().from_string(
        '{% from "macros.html" import value as show %}{{ show(a) }}|{{ show(b) }}|{{ show(c) }}'
    )
    shown = template.render(a='https://x.org/p?a=1&b="2"', b="javascript:alert(1)", c="<b>")
    link, script, tag = shown.split("|")
    assert link.startswith('<a href="https://x.org/p?a=1&amp;b=&#34;2&#34;" rel="nofollow')
    assert script == "javascript:alert(1)" and tag == "&lt;b&gt;"
