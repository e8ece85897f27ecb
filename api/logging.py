"""Structured logging that cannot carry personal data.

Log events are structlog key/value pairs. A processor drops every key that is not on an
allow-list and redacts values that look like IP addresses, so a careless `log.info(...,
client=ip)` elsewhere cannot leak. Uvicorn's access log (which prints client addresses) is
switched off; requests are logged by our middleware with route template, status and duration.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

ALLOWED_KEYS = frozenset(
    {
        "event",
        "level",
        "logger",
        "timestamp",
        "method",
        "route",
        "status",
        "duration_ms",
        "outcome",
        "reason",
        "count",
        "applied",
        "municipality",
        "migration",
        "host",
        "port",
        "url",
        "error",
        "job",
        "cells",
        "skipped",
        "accepted",
        "rejected",
        "exc_info",
        "staff_id",
        "period",
    }
)
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{0,4}\b")


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return _IPV6.sub("[addr]", _IPV4.sub("[addr]", value))
    return value


def scrub_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key not in ALLOWED_KEYS:
            del event[key]
        else:
            event[key] = _redact(event[key])
    return event


def configure(level: str = "INFO", json: bool = True) -> None:
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            scrub_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _RedactFilter) for f in uvicorn_errors.filters):
        uvicorn_errors.addFilter(_RedactFilter())


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redact(record.getMessage())
        record.args = ()
        return True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
