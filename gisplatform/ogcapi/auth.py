"""Who a request is served to, decided once: anonymous, or staff signed in with a password
(``Authorization: Basic``, QGIS Basic auth), a personal token (``Authorization: Bearer``,
QGIS API-header auth, scripts) or an identity provider's access token (``Bearer`` JWT,
:mod:`gisplatform.access.oidc`).

The audience picks the database audience (:mod:`gisplatform.store.audiences`) whose views
and role every query of the request then uses: :class:`AudiencePool` switches a connection
to that role when it is taken and puts the public role back before it returns (shielded
from cancellation; a connection that cannot take it is closed, never pooled). A
request without credentials is served exactly as before; wrong credentials are a 401, and
too many failures from one address a 429, each recorded in ``auth.events``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from psycopg import AsyncConnection, sql
from psycopg_pool import AsyncConnectionPool
from starlette.types import ASGIApp, Receive, Scope, Send

from gisplatform.errors import SignInFailed, TooManySignIns
from gisplatform.i18n import message
from gisplatform.registry import ANONYMOUS, Audience, LayerRegistry
from gisplatform.store.accounts import AUTH_SCHEMA, hasher, token_hash
from gisplatform.store.audiences import (
    _CURRENT,
    PUBLIC,
    current_reader,
    current_view,
    view_audience_for,
)

#: failed sign-ins of one login from one address within the window before 429
MAX_FAILURES_PER_LOGIN = 10
#: failed sign-ins from one address, whatever the login, within the window before 429
MAX_FAILURES_PER_ADDRESS = 50
FAILURE_WINDOW_S = 300
#: verified passwords remembered (by digest, never in clear) so QGIS's Basic header on
#: every request does not cost an Argon2 verification each time
VERIFIED_CACHE_SIZE = 1024
VERIFIED_TTL_S = 300

if TYPE_CHECKING:  # imported by the app only when OIDC is configured (joserfc, httpx)
    from gisplatform.access.oidc import OidcSignIn

__all__ = ["current_reader", "current_view"]
_PUBLIC_ROLE = sql.SQL("SET ROLE {}").format(sql.Identifier(PUBLIC.role)).as_string()
_NO_ROLE = "SET ROLE NONE"


class AudienceReset:
    """ASGI middleware: every request starts as the public, whatever ran before in the task."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _CURRENT.set(PUBLIC)
        try:
            await self.app(scope, receive, send)
        finally:
            _CURRENT.reset(token)


async def _restore(conn: AsyncConnection[Any]) -> None:
    """Put the public role back, even while the request is being cancelled.

    A connection that cannot take it (broken, or left mid-stream) is closed at once, so the
    pool replaces it and no later request ever runs in another audience's role.
    """
    try:
        with anyio.CancelScope(shield=True):
            await conn.execute(_PUBLIC_ROLE)
    except BaseException:
        conn.pgconn.finish()
        raise


class AudiencePool:
    """The server's pool; each connection taken runs as the request's audience role."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._roles: dict[str, str] = {}

    def _set_role(self, role: str) -> str:
        found = self._roles.get(role)
        if found is None:
            found = sql.SQL("SET ROLE {}").format(sql.Identifier(role)).as_string()
            self._roles[role] = found
        return found

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[AsyncConnection[Any]]:
        """A connection in the current audience's role (no extra round trip for the public)."""
        view = _CURRENT.get()
        async with self.pool.connection(timeout=timeout) as conn:
            if view.is_public:
                yield conn
                return
            try:
                await conn.execute(self._set_role(view.role))
                yield conn
            finally:
                await _restore(conn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


def _function(name: str) -> str:
    return sql.SQL("SELECT * FROM {}(%s)").format(sql.Identifier(AUTH_SCHEMA, name)).as_string()


_PASSWORD_OF = _function("password_of")
_TOKEN_USER = _function("token_user")
_RECORD = sql.SQL("SELECT {}(%s, %s, %s, %s)").format(sql.Identifier(AUTH_SCHEMA, "record"))
_FAILURES = sql.SQL("SELECT * FROM {}(%s, %s, %s)").format(sql.Identifier(AUTH_SCHEMA, "failures"))
#: verified against when a login is unknown, so a wrong login costs what a wrong password does
_DUMMY_HASH = hasher().hash("gisplatform: no such login")


class Authenticator:
    """Checks credentials against the ``auth`` schema and remembers verified passwords."""

    def __init__(self, pool: AudiencePool) -> None:
        self.pool = pool
        self._verified: OrderedDict[bytes, float] = OrderedDict()

    def _remembered(self, key: bytes) -> bool:
        moment = self._verified.get(key)
        if moment is None or time.monotonic() - moment > VERIFIED_TTL_S:
            self._verified.pop(key, None)
            return False
        self._verified.move_to_end(key)
        return True

    def _remember(self, key: bytes) -> None:
        self._verified[key] = time.monotonic()
        while len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)

    async def _lookup(self, steps: list[tuple[str | sql.Composed, list[Any]]]) -> list[Any]:
        """Run ``steps`` as the API login in one round trip; the first row of each."""
        async with self.pool.pool.connection() as conn:
            try:
                async with conn.pipeline():
                    await conn.execute(_NO_ROLE)
                    cursors = [await conn.execute(query, params) for query, params in steps]
                    await conn.execute(_PUBLIC_ROLE)
            except BaseException:
                await _restore(conn)
                raise
            return [await cursor.fetchone() for cursor in cursors]

    async def _record(self, login: str | None, address: str, method: str, outcome: str) -> None:
        await self._lookup([(_RECORD, [login, address, method, outcome])])

    async def basic(self, login: str, password: str, address: str) -> Audience:
        """The staff audience of a login and password; 401 or 429 otherwise."""
        failures, found = await self._lookup(
            [(_FAILURES, [login, address, FAILURE_WINDOW_S]), (_PASSWORD_OF, [login])]
        )
        if _over_limit(failures):
            await self._record(login, address, "basic", "limited")
            raise TooManySignIns(message("too_many_sign_ins"))
        stored, roles = (found[0], found[1]) if found else (_DUMMY_HASH, None)
        key = hashlib.sha256(f"{login}\0{password}\0{stored}".encode()).digest()
        if roles is not None and self._remembered(key):
            return Audience(signed_in=True, roles=frozenset(roles), login=login)
        valid = await anyio.to_thread.run_sync(_verify, stored, password)
        if not valid or roles is None:
            await self._record(login, address, "basic", "failure")
            raise SignInFailed(message("sign_in_failed"))
        self._remember(key)
        await self._record(login, address, "basic", "success")
        return Audience(signed_in=True, roles=frozenset(roles), login=login)

    async def bearer(self, token: str, address: str) -> Audience:
        """The staff audience of a personal token; 401 or 429 otherwise."""
        (found,) = await self._lookup([(_TOKEN_USER, [token_hash(token)])])
        if found is not None:
            return Audience(signed_in=True, roles=frozenset(found[1]), login=found[0])
        (failures,) = await self._lookup([(_FAILURES, [None, address, FAILURE_WINDOW_S])])
        if _over_limit(failures):
            await self._record(None, address, "bearer", "limited")
            raise TooManySignIns(message("too_many_sign_ins"))
        await self._record(None, address, "bearer", "failure")
        raise SignInFailed(message("sign_in_failed"))

    async def record(self, login: str | None, address: str, method: str, outcome: str) -> None:
        """Log a sign-in of another method (OIDC) in the event log."""
        await self._record(login, address, method, outcome)

    async def refuse(
        self, login: str | None, address: str, method: str, error: Exception
    ) -> NoReturn:
        """Log a failed sign-in of another method and raise ``error``; 429 when the address
        is over its limit (no per-login limit: a token's holder guesses no password)."""
        (failures,) = await self._lookup([(_FAILURES, [None, address, FAILURE_WINDOW_S])])
        if _over_limit(failures):
            await self._record(login, address, method, "limited")
            raise TooManySignIns(message("too_many_sign_ins"))
        await self._record(login, address, method, "failure")
        raise error


def _over_limit(failures: tuple[int, int] | None) -> bool:
    of_login, of_address = failures or (0, 0)
    return of_login >= MAX_FAILURES_PER_LOGIN or of_address >= MAX_FAILURES_PER_ADDRESS


def _verify(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _basic_credentials(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SignInFailed(message("sign_in_failed")) from None
    login, colon, password = decoded.partition(":")
    if not colon or not login or len(login) > 100 or len(password) > 1024:
        raise SignInFailed(message("sign_in_failed"))
    return login, password


async def _resolve(request: Request, header: str) -> Audience:
    authenticator: Authenticator = request.app.state.authenticator
    address = request.client.host if request.client else "-"
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic":
        login, password = _basic_credentials(value)
        return await authenticator.basic(login, password, address)
    oidc: OidcSignIn | None = getattr(request.app.state, "oidc", None)
    if scheme.lower() == "bearer" and oidc is not None and oidc.accepts(value.strip()):
        return await oidc.sign_in(value.strip(), address, authenticator)
    if scheme.lower() == "bearer" and 0 < len(value.strip()) <= 512:
        return await authenticator.bearer(value.strip(), address)
    raise SignInFailed(message("sign_in_failed"))


async def request_audience(request: Request) -> Audience:
    """The request's audience (one dependency for every endpoint); 401/429 on bad credentials.

    It also makes the request's queries run in that audience's views and role.
    """
    state = request.state
    audience: Audience | None = getattr(state, "audience", None)
    if audience is None:
        header = request.headers.get("authorization")
        audience = ANONYMOUS if header is None else await _resolve(request, header)
        registry: LayerRegistry = request.app.state.registry
        state.audience = audience
        state.view_audience = view_audience_for(registry, audience)
    _CURRENT.set(state.view_audience)
    return audience
