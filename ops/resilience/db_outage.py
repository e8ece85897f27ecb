"""Database outage: the API keeps answering while PostgreSQL is gone or stuck, and recovers by
itself when it is back.

    python ops/resilience/db_outage.py [--samples 5] [--seed 1]

Starts its own PostgreSQL and `straatstem serve` (see common.py), opens the API's pool
connections and a keep-alive HTTP connection with a few submissions, then for each of three
outages:

- killed: SIGKILL of the postmaster (its socket file stays, connections are refused);
- stopped: `pg_ctl stop -m fast` (the socket file is removed);
- hung: SIGSTOP of the postmaster and every backend (sockets stay open, nothing answers), the
  case a timeout must catch;

sends submissions over the HTTP connection kept from before and over new ones, and requires
each to answer 503 `unavailable` with Retry-After in under 2 s; requires /readyz to answer 503
and /healthz 200; then brings PostgreSQL back (start on the same data directory, or SIGCONT)
and measures, without touching the API, how long until a submission succeeds again. The
reports refused during the outage are retried as an app would (same body, new challenge)
and at the end the database holds exactly the acknowledged reports.

The recovery probe retries every 50 ms instead of honouring Retry-After: it measures when the
server is ready again, not how long a polite client waits.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ops.resilience import common
from ops.resilience.common import ACK, RESPONSE_DEADLINE, Api, Attempt, Failure, Postgres, Report, check

RECOVERY_BOUND = 10.0  # seconds from PostgreSQL being back to the first accepted submission
READYZ_BOUND = 6.0  # /readyz needs no 2 s promise, but it must answer, not hang


@dataclass
class Outage:
    name: str
    begin: Callable[[Postgres], object]
    end: Callable[[Postgres], object]
    cold: bool = False  # a new API process that has not yet cached the day's rate-limit key


OUTAGES = (
    Outage("killed (SIGKILL postmaster)", Postgres.kill, Postgres.start),
    Outage("stopped (pg_ctl stop -m fast)", Postgres.stop, Postgres.start),
    Outage("hung (SIGSTOP all processes)", Postgres.pause, Postgres.resume),
    # The first submission of a process, and of every day, reads the day's key first.
    Outage("hung, API's first submission", Postgres.pause, Postgres.resume, cold=True),
)


@dataclass
class Measured:
    outage: str
    open_connections: int
    kept: list[Attempt]
    fresh: list[Attempt]
    readyz: tuple[int | None, float]
    healthz: tuple[int | None, float]
    back_after: float  # seconds PostgreSQL took to come back (start or SIGCONT)
    recovery: float  # seconds from then to the first accepted submission


@dataclass
class Run:
    reports: list[Report] = field(default_factory=list)
    measured: list[Measured] = field(default_factory=list)


async def _api_connections(pg: Postgres) -> int:
    import asyncpg

    conn = await asyncpg.connect(pg.admin_dsn)
    try:
        return int(await conn.fetchval("select count(*) from pg_stat_activity where application_name = 'straatstem'"))
    finally:
        await conn.close()


def _fast_503(a: Attempt) -> bool:
    return a.status == 503 and a.seconds < RESPONSE_DEADLINE


def _require_unavailable(attempts: list[Attempt], what: str) -> None:
    for a in attempts:
        check(a.status == 503, f"{what}: a submission answered {a.status or a.error} instead of 503")
        check(
            (a.problem_type or "").endswith("/unavailable"),
            f"{what}: the 503 has type {a.problem_type}, not unavailable",
        )
        check(a.retry_after is not None and a.retry_after > 0, f"{what}: a 503 came without Retry-After")
        check(
            a.seconds < RESPONSE_DEADLINE,
            f"{what}: a 503 took {a.seconds:.2f} s (bound {RESPONSE_DEADLINE:.0f} s)",
        )


async def _deliver(api: Api, report: Report, interval: float, bound: float) -> float:
    """Send `report` until acknowledged; the seconds that took."""
    began = time.monotonic()
    async with common.session() as s:
        while True:
            result = await common.attempt(s, api.base, report)
            if result.verdict == ACK:
                return time.monotonic() - began
            check(result.verdict != common.REFUSED, f"a retried report was refused: {report.refused}")
            if time.monotonic() - began > bound:
                raise Failure(f"no submission succeeded within {bound:.0f} s after PostgreSQL came back")
            await asyncio.sleep(interval)


async def _outage(
    pg: Postgres, api: Api, cells: list[str], rng: random.Random, outage: Outage, samples: int, run: Run
) -> None:
    def report() -> Report:
        made = Report.make(rng, cells, len(run.reports) + 1)
        run.reports.append(made)
        return made

    async with common.session() as kept_alive:
        for _ in range(3):  # the API's pool and this HTTP connection are open and in use
            check(
                (await common.attempt(kept_alive, api.base, report())).verdict == ACK,
                "a submission failed before the outage",
            )
        if outage.cold:
            await asyncio.to_thread(api.kill)
            await asyncio.to_thread(api.start)
            for _ in range(2):  # the kept-alive connection died with the old process
                if (await common.timed_get(kept_alive, f"{api.base}/healthz"))[0] == 200:
                    break
            samples = min(samples, 2)
        open_connections = await _api_connections(pg)
        refused = [report() for _ in range(samples * 2)]
        outage.begin(pg)
        try:
            kept: list[Attempt] = []
            fresh: list[Attempt] = []
            for r in refused[:samples]:
                kept.append(await common.attempt(kept_alive, api.base, r))
                if not _fast_503(kept[-1]):
                    break  # the checks below say what is wrong; more samples would only wait
            for r in refused[samples:]:
                async with common.session() as new:
                    fresh.append(await common.attempt(new, api.base, r))
                if not _fast_503(fresh[-1]):
                    break
            async with common.session() as probe:
                readyz = await common.timed_get(probe, f"{api.base}/readyz")
                healthz = await common.timed_get(probe, f"{api.base}/healthz")
        finally:
            began = time.monotonic()
            outage.end(pg)
            back_after = time.monotonic() - began
    what = f"PostgreSQL {outage.name}"
    _require_unavailable(kept, f"{what}, kept-alive connection")
    _require_unavailable(fresh, f"{what}, new connection")
    check(readyz[0] == 503, f"{what}: /readyz answered {readyz[0]} instead of 503")
    check(readyz[1] < READYZ_BOUND, f"{what}: /readyz took {readyz[1]:.1f} s")
    check(healthz[0] == 200, f"{what}: /healthz answered {healthz[0]} instead of 200")
    recovery = await _deliver(api, refused[0], 0.05, RECOVERY_BOUND)
    run.measured.append(Measured(outage.name, open_connections, kept, fresh, readyz, healthz, back_after, recovery))


async def _verify(pg: Postgres, api: Api, run: Run) -> tuple[int, int]:
    """Every report refused during an outage is retried until acknowledged; then the database
    must hold exactly the acknowledged reports, each once."""
    for report in run.reports:
        if report.acked is None:
            await _deliver(api, report, 0.05, RECOVERY_BOUND)
    acked = {r.acked for r in run.reports}
    check(all(len(r.ack_ids) == 1 for r in run.reports), "a retry was acknowledged with a different report id")
    stored = await common.stored_reports(pg)
    ids = [row[0] for row in stored]
    check(len(ids) == len(set(ids)), "a report is stored twice")
    check(set(ids) == acked, f"stored {len(set(ids))} reports, acknowledged {len(acked)}: they differ")
    return len(ids), sum(r.attempts for r in run.reports)


def _ms(values: list[float]) -> str:
    return f"{max(values) * 1000:.0f} / {statistics.median(values) * 1000:.0f}"


def report_lines(run: Run) -> list[str]:
    lines = [
        "| PostgreSQL | HTTP connection | answers | worst / median ms | Retry-After s |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for m in run.measured:
        for label, attempts in (("kept alive from before", m.kept), ("new", m.fresh)):
            statuses = ", ".join(sorted({f"{a.status or a.error}" for a in attempts}))
            retry = ", ".join(sorted({f"{a.retry_after:g}" for a in attempts if a.retry_after is not None}))
            times = _ms([a.seconds for a in attempts])
            lines.append(f"| {m.outage} | {label} | {len(attempts)} x {statuses} | {times} | {retry} |")
    lines += ["", "| PostgreSQL | API connections open | /readyz | /healthz | back after | first accepted submission |"]
    lines.append("| --- | ---: | --- | --- | ---: | ---: |")
    for m in run.measured:
        lines.append(
            f"| {m.outage} | {m.open_connections} | {m.readyz[0]} in {m.readyz[1] * 1000:.0f} ms "
            f"| {m.healthz[0]} in {m.healthz[1] * 1000:.0f} ms | {m.back_after:.2f} s | {m.recovery:.2f} s later |"
        )
    return lines


def run(samples: int = 5, seed: int = 1, keep: bool = False) -> list[str]:
    """The whole scenario; returns the printed result lines, raises Failure on a violation."""
    rng = random.Random(seed)
    result = Run()
    with common.stack("db-outage", keep=keep) as (pg, api, cells):

        async def scenario() -> tuple[int, int]:
            for outage in OUTAGES:
                await _outage(pg, api, cells, rng, outage, samples, result)
            return await _verify(pg, api, result)

        stored, attempts = asyncio.run(scenario())
    lines = report_lines(result)
    lines.append("")
    lines.append(
        f"{len(result.reports)} reports, {attempts} attempts, {stored} stored: every acknowledged report exactly "
        "once, nothing else; the API recovered by itself every time"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=5, help="submissions per outage and HTTP connection kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the logs")
    args: Any = parser.parse_args(argv)
    try:
        lines = run(args.samples, args.seed, args.keep)
    except Failure as failure:
        print(f"db_outage: FAILED: {failure}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
