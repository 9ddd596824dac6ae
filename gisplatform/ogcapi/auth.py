"""Who a request is served to, decided once: anonymous, or staff signed in with a password
(``Authorization: Basic``, QGIS Basic auth), a personal token (``Authorization: Bearer``,
QGIS API-header auth, scripts) or an identity provider's access token (``Bearer`` JWT,
:mod:`gisplatform.access.oidc`).

The audience picks the database audience (:mod:`gisplatform.store.audiences`) whose views
and role every query of the request then uses: :class:`AudiencePool` switches a connection
to that role when it is taken and puts the public role back before it returns (shielded
from cancellation; a connection that cannot take it is closed, never pooled). A
request without credentials is served exactly as before; wrong credentials are a 401, and
too many failures from one address a 429, each recorded in ``auth.events``. A credential
the database confirmed is trusted for a few seconds (``GISPLATFORM_AUTH_CACHE_SECONDS``),
and a connection already in the audience's role serves the next signed-in request, so a
signed-in request costs no round trip more than an anonymous one.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import anyio
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from psycopg import AsyncConnection, sql
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool
from starlette.types import ASGIApp, Receive, Scope, Send

from gisplatform.access.sessions import cookie_audience
from gisplatform.errors import SignInFailed, TooManySignIns
from gisplatform.i18n import message
from gisplatform.registry import Audience, LayerRegistry
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
#: idle connections kept in one staff audience's role for its next request
KEEP_PER_ROLE = 2
#: seconds a kept connection waits for its audience before it goes back to the pool
KEEP_IDLE_S = 2.0

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
    """The server's pool; each connection taken runs as the request's audience role.

    The public's connections are the pool's own, always in the public role. A signed-in
    request's connection takes its audience's role with ``SET ROLE``; when the request is
    done with it, it is kept aside, still in that role, for that audience's next request
    (at most :data:`KEEP_PER_ROLE` per role, a quarter of the pool in all, for
    :data:`KEEP_IDLE_S` seconds), so a steady stream of signed-in requests pays no round trip
    for its role. Every other connection goes back to the pool only once the public role is
    back on it, in a task of its own (the response does not wait); a connection that cannot
    take it is closed. No connection in a staff role is ever handed to another audience.
    """

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._roles: dict[str, str] = {}
        self._returning: set[asyncio.Task[None]] = set()
        self._kept: dict[str, list[tuple[float, AsyncConnection[Any]]]] = {}
        self._kept_count = 0
        self._keep_max = max(1, int(getattr(pool, "max_size", 4) or 4) // 4)
        self._reaper: asyncio.Task[None] | None = None

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
        if view.is_public:
            async with self.pool.connection(timeout=timeout) as conn:
                yield conn
            return
        held = self._take_kept(view.role)
        if held is None:
            held = await self.pool.getconn(timeout=timeout)
            try:
                await held.execute(self._set_role(view.role))
            except BaseException:
                self._give_back_later(held)
                raise
        try:
            yield held
        finally:
            self._release(view.role, held)

    def _take_kept(self, role: str) -> AsyncConnection[Any] | None:
        kept = self._kept.get(role)
        while kept:
            _, conn = kept.pop()
            self._kept_count -= 1
            if not conn.closed:
                return conn
            self._give_back_later(conn)
        return None

    def _release(self, role: str, conn: AsyncConnection[Any]) -> None:
        """Keep ``conn`` for ``role``'s next request, or give it back in the public role."""
        kept = self._kept.setdefault(role, [])
        reusable = not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE
        if reusable and len(kept) < KEEP_PER_ROLE and self._kept_count < self._keep_max:
            kept.append((time.monotonic(), conn))
            self._kept_count += 1
            if self._reaper is None or self._reaper.done():
                self._reaper = asyncio.get_running_loop().create_task(self._reap())
            return
        self._give_back_later(conn)

    async def _reap(self) -> None:
        """Give back the kept connections no request took within KEEP_IDLE_S."""
        while self._kept_count:
            await asyncio.sleep(KEEP_IDLE_S / 2)
            limit = time.monotonic() - KEEP_IDLE_S
            for kept in self._kept.values():
                stale = [entry for entry in kept if entry[0] <= limit]
                for entry in stale:
                    kept.remove(entry)
                    self._kept_count -= 1
                    self._give_back_later(entry[1])

    async def release_kept(self) -> None:
        """Give back every kept connection now (before the pool closes)."""
        for kept in self._kept.values():
            while kept:
                self._kept_count -= 1
                self._give_back_later(kept.pop()[1])
        if self._returning:
            await asyncio.gather(*self._returning, return_exceptions=True)

    def _give_back_later(self, conn: AsyncConnection[Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._give_back(conn))
        self._returning.add(task)
        task.add_done_callback(self._returning.discard)

    async def _give_back(self, conn: AsyncConnection[Any]) -> None:
        """Put the public role back on ``conn`` (closing it if that fails), then pool it."""
        try:
            if not conn.closed:
                with contextlib.suppress(Exception):  # closed by _restore: the pool drops it
                    await _restore(conn)
        finally:
            await self.pool.putconn(conn)

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


class _Recent:
    """Audiences of credentials verified in the last ``ttl`` seconds, by digest.

    Only a keyed digest of the credential is kept (BLAKE2b with a key of this process),
    never the credential itself.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._secret = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[float, Audience]] = OrderedDict()

    def key(self, credential: bytes) -> bytes:
        """The digest ``credential`` is remembered by."""
        return hashlib.blake2b(credential, key=self._secret, digest_size=32).digest()

    def get(self, key: bytes) -> Audience | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if time.monotonic() - found[0] >= self.ttl:
            del self._entries[key]
            return None
        return found[1]

    def put(self, key: bytes, audience: Audience) -> None:
        if self.ttl <= 0:
            return
        self._entries[key] = (time.monotonic(), audience)
        self._entries.move_to_end(key)
        while len(self._entries) > VERIFIED_CACHE_SIZE:
            self._entries.popitem(last=False)


class Authenticator:
    """Checks credentials against the ``auth`` schema and remembers verified ones.

    A credential the database confirmed is trusted for ``recent_s`` seconds
    (``GISPLATFORM_AUTH_CACHE_SECONDS``) without asking again, so a signed-in request
    costs no more round trips than an anonymous one but taking its audience's role; a
    revoked token, a disabled account or a changed password stop working after that time.
    A verified password's Argon2 check is remembered longer, as long as its hash is unchanged.
    """

    def __init__(self, pool: AudiencePool, recent_s: float = 5.0) -> None:
        self.pool = pool
        self._verified: OrderedDict[bytes, float] = OrderedDict()
        self._recent = _Recent(recent_s)

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

    async def basic(
        self, login: str, password: str, address: str, method: str = "basic"
    ) -> Audience:
        """The staff audience of a login and password; 401 or 429 otherwise.

        ``method`` names the way in the event log (``basic``, or ``session``: the sign-in form).
        """
        recent_key = self._recent.key(f"basic\0{login}\0{password}".encode())
        recent = self._recent.get(recent_key)
        if recent is not None:
            return recent
        failures, found = await self._lookup(
            [(_FAILURES, [login, address, FAILURE_WINDOW_S]), (_PASSWORD_OF, [login])]
        )
        if _over_limit(failures):
            await self._record(login, address, method, "limited")
            raise TooManySignIns(message("too_many_sign_ins"))
        stored, roles = (found[0], found[1]) if found else (_DUMMY_HASH, None)
        key = hashlib.sha256(f"{login}\0{password}\0{stored}".encode()).digest()
        if roles is not None and self._remembered(key):
            audience = Audience(signed_in=True, roles=frozenset(roles), login=login)
            self._recent.put(recent_key, audience)
            return audience
        valid = await anyio.to_thread.run_sync(_verify, stored, password)
        if not valid or roles is None:
            await self._record(login, address, method, "failure")
            raise SignInFailed(message("sign_in_failed"))
        self._remember(key)
        await self._record(login, address, method, "success")
        audience = Audience(signed_in=True, roles=frozenset(roles), login=login)
        self._recent.put(recent_key, audience)
        return audience

    async def bearer(self, token: str, address: str) -> Audience:
        """The staff audience of a personal token; 401 or 429 otherwise."""
        digest = token_hash(token)
        recent_key = self._recent.key(digest)
        recent = self._recent.get(recent_key)
        if recent is not None:
            return recent
        (found,) = await self._lookup([(_TOKEN_USER, [digest])])
        if found is not None:
            audience = Audience(signed_in=True, roles=frozenset(found[1]), login=found[0])
            self._recent.put(recent_key, audience)
            return audience
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
        registry: LayerRegistry = request.app.state.registry
        if header is not None:
            audience = await _resolve(request, header)
            view = view_audience_for(registry, audience)
        elif (session := await cookie_audience(request)) is not None:
            # a browser signed in with the form: its session cookie (CSRF-checked)
            audience = session
            view = view_audience_for(registry, audience)
        else:
            # the public, less what the publication kill switch withdrew
            watch = getattr(request.app.state, "publication", None)
            view = (await watch.current()).view if watch is not None else PUBLIC
            audience = view.reader
        state.audience = audience
        state.view_audience = view
    _CURRENT.set(state.view_audience)
    return audience
