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
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GISPLATFORM = Path(sys.executable).with_name("gisplatform")
WORK_DIR = Path("/tmp/gisplatform-bench-workers")
TILE = "/ogc/collections/shelters/tiles/WebMercatorQuad/12/1375/2428"
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def _env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        GISPLATFORM_DATA_DIR=str(WORK_DIR / "data"),
        GISPLATFORM_DB_PORT=str(args.pg_port),
        GISPLATFORM_LAYERS_DIR=str(ROOT / "layers"),
        GISPLATFORM_LOG_LEVEL="WARNING",
        GISPLATFORM_LANG="en",
    )
    return env


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def _tile_cache_hits(url: str, times: int) -> int:
    """How many of ``times`` fetches (each on a new connection, so any worker) hit the cache."""
    hits = 0
    for _ in range(times):
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            hits += response.headers.get("X-Tile-Cache") == "hit"
    return hits


def _wait_ready(root: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited")
        try:
            _get(root + "/readyz")
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not become ready")


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
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    WORK_DIR.chmod(0o755)  # the cluster runs as postgres when we are root
    env = _env(args)
    subprocess.run([str(GISPLATFORM), "demo"], env=env, check=True, capture_output=True)
    root = f"http://127.0.0.1:{args.port}"
    import json

    results: dict[int, dict[str, float]] = {}
    hit_ratios: dict[int, tuple[float, float]] = {}
    try:
        for count in [int(n) for n in args.workers.split(",")]:
            process = subprocess.Popen(
                [str(GISPLATFORM), "serve", "--workers", str(count), "--port", str(args.port)],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            try:
                _wait_ready(root, process)
                first = json.loads(_get(root + "/ogc/collections/shelters/items?limit=1"))
                item = first["features"][0]["id"]
                urls = {
                    "items limit=10": root + "/ogc/collections/shelters/items?limit=10",
                    "single item": root + f"/ogc/collections/shelters/items/{item}",
                    "warm tile": root + TILE,
                }
                cold = _tile_cache_hits(urls["warm tile"], 20)  # the first fetches warm it
                for url in urls.values():  # warm every worker's caches
                    for _ in range(20):
                        _get(url)
                warm = _tile_cache_hits(urls["warm tile"], 40)
                hit_ratios[count] = (cold / 20, warm / 40)
                results[count] = {name: _wrk(url, args.seconds) for name, url in urls.items()}
            finally:
                process.terminate()
                process.wait(timeout=30)
    finally:
        subprocess.run([str(GISPLATFORM), "db", "stop"], env=env, check=False)
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
