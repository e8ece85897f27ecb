"""The log scan of a whole test run. DESIGN.md section 2: logs never hold IP addresses, user
agents, coordinates, receipts, tokens or free text. Every log record the product writes during
the run (the in-process app's loggers, configured as in production, plus the output of every
server process the tests start and the embedded PostgreSQL's own log) is kept, and at the end
of the session searched for each of these; a finding fails the run.

What is searched for: IPv4 and IPv6 addresses other than loopback (servers print the loopback
address they listen on, which belongs to no one), user-agent strings, decimal degrees inside
the Netherlands with four or more decimals, and the exact receipts, staff tokens and report
texts the tests used (registered by the fixtures that make them)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

# The test's own clients log the URLs they request; they are not the product.
CLIENT_LOGGERS = (
    "httpx",
    "httpcore",
    "hpack",
    "urllib3",
    "requests",
    "aiohttp.client",
    "playwright",
    "schemathesis",
    "hypothesis",
    "filelock",
)

PATTERNS = {
    "IPv4 address": re.compile(
        r"(?<![\d.])(?!127\.|0\.0\.0\.0)(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\d.])"
    ),
    "IPv6 address": re.compile(
        r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){3,7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])|\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5}::[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*\b"
    ),
    "user agent": re.compile(
        r"Mozilla/\d|HeadlessChrome|python-httpx/|aiohttp/\d|python-requests/|curl/\d|Python-urllib/"
    ),
    # Latitudes 50-53 and longitudes 3-7 (the Netherlands) with 4+ decimals; a clock's seconds
    # ("08:58:52.123456") are not coordinates, hence the look-behind for ':'.
    "coordinate": re.compile(r"(?<![\d:.])(?:5[0-3]|[3-7])\.\d{4,}(?!\d)"),
}


@dataclass(frozen=True)
class Finding:
    kind: str
    source: str
    excerpt: str


class _Sink(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_LOGGERS):
            return
        try:
            self.records.append(f"{record.name}: {self.format(record)}")
        except Exception:  # a record that cannot be formatted is still kept by its template
            self.records.append(f"{record.name}: {record.msg!r}")


SINK = _Sink()
FILES: list[Path] = []  # logs of server processes the tests started
SECRETS: dict[str, str] = {}  # exact values the tests used -> what they are


def remember(value: str, kind: str) -> str:
    """Register a value the product must never log (a receipt, a token, a report's text)."""
    if len(value) >= 8:
        SECRETS[value] = kind
    return value


def watch_file(path: Path) -> Path:
    FILES.append(path)
    return path


def install() -> None:
    """Logging as `straatstem serve` configures it, with structlog's events handed to the
    standard library so the sink sees them; safe to call again after a test reconfigured."""
    from api import logging as slog

    slog.configure("INFO", json=True)
    structlog.configure(logger_factory=structlog.stdlib.LoggerFactory())
    root = logging.getLogger()
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    if SINK not in root.handlers:
        root.addHandler(SINK)


def scan(sources: Iterable[tuple[str, str]], secrets: dict[str, str] | None = None) -> list[Finding]:
    secrets = SECRETS if secrets is None else secrets
    findings: list[Finding] = []
    for source, text in sources:
        for kind, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                findings.append(Finding(kind, source, _excerpt(text, match.start(), match.end())))
        for value, kind in secrets.items():
            at = text.find(value)
            if at >= 0:
                findings.append(Finding(kind, source, _excerpt(text, at, at + len(value))))
    return findings


def collected(extra_files: Iterable[Path] = ()) -> list[tuple[str, str]]:
    sources = [("in-process logs", "\n".join(SINK.records))]
    for path in [*FILES, *extra_files]:
        if path.exists():
            sources.append((str(path), path.read_text(errors="replace")))
    return sources


def _excerpt(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    return line[:300]
