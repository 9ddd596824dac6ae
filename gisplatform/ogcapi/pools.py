"""The server's database pools, and how they behave when the database fails or is overloaded.

* **Stale connections are never handed out.** After the database restarted (or an
  administrator ended sessions), the idle connections in the pool are dead. Before a
  connection is given out, :meth:`ServerPool.getconn` looks whether its socket has anything
  to read; an idle connection of a live server has nothing, so this costs no round trip. If
  there is something (the server's "terminating connection" message, or the end of the
  stream), the connection is tried with an empty query, and when that fails it is dropped
  and the next one taken at once (the pool opens a replacement in the background). psycopg's
  own ``check`` callback would do the same with a round trip each time, and would wait a
  second before trying the next connection.
* **Load is shed, not queued.** A request waits at most ``GISPLATFORM_POOL_TIMEOUT`` seconds
  for a connection, and at most ``GISPLATFORM_POOL_MAX_WAITING`` requests wait at once; the
  others are answered 503 with ``Retry-After`` straight away (``PoolTimeout`` and
  ``TooManyRequests`` go through the API's error handlers).
* **Recovery without a restart.** New connections give up after
  ``GISPLATFORM_DB_CONNECT_TIMEOUT`` seconds, and a failing reconnection gives up after
  :data:`RECONNECT_TIMEOUT_S` (psycopg's default is five minutes, with a doubling back-off
  between attempts that would leave a returned database unused for up to a minute); the
  next request then starts a fresh attempt. A database back up is used within about
  :data:`RECONNECT_TIMEOUT_S` seconds.

A server on another host that vanishes without closing its sockets (a cut network) is not
seen by the socket test: the first query on each such connection fails (503) and the
connection is dropped.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Awaitable, Callable
from time import monotonic
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gisplatform.settings import Settings

log = logging.getLogger(__name__)

#: seconds the pool keeps retrying a failed connection before it waits for the next request
RECONNECT_TIMEOUT_S = 2.0

Configure = Callable[[AsyncConnection[Any]], Awaitable[None]]


def _quiet(conn: AsyncConnection[Any]) -> bool:
    """True when nothing waits to be read on the idle connection's socket."""
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.OperationalError):
        return False
    return not readable


async def answers(conn: AsyncConnection[Any]) -> bool:
    """Whether an idle connection still works (a round trip only when its socket stirred)."""
    if conn.closed or conn.broken:
        return False
    if _quiet(conn):
        return True
    try:
        await conn.execute("")
    except psycopg.Error:
        await conn.close()
        return False
    return True


class ServerPool(AsyncConnectionPool[AsyncConnection[Any]]):
    """An :class:`~psycopg_pool.AsyncConnectionPool` that hands out only live connections."""

    async def getconn(self, timeout: float | None = None) -> AsyncConnection[Any]:
        """A connection that answers, within ``timeout`` (default: the pool's) or PoolTimeout."""
        wait = self.timeout if timeout is None else timeout
        deadline = monotonic() + wait
        for _ in range(self.max_size + 1):
            conn = await super().getconn(timeout=max(deadline - monotonic(), 1e-3))
            if await answers(conn):
                return conn
            log.info("pool %s: dropped a dead connection", self.name)
            await self.putconn(conn)  # closed: the pool discards it and opens another
        raise PoolTimeout(f"no live connection in pool {self.name!r} after {wait:.2f} s")


def server_pool(
    url: str,
    settings: Settings,
    *,
    name: str,
    max_size: int,
    min_size: int = 1,
    configure: Configure | None = None,
) -> ServerPool:
    """A pool of the server, not yet opened, bounded as the module describes."""
    return ServerPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True, "connect_timeout": settings.db_connect_timeout},
        configure=configure,
        timeout=settings.pool_timeout,
        max_waiting=settings.pool_max_waiting,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        open=False,
        name=name,
    )
