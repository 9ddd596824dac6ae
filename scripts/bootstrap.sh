#!/usr/bin/env bash
# Set up a gisplatform checkout: system packages (PostgreSQL + PostGIS + pgRouting, GDAL),
# a Python >= 3.12 virtual env with the project installed in editable mode.
# Idempotent: a second run installs nothing and returns quickly.
#
# Environment:
#   GISPLATFORM_VENV   where to put the virtual env (default: <repo>/.venv)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# System packages needed besides PostgreSQL/PostGIS/pgRouting. Add more here (chromium, fonts…).
# ca-certificates: pip and npm over HTTPS (not in a minimal Debian); libatomic1: the Node.js
# binary inside the playwright wheel that drives Chromium in the browser tests; pgbackrest:
# backups and point-in-time recovery of the embedded cluster; python3-qgis, qgis-providers:
# headless QGIS (the system python3's), a real client the tests sign in with (QGIS 3.22 on
# Debian 12, a newer one on Debian 13; same package names); nginx: tests/test_proxy_cache.py
# runs the production proxy's configuration (docker/nginx/) in front of the app.
EXTRA_APT_PACKAGES=(ca-certificates gdal-bin docker-compose chromium fonts-dejavu-core libatomic1 pgbackrest
    python3-qgis qgis-providers nginx)
# Node.js + npm install the web map's browser libraries; taken from apt when missing.
command -v npm >/dev/null 2>&1 || EXTRA_APT_PACKAGES+=(nodejs npm)

VENV="${GISPLATFORM_VENV:-$ROOT/.venv}"
STAMP="$VENV/.gisplatform-bootstrap-stamp"

say() { printf '==> %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
apt_updated=0

need_root() {
    if [[ $EUID -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        die "installing system packages needs root: run as root or install sudo"
    fi
}

apt_update_once() {
    if [[ $apt_updated -eq 0 ]]; then
        need_root
        say "apt-get update"
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
}

apt_install() {
    need_root
    say "apt-get install $*"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@"
}

is_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

all_installed() {
    local p
    for p in "$@"; do is_installed "$p" || return 1; done
}

has_candidate() {
    apt-cache show "$1" >/dev/null 2>&1
}

# Major versions of the installed PostgreSQL servers, newest first.
pg_versions() {
    local f
    for f in /usr/lib/postgresql/*/bin/postgres; do
        [[ -x $f ]] || continue
        f="${f#/usr/lib/postgresql/}"
        echo "${f%%/*}"
    done | sort -rn
}

restart_clusters() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    local ver name port status _
    while read -r ver name port status _; do
        if [[ $status == online* ]]; then
            say "restarting PostgreSQL cluster $ver/$name (port $port)"
            "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" restart
        fi
    done < <(pg_lsclusters -h 2>/dev/null)
}

system_packages() {
    local v
    # Fast path: some installed server already has PostGIS and pgRouting, and the extras are there.
    for v in $(pg_versions); do
        if all_installed "postgresql-$v-postgis-3" "postgresql-$v-pgrouting" \
            "${EXTRA_APT_PACKAGES[@]}"; then
            say "system packages present (PostgreSQL $v with PostGIS and pgRouting)"
            return 0
        fi
    done
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script supports Debian 12/13"
    apt_update_once
    local wanted=() newest
    newest="$(pg_versions | head -n1)"
    if [[ -n $newest ]] && has_candidate "postgresql-$newest-postgis-3"; then
        wanted+=("postgresql-$newest-postgis-3")
        if has_candidate "postgresql-$newest-postgis-3-scripts"; then
            wanted+=("postgresql-$newest-postgis-3-scripts")
        fi
        if has_candidate "postgresql-$newest-pgrouting"; then
            wanted+=("postgresql-$newest-pgrouting")
        fi
    else
        [[ -n $newest ]] && say "no PostGIS package for PostgreSQL $newest; using the distribution's"
        wanted+=(postgresql postgresql-postgis)
        has_candidate postgresql-pgrouting && wanted+=(postgresql-pgrouting)
    fi
    wanted+=("${EXTRA_APT_PACKAGES[@]}")
    local missing=() p
    for p in "${wanted[@]}"; do is_installed "$p" || missing+=("$p"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
        apt_install "${missing[@]}"
        restart_clusters
    fi
}

py_ok() {
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1
}

find_python() {
    local c
    for c in python3.13 python3.12 python3; do
        if command -v "$c" >/dev/null 2>&1 && py_ok "$c"; then
            command -v "$c"
            return 0
        fi
    done
    for c in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3 \
        /root/.pyenv/versions/3.1[2-9]*/bin/python3; do
        if [[ -x $c ]] && py_ok "$c"; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

python_env() {
    local py
    if [[ -x $VENV/bin/python ]] && py_ok "$VENV/bin/python"; then
        say "virtual env $VENV ($("$VENV/bin/python" -V 2>&1))"
    else
        [[ -e $VENV ]] && die "$VENV exists but holds no Python >= 3.12; remove it and re-run"
        py="$(find_python)" || die "no Python >= 3.12 found (looked for python3.13, python3.12 and \
python3 on PATH, and ~/.pyenv/versions/3.12+). Debian 13 and Ubuntu 24.04 have it in apt \
(python3); Debian 12 has only 3.11 there: install a Python >= 3.12 (e.g. 'pyenv install 3.12') \
and re-run this command"
        if ! "$py" -c 'import ensurepip, venv' >/dev/null 2>&1; then
            [[ $py == /usr/bin/* ]] ||
                die "$py lacks the venv/ensurepip modules: reinstall that Python with them"
            apt_update_once
            local ver
            ver="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
            if [[ "$(/usr/bin/python3 -V 2>&1)" == "Python $ver."* ]]; then
                apt_install python3-venv
            else
                apt_install "python$ver-venv"
            fi
        fi
        say "creating virtual env $VENV with $py ($("$py" -V 2>&1))"
        "$py" -m venv "$VENV"
    fi
    local want
    want="$(cat pyproject.toml <(printf '%s\n' "$ROOT") | sha256sum | cut -d' ' -f1)"
    if [[ -f $STAMP && "$(cat "$STAMP")" == "$want" ]]; then
        say "Python packages up to date (pyproject.toml unchanged)"
        return 0
    fi
    say "pip install -e '.[dev]'"
    # This machine's pip configuration names find-links folders that may not exist;
    # drop those warnings, keep everything else (and pip's exit status).
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
        | { grep -v "^WARNING: Location '.*' is ignored" || true; }
    printf '%s\n' "$want" >"$STAMP"
}

web_assets() {
    local lock="$ROOT/gisplatform/webmap/package-lock.json"
    local vendor="$ROOT/gisplatform/webmap/static/vendor"
    local want
    want="$(sha256sum "$lock" "$ROOT/scripts/install-web-assets.sh" | sha256sum | cut -d' ' -f1)"
    if [[ -f $vendor/.stamp && "$(cat "$vendor/.stamp")" == "$want" ]]; then
        say "web map assets up to date"
        return 0
    fi
    say "web map assets from npm (package-lock.json)"
    bash "$ROOT/scripts/install-web-assets.sh"
    printf '%s\n' "$want" >"$vendor/.stamp"
}

say "gisplatform bootstrap in $ROOT"
system_packages
python_env
web_assets
say "done: activate with 'source ${VENV}/bin/activate'"
