from __future__ import annotations

import datetime as dt
import secrets
import uuid

import asyncpg

from aggregation.retention import previous_month, run_intake_retention
from privacy import coarsen


async def _report(conn: asyncpg.Connection, cell: int, month: str, text: str | None) -> uuid.UUID:
    rid, sid = uuid.uuid4(), uuid.uuid4()
    await conn.execute(
        "insert into report (municipality, id, cell, month, band, category, role, language, submission_id,"
        " submission_mac, receipt_hash) values ('den-haag', $1, $2, $3, 'night', 'verbal', 'victim', 'nl', $4,"
        " $5, $6)",
        rid,
        cell,
        month,
        sid,
        secrets.token_bytes(32),
        secrets.token_bytes(32),
    )
    if text:
        await conn.execute(
            "insert into report_text (municipality, report_id, month, language, body)"
            " values ('den-haag', $1, $2, 'nl', $3)",
            rid,
            month,
            text,
        )
    return rid


async def test_retention_removes_exactly_what_is_past_its_horizon(clean: asyncpg.Pool, hague: list[int]) -> None:
    today = dt.date(2026, 11, 24)
    async with clean.acquire() as conn:
        old = await _report(conn, hague[0], "2026-08", "old text")  # 2026-08-01 + 90 d = 2026-10-30
        edge = await _report(conn, hague[1], "2026-09", "edge text")  # 2026-09-01 + 90 d = 2026-11-30
        recent = await _report(conn, hague[2], "2026-10", "recent text")
        await conn.execute(
            "insert into withdrawn_submission values ($1, '2026-09'), ($2, '2026-10')", uuid.uuid4(), uuid.uuid4()
        )
        await conn.execute("insert into pow_spent values ($1, 100), ($2, 200)", b"a" * 16, b"b" * 16)
        await conn.execute(
            "insert into rate_key values ($1, $2), ($3, $2)", today - dt.timedelta(days=1), b"k" * 32, today
        )
        await conn.execute(
            "insert into rate_counter values ($1, $2, 1), ($3, $2, 1)", today - dt.timedelta(days=1), b"t" * 16, today
        )

        result = await run_intake_retention(conn, today, current_hour=150)
        assert result.ran and result.texts == 1 and result.tombstones == 1
        assert result.spent_challenges == 1 and result.rate_keys == 1 and result.rate_counters == 1
        texts = {r["report_id"] for r in await conn.fetch("select report_id from report_text")}
        assert texts == {edge, recent}
        kept_ids = {r["id"] for r in await conn.fetch("select id from report where submission_id is not null")}
        assert kept_ids == {recent}  # 2026-10 is the previous month of 2026-11
        assert await conn.fetchval("select count(*) from report") == 3  # raw rows stay (releases decide)
        assert old not in texts
        again = await run_intake_retention(conn, today, current_hour=150)
        assert again.ran and again.texts == again.submission_ids == again.tombstones == 0


def test_text_horizon_agrees_with_the_pure_rule() -> None:
    for month in ("2026-01", "2026-02", "2026-03", "2026-12"):
        first = coarsen.parse_month(month)
        assert not coarsen.text_expired(month, first + dt.timedelta(days=89))
        assert coarsen.text_expired(month, first + dt.timedelta(days=90))
    assert previous_month(dt.date(2026, 1, 15)) == "2025-12"


async def test_raw_reports_go_once_their_releases_are_frozen_or_past_the_horizon(
    clean: asyncpg.Pool, hague: list[int]
) -> None:
    from fractions import Fraction

    from aggregation import releases
    from privacy.periods import parse_period

    config = releases.ReleaseConfig(k=5, staff_epsilon={"total": Fraction(1)})
    today = dt.date(2026, 11, 24)
    async with clean.acquire() as conn:
        july = [await _report(conn, hague[0], "2026-07", None) for _ in range(3)]
        august = [await _report(conn, hague[0], "2026-08", None) for _ in range(2)]
        october = [await _report(conn, hague[0], "2026-10", None) for _ in range(2)]
        for month in ("2026-07", "2026-10"):
            await releases.build(conn, config, "den-haag", "staff", parse_period(month), today)
        # July has its staff release but not yet the public Q3 release: kept.
        result = await run_intake_retention(conn, today, 0, raw_horizon_days=200)
        assert result.released_reports == 0 and result.expired_reports == 0
        await releases.build(conn, config, "den-haag", "public", parse_period("2026-Q3"), today)
        result = await run_intake_retention(conn, today, 0, raw_horizon_days=200)
        # July: staff and public frozen -> gone. August: public frozen, staff not -> kept.
        # October: staff frozen, Q4 not -> kept.
        assert result.released_reports == 3
        left = {r["id"] for r in await conn.fetch("select id from report")}
        assert left == set(august) | set(october) and not left & set(july)
        # The horizon (from the first day of the month) takes August regardless.
        result = await run_intake_retention(conn, dt.date(2026, 12, 10), 0, raw_horizon_days=100)
        assert result.expired_reports == 2
        assert {r["id"] for r in await conn.fetch("select id from report")} == set(october)
        # Releases and the ledger stay.
        assert await conn.fetchval("select count(*) from release") == 3
        assert await conn.fetchval("select count(*) from epsilon_ledger") == 3


async def test_raw_horizon_has_a_floor_in_code(clean: asyncpg.Pool) -> None:
    import pytest

    async with clean.acquire() as conn:
        with pytest.raises(ValueError, match="at least 100"):
            await run_intake_retention(conn, dt.date(2026, 11, 24), 0, raw_horizon_days=99)
