"""``/reports/moderation``: the moderators' queue and actions, as JSON and as pages.

- ``GET /reports/moderation`` — the reports the signed-in person's roles handle (``status``:
  a comma list, ``all``, default the waiting ones), overdue first, then the newest; HTML with
  ``f=html`` or a browser's ``Accept``.
- ``GET /reports/moderation/{id}`` — one report with its contact, every step (who, when,
  why) and its duplicate suggestions.
- ``GET /reports/moderation/{id}/duplicates`` — the suggestions alone.
- ``GET /reports/moderation/{id}/photo`` — the report's photo (as stored: re-encoded).
- ``POST /reports/moderation/{id}/transition`` — ``status``, ``reason``, ``duplicate_of`` as
  JSON (200 with the report) or the page's form (303 back to the report; 400 the page with
  the message). CSRF as on the other session routes: the session's token in
  ``X-CSRF-Token`` or the form's ``csrf_token``; a JSON body is never a simple request.

Anonymous callers get 401, staff who handle no kind 403, a report of a kind they do not
handle 404 (row-level security: it does not exist for them). Every answer is ``no-store``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gisplatform.access.csrf import CSRF_FIELD, check_form_token, is_json
from gisplatform.errors import InvalidBody, InvalidParameter, PayloadTooLarge
from gisplatform.i18n import message
from gisplatform.ogcapi.auth import request_audience
from gisplatform.ogcapi.deps import Lang, output_format, request_language
from gisplatform.registry import Audience, LayerRegistry
from gisplatform.reports import moderation as mod
from gisplatform.reports.kinds import ReportKinds, load_report_kinds
from gisplatform.reports.marks import marked_layers, report_map_config
from gisplatform.reports.moderation_page import PATH, render_queue, render_report
from gisplatform.reports.store import handling_roles
from gisplatform.settings import Settings

NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
MAX_BODY = 16 * 1024


def _kinds(request: Request) -> ReportKinds:
    kinds: ReportKinds = request.app.state.report_kinds
    return kinds


async def moderator_of(
    request: Request, audience: Annotated[Audience, Depends(request_audience)]
) -> mod.Moderator:
    """The signed-in moderator (401 anonymous, 403 for staff who handle no kind)."""
    registry: LayerRegistry = request.app.state.registry
    return mod.moderator(_kinds(request), registry, audience)


ModeratorDep = Annotated[mod.Moderator, Depends(moderator_of)]


def _ident(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise mod.not_handled(value)
    return int(value)


def _lang(request: Request) -> Lang:
    return request_language(request)


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object or the form's fields (a form the session's CSRF check may have read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(message("body_too_large", limit=MAX_BODY))
    if not is_json(request):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(message("body_too_large", limit=MAX_BODY))
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise InvalidBody(message("body_not_json")) from None
    if not isinstance(data, dict):
        raise InvalidBody(message("body_not_object"))
    return data


def _json(document: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(document, status_code=status, headers=NO_STORE)


def build_moderation_router() -> APIRouter:
    """The moderation API and pages (at the site root, beside ``/reports``)."""
    router = APIRouter(include_in_schema=False)

    @router.get(PATH)
    async def listing(request: Request, who: ModeratorDep) -> Response:
        shown = mod.parse_statuses(request.query_params.get("status"))
        async with mod.moderation_transaction(request, who) as conn:
            reports = await mod.queue(conn, shown)
        if await output_format(request) == "html":
            page = await render_queue(request, _lang(request), _kinds(request), reports, shown)
            page.headers.update(NO_STORE)
            return page
        return _json(
            {
                "kinds": list(who.kinds),
                "statuses": list(shown),
                "reports": [r.as_json() for r in reports],
            }
        )

    @router.get(PATH + "/{ident}")
    async def one(request: Request, ident: str, who: ModeratorDep) -> Response:
        async with mod.moderation_transaction(request, who) as conn:
            found = await mod.report(conn, _ident(ident))
        if await output_format(request) == "html":
            return await _page(request, found)
        return _json(found.as_json())

    @router.get(PATH + "/{ident}/duplicates")
    async def duplicates(request: Request, ident: str, who: ModeratorDep) -> Response:
        async with mod.moderation_transaction(request, who) as conn:
            found = await mod.report(conn, _ident(ident))
        return _json({"id": found.id, "duplicates": [d.as_json() for d in found.duplicates]})

    @router.get(PATH + "/{ident}/photo")
    async def picture(request: Request, ident: str, who: ModeratorDep) -> Response:
        async with mod.moderation_transaction(request, who) as conn:
            content, media_type = await mod.photo(conn, _ident(ident))
        return Response(content, media_type=media_type, headers=NO_STORE)

    @router.post(PATH + "/{ident}/transition")
    async def transition(request: Request, ident: str, who: ModeratorDep) -> Response:
        number = _ident(ident)
        data = await _body(request)
        check_form_token(request, data.get(CSRF_FIELD))
        try:
            to = mod.parse_status(data.get("status"))
            reason = mod.parse_reason(data.get("reason"))
            original = mod.parse_duplicate_of(data.get("duplicate_of"))
            async with mod.moderation_transaction(request, who) as conn:
                changed = await mod.transition(conn, number, to, reason, original)
        except InvalidParameter as err:
            if is_json(request):
                raise
            async with mod.moderation_transaction(request, who) as conn:
                current = await mod.report(conn, number)
            return await _page(request, current, err.text.get(_lang(request)), 400)
        if is_json(request):
            return _json(changed.as_json())
        target = f"{PATH}/{number}?f=html&lang={_lang(request)}"
        return RedirectResponse(target, status_code=303, headers=NO_STORE)

    return router


async def _page(
    request: Request, found: mod.Report, error: str | None = None, status: int = 200
) -> Response:
    registry: LayerRegistry = request.app.state.registry
    page = await render_report(request, _lang(request), _kinds(request), registry, found, error)
    page.status_code = status
    page.headers.update(NO_STORE)
    return page


def mount_moderation(app: FastAPI) -> None:
    """Add the moderation router and the truth loop's state (the marked layers, the map's part).

    The kinds are ``app.state.report_kinds`` when the app has them, else loaded from the
    settings' reports folder (kinds naming what this registry lacks are left out).
    """
    registry: LayerRegistry = app.state.registry
    kinds: ReportKinds | None = getattr(app.state, "report_kinds", None)
    if kinds is None:
        settings: Settings = app.state.settings
        kinds = load_report_kinds(settings.report_kinds_dir, registry, only_known=True)
        app.state.report_kinds = kinds
    app.state.marked_layers = marked_layers(kinds)
    handlers = frozenset(handling_roles(kinds, registry))
    app.state.report_map = report_map_config(kinds, handlers, PATH)
    app.include_router(build_moderation_router())
