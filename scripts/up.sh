#!/usr/bin/env bash
# Command 1: set everything up and run the platform with the Romny demo data.
#   installs PostgreSQL + PostGIS (matching the server version) and the Python env,
#   starts the embedded database (or uses DATABASE_URL), migrates, loads the demo data,
#   then serves the web map and OGC API on http://127.0.0.1:8000.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
VENV="${GISPLATFORM_VENV:-$ROOT/.venv}"
echo "==> gisplatform demo (database, migration, Romny demo data)"
"$VENV/bin/gisplatform" demo
"$VENV/bin/gisplatform" db status
HOST="${GISPLATFORM_HOST:-127.0.0.1}"
PORT="${GISPLATFORM_PORT:-8000}"
echo "==> serving the web map and OGC API on http://$HOST:$PORT/ (Ctrl-C stops the server)"
echo "    web map: http://$HOST:$PORT/    OGC API: http://$HOST:$PORT/ogc/"
exec "$VENV/bin/gisplatform" serve --host "$HOST" --port "$PORT"
