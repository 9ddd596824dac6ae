"""``/admin/publication``: the kill switch over HTTP (JSON) and as a page, for the ``admin`` role.

``GET`` lists the withdrawals in force and the audit log (JSON, or HTML with ``f=html`` or a
browser's ``Accept``); ``POST`` withdraws (a JSON body, or the page's form with its CSRF
token); ``POST …/{id}/restore`` (or ``DELETE …/{id}``) restores. Sign in with Basic or Bearer;
the actor recorded is the account's login. Every response is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gisplatform.access.csrf import CSRF_FIELD, check_foreign_origin, check_form_token, is_json
from gisplatform.access.publication import page
from gisplatform.access.publication.state import PublicationWatch, api_login
from gisplatform.access.publication.store import (
    LISTING,
    LOG,
    RESTORE,
    WITHDRAW,
    PublicationError,
    Target,
    already_withdrawn,
    check_reason,
    check_target,
    event_of,
    parse_area,
    withdrawal_of,
)
from gisplatform.errors import Forbidden, SignInFailed
from gisplatform.i18n import message
from gisplatform.ogcapi.auth import request_audience
from gisplatform.ogcapi.deps import Lang, output_format, request_language
from gisplatform.registry import Audience, LayerRegistry

#: the role (layers/_roles.yaml) that may withdraw and restore
ADMIN_ROLE = "admin"
PATH = "/admin/publication"
MAX_BODY = 512 * 1024
NO_STORE = {"Cache-Control": "no-store"}


async def admin_audience(
    request: Request, audience: Annotated[Audience, Depends(request_audience)]
) -> Audience:
    """The signed-in admin; 401 (asking for credentials) or 403 for anyone else."""
    if audience.is_anonymous:
        raise SignInFailed(message("admin_sign_in"))
    if ADMIN_ROLE not in audience.roles:
        raise Forbidden(message("admin_only", role=ADMIN_ROLE))
    return audience


AdminDep = Annotated[Audience, Depends(admin_audience)]


async def _rows(request: Request, query: Any, params: list[Any] | None = None) -> list[Any]:
    import psycopg

    async with api_login(request.app.state.primary_pool) as conn:
        try:
            async with conn.transaction():
                cursor = await conn.execute(query, params)
                return await cursor.fetchall() if cursor.description else []
        except psycopg.errors.UniqueViolation:
            raise _Duplicate() from None


class _Duplicate(Exception):
    pass


async def _changed(request: Request) -> None:
    watch: PublicationWatch = request.app.state.publication
    await watch.refresh(force=True)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise PublicationError(message("body_too_large", limit=MAX_BODY))
    if is_json(request):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise PublicationError(message("body_not_json")) from None
        if not isinstance(data, dict):
            raise PublicationError(message("body_not_object"))
        return data
    form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in form.items()}


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dict) and key == "area":
        return json.dumps(value)
    if not isinstance(value, str):
        raise PublicationError(message("publish_bad_value", name=key))
    return value.strip() or None


async def _withdraw(request: Request, audience: Audience, data: dict[str, Any]) -> dict[str, Any]:
    registry: LayerRegistry = request.app.state.registry
    area_text = _text(data, "area")
    area = parse_area(area_text) if area_text else None
    target: Target = check_target(registry, _text(data, "layer") or "", _text(data, "field"), area)
    reason = check_reason(_text(data, "reason"))
    actor = audience.login or "?"
    try:
        rows = await _rows(
            request,
            WITHDRAW,
            [target.layer, target.field, target.area, reason, actor, "http"],
        )
    except _Duplicate:
        raise PublicationError(already_withdrawn(target)) from None
    await _changed(request)
    listing = await _rows(request, LISTING)
    made = next(withdrawal_of(r) for r in listing if r[0] == rows[0][0])
    return made.as_json()


async def _restore(request: Request, audience: Audience, ident: int, reason: str | None) -> int:
    rows = await _rows(request, RESTORE, [ident, reason, audience.login or "?", "http"])
    if rows:
        await _changed(request)
    return len(rows)


def _lang(request: Request) -> Lang:
    return request_language(request)


async def _page(request: Request, error: str | None = None, status: int = 200) -> Response:
    withdrawals = [withdrawal_of(r) for r in await _rows(request, LISTING)]
    events = [event_of(r) for r in await _rows(request, LOG, [50])]
    response = await page.render_admin(request, _lang(request), withdrawals, events, error)
    response.status_code = status
    response.headers.update(NO_STORE)
    return response


def build_admin_router() -> APIRouter:
    """The admin endpoint and page (at the site root, not part of the OGC API)."""
    router = APIRouter(include_in_schema=False)

    @router.get(PATH)
    async def listing(request: Request, audience: AdminDep) -> Response:
        if await output_format(request) == "html":
            return await _page(request)
        withdrawals = [withdrawal_of(r).as_json() for r in await _rows(request, LISTING)]
        events = [event_of(r).as_json() for r in await _rows(request, LOG, [100])]
        return JSONResponse({"withdrawals": withdrawals, "log": events}, headers=NO_STORE)

    @router.post(PATH)
    async def withdraw(request: Request, audience: AdminDep) -> Response:
        data = await _body(request)
        check_form_token(request, data.get(CSRF_FIELD))
        if is_json(request):
            made = await _withdraw(request, audience, data)
            return JSONResponse(made, status_code=201, headers=NO_STORE)
        try:
            await _withdraw(request, audience, data)
        except PublicationError as err:
            return await _page(request, err.text.get(_lang(request)), status=400)
        return _back(request)

    @router.post(PATH + "/{ident}/restore")
    async def restore(request: Request, ident: int, audience: AdminDep) -> Response:
        data = await _body(request)
        check_form_token(request, data.get(CSRF_FIELD))
        done = await _restore(request, audience, ident, _text(data, "reason"))
        if is_json(request):
            return _restored(request, ident, done)
        return _back(request)

    @router.delete(PATH + "/{ident}")
    async def delete(request: Request, ident: int, audience: AdminDep) -> Response:
        check_foreign_origin(request)  # DELETE is never a simple request: browsers preflight it
        done = await _restore(request, audience, ident, None)
        return _restored(request, ident, done)

    return router


def _restored(request: Request, ident: int, done: int) -> JSONResponse:
    if not done:
        text = message("publish_nothing_to_restore_id", id=ident).get(_lang(request))
        return JSONResponse(
            {"code": "NotFound", "description": text, "status": 404},
            status_code=404,
            headers=NO_STORE,
        )
    return JSONResponse({"restored": ident}, headers=NO_STORE)


def _back(request: Request) -> RedirectResponse:
    lang = _lang(request)
    return RedirectResponse(f"{PATH}?f=html&lang={lang}", status_code=303, headers=NO_STORE)
