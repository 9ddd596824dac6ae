"""Several server workers: the connection budget, and a tile cache that stays right across them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from gisplatform.cli import app
from gisplatform.errors import ConfigurationError
from gisplatform.ogcapi.workers import connection_budget, pool_size_for
from gisplatform.registry import LayerRegistry
from tests.conftest import LAYERS_DIR, SERVICE_PASSWORD, _database_url, make_settings, role_url
from tests.live import free_port

pytestmark = [pytest.mark.db]

GISPLATFORM = Path(sys.executable).with_name("gisplatform")
#: a tile over Romny with shelters in it (z 12)
SHELTER_TILE = "/ogc/collections/shelters/tiles/WebMercatorQuad/12/1375/2428"


def test_budget_from_the_server(settings: object) -> None:
    from gisplatform.settings import Settings

    assert isinstance(settings, Settings)
    settings = settings.model_copy(update={"pool_size": None})
    budget = connection_budget(settings)
    with psycopg.connect(settings.database_url or "") as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
        ).fetchone()
    assert row is not None
    assert budget == row[0] - settings.db_reserved_connections
    assert pool_size_for(settings, 2, budget) == 10
    assert pool_size_for(settings, 20, budget) == budget // 20


def test_pool_over_the_budget_is_refused_before_any_worker_starts(settings: object) -> None:
    from gisplatform.settings import Settings

    assert isinstance(settings, Settings)
    tight = settings.model_copy(update={"pool_size": 30})
    with pytest.raises(ConfigurationError, match=r"3 workers × a pool of 30 = 90 .* 77|allows"):
        pool_size_for(tight, 3, 77)
    env = {
        "DATABASE_URL": settings.database_url,
        "GISPLATFORM_API_DATABASE_URL": settings.api_database_url,
        "GISPLATFORM_POOL_SIZE": "30",
        "GISPLATFORM_DB_CONNECTION_BUDGET": "50",
        "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR),
    }
    result = CliRunner().invoke(app, ["serve", "--workers", "2"], env=env)
    assert result.exit_code == 1
    assert isinstance(result.exception, ConfigurationError)
    assert "2 workers × a pool of 30 = 60" in str(result.exception)


@pytest.fixture(scope="module")
def demo_copy(server_url: str, registry: LayerRegistry) -> str:
    """A demo database of this module's own (the test edits it)."""
    from gisplatform.demo import load_demo
    from gisplatform.store.migrate import migrate

    url = _database_url(server_url, "gisplatform_workers")
    migrate(url, registry, make_settings(url))
    load_demo(url, registry, "gis")
    return url


@pytest.fixture(scope="module")
def two_workers(demo_copy: str) -> Iterator[str]:
    """``gisplatform serve --workers 2`` on a loopback port."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": demo_copy,
        "GISPLATFORM_API_DATABASE_URL": role_url(demo_copy, "gisplatform_api", SERVICE_PASSWORD),
        "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR),
        "GISPLATFORM_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [str(GISPLATFORM), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # two workers import the app on 2 busy cores
        while True:
            try:
                if httpx.get(f"{root}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.3)
        yield root
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tile_digests(root: str, times: int) -> set[str]:
    """Digests of the tile fetched ``times`` times, each on a new connection (any worker)."""
    found = set()
    for _ in range(times):
        response = httpx.get(root + SHELTER_TILE, timeout=10, headers={"Connection": "close"})
        assert response.status_code == 200, response.text
        found.add(hashlib.sha256(response.content).hexdigest())
    return found


def test_tile_cache_follows_the_database_across_workers(two_workers: str, demo_copy: str) -> None:
    before = _tile_digests(two_workers, 24)
    assert len(before) == 1  # every worker serves the same tile (warm in both by now)
    with psycopg.connect(demo_copy, autocommit=True) as conn:
        conn.execute(
            sql.SQL("UPDATE {} SET name = name || ' (змінено)'").format(
                sql.Identifier("gis", "shelters")
            )
        )
    after = _tile_digests(two_workers, 24)
    assert len(after) == 1 and after != before, "a worker served a stale tile"
    metrics = httpx.get(f"{two_workers}/metrics", timeout=10).text
    assert "gisplatform_http_requests_total" in metrics
