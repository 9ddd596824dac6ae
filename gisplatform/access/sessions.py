"""Browser sessions: the web map's sign-in form sets a cookie, the server keeps the session.

The cookie holds 256 random bits; ``auth.sessions`` keeps only their SHA-256, the login,
an expiry (``session_lifetime_s``) and an idle timeout (``session_idle_s``). The API role
reaches the table only through the SECURITY DEFINER functions ``session_start``,
``session_of`` and ``session_end`` (``gisplatform/sql/auth.sql``). Signing out, disabling
the account, a new password or ``gisplatform users signout`` end a session at once.

A session is ambient (the browser sends the cookie by itself), so every state-changing
request it authenticates must pass :func:`gisplatform.access.csrf.check_csrf`.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import Response
from psycopg import sql

from gisplatform.access.csrf import SAFE_METHODS, check_csrf, csrf_token
from gisplatform.registry import Audience
from gisplatform.settings import Settings
from gisplatform.store.accounts import AUTH_SCHEMA, token_hash

if TYPE_CHECKING:
    from gisplatform.ogcapi.auth import Authenticator

#: the session cookie (HttpOnly, SameSite=Lax, Path=/; Secure over HTTPS)
COOKIE = "gisplatform_session"
#: longest cookie value looked up (a token is 43 characters)
MAX_TOKEN_LENGTH = 100

_START = sql.SQL("SELECT {}(%s, %s, %s, %s, %s)").format(
    sql.Identifier(AUTH_SCHEMA, "session_start")
)
_OF = sql.SQL("SELECT * FROM {}(%s)").format(sql.Identifier(AUTH_SCHEMA, "session_of"))
_END = sql.SQL("SELECT {}(%s)").format(sql.Identifier(AUTH_SCHEMA, "session_end"))


class Sessions:
    """Starts, finds and ends browser sessions, as the API login (like :class:`Authenticator`)."""

    def __init__(self, authenticator: Authenticator, settings: Settings) -> None:
        self.authenticator = authenticator
        self.settings = settings

    async def _call(self, query: sql.Composed, params: list[Any]) -> Any:
        # the authenticator's one round trip as the API login (SET ROLE NONE … public again)
        (row,) = await self.authenticator._lookup([(query, params)])
        return row

    async def start(self, login: str, address: str) -> str:
        """A new session of ``login``; the token for the cookie (never stored)."""
        token = secrets.token_urlsafe(32)
        lifetime, idle = self.settings.session_lifetime_s, self.settings.session_idle_s
        await self._call(_START, [token_hash(token), login, lifetime, idle, address])
        return token

    async def audience(self, token: str) -> Audience | None:
        """The audience of a live session; None when it is unknown, ended or expired."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        found = await self._call(_OF, [token_hash(token)])
        if found is None:
            return None
        return Audience(signed_in=True, roles=frozenset(found[1]), login=found[0])

    async def end(self, token: str) -> None:
        """End the session of ``token`` (nothing happens for an unknown one)."""
        if token and len(token) <= MAX_TOKEN_LENGTH:
            await self._call(_END, [token_hash(token)])


def session_token(request: Request) -> str | None:
    """The session cookie's value, if the browser sent one."""
    return request.cookies.get(COOKIE) or None


async def cookie_audience(request: Request) -> Audience | None:
    """The audience of the request's session cookie; None without a live session.

    A state-changing request it authenticates must pass the CSRF check (403 otherwise).
    """
    token = session_token(request)
    sessions: Sessions | None = getattr(request.app.state, "sessions", None)
    if token is None or sessions is None:
        return None
    audience = await sessions.audience(token)
    if audience is None:
        return None
    if request.method not in SAFE_METHODS:
        await check_csrf(request, token)
    request.state.session_token = token
    return audience


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Whether the cookie gets ``Secure``: the setting, else an https public URL or request.

    ``request.url.scheme`` is https behind a TLS proxy only when the proxy is trusted
    (``GISPLATFORM_FORWARDED_ALLOW_IPS``: uvicorn believes its X-Forwarded-Proto).
    """
    if settings.session_cookie_secure is not None:
        return settings.session_cookie_secure
    public = settings.public_url or ""
    return public.startswith("https://") or request.url.scheme == "https"


def set_session_cookie(
    response: Response, request: Request, settings: Settings, token: str
) -> None:
    """Give the browser the session cookie (HttpOnly, SameSite=Lax, Path=/)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_lifetime_s,
        path="/",
        secure=cookie_secure(request, settings),
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    """Make the browser forget the session cookie."""
    response.delete_cookie(
        COOKIE,
        path="/",
        secure=cookie_secure(request, settings),
        httponly=True,
        samesite="lax",
    )


async def require_csrf(request: Request) -> None:
    """Dependency for routers that change state: the CSRF check when a cookie could act.

    Safe methods and requests with an ``Authorization`` header pass; otherwise a request
    carrying the session cookie must pass :func:`check_csrf`.
    """
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return
    token = session_token(request)
    if token is not None:
        await check_csrf(request, token)


__all__ = [
    "COOKIE",
    "Sessions",
    "clear_session_cookie",
    "cookie_audience",
    "csrf_token",
    "require_csrf",
    "session_token",
    "set_session_cookie",
]
