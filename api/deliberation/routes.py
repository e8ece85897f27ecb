"""Deliberation endpoints: public discussion list, anonymous participants (join, preferences,
erasure), statements, votes, flags and routing; and for moderators of the discussion's
municipality: create/open/close, seed statements, the moderation queue, recomputation and
the report (JSON, CSV or a printable page). Thin: authorize, decode, call the engine, encode.

Participants authenticate with `Authorization: Participant <token>` (the token from joining,
valid only for that discussion). Staff use their bearer session as elsewhere; a discussion of
another municipality is answered exactly like an unknown one. Every response here is
`Cache-Control: no-store` except the public discussion list.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody, Parameter, QueryParameter
from msgspec import Meta

from api import db
from api.errors import DuplicateOf, Problem, problem_response
from api.openapi import TEXT, alternative_media
from api.staff import access
from chatbot import dialogue
from chatbot import report as reports
from chatbot import repository as repo
from chatbot.engine import MAX_STATEMENT_CHARS, DiscussionSpec, Engine, NextStatement, Refused, StatementView
from privacy import location

ProblemSpecs = Callable[..., dict[int, ResponseSpec]]
NO_STORE = {"Cache-Control": "no-store"}
PARTICIPANT_SCHEME = "participant"


def engine(state: State) -> Engine:
    value: Engine = state.runtime.deliberation
    return value


def pool(state: State) -> asyncpg.Pool:
    value: asyncpg.Pool = state.runtime.pool
    return value


# --- wire types -----------------------------------------------------------------------------

Language = Literal["nl", "en"]
Text280 = Annotated[str, Meta(min_length=1, max_length=MAX_STATEMENT_CHARS)]


class DiscussionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    question: Annotated[str, Meta(min_length=1, max_length=500)]
    description: Annotated[str, Meta(max_length=4000)] | None = None
    languages: Annotated[list[Language], Meta(min_length=1, max_length=2)]
    area: Annotated[
        list[Annotated[str, Meta(max_length=16)]],
        Meta(max_length=5000, description="H3 resolution-7 cells (hex) the discussion is about; may be empty"),
    ] = msgspec.field(default_factory=list)
    moderation: Literal["pre", "post"]
    warning_terms: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=60)]],
        Meta(max_length=100, description="Statements containing one of these words carry a content warning"),
    ] = msgspec.field(default_factory=list)
    seed_statements: Annotated[list[Text280], Meta(max_length=200)] = msgspec.field(default_factory=list)


class DiscussionOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    municipality: str
    question: str
    description: str | None
    languages: list[str]
    area: list[str]
    moderation: str
    state: Literal["draft", "open", "paused", "closed"]
    participants: int
    statements: int


class JoinIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    skip_sensitive: Annotated[bool, Meta(description="Never show statements that carry a content warning")] = False


class JoinOut(msgspec.Struct, kw_only=True):
    token: Annotated[str, Meta(description="Send as Authorization: Participant <token>; the only key to your votes")]
    token_type: Literal["Participant"]


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    skip_sensitive: bool


class ErasureOut(msgspec.Struct, kw_only=True):
    votes_removed: int
    statements_removed: int


class StatementIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: Text280
    language: Language | None = None


class StatementOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: int
    body: Annotated[str, Meta(description="As stored: personal data replaced by placeholders such as [phone]")]
    state: Literal["pending", "accepted", "rejected"]
    content_warning: bool
    personal_data_removed: bool = False
    reject_reason: str | None = None
    flags: int | None = None
    seed: bool | None = None
    held: Annotated[
        Literal["toxicity", "personal-data"] | None,
        Meta(description="Staff only: why it waits for a moderator whatever the moderation mode"),
    ] = None


class SeedIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    statements: Annotated[list[Text280], Meta(min_length=1, max_length=200)]


# Statement ids are PostgreSQL integers; a larger one is refused as invalid, not sent to the database.
MAX_STATEMENT_ID = 2**31 - 1


class VoteIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    statement: Annotated[int, Meta(ge=1, le=MAX_STATEMENT_ID)]
    value: Annotated[Literal[-1, 0, 1], Meta(description="1 agree, -1 disagree, 0 pass; a later vote replaces it")]


class FlagIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Literal["off-topic", "personal-data", "abusive", "duplicate", "other"]


class ModerationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    state: Literal["accepted", "rejected"]
    reason: (
        Literal["off-topic", "personal-story", "personal-data", "abusive", "duplicate", "not-a-position", "other"]
        | None
    ) = None
    sensitive: bool | None = None


class NextStatementOut(msgspec.Struct, kw_only=True):
    id: int
    body: str
    content_warning: bool


class NextOut(msgspec.Struct, kw_only=True):
    statement: NextStatementOut | None
    reason: Annotated[
        Literal["statement", "session-cap", "no-more-statements"],
        Meta(description="session-cap: you have seen enough for now; ask again with ?more=true to continue"),
    ]
    message: str
    shown_in_session: int
    session_cap: int
    can_continue: bool


Payload = Literal[
    "start", "vote", "skip", "yes", "no", "edit", "restart", "agree", "disagree", "pass", "existing", "anyway", "more",
    "write", "stand", "stop", "help", "delete", "language", "figures",
]  # fmt: skip


class ChatIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    text: Annotated[str, Meta(max_length=dialogue.MAX_INPUT_CHARS, description="What the participant typed")] | None = (
        None
    )
    reply: Annotated[Payload, Meta(description="The payload of a quick reply the participant chose")] | None = None
    language: Annotated[Language, Meta(description="Switch the conversation to this language")] | None = None


class ChatOut(msgspec.Struct, kw_only=True):
    messages: list[dialogue.BotMessage]


class RecomputeOut(msgspec.Struct, kw_only=True):
    version: int
    method: Literal["opinion", "text", "none"]
    in_conversation: int
    group_sizes: list[int]


MESSAGES = {
    "statement": "Vote agree, disagree or pass.",
    "session-cap": "You have seen enough for now. Thank you! You can continue if you like.",
    "no-more-statements": "You have seen every statement for now. Come back later for new ones.",
}

ParticipantHeader = Annotated[
    str | None,
    HeaderParameter(name="Authorization", required=False, description="Participant <token>: the token from joining"),
]
DiscussionId = Annotated[uuid.UUID, Parameter(description="Discussion id")]
StatementId = Annotated[int, Parameter(ge=1, le=MAX_STATEMENT_ID, description="Statement id")]


def _token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "participant" else None


PROBLEMS = {
    "not-found": (404, "not-found", "Not found"),
    "unauthorised": (401, "unauthenticated", "Participant token required"),
    "not-open": (409, "discussion-not-open", "Discussion not open"),
    "invalid": (400, "invalid-request", "Invalid request"),
    "conflict": (409, "conflict", "Conflict"),
    "duplicate": (409, "duplicate-statement", "Duplicate statement"),
    "abusive": (422, "abusive-statement", "Statement refused"),
}


def handle_refused(request: Request[Any, Any, Any], refused: Refused) -> Response[Any]:
    """The app's exception handler for the engine's refusals: one place maps them to problems."""
    discussion = request.path_params.get("discussion_id")
    return problem_response(_problem(refused, discussion if isinstance(discussion, uuid.UUID) else None))


def _problem(refused: Refused, discussion: uuid.UUID | None = None) -> Problem:
    status, slug, title = PROBLEMS[refused.kind]
    headers = {"WWW-Authenticate": 'Participant realm="straatstem"'} if status == 401 else None
    duplicate = None
    if refused.duplicate is not None and discussion is not None:
        duplicate = DuplicateOf(
            statement=refused.duplicate.statement_id,
            similarity=refused.duplicate.similarity,
            method=refused.duplicate.method,
            href=f"/v1/discussions/{discussion}/statements/{refused.duplicate.statement_id}",
        )
    return Problem(status, slug, title, refused.detail, headers=headers, duplicate_of=duplicate)


def _statement(view: StatementView, *, staff: bool = False) -> StatementOut:
    return StatementOut(
        id=view.id,
        body=view.body,
        state=view.state,  # type: ignore[arg-type]
        content_warning=view.sensitive,
        personal_data_removed=view.personal_data_removed,
        reject_reason=view.reject_reason if staff else None,
        flags=view.flags if staff else None,
        seed=view.is_seed if staff else None,
        held=view.held if staff else None,  # type: ignore[arg-type]
    )


def _discussion(row: asyncpg.Record) -> DiscussionOut:
    return DiscussionOut(
        id=row["id"],
        municipality=row["municipality"],
        question=row["question"],
        description=row["description"],
        languages=list(row["languages"]),
        area=[location.cell_hex(c) for c in row["area"]],
        moderation=row["moderation"],
        state=row["state"],
        participants=row["participants"],
        statements=row["statements"],
    )


# --- public and participant handlers --------------------------------------------------------


async def list_open(
    state: State,
    municipality: Annotated[str | None, QueryParameter(max_length=64, description="Municipality slug")] = None,
) -> Response[list[DiscussionOut]]:
    async with db.for_request(pool(state)) as conn:
        rows = await repo.discussions(conn, municipality=municipality, states=("open",))
    return Response([_discussion(r) for r in rows], headers={"Cache-Control": "public, max-age=60"})


async def get_discussion(state: State, discussion_id: FromPath[DiscussionId]) -> Response[DiscussionOut]:
    async with db.for_request(pool(state)) as conn:
        rows = await repo.discussions(conn, states=("open", "paused", "closed"), id=discussion_id)
    found = rows[0] if rows else None
    if found is None:
        raise Refused("not-found", "no discussion with this id")
    return Response(_discussion(found), headers=NO_STORE)


async def join(state: State, discussion_id: FromPath[DiscussionId], data: JSONBody[JoinIn]) -> Response[JoinOut]:
    async with db.for_request(pool(state)) as conn:
        token, _ = await engine(state).join(conn, discussion_id, skip_sensitive=data.skip_sensitive)
    joined = JoinOut(token=token, token_type="Participant")  # noqa: S106 (a scheme name, not a password)
    return Response(joined, status_code=201, headers=NO_STORE)


async def set_preferences(
    state: State, discussion_id: FromPath[DiscussionId], data: JSONBody[PreferencesIn], authorization: ParticipantHeader
) -> Response[None]:
    async with db.for_request(pool(state)) as conn:
        await engine(state).set_preferences(
            conn, discussion_id, _token(authorization), skip_sensitive=data.skip_sensitive
        )
    return Response(None, status_code=204, headers=NO_STORE)


async def erase(
    state: State, discussion_id: FromPath[DiscussionId], authorization: ParticipantHeader
) -> Response[ErasureOut]:
    async with db.for_request(pool(state)) as conn:
        votes, statements = await engine(state).erase(conn, discussion_id, _token(authorization))
    return Response(ErasureOut(votes_removed=votes, statements_removed=statements), headers=NO_STORE)


async def submit(
    state: State,
    discussion_id: FromPath[DiscussionId],
    data: JSONBody[StatementIn],
    authorization: ParticipantHeader,
) -> Response[StatementOut]:
    async with db.for_request(pool(state), model=True) as conn:
        view = await engine(state).submit(conn, discussion_id, _token(authorization), data.text, data.language)
    return Response(_statement(view), status_code=201, headers=NO_STORE)


async def get_statement(
    state: State, discussion_id: FromPath[DiscussionId], statement_id: FromPath[StatementId]
) -> Response[StatementOut]:
    async with db.for_request(pool(state)) as conn:
        row = await engine(state).discussion(conn, discussion_id)
        view = await engine(state).statement(conn, discussion_id, statement_id)
    if row["state"] == "draft" or not engine(state).visible(row, view):
        raise Refused("not-found", "no statement with this id in this discussion")
    return Response(_statement(view), headers=NO_STORE)


async def vote(
    state: State, discussion_id: FromPath[DiscussionId], data: JSONBody[VoteIn], authorization: ParticipantHeader
) -> Response[None]:
    async with db.for_request(pool(state)) as conn:
        await engine(state).vote(conn, discussion_id, _token(authorization), data.statement, data.value)
    return Response(None, status_code=204, headers=NO_STORE)


async def flag(
    state: State,
    discussion_id: FromPath[DiscussionId],
    statement_id: FromPath[StatementId],
    data: JSONBody[FlagIn],
    authorization: ParticipantHeader,
) -> Response[None]:
    async with db.for_request(pool(state)) as conn:
        await engine(state).flag(conn, discussion_id, _token(authorization), statement_id, data.reason)
    return Response(None, status_code=204, headers=NO_STORE)


async def next_statement(
    state: State,
    discussion_id: FromPath[DiscussionId],
    authorization: ParticipantHeader,
    more: Annotated[bool, QueryParameter(description="Continue after the per-session cap")] = False,
) -> Response[NextOut]:
    async with db.for_request(pool(state)) as conn:
        result = await engine(state).next_statement(conn, discussion_id, _token(authorization), more=more)
    return Response(_next(result), headers=NO_STORE)


async def chat(
    state: State, discussion_id: FromPath[DiscussionId], data: JSONBody[ChatIn], authorization: ParticipantHeader
) -> Response[ChatOut]:
    if data.text is not None and data.reply is not None:
        raise Refused("invalid", "send either text or reply, not both")
    async with db.for_request(pool(state), model=True) as conn:
        messages = await dialogue.converse(
            engine(state),
            conn,
            discussion_id,
            _token(authorization),
            text=data.text,
            reply=data.reply,
            language=data.language,
        )
    return Response(ChatOut(messages=messages), headers=NO_STORE)


def _next(result: NextStatement) -> NextOut:
    statement = None
    if result.statement is not None and result.body is not None:
        statement = NextStatementOut(id=result.statement, body=result.body, content_warning=result.content_warning)
    return NextOut(
        statement=statement,
        reason=result.reason,
        message=MESSAGES[result.reason],
        shown_in_session=result.shown_in_session,
        session_cap=result.session_cap,
        can_continue=result.reason == "session-cap",
    )


# --- staff handlers -------------------------------------------------------------------------


async def _moderator(
    request: Request[Any, Any, Any], conn: asyncpg.Connection, discussion: uuid.UUID, action: str
) -> access.StaffUser:
    """Moderators and admins of the discussion's municipality; any other staff gets the 404
    of an unknown discussion. The action is audit-logged."""
    user = await access.authenticate(request, conn)
    row = await repo.discussion(conn, discussion)
    if row is None or row["municipality"] != user.municipality:
        raise Refused("not-found", "no discussion with this id")
    if user.role not in access.MODERATE:
        raise Problem(403, "forbidden", "Forbidden", "your role may not do this")
    await access.audit(conn, user, action, user.municipality, detail=str(discussion))
    return user


async def create(
    state: State, request: Request[Any, Any, Any], slug: FromPath[str], data: JSONBody[DiscussionIn]
) -> Response[DiscussionOut]:
    try:
        area = tuple(location.parse_cell(c, 7) for c in data.area)
    except location.CellError as exc:
        raise Problem(400, "invalid-cell", "Invalid cell", f"area: {exc}") from None
    spec = DiscussionSpec(
        question=data.question,
        description=data.description,
        languages=tuple(data.languages),
        area=area,
        moderation=data.moderation,
        warning_terms=tuple(data.warning_terms),
        seed_statements=tuple(data.seed_statements),
    )
    async with db.for_request(pool(state), model=True) as conn:
        user = await access.authorize(request, conn, municipality=slug, roles=access.MODERATE)
        discussion_id = await engine(state).create(conn, slug, spec)
        await access.audit(conn, user, "discussion.create", slug, detail=str(discussion_id))
        (found,) = await repo.discussions(conn, states=("draft",), id=discussion_id)
    return Response(_discussion(found), status_code=201, headers=NO_STORE)


async def staff_list(
    state: State, request: Request[Any, Any, Any], slug: FromPath[str]
) -> Response[list[DiscussionOut]]:
    async with db.for_request(pool(state)) as conn:
        await access.authorize(request, conn, municipality=slug, roles=access.MODERATE)
        rows = await repo.discussions(conn, municipality=slug, states=("draft", "open", "paused", "closed"))
    return Response([_discussion(r) for r in rows], headers=NO_STORE)


def _transition(target: Literal["open", "paused", "closed"]) -> Callable[..., Any]:
    async def handler(
        state: State, request: Request[Any, Any, Any], discussion_id: FromPath[DiscussionId]
    ) -> Response[None]:
        async with db.for_request(pool(state)) as conn:
            await _moderator(request, conn, discussion_id, f"discussion.{target}")
            await engine(state).set_state(conn, discussion_id, target)
        return Response(None, status_code=204, headers=NO_STORE)

    return handler


async def add_seeds(
    state: State, request: Request[Any, Any, Any], discussion_id: FromPath[DiscussionId], data: JSONBody[SeedIn]
) -> Response[list[StatementOut]]:
    async with db.for_request(pool(state), model=True) as conn:
        await _moderator(request, conn, discussion_id, "discussion.seed")
        views = await engine(state).add_statements(conn, discussion_id, data.statements)
    return Response([_statement(v, staff=True) for v in views], status_code=201, headers=NO_STORE)


async def moderation_queue(
    state: State, request: Request[Any, Any, Any], discussion_id: FromPath[DiscussionId]
) -> Response[list[StatementOut]]:
    async with db.for_request(pool(state)) as conn:
        await _moderator(request, conn, discussion_id, "moderation.read")
        views = await engine(state).moderation_queue(conn, discussion_id)
    return Response([_statement(v, staff=True) for v in views], headers=NO_STORE)


async def moderate(
    state: State,
    request: Request[Any, Any, Any],
    discussion_id: FromPath[DiscussionId],
    statement_id: FromPath[StatementId],
    data: JSONBody[ModerationIn],
) -> Response[StatementOut]:
    async with db.for_request(pool(state)) as conn:
        await _moderator(request, conn, discussion_id, f"moderation.{data.state}")
        view = await engine(state).moderate(
            conn, discussion_id, statement_id, state=data.state, reason=data.reason, sensitive=data.sensitive
        )
    return Response(_statement(view, staff=True), headers=NO_STORE)


async def recompute(
    state: State, request: Request[Any, Any, Any], discussion_id: FromPath[DiscussionId]
) -> Response[RecomputeOut]:
    async with db.for_request(pool(state), model=True) as conn:
        await _moderator(request, conn, discussion_id, "groups.recompute")
        version, snap = await engine(state).recompute(conn, discussion_id)
    return Response(
        RecomputeOut(
            version=version,
            method=snap.method,
            in_conversation=snap.in_conversation,
            group_sizes=[g.size for g in snap.groups],
        ),
        headers=NO_STORE,
    )


async def get_report(
    state: State,
    request: Request[Any, Any, Any],
    discussion_id: FromPath[DiscussionId],
    format: Annotated[
        Literal["json", "csv", "html"], QueryParameter(description="json (default), csv or html")
    ] = "json",
) -> Response[Any]:
    async with db.for_request(pool(state), model=True) as conn:
        await _moderator(request, conn, discussion_id, f"report.{format}")
        built = await reports.build(engine(state), conn, discussion_id)
    if format == "csv":
        return Response(
            reports.to_csv(built).encode(),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text/* types
            headers={**NO_STORE, "Content-Disposition": f'attachment; filename="report-{discussion_id}.csv"'},
        )
    if format == "html":
        return Response(
            reports.to_html(built).encode(),
            media_type="text/html",
            headers={
                **NO_STORE,
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            },
        )
    return Response(msgspec.json.encode(built), media_type="application/json", headers=NO_STORE)


def handlers(problems: ProblemSpecs) -> list[HTTPRouteHandler]:
    participant: list[dict[str, list[str]]] = [{PARTICIPANT_SCHEME: []}]
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    base = "/v1/discussions/{discussion_id:uuid}"
    tags = ["deliberation"]
    staff_tags = ["deliberation-staff"]
    staff_problems = problems(400, 401, 403, 404, 409, 503)
    # Routes with a body can also be too large (413) or not JSON (415); 204 answers have no body.
    staff_body_problems = problems(400, 401, 403, 404, 409, 413, 415, 503)
    no_content = {204: ResponseSpec(data_container=None, description="Done; no body")}
    return [
        get(
            "/v1/discussions",
            tags=tags,
            summary="Open discussions (optionally of one municipality)",
            responses=problems(400, 503),
        )(list_open),
        get(base, tags=tags, summary="One open or closed discussion", responses=problems(400, 404, 503))(
            get_discussion
        ),
        post(
            f"{base}/participants",
            tags=tags,
            summary="Join anonymously: returns a token scoped to this discussion",
            responses=problems(400, 404, 409, 413, 415, 503),
        )(join),
        patch(
            f"{base}/participants/me",
            tags=tags,
            summary="Change your preferences (content warnings)",
            status_code=204,
            security=participant,
            responses={**no_content, **problems(400, 401, 404, 413, 415, 503)},
        )(set_preferences),
        delete(
            f"{base}/participants/me",
            tags=tags,
            summary="Erase yourself: your votes and statements (and votes on them) are deleted",
            status_code=200,
            security=participant,
            responses=problems(401, 404, 503),
        )(erase),
        post(
            f"{base}/statements",
            tags=tags,
            summary="Submit a statement (<= 280 characters; personal data is removed; duplicates are refused)",
            security=participant,
            responses=problems(400, 401, 404, 409, 413, 415, 503),
        )(submit),
        get(
            f"{base}/statements/{{statement_id:int}}",
            tags=tags,
            summary="One statement that is open for votes",
            responses=problems(400, 404, 503),
        )(get_statement),
        post(
            f"{base}/votes",
            tags=tags,
            summary="Vote agree (1), disagree (-1) or pass (0); the latest vote counts",
            status_code=204,
            security=participant,
            responses={**no_content, **problems(400, 401, 404, 409, 413, 415, 503)},
        )(vote),
        post(
            f"{base}/statements/{{statement_id:int}}/flags",
            tags=tags,
            summary="Flag a statement for the moderators",
            status_code=204,
            security=participant,
            responses={**no_content, **problems(400, 401, 404, 413, 415, 503)},
        )(flag),
        post(
            f"{base}/chat",
            tags=tags,
            summary="Chat with the deliberation bot: send text or a quick-reply payload (or neither, to resume); "
            "the answer is the bot's messages with quick replies",
            status_code=200,
            security=participant,
            responses=problems(400, 401, 404, 413, 415, 503),
        )(chat),
        get(
            f"{base}/next",
            tags=tags,
            summary="The next statement to vote on, or that you have seen enough for now",
            security=participant,
            responses=problems(400, 401, 404, 409, 503),
        )(next_statement),
        post(
            "/v1/staff/municipalities/{slug:str}/discussions",
            tags=staff_tags,
            summary="Create a discussion (draft) with optional seed statements",
            security=bearer,
            responses=staff_body_problems,
        )(create),
        get(
            "/v1/staff/municipalities/{slug:str}/discussions",
            tags=staff_tags,
            summary="All discussions of the municipality, drafts included",
            security=bearer,
            responses=staff_problems,
        )(staff_list),
        post(
            f"{base}/open",
            tags=staff_tags,
            summary="Open (or reopen) the discussion",
            status_code=204,
            security=bearer,
            responses={**no_content, **staff_problems},
            operation_id="openDiscussion",
        )(_transition("open")),
        post(
            f"{base}/close",
            tags=staff_tags,
            summary="Close the discussion: no more joins, statements or votes",
            status_code=204,
            security=bearer,
            responses={**no_content, **staff_problems},
            operation_id="closeDiscussion",
        )(_transition("closed")),
        post(
            f"{base}/pause",
            tags=staff_tags,
            summary="Pause the discussion: it stays readable, but takes no joins, statements or votes until reopened",
            status_code=204,
            security=bearer,
            responses={**no_content, **staff_problems},
            operation_id="pauseDiscussion",
        )(_transition("paused")),
        post(
            f"{base}/seed-statements",
            tags=staff_tags,
            summary="Add seed statements (accepted at once)",
            security=bearer,
            responses=staff_body_problems,
        )(add_seeds),
        get(
            f"{base}/moderation",
            tags=staff_tags,
            summary="The moderation queue: pending and flagged statements",
            security=bearer,
            responses=staff_problems,
        )(moderation_queue),
        post(
            f"{base}/statements/{{statement_id:int}}/moderation",
            tags=staff_tags,
            summary="Accept or reject (with a reason) a statement; mark it sensitive",
            status_code=200,
            security=bearer,
            responses=staff_body_problems,
        )(moderate),
        post(
            f"{base}/groups",
            tags=staff_tags,
            summary="Recompute the opinion groups now",
            status_code=200,
            security=bearer,
            responses=staff_problems,
        )(recompute),
        get(
            f"{base}/report",
            tags=staff_tags,
            summary="The discussion report: groups, consensus, divisive and majority statements, participation, "
            "balance (JSON, CSV or printable HTML)",
            security=bearer,
            responses=staff_problems,
            operation_class=alternative_media(200, {"text/csv": TEXT, "text/html": TEXT}),
        )(get_report),
    ]
