"""The web form's endpoints: kinds, form token, submission and the reporter's status page.

- ``GET /reports/kinds``: the kinds with their questions, in the request's language (the
  map builds its form from it; no kind or question is named in JavaScript);
- ``GET /reports/form-token``: a signed token the form sends back (minimum fill time);
- ``POST /reports`` (multipart/form-data or urlencoded): kind, ``lat``/``lon`` or
  ``layer``/``feature_id``, ``answer.<code>`` fields, description, contact, photo, the
  honeypot and the form token → 201 ``{id, token, status_url}``;
- ``GET /reports/status/{token}``: the reporter's page (HTML, or JSON with ``f=json``).

Every query runs in the public database role: the public's views and the owner's
``reports.submit`` / ``reports.status`` functions, never the tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gisplatform.errors import ReportNotFound
from gisplatform.i18n import Lang, message
from gisplatform.ogcapi.deps import check_parameters, request_language, site_url
from gisplatform.ogcapi.html import render_page
from gisplatform.registry import LayerRegistry
from gisplatform.reports.form import read_form
from gisplatform.reports.guard import (
    HONEYPOT,
    TOKEN_FIELD,
    check_form,
    form_token,
    secret_key,
)
from gisplatform.reports.intake import request_kinds, store_report
from gisplatform.reports.kinds import ReportKind
from gisplatform.reports.photo import clean_photo
from gisplatform.reports.submit import WEB, Submission, token_hash

#: the hromada's clock for dates people read
LOCAL_TIME = ZoneInfo("Europe/Kyiv")
STATUSES = ("unconfirmed", "open", "in_progress", "resolved", "duplicate", "rejected")
NO_STORE = {"Cache-Control": "no-store"}
#: the form's field names, given to the map's script with the kinds (one source of truth)
FORM_FIELDS = {
    "kind": "kind",
    "lat": "lat",
    "lon": "lon",
    "layer": "layer",
    "feature_id": "feature_id",
    "answer_prefix": "answer.",
    "description": "description",
    "contact": "contact",
    "photo": "photo",
    "honeypot": HONEYPOT,
    "token": TOKEN_FIELD,
}


def kind_document(kind: ReportKind, lang: Lang) -> dict[str, Any]:
    """One kind as the form and Open311 describe it, in ``lang``."""
    return {
        "code": kind.code,
        "title": kind.title.get(lang),
        "description": kind.description.get(lang),
        "layer": kind.layer,
        "deadline_hours": kind.deadline_hours,
        "questions": [
            {
                "code": q.code,
                "title": q.title.get(lang),
                "type": q.type,
                "required": q.required,
                "options": [{"code": o.code, "title": o.title.get(lang)} for o in q.options],
                "when": q.when.model_dump() if q.when else None,
            }
            for q in kind.questions
        ],
    }


def local_time(value: datetime) -> str:
    """``01.12.2026 21:40`` in the hromada's time."""
    return value.astimezone(LOCAL_TIME).strftime("%d.%m.%Y %H:%M")


def status_title(status: str, lang: Lang) -> str:
    """The state's name people read."""
    return message(f"report_status_{status}").get(lang)


def _answer_lines(kind: ReportKind | None, answers: dict[str, Any], lang: Lang) -> list[Any]:
    lines = []
    for code, value in answers.items():
        question = kind.question(code) if kind else None
        title = question.title.get(lang) if question else code
        values = value if isinstance(value, list) else [value]
        shown = []
        for item in values:
            if isinstance(item, bool):
                shown.append(message("report_yes" if item else "report_no").get(lang))
                continue
            option = question.option(str(item)) if question else None
            shown.append(option.title.get(lang) if option else str(item))
        lines.append((title, ", ".join(shown)))
    return lines


def _role_title(registry: LayerRegistry, name: str, lang: Lang) -> str:
    if name == "resident":
        return message("report_page_resident").get(lang)
    role = next((r for r in registry.roles if r.name == name), None)
    return role.title.get(lang) if role else name


async def read_status(request: Request, token: str) -> dict[str, Any]:
    """The report of this status token as its reporter sees it; 404 otherwise."""
    async with request.app.state.primary_pool.connection() as conn:
        cursor = await conn.execute("SELECT * FROM reports.status(%s)", [token_hash(token)])
        row = await cursor.fetchone()
        names = [d.name for d in cursor.description or []]
    if row is None:
        raise ReportNotFound(message("report_not_found"))
    return dict(zip(names, row, strict=True))


def status_document(request: Request, found: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """The status JSON: state, every step (staff by their role only), what was sent."""
    registry: LayerRegistry = request.app.state.registry
    kind = request_kinds(request).get(found["kind"])
    steps = [
        {
            "at": step["at"],
            "from": step["from"],
            "to": step["to"],
            "to_title": status_title(step["to"], lang),
            "reason": step["reason"],
            "by": step["by"],
            "by_title": _role_title(registry, step["by"], lang),
        }
        for step in found["steps"] or []
    ]
    return {
        "id": found["id"],
        "kind": found["kind"],
        "kind_title": kind.title.get(lang) if kind else found["kind"],
        "status": found["status"],
        "status_title": status_title(found["status"], lang),
        "status_reason": found["status_reason"],
        "duplicate_of": found["duplicate_of"],
        "layer": found["layer"],
        "feature_id": found["feature_id"],
        "lon": found["lon"],
        "lat": found["lat"],
        "answers": found["answers"],
        "description": found["description"],
        "created_at": found["created_at"].isoformat(),
        "updated_at": found["updated_at"].isoformat(),
        "deadline_at": found["deadline_at"].isoformat(),
        "steps": steps,
    }


def build_reports_router() -> APIRouter:
    """The web form's routes (see the module's description)."""
    router = APIRouter(prefix="/reports")

    @router.get("/kinds")
    async def kinds(request: Request) -> JSONResponse:
        check_parameters(request, {"lang"})
        lang = request_language(request)
        document = {
            "kinds": [kind_document(k, lang) for k in request_kinds(request)],
            "layers": request_kinds(request).layers,
            "honeypot": HONEYPOT,
            "token_field": TOKEN_FIELD,
            "form": FORM_FIELDS,
        }
        return JSONResponse(document, headers={"Content-Language": lang})

    @router.get("/form-token")
    async def token(request: Request) -> JSONResponse:
        settings = request.app.state.settings
        document = {
            "token": form_token(secret_key(settings)),
            "min_fill_s": settings.reports.min_fill_s,
        }
        return JSONResponse(document, headers=NO_STORE)

    @router.post("")
    async def submit(request: Request) -> JSONResponse:
        settings = request.app.state.settings
        limits = settings.reports
        form = await read_form(request, limits.max_body_bytes)
        key = secret_key(settings)
        check_form(key, form.one(TOKEN_FIELD), form.one(HONEYPOT), settings)
        names = FORM_FIELDS
        report = Submission(
            kind=form.one(names["kind"]) or "",
            source="web",
            lat=form.one(names["lat"]),
            lon=form.one(names["lon"]),
            layer=form.one(names["layer"]),
            feature_id=form.one(names["feature_id"]),
            answers=form.prefixed(names["answer_prefix"]),
            description=form.one(names["description"]) or "",
            contact=form.one(names["contact"]) or "",
            photo=clean_photo(form.photo, limits) if form.photo else None,
        )
        stored = await store_report(request, report, key, limits, WEB)
        lang = request_language(request)
        status_url = f"{site_url(request)}/reports/status/{stored.token}?lang={lang}"
        document = {"id": stored.id, "token": stored.token, "status_url": status_url}
        return JSONResponse(document, status_code=201, headers=NO_STORE)

    @router.get("/status/{token}")
    async def status(request: Request, token: str) -> Response:
        check_parameters(request, {"lang", "f"})
        lang = request_language(request)
        found = status_document(request, await read_status(request, token), lang)
        wants_json = request.query_params.get("f") == "json" or (
            "f" not in request.query_params and "text/html" not in request.headers.get("accept", "")
        )
        if wants_json:
            return JSONResponse(found, headers={**NO_STORE, "Content-Language": lang})
        return await _status_page(request, found, lang)

    return router


async def _status_page(request: Request, found: dict[str, Any], lang: Lang) -> Response:
    kind = request_kinds(request).get(found["kind"])
    words = {
        key: message(f"report_page_{key}").get(lang)
        for key in (
            "state", "kind", "sent", "deadline", "reason", "description", "answers", "place",
            "steps", "when", "who", "keep", "map",
        )
    }  # fmt: skip
    words["title"] = message("report_page_title", id=found["id"]).get(lang)
    words["duplicate"] = message("report_page_duplicate", id=found["duplicate_of"]).get(lang)
    registry: LayerRegistry = request.app.state.registry
    layer = found["layer"]
    layer_title = registry.get(layer).title.get(lang) if layer and layer in registry else layer
    words["feature"] = message(
        "report_page_feature", fid=found["feature_id"], layer=layer_title
    ).get(lang)
    view = {
        **found,
        "created_text": local_time(datetime.fromisoformat(found["created_at"])),
        "deadline_text": local_time(datetime.fromisoformat(found["deadline_at"])),
        "answer_lines": _answer_lines(kind, found["answers"], lang),
        "steps": [{**s, "at_text": local_time(s_at(s))} for s in found["steps"]],
    }
    response = await render_page(request, "report_status.html", lang, t=words, report=view)
    response.headers.update(NO_STORE)
    return response


def s_at(step: dict[str, Any]) -> datetime:
    """A step's time (the database gives it as ISO text inside JSON)."""
    value = step["at"]
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)
