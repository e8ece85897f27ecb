"""ops/backup/backup.sh and restore_check.py on real PostgreSQL: a database filled through the
product's own code (intake API, seeded reports, a frozen release, staff, a discussion with
votes) is dumped, restored into a fresh database and found complete; a restored copy that
lost a row, or whose frozen release changed, is refused. The PostgreSQL client programs are
the ones of the server's major version (16 embedded, 15 in CI's second run)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import runpy
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from aggregation import releases
from api import db
from privacy.periods import parse_period
from tests.aggregation import seed
from tests.aggregation.test_releases import CONFIG
from tests.api.test_deliberation import join, moderator, open_discussion, serving
from tests.conftest import report_body, submit

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "ops" / "backup" / "backup.sh"
RESTORE_CHECK = ROOT / "ops" / "backup" / "restore_check.py"


def tool_env(dsn: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRAATSTEM_", "PG"))}
    env["DATABASE_URL"] = dsn
    return env


def backup(dsn: str, out: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(BACKUP), str(out)], env=env or tool_env(dsn), capture_output=True, text=True, timeout=300
    )


def restore_check(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RESTORE_CHECK), *args],
        env=tool_env(dsn),
        capture_output=True,
        text=True,
        timeout=300,
    )


async def restore_databases(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("select datname from pg_database where datname like 'straatstem_restore_%'")
    finally:
        await conn.close()
    return {r["datname"] for r in rows}


@pytest.fixture
async def populated(clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> AsyncIterator[dict[str, int]]:
    """Rows in every capability's tables, written the way the product writes them."""
    async with serving(clean, tmp_path) as (http, _engine):
        for i in range(6):
            body = report_body(hague[i], **({"description": "bij de bushalte, 's avonds"} if i % 2 else {}))
            response = await submit(http, body, ip=f"198.51.100.{10 + i}")
            assert response.status_code == 201, response.text
        staff = await moderator(http, clean)
        discussion = await open_discussion(http, staff)
        for _ in range(3):
            me = await join(http, discussion)
            for statement in (1, 2, 3):
                voted = await http.post(
                    f"/v1/discussions/{discussion}/votes", json={"statement": statement, "value": 1}, headers=me
                )
                assert voted.status_code == 204, voted.text
    async with clean.acquire() as conn:
        await seed.insert(conn, "den-haag", seed.clustered(hague, ["2026-10"], 600))
        built = await releases.build(conn, CONFIG, "den-haag", "staff", parse_period("2026-10"), dt.date(2026, 11, 24))
        assert built.units > 0
        counts = {
            table: await conn.fetchval(f"select count(*) from {table}")  # noqa: S608 - fixed names
            for table in ("report", "report_text", "release", "epsilon_ledger", "vote", "staff_session")
        }
    assert all(counts.values()), counts
    yield counts


async def test_backup_restores_into_a_fresh_database_with_every_row(
    populated: dict[str, int], dsn: str, tmp_path: Path
) -> None:
    before = await restore_databases(dsn)
    dump = tmp_path / "straatstem.dump"
    made = backup(dsn, dump)
    assert made.returncode == 0, made.stderr
    for path in (dump, Path(f"{dump}.sha256"), Path(f"{dump}.manifest.json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path  # a dump holds report rows and free text
    manifest = json.loads(Path(f"{dump}.manifest.json").read_bytes())  # noqa: ASYNC240 - a small local file
    for table, rows in populated.items():
        assert manifest["tables"][f"public.{table}"] == rows

    checked = restore_check(dsn, str(dump), "--server", dsn)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert re.search(r"^public\.report\s+\d+\s+\d+$", checked.stdout, re.M)
    assert "release rows (sha256)" in checked.stdout and "differs" not in checked.stdout
    assert checked.stdout.rstrip().splitlines()[-1].startswith("OK: ")

    # Against the live source too: exact here because nothing writes meanwhile.
    live = restore_check(dsn, str(dump), "--server", dsn, "--source", dsn)
    assert live.returncode == 0, live.stdout + live.stderr
    assert await restore_databases(dsn) == before  # the scratch databases were dropped


async def test_a_restored_copy_missing_a_row_or_with_a_changed_release_is_refused(
    populated: dict[str, int], dsn: str, tmp_path: Path
) -> None:
    dump = tmp_path / "straatstem.dump"
    assert backup(dsn, dump).returncode == 0
    kept = restore_check(dsn, str(dump), "--server", dsn, "--keep")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    match = re.search(r"kept the restored database (straatstem_restore_[0-9a-f]+)", kept.stderr)
    assert match is not None, kept.stderr
    restored = db.with_database(dsn, match.group(1))
    try:
        conn = await asyncpg.connect(restored)
        try:
            await conn.execute(
                "delete from report where id = (select id from report r where not exists"
                " (select 1 from report_text t where t.report_id = r.id) limit 1)"
            )
            missing_row = restore_check(dsn, str(dump), "--restored", restored)
            assert missing_row.returncode == 1, missing_row.stdout + missing_row.stderr
            assert re.search(r"^public\.report\s.*<-- differs$", missing_row.stdout, re.M)
            assert not re.search(r"^release rows.*differs", missing_row.stdout, re.M)
            assert "DIFFERENT" in missing_row.stdout

            # A frozen release changed in place (its trigger switched off): same row count, other bytes.
            await conn.execute("alter table release disable trigger release_frozen")
            await conn.execute("update release set body = body || '\\x20'::bytea")
            changed = restore_check(dsn, str(dump), "--restored", restored)
            assert changed.returncode == 1
            assert re.search(r"^release rows \(sha256\).*<-- differs$", changed.stdout, re.M)
            assert re.search(r"^public\.release\s+\d+\s+\d+$", changed.stdout, re.M)  # the count still matches
        finally:
            await conn.close()
    finally:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'drop database if exists "{match.group(1)}" with (force)')
        finally:
            await admin.close()


async def test_a_damaged_dump_or_a_missing_setting_is_an_operator_error(
    populated: dict[str, int], dsn: str, tmp_path: Path
) -> None:
    dump = tmp_path / "straatstem.dump"
    assert backup(dsn, dump).returncode == 0
    again = backup(dsn, dump)
    assert again.returncode == 2 and "never overwrites" in again.stderr

    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    damaged = restore_check(dsn, str(dump), "--server", dsn)
    assert damaged.returncode == 2
    assert damaged.stderr.startswith("restore_check: error: ") and "damaged" in damaged.stderr
    assert len(damaged.stderr.strip().splitlines()) == 1

    env = tool_env(dsn)
    del env["DATABASE_URL"]
    unset = backup(dsn, tmp_path / "x.dump", env)
    assert unset.returncode == 2 and unset.stderr.startswith("backup: error: DATABASE_URL is not set")


def test_backup_and_restore_check_compute_the_same_manifest() -> None:
    """backup.sh (bash, runs beside pg_dump) and restore_check.py must ask the same queries, or
    every comparison of a manifest with a restored database would differ."""
    script = BACKUP.read_text()
    block = script.split("# BEGIN MANIFEST SQL\n", 1)[1].split("# END MANIFEST SQL", 1)[0]
    assigned = dict(re.findall(r'^([A-Z_]+)="(.*)"$', block, re.M))
    module = runpy.run_path(str(RESTORE_CHECK), run_name="restore_check")
    assert assigned == {"COUNTS_QUERY_SQL": module["COUNTS_QUERY_SQL"], "FROZEN_SQL": module["FROZEN_SQL"]}
