"""A careless log call cannot leak: unknown keys are dropped, IP-shaped strings redacted."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from api import logging as slog


def test_scrub_event_drops_unknown_keys_and_redacts_addresses() -> None:
    event = {
        "event": "request from 203.0.113.77",
        "route": "/v1/reports",
        "client": "203.0.113.77",
        "receipt": "9f86d081884c7d659a2feaa0c55ad015",
        "lat": 52.0799,
        "user_agent": "Firefox",
        "error": "peer 2001:db8:abcd:12::77 reset",
        "status": 201,
    }
    out = slog.scrub_event(None, "info", dict(event))
    assert set(out) == {"event", "route", "error", "status"}
    assert "203.0.113.77" not in json.dumps(out) and "2001:db8" not in json.dumps(out)
    assert out["event"] == "request from [addr]" and out["status"] == 201


def test_configured_logger_applies_the_scrubber(capsys: pytest.CaptureFixture[str]) -> None:
    slog.configure("INFO", json=True)
    log = slog.get_logger("test")
    log.info("submitted", client="198.51.100.4", outcome="created", description="call 06-12345678")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["outcome"] == "created" and "client" not in record and "description" not in record


def test_stdlib_records_of_uvicorn_are_redacted() -> None:
    slog.configure("INFO", json=True)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(handler)
    try:
        logger.warning("Invalid HTTP request from %s", "192.0.2.55")
    finally:
        logger.removeHandler(handler)
    assert "192.0.2.55" not in stream.getvalue() and "[addr]" in stream.getvalue()
    assert logging.getLogger("uvicorn.access").disabled
    structlog.reset_defaults()
