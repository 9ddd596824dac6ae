"""Clients that read slowly, pages that fail part-way, and SIGTERM, against ``gisplatform serve``.

* Ten clients reading a 10,000-feature page at 1 kB/s hold no database connection: an
  eleventh still gets the shelters in under a second (the server's pool has 4 connections;
  before the pages were read whole first, the fifth slow reader already found none).
* A large page whose query is ended by ``pg_terminate_backend`` part-way is a 503 problem,
  never a 200 (the page is read whole before the response begins, and sent with
  ``Content-Length``).
* SIGTERM stops accepting connections and lets the request in flight finish.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from gisplatform.store.roles import API_ROLE
from tests.server_process import Served, serve, server_env

pytestmark = [pytest.mark.db, pytest.mark.slow]

BIG_PAGE = "/ogc/collections/buildings/items?limit=10000"
SHELTERS = "/ogc/collections/shelters/items"
SLOW_READERS = 10


@pytest.fixture(scope="module")
def served(demo_db_url: str) -> Iterator[Served]:
    """The server on the demo database, with a pool of 4 connections."""
    with serve(server_env(demo_db_url, GISPLATFORM_POOL_SIZE="4")) as server:
        yield server


def _slow_reader(root: str, path: str, started: threading.Event, stop: threading.Event) -> None:
    """Ask for ``path`` and read the answer at 1 kB/s (a tiny receive buffer) until ``stop``."""
    address = urlsplit(root)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((address.hostname, address.port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        sock.settimeout(60)
        first = sock.recv(1024)
        assert first.startswith(b"HTTP/1.1 200"), first[:200]
        started.set()
        for _ in range(120):  # bounded: two minutes at most
            if stop.wait(1.0):
                return
            sock.recv(1024)


def test_slow_readers_do_not_hold_connections(served: Served) -> None:
    stop = threading.Event()
    started = [threading.Event() for _ in range(SLOW_READERS)]
    readers = [
        threading.Thread(target=_slow_reader, args=(served.root, BIG_PAGE, flag, stop), daemon=True)
        for flag in started
    ]
    try:
        for reader, flag in zip(readers, started, strict=True):
            # one after the other, so that they never compete for a connection: each has its
            # answer under way (and would hold its connection all along) before the next asks
            reader.start()
            assert flag.wait(60), "a slow reader got no answer"
        timings = []
        with httpx.Client(base_url=served.root, timeout=30) as http:
            for _ in range(5):
                begun = time.perf_counter()
                response = http.get(SHELTERS)
                timings.append(time.perf_counter() - begun)
                assert response.status_code == 200
                assert response.json()["numberReturned"] == 10
            metrics = http.get("/metrics").text
        assert max(timings) < 1.0, timings
        # the slow readers hold no connection: the pool is idle while they read
        waiting = [
            ln for ln in metrics.splitlines() if ln.startswith("gisplatform_db_pool_waiting")
        ]
        assert waiting and all(ln.endswith(" 0.0") for ln in waiting), waiting
    finally:
        stop.set()
        for reader in readers:
            if reader.ident is not None:  # started
                reader.join(timeout=10)


def _api_backends(conn: psycopg.Connection[tuple[object, ...]], text: str) -> list[int]:
    rows = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE usename = %s AND datname = current_database()"
        " AND state = 'active' AND query LIKE %s",
        [API_ROLE, f"%{text}%"],
    ).fetchall()
    return [int(row[0]) for row in rows]


def _fetch(root: str, outcome: dict[str, object]) -> None:
    try:
        outcome["response"] = httpx.get(root + BIG_PAGE, timeout=60)
    except httpx.HTTPError as exc:  # an aborted connection would be acceptable too
        outcome["error"] = exc


def test_page_failing_part_way_is_never_a_200(served: Served, demo_db_url: str) -> None:
    terminated = 0
    refused = 0
    with psycopg.connect(demo_db_url, autocommit=True) as admin:
        for _ in range(10):  # bounded: the query must be caught while it runs
            outcome: dict[str, object] = {}
            thread = threading.Thread(target=_fetch, args=(served.root, outcome), daemon=True)
            thread.start()
            pids: list[int] = []
            deadline = time.monotonic() + 30
            while thread.is_alive() and time.monotonic() < deadline:
                pids = _api_backends(admin, "buildings")
                if pids:  # active: part-way through the rows
                    for pid in pids:
                        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
                    terminated += 1
                    break
                time.sleep(0.002)
            thread.join(timeout=60)
            response = outcome.get("response")
            assert isinstance(response, httpx.Response) or "error" in outcome
            if not pids:
                continue  # the page was done before it was seen; try again
            if isinstance(response, httpx.Response) and response.status_code == 200:
                # the rows were all read before the backend ended: whole, never cut; try again
                whole = json.loads(response.content)
                assert whole["numberReturned"] == len(whole["features"]) == 10000
                pids = []
                continue
            if isinstance(response, httpx.Response):
                assert response.status_code == 503, response.content[:200]
                problem = response.json()
                assert problem["code"] == "ServiceUnavailable"
                assert "Retry-After" in response.headers
            refused += 1
            break
    assert terminated, "the page query was never seen running"
    assert refused, "no page was ended part-way"
    # the server is fine afterwards: the same page is whole and valid
    page = httpx.get(served.root + BIG_PAGE, timeout=60)
    assert page.status_code == 200
    assert int(page.headers["Content-Length"]) == len(page.content)
    body = json.loads(page.content)
    assert body["numberReturned"] == len(body["features"]) == 10000


def test_sigterm_lets_the_request_in_flight_finish(demo_db_url: str) -> None:
    env = server_env(demo_db_url, GISPLATFORM_SHUTDOWN_GRACE_S="20")
    with serve(env) as server, psycopg.connect(demo_db_url) as admin:
        admin.execute("LOCK TABLE gis.shelters IN ACCESS EXCLUSIVE MODE")  # the read waits on it
        outcome: dict[str, object] = {}

        def fetch() -> None:
            outcome["response"] = httpx.get(server.root + SHELTERS + "?limit=1000", timeout=60)

        thread = threading.Thread(target=fetch, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        with psycopg.connect(demo_db_url, autocommit=True) as watcher:
            while not watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock'",
                [API_ROLE],
            ).fetchone():
                assert time.monotonic() < deadline, "the request never reached the database"
                time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.process.poll() is None, "the server quit with a request in flight"
        with pytest.raises(httpx.ConnectError):  # no new connections while it drains
            httpx.get(server.root + "/healthz", timeout=2)
        admin.rollback()  # the lock goes; the request in flight completes
        thread.join(timeout=30)
        response = outcome["response"]
        assert isinstance(response, httpx.Response) and response.status_code == 200
        assert response.json()["type"] == "FeatureCollection"
        server.process.wait(timeout=15)
        # uvicorn ends by re-raising the SIGTERM it handled: a clean stop for systemd and docker
        assert server.process.returncode == -signal.SIGTERM, server.output()
        assert "Traceback" not in server.output()


def test_connections_ended_by_the_database_are_never_handed_out(
    served: Served, demo_db_url: str
) -> None:
    """After every API session is ended (as a database restart or an administrator does),
    the next requests are all answered: the pool drops the dead connections unseen."""
    with httpx.Client(base_url=served.root, timeout=30) as http:
        threads = [  # several connections in the pool, all idle afterwards
            threading.Thread(target=http.get, args=(BIG_PAGE,), daemon=True) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        with psycopg.connect(demo_db_url, autocommit=True) as admin:
            ended = admin.execute(  # waits (up to 5 s) until each session has ended
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))"
                " FROM pg_stat_activity"
                " WHERE usename = %s AND datname = current_database()",
                [API_ROLE],
            ).fetchone()
        assert ended and ended[0] >= 2, ended
        statuses = [http.get(SHELTERS).status_code for _ in range(12)]
        statuses += [http.get("/ogc/collections/shelters").status_code for _ in range(4)]
    assert statuses == [200] * 16, statuses
