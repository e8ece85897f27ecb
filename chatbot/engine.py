"""The deliberation engine: discussions, anonymous participants, statements, votes, opinion
groups and balanced routing on PostgreSQL (migration 0004). HTTP-free: api/ maps `Refused`
to problem responses and checks staff roles; this module owns the rules.

Rules worth knowing:
- A participant is a random 53-bit number within one discussion; the client holds a random
  token of which only SHA-256 is stored. Erasure deletes the participant row and everything
  of theirs cascades (votes, statements and the votes on them, flags, routing history, group
  membership); the groups are then recomputed so no aggregate keeps their votes.
- Statements are PII-scrubbed before anything is stored or compared, then checked for
  duplicates: equal normalised text always, embedding cosine >= the threshold when a sentence
  model is loaded (chatbot/nlp.py). In a pre-moderated discussion a statement is shown only
  once accepted; in a post-moderated one it is shown while pending unless flagged by
  `flag_threshold` participants. Rejected statements are never shown.
- Opinion groups (chatbot/opinion.py) are recomputed in the background once `recompute_votes`
  new votes or new visible statements exist, and on demand; they are deterministic for the
  discussion's seed. Before groups exist, statements are grouped by text (cold start) so
  routing can still spread what a participant sees.
- Routing (chatbot/routing.py) draws the next statement by Polis priority times a balance
  factor, never repeats one, skips sensitive statements for participants who opted out, and
  stops after `session_prompts` per session until the participant asks to continue.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
import msgspec
import numpy as np

from chatbot import names as person_names
from chatbot import nlp, opinion, routing, toxicity
from chatbot import repository as repo
from privacy import pii

MAX_STATEMENT_CHARS = 280
MAX_STORED_CHARS = 400
MAX_TOKEN_LENGTH = 128
REJECT_REASONS = ("off-topic", "personal-story", "personal-data", "abusive", "duplicate", "not-a-position", "other")
FLAG_REASONS = ("off-topic", "personal-data", "abusive", "duplicate", "other")
MODERATION_MODES = ("pre", "post")
LANGUAGES = ("nl", "en")
_PARTICIPANT_ID_LIMIT = 2**53


class Refused(Exception):
    """A request the engine will not carry out. `kind` is one of not-found, unauthorised,
    not-open, invalid, duplicate, abusive, conflict; `detail` never echoes the text that was sent."""

    def __init__(self, kind: str, detail: str, *, duplicate: nlp.Duplicate | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.duplicate = duplicate


@dataclass(frozen=True)
class Config:
    group_min_size: int = 5
    session_prompts: int = 12
    recompute_votes: int = 50
    flag_threshold: int = 3
    duplicate_threshold: float = nlp.NEAR_DUPLICATE_THRESHOLD
    # How long a process reuses vote counts and groups for routing before reading them again.
    routing_ttl_seconds: float = 3.0


@dataclass(frozen=True)
class DiscussionSpec:
    question: str
    languages: tuple[str, ...]
    moderation: str
    description: str | None = None
    area: tuple[int, ...] = ()
    warning_terms: tuple[str, ...] = ()
    seed_statements: tuple[str, ...] = ()
    # The opinion-group seed; random when None. Imports fix it so reruns compare equal.
    seed: int | None = None


# --- snapshot (stored msgspec-encoded in opinion_snapshot.result) --------------------------


class RepStatement(msgspec.Struct, kw_only=True):
    statement: int
    direction: Literal["agree", "disagree"]
    agree: int
    disagree: int
    votes: int
    p_success: float
    p_test: float
    repness: float
    repness_test: float
    metric: float


class GroupSummary(msgspec.Struct, kw_only=True):
    id: int
    size: int
    centroid: tuple[float, float]
    representative: list[RepStatement]


class MajorityStatement(msgspec.Struct, kw_only=True):
    statement: int
    direction: Literal["agree", "disagree"]
    p_success: float
    p_test: float


class Snapshot(msgspec.Struct, kw_only=True):
    """Aggregates of one opinion-group computation. `method` is "opinion" (Polis groups),
    "text" (cold start: statement clusters by text, no participant groups) or "none"."""

    method: Literal["opinion", "text", "none"]
    seed: int
    participants: int
    in_conversation: int
    groups: list[GroupSummary]
    statement_group: dict[int, int]
    extremity: dict[int, float]
    consensus: dict[int, float]
    divisiveness: dict[int, float]
    majority: list[MajorityStatement]
    chosen_k: int | None = None
    silhouettes: dict[int, float] = msgspec.field(default_factory=dict)
    text_method: str | None = None

    def target(self) -> dict[int, float]:
        """Share of each group routing should aim at: group sizes for opinion groups (every
        group heard in proportion), equal shares for cold-start text clusters."""
        if self.method == "opinion" and self.groups:
            total = sum(g.size for g in self.groups)
            return {g.id: g.size / total for g in self.groups}
        clusters = sorted(set(self.statement_group.values()))
        return {c: 1 / len(clusters) for c in clusters}


EMPTY_SNAPSHOT = Snapshot(
    method="none",
    seed=0,
    participants=0,
    in_conversation=0,
    groups=[],
    statement_group={},
    extremity={},
    consensus={},
    divisiveness={},
    majority=[],
)


@dataclass
class RoutingState:
    discussion_state: str
    candidates: routing.Prepared
    sensitive: frozenset[int]
    statement_group: dict[int, int]
    target: dict[int, float]
    body: dict[int, str]
    loaded: float
    snapshot_version: int


@dataclass(frozen=True)
class NextStatement:
    statement: int | None
    body: str | None
    content_warning: bool
    reason: Literal["statement", "session-cap", "no-more-statements"]
    shown_in_session: int
    session_cap: int


@dataclass(frozen=True)
class StatementView:
    id: int
    body: str
    state: str
    sensitive: bool
    personal_data_removed: bool
    language: str | None = None
    reject_reason: str | None = None
    flags: int = 0
    is_seed: bool = False
    held: str | None = None


@dataclass(frozen=True)
class Screened:
    """A text after the PII scrubber (and the name model, when configured) and the toxicity
    check: `text` is what may be stored, `found` the kinds of personal data removed."""

    text: str
    found: frozenset[pii.PiiKind]
    toxicity: toxicity.ToxicityResult

    @property
    def hold(self) -> str | None:
        """Why a statement with this text must wait for a moderator, if it must."""
        if self.toxicity.verdict is toxicity.Verdict.DOUBT:
            return "toxicity"
        # A placeholder means personal data was removed, perhaps earlier in the conversation.
        return "personal-data" if self.found or _PLACEHOLDER.search(self.text) else None


@dataclass(frozen=True)
class Prepared:
    body: str
    normalised: str
    embedding: bytes | None
    personal_data_removed: bool
    sensitive: bool
    hold: str | None = None
    abusive: bool = False


@dataclass(frozen=True)
class SharedView:
    statement: int
    body: str
    direction: Literal["agree", "disagree"]


@dataclass(frozen=True)
class Stance:
    """Where a participant stands: the opinion group their votes are closest to (None before
    groups exist or when no group fits), that group's size, the group count, and up to
    `limit` of the group's representative statements the participant voted the same way on."""

    votes: int
    group: int | None
    label: str | None
    size: int
    groups: int
    shared: tuple[SharedView, ...]
    exact: bool


def token_hash(token: str) -> bytes:
    """SHA-256 of a participant token (256 random bits, so a slow hash buys nothing)."""
    return hashlib.sha256(token.encode()).digest()


def new_participant_id() -> int:
    return secrets.randbelow(_PARTICIPANT_ID_LIMIT - 1) + 1


def normalise_terms(terms: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({t for t in (nlp.normalise(term) for term in terms) if t}))


def is_sensitive(normalised: str, terms: Sequence[str]) -> bool:
    """Whether a normalised statement contains a normalised warning term as whole words."""
    padded = f" {normalised} "
    return any(f" {term} " in padded for term in terms)


_WHITESPACE = re.compile(r"\s+")
_PLACEHOLDER = re.compile("|".join(re.escape(f"[{kind.value}]") for kind in pii.PiiKind))


@dataclass
class Engine:
    config: Config
    embedder: nlp.Embedder
    nlp_status: nlp.NlpStatus
    toxicity: toxicity.ToxicityChecker = field(default_factory=toxicity.LexiconChecker)
    names: person_names.NameFinder | None = None
    # What each language model is doing (loaded, or which fallback and why), for /readyz and reports.
    model_checks: dict[str, str] = field(default_factory=dict)
    _routing: dict[uuid.UUID, RoutingState] = field(default_factory=dict)
    _refreshing: dict[uuid.UUID, asyncio.Lock] = field(default_factory=dict)
    _recomputing: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)
    pool: asyncpg.Pool | None = None

    # --- text -------------------------------------------------------------------------------

    def screen(self, texts: Sequence[str]) -> list[Screened]:
        """PII first (the scrubber, then the name model), then toxicity on the scrubbed text:
        nothing downstream, the toxicity model included, ever sees the personal data."""
        scrubbed = [person_names.scrub(_WHITESPACE.sub(" ", text).strip(), self.names) for text in texts]
        verdicts = self.toxicity.check([r.text for r in scrubbed]) if scrubbed else []
        return [Screened(r.text, r.found, v) for r, v in zip(scrubbed, verdicts, strict=True)]

    def prepare(self, texts: Sequence[str], warning_terms: Sequence[str], *, limit: int) -> list[Prepared]:
        """Screen, normalise, embed and mark sensitive. PII is removed before anything else sees
        the text, so neither the database nor the duplicate check ever holds it."""
        screened = self.screen(texts)
        for result in screened:
            if not result.text or len(result.text) > limit:
                raise Refused("invalid", f"a statement must be 1 to {limit} characters")
        vectors: np.ndarray | None = None
        if self.embedder.semantic and screened:
            vectors = np.asarray(self.embedder.embed([r.text for r in screened]), dtype=np.float32)
        prepared = []
        for i, result in enumerate(screened):
            normalised = nlp.normalise(result.text)
            prepared.append(
                Prepared(
                    body=result.text,
                    normalised=normalised,
                    embedding=vectors[i].tobytes() if vectors is not None else None,
                    personal_data_removed=bool(result.found),
                    sensitive=is_sensitive(normalised, warning_terms),
                    hold=result.hold,
                    abusive=result.toxicity.verdict is toxicity.Verdict.TOXIC,
                )
            )
        return prepared

    def _duplicate(self, prepared: Prepared, candidates: Sequence[asyncpg.Record]) -> nlp.Duplicate | None:
        """nlp.find_duplicate against the stored statements, reusing their stored embeddings
        when every one was made by the current model."""
        pairs = [(r["id"], r["body"]) for r in candidates]
        vectors = self._stored_vectors(candidates) if self.embedder.semantic else None
        query = np.frombuffer(prepared.embedding, dtype=np.float32) if prepared.embedding is not None else None
        return nlp.find_duplicate(
            prepared.body,
            pairs,
            self.embedder,
            threshold=self.config.duplicate_threshold,
            candidate_vectors=vectors,
            query_vector=query,
        )

    # --- discussions ------------------------------------------------------------------------

    async def create(self, conn: asyncpg.Connection, municipality: str, spec: DiscussionSpec) -> uuid.UUID:
        if spec.moderation not in MODERATION_MODES:
            raise Refused("invalid", "moderation must be pre or post")
        if not spec.languages or any(lang not in LANGUAGES for lang in spec.languages):
            raise Refused("invalid", "languages must be a non-empty subset of nl, en")
        terms = normalise_terms(spec.warning_terms)
        seeds = await asyncio.to_thread(self.prepare, spec.seed_statements, terms, limit=MAX_STATEMENT_CHARS)
        discussion_id = uuid.uuid4()
        async with conn.transaction():
            await repo.insert_discussion(
                conn,
                id=discussion_id,
                municipality=municipality,
                question=spec.question.strip(),
                description=(spec.description or "").strip() or None,
                languages=sorted(set(spec.languages)),
                area=sorted(set(spec.area)),
                moderation=spec.moderation,
                warning_terms=terms,
                seed=secrets.randbelow(2**31) if spec.seed is None else spec.seed,
            )
            await self._insert_prepared(conn, discussion_id, seeds, author=None, state="accepted", is_seed=True)
        return discussion_id

    async def _insert_prepared(
        self,
        conn: asyncpg.Connection,
        discussion: uuid.UUID,
        prepared: Sequence[Prepared],
        *,
        author: int | None,
        state: str,
        is_seed: bool,
        language: str | None = None,
        held: str | None = None,
    ) -> list[int]:
        unique: list[Prepared] = []
        seen: set[str] = set()
        for p in prepared:
            if p.normalised not in seen:
                seen.add(p.normalised)
                unique.append(p)
        if not unique:
            return []
        first = await repo.allocate_statement_ids(conn, discussion, len(unique))
        ids = list(range(first, first + len(unique)))
        model = self.embedder.name if self.embedder.semantic else None
        await repo.insert_statements(
            conn,
            discussion,
            [
                (
                    i,
                    author,
                    p.body,
                    p.normalised,
                    p.embedding,
                    model,
                    language,
                    state,
                    None,
                    p.sensitive,
                    is_seed,
                    None,
                    held,
                )
                for i, p in zip(ids, unique, strict=True)
            ],
        )
        return ids

    async def discussion(self, conn: asyncpg.Connection, discussion: uuid.UUID) -> asyncpg.Record:
        row = await repo.discussion(conn, discussion)
        if row is None:
            raise Refused("not-found", "no discussion with this id")
        return row

    async def set_state(self, conn: asyncpg.Connection, discussion: uuid.UUID, state: str) -> None:
        async with conn.transaction():
            row = await repo.discussion(conn, discussion, lock=True)
            if row is None:
                raise Refused("not-found", "no discussion with this id")
            allowed = {
                "open": ("draft", "open", "paused", "closed"),
                "paused": ("open", "paused"),
                "closed": ("open", "paused", "closed"),
            }
            if row["state"] not in allowed[state]:
                raise Refused("conflict", f"a {row['state']} discussion cannot be {state}")
            await repo.set_state(conn, discussion, state)
        self._routing.pop(discussion, None)

    async def add_statements(
        self, conn: asyncpg.Connection, discussion: uuid.UUID, texts: Sequence[str]
    ) -> list[StatementView]:
        """Seed statements by a moderator: accepted at once, no author."""
        async with conn.transaction():
            row = await repo.discussion(conn, discussion, lock=True)
            if row is None:
                raise Refused("not-found", "no discussion with this id")
            prepared = await asyncio.to_thread(self.prepare, texts, row["warning_terms"], limit=MAX_STATEMENT_CHARS)
            candidates = await repo.duplicate_candidates(conn, discussion)
            fresh = [p for p in prepared if await asyncio.to_thread(self._duplicate, p, candidates) is None]
            ids = await self._insert_prepared(conn, discussion, fresh, author=None, state="accepted", is_seed=True)
        self._routing.pop(discussion, None)
        return [await self.statement(conn, discussion, i) for i in ids]

    async def statement(self, conn: asyncpg.Connection, discussion: uuid.UUID, id: int) -> StatementView:
        row = await repo.statement(conn, discussion, id)
        if row is None:
            raise Refused("not-found", "no statement with this id in this discussion")
        return _view(row)

    # --- participants -----------------------------------------------------------------------

    async def join(self, conn: asyncpg.Connection, discussion: uuid.UUID, *, skip_sensitive: bool) -> tuple[str, int]:
        row = await self.discussion(conn, discussion)
        if row["state"] != "open":
            raise Refused("not-open", "this discussion is not open")
        token = secrets.token_urlsafe(32)
        participant = new_participant_id()
        await repo.insert_participant(conn, discussion, participant, token_hash(token), skip_sensitive)
        return token, participant

    async def participant(self, conn: asyncpg.Connection, discussion: uuid.UUID, token: str | None) -> asyncpg.Record:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Refused("unauthorised", "send the participant token as Authorization: Participant <token>")
        row = await repo.participant(conn, discussion, token_hash(token))
        if row is None:
            raise Refused("unauthorised", "unknown participant token for this discussion")
        return row

    async def set_preferences(
        self, conn: asyncpg.Connection, discussion: uuid.UUID, token: str | None, *, skip_sensitive: bool
    ) -> None:
        who = await self.participant(conn, discussion, token)
        await repo.set_skip_sensitive(conn, discussion, who["id"], skip_sensitive)

    async def erase(self, conn: asyncpg.Connection, discussion: uuid.UUID, token: str | None) -> tuple[int, int]:
        """Self-service erasure: the participant and every row of theirs. Returns (votes,
        statements) removed. The groups are recomputed right after, in the background."""
        async with conn.transaction():
            who = await self.participant(conn, discussion, token)
            removed = await repo.delete_participant(conn, discussion, who["id"])
        self._routing.pop(discussion, None)
        self.schedule_recompute(discussion)
        return removed

    # --- statements and votes ---------------------------------------------------------------

    async def submit(
        self,
        conn: asyncpg.Connection,
        discussion: uuid.UUID,
        token: str | None,
        text: str,
        language: str | None,
        *,
        allow_near_duplicate: bool = False,
    ) -> StatementView:
        """A participant's statement. Refused when abusive (a threat; the toxicity check is
        sure) or a duplicate (`allow_near_duplicate` lets an embedding-only match through: the
        participant saw it and posts theirs anyway). Held for a moderator, whatever the
        moderation mode, when the toxicity check is in doubt or personal data was removed."""
        row = await self.discussion(conn, discussion)
        if language is not None and language not in row["languages"]:
            raise Refused("invalid", "language must be one of the discussion's languages")
        if len(text.strip()) > MAX_STATEMENT_CHARS:
            raise Refused("invalid", f"a statement must be 1 to {MAX_STATEMENT_CHARS} characters")
        # Embedding is CPU work: off the event loop, like the duplicate check below.
        (prepared,) = await asyncio.to_thread(self.prepare, [text], row["warning_terms"], limit=MAX_STORED_CHARS)
        if prepared.abusive:
            raise Refused("abusive", "this statement reads as a threat or abuse; say what should change without it")
        async with conn.transaction():
            locked = await repo.discussion(conn, discussion, lock=True)
            assert locked is not None
            if locked["state"] != "open":
                raise Refused("not-open", "this discussion is not open")
            who = await self.participant(conn, discussion, token)
            candidates = await repo.duplicate_candidates(conn, discussion)
            duplicate = await asyncio.to_thread(self._duplicate, prepared, candidates)
            if duplicate is not None and not (allow_near_duplicate and duplicate.method == "embedding"):
                raise Refused("duplicate", "a statement like this one exists; vote on it instead", duplicate=duplicate)
            (id,) = await self._insert_prepared(
                conn,
                discussion,
                [prepared],
                author=who["id"],
                state="pending",
                is_seed=False,
                language=language,
                held=prepared.hold,
            )
        if locked["moderation"] == "post" and prepared.hold is None:
            self._routing.pop(discussion, None)
        view = await self.statement(conn, discussion, id)
        return StatementView(**{**view.__dict__, "personal_data_removed": prepared.personal_data_removed})

    async def vote(
        self, conn: asyncpg.Connection, discussion: uuid.UUID, token: str | None, statement: int, value: int
    ) -> None:
        if value not in (-1, 0, 1):
            raise Refused("invalid", "vote must be 1 (agree), -1 (disagree) or 0 (pass)")
        row = await self.discussion(conn, discussion)
        if row["state"] != "open":
            raise Refused("not-open", "this discussion is not open")
        who = await self.participant(conn, discussion, token)
        target = await repo.statement(conn, discussion, statement)
        if target is None or not self.visible(row, _view(target)):
            raise Refused("not-found", "no statement with this id is open for votes")
        await repo.upsert_vote(conn, discussion, who["id"], statement, value)

    def visible(self, discussion: asyncpg.Record, statement: StatementView) -> bool:
        """Whether participants may see and vote on the statement: the twin of
        repository.VISIBLE, which routing uses."""
        return statement.state == "accepted" or (
            statement.state == "pending"
            and discussion["moderation"] == "post"
            and statement.held is None
            and statement.flags < self.config.flag_threshold
        )

    async def flag(
        self, conn: asyncpg.Connection, discussion: uuid.UUID, token: str | None, statement: int, reason: str
    ) -> None:
        if reason not in FLAG_REASONS:
            raise Refused("invalid", "reason must be one of " + ", ".join(FLAG_REASONS))
        who = await self.participant(conn, discussion, token)
        if await repo.statement(conn, discussion, statement) is None:
            raise Refused("not-found", "no statement with this id in this discussion")
        if await repo.flag(conn, discussion, statement, who["id"], reason):
            self._routing.pop(discussion, None)

    async def moderate(
        self,
        conn: asyncpg.Connection,
        discussion: uuid.UUID,
        statement: int,
        *,
        state: str,
        reason: str | None,
        sensitive: bool | None,
    ) -> StatementView:
        if state not in ("accepted", "rejected"):
            raise Refused("invalid", "state must be accepted or rejected")
        if (state == "rejected") != (reason is not None):
            raise Refused("invalid", "a rejection needs a reason, an acceptance has none")
        if reason is not None and reason not in REJECT_REASONS:
            raise Refused("invalid", "reason must be one of " + ", ".join(REJECT_REASONS))
        row = await repo.moderate(conn, discussion, statement, state, reason, sensitive)
        if row is None:
            raise Refused("not-found", "no statement with this id in this discussion")
        self._routing.pop(discussion, None)
        return _view(row)

    async def moderation_queue(self, conn: asyncpg.Connection, discussion: uuid.UUID) -> list[StatementView]:
        await self.discussion(conn, discussion)
        return [_view(r) for r in await repo.moderation_queue(conn, discussion)]

    # --- where a participant stands ---------------------------------------------------------

    async def stance(
        self, conn: asyncpg.Connection, discussion: uuid.UUID, participant: int, *, limit: int = 2
    ) -> Stance:
        """The participant's opinion group from the latest computation, or, when they are not
        in it yet (fewer than 7 votes, or they voted since), the group whose representative
        statements their votes agree with most (`exact` is False then). Only aggregates of
        groups of at least the minimum size are ever quoted."""
        votes = await repo.participant_votes(conn, discussion, participant)
        _, snap = await self.snapshot(conn, discussion)
        if snap.method != "opinion" or not snap.groups:
            return Stance(len(votes), None, None, 0, 0, (), False)
        groups = {g.id: g for g in snap.groups}
        member = await repo.member_group(conn, discussion, participant)
        exact = member in groups
        if not exact:
            member = closest_group(votes, snap.groups)
        if member is None:
            return Stance(len(votes), None, None, 0, len(groups), (), False)
        group = groups[member]
        same = [r for r in group.representative if votes.get(r.statement) == (1 if r.direction == "agree" else -1)][
            :limit
        ]
        texts = await repo.bodies(conn, discussion, [r.statement for r in same])
        shared = tuple(SharedView(r.statement, texts[r.statement], r.direction) for r in same if r.statement in texts)
        label = group_label(sorted(groups).index(member))
        return Stance(len(votes), member, label, group.size, len(groups), shared, exact)

    # --- routing ----------------------------------------------------------------------------

    async def next_statement(
        self, conn: asyncpg.Connection, discussion: uuid.UUID, token: str | None, *, more: bool = False
    ) -> NextStatement:
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise Refused("unauthorised", "send the participant token as Authorization: Participant <token>")
        state = await self.routing_state(conn, discussion)
        if state.discussion_state != "open":
            raise Refused("not-open", "this discussion is not open")
        who = await repo.participant_for_routing(conn, discussion, token_hash(token))
        if who is None:
            raise Refused("unauthorised", "unknown participant token for this discussion")
        prompts = who["prompts"]
        cap = self.config.session_prompts
        if more and prompts:
            await repo.reset_prompts(conn, discussion, who["id"])
            prompts = 0
        if prompts >= cap:
            return NextStatement(None, None, False, "session-cap", prompts, cap)
        seen = set(who["shown"]) | set(who["voted"])
        seen_groups = Counter(state.statement_group[s] for s in who["shown"] if s in state.statement_group)
        seed = hashlib.sha256(f"{discussion}:{who['id']}:{len(seen)}".encode()).digest()
        chosen = routing.choose_prepared(
            state.candidates, seen, seen_groups, state.target, skip_sensitive=who["skip_sensitive"], seed=seed
        )
        if chosen is None:
            return NextStatement(None, None, False, "no-more-statements", prompts, cap)
        await repo.record_shown(conn, discussion, who["id"], chosen)
        return NextStatement(chosen, state.body[chosen], chosen in state.sensitive, "statement", prompts + 1, cap)

    async def routing_state(self, conn: asyncpg.Connection, discussion: uuid.UUID) -> RoutingState:
        """Vote counts, groups and targets for routing, cached per process for
        `routing_ttl_seconds`; one refresh at a time per discussion, others use the old state."""
        state = self._routing.get(discussion)
        if state is not None and time.monotonic() - state.loaded < self.config.routing_ttl_seconds:
            return state
        lock = self._refreshing.setdefault(discussion, asyncio.Lock())
        if lock.locked() and state is not None:
            return state
        async with lock:
            state = self._routing.get(discussion)
            if state is not None and time.monotonic() - state.loaded < self.config.routing_ttl_seconds:
                return state
            state = await self._load_routing(conn, discussion)
            self._routing[discussion] = state
            return state

    async def _load_routing(self, conn: asyncpg.Connection, discussion: uuid.UUID) -> RoutingState:
        row = await self.discussion(conn, discussion)
        counts = await repo.vote_counts(conn, discussion, self.config.flag_threshold)
        bodies = {r["id"]: r["body"] for r in await repo.statements(conn, discussion, states=("accepted", "pending"))}
        stored = await repo.snapshot(conn, discussion)
        snap = msgspec.json.decode(stored["result"], type=Snapshot) if stored is not None else EMPTY_SNAPSHOT
        candidates = [
            routing.Candidate(
                id=r["id"],
                agree=r["agree"],
                disagree=r["disagree"],
                passes=r["passes"],
                extremity=snap.extremity.get(r["id"], 0.0),
                group=snap.statement_group.get(r["id"]),
                sensitive=r["sensitive"],
            )
            for r in counts
        ]
        votes = sum(c.agree + c.disagree + c.passes for c in candidates)
        if row["state"] == "open" and (
            stored is None
            or votes - stored["votes"] >= self.config.recompute_votes
            or len(candidates) != stored["statements"]
        ):
            self.schedule_recompute(discussion)
        return RoutingState(
            discussion_state=row["state"],
            candidates=routing.prepare(candidates),
            sensitive=frozenset(c.id for c in candidates if c.sensitive),
            statement_group=dict(snap.statement_group),
            target=snap.target(),
            body={c.id: bodies[c.id] for c in candidates if c.id in bodies},
            loaded=time.monotonic(),
            snapshot_version=stored["version"] if stored is not None else 0,
        )

    # --- opinion groups ---------------------------------------------------------------------

    def schedule_recompute(self, discussion: uuid.UUID) -> None:
        """Recompute in the background (needs `pool`); at most one task per discussion."""
        if self.pool is None:
            return
        running = self._recomputing.get(discussion)
        if running is not None and not running.done():
            return
        self._recomputing[discussion] = asyncio.create_task(self._recompute_quietly(discussion))

    async def _recompute_quietly(self, discussion: uuid.UUID) -> None:
        assert self.pool is not None
        with contextlib.suppress(Refused, asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
            async with self.pool.acquire() as conn:
                await self.recompute(conn, discussion)

    async def wait_recomputed(self) -> None:
        """Wait for background recomputations (tests, shutdown)."""
        tasks = [t for t in self._recomputing.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def recompute(self, conn: asyncpg.Connection, discussion: uuid.UUID) -> tuple[int, Snapshot]:
        """Compute opinion groups from the current votes and store them (deterministic for the
        discussion's seed). Returns (version, snapshot)."""
        row = await self.discussion(conn, discussion)
        statements = await repo.visible_statements(conn, discussion, self.config.flag_threshold)
        visible = [r["id"] for r in statements]
        arrays = await repo.vote_arrays(conn, discussion)
        previous = frozenset(await repo.members(conn, discussion))
        snap, members, votes = await asyncio.to_thread(
            self._compute,
            visible,
            arrays,
            previous,
            row["seed"],
            [r["body"] for r in statements],
            self._stored_vectors(statements),
        )
        encoded = msgspec.json.encode(snap)
        async with conn.transaction():
            if not await repo.try_lock(conn, discussion):
                raise Refused("conflict", "the groups of this discussion are being recomputed; retry shortly")
            version = await repo.store_snapshot(
                conn, discussion, votes=votes, statements=len(visible), result=encoded, members=members
            )
        self._routing.pop(discussion, None)
        return version, snap

    def _stored_vectors(self, rows: Sequence[asyncpg.Record]) -> np.ndarray | None:
        """The stored embeddings of `rows` when every one was made by the current model."""
        if not rows or not all(r["embedding"] is not None and r["embedding_model"] == self.embedder.name for r in rows):
            return None
        return np.frombuffer(b"".join(r["embedding"] for r in rows), dtype=np.float32).reshape(len(rows), -1)

    def _compute(
        self,
        statements: list[int],
        arrays: tuple[list[int], list[int], list[int]],
        previous: frozenset[int],
        seed: int,
        texts: list[str],
        vectors: np.ndarray | None = None,
    ) -> tuple[Snapshot, list[tuple[int, int]], int]:
        """The snapshot, the group memberships and the number of votes counted."""
        matrix = opinion.VoteMatrix.from_arrays(*arrays, columns=statements)
        participants = len(matrix.participants)
        votes = int(np.count_nonzero(~np.isnan(matrix.values)))
        result = opinion.compute(
            matrix, seed=seed, min_group_size=self.config.group_min_size, previous_in_conv=previous
        )
        if result.groups:
            groups = [
                GroupSummary(
                    id=g.id,
                    size=len(g.members),
                    centroid=(round(g.centroid[0], 6), round(g.centroid[1], 6)),
                    representative=[_rep(r) for r in result.repness.get(g.id, ())],
                )
                for g in result.groups
            ]
            snap = Snapshot(
                method="opinion",
                seed=seed,
                participants=participants,
                in_conversation=len(result.in_conv),
                groups=groups,
                statement_group={s: g for s, g in result.representative_group.items() if g is not None},
                extremity=dict(result.extremity),
                consensus=dict(result.consensus),
                divisiveness=dict(result.divisiveness),
                majority=[
                    MajorityStatement(
                        statement=m.statement, direction=m.direction, p_success=m.p_success, p_test=m.p_test
                    )
                    for m in result.majority
                ],
                chosen_k=result.chosen_k,
                silhouettes=dict(result.k_silhouettes),
            )
            return snap, sorted(result.assignment.items()), votes
        labels = nlp.cold_start_groups(texts, self.embedder, seed=seed, vectors=vectors) if texts else []
        snap = Snapshot(
            method="text" if texts else "none",
            seed=seed,
            participants=participants,
            in_conversation=len(result.in_conv),
            groups=[],
            statement_group=dict(zip(statements, labels, strict=True)),
            extremity=dict(result.extremity),
            consensus={},
            divisiveness={},
            majority=[],
            text_method=self.embedder.name if texts else None,
        )
        return snap, [], votes

    async def snapshot(self, conn: asyncpg.Connection, discussion: uuid.UUID) -> tuple[int, Snapshot]:
        stored = await repo.snapshot(conn, discussion)
        if stored is None:
            return 0, EMPTY_SNAPSHOT
        return stored["version"], msgspec.json.decode(stored["result"], type=Snapshot)


def group_label(index: int) -> str:
    """Groups are shown as A, B, C, ... in the order of their ids (as in the report)."""
    return chr(ord("A") + index)


def closest_group(votes: dict[int, int], groups: Sequence[GroupSummary]) -> int | None:
    """The group whose representative statements the votes agree with most: +1 for each vote
    in the group's direction, -1 for each against it, passes count nothing. None when no group
    scores above zero; ties go to the larger group, then the lower id."""
    best: tuple[int, int, int] | None = None
    for group in groups:
        score = 0
        for rep in group.representative:
            value = votes.get(rep.statement, 0)
            score += value if rep.direction == "agree" else -value
        key = (score, group.size, -group.id)
        if score > 0 and (best is None or key > best):
            best = key
    return -best[2] if best is not None else None


def _rep(r: opinion.Repness) -> RepStatement:
    return RepStatement(
        statement=r.statement,
        direction=r.repful_for,
        agree=r.na,
        disagree=r.nd,
        votes=r.ns,
        p_success=r.p_success,
        p_test=r.p_test,
        repness=r.repness,
        repness_test=r.repness_test,
        metric=r.metric,
    )


def _view(row: asyncpg.Record) -> StatementView:
    return StatementView(
        id=row["id"],
        body=row["body"],
        state=row["state"],
        sensitive=row["sensitive"],
        personal_data_removed=False,
        language=row["language"],
        reject_reason=row["reject_reason"],
        flags=row["flags"],
        is_seed=row["is_seed"],
        held=row["held"],
    )
