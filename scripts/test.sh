#!/usr/bin/env bash
# Command 2: run the whole test suite (lint, types, tests against a real PostGIS).
# Any skipped test fails the run, and so does a run that collects no test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
# The OIDC tests' identity provider (npm oidc-provider), a test-only dependency.
IDP="$ROOT/tests/idp"
want="$(sha256sum "$IDP/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f $IDP/node_modules/.stamp || "$(cat "$IDP/node_modules/.stamp")" != "$want" ]]; then
    echo "==> test identity provider from npm (tests/idp/package-lock.json)"
    (cd "$IDP" && npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$want" >"$IDP/node_modules/.stamp"
fi
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
