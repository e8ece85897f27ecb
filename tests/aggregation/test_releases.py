"""Release building on real PostgreSQL: k rule on true counts, conservation and partition,
frozen storage, the epsilon ledger, and the public release's coarseness and bands."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from fractions import Fraction

import asyncpg
import h3.api.basic_int as h3i
import msgspec
import pytest

from aggregation import releases
from aggregation.releases import LAYER_PARTS, PublicRelease, ReleaseConfig, ReleaseError, StaffRelease
from api.settings import DEFAULT_STAFF_EPSILON
from privacy.periods import parse_period
from tests.aggregation import seed

TODAY = dt.date(2026, 11, 24)
STAFF = DEFAULT_STAFF_EPSILON
CONFIG = ReleaseConfig(k=5, staff_epsilon=STAFF, staff_cap=Fraction(2), public_epsilon={"total": Fraction(1)})


def true_under(cell: int, resolution: int, rows: list[seed.Row], month: str | None = None) -> list[seed.Row]:
    return [
        r
        for r in rows
        if (month is None or r[1] == month)
        and (r[0] if resolution == 9 else h3i.cell_to_parent(r[0], resolution)) == cell
    ]


def check_staff_release(release: StaffRelease, rows: list[seed.Row], coverage: list[int], k: int) -> None:
    units = [(h3i.str_to_int(u.cell), u.resolution) for u in release.units]
    suppressed = [h3i.str_to_int(c) for c in release.suppressed]
    # Partition: every covered cell lies under exactly one displayed unit or suppressed region.
    for cell in coverage:
        owners = [u for u in units if (cell if u[1] == 9 else h3i.cell_to_parent(cell, u[1])) == u[0]]
        owners += [(s, 7) for s in suppressed if h3i.cell_to_parent(cell, 7) == s]
        assert len(owners) == 1, (cell, owners)
    # No displayed cell is an ancestor of another.
    shown = {c for c, _ in units} | set(suppressed)
    for cell, resolution in units:
        for coarser in range(7, resolution):
            assert h3i.cell_to_parent(cell, coarser) not in shown
    # k on true counts, for every displayed unit and every part of a shown breakdown.
    for unit, (cell, resolution) in zip(release.units, units, strict=True):
        inside = true_under(cell, resolution, rows, release.period)
        assert len(inside) == 0 or len(inside) >= k
        for layer, values in unit.layers.items():
            assert len(values) == len(LAYER_PARTS[layer])
            parts: Counter[str] = Counter()
            for _, _, category, band, felt in inside:
                parts[
                    {
                        "category": category,
                        "band": band,
                        "felt_safety": str(felt) if felt else "none",
                        "category_band": f"{category}/{band}",
                    }[layer]
                ] += 1
            assert all(v == 0 or v >= k for v in parts.values()), (layer, parts)
    for region in suppressed:
        assert len(true_under(region, 7, rows, release.period)) < k


async def test_staff_release_respects_k_partition_and_is_frozen(clean: asyncpg.Pool, hague: list[int]) -> None:
    rows = seed.clustered(hague, ["2026-09", "2026-10"], 4000)
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", rows)
        built = await releases.build(conn, CONFIG, "den-haag", "staff", parse_period("2026-10"), TODAY)
        assert built.units > 0
        body = await releases.stored_body(conn, "den-haag", "staff", "2026-10")
        assert body is not None
        release = msgspec.json.decode(body, type=StaffRelease)
        check_staff_release(release, rows, hague, 5)
        assert {u.resolution for u in release.units} >= {9}
        assert any(u.layers for u in release.units), "clustered data should pass some breakdowns"
        # Noise is there: the noisy counts are not all equal to the true counts.
        exact = [
            len(true_under(h3i.str_to_int(u.cell), u.resolution, rows, "2026-10")) == u.count for u in release.units
        ]
        assert not all(exact)

        # Frozen: a second build is refused, new reports change nothing, rows cannot change.
        await seed.insert(conn, "den-haag", seed.clustered(hague, ["2026-10"], 500, seed=99))
        with pytest.raises(ReleaseError) as refused:
            await releases.build(conn, CONFIG, "den-haag", "staff", parse_period("2026-10"), TODAY)
        assert refused.value.code == "exists"
        assert await releases.stored_body(conn, "den-haag", "staff", "2026-10") == body
        with pytest.raises(asyncpg.RaiseError, match="frozen"):
            await conn.execute("update release set k = 7")
        with pytest.raises(asyncpg.RaiseError, match="frozen"):
            await conn.execute("delete from release")
        with pytest.raises(asyncpg.RaiseError, match="frozen"):
            await conn.execute("update epsilon_ledger set epsilon = '0.1'")
        ledger = await releases.ledger(conn, "den-haag")
        assert {(e.layer, e.epsilon) for e in ledger} == {(k, releases.decimal_text(v)) for k, v in STAFF.items()}
        assert sum(Fraction(e.epsilon) for e in ledger) <= Fraction(2)


async def test_empty_month_still_gets_a_release_with_everything_suppressed(
    clean: asyncpg.Pool, hague: list[int]
) -> None:
    async with clean.acquire() as conn:
        await releases.build(conn, CONFIG, "den-haag", "staff", parse_period("2026-07"), TODAY)
        release = msgspec.json.decode(
            await releases.stored_body(conn, "den-haag", "staff", "2026-07") or b"", type=StaffRelease
        )
    assert release.units == []
    assert set(release.suppressed) == {h3i.int_to_str(h3i.cell_to_parent(c, 7)) for c in hague}


@pytest.mark.parametrize(
    ("audience", "period", "delay", "code"),
    [
        ("staff", "2026-11", 3, "not-closed"),  # the current month
        ("staff", "2026-10", 30, "not-closed"),  # closed, but within the delay
        ("staff", "2026-Q3", 3, "bad-period"),  # staff releases are monthly
        ("public", "2026-09", 3, "bad-period"),  # public releases are quarterly
        ("public", "2026-Q4", 3, "not-closed"),
    ],
)
async def test_refuses_open_or_wrong_periods(
    clean: asyncpg.Pool, hague: list[int], audience: releases.Audience, period: str, delay: int, code: str
) -> None:
    config = ReleaseConfig(k=5, staff_epsilon=STAFF, delay_days=delay)
    async with clean.acquire() as conn:
        with pytest.raises(ReleaseError) as refused:
            await releases.build(conn, config, "den-haag", audience, parse_period(period), TODAY)
        assert refused.value.code == code
        assert await conn.fetchval("select count(*) from release") == 0


async def test_refuses_unknown_municipality(clean: asyncpg.Pool) -> None:
    async with clean.acquire() as conn:
        with pytest.raises(ReleaseError) as refused:
            await releases.build(conn, CONFIG, "atlantis", "staff", parse_period("2026-10"), TODAY)
    assert refused.value.code == "unknown-municipality"


async def test_ledger_refuses_a_release_over_the_cap_and_stores_nothing(clean: asyncpg.Pool, hague: list[int]) -> None:
    greedy = ReleaseConfig(k=5, staff_epsilon={"total": Fraction(3, 2), "category": Fraction(3, 5)})
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", seed.clustered(hague, ["2026-10"], 300))
        with pytest.raises(ReleaseError) as refused:
            await releases.build(conn, greedy, "den-haag", "staff", parse_period("2026-10"), TODAY)
        assert refused.value.code == "budget"
        assert await conn.fetchval("select count(*) from release") == 0
        assert await conn.fetchval("select count(*) from epsilon_ledger") == 0


async def test_public_release_is_coarse_banded_and_above_threshold(clean: asyncpg.Pool, hague: list[int]) -> None:
    rows = seed.clustered(hague, ["2026-07", "2026-08", "2026-09"], 6000)
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", rows)
        await releases.build(conn, CONFIG, "den-haag", "public", parse_period("2026-Q3"), TODAY)
        body = await releases.stored_body(conn, "den-haag", "public", "2026-Q3")
    assert body is not None
    public = msgspec.json.decode(body, type=PublicRelease)
    assert public.cells, "6000 clustered reports must show somewhere"
    assert all(c.resolution in (7, 8) for c in public.cells)
    assert {c.band for c in public.cells} <= set(public.bands)
    assert b'"count"' not in body  # bands only, never a number per cell
    for cell in public.cells:
        inside = true_under(h3i.str_to_int(cell.cell), cell.resolution, rows)
        assert len(inside) >= 5


async def test_due_lists_closed_unreleased_periods(clean: asyncpg.Pool, hague: list[int]) -> None:
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", seed.clustered(hague, ["2026-06"], 20))
        await releases.build(conn, CONFIG, "den-haag", "staff", parse_period("2026-08"), TODAY)
        due = await releases.due(conn, TODAY, 3)
    assert [(a, str(p)) for m, a, p in due if m == "den-haag"] == [
        ("staff", "2026-04"),
        ("staff", "2026-05"),
        ("staff", "2026-06"),
        ("staff", "2026-07"),
        ("staff", "2026-09"),
        ("staff", "2026-10"),
        ("public", "2026-Q2"),
        ("public", "2026-Q3"),
    ]


def test_config_enforces_the_k_floor() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        ReleaseConfig(k=2)
    with pytest.raises(ValueError, match="floor of 10"):
        ReleaseConfig(public_threshold=9)


def test_decimal_text_is_exact() -> None:
    assert releases.decimal_text(Fraction(3, 10)) == "0.3"
    assert releases.decimal_text(Fraction(2)) == "2"
    with pytest.raises(ValueError):
        releases.decimal_text(Fraction(1, 3))
