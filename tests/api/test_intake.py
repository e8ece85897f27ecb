"""Intake API end to end on real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from api.app import create_app
from privacy import location, taxonomy
from tests.conftest import (
    HAGUE,
    asgi_client,
    locked_table,
    make_settings,
    new_receipt,
    report_body,
    solved_pow,
    submit,
)

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"]
    if slug:
        assert body["type"] == f"/problems/{slug}"
    return body


async def count(pool: asyncpg.Pool, table: str = "report") -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(f"select count(*) from {table}"))  # noqa: S608 - test-owned name


async def test_taxonomy_lists_every_required_term_in_both_languages(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/taxonomy")).json()
    codes = {c["code"] for c in body["categories"]}
    assert codes == {"verbal", "nonverbal", "following", "physical", "exposure", "filming", "threat", "other"}
    assert {r["code"] for r in body["roles"]} == {"victim", "witness"}
    assert [b["code"] for b in body["bands"]] == ["night", "morning", "afternoon", "evening"]
    assert [f["code"] for f in body["felt_safety"]] == ["1", "2", "3", "4", "5"]
    for group in ("categories", "roles", "bands", "felt_safety"):
        assert all(t["nl"] and t["en"] and t["nl"] != t["en"] for t in body[group])


async def test_taxonomy_matches_the_database_constraints(clean: asyncpg.Pool) -> None:
    async with clean.acquire() as conn:
        checks = " ".join(
            r["def"]
            for r in await conn.fetch(
                "select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'report'::regclass"
            )
        )
    for code in taxonomy.CATEGORY_CODES | taxonomy.ROLE_CODES | taxonomy.BAND_CODES:
        assert f"'{code}'" in checks


async def test_municipalities_and_coverage(client: httpx.AsyncClient, hague: list[int]) -> None:
    listed = (await client.get("/v1/municipalities")).json()
    assert listed == [{"slug": "den-haag", "name": "Den Haag", "cells": len(hague)}]
    coverage = (await client.get("/v1/municipalities/den-haag/coverage")).json()
    assert coverage["resolution"] == 9
    assert [location.parse_cell(c) for c in coverage["cells"]] == hague
    assert_problem(await client.get("/v1/municipalities/nowhere/coverage"), 404)


async def test_challenge_is_altcha_v1(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/challenge")
    body = response.json()
    assert set(body) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert body["algorithm"] == "SHA-256" and body["maxnumber"] == 1_000
    assert "expires=" in body["salt"]
    assert response.headers["cache-control"] == "no-store"


async def test_submit_status_and_withdraw(client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]) -> None:
    body = report_body(hague[0], felt_safety=2, description="Hij riep me na, bel me op 06-12345678")
    response = await submit(client, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "municipality", "cell", "month"}
    assert created["municipality"] == "den-haag" and created["cell"] == body["cell"]
    assert uuid.UUID(created["id"]).version == 4
    async with clean.acquire() as conn:
        text = await conn.fetchrow("select body, pii_removed from report_text")
    assert "06-12345678" not in text["body"] and "phone" in text["pii_removed"]

    auth = {"Authorization": f"Receipt {body['receipt']}"}
    status = await client.get(f"/v1/reports/{created['id']}", headers=auth)
    assert status.status_code == 200
    assert status.json()["status"] == "received" and status.json()["has_description"] is True
    assert status.json()["felt_safety"] == 2

    wrong = {"Authorization": f"Receipt {new_receipt()}"}
    assert_problem(await client.get(f"/v1/reports/{created['id']}", headers=wrong), 404)
    assert_problem(await client.get(f"/v1/reports/{uuid.uuid4()}", headers=auth), 404)
    assert_problem(await client.get(f"/v1/reports/{created['id']}", headers={"Authorization": "Receipt x"}), 404)
    assert_problem(await client.get(f"/v1/reports/{created['id']}"), 401)
    assert_problem(await client.delete(f"/v1/reports/{created['id']}", headers=wrong), 404)
    assert await count(clean) == 1

    assert (await client.delete(f"/v1/reports/{created['id']}", headers=auth)).status_code == 204
    assert await count(clean) == 0 and await count(clean, "report_text") == 0
    assert_problem(await client.get(f"/v1/reports/{created['id']}", headers=auth), 404)
    # A late retry from an offline queue cannot bring the withdrawn report back.
    assert_problem(await submit(client, body), 410, "submission-withdrawn")
    assert await count(clean) == 0


@pytest.mark.parametrize("description", ["   ", "\u200b", "\u200b \n\t", ""])
async def test_descriptions_without_visible_text_store_no_text(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int], description: str
) -> None:
    response = await submit(client, report_body(hague[0], description=description))
    assert response.status_code == 201, response.text
    assert await count(clean) == 1 and await count(clean, "report_text") == 0


async def test_retry_is_idempotent_and_reuse_with_other_body_conflicts(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    body = report_body(hague[1])
    first = await submit(client, body)
    assert first.status_code == 201
    retry = await submit(client, body)
    assert retry.status_code == 200 and retry.json() == first.json()
    assert await count(clean) == 1
    other = dict(body, category="threat")
    assert_problem(await submit(client, other), 409, "submission-conflict")
    assert await count(clean) == 1


async def test_proof_of_work_is_required_once_and_signed(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    assert_problem(await client.post("/v1/reports", json=report_body(hague[0])), 400, "proof-of-work-required")
    solved = await solved_pow(client)
    assert (await submit(client, report_body(hague[0]), altcha=solved)).status_code == 201
    assert_problem(
        await submit(client, report_body(hague[1]), altcha=solved, ip="198.51.100.8"), 400, "proof-of-work-replayed"
    )
    from privacy import pow as pow_

    forged = pow_.solve(pow_.create_challenge(b"f" * 32, 1_000, 600))
    assert_problem(await submit(client, report_body(hague[2]), altcha=forged), 400, "invalid-proof-of-work")
    assert await count(clean) == 1


async def test_expired_proof_of_work_is_refused(clean: asyncpg.Pool, hague: list[int], tmp_path: Any) -> None:
    import time

    from privacy import pow as pow_

    settings = make_settings(tmp_path)
    app = create_app(settings, pool=clean)
    old = pow_.create_challenge(settings.derived_key("pow"), 1_000, 60, now=time.time() - 3600)
    async with asgi_client(app) as http:
        body = assert_problem(await submit(http, report_body(hague[0]), altcha=pow_.solve(old)), 400)
    assert "expired" in body["detail"]


async def test_rate_caps_per_cell_and_per_day(client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]) -> None:
    ip = "203.0.113.9"
    assert (await submit(client, report_body(hague[0]), ip=ip)).status_code == 201
    same_cell = await submit(client, report_body(hague[0]), ip=ip)
    assert_problem(same_cell, 429, "rate-limited")
    assert 0 < int(same_cell.headers["retry-after"]) <= 25 * 3600
    for cell in hague[1:5]:
        assert (await submit(client, report_body(cell), ip=ip)).status_code == 201
    assert_problem(await submit(client, report_body(hague[6]), ip=ip), 429, "rate-limited")
    # Another network is not affected; another address in the same IPv6 /64 is.
    assert (await submit(client, report_body(hague[6]), ip="203.0.113.10")).status_code == 201
    assert (await submit(client, report_body(hague[0]), ip="2001:db8:1:2::1")).status_code == 201
    assert_problem(await submit(client, report_body(hague[0]), ip="2001:db8:1:2:ffff::9"), 429)
    assert await count(clean) == 7


async def test_location_errors(client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]) -> None:
    res8 = location.cell_hex(location.parent(hague[0], 8))
    body = assert_problem(await submit(client, report_body(None, cell=res8)), 400, "invalid-cell")
    assert "resolution 8" in body["detail"]
    assert_problem(await submit(client, report_body(None, cell="8f1234567890abc")), 400, "invalid-cell")
    amsterdam = location.cell_hex(location.snap(52.3676, 4.9041))
    assert_problem(await submit(client, report_body(None, cell=amsterdam)), 422, "outside-coverage")
    no_coords = await submit(client, report_body(None, lat=52.07991234, lng=4.32471234))
    body = assert_problem(no_coords, 400, "coordinates-not-accepted")
    assert "52.0799" not in no_coords.text and "4.3247" not in no_coords.text
    assert_problem(await submit(client, report_body(None)), 400, "invalid-location")
    assert_problem(await submit(client, report_body(hague[0], lat=52.0, lng=4.3)), 400, "invalid-location")
    assert await count(clean) == 0


async def test_coordinates_snap_when_the_deployment_allows(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Any
) -> None:
    app = create_app(make_settings(tmp_path, accept_coordinates=True), pool=clean)
    async with asgi_client(app) as http:
        response = await submit(http, report_body(None, lat=HAGUE[0], lng=HAGUE[1]))
        assert response.status_code == 201, response.text
        assert response.json()["cell"] == location.cell_hex(location.snap(*HAGUE))
        assert_problem(await submit(http, report_body(None, lat=HAGUE[0])), 400, "invalid-location")


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda b: b | {"device_id": "abc"}, 400),
        (lambda b: b | {"category": "robbery"}, 400),
        (lambda b: b | {"felt_safety": 6}, 400),
        (lambda b: b | {"felt_safety": "2"}, 400),
        (lambda b: b | {"band": None}, 400),
        (lambda b: b | {"submission_id": "not-a-uuid"}, 400),
        (lambda b: b | {"receipt": "short"}, 400),
        (lambda b: b | {"receipt": "!" * 40}, 400),
        (lambda b: b | {"description": "x" * 1001}, 400),
        (lambda b: b | {"language": "de"}, 400),
        (lambda b: {k: v for k, v in b.items() if k != "role"}, 400),
        (lambda b: b | {"lat": "52.1", "lng": 4.3}, 400),
        (lambda b: b | {"lat": 95.0, "lng": 4.3}, 400),
    ],
)
async def test_malformed_bodies_get_actionable_4xx(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int], mutate: Any, status: int
) -> None:
    response = await submit(client, mutate(report_body(hague[0])))
    body = assert_problem(response, status)
    assert body.get("detail") or body.get("errors")
    assert await count(clean) == 0


async def test_transport_level_errors(client: httpx.AsyncClient, hague: list[int]) -> None:
    altcha = await solved_pow(client)
    headers = {"X-Altcha": altcha}
    assert_problem(
        await client.post("/v1/reports", content=b"{bad json", headers=headers | {"content-type": "application/json"}),
        400,
    )
    assert_problem(
        await client.post("/v1/reports", content=b"[]", headers=headers | {"content-type": "application/json"}), 400
    )
    assert_problem(
        await client.post("/v1/reports", content=b"{}", headers=headers | {"content-type": "text/plain"}), 415
    )
    assert_problem(await client.post("/v1/reports", content=b"{}", headers=headers), 415)
    big = b'{"description": "' + b"x" * 40_000 + b'"}'
    assert_problem(
        await client.post("/v1/reports", content=big, headers=headers | {"content-type": "application/json"}), 413
    )
    assert_problem(await client.get("/v1/nothing-here"), 404)
    assert_problem(await client.put("/v1/reports", json={}), 405)
    assert_problem(await client.get("/v1/reports/not-a-uuid", headers={"Authorization": "Receipt x"}), 404)


async def test_health_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    await client.get("/v1/taxonomy")
    metrics = (await client.get("/metrics")).text
    assert 'straatstem_http_requests_total{method="GET",route="/v1/taxonomy",status="200"}' in metrics


async def test_docs_are_served_without_third_party_scripts(client: httpx.AsyncClient) -> None:
    document = await client.get("/schema/openapi.json")
    assert document.status_code == 200 and document.json()["openapi"].startswith("3.1")
    for path in ("/schema", "/schema/swagger", "/schema/redoc", "/schema/elements", "/schema/rapidoc"):
        page = await client.get(path)
        assert "<script" not in page.text and "cdn" not in page.text.lower(), path


async def test_a_nul_in_one_report_does_not_fail_the_reports_stored_with_it(
    dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Any
) -> None:
    """PostgreSQL refuses U+0000 in text, and reports are stored in batches: a report with one
    is refused before the batcher, so the reports that wait beside it are stored as usual."""
    app = create_app(make_settings(tmp_path), pool=clean)
    app.state.runtime.intake.batcher.flushers = 1  # the two below wait for one batch together
    async with asgi_client(app) as http:
        pows = [await solved_pow(http) for _ in range(3)]
        blocker = await locked_table(dsn, "report")
        try:
            first = asyncio.create_task(submit(http, report_body(hague[0]), ip="198.51.100.1", altcha=pows[0]))
            for _ in range(500):  # its batch is sent and waits on the lock
                if app.state.runtime.intake.batcher._running:
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the first report never reached the batcher")
            nul = asyncio.create_task(
                submit(http, report_body(hague[1], description="hallo\u0000daar"), ip="198.51.100.2", altcha=pows[1])
            )
            fine = asyncio.create_task(submit(http, report_body(hague[2]), ip="198.51.100.3", altcha=pows[2]))
            await asyncio.sleep(0.2)
        finally:
            await blocker.execute("rollback")
            await blocker.close()
        answers = await asyncio.gather(first, nul, fine)
    assert [a.status_code for a in answers] == [201, 400, 201]
    assert_problem(answers[1], 400, "invalid-text")
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from report") == 2
