from __future__ import annotations

import datetime as dt
from pathlib import Path

import asyncpg

from api import demo
from api.settings import Settings
from privacy import coarsen
from privacy.periods import parse_period


async def test_demo_data_is_clustered_inside_coverage_and_idempotent(clean: asyncpg.Pool, tmp_path: Path) -> None:
    settings = Settings(secret_key=b"\0" * 32, data_dir=tmp_path)
    lines = await demo.ensure_demo_data(clean, settings)
    password = (tmp_path / demo.DEMO_LOGIN_FILE).read_text()
    assert oct((tmp_path / demo.DEMO_LOGIN_FILE).stat().st_mode & 0o777) == "0o600"
    assert any(password in line for line in lines)
    async with clean.acquire() as conn:
        per_city = dict(await conn.fetch("select municipality, count(*) from report group by municipality"))
        outside = await conn.fetchval(
            "select count(*) from report r left join coverage c on c.cell = r.cell and c.municipality = r.municipality"
            " where c.cell is null"
        )
        months = {r["month"] for r in await conn.fetch("select distinct month from report")}
        cell_counts = [
            r["n"]
            for r in await conn.fetch(
                "select count(*) as n from report where municipality = 'amsterdam' group by cell order by n desc"
            )
        ]
        coverage = await conn.fetchval("select count(*) from coverage where municipality = 'amsterdam'")
        texts = await conn.fetchval("select count(*) from report_text")
    assert per_city == {c.slug: c.reports for c in demo.CITIES}
    assert outside == 0
    today = dt.datetime.now(coarsen.AMSTERDAM).date()
    assert months == set(demo._months(today)) and len(months) == 7
    # Clustered: the busiest 5% of Amsterdam's cells hold far more than 5% of its reports.
    top = sum(cell_counts[: max(1, coverage // 20)])
    assert top / sum(cell_counts) > 0.35
    assert texts == 0  # demo reports carry no free text

    async with clean.acquire() as conn:
        # Closed months and quarters are released, every city has an analyst and an admin.
        released = {r["period"] for r in await conn.fetch("select period from release where municipality = 'almere'")}
        staff = await conn.fetchval("select count(*) from staff")
        discussions = await conn.fetch("select municipality, state from discussion order by municipality")
        seeds = await conn.fetchval("select count(*) from statement")
    # One open discussion per city with its seed statements, for the public page and the chatbot.
    assert [(r["municipality"], r["state"]) for r in discussions] == sorted((c.slug, "open") for c in demo.CITIES)
    assert seeds == len(demo.DEMO_SEEDS) * len(demo.CITIES)
    closed = {m for m in demo._months(today) if parse_period(m).is_closed(today, settings.release_delay_days)}
    assert len(closed) >= 5
    assert closed <= released
    assert staff == 2 * len(demo.CITIES)

    assert await demo.ensure_demo_data(clean, settings) == lines
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from report") == sum(per_city.values())
        assert await conn.fetchval("select count(*) from discussion") == len(demo.CITIES)


def test_generation_is_deterministic() -> None:
    city = demo.CITIES[2]
    from api.municipalities.service import cells_from_circle

    cells = cells_from_circle(f"{city.lat},{city.lng}", city.radius_km)
    day = dt.date(2026, 11, 24)
    assert demo.generate(city, cells, day) == demo.generate(city, cells, day)
