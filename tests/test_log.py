"""Log lines keep the fields given with ``extra=``, as text and as JSON."""

from __future__ import annotations

import json
import logging

from gisplatform.log import JsonFormatter, TextFormatter


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
