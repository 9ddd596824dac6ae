"""The benchmarks' own demo deployment: an embedded cluster with the Romny demo in a work
folder, and ``gisplatform serve`` on 127.0.0.1, started and stopped around a measurement."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GISPLATFORM = Path(sys.executable).with_name("gisplatform")


def demo_env(work_dir: Path, pg_port: int) -> dict[str, str]:
    """The environment of a deployment whose cluster lives in ``work_dir`` on ``pg_port``."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        GISPLATFORM_DATA_DIR=str(work_dir / "data"),
        GISPLATFORM_DB_PORT=str(pg_port),
        GISPLATFORM_LAYERS_DIR=str(ROOT / "layers"),
        GISPLATFORM_LOG_LEVEL="WARNING",
        GISPLATFORM_LANG="en",
    )
    return env


def load_demo(work_dir: Path, env: dict[str, str]) -> None:
    """Start the cluster and load the Romny demo into it."""
    work_dir.mkdir(parents=True, exist_ok=True)
    work_dir.chmod(0o755)  # the cluster runs as postgres when we are root
    subprocess.run([str(GISPLATFORM), "demo"], env=env, check=True, capture_output=True)


def stop_cluster(env: dict[str, str]) -> None:
    subprocess.run([str(GISPLATFORM), "db", "stop"], env=env, check=False)


def get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


@contextmanager
def serving(env: dict[str, str], port: int, workers: int = 1) -> Iterator[str]:
    """``gisplatform serve --workers N`` until ``/readyz`` answers; yields its root URL."""
    root = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(GISPLATFORM), "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit("the server exited")
            try:
                get(root + "/readyz", timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not become ready") from None
                time.sleep(0.3)
        yield root
    finally:
        process.terminate()
        process.wait(timeout=30)
