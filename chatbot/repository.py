"""SQL of the deliberation capability (migration 0004). Functions take a connection; callers
own transactions. Statement numbers are allocated from discussion.next_statement, which also
serialises concurrent submissions to one discussion (duplicate checks see each other)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

DISCUSSION_COLUMNS = "id, municipality, question, description, languages, area, moderation, warning_terms, state, seed"


async def insert_discussion(
    conn: asyncpg.Connection,
    *,
    id: uuid.UUID,
    municipality: str,
    question: str,
    description: str | None,
    languages: Sequence[str],
    area: Sequence[int],
    moderation: str,
    warning_terms: Sequence[str],
    seed: int,
) -> None:
    await conn.execute(
        """
        insert into discussion (id, municipality, question, description, languages, area, moderation,
                                warning_terms, seed)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        id,
        municipality,
        question,
        description,
        list(languages),
        list(area),
        moderation,
        list(warning_terms),
        seed,
    )


async def discussion(conn: asyncpg.Connection, id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record | None:
    suffix = " for update" if lock else ""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"select {DISCUSSION_COLUMNS} from discussion where id = $1{suffix}",  # noqa: S608 (constant columns)
        id,
    )
    return row


async def discussions(
    conn: asyncpg.Connection,
    *,
    states: Sequence[str],
    municipality: str | None = None,
    id: uuid.UUID | None = None,
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"""
            select {DISCUSSION_COLUMNS},
                   (select count(*) from participant p where p.discussion = d.id) as participants,
                   (select count(*) from statement s where s.discussion = d.id and s.state = 'accepted')
                       as statements
              from discussion d
             where ($1::text is null or municipality = $1) and state = any($2::text[])
               and ($3::uuid is null or id = $3)
             order by municipality, question, id
            """,  # noqa: S608 (constant columns)
            municipality,
            list(states),
            id,
        )
    )


async def set_state(conn: asyncpg.Connection, id: uuid.UUID, state: str) -> None:
    await conn.execute("update discussion set state = $2 where id = $1", id, state)


async def allocate_statement_ids(conn: asyncpg.Connection, discussion: uuid.UUID, count: int) -> int:
    """Reserve `count` statement numbers; returns the first. Locks the discussion row until
    commit, so concurrent submissions to one discussion run one after another."""
    first: int = await conn.fetchval(
        "update discussion set next_statement = next_statement + $2 where id = $1 returning next_statement - $2",
        discussion,
        count,
    )
    return first


# --- participants ---------------------------------------------------------------------------


async def insert_participant(
    conn: asyncpg.Connection,
    discussion: uuid.UUID,
    id: int,
    token_hash: bytes,
    skip_sensitive: bool,
    external_ref: int | None = None,
) -> None:
    await conn.execute(
        """
        insert into participant (discussion, id, token_hash, skip_sensitive, external_ref)
        values ($1, $2, $3, $4, $5)
        """,
        discussion,
        id,
        token_hash,
        skip_sensitive,
        external_ref,
    )


async def participant(conn: asyncpg.Connection, discussion: uuid.UUID, token_hash: bytes) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "select id, skip_sensitive, prompts from participant where token_hash = $1 and discussion = $2",
        token_hash,
        discussion,
    )
    return row


async def participant_for_routing(
    conn: asyncpg.Connection, discussion: uuid.UUID, token_hash: bytes
) -> asyncpg.Record | None:
    """The participant with the statements already shown to them and those they voted on
    (perhaps without being shown them), in one round trip."""
    row: asyncpg.Record | None = await conn.fetchrow(
        """
        select p.id, p.skip_sensitive, p.prompts,
               array(select statement from shown s where s.discussion = p.discussion and s.participant = p.id)
                   as shown,
               array(select statement from vote v where v.discussion = p.discussion and v.participant = p.id)
                   as voted
          from participant p
         where p.token_hash = $1 and p.discussion = $2
        """,
        token_hash,
        discussion,
    )
    return row


async def record_shown(conn: asyncpg.Connection, discussion: uuid.UUID, participant: int, statement: int) -> None:
    await conn.execute(
        """
        with shown_now as (
            insert into shown (discussion, participant, statement) values ($1, $2, $3) on conflict do nothing
        )
        update participant set prompts = prompts + 1 where discussion = $1 and id = $2
        """,
        discussion,
        participant,
        statement,
    )


async def reset_prompts(conn: asyncpg.Connection, discussion: uuid.UUID, participant: int) -> None:
    await conn.execute("update participant set prompts = 0 where discussion = $1 and id = $2", discussion, participant)


async def set_skip_sensitive(conn: asyncpg.Connection, discussion: uuid.UUID, participant: int, skip: bool) -> None:
    await conn.execute(
        "update participant set skip_sensitive = $3 where discussion = $1 and id = $2", discussion, participant, skip
    )


async def delete_participant(conn: asyncpg.Connection, discussion: uuid.UUID, participant: int) -> tuple[int, int]:
    """Deletes the participant; their votes, statements (with the votes on those), flags,
    routing history and group membership cascade. Returns (votes, statements) removed."""
    row = await conn.fetchrow(
        """
        select (select count(*) from vote where discussion = $1 and participant = $2) as votes,
               (select count(*) from statement where discussion = $1 and author = $2) as statements
        """,
        discussion,
        participant,
    )
    await conn.execute("delete from participant where discussion = $1 and id = $2", discussion, participant)
    return int(row["votes"]), int(row["statements"])


async def participant_rows(conn: asyncpg.Connection, discussion: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            """
            select p.id, p.external_ref, m.group_id,
                   (select count(*) from statement s where s.discussion = p.discussion and s.author = p.id)
                       as statements,
                   (select count(*) from vote v where v.discussion = p.discussion and v.participant = p.id) as votes
              from participant p
              left join opinion_member m on m.discussion = p.discussion and m.participant = p.id
             where p.discussion = $1
             order by p.id
            """,
            discussion,
        )
    )


# --- statements -----------------------------------------------------------------------------

STATEMENT_COLUMNS = "id, author, body, language, state, reject_reason, sensitive, flags, is_seed, external_ref, held"

# Statements routing may show and participants may vote on: accepted, or pending in a
# post-moderated discussion while not held for a moderator and under the flag threshold ($2).
VISIBLE = """(s.state = 'accepted'
                    or (s.state = 'pending' and d.moderation = 'post' and s.held is null and s.flags < $2))"""


async def insert_statements(conn: asyncpg.Connection, discussion: uuid.UUID, rows: Iterable[tuple[Any, ...]]) -> None:
    """rows: (id, author, body, normalised, embedding, embedding_model, language, state,
    reject_reason, sensitive, is_seed, external_ref, held)."""
    await conn.executemany(
        """
        insert into statement (discussion, id, author, body, normalised, embedding, embedding_model, language,
                               state, reject_reason, sensitive, is_seed, external_ref, held)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        """,
        [(discussion, *row) for row in rows],
    )


async def statement(conn: asyncpg.Connection, discussion: uuid.UUID, id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"select {STATEMENT_COLUMNS} from statement where discussion = $1 and id = $2",  # noqa: S608
        discussion,
        id,
    )
    return row


async def statements(
    conn: asyncpg.Connection, discussion: uuid.UUID, *, states: Sequence[str] | None = None
) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"""
            select {STATEMENT_COLUMNS} from statement
             where discussion = $1 and ($2::text[] is null or state = any($2::text[]))
             order by id
            """,  # noqa: S608
            discussion,
            list(states) if states is not None else None,
        )
    )


async def duplicate_candidates(conn: asyncpg.Connection, discussion: uuid.UUID) -> list[asyncpg.Record]:
    """Statements a new one may duplicate: everything not rejected."""
    return list(
        await conn.fetch(
            """
            select id, body, normalised, embedding, embedding_model from statement
             where discussion = $1 and state <> 'rejected' order by id
            """,
            discussion,
        )
    )


async def moderate(
    conn: asyncpg.Connection,
    discussion: uuid.UUID,
    id: int,
    state: str,
    reason: str | None,
    sensitive: bool | None,
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"""
        update statement set state = $3, reject_reason = $4, sensitive = coalesce($5, sensitive),
                             held = case when $3 = 'accepted' then null else held end
         where discussion = $1 and id = $2
        returning {STATEMENT_COLUMNS}
        """,  # noqa: S608
        discussion,
        id,
        state,
        reason,
        sensitive,
    )
    return row


async def flag(conn: asyncpg.Connection, discussion: uuid.UUID, statement: int, participant: int, reason: str) -> bool:
    """Records one flag per participant and statement; True when it is new."""
    added = await conn.fetchval(
        """
        with added as (
            insert into statement_flag (discussion, statement, participant, reason) values ($1, $2, $3, $4)
            on conflict do nothing returning 1
        )
        update statement set flags = flags + 1
         where discussion = $1 and id = $2 and exists (select 1 from added)
        returning true
        """,
        discussion,
        statement,
        participant,
        reason,
    )
    return bool(added)


async def moderation_queue(conn: asyncpg.Connection, discussion: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            f"""
            select {STATEMENT_COLUMNS},
                   coalesce((select array_agg(distinct f.reason order by f.reason) from statement_flag f
                              where f.discussion = s.discussion and f.statement = s.id), '{{}}') as flag_reasons
              from statement s
             where discussion = $1 and (state = 'pending' or (state = 'accepted' and flags > 0))
             order by state desc, flags desc, id
            """,  # noqa: S608
            discussion,
        )
    )


# --- votes ----------------------------------------------------------------------------------


async def upsert_vote(
    conn: asyncpg.Connection, discussion: uuid.UUID, participant: int, statement: int, value: int
) -> None:
    await conn.execute(
        """
        insert into vote (discussion, participant, statement, value) values ($1, $2, $3, $4)
        on conflict (discussion, participant, statement) do update set value = excluded.value
        """,
        discussion,
        participant,
        statement,
        value,
    )


async def insert_votes(conn: asyncpg.Connection, discussion: uuid.UUID, votes: Iterable[tuple[int, int, int]]) -> None:
    await conn.copy_records_to_table(
        "vote",
        records=[(discussion, p, s, v) for p, s, v in votes],
        columns=["discussion", "participant", "statement", "value"],
    )


async def all_votes(conn: asyncpg.Connection, discussion: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "select participant, statement, value from vote where discussion = $1",
            discussion,
        )
    )


async def vote_arrays(conn: asyncpg.Connection, discussion: uuid.UUID) -> tuple[list[int], list[int], list[int]]:
    """Every vote of the discussion as three parallel arrays (participant, statement, value):
    one row to decode instead of one per vote."""
    row = await conn.fetchrow(
        """
        select coalesce(array_agg(participant), '{}') as p, coalesce(array_agg(statement), '{}') as s,
               coalesce(array_agg(value), '{}') as v
          from vote where discussion = $1
        """,
        discussion,
    )
    return list(row["p"]), list(row["s"]), list(row["v"])


async def members(conn: asyncpg.Connection, discussion: uuid.UUID) -> list[int]:
    return [
        r["participant"]
        for r in await conn.fetch("select participant from opinion_member where discussion = $1", discussion)
    ]


async def visible_statements(
    conn: asyncpg.Connection, discussion: uuid.UUID, flag_threshold: int
) -> list[asyncpg.Record]:
    """Statements routing may show (`VISIBLE`), with their bodies and stored embeddings."""
    return list(
        await conn.fetch(
            f"""
            select s.id, s.body, s.embedding, s.embedding_model
              from statement s join discussion d on d.id = s.discussion
             where s.discussion = $1 and {VISIBLE}
             order by s.id
            """,  # noqa: S608
            discussion,
            flag_threshold,
        )
    )


async def vote_counts(conn: asyncpg.Connection, discussion: uuid.UUID, flag_threshold: int) -> list[asyncpg.Record]:
    """Per statement routing can show (`VISIBLE`): agrees, disagrees, passes."""
    return list(
        await conn.fetch(
            f"""
            select s.id, s.sensitive,
                   count(v.value) filter (where v.value = 1) as agree,
                   count(v.value) filter (where v.value = -1) as disagree,
                   count(v.value) filter (where v.value = 0) as passes
              from statement s
              join discussion d on d.id = s.discussion
              left join vote v on v.discussion = s.discussion and v.statement = s.id
             where s.discussion = $1 and {VISIBLE}
             group by s.id, s.sensitive
             order by s.id
            """,  # noqa: S608
            discussion,
            flag_threshold,
        )
    )


async def total_votes(conn: asyncpg.Connection, discussion: uuid.UUID) -> int:
    count: int = await conn.fetchval("select count(*) from vote where discussion = $1", discussion)
    return count


# --- opinion groups -------------------------------------------------------------------------


async def snapshot(conn: asyncpg.Connection, discussion: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "select version, votes, statements, result from opinion_snapshot where discussion = $1", discussion
    )
    return row


async def store_snapshot(
    conn: asyncpg.Connection,
    discussion: uuid.UUID,
    *,
    votes: int,
    statements: int,
    result: bytes,
    members: Sequence[tuple[int, int]],
) -> int:
    version: int = await conn.fetchval(
        """
        insert into opinion_snapshot (discussion, version, votes, statements, result) values ($1, 1, $2, $3, $4)
        on conflict (discussion) do update
           set version = opinion_snapshot.version + 1, votes = $2, statements = $3, result = $4
        returning version
        """,
        discussion,
        votes,
        statements,
        result,
    )
    await conn.execute("delete from opinion_member where discussion = $1", discussion)
    await conn.copy_records_to_table(
        "opinion_member",
        records=[(discussion, p, g) for p, g in members],
        columns=["discussion", "participant", "group_id"],
    )
    return version


async def shown_by_participant(conn: asyncpg.Connection, discussion: uuid.UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "select participant, array_agg(statement) as statements from shown where discussion = $1 group by 1",
            discussion,
        )
    )


async def try_lock(conn: asyncpg.Connection, discussion: uuid.UUID) -> bool:
    """A transaction-scoped advisory lock per discussion for recomputation, so replicas do
    not compute the same groups twice."""
    locked: bool = await conn.fetchval(
        "select pg_try_advisory_xact_lock(hashtextextended('opinion:' || $1::uuid::text, 0))", discussion
    )
    return locked


# --- conversation ---------------------------------------------------------------------------


async def chat_state(
    conn: asyncpg.Connection, discussion: uuid.UUID, participant: int, *, lock: bool = False
) -> bytes | None:
    """The participant's encoded chat state; `lock` holds the row until the transaction ends,
    so two messages of one participant are answered one after the other."""
    query = "select state from chat_state where discussion = $1 and participant = $2"
    state: bytes | None = await conn.fetchval(query + (" for update" if lock else ""), discussion, participant)
    return state


async def put_chat_state(conn: asyncpg.Connection, discussion: uuid.UUID, participant: int, state: bytes) -> None:
    await conn.execute(
        """
        insert into chat_state (discussion, participant, state) values ($1, $2, $3)
        on conflict (discussion, participant) do update set state = excluded.state
        """,
        discussion,
        participant,
        state,
    )


async def participant_votes(conn: asyncpg.Connection, discussion: uuid.UUID, participant: int) -> dict[int, int]:
    rows = await conn.fetch(
        "select statement, value from vote where discussion = $1 and participant = $2", discussion, participant
    )
    return {r["statement"]: r["value"] for r in rows}


async def member_group(conn: asyncpg.Connection, discussion: uuid.UUID, participant: int) -> int | None:
    group: int | None = await conn.fetchval(
        "select group_id from opinion_member where discussion = $1 and participant = $2", discussion, participant
    )
    return group


async def bodies(conn: asyncpg.Connection, discussion: uuid.UUID, ids: Sequence[int]) -> dict[int, str]:
    rows = await conn.fetch(
        "select id, body from statement where discussion = $1 and id = any($2::int[])", discussion, list(ids)
    )
    return {r["id"]: r["body"] for r in rows}
