"""Crash test: kill -9 the API and PostgreSQL under load; no acknowledged report is lost or
stored twice, and nothing unacknowledged is stored.

    python ops/resilience/crash_test.py [--clients 16] [--kills 6] [--seed 1] [--workers 1]

Starts its own PostgreSQL and `straatstem serve` (see common.py). `--clients` concurrent
clients each submit distinct reports one after the other, every report retried exactly as
the mobile contract says (same body and submission id, a new solved challenge per attempt,
backoff with jitter, Retry-After honoured) until it is acknowledged (201, or 200 with the
report id) or definitely refused. Meanwhile, at moments drawn from the seeded random
generator (the seed is printed, so a run can be repeated), the API (SIGKILL of its process
group), PostgreSQL (SIGKILL of the postmaster) or both are killed and started again (the
API on the same port, PostgreSQL on the same data directory). Every kill waits until
submissions flow again, so each one lands under load. Afterwards, with everything up and
every client done, the database is compared with what the clients were told:

- missing: an acknowledged report that is not stored;
- duplicates: a report id or a submission id stored more than once;
- extra: a stored report no client was acknowledged for;
- mismatched: a stored report under another submission than the one acknowledged, or a
  submission acknowledged with two different report ids;
- unfinished / refused: a report that never got an acknowledgement, or a definite refusal
  (nothing in this test should be refused).

Any of these is a violation: the script prints the table of counts and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ops.resilience import common
from ops.resilience.common import ACK, REFUSED, Api, Failure, Postgres, Report

BACKOFF_BASE = 0.1  # seconds; the contract's example starts at 5 s, a test cannot wait that long
BACKOFF_CAP = 2.0
SETTLE_BOUND = 60.0  # seconds after the last kill within which every report must be acknowledged
FLOW_BOUND = 30.0  # seconds after a restart within which submissions must be acknowledged again
KINDS = ("api", "postgres", "both")


@dataclass
class Load:
    """The clients' shared state and counters (one event loop: no locks needed)."""

    reports: list[Report] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    retries: int = 0
    acks: int = 0  # acknowledgements so far, so the killer can wait for the load to flow
    producing: bool = True  # clients start new reports while this holds
    deadline: float = float("inf")


async def client(api: Api, cells: list[str], rng: random.Random, load: Load) -> None:
    async with common.session() as s:
        while load.producing:
            report = Report.make(rng, cells, len(load.reports) + 1)
            load.reports.append(report)
            failures = 0
            while True:
                result = await common.attempt(s, api.base, report)
                load.attempts += 1
                load.statuses[str(result.status or "no answer")] += 1
                if result.verdict in (ACK, REFUSED):
                    load.acks += result.verdict == ACK
                    break
                if time.monotonic() > load.deadline:
                    return  # unfinished: counted by the verification
                failures += 1
                load.retries += 1
                await asyncio.sleep(common.backoff(failures, result.retry_after, rng, BACKOFF_BASE, BACKOFF_CAP))


def schedule(kills: int, rng: random.Random) -> list[tuple[str, float]]:
    """(kind, delay after the load flows again) per kill: every kind at least once when there
    are enough kills, in a random order; delays drawn uniformly from 0.1-1.5 s."""
    kinds = [KINDS[i % len(KINDS)] for i in range(kills)]
    rng.shuffle(kinds)
    return [(kind, round(rng.uniform(0.1, 1.5), 2)) for kind in kinds]


@dataclass
class KillLog:
    done: Counter[str] = field(default_factory=Counter)
    api_restart: list[float] = field(default_factory=list)
    pg_restart: list[float] = field(default_factory=list)


def crash(kind: str, pg: Postgres, api: Api, log: KillLog) -> None:
    """Kill and restart (blocking: runs in a thread while the clients go on)."""
    if kind in ("api", "both"):
        api.kill()
    if kind in ("postgres", "both"):
        pg.kill()
        log.pg_restart.append(pg.start())
    if kind in ("api", "both"):
        log.api_restart.append(api.start())
    log.done[kind] += 1


async def flowing(load: Load, acks: int) -> None:
    """Wait until `acks` more reports were acknowledged: the last restart serves again."""
    target = load.acks + acks
    deadline = time.monotonic() + FLOW_BOUND
    while load.acks < target:
        if time.monotonic() > deadline:
            raise Failure(f"submissions did not flow again within {FLOW_BOUND:.0f} s after a restart")
        await asyncio.sleep(0.02)


async def killer(plan: list[tuple[str, float]], pg: Postgres, api: Api, load: Load, log: KillLog, clients: int) -> None:
    for kind, delay in plan:
        await flowing(load, max(2, clients // 2))
        await asyncio.sleep(delay)
        await asyncio.to_thread(crash, kind, pg, api, log)


@dataclass
class Verdict:
    rows: list[tuple[str, object]]
    violations: list[str]


def tally(reports: list[Report], stored: list[tuple[str, str | None]]) -> Verdict:
    """Compare what the clients were told with the stored (report id, submission id) rows."""
    ids = Counter(report_id for report_id, _ in stored)
    submissions = Counter(sub for _, sub in stored if sub is not None)
    submission_of = dict(stored)
    acked = {r.acked: r for r in reports if r.acked is not None}
    acked_reports = sum(1 for r in reports if r.acked is not None)
    missing = sum(1 for report_id in acked if report_id not in ids)
    duplicates = sum(n - 1 for n in ids.values() if n > 1) + sum(n - 1 for n in submissions.values() if n > 1)
    extra = sum(1 for report_id in ids if report_id not in acked)
    mismatched = sum(1 for i, r in acked.items() if i in submission_of and submission_of[i] != r.submission_id)
    mismatched += sum(1 for r in reports if len(r.ack_ids) > 1) + (acked_reports - len(acked))
    counts = {
        "missing": missing,
        "duplicates": duplicates,
        "extra": extra,
        "mismatched": mismatched,
        "refused": sum(1 for r in reports if r.refused is not None),
        "unfinished": sum(1 for r in reports if r.acked is None and r.refused is None),
    }
    rows: list[tuple[str, object]] = [
        ("reports created", len(reports)),
        ("acknowledged", acked_reports),
        ("stored", len(stored)),
        *counts.items(),
    ]
    return Verdict(rows, [f"{name} {n}" for name, n in counts.items() if n])


def run(clients: int = 16, kills: int = 6, seed: int = 1, workers: int = 1, keep: bool = False) -> list[str]:
    """The whole test; returns the printed lines, raises Failure (after printing the table)
    on a violation."""
    rng = random.Random(seed)
    plan = schedule(kills, rng)
    load = Load()
    log = KillLog()
    began = time.monotonic()
    with common.stack("crash-test", workers=workers, keep=keep) as (pg, api, cells):

        async def scenario() -> Verdict:
            tasks = [
                asyncio.create_task(client(api, cells, random.Random(rng.getrandbits(64)), load))
                for _ in range(clients)
            ]
            try:
                await killer(plan, pg, api, load, log, clients)
                await flowing(load, clients)
            finally:
                load.producing = False
                load.deadline = time.monotonic() + SETTLE_BOUND
            await asyncio.gather(*tasks)
            return tally(load.reports, await common.stored_reports(pg))

        verdict = asyncio.run(scenario())
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(load.statuses.items()))
    restarts = [
        ("API restart to ready (mean / max)", _seconds(log.api_restart)),
        ("PostgreSQL restart with recovery (mean / max)", _seconds(log.pg_restart)),
    ]
    rows: list[tuple[str, object]] = [
        ("seed", seed),
        ("clients / API workers", f"{clients} / {workers}"),
        ("kills (api, postgres, both)", ", ".join(str(log.done[k]) for k in KINDS)),
        *restarts,
        ("attempts", load.attempts),
        ("retries", load.retries),
        ("answers", statuses),
        *verdict.rows,
        ("wall time", f"{time.monotonic() - began:.1f} s"),
    ]
    lines = [common.table(rows)]
    if verdict.violations:
        print(lines[0])
        raise Failure("crash test: " + ", ".join(verdict.violations))
    return lines


def _seconds(values: list[float]) -> str:
    return f"{statistics.mean(values):.2f} / {max(values):.2f} s" if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="API worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder with the logs")
    args: Any = parser.parse_args(argv)
    if args.clients < 1 or args.kills < 0 or not 1 <= args.workers <= 8:
        parser.error("--clients must be >= 1, --kills >= 0, --workers 1-8")
    try:
        lines = run(args.clients, args.kills, args.seed, args.workers, args.keep)
    except Failure as failure:
        print(f"crash_test: FAILED: {failure}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
