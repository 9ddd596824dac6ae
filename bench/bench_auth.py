"""What signing in costs: p50 of the same requests anonymous, with Bearer, Basic and OIDC.

Against a running server (``gisplatform serve``) with an account that may read the layer:

    .venv/bin/python bench/bench_auth.py --base http://127.0.0.1:8000 \\
        --token gpt_… --basic login:password --layer shelters --rounds 400 \\
        [--oidc <an identity provider's access token, with GISPLATFORM_OIDC_* set>]

Requests are sequential on one keep-alive connection per audience, interleaved round by
round so that the audiences share the machine's noise; the figure is the median in ms.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time

import httpx


def _p50(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.3f}"


def main() -> None:
    """Print p50 per request kind and audience, and the difference to anonymous."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--basic", required=True, help="login:password")
    parser.add_argument("--oidc", help="an OIDC access token (JWT) the server accepts")
    parser.add_argument("--layer", default="shelters")
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()
    pair = base64.b64encode(args.basic.encode()).decode()
    audiences = {
        "anonymous": {},
        "bearer": {"Authorization": f"Bearer {args.token}"},
        "basic": {"Authorization": f"Basic {pair}"},
    }
    if args.oidc:
        audiences["oidc"] = {"Authorization": f"Bearer {args.oidc}"}
    clients = {k: httpx.Client(base_url=args.base, headers=h) for k, h in audiences.items()}
    first = clients["anonymous"].get(f"/ogc/collections/{args.layer}/items?limit=1").json()
    fid = first["features"][0]["id"]
    paths = {
        "items limit=10": f"/ogc/collections/{args.layer}/items?limit=10",
        "single item": f"/ogc/collections/{args.layer}/items/{fid}",
    }
    for label, path in paths.items():
        samples: dict[str, list[float]] = {k: [] for k in audiences}
        for client in clients.values():  # warm up: pools, caches, remembered passwords
            for _ in range(20):
                client.get(path).raise_for_status()
        for _ in range(args.rounds):
            for name, client in clients.items():
                started = time.perf_counter()
                client.get(path).raise_for_status()
                samples[name].append(time.perf_counter() - started)
        base = statistics.median(samples["anonymous"])
        for name, values in samples.items():
            extra = (statistics.median(values) - base) * 1000
            print(f"{label:16} {name:10} p50 {_p50(values)} ms  (+{extra:.3f} ms)")


if __name__ == "__main__":
    main()
