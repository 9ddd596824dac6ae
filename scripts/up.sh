#!/usr/bin/env bash
# Command 1: set everything up and run the platform with the Romny demo data.
#   installs PostgreSQL + PostGIS (matching the server version) and the Python env,
#   starts the embedded database (or uses DATABASE_URL), migrates, loads the demo data.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
VENV="${GISPLATFORM_VENV:-$ROOT/.venv}"
echo "==> gisplatform demo (database, migration, Romny demo data)"
"$VENV/bin/gisplatform" demo
"$VENV/bin/gisplatform" db status
