"""After real traffic through a real server process, neither the database (a full pg_dump),
nor the server's captured output, nor PostgreSQL's own log contains the client addresses,
the coordinates, the receipts or the PII that clients sent."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from privacy import location
from privacy import pow as pow_
from tests.conftest import EMBEDDED_LOG, HAGUE
from tests.processes import server_process

IPV4 = "203.0.113.77"
IPV6 = "2001:db8:abcd:12::77"
LAT, LNG = 52.0799317, 4.3247123
PHONE = "06-98765432"


@pytest.fixture
def server(dsn: str, hague: list[int], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log_path = tmp_path / "server.log"
    env = dict(
        os.environ,
        DATABASE_URL=dsn,
        STRAATSTEM_DATA_DIR=str(tmp_path),
        STRAATSTEM_POW_MAX_NUMBER="1000",
        STRAATSTEM_TRUSTED_PROXIES="127.0.0.1/32",
        STRAATSTEM_ACCEPT_COORDINATES="true",
        STRAATSTEM_LOG_LEVEL="DEBUG",
    )
    with server_process(["serve"], env, log_path, timeout=30) as base:
        yield base, log_path


async def _solve(http: httpx.AsyncClient) -> str:
    c = (await http.get("/v1/challenge")).json()
    return pow_.solve(pow_.Challenge.from_wire(c))


def _dump(dsn: str) -> str:
    import pgserver

    pg_dump = Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
    return subprocess.run([str(pg_dump), "--no-owner", dsn], check=True, capture_output=True, text=True).stdout


def _needles(receipts: list[str]) -> dict[str, str]:
    needles = {
        "ipv4": IPV4,
        "ipv6": IPV6,
        "ipv6 exploded": ipaddress.IPv6Address(IPV6).exploded,
        "ipv4 packed hex": ipaddress.IPv4Address(IPV4).packed.hex(),
        "ipv6 prefix hex": ipaddress.IPv6Address(IPV6).packed[:8].hex(),
        "lat": "52.07993",
        "lng": "4.324712",
        "phone": PHONE,
        "phone digits": PHONE.replace("-", ""),
    }
    for i, receipt in enumerate(receipts):
        needles[f"receipt {i}"] = receipt
        needles[f"receipt {i} base32"] = base64.b32encode(bytes.fromhex(receipt)).decode().rstrip("=")
    return needles


async def test_nothing_identifying_survives_a_session(server: tuple[str, Path], dsn: str, clean: asyncpg.Pool) -> None:
    base, log_path = server
    receipts: list[str] = []
    async with httpx.AsyncClient(base_url=base) as http:

        async def send(body: dict[str, object], ip: str, altcha: str | None = None) -> httpx.Response:
            headers = {"X-Altcha": altcha or await _solve(http), "X-Forwarded-For": ip}
            return await http.post("/v1/reports", json=body, headers=headers)

        def body(**extra: object) -> dict[str, object]:
            receipt = os.urandom(16).hex()
            receipts.append(receipt)
            return {
                "submission_id": str(uuid.uuid4()),
                "receipt": receipt,
                "category": "following",
                "role": "witness",
                "band": "night",
                "language": "en",
                **extra,
            }

        ok = await send(body(lat=LAT, lng=LNG, description=f"He said call {PHONE} now"), IPV4)
        assert ok.status_code == 201, ok.text
        assert ok.json()["cell"] == location.cell_hex(location.snap(LAT, LNG))
        assert (await send(body(lat=LAT, lng=LNG), IPV4)).status_code == 429  # same place, same network
        assert (await send(body(cell=location.cell_hex(location.snap(*HAGUE))), IPV6)).status_code == 201
        # Error paths must not echo or log anything either.
        assert (await send(body(lat=LAT + 1, lng=LNG), IPV4)).status_code == 422
        assert (await send(body(lat="52.0799317", lng=LNG), IPV4)).status_code == 400
        assert (await send(body(lat=LAT, lng=LNG, extra_field=IPV4), IPV6)).status_code == 400
        assert (
            await send(body(cell=location.cell_hex(location.snap(LAT, LNG))), IPV6, altcha="garbage")
        ).status_code == 400
        report_id = ok.json()["id"]
        wrong = await http.get(f"/v1/reports/{report_id}", headers={"Authorization": f"Receipt {receipts[1]}"})
        assert wrong.status_code == 404
        right = await http.get(f"/v1/reports/{report_id}", headers={"Authorization": f"Receipt {receipts[0]}"})
        assert right.status_code == 200
        await http.get("/v1/nowhere", headers={"User-Agent": "LeakyBrowser/9.9"})
        metrics = (await http.get("/metrics")).text
        responses = " ".join([ok.text, wrong.text, right.text, metrics])
    await asyncio.sleep(0.3)

    dump = _dump(dsn)
    assert "report" in dump and report_id in dump  # the dump really holds the data
    logs = log_path.read_text(errors="replace")
    assert "request" in logs or "migrations" in logs or logs  # something was captured
    pg_log = "".join(p.read_text(errors="replace") for p in EMBEDDED_LOG if p.exists())
    for name, needle in _needles(receipts).items():
        for where, text in (
            ("database dump", dump),
            ("server output", logs),
            ("postgres log", pg_log),
            ("responses and metrics", responses),
        ):
            assert needle.lower() not in text.lower(), f"{name} found in {where}"
    assert "LeakyBrowser" not in logs + dump
