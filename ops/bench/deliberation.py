"""Deliberation benchmark: opinion-group recomputation and `next` latency.

    .venv/bin/python ops/bench/deliberation.py [--participants 2000] [--statements 500]
        [--density 0.3] [--requests 4000] [--concurrency 32]

1. A discussion with P participants x S statements and `density` of the votes cast (three
   latent opinion camps plus noise) is written to a fresh database (embedded PostgreSQL, or a
   new database on DATABASE_URL). Recomputation (`Engine.recompute`: read the votes, compute,
   store the snapshot and memberships) is timed against the bare read of the same votes in
   the same process. Target: under 2 s.
2. A uvicorn server (one worker, like `straatstem serve`) answers `GET /v1/discussions/{id}/next`
   for `concurrency` participants at once, each asking and then voting on what it got, against
   `GET /healthz` as the baseline in the same server. Target: `next` p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_server, free_port, fresh_database, peak_rss_mb, server_env, summarize

SLUG = "bench"


def serve(port: int) -> None:
    from api import server

    server.run("api.app:app_from_environment", host="127.0.0.1", port=port, workers=1)


async def prepare(dsn: str, participants: int, statements: int, density: float) -> tuple[uuid.UUID, list[str]]:
    """The discussion, its statements, participants (with tokens) and votes, written directly."""
    import asyncpg

    from api import db

    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    try:
        await db.migrate(conn)
        await conn.execute("insert into municipality (slug, name) values ($1, 'Bench')", SLUG)
        discussion = uuid.uuid4()
        await conn.execute(
            "insert into discussion (id, municipality, question, languages, moderation, state, seed, next_statement)"
            " values ($1, $2, 'Wat moet er veranderen?', '{nl}', 'post', 'open', 1, $3)",
            discussion,
            SLUG,
            statements + 1,
        )
        await conn.copy_records_to_table(
            "statement",
            records=[
                (discussion, s, f"Stelling nummer {s} over veilige straten", f"stelling nummer {s}", "accepted")
                for s in range(1, statements + 1)
            ],
            columns=["discussion", "id", "body", "normalised", "state"],
        )
        tokens = [secrets.token_urlsafe(32) for _ in range(participants)]
        ids = rng.sample(range(1, 2**53), participants)
        await conn.copy_records_to_table(
            "participant",
            records=[(discussion, i, hashlib.sha256(t.encode()).digest()) for i, t in zip(ids, tokens, strict=True)],
            columns=["discussion", "id", "token_hash"],
        )
        leaning = {s: [rng.choice((-1, 1)) for _ in range(3)] for s in range(1, statements + 1)}
        votes = []
        for n, participant in enumerate(ids):
            camp = n % 3
            for s in rng.sample(range(1, statements + 1), int(statements * density)):
                roll = rng.random()
                value = leaning[s][camp] if roll < 0.7 else (0 if roll < 0.85 else -leaning[s][camp])
                votes.append((discussion, participant, s, value))
        await conn.copy_records_to_table(
            "vote", records=votes, columns=["discussion", "participant", "statement", "value"]
        )
        await conn.execute("analyze")
        return discussion, tokens
    finally:
        await conn.close()


async def time_recompute(dsn: str, discussion: uuid.UUID, rounds: int) -> tuple[list[float], list[float], Any]:
    import asyncpg

    from api.deliberation.engine import build_engine
    from api.settings import Settings
    from chatbot import repository as repo

    engine = build_engine(Settings(nlp_model="lexical", secret_key=b"x" * 32))
    conn = await asyncpg.connect(dsn)
    try:
        reads, recomputes = [], []
        snap = None
        for _ in range(rounds):
            started = time.perf_counter()
            await repo.vote_arrays(conn, discussion)
            reads.append(time.perf_counter() - started)
            started = time.perf_counter()
            _, snap = await engine.recompute(conn, discussion)
            recomputes.append(time.perf_counter() - started)
        return reads, recomputes, snap
    finally:
        await conn.close()


async def load(
    base: str, discussion: uuid.UUID, tokens: list[str], requests: int, concurrency: int, think_ms: float
) -> dict[str, Any]:
    """`concurrency` participants at once, each asking `next`, then voting on what it got, with
    an exponentially distributed pause of mean `think_ms` before each request (0: flat out).
    The baseline GET /healthz is asked between the two by the same participants."""
    import aiohttp

    next_latencies: list[float] = []
    health_latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = [requests]
    rng = random.Random(3)

    async def think() -> None:
        if think_ms > 0:
            await asyncio.sleep(rng.expovariate(1000 / think_ms))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def participant(token: str) -> None:
            headers = {"Authorization": f"Participant {token}"}
            while remaining[0] > 0:
                remaining[0] -= 1
                await think()
                started = time.perf_counter()
                async with session.get(f"{base}/v1/discussions/{discussion}/next", headers=headers) as response:
                    body = await response.json()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                next_latencies.append(time.perf_counter() - started)
                started = time.perf_counter()
                async with session.get(f"{base}/healthz") as response:
                    await response.read()
                health_latencies.append(time.perf_counter() - started)
                await think()
                if body.get("statement"):
                    vote = {"statement": body["statement"]["id"], "value": rng.choice((-1, 0, 1))}
                    async with session.post(
                        f"{base}/v1/discussions/{discussion}/votes", json=vote, headers=headers
                    ) as response:
                        await response.read()

        began = time.perf_counter()
        await asyncio.gather(*(participant(t) for t in rng.sample(tokens, concurrency)))
        elapsed = time.perf_counter() - began
    return {"next": next_latencies, "health": health_latencies, "statuses": statuses, "seconds": elapsed}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--statements", type=int, default=500)
    parser.add_argument("--density", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=3, help="recomputations timed")
    parser.add_argument("--requests", type=int, default=4000, help="next requests")
    parser.add_argument("--concurrency", type=int, default=200, help="participants taking part at once")
    parser.add_argument("--think-ms", type=float, default=1000, help="mean pause before each request")
    parser.add_argument("--flat-out", type=int, default=32, help="participants in the saturation run (no pauses)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    with tempfile.TemporaryDirectory(prefix="straatstem-bench-") as tmp, fresh_database(Path(tmp)) as dsn:
        started = time.perf_counter()
        discussion, tokens = asyncio.run(prepare(dsn, args.participants, args.statements, args.density))
        setup = time.perf_counter() - started
        reads, recomputes, snap = asyncio.run(time_recompute(dsn, discussion, args.rounds))
        port = free_port()
        env = server_env(dsn, tmp, NLP_MODEL="lexical", SESSION_PROMPTS="500", RECOMPUTE_VOTES="1000000")
        with bench_server([sys.executable, __file__, "--serve", str(port)], port, env) as server:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(load(base, discussion, tokens, 300, args.flat_out, 0))  # warm-up
            runs = {
                f"{args.concurrency} participants, ~{args.think_ms:.0f} ms pauses": asyncio.run(
                    load(base, discussion, tokens, args.requests, args.concurrency, args.think_ms)
                ),
                f"{args.flat_out} participants, no pauses (saturation)": asyncio.run(
                    load(base, discussion, tokens, args.requests, args.flat_out, 0)
                ),
            }
            rss = peak_rss_mb(server.pid)

    database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded (pgserver)"
    votes = int(args.participants * args.statements * args.density)
    print(
        f"\ndeliberation benchmark: {args.participants} participants x {args.statements} statements, "
        f"{votes:,} votes ({args.density:.0%}), {os.cpu_count()} cores, PostgreSQL {database}; setup {setup:.1f} s\n"
    )
    print("| step | median s | max s | ratio to baseline |")
    print("| --- | ---: | ---: | ---: |")
    read = statistics.median(reads)
    print(f"| baseline: read all votes (as recompute does) | {read:.3f} | {max(reads):.3f} | 1.00 |")
    recompute = statistics.median(recomputes)
    print(
        f"| recompute groups (read + compute + store) | {recompute:.3f} | {max(recomputes):.3f} "
        f"| {recompute / read:.1f} |"
    )
    sizes = ", ".join(str(g.size) for g in snap.groups) if snap else "-"
    print(f"\ngroups: {sizes} (in conversation: {snap.in_conversation if snap else 0})")
    print("\n| load | req/s (next) | statuses | endpoint | p50 ms | p90 ms | p99 ms | p99 ratio to baseline |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for label, result in runs.items():
        health99 = pct(result["health"], 0.99)
        rate = len(result["next"]) / result["seconds"]
        for name, values in (("GET /healthz (baseline)", result["health"]), ("GET .../next", result["next"])):
            print(
                f"| {label} | {rate:,.0f} | {result['statuses']} | {name} | {pct(values, 0.5):.1f} | "
                f"{pct(values, 0.9):.1f} | {pct(values, 0.99):.1f} | {pct(values, 0.99) / health99:.1f} |"
            )
    print(f"\nserver peak RSS: {rss:.0f} MB")
    where = f"deliberation, {args.participants} x {args.statements}"
    summarize(
        where,
        "recompute opinion groups (max)",
        max(recomputes),
        "s",
        baseline=read,
        baseline_name="read all votes",
        target="< 2 s",
        met=max(recomputes) < 2,
    )
    paced = next(iter(runs.values()))
    summarize(
        where,
        "GET .../next p99 (participants pausing)",
        pct(paced["next"], 0.99),
        "ms",
        baseline=pct(paced["health"], 0.99),
        baseline_name="GET /healthz",
        target="< 20 ms",
        met=pct(paced["next"], 0.99) < 20,
        rss_mb=rss,
    )
    print(
        f"targets: recompute < 2 s: {'met' if max(recomputes) < 2 else 'NOT met'}; "
        f"next p99 < 20 ms with participants pausing: "
        f"{'met' if pct(next(iter(runs.values()))['next'], 0.99) < 20 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
