"""Polis import and export through the database, on the five real Polis conversations in
../shared/data/polis (CC BY 4.0, The Computational Democracy Project; read in place, never
copied): our recomputed opinion groups against Polis's own, and a faithful round trip."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest

from api.deliberation.engine import build_engine
from chatbot import opinion, polis_format, polis_io
from chatbot.engine import Engine
from tests.chatbot.conftest import CONVERSATIONS, polis_folder
from tests.conftest import make_settings

# Measured with seed 0 (see the printed table), ARI of our groups against Polis's group-id over the
# participants both place: seattle 0.80, brexit 0.88, canadian 0.84, scoop 0.92. Polis's own runs are
# history dependent (warm-started k-means, k smoothed over updates), so exact agreement is not expected;
# 0.6 leaves room for that while still failing on a broken method (a random split scores ~0).
ARI_FLOOR = 0.6
# london.youth.policing: Polis has groups of 18, 3 and 3 among 24 participants; groups of 3 are below our
# minimum group size of 5 by design, so its ARI is printed but not held to the floor.
BELOW_MINIMUM = {"london.youth.policing"}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return build_engine(make_settings(tmp_path, nlp_model="lexical"))


async def _groups_by_polis_id(conn: asyncpg.Connection, discussion: uuid.UUID) -> dict[int, int]:
    rows = await conn.fetch(
        """
        select p.external_ref, m.group_id from opinion_member m
          join participant p on p.discussion = m.discussion and p.id = m.participant
         where m.discussion = $1
        """,
        discussion,
    )
    return {r["external_ref"]: r["group_id"] for r in rows}


async def test_import_recompute_and_compare_with_polis_groups(
    clean: asyncpg.Pool, hague: list[int], engine: Engine
) -> None:
    lines = [f"{'conversation':<30} {'ptpts':>6} {'ours':>5} {'polis':>5} {'k':>4} {'polis k':>7} {'ARI':>6}"]
    aris = {}
    for name in CONVERSATIONS:
        folder = polis_folder(name)
        conversation = polis_format.read_export(folder)
        async with clean.acquire() as conn:
            done = await polis_io.import_folder(conn, engine, folder, "den-haag")
            ours = await _groups_by_polis_id(conn, done.discussion)
            counts = await conn.fetchrow(
                "select (select count(*) from statement where discussion = $1) as s,"
                " (select count(*) from vote where discussion = $1) as v",
                done.discussion,
            )
        assert counts["s"] == len(conversation.comments) and counts["v"] == len(conversation.votes)
        both = sorted(set(ours) & set(conversation.groups))
        ari = opinion.adjusted_rand_index([ours[p] for p in both], [conversation.groups[p] for p in both])
        aris[name] = ari
        lines.append(
            f"{name:<30} {done.participants:>6} {len(ours):>5} {len(conversation.groups):>5} "
            f"{len(set(ours.values())):>4} {len(set(conversation.groups.values())):>7} {ari:>6.3f}"
        )
        assert min(sum(1 for g in ours.values() if g == k) for k in set(ours.values())) >= 5
    print("\n".join(lines))
    assert all(ari >= ARI_FLOOR for name, ari in aris.items() if name not in BELOW_MINIMUM), aris


async def test_export_round_trip_with_groups_and_consensus(
    clean: asyncpg.Pool, hague: list[int], engine: Engine, tmp_path: Path
) -> None:
    source = polis_folder("london.youth.policing")
    original = polis_format.read_export(source)
    async with clean.acquire() as conn:
        done = await polis_io.import_folder(conn, engine, source, "den-haag")
        _, snap = await engine.snapshot(conn, done.discussion)
        ours = await _groups_by_polis_id(conn, done.discussion)
        written = await polis_io.export_folder(conn, engine, done.discussion, tmp_path / "out")
        with pytest.raises(polis_format.PolisFormatError):
            await polis_io.export_folder(conn, engine, done.discussion, tmp_path / "out")
    assert {p.name for p in written} == set(polis_format.POLIS_FILES)
    back = polis_format.read_export(tmp_path / "out")
    assert [(c.id, c.author, c.moderated) for c in back.comments] == [
        (c.id, c.author, c.moderated) for c in original.comments
    ]
    assert back.votes == original.votes
    assert back.groups == ours
    import csv

    with (tmp_path / "out" / "comments.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    consensus = {int(r["comment-id"]): r["group-informed-consensus"] for r in rows}
    assert consensus and all(abs(float(consensus[s - 1]) - value) < 1e-9 for s, value in snap.consensus.items()), (
        "comments.csv carries our group-informed consensus"
    )
    with (tmp_path / "out" / "participants-votes.csv").open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header[:2] == ["participant", "group-id"]
