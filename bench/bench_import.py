"""Benchmark: importing street-lamp points, ours vs ``ogr2ogr … PG_USE_COPY``: time and memory.

Generates the lamp points of the shared benchmark anchors (same seed, same draws;
200,000 points) and a 10× larger set as GeoJSON files in a temp dir, or reuses them,
then runs three full imports of each tool into the same scratch database, each in
its own process, and prints the median times, their ratio and each tool's peak
resident memory (max RSS of the process): ours must stay bounded as the file grows.

    python bench/bench_import.py                  # embedded cluster, or $DATABASE_URL
    python bench/bench_import.py --lamps 200000 --runs 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
from psycopg import sql

from gisplatform.ingest import ImportOptions, import_file
from gisplatform.registry import (
    Access,
    EnumValue,
    FieldSpec,
    FieldType,
    GeometryType,
    LayerRegistry,
    LayerSpec,
    Localized,
)
from gisplatform.settings import Settings
from gisplatform.store.database import admin_url
from gisplatform.store.migrate import migrate

LON0, LAT0, HALF = 33.4746, 50.7515, 10_000.0
M_LAT = 111_320.0
M_LON = 111_320.0 * np.cos(np.radians(LAT0))
N_ROADS, N_LAMPS = 50_000, 200_000
STREET_BASES = [
    "Соборна",
    "Київська",
    "Полтавська",
    "Шевченка",
    "Івана Франка",
    "Лесі Українки",
    "Грушевського",
    "Сумська",
    "Миру",
    "Садова",
    "Зелена",
    "Шкільна",
    "Центральна",
    "Вокзальна",
    "Озерна",
    "Лісова",
    "Польова",
    "Річкова",
    "Молодіжна",
    "Перемоги",
    "Незалежності",
    "Гетьманська",
    "Козацька",
    "Роменська",
    "Сульська",
    "Привокзальна",
    "Зарічна",
    "Липова",
    "Каштанова",
    "Вишнева",
    "Яблунева",
    "Березова",
    "Дубова",
    "Соснова",
    "Квіткова",
    "Сонячна",
    "Північна",
    "Південна",
    "Східна",
    "Західна",
    "Котляревського",
    "Сковороди",
    "Костомарова",
    "Мазепи",
    "Богдана Хмельницького",
    "Калнишевського",
    "Дорошенка",
    "Винниченка",
    "Василя Стуса",
    "В'ячеслава Чорновола",
    "Пилипа Орлика",
    "Івана Сірка",
    "Гоголя",
    "Ольги Кобилянської",
    "Марка Вовчка",
    "Героїв Майдану",
    "Героїв Крут",
    "Свободи",
    "Паркова",
    "Ярмаркова",
    "Базарна",
    "Монастирська",
    "Заводська",
    "Промислова",
    "Аеродромна",
    "Ромоданівська",
    "Коржівська",
    "Плішивецька",
    "Бобрицька",
    "Галицька",
    "Волинська",
    "Чернігівська",
]
KINDS = ("вул.", "пров.", "просп.", "бульв.", "проїзд")
LAMP_TYPES = np.array(["LED", "HPS", "MH", "CFL", "MV"])
POWER = {
    "LED": [30, 40, 50, 60, 80, 100, 120, 150],
    "HPS": [70, 100, 150, 250],
    "MH": [70, 100, 150, 250],
    "CFL": [23, 36, 55],
    "MV": [125, 250],
}


def _seg_cumsum(v: np.ndarray, offs: np.ndarray) -> np.ndarray:
    c = np.cumsum(v)
    result: np.ndarray = c - np.repeat(c[offs[:-1]] - v[offs[:-1]], np.diff(offs))
    return result


def generate_lamps(path: Path, seed: int = 42, n_lamps: int = N_LAMPS) -> None:
    """Write ``lamps`` lamps (lon/lat, 8 attributes) as GeoJSON (200,000: the anchors' set)."""
    rng = np.random.default_rng(seed)
    bases = STREET_BASES
    names = [f"{t} {b}" for b in bases for t in KINDS]
    names += [f"{n}-й пров. {b}" for b in bases for n in range(1, 4)]
    rng.shuffle(names)
    nverts = rng.integers(5, 31, size=N_ROADS)
    core = rng.random(N_ROADS) < 0.55
    sx = np.where(core, rng.normal(0, 2500, N_ROADS), rng.uniform(-HALF, HALF, N_ROADS))
    sy = np.where(core, rng.normal(0, 2500, N_ROADS), rng.uniform(-HALF, HALF, N_ROADS))
    sx, sy = np.clip(sx, -HALF * 0.92, HALF * 0.92), np.clip(sy, -HALF * 0.92, HALF * 0.92)
    on_grid = rng.random(N_ROADS) < 0.7
    heading0 = np.where(
        on_grid,
        np.radians(17.0) + rng.integers(0, 4, N_ROADS) * (np.pi / 2),
        rng.uniform(0, 2 * np.pi, N_ROADS),
    )
    seg_mu = np.where(core, 25.0, 45.0)
    offs = np.zeros(N_ROADS + 1, dtype=np.int64)
    offs[1:] = np.cumsum(nverts)
    road_of = np.repeat(np.arange(N_ROADS), nverts)
    first = np.zeros(int(offs[-1]), dtype=bool)
    first[offs[:-1]] = True
    dh = rng.normal(0, np.radians(6), int(offs[-1]))
    dh[first] = 0
    h = heading0[road_of] + _seg_cumsum(dh, offs)
    step = rng.uniform(0.6, 1.4, int(offs[-1])) * seg_mu[road_of]
    dx, dy = np.cos(h) * step, np.sin(h) * step
    dx[first] = dy[first] = 0
    x, y = sx[road_of] + _seg_cumsum(dx, offs), sy[road_of] + _seg_cumsum(dy, offs)
    classes = np.array(["primary", "secondary", "tertiary", "residential", "service", "track"])
    cls = rng.choice(classes, N_ROADS, p=[0.03, 0.07, 0.15, 0.55, 0.15, 0.05])
    surfaces = np.array(["asphalt", "concrete", "paving_stones", "gravel", "dirt"])
    rng.choice(surfaces[:3], N_ROADS, p=[0.85, 0.1, 0.05])  # road attributes: same draws
    rng.choice(surfaces[3:], N_ROADS)
    rng.choice(surfaces, N_ROADS, p=[0.5, 0.05, 0.1, 0.2, 0.15])
    rng.choice(np.array(["good", "fair", "poor", "bad"]), N_ROADS, p=[0.3, 0.4, 0.2, 0.1])
    del cls
    cell = ((sx + HALF) // 700).astype(int) * 100 + ((sy + HALF) // 700).astype(int)
    road_name = np.array(names, dtype=object)[
        (cell * 7919 + rng.integers(0, 3, N_ROADS)) % len(names)
    ]
    nseg = nverts - 1
    road = np.sort(rng.choice(N_ROADS, n_lamps, p=nseg / nseg.sum()))
    i0 = offs[road] + (rng.random(n_lamps) * nseg[road]).astype(np.int64)
    x0, y0, x1, y1 = x[i0], y[i0], x[i0 + 1], y[i0 + 1]
    t = rng.random(n_lamps)
    hd = np.arctan2(y1 - y0, x1 - x0)
    off = rng.uniform(3.0, 12.0, n_lamps) * np.where(rng.random(n_lamps) < 0.5, -1.0, 1.0)
    px = x0 + (x1 - x0) * t - np.sin(hd) * off
    py = y0 + (y1 - y0) * t + np.cos(hd) * off
    lon, lat = np.round(LON0 + px / M_LON, 7), np.round(LAT0 + py / M_LAT, 7)
    ltype = rng.choice(LAMP_TYPES, n_lamps, p=[0.55, 0.25, 0.08, 0.07, 0.05])
    power = np.empty(n_lamps, dtype=np.int64)
    for kind, choices in POWER.items():
        power[ltype == kind] = rng.choice(choices, int((ltype == kind).sum()))
    status = rng.choice(np.array(["working", "faulty", "off"]), n_lamps, p=[0.87, 0.08, 0.05])
    epoch = dt.date(1970, 1, 1)
    start = np.where(
        ltype == "LED", (dt.date(2012, 1, 1) - epoch).days, (dt.date(1985, 1, 1) - epoch).days
    )
    end = (dt.date(2025, 6, 30) - epoch).days
    installed = start + (rng.random(n_lamps) * (end - start)).astype(np.int64)
    smart = (ltype == "LED") & (rng.random(n_lamps) < 0.4)
    cabinet = (
        ((px + HALF) // 500).clip(0, 39).astype(int) * 40
        + ((py + HALF) // 500).clip(0, 39).astype(int)
        + 1
    )
    with path.open("w", encoding="utf-8") as out:
        out.write('{"type": "FeatureCollection", "features": [\n')
        for i in range(n_lamps):
            props = {
                "pole_id": f"RMN-{cabinet[i]:04d}-{i + 1:06d}",
                "lamp_type": str(ltype[i]),
                "power_w": int(power[i]),
                "status": str(status[i]),
                "street": road_name[road[i]],
                "installed": (epoch + dt.timedelta(days=int(installed[i]))).isoformat(),
                "smart": bool(smart[i]),
                "cabinet_id": int(cabinet[i]),
            }
            feature = {
                "type": "Feature",
                "id": i + 1,
                "properties": props,
                "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
            }
            out.write(("," if i else "") + json.dumps(feature, ensure_ascii=False) + "\n")
        out.write("]}\n")


def _title(uk: str, en: str) -> Localized:
    return Localized(uk=uk, en=en)


def _enum(*values: str) -> tuple[EnumValue, ...]:
    return tuple(EnumValue(value=v.lower(), uk=v, en=v) for v in values)


LAMPS = LayerSpec(
    name="bench_lamps",
    title=_title("Світильники", "Street lamps"),
    description=_title("Еталонний набір", "Benchmark data set"),
    theme="bench",
    geometry=GeometryType.POINT,
    access=Access.STAFF,
    natural_key=("pole_id",),
    licence="CC0-1.0",
    owner=_title("Бенчмарк", "Benchmark"),
    update_frequency="as_needed",
    fields=(
        FieldSpec(
            name="pole_id",
            type=FieldType.STRING,
            title=_title("Опора", "Pole"),
            required=True,
            max_length=32,
        ),
        FieldSpec(
            name="lamp_type",
            type=FieldType.ENUM,
            title=_title("Тип", "Type"),
            values=_enum(*LAMP_TYPES),
        ),
        FieldSpec(
            name="power_w",
            type=FieldType.INTEGER,
            title=_title("Потужність", "Power"),
            minimum=0,
            maximum=2000,
            unit="W",
        ),
        FieldSpec(
            name="status",
            type=FieldType.ENUM,
            title=_title("Стан", "Status"),
            values=_enum("working", "faulty", "off"),
        ),
        FieldSpec(
            name="street", type=FieldType.STRING, title=_title("Вулиця", "Street"), max_length=200
        ),
        FieldSpec(name="installed", type=FieldType.DATE, title=_title("Встановлено", "Installed")),
        FieldSpec(name="smart", type=FieldType.BOOLEAN, title=_title("Розумний", "Smart")),
        FieldSpec(name="cabinet_id", type=FieldType.INTEGER, title=_title("Шафа", "Cabinet")),
    ),
)


_INDEXES = "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s ORDER BY 1"


def _pg(url: str) -> str:
    u = urlsplit(url)
    return (
        f"PG:host={u.hostname} port={u.port or 5432} dbname={u.path.lstrip('/')} "
        f"user={u.username} password={u.password or ''}"
    )


#: Runs argv in a forked child and reports its peak RSS. The launcher is small on purpose:
#: Linux carries a process's RSS high-water mark across exec, so a child spawned straight
#: from this (large) process would report at least this process's size.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(f"PEAK_RSS_KB={usage.ru_maxrss}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def _peak_rss(argv: list[str]) -> tuple[float, int, str]:
    """Run ``argv``; its wall time, its peak resident memory in bytes, its stdout."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, *argv], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB=")]
    return elapsed, int(peak[-1].split("=", 1)[1]) * 1024, done.stdout  # Linux: kilobytes


def _child_import(url: str, data: Path, lamps: int) -> int:
    """Our import in this (child) process: prints its seconds and its peak RSS before it."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    result = import_file(url, LAMPS, data, ImportOptions(), schema="bench")
    seconds = time.perf_counter() - t0
    assert result.counts.inserted == lamps, result
    print(json.dumps({"seconds": seconds, "rss_before": before}))
    return 0


def _dataset(lamps: int) -> Path:
    name = "lamps.geojson" if lamps == N_LAMPS else f"lamps-{lamps}.geojson"
    data = Path(tempfile.gettempdir()) / "gisplatform-bench" / name
    if not data.exists():
        data.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {data} …", flush=True)
        partial = data.with_suffix(".partial")
        generate_lamps(partial, n_lamps=lamps)
        partial.rename(data)
    return data


def _mb(n: float) -> str:
    return f"{n / 2**20:.0f} MB"


def _bench(url: str, lamps: int, runs: int) -> tuple[float, float, int, int]:
    """Median seconds of ours and ogr2ogr's, and the largest peak RSS of each, for one size."""
    data = _dataset(lamps)
    print(f"--- {lamps:,} points ({_mb(data.stat().st_size)} of GeoJSON)", flush=True)
    ours, theirs, our_rss, their_rss = [], [], [], []
    for run in range(runs):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("TRUNCATE {}, history.feature_changes").format(
                    sql.Identifier("bench", LAMPS.name)
                )
            )
            conn.execute("DROP TABLE IF EXISTS public.lamps_ogr")
            conn.execute("CHECKPOINT")
        argv = [sys.executable, __file__, "--child-import", url, str(data), str(lamps)]
        _, rss, out = _peak_rss(argv)
        report = json.loads(out.strip().splitlines()[-1])
        ours.append(float(report["seconds"]))
        our_rss.append(rss)
        seconds, rss, _ = _peak_rss(
            [
                "ogr2ogr",
                "-f",
                "PostgreSQL",
                _pg(url),
                str(data),
                "-nln",
                "lamps_ogr",
                "-lco",
                "GEOMETRY_NAME=geom",
                "--config",
                "PG_USE_COPY",
                "YES",
            ]
        )
        theirs.append(seconds)
        their_rss.append(rss)
        print(
            f"run {run + 1}: ours {ours[-1]:.2f} s, max RSS {_mb(our_rss[-1])} "
            f"(interpreter and libraries before the import: {_mb(report['rss_before'])}); "
            f"ogr2ogr {theirs[-1]:.2f} s, max RSS {_mb(their_rss[-1])}",
            flush=True,
        )
    return statistics.median(ours), statistics.median(theirs), max(our_rss), max(their_rss)


def main() -> int:
    """Generate (or reuse) the data, run both importers, print times and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--lamps",
        default=f"{N_LAMPS},{10 * N_LAMPS}",
        help="comma-separated file sizes in points (default: 200000 and 2000000)",
    )
    parser.add_argument("--child-import", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        url, data, lamps = args.child_import
        return _child_import(url, Path(data), int(lamps))
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr not found: apt-get install -y --no-install-recommends gdal-bin")
    sizes = [int(n) for n in args.lamps.split(",")]
    server = admin_url(Settings())  # the superuser: it makes the scratch database
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS gisplatform_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE gisplatform_bench")
    url = urlunsplit(urlsplit(server)._replace(path="/gisplatform_bench"))
    settings = Settings(DATABASE_URL=url, layer_schema="bench")
    migrate(url, LayerRegistry([LAMPS]), settings)
    figures = {n: _bench(url, n, args.runs) for n in sizes}
    with psycopg.connect(url) as conn:
        ogr_indexes = [r[0] for r in conn.execute(_INDEXES, ("public", "lamps_ogr"))]
        our_indexes = [r[0] for r in conn.execute(_INDEXES, ("bench", LAMPS.name))]
        changes = conn.execute("SELECT count(*) FROM history.feature_changes").fetchone()
    print(
        "ours: validates every row (types, enums, ranges, geometry, area, duplicate keys in "
        "file and store), COPYs into bench.bench_lamps with its CHECK constraints, stamps "
        f"and history triggers ({changes[0] if changes else 0} history rows), one "
        f"transaction; indexes: {'; '.join(our_indexes)}"
    )
    print(
        "ogr2ogr: COPY into a new table, no validation, constraints or history; "
        f"indexes: {'; '.join(ogr_indexes)}"
    )
    for n, (a, b, rss_a, rss_b) in figures.items():
        print(
            f"{n:,} points, median of {args.runs}: ours {a:.2f} s, ogr2ogr {b:.2f} s, "
            f"ratio {a / b:.2f}x (target ≤ 1.5x); peak RSS ours {_mb(rss_a)}, "
            f"ogr2ogr {_mb(rss_b)}"
        )
    if len(sizes) >= 2:
        small, large = min(sizes), max(sizes)
        for who, i in (("ours", 2), ("ogr2ogr", 3)):
            growth = figures[large][i] / figures[small][i]
            print(
                f"peak RSS growth {small:,} → {large:,} points ({large / small:.0f}× the file): "
                f"{who} {growth:.2f}×" + (" (target < 2×)" if who == "ours" else "")
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
