"""Chat benchmark: turn latency of `POST /v1/discussions/{id}/chat` with the sentence model.

    .venv/bin/python ops/bench/chat.py [--participants 20] [--votes 15] [--think-ms 500]
        [--model packaged|lexical|<path>]

A discussion with 40 seed statements is opened on a fresh database (embedded PostgreSQL, or a
new database on DATABASE_URL). A uvicorn server (one worker, like `straatstem serve`) runs the
app with the packaged all-MiniLM-L6-v2 on CPU (unless --model says otherwise) plus a bare echo
endpoint in the same process. `participants` residents talk to the bot at once, each through
the whole dialogue: welcome, start, an experience, a position, a reason, confirming (scrub,
toxicity, embedding, near-duplicate check, insert), then `votes` voting turns and "where do I
stand". Before each turn a participant posts the same body to the echo endpoint as the
baseline. Runs: with an exponential pause of mean `think-ms` before each turn (people reading
and typing), then flat out. Target: chat p99 under 150 ms at 20 participants.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_server, free_port, fresh_database, peak_rss_mb, server_env, summarize
from litestar import Request, Response, post

SLUG = "bench"
TOPICS = ("het park", "het station", "de fietsenstalling", "de bushalte", "het plein", "de onderdoorgang")
MEASURES = ("meer licht", "meer toezicht", "een meldpunt", "camera's", "een veilige route", "betere voorlichting")


def bench_app() -> Any:
    """Worker factory: the straatstem app plus the echo endpoint, in the same process."""
    from api.app import app_from_environment

    @post("/bench/echo", status_code=200, include_in_schema=False)
    async def echo(request: Request[Any, Any, Any]) -> Response[bytes]:
        return Response(await request.body(), media_type="application/json")

    app = app_from_environment()
    app.register(echo)
    return app


def serve(port: int) -> None:
    from api import server

    server.run("chat:bench_app", host="127.0.0.1", port=port, workers=1)


async def prepare(dsn: str, model: str | None, statements: int) -> uuid.UUID:
    """The discussion with its seed statements, created through the engine (so seeds carry
    embeddings of the same model) and opened."""
    import asyncpg

    from api import db
    from api.deliberation.engine import build_engine
    from api.settings import load_settings
    from chatbot.engine import DiscussionSpec

    conn = await asyncpg.connect(dsn)
    try:
        await db.migrate(conn)
        await conn.execute("insert into municipality (slug, name) values ($1, 'Bench')", SLUG)
        # A key of its own, so no secret.key file is written into the working directory.
        env = dict(os.environ, DATABASE_URL=dsn, STRAATSTEM_SECRET_KEY=secrets.token_hex(32))
        if model is not None:
            env["STRAATSTEM_NLP_MODEL"] = model
        engine = build_engine(load_settings(env))
        seeds = tuple(
            f"Bij {t} moet {m} komen (seed {i})" for i, (t, m) in enumerate(zip(TOPICS * 7, MEASURES * 7, strict=False))
        )[:statements]
        discussion = await engine.create(
            conn,
            SLUG,
            DiscussionSpec(
                question="Wat moet er veranderen?", languages=("nl",), moderation="post", seed_statements=seeds
            ),
        )
        await engine.set_state(conn, discussion, "open")
        return discussion
    finally:
        await conn.close()


async def load(base: str, discussion: uuid.UUID, participants: int, votes: int, think_ms: float) -> dict[str, Any]:
    import aiohttp

    rng = random.Random(5)
    turns: dict[str, list[float]] = {"chat": [], "echo": [], "submit": []}
    statuses: dict[int, int] = {}
    url = f"{base}/v1/discussions/{discussion}/chat"

    async def think() -> None:
        if think_ms > 0:
            await asyncio.sleep(rng.expovariate(1000 / think_ms))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=participants * 2)) as session:

        async def turn(headers: dict[str, str], body: dict[str, Any], kind: str = "chat") -> list[dict[str, Any]]:
            await think()
            started = time.perf_counter()
            async with session.post(f"{base}/bench/echo", json=body) as response:
                await response.read()
            turns["echo"].append(time.perf_counter() - started)
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as response:
                answer = await response.json()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            turns[kind].append(time.perf_counter() - started)
            messages: list[dict[str, Any]] = answer.get("messages", [])
            return messages

        async def resident(i: int) -> None:
            async with session.post(f"{base}/v1/discussions/{discussion}/participants", json={}) as response:
                token = (await response.json())["token"]
            headers = {"Authorization": f"Participant {token}"}
            await turn(headers, {})
            await turn(headers, {"reply": "start"})
            await turn(headers, {"text": "Ik werd 's avonds nageroepen toen ik naar huis fietste"})
            topic, measure = TOPICS[i % len(TOPICS)], MEASURES[(i * 5) % len(MEASURES)]
            await turn(headers, {"text": f"bij {topic} moet {measure} komen voor bewoner {i}-{secrets.token_hex(2)}"})
            await turn(headers, {"text": "omdat ik me daar niet veilig voel"})
            messages = await turn(headers, {"reply": "yes"}, "submit")
            if messages and any(r["payload"] == "anyway" for r in messages[-1].get("quick_replies", [])):
                messages = await turn(headers, {"reply": "anyway"}, "submit")
            for _ in range(votes):
                if not messages or messages[-1].get("kind") != "statement":
                    break
                messages = await turn(headers, {"reply": rng.choice(("agree", "disagree", "pass"))})
            await turn(headers, {"reply": "stand"})

        began = time.perf_counter()
        await asyncio.gather(*(resident(i) for i in range(participants)))
        elapsed = time.perf_counter() - began
    return {**turns, "statuses": statuses, "seconds": elapsed}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=20)
    parser.add_argument("--votes", type=int, default=15, help="voting turns per participant")
    parser.add_argument("--statements", type=int, default=40, help="seed statements")
    parser.add_argument("--think-ms", type=float, default=500, help="mean pause before each turn")
    parser.add_argument("--model", default="packaged", help="packaged (all-MiniLM-L6-v2), lexical, or a model folder")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    model = None if args.model == "packaged" else args.model

    with tempfile.TemporaryDirectory(prefix="straatstem-bench-") as tmp, fresh_database(Path(tmp)) as dsn:
        discussion = asyncio.run(prepare(dsn, model, args.statements))
        port = free_port()
        env = server_env(dsn, tmp, SESSION_PROMPTS="500", **({"NLP_MODEL": model} if model is not None else {}))
        with bench_server([sys.executable, __file__, "--serve", str(port)], port, env) as server:
            base = f"http://127.0.0.1:{port}"
            with urllib.request.urlopen(f"{base}/readyz", timeout=10) as ready:  # noqa: S310 (our own server)
                nlp_check = json.loads(ready.read())["checks"]["nlp"]
            asyncio.run(load(base, discussion, 2, 2, 0))  # warm-up
            runs = {
                f"{args.participants} participants, ~{args.think_ms:.0f} ms pauses": asyncio.run(
                    load(base, discussion, args.participants, args.votes, args.think_ms)
                ),
                f"{args.participants} participants, no pauses (saturation)": asyncio.run(
                    load(base, discussion, args.participants, args.votes, 0)
                ),
            }
            rss = peak_rss_mb(server.pid)

    print(
        f"chat benchmark: {args.participants} participants, {args.statements} seed statements, sentence model: "
        f"{nlp_check}; one uvicorn worker, {os.cpu_count()} cores"
    )
    print()
    print("| run | endpoint | turns | p50 ms | p99 ms | max ms | ratio p99 to echo | statuses |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    first = None
    for name, run in runs.items():
        echo99 = pct(run["echo"], 0.99)
        for label, key in (
            ("POST .../chat (all turns)", "chat"),
            ("POST .../chat (confirm: submit)", "submit"),
            ("POST /bench/echo (baseline)", "echo"),
        ):
            values = run[key] + (run["submit"] if key == "chat" else [])
            statuses = run["statuses"] if key == "chat" else ""
            print(
                f"| {name} | {label} | {len(values)} | {pct(values, 0.5):.1f} | {pct(values, 0.99):.1f} | "
                f"{max(values) * 1000:.1f} | {pct(values, 0.99) / echo99:.1f} | {statuses} |"
            )
        if first is None:
            first = run
    assert first is not None
    chat99 = pct(first["chat"] + first["submit"], 0.99)
    summarize(
        f"chat, {args.participants} participants",
        "POST .../chat p99 (paced)",
        chat99,
        "ms",
        baseline=pct(first["echo"], 0.99),
        baseline_name="echo endpoint",
        target="< 150 ms",
        met=chat99 < 150,
        rss_mb=rss,
    )
    print()
    print(f"peak RSS of the server: {rss:.0f} MB")
    print(
        f"target: chat p99 < 150 ms at {args.participants} participants (paced run): "
        f"{'met' if chat99 < 150 else 'NOT met'} ({chat99:.1f} ms)"
    )


if __name__ == "__main__":
    main()
