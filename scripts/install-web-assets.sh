#!/usr/bin/env bash
# Install the web map's browser libraries from npm (package-lock.json) and copy only the files
# the page loads into gisplatform/webmap/static/vendor/, so the map never needs a CDN.
# Idempotent; needs node + npm. Usage: scripts/install-web-assets.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WEB="$ROOT/gisplatform/webmap"
NM="$WEB/node_modules"
VENDOR="$WEB/static/vendor"

command -v npm >/dev/null 2>&1 || { echo "install-web-assets: npm is required" >&2; exit 1; }
(cd "$WEB" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)

rm -rf "$VENDOR"
mkdir -p "$VENDOR/leaflet/images" "$VENDOR/vectorgrid" "$VENDOR/fullscreen" "$VENDOR/locate"
cp "$NM/leaflet/dist/leaflet.js" "$NM/leaflet/dist/leaflet.css" "$VENDOR/leaflet/"
cp "$NM"/leaflet/dist/images/*.png "$VENDOR/leaflet/images/"
cp "$NM/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js" "$VENDOR/vectorgrid/"
cp "$NM/leaflet.fullscreen/dist/Control.FullScreen.umd.js" \
   "$NM/leaflet.fullscreen/dist/Control.FullScreen.css" "$VENDOR/fullscreen/"
cp "$NM/leaflet.locatecontrol/dist/L.Control.Locate.min.js" \
   "$NM/leaflet.locatecontrol/dist/L.Control.Locate.min.css" "$VENDOR/locate/"
for pkg in leaflet leaflet.vectorgrid leaflet.fullscreen leaflet.locatecontrol; do
    cp "$NM/$pkg/LICENSE"* "$VENDOR/LICENSE.$pkg" 2>/dev/null || true
done
echo "web assets installed in ${VENDOR#"$ROOT"/}"
