"""``gisplatform serve`` as a real process on a loopback port, for outage and load tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE
from tests.conftest import LAYERS_DIR, free_port, role_url

GISPLATFORM = Path(sys.executable).with_name("gisplatform")


@dataclass
class Served:
    """A running server: its root URL and its process."""

    root: str
    process: subprocess.Popen[str]

    def rss_bytes(self) -> int:
        """The server process's resident memory (``VmRSS`` of ``/proc``)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the server process")

    def output(self) -> str:
        """What the process printed (only once it has ended)."""
        return self.process.stdout.read() if self.process.stdout else ""


def server_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server on ``db_url`` (owner URL) with the service roles' URLs."""
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "GISPLATFORM_API_DATABASE_URL": role_url(db_url, API_ROLE),
        "GISPLATFORM_ANALYSES_DATABASE_URL": role_url(db_url, ANALYSES_ROLE),
        "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR),
        "GISPLATFORM_LOG_LEVEL": "WARNING",
        "GISPLATFORM_DB_CONNECTION_BUDGET": "40",
        **extra,
    }


@contextmanager
def serve(env: dict[str, str], workers: int = 1, ready_s: float = 60) -> Iterator[Served]:
    """``gisplatform serve`` with ``env``; yields once ``/readyz`` answers 200, ends it after."""
    port = free_port()
    process = subprocess.Popen(
        [str(GISPLATFORM), "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + ready_s
        while True:
            try:
                if httpx.get(f"{served.root}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, served.output()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
