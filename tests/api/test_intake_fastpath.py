"""The fast path for POST /v1/reports (api/intake/fastpath.py) against the Litestar handler it
stands in for: every request, valid or not, gets the same status, headers and body from both.

A request goes to the Litestar handler when its media type carries a parameter
(`application/json; charset=utf-8`), which changes nothing else about it; each comparison
sends one request of each shape, with its own submission id, receipt, proof of work and
network address, and checks which path answered it.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.types import Receive, Scope, Send

from api import metrics
from api.app import create_app
from api.intake import fastpath
from privacy import location
from tests.api.test_fuzz import json_values
from tests.conftest import asgi_client, make_settings, new_receipt, solved_pow

FAST = "application/json"
ROUTED = "application/json; charset=utf-8"
MAX_BODY = 4096
FORGED = "bm90IGEgcGF5bG9hZA=="  # base64 of "not a payload"


@dataclass
class Paths:
    """A client of an app whose router is watched: `routed` counts the POST /v1/reports the
    fast path left to it."""

    http: httpx.AsyncClient
    routed: int = 0
    addresses: int = 0
    cells: list[str] = field(default_factory=list)

    def address(self) -> str:
        self.addresses += 1
        return f"198.18.{self.addresses // 250}.{self.addresses % 250 + 1}"

    async def post(
        self, body: bytes, media: str, altcha: str | None, extra: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = {"content-type": media, "x-forwarded-for": self.address(), **(extra or {})}
        if altcha is not None:
            headers["x-altcha"] = altcha
        before = self.routed
        response = await self.http.post("/v1/reports", content=body, headers=headers)
        assert self.routed - before == (0 if media == FAST else 1), "the request took the other path"
        return response


def watched(app: Litestar, http: httpx.AsyncClient) -> Paths:
    """`http` as a Paths whose `routed` counts the POST /v1/reports that reach the router."""
    intake = app.asgi_handler
    assert isinstance(intake, fastpath.ReportIntake)
    router = intake.app
    paths = Paths(http)

    async def watch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/reports" and scope["method"] == "POST":
            paths.routed += 1
        await router(scope, receive, send)

    intake.app = watch
    return paths


@pytest.fixture
async def paths(clean: asyncpg.Pool, hague: list[int], tmp_path: Path) -> AsyncIterator[Paths]:
    app = create_app(make_settings(tmp_path, max_body_bytes=MAX_BODY, rate_limit_per_day=3), pool=clean)
    async with asgi_client(app) as http:
        watching = watched(app, http)
        watching.cells = [location.cell_hex(c) for c in hague]
        yield watching
    await app.state.runtime.deliberation.wait_recomputed()


def answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    """Status, headers and body, with what differs between two reports by design (the report
    id; the seconds until midnight in Retry-After of a rate cap) made equal."""
    headers = sorted((k.lower(), v) for k, v in response.headers.items() if k.lower() != "retry-after")
    headers.append(("retry-after?", str("retry-after" in response.headers)))
    try:
        body: Any = response.json()
    except ValueError:
        body = response.content
    if isinstance(body, dict) and response.status_code in (200, 201):
        uuid.UUID(body.pop("id"))
    return response.status_code, headers, body


def valid(cells: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "submission_id": str(uuid.uuid4()),
        "receipt": new_receipt(),
        "cell": cells[0],
        "category": "verbal",
        "role": "victim",
        "band": "evening",
        "language": "nl",
    } | fields


async def both(paths: Paths, make_body: Any, altcha: str = "valid", extra: dict[str, str] | None = None) -> Any:
    """Sends one request down each path (each with its own ids and proof of work) and
    returns their common answer."""
    answers = []
    for media in (FAST, ROUTED):
        header = await solved_pow(paths.http) if altcha == "valid" else {"none": None, "garbage": FORGED}[altcha]
        body = make_body()
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        answers.append(answer(await paths.post(raw, media, header, extra)))
    assert answers[0] == answers[1]
    return answers[0]


async def test_requests_of_the_contract_shape_never_reach_the_router(paths: Paths) -> None:
    status, _, created = await both(paths, lambda: valid(paths.cells, description="Hij riep me na."))
    assert status == 201 and set(created) == {"municipality", "cell", "month"}


@pytest.mark.parametrize(
    ("case", "status", "slug"),
    [
        ("bad json", 400, "invalid-json"),
        ("empty body", 400, "invalid-json"),
        ("not an object", 400, "invalid-request"),
        ("wrong type", 400, "invalid-request"),
        ("unknown field", 400, "invalid-request"),
        ("missing field", 400, "invalid-request"),
        ("unknown category", 400, "invalid-request"),
        ("coarser cell", 400, "invalid-cell"),
        ("outside coverage", 422, "outside-coverage"),
        ("coordinates", 400, "coordinates-not-accepted"),
        ("repeated-byte receipt", 400, "invalid-receipt"),
        ("nul in text", 400, "invalid-text"),
        ("no proof of work", 400, "proof-of-work-required"),
        ("forged proof of work", 400, "invalid-proof-of-work"),
        ("announced too large", 413, "payload-too-large"),
    ],
)
async def test_refusals_are_the_same_on_both_paths(paths: Paths, case: str, status: int, slug: str) -> None:
    cells = paths.cells
    outside = location.cell_hex(location.snap(52.37, 4.89))  # Amsterdam: not served here
    altcha = {"no proof of work": "none", "forged proof of work": "garbage"}.get(case, "valid")
    bodies: dict[str, Any] = {
        "bad json": lambda: b'{"submission_id": ',
        "empty body": lambda: b"",
        "not an object": lambda: [1, 2],
        "wrong type": lambda: valid(cells, felt_safety="2"),
        "unknown field": lambda: valid(cells, ip="203.0.113.9"),
        "missing field": lambda: {k: v for k, v in valid(cells).items() if k != "band"},
        "unknown category": lambda: valid(cells, category="rude"),
        "coarser cell": lambda: valid(cells, cell=location.cell_hex(location.parent(location.parse_cell(cells[0]), 7))),
        "outside coverage": lambda: valid(cells, cell=outside),
        "coordinates": lambda: {k: v for k, v in valid(cells, lat=52.08, lng=4.32).items() if k != "cell"},
        "repeated-byte receipt": lambda: valid(cells, receipt="00" * 16),
        "nul in text": lambda: valid(cells, description="hallo\u0000daar"),
        "no proof of work": lambda: valid(cells),
        "forged proof of work": lambda: valid(cells),
        "announced too large": lambda: valid(cells, description="x" * 1000) | {"padding": "y" * MAX_BODY},
    }
    got_status, headers, body = await both(paths, bodies[case], altcha)
    assert (got_status, body["type"]) == (status, f"/problems/{slug}")
    assert ("content-type", "application/problem+json") in headers


@pytest.mark.parametrize("cors", [False, True])
@pytest.mark.parametrize(
    ("peer", "proto", "hsts"),
    [
        ("127.0.0.1", None, False),
        ("127.0.0.1", "https", True),
        ("127.0.0.1", "http, https", False),  # the outermost proxy's value counts
        ("192.0.2.7", "https", False),  # not a trusted proxy: its claim of TLS is ignored
    ],
)
async def test_security_headers_are_the_same_on_both_paths(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path, cors: bool, peer: str, proto: str | None, hsts: bool
) -> None:
    """A stored report's answer carries headers worked out at start-up, not the hook's
    (api/security.py `plain_answer_headers`); HSTS and Vary must still follow the request
    and the settings as they do on the routed path."""
    origins = ("https://app.example.nl",) if cors else ()
    # An untrusted peer's forwarded address does not count: both reports are of one network.
    settings = make_settings(tmp_path, cors_origins=origins, rate_limit_per_cell=2)
    app = create_app(settings, pool=clean)
    extra = {"x-forwarded-proto": proto} if proto else {}
    async with asgi_client(app, peer=peer) as http:
        paths = watched(app, http)
        paths.cells = [location.cell_hex(c) for c in hague]
        paths.addresses = secrets.randbelow(10_000)
        status, headers, _ = await both(paths, lambda: valid(paths.cells), extra=extra)
    assert status == 201
    named = dict(headers)
    assert ("strict-transport-security" in named) is hsts
    assert named.get("vary") == ("Origin" if cors else None)
    assert named["cache-control"] == "no-store"
    assert named["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def history(paths: Paths, media: str) -> list[Any]:
    """Answers to one network's submissions through one path, in order."""
    network = {"x-forwarded-for": paths.address()}
    answers: list[Any] = []

    async def send(body: dict[str, Any], altcha: str) -> httpx.Response:
        headers = {"content-type": media, "x-altcha": altcha, **network}
        before = paths.routed
        response = await paths.http.post("/v1/reports", content=json.dumps(body).encode(), headers=headers)
        assert paths.routed - before == (0 if media == FAST else 1)
        answers.append(answer(response))
        return response

    first = valid(paths.cells)
    spent = await solved_pow(paths.http)
    assert (await send(first, spent)).status_code == 201
    await send(first, await solved_pow(paths.http))  # an identical retry
    await send(first | {"category": "threat"}, await solved_pow(paths.http))  # same id, other body
    await send(valid(paths.cells), spent)  # the spent proof of work again
    withdrawn = valid(paths.cells, cell=paths.cells[1])
    made = (await send(withdrawn, await solved_pow(paths.http))).json()
    gone = await paths.http.delete(
        f"/v1/reports/{made['id']}", headers={"authorization": f"Receipt {withdrawn['receipt']}"}
    )
    assert gone.status_code == 204
    await send(withdrawn, await solved_pow(paths.http))  # a late retry of a withdrawn report
    await send(valid(paths.cells, cell=paths.cells[2]), await solved_pow(paths.http))  # third of the day
    await send(valid(paths.cells, cell=paths.cells[3]), await solved_pow(paths.http))  # over the cap
    return answers


async def test_a_submission_history_is_answered_alike(paths: Paths) -> None:
    """Retry (200), reuse with another body (409), withdrawal (410), replayed proof of work,
    and the daily cap (429) depend on earlier requests; each path lives through the same
    history with its own ids."""
    histories = [await history(paths, FAST), await history(paths, ROUTED)]
    assert histories[0] == histories[1]
    assert [status for status, _, _ in histories[0]] == [201, 200, 409, 400, 201, 410, 201, 429]


async def test_duplicate_headers_are_read_as_the_router_reads_them(paths: Paths) -> None:
    """The first X-Altcha counts on both paths (here a forged one before a valid one)."""

    async def twice(media: str) -> Any:
        good = await solved_pow(paths.http)
        request = httpx.Request(
            "POST",
            "http://testserver/v1/reports",
            content=json.dumps(valid(paths.cells)).encode(),
            headers=[
                ("content-type", media),
                ("x-forwarded-for", paths.address()),
                ("x-altcha", FORGED),
                ("x-altcha", good),
            ],
        )
        before = paths.routed
        response = await paths.http.send(request)
        assert paths.routed - before == (0 if media == FAST else 1)
        return answer(response)

    fast, routed = await twice(FAST), await twice(ROUTED)
    assert fast == routed and fast[0] == 400


@pytest.mark.parametrize(
    ("headers", "scope", "taken"),
    [
        ({"content-type": FAST, "content-length": "10", "host": "api.example.nl"}, {}, True),
        ({"content-type": FAST, "content-length": "10", "host": "[::1]:8000"}, {}, True),
        ({"content-type": ROUTED, "content-length": "10"}, {}, False),
        ({"content-type": "Application/JSON", "content-length": "10"}, {}, False),
        ({"content-type": "text/plain", "content-length": "10"}, {}, False),
        ({"content-type": FAST, "transfer-encoding": "chunked"}, {}, False),
        ({"content-type": FAST, "content-length": "1e3"}, {}, False),
        ({"content-type": FAST, "content-length": "\u0661\u0662"}, {}, False),
        ({"content-type": FAST, "content-length": "10", "origin": "https://x.example"}, {}, False),
        ({"content-type": FAST, "content-length": "10", "host": "bad host"}, {}, False),
        ({"content-type": FAST, "content-length": "10"}, {"root_path": "/api"}, False),
    ],
)
def test_which_requests_the_fast_path_takes(headers: dict[str, str], scope: dict[str, Any], taken: bool) -> None:
    assert fastpath.takes(scope, headers) is taken


async def test_fast_answers_are_counted_like_routed_ones(paths: Paths) -> None:
    def counted(status: str) -> float:
        value = metrics.REGISTRY.get_sample_value(
            "straatstem_http_requests_total", {"method": "POST", "route": "/v1/reports", "status": status}
        )
        return value or 0.0

    def refused(slug: str) -> float:
        return metrics.REGISTRY.get_sample_value("straatstem_reports_total", {"outcome": slug}) or 0.0

    before = counted("201"), counted("400"), refused("created"), refused("invalid-json")
    await both(paths, lambda: valid(paths.cells))
    await both(paths, lambda: b"{", altcha="none")
    after = counted("201"), counted("400"), refused("created"), refused("invalid-json")
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2, 2, 2]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "submission_id": st.just("fresh") | json_values,
            "receipt": st.just("fresh") | json_values,
            "cell": st.sampled_from([0, 1, 2]) | json_values,
            "category": st.sampled_from(["verbal", "other", "rude"]) | json_values,
            "role": st.sampled_from(["victim", "witness"]) | json_values,
            "band": st.sampled_from(["night", "evening"]) | json_values,
            "language": st.sampled_from(["nl", "en", "de"]) | json_values,
            "felt_safety": st.integers(0, 6) | json_values,
            "description": st.text(max_size=80) | json_values,
            "lat": json_values,
        },
    ),
    st.sampled_from(["valid", "none", "garbage"]),
)
async def test_any_request_is_answered_alike(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path, template: dict[str, Any], altcha: str
) -> None:
    app = create_app(make_settings(tmp_path, rate_limit_per_day=100), pool=clean)
    cells = [location.cell_hex(c) for c in hague]

    def body() -> dict[str, Any]:
        made = dict(template)
        if made.get("submission_id") == "fresh":
            made["submission_id"] = str(uuid.uuid4())
        if made.get("receipt") == "fresh":
            made["receipt"] = new_receipt()
        if isinstance(made.get("cell"), int) and not isinstance(made["cell"], bool) and 0 <= made["cell"] < 3:
            made["cell"] = cells[made["cell"]]
        return made

    async with asgi_client(app) as http:
        paths = watched(app, http)
        paths.addresses = secrets.randbelow(10_000)
        status, _, _ = await both(paths, body, altcha)
    assert status < 500
