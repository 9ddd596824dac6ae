"""``/session``, ``/signin``, ``/signout``: a browser signs in with a login and password.

``POST /signin`` takes ``login`` and ``password`` as JSON (the map's form) or as an HTML
form, checks them with the same code, rate limits and event log as Basic sign-in
(method ``session``), starts a server-side session and sets its cookie. ``GET /session``
says who is signed in and gives the page's script the CSRF token. ``POST /signout`` ends
the session (CSRF-checked) and clears the cookie. None of them answer other origins.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gisplatform.access.csrf import CSRF_FIELD, check_csrf, check_origin, csrf_token
from gisplatform.access.sessions import (
    Sessions,
    clear_session_cookie,
    session_token,
    set_session_cookie,
)
from gisplatform.errors import InvalidParameter, SignInFailed
from gisplatform.i18n import message
from gisplatform.ogcapi.auth import Authenticator, request_audience
from gisplatform.ogcapi.deps import request_language
from gisplatform.settings import Settings

#: never kept by any cache
NO_STORE = {"Cache-Control": "no-store", "Vary": "Cookie"}
MAX_LOGIN = 100
MAX_PASSWORD = 1024
#: the sign-in form's 401 names no scheme a browser would answer with its own dialog
CHALLENGE = 'FormBased realm="gisplatform"'


async def _fields(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        return body if isinstance(body, dict) else {}
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _next(fields: dict[str, Any]) -> str | None:
    """Where a plain HTML form returns to: a path of this site only."""
    target = fields.get("next")
    if isinstance(target, str) and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def _state(login: str | None, roles: list[str], token: str | None) -> dict[str, Any]:
    return {
        "signedIn": login is not None,
        "login": login,
        "roles": roles,
        "csrf": csrf_token(token) if token else None,
    }


async def session_info(request: Request) -> JSONResponse:
    """Who this browser is signed in as, and the CSRF token of its session."""
    audience = await request_audience(request)
    token = getattr(request.state, "session_token", None)
    login = audience.login if audience.signed_in else None
    return JSONResponse(
        _state(login, sorted(audience.roles), token if login else None), headers=NO_STORE
    )


async def sign_in(request: Request) -> Response:
    """Check a login and password and start a session (cookie); 401 / 429 otherwise."""
    check_origin(request)
    settings: Settings = request.app.state.settings
    fields = await _fields(request)
    login, password = fields.get("login"), fields.get("password")
    if not isinstance(login, str) or not isinstance(password, str):
        raise InvalidParameter("login", message("sign_in_fields"))
    login = login.strip().lower()  # logins are lower case; people type "Olena"
    if not login or not password or len(login) > MAX_LOGIN or len(password) > MAX_PASSWORD:
        raise InvalidParameter("login", message("sign_in_fields"))
    authenticator: Authenticator = request.app.state.authenticator
    sessions: Sessions = request.app.state.sessions
    address = request.client.host if request.client else "-"
    try:
        audience = await authenticator.basic(login, password, address, method="session")
    except SignInFailed:
        lang = request_language(request)
        why = message("sign_in_form_failed").get(lang)
        body = {"code": "Unauthorized", "description": why, "status": 401}
        headers = {**NO_STORE, "WWW-Authenticate": CHALLENGE, "Content-Language": lang}
        return JSONResponse(body, status_code=401, headers=headers)
    old = session_token(request)
    if old is not None:  # never carry a session over a sign-in (fixation)
        await sessions.end(old)
    token = await sessions.start(login, address)
    target = _next(fields)
    response: Response
    if target is not None:
        response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    else:
        response = JSONResponse(_state(login, sorted(audience.roles), token), headers=NO_STORE)
    set_session_cookie(response, request, settings, token)
    return response


async def sign_out(request: Request) -> Response:
    """End this browser's session (CSRF-checked when it is live) and clear the cookie."""
    settings: Settings = request.app.state.settings
    sessions: Sessions = request.app.state.sessions
    token = session_token(request)
    if token is not None and await sessions.audience(token) is not None:
        await check_csrf(request, token)
        await sessions.end(token)
    target = _next(await _fields(request))
    response: Response
    if target is not None:
        response = RedirectResponse(target, status_code=303, headers=NO_STORE)
    else:
        response = JSONResponse(_state(None, [], None), headers=NO_STORE)
    clear_session_cookie(response, request, settings)
    return response


def build_session_router() -> APIRouter:
    """The sign-in, sign-out and session endpoints (at the site's root)."""
    router = APIRouter(include_in_schema=False)
    router.add_api_route("/session", session_info, methods=["GET"])
    router.add_api_route("/signin", sign_in, methods=["POST"])
    router.add_api_route("/signout", sign_out, methods=["POST"])
    return router


__all__ = ["CSRF_FIELD", "build_session_router"]
