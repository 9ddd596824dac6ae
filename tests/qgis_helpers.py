"""Running headless QGIS (Debian's ``python3-qgis``) from the tests: a probe script runs with
the system Python QGIS belongs to, in a subprocess with a home of the test's own."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

SYSTEM_PYTHON = "/usr/bin/python3"


def run_probe(tmp_path: Path, probe: Path, args: dict[str, Any]) -> dict[str, Any]:
    """Run ``probe`` with ``args`` (one JSON argument); the JSON it printed last."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),  # QGIS writes nothing outside the test's folders
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }
    done = subprocess.run(
        [SYSTEM_PYTHON, str(probe), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found
