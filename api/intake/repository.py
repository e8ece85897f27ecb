"""SQL of the intake capability. Functions take a connection; callers own transactions.

Submissions go to the database in batches (api/intake/batcher.py): one call of
`intake_submit_batch` (api/migrations/0006) stores a plain batch (all new, covered, unspent,
under the caps) set-based, and otherwise runs `intake_submit` per item in its own
subtransaction (0001), so refusals roll back completely; a batch commits once.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

# Column order for bulk loads (COPY) into `report`: the demo data and historical imports.
REPORT_COLUMNS = (
    "municipality",
    "id",
    "cell",
    "month",
    "band",
    "category",
    "role",
    "felt_safety",
    "language",
    "submission_id",
    "submission_mac",
    "receipt_hash",
)
# The batch travels as one JSON object of columns (`_columns`), which PostgreSQL turns into the
# function's arrays. Binding twenty array parameters instead cost the serving process about
# 7 us per report: asyncpg checks every element of an array against abstract base classes,
# some thirty checks a report, where msgspec writes the JSON in C. The report ids (version 4
# UUIDs) are drawn here too, by gen_random_uuid() from PostgreSQL's strong random source,
# rather than per report by uuid.uuid4() in the one process that serves every request.
SUBMIT_BATCH = """
select r.idx, r.outcome, r.r_id, r.r_municipality, r.r_cell, r.r_month
  from json_to_record($1::json) as b (
           cell bigint[], month text[], band text[], category text[], role text[],
           felt_safety smallint[], language text[], submission_id uuid[], submission_mac bytea[],
           receipt_hash bytea[], body text[], pii_removed text[], pow_key bytea[],
           pow_expires_hour integer[], day date[], cell_token bytea[], cell_cap integer,
           day_token bytea[], day_cap integer
       ),
       intake_submit_batch(array(select gen_random_uuid() from unnest(b.cell)), b.cell, b.month,
                           b.band, b.category, b.role, b.felt_safety, b.language, b.submission_id,
                           b.submission_mac, b.receipt_hash, b.body, b.pii_removed, b.pow_key,
                           b.pow_expires_hour, b.day, b.cell_token, b.cell_cap, b.day_token,
                           b.day_cap) r
"""
GET_REPORT = """
select r.id, r.municipality, r.cell, r.month, r.category, r.role, r.band, r.felt_safety,
       r.receipt_hash, exists (select 1 from report_text t
                               where t.municipality = r.municipality and t.report_id = r.id)
           as has_description
  from report r where r.id = $1
"""
DELETE_REPORT = """
with gone as (
    delete from report where id = $1 and receipt_hash = $2
    returning submission_id, month
), tombstone as (
    insert into withdrawn_submission (submission_id, month)
    select submission_id, month from gone where submission_id is not null
    on conflict do nothing
)
select count(*) from gone
"""
GET_RATE_KEY = "select key from rate_key where day = $1"
PUT_RATE_KEY = "insert into rate_key (day, key) values ($1, $2) on conflict (day) do nothing"
DROP_OLD_RATE_KEYS = "delete from rate_key where day < $1"
DROP_OLD_COUNTERS = "delete from rate_counter where day < $1"
DROP_SPENT_POW = "delete from pow_spent where expires_hour < $1"


class Refused(Exception):
    """The database function refused a submission; `reason` is one of its outcome codes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Submission(msgspec.Struct, frozen=True):
    """One report ready to store (a msgspec struct: built per report, three times faster than
    a frozen dataclass of twenty fields). The report's id is drawn when it is stored."""

    cell: int
    month: str
    band: str
    category: str
    role: str
    felt_safety: int | None
    language: str
    submission_id: uuid.UUID
    submission_mac: bytes
    receipt_hash: bytes
    body: str | None
    pii_removed: list[str]
    pow_key: bytes
    pow_expires_hour: int
    day: dt.date
    cell_token: bytes
    cell_cap: int
    day_token: bytes
    day_cap: int


_encode = msgspec.json.Encoder().encode


class Stored(msgspec.Struct, frozen=True):
    created: bool
    id: uuid.UUID
    municipality: str
    cell: int
    month: str


async def submit_batch(conn: asyncpg.Connection, items: list[Submission]) -> list[Stored | Refused]:
    """Submit several reports in one call and one commit; outcomes in input order. Caps are
    the same for every item of a batch (they come from settings)."""
    rows = await conn.fetch(SUBMIT_BATCH, _encode(_columns(items)).decode())
    results: list[Stored | Refused] = []
    for row in sorted(rows, key=lambda r: r["idx"]):
        outcome: str = row["outcome"]
        if outcome.startswith("straatstem:"):
            results.append(Refused(outcome.removeprefix("straatstem:")))
        else:
            results.append(
                Stored(outcome == "created", row["r_id"], row["r_municipality"], row["r_cell"], row["r_month"])
            )
    if len(results) != len(items):
        raise RuntimeError("intake_submit_batch returned a different number of outcomes")
    return results


def _columns(items: list[Submission]) -> dict[str, object]:
    """The batch as the JSON object SUBMIT_BATCH reads: a list per argument, bytes in
    PostgreSQL's hex form, the caps once."""
    return {
        "cell": [s.cell for s in items],
        "month": [s.month for s in items],
        "band": [s.band for s in items],
        "category": [s.category for s in items],
        "role": [s.role for s in items],
        "felt_safety": [s.felt_safety for s in items],
        "language": [s.language for s in items],
        "submission_id": [s.submission_id for s in items],
        "submission_mac": [_bytea(s.submission_mac) for s in items],
        "receipt_hash": [_bytea(s.receipt_hash) for s in items],
        "body": [s.body for s in items],
        "pii_removed": [",".join(s.pii_removed) for s in items],
        "pow_key": [_bytea(s.pow_key) for s in items],
        "pow_expires_hour": [s.pow_expires_hour for s in items],
        "day": [s.day for s in items],
        "cell_token": [_bytea(s.cell_token) for s in items],
        "cell_cap": items[0].cell_cap,
        "day_token": [_bytea(s.day_token) for s in items],
        "day_cap": items[0].day_cap,
    }


def _bytea(value: bytes) -> str:
    return "\\x" + value.hex()


async def get_report(conn: asyncpg.Connection, report_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(GET_REPORT, report_id)


async def delete_report(conn: asyncpg.Connection, report_id: uuid.UUID, receipt_hash: bytes) -> bool:
    return bool(await conn.fetchval(DELETE_REPORT, report_id, receipt_hash))


async def rate_key(conn: asyncpg.Connection, day: dt.date, fresh: bytes) -> bytes:
    """The day's key, creating it from `fresh` if this replica is first; older keys are
    destroyed in the same step."""
    async with conn.transaction():
        await conn.execute(PUT_RATE_KEY, day, fresh)
        await conn.execute(DROP_OLD_RATE_KEYS, day)
        await conn.execute(DROP_OLD_COUNTERS, day)
        key = await conn.fetchval(GET_RATE_KEY, day)
    assert isinstance(key, bytes)
    return key


async def drop_spent_pow(conn: asyncpg.Connection, current_hour: int) -> int:
    result = await conn.execute(DROP_SPENT_POW, current_hour)
    return int(result.split()[-1])
