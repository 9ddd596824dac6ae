"""Open311 GeoReport v2 at ``/open311/v2/`` (https://wiki.open311.org/GeoReport_v2/).

Every report kind is a service; its questions are the service definition's attributes
(``singlevaluelist`` for a choice or a yes/no question, ``multivaluelist`` for several
answers). ``requests`` GET lists moderated reports only (``reports.public_requests``:
no contact, no address hash, no token); POST stores a report through the same service as
the web form, with ``email``/``first_name``/``last_name``/``phone`` kept as its private
contact. Errors are Open311's list of ``{code, description}`` in the request's language
(``lang`` / ``Accept-Language``), in JSON or XML like the answer would have been.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response
from psycopg import sql

from gisplatform.errors import GisPlatformError, InvalidParameter, ReportNotFound
from gisplatform.i18n import Lang, Text, message
from gisplatform.ogcapi.deps import request_language
from gisplatform.registry import LayerRegistry
from gisplatform.reports.form import read_form
from gisplatform.reports.guard import secret_key
from gisplatform.reports.intake import request_kinds, store_report
from gisplatform.reports.kinds import ReportKind, ReportKinds
from gisplatform.reports.photo import clean_photo
from gisplatform.reports.submit import OPEN311, Submission, find_kind

#: longest span between start_date and end_date, and the default window
MAX_SPAN = timedelta(days=90)
CLOSED = frozenset({"resolved", "duplicate", "rejected"})
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
PAGE_LIMIT = 1000


class _Open311Error(Exception):
    def __init__(self, status: int, text: Text | str, headers: dict[str, str] | None = None):
        self.status = status
        self.text = text
        self.headers = headers or {}


def _json(document: Any) -> bytes:
    # <, > and & as JSON escapes: a report's text can never be read as markup
    text = orjson.dumps(document).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def _xml_value(parent: ET.Element, name: str, value: Any) -> None:
    child = ET.SubElement(parent, name)
    if isinstance(value, list):
        item_name = {"attributes": "attribute", "values": "value", "keywords": "keyword"}.get(
            name, "item"
        )
        for item in value:
            _xml_value(child, item_name, item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _xml_value(child, key, inner)
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif value is not None:
        child.text = str(value)


def _xml(root: str, item: str | None, document: Any) -> bytes:
    element = ET.Element(root)
    if item is None:
        for key, value in document.items():
            _xml_value(element, key, value)
    else:
        for entry in document:
            _xml_value(element, item, entry)
    text = ET.tostring(element, encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + text).encode()


def _answer(fmt: str, document: Any, root: str, item: str | None, status: int = 200) -> Response:
    body = _json(document) if fmt == "json" else _xml(root, item, document)
    return Response(body, status_code=status, media_type=FORMATS[fmt])


def _error(fmt: str, status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    document = [{"code": status, "description": text}]
    response = _answer(fmt, document, "errors", "error", status)
    response.headers.update(headers or {})
    return response


def _fmt(value: str) -> str:
    if value not in FORMATS:
        raise _Open311Error(404, message("not_found"))
    return value


def service(kind: ReportKind, lang: Lang) -> dict[str, Any]:
    """One entry of ``services``."""
    return {
        "service_code": kind.code,
        "service_name": kind.title.get(lang),
        "description": kind.description.get(lang),
        "metadata": bool(kind.questions),
        "type": "realtime",
        "keywords": kind.layer or "",
        "group": kind.handler_role,
    }


def definition(kind: ReportKind, lang: Lang) -> dict[str, Any]:
    """The service definition: one attribute per question."""
    attributes = []
    for order, question in enumerate(kind.questions, start=1):
        if question.type == "boolean":
            values = [
                {"key": "true", "name": message("report_yes").get(lang)},
                {"key": "false", "name": message("report_no").get(lang)},
            ]
        else:
            values = [{"key": o.code, "name": o.title.get(lang)} for o in question.options]
        note = ""
        if question.when is not None:
            note = f" ({question.when.question} = {question.when.equals})"
        attributes.append(
            {
                "variable": True,
                "code": question.code,
                "datatype": "multivaluelist" if question.type == "multi_choice" else
                "singlevaluelist",
                "required": question.required,
                "datatype_description": None,
                "order": order,
                "description": question.title.get(lang) + note,
                "values": values,
            }
        )  # fmt: skip
    return {"service_code": kind.code, "attributes": attributes}


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _request_entry(
    row: dict[str, Any], kinds: ReportKinds, registry: LayerRegistry, lang: Lang
) -> dict[str, Any]:
    kind = kinds.get(row["kind"])
    role = next((r for r in registry.roles if kind and r.name == kind.handler_role), None)
    notes = row.get("status_reason")
    if row["status"] == "unconfirmed":
        notes = message("open311_awaiting").get(lang)
    deadline = row["created_at"] + timedelta(hours=kind.deadline_hours) if kind else None
    return {
        "service_request_id": row["id"],
        "status": "closed" if row["status"] in CLOSED else "open",
        "status_notes": notes,
        "service_name": kind.title.get(lang) if kind else row["kind"],
        "service_code": row["kind"],
        "description": row.get("description"),
        "agency_responsible": role.title.get(lang) if role else None,
        "service_notice": None,
        "requested_datetime": _time(row["created_at"]),
        "updated_datetime": _time(row["updated_at"]),
        "expected_datetime": _time(deadline),
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": row.get("lat"),
        "long": row.get("lon"),
        "media_url": None,
    }


def _date(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _Open311Error(400, message("open311_bad_date", name=name)) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ids(text: str) -> list[int]:
    ids = []
    for part in text.split(","):
        if not part.strip().isdigit():
            raise _Open311Error(400, message("open311_bad_id", value=part.strip()))
        ids.append(int(part.strip()))
    return ids


def _filters(request: Request) -> tuple[sql.Composable, list[Any]]:
    params = request.query_params
    if params.get("service_request_id"):
        return sql.SQL("id = ANY(%s)"), [_ids(params["service_request_id"])]
    start, end = _date(request, "start_date"), _date(request, "end_date")
    end = end or (start + MAX_SPAN if start else datetime.now(UTC))
    start = start or end - MAX_SPAN
    if end - start > MAX_SPAN or end < start:
        raise _Open311Error(400, message("open311_date_span", days=MAX_SPAN.days))
    clauses: list[sql.Composable] = [sql.SQL("created_at BETWEEN %s AND %s")]
    values: list[Any] = [start, end]
    if params.get("service_code"):
        clauses.append(sql.SQL("kind = ANY(%s)"))
        values.append([c.strip() for c in params["service_code"].split(",")])
    if params.get("status"):
        wanted = {s.strip().lower() for s in params["status"].split(",")}
        if not wanted <= {"open", "closed"}:
            raise _Open311Error(400, message("open311_bad_status"))
        if wanted == {"open"}:
            clauses.append(sql.SQL("status <> ALL(%s)"))
            values.append(sorted(CLOSED))
        elif wanted == {"closed"}:
            clauses.append(sql.SQL("status = ANY(%s)"))
            values.append(sorted(CLOSED))
    return sql.SQL(" AND ").join(clauses), values


async def _public_requests(
    request: Request, where: sql.Composable, values: list[Any]
) -> list[dict[str, Any]]:
    query = sql.SQL(
        "SELECT id, kind, description, status, status_reason, created_at, updated_at, "
        "ST_Y(geom) AS lat, ST_X(geom) AS lon FROM reports.public_requests WHERE {} "
        "ORDER BY created_at DESC, id DESC LIMIT {}"
    ).format(where, sql.Literal(PAGE_LIMIT))
    async with request.app.state.primary_pool.connection() as conn:
        cursor = await conn.execute(query, values)
        names = [d.name for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]


async def _one_request(request: Request, report_id: int) -> dict[str, Any]:
    found = await _public_requests(request, sql.SQL("id = %s"), [report_id])
    if found:
        return found[0]
    async with request.app.state.primary_pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, kind, status, created_at, updated_at FROM reports.request_state(%s)",
            [report_id],
        )
        row = await cursor.fetchone()
    if row is None or row[2] != "unconfirmed":
        raise ReportNotFound(message("report_not_found"))
    names = ("id", "kind", "status", "created_at", "updated_at")
    return dict(zip(names, row, strict=True))


def _contact(form_value: Any) -> str:
    name = " ".join(p for p in (form_value("first_name"), form_value("last_name")) if p)
    parts = [name, form_value("email"), form_value("phone")]
    return "; ".join(p.strip() for p in parts if p and p.strip())


async def _post(request: Request, fmt: str) -> Response:
    settings = request.app.state.settings
    limits = settings.reports
    form = await read_form(request, limits.max_body_bytes)
    lang = request_language(request)
    code = form.one("service_code")
    if not code:
        raise _Open311Error(400, message("open311_missing", name="service_code"))
    kind = find_kind(request_kinds(request), code, OPEN311)
    report = Submission(
        kind=kind.code,
        source="open311",
        lat=form.one("lat"),
        lon=form.one("long"),
        answers=form.prefixed("attribute[", "]"),
        description=form.one("description") or "",
        contact=_contact(form.one),
        photo=clean_photo(form.photo, limits) if form.photo else None,
    )
    key = secret_key(settings)
    stored = await store_report(request, report, key, limits, OPEN311)
    notice = message("open311_notice", id=stored.id, hours=kind.deadline_hours).get(lang)
    document = [{"service_request_id": stored.id, "service_notice": notice, "account_id": None}]
    return _answer(fmt, document, "service_requests", "request", 201)


def build_open311_router() -> APIRouter:
    """The GeoReport v2 endpoints."""
    router = APIRouter(prefix="/open311/v2")

    async def handle(request: Request, fmt: str, work: Any) -> Response:
        lang = request_language(request)
        shown = fmt if fmt in FORMATS else "json"
        try:
            return cast(Response, await work(_fmt(fmt), lang))
        except _Open311Error as exc:
            text = exc.text.get(lang) if isinstance(exc.text, Text) else exc.text
            return _error(shown, exc.status, text, exc.headers)
        except GisPlatformError as exc:
            return _error(shown, *_domain(exc, lang))

    @router.get("/services.{fmt}")
    async def services(request: Request, fmt: str) -> Response:
        async def work(fmt: str, lang: Lang) -> Response:
            document = [service(k, lang) for k in request_kinds(request)]
            return _answer(fmt, document, "services", "service")

        return await handle(request, fmt, work)

    @router.get("/services/{code}.{fmt}")
    async def service_definition(request: Request, code: str, fmt: str) -> Response:
        async def work(fmt: str, lang: Lang) -> Response:
            kind = request_kinds(request).get(code)
            if kind is None:
                raise _Open311Error(404, message("open311_unknown_service", code=code))
            return _answer(fmt, definition(kind, lang), "service_definition", None)

        return await handle(request, fmt, work)

    @router.get("/requests.{fmt}")
    async def requests(request: Request, fmt: str) -> Response:
        async def work(fmt: str, lang: Lang) -> Response:
            where, values = _filters(request)
            rows = await _public_requests(request, where, values)
            registry = request.app.state.registry
            document = [_request_entry(r, request_kinds(request), registry, lang) for r in rows]
            return _answer(fmt, document, "service_requests", "request")

        return await handle(request, fmt, work)

    @router.post("/requests.{fmt}")
    async def create(request: Request, fmt: str) -> Response:
        async def work(fmt: str, lang: Lang) -> Response:
            return await _post(request, fmt)

        return await handle(request, fmt, work)

    @router.get("/requests/{report_id}.{fmt}")
    async def one(request: Request, report_id: str, fmt: str) -> Response:
        async def work(fmt: str, lang: Lang) -> Response:
            if not report_id.isdigit():
                raise _Open311Error(404, message("report_not_found"))
            row = await _one_request(request, int(report_id))
            registry = request.app.state.registry
            entry = _request_entry(row, request_kinds(request), registry, lang)
            return _answer(fmt, [entry], "service_requests", "request")

        return await handle(request, fmt, work)

    return router


def _domain(exc: GisPlatformError, lang: Lang) -> tuple[int, str, dict[str, str]]:
    """A domain error as Open311's (status, description, headers)."""
    headers = {}
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    status = exc.status_code
    if isinstance(exc, InvalidParameter):
        status = 400
    return status, exc.text.get(lang), headers
