"""Throughput with 1 and with 2 server workers, in one run: items (limit=10), one item, a warm tile.

Sets up an embedded cluster with the Romny demo in ``/tmp/gisplatform-bench-workers`` (port
54393, ``--pg-port``), then for each worker count starts ``gisplatform serve --workers N`` on
127.0.0.1, warms the URLs and runs ``wrk -t1 -c8 -d<seconds>s`` on each, in turn. Prints
requests per second and the 2-worker/1-worker ratios. wrk shares the machine's cores with the
server and the database, so on a 2-core machine the ceiling of the ratio is well below 2.

    .venv/bin/python bench/bench_workers.py [--seconds 8] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

from demo_server import demo_env, get, load_demo, serving, stop_cluster

WORK_DIR = Path("/tmp/gisplatform-bench-workers")
TILE = "/ogc/collections/shelters/tiles/WebMercatorQuad/12/1375/2428"
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def _tile_cache_hits(url: str, times: int) -> int:
    """How many of ``times`` fetches (each on a new connection, so any worker) hit the cache."""
    hits = 0
    for _ in range(times):
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            hits += response.headers.get("X-Tile-Cache") == "hit"
    return hits


def _wrk(url: str, seconds: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", "-c8", f"-d{seconds}s", url], capture_output=True, text=True, check=True
    ).stdout
    bad = _NON2XX.search(out)
    if bad and int(bad.group(1)) > 0:
        raise SystemExit(f"{url}: {bad.group(1)} non-2xx answers")
    found = _RPS.search(out)
    if not found:
        raise SystemExit(f"no Requests/sec in wrk output: {out}")
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--pg-port", type=int, default=54393)
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    env = demo_env(WORK_DIR, args.pg_port)
    load_demo(WORK_DIR, env)

    results: dict[int, dict[str, float]] = {}
    hit_ratios: dict[int, tuple[float, float]] = {}
    try:
        for count in [int(n) for n in args.workers.split(",")]:
            with serving(env, args.port, workers=count) as root:
                first = json.loads(get(root + "/ogc/collections/shelters/items?limit=1"))
                item = first["features"][0]["id"]
                urls = {
                    "items limit=10": root + "/ogc/collections/shelters/items?limit=10",
                    "single item": root + f"/ogc/collections/shelters/items/{item}",
                    "warm tile": root + TILE,
                }
                cold = _tile_cache_hits(urls["warm tile"], 20)  # the first fetches warm it
                for url in urls.values():  # warm every worker's caches
                    for _ in range(20):
                        get(url)
                warm = _tile_cache_hits(urls["warm tile"], 40)
                hit_ratios[count] = (cold / 20, warm / 40)
                results[count] = {name: _wrk(url, args.seconds) for name, url in urls.items()}
    finally:
        stop_cluster(env)
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    print(f"\n{cores} cores, load average {load:.2f} before the end (machine shared)")
    counts = sorted(results)
    print(
        "scenario".ljust(18)
        + "".join(f"{c} worker(s) req/s".rjust(22) for c in counts)
        + ("  ratio" if len(counts) > 1 else "")
    )
    for name in results[counts[0]]:
        row = name.ljust(18) + "".join(f"{results[c][name]:22.1f}" for c in counts)
        if len(counts) > 1:
            row += f"  {results[counts[-1]][name] / results[counts[0]][name]:.2f}x"
        print(row)
    for count, (cold, warm) in sorted(hit_ratios.items()):
        print(
            f"tile cache, {count} worker(s): hit ratio {cold:.2f} over the first 20 fetches "
            f"(each worker renders the tile once), {warm:.2f} once warm"
        )


if __name__ == "__main__":
    main()
