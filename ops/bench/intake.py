"""End-to-end intake benchmark: POST /v1/reports against a real server and real PostgreSQL,
beside a bare Litestar POST endpoint mounted in the same server process that decodes the same
body (strict msgspec, the same struct) and answers 201 without touching the database.

    python ops/bench/intake.py [--requests 6000] [--concurrency 64] [--workers 1] [--rounds 3]
                               [--client httptools|aiohttp]

Starts an embedded PostgreSQL (or uses DATABASE_URL, in a fresh database), a demo
municipality, and one uvicorn server process; the load generator runs in this process, one
keep-alive connection per client. By default it writes each request as bytes prepared before
the round and reads the answers with httptools (the parser uvicorn uses), as wrk does: it then
costs about a fifth of the server's CPU per request. `--client aiohttp` uses an aiohttp
session instead, which costs as much CPU per request as the server's bare endpoint and takes
that from the two cores the server and PostgreSQL share (README, performance).

Every intake request is a distinct report: its own submission id, receipt, cell, network
address (X-Forwarded-For from a trusted proxy) and a solved, signed proof-of-work challenge,
so nothing is refused and nothing is deduplicated.
The two endpoints are measured in alternating rounds (bare, intake, bare, intake, ...) and the
round with the median ratio is the headline: this machine's speed drifts by a third between
minutes, and a ratio of two runs seconds apart is what drift moves least. Prints a markdown
table with throughput, p50/p99 latency and the ratio to the bare endpoint per round, CPU per
request of the load generator, the server and PostgreSQL, how long each of them waited for a
core per request (ready to run while the other processes had both), and the server's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_server, free_port, fresh_database, peak_rss_mb, server_env, summarize  # noqa: E402 - the bench folder is on sys.path only now

CENTER = (52.0799, 4.3247)
GROUPS = ("client", "server", "postgres")  # the load generator, the API server, PostgreSQL


def bench_app() -> Any:
    """Worker factory: the straatstem app plus the bare endpoint, in the same process."""
    from litestar import post

    from api.app import app_from_environment
    from api.intake.schemas import ReportIn

    decoder = msgspec.json.Decoder(ReportIn)

    @post("/bench/bare", status_code=201, include_in_schema=False)
    async def bare(request: Request[Any, Any, Any]) -> Response[bytes]:
        decoder.decode(await request.body())
        return Response(b'{"ok":true}', status_code=201, media_type="application/json")

    app = app_from_environment()
    app.register(bare)
    return app


def serve(port: int, workers: int) -> None:
    """Server side (run in a subprocess), configured like `straatstem serve --workers N`."""
    from api import server

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    server.run("intake:bench_app", host="127.0.0.1", port=port, workers=workers)


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    # CPU milliseconds per request by process group, and (`<group>_waited`) milliseconds per
    # request that its threads were ready to run but waited for a core
    cpu_ms: dict[str, float] | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def make_requests(
    n: int, pow_key: bytes, cells: list[str], first_address: int = 0
) -> list[tuple[bytes, dict[str, str]]]:
    from privacy import pow as pow_

    rng = random.Random(7)
    prepared = []
    for i in range(first_address, first_address + n):
        number = rng.randrange(1000)
        challenge = pow_.create_challenge(pow_key, 1000, 3600, number=number, nonce=secrets.token_hex(12))
        altcha = pow_.encode_payload(challenge, number)
        body = {
            "submission_id": str(uuid.uuid4()),
            "receipt": secrets.token_hex(16),
            "cell": rng.choice(cells),
            "category": rng.choice(["verbal", "nonverbal", "following", "physical", "threat"]),
            "role": "victim",
            "band": rng.choice(["night", "morning", "afternoon", "evening"]),
            "language": "nl",
            "felt_safety": rng.randint(1, 5),
        }
        if i % 4 == 0:
            body["description"] = "Iemand riep dingen naar me bij de tramhalte en liep me achterna."
        headers = {
            "Content-Type": "application/json",
            "X-Altcha": altcha,
            "X-Forwarded-For": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
        }
        prepared.append((json.dumps(body).encode(), headers))
    return prepared


async def load_httptools(name: str, url: str, prepared: list[tuple[bytes, dict[str, str]]], concurrency: int) -> Result:
    """`concurrency` keep-alive connections, each sending its next request as soon as the
    answer to the previous one is complete; the requests are encoded before the clock starts."""
    import httptools

    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    wire = iter(
        [
            (
                f"POST {target.path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
                + "".join(f"{key}: {value}\r\n" for key, value in headers.items())
                + "\r\n"
            ).encode("latin-1")
            + body
            for body, headers in prepared
        ]
    )
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()

    class Client(asyncio.Protocol):
        def __init__(self) -> None:
            self.parser = httptools.HttpResponseParser(self)
            self.finished: asyncio.Future[None] = loop.create_future()
            self.transport: asyncio.Transport | None = None
            self.sent = 0.0

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport = transport

        def send_next(self) -> None:
            request = next(wire, None)
            if request is None:
                self.finished.set_result(None)
                return
            assert self.transport is not None  # connection_made ran before create_connection returned
            self.sent = time.perf_counter()
            self.transport.write(request)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:  # httptools callback: one whole answer read
            latencies.append(time.perf_counter() - self.sent)
            status = self.parser.get_status_code()
            statuses[status] = statuses.get(status, 0) + 1
            self.send_next()

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.finished.done():
                self.finished.set_exception(exc or ConnectionError("the server closed a connection mid-round"))

    connections = [await loop.create_connection(Client, host, port) for _ in range(concurrency)]
    began = time.perf_counter()
    for _, client in connections:
        client.send_next()
    try:
        await asyncio.gather(*(client.finished for _, client in connections))
    finally:
        for transport, _ in connections:
            transport.close()
    return Result(name, len(prepared), time.perf_counter() - began, latencies, statuses)


async def load_aiohttp(name: str, url: str, prepared: list[tuple[bytes, dict[str, str]]], concurrency: int) -> Result:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(prepared)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body, headers in queue:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Result(name, len(prepared), elapsed, latencies, statuses)


Load = Callable[[str, str, list[tuple[bytes, dict[str, str]]], int], Coroutine[Any, Any, Result]]
LOAD_GENERATORS: dict[str, Load] = {"httptools": load_httptools, "aiohttp": load_aiohttp}


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """User+system CPU seconds so far of this process (the load generator), the API server
    and every PostgreSQL process; and, under `<group>_waited`, the seconds their threads
    were ready to run but waited for a core (Linux's /proc/PID/task/TID/schedstat; 0 where
    the kernel does not keep it)."""
    import psutil

    def total(p: psutil.Process) -> float:
        try:
            t = p.cpu_times()
            return float(t.user + t.system)
        except psutil.Error:
            return 0.0

    def waited(p: psutil.Process) -> float:
        seconds = 0.0
        try:
            for task in Path(f"/proc/{p.pid}/task").iterdir():
                seconds += int((task / "schedstat").read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):
            pass  # the process or thread ended meanwhile, or no schedstat
        return seconds

    postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    parent = psutil.Process(server_pid)
    server = [parent, *parent.children(recursive=True)]
    groups = dict(zip(GROUPS, ([psutil.Process()], server, postgres), strict=True))
    return {
        **{name: sum(total(p) for p in members) for name, members in groups.items()},
        **{f"{name}_waited": sum(waited(p) for p in members) for name, members in groups.items()},
    }


def measured(
    load: Load, name: str, url: str, prepared: list[tuple[bytes, dict[str, str]]], concurrency: int, server_pid: int
) -> Result:
    before = cpu_seconds(server_pid)
    result = asyncio.run(load(name, url, prepared, concurrency))
    after = cpu_seconds(server_pid)
    result.cpu_ms = {k: (after[k] - before[k]) * 1000 / result.requests for k in before}
    return result


async def prepare_database(dsn: str) -> list[str]:
    """Migrates the fresh database and adds the municipality; returns its cells (hex)."""
    import asyncpg

    from api import db
    from api.municipalities import service
    from privacy import location

    conn = await asyncpg.connect(dsn)
    await db.migrate(conn)
    cells = service.cells_from_circle(f"{CENTER[0]},{CENTER[1]}", 6.0)
    await service.add(conn, "den-haag", "Den Haag", cells)
    await conn.close()
    return [location.cell_hex(c) for c in sorted(cells)]


async def count_reports(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("select count(*) from report"))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--rounds", type=int, default=3, help="bare-then-intake rounds; the median round is reported")
    parser.add_argument(
        "--client", choices=sorted(LOAD_GENERATORS), default="httptools", help="load generator (see above)"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.workers)
        return

    from api.settings import Settings

    secret = secrets.token_bytes(32)
    pow_key = Settings(secret_key=secret).derived_key("pow")
    rounds: list[tuple[Result, Result]] = []
    with tempfile.TemporaryDirectory(prefix="straatstem-bench-") as tmp, fresh_database(Path(tmp)) as dsn:
        cells = asyncio.run(prepare_database(dsn))
        port = free_port()
        env = server_env(
            dsn, tmp, SECRET_KEY=secret.hex(), TRUSTED_PROXIES="127.0.0.1/32", DB_POOL_MAX="20", RATE_LIMIT_PER_DAY="5"
        )
        command = [sys.executable, __file__, "--serve", str(port), "--workers", str(args.workers)]
        with bench_server(command, port, env) as server:
            base = f"http://127.0.0.1:{port}"
            time.sleep(1.0)
            load = LOAD_GENERATORS[args.client]
            warm = make_requests(300, pow_key, cells)
            asyncio.run(load("warm-up", f"{base}/bench/bare", warm, args.concurrency))
            asyncio.run(load("warm-up", f"{base}/v1/reports", warm, args.concurrency))
            for number in range(args.rounds):
                # Every request of the whole run comes from its own network address.
                bare_requests = make_requests(args.requests, pow_key, cells, (2 * number + 1) * 1_000_000)
                intake_requests = make_requests(args.requests, pow_key, cells, (2 * number + 2) * 1_000_000)
                bare = measured(
                    load, "bare POST (decode only)", f"{base}/bench/bare", bare_requests, args.concurrency, server.pid
                )
                profiler = None
                if os.environ.get("BENCH_PROFILE") and number == 0:  # py-spy data of the server, first round
                    profiler = subprocess.Popen(
                        [
                            *("py-spy", "record", "-d", "4", "-r", os.environ.get("BENCH_PROFILE_RATE", "100")),
                            *("-o", os.environ["BENCH_PROFILE"], "-f", "raw", "-p", str(server.pid)),
                        ]
                    )
                intake = measured(
                    load, "POST /v1/reports", f"{base}/v1/reports", intake_requests, args.concurrency, server.pid
                )
                if profiler is not None:
                    profiler.wait()
                rounds.append((bare, intake))
            rss = peak_rss_mb(server.pid)
            stored = asyncio.run(count_reports(dsn))

    database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded (pgserver)"
    print(
        f"\nintake benchmark: {args.rounds} rounds of {args.requests} requests per endpoint, bare then intake, "
        f"{args.concurrency} concurrent clients, {os.cpu_count()} cores, {args.workers} uvicorn worker(s), "
        f"PostgreSQL {database}, load generator {args.client}\n"
    )
    print(
        "| round | endpoint | req/s | p50 ms | p99 ms | statuses | ratio to bare "
        "| CPU ms/req: client / server / postgres | waiting for a core, ms/req |"
    )
    print("| ---: | --- | ---: | ---: | ---: | --- | ---: | --- | --- |")
    for number, (bare, intake) in enumerate(rounds, 1):
        for r in (bare, intake):
            cpu = r.cpu_ms or {}
            used = " / ".join(f"{cpu.get(group, 0):.2f}" for group in GROUPS)
            waited = " / ".join(f"{cpu.get(group + '_waited', 0):.3f}" for group in GROUPS)
            print(
                f"| {number} | {r.name} | {r.rps:,.0f} | {r.pct(0.50):.1f} | {r.pct(0.99):.1f} | "
                f"{', '.join(f'{k}: {v}' for k, v in sorted(r.statuses.items()))} | {r.rps / bare.rps:.2f} | "
                f"{used} | {waited} |"
            )
    # The round with the median ratio is the headline: each ratio compares two runs made
    # seconds apart, so a slow spell of this shared machine moves both of them.
    bare, intake = sorted(rounds, key=lambda pair: pair[1].rps / pair[0].rps)[len(rounds) // 2]
    ratio = intake.rps / bare.rps
    expected = args.rounds * args.requests + 300
    print(f"\nserver peak RSS (largest process): {rss:.0f} MB; reports stored: {stored} (expected {expected})")
    # A figure is only worth reading if every request was what it should be: 201 from both
    # endpoints, and exactly one stored report per intake request (none lost, none refused).
    wrong = [
        f"round {number} {r.name}: {r.statuses}"
        for number, pair in enumerate(rounds, 1)
        for r in pair
        if r.statuses != {201: r.requests}
    ]
    if wrong or stored != expected:
        sys.exit(f"intake benchmark invalid: answers {wrong or 'all 201'}, {stored} reports stored of {expected}")
    where = f"intake, {args.workers} worker(s)"
    summarize(
        where,
        "POST /v1/reports throughput",
        intake.rps,
        "req/s",
        baseline=bare.rps,
        baseline_name="bare decode-only POST",
        target=">= 0.5 of bare",
        met=ratio >= 0.5,
        rss_mb=rss,
    )
    summarize(where, "POST /v1/reports p99", intake.pct(0.99), "ms", baseline=bare.pct(0.99), rss_mb=rss)
    ratios = ", ".join(f"{i.rps / b.rps:.2f}" for b, i in rounds)
    print(
        f"target: intake throughput >= 50% of bare: {'met' if ratio >= 0.5 else 'NOT met'} "
        f"(median round {ratio:.0%}; rounds {ratios}); mean intake latency "
        f"{statistics.mean(intake.latencies) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
