"""API benchmark: gisplatform against tipg and pygeoapi, and the raw-SQL ceiling.

All servers read the same tables (``gis.lamps``, ``gis.roads``, ``gis.buildings``) of one
scratch database filled with the synthetic Romny data of the benchmark anchors, each under
uvicorn with one worker. Every scenario is first checked against plain SQL, then timed:

* latency: sequential single requests, servers interleaved (start rotated each round), medians;
* raw SQL: the statements our server runs for the answer behind a bare ASGI app
  (``thin_server.py``: no framework, checks, links or logging), one uvicorn worker like the
  others; and the same statements in-process with psycopg (execute + fetch + encode, no HTTP);
* ceiling: the benchmark anchors' own thin server (a copy of its ``thin_server.py`` run from
  the run's temp dir) with ``count=false``, i.e. no ``numberMatched``: the practical ceiling
  of a Python HTTP server on PostGIS, whatever statements we choose;
* throughput: ``wrk -t1 -c8 -d10s``, median of 3 runs, servers rotated.

    .venv/bin/python bench/bench_api.py --anchors DIR           # full run (~20 min)
    .venv/bin/python bench/bench_api.py --anchors DIR --quick   # smoke run (~5 min)

Writes ``bench/results/api-<date>.md`` (and the samples as ``.json``). See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from gisplatform.ogcapi.tilequeries import PARALLEL_SETTING, SERIAL_SETTING, TileSettings
from gisplatform.registry import LayerRegistry, load_registry
from gisplatform.settings import Settings
from gisplatform.store.migrate import migrate
from gisplatform.store.roles import ANALYSES_ROLE, API_ROLE
from gisplatform.store.views import PUBLIC_ROLE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from thin_server import SESSION_SETTING, plan

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LAYERS_DIR = HERE / "layers"
RESULTS_DIR = HERE / "results"
WORK_DIR = Path(os.environ.get("GISPLATFORM_BENCH_WORK", "/tmp/gisplatform-bench"))
PEER_VENV = Path(os.environ.get("GISPLATFORM_BENCH_VENV", "/tmp/gisplatform-bench-venv"))
#: the benchmark anchors' folder (generator, thin server): ``--anchors`` or this variable
ANCHORS_ENV = "GISPLATFORM_BENCH_ANCHORS"
#: the anchors' thin server and the module it imports, copied into the run's temp dir
CEILING_FILES = ("thin_server.py", "limit_sql.py")
PEER_REQUIREMENTS = HERE / "requirements-peers.txt"

#: rows each generated table holds
TABLE_ROWS = {"lamps": 200_000, "roads": 50_000, "buildings": 100_000}
#: INSERT … SELECT from the generated tables; ids are kept as ``fid``
LOAD_SQL = {
    "lamps": (
        "INSERT INTO gis.lamps (fid, pole_id, lamp_type, power_w, status, street, installed,"
        " smart, cabinet_id, geom) SELECT id, pole_id, lamp_type, power_w, status, street,"
        " installed, smart, cabinet_id, geom FROM public.lamps"
    ),
    "roads": (
        "INSERT INTO gis.roads (fid, road_id, name, class, surface, condition, geom)"
        " SELECT id, id, name, class, surface, condition, geom FROM public.roads"
    ),
    "buildings": (
        "INSERT INTO gis.buildings (fid, building_id, levels, use, address, population, geom)"
        " SELECT id, id, levels, use, address, population, geom FROM public.buildings"
    ),
}

#: ~500 m x 500 m around the centre of Romny, and a box holding the whole synthetic city
BBOX_CENTRE = (33.471052, 50.749254, 33.478148, 50.753746)
BBOX_CITY = (33.32, 50.65, 33.63, 50.85)
CQL = "status='faulty' AND power_w>100"
CQL_SQL = "status = 'faulty' AND power_w > 100"
ITEM_ID = 12345
TILES = {"z14": (14, 9715, 5502), "z10": (10, 607, 343)}  # (z, x = column, y = row)
TILE_MAX_FEATURES = 250_000
PORTS = {
    "ours": 8091,
    "ours-cold": 8092,
    "tipg": 8093,
    "pygeoapi": 8094,
    "raw": 8095,
    "ceiling": 8096,
}
OURS_ITEMS = "/ogc/collections/{t}"
OURS_TILE = "/ogc/collections/{t}/tiles/WebMercatorQuad/{z}/{y}/{x}"
HTTP_TIMEOUT_S = 120.0


# --------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    """One request shape, its ground-truth SQL and how often it is timed."""

    name: str
    label: str
    kind: str  # items | item | tile
    query: dict[str, Any] = field(default_factory=dict)
    where: str = "TRUE"
    limit: int = 10
    offset: int = 0
    table: str = "lamps"
    tile: str = ""
    reps: int = 15
    wrk: bool = False
    expected: dict[str, Any] = field(default_factory=dict)


def _box_sql(box: tuple[float, float, float, float]) -> str:
    return "ST_Intersects(geom, ST_MakeEnvelope({!r}, {!r}, {!r}, {!r}, 4326))".format(*box)


def _box_text(box: tuple[float, float, float, float]) -> str:
    return ",".join(map(str, box))


def scenarios() -> list[Scenario]:
    """The scenarios of BENCH-ANCHORS.md, plus a bbox over the whole city."""
    s = Scenario
    centre, city = _box_text(BBOX_CENTRE), _box_text(BBOX_CITY)
    return [
        s("a_small", "a. items limit=10", "items", {"limit": 10}, reps=31, wrk=True),
        s("b_1000", "b. items limit=1000", "items", {"limit": 1000}, limit=1000),
        s("b_10000", "b. items limit=10000", "items", {"limit": 10000}, limit=10000, reps=11),
        s(
            "c_bbox",
            "c. bbox 500 m, limit=10",
            "items",
            {"bbox": centre, "limit": 10},
            where=_box_sql(BBOX_CENTRE),
            reps=31,
            wrk=True,
        ),
        s(
            "c_bbox_all",
            "c. bbox 500 m, limit=1000 (all 660)",
            "items",
            {"bbox": centre, "limit": 1000},
            where=_box_sql(BBOX_CENTRE),
            limit=1000,
        ),
        s(
            "c_city",
            "c. bbox whole city, limit=1000",
            "items",
            {"bbox": city, "limit": 1000},
            where=_box_sql(BBOX_CITY),
            limit=1000,
            wrk=True,
        ),
        s(
            "d_filter",
            "d. CQL2 filter, limit=100",
            "items",
            {"filter": CQL, "filter-lang": "cql2-text", "limit": 100},
            where=CQL_SQL,
            limit=100,
            reps=31,
            wrk=True,
        ),
        s("e_item", f"e. single item {ITEM_ID}", "item", reps=31, wrk=True),
        s(
            "f_deep",
            "f. offset=150000&limit=100",
            "items",
            {"offset": 150000, "limit": 100},
            limit=100,
            offset=150000,
            wrk=True,
        ),
        s("g_lamps_z14", "g. tile lamps z14", "tile", table="lamps", tile="z14"),
        s("g_lamps_z10", "g. tile lamps z10", "tile", table="lamps", tile="z10", reps=11),
        s("g_buildings_z14", "g. tile buildings z14", "tile", table="buildings", tile="z14"),
        s(
            "g_buildings_z10",
            "g. tile buildings z10",
            "tile",
            table="buildings",
            tile="z10",
            reps=11,
        ),
    ]


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """A server under test: how to start it and how its URLs look."""

    name: str
    port: int
    argv: list[str]
    env: dict[str, str]
    items: str  # collection path template, {t} = table
    tile: str  # tile path template
    kinds: tuple[str, ...] = ("items", "item", "tile")
    extra: dict[str, str] = field(default_factory=dict)  # added to every items query
    cwd: Path | None = None  # where it starts (default: the run's work dir)
    process: subprocess.Popen[bytes] | None = None

    def url(self, s: Scenario) -> str:
        """Path and query of ``s`` on this server."""
        if s.kind == "tile":
            z, x, y = TILES[s.tile]
            return self.tile.format(t=s.table, z=z, x=x, y=y)
        base = self.items.format(t=s.table)
        if s.kind == "item":
            return f"{base}/items/{ITEM_ID}"
        return f"{base}/items?{urlencode({**s.query, **self.extra})}"


def _uvicorn(python: Path, port: int, *app: str) -> list[str]:
    return [
        str(python),
        "-m",
        "uvicorn",
        *app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


#: the password the scratch database's login roles get (the server never logs in as owner)
SERVICE_PASSWORD = "bench-only"


def service_urls(url: str) -> dict[str, str]:
    """The server's and the analyses' login URLs on the scratch database (as migrate sets)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return {
        name: urlunsplit(
            (parts.scheme, f"{role}:{SERVICE_PASSWORD}@{host}", parts.path, parts.query, "")
        )
        for name, role in (("api", API_ROLE), ("analyses", ANALYSES_ROLE))
    }


def make_servers(url: str, work: Path, anchors: Path) -> list[Server]:
    """Our server (tile cache on and off), the raw-SQL ceiling on our statements, tipg,
    pygeoapi and the anchors' thin server without counts, one worker each."""
    logins = service_urls(url)
    ours_env = {
        "DATABASE_URL": url,
        "GISPLATFORM_API_DATABASE_URL": logins["api"],
        "GISPLATFORM_ANALYSES_DATABASE_URL": logins["analyses"],
        "GISPLATFORM_LAYERS_DIR": str(LAYERS_DIR),
        "GISPLATFORM_TILES_MAX_FEATURES": str(TILE_MAX_FEATURES),
        "PYTHONPATH": str(HERE),
    }
    ours_app = ("--factory", "api_server:create_server")
    peer_python = PEER_VENV / "bin" / "python"
    config = write_pygeoapi_config(url, work)
    return [
        Server(
            "ours",
            PORTS["ours"],
            _uvicorn(REPO / ".venv/bin/python", PORTS["ours"], *ours_app),
            ours_env,
            OURS_ITEMS,
            OURS_TILE,
        ),
        Server(
            "raw",
            PORTS["raw"],
            _uvicorn(
                REPO / ".venv/bin/python", PORTS["raw"], "--factory", "thin_server:create_server"
            ),
            ours_env,
            OURS_ITEMS,
            OURS_TILE,
        ),
        Server(
            "ours-cold",
            PORTS["ours-cold"],
            _uvicorn(REPO / ".venv/bin/python", PORTS["ours-cold"], *ours_app),
            {**ours_env, "GISPLATFORM_TILES_CACHE_BYTES": "0"},
            OURS_ITEMS,
            OURS_TILE,
            kinds=("tile",),
        ),
        Server(
            "tipg",
            PORTS["tipg"],
            _uvicorn(peer_python, PORTS["tipg"], "tipg.main:app"),
            {
                "DATABASE_URL": url,
                "TIPG_DB_SCHEMAS": '["gis"]',
                "TIPG_CATALOG_TTL": "0",
                "TIPG_MAX_FEATURES_PER_TILE": str(TILE_MAX_FEATURES),
            },
            "/collections/gis.{t}",
            "/collections/gis.{t}/tiles/WebMercatorQuad/{z}/{x}/{y}",
        ),
        # pygeoapi's stock MVT provider needs 40-80 s for a z14 tile (BENCH-ANCHORS.md): no tiles
        Server(
            "pygeoapi",
            PORTS["pygeoapi"],
            _uvicorn(peer_python, PORTS["pygeoapi"], "pygeoapi.starlette_app:APP"),
            {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(work / "openapi.yml")},
            "/collections/{t}",
            "",
            kinds=("items", "item"),
        ),
        # the anchors' thin server on the generated ``public`` tables, ``count=false``: no
        # numberMatched, no links, checks or logs: the practical ceiling of a Python server
        Server(
            "ceiling",
            PORTS["ceiling"],
            _uvicorn(peer_python, PORTS["ceiling"], "thin_server:app"),
            {"DATABASE_URL": url},
            "/collections/{t}",
            "",
            kinds=("items", "item"),
            extra={"count": "false"},
            cwd=copy_ceiling(anchors, work),
        ),
    ]


def copy_ceiling(anchors: Path, work: Path) -> Path:
    """A copy of the anchors' thin server in the run's temp dir (the anchors stay untouched)."""
    target = work / "ceiling"
    target.mkdir(exist_ok=True)
    for name in CEILING_FILES:
        source = anchors / name
        if not source.is_file():
            raise SystemExit(f"{source} not found: pass --anchors or set {ANCHORS_ENV}")
        shutil.copy(source, target / name)
    return target


def write_pygeoapi_config(url: str, work: Path) -> Path:
    """A pygeoapi configuration serving the three tables with its PostgreSQL provider."""
    u = psycopg.conninfo.conninfo_to_dict(url)
    connection = {
        "host": u.get("host", "127.0.0.1"),
        "port": int(str(u.get("port", 5432))),
        "dbname": u["dbname"],
        "user": u["user"],
        "password": u.get("password", ""),
        "search_path": ["gis", "public"],
    }
    resources = {
        name: {
            "type": "collection",
            "title": name,
            "description": f"benchmark {name}",
            "keywords": [name],
            "extents": {"spatial": {"bbox": list(BBOX_CITY), "crs": _CRS84}},
            "providers": [
                {
                    "type": "feature",
                    "name": "PostgreSQL",
                    "data": connection,
                    "id_field": "fid",
                    "table": name,
                    "geom_field": "geom",
                }
            ],
        }
        for name in TABLE_ROWS
    }
    base = f"http://127.0.0.1:{PORTS['pygeoapi']}"
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": PORTS["pygeoapi"]},
            "url": base,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "pretty_print": False,
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": {"en": "benchmark"},
                "description": {"en": "benchmark"},
                "keywords": {"en": ["benchmark"]},
                "keywords_type": "theme",
                "terms_of_service": "https://creativecommons.org/licenses/by/4.0/",
                "url": base,
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "benchmark", "url": base},
            "contact": {
                "name": "benchmark",
                "email": "bench@example.org",
                "role": "pointOfContact",
            },
        },
        "resources": resources,
    }
    path = work / "pygeoapi.yml"
    path.write_text(json.dumps(config, indent=1))  # JSON is valid YAML
    env = {
        **os.environ,
        "PYGEOAPI_CONFIG": str(path),
        "PYGEOAPI_OPENAPI": str(work / "openapi.yml"),
    }
    subprocess.run(
        [
            str(PEER_VENV / "bin/pygeoapi"),
            "openapi",
            "generate",
            str(path),
            "--output-file",
            str(work / "openapi.yml"),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    return path


_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def start(server: Server, work: Path) -> None:
    """Start ``server`` and wait until its collections answer."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", server.port)) == 0:
            raise SystemExit(f"port {server.port} is in use: stop that server first")
    log = (work / f"{server.name}.log").open("wb")
    server.process = subprocess.Popen(
        server.argv,
        env={**os.environ, **server.env},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=server.cwd or work,
        start_new_session=True,
    )
    path = server.items.format(t="lamps") + "/items?limit=1"
    for _ in range(300):
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} died: see {work / (server.name + '.log')}")
        try:
            status, _, _ = Client(server.port, 5).get(path)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{server.name} did not come up")


def stop(server: Server) -> None:
    """Stop ``server`` (the process this script started)."""
    if server.process is not None and server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            server.process.kill()
    server.process = None


# --------------------------------------------------------------------------- clients


class Client:
    """A keep-alive HTTP/1.1 client timing one request (send to last byte)."""

    def __init__(self, port: int, timeout: float = HTTP_TIMEOUT_S) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str, accept: str = "application/geo+json") -> tuple[int, bytes, float]:
        """Status, body and seconds taken."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                started = time.perf_counter()
                self.conn.request("GET", path, headers={"Accept": accept})
                response = self.conn.getresponse()
                body = response.read()
                return response.status, body, time.perf_counter() - started
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Drop the connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class SqlOnly:
    """The statements of the thin server run in-process: execute, fetch, encode; no HTTP."""

    def __init__(self, url: str, registry: LayerRegistry, tiles: TileSettings) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(PUBLIC_ROLE)))
        self.conn.execute(SESSION_SETTING)
        self.registry, self.tiles = registry, tiles
        self.paths = Server("sql", 0, [], {}, OURS_ITEMS, OURS_TILE)

    def run(self, s: Scenario) -> tuple[int, bytes, float]:
        """Status 200, the answer's bytes and seconds taken."""
        path, _, query_string = self.paths.url(s).partition("?")
        started = time.perf_counter()
        found = plan(self.registry, self.tiles, path, dict(parse_qsl(query_string)))
        assert found is not None, path
        for statement, args in found.before:
            self.conn.execute(statement, args).fetchall()
        query, args = found.answer
        if found.kind == "tile":  # SET LOCAL needs a transaction; others run without
            self.conn.execute("BEGIN")
            self.conn.execute(SERIAL_SETTING if found.serial else PARALLEL_SETTING)
        rows = self.conn.execute(query, args, prepare=found.kind != "items").fetchall()
        if found.kind == "tile":
            self.conn.execute("COMMIT")
        for statement, args in found.after(rows, s.offset):
            self.conn.execute(statement, args).fetchall()
        return 200, found.body(rows), time.perf_counter() - started

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


# --------------------------------------------------------------------------- checks


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _messages(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of a protobuf message; length-delimited values as bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            yield number, value
        elif wire == 2:
            size, i = _varint(buf, i)
            yield number, buf[i : i + size]
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire}")


def mvt_features(tile: bytes) -> int:
    """Features over all layers of a Mapbox Vector Tile."""
    count = 0
    for number, layer in _messages(tile):
        if number == 3 and isinstance(layer, bytes):
            count += sum(1 for n, _ in _messages(layer) if n == 2)
    return count


def ground_truth(conn: psycopg.Connection[Any], scens: list[Scenario]) -> None:
    """Expected ids, counts and first feature of every scenario, from plain SQL.

    The SQL is assembled from this module's constants only (no outside input).
    """
    for s in scens:
        t = f"gis.{s.table}"
        if s.kind == "items":
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT fid FROM {t} WHERE {s.where} ORDER BY fid LIMIT %s OFFSET %s",  # noqa: S608
                    (s.limit, s.offset),
                )
            ]
            count = f"SELECT count(*) FROM {t} WHERE {s.where}"  # noqa: S608
            matched = conn.execute(count).fetchone()
            s.expected = {"ids": ids, "matched": matched[0] if matched else None}
            first = ids[0]
        elif s.kind == "item":
            first = ITEM_ID
        else:
            z, x, y = TILES[s.tile]
            # features touching the tile (tipg), or the tile plus our 64/4096 buffer, lines
            # and polygons simplified to one tile unit below zoom 14 (ours)
            env = f"ST_TileEnvelope({z}, {x}, {y})"
            ours = "ST_Transform(geom, 3857)"
            if s.table != "lamps" and z < TileSettings().detail_zoom:
                ours = f"ST_Simplify({ours}, {2 * 20037508.342789244 / 2**z / 4096!r}, true)"
            counts = conn.execute(
                f"SELECT count(*) FILTER (WHERE ST_Intersects(geom, ST_Transform({env}, 4326))"  # noqa: S608
                f" AND ST_AsMVTGeom(ST_Transform(geom, 3857), {env}) IS NOT NULL),"
                f" count(*) FILTER (WHERE ST_AsMVTGeom({ours}, {env}, 4096, 64) IS NOT NULL)"
                f" FROM {t} WHERE geom && ST_Transform("
                f"ST_TileEnvelope({z}, {x}, {y}, margin => 64.0 / 4096), 4326)"
            ).fetchone()
            assert counts is not None
            s.expected = {"tile": counts[0], "tile_buffered": counts[1]}
            continue
        row = conn.execute(
            f"SELECT pole_id, ST_X(geom), ST_Y(geom) FROM {t} WHERE fid = %s",  # noqa: S608
            (first,),
        ).fetchone()
        s.expected["first"] = row


def validate(s: Scenario, server: str, status: int, body: bytes) -> str | None:
    """None when the answer is right, else what is wrong."""
    if status != 200:
        return f"HTTP {status}: {body[:160]!r}"
    if s.kind == "tile":
        n = mvt_features(body)
        want = s.expected["tile_buffered" if server.startswith(("ours", "raw", "sql")) else "tile"]
        return None if abs(n - want) <= want * 0.005 + 10 else f"{n} features, expected {want}"
    doc = json.loads(body)
    if s.kind == "item":
        feature = doc
        if int(doc.get("id", -1)) != ITEM_ID:
            return f"wrong feature {str(doc)[:160]}"
    else:
        features = doc.get("features", [])
        ids = [int(f["id"]) for f in features]
        if ids != s.expected["ids"]:
            return f"ids differ: got {len(ids)} {ids[:3]}…, want {len(s.expected['ids'])}"
        if doc.get("numberMatched") not in (None, s.expected["matched"]):
            return f"numberMatched {doc.get('numberMatched')} != {s.expected['matched']}"
        if server not in ("raw", "sql") and doc.get("numberReturned") not in (None, len(features)):
            return f"numberReturned {doc.get('numberReturned')} != {len(features)}"
        feature = features[0]
    pole, x, y = s.expected["first"]
    if feature["properties"].get("pole_id") != pole:
        return f"pole_id {feature['properties'].get('pole_id')} != {pole}"
    cx, cy = feature["geometry"]["coordinates"][:2]
    if abs(cx - x) > 1e-7 or abs(cy - y) > 1e-7:
        return f"coordinates {cx},{cy} != {x},{y}"
    return None


# --------------------------------------------------------------------------- phases

Fetch = Callable[[Scenario], tuple[int, bytes, float]]


def _http_fetch(server: Server, accept: str) -> Fetch:
    client = Client(server.port)
    return lambda sc: client.get(server.url(sc), accept)


def fetchers(servers: list[Server], sql_only: SqlOnly, s: Scenario) -> dict[str, Fetch]:
    """One request function per participant in scenario ``s``."""
    accept = "*/*" if s.kind == "tile" else "application/geo+json"
    out = {sv.name: _http_fetch(sv, accept) for sv in servers if s.kind in sv.kinds}
    out["sql"] = sql_only.run
    return out


def phase_latency(
    scens: list[Scenario],
    servers: list[Server],
    sql_only: SqlOnly,
    quick: bool,
    res: dict[str, Any],
) -> None:
    """Medians of interleaved sequential requests; wrong answers are reported, not timed."""
    print("\n== latency (sequential, interleaved, medians) ==", flush=True)
    for s in scens:
        calls = fetchers(servers, sql_only, s)
        names = list(calls)
        reps = 5 if quick else s.reps
        rec: dict[str, dict[str, Any]] = {n: {"samples": [], "error": None} for n in names}
        for n in names:  # check + warm-up (the second request of ours fills its tile cache)
            for _ in range(2):
                status, body, _ = calls[n](s)
                error = validate(s, n, status, body)
                rec[n]["bytes"] = len(body)
                if error:
                    rec[n]["error"] = error
                    break
        live = [n for n in names if not rec[n]["error"]]
        for i in range(reps):
            for n in live[i % len(live) :] + live[: i % len(live)]:
                status, body, seconds = calls[n](s)
                error = validate(s, n, status, body) if i == 0 else None
                if error:
                    rec[n]["error"] = error
                rec[n]["samples"].append(seconds)
        res.setdefault("latency", {})[s.name] = rec
        shown = "  ".join(
            f"{n}={'BAD' if r['error'] else _ms(statistics.median(r['samples']))}"
            for n, r in rec.items()
        )
        print(f"  {s.name:16s} {shown}", flush=True)
        for n, r in rec.items():
            if r["error"]:
                print(f"      {n}: {r['error']}", flush=True)


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


def run_wrk(url: str, seconds: int) -> float:
    """Requests per second of ``wrk -t1 -c8``; 0 when any answer was not 2xx."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            "-c8",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-H",
            "Accept: application/geo+json",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    match = _RPS.search(out)
    if match is None or _NON2XX.search(out):
        return 0.0
    return float(match.group(1))


def phase_wrk(
    scens: list[Scenario], servers: list[Server], quick: bool, res: dict[str, Any]
) -> None:
    """Throughput with 8 connections, servers rotated between repetitions."""
    reps, seconds = (1, 3) if quick else (3, 10)
    print(f"\n== wrk -t1 -c8 -d{seconds}s, {reps} rep(s), servers rotated ==", flush=True)
    for s in (s for s in scens if s.wrk):
        names = [sv for sv in servers if s.kind in sv.kinds and sv.name != "ours-cold"]
        rates: dict[str, list[float]] = {sv.name: [] for sv in names}
        for sv in names:  # warm-up
            run_wrk(f"http://127.0.0.1:{sv.port}{sv.url(s)}", 2)
        for i in range(reps):
            for sv in names[i % len(names) :] + names[: i % len(names)]:
                rates[sv.name].append(run_wrk(f"http://127.0.0.1:{sv.port}{sv.url(s)}", seconds))
        res.setdefault("wrk", {})[s.name] = rates
        shown = "  ".join(f"{n}={statistics.median(r):.1f}/s" for n, r in rates.items())
        print(f"  {s.name:16s} {shown}", flush=True)


# --------------------------------------------------------------------------- report


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms"


def _median(rec: dict[str, Any] | None) -> float | None:
    if not rec or rec.get("error") or not rec.get("samples"):
        return None
    return float(statistics.median(rec["samples"]))


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "—"


def report(scens: list[Scenario], res: dict[str, Any], meta: dict[str, Any]) -> str:
    """The results as markdown."""
    lines = [
        f"# API benchmark {meta['date']}",
        "",
        f"gisplatform {meta['ours_commit']} vs tipg 1.6.1, pygeoapi 0.24.0; one uvicorn worker "
        f"each; {meta['mode']} run; load average {meta['load_before']} → {meta['load_after']}.",
        "Latency: median of interleaved sequential requests (n in brackets). raw SQL = our "
        "server's statements behind a bare ASGI app (`thin_server.py`), the ceiling of an HTTP "
        "server; ceiling = the benchmark anchors' thin server without counts (`count=false`, "
        "no numberMatched), the practical ceiling of a Python HTTP server on this data; "
        "SQL only = the same statements in-process, no HTTP. Tiles: *warm* = our "
        "tile cache hit, *cold* = a second instance with the cache off (PostgreSQL's buffers "
        "are warm for everyone). Ratios < 1: we are faster.",
        "",
        "| scenario | ours | tipg | pygeoapi | raw SQL | ceiling | SQL only | ours/tipg "
        "| ours/raw | ours/ceiling | bytes (ours) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    latency = res.get("latency", {})
    for s in scens:
        rec = latency.get(s.name)
        if rec is None:
            continue

        def cell(name: str, r: dict[str, Any] = rec) -> str:
            x = r.get(name)
            if x is None:
                return "—"
            if x.get("error"):
                return "wrong answer"
            return f"{_ms(statistics.median(x['samples']))} ({len(x['samples'])})"

        ours, tipg, raw, top = (_median(rec.get(n)) for n in ("ours", "tipg", "raw", "ceiling"))
        label = s.label
        if s.kind == "tile":
            cold = _median(rec.get("ours-cold"))
            lines.append(
                f"| {label} (cold) | {cell('ours-cold')} | {cell('tipg')} | — | {cell('raw')} | "
                f"— | {cell('sql')} | {_ratio(cold, tipg)} | {_ratio(cold, raw)} | — | "
                f"{rec['ours-cold'].get('bytes')} |"
            )
            label += " (warm)"
        lines.append(
            f"| {label} | {cell('ours')} | {cell('tipg')} | {cell('pygeoapi')} | {cell('raw')} | "
            f"{cell('ceiling')} | {cell('sql')} | {_ratio(ours, tipg)} | {_ratio(ours, raw)} | "
            f"{_ratio(ours, top)} | {rec['ours'].get('bytes')} |"
        )
    wrk = res.get("wrk", {})
    if wrk:
        lines += [
            "",
            "Throughput, `wrk -t1 -c8`, requests/s, median of the repetitions (higher is better):",
            "",
            "| scenario | ours | tipg | pygeoapi | raw SQL | ceiling | ours/tipg | ours/raw "
            "| ours/ceiling |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for s in scens:
            rates = wrk.get(s.name)
            if rates is None:
                continue
            med = {n: statistics.median(r) for n, r in rates.items()}
            lines.append(
                f"| {s.label} | {med['ours']:.1f} | {med['tipg']:.1f} | "
                f"{med.get('pygeoapi', 0):.1f} | {med.get('raw', 0):.1f} | "
                f"{med.get('ceiling', 0):.1f} | {_ratio(med['ours'], med['tipg'])} | "
                f"{_ratio(med['ours'], med.get('raw'))} | "
                f"{_ratio(med['ours'], med.get('ceiling'))} |"
            )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- setup


def ensure_peer_venv() -> None:
    """Create the peers' virtual environment (Python >= 3.12) outside the repository."""
    if (PEER_VENV / "bin/tipg").exists() or (PEER_VENV / "bin/pygeoapi").exists():
        return
    candidates = [
        "python3.13",
        "python3.12",
        *map(str, Path.home().glob(".pyenv/versions/3.1[23]*/bin/python")),
    ]
    for candidate in candidates:
        found = shutil.which(candidate)
        if (
            found
            and subprocess.run(
                [found, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"], check=False
            ).returncode
            == 0
        ):
            break
    else:
        raise SystemExit("pygeoapi 0.24 needs Python >= 3.12; none found")
    print(f"creating {PEER_VENV} with {found}", flush=True)
    subprocess.run([found, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(PEER_VENV / "bin/pip"), "install", "-q", "-r", str(PEER_REQUIREMENTS)], check=True
    )


def database(args: argparse.Namespace) -> tuple[str, Callable[[], None]]:
    """URL of the scratch database and how to release it."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], lambda: None
    from gisplatform.store.embedded import EmbeddedCluster

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    WORK_DIR.chmod(0o755)  # the cluster runs as postgres when we are root
    cluster = EmbeddedCluster(WORK_DIR / "pg", args.pg_port, "bench")
    url = cluster.start()
    return url, (lambda: None) if args.keep_db else cluster.stop


def prepare_data(url: str, registry: LayerRegistry, anchors: Path) -> None:
    """Generated tables in ``public`` (the anchors' generator), migrated and loaded into ``gis``."""
    with psycopg.connect(url, autocommit=True) as conn:
        have = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n"
                " ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
            )
        }
    if any(have.get(t, 0) < n * 0.99 for t, n in TABLE_ROWS.items()):
        generator = anchors / "gen_data.py"
        if not generator.is_file():
            raise SystemExit(f"{generator} not found: pass --anchors or set {ANCHORS_ENV}")
        with tempfile.TemporaryDirectory() as tmp:  # run a copy: the anchors folder is read-only
            shutil.copy(generator, tmp)
            print("generating the synthetic data (~1 min)", flush=True)
            subprocess.run(
                [str(PEER_VENV / "bin/python"), "gen_data.py", "--dsn", url, "--no-export"],
                cwd=tmp,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    logins = service_urls(url)
    settings = Settings(
        DATABASE_URL=url,
        layers_dir=LAYERS_DIR,
        api_database_url=logins["api"],
        analyses_database_url=logins["analyses"],
    )
    migrate(url, registry, settings)
    with psycopg.connect(url, autocommit=True) as conn:
        for table, insert in LOAD_SQL.items():
            row = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("gis", table))
            ).fetchone()
            if row and row[0] == TABLE_ROWS[table]:
                continue
            print(f"loading gis.{table}", flush=True)
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier("gis", table)))
            conn.execute(insert)
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier("gis", table)))


def main() -> int:
    """Run the benchmark; exit status 1 when any answer was wrong."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 samples, 1 wrk run of 3 s")
    parser.add_argument("--only", default="", help="comma list of scenario names")
    parser.add_argument("--phases", default="latency,wrk", help="latency and/or wrk")
    parser.add_argument("--pg-port", type=int, default=54391, help="embedded cluster port")
    parser.add_argument("--keep-db", action="store_true", help="leave the embedded cluster up")
    parser.add_argument(
        "--anchors",
        type=Path,
        default=os.environ.get(ANCHORS_ENV),
        help=f"the benchmark anchors' folder (default ${ANCHORS_ENV})",
    )
    args = parser.parse_args()
    if args.anchors is None:
        raise SystemExit(f"the benchmark anchors' folder is needed: --anchors or ${ANCHORS_ENV}")
    if shutil.which("wrk") is None and "wrk" in args.phases:
        raise SystemExit("wrk not found: apt-get install wrk")
    ensure_peer_venv()
    scens = [s for s in scenarios() if not args.only or s.name in args.only.split(",")]
    registry = load_registry(LAYERS_DIR)
    url, release = database(args)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=WORK_DIR if WORK_DIR.is_dir() else None))
    servers: list[Server] = []
    res: dict[str, Any] = {}
    meta = {
        "date": dt.date.today().isoformat(),
        "mode": "quick" if args.quick else "full",
        "ours_commit": subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "load_before": f"{os.getloadavg()[0]:.1f}",
    }
    try:
        prepare_data(url, registry, args.anchors)
        with psycopg.connect(url, autocommit=True) as conn:
            ground_truth(conn, scens)
        servers = make_servers(url, work, args.anchors)
        for sv in servers:
            start(sv, work)
        print("servers up: " + ", ".join(f"{sv.name}:{sv.port}" for sv in servers), flush=True)
        sql_only = SqlOnly(url, registry, TileSettings(max_features=TILE_MAX_FEATURES))
        # items first, then throughput, tiles last: big tiles disturb the pools afterwards
        if "latency" in args.phases:
            phase_latency(
                [s for s in scens if s.kind != "tile"], servers, sql_only, args.quick, res
            )
        if "wrk" in args.phases:
            phase_wrk(scens, servers, args.quick, res)
        if "latency" in args.phases:
            phase_latency(
                [s for s in scens if s.kind == "tile"], servers, sql_only, args.quick, res
            )
        sql_only.close()
    finally:
        for sv in servers:
            stop(sv)
        release()
    meta["load_after"] = f"{os.getloadavg()[0]:.1f}"
    text = report(scens, res, meta)
    print("\n" + text)
    RESULTS_DIR.mkdir(exist_ok=True)
    stem = RESULTS_DIR / f"api-{meta['date']}{'-quick' if args.quick else ''}"
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": res}, indent=1))
    print(f"written {stem}.md", flush=True)
    bad = [
        (s, n) for s, rec in res.get("latency", {}).items() for n, r in rec.items() if r["error"]
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
