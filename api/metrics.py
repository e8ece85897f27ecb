"""Prometheus metrics. Labels are route templates, methods, status codes, job names,
exception class names and closed reason codes only: nothing a request carries can become a
label value."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from api.logging import get_logger

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("straatstem_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram(
    "straatstem_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ERRORS = Counter(
    "straatstem_http_errors_total",
    "Requests that failed on the server side (unhandled error or database unavailable), by route template",
    ["route", "error"],
    registry=REGISTRY,
)
REPORTS = Counter("straatstem_reports_total", "Report submissions by outcome", ["outcome"], registry=REGISTRY)
RELEASES = Counter("straatstem_releases_built_total", "Releases built", ["audience"], registry=REGISTRY)
JOBS = Counter("straatstem_jobs_total", "Scheduled job runs by job and outcome", ["job", "outcome"], registry=REGISTRY)


log = get_logger("straatstem.http")


def observe_request(method: str, route: str, status: int, started: float) -> None:
    """Request metrics for one answered request (`started` from time.perf_counter()), and a
    log line (method, route template, status, time) when it failed on the server side."""
    elapsed = time.perf_counter() - started
    count, latency = _request_series(method, route, status)
    count.inc()
    latency.observe(elapsed)
    if status >= 500:
        log.warning("request", method=method, route=route, status=status, duration_ms=round(elapsed * 1000, 2))


@functools.lru_cache(maxsize=1024)
def _request_series(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    """The two series of one (method, route template, status), found once rather than per
    request; the label values are the closed sets above, so the cache holds them all."""
    return REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)


def count_report(outcome: str) -> None:
    """One report submission answered with `outcome` (created, existing or a problem slug)."""
    _report_series(outcome).inc()


@functools.lru_cache(maxsize=64)
def _report_series(outcome: str) -> Counter:
    return REPORTS.labels(outcome)


class PoolCollector(Collector):
    """Connections of the database pool in use and idle, read when scraped (one app, so one
    pool, per worker process; a closed pool reports nothing)."""

    def __init__(self) -> None:
        self._pool: Any = None

    def watch(self, pool: Any) -> None:
        self._pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self._pool
        connections = GaugeMetricFamily(
            "straatstem_db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        limit = GaugeMetricFamily("straatstem_db_pool_max_connections", "Database pool size limit")
        if pool is not None and not pool.is_closing():
            size, idle = pool.get_size(), pool.get_idle_size()
            connections.add_metric(["in_use"], size - idle)
            connections.add_metric(["idle"], idle)
            limit.add_metric([], pool.get_max_size())
        yield connections
        yield limit


POOL = PoolCollector()
REGISTRY.register(POOL)
