"""The streaming replica of the embedded cluster and the server's read routing.

A cluster of its own with the demo, ``db replica start`` through the CLI, and the real server
(uvicorn on loopback) reading from the replica (``GISPLATFORM_REPLICA_URLS``).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql
from starlette.requests import Request
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.ogcapi import create_app
from gisplatform.ogcapi.routing import (
    LSN_COOKIE,
    LSN_HEADER,
    SERVED_BY_HEADER,
    mark_writer,
    read_pool,
)
from gisplatform.registry import Access, LayerRegistry
from gisplatform.settings import Settings
from gisplatform.store.database import database_url, embedded_cluster
from gisplatform.store.replica import replica_cluster
from tests import live
from tests.test_embedded import cli_env, free_port, make_scratch, own_cluster_settings

pytestmark = [pytest.mark.db, pytest.mark.slow]


def _env(settings: Settings) -> dict[str, str | None]:
    return cli_env(settings, GISPLATFORM_REPLICA_PORT=str(settings.embedded_replica_port))


def _cli(settings: Settings, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["db", *args], env=_env(settings))
    assert result.exit_code == code, f"{result.output} {result.exception!r}"
    return result.output


@pytest.fixture(scope="module")
def primary() -> Iterator[Settings]:
    """An embedded cluster with the demo and a running replica; settings of the primary."""
    path = make_scratch()
    settings = own_cluster_settings(path, replica_port=free_port())
    result = CliRunner().invoke(app, ["demo"], env=_env(settings))
    assert result.exit_code == 0, result.output
    try:
        _cli(settings, "replica", "start")
        yield settings
    finally:
        replica_cluster(embedded_cluster(settings), settings.embedded_replica_port).stop()
        embedded_cluster(settings).stop()
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def server(primary: Settings, registry: LayerRegistry) -> Iterator[str]:
    """The platform served on loopback, reading from the replica."""
    status = json.loads(_cli(primary, "replica", "status", "--json"))
    assert status["running"] and status["api_url"]
    settings = primary.model_copy(
        update={"replica_urls": [status["api_url"]], "replica_max_lag_s": 5.0}
    )
    platform = create_app(settings, registry)

    async def writer(request: Request) -> dict[str, str]:
        """What an editing endpoint will do: mark the request, then use its pool."""
        mark_writer(request)
        async with read_pool(request).connection() as conn:
            cursor = await conn.execute("SELECT pg_is_in_recovery()")
            row = await cursor.fetchone()
        return {"in_recovery": str(row[0] if row else None)}

    platform.add_api_route("/_test/writer", writer, methods=["GET"])
    with live.live_server(platform) as root:
        yield root


def _layer(registry: LayerRegistry) -> str:
    return registry.list(Access.PUBLIC)[0].name


def _matched(client: httpx.Client, root: str, layer: str, **headers: str) -> httpx.Response:
    return client.get(f"{root}/ogc/collections/{layer}/items", params={"limit": 1}, headers=headers)


def _delete_one(settings: Settings, layer: str) -> str:
    """Delete one row of ``layer`` as the owner on the primary; return the WAL position after."""
    with psycopg.connect(database_url(settings), autocommit=True) as conn:
        target = sql.Identifier(settings.layer_schema, layer)
        conn.execute(
            sql.SQL("DELETE FROM {t} WHERE ctid = (SELECT min(ctid) FROM {t})").format(t=target)
        )
        row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert row is not None
    return str(row[0])


def _wait_replica_serves(client: httpx.Client, root: str, layer: str) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        response = _matched(client, root, layer)
        if response.headers[SERVED_BY_HEADER] == "replica1":
            return response
        assert time.monotonic() < deadline, "the replica never served a read"
        time.sleep(0.3)


def test_replica_status_reports_lag(primary: Settings) -> None:
    status = json.loads(_cli(primary, "replica", "status", "--json"))
    assert status["running"] is True
    assert status["port"] == primary.embedded_replica_port
    assert status["lag_bytes"] is not None and status["lag_bytes"] < 16 * 1024 * 1024
    assert status["api_url"].startswith("postgresql://gisplatform_api:")


def test_write_on_primary_is_read_through_the_replica(
    primary: Settings, server: str, registry: LayerRegistry
) -> None:
    layer = _layer(registry)
    with httpx.Client(timeout=10) as client:
        before = _wait_replica_serves(client, server, layer).json()["numberMatched"]
        lsn = _delete_one(primary, layer)
        # the writer, carrying its write's position, sees it at once, whoever serves it
        own = _matched(client, server, layer, **{LSN_HEADER: lsn})
        assert own.status_code == 200
        assert own.json()["numberMatched"] == before - 1
        # and the replica itself serves it once replayed
        deadline = time.monotonic() + 10
        while True:
            seen = _matched(client, server, layer)
            if seen.headers[SERVED_BY_HEADER] == "replica1" and (
                seen.json()["numberMatched"] == before - 1
            ):
                break
            assert time.monotonic() < deadline, "the write never reached the replica's reads"
            time.sleep(0.2)
        # a position far ahead of every replica is read from the primary
        ahead = _matched(client, server, layer, **{LSN_HEADER: "FF/0"})
        assert ahead.headers[SERVED_BY_HEADER] == "primary"
        assert ahead.json()["numberMatched"] == before - 1


def test_a_marked_writer_uses_the_primary_and_gets_its_lsn(
    server: str, registry: LayerRegistry
) -> None:
    layer = _layer(registry)
    with httpx.Client(timeout=10) as client:
        _wait_replica_serves(client, server, layer)
        wrote = client.get(f"{server}/_test/writer")
        assert wrote.status_code == 200
        assert wrote.json() == {"in_recovery": "False"}
        assert wrote.headers[SERVED_BY_HEADER] == "primary"
        lsn = wrote.headers[LSN_HEADER]
        assert client.cookies[LSN_COOKIE] == lsn
        # the cookie now travels with every read: served by whoever has replayed the write
        after = _matched(client, server, layer)
        assert after.status_code == 200


def test_lag_in_metrics(server: str) -> None:
    text = httpx.get(f"{server}/metrics", timeout=10).text
    assert 'gisplatform_replica_lag_seconds{replica="replica1"}' in text
    assert 'gisplatform_replica_up{replica="replica1"} 1.0' in text
    assert 'gisplatform_replica_lag_bytes{replica="replica1"}' in text


def test_stopping_the_replica_under_load_gives_no_5xx(
    primary: Settings, server: str, registry: LayerRegistry
) -> None:
    layer = _layer(registry)
    statuses: Counter[int] = Counter()
    served: Counter[str] = Counter()
    stop = threading.Event()
    errors: list[Any] = []

    def load() -> None:
        with httpx.Client(timeout=15) as client:
            for _ in range(2000):  # bounded
                if stop.is_set():
                    return
                try:
                    response = _matched(client, server, layer)
                except httpx.HTTPError as exc:
                    errors.append(exc)
                    continue
                statuses[response.status_code] += 1
                served[response.headers.get(SERVED_BY_HEADER, "?")] += 1

    with httpx.Client(timeout=10) as client:
        _wait_replica_serves(client, server, layer)
    workers = [threading.Thread(target=load) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(1.0)
        _cli(primary, "replica", "stop")
        time.sleep(2.0)
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
    assert not errors, errors[:3]
    assert sum(statuses.values()) > 10
    assert set(statuses) == {200}, statuses
    assert served["replica1"] > 0 and served["primary"] > 0, served
    text = httpx.get(f"{server}/metrics", timeout=10).text
    assert 'gisplatform_replica_up{replica="replica1"} 0.0' in text

    # back in service once it recovers
    _cli(primary, "replica", "start")
    with httpx.Client(timeout=10) as client:
        _wait_replica_serves(client, server, layer)
