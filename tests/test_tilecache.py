"""The tile cache's memory bound: what an entry costs, measured, and the server's RSS under
requests for random empty z20 tiles.

The server test asks for 2,500 tiles by default with a 512 kB budget (room for about 1,400
empty tiles), so that it stays near a minute on a busy 2-core machine (30 tiles/s there); set
``GISPLATFORM_TEST_RANDOM_TILES=20000`` for the full run (about ten minutes there).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import threading
import tracemalloc

import httpx
import pytest

from gisplatform.ogcapi.tilecache import EMPTY_TILE, RenderedTile, TileCache, TileKey, entry_cost
from tests.server_process import serve, server_env

MB = 1024 * 1024
#: the budget the server test gives its cache (small, so that the bound is what is seen)
BUDGET = MB // 2
RANDOM_TILES = int(os.environ.get("GISPLATFORM_TEST_RANDOM_TILES", "2500"))
WARM_TILES = 200


def _key(i: int, revision: int = 7) -> TileKey:
    """A key built as the tiles router builds one: fresh ints and a fresh fingerprint string."""
    fingerprint = hashlib.sha1(b"settings").hexdigest()[:12]
    x, y = 600_000 + i, 350_000 + 3 * i  # large ints: objects of their own
    return ((("shelters", revision + 1_000_000),), "WebMercatorQuad", 20, x, y, fingerprint, "pub")


def test_accounted_bytes_match_the_memory_entries_take() -> None:
    """What the cache says it holds is what tracemalloc sees it allocate (within 25 %)."""
    cache = TileCache(max_bytes=1 << 30)
    for body in (b"", b"x" * 700):
        cache.clear()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(20_000):
                # a body of its own for each tile (bytes(body) would be the same object)
                cache.put(_key(i), RenderedTile(body + i.to_bytes(4) if body else b""))
            allocated = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert len(cache) == 20_000
        assert 0.8 * allocated <= cache.size <= 1.25 * allocated, (len(body), cache.size, allocated)


def test_empty_tiles_share_one_object_and_cost_only_their_key() -> None:
    cache = TileCache(max_bytes=1 << 20)
    cache.put(_key(1), RenderedTile(b""))
    assert cache.get(_key(1)) is EMPTY_TILE
    assert cache.size == entry_cost(_key(1), EMPTY_TILE)
    full = RenderedTile(b"x" * 1000)
    assert entry_cost(_key(1), full) > entry_cost(_key(1), EMPTY_TILE) + 1000


def test_bytes_and_entries_are_both_capped() -> None:
    by_bytes = TileCache(max_bytes=100 * entry_cost(_key(0), EMPTY_TILE))
    by_count = TileCache(max_bytes=1 << 30, max_entries=50)
    for i in range(1000):
        by_bytes.put(_key(i), RenderedTile(b""))
        by_count.put(_key(i), RenderedTile(b""))
    assert by_bytes.size <= by_bytes.max_bytes and 90 <= len(by_bytes) <= 100
    assert len(by_count) == 50
    # least recently used go first: the newest are kept
    assert by_count.get(_key(999)) is not None and by_count.get(_key(0)) is None
    by_bytes.put(_key(5000), RenderedTile(b"y" * 10_000_000))  # larger than the budget: not kept
    assert by_bytes.get(_key(5000)) is None


def _gauge(metrics: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE)
    assert found, name
    return float(found.group(1))


@pytest.mark.db
@pytest.mark.slow
def test_random_z20_tiles_keep_the_server_within_its_cache_budget(demo_db_url: str) -> None:
    env = server_env(demo_db_url, GISPLATFORM_TILES_CACHE_BYTES=str(BUDGET))
    rng = random.Random(20)
    # z20 tiles around Romny (x ≈ 621,000, y ≈ 355,000), mostly empty, never repeated
    wanted = list(
        {
            (rng.randrange(600_000, 640_000), rng.randrange(330_000, 380_000))
            for _ in range(RANDOM_TILES + WARM_TILES + 1000)
        }
    )
    with serve(env) as served:

        def ask(tiles: list[tuple[int, int]], statuses: list[int]) -> None:
            with httpx.Client(base_url=served.root, timeout=30) as http:
                for x, y in tiles:
                    path = f"/ogc/collections/shelters/tiles/WebMercatorQuad/20/{y}/{x}"
                    statuses.append(http.get(path).status_code)

        def run(tiles: list[tuple[int, int]], clients: int = 4) -> list[int]:
            statuses: list[int] = []
            threads = [
                threading.Thread(target=ask, args=(tiles[i::clients], statuses), daemon=True)
                for i in range(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=900)
                assert not thread.is_alive(), "the tile requests did not finish"
            return statuses

        warm = run(wanted[:WARM_TILES])  # pools, caches of the server's own, allocator arenas
        assert set(warm) <= {200, 204}
        rss_before = served.rss_bytes()
        statuses = run(wanted[WARM_TILES : WARM_TILES + RANDOM_TILES])
        rss_after = served.rss_bytes()
        metrics = httpx.get(served.root + "/metrics", timeout=10).text
    assert len(statuses) == RANDOM_TILES and set(statuses) <= {200, 204}
    assert statuses.count(204) > 0.9 * RANDOM_TILES  # empty tiles, the cheap kind to ask for
    growth = rss_after - rss_before
    held = _gauge(metrics, "gisplatform_tile_cache_bytes")
    entries = _gauge(metrics, "gisplatform_tile_cache_entries")
    assert held <= BUDGET
    # the budget, not the number of requests, bounds the cache: counted at their real size
    # (a few hundred bytes each, not the body's zero) far fewer tiles than were asked fit
    assert entries < 0.75 * RANDOM_TILES, entries
    assert held / entries > 300 and held > BUDGET - 2000
    print(f"tile cache: {entries:.0f} tiles in {held / MB:.2f} MB; RSS grew {growth / MB:.1f} MB")
    assert growth < BUDGET + 50 * MB, f"RSS grew {growth / MB:.1f} MB"
