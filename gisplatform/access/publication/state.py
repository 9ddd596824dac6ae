"""What the server knows of the publication state: the public audience less what is withdrawn.

The public views enforce a withdrawal in the database the moment it commits; the server must
also stop *listing* a withdrawn layer or field (``/collections``, the catalogue, OpenAPI, the
web map, tilesets), so each anonymous request is served with the public
:class:`~gisplatform.registry.Audience` that carries the withdrawn layers and fields. The
server keeps it per publication revision and asks the database for the revision at most once
every ``refresh_s`` (one cheap call; the listing is read again only when the revision moved),
so a withdrawal made elsewhere (the CLI, another worker) reaches the listings within that
time, and one made through this worker's admin endpoint at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import PoolTimeout

from gisplatform.access.publication.store import (
    LISTING,
    REVISION,
    Withdrawal,
    public_reader,
    withdrawal_of,
)
from gisplatform.registry import ANONYMOUS, Audience
from gisplatform.store.audiences import PUBLIC, ViewAudience

#: how often a server asks the database whether the publication state moved
DEFAULT_REFRESH_S = 0.5
_NO_ROLE = "SET ROLE NONE"
_PUBLIC_ROLE = sql.SQL("SET ROLE {}").format(sql.Identifier(PUBLIC.role)).as_string()


@dataclass(frozen=True)
class PublicState:
    """The publication state at one revision, as the server serves the public."""

    revision: int
    withdrawals: tuple[Withdrawal, ...]
    view: ViewAudience

    @property
    def reader(self) -> Audience:
        """The public audience with the withdrawn layers and fields taken away."""
        return self.view.reader


def public_state(revision: int, withdrawals: list[Withdrawal]) -> PublicState:
    """The state of ``withdrawals`` at ``revision``."""
    reader = public_reader(withdrawals)
    view = PUBLIC if reader == ANONYMOUS else ViewAudience(PUBLIC.schema, PUBLIC.role, reader)
    return PublicState(revision, tuple(withdrawals), view)


class PublicationWatch:
    """The publication state of one server process, refreshed from the database.

    ``pool`` is the primary's pool (a replica's copy of the state may lag). Its connections
    run as the public role; the state is read as the API login (``SET ROLE NONE``), which
    alone may call the schema's functions, and the public role is put back before the
    connection returns.
    """

    def __init__(self, pool: Any, refresh_s: float = DEFAULT_REFRESH_S) -> None:
        self.pool = pool
        self.refresh_s = refresh_s
        self._state = public_state(-1, [])
        self._checked = float("-inf")
        self._lock = anyio.Lock()

    @property
    def state(self) -> PublicState:
        """The last state read (the public with nothing withdrawn before the first read)."""
        return self._state

    async def current(self) -> PublicState:
        """The state, asking the database when the last check is older than ``refresh_s``."""
        if time.monotonic() - self._checked < self.refresh_s:
            return self._state
        return await self.refresh(fresh_enough=True)

    async def refresh(self, force: bool = False, fresh_enough: bool = False) -> PublicState:
        """Read the revision (and, when it moved or ``force``, the withdrawals).

        ``fresh_enough``: skip the read when another request refreshed while this one waited.
        """
        async with self._lock:
            started = time.monotonic()
            if fresh_enough and started - self._checked < self.refresh_s:
                return self._state
            try:
                self._state = await _read(self.pool, self._state, force)
            except (psycopg.OperationalError, PoolTimeout):
                if force:
                    raise
                # the database is down or busy: keep the last state for this interval (the
                # public views enforce every withdrawal themselves), so requests waiting here
                # do not queue one pool timeout after another before their own 503
                self._checked = started
                return self._state
            self._checked = started
        return self._state


@asynccontextmanager
async def api_login(pool: Any, timeout: float | None = None) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection of ``pool`` (public role) in the API login's own role, which alone may
    call the publication functions; the public role is back before it returns to the pool."""
    async with pool.connection(timeout=timeout) as conn:
        try:
            await conn.execute(_NO_ROLE)
            yield conn
        finally:
            try:
                with anyio.CancelScope(shield=True):
                    await conn.execute(_PUBLIC_ROLE)
            except BaseException:
                conn.pgconn.finish()  # never pooled in the login's own role
                raise


#: how long a routine check of the publication state waits for a connection
CHECK_TIMEOUT_S = 0.25


async def _read(pool: Any, known: PublicState, force: bool) -> PublicState:
    async with api_login(pool, None if force else CHECK_TIMEOUT_S) as conn:
        cursor = await conn.execute(REVISION)
        row = await cursor.fetchone()
        revision = int(row[0]) if row else 0
        if revision == known.revision and not force:
            return known
        cursor = await conn.execute(LISTING)
        rows = await cursor.fetchall()
        return public_state(revision, [withdrawal_of(r) for r in rows])
