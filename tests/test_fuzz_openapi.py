"""schemathesis over the whole served OpenAPI document (processes included), bounded:
examples, coverage and fuzzing phases; no 5xx and no answer slower than 10 s."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from gisplatform.ogcapi.pygeoapi_config import PROCESSORS
from gisplatform.registry import LayerRegistry
from tests.live import live_server, platform_app

pytestmark = [pytest.mark.db, pytest.mark.slow]

#: test cases per operation in CI (bench/fuzz_openapi.py runs longer budgets)
MAX_EXAMPLES = 3
#: seconds for the whole run: the examples (every process's own runs) come first
MAX_TIME = 240
#: a fixed seed: the same cases on every run (the runner takes any seed)
SEED = 20261207


def _runner() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "bench" / "fuzz_openapi.py"
    spec = importlib.util.spec_from_file_location("fuzz_openapi", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def root(demo_db_url: str, registry: LayerRegistry) -> Iterator[str]:
    with live_server(platform_app(demo_db_url, registry)) as url:
        yield url


@pytest.mark.timeout(900)
def test_fuzzing_finds_no_server_error_and_no_slow_answer(root: str) -> None:
    # HEAD is left to test_openapi.py (the same handlers as GET): half the requests
    result = _runner().fuzz(
        root,
        max_examples=MAX_EXAMPLES,
        workers=1,
        seed=SEED,
        max_time=MAX_TIME,
        extra=("--exclude-method", "HEAD"),
        timeout=800,
    )
    print(result.summary())
    assert not result.server_errors, "\n".join(result.server_errors[:20])
    assert result.returncode == 0, result.output[-5000:]
    assert result.slowest_ms < 10_000, result.slowest
    # the run reached every kind of operation, and every process ran to a result
    assert result.requests > 500
    assert {200, 400, 404, 405} <= set(result.statuses)
    paths = httpx.get(f"{root}/ogc/api", timeout=30).json()["paths"]
    for process_id in PROCESSORS:
        execution = f"/processes/{process_id}/execution"
        assert execution in paths
        assert result.answers[("POST", "/ogc" + execution, 200)] > 0, execution
