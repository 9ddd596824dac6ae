"""Where a request's fixed cost goes: our server under ``wrk``, sampled by pyinstrument.

Runs the app in this process (uvicorn, one worker, as ``bench_api.py`` starts it), waits until
it answers, profiles only while ``wrk -t1 -c8`` runs against one path, and prints the
requests/s and the call tree (frames under ``--min-percent`` of the time are left out). Needs
the benchmark database (``bench_api.py --keep-db``) and its environment (``DATABASE_URL``,
``GISPLATFORM_API_DATABASE_URL``, ``GISPLATFORM_ANALYSES_DATABASE_URL``,
``GISPLATFORM_LAYERS_DIR=bench/layers``) and pyinstrument (``pip install pyinstrument``).

    .venv/bin/python bench/profile_api.py '/ogc/collections/lamps/items?limit=10'
    .venv/bin/python bench/profile_api.py /ogc/collections/lamps/items/12345 --flat
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess

import httpx
import uvicorn
from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer

from gisplatform.ogcapi import create_app
from gisplatform.settings import Settings


async def _run(path: str, port: int, seconds: int) -> tuple[str, Profiler]:
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings()),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}{path}"
    async with httpx.AsyncClient() as client:
        while not server.started:
            await asyncio.sleep(0.1)
        assert (await client.get(url)).status_code == 200
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    wrk = await asyncio.create_subprocess_exec(
        "wrk",
        "-t1",
        "-c8",
        f"-d{seconds}s",
        "-H",
        "Accept: application/geo+json",
        url,
        stdout=subprocess.PIPE,
    )
    out, _ = await wrk.communicate()
    profiler.stop()
    server.should_exit = True
    await serving
    return out.decode(), profiler


def main() -> None:
    """Profile one path and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="path and query, e.g. /ogc/collections/lamps/items")
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--min-percent", type=float, default=1.0)
    parser.add_argument("--flat", action="store_true", help="functions by their own time")
    args = parser.parse_args()
    out, profiler = asyncio.run(_run(args.path, args.port, args.seconds))
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    print(f"requests/s under the profiler: {rate.group(1) if rate else '?'}")
    renderer = ConsoleRenderer(
        unicode=True,
        color=False,
        flat=args.flat,
        show_all=False,
        short_mode=True,
        processor_options={"filter_threshold": args.min_percent / 100},
    )
    print(profiler.output(renderer))


if __name__ == "__main__":
    main()
