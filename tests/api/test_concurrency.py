"""Concurrent submissions go through group commit (api/intake/batcher.py): whatever lands in
one batch or in concurrent batches, the outcomes are those of some sequential order."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import httpx

from api.intake import repository as repo
from api.intake.batcher import SubmitBatcher
from tests.conftest import report_body, solved_pow, submit


async def _count(pool: asyncpg.Pool, sql: str = "select count(*) from report") -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval(sql))


async def test_concurrent_retries_store_one_report(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    body = report_body(hague[0])
    altchas = [await solved_pow(client) for _ in range(12)]
    responses = await asyncio.gather(*(submit(client, body, altcha=a) for a in altchas))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: 11}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count(clean) == 1


async def test_one_solution_used_concurrently_stores_once(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    altcha = await solved_pow(client)
    responses = await asyncio.gather(
        *(submit(client, report_body(cell), altcha=altcha, ip=f"198.51.100.{i}") for i, cell in enumerate(hague[:10]))
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 400: 9}
    assert await _count(clean) == 1
    assert await _count(clean, "select count(*) from pow_spent") == 1


async def test_concurrent_reports_from_one_network_respect_the_caps(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    same_cell = [submit(client, report_body(hague[0]), ip="203.0.113.5") for _ in range(6)]
    many_cells = [submit(client, report_body(cell), ip="203.0.113.6") for cell in hague[:12]]
    responses = await asyncio.gather(*same_cell, *many_cells)
    first, second = responses[:6], responses[6:]
    assert Counter(r.status_code for r in first) == {201: 1, 429: 5}
    assert Counter(r.status_code for r in second) == {201: 5, 429: 7}
    assert await _count(clean) == 6
    async with clean.acquire() as conn:
        counts = sorted(r["count"] for r in await conn.fetch("select count from rate_counter"))
    # Refused items leave no trace: one per-cell counter per accepted report, two day counters.
    assert counts == [1, 1, 1, 1, 1, 1, 1, 5]


async def test_a_failing_batch_fails_each_of_its_callers(clean: asyncpg.Pool) -> None:
    class Broken(SubmitBatcher):
        pass

    batcher = Broken(clean)

    async def fail(conn: asyncpg.Connection, items: list[repo.Submission]) -> list[repo.Stored | repo.Refused]:
        raise asyncpg.PostgresConnectionError("connection lost")

    original = repo.submit_batch
    repo.submit_batch = fail  # type: ignore[assignment]
    try:
        import datetime as dt
        import uuid

        item = repo.Submission(
            1,
            "2026-11",
            "night",
            "verbal",
            "victim",
            None,
            "nl",
            uuid.uuid4(),
            b"m",
            b"r" * 32,
            None,
            [],
            b"p",
            1,
            dt.date(2026, 11, 24),
            b"c",
            1,
            b"d",
            5,
        )
        results = await asyncio.gather(*(batcher.submit(item) for _ in range(5)), return_exceptions=True)
    finally:
        repo.submit_batch = original  # type: ignore[assignment]
    assert all(isinstance(r, asyncpg.PostgresConnectionError) for r in results)
    assert batcher._running == 0 and not batcher._pending


def test_every_refusal_maps_to_a_client_answer() -> None:
    import datetime as dt

    from api.intake.service import _refusal

    now = dt.datetime(2026, 11, 24, 23, 59, 30, tzinfo=dt.UTC)
    expected = {
        "conflict": 409,
        "withdrawn": 410,
        "outside": 422,
        "replay": 400,
        "rate_cell": 429,
        "rate_day": 429,
        "retry": 503,
    }
    for reason, status in expected.items():
        problem = _refusal(reason, now)
        assert problem.status == status
        if status in (429, 503):
            assert int(problem.headers["Retry-After"]) > 0


async def test_yesterdays_rate_key_is_forgotten_in_memory(clean: asyncpg.Pool) -> None:
    import datetime as dt

    from api.intake.service import DailyKeyCache

    cache = DailyKeyCache()
    today = dt.date(2026, 11, 24)
    key = await cache.get(clean, today)
    assert len(key) == 32
    cache.forget_unless(today)
    assert cache.key == key  # still today: kept
    cache.forget_unless(today + dt.timedelta(days=1))
    assert cache.key == b"" and cache.day is None
    async with clean.acquire() as conn:
        new = await cache.get(clean, today + dt.timedelta(days=1))
        assert new != key
        assert await conn.fetchval("select count(*) from rate_key") == 1  # the old day's key is gone
