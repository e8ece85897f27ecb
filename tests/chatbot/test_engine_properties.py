"""Property tests of the deliberation engine on real PostgreSQL: routing never repeats a
statement (nor one already voted on), erasure leaves nothing of the participant and nothing
else changes, and stored opinion groups are never smaller than the minimum."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.deliberation.engine import build_engine
from chatbot.engine import DiscussionSpec, Engine
from tests.conftest import make_settings

T = TypeVar("T")
SEEDS = tuple(f"Stelling {word} over veilige straten" for word in ("een", "twee", "drie", "vier", "vijf", "zes"))


class World:
    """One event loop and connection for a whole Hypothesis run (examples share them)."""

    def __init__(self, dsn: str, engine: Engine) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = engine
        self.conn: asyncpg.Connection = self.run(asyncpg.connect(dsn))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.run(self.conn.close())
        self.loop.close()

    async def discussion(self) -> uuid.UUID:
        await self.conn.execute("insert into municipality values ('props', 'Props') on conflict do nothing")
        did = await self.engine.create(
            self.conn,
            "props",
            DiscussionSpec(question="?", languages=("nl",), moderation="post", seed_statements=SEEDS),
        )
        await self.engine.set_state(self.conn, did, "open")
        return did

    async def counts(self, did: uuid.UUID, participant: int | None = None) -> dict[str, int]:
        clause = "" if participant is None else " and participant = $2"
        args: list[Any] = [did] if participant is None else [did, participant]
        out = {}
        for table in ("vote", "shown", "statement_flag", "opinion_member"):
            out[table] = await self.conn.fetchval(f"select count(*) from {table} where discussion = $1{clause}", *args)  # noqa: S608
        author = "" if participant is None else " and author = $2"
        out["statement"] = await self.conn.fetchval(
            f"select count(*) from statement where discussion = $1{author}",  # noqa: S608
            *args,
        )
        return out


def world(dsn: str, tmp: Path) -> World:
    return World(dsn, build_engine(make_settings(tmp, nlp_model="lexical", group_min_size=3)))


def test_routing_never_repeats_a_statement(dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    w = world(dsn, tmp_path)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(voted_first=st.sets(st.integers(1, len(SEEDS))), skip=st.booleans(), draws=st.integers(1, 10))
    def check(voted_first: set[int], skip: bool, draws: int) -> None:
        async def go() -> None:
            did = await w.discussion()
            token, _ = await w.engine.join(w.conn, did, skip_sensitive=skip)
            for statement in voted_first:
                await w.engine.vote(w.conn, did, token, statement, 1)
            shown: list[int] = []
            while True:
                nxt = await w.engine.next_statement(w.conn, did, token, more=len(shown) % draws == 0)
                w.engine._routing.pop(did, None)  # read fresh counts every time
                if nxt.statement is None:
                    if nxt.reason == "session-cap":
                        continue
                    break
                shown.append(nxt.statement)
            assert len(shown) == len(set(shown)), shown
            assert not set(shown) & voted_first
            assert set(shown) | voted_first == set(range(1, len(SEEDS) + 1))

        w.run(go())

    try:
        check()
    finally:
        w.close()


def test_erasure_leaves_nothing_of_the_participant(dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    w = world(dsn, tmp_path)
    actions = st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from(["vote", "statement", "flag", "next"]), st.integers(1, 6)),
        max_size=25,
    )

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(plan=actions, victim=st.integers(0, 3))
    def check(plan: list[tuple[int, str, int]], victim: int) -> None:
        async def go() -> None:
            did = await w.discussion()
            people = [await w.engine.join(w.conn, did, skip_sensitive=False) for _ in range(4)]
            for n, (who, action, statement) in enumerate(plan):
                token = people[who][0]
                if action == "vote":
                    await w.engine.vote(w.conn, did, token, statement, (n % 3) - 1)
                elif action == "statement":
                    await w.engine.submit(w.conn, did, token, f"Eigen stelling {n} van {who}", None)
                elif action == "flag":
                    await w.engine.flag(w.conn, did, token, statement, "other")
                else:
                    await w.engine.next_statement(w.conn, did, token)
            await w.engine.recompute(w.conn, did)
            token, participant = people[victim]
            theirs = await w.counts(did, participant)
            before = await w.counts(did)
            own_statements = [
                r["id"]
                for r in await w.conn.fetch(
                    "select id from statement where discussion = $1 and author = $2", did, participant
                )
            ]
            on_theirs = await w.conn.fetchval(
                "select count(*) from vote where discussion = $1 and statement = any($2::int[]) and participant <> $3",
                did,
                own_statements,
                participant,
            )
            votes, statements = await w.engine.erase(w.conn, did, token)
            assert (votes, statements) == (theirs["vote"], theirs["statement"])
            assert await w.counts(did, participant) == dict.fromkeys(theirs, 0)
            after = await w.counts(did)
            # Everything else is untouched, except other people's votes on the erased statements.
            assert after["vote"] == before["vote"] - theirs["vote"] - on_theirs
            assert after["statement"] == before["statement"] - theirs["statement"]
            assert await w.conn.fetchval("select count(*) from participant where discussion = $1", did) == 3

        w.run(go())

    try:
        check()
    finally:
        w.close()


def test_stored_groups_respect_the_minimum(dsn: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    w = world(dsn, tmp_path)

    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        votes=st.lists(
            st.tuples(st.integers(0, 11), st.integers(1, len(SEEDS)), st.sampled_from([-1, 0, 1])), min_size=20
        )
    )
    def check(votes: list[tuple[int, int, int]]) -> None:
        async def go() -> None:
            did = await w.discussion()
            people = [await w.engine.join(w.conn, did, skip_sensitive=False) for _ in range(12)]
            for who, statement, value in votes:
                await w.engine.vote(w.conn, did, people[who][0], statement, value)
            _, snap = await w.engine.recompute(w.conn, did)
            sizes = await w.conn.fetch(
                "select group_id, count(*) as n from opinion_member where discussion = $1 group by 1", did
            )
            assert all(r["n"] >= 3 for r in sizes)
            assert sorted(r["n"] for r in sizes) == sorted(g.size for g in snap.groups)

        w.run(go())

    try:
        check()
    finally:
        w.close()
