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
#: seconds for each of the two runs (process executions, everything else): schemathesis
#: repeats fuzzing until the budget is spent
MAX_TIME = 120
#: the process executions: each positive case runs an analysis (seconds each)
EXECUTIONS = "/execution$"
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
    fuzz = _runner().fuzz
    common = {"max_examples": MAX_EXAMPLES, "workers": 1, "seed": SEED, "max_time": MAX_TIME}
    # HEAD is left to test_openapi.py (the same handlers as GET): half the requests
    reads = fuzz(
        root, extra=("--exclude-method", "HEAD", "--exclude-path-regex", EXECUTIONS), **common
    )
    runs = fuzz(root, extra=("--include-path-regex", EXECUTIONS), **common)
    for result in (reads, runs):
        print(result.summary())
        assert not result.server_errors, "\n".join(result.server_errors[:20])
        assert result.returncode == 0, result.output[-5000:]
        assert result.slowest_ms < 10_000, result.slowest
    # the runs reached every kind of operation, and every process ran to a result
    assert reads.requests > 300 and runs.requests > 20
    assert {200, 400, 404} <= set(reads.statuses)
    paths = httpx.get(f"{root}/ogc/api", timeout=30).json()["paths"]
    for process_id in PROCESSORS:
        execution = f"/processes/{process_id}/execution"
        assert execution in paths
        assert runs.answers[("POST", "/ogc" + execution, 200)] > 0, execution
