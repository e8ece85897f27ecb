"""The whole-run log scan (tests/logscan.py) finds each kind of personal data it is there for,
and does not cry wolf over what servers legitimately print."""

from __future__ import annotations

import logging

import pytest

from tests import logscan

SECRETS = {"9f86d081884c7d659a2feaa0c55ad015": "receipt", "Hij riep dingen bij de tramhalte": "report text"}


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('{"event":"request","client":"198.51.100.7"}', "IPv4 address"),
        ("peer 2001:db8:abcd:12::77 reset", "IPv6 address"),
        ("peer fe80::1ff:fe23:4567:890a", "IPv6 address"),
        ("user-agent Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156", "user agent"),
        ("snapped 52.0799,4.3247 to a cell", "coordinate"),
        ("status for receipt 9f86d081884c7d659a2feaa0c55ad015", "receipt"),
        ("stored: Hij riep dingen bij de tramhalte en liep mee", "report text"),
    ],
)
def test_each_kind_is_found(line: str, kind: str) -> None:
    findings = logscan.scan([("log", f"INFO first line\n{line}\nINFO last line")], SECRETS)
    assert kind in {f.kind for f in findings}
    assert all(f.excerpt == line for f in findings if f.kind == kind)


@pytest.mark.parametrize(
    "line",
    [
        "straatstem listening on http://127.0.0.1:8000 (1 worker)",
        "Uvicorn running on http://0.0.0.0:8000",
        '{"timestamp": "2026-11-24T08:58:52.123456Z", "event": "request", "duration_ms": 4.12}',
        "2026-11-24 08:58:52.123 UTC [123] LOG:  database system is ready to accept connections",
        '{"event": "migrations applied", "applied": "0001,0002"}',
        "release built municipality=den-haag period=2026-10 epsilon 0.3333",
    ],
)
def test_what_servers_legitimately_print_is_not_a_finding(line: str) -> None:
    assert logscan.scan([("log", line)], SECRETS) == []


def test_the_sink_keeps_product_records_and_skips_the_test_clients() -> None:
    logscan.install()
    before = len(logscan.SINK.records)
    logging.getLogger("httpx").info("HTTP Request: GET http://testserver/198.51.100.9")
    logging.getLogger("straatstem.test").warning("kept")
    added = logscan.SINK.records[before:]
    assert added == ["straatstem.test: kept"]


def test_structlog_events_reach_the_sink_scrubbed() -> None:
    from api.logging import get_logger

    logscan.install()
    before = len(logscan.SINK.records)
    get_logger("straatstem.test").info("submitted", client="198.51.100.4", outcome="created")
    added = " ".join(logscan.SINK.records[before:])
    assert '"outcome": "created"' in added and "198.51.100.4" not in added
