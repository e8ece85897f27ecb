"""The chat endpoint end to end on real PostgreSQL: the articulation dialogue in Dutch and
English from welcome to close, with the edit, duplicate, personal-data, toxic-input, stop and
delete-my-data paths; the private experience; state across a restart; pausing; area figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import h3
import msgspec
import pytest

from aggregation.releases import PublicCell, PublicRelease
from tests.api.test_deliberation import SEEDS, Client, join, moderator, open_discussion, serving

EN_SEEDS = [
    "There should be more street lighting in the park",
    "Cameras at the station square help against harassment",
    "Enforcement officers should patrol more in the evening",
    "Schools should teach about harassment",
    "Bystanders should learn how to step in",
]


@pytest.fixture
async def chat_app(clean: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[Client, Any]]:
    async with serving(clean, tmp_path, session_prompts=4) as served:
        yield served


@pytest.fixture
async def http(chat_app: tuple[Client, Any]) -> Client:
    return chat_app[0]


class Chat:
    """One participant talking to the bot."""

    def __init__(self, http: Client, discussion: str, headers: dict[str, str]) -> None:
        self.http, self.discussion, self.headers = http, discussion, headers
        self.transcript: list[str] = []

    async def send(self, text: str | None = None, *, reply: str | None = None, **extra: Any) -> list[dict[str, Any]]:
        body: dict[str, Any] = dict(extra)
        if text is not None:
            body["text"] = text
        if reply is not None:
            body["reply"] = reply
        answer = await self.http.post(f"/v1/discussions/{self.discussion}/chat", json=body, headers=self.headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        messages: list[dict[str, Any]] = answer.json()["messages"]
        assert messages, "the bot always answers"
        self.transcript += [m["text"] for m in messages]
        return messages


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)


def payloads(messages: list[dict[str, Any]]) -> list[str]:
    return [r["payload"] for r in messages[-1].get("quick_replies", [])]


async def to_position(me: Chat) -> None:
    """Welcome, start, skip the experience: the bot now asks what should change."""
    await me.send()
    await me.send(reply="start")
    asked = await me.send(reply="skip")
    assert asked[-1]["text"] in (
        "Wat zou er moeten veranderen? Schrijf het in één zin, bijvoorbeeld “Er moet meer licht "
        "komen bij het station”.",
        "What should change? Put it in one sentence, for example “There should be more light near the station”.",
    )


async def start(http: Client, clean: asyncpg.Pool, **overrides: Any) -> tuple[str, dict[str, str]]:
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff, **overrides)
    return discussion, staff


async def test_dutch_conversation_from_welcome_to_close(http: Client, clean: asyncpg.Pool, hague: list[int]) -> None:
    discussion, staff = await start(http, clean)
    me = Chat(http, discussion, await join(http, discussion))

    welcome = await me.send()
    assert "Wat moet er veranderen?" in welcome[0]["text"]
    assert welcome[1]["kind"] == "notice" and "verwijder mijn gegevens" in welcome[1]["text"]
    assert "niets wordt gekoppeld aan meldingen" in welcome[1]["text"]
    assert payloads(welcome)[:2] == ["start", "vote"]

    asked = await me.send(reply="start")
    assert "privé" in texts(asked) and payloads(asked) == ["skip"]
    asked = await me.send("Ik werd bij het station nageroepen door een groep jongens")
    assert "Dank je wel dat je dit deelt" in texts(asked) and "Wat zou er moeten veranderen" in texts(asked)
    asked = await me.send("er moet meer licht komen bij de fietsenstalling")
    assert "Waarom" in texts(asked)
    reflected = await me.send("het is daar 's avonds erg donker!")
    draft = "Er moet meer licht komen bij de fietsenstalling, want het is daar 's avonds erg donker."
    assert f"Als ik je goed begrijp, vind je: “{draft}” Klopt dat?" in texts(reflected)
    assert payloads(reflected) == ["yes", "edit", "restart"]

    posted = await me.send("ja")
    assert "Een moderator leest je stelling eerst" in texts(posted)  # a pre-moderated discussion
    statement = posted[-1]
    assert statement["kind"] == "statement" and statement["text"].strip("“”") in SEEDS
    assert payloads(posted) == ["agree", "disagree", "pass", "stand", "stop"]

    seen = [statement["statement"]]
    for value in ("agree", "eens", "oneens", "weet niet"):
        answer = await me.send(value) if value != "agree" else await me.send(reply=value)
        if answer[-1].get("kind") == "statement":
            seen.append(answer[-1]["statement"])
    assert "Je hebt 4 stellingen gezien" in texts(answer)  # the session cap (4 here)
    assert "Meningsgroepen ontstaan als genoeg mensen hebben gestemd" in texts(answer)
    assert payloads(answer) == ["more", "write", "stop"]
    assert len(set(seen)) == 4

    closed = await me.send(reply="stop")
    assert "Dank je wel voor je bijdrage" in texts(closed)

    async with clean.acquire() as conn:
        stored = await conn.fetchrow(
            "select body, state, author from statement where discussion = $1 and body = $2",
            __import__("uuid").UUID(discussion),
            draft,
        )
        votes = await conn.fetch("select value from vote where discussion = $1", __import__("uuid").UUID(discussion))
    assert stored is not None and stored["state"] == "pending" and stored["author"] is not None
    assert sorted(v["value"] for v in votes) == [-1, 0, 1, 1]
    queue = await http.get(f"/v1/discussions/{discussion}/moderation", headers=staff)
    assert [s["body"] for s in queue.json()] == [draft]


async def test_english_conversation_with_edit_help_language_and_skips(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    discussion, _ = await start(
        http, clean, languages=["en", "nl"], seed_statements=EN_SEEDS, moderation="post", question="What should change?"
    )
    me = Chat(http, discussion, await join(http, discussion))
    welcome = await me.send(language="en")
    assert welcome[0]["text"].startswith("Welcome!") and "language" in payloads(welcome)
    await me.send(reply="start")
    asked = await me.send("skip")
    assert texts(asked).startswith("What should change?")
    helped = await me.send("help")  # a command at any step, then the same question again
    assert "delete my data" in texts(helped) and texts(helped).endswith(asked[-1]["text"])
    switched = await me.send("nederlands")
    assert "Ik praat nu Nederlands met je." in texts(switched) and "Wat zou er moeten veranderen" in texts(switched)
    back = await me.send(reply="language")
    assert "I'll speak English with you now." in texts(back)
    # "stop" inside a sentence is the participant's view, not the stop command.
    asked = await me.send("stop catcalling near the bus stops")
    assert "Why do you think so?" in texts(asked)
    reflected = await me.send(reply="skip")
    assert "you think: “Stop catcalling near the bus stops.” Is that right?" in texts(reflected)
    edit = await me.send(reply="edit")
    assert "How should your statement read?" in texts(edit)
    reflected = await me.send("Bus stops should be safe places, because people wait there alone at night")
    assert "“Bus stops should be safe places, because people wait there alone at night.”" in texts(reflected)
    posted = await me.send(reply="yes")
    assert "Thank you! Your statement has been posted." in texts(posted)  # post-moderated: visible at once
    assert posted[-1]["kind"] == "statement"
    stood = await me.send("where do I stand")
    assert "Opinion groups form once enough people have voted" in texts(stood)
    assert stood[-1]["kind"] == "statement"  # and back to the statement being voted on
    stopped = await me.send("stop")
    assert "Thank you for taking part" in texts(stopped)
    again = await me.send(reply="more")
    assert again[-1]["kind"] == "statement"


async def test_exact_duplicate_becomes_a_vote_on_the_existing_statement(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    import uuid

    discussion, _ = await start(http, clean)
    me = Chat(http, discussion, await join(http, discussion))
    await to_position(me)
    await me.send("Er moet meer straatverlichting komen in het park")
    await me.send(reply="skip")
    offered = await me.send(reply="yes")
    assert "Deze stelling staat er al: “Er moet meer straatverlichting komen in het park”" in texts(offered)
    assert payloads(offered) == ["agree", "disagree", "pass"]  # no "post anyway" for the same text
    voted = await me.send(reply="agree")
    assert "Genoteerd: je bent het ermee eens." in texts(voted) and voted[-1]["kind"] == "statement"
    async with clean.acquire() as conn:
        vote = await conn.fetchrow(
            "select v.value, s.body from vote v join statement s on s.discussion = v.discussion and s.id = v.statement"
            " where v.discussion = $1",
            uuid.UUID(discussion),
        )
        count = await conn.fetchval("select count(*) from statement where discussion = $1", uuid.UUID(discussion))
    assert vote["value"] == 1 and vote["body"] == SEEDS[0]
    assert count == len(SEEDS)


async def test_personal_data_is_removed_with_a_warning_and_held(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    discussion, staff = await start(http, clean, moderation="post")
    me = Chat(http, discussion, await join(http, discussion))
    await to_position(me)
    warned = await me.send("Bel 0612345678 als er iets is, er moet een meldpunt komen")
    assert warned[0]["kind"] == "notice" and "telefoonnummer" in warned[0]["text"]
    assert "0612345678" not in "".join(me.transcript)
    await me.send(reply="skip")
    posted = await me.send(reply="yes")
    assert "Een moderator leest je stelling eerst" in texts(posted)  # held although post-moderated
    queue = (await http.get(f"/v1/discussions/{discussion}/moderation", headers=staff)).json()
    assert [(s["body"], s["held"]) for s in queue] == [
        ("Bel [phone] als er iets is, er moet een meldpunt komen.", "personal-data")
    ]
    held_id = queue[0]["id"]
    other = await join(http, discussion)
    assert (await http.get(f"/v1/discussions/{discussion}/statements/{held_id}")).status_code == 404
    vote = await http.post(
        f"/v1/discussions/{discussion}/votes", json={"statement": held_id, "value": 1}, headers=other
    )
    assert vote.status_code == 404
    accepted = await http.post(
        f"/v1/discussions/{discussion}/statements/{held_id}/moderation", json={"state": "accepted"}, headers=staff
    )
    assert accepted.status_code == 200 and "held" not in accepted.json()
    assert (await http.get(f"/v1/discussions/{discussion}/statements/{held_id}")).status_code == 200


async def test_toxic_input_is_refused_and_doubtful_input_goes_to_moderation(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    discussion, staff = await start(http, clean, moderation="post")
    me = Chat(http, discussion, await join(http, discussion))
    await to_position(me)
    refused = await me.send("Ik maak je dood")
    assert "het leest als een bedreiging" in texts(refused)
    asked = await me.send("Mannen die hoer roepen moeten een boete krijgen")  # a quoted slur: in doubt
    assert "Waarom" in texts(asked)
    await me.send("omdat het vernederend is")
    posted = await me.send(reply="yes")
    assert "Een moderator leest je stelling eerst" in texts(posted)
    queue = (await http.get(f"/v1/discussions/{discussion}/moderation", headers=staff)).json()
    assert [s["held"] for s in queue] == ["toxicity"]
    # The statement API applies the same rules.
    other = await join(http, discussion)
    threat = await http.post(
        f"/v1/discussions/{discussion}/statements", json={"text": "I will kill you"}, headers=other
    )
    assert threat.status_code == 422 and threat.json()["type"].endswith("abusive-statement")
    assert "kill" not in threat.text


async def test_delete_my_data_from_the_chat(http: Client, clean: asyncpg.Pool, hague: list[int]) -> None:
    import uuid

    discussion, _ = await start(http, clean, moderation="post")
    headers = await join(http, discussion)
    me = Chat(http, discussion, headers)
    await me.send()
    await me.send(reply="start")
    await me.send("Mijn privé-ervaring met kenmerk XJ-PRIVE-42")
    await me.send("Er moet een buurtapp komen voor hulp")
    await me.send(reply="skip")
    await me.send(reply="yes")
    await me.send(reply="agree")
    asked = await me.send("verwijder mijn gegevens")
    assert "Dat kan niet ongedaan worden" in texts(asked) and payloads(asked) == ["yes", "no"]
    kept = await me.send("nee")
    assert "er is niets verwijderd" in texts(kept) and kept[-1]["kind"] == "statement"
    await me.send(reply="delete")
    gone = await me.send(reply="yes")
    assert "Je gegevens zijn verwijderd" in texts(gone)
    after = await http.post(f"/v1/discussions/{discussion}/chat", json={}, headers=headers)
    assert after.status_code == 401
    async with clean.acquire() as conn:
        d = uuid.UUID(discussion)
        assert await conn.fetchval("select count(*) from chat_state where discussion = $1", d) == 0
        assert await conn.fetchval("select count(*) from vote where discussion = $1", d) == 0
        assert (
            await conn.fetchval("select count(*) from statement where discussion = $1 and author is not null", d) == 0
        )
        assert await conn.fetchval("select count(*) from participant where discussion = $1", d) == 0


async def test_private_experience_is_never_published_or_returned(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    import uuid

    marker = "Nachtegaalpad-ervaring-7731"
    discussion, staff = await start(http, clean, moderation="post")
    author = Chat(http, discussion, await join(http, discussion))
    await author.send()
    await author.send(reply="start")
    await author.send(f"Op het {marker} werd ik gevolgd")
    await author.send("Er moet meer toezicht komen op fietspaden")
    await author.send("want daar is niemand in de avond")
    await author.send(reply="yes")
    await author.send(reply="agree")
    assert not any(marker in t for t in author.transcript)  # not even echoed to its author

    other = Chat(http, discussion, await join(http, discussion))
    await other.send()
    seen: list[str] = list(other.transcript)
    for _ in range(4):
        seen += [m["text"] for m in await other.send(reply="vote")]
    responses = [
        await http.get(f"/v1/discussions/{discussion}/next", headers=other.headers),
        await http.get(f"/v1/discussions/{discussion}"),
        await http.get("/v1/discussions"),
        await http.get(f"/v1/discussions/{discussion}/moderation", headers=staff),
        await http.get(f"/v1/discussions/{discussion}/report", headers=staff),
        await http.get(f"/v1/discussions/{discussion}/report?format=csv", headers=staff),
        await http.get(f"/v1/discussions/{discussion}/report?format=html", headers=staff),
    ]
    for statement in range(1, len(SEEDS) + 3):
        responses.append(await http.get(f"/v1/discussions/{discussion}/statements/{statement}"))
    assert all(marker not in r.text for r in responses)
    assert all(marker not in t for t in seen)
    async with clean.acquire() as conn:
        d = uuid.UUID(discussion)
        assert (
            await conn.fetchval(
                "select count(*) from statement where discussion = $1 and body like $2", d, f"%{marker}%"
            )
            == 0
        )
        states = await conn.fetch("select state from chat_state where discussion = $1", d)
    assert sum(marker in bytes(r["state"]).decode() for r in states) == 1  # only in its author's own state


async def test_state_survives_a_restart(clean: asyncpg.Pool, tmp_path: Path, hague: list[int]) -> None:
    async with serving(clean, tmp_path) as (first, _):
        discussion, _ = await start(first, clean)
        headers = await join(first, discussion)
        me = Chat(first, discussion, headers)
        await to_position(me)
        await me.send("Er moet een veilige fietsroute komen")
    async with serving(clean, tmp_path) as (second, _):  # a new app and engine: nothing carried over in memory
        me = Chat(second, discussion, headers)
        resumed = await me.send()
        assert "Waarom vind je dat?" in texts(resumed)
        reflected = await me.send("omdat ik nu omfiets")
        assert "“Er moet een veilige fietsroute komen, omdat ik nu omfiets.”" in texts(reflected)


async def test_bad_chat_requests_get_problems(http: Client, clean: asyncpg.Pool, hague: list[int]) -> None:
    discussion, staff = await start(http, clean)
    headers = await join(http, discussion)
    url = f"/v1/discussions/{discussion}/chat"
    cases = [
        ({"text": "hoi", "reply": "yes"}, headers, 400),
        ({"reply": "launch"}, headers, 400),
        ({"text": "x" * 1001}, headers, 400),
        ({"language": "de"}, headers, 400),
        ({"unknown": 1}, headers, 400),
        ({}, {}, 401),
        ({}, {"Authorization": "Participant nope"}, 401),
    ]
    for body, sent, status in cases:
        answer = await http.post(url, json=body, headers=sent)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "launch" not in answer.text and "xxxx" not in answer.text
    draft = (
        await http.post(
            "/v1/staff/municipalities/den-haag/discussions",
            json={"question": "?", "languages": ["nl"], "moderation": "pre"},
            headers=staff,
        )
    ).json()["id"]
    assert (await http.post(f"/v1/discussions/{draft}/chat", json={}, headers=headers)).status_code in (401, 404)


async def test_pausing_a_discussion(http: Client, clean: asyncpg.Pool, hague: list[int]) -> None:
    discussion, staff = await start(http, clean, moderation="post")
    me = Chat(http, discussion, await join(http, discussion))
    await me.send()
    first = await me.send(reply="vote")
    assert first[-1]["kind"] == "statement"
    analyst = await moderator(http, clean, role="analyst")
    assert (await http.post(f"/v1/discussions/{discussion}/pause", headers=analyst)).status_code == 403
    assert (await http.post(f"/v1/discussions/{discussion}/pause", headers=staff)).status_code == 204
    assert (await http.get(f"/v1/discussions/{discussion}")).json()["state"] == "paused"
    assert discussion not in [d["id"] for d in (await http.get("/v1/discussions")).json()]
    paused = await me.send(reply="agree")
    assert "niet open voor nieuwe stellingen of stemmen" in texts(paused)
    vote = await http.post(
        f"/v1/discussions/{discussion}/votes",
        json={"statement": first[-1]["statement"], "value": 1},
        headers=me.headers,
    )
    assert vote.status_code == 409
    assert (await http.post(f"/v1/discussions/{discussion}/participants", json={})).status_code == 409
    assert (await http.post(f"/v1/discussions/{discussion}/open", headers=staff)).status_code == 204
    resumed = await me.send(reply="agree")
    assert resumed[-1]["kind"] == "statement"
    async with clean.acquire() as conn:
        actions = [r["action"] for r in await conn.fetch("select action from staff_audit order by id")]
    assert "discussion.paused" in actions


async def test_area_figures_come_from_the_public_release_only(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    area7 = sorted({h3.cell_to_parent(h3.int_to_str(c), 7) for c in hague})[:2]
    discussion, _ = await start(http, clean, area=area7)
    me = Chat(http, discussion, await join(http, discussion))
    welcome = await me.send()
    assert "figures" in payloads(welcome)
    none_yet = await me.send(reply="figures")
    assert "Er zijn nog geen gepubliceerde cijfers voor dit gebied." in texts(none_yet)
    inside = h3.cell_to_children(area7[0], 8)[0]
    elsewhere = h3.latlng_to_cell(53.2, 6.56, 8)  # Groningen
    release = PublicRelease(
        format=1,
        municipality="den-haag",
        period="2026-Q2",
        k=5,
        threshold=10,
        epsilon={"total": "1"},
        scale={"total": 1.0},
        bands=["10-24", "25-49", "50-99", "100-249", "250+"],
        cells=[
            PublicCell(cell=inside, resolution=8, band="25-49"),
            PublicCell(cell=area7[1], resolution=7, band="10-24"),
            PublicCell(cell=elsewhere, resolution=8, band="250+"),
        ],
    )
    async with clean.acquire() as conn:
        await conn.execute(
            "insert into release (municipality, audience, period, k, body) values ('den-haag', 'public', $1, 5, $2)",
            "2026-Q2",
            msgspec.json.encode(release),
        )
    figures = await me.send("cijfers")
    assert "over 2026-Q2 hebben 2 delen van dit gebied meldingen" in texts(figures)
    assert "klasse 25-49" in texts(figures)  # the Groningen cell is outside the area


def test_the_wire_payloads_are_the_dialogue_payloads() -> None:
    from typing import get_args

    from api.deliberation.routes import Payload
    from chatbot.dialogue import PAYLOADS

    assert set(get_args(Payload)) == set(PAYLOADS)


async def test_configured_models_serve_the_chat_and_readyz_reports_them(
    clean: asyncpg.Pool, tmp_path: Path, hague: list[int]
) -> None:
    from tests.chatbot.tiny_models import build_tiny_classifier, build_tiny_tagger

    # Zero weights and these biases: the classifier calls every text toxic, the tagger finds no name.
    toxic = build_tiny_classifier(tmp_path / "tiny-toxic", {0: "clean", 1: "toxic"}, bias=[-5.0, 5.0])
    tagger = build_tiny_tagger(tmp_path / "tiny-ner", {0: "O", 1: "B-PER", 2: "I-PER"}, bias=[5.0, -5.0, -5.0])
    async with serving(clean, tmp_path, toxicity_model=str(toxic), ner_model=str(tagger)) as (http, _):
        checks = (await http.get("/readyz")).json()["checks"]
        assert checks["toxicity"] == "model tiny-toxic" and checks["names"] == "model tiny-ner"
        discussion, staff = await start(http, clean)
        me = Chat(http, discussion, await join(http, discussion))
        await to_position(me)
        refused = await me.send("Er moet meer licht komen in het park")  # harmless, but the model says toxic
        assert "het leest als een bedreiging" in texts(refused)
        report = (await http.get(f"/v1/discussions/{discussion}/report", headers=staff)).json()
        assert report["language_models"]["toxicity"] == "model tiny-toxic"

    async with serving(clean, tmp_path, toxicity_model=str(tmp_path / "missing")) as (http, _):
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        checks = ready.json()["checks"]
        assert checks["toxicity"] == f"lexicon only (no model at {tmp_path / 'missing'})"
        assert checks["names"] == "PII scrubber only (no model configured)"


async def test_where_do_i_stand_names_the_closest_group_and_what_they_share(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    from tests.api.test_deliberation import simulate_votes

    discussion, staff = await start(http, clean)
    await simulate_votes(http, discussion, 24)  # two camps of 12: odd statements vs even statements
    assert (await http.post(f"/v1/discussions/{discussion}/groups", headers=staff)).status_code == 200
    headers = await join(http, discussion)
    for statement in (3, 5, 7, 4):  # with the camp that agrees with odd statements
        value = 1 if statement % 2 else -1
        voted = await http.post(
            f"/v1/discussions/{discussion}/votes", json={"statement": statement, "value": value}, headers=headers
        )
        assert voted.status_code == 204
    me = Chat(http, discussion, headers)
    await me.send()
    stood = texts(await me.send("waar sta ik"))
    assert "Je stemmen liggen het dichtst bij groep " in stood and "(12 mensen), die het ook " in stood
    assert "Er zijn 2 meningsgroepen in dit gesprek." in stood
    # Quoted: only representative statements this participant voted on the group's way.
    quoted = [i for i, body in enumerate(SEEDS, start=1) if f"“{body}”" in stood]
    assert quoted and set(quoted) <= {3, 5, 7, 4}
    for i in quoted:
        assert (f"oneens dat “{SEEDS[i - 1]}”" in stood) == (i == 4)


async def test_near_duplicate_offer_with_the_sentence_model(
    clean: asyncpg.Pool, tmp_path: Path, hague: list[int]
) -> None:
    async with serving(clean, tmp_path, nlp_model=None) as (http, _):  # the packaged all-MiniLM-L6-v2
        nlp = (await http.get("/readyz")).json()["checks"]["nlp"]
        if not nlp.startswith("model "):
            pytest.skip(f"no sentence model: {nlp}")
        discussion, _ = await start(http, clean, languages=["en"], seed_statements=EN_SEEDS, moderation="post")
        first = Chat(http, discussion, await join(http, discussion))
        await to_position(first)
        await first.send("The park needs more street lights")
        await first.send(reply="skip")
        offered = await first.send(reply="yes")
        assert f"Someone said something close to this: “{EN_SEEDS[0]}”" in texts(offered)
        assert payloads(offered) == ["existing", "anyway", "edit"]
        posted = await first.send(reply="anyway")
        assert "Your statement has been posted." in texts(posted)

        second = Chat(http, discussion, await join(http, discussion))
        await to_position(second)
        await second.send("More street lighting is needed in the park")
        await second.send(reply="skip")
        offered = await second.send(reply="yes")
        assert "Someone said something close to this" in texts(offered)
        agreed = await second.send(reply="existing")
        assert "Noted: you agree with it." in texts(agreed)
