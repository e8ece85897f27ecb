"""`straatstem staff ...` as an operator uses it: real processes, real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pyotp
import pytest

from api.settings import load_settings
from api.staff import service

PASSWORD = "a long enough passphrase"


def run(args: list[str], dsn: str, tmp: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_") and k != "DATABASE_URL"}
    environment.update(STRAATSTEM_DATA_DIR=str(tmp), STRAATSTEM_LOG_JSON="false", DATABASE_URL=dsn)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "staff", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )


def add(
    dsn: str, tmp: Path, email: str, role: str = "analyst", password: str = PASSWORD, municipality: str = "den-haag"
) -> subprocess.CompletedProcess[str]:
    return run(
        ["add", "--email", email, "--municipality", municipality, "--role", role, "--password-stdin"],
        dsn,
        tmp,
        stdin=password + "\n",
    )


async def test_staff_add_stores_a_normalised_account_that_can_log_in(
    dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path, client: httpx.AsyncClient
) -> None:
    result = add(dsn, tmp_path, "  Ana.Analyst@Den-Haag.example ")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "added analyst ana.analyst@den-haag.example for den-haag"
    assert PASSWORD not in result.stdout + result.stderr
    async with clean.acquire() as conn:
        row = await conn.fetchrow("select email, municipality, role, password_hash, disabled from staff")
        audit = await conn.fetchrow("select staff_id, staff_email, action, municipality, detail from staff_audit")
    assert (row["email"], row["municipality"], row["role"], row["disabled"]) == (
        "ana.analyst@den-haag.example",
        "den-haag",
        "analyst",
        False,
    )
    assert row["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert tuple(audit) == (None, "cli", "staff.add", "den-haag", "ana.analyst@den-haag.example as analyst")
    login = await client.post("/v1/staff/login", json={"email": "ana.analyst@den-haag.example", "password": PASSWORD})
    assert login.status_code == 200, login.text

    listed = run(["list", "--municipality", "den-haag"], dsn, tmp_path)
    assert listed.returncode == 0 and listed.stdout == "ana.analyst@den-haag.example\tanalyst\tno-totp\n"


@pytest.mark.parametrize(
    ("email", "role", "password", "municipality", "message"),
    [
        ("ana@den-haag.example", "analyst", "too short", "den-haag", "at least 12 characters"),
        ("ana@den-haag.example", "analyst", PASSWORD, "atlantis", "no municipality with slug 'atlantis'"),
        ("ana@den-haag.example", "superuser", PASSWORD, "den-haag", "--role must be one of analyst, moderator, admin"),
        ("not-an-address", "analyst", PASSWORD, "den-haag", "--email must look like an e-mail address"),
        ("taken@den-haag.example", "admin", PASSWORD, "den-haag", "already exists"),
    ],
)
async def test_staff_add_errors_are_one_line(
    dsn: str,
    clean: asyncpg.Pool,
    hague: list[int],
    tmp_path: Path,
    email: str,
    role: str,
    password: str,
    municipality: str,
    message: str,
) -> None:
    assert add(dsn, tmp_path, "Taken@den-haag.example").returncode == 0
    result = add(dsn, tmp_path, email, role=role, password=password, municipality=municipality)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("straatstem: error:") and message in lines[0], result.stderr
    assert password not in result.stderr and result.stdout == ""
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from staff") == 1


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "--email", "a@b.nl", "--municipality", "den-haag", "--role", "analyst"], PASSWORD, "--password-stdin"),
        (
            ["add", "--email", "a@b.nl", "--municipality", "den-haag", "--role", "analyst", "--password-stdin"],
            "",
            "stdin",
        ),
        (["disable", "--email", "nobody@den-haag.example"], "", "no staff account"),
        (["totp", "--email", "nobody@den-haag.example"], "", "no staff account"),
        (["list", "--municipality", "atlantis"], "", "no municipality"),
    ],
)
def test_other_staff_errors_are_one_line(
    dsn: str, hague: list[int], tmp_path: Path, args: list[str], stdin: str, message: str
) -> None:
    result = run(args, dsn, tmp_path, stdin=stdin)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr, result.stderr


async def test_totp_enrolment_prints_the_uri_once_and_stores_it_sealed(
    dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    assert add(dsn, tmp_path, "ana@den-haag.example").returncode == 0
    result = run(["totp", "--email", "ana@den-haag.example"], dsn, tmp_path)
    assert result.returncode == 0, result.stderr
    uri = result.stdout.strip()
    assert uri.startswith("otpauth://totp/") and "\n" not in uri
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    assert isinstance(pyotp.parse_uri(uri), pyotp.TOTP)
    async with clean.acquire() as conn:
        sealed = await conn.fetchval("select totp_sealed from staff")
        audit = await conn.fetch("select staff_email, action from staff_audit order by id")
    assert secret.encode() not in sealed
    # The CLI sealed it with the deployment key of its data directory.
    assert service.unseal_totp(load_settings({"STRAATSTEM_DATA_DIR": str(tmp_path)}), sealed) == secret
    assert [tuple(r) for r in audit] == [("cli", "staff.add"), ("cli", "staff.totp-enrol")]
    listed = run(["list", "--municipality", "den-haag"], dsn, tmp_path)
    assert listed.stdout == "ana@den-haag.example\tanalyst\ttotp\n"


async def test_disable_ends_sessions(dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> None:
    assert add(dsn, tmp_path, "ana@den-haag.example", role="admin").returncode == 0
    async with clean.acquire() as conn:
        staff_id = await conn.fetchval("select id from staff")
        await conn.execute(
            "insert into staff_session values ($1, $2, now() + interval '1 hour')", b"\x01" * 32, staff_id
        )
    result = run(["disable", "--email", "ANA@den-haag.example"], dsn, tmp_path)
    assert result.returncode == 0, result.stderr
    async with clean.acquire() as conn:
        assert await conn.fetchval("select disabled from staff") is True
        assert await conn.fetchval("select count(*) from staff_session") == 0
        actions = [r["action"] for r in await conn.fetch("select action from staff_audit order by id")]
    assert actions == ["staff.add", "staff.disable"]
    assert "disabled" in run(["list", "--municipality", "den-haag"], dsn, tmp_path).stdout


async def test_sessions_end_per_municipality_and_for_all(
    dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path, client: httpx.AsyncClient
) -> None:
    from api.municipalities import service as municipalities
    from tests.conftest import login_headers, make_staff

    async with clean.acquire() as conn:
        await municipalities.add(conn, "almere", "Almere", municipalities.cells_from_circle("52.37,5.21", 0.5))
        await make_staff(conn, "a@den-haag.example", "den-haag", "analyst")
        await make_staff(conn, "b@almere.example", "almere", "admin")
    hague_session = await login_headers(client, "a@den-haag.example")
    almere_session = await login_headers(client, "b@almere.example")

    async def alive(headers: dict[str, str]) -> bool:
        return (await client.get("/v1/staff/me", headers=headers)).status_code == 200

    ended = run(["sessions-end", "--municipality", "den-haag"], dsn, tmp_path)
    assert ended.returncode == 0, ended.stderr
    assert ended.stdout == "den-haag\t1 sessions ended\n"
    assert not await alive(hague_session) and await alive(almere_session)

    everything = run(["sessions-end", "--all"], dsn, tmp_path)
    assert everything.returncode == 0 and "almere\t1 sessions ended" in everything.stdout
    assert not await alive(almere_session)
    async with clean.acquire() as conn:
        audit = await conn.fetch(
            "select staff_email, municipality, detail from staff_audit where action = 'staff.sessions-end' order by id"
        )
    # By id: the first run audits den-haag; `--all` audits every municipality (in slug order).
    assert [tuple(r) for r in audit] == [
        ("cli", "den-haag", "1 sessions ended"),
        ("cli", "almere", "1 sessions ended"),
        ("cli", "den-haag", "0 sessions ended"),
    ]

    unknown = run(["sessions-end", "--municipality", "atlantis"], dsn, tmp_path)
    assert unknown.returncode == 2 and unknown.stderr.strip().count("\n") == 0
    assert "no municipality with slug 'atlantis'" in unknown.stderr
    assert run(["sessions-end"], dsn, tmp_path).returncode == 2  # one of --all / --municipality is required
