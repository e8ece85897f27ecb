"""The Rasa action server as Rasa uses it: `straatstem actions` runs as its own process on the
test database, and the tests post the JSON a Rasa server sends to /webhook (tracker, domain,
next_action) and check the events and responses that come back, including the validation of
slots a form pre-filled."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml

from api.deliberation.engine import build_engine
from chatbot import rasa_actions
from chatbot.engine import DiscussionSpec
from tests.conftest import make_settings

RASA = Path(__file__).resolve().parents[2] / "chatbot" / "rasa"
DOMAIN: dict[str, Any] = yaml.safe_load((RASA / "domain.yml").read_text(encoding="utf-8"))
SEEDS = (
    "Er moet meer straatverlichting komen in het park",
    "Cameratoezicht op het stationsplein helpt tegen intimidatie",
    "Handhavers moeten vaker 's avonds op straat zijn",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_")}
    env.update(
        DATABASE_URL=dsn,
        STRAATSTEM_DATA_DIR=str(tmp_path_factory.mktemp("actions")),
        STRAATSTEM_NLP_MODEL="lexical",
        STRAATSTEM_LOG_JSON="false",
        STRAATSTEM_RECOMPUTE_VOTES="1000000",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "actions", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read().decode() if process.stdout else ""
            process.kill()
            pytest.fail("the action server did not start:\n" + output[-3000:])
        time.sleep(0.2)
    yield url
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    log = output.decode()
    assert "0612345678" not in log and "Traceback" not in log, log[-3000:]


@pytest.fixture
async def discussion(clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> uuid.UUID:
    engine = build_engine(make_settings(tmp_path, nlp_model="lexical"))
    async with clean.acquire() as conn:
        created = await engine.create(
            conn,
            "den-haag",
            DiscussionSpec(
                question="Wat moet er veranderen?", languages=("nl", "en"), moderation="post", seed_statements=SEEDS
            ),
        )
        await engine.set_state(conn, created, "open")
    return created


class Rasa:
    """What a Rasa server keeps and sends: the slots and the events of one conversation."""

    def __init__(self, url: str, discussion: uuid.UUID) -> None:
        self.url = url
        self.discussion = discussion
        self.slots: dict[str, Any] = {}
        self.sender = f"user-{uuid.uuid4().hex[:8]}"

    def call(
        self,
        action: str,
        *,
        text: str = "",
        intent: str = "inform",
        events: list[dict[str, Any]] | None = None,
        active_loop: dict[str, Any] | None = None,
        slots: dict[str, Any] | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        tracker = {
            "sender_id": self.sender,
            "slots": {**self.slots, **(slots or {})},
            "latest_message": {
                "text": text,
                "intent": {"name": intent, "confidence": 1.0},
                "entities": [],
                "metadata": {"discussion": str(self.discussion)},
            },
            "events": [{"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}] + (events or []),
            "paused": False,
            "followup_action": None,
            "active_loop": active_loop or {},
            "latest_action_name": "action_listen",
        }
        body = {
            "next_action": action,
            "sender_id": self.sender,
            "tracker": tracker,
            "domain": DOMAIN,
            "version": "3.21.1",
        }
        answer = httpx.post(self.url + "/webhook", json=body, timeout=30)
        assert answer.status_code == status, answer.text
        result: dict[str, Any] = answer.json()
        for event in result.get("events", []):
            if event["event"] == "slot":
                self.slots[event["name"]] = event["value"]
        return result


def said(result: dict[str, Any]) -> str:
    return "\n".join(r["text"] or "" for r in result["responses"])


def slot_events(result: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in result["events"] if e["event"] == "slot"}


def test_the_server_lists_exactly_the_actions_of_the_domain(server: str) -> None:
    listed = sorted(a["name"] for a in httpx.get(server + "/actions", timeout=10).json())
    assert listed == rasa_actions.action_names()
    declared = {a for a in DOMAIN["actions"] if a.startswith(("action_", "validate_"))}
    assert set(listed) == declared


async def test_a_conversation_through_the_webhook(server: str, discussion: uuid.UUID, clean: asyncpg.Pool) -> None:
    rasa = Rasa(server, discussion)
    started = rasa.call("action_session_start", intent="greet")
    kinds = [e["event"] for e in started["events"]]
    assert kinds[0] == "session_started" and kinds[-1] == "action" and started["events"][-1]["name"] == "action_listen"
    assert rasa.slots["participant_token"] and rasa.slots["discussion_id"] == str(discussion)
    assert "Welkom!" in said(started) and "verwijder mijn gegevens" in said(started)
    assert {"title": "Laten we beginnen", "payload": "/affirm"} in started["responses"][-1]["buttons"]

    asked = rasa.call("action_ask_experience")
    assert "Dat blijft privé" in said(asked)

    # The form pre-filled all three slots from one message; the validator screens each.
    form = {"name": "statement_form"}
    validated = rasa.call(
        "validate_statement_form",
        text="...",
        active_loop=form,
        slots={"requested_slot": "experience"},
        events=[
            {"event": "slot", "name": "experience", "value": "Ik werd gevolgd bij het station"},
            {"event": "slot", "name": "position", "value": "Bel 0612345678: er moet meer licht komen"},
            {"event": "slot", "name": "reason", "value": "het is daar donker"},
        ],
    )
    values = slot_events(validated)
    assert values["experience"] == "shared"  # the experience itself never stays in a slot
    assert values["position"] == "Bel [phone]: er moet meer licht komen"
    assert values["reason"] == "het is daar donker"
    assert "telefoonnummer" in said(validated) and "0612345678" not in said(validated)

    threat = rasa.call(
        "validate_statement_form",
        text="ik maak je dood",
        active_loop=form,
        slots={"requested_slot": "position"},
        events=[{"event": "slot", "name": "position", "value": "ik maak je dood"}],
    )
    assert slot_events(threat) == {"position": None} and "bedreiging" in said(threat)
    rasa.slots["position"] = values["position"]

    reflected = rasa.call("action_reflect_view", intent="affirm")
    draft = "Bel [phone]: er moet meer licht komen, want het is daar donker."
    assert f"“{draft}”" in said(reflected)
    assert rasa.slots["draft"] == draft and rasa.slots["awaiting"] == "confirm"

    posted = rasa.call("action_submit_statement", intent="affirm")
    assert "Een moderator leest je stelling eerst" in said(posted)  # personal data was removed: held
    assert rasa.slots["awaiting"] == "vote" and rasa.slots["draft"] is None
    first = int(rasa.slots["current_statement"])
    assert posted["responses"][-1]["custom"]["statement"] == first
    assert [b["payload"] for b in posted["responses"][-1]["buttons"]][:3] == ["/agree", "/disagree", "/pass"]

    voted = rasa.call("action_record_vote", text="eens", intent="agree")
    assert int(rasa.slots["current_statement"]) != first
    async with clean.acquire() as conn:
        vote = await conn.fetchrow("select statement, value from vote where discussion = $1", discussion)
        held = await conn.fetchval(
            "select held from statement where discussion = $1 and author is not null", discussion
        )
    assert (vote["statement"], vote["value"]) == (first, 1) and held == "personal-data"
    assert voted["responses"][-1]["custom"]["statement"] == int(rasa.slots["current_statement"])

    stand = rasa.call("action_where_do_i_stand", intent="where_do_i_stand")
    assert "Meningsgroepen ontstaan" in said(stand)

    english = rasa.call("action_change_language", intent="change_language")
    assert "I'll speak English with you now." in said(english) and rasa.slots["language"] == "en"

    confirm = rasa.call("action_delete_my_data", intent="delete_my_data")
    assert "It cannot be undone" in said(confirm) and rasa.slots["awaiting"] == "delete"
    deleted = rasa.call("action_delete_my_data", intent="affirm")
    assert "Your data has been deleted" in said(deleted)
    assert rasa.slots["participant_token"] is None
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from participant where discussion = $1", discussion) == 0
        assert await conn.fetchval("select count(*) from vote where discussion = $1", discussion) == 0


async def test_near_duplicate_offer_and_post_anyway_need_a_draft(server: str, discussion: uuid.UUID) -> None:
    rasa = Rasa(server, discussion)
    rasa.call("action_session_start", intent="greet")
    rasa.slots.update(position="Er moet meer straatverlichting komen in het park", reason="-")
    rasa.call("action_reflect_view", intent="affirm")
    offered = rasa.call("action_submit_statement", intent="affirm")
    assert "Deze stelling staat er al" in said(offered) and rasa.slots["awaiting"] == "duplicate"
    assert rasa.slots["duplicate_of"] == 1.0
    agreed = rasa.call("action_vote_existing", intent="vote_existing")
    assert "Genoteerd" in said(agreed) and rasa.slots["awaiting"] == "vote"


def test_bad_calls(server: str, discussion: uuid.UUID) -> None:
    rasa = Rasa(server, discussion)
    rasa.call("action_no_such_thing", status=404)
    lost = Rasa(server, uuid.uuid4())  # a discussion that does not exist
    answer = lost.call("action_next_statement")
    assert answer["events"] == [] and "niet open" in said(answer)
