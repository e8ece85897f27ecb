"""The authorization matrix: every endpoint of the app's route table, asked by every caller,
against real PostgreSQL.

Staff endpoints are asked with no token and by an analyst, a moderator and an admin of the
municipality that owns the resource ("own") and of another municipality ("other"): no token
is 401, another municipality is 404 with exactly the body of an unknown one (staff must not
learn what exists elsewhere), a role that may not act is 403, a role that may gets the
endpoint's success status (api/staff/access.py). Participant endpoints are asked with no
token, with the token of this discussion, with the token of another discussion and with a
staff bearer token; receipt endpoints with no receipt, this report's receipt, another
report's receipt and a staff token.

The list of endpoints comes from `app.routes`; a route missing from POLICY or PUBLIC fails
the test, and so does an entry whose route is gone, so a new endpoint cannot be forgotten.
Every request carries a valid body and a fresh resource, so the check is about
authorization, not validation or state.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import asyncpg
import httpx
import pytest

from aggregation import releases
from api.app import create_app
from api.municipalities import service as municipalities
from api.releases.service import release_config
from api.settings import Settings
from api.staff import access
from api.staff import repository as staff_repo
from api.staff import service as staff_service
from chatbot.engine import DiscussionSpec, Engine
from privacy.periods import parse_period
from tests.aggregation import seed
from tests.conftest import HAGUE, STAFF_PASSWORD, TABLES_TO_CLEAR, asgi_client, make_settings, report_body, submit

OWN, OTHER = "den-haag", "amsterdam"
MONTH = "2026-10"
TODAY = dt.date(2026, 11, 24)
ROLES = ("analyst", "moderator", "admin")
ANY_ROLE = frozenset(ROLES)
MODERATE = frozenset({"moderator", "admin"})
ADMIN = frozenset({"admin"})

# Routes anyone may call, left out of the matrix on purpose. Each says why it needs no token.
PUBLIC = {
    ("GET", "/v1/taxonomy"): "the closed taxonomy",
    ("GET", "/v1/municipalities"): "which municipalities are served",
    ("GET", "/v1/municipalities/{slug:str}/coverage"): "the cells a reporter may send",
    ("GET", "/v1/challenge"): "proof-of-work challenges for anonymous reporters",
    ("POST", "/v1/reports"): "anonymous reporting; proof-of-work and rate caps instead of identity",
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/readyz"): "readiness probe",
    ("GET", "/metrics"): "Prometheus; counters by route template and status only (restrict at the ingress)",
    ("POST", "/v1/staff/login"): "how a token is obtained",
    ("POST", "/v1/staff/logout"): "revokes only the session it is shown; without one it clears the cookie",
    ("GET", "/v1/public/municipalities/{slug:str}/heatmap"): "the public quarterly map",
    ("GET", "/v1/public/municipalities/{slug:str}/transparency"): "how the maps are made",
    ("GET", "/v1/discussions"): "open discussions",
    ("GET", "/v1/discussions/{discussion_id:uuid}"): "one open, paused or closed discussion",
    ("POST", "/v1/discussions/{discussion_id:uuid}/participants"): "joining anonymously is how a token is obtained",
    ("GET", "/v1/discussions/{discussion_id:uuid}/statements/{statement_id:int}"): "a statement open for votes",
    ("GET", "/"): "the public map page",
    ("GET", "/dashboard"): "the staff dashboard page; its data needs a session",
    ("GET", "/report"): "the reporting page",
    ("GET", "/report-sw.js"): "the reporting page's service worker",
    ("GET", "/report.webmanifest"): "the reporting page's manifest",
    ("GET", "/assets/{name:path}"): "scripts, styles and images of the pages",
    ("GET", "/schema"): "the OpenAPI document",
    ("GET", "/schema/openapi.json"): "the OpenAPI document",
    ("GET", "/schema/{path:str}"): "the OpenAPI document (other renderings: 404)",
}


@dataclass
class Call:
    """A request to make: path parameters, query, body, and the credentials of the
    participant- or receipt-kind callers that belong to this particular resource."""

    path: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)


Kind = Literal["staff", "participant", "receipt"]


@dataclass(frozen=True)
class Rule:
    make: Callable[[World], Awaitable[Call]]
    ok: int  # what a permitted caller gets
    roles: frozenset[str] = frozenset()  # staff roles that may (kind "staff")
    kind: Kind = "staff"
    scoped: bool = True  # belongs to a municipality: staff of another one get 404


@dataclass
class World:
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    engine: Engine
    staff: dict[tuple[str, str], dict[str, str]]  # (role, municipality) -> bearer headers
    password_hash: str
    discussion: uuid.UUID  # open, in OWN, pre-moderated, with accepted seed statements
    elsewhere: uuid.UUID  # open, in OTHER
    accepted: int  # an accepted statement of `discussion`
    cell: int  # a cell of OWN

    async def new_staff(self, municipality: str = OWN, role: str = "analyst") -> uuid.UUID:
        staff_id = uuid.uuid4()
        async with self.pool.acquire() as conn:
            await staff_repo.insert_staff(
                conn,
                staff_id,
                f"{role}-{staff_id.hex[:8]}@{municipality}.example",
                municipality,
                role,
                self.password_hash,
            )
        return staff_id

    async def new_discussion(self, state: str = "draft", municipality: str = OWN) -> uuid.UUID:
        spec = DiscussionSpec(
            question="Wat moet er veranderen?",
            description=None,
            languages=("nl",),
            area=(),
            moderation="pre",
            warning_terms=(),
            seed_statements=(),
        )
        async with self.pool.acquire() as conn:
            discussion = await self.engine.create(conn, municipality, spec)
            if state != "draft":
                await self.engine.set_state(conn, discussion, "open")
            if state not in ("draft", "open"):
                await self.engine.set_state(conn, discussion, state)
        return discussion

    async def participant(self, discussion: uuid.UUID | None = None) -> dict[str, str]:
        async with self.pool.acquire() as conn:
            token, _ = await self.engine.join(conn, discussion or self.discussion, skip_sensitive=False)
        return {"Authorization": f"Participant {token}"}

    async def participants(self, discussion: uuid.UUID | None = None) -> dict[str, dict[str, str]]:
        return {"own": await self.participant(discussion), "other": await self.participant(self.elsewhere)}

    async def pending_statement(self) -> int:
        async with self.pool.acquire() as conn:
            token, _ = await self.engine.join(conn, self.discussion, skip_sensitive=False)
            view = await self.engine.submit(conn, self.discussion, token, statement_text(), "nl")
        return view.id

    async def report(self) -> tuple[str, dict[str, dict[str, str]]]:
        """A fresh report of OWN, with its receipt and the receipt of another report."""
        ids, receipts = [], []
        for _ in range(2):
            body = report_body(self.cell)
            response = await submit(self.http, body, ip=f"198.51.100.{secrets.randbelow(250) + 1}")
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
            receipts.append(body["receipt"])
        return ids[0], {
            "own": {"Authorization": f"Receipt {receipts[0]}"},
            "other": {"Authorization": f"Receipt {receipts[1]}"},
        }


WORDS = [
    "lantaarns",
    "fietsers",
    "bushalte",
    "plein",
    "tram",
    "parkeergarage",
    "steeg",
    "schoolplein",
    "sportpark",
    "haven",
    "markt",
    "brug",
    "tunnel",
    "station",
    "winkelstraat",
    "speeltuin",
    "kade",
    "viaduct",
    "metro",
    "onderdoorgang",
    "kruispunt",
    "stoep",
    "zebrapad",
]


def statement_text() -> str:
    """Statements that no duplicate check can match with each other."""
    picked = [WORDS[secrets.randbelow(len(WORDS))] for _ in range(4)]
    return f"Bij {picked[0]} en {picked[1]} moet de gemeente {picked[2]} {picked[3]} {secrets.token_hex(4)} aanpakken"


# --- builders: a fresh, valid request per case ---------------------------------------------

Make = Callable[[World], Awaitable[Call]]


def fixed(**call: Any) -> Make:
    async def make(world: World) -> Call:
        return Call(**call)

    return make


def in_own(**call: Any) -> Make:
    return fixed(path={"slug": OWN}, **call)


async def new_account(world: World) -> Call:
    return Call(path={"slug": OWN, "staff_id": await world.new_staff()})


async def account_to_add(world: World) -> Call:
    return Call(path={"slug": OWN}, json={"email": f"new-{secrets.token_hex(4)}@{OWN}.example", "role": "analyst"})


def discussion_in(state: str) -> Make:
    async def make(world: World) -> Call:
        return Call(path={"discussion_id": await world.new_discussion(state)})

    return make


def on_discussion(**call: Any) -> Make:
    async def make(world: World) -> Call:
        return Call(path={"discussion_id": world.discussion}, **call)

    return make


async def pending_statement(world: World) -> Call:
    statement = await world.pending_statement()
    return Call(path={"discussion_id": world.discussion, "statement_id": statement}, json={"state": "accepted"})


async def seed_statement(world: World) -> Call:
    return Call(path={"discussion_id": world.discussion}, json={"statements": [statement_text()]})


def as_participant(body: Callable[[World], Any] = lambda world: None, on_statement: bool = False) -> Make:
    async def make(world: World) -> Call:
        path: dict[str, Any] = {"discussion_id": world.discussion}
        if on_statement:
            path["statement_id"] = world.accepted
        return Call(path=path, json=body(world), credentials=await world.participants())

    return make


async def own_report(world: World) -> Call:
    report_id, credentials = await world.report()
    return Call(path={"report_id": report_id}, credentials=credentials)


STAFF = "/v1/staff/municipalities/{slug:str}"
DISCUSSION = "/v1/discussions/{discussion_id:uuid}"
PERIOD = {"period": MONTH}
MONTHS = {"from": MONTH, "to": MONTH}
NEW_DISCUSSION = {"question": "Wat moet er veranderen?", "languages": ["nl"], "moderation": "post"}

POLICY: dict[tuple[str, str], Rule] = {
    # Staff: one's own session, whatever the municipality.
    ("GET", "/v1/staff/me"): Rule(fixed(), 200, ANY_ROLE, scoped=False),
    ("POST", "/v1/staff/me/password"): Rule(
        fixed(json={"current": STAFF_PASSWORD, "new": STAFF_PASSWORD + "!"}), 204, ANY_ROLE, scoped=False
    ),
    # Staff of a municipality (the municipality in the path, or ?municipality= for the audit log).
    ("GET", "/v1/staff/audit"): Rule(fixed(params={"municipality": OWN}), 200, ADMIN),
    ("GET", f"{STAFF}/staff"): Rule(in_own(), 200, ADMIN),
    ("POST", f"{STAFF}/staff"): Rule(account_to_add, 201, ADMIN),
    ("POST", f"{STAFF}/staff/{{staff_id:uuid}}/disable"): Rule(new_account, 200, ADMIN),
    ("POST", f"{STAFF}/staff/{{staff_id:uuid}}/second-factor"): Rule(new_account, 200, ADMIN),
    ("GET", f"{STAFF}/heatmap"): Rule(in_own(params=PERIOD), 200, ANY_ROLE),
    ("GET", f"{STAFF}/heatmap.geojson"): Rule(in_own(params=PERIOD), 200, ANY_ROLE),
    ("GET", f"{STAFF}/hotspots"): Rule(in_own(params=PERIOD), 200, ANY_ROLE),
    ("GET", f"{STAFF}/trends"): Rule(in_own(params=MONTHS), 200, ANY_ROLE),
    ("GET", f"{STAFF}/ledger"): Rule(in_own(), 200, ANY_ROLE),
    ("GET", f"{STAFF}/exports/trends.csv"): Rule(in_own(params=MONTHS), 200, ANY_ROLE),
    ("GET", f"{STAFF}/exports/{{name:str}}"): Rule(
        fixed(path={"slug": OWN, "name": "heatmap.csv"}, params=PERIOD), 200, ANY_ROLE
    ),
    ("GET", f"{STAFF}/discussions"): Rule(in_own(), 200, MODERATE),
    ("POST", f"{STAFF}/discussions"): Rule(in_own(json=NEW_DISCUSSION), 201, MODERATE),
    # Staff of the discussion's municipality.
    ("POST", f"{DISCUSSION}/open"): Rule(discussion_in("draft"), 204, MODERATE),
    ("POST", f"{DISCUSSION}/close"): Rule(discussion_in("open"), 204, MODERATE),
    ("POST", f"{DISCUSSION}/pause"): Rule(discussion_in("open"), 204, MODERATE),
    ("POST", f"{DISCUSSION}/seed-statements"): Rule(seed_statement, 201, MODERATE),
    ("GET", f"{DISCUSSION}/moderation"): Rule(on_discussion(), 200, MODERATE),
    ("POST", f"{DISCUSSION}/statements/{{statement_id:int}}/moderation"): Rule(pending_statement, 200, MODERATE),
    ("POST", f"{DISCUSSION}/groups"): Rule(on_discussion(), 200, MODERATE),
    ("GET", f"{DISCUSSION}/report"): Rule(on_discussion(params={"format": "json"}), 200, MODERATE),
    # Participants: the token of this discussion, nothing else.
    ("PATCH", f"{DISCUSSION}/participants/me"): Rule(
        as_participant(lambda world: {"skip_sensitive": True}), 204, kind="participant"
    ),
    ("DELETE", f"{DISCUSSION}/participants/me"): Rule(as_participant(), 200, kind="participant"),
    ("POST", f"{DISCUSSION}/statements"): Rule(
        as_participant(lambda world: {"text": statement_text(), "language": "nl"}), 201, kind="participant"
    ),
    ("POST", f"{DISCUSSION}/votes"): Rule(
        as_participant(lambda world: {"statement": world.accepted, "value": 1}), 204, kind="participant"
    ),
    ("POST", f"{DISCUSSION}/statements/{{statement_id:int}}/flags"): Rule(
        as_participant(lambda world: {"reason": "off-topic"}, on_statement=True), 204, kind="participant"
    ),
    ("POST", f"{DISCUSSION}/chat"): Rule(as_participant(lambda world: {}), 200, kind="participant"),
    ("GET", f"{DISCUSSION}/next"): Rule(as_participant(), 200, kind="participant"),
    # Reports: the receipt is the only key.
    ("GET", "/v1/reports/{report_id:uuid}"): Rule(own_report, 200, kind="receipt"),
    ("DELETE", "/v1/reports/{report_id:uuid}"): Rule(own_report, 204, kind="receipt"),
}


# --- callers and what each must get -----------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    name: str
    role: str | None = None  # staff role, or None
    place: str | None = None  # "own" or "other": municipality, discussion or report


STAFF_CALLERS = [Caller("no token")] + [
    Caller(f"{role} of {place} municipality", role, place) for place in ("own", "other") for role in ROLES
]
TOKEN_CALLERS = [
    Caller("no token"),
    Caller("token of this resource", place="own"),
    Caller("token of another one", place="other"),
    Caller("staff admin of the municipality", role="admin", place="own"),
]


def callers(rule: Rule) -> list[Caller]:
    return STAFF_CALLERS if rule.kind == "staff" else TOKEN_CALLERS


def expected(rule: Rule, caller: Caller) -> int:
    if rule.kind == "staff":
        if caller.role is None:
            return 401
        if rule.scoped and caller.place == "other":
            return 404
        return rule.ok if caller.role in rule.roles else 403
    if caller.role is None and caller.place == "own":
        return rule.ok
    if caller.role is None and caller.place is None:
        return 401
    # Another discussion's token, or a staff token, is no participant of this discussion; for a
    # report, a receipt that does not match answers like an unknown report.
    return 401 if rule.kind == "participant" else 404


def headers(world: World, rule: Rule, call: Call, caller: Caller) -> dict[str, str]:
    if caller.role is not None:
        municipality = OWN if caller.place == "own" else OTHER
        return world.staff[(caller.role, municipality)]
    if caller.place is None:
        return {}
    return call.credentials[caller.place]


def url(template: str, call: Call) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(call.path[m.group(1)]), template)


def unknown(call: Call) -> Call:
    """The same request for a municipality or discussion that does not exist."""
    path = dict(call.path)
    if "slug" in path:
        path["slug"] = "nowhere"
    if "discussion_id" in path:
        path["discussion_id"] = uuid.uuid4()
    params = {**call.params, **({"municipality": "nowhere"} if "municipality" in call.params else {})}
    return Call(path=path, params=params, json=call.json, credentials=call.credentials)


async def ask(world: World, method: str, template: str, call: Call, extra: dict[str, str]) -> httpx.Response:
    return await world.http.request(method, url(template, call), params=call.params, json=call.json, headers=extra)


# --- the world: two municipalities, their staff, discussions, a released month ------------------


@pytest.fixture(scope="module")
async def world(pool: asyncpg.Pool, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with pool.acquire() as conn:
        await conn.execute(f"truncate {', '.join(TABLES_TO_CLEAR)} cascade")
    settings: Settings = make_settings(
        tmp_path_factory.mktemp("authz"),
        nlp_model="lexical",
        recompute_votes=1_000_000,
        rate_limit_per_day=1000,
        rate_limit_per_cell=1000,
    )
    own_cells = sorted(municipalities.cells_from_circle(f"{HAGUE[0]},{HAGUE[1]}", 1.0))
    async with pool.acquire() as conn:
        await municipalities.add(conn, OWN, "Den Haag", own_cells)
        await municipalities.add(conn, OTHER, "Amsterdam", municipalities.cells_from_circle("52.3731,4.8922", 0.5))
        await seed.insert(conn, OWN, seed.clustered(own_cells, [MONTH], 600))
        await releases.build(conn, release_config(settings), OWN, "staff", parse_period(MONTH), TODAY)
    password_hash = await staff_service.hash_password(STAFF_PASSWORD)
    app = create_app(settings, pool=pool)
    engine: Engine = app.state.runtime.deliberation
    async with asgi_client(app) as http:
        made = World(http, pool, engine, {}, password_hash, uuid.uuid4(), uuid.uuid4(), 0, own_cells[0])
        async with pool.acquire() as conn:
            for municipality in (OWN, OTHER):
                for role in ROLES:
                    staff_id = await made.new_staff(municipality, role)
                    token = secrets.token_urlsafe(32)
                    await staff_repo.create_session(conn, access.token_hash(token), staff_id, 8)
                    made.staff[(role, municipality)] = {"Authorization": f"Bearer {token}"}
        made.discussion = await made.new_discussion("open")
        made.elsewhere = await made.new_discussion("open", OTHER)
        async with pool.acquire() as conn:
            (seeded,) = await engine.add_statements(conn, made.discussion, [statement_text()])
        made.accepted = seeded.id
        yield made
    await engine.wait_recomputed()


# --- the tests --------------------------------------------------------------------------------


def test_every_route_has_a_policy() -> None:
    app = create_app(make_settings(Path("/nonexistent")))
    routes = {
        (method, route.path)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
        if method not in ("HEAD", "OPTIONS")
    }
    missing = sorted(routes - POLICY.keys() - PUBLIC.keys())
    stale = sorted((POLICY.keys() | PUBLIC.keys()) - routes)
    assert not missing, f"add these routes to the policy table (POLICY) or to PUBLIC with a reason: {missing}"
    assert not stale, f"these policy entries have no route any more: {stale}"
    assert not POLICY.keys() & PUBLIC.keys()


@pytest.mark.parametrize(("method", "template"), sorted(POLICY), ids=[f"{m} {p}" for m, p in sorted(POLICY)])
async def test_authorization_matrix(world: World, method: str, template: str) -> None:
    rule = POLICY[(method, template)]
    seen: list[str] = []
    wrong: list[str] = []
    for caller in callers(rule):
        call = await rule.make(world)
        extra = headers(world, rule, call, caller)
        response = await ask(world, method, template, call, extra)
        want = expected(rule, caller)
        line = f"{caller.name:40} expected {want}, got {response.status_code}"
        seen.append(line)
        if response.status_code != want:
            wrong.append(f"{line}: {response.text[:200]}")
            continue
        if want >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), line
        if want == 401:
            assert "www-authenticate" in response.headers, line
        if want == 404 and rule.kind == "staff":
            # Another municipality's resource answers exactly like one that does not exist.
            missing = await ask(world, method, template, unknown(call), extra)
            assert (missing.status_code, missing.json()) == (404, response.json()), line
    assert not wrong, f"{method} {template}\n" + "\n".join(wrong) + "\n\nall callers:\n" + "\n".join(seen)
