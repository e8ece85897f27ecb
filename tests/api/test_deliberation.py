"""The deliberation API end to end on real PostgreSQL: discussions, anonymous participants,
statements (scrubbed, de-duplicated, moderated), votes, routing with its session cap and
content warnings, erasure, opinion groups and the moderators' report."""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from api import db
from api.app import create_app
from tests.conftest import app_on_hanging_database, asgi_client, assert_unavailable_in_time, make_settings

SEEDS = [
    "Er moet meer straatverlichting komen in het park",
    "Cameratoezicht op het stationsplein helpt tegen intimidatie",
    "Handhavers moeten vaker 's avonds op straat zijn",
    "Scholen moeten les geven over grensoverschrijdend gedrag",
    "Meldingen moeten anoniem kunnen blijven",
    "Omstanders moeten leren hoe ze kunnen ingrijpen",
    "Boetes voor straatintimidatie moeten omhoog",
    "De gemeente moet een campagne voeren tegen nafluiten",
    "Bushaltes moeten beter verlicht worden",
    "Buurtbewoners moeten samen een veilige route kiezen",
    "Horeca moet personeel trainen in het herkennen van intimidatie",
    "Jongerenwerkers moeten in gesprek gaan met groepen op straat",
    "Er moeten meer openbare toiletten komen die veilig voelen",
    "De politie moet meldingen serieuzer nemen",
    "Slachtoffers moeten sneller hulp krijgen",
]

Client = httpx.AsyncClient
StaffHeaders = Callable[..., Awaitable[dict[str, str]]]


@contextlib.asynccontextmanager
async def serving(clean: asyncpg.Pool, tmp_path: Path, **settings: Any) -> AsyncIterator[tuple[Client, Any]]:
    """A client of an app on the lexical fallback (fast, no model) unless `settings` say
    otherwise, and the app's engine; no background regrouping outlives it."""
    values: dict[str, Any] = {"nlp_model": "lexical", "recompute_votes": 1_000_000, **settings}
    app = create_app(make_settings(tmp_path, **values), pool=clean)
    engine = app.state.runtime.deliberation
    async with asgi_client(app) as http:
        yield http, engine
    await engine.wait_recomputed()


@pytest.fixture
async def app_client(clean: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[Client, Any]]:
    async with serving(clean, tmp_path) as served:
        yield served


@pytest.fixture
async def http(app_client: tuple[Client, Any]) -> Client:
    return app_client[0]


async def moderator(
    http: Client, clean: asyncpg.Pool, role: str = "moderator", slug: str = "den-haag"
) -> dict[str, str]:
    from tests.conftest import login_headers, make_staff

    email = f"{role}-{uuid.uuid4().hex[:8]}@{slug}.example"
    async with clean.acquire() as conn:
        await make_staff(conn, email, slug, role)
    return await login_headers(http, email)


async def open_discussion(http: Client, staff: dict[str, str], **overrides: Any) -> str:
    body = {"question": "Wat moet er veranderen?", "languages": ["nl"], "moderation": "pre", "seed_statements": SEEDS}
    body.update(overrides)
    created = await http.post("/v1/staff/municipalities/den-haag/discussions", json=body, headers=staff)
    assert created.status_code == 201, created.text
    discussion = created.json()["id"]
    opened = await http.post(f"/v1/discussions/{discussion}/open", headers=staff)
    assert opened.status_code == 204, opened.text
    return str(discussion)


async def join(http: Client, discussion: str, **body: Any) -> dict[str, str]:
    joined = await http.post(f"/v1/discussions/{discussion}/participants", json=body)
    assert joined.status_code == 201, joined.text
    assert joined.json()["token_type"] == "Participant"
    return {"Authorization": f"Participant {joined.json()['token']}"}


async def test_lifecycle_routing_cap_and_continue(http: Client, clean: asyncpg.Pool, hague: list[int]) -> None:
    staff = await moderator(http, clean)
    created = await http.post(
        "/v1/staff/municipalities/den-haag/discussions",
        json={
            "question": "Wat moet er veranderen?",
            "languages": ["nl"],
            "moderation": "pre",
            "seed_statements": SEEDS,
        },
        headers=staff,
    )
    discussion = created.json()["id"]
    assert created.json()["state"] == "draft" and created.json()["statements"] == len(SEEDS)
    assert (await http.get("/v1/discussions")).json() == []
    refused = await http.post(f"/v1/discussions/{discussion}/participants", json={})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/discussion-not-open"
    assert (await http.post(f"/v1/discussions/{discussion}/open", headers=staff)).status_code == 204
    listed = (await http.get("/v1/discussions", params={"municipality": "den-haag"})).json()
    assert [d["id"] for d in listed] == [discussion]

    me = await join(http, discussion)
    seen: list[int] = []
    for _ in range(12):
        nxt = (await http.get(f"/v1/discussions/{discussion}/next", headers=me)).json()
        assert nxt["reason"] == "statement", nxt
        seen.append(nxt["statement"]["id"])
        voted = await http.post(
            f"/v1/discussions/{discussion}/votes", json={"statement": nxt["statement"]["id"], "value": 1}, headers=me
        )
        assert voted.status_code == 204
    assert len(set(seen)) == 12
    capped = (await http.get(f"/v1/discussions/{discussion}/next", headers=me)).json()
    assert capped["statement"] is None and capped["reason"] == "session-cap" and capped["can_continue"] is True
    assert "enough for now" in capped["message"]
    more = (await http.get(f"/v1/discussions/{discussion}/next", params={"more": "true"}, headers=me)).json()
    assert more["reason"] == "statement" and more["shown_in_session"] == 1
    seen.append(more["statement"]["id"])
    for _ in range(2):
        nxt = (await http.get(f"/v1/discussions/{discussion}/next", headers=me)).json()
        seen.append(nxt["statement"]["id"])
    done = (await http.get(f"/v1/discussions/{discussion}/next", headers=me)).json()
    assert done["reason"] == "no-more-statements" and done["can_continue"] is False
    assert sorted(seen) == sorted(set(seen)) and len(seen) == len(SEEDS)

    assert (await http.post(f"/v1/discussions/{discussion}/close", headers=staff)).status_code == 204
    closed = await http.post(f"/v1/discussions/{discussion}/votes", json={"statement": 1, "value": 1}, headers=me)
    assert closed.status_code == 409


async def test_statements_are_scrubbed_deduplicated_and_moderated(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff, seed_statements=SEEDS[:2])
    me = await join(http, discussion)
    url = f"/v1/discussions/{discussion}/statements"

    sent = await http.post(
        url, json={"text": "Bel me op 06-12345678 als er iets is, de verlichting moet beter"}, headers=me
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["state"] == "pending" and body["personal_data_removed"] is True
    assert "[phone]" in body["body"] and "12345678" not in body["body"]
    async with clean.acquire() as conn:
        stored = await conn.fetch("select body, normalised from statement where discussion = $1", uuid.UUID(discussion))
    assert not any("12345678" in r["body"] or "12345678" in r["normalised"] for r in stored)

    duplicate = await http.post(url, json={"text": "  er MOET meer straatverlichting komen in het park!! "}, headers=me)
    assert duplicate.status_code == 409
    problem = duplicate.json()
    assert problem["type"] == "/problems/duplicate-statement"
    assert problem["duplicate_of"]["statement"] == 1 and problem["duplicate_of"]["method"] == "normalised-text"
    assert (await http.get(problem["duplicate_of"]["href"])).json()["id"] == 1
    assert "straatverlichting" not in problem["detail"]

    too_long = await http.post(url, json={"text": "x" * 281}, headers=me)
    assert too_long.status_code == 400
    no_token = await http.post(url, json={"text": "Iets nieuws"})
    assert no_token.status_code == 401 and no_token.headers["www-authenticate"].startswith("Participant")

    # Pre-moderation: pending statements are not routed or votable until accepted.
    pending_id = body["id"]
    vote = await http.post(
        f"/v1/discussions/{discussion}/votes", json={"statement": pending_id, "value": 1}, headers=me
    )
    assert vote.status_code == 404
    queue = (await http.get(f"/v1/discussions/{discussion}/moderation", headers=staff)).json()
    assert [s["id"] for s in queue] == [pending_id]
    bad = await http.post(
        f"/v1/discussions/{discussion}/statements/{pending_id}/moderation", json={"state": "rejected"}, headers=staff
    )
    assert bad.status_code == 400
    accepted = await http.post(
        f"/v1/discussions/{discussion}/statements/{pending_id}/moderation", json={"state": "accepted"}, headers=staff
    )
    assert accepted.status_code == 200 and accepted.json()["state"] == "accepted"
    vote = await http.post(
        f"/v1/discussions/{discussion}/votes", json={"statement": pending_id, "value": -1}, headers=me
    )
    assert vote.status_code == 204
    # The latest vote wins.
    vote = await http.post(
        f"/v1/discussions/{discussion}/votes", json={"statement": pending_id, "value": 1}, headers=me
    )
    async with clean.acquire() as conn:
        values = await conn.fetch("select value from vote where discussion = $1", uuid.UUID(discussion))
    assert [r["value"] for r in values] == [1]
    rejected = await http.post(
        f"/v1/discussions/{discussion}/statements/2/moderation",
        json={"state": "rejected", "reason": "off-topic"},
        headers=staff,
    )
    assert rejected.json()["reject_reason"] == "off-topic"
    assert (await http.get(f"/v1/discussions/{discussion}/statements/2")).status_code == 404


async def test_flags_hide_post_moderated_statements(http: Client, clean: asyncpg.Pool, hague: list[int]) -> None:
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff, moderation="post", seed_statements=[])
    author = await join(http, discussion)
    sent = await http.post(f"/v1/discussions/{discussion}/statements", json={"text": "Meer licht"}, headers=author)
    statement = sent.json()["id"]
    others = [await join(http, discussion) for _ in range(3)]
    first = (await http.get(f"/v1/discussions/{discussion}/next", headers=others[0])).json()
    assert first["statement"]["id"] == statement  # post-moderation: visible while pending
    for who in others:
        flagged = await http.post(
            f"/v1/discussions/{discussion}/statements/{statement}/flags", json={"reason": "abusive"}, headers=who
        )
        assert flagged.status_code == 204
    again = await http.post(
        f"/v1/discussions/{discussion}/statements/{statement}/flags", json={"reason": "abusive"}, headers=others[0]
    )
    assert again.status_code == 204
    async with clean.acquire() as conn:
        assert await conn.fetchval("select flags from statement where discussion = $1", uuid.UUID(discussion)) == 3
    fresh = await join(http, discussion)
    nothing = (await http.get(f"/v1/discussions/{discussion}/next", headers=fresh)).json()
    assert nothing["reason"] == "no-more-statements"
    queue = (await http.get(f"/v1/discussions/{discussion}/moderation", headers=staff)).json()
    assert queue[0]["id"] == statement and queue[0]["flags"] == 3


async def test_content_warnings_and_opt_out(http: Client, clean: asyncpg.Pool, hague: list[int]) -> None:
    staff = await moderator(http, clean)
    seeds = ["Aanranding in de tram moet harder worden aangepakt", "Meer licht op straat", "Meer toezicht"]
    discussion = await open_discussion(http, staff, seed_statements=seeds, warning_terms=["Aanranding"])
    careful = await join(http, discussion, skip_sensitive=True)
    shown = []
    for _ in range(3):
        nxt = (await http.get(f"/v1/discussions/{discussion}/next", headers=careful)).json()
        if nxt["statement"]:
            shown.append(nxt["statement"])
    assert len(shown) == 2 and not any(s["content_warning"] for s in shown)
    brave = await join(http, discussion)
    seen = [(await http.get(f"/v1/discussions/{discussion}/next", headers=brave)).json()["statement"] for _ in range(3)]
    warned = [s for s in seen if s["content_warning"]]
    assert len(warned) == 1 and warned[0]["id"] == 1
    # Opting out later works too.
    prefs = await http.patch(
        f"/v1/discussions/{discussion}/participants/me", json={"skip_sensitive": True}, headers=careful
    )
    assert prefs.status_code == 204


async def test_erasure_removes_everything_of_the_participant(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff, moderation="post")
    me = await join(http, discussion)
    other = await join(http, discussion)
    mine = (
        await http.post(f"/v1/discussions/{discussion}/statements", json={"text": "Iets eigens"}, headers=me)
    ).json()
    for statement in (1, 2, 3, mine["id"]):
        await http.post(f"/v1/discussions/{discussion}/votes", json={"statement": statement, "value": 1}, headers=me)
        await http.post(
            f"/v1/discussions/{discussion}/votes", json={"statement": statement, "value": -1}, headers=other
        )
    await http.get(f"/v1/discussions/{discussion}/next", headers=me)
    await http.post(f"/v1/discussions/{discussion}/statements/2/flags", json={"reason": "other"}, headers=me)

    erased = await http.delete(f"/v1/discussions/{discussion}/participants/me", headers=me)
    assert erased.status_code == 200 and erased.json() == {"votes_removed": 4, "statements_removed": 1}
    did = uuid.UUID(discussion)
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from participant where discussion = $1", did) == 1
        assert (
            await conn.fetchval("select count(*) from statement where discussion = $1 and author is not null", did) == 0
        )
        assert await conn.fetchval("select count(*) from vote where discussion = $1", did) == 3  # other's, minus mine
        assert await conn.fetchval("select count(*) from shown where discussion = $1", did) == 0
        assert await conn.fetchval("select count(*) from statement_flag where discussion = $1", did) == 0
    again = await http.get(f"/v1/discussions/{discussion}/next", headers=me)
    assert again.status_code == 401


async def test_staff_access_rules(http: Client, clean: asyncpg.Pool, hague: list[int]) -> None:
    from api.municipalities import service

    async with clean.acquire() as conn:
        await service.add(conn, "delft", "Delft", service.cells_from_circle("52.0116,4.3571", 0.3))
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff)
    analyst = await moderator(http, clean, role="analyst")
    stranger = await moderator(http, clean, slug="delft")
    assert (await http.get(f"/v1/discussions/{discussion}/report", headers=analyst)).status_code == 403
    other = await http.get(f"/v1/discussions/{discussion}/report", headers=stranger)
    unknown = await http.get(f"/v1/discussions/{uuid.uuid4()}/report", headers=stranger)
    assert other.status_code == unknown.status_code == 404 and other.content == unknown.content
    assert (await http.get(f"/v1/discussions/{discussion}/report")).status_code == 401
    creating = await http.post(
        "/v1/staff/municipalities/den-haag/discussions",
        json={"question": "?", "languages": ["nl"], "moderation": "pre"},
        headers=analyst,
    )
    assert creating.status_code == 403
    bad_area = await http.post(
        "/v1/staff/municipalities/den-haag/discussions",
        json={"question": "?", "languages": ["nl"], "moderation": "pre", "area": ["8928308280fffff"]},
        headers=staff,
    )
    assert bad_area.status_code == 400 and "resolution 7" in bad_area.json()["detail"]
    # A token of one discussion is nothing in another.
    second = await open_discussion(http, staff)
    me = await join(http, discussion)
    assert (await http.get(f"/v1/discussions/{second}/next", headers=me)).status_code == 401
    async with clean.acquire() as conn:
        actions = [r["action"] for r in await conn.fetch("select action from staff_audit order by id")]
    assert "discussion.create" in actions and "discussion.open" in actions


async def simulate_votes(http: Client, discussion: str, participants: int) -> None:
    """Two camps: the first half agrees with the odd statements and disagrees with the even
    ones, the second half the reverse; everyone agrees with statement 1."""
    for i in range(participants):
        me = await join(http, discussion)
        camp = i % 2
        for statement in range(1, len(SEEDS) + 1):
            value = 1 if statement == 1 or statement % 2 == camp else -1
            if (i + statement) % 7 == 0:
                value = 0
            response = await http.post(
                f"/v1/discussions/{discussion}/votes", json={"statement": statement, "value": value}, headers=me
            )
            assert response.status_code == 204


async def test_groups_and_report(app_client: tuple[Client, Any], clean: asyncpg.Pool, hague: list[int]) -> None:
    http, _ = app_client
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff)
    await simulate_votes(http, discussion, 24)
    recomputed = await http.post(f"/v1/discussions/{discussion}/groups", headers=staff)
    assert recomputed.status_code == 200, recomputed.text
    summary = recomputed.json()
    assert summary["method"] == "opinion" and sorted(summary["group_sizes"]) == [12, 12]
    again = (await http.post(f"/v1/discussions/{discussion}/groups", headers=staff)).json()
    assert again["version"] == summary["version"] + 1 and again["group_sizes"] == summary["group_sizes"]
    async with clean.acquire() as conn:
        members = await conn.fetch(
            "select participant, group_id from opinion_member where discussion = $1 order by participant",
            uuid.UUID(discussion),
        )
    assert len(members) == 24

    report = (await http.get(f"/v1/discussions/{discussion}/report", headers=staff)).json()
    assert report["method"] == "opinion" and [g["size"] for g in report["groups"]] == [12, 12]
    for group in report["groups"]:
        assert group["representative"], group
        assert all(r["share"] > 0.5 for r in group["representative"])
    # Everyone agrees with statement 1: it is the top consensus statement and a majority statement.
    assert report["consensus"][0]["statement"] == 1
    assert 1 in [m["statement"] for m in report["majority"]]
    assert report["divisive"][0]["statement"] != 1
    p = report["participation"]
    assert p["participants"] == 24 and p["votes"] == 24 * len(SEEDS) and p["gini_votes"] == 0.0
    assert report["balance"]["participants"] == 0  # nobody was routed yet

    csv_response = await http.get(f"/v1/discussions/{discussion}/report", params={"format": "csv"}, headers=staff)
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert len(rows) == len(SEEDS) and rows[0]["statement"] == "1" and float(rows[0]["group_informed_consensus"]) > 0.5
    page = await http.get(f"/v1/discussions/{discussion}/report", params={"format": "html"}, headers=staff)
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "Group A: 12 participants" in page.text and "<script" not in page.text


async def test_routing_balance_is_reported(
    app_client: tuple[Client, Any], clean: asyncpg.Pool, hague: list[int]
) -> None:
    http, _ = app_client
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff)
    await simulate_votes(http, discussion, 20)
    await http.post(f"/v1/discussions/{discussion}/groups", headers=staff)
    for _ in range(6):
        me = await join(http, discussion)
        for _ in range(8):
            assert (await http.get(f"/v1/discussions/{discussion}/next", headers=me)).json()["statement"]
    balance = (await http.get(f"/v1/discussions/{discussion}/report", headers=staff)).json()["balance"]
    assert balance["participants"] == 6
    assert set(balance["target"]) == {"0", "1"}
    assert 0 <= balance["distance_to_proportional"] <= 1 and 0 <= balance["distance_to_equal"] <= 1


async def test_cold_start_groups_statements_by_text(
    app_client: tuple[Client, Any], clean: asyncpg.Pool, hague: list[int]
) -> None:
    http, engine = app_client
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff)
    me = await join(http, discussion)
    assert (await http.get(f"/v1/discussions/{discussion}/next", headers=me)).json()["statement"]
    await engine.wait_recomputed()  # the first routing read scheduled a computation
    async with clean.acquire() as conn:
        version, snap = await engine.snapshot(conn, uuid.UUID(discussion))
    assert version == 1 and snap.method == "text" and snap.groups == []
    assert set(snap.statement_group) == set(range(1, len(SEEDS) + 1))
    assert len(set(snap.statement_group.values())) >= 2
    assert set(snap.target()) == set(snap.statement_group.values())
    ready = (await http.get("/readyz")).json()
    assert ready["checks"]["nlp"] == "lexical fallback (lexical fallback configured)"


async def test_near_duplicates_with_the_sentence_model(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    # The default settings load the packaged all-MiniLM-L6-v2 (installed with the test extra).
    ready = (await client.get("/readyz")).json()
    if not ready["checks"]["nlp"].startswith("model "):
        pytest.skip(f"no sentence model: {ready['checks']['nlp']}")
    staff = await moderator(client, clean)
    discussion = await open_discussion(
        client, staff, languages=["en"], seed_statements=["There should be more street lighting in the park"]
    )
    me = await join(client, discussion)
    url = f"/v1/discussions/{discussion}/statements"
    near = await client.post(url, json={"text": "The park needs more street lights"}, headers=me)
    assert near.status_code == 409, near.text
    assert near.json()["duplicate_of"]["method"] == "embedding" and near.json()["duplicate_of"]["statement"] == 1
    other = await client.post(url, json={"text": "Bus stops should have emergency buttons"}, headers=me)
    assert other.status_code == 201


async def test_groups_are_recomputed_after_enough_new_votes(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    app = create_app(make_settings(tmp_path, nlp_model="lexical", recompute_votes=5), pool=clean)
    engine = app.state.runtime.deliberation
    async with asgi_client(app) as http:
        staff = await moderator(http, clean)
        discussion = await open_discussion(http, staff)
        did = uuid.UUID(discussion)
        me = await join(http, discussion)
        await http.get(f"/v1/discussions/{discussion}/next", headers=me)
        await engine.wait_recomputed()
        async with clean.acquire() as conn:
            assert tuple(await conn.fetchrow("select version, votes from opinion_snapshot")) == (1, 0)
        for statement in range(1, 5):
            await http.post(
                f"/v1/discussions/{discussion}/votes", json={"statement": statement, "value": 1}, headers=me
            )
        engine._routing.clear()  # as after the reload interval
        await http.get(f"/v1/discussions/{discussion}/next", headers=me)
        await engine.wait_recomputed()
        async with clean.acquire() as conn:
            assert tuple(await conn.fetchrow("select version, votes from opinion_snapshot")) == (1, 0)  # 4 < 5
        await http.post(f"/v1/discussions/{discussion}/votes", json={"statement": 5, "value": -1}, headers=me)
        engine._routing.clear()
        await http.get(f"/v1/discussions/{discussion}/next", headers=me)
        await engine.wait_recomputed()
        async with clean.acquire() as conn:
            assert tuple(
                await conn.fetchrow("select version, votes from opinion_snapshot where discussion = $1", did)
            ) == (2, 5)


async def test_a_statement_hidden_by_flags_is_closed_for_votes_too(
    http: Client, clean: asyncpg.Pool, hague: list[int]
) -> None:
    staff = await moderator(http, clean)
    discussion = await open_discussion(http, staff, moderation="post")
    author = await join(http, discussion)
    posted = await http.post(
        f"/v1/discussions/{discussion}/statements", json={"text": "Meer bankjes bij de speeltuin"}, headers=author
    )
    statement = posted.json()["id"]
    assert (await http.get(f"/v1/discussions/{discussion}/statements/{statement}")).status_code == 200
    for _ in range(3):  # the flag threshold
        flagged = await http.post(
            f"/v1/discussions/{discussion}/statements/{statement}/flags",
            json={"reason": "off-topic"},
            headers=await join(http, discussion),
        )
        assert flagged.status_code == 204
    voter = await join(http, discussion)
    vote = await http.post(
        f"/v1/discussions/{discussion}/votes", json={"statement": statement, "value": 1}, headers=voter
    )
    assert vote.status_code == 404  # hidden from routing, so not open for votes either
    assert (await http.get(f"/v1/discussions/{discussion}/statements/{statement}")).status_code == 404


async def test_participants_on_a_hung_database_hear_unavailable_in_time(
    dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every public and participant route answers 503 (retry later) within its deadline when
    PostgreSQL hangs, instead of waiting out command_timeout and asyncpg's cancel request
    (about 20 s). The deadlines are shortened here; their values are policy, the wiring is
    what is tested."""
    monkeypatch.setattr(db, "REQUEST_DEADLINE", 0.4)
    monkeypatch.setattr(db, "MODEL_REQUEST_DEADLINE", 0.6)
    settings = make_settings(tmp_path, nlp_model="lexical", recompute_votes=1_000_000, db_pool_min=1, db_pool_max=4)
    async with app_on_hanging_database(dsn, settings) as (http, app, proxy):
        staff = await moderator(http, clean)
        discussion = await open_discussion(http, staff)
        me = await join(http, discussion)
        shown = (await http.get(f"/v1/discussions/{discussion}/next", headers=me)).json()["statement"]["id"]
        base = f"/v1/discussions/{discussion}"
        asks: list[tuple[str, str, Any, float]] = [
            ("GET", "/v1/discussions", None, 0.9),
            ("GET", base, None, 0.9),
            ("POST", f"{base}/participants", {}, 0.9),
            ("PATCH", f"{base}/participants/me", {"skip_sensitive": True}, 0.9),
            ("GET", f"{base}/statements/{shown}", None, 0.9),
            ("POST", f"{base}/votes", {"statement": shown, "value": 1}, 0.9),
            ("POST", f"{base}/statements/{shown}/flags", {"reason": "off-topic"}, 0.9),
            ("GET", f"{base}/next", None, 0.9),
            ("POST", f"{base}/statements", {"text": "Meer licht in de tunnel"}, 1.1),
            ("POST", f"{base}/chat", {}, 1.1),
            ("DELETE", f"{base}/participants/me", None, 0.9),
        ]
        proxy.flowing.clear()
        await assert_unavailable_in_time(http, asks, me)
        proxy.flowing.set()
        assert (await http.get(f"{base}/next", headers=me)).status_code == 200  # fresh connections work
        await app.state.runtime.deliberation.wait_recomputed()
