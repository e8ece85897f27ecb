"""`straatstem release build|list` and the release settings, as an operator uses them."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tests.aggregation import seed
from tests.api.test_cli import run


async def test_release_build_list_and_refusals(dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> None:
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", seed.clustered(hague, ["2026-08", "2026-09"], 400))
    built = run(["release", "build", "--municipality", "den-haag", "--period", "2026-09"], dsn, tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("built the staff release of den-haag for 2026-09:")
    again = run(["release", "build", "--municipality", "den-haag", "--period", "2026-09"], dsn, tmp_path)
    assert again.returncode == 2 and again.stderr.strip().count("\n") == 0
    assert "exists and is frozen" in again.stderr
    due = run(["release", "build", "--all-due"], dsn, tmp_path)
    assert due.returncode == 0, due.stderr
    assert "den-haag for 2026-08" in due.stdout and "public release of den-haag for 2026-Q3" in due.stdout
    # The current month cannot be released yet: listed releases stop at the last closed month.
    listing = run(["release", "list", "--municipality", "den-haag"], dsn, tmp_path)
    periods = [line.split("\t")[1] for line in listing.stdout.splitlines()]
    assert periods[:3] == ["2026-07", "2026-08", "2026-09"] and "2026-Q3" in periods
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from release where period = '2026-09'") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--municipality", "den-haag", "--period", "2026-W40"], "--period: period must be a calendar month"),
        (["--municipality", "den-haag", "--period", "2026"], "a year is their sum"),
        (["--municipality", "den-haag"], "give --municipality and --period, or --all-due"),
        (["--municipality", "den-haag", "--period", "2099-01"], "can be released from 2099-02-04 on"),
        (["--municipality", "atlantis", "--period", "2026-01"], "no municipality 'atlantis'"),
        (["--all-due", "--period", "2026-01"], "leave out --municipality and --period"),
    ],
)
def test_release_build_errors_are_one_line(
    dsn: str, hague: list[int], tmp_path: Path, args: list[str], message: str
) -> None:
    result = run(["release", "build", *args], dsn, tmp_path)
    assert result.returncode == 2, result.stdout
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STRAATSTEM_RELEASE_K": "2"}, "STRAATSTEM_RELEASE_K must be between 3"),
        ({"STRAATSTEM_PUBLIC_THRESHOLD": "5"}, "STRAATSTEM_PUBLIC_THRESHOLD must be between 10"),
        ({"STRAATSTEM_RAW_HORIZON_DAYS": "30"}, "STRAATSTEM_RAW_HORIZON_DAYS must be between 100"),
        ({"STRAATSTEM_STAFF_EPSILON": "total=1.5,band=0.6"}, "adds up to more than STRAATSTEM_STAFF_EPSILON_CAP"),
        ({"STRAATSTEM_STAFF_EPSILON": "total=1,colour=0.5"}, "unknown layer 'colour'"),
        ({"STRAATSTEM_STAFF_EPSILON": "band=0.5"}, "must include the total layer"),
        ({"STRAATSTEM_STAFF_EPSILON": "total=much"}, "must be a decimal number"),
        ({"STRAATSTEM_STAFF_EPSILON_CAP": "9"}, "STRAATSTEM_STAFF_EPSILON_CAP must be above 0 and at most 4"),
        ({"STRAATSTEM_PUBLIC_EPSILON": "total=0"}, "positive epsilon"),
    ],
)
def test_release_settings_fail_in_one_line(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = run(["migrate"], None, tmp_path, **env)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr, result.stderr


async def test_the_scheduler_builds_what_is_due_once(clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> None:
    from api.app import run_releases_once
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", seed.clustered(hague, ["2026-09"], 200))
    first = await run_releases_once(clean, settings)
    assert {(o.audience, o.period) for o in first if o.built} >= {("staff", "2026-09"), ("public", "2026-Q3")}
    assert all(o.error is None for o in first)
    assert await run_releases_once(clean, settings) == []  # nothing is due twice
