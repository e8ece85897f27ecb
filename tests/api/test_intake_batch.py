"""`intake_submit_batch` (migration 0006): a plain batch is stored set-based, anything else by
the per-report loop, and the outcomes and stored rows are those of the loop either way."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

import asyncpg
import msgspec
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.intake import repository as repo

DAY = dt.date(2026, 11, 24)


def submission(cell: int, **overrides: Any) -> repo.Submission:
    values: dict[str, Any] = {
        "cell": cell,
        "month": "2026-11",
        "band": "evening",
        "category": "verbal",
        "role": "victim",
        "felt_safety": 3,
        "language": "nl",
        "submission_id": uuid.uuid4(),
        "submission_mac": secrets.token_bytes(32),
        "receipt_hash": secrets.token_bytes(32),
        "body": None,
        "pii_removed": [],
        "pow_key": secrets.token_bytes(16),
        "pow_expires_hour": 500_000,
        "day": DAY,
        "cell_token": secrets.token_bytes(16),
        "cell_cap": 1,
        "day_token": secrets.token_bytes(16),
        "day_cap": 5,
    }
    return repo.Submission(**(values | overrides))


async def per_report_calls(conn: asyncpg.Connection, items: list[repo.Submission]) -> tuple[list[Any], int]:
    """Outcomes of one batch call, and how many times it fell back to the per-report function."""
    await conn.execute("set track_functions = 'pl'")

    async def calls() -> int:
        await conn.execute("select pg_stat_force_next_flush()")
        return int(
            await conn.fetchval(
                "select coalesce(sum(calls), 0) from pg_stat_user_functions where funcname = 'intake_submit'"
            )
        )

    before = await calls()
    outcomes = await repo.submit_batch(conn, items)
    return outcomes, await calls() - before


def reasons(outcomes: list[Any]) -> list[str]:
    return [o.reason if isinstance(o, repo.Refused) else ("created" if o.created else "existing") for o in outcomes]


async def table_counts(conn: asyncpg.Connection) -> dict[str, int]:
    tables = ("report", "report_text", "pow_spent", "rate_counter")
    return {t: int(await conn.fetchval(f"select count(*) from {t}")) for t in tables}  # noqa: S608 - fixed names


async def test_a_plain_batch_is_stored_without_the_per_report_loop(clean: asyncpg.Pool, hague: list[int]) -> None:
    network = secrets.token_bytes(16)  # three reports from one network: one day token, counted 3 times
    items = [
        submission(hague[0], body="Hij riep me na.", pii_removed=["name", "phone"]),
        submission(hague[1], day_token=network),
        submission(hague[2], day_token=network, felt_safety=None),
        submission(hague[3], day_token=network),
    ]
    async with clean.acquire() as conn:
        outcomes, loops = await per_report_calls(conn, items)
        assert loops == 0
        assert reasons(outcomes) == ["created"] * 4
        assert [(o.cell, o.municipality, o.month) for o in outcomes] == [  # type: ignore[union-attr]
            (s.cell, "den-haag", "2026-11") for s in items
        ]
        ids = [o.id for o in outcomes]  # type: ignore[union-attr]
        assert len(set(ids)) == 4 and {i.version for i in ids} == {4}  # drawn by the database
        rows = await conn.fetch("select * from report")
        stored = {r["submission_id"]: (r["id"], r["submission_mac"], r["felt_safety"]) for r in rows}
        assert stored == {
            s.submission_id: (i, s.submission_mac, s.felt_safety) for s, i in zip(items, ids, strict=True)
        }
        text = await conn.fetchrow("select * from report_text")
        assert (text["report_id"], text["body"], text["pii_removed"]) == (ids[0], "Hij riep me na.", ["name", "phone"])
        counters = {bytes(r["token"]): r["count"] for r in await conn.fetch("select token, count from rate_counter")}
        assert counters[network] == 3 and len(counters) == 4 + 2


async def test_anything_else_gets_the_loops_outcomes_and_leaves_no_trace_of_the_attempt(
    clean: asyncpg.Pool, hague: list[int]
) -> None:
    async with clean.acquire() as conn:
        earlier = submission(hague[0])
        withdrawn = submission(hague[1])
        capped = submission(hague[2])
        first, loops = await per_report_calls(conn, [earlier, withdrawn, capped])
        assert (reasons(first), loops) == (["created"] * 3, 0)
        await repo.delete_report(conn, first[1].id, withdrawn.receipt_hash)  # type: ignore[union-attr]
        before = await table_counts(conn)

        fresh = submission(hague[3], body="Iemand volgde me.")
        twin = submission(hague[4])
        items = [
            msgspec.structs.replace(earlier, pow_key=secrets.token_bytes(16)),  # an identical retry
            msgspec.structs.replace(earlier, submission_mac=secrets.token_bytes(32)),  # id reused
            msgspec.structs.replace(withdrawn, pow_key=secrets.token_bytes(16)),
            submission(hague[5], pow_key=earlier.pow_key),  # a spent proof of work
            submission(hague[2], cell_token=capped.cell_token),  # the place's cap is reached
            submission(12345),  # not a served cell
            fresh,
            twin,
            msgspec.structs.replace(twin, pow_key=secrets.token_bytes(16)),  # same id twice in a batch
        ]
        outcomes, loops = await per_report_calls(conn, items)
        assert loops > 0
        assert reasons(outcomes) == [
            "existing",
            "conflict",
            "withdrawn",
            "replay",
            "rate_cell",
            "outside",
            "created",
            "created",
            "existing",
        ]
        after = await table_counts(conn)
        # Only `fresh` and `twin` were stored: the set-based attempt was rolled back entirely.
        assert after == before | {
            "report": before["report"] + 2,
            "report_text": before["report_text"] + 1,
            "pow_spent": before["pow_spent"] + 2,
            "rate_counter": before["rate_counter"] + 4,
        }


async def test_a_day_cap_within_one_batch_is_counted_in_order(clean: asyncpg.Pool, hague: list[int]) -> None:
    network = secrets.token_bytes(16)
    items = [submission(cell, day_token=network, day_cap=2) for cell in hague[:3]]
    async with clean.acquire() as conn:
        outcomes, _ = await per_report_calls(conn, items)
    assert reasons(outcomes) == ["created", "created", "rate_day"]


async def test_the_batch_function_never_plans_a_sequential_scan(clean: asyncpg.Pool) -> None:
    """Its cached generic plans are made before the tables grow; a sequential scan of report
    chosen then tripled the database's CPU per report within 60,000 reports (ops/bench)."""
    async with clean.acquire() as conn:
        config = await conn.fetchval("select proconfig from pg_proc where proname = 'intake_submit_batch'")
    assert "enable_seqscan=off" in (config or [])


# Text as the service stores it: stripped, not empty, no NUL (refused first), no lone
# surrogates (msgspec refuses them when it decodes the request).
TRICKY = ['"', "\\", "\\u0041", "\u2028", "\u2029", "\n\t", "\U0001f600", "e\u0301", "\x7f", "\ufeff"]
stored_text = st.lists(
    st.sampled_from(TRICKY)
    | st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40),
    min_size=1,
    max_size=6,
).map(lambda parts: f"[{''.join(parts)}]")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bodies=st.lists(stored_text | st.none(), min_size=1, max_size=5),
    removed=st.lists(st.sampled_from(["email", "phone", "name"]), unique=True),
)
@example(bodies=["".join(TRICKY), None], removed=["email"])
async def test_the_batch_travels_as_json_without_changing_a_value(
    clean: asyncpg.Pool, hague: list[int], bodies: list[str | None], removed: list[str]
) -> None:
    """repository.SUBMIT_BATCH hands the batch over as JSON: quotes, backslashes, escapes,
    line and paragraph separators and astral characters arrive as they were sent, and so do
    the bytes and the empty lists."""
    items = [
        submission(
            hague[i], body=body, pii_removed=removed if body is not None else [], felt_safety=None if i % 2 else 4
        )
        for i, body in enumerate(bodies)
    ]
    async with clean.acquire() as conn:
        await conn.execute("truncate report, report_text, pow_spent, rate_counter cascade")
        outcomes, loops = await per_report_calls(conn, items)
        assert (reasons(outcomes), loops) == (["created"] * len(items), 0)
        reports = {r["submission_id"]: r for r in await conn.fetch("select * from report")}
        texts = {r["report_id"]: r for r in await conn.fetch("select * from report_text")}
    for item, outcome in zip(items, outcomes, strict=True):
        row = reports[item.submission_id]
        assert (row["id"], row["cell"], row["felt_safety"]) == (outcome.id, item.cell, item.felt_safety)  # type: ignore[union-attr]
        assert (bytes(row["submission_mac"]), bytes(row["receipt_hash"])) == (item.submission_mac, item.receipt_hash)
        text = texts.get(row["id"])
        if item.body is None:
            assert text is None
        else:
            assert text is not None and (text["body"], text["pii_removed"]) == (item.body, item.pii_removed)
