"""The articulation dialogue (DESIGN.md section 4): the chatbot that helps a resident put their
view into words and then keeps them voting on a balanced mix of statements.

Flow: welcome and privacy notice -> an optional experience (kept private: it stays in this
participant's chat state, is never published, voted on or shown to anyone, and is erased with
them) -> the position ("what should change?") -> the reason ("why?") -> a reflection built
from their own words ("If I understand you correctly, you think: ...") to confirm or edit ->
submission through the engine (PII removed with a warning, threats refused, doubtful text held
for a moderator, near-duplicates offered to vote on instead) -> voting rounds chosen by the
engine's balanced routing -> where they stand -> close. "stop", "help", "delete my data",
"change language" (and "figures" when the discussion has an area) work at every step.

Two front doors use this module: `converse` (the app's own chat endpoint; the state lives in
PostgreSQL, one row per participant, so a restart loses nothing) and the Rasa action server
(chatbot/rasa_actions.py), which keeps the state in Rasa slots and calls the same `Dialogue`
methods, so both say the same things (chatbot/phrases.py) and follow the same rules.

Free text is matched against commands only when the whole message is a command ("stop", not
"stop catcalling"): what a resident writes as their view is never mistaken for a command.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

import asyncpg
import msgspec

from chatbot import context, nlp, phrases
from chatbot import repository as repo
from chatbot.engine import MAX_STATEMENT_CHARS, Engine, Refused, Stance
from chatbot.phrases import say

Step = Literal[
    "start",
    "welcome",
    "experience",
    "position",
    "reason",
    "confirm",
    "edit",
    "duplicate",
    "voting",
    "stance",
    "closed",
    "confirm-delete",
]

MAX_INPUT_CHARS = 1000
MAX_EXPERIENCE_CHARS = 1000
MAX_POSITION_CHARS = 200
MIN_PART_CHARS = 3

PAYLOADS = (
    "start",
    "vote",
    "skip",
    "yes",
    "no",
    "edit",
    "restart",
    "agree",
    "disagree",
    "pass",
    "existing",
    "anyway",
    "more",
    "write",
    "stand",
    "stop",
    "help",
    "delete",
    "language",
    "figures",
)
GLOBAL = ("help", "stop", "delete", "language", "figures", "stand")

# Whole-message phrases (after nlp.normalise) and what they mean.
_PHRASES: dict[str, tuple[str, ...]] = {
    "help": ("help", "hulp", "wat kan ik doen", "what can i do", "help me", "hoe werkt dit", "how does this work"),
    "stop": ("stop", "stoppen", "quit", "exit", "klaar", "ophouden", "einde", "bye", "doei", "tot ziens"),
    "delete": (
        "delete my data",
        "delete me",
        "delete everything",
        "verwijder mijn gegevens",
        "verwijder mij",
        "verwijder alles",
        "wis mijn gegevens",
        "wis alles",
        "erase my data",
    ),
    "language": (
        "change language",
        "andere taal",
        "english",
        "english please",
        "in english",
        "in english please",
        "engels",
        "nederlands",
        "dutch",
        "in het nederlands",
        "in dutch",
        "taal",
        "language",
    ),
    "figures": ("figures", "cijfers", "statistics", "statistieken", "cijfers van dit gebied", "figures for this area"),
    "stand": ("where do i stand", "waar sta ik", "bij welke groep hoor ik", "which group am i in"),
    "yes": (
        "ja",
        "yes",
        "y",
        "j",
        "klopt",
        "ok",
        "oke",
        "okay",
        "prima",
        "goed",
        "sure",
        "correct",
        "yes please",
        "ja graag",
        "dat klopt",
        "thats right",
        "that is right",
        "start",
        "begin",
        "lets start",
        "beginnen",
    ),
    "no": ("nee", "no", "n", "niet", "no thanks", "nee dank je", "liever niet"),
    "skip": ("skip", "overslaan", "sla over", "nee", "no", "liever niet", "no thanks", "nee dank je"),
    "agree": ("eens", "agree", "mee eens", "ik ben het eens", "i agree", "helemaal eens", "+1"),
    "disagree": ("oneens", "disagree", "niet mee eens", "mee oneens", "i disagree", "ik ben het oneens", "-1"),
    "pass": (
        "pass",
        "weet niet",
        "weet ik niet",
        "geen mening",
        "sla over",
        "overslaan",
        "skip",
        "dont know",
        "i dont know",
        "no opinion",
        "0",
    ),
    "edit": ("edit", "aanpassen", "wijzigen", "bewerken", "change it", "anders", "veranderen"),
    "more": ("more", "meer", "ga door", "verder", "continue", "door", "more statements", "meer stellingen"),
    "write": ("write", "schrijven", "stelling schrijven", "write a statement", "nieuwe stelling", "new statement"),
    "anyway": ("post mine anyway", "toch plaatsen", "toch de mijne plaatsen", "post anyway", "anyway"),
    "existing": ("i agree with that one", "daar ben ik het mee eens", "die bedoel ik", "that one"),
}
_MATCH = {key: frozenset(values) for key, values in _PHRASES.items()}
_CONNECTIVES = ("omdat", "want", "doordat", "aangezien", "because", "since", "as", "cause", "for")
_TRAILING = re.compile(r"[\s.!?;:,]+$")


class QuickReply(msgspec.Struct, kw_only=True):
    title: str
    payload: str


class BotMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    text: str
    kind: Literal["text", "notice", "statement"] = "text"
    statement: int | None = None
    content_warning: bool = False
    quick_replies: list[QuickReply] = msgspec.field(default_factory=list)


class ChatState(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One participant's place in the dialogue. `experience` is private: nothing reads it
    except this participant's own conversation, and it is erased with them."""

    language: str
    step: Step = "start"
    experience: str | None = None
    position: str | None = None
    reason: str | None = None
    draft: str | None = None
    duplicate_of: int | None = None
    duplicate_exact: bool = False
    current: int | None = None
    resume: Step | None = None
    submitted: list[int] = msgspec.field(default_factory=list)


@dataclass
class Turn:
    messages: list[BotMessage]
    state: ChatState
    erase: bool = False


def recognise(text: str) -> set[str]:
    """What a free-text message could mean as a whole; empty when it is just text."""
    normalised = nlp.normalise(text)
    if text.strip() in ("+1", "-1", "0"):
        normalised = text.strip()
    return {key for key, values in _MATCH.items() if normalised in values}


def compose(position: str, reason: str | None, language: str) -> str:
    """The statement from the participant's own words: the position as a sentence, joined
    to the reason with "because"/"want" unless the reason already starts with a connective."""
    if not reason or not reason.strip():
        return sentence(position)
    head = _TRAILING.sub("", position.strip())
    head = head[:1].upper() + head[1:]
    tail = _TRAILING.sub("", reason.strip())
    first = tail.split(maxsplit=1)[0].casefold() if tail else ""
    if not (tail[:2].isupper() or first in ("i", "ik")):  # keep acronyms and "I"
        tail = tail[:1].lower() + tail[1:]
    if first not in _CONNECTIVES:
        tail = f"{say(language, 'because')} {tail}"
    return f"{head}, {tail}."


def sentence(text: str) -> str:
    """The participant's words as one sentence: a capital first letter and closing punctuation
    (their own "?" or "!" kept)."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", "…")) else _TRAILING.sub("", text) + "."


def _reply(language: str, payload: str, key: str | None = None) -> QuickReply:
    return QuickReply(title=phrases.button(language, key or payload), payload=payload)


@dataclass
class Dialogue:
    """The dialogue for one participant of one discussion, on one connection."""

    engine: Engine
    conn: asyncpg.Connection
    discussion: asyncpg.Record
    participant: int
    token: str

    @property
    def id(self) -> uuid.UUID:
        value: uuid.UUID = self.discussion["id"]
        return value

    @property
    def languages(self) -> list[str]:
        return list(self.discussion["languages"])

    def initial_language(self, wanted: str | None = None) -> str:
        if wanted in self.languages:
            assert wanted is not None
            return wanted
        return "nl" if "nl" in self.languages else self.languages[0]

    # --- the state machine (the chat endpoint) -----------------------------------------------

    async def respond(self, state: ChatState, text: str | None, reply: str | None) -> Turn:
        """One turn: the participant's message (free text or a quick-reply payload, or neither
        to resume) and the state before it -> the bot's messages and the state after it."""
        intents = {reply} if reply else recognise(text) if text else set()
        text = text.strip() if text and not reply else None
        if not intents and not text:
            return Turn(await self.prompt(state), state)
        command = next((c for c in GLOBAL if c in intents), None)
        if command is not None and state.step != "confirm-delete":
            return await self._command(state, command)
        if self.discussion["state"] != "open" and state.step not in ("confirm-delete",):
            return Turn([BotMessage(text=say(state.language, "not_open"))], state)
        handler = getattr(self, "_on_" + state.step.replace("-", "_"))
        turn: Turn = await handler(state, intents, text)
        return turn

    async def _command(self, state: ChatState, command: str) -> Turn:
        lang = state.language
        if command == "help":
            messages = [BotMessage(text=self.help_text(lang))]
            return Turn(messages + await self.prompt(state), state)
        if command == "stop":
            return Turn(self.stop(state), state)
        if command == "delete":
            state.resume = state.step
            state.step = "confirm-delete"
            return Turn(self.confirm_delete(state), state)
        if command == "language":
            messages = self.change_language(state)
            return Turn(messages + await self.prompt(state), state)
        if command == "figures":
            return Turn(await self.figures(lang) + await self.prompt(state), state)
        messages = await self.where_do_i_stand(lang)
        return Turn(messages + await self.prompt(state), state)

    async def _on_start(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        return Turn(await self.prompt(state), state)

    async def _on_welcome(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        if "vote" in intents or "more" in intents:
            return Turn(await self.start_voting(state, intro=True), state)
        if intents & {"start", "yes", "write"}:
            state.step = "experience"
            return Turn(self.ask("experience", state.language), state)
        if text:  # someone who starts typing their view at once
            state.step = "position"
            return await self._on_position(state, set(), text)
        return Turn(await self.prompt(state), state)

    async def _on_experience(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        lang = state.language
        if "skip" in intents or not text:
            state.step = "position"
            return Turn(self.ask("position", lang), state)
        state.experience = self.keep_experience(text)
        state.step = "position"
        return Turn([BotMessage(text=say(lang, "experience_thanks")), *self.ask("position", lang)], state)

    async def _on_position(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        if not text:
            return Turn(self.ask("position", state.language), state)
        accepted, messages = self.take_part(text, state.language, limit=MAX_POSITION_CHARS)
        if accepted is None:
            return Turn(messages, state)
        state.position, state.step = accepted, "reason"
        return Turn(messages + self.ask("reason", state.language), state)

    async def _on_reason(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        lang = state.language
        reason: str | None = None
        messages: list[BotMessage] = []
        if text and "skip" not in intents:
            reason, messages = self.take_part(text, lang, limit=MAX_STATEMENT_CHARS)
            if reason is None:
                return Turn(messages, state)
        assert state.position is not None
        draft = compose(state.position, reason, lang)
        if len(draft) > MAX_STATEMENT_CHARS:
            return Turn([BotMessage(text=say(lang, "draft_too_long", limit=MAX_STATEMENT_CHARS))], state)
        state.reason, state.draft, state.step = reason, draft, "confirm"
        return Turn(messages + self.reflect(draft, lang), state)

    async def _on_confirm(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        if "yes" in intents:
            return Turn(await self.submit(state), state)
        if "edit" in intents:
            state.step = "edit"
            return Turn(self.ask("edit", state.language), state)
        if "restart" in intents or "no" in intents:
            state.position = state.reason = state.draft = None
            state.step = "position"
            return Turn(self.ask("position", state.language), state)
        if text:  # typed a new version straight away
            return await self._on_edit(state, set(), text)
        return Turn(await self.prompt(state), state)

    async def _on_edit(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        if not text:
            return Turn(self.ask("edit", state.language), state)
        draft, messages = self.take_part(text, state.language, limit=MAX_STATEMENT_CHARS)
        if draft is None:
            return Turn(messages, state)
        state.draft, state.step = sentence(draft)[:MAX_STATEMENT_CHARS], "confirm"
        return Turn(messages + self.reflect(state.draft, state.language), state)

    async def _on_duplicate(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        if intents & {"existing", "yes", "agree"}:
            return Turn(await self.vote_existing(state, 1), state)
        if state.duplicate_exact and intents & {"disagree", "pass", "no"}:
            return Turn(await self.vote_existing(state, -1 if intents & {"disagree", "no"} else 0), state)
        if "anyway" in intents and not state.duplicate_exact:
            return Turn(await self.submit(state, anyway=True), state)
        if "edit" in intents:
            state.step = "edit"
            return Turn(self.ask("edit", state.language), state)
        return Turn(await self.prompt(state), state)

    async def _on_voting(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        value = next((v for k, v in (("agree", 1), ("disagree", -1), ("pass", 0)) if k in intents), None)
        if value is not None:
            return Turn(await self.record_vote(state, value), state)
        if "write" in intents:
            state.step = "experience"
            return Turn(self.ask("experience", state.language), state)
        return Turn([BotMessage(text=say(state.language, "choose_vote")), *await self.prompt(state)], state)

    async def _on_stance(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        if intents & {"more", "yes", "vote"}:
            return Turn(await self.next_statement(state, more=True), state)
        if intents & {"write", "start"}:
            state.step = "experience"
            return Turn(self.ask("experience", state.language), state)
        return Turn(await self.prompt(state), state)

    async def _on_closed(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        if intents & {"more", "vote"}:
            return Turn(await self.next_statement(state, more=True), state)
        if intents & {"write", "start", "yes"}:
            state.step = "experience"
            return Turn(self.ask("experience", state.language), state)
        return Turn(await self.prompt(state), state)

    async def _on_confirm_delete(self, state: ChatState, intents: set[str], text: str | None) -> Turn:
        if intents & {"yes", "delete"}:
            return Turn([BotMessage(text=say(state.language, "deleted"))], state, erase=True)
        state.step, state.resume = state.resume or "welcome", None
        return Turn([BotMessage(text=say(state.language, "not_deleted")), *await self.prompt(state)], state)

    # --- what the bot says at each step (shared with the Rasa actions) -----------------------

    async def prompt(self, state: ChatState) -> list[BotMessage]:
        """The question of the current step, asked again (after help, a language change, a
        resume, or input the step cannot use)."""
        lang = state.language
        if state.step == "start":
            state.step = "welcome"
            return self.welcome(lang)
        if state.step == "welcome":
            return [self._start_menu(lang, say(lang, "start_question"))]
        if state.step in ("experience", "position", "reason", "edit"):
            return self.ask(state.step, lang)
        if state.step == "confirm" and state.draft:
            return self.reflect(state.draft, lang)
        if state.step == "duplicate" and state.duplicate_of is not None:
            return await self.duplicate_offer(state)
        if state.step == "voting" and state.current is not None:
            texts = await repo.bodies(self.conn, self.id, [state.current])
            if state.current in texts:
                return [self.statement_message(state.current, texts[state.current], lang, warning=False)]
            return await self.next_statement(state)
        if state.step == "confirm-delete":
            return self.confirm_delete(state)
        if state.step == "closed":
            return [self._menu(lang, say(lang, "welcome_back"), ("more", "write", "stop"))]
        return [self._menu(lang, say(lang, "after_stance"), ("more", "write", "stop"))]

    def welcome(self, lang: str) -> list[BotMessage]:
        question = self.discussion["question"]
        return [
            BotMessage(text=say(lang, "welcome", question=question)),
            BotMessage(text=say(lang, "privacy"), kind="notice"),
            self._start_menu(lang, say(lang, "start_question")),
        ]

    def _start_menu(self, lang: str, text: str) -> BotMessage:
        payloads = ["start", "vote"]
        if len(self.languages) > 1:
            payloads.append("language")
        if self.discussion["area"]:
            payloads.append("figures")
        payloads.append("help")
        return self._menu(lang, text, payloads)

    def _menu(self, lang: str, text: str, payloads: tuple[str, ...] | list[str]) -> BotMessage:
        return BotMessage(text=text, quick_replies=[_reply(lang, p) for p in payloads])

    def ask(self, step: str, lang: str) -> list[BotMessage]:
        if step == "experience":
            return [self._menu(lang, say(lang, "ask_experience"), ("skip",))]
        if step == "reason":
            return [self._menu(lang, say(lang, "ask_reason"), ("skip",))]
        if step == "edit":
            return [BotMessage(text=say(lang, "ask_edit", limit=MAX_STATEMENT_CHARS))]
        return [BotMessage(text=say(lang, "ask_position"))]

    def help_text(self, lang: str) -> str:
        text = say(lang, "help")
        return text + (" " + say(lang, "help_figures") if self.discussion["area"] else "")

    def reflect(self, draft: str, lang: str) -> list[BotMessage]:
        return [self._menu(lang, say(lang, "reflect", draft=draft), ("yes", "edit", "restart"))]

    def keep_experience(self, text: str) -> str:
        return keep_experience(self.engine, text)

    def take_part(self, text: str, lang: str, *, limit: int) -> tuple[str | None, list[BotMessage]]:
        return take_part(self.engine, text, lang, limit=limit)

    async def submit(self, state: ChatState, *, anyway: bool = False) -> list[BotMessage]:
        """Post the draft. A duplicate moves to the duplicate offer; otherwise on to voting."""
        lang = state.language
        assert state.draft is not None
        try:
            view = await self.engine.submit(
                self.conn, self.id, self.token, state.draft, lang, allow_near_duplicate=anyway
            )
        except Refused as refused:
            if refused.kind == "duplicate" and refused.duplicate is not None:
                state.duplicate_of = refused.duplicate.statement_id
                state.duplicate_exact = refused.duplicate.method != "embedding"
                state.step = "duplicate"
                return await self.duplicate_offer(state)
            if refused.kind == "abusive":
                state.step = "edit"
                return [BotMessage(text=say(lang, "abusive"))]
            if refused.kind == "not-open":
                return [BotMessage(text=say(lang, "not_open"))]
            raise
        state.submitted.append(view.id)
        state.position = state.reason = state.draft = None
        state.duplicate_of = None
        reviewed_first = view.held is not None or self.discussion["moderation"] == "pre"
        posted = BotMessage(text=say(lang, "posted_review" if reviewed_first else "posted"))
        return [posted, *await self.start_voting(state, intro=True)]

    async def duplicate_offer(self, state: ChatState) -> list[BotMessage]:
        lang = state.language
        assert state.duplicate_of is not None
        existing = (await repo.bodies(self.conn, self.id, [state.duplicate_of])).get(state.duplicate_of, "")
        if state.duplicate_exact:
            return [self._menu(lang, say(lang, "exact_duplicate", existing=existing), ("agree", "disagree", "pass"))]
        return [self._menu(lang, say(lang, "near_duplicate", existing=existing), ("existing", "anyway", "edit"))]

    async def vote_existing(self, state: ChatState, value: int) -> list[BotMessage]:
        assert state.duplicate_of is not None
        statement, state.duplicate_of = state.duplicate_of, None
        state.position = state.reason = state.draft = None
        messages = []
        try:
            await self.engine.vote(self.conn, self.id, self.token, statement, value)
            if value == 1:
                messages.append(BotMessage(text=say(state.language, "agreed_existing")))
        except Refused as refused:
            if refused.kind != "not-found":
                raise
        return messages + await self.start_voting(state, intro=True)

    async def start_voting(self, state: ChatState, *, intro: bool) -> list[BotMessage]:
        messages = [BotMessage(text=say(state.language, "voting_intro"))] if intro else []
        return messages + await self.next_statement(state)

    async def next_statement(self, state: ChatState, *, more: bool = False, stance: bool = True) -> list[BotMessage]:
        """The next statement from the engine's balanced routing, or (at the session cap or when
        none is left) where the participant stands (`stance`: Rasa's rules run that step
        themselves)."""
        lang = state.language
        result = await self.engine.next_statement(self.conn, self.id, self.token, more=more)
        if result.statement is None or result.body is None:
            state.current = None
            state.step = "stance"
            key = "session_cap" if result.reason == "session-cap" else "no_more"
            lead = BotMessage(text=say(lang, key, count=result.shown_in_session))
            if not stance:
                return [lead]
            return [lead, *await self.where_do_i_stand(lang), *await self.prompt(state)]
        state.current, state.step = result.statement, "voting"
        return self.statement_sequence(result.statement, result.body, lang, warning=result.content_warning)

    def statement_sequence(self, statement: int, body: str, lang: str, *, warning: bool) -> list[BotMessage]:
        messages = [BotMessage(text=say(lang, "content_warning"), kind="notice")] if warning else []
        return [*messages, self.statement_message(statement, body, lang, warning=warning)]

    def statement_message(self, statement: int, body: str, lang: str, *, warning: bool) -> BotMessage:
        return BotMessage(
            text=say(lang, "statement", body=body),
            kind="statement",
            statement=statement,
            content_warning=warning,
            quick_replies=[_reply(lang, p) for p in ("agree", "disagree", "pass", "stand", "stop")],
        )

    async def record_vote(self, state: ChatState, value: int, *, stance: bool = True) -> list[BotMessage]:
        lang = state.language
        messages: list[BotMessage] = []
        if state.current is not None:
            try:
                await self.engine.vote(self.conn, self.id, self.token, state.current, value)
            except Refused as refused:
                if refused.kind != "not-found":
                    raise
                messages.append(BotMessage(text=say(lang, "vote_gone")))
        return messages + await self.next_statement(state, stance=stance)

    async def where_do_i_stand(self, lang: str) -> list[BotMessage]:
        stance = await self.engine.stance(self.conn, self.id, self.participant)
        return [BotMessage(text=stance_text(stance, lang))]

    async def figures(self, lang: str) -> list[BotMessage]:
        found = await context.area_figures(self.conn, self.discussion["municipality"], self.discussion["area"])
        if found is None:
            text = say(lang, "figures_none")
        elif found.period is None:
            text = say(lang, "figures_unreleased")
        elif not found.parts:
            text = say(lang, "figures_quiet", period=found.period)
        else:
            text = say(lang, "figures", period=found.period, parts=found.parts, band=found.top_band)
        return [BotMessage(text=text)]

    def stop(self, state: ChatState) -> list[BotMessage]:
        state.step = "closed"
        state.current = None
        return [BotMessage(text=say(state.language, "stop"))]

    def change_language(self, state: ChatState) -> list[BotMessage]:
        others = [lang for lang in self.languages if lang != state.language]
        if not others:
            return [BotMessage(text=say(state.language, "language_only"))]
        state.language = others[0]
        return [BotMessage(text=say(state.language, "language_changed"))]

    def confirm_delete(self, state: ChatState) -> list[BotMessage]:
        lang = state.language
        replies = [_reply(lang, "yes", "delete_yes"), _reply(lang, "no")]
        return [BotMessage(text=say(lang, "confirm_delete"), quick_replies=replies)]


def keep_experience(engine: Engine, text: str) -> str:
    """The experience as kept in the participant's own state: PII-scrubbed and capped."""
    (screened,) = engine.screen([text[:MAX_EXPERIENCE_CHARS]])
    return screened.text


def take_part(engine: Engine, text: str, lang: str, *, limit: int) -> tuple[str | None, list[BotMessage]]:
    """Screen one piece of the participant's view (position, reason or a whole edited
    statement): PII removed with a notice, threats refused, length checked. Returns the text
    to keep (None: ask again) and the messages to send."""
    (screened,) = engine.screen([text[:MAX_INPUT_CHARS]])
    if screened.toxicity.verdict == "toxic":
        return None, [BotMessage(text=say(lang, "abusive"))]
    kept = screened.text
    if len(kept) < MIN_PART_CHARS:
        return None, [BotMessage(text=say(lang, "too_short"))]
    if len(kept) > limit:
        return None, [BotMessage(text=say(lang, "too_long", limit=limit))]
    messages = []
    if screened.found:
        kinds = phrases.pii_names(lang, [k.value for k in screened.found])
        messages.append(BotMessage(text=say(lang, "personal_data", kinds=kinds), kind="notice"))
    return kept, messages


def stance_text(stance: Stance, lang: str) -> str:
    if stance.groups == 0:
        return say(lang, "stance_no_groups", votes=stance.votes)
    if stance.label is None:
        return say(lang, "stance_none_fit", groups=stance.groups)
    items = say(lang, "stance_and").join(say(lang, f"stance_shared_{s.direction}", body=s.body) for s in stance.shared)
    shared = say(lang, "stance_shared", items=items) if items else ""
    group = say(lang, "stance_group", label=stance.label, size=stance.size, shared=shared)
    return f"{group} {say(lang, 'stance_groups', groups=stance.groups)}"


# --- the chat endpoint's storage ------------------------------------------------------------

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(ChatState)


async def converse(
    engine: Engine,
    conn: asyncpg.Connection,
    discussion: uuid.UUID,
    token: str | None,
    *,
    text: str | None = None,
    reply: str | None = None,
    language: str | None = None,
) -> list[BotMessage]:
    """One chat turn for the app's endpoint. The participant's state row is locked for the
    turn, so two messages of one participant are answered in order; erasure runs after the
    turn's transaction so the background regrouping never sees the erased votes."""
    if text is not None and len(text) > MAX_INPUT_CHARS:
        raise Refused("invalid", f"a message must be at most {MAX_INPUT_CHARS} characters")
    if reply is not None and reply not in PAYLOADS:
        raise Refused("invalid", "reply must be one of the quick-reply payloads: " + ", ".join(PAYLOADS))
    row = await engine.discussion(conn, discussion)
    if row["state"] == "draft":
        raise Refused("not-found", "no discussion with this id")
    async with conn.transaction():
        who = await engine.participant(conn, discussion, token)
        assert token is not None
        dialogue = Dialogue(engine, conn, row, who["id"], token)
        stored = await repo.chat_state(conn, discussion, who["id"], lock=True)
        state = _DECODER.decode(stored) if stored is not None else ChatState(language=dialogue.initial_language())
        if language is not None and language != state.language:
            if language not in dialogue.languages:
                raise Refused("invalid", "language must be one of the discussion's languages")
            state.language = language
        turn = await dialogue.respond(state, text, reply)
        if not turn.erase:
            await repo.put_chat_state(conn, discussion, who["id"], _ENCODER.encode(turn.state))
    if turn.erase:
        await engine.erase(conn, discussion, token)
    return turn.messages
