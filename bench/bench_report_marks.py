"""What the truth loop's marks cost: p50 of the marked layer's items and of the nearest-shelter
process, without reports and with many (most of them resolved, some open and marking).

Against a running server on a migrated database with demo data, given the owner's URL to
add and remove the reports (they are inserted directly, as moderated, and deleted after):

    .venv/bin/python bench/bench_report_marks.py --base http://127.0.0.1:8000 \\
        --db postgresql://owner@127.0.0.1:5432/gisplatform --reports 20000 --rounds 30

The marking kind and its layer come from ``reports/*.yaml``; the origin of the nearest-shelter
runs is the layer's first feature. Figures are medians in ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import httpx
import orjson
import psycopg
from psycopg import sql

from gisplatform.registry import load_registry
from gisplatform.reports import ReportKind, load_report_kinds
from gisplatform.settings import PROJECT_ROOT

TAG = "bench-report-marks"


def _marking() -> ReportKind:
    registry = load_registry(PROJECT_ROOT / "layers")
    kinds = load_report_kinds(PROJECT_ROOT / "reports", registry)
    return next(k for k in kinds if k.layer and k.marking_answers)


def _p50(call: Any, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _add_reports(db: str, kind: ReportKind, count: int) -> int:
    """``count`` reports spread over the layer's features: 1 in 20 open (marking), the rest
    resolved."""
    assert kind.layer is not None
    question, options = next(iter(kind.marking_answers.items()))
    answers = orjson.dumps({question: options[0]}).decode()
    table = sql.Identifier("gis", kind.layer)
    with psycopg.connect(db) as conn:
        fids = [r[0] for r in conn.execute(sql.SQL("SELECT fid FROM {}").format(table))]
        conn.execute(
            "INSERT INTO reports.requests (token, kind, layer, feature_id, geom, answers, "
            "client_hash, source, status, deadline_at) "
            "SELECT md5(random()::text || g), %s, %s, (%s::bigint[])[1 + (g / 20) %% %s]::text, "
            "ST_SetSRID(ST_MakePoint(33.47, 50.75), 4326), %s::jsonb, %s, 'web', "
            "CASE WHEN g %% 20 = 0 THEN 'open' ELSE 'resolved' END, now() + interval '1 day' "
            "FROM generate_series(1, %s) AS g",
            [kind.code, kind.layer, fids, len(fids), answers, TAG, count],
        )
        row = conn.execute(
            "SELECT count(*) FROM reports.feature_marks WHERE layer = %s", [kind.layer]
        ).fetchone()
    return int(row[0]) if row else 0


def _remove_reports(db: str) -> None:
    with psycopg.connect(db) as conn:
        conn.execute("DELETE FROM reports.requests WHERE client_hash = %s", [TAG])


def _measure(
    base: str, kind: ReportKind, fid: int, origin: dict[str, float], rounds: int
) -> list[float]:
    items = f"{base}/ogc/collections/{kind.layer}/items"
    body = {"inputs": {"origin": origin, "limit": 5}}
    with httpx.Client(timeout=120) as client:
        client.get(items, params={"limit": 10000}).raise_for_status()  # warm
        list_ms = _p50(lambda: client.get(items, params={"limit": 10000}), rounds)
        item_ms = _p50(lambda: client.get(f"{items}/{fid}"), rounds)
        run = f"{base}/ogc/processes/nearest-shelter/execution"
        client.post(run, json=body).raise_for_status()
        nearest_ms = _p50(lambda: client.post(run, json=body), max(5, rounds // 3))
    return [list_ms, item_ms, nearest_ms]


def main() -> None:
    """Print the medians without and with the reports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--db", required=True, help="the owner's URL (adds and removes reports)")
    parser.add_argument("--reports", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    kind = _marking()
    with httpx.Client(timeout=60) as client:
        first = client.get(
            f"{args.base}/ogc/collections/{kind.layer}/items", params={"limit": 1}
        ).json()["features"][0]
    lon, lat = first["geometry"]["coordinates"]
    origin = {"lon": lon, "lat": lat}
    fid = int(first["id"])
    _remove_reports(args.db)
    before = _measure(args.base, kind, fid, origin, args.rounds)
    try:
        marked = _add_reports(args.db, kind, args.reports)
        after = _measure(args.base, kind, fid, origin, args.rounds)
    finally:
        _remove_reports(args.db)
    print(f"{kind.layer}: {args.reports} reports, {marked} features marked")
    print(f"{'':28}{'no reports':>12}{'with reports':>14}{'ratio':>8}")
    names = ("items (limit 10000)", "one item", "nearest-shelter (limit 5)")
    for name, a, b in zip(names, before, after, strict=True):
        print(f"{name:28}{a:>10.1f}ms{b:>12.1f}ms{b / a:>8.2f}")


if __name__ == "__main__":
    main()
