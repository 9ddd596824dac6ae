"""The web form's submission: every bad input is a clear uk/en 4xx and stores nothing."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from io import BytesIO
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from PIL import Image

from gisplatform.registry import LayerRegistry
from tests.reports_helpers import (
    INSIDE,
    OUTSIDE,
    counts,
    empty_reports,
    form_token_for,
    jpeg_with_gps,
    shelter_fid,
)
from tests.tiles_helpers import anyio_backend, make_app

pytestmark = [pytest.mark.db, pytest.mark.anyio]
__all__ = ["anyio_backend"]

NOTHING = {"requests": 0, "photos": 0, "transitions": 0}


@pytest.fixture
async def app(demo_db_url: str, registry: LayerRegistry) -> AsyncIterator[FastAPI]:
    """The platform app on the demo data, with no report stored yet."""
    empty_reports(demo_db_url)
    application = make_app(demo_db_url, registry)
    async with application.router.lifespan_context(application):
        yield application


def client(app: FastAPI, address: str = "192.0.2.10") -> httpx.AsyncClient:
    """A client of ``app`` sending from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


def shelter_form(app: FastAPI, **extra: Any) -> dict[str, Any]:
    """A valid shelter report at the hromada's centre, with ``extra`` fields over it."""
    fields: dict[str, Any] = {
        "kind": "shelter_problem",
        "lon": str(INSIDE[0]),
        "lat": str(INSIDE[1]),
        "answer.problem": "locked",
        "description": "Двері зачинені",
        "form_token": form_token_for(app),
        "website": "",
    }
    fields.update(extra)
    return {k: v for k, v in fields.items() if v is not None}


async def post(
    app: FastAPI,
    fields: dict[str, Any],
    photo: tuple[str, bytes, str] | None = None,
    lang: str = "en",
    address: str = "192.0.2.10",
) -> httpx.Response:
    """POST /reports as multipart/form-data."""
    files = {"photo": photo} if photo else {"_": ("", b"", "application/octet-stream")}
    async with client(app, address) as http:
        return await http.post(f"/reports?lang={lang}", data=fields, files=files)


async def test_a_valid_report_is_stored_with_its_status_page(
    app: FastAPI, demo_db_url: str
) -> None:
    response = await post(app, shelter_form(app, contact="+380501112233"), lang="uk")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status_url"].endswith(f"/reports/status/{body['token']}?lang=uk")
    assert counts(demo_db_url) == {"requests": 1, "photos": 0, "transitions": 1}
    with psycopg.connect(demo_db_url) as conn:
        row = conn.execute(
            "SELECT kind, answers, contact, status, source, token <> %s, client_hash "
            "FROM reports.requests",
            [body["token"]],
        ).fetchone()
    assert row is not None
    assert row[:6] == (
        "shelter_problem",
        {"problem": "locked"},
        "+380501112233",
        "unconfirmed",
        "web",
        True,  # only the token's hash is kept
    )
    assert "192.0.2.10" not in row[6]
    async with client(app) as http:
        page = await http.get(f"/reports/status/{body['token']}", params={"f": "json"})
    assert page.json()["status"] == "unconfirmed" and "contact" not in page.text
    assert "+380501112233" not in page.text


async def test_a_report_on_a_feature_takes_its_point(app: FastAPI, demo_db_url: str) -> None:
    fid = shelter_fid(demo_db_url)
    fields = shelter_form(
        app, lon=None, lat=None, layer="shelters", feature_id=str(fid), **{
            "answer.problem": "unfit", "answer.unfit_reasons": ["flooded", "no_light"]
        }
    )  # fmt: skip
    response = await post(app, fields)
    assert response.status_code == 201, response.text
    with psycopg.connect(demo_db_url) as conn:
        row = conn.execute(
            "SELECT r.layer, r.feature_id, r.answers, ST_Intersects(r.geom, s.geom) "
            "FROM reports.requests r, gis.shelters s WHERE s.fid = %s",
            [fid],
        ).fetchone()
    assert row == (
        "shelters",
        str(fid),
        {"problem": "unfit", "unfit_reasons": ["flooded", "no_light"]},
        True,
    )


@pytest.mark.parametrize(
    ("change", "status", "field", "uk", "en"),
    [
        (
            {"lon": str(OUTSIDE[0]), "lat": str(OUTSIDE[1])},
            422,
            "lat/lon",
            "поза межами громади",
            "outside the hromada",
        ),
        ({"kind": "pothole"}, 422, "kind", "немає такого виду", "no report kind 'pothole'"),
        (
            {"answer.problem": None},
            422,
            "answer.problem",
            "дайте відповідь на питання «Що сталося?»",
            "answer the question 'What is wrong?'",
        ),
        (
            {"answer.problem": "closed"},
            422,
            "answer.problem",
            "немає серед варіантів",
            "'closed' is not one of the options",
        ),
        (
            {"answer.unfit_reasons": "dirty"},
            422,
            "answer.unfit_reasons",
            "ставиться лише коли",
            "asked only when 'problem' is 'unfit'",
        ),
        ({"lat": "north"}, 422, "lat", "має бути числом", "must be a number"),
        ({"description": "x" * 2001}, 422, "description", "довше за 2000", "longer than 2000"),
        (
            {"layer": "shelters", "feature_id": "999999999"},
            422,
            "feature_id",
            "немає об'єкта 999999999",
            "has no feature 999999999",
        ),
    ],
)
async def test_bad_answers_and_places_name_the_field(
    app: FastAPI,
    demo_db_url: str,
    change: dict[str, Any],
    status: int,
    field: str,
    uk: str,
    en: str,
) -> None:
    fields = shelter_form(app)
    for name, value in change.items():
        if value is None:
            fields.pop(name)
        else:
            fields[name] = value
    for lang, expected in (("uk", uk), ("en", en)):
        response = await post(app, fields, lang=lang)
        assert response.status_code == status, response.text
        body = response.json()
        assert [e["field"] for e in body["errors"]] == [field]
        assert expected in body["description"] and field in body["description"]
        assert response.headers["content-language"] == lang
    assert counts(demo_db_url) == NOTHING


async def test_a_20_mb_photo_is_413(app: FastAPI, demo_db_url: str) -> None:
    big = b"\xff\xd8\xff" + b"0" * (20 * 1024 * 1024)
    for lang, expected in (("uk", "більший за"), ("en", "larger than")):
        response = await post(app, shelter_form(app), ("big.jpg", big, "image/jpeg"), lang=lang)
        assert response.status_code == 413 and expected in response.json()["description"]
    # under the body cap but over the photo cap
    photo = b"\xff\xd8\xff" + b"0" * (9 * 1024 * 1024)
    response = await post(app, shelter_form(app), ("nine.jpg", photo, "image/jpeg"))
    assert response.status_code == 413 and "photo is larger than 8 MB" in response.text
    assert counts(demo_db_url) == NOTHING


async def test_a_pdf_named_jpg_is_refused_by_its_content(app: FastAPI, demo_db_url: str) -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    for lang, expected in (("uk", "не є фотографією"), ("en", "not a JPEG, PNG or WebP")):
        response = await post(app, shelter_form(app), ("photo.jpg", pdf, "image/jpeg"), lang=lang)
        assert response.status_code == 415
        assert expected in response.json()["description"] and "PDF" in response.text
    assert counts(demo_db_url) == NOTHING


async def test_the_stored_photo_has_no_exif_and_stands_upright(
    app: FastAPI, demo_db_url: str
) -> None:
    original = jpeg_with_gps(40, 20, orientation=6)
    assert Image.open(BytesIO(original)).getexif().get_ifd(0x8825)  # the GPS is there
    response = await post(app, shelter_form(app), ("IMG_0001.jpg", original, "image/jpeg"))
    assert response.status_code == 201, response.text
    with psycopg.connect(demo_db_url) as conn:
        row = conn.execute(
            "SELECT content, media_type, width, height FROM reports.photos"
        ).fetchone()
    assert row is not None
    stored = Image.open(BytesIO(bytes(row[0])))
    assert stored.format == "JPEG" and row[1] == "image/jpeg"
    assert len(stored.getexif()) == 0 and "exif" not in stored.info
    assert b"TestPhone" not in bytes(row[0]) and b"Exif" not in bytes(row[0])
    assert (stored.width, stored.height) == (row[2], row[3]) == (20, 40)  # orientation applied


async def test_script_in_the_description_is_stored_and_shown_escaped(
    app: FastAPI, demo_db_url: str
) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = await post(app, shelter_form(app, description=attack))
    assert response.status_code == 201
    with psycopg.connect(demo_db_url) as conn:
        assert conn.execute("SELECT description FROM reports.requests").fetchone() == (attack,)
    async with client(app) as http:
        for lang in ("uk", "en"):
            page = await http.get(
                f"/reports/status/{response.json()['token']}", params={"f": "html", "lang": lang}
            )
            assert page.status_code == 200
            assert attack not in page.text and "<script>alert" not in page.text
            assert html.escape(attack, quote=False) in page.text.replace("&#34;", '"')


async def test_the_eleventh_report_in_a_minute_is_429(app: FastAPI, demo_db_url: str) -> None:
    for _ in range(10):
        assert (await post(app, shelter_form(app), address="198.51.100.7")).status_code == 201
    for lang, expected in (("uk", "забагато повідомлень"), ("en", "too many reports")):
        refused = await post(app, shelter_form(app), lang=lang, address="198.51.100.7")
        assert refused.status_code == 429 and expected in refused.json()["description"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
    # another address is not held back
    assert (await post(app, shelter_form(app), address="198.51.100.8")).status_code == 201
    assert counts(demo_db_url)["requests"] == 11


async def test_honeypot_form_token_and_fill_time(app: FastAPI, demo_db_url: str) -> None:
    bot = await post(app, shelter_form(app, website="http://spam.example"), lang="uk")
    assert bot.status_code == 400 and "оновіть сторінку" in bot.json()["description"]
    assert "website" not in bot.text  # a generic message: nothing tells the bot why
    fast = await post(app, shelter_form(app, form_token=form_token_for(app, age_s=0.5)))
    assert fast.status_code == 400 and "too quickly" in fast.json()["description"]
    forged = await post(app, shelter_form(app, form_token="1700000000000.deadbeef"))
    assert forged.status_code == 400
    missing = await post(app, shelter_form(app, form_token=None))
    assert missing.status_code == 400
    assert counts(demo_db_url) == NOTHING
    async with client(app) as http:
        issued = await http.get("/reports/form-token")
    assert issued.headers["cache-control"] == "no-store" and issued.json()["min_fill_s"] == 3.0


async def test_kinds_are_localized_for_the_form(app: FastAPI) -> None:
    async with client(app) as http:
        uk = (await http.get("/reports/kinds", params={"lang": "uk"})).json()
        en = (await http.get("/reports/kinds", params={"lang": "en"})).json()
    shelter = next(k for k in uk["kinds"] if k["code"] == "shelter_problem")
    assert shelter["title"] == "Проблема з укриттям" and shelter["layer"] == "shelters"
    problem = shelter["questions"][0]
    assert problem["required"] and problem["options"][0] == {"code": "locked", "title": "Зачинено"}
    assert shelter["questions"][1]["when"] == {"question": "problem", "equals": "unfit"}
    assert en["kinds"][1]["title"] == "Problem with a shelter"
    assert uk["layers"] == ["shelters", "street_lights"] and uk["honeypot"] == "website"


async def test_an_unknown_status_token_is_404(app: FastAPI) -> None:
    async with client(app) as http:
        response = await http.get("/reports/status/nope", params={"f": "json", "lang": "uk"})
    assert response.status_code == 404 and "не знайдено" in response.json()["description"]


async def test_a_large_png_is_stored_as_a_capped_jpeg(app: FastAPI, demo_db_url: str) -> None:
    out = BytesIO()
    Image.new("RGB", (3000, 1000), (10, 120, 200)).save(out, "PNG")
    response = await post(app, shelter_form(app), ("plan.png", out.getvalue(), "image/png"))
    assert response.status_code == 201, response.text
    with psycopg.connect(demo_db_url) as conn:
        row = conn.execute(
            "SELECT content, media_type, width, height FROM reports.photos"
        ).fetchone()
    assert row is not None and row[1:] == ("image/jpeg", 2048, 683)
    assert Image.open(BytesIO(bytes(row[0]))).size == (2048, 683)
