"""Property tests of the intake invariants against a simple model, on real PostgreSQL."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from tests.conftest import TABLES_TO_CLEAR, asgi_client, make_settings, report_body, solved_pow, submit

PROPERTY = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


async def _fresh(pool: asyncpg.Pool, cells: list[int]) -> None:
    from api.municipalities import repository

    async with pool.acquire() as conn:
        await conn.execute(f"truncate {', '.join(TABLES_TO_CLEAR)} cascade")
        async with conn.transaction():
            await repository.add(conn, "den-haag", "Den Haag", cells)


def _client(pool: asyncpg.Pool, tmp: Path, **overrides: Any) -> httpx.AsyncClient:
    app = create_app(make_settings(tmp, **overrides), pool=pool)
    return asgi_client(app)


async def _reports(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return int(await conn.fetchval("select count(*) from report"))


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=12))
async def test_retries_never_duplicate(
    hague: list[int], tmp_path: Path, clean: asyncpg.Pool, plan: list[tuple[int, int]]
) -> None:
    """Plan items are (submission slot, body variant). The first use of a slot creates a
    report; the same body again returns it (200); another body under that id is a 409."""
    await _fresh(clean, hague)
    ids = [str(uuid.uuid4()) for _ in range(4)]
    bodies = {
        (s, v): report_body(hague[v], submission_id=ids[s], category=["verbal", "threat", "other"][v])
        for s in range(4)
        for v in range(3)
    }
    first: dict[int, tuple[int, dict[str, Any]]] = {}
    async with _client(clean, tmp_path, rate_limit_per_day=100, rate_limit_per_cell=100) as http:
        for slot, variant in plan:
            # Receipts are per body, so re-sending the same body is a genuine retry.
            body = bodies[(slot, variant)]
            response = await submit(http, body)
            if slot not in first:
                assert response.status_code == 201, response.text
                first[slot] = (variant, response.json())
            elif first[slot][0] == variant:
                assert response.status_code == 200 and response.json() == first[slot][1]
            else:
                assert response.status_code == 409
    assert await _reports(clean) == len(first)


@PROPERTY
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), min_size=1, max_size=15),
    st.integers(1, 3),
    st.integers(1, 2),
)
async def test_rate_caps_match_the_model(
    hague: list[int], tmp_path: Path, clean: asyncpg.Pool, plan: list[tuple[int, int]], day_cap: int, cell_cap: int
) -> None:
    await _fresh(clean, hague)
    ips = ["198.51.100.1", "198.51.100.2", "2001:db8::1"]
    per_day: Counter[int] = Counter()
    per_cell: Counter[tuple[int, int]] = Counter()
    async with _client(clean, tmp_path, rate_limit_per_day=day_cap, rate_limit_per_cell=cell_cap) as http:
        for ip, cell in plan:
            response = await submit(http, report_body(hague[cell]), ip=ips[ip])
            allowed = per_day[ip] < day_cap and per_cell[(ip, cell)] < cell_cap
            assert response.status_code == (201 if allowed else 429), response.text
            if allowed:
                per_day[ip] += 1
                per_cell[(ip, cell)] += 1
            else:
                assert int(response.headers["retry-after"]) > 0
    assert await _reports(clean) == sum(per_day.values())


@PROPERTY
@given(st.lists(st.integers(0, 2), min_size=1, max_size=8))
async def test_each_solved_challenge_works_once(
    hague: list[int], tmp_path: Path, clean: asyncpg.Pool, uses: list[int]
) -> None:
    await _fresh(clean, hague)
    async with _client(clean, tmp_path, rate_limit_per_day=100, rate_limit_per_cell=100) as http:
        solutions = [await solved_pow(http) for _ in range(3)]
        used: set[int] = set()
        for n, which in enumerate(uses):
            response = await submit(http, report_body(hague[n]), altcha=solutions[which])
            if which in used:
                assert response.status_code == 400 and response.json()["type"] == "/problems/proof-of-work-replayed"
            else:
                assert response.status_code == 201, response.text
                used.add(which)
    assert await _reports(clean) == len(used)


@PROPERTY
@given(
    st.lists(
        st.tuples(st.floats(-0.03, 0.03), st.floats(-0.045, 0.045), st.sampled_from([7, 8, 9, 9, 9, 10])),
        min_size=1,
        max_size=10,
    )
)
async def test_only_res9_cells_inside_coverage_are_stored(
    hague: list[int], tmp_path: Path, clean: asyncpg.Pool, points: list[tuple[float, float, int]]
) -> None:
    import h3.api.basic_int as h3i

    from privacy import location
    from tests.conftest import HAGUE

    await _fresh(clean, hague)
    covered = set(hague)
    expected_stored = set()
    async with _client(clean, tmp_path, rate_limit_per_day=100, rate_limit_per_cell=100) as http:
        for dlat, dlng, resolution in points:
            cell = h3i.latlng_to_cell(HAGUE[0] + dlat, HAGUE[1] + dlng, resolution)
            response = await submit(http, report_body(None, cell=location.cell_hex(cell)))
            if resolution != 9:
                assert response.status_code == 400 and response.json()["type"] == "/problems/invalid-cell"
            elif cell in covered:
                assert response.status_code == 201, response.text
                expected_stored.add(response.json()["id"])
            else:
                assert response.status_code == 422
    async with clean.acquire() as conn:
        rows = await conn.fetch("select id::text, cell from report")
    assert {r["id"] for r in rows} == expected_stored
    assert all(r["cell"] in covered and h3i.get_resolution(r["cell"]) == 9 for r in rows)


async def test_the_schema_itself_refuses_cells_outside_coverage_or_of_other_resolutions(
    clean: asyncpg.Pool, hague: list[int]
) -> None:
    import secrets

    import h3.api.basic_int as h3i

    from privacy import location

    outside = location.snap(52.3676, 4.9041)
    coarse = h3i.cell_to_parent(hague[0], 8)
    for cell in (outside, coarse):
        async with clean.acquire() as conn:
            try:
                await conn.execute(
                    "insert into report (municipality, id, cell, month, band, category, role, language, receipt_hash)"
                    " values ('den-haag', gen_random_uuid(), $1, '2026-11', 'night', 'verbal', 'victim', 'nl', $2)",
                    cell,
                    secrets.token_bytes(32),
                )
            except (asyncpg.ForeignKeyViolationError, asyncpg.CheckViolationError):
                continue
        raise AssertionError(f"the database accepted cell {cell:x}")
