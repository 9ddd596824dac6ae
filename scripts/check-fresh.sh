#!/usr/bin/env bash
# Check that the README's two commands work on a fresh Debian machine.
#
#   bash scripts/check-fresh.sh debian13|debian12 [--reuse]
#
# Builds a fresh Debian root with debootstrap (default variant, from http://deb.debian.org/debian)
# in .fresh/<name>/root (git-ignored), puts a plain git clone of this checkout's HEAD in it
# (/root/gisplatform; nothing else beside it), mounts proc, sys, dev, dev/pts, dev/shm and copies
# resolv.conf, then inside the root, as root:
#   command 1  bash scripts/up.sh   in the background, until / and /ogc/collections answer 200;
#              then it is stopped (SIGTERM to the server, `gisplatform db stop`);
#   command 2  bash scripts/test.sh
# and prints a result block (seconds, served yes/no, pytest's summary). Exits non-zero if either
# command failed. Mounts are undone and the root's processes ended on exit, even on failure.
#
# --reuse keeps an existing root (its apt packages stay installed); the clone is always new.
# Without it an existing root is deleted first.
#
# What goes into the root besides debootstrap's default variant (what a fresh machine has):
#   - git: the user cloned the project with it (debootstrap --include=git);
#   - apt sources for <suite>, <suite>-updates and <suite>-security, as the Debian installer
#     writes them;
#   - this machine kind's extra CA certificates (/usr/local/share/ca-certificates/*.crt: its
#     HTTPS egress goes through a proxy with its own CA) and the CA bundle variables of the
#     environment (SSL_CERT_FILE, PIP_CERT, NODE_EXTRA_CA_CERTS, ...); a fresh machine of this
#     kind has both. On an open network neither is needed;
#   - debian12 only: Debian 12 has no Python >= 3.12 in apt; this machine kind ships pyenv
#     Pythons in /root/.pyenv/versions (a fresh Debian 12 machine of this kind has them too), so
#     the host's /root/.pyenv/versions/3.12.* is copied to the same path in the root, where
#     scripts/bootstrap.sh finds it by itself. debian13 gets nothing: its python3 is 3.13.
#
# The root shares the host's network: command 1 serves on its own ports (GISPLATFORM_PORT,
# GISPLATFORM_DB_PORT: 18013/54413 for debian13, 18012/54412 for debian12); the tests pick free
# ports themselves.
#
# Environment: CHECK_FRESH_MIRROR (default http://deb.debian.org/debian),
#              CHECK_FRESH_UP_TIMEOUT (seconds command 1 may take to serve, default 3600),
#              CHECK_FRESH_TEST_ARGS (pytest arguments for command 2, e.g. a few test files when
#              only the set-up changed; default: none, the whole suite; the summary says which).
set -euo pipefail

# The whole script is one function, parsed before it runs: editing the file during a run
# (bash reads a script as it goes) cannot change what the run does.
main() {
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
    echo "usage: bash scripts/check-fresh.sh debian13|debian12 [--reuse]" >&2
    exit 2
}

NAME="" REUSE=0
for arg in "$@"; do
    case $arg in
        debian13 | debian12) NAME=$arg ;;
        --reuse) REUSE=1 ;;
        *) usage ;;
    esac
done
[[ -n $NAME ]] || usage

case $NAME in
    debian13) SUITE=trixie HTTP_PORT=18013 DB_PORT=54413 ;;
    debian12) SUITE=bookworm HTTP_PORT=18012 DB_PORT=54412 ;;
esac
MIRROR="${CHECK_FRESH_MIRROR:-http://deb.debian.org/debian}"
UP_TIMEOUT="${CHECK_FRESH_UP_TIMEOUT:-3600}"

BASE="$REPO/.fresh/$NAME"
ROOTFS="$BASE/root"
CLONE=/root/gisplatform
UP_LOG="$BASE/up.log"
TEST_LOG="$BASE/test.log"

say() { printf '==> [%s] %s\n' "$NAME" "$*"; }
die() {
    printf 'check-fresh: error: %s\n' "$*" >&2
    exit 1
}

[[ $EUID -eq 0 ]] || die "needs root (debootstrap, chroot, mount)"
if ! command -v debootstrap >/dev/null 2>&1; then
    say "apt-get install debootstrap (on this host)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
fi

# --- mounts and clean-up ---------------------------------------------------------------------

MOUNTS=()
UP_PID=""

mount_in() { # mount_in <target below ROOTFS> <mount args...>
    local target="$ROOTFS$1"
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    MOUNTS+=("$target")
}

# Processes whose root directory is the fresh root: started by this script, ended by pid.
root_pids() {
    local p r
    for p in /proc/[0-9]*; do
        r="$(readlink "$p/root" 2>/dev/null)" || continue
        [[ $r == "$ROOTFS" ]] && echo "${p#/proc/}"
    done
    return 0
}

end_root_processes() {
    local pids i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        mapfile -t pids < <(root_pids)
        [[ ${#pids[@]} -eq 0 ]] && return 0
        if [[ $i -lt 8 ]]; then
            kill -TERM "${pids[@]}" 2>/dev/null || true
        else
            kill -KILL "${pids[@]}" 2>/dev/null || true
        fi
        sleep 1
    done
}

cleanup() {
    local status=$? i
    trap - EXIT INT TERM
    if [[ -d $ROOTFS/proc ]]; then
        end_root_processes
    fi
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null ||
            echo "check-fresh: could not unmount ${MOUNTS[i]}" >&2
    done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mounted_below() {
    findmnt -rn -o TARGET | awk -v p="$1/" 'index($0 "/", p) == 1' | grep -q .
}

# --- the root ----------------------------------------------------------------------------------

mkdir -p "$BASE"
if [[ -d $ROOTFS && $REUSE -eq 0 ]]; then
    mounted_below "$ROOTFS" && die "something is still mounted below $ROOTFS"
    say "removing the previous root $ROOTFS (use --reuse to keep it)"
    rm -rf --one-file-system "$ROOTFS"
fi
if [[ ! -x $ROOTFS/usr/bin/apt-get ]]; then
    rm -rf --one-file-system "$ROOTFS"
    say "debootstrap $SUITE from $MIRROR (default variant + git)"
    t0=$SECONDS
    debootstrap --include=git "$SUITE" "$ROOTFS" "$MIRROR" >"$BASE/debootstrap.log" 2>&1 ||
        die "debootstrap failed: see $BASE/debootstrap.log"
    say "debootstrap took $((SECONDS - t0)) s"
    cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOF
fi

# This machine kind's extra CA certificates (see the header).
shopt -s nullglob
cas=(/usr/local/share/ca-certificates/*.crt)
shopt -u nullglob
if [[ ${#cas[@]} -gt 0 ]]; then
    mkdir -p "$ROOTFS/usr/local/share/ca-certificates"
    cp "${cas[@]}" "$ROOTFS/usr/local/share/ca-certificates/"
fi

if [[ $NAME == debian12 ]]; then
    shopt -s nullglob
    pys=(/root/.pyenv/versions/3.12.*)
    shopt -u nullglob
    [[ ${#pys[@]} -gt 0 ]] || die "no /root/.pyenv/versions/3.12.* on this host to copy"
    mkdir -p "$ROOTFS/root/.pyenv/versions"
    for py in "${pys[@]}"; do
        if [[ ! -d $ROOTFS$py ]]; then
            say "copying $py into the root (Debian 12 has no Python >= 3.12 in apt)"
            cp -a "$py" "$ROOTFS$py"
        fi
    done
fi

cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
mount_in /proc -t proc proc
mount_in /sys -t sysfs sysfs
mount_in /dev --bind /dev
mount_in /dev/pts -t devpts devpts -o newinstance,ptmxmode=0666,mode=0620
mount_in /dev/shm -t tmpfs shm -o mode=1777,size=1g

# Inside the root, as root, with a login-like environment (no DATABASE_URL, no host state).
ENV=(HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    GISPLATFORM_PORT="$HTTP_PORT" GISPLATFORM_DB_PORT="$DB_PORT")
for v in SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE PIP_CERT \
    NODE_EXTRA_CA_CERTS GIT_SSL_CAINFO PIP_DEFAULT_TIMEOUT; do
    [[ -n ${!v:-} ]] && ENV+=("$v=${!v}")
done
in_root() {
    chroot "$ROOTFS" /usr/bin/env -i "${ENV[@]}" /bin/bash -c "$1"
}

if [[ ${#cas[@]} -gt 0 ]]; then
    in_root 'command -v update-ca-certificates >/dev/null && update-ca-certificates >/dev/null' ||
        true
fi

# --- the clone -----------------------------------------------------------------------------------

HEAD="$(git -C "$REPO" rev-parse HEAD)"
if [[ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]]; then
    say "note: uncommitted changes in $REPO are not part of the check (HEAD only)"
fi
# Stop a cluster a previous --reuse run may have left behind, then a new clone.
rm -rf --one-file-system "$ROOTFS$CLONE" "$ROOTFS/var/lib/gisplatform"
say "git clone of $HEAD into $CLONE"
git clone -q --no-hardlinks --no-checkout "$REPO" "$ROOTFS$CLONE"
git -C "$ROOTFS$CLONE" checkout -q --detach "$HEAD"

# --- command 1 -----------------------------------------------------------------------------------

http_code() {
    curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT$1" 2>/dev/null ||
        true
}

say "command 1: bash scripts/up.sh (port $HTTP_PORT, database port $DB_PORT; log $UP_LOG)"
t0=$SECONDS
# exec all the way down: $! is the server's pid once up.sh execs it.
(exec chroot "$ROOTFS" /usr/bin/env -i "${ENV[@]}" /bin/bash -c "cd $CLONE && exec bash scripts/up.sh") \
    >"$UP_LOG" 2>&1 </dev/null &
UP_PID=$!
served=no
while ((SECONDS - t0 < UP_TIMEOUT)); do
    if ! kill -0 "$UP_PID" 2>/dev/null; then
        break
    fi
    if [[ "$(http_code /)" == 200 && "$(http_code /ogc/collections)" == 200 ]]; then
        served=yes
        break
    fi
    sleep 5
done
up_seconds=$((SECONDS - t0))
if [[ $served == no ]]; then
    say "command 1 did not serve; last lines of $UP_LOG:"
    tail -n 30 "$UP_LOG" >&2 || true
fi
# Stop command 1: the server is up.sh's pid (exec), then the embedded cluster it started.
# SIGTERM, not SIGINT: a background job of a script starts with SIGINT ignored (uvicorn
# handles both the same way, a graceful shutdown).
if kill -0 "$UP_PID" 2>/dev/null; then
    kill -TERM "$UP_PID" 2>/dev/null || true
    for _ in $(seq 30); do
        kill -0 "$UP_PID" 2>/dev/null || break
        sleep 1
    done
    kill -KILL "$UP_PID" 2>/dev/null || true
fi
wait "$UP_PID" 2>/dev/null || true
if [[ -x $ROOTFS$CLONE/.venv/bin/gisplatform ]]; then
    in_root "cd $CLONE && .venv/bin/gisplatform db stop" >>"$UP_LOG" 2>&1 ||
        say "gisplatform db stop failed (see $UP_LOG)"
fi

# --- command 2 -----------------------------------------------------------------------------------

TEST_ARGS="${CHECK_FRESH_TEST_ARGS:-}"
say "command 2: bash scripts/test.sh $TEST_ARGS (log $TEST_LOG)"
t0=$SECONDS
test_status=0
in_root "cd $CLONE && bash scripts/test.sh $TEST_ARGS" >"$TEST_LOG" 2>&1 </dev/null || test_status=$?
test_seconds=$((SECONDS - t0))
summary="$(grep -E '^=+ .*([0-9]+ (passed|failed|error|errors|skipped)|no tests ran).* =+$' \
    "$TEST_LOG" | tail -n1 | sed -E 's/^=+ //; s/ =+$//')"
[[ -n $summary ]] || summary="(no pytest summary; last line: $(tail -n1 "$TEST_LOG"))"
if [[ $test_status -ne 0 ]]; then
    say "command 2 failed (exit $test_status); last lines of $TEST_LOG:"
    tail -n 40 "$TEST_LOG" >&2 || true
fi

cat <<EOF

==== check-fresh $NAME ($SUITE, $(in_root '. /etc/os-release; echo "$PRETTY_NAME"'))
commit:    $HEAD
command 1: bash scripts/up.sh    ${up_seconds} s, served: $served
command 2: bash scripts/test.sh ${TEST_ARGS:-(whole suite)}  ${test_seconds} s, exit $test_status: $summary
logs:      $UP_LOG $TEST_LOG
EOF

[[ $served == yes && $test_status -eq 0 ]]
}

# On one line with main: bash has read it before main runs.
main "$@"; exit
