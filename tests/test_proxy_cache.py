"""The production proxy's nginx configuration, run for real in front of the platform.

docker/nginx/templates/default.conf.template is rendered as the official image renders it
(its ``${NAME}``s from the environment), for an upstream that is the whole platform app
served by uvicorn on loopback against the test PostGIS, and Debian's nginx runs it on a
free loopback port, as an unprivileged user. Then, over HTTP:

* an anonymous tile is a MISS, then a HIT, with the same body;
* a request with ``Authorization`` (Bearer or Basic) or a cookie is never a HIT and its
  answer is never stored, even when an anonymous answer for the same URL is cached;
* an answer with ``Cache-Control: no-store`` or ``private`` is not stored, one with
  ``Vary`` is stored per variant, and one is kept only for its ``max-age``;
* other routes pass through uncached.

A probe in front of the app counts the requests that reach it and, when a test asks by a
request header, replaces the app's Cache-Control or adds a Vary to its answer.
"""

from __future__ import annotations

import base64
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import morecantile
import psycopg
import pytest
from psycopg import sql
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gisplatform.ogcapi.tilequeries import TileSettings
from gisplatform.registry import Access, GeometryType, LayerRegistry
from gisplatform.store.accounts import Accounts
from tests.live import free_port, live_server, platform_app

pytestmark = [pytest.mark.db]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "docker" / "nginx" / "templates" / "default.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MERCATOR = morecantile.tms.get("WebMercatorQuad")
LOGIN, PASSWORD = "proxy-check", "proxy-check-password-1"
#: the access log of each running proxy, by its URL
ACCESS_LOGS: dict[str, Path] = {}


class Probe:
    """ASGI middleware: counts requests per path; X-Test-Cache-Control / X-Test-Vary headers
    of a request replace the answer's Cache-Control / add a Vary."""

    def __init__(self, app: ASGIApp, seen: Counter[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.seen[scope["path"]] += 1
        asked = dict(scope["headers"])
        forwarded = asked.get(b"x-forwarded-for", b"").decode("latin-1")
        self.seen["x-forwarded-for: " + forwarded] += 1
        control, vary = asked.get(b"x-test-cache-control"), asked.get(b"x-test-vary")

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start" and (control or vary):
                headers = [
                    (k, v)
                    for k, v in message["headers"]
                    if not (control and k.lower() == b"cache-control")
                ]
                if control:
                    headers.append((b"cache-control", control))
                if vary:
                    headers.append((b"vary", vary))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, rewrite)


def render(template: str, env: dict[str, str]) -> str:
    """What the nginx image's envsubst does: ``${NAME}`` of a set variable, nothing else."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m[1], m[0]), template)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {log.read_text(errors='replace')}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")


def _unprivileged() -> tuple[list[str], int | None]:
    """How to run nginx as an ordinary user (as root: setpriv to nobody); that user's uid."""
    if os.geteuid() != 0:
        return [], None
    nobody = pwd.getpwnam("nobody")
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) runs nginx as nobody"
    return [
        setpriv,
        f"--reuid={nobody.pw_uid}",
        f"--regid={nobody.pw_gid}",
        "--clear-groups",
    ], nobody.pw_uid


@pytest.fixture(scope="module")
def seen() -> Counter[str]:
    return Counter()


@pytest.fixture(scope="module")
def upstream(demo_db_url: str, registry: LayerRegistry, seen: Counter[str]) -> Iterator[str]:
    app = platform_app(demo_db_url, registry)
    app.add_middleware(Probe, seen=seen)
    with live_server(app) as url:
        yield url


@pytest.fixture(scope="module")
def proxy(upstream: str) -> Iterator[str]:
    """nginx with the repo's template in front of ``upstream``; its root URL."""
    assert Path(NGINX).exists(), "nginx is missing: scripts/bootstrap.sh installs it"
    prefix, uid = _unprivileged()
    work = Path(tempfile.mkdtemp(prefix="gisplatform-nginx-"))
    port = free_port()
    env = {
        "GISPLATFORM_UPSTREAM": upstream.removeprefix("http://"),
        "NGINX_LISTEN": f"127.0.0.1:{port}",
        "NGINX_CACHE_DIR": str(work / "tiles"),
        "NGINX_TILE_CACHE_SIZE": "50m",
        "NGINX_TILE_CACHE_TTL": "60s",
        "NGINX_ACCESS_LOG": str(work / "access.log"),
    }
    rendered = render(TEMPLATE.read_text(encoding="utf-8"), env)
    code = "\n".join(line for line in rendered.splitlines() if not line.lstrip().startswith("#"))
    assert "${" not in code, "a ${NAME} of the template was left unset"
    (work / "default.conf").write_text(rendered, encoding="utf-8")
    temp = "\n".join(
        f"    {kind}_temp_path {work / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (work / "nginx.conf").write_text(
        f"worker_processes 1;\npid {work / 'nginx.pid'};\n"
        f"error_log {work / 'error.log'} warn;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n    access_log off;\n{temp}\n    include {work / 'default.conf'};\n}}\n",
        encoding="utf-8",
    )
    (work / "access.log").touch()
    if uid is not None:
        for path in (work, *work.iterdir()):
            os.chown(path, uid, -1)
    log = work / "error.log"
    proc = subprocess.Popen(
        [*prefix, NGINX, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", str(log),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for_port(port, proc, log)
        url = f"http://127.0.0.1:{port}"
        ACCESS_LOGS[url] = work / "access.log"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def tile_paths(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    """Distinct tile paths (one per call of next()) of a public point layer with data."""
    layers = [s for s in registry if s.access is Access.PUBLIC and s.geometry is GeometryType.POINT]
    with psycopg.connect(demo_db_url) as conn:
        for spec in layers:
            row = conn.execute(
                sql.SQL("SELECT ST_X(geom), ST_Y(geom) FROM {} LIMIT 1").format(
                    sql.Identifier("gis", spec.name)
                )
            ).fetchone()
            if row is not None:
                break
        else:
            pytest.fail("the demo data has no public point layer with rows")
    lon, lat = row

    def paths() -> Iterator[str]:
        for z in range(max(spec.min_zoom, 10), spec.max_zoom + 1):
            tile = MERCATOR.tile(lon, lat, z)
            yield f"/ogc/collections/{spec.name}/tiles/WebMercatorQuad/{z}/{tile.y}/{tile.x}"
            yield f"/ogc/tiles/WebMercatorQuad/{z}/{tile.y}/{tile.x}?collections={spec.name}"

    return paths()


@pytest.fixture(scope="module")
def credentials(demo_db_url: str, registry: LayerRegistry) -> dict[str, str]:
    """Authorization headers of a staff account: a Bearer token and a Basic password."""
    with psycopg.connect(demo_db_url) as conn:
        conn.execute("DELETE FROM auth.users WHERE login = %s", [LOGIN])
        accounts = Accounts(conn, registry.role_names)
        accounts.add(LOGIN, list(registry.role_names)[:1], PASSWORD)
        token = accounts.create_token(LOGIN, "proxy", None)
        conn.commit()
    basic = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
    return {"bearer": f"Bearer {token}", "basic": f"Basic {basic}"}


def _get(proxy: str, path: str, **headers: str) -> httpx.Response:
    response = httpx.get(proxy + path, headers=headers, timeout=30)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return response


def reached(seen: Counter[str], path: str) -> int:
    """How many requests for ``path`` (query aside) reached the platform."""
    return seen[path.split("?")[0]]


def _status(response: httpx.Response) -> str | None:
    return response.headers.get("x-cache-status")


def test_anonymous_tile_miss_then_hit(
    proxy: str, tile_paths: Iterator[str], seen: Counter[str]
) -> None:
    for _ in range(2):  # a collection's tile and the map's tile (with a query string)
        path = next(tile_paths)
        first = _get(proxy, path)
        assert first.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        assert first.content, "a tile with the layer's features"
        assert _status(first) == "MISS"
        before = reached(seen, path)
        second = _get(proxy, path)
        assert _status(second) == "HIT"
        assert second.content == first.content
        assert reached(seen, path) == before, "a HIT does not reach the platform"


@pytest.mark.parametrize("kind", ["bearer", "basic", "cookie"])
def test_signed_in_callers_are_never_served_or_stored(
    proxy: str,
    tile_paths: Iterator[str],
    seen: Counter[str],
    credentials: dict[str, str],
    kind: str,
) -> None:
    path = next(tile_paths)
    headers = (
        {"Cookie": "gisplatform_session=abc"}
        if kind == "cookie"
        else {"Authorization": credentials[kind]}
    )
    before = reached(seen, path)
    for _ in range(2):
        signed_in = _get(proxy, path, **headers)
        assert _status(signed_in) == "BYPASS"
    assert reached(seen, path) == before + 2, "both reached the platform"
    if kind != "cookie":
        assert "private" in signed_in.headers["cache-control"]
    # nothing was stored: the first anonymous request is a MISS, the next a HIT
    assert _status(_get(proxy, path)) == "MISS"
    assert _status(_get(proxy, path)) == "HIT"
    # and the cached anonymous answer is never handed to a signed-in caller
    again = _get(proxy, path, **headers)
    assert _status(again) == "BYPASS"
    assert reached(seen, path) == before + 4


@pytest.mark.parametrize("control", ["no-store", "private, max-age=60", "no-cache"])
def test_answers_marked_not_for_shared_caches_are_not_stored(
    proxy: str, tile_paths: Iterator[str], seen: Counter[str], control: str
) -> None:
    path = next(tile_paths)
    before = reached(seen, path)
    for _ in range(2):
        assert _status(_get(proxy, path, **{"X-Test-Cache-Control": control})) == "MISS"
    assert reached(seen, path) == before + 2
    assert _status(_get(proxy, path)) == "MISS", "the marked answer was not stored"
    assert _status(_get(proxy, path)) == "HIT"


def test_max_age_of_the_platform_is_the_time_to_live(proxy: str, tile_paths: Iterator[str]) -> None:
    # the platform's own max-age: a withdrawn layer leaves the cache within a minute
    assert TileSettings().max_age <= 60
    path = next(tile_paths)
    short = {"X-Test-Cache-Control": "public, max-age=1"}
    assert _status(_get(proxy, path, **short)) == "MISS"
    assert _status(_get(proxy, path, **short)) == "HIT"
    time.sleep(2.2)
    assert _status(_get(proxy, path, **short)) in {"EXPIRED", "REVALIDATED"}


def test_vary_keys_the_cache(proxy: str, tile_paths: Iterator[str]) -> None:
    path = next(tile_paths)
    a = {"X-Test-Vary": "X-Variant", "X-Variant": "a"}
    b = {"X-Test-Vary": "X-Variant", "X-Variant": "b"}
    assert _status(_get(proxy, path, **a)) == "MISS"
    assert _status(_get(proxy, path, **a)) == "HIT"
    assert _status(_get(proxy, path, **b)) == "MISS", "another variant is not served from a's"


def test_other_routes_pass_through_uncached(
    proxy: str, registry: LayerRegistry, seen: Counter[str]
) -> None:
    name = next(s.name for s in registry if s.access is Access.PUBLIC)
    for path in ("/ogc/collections", f"/ogc/collections/{name}/items", "/healthz"):
        before = seen[path]
        for _ in range(2):
            response = _get(proxy, path)
            assert _status(response) is None
        assert seen[path] == before + 2, f"{path} must reach the platform every time"
    # the proxy passes the caller's host: links name the address the caller used
    doc = _get(proxy, "/ogc/collections", Accept="application/json").json()
    links: list[dict[str, Any]] = doc["links"]
    assert any(link["href"].startswith(proxy) for link in links), links[:3]


def test_access_log_records_the_verdicts(
    proxy: str, tile_paths: Iterator[str], credentials: dict[str, str]
) -> None:
    """The proxy's hit ratio is counted from its access log."""
    path = next(tile_paths)
    _get(proxy, path)
    _get(proxy, path)
    _get(proxy, path, Authorization=credentials["bearer"])
    time.sleep(0.2)
    lines = [
        line
        for line in ACCESS_LOGS[proxy].read_text(encoding="utf-8").splitlines()
        if f"GET {path} " in line
    ]
    assert [re.search(r" cache=(\S+) ", line)[1] for line in lines] == [  # type: ignore[index]
        "MISS",
        "HIT",
        "BYPASS",
    ]


def test_the_caller_cannot_choose_its_forwarded_address(proxy: str, seen: Counter[str]) -> None:
    """The app believes X-Forwarded-For from the proxy (rate limits per address): nginx sets
    it to the caller's own address, whatever the caller sent."""
    before = seen["x-forwarded-for: 127.0.0.1"]
    _get(proxy, "/healthz", **{"X-Forwarded-For": "203.0.113.9"})
    assert seen["x-forwarded-for: 127.0.0.1"] == before + 1
    assert not [key for key in seen if "203.0.113.9" in key]


def test_location_leaves_the_proxy_spelled_location(proxy: str) -> None:
    """QGIS 3.32-3.40.7 reads a created feature's id from a header named exactly "Location";
    the app's server sends names in lower case, the proxy restores it (any redirect shows it:
    signing out with a return path answers 303)."""
    response = httpx.post(
        proxy + "/signout",
        data={"next": "/?lang=uk"},
        headers={"Origin": proxy},
        follow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 303
    names = [name for name, _ in response.headers.raw]
    assert b"Location" in names and b"location" not in names, names
    assert response.headers["location"].endswith("/?lang=uk")
