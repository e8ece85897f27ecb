"""The Rasa action server (`straatstem actions`): rasa-sdk custom actions that drive the same
articulation dialogue as the app's chat endpoint, through the same engine and phrases
(chatbot/dialogue.py), for a Rasa assistant built from chatbot/rasa/.

How a Rasa conversation maps onto straatstem:
- The discussion comes from the slot `discussion_id`, else the user message's metadata
  `{"discussion": "<uuid>"}`, else the server's default (STRAATSTEM_ACTIONS_DISCUSSION).
- `action_session_start` joins the discussion anonymously and keeps the participant token in
  the slot `participant_token` (Rasa's tracker store holds it, like the app holds its token);
  an action that finds no valid token joins afresh.
- The dialogue state lives in slots (`language`, `position`, `reason`, `draft`,
  `duplicate_of`, `current_statement`, `awaiting`); the form `statement_form` collects the
  experience, position and reason, and `validate_statement_form` screens each of them with
  the same rules as the chat endpoint (PII removed with a notice, threats refused, lengths).
  The experience never stays in a slot: the validator replaces it with "shared"/"skipped".
- Quick replies become Rasa buttons whose payloads are intents (`/affirm`, `/agree`, ...).

Errors never echo what the resident wrote: an unexpected failure is logged by class name
only and answered with a short apology.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.types import DomainDict

from chatbot import dialogue, phrases
from chatbot.dialogue import BotMessage, ChatState, Dialogue
from chatbot.engine import MAX_STATEMENT_CHARS, Engine, Refused

log = logging.getLogger(__name__)

FORM = "statement_form"
NO_REASON = "-"
EXPERIENCE_SHARED = "shared"
EXPERIENCE_SKIPPED = "skipped"

# Quick-reply payloads of the dialogue -> the Rasa intents that mean the same.
INTENT_OF_PAYLOAD = {
    "start": "affirm",
    "vote": "more",
    "skip": "skip",
    "yes": "affirm",
    "no": "deny",
    "edit": "edit",
    "restart": "edit",
    "agree": "agree",
    "disagree": "disagree",
    "pass": "pass",
    "existing": "vote_existing",
    "anyway": "post_anyway",
    "more": "more",
    "write": "affirm",
    "stand": "where_do_i_stand",
    "stop": "stop",
    "help": "help",
    "delete": "delete_my_data",
    "language": "change_language",
    "figures": "show_figures",
}
AWAITING_OF_STEP = {"confirm": "confirm", "duplicate": "duplicate", "voting": "vote", "confirm-delete": "delete"}
STEP_OF_AWAITING = {value: key for key, value in AWAITING_OF_STEP.items()}
VOTE_OF_INTENT = {"agree": 1, "disagree": -1, "pass": 0}


@dataclass
class Services:
    """What the actions share: the pool and the engine, set when the server starts."""

    default_discussion: uuid.UUID | None = None
    pool: asyncpg.Pool | None = None
    engine: Engine | None = None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _float_to_int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class Session:
    """One action call: the dialogue for the tracker's participant, its state from the slots,
    and the slot events to return."""

    dialogue: Dialogue
    state: ChatState
    joined: dict[str, Any]

    def events(self, *, clear_token: bool = False) -> list[EventType]:
        s = self.state
        slots: dict[str, Any] = {
            **self.joined,
            "language": s.language,
            "position": s.position,
            "reason": s.reason if s.reason is not None else (NO_REASON if s.draft and s.position else None),
            "draft": s.draft,
            "duplicate_of": float(s.duplicate_of) if s.duplicate_of is not None else None,
            "current_statement": float(s.current) if s.current is not None else None,
            "awaiting": AWAITING_OF_STEP.get(s.step),
        }
        if clear_token:
            slots["participant_token"] = None
        return [SlotSet(name, value) for name, value in slots.items()]


def utter(dispatcher: CollectingDispatcher, messages: list[BotMessage]) -> None:
    for message in messages:
        buttons = [{"title": r.title, "payload": "/" + INTENT_OF_PAYLOAD[r.payload]} for r in message.quick_replies]
        custom = None
        if message.statement is not None:
            custom = {"statement": message.statement, "content_warning": message.content_warning}
        dispatcher.utter_message(text=message.text, buttons=buttons, json_message=custom)


class StraatstemAction(Action):  # type: ignore[misc]  # rasa-sdk ships no type information
    """Base: opens a connection and the participant's session, runs `act`, maps refusals to
    a message and any other failure to an apology without details."""

    action_name = ""

    def __init__(self, services: Services) -> None:
        self.services = services

    def name(self) -> str:
        return self.action_name

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        services = self.services
        if services.pool is None or services.engine is None:
            raise RuntimeError("the action server has not started")
        language = _language(tracker)
        try:
            async with services.pool.acquire() as conn:
                session = await open_session(services.engine, conn, tracker, services.default_discussion)
                if session is None:
                    dispatcher.utter_message(text=phrases.say(language, "not_open"))
                    return []
                return await self.act(session, dispatcher, tracker)
        except Refused as refused:
            dispatcher.utter_message(
                text=phrases.say(language, "not_open" if refused.kind != "invalid" else "not_understood")
            )
            return []
        except Exception as exc:  # the resident gets an apology; the log gets no text of theirs
            log.error("rasa action %s failed: %s", self.name(), exc.__class__.__name__)
            dispatcher.utter_message(text=phrases.say(language, "not_understood"))
            return []

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        raise NotImplementedError


def _metadata(tracker: Tracker) -> dict[str, Any]:
    """Rasa keeps the metadata a session started with in a slot; later messages may carry it too."""
    found = tracker.get_slot("session_started_metadata") or tracker.latest_message.get("metadata") or {}
    return found if isinstance(found, dict) else {}


def _language(tracker: Tracker) -> str:
    wanted = tracker.get_slot("language") or _metadata(tracker).get("language")
    return wanted if wanted in ("nl", "en") else "nl"


async def open_session(
    engine: Engine, conn: asyncpg.Connection, tracker: Tracker, default: uuid.UUID | None
) -> Session | None:
    """The tracker's participant in its discussion, joining when there is no valid token yet.
    None when no open (or paused/closed) discussion is known for this conversation."""
    metadata = _metadata(tracker)
    discussion = _uuid(tracker.get_slot("discussion_id")) or _uuid(metadata.get("discussion")) or default
    if discussion is None:
        return None
    try:
        row = await engine.discussion(conn, discussion)
    except Refused:
        return None
    if row["state"] == "draft":
        return None
    joined: dict[str, Any] = {"discussion_id": str(discussion)}
    token = tracker.get_slot("participant_token")
    who = None
    if isinstance(token, str) and token:
        try:
            who = await engine.participant(conn, discussion, token)
        except Refused:
            who = None
    if who is None:
        token, participant = await engine.join(conn, discussion, skip_sensitive=False)
        joined["participant_token"] = token
    else:
        participant = who["id"]
    assert isinstance(token, str)
    talk = Dialogue(engine, conn, row, participant, token)
    language = tracker.get_slot("language") or metadata.get("language")
    state = ChatState(
        language=talk.initial_language(language if isinstance(language, str) else None),
        step=STEP_OF_AWAITING.get(str(tracker.get_slot("awaiting")), "welcome"),  # type: ignore[arg-type]
        position=tracker.get_slot("position"),
        reason=None if tracker.get_slot("reason") in (None, NO_REASON) else tracker.get_slot("reason"),
        draft=tracker.get_slot("draft"),
        duplicate_of=_float_to_int(tracker.get_slot("duplicate_of")),
        current=_float_to_int(tracker.get_slot("current_statement")),
    )
    return Session(talk, state, joined)


# --- the actions ----------------------------------------------------------------------------


class SessionStart(StraatstemAction):
    action_name = "action_session_start"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        carried = [
            SlotSet(name, value)
            for name, value in tracker.slots.items()
            if name in ("discussion_id", "participant_token", "language") and value is not None
        ]
        utter(dispatcher, session.dialogue.welcome(session.state.language))
        session.state.step = "welcome"
        return [SessionStarted(), *carried, *session.events(), ActionExecuted("action_listen")]


class Help(StraatstemAction):
    action_name = "action_help"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        dispatcher.utter_message(text=session.dialogue.help_text(session.state.language))
        return session.events()


class Stop(StraatstemAction):
    action_name = "action_stop"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        utter(dispatcher, session.dialogue.stop(session.state))
        return session.events()


class ChangeLanguage(StraatstemAction):
    action_name = "action_change_language"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        utter(dispatcher, session.dialogue.change_language(session.state))
        return session.events()


def _asker(step: str) -> type[StraatstemAction]:
    class Ask(StraatstemAction):
        action_name = f"action_ask_{step}"

        async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
            utter(dispatcher, session.dialogue.ask(step, session.state.language))
            return [SlotSet(k, v) for k, v in session.joined.items()]

    Ask.__name__ = f"Ask{step.title()}"
    return Ask


class ReflectView(StraatstemAction):
    action_name = "action_reflect_view"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        state = session.state
        if not state.position:
            utter(dispatcher, session.dialogue.ask("position", state.language))
            return session.events()
        state.draft = dialogue.compose(state.position, state.reason, state.language)
        state.step = "confirm"
        utter(dispatcher, session.dialogue.reflect(state.draft, state.language))
        return session.events()


class SubmitStatement(StraatstemAction):
    action_name = "action_submit_statement"
    anyway = False

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        state = session.state
        if not state.draft:
            utter(dispatcher, session.dialogue.ask("position", state.language))
            return session.events()
        messages = await session.dialogue.submit(state, anyway=self.anyway)
        utter(dispatcher, messages)
        if state.step == "edit":  # refused as abusive: the form asks for the position again
            state.position = state.reason = state.draft = None
            state.step = "position"
            return [*session.events(), ActiveLoop(FORM), SlotSet("requested_slot", "position")]
        return session.events()


class PostAnyway(SubmitStatement):
    action_name = "action_post_anyway"
    anyway = True


class VoteExisting(StraatstemAction):
    action_name = "action_vote_existing"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        if session.state.duplicate_of is None:
            utter(dispatcher, await session.dialogue.next_statement(session.state))
        else:
            utter(dispatcher, await session.dialogue.vote_existing(session.state, 1))
        return session.events()


class NextStatement(StraatstemAction):
    action_name = "action_next_statement"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        utter(dispatcher, await session.dialogue.next_statement(session.state, more=True, stance=False))
        return session.events()


class RecordVote(StraatstemAction):
    action_name = "action_record_vote"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        value = VOTE_OF_INTENT.get(str(intent))
        if value is None or session.state.current is None:
            utter(dispatcher, await session.dialogue.next_statement(session.state, stance=False))
        else:
            utter(dispatcher, await session.dialogue.record_vote(session.state, value, stance=False))
        return session.events()


class WhereDoIStand(StraatstemAction):
    action_name = "action_where_do_i_stand"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        session.state.step = "stance"
        talk = session.dialogue
        utter(dispatcher, [*await talk.where_do_i_stand(session.state.language), *await talk.prompt(session.state)])
        return session.events()


class ShowFigures(StraatstemAction):
    action_name = "action_show_figures"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        utter(dispatcher, await session.dialogue.figures(session.state.language))
        return session.events()


class DeleteMyData(StraatstemAction):
    action_name = "action_delete_my_data"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        state = session.state
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "delete_my_data" or state.step != "confirm-delete":
            state.resume, state.step = state.step, "confirm-delete"
            utter(dispatcher, session.dialogue.confirm_delete(state))
            return session.events()
        if intent != "affirm":
            state.step = "welcome"
            dispatcher.utter_message(text=phrases.say(state.language, "not_deleted"))
            return session.events()
        talk = session.dialogue
        await talk.engine.erase(talk.conn, talk.id, talk.token)
        dispatcher.utter_message(text=phrases.say(state.language, "deleted"))
        session.state = ChatState(language=state.language, step="closed")
        session.joined = {}
        events = session.events(clear_token=True)
        return [*events, SlotSet("experience", None)]


class ResetStatement(StraatstemAction):
    action_name = "action_reset_statement"

    async def act(self, session: Session, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        state = session.state
        state.position = state.reason = state.draft = None
        state.duplicate_of = None
        state.step = "position"
        return [*session.events(), SlotSet("experience", EXPERIENCE_SKIPPED)]


class ValidateStatementForm(FormValidationAction):  # type: ignore[misc]
    """Screens the form's slots with the chat endpoint's rules (Dialogue.take_part)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def name(self) -> str:
        return "validate_statement_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if self.services.engine is None:
            raise RuntimeError("the action server has not started")
        events: list[EventType] = await super().run(dispatcher, tracker, domain)
        return events

    def _engine(self) -> Engine:
        assert self.services.engine is not None
        return self.services.engine

    def _skipped(self, tracker: Tracker, value: Any) -> bool:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return intent == "skip" or (isinstance(value, str) and "skip" in dialogue.recognise(value))

    async def validate_experience(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value in (EXPERIENCE_SHARED, EXPERIENCE_SKIPPED):
            return {"experience": value}
        if self._skipped(tracker, value) or not isinstance(value, str) or not value.strip():
            return {"experience": EXPERIENCE_SKIPPED}
        dispatcher.utter_message(text=phrases.say(_language(tracker), "experience_thanks"))
        return {"experience": EXPERIENCE_SHARED}

    async def validate_position(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._screen("position", value, dispatcher, tracker, dialogue.MAX_POSITION_CHARS)

    async def validate_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == NO_REASON or self._skipped(tracker, value):
            return {"reason": NO_REASON}
        result = self._screen("reason", value, dispatcher, tracker, MAX_STATEMENT_CHARS)
        position = tracker.get_slot("position")
        if result["reason"] and isinstance(position, str):
            language = _language(tracker)
            if len(dialogue.compose(position, result["reason"], language)) > MAX_STATEMENT_CHARS:
                limit = MAX_STATEMENT_CHARS
                dispatcher.utter_message(text=phrases.say(language, "draft_too_long", limit=limit))
                return {"reason": None}
        return result

    def _screen(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, limit: int
    ) -> dict[str, Any]:
        language = _language(tracker)
        if not isinstance(value, str):
            return {slot: None}
        kept, messages = dialogue.take_part(self._engine(), value, language, limit=limit)
        utter(dispatcher, messages)
        return {slot: kept}


ACTIONS: tuple[type[StraatstemAction], ...] = (
    SessionStart,
    Help,
    Stop,
    ChangeLanguage,
    _asker("experience"),
    _asker("position"),
    _asker("reason"),
    ReflectView,
    SubmitStatement,
    PostAnyway,
    VoteExisting,
    NextStatement,
    RecordVote,
    WhereDoIStand,
    ShowFigures,
    DeleteMyData,
    ResetStatement,
)


def executor(services: Services) -> ActionExecutor:
    """An executor with every straatstem action registered on the shared services."""
    registry = ActionExecutor()
    for action in ACTIONS:
        registry.register_action(action(services))
    registry.register_action(ValidateStatementForm(services))
    return registry


def action_names() -> list[str]:
    return sorted([a.action_name for a in ACTIONS] + ["validate_statement_form"])


__all__ = ["ACTIONS", "Services", "action_names", "executor"]
