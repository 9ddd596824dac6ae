#!/usr/bin/env bash
# Command 2: run the whole test suite (lint, types, tests against a real PostGIS).
# Any skipped test fails the run, and so does a run that collects no test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
VENV="${GISPLATFORM_VENV:-$ROOT/.venv}"
echo "==> ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "==> mypy"
"$VENV/bin/mypy"
echo "==> pytest"
export GISPLATFORM_FAIL_ON_SKIP=1
status=0
"$VENV/bin/python" -m pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
    echo "pytest collected no tests: failing" >&2
fi
exit "$status"
