"""Items latency while analyses run: p50 of ``/ogc/collections/shelters/items?limit=10`` idle,
then while 4 clients run the ``shelter-coverage`` process in a loop; prints both and the ratio.

Sets up an embedded cluster with the Romny demo in ``/tmp/gisplatform-bench-load`` (port
54394, ``--pg-port``), starts ``gisplatform serve --workers 1`` on 127.0.0.1 and measures from
one client, one request at a time (``--samples`` each phase). The analyses run on the server's
run pool (``GISPLATFORM_PROCESS_WORKERS``, default 2; the queue's extra runs wait there, a full
queue answers 429 and is counted) with their own database connections, so what the ratio
shows is how much the analyses' CPU, on a machine of few cores, slows the API's event loop and
the database. Target: ≤ 3×.

    .venv/bin/python bench/bench_load.py [--samples 200] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from demo_server import demo_env, get, load_demo, serving, stop_cluster

WORK_DIR = Path("/tmp/gisplatform-bench-load")
ITEMS = "/ogc/collections/shelters/items?limit=10"
PROCESS = "/ogc/processes/shelter-coverage/execution"
#: a bounded loop: no client runs more analyses than this
MAX_RUNS_PER_CLIENT = 10_000


def _post(url: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _p50(url: str, samples: int) -> tuple[float, float]:
    """Median and 95th percentile latency (ms) of ``samples`` sequential GETs."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), statistics.quantiles(timings, n=20)[-1]


def _analyses(url: str, stop: threading.Event, statuses: list[int]) -> None:
    body = {"inputs": {"include_buildings": True}}
    for _ in range(MAX_RUNS_PER_CLIENT):
        if stop.is_set():
            return
        statuses.append(_post(url, body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--pg-port", type=int, default=54394)
    parser.add_argument("--port", type=int, default=8098)
    args = parser.parse_args()
    env = demo_env(WORK_DIR, args.pg_port)
    load_demo(WORK_DIR, env)
    statuses: list[int] = []
    try:
        with serving(env, args.port) as root:
            for _ in range(50):  # warm: connections, caches, the processes API
                get(root + ITEMS)
            assert _post(root + PROCESS, {"inputs": {"include_buildings": True}}) == 200
            idle = _p50(root + ITEMS, args.samples)
            stop = threading.Event()
            clients = [
                threading.Thread(target=_analyses, args=(root + PROCESS, stop, statuses))
                for _ in range(args.clients)
            ]
            for client in clients:
                client.start()
            time.sleep(2)  # the analyses are under way
            loaded = _p50(root + ITEMS, args.samples)
            stop.set()
            for client in clients:
                client.join(timeout=300)
    finally:
        stop_cluster(env)
    cores = len(os.sched_getaffinity(0))
    print(f"\n{cores} cores, load average {os.getloadavg()[0]:.2f} at the end (machine shared)")
    loaded_label = f"items limit=10, {args.clients} clients running shelter-coverage:"
    idle_label = "items limit=10, idle:".ljust(len(loaded_label))
    print(f"{idle_label} p50 {idle[0]:7.1f} ms  p95 {idle[1]:7.1f} ms")
    print(f"{loaded_label} p50 {loaded[0]:7.1f} ms  p95 {loaded[1]:7.1f} ms")
    print(f"ratio (p50 loaded / p50 idle): {loaded[0] / idle[0]:.2f}x  (target ≤ 3x)")
    counted = {code: statuses.count(code) for code in sorted(set(statuses))}
    print(f"analyses run meanwhile, by status: {counted}")


if __name__ == "__main__":
    main()
