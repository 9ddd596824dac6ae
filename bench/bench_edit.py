"""What editing costs: p50 of PATCH and POST over HTTP beside a GET of the same item, and
edits per second with concurrent clients beside reads per second.

Against a running server (``gisplatform serve``) with data in the layer and an account
whose role writes it (``write_roles`` in the layer file):

    .venv/bin/python bench/bench_edit.py --base http://127.0.0.1:8000 \\
        --basic login:password --layer shelters --rounds 200 --clients 8

Sequential requests share one keep-alive connection and are interleaved round by round, so
the three kinds see the same noise; the figures are medians in ms. The concurrent phase runs
``--clients`` threads, each with its own connection, each PATCHing features of its own (no
lock waits), then the same threads GET one item. Every feature the run creates is deleted
at the end.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from gisplatform.registry import FieldType, LayerSpec, load_registry
from gisplatform.settings import PROJECT_ROOT

GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _unique(spec: LayerSpec, properties: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``properties`` with a natural key no other feature has."""
    out = dict(properties)
    for name in spec.natural_key:
        field = spec.field(name)
        if field.type in (FieldType.INTEGER, FieldType.NUMBER):
            out[name] = int.from_bytes(os.urandom(3), "big") + 1_000_000
        else:
            out[name] = ("b" + os.urandom(6).hex())[: field.max_length or 13]
    return out


def _text_field(spec: LayerSpec) -> str:
    """A string field a PATCH can change freely (no pattern, not the key)."""
    return next(
        f.name
        for f in spec.fields
        if f.type is FieldType.STRING and not f.pattern and f.name not in spec.natural_key
    )


class Run:
    """The server, the account and the layer of one benchmark run."""

    def __init__(self, base: str, basic: str, spec: LayerSpec) -> None:
        pair = base64.b64encode(basic.encode()).decode()
        self.headers = {"Authorization": f"Basic {pair}"}
        self.items = f"{base}/ogc/collections/{spec.name}/items"
        self.spec = spec
        self.text = _text_field(spec)
        self.created: list[int] = []
        self.lock = threading.Lock()
        with httpx.Client(headers=self.headers) as client:
            first = client.get(self.items, params={"limit": 1}).json()["features"][0]
            self.template = client.get(f"{self.items}/{first['id']}").json()
        self.template.pop("links", None)
        self.template.pop("id", None)

    def client(self) -> httpx.Client:
        return httpx.Client(headers=self.headers, timeout=60)

    def post(self, client: httpx.Client) -> int:
        body = dict(self.template)
        body["properties"] = _unique(self.spec, self.template["properties"])
        response = client.post(self.items, json=body, headers={"Content-Type": GEOJSON})
        if response.status_code != 201:
            raise RuntimeError(f"POST answered {response.status_code}: {response.text[:300]}")
        fid = int(response.headers["Location"].rsplit("/", 1)[1])
        with self.lock:
            self.created.append(fid)
        return fid

    def patch(self, client: httpx.Client, fid: int, n: int) -> None:
        response = client.patch(
            f"{self.items}/{fid}",
            json={"properties": {self.text: f"bench {n}"}},
            headers={"Content-Type": MERGE_PATCH},
        )
        if response.status_code != 200:
            raise RuntimeError(f"PATCH answered {response.status_code}: {response.text[:300]}")

    def get(self, client: httpx.Client, fid: int) -> None:
        client.get(f"{self.items}/{fid}").raise_for_status()

    def clean(self) -> None:
        with self.client() as client:
            for fid in self.created:
                client.delete(f"{self.items}/{fid}")


def sequential(run: Run, rounds: int) -> None:
    """p50 of GET, PATCH and POST, interleaved on one connection."""
    samples: dict[str, list[float]] = {"GET item": [], "PATCH item": [], "POST item": []}
    with run.client() as client:
        fid = run.post(client)
        for n in range(10):  # warm up: pools, remembered password, caches
            run.get(client, fid)
            run.patch(client, fid, n)
        for n in range(rounds):
            for kind in samples:
                started = time.perf_counter()
                if kind == "GET item":
                    run.get(client, fid)
                elif kind == "PATCH item":
                    run.patch(client, fid, n)
                else:
                    run.post(client)
                samples[kind].append(time.perf_counter() - started)
    base = _ms(samples["GET item"])
    for kind, values in samples.items():
        print(f"{kind:11} p50 {_ms(values):7.2f} ms   {_ms(values) / base:5.2f}x GET")


def concurrent(run: Run, clients: int, per_client: int) -> None:
    """Edits per second and reads per second with ``clients`` threads."""
    with run.client() as client:
        fids = [run.post(client) for _ in range(clients)]

    def edits(fid: int) -> None:
        with run.client() as own:
            for n in range(per_client):
                run.patch(own, fid, n)

    def reads(fid: int) -> None:
        with run.client() as own:
            for _ in range(per_client):
                run.get(own, fid)

    for label, work in (("PATCH", edits), ("GET", reads)):
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(work, fids))
        elapsed = time.perf_counter() - started
        rate = clients * per_client / elapsed
        print(
            f"{label:5} {clients} clients: {rate:8.1f} requests/s "
            f"({clients * per_client} in {elapsed:.1f} s)"
        )


def main() -> None:
    """Print the figures; delete what the run created."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--basic", required=True, help="login:password of a writer")
    parser.add_argument("--layer", default="shelters")
    parser.add_argument("--layers-dir", default=str(PROJECT_ROOT / "layers"))
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--per-client", type=int, default=50)
    args = parser.parse_args()
    spec = load_registry(Path(args.layers_dir)).get(args.layer)
    run = Run(args.base.rstrip("/"), args.basic, spec)
    try:
        sequential(run, args.rounds)
        concurrent(run, args.clients, args.per_client)
    finally:
        run.clean()


if __name__ == "__main__":
    main()
