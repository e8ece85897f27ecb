"""Polis interoperability on the database: import a Polis export folder as a new discussion,
export a discussion as a Polis export folder (chatbot/polis_format.py reads and writes the
files).

Mapping: Polis comment-id c is statement c + 1 (Polis counts from 0, statements from 1), so an
export writes statement s as comment-id s - 1 and a round trip keeps ids. Polis participants
become participants with fresh random ids; their Polis id is kept as external_ref and written
back on export (participants who joined here are numbered after the largest Polis id).
Moderated 1 / 0 / -1 become accepted / pending / rejected ("other") in a post-moderated
discussion, so unmoderated comments stay votable as they were in Polis. Comment bodies are
PII-scrubbed on import like any statement. Imported participants get no token: nobody can act
as them, and they can be erased only with the discussion.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from chatbot import polis_format
from chatbot import repository as repo
from chatbot.engine import MAX_STORED_CHARS, DiscussionSpec, Engine, new_participant_id

MODERATED_STATE = {1: "accepted", 0: "pending", -1: "rejected"}
STATE_MODERATED = {v: k for k, v in MODERATED_STATE.items()}


@dataclass(frozen=True)
class Imported:
    discussion: uuid.UUID
    participants: int
    statements: int
    votes: int


async def import_folder(
    conn: asyncpg.Connection,
    engine: Engine,
    folder: Path,
    municipality: str,
    *,
    language: str = "en",
    state: str = "closed",
    seed: int = 0,
) -> Imported:
    """Reads the folder (PolisFormatError on bad input, before anything is written) and
    stores it as one new discussion in one transaction; then computes its groups."""
    conversation = polis_format.read_export(folder)
    prepared = engine.prepare([c.body for c in conversation.comments], (), limit=MAX_STORED_CHARS)
    people = sorted(
        {v.participant for v in conversation.votes} | {c.author for c in conversation.comments if c.author is not None}
    )
    ours: dict[int, int] = {}
    while len(ours) < len(people):
        candidate = new_participant_id()
        if candidate not in ours.values():
            ours[people[len(ours)]] = candidate
    question = (conversation.topic or folder.name).strip()[:500] or folder.name[:500]
    async with conn.transaction():
        discussion = await engine.create(
            conn,
            municipality,
            DiscussionSpec(
                question=question,
                description=(conversation.description or "").strip()[:4000] or None,
                languages=(language,),
                moderation="post",
                seed=seed,
            ),
        )
        for polis_id, participant in ours.items():
            await repo.insert_participant(
                conn, discussion, participant, secrets.token_bytes(32), False, external_ref=polis_id
            )
        model = engine.embedder.name if engine.embedder.semantic else None
        await repo.insert_statements(
            conn,
            discussion,
            [
                (
                    c.id + 1,
                    ours[c.author] if c.author is not None else None,
                    p.body,
                    p.normalised,
                    p.embedding,
                    model,
                    language,
                    MODERATED_STATE[c.moderated],
                    "other" if c.moderated == -1 else None,
                    False,
                    False,
                    None,
                    None,
                )
                for c, p in zip(conversation.comments, prepared, strict=True)
            ],
        )
        top = max((c.id + 1 for c in conversation.comments), default=0)
        await repo.allocate_statement_ids(conn, discussion, top)
        await repo.insert_votes(
            conn, discussion, ((ours[v.participant], v.comment + 1, v.value) for v in conversation.votes)
        )
        if state != "draft":
            await repo.set_state(conn, discussion, state)
    await engine.recompute(conn, discussion)
    return Imported(discussion, len(ours), len(conversation.comments), len(conversation.votes))


async def export_folder(
    conn: asyncpg.Connection, engine: Engine, discussion: uuid.UUID, folder: Path, *, overwrite: bool = False
) -> list[Path]:
    row = await engine.discussion(conn, discussion)
    _, snap = await engine.snapshot(conn, discussion)
    people = await repo.participant_rows(conn, discussion)
    next_ref = max((r["external_ref"] for r in people if r["external_ref"] is not None), default=-1) + 1
    number: dict[int, int] = {}
    for r in people:
        if r["external_ref"] is not None:
            number[r["id"]] = r["external_ref"]
        else:
            number[r["id"]] = next_ref
            next_ref += 1
    votes = [
        polis_format.PolisVote(participant=number[r["participant"]], comment=r["statement"] - 1, value=r["value"])
        for r in await repo.all_votes(conn, discussion)
    ]
    agrees: dict[int, int] = {}
    disagrees: dict[int, int] = {}
    for v in votes:
        if v.value == 1:
            agrees[v.comment] = agrees.get(v.comment, 0) + 1
        elif v.value == -1:
            disagrees[v.comment] = disagrees.get(v.comment, 0) + 1
    comments = [
        polis_format.ExportComment(
            id=s["id"] - 1,
            author=number[s["author"]] if s["author"] is not None else None,
            body=s["body"],
            moderated=STATE_MODERATED[s["state"]],
            agrees=agrees.get(s["id"] - 1, 0),
            disagrees=disagrees.get(s["id"] - 1, 0),
            group_informed_consensus=snap.consensus.get(s["id"]),
        )
        for s in await repo.statements(conn, discussion)
    ]
    participants = [
        polis_format.ExportParticipant(id=number[r["id"]], group=r["group_id"], n_comments=int(r["statements"]))
        for r in people
    ]
    return polis_format.write_export(
        folder,
        topic=row["question"],
        description=row["description"],
        comments=sorted(comments, key=lambda c: c.id),
        votes=sorted(votes, key=lambda v: (v.participant, v.comment)),
        participants=sorted(participants, key=lambda p: p.id),
        overwrite=overwrite,
    )
