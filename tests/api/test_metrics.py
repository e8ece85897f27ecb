"""/metrics: the series operators need (requests, latency, errors by route template, reports by
outcome, jobs, pool use), and an audit of every label value after hostile requests: nothing a
client sends (a path, an address, a receipt, a cell) can become a label."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app, run_jobs_once
from tests.conftest import asgi_client, make_settings, report_body, submit

ALLOWED = {
    "method": re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$"),
    "status": re.compile(r"^[1-5]\d\d$"),
    "outcome": re.compile(r"^[a-z]+(-[a-z]+)*$"),
    "error": re.compile(r"^[A-Z][A-Za-z]*$"),
    "audience": re.compile(r"^(staff|public)$"),
    "job": re.compile(r"^(releases|retention)$"),
    "state": re.compile(r"^(in_use|idle)$"),
}


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for got, v in found.get(name, []) if all(got.get(k) == want for k, want in labels.items()))


async def test_operational_series_are_exported(client: httpx.AsyncClient, hague: list[int]) -> None:
    before = samples((await client.get("/metrics")).text)
    assert (await submit(client, report_body(hague[0]))).status_code == 201
    refused = [
        await submit(client, report_body(None, cell="not-a-cell")),  # refused while decoding
        await submit(client, report_body(hague[1]), altcha="forged"),  # refused by the service
        await client.post("/v1/reports", content=b"{}", headers={"Content-Type": "text/plain"}),  # before both
    ]
    found = samples((await client.get("/metrics")).text)
    assert value(found, "straatstem_reports_total", outcome="created") >= 1
    for response in refused:
        outcome = response.json()["type"].rpartition("/")[2]
        counted = value(found, "straatstem_reports_total", outcome=outcome)
        assert counted - value(before, "straatstem_reports_total", outcome=outcome) == 1, outcome
    assert value(found, "straatstem_http_requests_total", method="POST", route="/v1/reports", status="201") >= 1
    assert value(found, "straatstem_http_request_seconds_count", method="POST", route="/v1/reports") >= 2
    # The pool gauges describe the live pool of the app.
    in_use = value(found, "straatstem_db_pool_connections", state="in_use")
    idle = value(found, "straatstem_db_pool_connections", state="idle")
    assert in_use >= 0 and idle >= 0 and in_use + idle >= 1
    assert value(found, "straatstem_db_pool_max_connections") == 8


async def test_database_failures_are_counted_by_route_template(clean: asyncpg.Pool, dsn: str, tmp_path: Path) -> None:
    closed = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    assert closed is not None
    await closed.close()
    app = create_app(make_settings(tmp_path), pool=closed)
    async with asgi_client(app) as http:
        before = value(samples((await http.get("/metrics")).text), "straatstem_http_errors_total")
        down = await http.get("/v1/municipalities/den-haag/coverage")
        assert down.status_code == 503 and down.headers["retry-after"]
        found = samples((await http.get("/metrics")).text)
    errors = [labels for labels, v in found["straatstem_http_errors_total"] if v > 0]
    assert {"route": "/v1/municipalities/{slug}/coverage", "error": "InterfaceError"} in errors
    assert value(found, "straatstem_http_errors_total") == before + 1


async def test_jobs_are_counted(client: httpx.AsyncClient, clean: asyncpg.Pool, settings: object) -> None:
    from api.app import runtime

    app_runtime = runtime(client._transport.app.state)  # type: ignore[attr-defined]
    before = samples((await client.get("/metrics")).text)
    await run_jobs_once(clean, app_runtime.settings, app_runtime.intake)
    after = samples((await client.get("/metrics")).text)
    for job in ("releases", "retention"):
        runs = value(after, "straatstem_jobs_total", job=job) - value(before, "straatstem_jobs_total", job=job)
        assert runs == 1, job


async def test_no_label_value_comes_from_the_request(client: httpx.AsyncClient, hague: list[int]) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    templates = {route.path_format for route in app.routes} | {"unmatched"}
    receipt = "a" * 32
    hostile = [
        "/v1/reports/" + str(uuid.uuid4()),
        "/v1/municipalities/198.51.100.7/coverage",
        "/203.0.113.9/52.0799,4.3247",
        "/v1/municipalities/8928308280fffff/coverage",
        f"/v1/reports/{receipt}",
    ]
    for path in hostile:
        await client.get(path, headers={"Authorization": f"Receipt {receipt}", "X-Forwarded-For": "192.0.2.1"})
    await client.post("/v1/reports", content=b"{", headers={"Content-Type": "application/json"})
    text = (await client.get("/metrics")).text
    for needle in ("198.51.100.7", "203.0.113.9", "192.0.2.1", "52.0799", "8928308280fffff", receipt):
        assert needle not in text
    checked = 0
    for name, series in samples(text).items():
        for labels, _ in series:
            for key, got in labels.items():
                if key == "le":
                    continue
                if key == "route":
                    # The registry is per process: other tests mount their own /test/... routes.
                    assert got in templates or got.startswith("/test/"), (name, got)
                else:
                    assert key in ALLOWED, f"{name} has an unaudited label {key!r}: audit it here"
                    assert ALLOWED[key].match(got), (name, key, got)
                checked += 1
    assert checked > 20
