"""Time the analyses on the Romny demo data and print the figures.

Usage: ``python bench/bench_analyses.py [DATABASE_URL]``. The database must hold the demo
data (``gisplatform demo``); without a URL a temporary embedded cluster is started and the
demo is loaded into it.
"""

from __future__ import annotations

import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

from gisplatform.analyses import (
    LightingGapsInput,
    NearestShelterInput,
    ServiceAccessInput,
    ShelterCoverageInput,
    ensure_graph,
    lighting_gaps,
    nearest_shelter,
    service_access,
    shelter_coverage,
)
from gisplatform.demo import load_demo
from gisplatform.registry import load_registry
from gisplatform.settings import PROJECT_ROOT, Settings
from gisplatform.store.embedded import EmbeddedCluster
from gisplatform.store.migrate import migrate

ORIGINS = [(33.475, 50.751), (33.495, 50.740), (33.46, 50.765), (33.51, 50.75)]


def _timed(label: str, runs: int, call: Callable[[], object]) -> None:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    print(f"{label:<44} median {statistics.median(times) * 1000:9.1f} ms  (n={runs})")


def run(url: str) -> None:
    """Print the timings of every analysis on the database at ``url``."""
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        info = ensure_graph(conn, force=True)
        build = time.perf_counter() - started
        print(f"{'graph build':<44} {build * 1000:16.1f} ms  ({info.edges} edges)")
        inputs = [
            NearestShelterInput.model_validate({"origin": {"lon": lon, "lat": lat}})
            for lon, lat in ORIGINS
        ]
        index = iter(range(10**6))
        _timed(
            "nearest_shelter (3 ready, routes)",
            40,
            lambda: nearest_shelter(conn, inputs[next(index) % len(inputs)]),
        )
        _timed(
            "shelter_coverage (10,405 buildings)",
            5,
            lambda: shelter_coverage(conn, ShelterCoverageInput()),
        )
        _timed("lighting_gaps (50 m)", 5, lambda: lighting_gaps(conn, LightingGapsInput()))
        _timed("service_access (3 services)", 3, lambda: service_access(conn, ServiceAccessInput()))


def main() -> None:
    """Run against the given URL or a temporary embedded cluster with the demo data."""
    if len(sys.argv) > 1:
        run(sys.argv[1])
        return
    data_dir = Path(tempfile.mkdtemp(prefix="gisplatform-bench-"))
    data_dir.chmod(0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    cluster = EmbeddedCluster(data_dir, port, "gisplatform_bench")
    url = cluster.start()
    try:
        registry = load_registry(PROJECT_ROOT / "layers")
        settings = Settings(DATABASE_URL=url, layers_dir=PROJECT_ROOT / "layers")  # type: ignore[call-arg]
        migrate(url, registry, settings)
        load_demo(url, registry, settings.layer_schema)
        run(url)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
