"""The message catalogue: every message in uk and en, shown in the reader's language."""

from __future__ import annotations

import ast
import re
import string

import httpx
import pytest

from gisplatform.i18n import Text, locale_language, message, use_language
from gisplatform.i18n.catalogue import CATALOGUE
from gisplatform.registry import LayerRegistry
from gisplatform.settings import PROJECT_ROOT
from tests.ogcapi_helpers import live_server


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    source = (PROJECT_ROOT / "gisplatform" / "i18n" / "catalogue.py").read_text("utf-8")
    (assign,) = [n for n in ast.parse(source).body if isinstance(n, ast.AnnAssign)]
    assert isinstance(assign.value, ast.Dict)
    keys = [k.value for k in assign.value.keys if isinstance(k, ast.Constant)]
    assert len(keys) == len(set(keys)), "a key is defined twice"
    for key, entry in CATALOGUE.items():
        assert set(entry) == {"uk", "en"}, key
        assert entry["uk"].strip() and entry["en"].strip(), key
        assert _fields(entry["uk"]) == _fields(entry["en"]), key
        bare = re.sub(r"\{[^}]*\}", "", entry["en"])
        words = "".join(c for c in bare if c.isalpha() and c.isascii())
        if len(words) > 12:  # a sentence, not a bare "{option}: {message}"
            assert entry["uk"] != entry["en"], key


def test_text_renders_in_the_current_language() -> None:
    text = message("required_missing")
    assert isinstance(text, Text) and text.key == "required_missing"
    with use_language("uk"):
        assert str(text) == "обов'язкове значення відсутнє"
    with use_language("en"):
        assert str(text) == "required value is missing"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "uk"),
        ({"LANG": "C.UTF-8"}, "uk"),
        ({"LANG": "uk_UA.UTF-8"}, "uk"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "GISPLATFORM_LANG": "uk"}, "uk"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "uk_UA.UTF-8"}, "en"),
    ],
)
def test_cli_language_follows_the_locale(environ: dict[str, str], expected: str) -> None:
    assert locale_language(environ) == expected


@pytest.fixture(scope="module")
def api(demo_db_url: str, registry: LayerRegistry) -> httpx.Client:
    with live_server(demo_db_url, registry) as (root, _):
        yield httpx.Client(base_url=root + "/ogc", timeout=60)


def test_api_errors_in_ukrainian_by_default_english_on_request(api: httpx.Client) -> None:
    url = "/collections/shelters/items"
    uk = api.get(url, params={"limit": "багато"})
    assert uk.status_code == 400 and uk.headers["content-language"] == "uk"
    assert uk.json()["description"] == "limit: очікується ціле число"
    en = api.get(url, params={"limit": "багато", "lang": "en"})
    assert en.json()["description"] == "limit: expected an integer"
    header = api.get(url, params={"bbox": "1,2"}, headers={"Accept-Language": "en-GB,en"})
    assert header.json()["description"] == "bbox: four or six comma-separated numbers"
    cql = api.get(url, params={"filter": "nosuch = 1"})
    assert cql.json()["description"] == "filter: невідома властивість «nosuch»"
    missing = api.get("/collections/no_such_layer")
    assert missing.status_code == 404 and missing.json()["description"] == "колекцію не знайдено"


def test_analysis_errors_in_ukrainian_by_default_english_on_request(api: httpx.Client) -> None:
    url = "/processes/nearest-shelter/execution"
    outside = {"inputs": {"origin": {"lon": 30.52, "lat": 50.45}}}
    uk = api.post(url, json=outside)
    assert uk.status_code == 400 and uk.headers["content-language"] == "uk"
    assert uk.json()["description"] == "недійсний вхід origin: точка лежить поза межею громади"
    en = api.post(url, params={"lang": "en"}, json=outside)
    assert en.json()["description"] == (
        "invalid input origin: the point lies outside the hromada boundary"
    )
    far = {"inputs": {"origin": {"lon": 33.475, "lat": 50.751}, "search_radius_m": 100_000}}
    assert api.post(url, json=far).json()["description"] == (
        "недійсний вхід search_radius_m: має бути не більше 5000"
    )
    assert (
        api.post(url, content=b"[]", headers={"Content-Type": "application/json"}).json()[
            "description"
        ]
        == "тіло запиту має бути об'єктом JSON (запит на виконання)"
    )
