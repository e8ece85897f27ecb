"""Retention of intake data. Idempotent, safe from several replicas at once (advisory lock).

What goes, and when (all horizons are computed from months, days or hours, never from a
stored timestamp):
- free text: 90 days after the first day of its report's month (at most 90 days after receipt);
- submission ids and fingerprints on report rows, and tombstones of withdrawn submissions:
  once their month is older than the previous calendar month (kept 31-62 days, long enough
  for an offline queue to deliver its retries);
- spent proof-of-work entries: after the hour in which their challenge expired;
- rate-limit keys and counters: after their day;
- raw report rows: as soon as every release built from them is frozen (the staff release of
  their month and the public release of their quarter), and in any case `raw_horizon_days`
  after the first day of their month (a floor of 100 days in code keeps a quarter's public
  release buildable). Releases and the epsilon ledger are never deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

RETENTION_LOCK = 0x5713_0002

DELETE_TEXT = "delete from report_text where to_date(month || '-01', 'YYYY-MM-DD') + $1::int <= $2::date"
CLEAR_SUBMISSIONS = """
update report set submission_id = null, submission_mac = null
 where submission_id is not null and month < $1
"""
DELETE_TOMBSTONES = "delete from withdrawn_submission where month < $1"
DELETE_SPENT_POW = "delete from pow_spent where expires_hour < $1"
DELETE_RATE_KEYS = "delete from rate_key where day < $1"
DELETE_RATE_COUNTERS = "delete from rate_counter where day < $1"
TRY_LOCK = "select pg_try_advisory_xact_lock($1)"
DELETE_RELEASED = """
delete from report r
 where exists (select 1 from release s
                where s.municipality = r.municipality and s.audience = 'staff' and s.period = r.month)
   and exists (select 1 from release p
                where p.municipality = r.municipality and p.audience = 'public'
                  and p.period = substr(r.month, 1, 4) || '-Q' || ((substr(r.month, 6, 2)::int + 2) / 3))
"""
DELETE_PAST_HORIZON = "delete from report where to_date(month || '-01', 'YYYY-MM-DD') + $1::int <= $2::date"
RAW_HORIZON_FLOOR_DAYS = 100

TEXT_RETENTION_DAYS = 90


@dataclass(frozen=True)
class RetentionResult:
    ran: bool
    texts: int = 0
    submission_ids: int = 0
    tombstones: int = 0
    spent_challenges: int = 0
    rate_keys: int = 0
    rate_counters: int = 0
    released_reports: int = 0
    expired_reports: int = 0

    def render(self) -> str:
        if not self.ran:
            return "retention: another process is running it; nothing done"
        return (
            f"retention: {self.texts} texts, {self.submission_ids} submission ids, {self.tombstones} "
            f"withdrawal tombstones, {self.spent_challenges} spent challenges, {self.rate_keys} rate keys, "
            f"{self.rate_counters} rate counters removed; {self.released_reports} released and "
            f"{self.expired_reports} expired raw reports deleted"
        )


def previous_month(today: dt.date) -> str:
    """'YYYY-MM' of the calendar month before `today`'s."""
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


async def run_intake_retention(
    conn: asyncpg.Connection, today: dt.date, current_hour: int, raw_horizon_days: int = 120
) -> RetentionResult:
    """Delete what has passed its horizon. `today` is the Europe/Amsterdam date,
    `current_hour` the hours since the Unix epoch."""
    if raw_horizon_days < RAW_HORIZON_FLOOR_DAYS:
        raise ValueError(f"the raw report horizon must be at least {RAW_HORIZON_FLOOR_DAYS} days")
    async with conn.transaction():
        if not await conn.fetchval(TRY_LOCK, RETENTION_LOCK):
            return RetentionResult(ran=False)
        keep_from = previous_month(today)
        released = _count(await conn.execute(DELETE_RELEASED))
        expired = _count(await conn.execute(DELETE_PAST_HORIZON, raw_horizon_days, today))
        return RetentionResult(
            ran=True,
            released_reports=released,
            expired_reports=expired,
            texts=_count(await conn.execute(DELETE_TEXT, TEXT_RETENTION_DAYS, today)),
            submission_ids=_count(await conn.execute(CLEAR_SUBMISSIONS, keep_from)),
            tombstones=_count(await conn.execute(DELETE_TOMBSTONES, keep_from)),
            spent_challenges=_count(await conn.execute(DELETE_SPENT_POW, current_hour)),
            rate_keys=_count(await conn.execute(DELETE_RATE_KEYS, today)),
            rate_counters=_count(await conn.execute(DELETE_RATE_COUNTERS, today)),
        )
