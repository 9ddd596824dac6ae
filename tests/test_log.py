"""Log lines keep the fields given with ``extra=``, as text and as JSON."""

from __future__ import annotations

import json
import logging

import httpx

from gisplatform.log import JsonFormatter, TextFormatter
from gisplatform.registry import LayerRegistry
from tests.ogcapi_helpers import live_server


def _record() -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "gisplatform.access", "levelname": "INFO", "levelno": 20, "msg": "request"}
    )
    record.__dict__.update({"method": "GET", "status": 200, "request_id": "abc"})
    return record


def test_text_lines_carry_the_extra_fields() -> None:
    line = TextFormatter().format(_record())
    assert line == "INFO gisplatform.access: request method=GET status=200 request_id=abc"


def test_json_lines_carry_the_extra_fields() -> None:
    payload = json.loads(JsonFormatter().format(_record()))
    assert payload["msg"] == "request" and payload["logger"] == "gisplatform.access"
    assert (payload["method"], payload["status"], payload["request_id"]) == ("GET", 200, "abc")


def test_text_lines_carry_no_terminal_escape_codes() -> None:
    record = _record()
    record.__dict__["color_message"] = "Uvicorn running on \x1b[1m%s\x1b[0m"
    line = TextFormatter().format(record)
    assert "\x1b" not in line and "color_message" not in line


def test_access_lines_name_the_client_and_metrics_bound_the_method(
    demo_db_url: str, registry: LayerRegistry
) -> None:
    with (
        live_server(demo_db_url, registry) as (root, recorder),
        httpx.Client(base_url=root) as http,
    ):
        http.get("/ogc/collections")
        for invented in ("PROPFIND", "MKCOL", "TRACE"):
            http.request(invented, "/ogc/collections")
        metrics = http.get("/metrics").text
    (line,) = [r for r in recorder.records if r["path"] == "/ogc/collections"][:1]
    assert line["client"] == "127.0.0.1"
    assert all(f'method="{m}"' not in metrics for m in ("PROPFIND", "MKCOL", "TRACE"))
    assert 'method="other"' in metrics
