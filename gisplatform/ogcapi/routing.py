"""Which database a request reads from: a healthy replica, else the primary.

Reads (GET/HEAD) go to the replicas of ``GISPLATFORM_REPLICA_URLS`` in turn; everything else,
and any request a handler marks with :func:`mark_writer` *before* it takes a connection (the
coming editing endpoints), goes to the primary. A background task asks every replica every
``CHECK_INTERVAL_S`` how far it has replayed (``pg_last_wal_replay_lsn()``) and how many seconds
it is behind; one that does not answer, or lags more than ``replica_max_lag_s``, is left out
until it recovers. The lag is exported as Prometheus gauges.

Reading one's own writes: after a writing request the primary's WAL position is sent back in
the ``X-Gisplatform-LSN`` header and the ``gisplatform_lsn`` cookie; a request that carries
either is read from a replica only once that replica has replayed that position, else from the
primary. If a replica fails while it serves a read (stopped, restarted, cut off) before the
response has begun, the request is served again from the primary, so a failing replica gives
no error to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter, Gauge
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gisplatform.ogcapi.auth import AudiencePool
from gisplatform.ogcapi.pools import server_pool
from gisplatform.settings import Settings
from gisplatform.store.replica import REPLICA_LAG_SQL, lsn_int

log = logging.getLogger(__name__)

LSN_HEADER = "X-Gisplatform-LSN"
LSN_COOKIE = "gisplatform_lsn"
#: which database served the request: ``primary`` or ``replica<N>``
SERVED_BY_HEADER = "X-Gisplatform-Database"
#: how long a writer's LSN cookie lives (longer than any sane replica lag)
LSN_COOKIE_MAX_AGE_S = 300
CHECK_INTERVAL_S = 1.0
_LSN_RE = re.compile(r"^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$")
_READ_METHODS = frozenset({"GET", "HEAD"})
_STATE_POOL = "read_pool"
_STATE_TARGET = "read_target"
_STATE_WRITER = "writer"


def mark_writer(request: Request) -> None:
    """Send this request to the primary (call before taking a connection)."""
    request.state.writer = True
    request.state.read_pool = request.app.state.primary_pool
    request.state.read_target = "primary"


def read_pool(request: Request) -> AudiencePool:
    """The pool this request reads from (the primary's unless the router chose a replica),
    each connection in the request's audience role."""
    chosen = getattr(request.state, _STATE_POOL, None)
    primary: AudiencePool = request.app.state.pool
    if not isinstance(chosen, AsyncConnectionPool) or chosen is primary.pool:
        return primary
    wrapped: dict[int, AudiencePool] = request.app.state.__dict__.setdefault(
        "_replica_audience_pools", {}
    )
    found = wrapped.get(id(chosen))
    if found is None or found.pool is not chosen:
        found = wrapped[id(chosen)] = AudiencePool(chosen)
    return found


@dataclass
class Replica:
    """One replica: its pool and what the last check found."""

    name: str
    url: str
    pool: AsyncConnectionPool
    healthy: bool = False
    replay_lsn: int = 0
    lag_seconds: float = float("inf")
    checked_at: float = 0.0


@dataclass
class ReplicaMetrics:
    """Gauges of every replica's state and a counter of reads by database."""

    registry: CollectorRegistry
    lag: Gauge = field(init=False)
    lag_bytes: Gauge = field(init=False)
    up: Gauge = field(init=False)
    reads: Counter = field(init=False)
    failovers: Counter = field(init=False)

    def __post_init__(self) -> None:
        self.lag = Gauge(
            "gisplatform_replica_lag_seconds",
            "How far a replica's replay is behind (0: all received WAL replayed)",
            ["replica"],
            registry=self.registry,
        )
        self.lag_bytes = Gauge(
            "gisplatform_replica_lag_bytes",
            "WAL bytes between the primary's position and the replica's replay",
            ["replica"],
            registry=self.registry,
        )
        self.up = Gauge(
            "gisplatform_replica_up",
            "1 when the replica answers and is within the lag limit (it serves reads)",
            ["replica"],
            registry=self.registry,
        )
        self.reads = Counter(
            "gisplatform_db_reads",
            "Requests by the database that served them",
            ["database"],
            registry=self.registry,
        )
        self.failovers = Counter(
            "gisplatform_replica_failovers",
            "Reads served again from the primary after a replica failed during them",
            ["replica"],
            registry=self.registry,
        )


async def _configure_noop(conn: AsyncConnection[Any]) -> None:
    return None


class ReadRouter:
    """The replicas, their health, and the choice of a database per request."""

    def __init__(
        self,
        primary: AsyncConnectionPool,
        replica_urls: list[str],
        max_lag_s: float,
        metrics: ReplicaMetrics,
        configure: Any = _configure_noop,
        settings: Settings | None = None,
    ) -> None:
        self.primary = primary
        self.max_lag_s = max_lag_s
        self.metrics = metrics
        settings = settings or Settings()
        self.replicas = [
            Replica(
                name=f"replica{i}",
                url=url,
                pool=server_pool(
                    url,
                    settings,
                    name=f"gisplatform-replica{i}",
                    max_size=primary.max_size,
                    min_size=0,
                    configure=configure,
                ),
            )
            for i, url in enumerate(replica_urls, start=1)
        ]
        self._turn = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self.primary_lsn = 0

    async def open(self) -> None:
        """Open the replicas' pools (without waiting) and start the health checks."""
        for replica in self.replicas:
            await replica.pool.open(wait=False)
            self.metrics.up.labels(replica.name).set(0)
        if self.replicas:
            await self.check_all()
            self._task = asyncio.create_task(self._check_loop(), name="replica-health")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for replica in self.replicas:
            await replica.pool.close()

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECK_INTERVAL_S)
            try:
                await self.check_all()
            except Exception:  # never let the checker die
                log.exception("replica health check failed")

    async def check_all(self) -> None:
        """Ask the primary for its WAL position and every replica for its replay and lag."""
        with contextlib.suppress(psycopg.Error, OSError, TimeoutError):
            async with self.primary.connection() as conn:
                cursor = await conn.execute("SELECT pg_current_wal_lsn()::text")
                row = await cursor.fetchone()
                if row:
                    self.primary_lsn = lsn_int(row[0])
        await asyncio.gather(*(self._check(r) for r in self.replicas))

    async def _check(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(3):
                conn = await AsyncConnection.connect(replica.url, connect_timeout=3)
                try:
                    cursor = await conn.execute(REPLICA_LAG_SQL)
                    row = await cursor.fetchone()
                finally:
                    await conn.close()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            if replica.healthy:
                log.warning("replica %s left out: %s", replica.name, exc)
            replica.healthy = False
            self.metrics.up.labels(replica.name).set(0)
            return
        replay = lsn_int(row[0]) if row and row[0] else 0
        lag = float(row[1]) if row and row[1] is not None else float("inf")
        replica.replay_lsn, replica.lag_seconds = replay, lag
        replica.checked_at = time.monotonic()
        healthy = replay > 0 and lag <= self.max_lag_s
        if healthy != replica.healthy:
            log.warning(
                "replica %s %s (lag %.1f s)",
                replica.name,
                "back in service" if healthy else "left out",
                lag,
            )
        replica.healthy = healthy
        self.metrics.up.labels(replica.name).set(1 if healthy else 0)
        self.metrics.lag.labels(replica.name).set(lag if lag != float("inf") else -1)
        self.metrics.lag_bytes.labels(replica.name).set(max(0, self.primary_lsn - replay))

    def choose(self, min_lsn: int | None) -> Replica | None:
        """A healthy replica that has replayed ``min_lsn`` (round robin), or None: the primary."""
        usable = [
            r for r in self.replicas if r.healthy and (min_lsn is None or r.replay_lsn >= min_lsn)
        ]
        if not usable:
            return None
        return usable[next(self._turn) % len(usable)]

    def mark_failed(self, replica: Replica) -> None:
        replica.healthy = False
        self.metrics.up.labels(replica.name).set(0)
        self.metrics.failovers.labels(replica.name).inc()


def _request_lsn(scope: Scope) -> int | None:
    """The LSN a client last wrote at, from the header or the cookie (None: none or invalid)."""
    headers = dict(scope.get("headers", []))
    raw = headers.get(LSN_HEADER.lower().encode(), b"").decode("latin-1").strip()
    if not raw:
        cookies = headers.get(b"cookie", b"").decode("latin-1")
        for part in cookies.split(";"):
            name, _, value = part.strip().partition("=")
            if name == LSN_COOKIE:
                raw = value.strip()
    return lsn_int(raw) if _LSN_RE.match(raw) else None


class ReadRoutingMiddleware:
    """Put the chosen pool into the request's state; retry a failed replica read on the primary.

    Also stamps writers' responses with the primary's WAL position (header and cookie).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope.get("app") if scope["type"] == "http" else None
        router: ReadRouter | None = getattr(getattr(app, "state", None), "read_router", None)
        if router is None:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        reading = scope.get("method", "GET") in _READ_METHODS
        replica = router.choose(_request_lsn(scope)) if reading and router.replicas else None
        if replica is None:
            await self._serve(scope, receive, send, router, "primary", router.primary)
            return
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if int(message["status"]) >= 500 and not state.get(_STATE_WRITER):
                    raise _ReplicaFailed
                started = True
            await send(message)

        try:
            await self._serve(scope, receive, guarded_send, router, replica.name, replica.pool)
            return
        except _ReplicaFailed:
            pass
        except Exception:
            if started or state.get(_STATE_WRITER):
                raise
        log.warning("read from %s failed; serving it from the primary", replica.name)
        router.mark_failed(replica)
        await self._serve(scope, receive, send, router, "primary", router.primary)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        router: ReadRouter,
        target: str,
        pool: AsyncConnectionPool,
    ) -> None:
        state = scope["state"]
        state[_STATE_POOL], state[_STATE_TARGET] = pool, target
        state.pop(_STATE_WRITER, None)

        async def stamped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                served = state.get(_STATE_TARGET, target)
                headers[SERVED_BY_HEADER] = served
                router.metrics.reads.labels(served).inc()
                wrote = state.get(_STATE_WRITER) or scope.get("method") not in _READ_METHODS
                if wrote and int(message["status"]) < 500:  # a failed write wrote nothing
                    lsn = await _primary_lsn(router.primary)
                    if lsn is not None:
                        headers[LSN_HEADER] = lsn
                        headers.append(
                            "Set-Cookie",
                            f"{LSN_COOKIE}={lsn}; Max-Age={LSN_COOKIE_MAX_AGE_S}; Path=/; "
                            "HttpOnly; SameSite=Lax",
                        )
            await send(message)

        await self.app(scope, receive, stamped_send)


class _ReplicaFailed(Exception):
    """A replica read ended in a 5xx before the response began."""


async def _primary_lsn(pool: AsyncConnectionPool) -> str | None:
    try:  # the pool's own short wait: an unreachable primary must not hold the answer
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT pg_current_wal_lsn()::text")
            row = await cursor.fetchone()
    except (psycopg.Error, TimeoutError):
        return None
    return str(row[0]) if row else None
