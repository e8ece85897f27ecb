"""Prometheus metrics. Labels are route templates, methods, status codes and closed reason
codes only: nothing a request carries can become a label value."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("straatstem_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY)
LATENCY = Histogram(
    "straatstem_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
REPORTS = Counter("straatstem_reports_total", "Report submissions by outcome", ["outcome"], registry=REGISTRY)
RELEASES = Counter("straatstem_releases_built_total", "Releases built", ["audience"], registry=REGISTRY)
