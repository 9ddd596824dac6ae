"""Fuzz the whole served OpenAPI document with schemathesis; print the figures.

Runs ``st run`` (schemathesis 4) over ``<url>/ogc/api`` — every operation, processes
included — in the examples, coverage and fuzzing phases, checking that no answer is a 5xx
and none takes longer than ``--max-response-time``. The figures come from the HAR report
schemathesis writes: requests, requests per phase-independent status class, 5xx count and
the slowest request.

    # against a server with the demo data (gisplatform demo && gisplatform serve):
    .venv/bin/python bench/fuzz_openapi.py --url http://127.0.0.1:8000 --max-examples 100

``tests/test_fuzz_openapi.py`` runs the same function with a small budget.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PHASES = "examples,coverage,fuzzing"


@dataclass
class FuzzResult:
    """What one schemathesis run did and found."""

    returncode: int
    output: str
    seconds: float
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    slowest_ms: float = 0.0
    slowest: str = ""
    server_errors: list[str] = field(default_factory=list)
    #: (method, path, status) → requests
    answers: Counter[tuple[str, str, int]] = field(default_factory=Counter)

    def summary(self) -> str:
        """The figures as a few lines of text."""
        classes = Counter(f"{s // 100}xx" for s in self.statuses.elements())
        return "\n".join(
            [
                f"phases: {PHASES}",
                f"requests: {self.requests} in {self.seconds:.0f} s",
                "status classes: " + ", ".join(f"{k} {v}" for k, v in sorted(classes.items())),
                "statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())),
                f"5xx: {len(self.server_errors)}",
                f"slowest: {self.slowest_ms:.0f} ms ({self.slowest})",
                f"schemathesis exit code: {self.returncode}",
            ]
        )


def _read_har(path: Path, result: FuzzResult) -> None:
    try:
        entries: list[dict[str, Any]] = json.loads(path.read_text())["log"]["entries"]
    except (OSError, ValueError, KeyError):
        return  # no report (schemathesis stopped before writing it whole)
    for entry in entries:
        status = int(entry["response"]["status"])
        method, url = entry["request"]["method"], entry["request"]["url"]
        said = f"{method} {url[:200]}"
        result.answers[(method, urlsplit(url).path, status)] += 1
        result.requests += 1
        result.statuses[status] += 1
        elapsed = float(entry.get("time") or 0.0)
        if elapsed > result.slowest_ms:
            result.slowest_ms, result.slowest = elapsed, said
        if status >= 500:
            result.server_errors.append(f"{status} {said}")


def fuzz(
    root: str,
    *,
    max_examples: int,
    workers: int = 1,
    max_response_time: float = 10.0,
    seed: int | None = None,
    max_time: int | None = None,
    extra: tuple[str, ...] = (),
    timeout: float = 3600,
) -> FuzzResult:
    """Run schemathesis against the server at ``root`` (no trailing slash).

    ``max_time`` bounds the whole run (schemathesis then repeats fuzzing until it is spent);
    ``extra`` adds options to ``st run``."""
    st = Path(sys.executable).with_name("st")
    with tempfile.TemporaryDirectory(prefix="gisplatform-fuzz-") as work:
        har = Path(work) / "run.har"
        command = [
            str(st),
            "run",
            f"{root}/ogc/api",
            "--phases",
            PHASES,
            "--checks",
            "not_a_server_error",
            "--max-response-time",
            str(max_response_time),
            "--request-timeout",
            str(max_response_time + 5),
            "--max-examples",
            str(max_examples),
            "--workers",
            str(workers),
            "--continue-on-failure",
            "--suppress-health-check",
            "all",
            "--report",
            "har",
            "--report-har-path",
            str(har),
            *(["--seed", str(seed)] if seed is not None else []),
            *(["--max-time", str(max_time)] if max_time is not None else []),
            *extra,
        ]
        started = time.monotonic()
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=work,
            timeout=timeout,
            env={**os.environ, "NO_COLOR": "1"},
            check=False,
        )
        result = FuzzResult(done.returncode, done.stdout + done.stderr, time.monotonic() - started)
        _read_har(har, result)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server's root URL")
    parser.add_argument("--max-examples", type=int, default=100, help="per operation")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--max-time", type=int, default=None, help="seconds for the whole run (fuzzing repeats)"
    )
    parser.add_argument("--max-response-time", type=float, default=10.0, help="seconds")
    parser.add_argument("extra", nargs="*", help="after --: more options for `st run`")
    args = parser.parse_args()
    result = fuzz(
        args.url.rstrip("/"),
        max_examples=args.max_examples,
        workers=args.workers,
        max_response_time=args.max_response_time,
        seed=args.seed,
        max_time=args.max_time,
        extra=tuple(args.extra),
    )
    print(result.summary())
    for line in result.server_errors[:20]:
        print("  ", line)
    if result.returncode != 0:
        print(result.output[-5000:])
    return 0 if result.returncode == 0 and not result.server_errors else 1


if __name__ == "__main__":
    sys.exit(main())
