"""Hostile input at the edge: security headers on every response (errors, /metrics and
/healthz included), HSTS only over TLS, CORS only for configured https origins, and slow or
oversized requests refused by the server's protocol layer, tested with raw sockets against a
real `straatstem serve` process (httptools) and against the h11 protocol class in-process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Response, get
from uvicorn.config import Config
from uvicorn.server import ServerState

from api import server
from api.app import create_app
from api.security import API_CSP, HSTS
from api.settings import ClientLimits, Settings, SettingsError, load_settings
from api.web import routes as web
from tests.conftest import asgi_client, make_settings, report_body, submit
from tests.processes import server_process

API_HEADERS = {
    "content-security-policy": API_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
ORIGIN = "https://kaart.example.nl"


def _client(app: Any, *, peer: str = "127.0.0.1", base: str = "http://t") -> httpx.AsyncClient:
    return asgi_client(app, peer=peer, base=base)


def _assert_api_headers(response: httpx.Response) -> None:
    for name, value in API_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code, dict(response.headers))
    assert response.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in response.headers  # plain HTTP from an untrusted peer
    assert not any(name.startswith("access-control-") for name in response.headers)


# --- headers on every response ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "options", "status"),
    [
        ("GET", "/v1/taxonomy", {}, 200),
        ("GET", "/healthz", {}, 200),
        ("GET", "/metrics", {}, 200),
        ("GET", "/schema/openapi.json", {}, 200),
        ("GET", "/v1/no-such-thing", {}, 404),
        ("GET", "/v1/municipalities/nowhere/coverage", {}, 404),
        ("DELETE", "/v1/taxonomy", {}, 405),
        (
            "POST",
            "/v1/staff/login",
            {"content": b"{" + b" " * 20_000 + b"}", "headers": {"content-type": "application/json"}},
            413,
        ),
        ("POST", "/v1/staff/login", {"content": b"email=a", "headers": {"content-type": "text/plain"}}, 415),
        ("POST", "/v1/staff/login", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ("GET", "/v1/staff/me", {}, 401),
    ],
)
async def test_api_answers_and_errors_carry_the_security_headers(
    client: httpx.AsyncClient, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    response = await client.request(method, path, **options)
    assert response.status_code == status, response.text
    _assert_api_headers(response)
    if status >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_rate_capped_report_carries_the_security_headers(
    hague: list[int], clean: asyncpg.Pool, tmp_path: Path
) -> None:
    app = create_app(make_settings(tmp_path, rate_limit_per_day=1), pool=clean)
    async with _client(app) as http:
        assert (await submit(http, report_body(hague[0]))).status_code == 201
        capped = await submit(http, report_body(hague[1]))
    assert capped.status_code == 429 and "retry-after" in capped.headers
    _assert_api_headers(capped)


async def test_an_internal_error_carries_the_security_headers(clean: asyncpg.Pool, settings: Settings) -> None:
    @get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    app = create_app(settings, pool=clean)
    app.register(boom)
    async with _client(app) as http:
        response = await http.get("/test/boom")
    assert response.status_code == 500 and response.json()["type"] == "/problems/internal"
    _assert_api_headers(response)


async def test_an_unavailable_database_answer_carries_the_security_headers(dsn: str, settings: Settings) -> None:
    closed = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    await closed.close()
    app = create_app(settings, pool=closed)
    async with _client(app) as http:
        response = await http.get("/v1/municipalities")
        ready = await http.get("/readyz")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert ready.status_code == 503
    _assert_api_headers(response)
    _assert_api_headers(ready)


async def test_a_route_keeps_its_own_policy_and_caching_but_cannot_be_framed(
    clean: asyncpg.Pool, settings: Settings
) -> None:
    @get("/test/printable")
    async def printable() -> Response[bytes]:
        return Response(
            b"<p>report</p>",
            media_type="text/html",
            headers={
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                "Cache-Control": "public, max-age=60",
            },
        )

    app = create_app(settings, pool=clean)
    app.register(printable)
    async with _client(app) as http:
        response = await http.get("/test/printable")
        page = await http.get("/")  # the public map (503 with the same headers when not built)
    assert response.headers["content-security-policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"] == web.content_security_policy(settings)
    assert page.headers["permissions-policy"] == web.security_headers(settings)["Permissions-Policy"]


@pytest.mark.parametrize(
    ("peer", "base", "headers", "hsts"),
    [
        ("203.0.113.9", "http://t", {}, False),
        ("203.0.113.9", "https://t", {}, True),  # TLS ends at this server
        ("127.0.0.1", "http://t", {"X-Forwarded-Proto": "https"}, True),  # a trusted proxy terminated TLS
        ("127.0.0.1", "http://t", {"X-Forwarded-Proto": "https, http"}, True),  # the outermost proxy counts
        ("127.0.0.1", "http://t", {"X-Forwarded-Proto": "http"}, False),
        ("127.0.0.1", "http://t", {}, False),
        ("203.0.113.9", "http://t", {"X-Forwarded-Proto": "https"}, False),  # not a proxy we trust
    ],
)
async def test_hsts_only_when_the_request_came_over_tls(
    clean: asyncpg.Pool, settings: Settings, peer: str, base: str, headers: dict[str, str], hsts: bool
) -> None:
    app = create_app(settings, pool=clean)  # trusts 127.0.0.1 as a proxy
    async with _client(app, peer=peer, base=base) as http:
        for path in ("/healthz", "/v1/no-such-thing"):
            response = await http.get(path, headers=headers)
            assert response.headers.get("strict-transport-security") == (HSTS if hsts else None), path


# Found by the schemathesis run: text PostgreSQL cannot store, and ids beyond the column's range,
# are the client's mistake (400), not a server error.
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/discussions?municipality=%00", None),
        ("GET", "/v1/public/municipalities/a%00/transparency", None),
        ("POST", "/v1/staff/login", {"email": "a\u0000@b.example", "password": "x"}),
        ("GET", f"/v1/discussions/{uuid.uuid4()}/statements/{2**40}", None),
        ("POST", f"/v1/discussions/{uuid.uuid4()}/votes", {"statement": 2**40, "value": 1}),
    ],
)
async def test_unstorable_values_are_refused_not_failed(
    client: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


# --- CORS -------------------------------------------------------------------------------------

PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type, x-altcha",
}


async def test_no_cors_headers_unless_origins_are_configured(client: httpx.AsyncClient) -> None:
    simple = await client.get("/v1/taxonomy", headers={"Origin": ORIGIN})
    preflight = await client.options("/v1/reports", headers=PREFLIGHT)
    for response in (simple, preflight):
        assert not any(name.startswith("access-control-") for name in response.headers), dict(response.headers)
        assert "origin" not in response.headers.get("vary", "").lower()


async def test_cors_allows_only_the_configured_origins_and_never_credentials(
    clean: asyncpg.Pool, tmp_path: Path
) -> None:
    app = create_app(make_settings(tmp_path, cors_origins=(ORIGIN,)), pool=clean)
    async with _client(app) as http:
        allowed = await http.get("/v1/taxonomy", headers={"Origin": ORIGIN})
        problem = await http.get("/v1/staff/me", headers={"Origin": ORIGIN})
        other = await http.get("/v1/taxonomy", headers={"Origin": "https://evil.example"})
        lookalike = await http.get("/v1/taxonomy", headers={"Origin": ORIGIN + ".evil.example"})
        preflight = await http.options("/v1/reports", headers=PREFLIGHT)
        refused_origin = await http.options("/v1/reports", headers={**PREFLIGHT, "Origin": "http://kaart.example.nl"})
        refused_method = await http.options(
            "/v1/reports", headers={**PREFLIGHT, "Access-Control-Request-Method": "PUT"}
        )
        refused_header = await http.options(
            "/v1/reports", headers={**PREFLIGHT, "Access-Control-Request-Headers": "x-spy"}
        )
        page = await http.get("/", headers={"Origin": ORIGIN, "Accept-Encoding": "gzip"})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert problem.status_code == 401 and problem.headers["access-control-allow-origin"] == ORIGIN
    assert "WWW-Authenticate" in problem.headers["access-control-expose-headers"]
    for response in (other, lookalike, refused_origin, refused_method, refused_header):
        assert "access-control-allow-origin" not in response.headers, dict(response.headers)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert {m.strip() for m in preflight.headers["access-control-allow-methods"].split(",")} == {
        "GET",
        "POST",
        "PATCH",
        "DELETE",
    }
    assert {"content-type", "x-altcha", "authorization"} <= {
        h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
    }
    for response in (allowed, problem, other, preflight, refused_origin, page):
        assert "access-control-allow-credentials" not in response.headers
        assert "origin" in response.headers["vary"].lower()
        assert response.headers["content-security-policy"]  # the security headers stay
    # The route's own Vary survives the CORS middleware, so no cache mixes encodings.
    assert {v.strip().lower() for v in page.headers["vary"].split(",")} >= {"accept-encoding", "origin"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        ("https://kaart.example.nl", ("https://kaart.example.nl",)),
        (
            " HTTPS://Kaart.Example.NL:443 , https://data.example.nl:8443",
            ("https://kaart.example.nl", "https://data.example.nl:8443"),
        ),
    ],
)
def test_cors_origins_setting(tmp_path: Path, value: str, expected: tuple[str, ...]) -> None:
    env = {"STRAATSTEM_DATA_DIR": str(tmp_path), "STRAATSTEM_CORS_ORIGINS": value}
    assert load_settings(env).cors_origins == expected


@pytest.mark.parametrize(
    "value",
    [
        "*",
        "http://kaart.example.nl",
        "https://*.example.nl",
        "https://kaart.example.nl/",
        "https://kaart.example.nl/map",
        "https://user@kaart.example.nl",
        "https://kaart.example.nl:0",
        "https://kaart.example.nl:70000",
        "https://kaart.example.nl?x=1",
        "null",
    ],
)
def test_bad_cors_origins_fail_naming_the_setting(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="STRAATSTEM_CORS_ORIGINS must be a comma-separated list of https origins"):
        load_settings(
            {"STRAATSTEM_DATA_DIR": str(tmp_path), "STRAATSTEM_CORS_ORIGINS": f"https://ok.example.nl,{value}"}
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRAATSTEM_HEADER_TIMEOUT_SECONDS", "0"),
        ("STRAATSTEM_HEADER_TIMEOUT_SECONDS", "soon"),
        ("STRAATSTEM_BODY_TIMEOUT_SECONDS", "601"),
        ("STRAATSTEM_MAX_HEADER_BYTES", "1024"),
    ],
)
def test_bad_client_limits_fail_naming_the_setting(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({"STRAATSTEM_DATA_DIR": str(tmp_path), name: value})


def test_client_limits_default_and_from_the_environment(tmp_path: Path) -> None:
    assert load_settings({"STRAATSTEM_DATA_DIR": str(tmp_path)}).client_limits == ClientLimits(10, 30, 16_384)
    env = {
        "STRAATSTEM_DATA_DIR": str(tmp_path),
        "STRAATSTEM_HEADER_TIMEOUT_SECONDS": "5",
        "STRAATSTEM_BODY_TIMEOUT_SECONDS": "60",
        "STRAATSTEM_MAX_HEADER_BYTES": "8192",
    }
    assert load_settings(env).client_limits == ClientLimits(5, 60, 8192)


def test_serve_refuses_a_bad_origin_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_") and k != "DATABASE_URL"}
    environment.update(STRAATSTEM_DATA_DIR=str(tmp_path), STRAATSTEM_CORS_ORIGINS="https://*.example.nl")
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "STRAATSTEM_CORS_ORIGINS" in lines[0], result.stderr


# --- slow and oversized requests, raw sockets -------------------------------------------------

TIMEOUT = 1  # seconds, for headers and for bodies
MAX_HEADER_BYTES = 4096
MAX_BODY_BYTES = 2048


@dataclass
class Target:
    name: str
    port: int
    log: Path | None = None


@dataclass
class Answer:
    status: int | None
    headers: dict[str, str]
    body: bytes
    seconds: float
    raw: bytes


@pytest.fixture(scope="module")
def process_server(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data = tmp_path_factory.mktemp("slow")
    env = dict(
        os.environ,
        DATABASE_URL=dsn,
        STRAATSTEM_DATA_DIR=str(data),
        STRAATSTEM_HEADER_TIMEOUT_SECONDS=str(TIMEOUT),
        STRAATSTEM_BODY_TIMEOUT_SECONDS=str(TIMEOUT),
        STRAATSTEM_MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
        STRAATSTEM_MAX_BODY_BYTES=str(MAX_BODY_BYTES),
        STRAATSTEM_RUN_JOBS="false",
        STRAATSTEM_NLP_MODEL="lexical",
        STRAATSTEM_LOG_JSON="false",
    )
    with server_process(["serve", "--host", "127.0.0.1"], env, data / "server.log") as base:
        yield Target("process", int(base.rsplit(":", 1)[1]), data / "server.log")


@pytest.fixture
async def h11_server(clean: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Target]:
    """The h11 protocol class (uvicorn's fallback parser) serving the app in this process."""
    monkeypatch.setenv("STRAATSTEM_HEADER_TIMEOUT_SECONDS", str(TIMEOUT))
    monkeypatch.setenv("STRAATSTEM_BODY_TIMEOUT_SECONDS", str(TIMEOUT))
    monkeypatch.setenv("STRAATSTEM_MAX_HEADER_BYTES", str(MAX_HEADER_BYTES))
    server._limits.cache_clear()
    app = create_app(make_settings(tmp_path, max_body_bytes=MAX_BODY_BYTES), pool=clean)
    config = Config(app=app, log_config=None, proxy_headers=False, lifespan="off")
    config.load()
    state = ServerState()
    listener = await asyncio.get_running_loop().create_server(
        lambda: server.NoDelayH11Protocol(config, state, {}), "127.0.0.1", 0
    )
    try:
        yield Target("h11", listener.sockets[0].getsockname()[1])
    finally:
        listener.close()
        for connection in list(state.connections):
            connection.shutdown()
        await listener.wait_closed()
        monkeypatch.undo()
        server._limits.cache_clear()


@pytest.fixture(params=["process", "h11"])
def target(request: pytest.FixtureRequest) -> Target:
    found: Target = request.getfixturevalue(f"{request.param}_server")
    return found


async def exchange(target: Target, steps: list[tuple[float, bytes]], wait: float = 6) -> Answer:
    """Sends each chunk after its delay, then reads until the server closes the connection."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
    started = loop.time()
    try:
        for delay, chunk in steps:
            await asyncio.sleep(delay)
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, OSError):
        pass  # the server closed the connection while the client was still sending
    try:
        raw = await asyncio.wait_for(reader.read(), wait)
    except (ConnectionError, OSError):
        raw = b""
    seconds = loop.time() - started
    writer.close()
    return _parse(raw, seconds)


def _parse(raw: bytes, seconds: float) -> Answer:
    if not raw:
        return Answer(None, {}, b"", seconds, raw)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, headers, body, seconds, raw)


def _problem(answer: Answer, status: int, slug: str) -> dict[str, Any]:
    assert answer.status == status, answer.raw[:500]
    assert answer.headers["content-type"] == "application/problem+json"
    for name, value in API_HEADERS.items():
        assert answer.headers[name] == value, name
    assert answer.headers["connection"] == "close"
    body: dict[str, Any] = json.loads(answer.body)
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    return body


LOGIN = b"POST /v1/staff/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
LOGIN_BODY = json.dumps({"email": "nobody@den-haag.example", "password": "not the password"}).encode()


async def test_a_silent_connection_is_closed(target: Target) -> None:
    answer = await exchange(target, [])
    assert answer.status is None
    assert 0.8 * TIMEOUT <= answer.seconds < TIMEOUT + 2


async def test_headers_sent_slowly_close_the_connection_without_an_answer(target: Target) -> None:
    trickle = [(0.0, b"GET /healthz HTTP/1.1\r\nHost: t\r\n")] + [(0.25, b"X-Slow: 1\r\n")] * 16
    answer = await exchange(target, trickle)
    assert answer.status is None
    assert answer.seconds < TIMEOUT + 2  # the client meant to keep going for 4 seconds


async def test_a_stalled_body_gets_408_and_a_close(target: Target) -> None:
    head = LOGIN + f"Content-Length: {len(LOGIN_BODY)}\r\n\r\n".encode()
    answer = await exchange(target, [(0.0, head + LOGIN_BODY[:10])])
    body = _problem(answer, 408, "request-timeout")
    assert f"within {TIMEOUT} seconds" in body["detail"]
    assert 0.8 * TIMEOUT <= answer.seconds < TIMEOUT + 2
    if target.log is not None:
        await asyncio.sleep(0.3)  # the app's own, undelivered answer is not a server error either
        assert not re.search(r"status=5\d\d", target.log.read_text()), target.log.read_text()[-2000:]


async def test_a_body_that_arrives_in_time_is_answered_normally(target: Target) -> None:
    head = LOGIN + f"Content-Length: {len(LOGIN_BODY)}\r\nConnection: close\r\n\r\n".encode()
    answer = await exchange(target, [(0.0, head + LOGIN_BODY[:10]), (0.4 * TIMEOUT, LOGIN_BODY[10:])])
    assert answer.status == 401, answer.raw[:500]  # an unknown e-mail: the login was decoded and refused
    assert answer.headers["content-security-policy"] == API_CSP


async def test_a_kept_alive_connection_must_send_its_next_request_in_time(target: Target) -> None:
    first = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    answer = await exchange(target, [(0.0, first), (0.2, b"GET /healthz HTTP/1.1\r\nHost")])
    assert answer.status == 200 and answer.body.endswith(b'{"status":"ok"}')
    assert b"HTTP/1.1" not in answer.body  # one answer only: the unfinished request got none
    assert 0.8 * TIMEOUT <= answer.seconds < TIMEOUT + 2


async def test_oversized_headers_get_431(target: Target) -> None:
    answer = await exchange(target, [(0.0, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * MAX_HEADER_BYTES)])
    assert str(MAX_HEADER_BYTES) in _problem(answer, 431, "headers-too-large")["detail"]


async def test_bytes_that_are_not_http_get_400(target: Target) -> None:
    answer = await exchange(target, [(0.0, b"\x16\x03\x01 hello?\r\n\r\n")])
    _problem(answer, 400, "invalid-http")


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_limit_gets_413(target: Target, chunked: bool) -> None:
    body = b'{"email": "' + b"a" * (MAX_BODY_BYTES + 100) + b'"}'
    if chunked:
        request = LOGIN + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        request += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    else:
        request = LOGIN + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
    answer = await exchange(target, [(0.0, request)])
    assert answer.status == 413, answer.raw[:500]
    assert answer.headers["content-type"].startswith("application/problem+json")
    for name, value in API_HEADERS.items():
        assert answer.headers[name] == value
