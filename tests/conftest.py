"""Test fixtures on a real PostgreSQL: DATABASE_URL when set (a fresh database is created
and dropped), otherwise an embedded pgserver instance in a temporary directory. The schema
comes from exactly the migrations the product ships."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest

from api import db
from api.app import create_app
from api.settings import Settings
from tests import logscan

EMBEDDED_LOG: list[Path] = []  # the embedded server's own log, searched by the leak test
TABLES_TO_CLEAR = (
    "report_text",
    "report",
    "withdrawn_submission",
    "coverage",
    "municipality",
    "pow_spent",
    "rate_counter",
    "rate_key",
    "staff_session",
    "staff",
    "staff_login_failure",
    "staff_audit",
)


def pytest_sessionstart(session: pytest.Session) -> None:
    logscan.install()


@pytest.fixture(autouse=True)
def _production_logging() -> Iterator[None]:
    yield
    logscan.install()  # a test may have reconfigured logging; the rest of the run is scanned again


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The whole run's logs are searched for what must never be logged (tests/logscan.py)."""
    sources = logscan.collected(EMBEDDED_LOG)
    findings = logscan.scan(sources)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = sum(text.count("\n") + 1 for _, text in sources)
    summary = f"log scan: {lines} lines from {len(sources)} sources, {len(findings)} findings"
    if reporter is not None:
        reporter.write_line(summary)
        for finding in findings[:50]:
            reporter.write_line(f"  {finding.kind} in {finding.source}: {finding.excerpt}", red=True)
    if findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import asyncio

    base = os.environ.get("DATABASE_URL")
    if base:
        name = f"straatstem_test_{os.getpid()}_{secrets.token_hex(4)}"

        async def create() -> None:
            conn = await asyncpg.connect(base)
            await conn.execute(f'create database "{name}"')
            await conn.close()

        async def drop() -> None:
            conn = await asyncpg.connect(base)
            await conn.execute(f'drop database if exists "{name}" with (force)')
            await conn.close()

        asyncio.run(create())
        yield db.with_database(base, name)
        asyncio.run(drop())
        return
    embedded = db.EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    admin = embedded.start()
    EMBEDDED_LOG.append(embedded.path / "log")

    async def create_db() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute("create database straatstem_test")
        await conn.close()

    asyncio.run(create_db())
    yield db.with_database(admin, "straatstem_test")
    embedded.stop()


@pytest.fixture(scope="session")
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    conn = await asyncpg.connect(dsn)
    await db.migrate(conn)
    await conn.close()
    created = await asyncpg.create_pool(dsn, min_size=1, max_size=8)
    assert created is not None
    yield created
    await created.close()


@pytest.fixture
async def clean(pool: asyncpg.Pool) -> asyncpg.Pool:
    async with pool.acquire() as conn:
        await conn.execute(f"truncate {', '.join(TABLES_TO_CLEAR)} cascade")
    return pool


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    import ipaddress

    values: dict[str, Any] = {
        "database_url": None,
        "data_dir": tmp,
        "secret_key": secrets.token_bytes(32),
        "pow_max_number": 1_000,
        "trusted_proxies": (ipaddress.ip_network("127.0.0.1/32"),),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


async def locked_table(dsn: str, table: str) -> asyncpg.Connection:
    """A connection holding an exclusive lock on `table` until it rolls back: to everyone else
    the database hangs on that table, as a stuck server would."""
    conn = await asyncpg.connect(dsn)
    await conn.execute("begin")
    await conn.execute(f"lock table {table} in access exclusive mode")
    return conn


class FreezingProxy:
    """A TCP front for the session's database that can stop passing bytes on: to asyncpg, a
    server that hangs instead of failing (a stopped or stuck PostgreSQL), without doing that
    to the database the other tests use."""

    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        query = parse_qs(parts.query)
        self.socket_dir = query.get("host", [None])[0]
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.user = parts.username or "postgres"
        self.database = parts.path.lstrip("/")
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"postgresql://{self.user}@127.0.0.1:{port}/{self.database}?sslmode=disable"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.socket_dir:
            up_reader, up_writer = await asyncio.open_unix_connection(f"{self.socket_dir}/.s.PGSQL.{self.upstream[1]}")
        else:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await self.flowing.wait()
            writer.write(data)
            await writer.drain()
        writer.close()

    async def close(self) -> None:
        self.flowing.set()
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()


@contextlib.asynccontextmanager
async def app_on_hanging_database(
    dsn: str, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, Any, FreezingProxy]]:
    """A client of an app whose pool reaches the session's database through a FreezingProxy:
    set up the data first, then `proxy.flowing.clear()` makes the database hang."""
    proxy = FreezingProxy(dsn)
    pool = await db.create_pool(await proxy.start(), settings)
    try:
        app = create_app(settings, pool=pool)
        async with asgi_client(app) as http:
            yield http, app, proxy
    finally:
        await proxy.close()
        pool.terminate()


async def assert_unavailable_in_time(
    http: httpx.AsyncClient, asks: list[tuple[str, str, Any, float]], headers: dict[str, str]
) -> None:
    """Each (method, url, JSON body or None, seconds) is answered 503 `unavailable` with
    Retry-After in less than its seconds. The garbage collector is held off while the clock
    runs: in one CI run a request took 0.55 s past its deadline, most likely a full collection
    of this test process's heap (every earlier test's objects and the language models). The
    server avoids those by freezing its start-up heap (api/app.py lifespan), which an
    in-process test client never runs; the request itself answers within 5 ms of its deadline."""
    gc.collect()
    gc.disable()
    try:
        for method, url, body, seconds in asks:
            began = time.monotonic()
            answer = await http.request(method, url, json=body, headers=headers)
            waited = time.monotonic() - began
            assert answer.status_code == 503, (method, url, answer.status_code, answer.text)
            assert answer.json()["type"] == "/problems/unavailable" and answer.headers["retry-after"]
            assert waited < seconds, (method, url, waited)
    finally:
        gc.enable()


def asgi_client(app: Any, *, peer: str = "127.0.0.1", base: str = "http://testserver") -> httpx.AsyncClient:
    """An HTTP client that calls `app` in process, as if from `peer` (a trusted proxy in
    make_settings, so X-Forwarded-For counts)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(peer, 40000)), base_url=base)


@pytest.fixture
async def client(clean: asyncpg.Pool, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, pool=clean)
    async with asgi_client(app) as http:
        yield http
    await app.state.runtime.deliberation.wait_recomputed()  # none may outlive the test's data


# The Hague, around the central station: small, fast coverage for tests.
HAGUE = (52.0799, 4.3247)


@pytest.fixture
async def hague(clean: asyncpg.Pool) -> list[int]:
    from api.municipalities import service

    cells = service.cells_from_circle(f"{HAGUE[0]},{HAGUE[1]}", 1.0)
    async with clean.acquire() as conn:
        await service.add(conn, "den-haag", "Den Haag", cells)
    return sorted(cells)


def new_receipt() -> str:
    return logscan.remember(secrets.token_hex(16), "receipt")


def report_body(at: int | None, **overrides: Any) -> dict[str, Any]:
    from privacy import location

    body: dict[str, Any] = {
        "submission_id": str(uuid.uuid4()),
        "receipt": new_receipt(),
        "category": "verbal",
        "role": "victim",
        "band": "evening",
        "language": "nl",
    }
    if at is not None:
        body["cell"] = location.cell_hex(at)
    body.update(overrides)
    if isinstance(body.get("description"), str):
        logscan.remember(body["description"], "report text")
    return body


async def solved_pow(http: httpx.AsyncClient) -> str:
    from privacy import pow as pow_

    response = await http.get("/v1/challenge")
    assert response.status_code == 200
    c = response.json()
    return pow_.solve(pow_.Challenge.from_wire(c))


async def submit(
    http: httpx.AsyncClient, body: dict[str, Any], *, ip: str = "198.51.100.7", altcha: str | None = None
) -> httpx.Response:
    header = altcha if altcha is not None else await solved_pow(http)
    return await http.post("/v1/reports", json=body, headers={"X-Altcha": header, "X-Forwarded-For": ip})


STAFF_PASSWORD = "correct horse battery staple"


async def make_staff(
    conn: asyncpg.Connection, email: str, municipality: str, role: str, password: str = STAFF_PASSWORD
) -> uuid.UUID:
    """A staff account straight in the database (no audit entry); the municipality must exist."""
    from api.staff import repository, service

    staff_id = uuid.uuid4()
    await repository.insert_staff(conn, staff_id, email, municipality, role, await service.hash_password(password))
    return staff_id


async def login_headers(
    http: httpx.AsyncClient, email: str, password: str = STAFF_PASSWORD, totp: str | None = None
) -> dict[str, str]:
    body = {"email": email, "password": password, **({"totp": totp} if totp else {})}
    response = await http.post("/v1/staff/login", json=body)
    assert response.status_code == 200, response.text
    http.cookies.clear()  # tests choose explicitly between bearer and cookie
    return {"Authorization": f"Bearer {logscan.remember(response.json()['token'], 'staff token')}"}


@pytest.fixture
def staff_headers(client: httpx.AsyncClient, clean: asyncpg.Pool) -> Callable[..., Awaitable[dict[str, str]]]:
    """`await staff_headers(role="analyst", municipality="den-haag")`: bearer headers of a new,
    logged-in staff member. The municipality must exist (e.g. request the `hague` fixture)."""

    async def make(role: str = "analyst", municipality: str = "den-haag", email: str | None = None) -> dict[str, str]:
        email = email or f"{role}-{secrets.token_hex(4)}@{municipality}.example"
        async with clean.acquire() as conn:
            await make_staff(conn, email, municipality, role)
        return await login_headers(client, email)

    return make
