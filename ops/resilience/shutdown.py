"""Graceful shutdown: SIGTERM under load drains the requests in flight.

    python ops/resilience/shutdown.py [--clients 8] [--probes 4] [--seed 1]

Starts its own PostgreSQL and `straatstem serve` (see common.py), puts it under submission
load (`--clients` keep-alive clients, reports sent as the mobile contract says), and opens
`--probes` requests that are certainly in flight: headers and half the body sent, the rest
held back. Then it sends SIGTERM to the server and requires that

- the listener closes: a new connection is refused while the server still drains;
- every probe, its body completed after the listener closed, gets a real response (201);
- no load request loses its response: a request that got no answer (the server closed an
  idle keep-alive connection as the request arrived, or refused the connection) must not
  have been stored;
- the process exits with status 0 within the drain timeout (10 s, api/server.py);
- every acknowledged report is stored.

Then the API is started again and the clients finish what they could not deliver, as an app
would after a deploy; the database must hold exactly the acknowledged reports, each once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ops.resilience import common
from ops.resilience.common import ACK, Api, Attempt, Failure, Postgres, Report, check

DRAIN_TIMEOUT = 10.0  # uvicorn's timeout_graceful_shutdown in api/server.py
HOLD = 1.0  # seconds the probes hold their bodies back after the listener closed
NOT_SENT = ("ClientConnectorError",)  # the connection was refused: the report never left


@dataclass
class Load:
    reports: list[Report] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    answered_5xx: set[str] = field(default_factory=set)  # submission ids: may have committed anyway
    running: bool = True


def outcome(a: Attempt) -> str:
    """The answer's status; "not sent" when the connection was refused, or failed while
    fetching the challenge (which touches no data); "no answer" when the report was sent and
    the connection closed without a response."""
    if a.status is not None:
        return str(a.status)
    if a.error is not None and (a.error.startswith("challenge") or a.error in NOT_SENT):
        return "not sent"
    return "no answer"


async def client(api: Api, cells: list[str], rng: random.Random, load: Load) -> None:
    async with common.session() as s:
        while load.running:
            report = Report.make(rng, cells, len(load.reports) + 1)
            load.reports.append(report)
            failures = 0
            while load.running:
                result = await common.attempt(s, api.base, report)
                load.outcomes[outcome(result)] += 1
                if result.status is not None and result.status >= 500:
                    load.answered_5xx.add(report.submission_id)
                if result.verdict != common.RETRY:
                    break
                failures += 1
                await asyncio.sleep(common.backoff(failures, result.retry_after, rng, 0.05, 0.5))


@dataclass
class Probe:
    """A request in flight on its own connection: headers and half the body sent."""

    report: Report
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    rest: bytes
    status: int | None = None


async def open_probe(api: Api, report: Report) -> Probe:
    async with common.session() as s:
        altcha = await common.solved_challenge(s, api.base)
    reader, writer = await asyncio.open_connection("127.0.0.1", api.port)
    head = (
        f"POST /v1/reports HTTP/1.1\r\nHost: 127.0.0.1:{api.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(report.body)}\r\nX-Altcha: {altcha}\r\nX-Forwarded-For: {report.forwarded_for}\r\n\r\n"
    ).encode()
    half = len(report.body) // 2
    writer.write(head + report.body[:half])
    await writer.drain()
    return Probe(report, reader, writer, report.body[half:])


async def finish_probe(probe: Probe) -> None:
    """Send the rest of the body and read the answer to the end (the server closes the
    connection after it, since it is shutting down)."""
    try:
        probe.writer.write(probe.rest)
        await probe.writer.drain()
        async with asyncio.timeout(DRAIN_TIMEOUT):
            answer = await probe.reader.read()
    except (OSError, TimeoutError):
        answer = b""
    finally:
        probe.writer.close()
    status_line = answer.split(b"\r\n", 1)[0].split()
    if len(status_line) >= 2 and status_line[1].isdigit():
        probe.status = int(status_line[1])
    if probe.status in (200, 201):
        body = answer.split(b"\r\n\r\n", 1)[-1]
        probe.report.acked = json.loads(body)["id"]
        probe.report.ack_ids.add(probe.report.acked)


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


@dataclass
class Shutdown:
    listener_closed: float = 0.0  # seconds after SIGTERM
    exited: float = 0.0
    exit_code: int | None = None
    probes: list[int | None] = field(default_factory=list)


async def scenario(
    pg: Postgres, api: Api, cells: list[str], rng: random.Random, clients: int, probes: int
) -> tuple[Load, Shutdown, list[tuple[str, str | None]]]:
    load = Load()
    seeds = [rng.getrandbits(64) for _ in range(clients)]
    tasks = [asyncio.create_task(client(api, cells, random.Random(seed), load)) for seed in seeds]
    result = Shutdown()
    try:
        await asyncio.sleep(0.5 + rng.random())  # the load flows
        probe_reports = [Report.make(rng, cells, 100_000 + i) for i in range(probes)]
        opened = [await open_probe(api, r) for r in probe_reports]
        await asyncio.sleep(0.3)  # the server has read the probes' headers
        check(api.proc is not None, "the API is not running")
        assert api.proc is not None
        began = time.monotonic()
        api.terminate()
        while not await refused(api.port):
            check(time.monotonic() - began < 5, "the listener was still open 5 s after SIGTERM")
            await asyncio.sleep(0.01)
        result.listener_closed = time.monotonic() - began
        await asyncio.sleep(HOLD)
        check(api.proc.poll() is None, "the server exited while requests were still in flight")
        await asyncio.gather(*(finish_probe(p) for p in opened))
        result.probes = [p.status for p in opened]
        code = await asyncio.to_thread(api.proc.wait, DRAIN_TIMEOUT + 5)
        result.exited = time.monotonic() - began
        result.exit_code = code
    finally:
        load.running = False
        await asyncio.gather(*tasks)
    load.reports.extend(probe_reports)
    return load, result, await common.stored_reports(pg)


def verify_at_exit(load: Load, result: Shutdown, rows: list[tuple[str, str | None]]) -> int:
    """The checks at the moment the server has exited; returns the reports stored then."""
    check(
        all(status == 201 for status in result.probes),
        f"requests in flight at SIGTERM got {result.probes} instead of 201 each",
    )
    check(result.exit_code == 0, f"the server exited with {result.exit_code}, not 0")
    check(
        result.exited <= DRAIN_TIMEOUT + HOLD,
        f"the server took {result.exited:.1f} s to exit (drain timeout {DRAIN_TIMEOUT:.0f} s)",
    )
    ids = {report_id for report_id, _ in rows}
    submissions = {sub for _, sub in rows}
    acked = {r.acked for r in load.reports if r.acked is not None}
    check(acked <= ids, f"{len(acked - ids)} acknowledged reports are not stored")
    # Stored without an acknowledgement is fine after a real answer (a 503 from a batch that
    # committed after all), never when the request only ever got a closed connection.
    lost = [
        r
        for r in load.reports
        if r.acked is None and r.submission_id in submissions and r.submission_id not in load.answered_5xx
    ]
    check(not lost, f"{len(lost)} requests were stored but their client never got a response")
    return len(rows)


async def finish(api: Api, pg: Postgres, load: Load) -> int:
    """Deliver every report not yet acknowledged (as an app would after the restart), then
    require the database to hold exactly the acknowledged reports."""
    rng = random.Random(0)
    async with common.session() as s:
        for report in load.reports:
            failures = 0
            while report.acked is None:
                result = await common.attempt(s, api.base, report)
                check(result.verdict != common.REFUSED, f"a report was refused after the restart: {report.refused}")
                failures += 1
                check(failures < 50, "a report could not be delivered after the restart")
                if result.verdict != ACK:
                    await asyncio.sleep(common.backoff(failures, result.retry_after, rng, 0.05, 0.5))
    rows = await common.stored_reports(pg)
    ids = [row[0] for row in rows]
    check(len(ids) == len(set(ids)), "a report is stored twice")
    check(all(len(r.ack_ids) == 1 for r in load.reports), "a retry was acknowledged with a different report id")
    acked = {r.acked for r in load.reports}
    check(set(ids) == acked, f"stored {len(ids)} reports, acknowledged {len(acked)}: they differ")
    return len(ids)


def run(clients: int = 8, probes: int = 4, seed: int = 1, keep: bool = False) -> list[str]:
    """The whole test; returns the printed lines, raises Failure on a violation."""
    rng = random.Random(seed)
    with common.stack("shutdown", keep=keep) as (pg, api, cells):
        load, result, rows = asyncio.run(scenario(pg, api, cells, rng, clients, probes))
        at_exit = verify_at_exit(load, result, rows)
        acked_at_exit = sum(1 for r in load.reports if r.acked is not None)
        restart = api.start()
        stored = asyncio.run(finish(api, pg, load))
    outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(load.outcomes.items()))
    rows_out: list[tuple[str, object]] = [
        ("seed", seed),
        ("load clients / in-flight probes", f"{clients} / {probes}"),
        ("listener closed after SIGTERM", f"{result.listener_closed * 1000:.0f} ms (new connections refused)"),
        (
            "in-flight probes answered",
            f"{', '.join(str(s) for s in result.probes)} (bodies completed {HOLD:g} s later)",
        ),
        ("server exit", f"status {result.exit_code} after {result.exited:.2f} s (drain timeout {DRAIN_TIMEOUT:g} s)"),
        ("load attempts until exit", outcomes),
        ("acknowledged / stored at exit", f"{acked_at_exit} / {at_exit} (none stored without an answer)"),
        ("after restart (ready in)", f"{restart:.2f} s: all {stored} reports delivered and stored exactly once"),
    ]
    return [common.table(rows_out)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--probes", type=int, default=4, help="requests held in flight across the SIGTERM")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the logs")
    args: Any = parser.parse_args(argv)
    if args.clients < 1 or args.probes < 1:
        parser.error("--clients and --probes must be at least 1")
    try:
        lines = run(args.clients, args.probes, args.seed, args.keep)
    except Failure as failure:
        print(f"shutdown: FAILED: {failure}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
