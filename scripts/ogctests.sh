#!/usr/bin/env bash
# Run ogctests (the OGC API black-box verifier, PyPI "ogctests") against a running server.
#
#   scripts/ogctests.sh [ROOT_URL] [SCOPE...]     # default http://127.0.0.1:8000, features/core
#
# ogctests pins httpx < 0.28, pyarrow < 18 and pytest < 9, which the project's own
# environment does not hold to, so it gets a virtual env of its own
# (GISPLATFORM_OGCTESTS_VENV, by default /tmp/gisplatform-ogctests-venv), made once.
# Prints pytest's summary (passed / failed per test) and exits with its code.
set -euo pipefail

root="${1:-http://127.0.0.1:8000}"
shift || true
scopes=("$@")
[ ${#scopes[@]} -gt 0 ] || scopes=(features/core)
venv="${GISPLATFORM_OGCTESTS_VENV:-/tmp/gisplatform-ogctests-venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import ogctests' 2>/dev/null; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check 'ogctests==0.1.15'
fi
cd "$(mktemp -d)"
status=0
for scope in "${scopes[@]}"; do
    # run_ogctests returns pytest's exit code (its command line always exits 0)
    "$venv/bin/python" -c 'import sys
from ogctests.main import run_ogctests
sys.exit(run_ogctests(sys.argv[1], sys.argv[2], ["-q", "-rA", "-p", "no:cacheprovider"]))' \
        "$scope" "${root%/}/ogc" || status=$?
done
exit "$status"
