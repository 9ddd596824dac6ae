"""Generate the reproducible Romny demo data set: one GeoJSON file per layer.

Usage: ``python data/generate_romny.py [--out DIR]`` (default ``data/romny``).

Real inputs: the KATOTTG rows in ``data/romny/katottg_romny.csv``, two GeoNames points
(Ромни, Біловод) and the register points of ``data/sources/sumy`` (CC BY 4.0, see its README;
or ``--register DIR``).
Everything else is synthetic and generated from a fixed seed, so two runs give byte-identical
files. Metric work is done in EPSG:32636; output is CRS84 lon/lat rounded to 7 decimals.
Every feature is validated against its layer definition before anything is written.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from gisplatform.registry import FieldType, LayerSpec, load_registry

ROOT = Path(__file__).resolve().parents[1]
KATOTTG_CSV = ROOT / "data" / "romny" / "katottg_romny.csv"
#: the register extracts kept in the repository (CC BY 4.0, see data/sources/sumy/README.md)
DEFAULT_REGISTER_DIR = Path(__file__).resolve().parent / "sources" / "sumy"
SEED = 59060110
#: defects of a shelter that is not (fully) ready, as an inspection act words them
SHELTER_DEFECTS = [
    "немає запасу питної води",
    "несправна вентиляція",
    "вхід не облаштовано для маломобільних груп населення",
]
#: where a resident calls when a demo shelter is closed: plainly not a real number
DEMO_HOTLINE = "+380 00 000 00 00"
DECIMALS = 7

HROMADA_CODE = "UA59060110000049734"
ROMNY_CODE = "UA59060110010062596"
HROMADA_POPULATION = 49_284
CITY_POPULATION = 37_765
CENTRE_LONLAT = (33.475, 50.751)
BBOX = (33.25, 50.58, 33.72, 50.92)
#: Points known from GeoNames (CC BY 4.0) or placed next to a register spring named after them.
ANCHORS = {
    "Біловод": (33.46456, 50.66987),
    "Малі Бубни": (33.292, 50.745),
    "Рогинці": (33.401, 50.858),
}

SYNTHETIC = "синтетичні демо-дані (data/generate_romny.py)"
KATOTTG_SOURCE = "Кодифікатор КАТОТТГ (наказ Мінрегіону № 290, ред. 19.01.2024); точка синтетична"
REGISTER_SOURCE = (
    "Державний реєстр географічних назв, Держгеокадастр (land.gov.ua), CC BY 4.0; "
    "оцифрування gontsa/geonames-ua"
)
NEWS_SOURCE = "назва — за новинами (див. data/romny/README.md); геометрія синтетична"

TO_LONLAT = Transformer.from_crs("EPSG:32636", "OGC:CRS84", always_xy=True)
TO_UTM = Transformer.from_crs("OGC:CRS84", "EPSG:32636", always_xy=True)

Coord = tuple[float, float]
Props = dict[str, Any]


class DemoDataError(RuntimeError):
    """A generated feature does not satisfy its layer definition."""


# --------------------------------------------------------------------------- helpers


_TRANSLIT = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "h",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "ж": "zh",
    "з": "z",
    "и": "y",
    "і": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ь": "",
    "'": "",
    "’": "",
    "ʼ": "",
}
_TRANSLIT_INITIAL = {
    "є": ("ye", "ie"),
    "ї": ("yi", "i"),
    "й": ("y", "i"),
    "ю": ("yu", "iu"),
    "я": ("ya", "ia"),
}


def transliterate(text: str) -> str:
    """Ukrainian to Latin script by the national system (КМУ № 55, 2010)."""
    out: list[str] = []
    for i, char in enumerate(text):
        low = char.lower()
        initial = i == 0 or (not text[i - 1].isalpha() and text[i - 1] not in "'’ʼ")
        if low == "г" and i > 0 and text[i - 1].lower() == "з":
            latin = "gh"
        elif low in _TRANSLIT_INITIAL:
            latin = _TRANSLIT_INITIAL[low][0 if initial else 1]
        elif low in _TRANSLIT:
            latin = _TRANSLIT[low]
        else:
            latin = char
        if char != low and latin:
            latin = latin[0].upper() + latin[1:]
        out.append(latin)
    return "".join(out)


def to_utm(lon: float, lat: float) -> Coord:
    """CRS84 lon/lat to UTM 36N metres."""
    x, y = TO_UTM.transform(lon, lat)
    return float(x), float(y)


def lonlat(xy: Iterable[Sequence[float]]) -> list[list[float]]:
    """UTM 36N coordinates to rounded CRS84 lon/lat pairs."""
    arr = np.asarray(list(xy), dtype=float)
    lon, lat = TO_LONLAT.transform(arr[:, 0], arr[:, 1])
    return [
        [round(float(a), DECIMALS), round(float(b), DECIMALS)]
        for a, b in zip(lon, lat, strict=True)
    ]


def point_geom(xy: Coord) -> Props:
    """A GeoJSON Point from UTM coordinates."""
    return {"type": "Point", "coordinates": lonlat([xy])[0]}


def polygon_coords(poly: Polygon) -> list[list[list[float]]]:
    """GeoJSON rings (lon/lat) of a UTM polygon, exterior counter-clockwise."""
    poly = orient(poly, 1.0)
    return [lonlat(poly.exterior.coords), *(lonlat(r.coords) for r in poly.interiors)]


def multipolygon_geom(geom: BaseGeometry) -> Props:
    """A GeoJSON MultiPolygon from a UTM polygon or multipolygon."""
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    return {"type": "MultiPolygon", "coordinates": [polygon_coords(p) for p in parts]}


def make_feature(props: Props, geometry: Props) -> Props:
    """A GeoJSON Feature."""
    return {"type": "Feature", "properties": props, "geometry": geometry}


def demo_feature(props: Props, geometry: Props) -> Props:
    """A Feature of synthetic data: ``props`` followed by the synthetic source and demo flag."""
    return make_feature({**props, "source": SYNTHETIC, "is_demo": True}, geometry)


def allocate(total: int, weights: np.ndarray) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    share = weights / weights.sum() * total
    base = np.floor(share).astype(int)
    rest = total - int(base.sum())
    order = np.argsort(-(share - base), kind="stable")
    base[order[:rest]] += 1
    return [int(v) for v in base]


def choice(rng: np.random.Generator, values: Sequence[str], probs: Sequence[float]) -> str:
    """One of ``values`` drawn with probabilities ``probs``."""
    p = np.asarray(probs, dtype=float)
    return values[int(rng.choice(len(values), p=p / p.sum()))]


def iso(day: date) -> str:
    """A date as ``YYYY-MM-DD``."""
    return day.isoformat()


def random_day(rng: np.random.Generator, start: date, end: date) -> str:
    """A random ISO date between ``start`` and ``end`` inclusive."""
    return iso(start + timedelta(days=int(rng.integers(0, (end - start).days + 1))))


def farthest_points(points: np.ndarray, k: int, first: int = 0) -> list[int]:
    """Indices of ``k`` well-spread points (greedy farthest-point sampling)."""
    chosen = [first]
    dist = np.linalg.norm(points - points[first], axis=1)
    while len(chosen) < min(k, len(points)):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(points - points[nxt], axis=1))
    return chosen


# --------------------------------------------------------------------------- validation


def _check_value(spec: LayerSpec, name: str, value: Any) -> str | None:
    fs = spec.field(name)
    if value is None:
        return "is required" if fs.required else None
    kind = fs.type
    if kind is FieldType.STRING_LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "must be a list of strings"
        items = value
    elif kind in (FieldType.STRING, FieldType.ENUM, FieldType.DATE, FieldType.DATETIME):
        if not isinstance(value, str):
            return "must be a string"
        items = [value]
    elif kind is FieldType.BOOLEAN:
        return None if isinstance(value, bool) else "must be a boolean"
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if kind is FieldType.INTEGER:
            ok = ok and isinstance(value, int)
        if not ok or (isinstance(value, float) and not math.isfinite(value)):
            return f"must be {kind.value}"
        if fs.minimum is not None and value < fs.minimum:
            return f"{value} < minimum {fs.minimum}"
        if fs.maximum is not None and value > fs.maximum:
            return f"{value} > maximum {fs.maximum}"
        return None
    for item in items:
        if kind is FieldType.ENUM and item not in {v.value for v in fs.values}:
            return f"'{item}' is not an enum value"
        if kind is FieldType.DATE:
            try:
                date.fromisoformat(item)
            except ValueError:
                return f"'{item}' is not an ISO date"
        if kind is FieldType.DATETIME:
            try:
                datetime.fromisoformat(item)
            except ValueError:
                return f"'{item}' is not an ISO date-time"
        if fs.max_length is not None and len(item) > fs.max_length:
            return f"longer than {fs.max_length}"
        if fs.pattern is not None and not re.search(fs.pattern, item):
            return f"'{item}' does not match {fs.pattern}"
    return None


def validate_features(spec: LayerSpec, features: list[Props]) -> list[str]:
    """Every problem of ``features`` against ``spec`` (empty when all are valid)."""
    problems: list[str] = []
    names = {f.name for f in spec.fields}
    keys: set[tuple[Any, ...]] = set()
    for i, feature in enumerate(features):
        where = f"{spec.name}[{i}]"
        props = feature.get("properties", {})
        if feature.get("geometry", {}).get("type") != spec.geometry.value:
            problems.append(f"{where}: geometry is not {spec.geometry.value}")
        if set(props) != names | {"is_demo"}:
            problems.append(f"{where}: properties {sorted(set(props) ^ (names | {'is_demo'}))}")
            continue
        if not isinstance(props["is_demo"], bool):
            problems.append(f"{where}: is_demo must be a boolean")
        for name in sorted(names):
            message = _check_value(spec, name, props[name])
            if message:
                problems.append(f"{where}.{name}: {message}")
        key = tuple(props[k] for k in spec.natural_key)
        if key in keys:
            problems.append(f"{where}: duplicate natural key {key}")
        keys.add(key)
    return problems


# --------------------------------------------------------------------------- model


@dataclass
class Settlement:
    """One KATOTTG settlement with its demo location and population."""

    code: str
    name: str
    category: str
    xy: Coord = (0.0, 0.0)
    population: int = 0
    district: str = ""


@dataclass
class Street:
    """A named street made of noded segments (each segment a pair of node ids)."""

    street_id: str
    name: str
    street_type: str
    settlement: str
    segments: list[tuple[int, int]]
    former: list[str] = field(default_factory=list)
    source: str = SYNTHETIC
    lit: bool = True


@dataclass
class Building:
    """A rectangular footprint with its street-side entrance point."""

    poly: Polygon
    front: Coord
    use: str
    floors: int
    settlement: str
    address: str
    population: int = 0


class Network:
    """Street nodes (UTM) with stable ids, so shared endpoints are exactly equal."""

    def __init__(self) -> None:
        self.nodes: list[Coord] = []

    def add(self, xy: Coord) -> int:
        """Add a node and return its id."""
        self.nodes.append(xy)
        return len(self.nodes) - 1

    def line(self, seg: tuple[int, int]) -> LineString:
        """The segment as a UTM line."""
        return LineString([self.nodes[seg[0]], self.nodes[seg[1]]])


def read_katottg() -> tuple[dict[str, str], list[Settlement]]:
    """The hromada row and the settlements from the committed KATOTTG extract."""
    with KATOTTG_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    hromada = next(r for r in rows if r["category"] == "H")
    settlements = [
        Settlement(r["settlement"], r["name"], r["category"].lower())
        for r in rows
        if r["category"] != "H"
    ]
    return hromada, settlements


# --------------------------------------------------------------------------- generation


class Generator:
    """Builds every demo layer from one seeded random generator."""

    def __init__(self, register_dir: Path) -> None:
        self.rng = np.random.default_rng(SEED)
        self.register_dir = register_dir
        self.centre = to_utm(*CENTRE_LONLAT)
        self.hromada, self.settlements = read_katottg()
        self.by_name = {s.name: s for s in self.settlements}
        self.net = Network()
        self.streets: list[Street] = []
        self.buildings: list[Building] = []
        self.layers: dict[str, list[Props]] = {}

    # -- boundary, settlements, districts

    def make_boundary(self) -> Polygon:
        """A smoothed star-shaped outline around the centre, inside the demo bbox."""
        rng = self.rng
        cx, cy = self.centre
        theta = np.linspace(0, 2 * math.pi, 240, endpoint=False)
        phases = rng.uniform(0, 2 * math.pi, 3)
        radius = 15_500 * (
            1
            + 0.10 * np.sin(2 * theta + phases[0])
            + 0.07 * np.sin(3 * theta + phases[1])
            + 0.04 * np.sin(5 * theta + phases[2])
        )
        star = Polygon(
            zip(cx + radius * np.cos(theta), cy + 1.1 * radius * np.sin(theta), strict=True)
        )
        corners = [to_utm(x, y) for x, y in ((BBOX[0], BBOX[1]), (BBOX[2], BBOX[3]))]
        frame = box(corners[0][0], corners[0][1], corners[1][0], corners[1][1])
        shape = star.intersection(frame.buffer(-1_200))
        anchors = [Point(to_utm(*xy)).buffer(2_500) for xy in ANCHORS.values()]
        shape = shapely.unary_union([shape, *anchors]).buffer(2_000).buffer(-2_000)
        shape = shape.intersection(frame.buffer(-300)).simplify(40)
        assert isinstance(shape, Polygon)
        return shape

    def place_settlements(self, boundary: Polygon) -> None:
        """Anchor the known points and scatter the other villages inside the boundary."""
        rng = self.rng
        self.by_name["Ромни"].xy = self.centre
        for name, xy in ANCHORS.items():
            self.by_name[name].xy = to_utm(*xy)
        placed = [s.xy for s in self.settlements if s.xy != (0.0, 0.0)]
        inner = boundary.buffer(-1_500)
        minx, miny, maxx, maxy = inner.bounds
        min_dist = 2_300.0
        for s in self.settlements:
            if s.xy != (0.0, 0.0):
                continue
            tries = 0
            while True:
                tries += 1
                if tries % 400 == 0:
                    min_dist *= 0.9
                xy = (float(rng.uniform(minx, maxx)), float(rng.uniform(miny, maxy)))
                if not inner.contains(Point(xy)):
                    continue
                if math.dist(xy, self.centre) < 5_500:
                    continue
                if all(math.dist(xy, p) >= min_dist for p in placed):
                    break
            s.xy = xy
            placed.append(xy)
        villages = [s for s in self.settlements if s.code != ROMNY_CODE]
        weights = rng.lognormal(0.0, 0.7, len(villages))
        for i, s in enumerate(villages):
            if s.name in ("Біловод", "Біловодське"):
                weights[i] *= 2.5
        counts = allocate(HROMADA_POPULATION - CITY_POPULATION - 20 * len(villages), weights)
        for s, extra in zip(villages, counts, strict=True):
            s.population = 20 + extra
        self.by_name["Ромни"].population = CITY_POPULATION

    def make_districts(self, boundary: Polygon) -> list[tuple[str, Polygon, Settlement]]:
        """Voronoi cells of nine district centres, clipped to the boundary."""
        pts = np.array([s.xy for s in self.settlements])
        romny = next(i for i, s in enumerate(self.settlements) if s.code == ROMNY_CODE)
        seeds = farthest_points(pts, 9, first=romny)
        seed_settlements = [self.settlements[i] for i in seeds]
        cells = shapely.voronoi_polygons(
            shapely.MultiPoint([s.xy for s in seed_settlements]), extend_to=boundary.buffer(5_000)
        )
        districts: list[tuple[str, Polygon, Settlement]] = []
        ordered = sorted(seed_settlements, key=lambda s: (s.code != ROMNY_CODE, -s.xy[1], s.xy[0]))
        for n, seed in enumerate(ordered, start=1):
            cell = next(c for c in cells.geoms if c.contains(Point(seed.xy)))
            part = cell.intersection(boundary)
            assert isinstance(part, Polygon)
            districts.append((f"DEMO-SD-{n:02d}", part, seed))
        for s in self.settlements:
            hits = [d for d, poly, _ in districts if poly.contains(Point(s.xy))]
            if len(hits) != 1:
                raise DemoDataError(f"settlement {s.name} lies in {len(hits)} districts")
            s.district = hits[0]
        return districts

    # -- streets

    def make_city_streets(self) -> None:
        """A jittered, slightly rotated street lattice around the centre; noded by design."""
        rng = self.rng
        cx, cy = self.centre
        angle = math.radians(14)
        ca, sa = math.cos(angle), math.sin(angle)
        sx, sy, a, b = 165.0, 150.0, 2_050.0, 1_650.0
        ni, nj = int(b / sy), int(a / sx)
        ids: dict[tuple[int, int], int] = {}
        for i in range(-ni, ni + 1):
            for j in range(-nj, nj + 1):
                u, v = j * sx, i * sy
                if (u / a) ** 2 + (v / b) ** 2 > 1:
                    continue
                u += float(rng.uniform(-18, 18))
                v += float(rng.uniform(-18, 18))
                ids[(i, j)] = self.net.add((cx + u * ca - v * sa, cy + u * sa + v * ca))
        edges = {(p, q) for p in ids for q in ((p[0], p[1] + 1), (p[0] + 1, p[1])) if q in ids}
        for edge in sorted(edges):
            if rng.random() < 0.10 and _still_connected(edges - {edge}, ids):
                edges.discard(edge)
        # one street per maximal run of edges along a lattice row or column
        runs: list[list[tuple[int, int]]] = []
        for horizontal in (True, False):
            lines: dict[int, list[tuple[tuple[int, int], tuple[int, int]]]] = {}
            for p, q in sorted(edges):
                if (p[0] == q[0]) == horizontal:
                    lines.setdefault(p[0] if horizontal else p[1], []).append((p, q))
            for key in sorted(lines):
                current: list[tuple[int, int]] = []
                for p, q in sorted(lines[key]):
                    if current and ids[p] != current[-1][1]:
                        runs.append(current)
                        current = []
                    current.append((ids[p], ids[q]))
                runs.append(current)

        def mid(run: list[tuple[int, int]]) -> float:
            xs = [self.net.nodes[n] for seg in run for n in seg]
            return math.dist(
                (sum(x for x, _ in xs) / len(xs), sum(y for _, y in xs) / len(xs)), self.centre
            )

        runs.sort(key=lambda r: (mid(r), r[0]))
        real = [
            ("бульвар Свободи", "bulvar", ["бульвар Жовтневої революції"]),
            ("вулиця Соборна", "vulytsia", ["вулиця Леніна"]),
            ("вулиця Коржівська", "vulytsia", ["вулиця Карла Маркса"]),
            ("вулиця Івана Мазепи", "vulytsia", ["вулиця Урицького"]),
            ("бульвар Шевченка", "bulvar", []),
            ("вулиця Героїв Роменщини", "vulytsia", ["вулиця Горького"]),
            ("вулиця Полтавська", "vulytsia", []),
            ("вулиця Прокопенка", "vulytsia", []),
        ]
        named: list[tuple[list[tuple[int, int]], str, str, list[str], str]] = []
        long_runs = [r for r in runs if len(r) >= 5]
        for (name, kind, former), run in zip(real, long_runs, strict=False):
            runs.remove(run)
            named.append((run, name, kind, former, NEWS_SOURCE))
        # 1st-4th lanes of Героїв Роменщини: the first edge of runs that start on that street
        heroes_nodes = {n for seg in named[5][0] for n in seg}
        lane = 0
        for run in list(runs):
            if lane == 4:
                break
            if run[0][0] in heroes_nodes:
                piece, rest = run[:1], run[1:]
            elif run[-1][1] in heroes_nodes:
                piece, rest = run[-1:], run[:-1]
            else:
                continue
            runs.remove(run)
            lane += 1
            named.append(
                (piece, f"{lane}-й провулок Героїв Роменщини", "provulok", [], NEWS_SOURCE)
            )
            runs.append(rest)
        # the station square: one edge about 1.3 km south-east of the centre
        target = (self.centre[0] + 900, self.centre[1] - 950)
        best = min(
            (r for r in runs if len(r) >= 3),
            key=lambda r: (math.dist(self.net.line(r[1]).centroid.coords[0], target), r[0]),
        )
        runs.remove(best)
        named.append(
            (
                [best[1]],
                "площа імені Григорія Навроцького",
                "ploshcha",
                ["Привокзальна площа"],
                NEWS_SOURCE,
            )
        )
        runs.extend([best[:1], best[2:]])
        self.station = self.net.line(best[1]).centroid.coords[0]
        for n_demo, run in enumerate([r for r in runs if r], start=1):
            kind = "provulok" if len(run) <= 2 else "vulytsia"
            word = "провулок" if kind == "provulok" else "вулиця"
            named.append((run, f"{word} Демо-{n_demo}", kind, [], SYNTHETIC))
        for n, (run, name, kind, former, source) in enumerate(named, start=1):
            self.streets.append(
                Street(f"ROM-ST-{n:04d}", name, kind, ROMNY_CODE, run, former, source)
            )

    def make_village_streets(self) -> None:
        """Cross-shaped streets in the larger villages, joined to the city by a road."""
        rng = self.rng
        city_nodes = sorted({n for s in self.streets for seg in s.segments for n in seg})
        city_xy = np.array([self.net.nodes[n] for n in city_nodes])
        villages = sorted(
            (s for s in self.settlements if s.code != ROMNY_CODE),
            key=lambda s: (-s.population, s.code),
        )
        existing = [self.net.line(seg) for s in self.streets for seg in s.segments]
        self.village_angles: dict[str, float] = {}
        made = 0
        for v in villages:
            if made == 6:
                break
            angle = float(rng.uniform(0, math.pi / 2))
            arms = [float(rng.uniform(350, 550)) for _ in range(4)]
            centre = self.net.add(v.xy)
            ends = []
            for k, length in enumerate(arms):
                t = angle + k * math.pi / 2
                ends.append(
                    self.net.add((v.xy[0] + length * math.cos(t), v.xy[1] + length * math.sin(t)))
                )
            near_end = min(ends, key=lambda e: math.dist(self.net.nodes[e], self.centre))
            target = city_nodes[
                int(np.argmin(np.linalg.norm(city_xy - self.net.nodes[near_end], axis=1)))
            ]
            road = LineString([self.net.nodes[near_end], self.net.nodes[target]])
            new_lines = [self.net.line((centre, e)) for e in ends]
            if any(road.crosses(g) or road.overlaps(g) for g in existing) or any(
                road.intersects(line) and not road.touches(line) for line in new_lines
            ):
                continue
            made += 1
            self.village_angles[v.code] = angle
            base = len([s for s in self.streets if s.settlement == v.code])
            prefix = f"V{v.code[-9:-5]}"
            self.streets.append(
                Street(
                    f"{prefix}-ST-{base + 1:02d}",
                    f"вулиця Демо-{v.name}-1",
                    "vulytsia",
                    v.code,
                    [(centre, ends[0]), (centre, ends[2])],
                )
            )
            self.streets.append(
                Street(
                    f"{prefix}-ST-{base + 2:02d}",
                    f"вулиця Демо-{v.name}-2",
                    "vulytsia",
                    v.code,
                    [(centre, ends[1]), (centre, ends[3])],
                )
            )
            self.streets.append(
                Street(
                    f"{prefix}-RD-01",
                    f"Демо-шосе Ромни – {v.name}",
                    "shose",
                    v.code,
                    [(near_end, target)],
                    lit=False,
                )
            )
            existing.extend([*new_lines, road])

    # -- buildings

    def make_buildings(self) -> None:
        """House rows along city streets and house clusters in every village."""
        rng = self.rng
        cands: list[Building] = []
        for street in self.streets:
            if street.settlement != ROMNY_CODE:
                continue
            number = 0
            for seg in street.segments:
                (ax, ay), (bx, by) = self.net.nodes[seg[0]], self.net.nodes[seg[1]]
                length = math.dist((ax, ay), (bx, by))
                ux, uy = (bx - ax) / length, (by - ay) / length
                nx, ny = -uy, ux
                for side in (1, -1):
                    t = 22.0 + float(rng.uniform(0, 6))
                    while True:
                        px, py = ax + ux * t, ay + uy * t
                        dist = math.dist((px, py), self.centre)
                        if dist < 900 and rng.random() < 0.45:
                            use, width, depth, setback = (
                                "residential_mkd",
                                float(rng.uniform(30, 60)),
                                13.0,
                                14.0,
                            )
                            floors = (
                                int(rng.choice([5, 9]))
                                if dist < 600
                                else int(rng.choice([3, 4, 5]))
                            )
                        else:
                            use = choice(
                                rng,
                                ["residential_private", "commercial", "other", "industrial"],
                                [0.9, 0.05, 0.035, 0.015],
                            )
                            width, depth, setback = (
                                float(rng.uniform(8, 12)),
                                float(rng.uniform(8, 11)),
                                float(rng.uniform(10, 14)),
                            )
                            floors = 1 if rng.random() < 0.8 else 2
                        if t + width > length - 22:
                            break
                        number += 1
                        sb, sd = side * setback, side * (setback + depth)
                        corners = [
                            (px + nx * sb, py + ny * sb),
                            (px + ux * width + nx * sb, py + uy * width + ny * sb),
                            (px + ux * width + nx * sd, py + uy * width + ny * sd),
                            (px + nx * sd, py + ny * sd),
                        ]
                        front = (px + ux * width / 2 + nx * sb, py + uy * width / 2 + ny * sb)
                        if street.source == SYNTHETIC:
                            address = f"м. Ромни, {street.name}, {number}"
                        else:
                            address = f"м. Ромни, {street.name} (демо-ділянка {number})"
                        cands.append(
                            Building(Polygon(corners), front, use, floors, ROMNY_CODE, address)
                        )
                        t += width + float(rng.uniform(9, 18))
        for v in self.settlements:
            if v.code == ROMNY_CODE:
                continue
            cands.extend(self._village_houses(v))
        lines = [self.net.line(seg) for s in self.streets for seg in s.segments]
        street_tree = shapely.STRtree(lines)
        polys = [b.poly for b in cands]
        tree = shapely.STRtree(polys)
        hits_street = {int(i) for i in street_tree.query(polys, predicate="intersects")[0]}
        pairs = tree.query(polys, predicate="intersects")
        conflicts: dict[int, list[int]] = {}
        for i, j in zip(pairs[0], pairs[1], strict=True):
            if i != j:
                conflicts.setdefault(int(i), []).append(int(j))
        kept: set[int] = set()
        for i in range(len(cands)):
            if i in hits_street or any(j in kept for j in conflicts.get(i, [])):
                continue
            kept.add(i)
        self.buildings = [cands[i] for i in sorted(kept)]

    def _village_houses(self, v: Settlement) -> list[Building]:
        rng = self.rng
        n_houses = max(3, round(v.population / float(rng.uniform(2.6, 3.2))))
        angle = self.village_angles.get(v.code, float(rng.uniform(0, math.pi / 2)))
        ca, sa = math.cos(angle), math.sin(angle)
        step = 32.0
        half = int(math.sqrt(n_houses) / 2) + 3
        cells = sorted(
            ((i + 0.5) * step, (j + 0.5) * step)
            for i in range(-half, half)
            for j in range(-half, half)
        )
        cells.sort(key=lambda c: (math.hypot(*c) + float(rng.uniform(0, 40)), c))
        houses = []
        for number, (u, v_) in enumerate(cells[:n_houses], start=1):
            w, d = float(rng.uniform(8, 12)), float(rng.uniform(7, 10))
            u += float(rng.uniform(-3, 3))
            v_ += float(rng.uniform(-3, 3))
            local = [
                (u - w / 2, v_ - d / 2),
                (u + w / 2, v_ - d / 2),
                (u + w / 2, v_ + d / 2),
                (u - w / 2, v_ + d / 2),
            ]
            corners = [(v.xy[0] + x * ca - y * sa, v.xy[1] + x * sa + y * ca) for x, y in local]
            fx, fy = u, v_ - d / 2
            front = (v.xy[0] + fx * ca - fy * sa, v.xy[1] + fx * sa + fy * ca)
            use = (
                "residential_private"
                if rng.random() < 0.95
                else choice(rng, ["commercial", "other", "utility"], [0.4, 0.4, 0.2])
            )
            address = f"с. {v.name}, демо-ділянка {number}"
            if v.category == "x":
                address = f"сел. {v.name}, демо-ділянка {number}"
            houses.append(Building(Polygon(corners), front, use, 1, v.code, address))
        return houses

    # -- facilities

    def pick_buildings(self, candidates: list[int], k: int) -> list[int]:
        """``k`` well-spread building indices out of ``candidates``."""
        pts = np.array([self.buildings[i].front for i in candidates])
        start = int(np.argmin(np.linalg.norm(pts - np.array(self.centre), axis=1)))
        return [candidates[i] for i in farthest_points(pts, k, first=start)]

    def assign_facilities(self) -> dict[str, list[tuple[int, str]]]:
        """Choose facility buildings (schools, clinics, ЦНАП, …) and relabel their use."""
        city = [i for i, b in enumerate(self.buildings) if b.settlement == ROMNY_CODE]
        big_city = [
            i
            for i in city
            if self.buildings[i].poly.area > 300
            and math.dist(self.buildings[i].front, self.centre) > 250
        ]
        private_city = [i for i in city if self.buildings[i].use == "residential_private"]
        centre_admin = min(city, key=lambda i: (math.dist(self.buildings[i].front, self.centre), i))
        big_villages = sorted(
            (s for s in self.settlements if s.code != ROMNY_CODE),
            key=lambda s: (-s.population, s.code),
        )

        def village_building(v: Settlement, taken: set[int]) -> int:
            own = [
                i for i, b in enumerate(self.buildings) if b.settlement == v.code and i not in taken
            ]
            return min(own, key=lambda i: (math.dist(self.buildings[i].front, v.xy), i))

        taken: set[int] = {centre_admin}
        out: dict[str, list[tuple[int, str]]] = {"education": [], "health": [], "admin": []}
        edu_types = ["litsei"] * 5 + ["gimnaziia"] * 2 + ["pochatkova", "profesiina"]
        zdo_and_more = ["zdo"] * 4 + ["pozashkilna"] * 2
        for i, kind in zip(
            self.pick_buildings([i for i in big_city if i not in taken], len(edu_types)),
            edu_types,
            strict=True,
        ):
            out["education"].append((i, kind))
            taken.add(i)
        for i, kind in zip(
            self.pick_buildings([i for i in big_city if i not in taken], len(zdo_and_more)),
            zdo_and_more,
            strict=True,
        ):
            out["education"].append((i, kind))
            taken.add(i)
        for v in big_villages[:5]:
            i = village_building(v, taken)
            out["education"].append((i, "gimnaziia"))
            taken.add(i)
        health_city = [
            "likarnia",
            "tsentr_pmd",
            "ambulatoriia",
            "ambulatoriia",
            "stomatolohiia",
            "inshe",
        ]
        for i, kind in zip(
            self.pick_buildings([i for i in big_city if i not in taken], len(health_city)),
            health_city,
            strict=True,
        ):
            out["health"].append((i, kind))
            taken.add(i)
        for i in self.pick_buildings([i for i in private_city if i not in taken], 4):
            out["health"].append((i, "apteka"))
            taken.add(i)
        for n, v in enumerate(big_villages[:6]):
            i = village_building(v, taken)
            out["health"].append((i, "ambulatoriia" if n == 0 else "fap"))
            taken.add(i)
        out["admin"].append((centre_admin, "cnap"))
        for v in big_villages[:4]:
            i = village_building(v, taken)
            out["admin"].append((i, "viddalene_robochie_mistse"))
            taken.add(i)
        use_of = {"education": "education", "health": "health", "admin": "admin"}
        for group, items in out.items():
            for i, kind in items:
                b = self.buildings[i]
                b.use = "commercial" if kind == "apteka" else use_of[group]
                if group != "health" or kind != "apteka":
                    b.floors = max(b.floors, 2 if b.settlement == ROMNY_CODE else 1)
        return out

    def allocate_population(self) -> None:
        """Give residents to residential buildings so each settlement sums exactly."""
        rng = self.rng
        for s in self.settlements:
            idx = [
                i
                for i, b in enumerate(self.buildings)
                if b.settlement == s.code and b.use.startswith("residential")
            ]
            weights = np.array(
                [
                    (self.buildings[i].floors * self.buildings[i].poly.area / 18.0 * 0.9)
                    if self.buildings[i].use == "residential_mkd"
                    else float(rng.lognormal(1.0, 0.45))
                    for i in idx
                ]
            )
            for i, pop in zip(idx, allocate(s.population, weights), strict=True):
                self.buildings[i].population = pop

    # -- layers

    def build(self) -> dict[str, list[Props]]:
        """Generate every layer's features (properties still unvalidated)."""
        boundary = self.make_boundary()
        self.place_settlements(boundary)
        districts = self.make_districts(boundary)
        self.make_city_streets()
        self.make_village_streets()
        self.make_buildings()
        facilities = self.assign_facilities()
        self.allocate_population()
        self.layers["hromada_boundary"] = [self.boundary_feature(boundary)]
        self.layers["starosta_districts"] = self.district_features(districts)
        self.layers["settlements"] = self.settlement_features()
        self.layers["streets"] = self.street_features()
        shelters, school_shelters = self.shelter_features(facilities)
        self.layers["shelters"] = shelters
        self.layers["education"] = self.education_features(facilities, school_shelters)
        self.layers["health"] = self.health_features(facilities)
        self.layers["admin_service_centres"] = self.admin_features(facilities)
        self.layers["buildings"] = self.building_features()
        self.layers["transit_stops"] = self.stop_features()
        self.layers["utility_facilities"] = self.utility_features()
        lights, cabinets = self.lighting_features()
        self.layers["street_lights"] = lights
        self.layers["lighting_cabinets"] = cabinets
        self.layers["hydro_and_protected"] = self.register_features(boundary)
        return self.layers

    def boundary_feature(self, boundary: Polygon) -> Props:
        """The hromada outline (synthetic shape, real code, name and population estimate).

        The area is left empty: no source gives it and the demo shape must not suggest one.
        """
        props = {
            "katottg": HROMADA_CODE,
            "name_uk": "Роменська міська територіальна громада",
            "name_lat": "Romenska miska terytorialna hromada",
            "admin_centre_katottg": ROMNY_CODE,
            "area_km2": None,
            "population": HROMADA_POPULATION,
            "pop_date": None,
            "source": "код і назва — КАТОТТГ; межа синтетична (демо); населення — оцінка",
            "is_demo": True,
        }
        return make_feature(props, multipolygon_geom(boundary))

    def district_features(self, districts: list[tuple[str, Polygon, Settlement]]) -> list[Props]:
        """Synthetic starosta districts (labelled as demo)."""
        out = []
        for n, (district_id, poly, seed) in enumerate(districts, start=1):
            members = sorted(s.code for s in self.settlements if s.district == district_id)
            city = seed.code == ROMNY_CODE
            label = "м. Ромни" if city else seed.name
            props = {
                "district_id": district_id,
                "name_uk": f"Демо-округ {n} ({label})",
                "name_lat": f"Demo-okruh {n} ({transliterate(label)})",
                "centre_katottg": seed.code,
                "settlement_katottg": members,
                "population": sum(
                    s.population for s in self.settlements if s.district == district_id
                ),
                "starosta_office_address": None
                if city
                else f"демо-адреса, с. {seed.name}, старостат",
            }
            out.append(demo_feature(props, multipolygon_geom(poly)))
        return out

    def settlement_features(self) -> list[Props]:
        """The 74 KATOTTG settlements at their (mostly synthetic) points."""
        out = []
        for s in self.settlements:
            known = s.name in ("Ромни", "Біловод")
            props = {
                "katottg": s.code,
                "name_uk": s.name,
                "name_lat": transliterate(s.name),
                "category": s.category,
                "population": s.population,
                "starosta_district": s.district,
                "source": KATOTTG_SOURCE.replace("точка синтетична", "точка GeoNames, CC BY 4.0")
                if known
                else KATOTTG_SOURCE,
                "is_demo": True,
            }
            out.append(make_feature(props, point_geom(s.xy)))
        return out

    def street_features(self) -> list[Props]:
        """Streets as MultiLineStrings of noded two-point segments."""
        coords = lonlat(self.net.nodes)
        out = []
        for s in self.streets:
            length = sum(self.net.line(seg).length for seg in s.segments)
            props = {
                "street_id": s.street_id,
                "name_uk": s.name,
                "name_lat": transliterate(s.name),
                "street_type": s.street_type,
                "former_names": s.former,
                "renamed_on": None,
                "decision_ref": None,
                "settlement_katottg": s.settlement,
                "length_m": round(length, 1),
                "source": s.source,
                "is_demo": True,
            }
            geom = {
                "type": "MultiLineString",
                "coordinates": [[coords[a], coords[b]] for a, b in s.segments],
            }
            out.append(make_feature(props, geom))
        return out

    def building_features(self) -> list[Props]:
        """Building footprints (MultiPolygon) with estimated residents."""
        rng = self.rng
        out = []
        for n, b in enumerate(self.buildings, start=1):
            owner = {
                "residential_mkd": "osbb" if rng.random() < 0.4 else "communal",
                "residential_private": "private",
                "education": "communal",
                "health": "communal",
                "admin": "communal",
                "commercial": "private",
                "industrial": "private",
                "utility": "communal",
                "other": "unknown",
            }[b.use]
            built = (
                int(rng.integers(1960, 1995))
                if b.use == "residential_mkd"
                else int(rng.integers(1925, 2024))
            )
            props = {
                "building_id": f"DEMO-B-{n:05d}",
                "address_text": b.address,
                "use": b.use,
                "floors": b.floors,
                "year_built": built,
                "has_basement": bool(b.use == "residential_mkd" or rng.random() < 0.4),
                "population": b.population,
                "owner_type": owner,
                "settlement_katottg": b.settlement,
            }
            out.append(demo_feature(props, multipolygon_geom(b.poly)))
        return out

    def shelter_features(
        self, facilities: dict[str, list[tuple[int, str]]]
    ) -> tuple[list[Props], dict[int, str]]:
        """About 80 demo shelters next to schools, the ЦНАП and apartment blocks."""
        rng = self.rng
        schools = [i for i, kind in facilities["education"]]
        admin = [i for i, _ in facilities["admin"][:2]]
        mkd = [i for i, b in enumerate(self.buildings) if b.use == "residential_mkd"]
        hosts = schools + admin + self.pick_buildings(mkd, 80 - len(schools) - len(admin))
        types = ["najprostishe_ukryttia", "pru", "spp", "skhovyshche", "shvydkosporudzhuvana"]
        placements = [
            "pidval",
            "tsokol",
            "vbudovana",
            "okremo_roztashovana",
            "pidzemnyi_parking",
            "pidzemnyi_perekhid",
            "inshe",
        ]
        modes = ["during_alert", "24_7", "working_hours", "by_key"]
        access = ["none", "partial", "full"]
        readiness = ["ready", "limited_ready", "not_ready"]
        capacity_range = {
            "najprostishe_ukryttia": (30, 150),
            "pru": (100, 600),
            "skhovyshche": (150, 1200),
            "spp": (100, 800),
            "shvydkosporudzhuvana": (20, 60),
        }
        out = []
        school_shelter: dict[int, str] = {}
        # the fields added later draw from their own stream, so the older ones stay as they were
        extra = np.random.default_rng([SEED, 2])
        for n, i in enumerate(hosts, start=1):
            b = self.buildings[i]
            k = n - 1
            if k < len(placements):
                kind, place = types[k % len(types)], placements[k]
                mode, acc, ready = (
                    modes[k % len(modes)],
                    access[k % len(access)],
                    readiness[k % len(readiness)],
                )
            else:
                kind = choice(rng, types, [0.55, 0.2, 0.15, 0.06, 0.04])
                place = {
                    "najprostishe_ukryttia": choice(rng, ["pidval", "tsokol"], [0.7, 0.3]),
                    "pru": choice(rng, ["pidval", "vbudovana"], [0.6, 0.4]),
                    "spp": choice(
                        rng, ["vbudovana", "pidzemnyi_parking", "inshe"], [0.6, 0.2, 0.2]
                    ),
                    "skhovyshche": choice(rng, ["vbudovana", "okremo_roztashovana"], [0.5, 0.5]),
                    "shvydkosporudzhuvana": "okremo_roztashovana",
                }[kind]
                mode = choice(rng, modes, [0.4, 0.35, 0.1, 0.15])
                acc = choice(rng, access, [0.7, 0.15, 0.15])
                ready = choice(rng, readiness, [0.8, 0.15, 0.05])
            low, high = capacity_range[kind]
            capacity = int(rng.integers(low, high + 1))
            power = choice(rng, ["grid", "grid_plus_backup", "none"], [0.55, 0.35, 0.1])
            settlement = self.by_name_code(b.settlement)
            code = f"DEMO-SH-{n:03d}"
            if i in schools:
                school_shelter[i] = code
            props = {
                "shelter_code": code,
                "registry_no": None,
                "name": f"Демо-укриття {n}",
                "shelter_type": kind,
                "placement": place,
                "address_text": f"демо-адреса, {settlement}, квартал {n}",
                "capacity_persons": capacity,
                "area_m2": round(capacity * float(rng.uniform(0.6, 0.9)), 1),
                "readiness": ready,
                "readiness_checked_at": random_day(rng, date(2025, 1, 10), date(2025, 10, 31)),
                "verified_on_site": bool(rng.random() < 0.7),
                "access_mode": mode,
                "opening_hours": {"24_7": "24/7", "working_hours": "Mo-Fr 08:00-17:00"}.get(mode),
                "accessible": acc,
                "accessible_toilet": bool(acc == "full" and rng.random() < 0.6),
                "toilets": int(rng.integers(0, 2 + capacity // 100)),
                "water_drinking": bool(rng.random() < 0.85),
                "water_technical": bool(rng.random() < 0.6),
                "power": power,
                "backup_power_kw": round(float(rng.uniform(3, 30)), 1)
                if power == "grid_plus_backup"
                else None,
                "ventilation": choice(
                    rng, ["natural", "forced", "filter_ventilation"], [0.6, 0.3, 0.1]
                ),
                "heating": bool(rng.random() < 0.6),
                "internet": choice(rng, ["none", "mobile", "wifi"], [0.15, 0.45, 0.4]),
                "first_aid_kit": bool(rng.random() < 0.8),
                "seats": int(capacity * float(rng.uniform(0.3, 0.8))),
                "beds": int(capacity * float(rng.uniform(0.0, 0.1))),
                "animals_allowed": bool(rng.random() < 0.5),
                "child_space": bool(i in schools or rng.random() < 0.2),
                "owner_name": f"демо-балансоутримувач {n}",
                "owner_edrpou": None,
                "contact_phone": None,
                "key_holder_name": None,
                "key_holder_phone": None,
                "photo_url": None,
            }
            intended = "pupils" if i in schools else "workers" if i in admin else "population"
            if (
                intended == "population"
                and n >= 8
                and "patients" not in {f["properties"]["intended_for"] for f in out}
            ):
                intended = "patients"  # one shelter of a (demo) care home
            self.add_shelter_record(props, extra, n, b.settlement, intended)
            out.append(demo_feature(props, point_geom(b.front)))
        return out, school_shelter

    @staticmethod
    def add_shelter_record(
        props: Props, rng: np.random.Generator, n: int, settlement: str, intended_for: str
    ) -> None:
        """Who a shelter is for, its status in the fund and its inspection; the domain rules.

        A ready shelter is open around the clock or during alerts (МВС 579 as amended by
        546/2025): one kept by key or in working hours is at best partly ready. An accessible
        toilet implies a toilet.
        """
        if props["readiness"] == "ready" and props["access_mode"] in ("by_key", "working_hours"):
            props["readiness"] = "limited_ready"
        if props["toilets"] == 0:
            props["accessible_toilet"] = False
        props["settlement_katottg"] = settlement
        props["intended_for"] = intended_for
        if n == 3:
            status = "excluded"
        elif props["readiness"] == "not_ready":
            status = choice(
                rng, ["temporarily_closed", "included", "inclusion_in_progress"], [0.5, 0.3, 0.2]
            )
        else:
            status = choice(rng, ["included", "inclusion_in_progress"], [0.9, 0.1])
        props["fund_status"] = status
        inspected = date.fromisoformat(str(props["readiness_checked_at"]))
        props["inspection_date"] = iso(inspected)
        props["inspection_act_no"] = f"ДЕМО-АКТ-{n:03d}/{inspected.year}"
        props["inspector"] = "демо-комісія з питань ТЕБ і НС"
        if props["readiness"] == "ready":
            props["defects"], props["defects_due"] = None, None
        else:
            props["defects"] = "демо: " + choice(rng, SHELTER_DEFECTS, [0.4, 0.3, 0.3])
            props["defects_due"] = iso(inspected + timedelta(days=int(rng.integers(30, 121))))
        props["next_inspection_due"] = iso(inspected + timedelta(days=365))
        props["closed_hotline"] = DEMO_HOTLINE

    def by_name_code(self, code: str) -> str:
        """A settlement's name with its short category prefix, e.g. ``с. Бобрик``."""
        s = next(s for s in self.settlements if s.code == code)
        return {"m": "м.", "c": "с.", "x": "сел."}.get(s.category, "") + " " + s.name

    def education_features(
        self, facilities: dict[str, list[tuple[int, str]]], shelters: dict[int, str]
    ) -> list[Props]:
        """Schools and kindergartens in the demo buildings."""
        rng = self.rng
        label = {
            "zdo": "Демо-ЗДО",
            "pochatkova": "Демо-початкова школа",
            "gimnaziia": "Демо-гімназія",
            "litsei": "Демо-ліцей",
            "pozashkilna": "Демо-центр позашкільної освіти",
            "profesiina": "Демо-професійний ліцей",
        }
        out = []
        for n, (i, kind) in enumerate(facilities["education"], start=1):
            b = self.buildings[i]
            capacity = {"zdo": (80, 220), "pozashkilna": (100, 400), "profesiina": (300, 700)}.get(
                kind, (200, 1000)
            )
            if b.settlement != ROMNY_CODE:
                capacity = (60, 200)
            cap = int(rng.integers(*capacity))
            props = {
                "facility_id": f"DEMO-EDU-{n:02d}",
                "edrpou": None,
                "name": f"{label[kind]} № {n}",
                "facility_type": kind,
                "address_text": b.address,
                "capacity": cap,
                "pupils": int(cap * float(rng.uniform(0.5, 0.95))),
                "shelter_code": shelters.get(i),
                "settlement_katottg": b.settlement,
            }
            out.append(demo_feature(props, point_geom(b.poly.centroid.coords[0])))
        return out

    def health_features(self, facilities: dict[str, list[tuple[int, str]]]) -> list[Props]:
        """Hospital, clinics, rural posts and pharmacies."""
        rng = self.rng
        label = {
            "likarnia": "Демо-лікарня",
            "tsentr_pmd": "Демо-центр ПМД",
            "ambulatoriia": "Демо-амбулаторія",
            "stomatolohiia": "Демо-стоматологія",
            "inshe": "Демо-лабораторія",
            "apteka": "Демо-аптека",
            "fap": "Демо-ФАП",
        }
        out = []
        for n, (i, kind) in enumerate(facilities["health"], start=1):
            b = self.buildings[i]
            props = {
                "facility_id": f"DEMO-HL-{n:02d}",
                "edrpou": None,
                "name": f"{label[kind]} № {n}",
                "facility_type": kind,
                "address_text": b.address,
                "nszu_contract": kind in ("likarnia", "tsentr_pmd", "ambulatoriia", "fap"),
                "accessible": choice(rng, ["full", "partial", "none"], [0.4, 0.4, 0.2]),
                "settlement_katottg": b.settlement,
            }
            out.append(demo_feature(props, point_geom(b.poly.centroid.coords[0])))
        return out

    def admin_features(self, facilities: dict[str, list[tuple[int, str]]]) -> list[Props]:
        """The ЦНАП, its remote workplaces and one mobile office."""
        out = []
        items: list[tuple[Coord, str, str, str]] = []
        for i, kind in facilities["admin"]:
            b = self.buildings[i]
            items.append((b.poly.centroid.coords[0], kind, b.address, b.settlement))
        mobile = sorted(
            (s for s in self.settlements if s.code != ROMNY_CODE),
            key=lambda s: (-s.population, s.code),
        )[6]
        items.append(
            (
                (mobile.xy[0] + 20, mobile.xy[1] + 20),
                "mobilnyi_ofis",
                f"демо-адреса, с. {mobile.name}",
                mobile.code,
            )
        )
        for n, (xy, kind, address, settlement) in enumerate(items, start=1):
            place = self.by_name_code(settlement).strip()
            name = {
                "cnap": "Демо-ЦНАП Роменської міської ради",
                "viddalene_robochie_mistse": f"Демо-віддалене робоче місце ЦНАП ({place})",
                "mobilnyi_ofis": f"Демо-мобільний офіс ЦНАП ({place})",
            }[kind]
            props = {
                "centre_id": f"DEMO-ASC-{n:02d}",
                "name": name,
                "centre_type": kind,
                "address_text": address,
                "opening_hours": "Mo-Fr 08:00-17:00" if kind == "cnap" else "Tu,Th 09:00-13:00",
                "phone": None,
                "accessible": "full" if kind == "cnap" else "partial",
                "services_url": None,
                "settlement_katottg": settlement,
            }
            out.append(demo_feature(props, point_geom(xy)))
        return out

    def _segment_points(
        self, k: int, offset: float, city_only: bool = True
    ) -> list[tuple[Coord, Street]]:
        """``k`` well-spread points beside street segment midpoints."""
        segs = [
            (s, seg)
            for s in self.streets
            if s.lit and (s.settlement == ROMNY_CODE or not city_only)
            for seg in s.segments
        ]
        mids = np.array(
            [self.net.line(seg).interpolate(0.5, normalized=True).coords[0] for _, seg in segs]
        )
        out = []
        for idx in farthest_points(
            mids, k, first=int(np.argmin(np.linalg.norm(mids - np.array(self.centre), axis=1)))
        ):
            street, seg = segs[idx]
            (ax, ay), (bx, by) = self.net.nodes[seg[0]], self.net.nodes[seg[1]]
            length = math.dist((ax, ay), (bx, by))
            nx, ny = -(by - ay) / length, (bx - ax) / length
            out.append(
                ((float(mids[idx][0] + nx * offset), float(mids[idx][1] + ny * offset)), street)
            )
        return out

    def stop_features(self) -> list[Props]:
        """Bus stops along city streets, at the station square and on village roads."""
        rng = self.rng
        points = [
            (
                (self.station[0] + 15, self.station[1] + 15),
                "площа імені Григорія Навроцького",
                ROMNY_CODE,
            )
        ]
        points += [(xy, s.name, s.settlement) for xy, s in self._segment_points(33, 7.0)]
        for s in self.streets:
            if s.street_type == "shose":
                a, b = s.segments[0]
                line = self.net.line((a, b))
                p = line.interpolate(60)
                points.append(((p.x + 8, p.y), s.name, s.settlement))
        routes = [str(r) for r in range(1, 9)]
        out = []
        for n, (xy, street, settlement) in enumerate(points, start=1):
            chosen = sorted(
                rng.choice(routes, size=int(rng.integers(1, 4)), replace=False).tolist(), key=int
            )
            props = {
                "stop_id": f"DEMO-STOP-{n:03d}",
                "name": "Демо-автостанція" if n == 1 else f"Демо-зупинка {n}",
                "routes": chosen if n > 1 else routes,
                "pavilion": bool(n == 1 or rng.random() < 0.55),
                "accessible": choice(rng, ["full", "partial", "none"], [0.3, 0.4, 0.3]),
                "street_name": street,
                "settlement_katottg": settlement,
            }
            out.append(demo_feature(props, point_geom(xy)))
        return out

    def utility_features(self) -> list[Props]:
        """Boiler houses, pumping stations, intakes, a treatment plant, substations, wells."""
        rng = self.rng
        plan = [
            ("transformer_substation", 9),
            ("boiler_house", 6),
            ("pumping_station", 4),
            ("water_intake", 2),
            ("treatment_plant", 1),
            ("well", 3),
        ]
        kinds = [k for k, n in plan for _ in range(n)]
        city_points = [xy for xy, _ in self._segment_points(len(kinds), 28.0)]
        label = {
            "transformer_substation": "Демо-ТП",
            "boiler_house": "Демо-котельня",
            "pumping_station": "Демо-КНС",
            "water_intake": "Демо-водозабір",
            "treatment_plant": "Демо-очисні споруди",
            "well": "Демо-свердловина",
        }
        unit = {
            "transformer_substation": "кВА",
            "boiler_house": "кВт",
            "pumping_station": "м3/год",
            "water_intake": "м3/добу",
            "treatment_plant": "м3/добу",
            "well": "м3/год",
        }
        rangeof = {
            "transformer_substation": (160, 1000),
            "boiler_house": (200, 5000),
            "pumping_station": (50, 400),
            "water_intake": (2000, 8000),
            "treatment_plant": (5000, 12000),
            "well": (5, 40),
        }
        villages = sorted(
            (s for s in self.settlements if s.code != ROMNY_CODE),
            key=lambda s: (-s.population, s.code),
        )
        out = []
        self.substations: list[tuple[str, Coord]] = []
        for n, kind in enumerate(kinds, start=1):
            if kind == "well":
                v = villages[n % 7]
                xy, settlement = (v.xy[0] + 200.0, v.xy[1] - 180.0), v.code
            else:
                xy, settlement = city_points[n - 1], ROMNY_CODE
            facility_id = f"DEMO-UF-{n:02d}"
            if kind == "transformer_substation":
                self.substations.append((facility_id, xy))
            props = {
                "facility_id": facility_id,
                "name": f"{label[kind]} № {n}",
                "facility_type": kind,
                "capacity": float(int(rng.integers(*rangeof[kind]))),
                "capacity_unit": unit[kind],
                "operator": "демо-оператор електромереж"
                if kind == "transformer_substation"
                else "демо-КП водоканалу та тепломереж",
                "backup_power": bool(rng.random() < 0.5),
                "settlement_katottg": settlement,
            }
            out.append(demo_feature(props, point_geom(xy)))
        return out

    def lighting_features(self) -> tuple[list[Props], list[Props]]:
        """Poles every 25–40 m along lit streets and control cabinets that feed them."""
        rng = self.rng
        poles: list[tuple[Coord, Street]] = []
        for s in self.streets:
            if not s.lit:
                continue
            lo, hi = (25.0, 40.0) if s.settlement == ROMNY_CODE else (28.0, 38.0)
            for seg in s.segments:
                (ax, ay), (bx, by) = self.net.nodes[seg[0]], self.net.nodes[seg[1]]
                length = math.dist((ax, ay), (bx, by))
                ux, uy = (bx - ax) / length, (by - ay) / length
                t = float(rng.uniform(5, 15))
                while t < length - 5:
                    poles.append(((ax + ux * t - uy * 6.5, ay + uy * t + ux * 6.5), s))
                    t += float(rng.uniform(lo, hi))
        xy = np.array([p for p, _ in poles])
        settlement = np.array([s.settlement for _, s in poles])
        assignment = np.zeros(len(poles), dtype=int)
        centres: list[np.ndarray] = []
        for code in sorted(set(settlement.tolist()), key=lambda c: (c != ROMNY_CODE, c)):
            idx = np.flatnonzero(settlement == code)
            k = max(1, round(len(idx) / 110))
            cent = xy[idx][farthest_points(xy[idx], k)]
            for _ in range(15):
                near = np.argmin(
                    np.linalg.norm(xy[idx][:, None, :] - cent[None, :, :], axis=2), axis=1
                )
                cent = np.array(
                    [
                        xy[idx][near == c].mean(axis=0) if np.any(near == c) else cent[c]
                        for c in range(k)
                    ]
                )
            near = np.argmin(np.linalg.norm(xy[idx][:, None, :] - cent[None, :, :], axis=2), axis=1)
            for c in range(k):
                members = idx[near == c]
                if len(members) == 0:
                    continue
                # the cabinet stands beside the pole nearest to the cluster centre
                anchor = members[int(np.argmin(np.linalg.norm(xy[members] - cent[c], axis=1)))]
                centres.append(xy[anchor] + np.array([3.0, 3.0]))
                assignment[members] = len(centres) - 1
        cabinets = []
        for n, cxy in enumerate(centres, start=1):
            sub = min(
                self.substations, key=lambda s: math.dist(s[1], (float(cxy[0]), float(cxy[1])))
            )[0]
            props = {
                "cabinet_id": f"DEMO-LC-{n:03d}",
                "control": choice(
                    rng,
                    [
                        "astro_timer",
                        "photocell",
                        "manual",
                        "remote_gsm",
                        "remote_lora",
                        "remote_plc",
                    ],
                    [0.35, 0.25, 0.1, 0.2, 0.05, 0.05],
                ),
                "feeder_count": int(rng.integers(2, 7)),
                "status": choice(
                    rng, ["ok", "fault", "maintenance", "decommissioned"], [0.85, 0.07, 0.06, 0.02]
                )
                if n > 4
                else ["ok", "fault", "maintenance", "ok"][n - 1],
                "supply_substation_ref": sub,
                "metering_point_id": f"DEMO-MP-{n:03d}",
                "inspected_on": random_day(rng, date(2024, 9, 1), date(2025, 10, 31)),
            }
            cabinets.append(demo_feature(props, point_geom((float(cxy[0]), float(cxy[1])))))
        statuses = ["ok", "defective_lamp", "broken_lantern", "column_issue"]
        techs = ["led", "hps", "mh", "cfl", "mercury", "incandescent", "lps"]
        power = {
            "led": (20, 120),
            "hps": (70, 250),
            "mh": (70, 250),
            "cfl": (20, 85),
            "mercury": (125, 250),
            "incandescent": (60, 200),
            "lps": (35, 135),
        }
        lights = []
        for n, ((pxy, street), cab) in enumerate(zip(poles, assignment, strict=True), start=1):
            village = street.settlement != ROMNY_CODE
            tech = choice(rng, techs, [0.55, 0.3, 0.05, 0.04, 0.04, 0.01, 0.01])
            mount = choice(
                rng,
                ["pole_of_power_line", "mast", "bent_mast", "wall", "catenary"],
                [0.8, 0.05, 0.1, 0.03, 0.02] if village else [0.35, 0.25, 0.3, 0.05, 0.05],
            )
            material = {
                "pole_of_power_line": choice(rng, ["concrete", "wood"], [0.8, 0.2]),
                "wall": "other",
                "catenary": "steel",
            }.get(mount) or choice(rng, ["steel", "aluminium", "concrete"], [0.6, 0.1, 0.3])
            status = (
                statuses[n - 1]
                if n <= len(statuses)
                else choice(rng, statuses, [0.88, 0.06, 0.04, 0.02])
            )
            props = {
                "pole_no": f"DEMO-LP-{n:05d}",
                "street_name": street.name,
                "settlement_katottg": street.settlement,
                "lamp_technology": tech,
                "power_w": int(rng.integers(*power[tech])),
                "status": status,
                "mount": mount,
                "material": material,
                "height_m": round(
                    float(
                        rng.uniform(6, 10) if mount in ("mast", "bent_mast") else rng.uniform(4, 8)
                    ),
                    1,
                ),
                "install_year": int(rng.integers(1975, 2025)),
                "last_lamp_change": random_day(rng, date(2019, 1, 1), date(2025, 10, 31))
                if rng.random() < 0.85
                else None,
                "cabinet_id": f"DEMO-LC-{int(cab) + 1:03d}",
                "phase": ["l1", "l2", "l3"][n % 3],
            }
            lights.append(demo_feature(props, point_geom(pxy)))
        return lights, cabinets

    def register_features(self, boundary: Polygon) -> list[Props]:
        """The real register points (ПЗФ and geographic names) inside the hromada boundary."""
        files = [
            ("protected-areas-sumy.geojson", "protected_area"),
            ("geographic-names-sumy.geojson", "geographic_name"),
        ]
        out = []
        for filename, category in files:
            data = json.loads((self.register_dir / filename).read_text(encoding="utf-8"))
            for feature in data["features"]:
                lon, lat = feature["geometry"]["coordinates"][:2]
                if not boundary.contains(Point(to_utm(lon, lat))):
                    continue
                p = feature["properties"]
                kind = p.get("Вид географічного об'єкту")
                props = {
                    "reg_no": p["Реєстраційний номер"],
                    "name": p["Унормована назва"],
                    "name_lat": p.get("Унормована назва латиницею"),
                    "kind": " ".join(kind.split()) if kind else None,
                    "category": category,
                    "status": p.get("Адміністративний статус"),
                    "district": p.get("Район"),
                    "source": REGISTER_SOURCE,
                    "is_demo": False,
                }
                geom = {"type": "Point", "coordinates": [lon, lat]}
                out.append(make_feature(props, geom))
        return out


def _still_connected(
    edges: set[tuple[tuple[int, int], tuple[int, int]]], nodes: Iterable[tuple[int, int]]
) -> bool:
    """True when ``edges`` connect all ``nodes`` (breadth-first search)."""
    adjacency: dict[tuple[int, int], list[tuple[int, int]]] = {n: [] for n in nodes}
    for p, q in edges:
        adjacency[p].append(q)
        adjacency[q].append(p)
    start = next(iter(adjacency))
    seen = {start}
    todo = [start]
    while todo:
        for nxt in adjacency[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return len(seen) == len(adjacency)


# --------------------------------------------------------------------------- output


def dump_collection(name: str, features: list[Props]) -> str:
    """A FeatureCollection as text: one feature per line, stable key order."""
    head = {
        "type": "FeatureCollection",
        "name": name,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
    }
    opening = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    return opening + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"


def generate(out_dir: Path, register_dir: Path = DEFAULT_REGISTER_DIR) -> dict[str, int]:
    """Generate, validate and write every layer; return the feature count per layer."""
    registry = load_registry(ROOT / "layers")
    layers = Generator(register_dir).build()
    problems: list[str] = []
    for spec in registry:
        if spec.name not in layers:
            problems.append(f"{spec.name}: no data generated")
            continue
        problems.extend(validate_features(spec, layers[spec.name]))
    if problems:
        raise DemoDataError(f"{len(problems)} problems:\n" + "\n".join(problems[:50]))
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(layers):
        (out_dir / f"{name}.geojson").write_text(
            dump_collection(name, layers[name]), encoding="utf-8"
        )
    return {name: len(layers[name]) for name in sorted(layers)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "data" / "romny", help="output directory"
    )
    parser.add_argument(
        "--register",
        type=Path,
        default=DEFAULT_REGISTER_DIR,
        help="directory of the Sumy register GeoJSON files",
    )
    args = parser.parse_args(argv)
    counts = generate(args.out, args.register)
    for name, count in counts.items():
        print(f"{name:24s} {count:6d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
