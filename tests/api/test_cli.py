"""The `straatstem` command as an operator uses it: real processes, real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest


def run(args: list[str], dsn: str | None, tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_") and k != "DATABASE_URL"}
    environment.update(STRAATSTEM_DATA_DIR=str(tmp), STRAATSTEM_LOG_JSON="false", **env)
    if dsn:
        environment["DATABASE_URL"] = dsn
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, env=environment, timeout=120
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"STRAATSTEM_RATE_LIMIT_PER_DAY": "lots"}, "STRAATSTEM_RATE_LIMIT_PER_DAY"),
        ({"STRAATSTEM_RATE_LIMIT_PER_CELL": "0"}, "STRAATSTEM_RATE_LIMIT_PER_CELL"),
        ({"STRAATSTEM_POW_MAX_NUMBER": "10"}, "STRAATSTEM_POW_MAX_NUMBER"),
        ({"STRAATSTEM_ACCEPT_COORDINATES": "maybe"}, "STRAATSTEM_ACCEPT_COORDINATES"),
        ({"STRAATSTEM_SECRET_KEY": "not-hex"}, "STRAATSTEM_SECRET_KEY"),
        ({"STRAATSTEM_TRUSTED_PROXIES": "the-proxy"}, "STRAATSTEM_TRUSTED_PROXIES"),
        ({"DATABASE_URL": "mysql://localhost/x"}, "DATABASE_URL"),
    ],
)
def test_bad_settings_fail_in_one_line_naming_the_setting(tmp_path: Path, env: dict[str, str], named: str) -> None:
    result = run(["migrate"], None, tmp_path, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("straatstem: error:") and named in lines[0], result.stderr


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = run(["migrate"], "postgresql://nobody@127.0.0.1:9/none", tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "DATABASE_URL" in result.stderr


def test_migrate_is_idempotent(dsn: str, tmp_path: Path) -> None:
    assert run(["migrate"], dsn, tmp_path).returncode == 0
    result = run(["migrate"], dsn, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "applied 0 migration(s)" in result.stdout


async def test_migrate_reports_what_it_applied_to_a_fresh_database(dsn: str, tmp_path: Path) -> None:
    import secrets

    from api import db

    name = f"straatstem_fresh_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'create database "{name}"')
    try:
        result = run(["migrate"], db.with_database(dsn, name), tmp_path)
        assert result.returncode == 0, result.stderr
        shipped = [m.name for m in db.migrations()]
        assert result.stdout.strip() == f"applied {len(shipped)} migration(s): {', '.join(shipped)}"
    finally:
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


async def test_municipality_add_from_circle_and_boundary(dsn: str, clean: asyncpg.Pool, tmp_path: Path) -> None:
    added = run(
        [
            "municipality",
            "add",
            "--slug",
            "den-haag",
            "--name",
            "Den Haag",
            "--center",
            "52.08,4.31",
            "--radius-km",
            "1",
        ],
        dsn,
        tmp_path,
    )
    assert added.returncode == 0, added.stderr
    assert "added den-haag with" in added.stdout
    # A boundary that overlaps the circle: shared cells stay with the first municipality.
    boundary = tmp_path / "area.geojson"
    boundary.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[4.30, 52.07], [4.35, 52.07], [4.35, 52.10], [4.30, 52.10], [4.30, 52.07]]],
                },
            }
        )
    )
    second = run(
        ["municipality", "add", "--slug", "rijswijk-test", "--name", "Test", "--boundary", str(boundary)], dsn, tmp_path
    )
    assert second.returncode == 0, second.stderr
    assert "already belonged to another municipality" in second.stdout
    async with clean.acquire() as conn:
        per = dict(await conn.fetch("select municipality, count(*) from coverage group by municipality"))
        overlap = await conn.fetchval(
            "select count(*) from (select cell from coverage group by cell having count(*) > 1) x"
        )
    assert per["den-haag"] > 20 and per["rijswijk-test"] > 20 and overlap == 0
    listed = run(["municipality", "list"], dsn, tmp_path)
    assert "den-haag\tDen Haag" in listed.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "Den Haag!", "--name", "X", "--center", "52.08,4.31", "--radius-km", "1"], "--slug"),
        (["--slug", "x-y", "--name", "X", "--center", "52.08", "--radius-km", "1"], "--center"),
        (["--slug", "x-y", "--name", "X", "--center", "52.08,4.31"], "--radius-km"),
        (["--slug", "x-y", "--name", "X", "--center", "52.08,4.31", "--radius-km", "500"], "radius"),
        (["--slug", "x-y", "--name", "X", "--boundary", "/nonexistent.geojson"], "cannot read"),
    ],
)
def test_municipality_add_errors_are_one_line(dsn: str, tmp_path: Path, args: list[str], message: str) -> None:
    result = run(["municipality", "add", *args], dsn, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr, result.stderr


def test_duplicate_municipality_is_refused(dsn: str, tmp_path: Path, hague: list[int]) -> None:
    result = run(
        ["municipality", "add", "--slug", "den-haag", "--name", "Again", "--center", "51.9,4.4", "--radius-km", "1"],
        dsn,
        tmp_path,
    )
    assert result.returncode == 2 and "already exists" in result.stderr


def test_openapi_writes_the_contract(tmp_path: Path) -> None:
    result = run(["openapi", "--output", str(tmp_path / "contract")], None, tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "contract" / "openapi.json").read_text())
    assert document["openapi"].startswith("3.1") and "/v1/reports" in document["paths"]


async def test_reports_import_end_to_end(dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> None:
    from privacy import location

    good = tmp_path / "good.csv"
    # Second row uses a cell instead of coordinates.
    good.write_text(
        "category;role;band;date;lat;lng;cell\n"
        "verbal;victim;evening;2026-09-14;52,0799317;4,3247123;\n"
        f"threat;witness;night;2026-10;;;{location.cell_hex(hague[3])}\n"
    )
    result = run(["reports", "import", str(good)], dsn, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "52,0799" not in result.stdout + result.stderr and "52.0799" not in result.stdout + result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("category,role,band,date,cell\nrobbery,victim,night,2026-10," + location.cell_hex(hague[0]) + "\n")
    refused = run(["reports", "import", str(bad)], dsn, tmp_path)
    assert refused.returncode == 1 and "row 2" in refused.stdout
    wrong_type = tmp_path / "reports.xlsx"
    wrong_type.write_text("x")
    error = run(["reports", "import", str(wrong_type)], dsn, tmp_path)
    assert error.returncode == 2 and error.stderr.count("\n") == 1 and ".csv" in error.stderr
    async with clean.acquire() as conn:
        months = sorted(r["month"] for r in await conn.fetch("select month from report"))
    assert months == ["2026-09", "2026-10"]
