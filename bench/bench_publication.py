"""What the publication kill switch costs the public's queries, measured in the database.

The public views read ``publication.withdrawals`` in every query. This prints the p50 of the
same bbox page (``ORDER BY fid LIMIT 100``, as the items endpoint asks) and of a whole-tile
count, read as the public role:

* from the layer's table (what a view without the kill switch would cost),
* from the public view with nothing withdrawn,
* from the public view while a small area of the layer is withdrawn (the view is then a
  security barrier),

and the ratios to the table. JIT is off, as on the server's connections. Against a
database with the demo data (the owner's URL):

    .venv/bin/python bench/bench_publication.py --url postgresql://…/gisplatform \\
        --layer buildings --rounds 200
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg
from psycopg import sql

from gisplatform.access.publication.store import Publication, Target, parse_area
from gisplatform.registry import load_registry
from gisplatform.settings import Settings


def _p50(conn: psycopg.Connection, query: sql.Composed, rounds: int) -> float:
    for _ in range(10):
        conn.execute(query).fetchall()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        conn.execute(query).fetchall()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    """Print p50 (ms) per query and source, and the ratio to the bare table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the owner's database URL")
    parser.add_argument("--layer", default="buildings")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    registry = load_registry(Settings().layers_dir)
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute("SET jit = off")  # as the server's connections (ogcapi/app.py)
        row = conn.execute(
            sql.SQL(
                "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) AS c FROM {}) s"
            ).format(sql.Identifier("gis", args.layer))
        ).fetchone()
        assert row is not None
        lon, lat = float(row[0]), float(row[1])
        box = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
            sql.Literal(lon - 0.01), sql.Literal(lat - 0.01), sql.Literal(lon + 0.01),
            sql.Literal(lat + 0.01),
        )  # fmt: skip
        queries = {
            "bbox page": "SELECT fid FROM {src} WHERE geom && {box} ORDER BY fid LIMIT 100",
            "tile count": "SELECT count(*) FROM {src} WHERE ST_Intersects(geom, {box})",
        }
        table = sql.Identifier("gis", args.layer)
        view = sql.Identifier("api_public", args.layer)
        publication = Publication(conn, registry)
        # a small withdrawn area away from the measured box: the barrier's cost, not fewer rows
        x, y = lon + 0.5, lat + 0.5
        far = f"POLYGON(({x} {y}, {x + 0.001} {y}, {x + 0.001} {y + 0.001}, {x} {y}))"
        results: dict[str, dict[str, float]] = {}
        for label, text in queries.items():
            results[label] = {}
            for name, source in (("table (owner)", table), ("public view", view)):
                query = sql.SQL(text).format(src=source, box=box)
                if name == "public view":
                    conn.execute("SET ROLE gisplatform_public")
                results[label][name] = _p50(conn, query, args.rounds)
                conn.execute("RESET ROLE")
        ident = publication.withdraw(Target(args.layer, None, parse_area(far)), "bench", "bench")
        try:
            for label, text in queries.items():
                conn.execute("SET ROLE gisplatform_public")
                query = sql.SQL(text).format(src=view, box=box)
                results[label]["public view, area withdrawn"] = _p50(conn, query, args.rounds)
                conn.execute("RESET ROLE")
        finally:
            publication.restore([ident], "bench")
    for label, figures in results.items():
        base = figures["table (owner)"]
        for name, value in figures.items():
            print(f"{label:12s} {name:30s} p50 {value:8.3f} ms  ×{value / base:.2f}")


if __name__ == "__main__":
    main()
