"""Database: the embedded PostgreSQL (pgserver) or DATABASE_URL, the pool, and migrations.

Migrations are numbered, forward-only SQL files shipped in api/migrations. `migrate` applies
the missing ones in order under an advisory lock (safe from several replicas at once) and
refuses to run when an applied file has changed since (checksum), because silently diverging
schemas are worse than a failed start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from api.settings import Settings

MIGRATION_LOCK = 0x5713_0001
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
log = logging.getLogger(__name__)


# How long opening a connection may take before it counts as an outage. A stopped or stuck
# server (SIGSTOP, a full backlog, a network black hole) accepts the socket, or not even that,
# and never answers; asyncpg's default of 60 s would hold every request that needs a new
# connection for a minute instead of answering 503.
CONNECT_TIMEOUT = 2.0


class DatabaseError(RuntimeError):
    """A database problem the operator must fix; the message says what."""


class DatabaseUnavailable(ConnectionError):
    """PostgreSQL cannot be reached right now: its socket is gone (a server that was shut
    down removes it), refused or unreachable. A ConnectionError, so the API answers it like
    any other outage (503 with Retry-After) instead of as an internal error."""


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """asyncpg.connect for the pool, with every OS-level failure to reach the server turned
    into DatabaseUnavailable (a clean shutdown leaves no socket file: FileNotFoundError)."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except ConnectionError:
        raise
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot reach PostgreSQL ({exc.__class__.__name__})") from None


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("api.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migration numbers must run 1..n without gaps, found {versions}")
    return found


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply missing migrations; return the names applied."""
    applied: list[str] = []
    await conn.execute("select pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "create table if not exists schema_migration ("
            " version integer primary key, name text not null, checksum text not null)"
        )
        rows = await conn.fetch("select version, name, checksum from schema_migration")
        done = {r["version"]: r for r in rows}
        for migration in migrations():
            previous = done.get(migration.version)
            if previous is not None:
                if previous["checksum"] != migration.checksum:
                    raise DatabaseError(
                        f"migration {migration.name} was changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "insert into schema_migration (version, name, checksum) values ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            applied.append(migration.name)
    finally:
        await conn.execute("select pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied


class EmbeddedPostgres:
    """A pgserver-managed PostgreSQL in the data directory, reachable by Unix socket only."""

    def __init__(self, data_dir: Path) -> None:
        self.path = (data_dir / "pg").resolve()
        self._server: Any = None

    def start(self) -> str:
        import warnings

        with warnings.catch_warnings():
            # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; irrelevant here.
            warnings.simplefilter("ignore")
            import pgserver  # imported lazily: only embedded mode needs it

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._server = pgserver.get_server(self.path, cleanup_mode="stop")  # type: ignore[attr-defined]
        except Exception as exc:
            raise DatabaseError(
                f"the embedded PostgreSQL in {self.path} did not start ({exc.__class__.__name__}); "
                "check STRAATSTEM_DATA_DIR or set DATABASE_URL"
            ) from None
        uri: str = self._server.get_uri()
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def with_database(dsn: str, name: str) -> str:
    """The same connection URL pointing at database `name` (the URL path), keeping user, host
    and query parameters such as `?host=/socket/dir` intact."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, parts.fragment))


async def resolve_dsn(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The DSN to use, starting the embedded server (with its `straatstem` database) if needed."""
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir)
    admin_dsn = embedded.start()
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("select 1 from pg_database where datname = 'straatstem'")
        if not exists:
            await conn.execute("create database straatstem")
    finally:
        await conn.close()
    return with_database(admin_dsn, "straatstem"), embedded


@contextlib.asynccontextmanager
async def within(pool: asyncpg.Pool, seconds: float) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for work that must be done within `seconds` (acquiring included),
    also when PostgreSQL hangs instead of failing; TimeoutError otherwise, which the API
    answers with 503. A timeout cancels asyncpg's wait, but asyncpg then sends the server a
    cancel request and holds the connection until that is answered, which a stuck server
    never does (up to command_timeout more); so the connection is closed instead, and the
    pool opens a new one when it needs one. A connection the server ended while it sat idle
    in the pool (asyncpg's InternalClientError on its next use) is closed the same way."""
    conn = None
    try:
        async with asyncio.timeout(seconds):
            conn = await pool.acquire()
            yield conn
    except (TimeoutError, asyncio.CancelledError, asyncpg.InternalClientError):
        if conn is not None:
            conn.terminate()  # released at once: the pool gets its slot back, closed
        raise
    finally:
        if conn is not None:
            await pool.release(conn)


# Deadlines of a request's database work. On a hung PostgreSQL the client hears 503 (retry
# later) and the connection is closed, instead of waiting out command_timeout (10 s) and then
# asyncpg's cancel request, which a hung server never answers: about 20 s, with the pool slot
# held all that time. A healthy database takes at most statement_timeout (5 s) per statement.
REQUEST_DEADLINE = 6.0
# Requests that also run a language model or the opinion-group computation while they hold the
# connection (chat, statements, seeds, recomputing groups, the moderators' report).
MODEL_REQUEST_DEADLINE = 15.0


def for_request(
    pool: asyncpg.Pool, *, model: bool = False
) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
    """A pooled connection for one request's database work, bounded by REQUEST_DEADLINE, or by
    MODEL_REQUEST_DEADLINE with `model` (read when called, so tests can shorten them). The
    resident-facing intake routes have their own, shorter bound (the contract's 2 s)."""
    return within(pool, MODEL_REQUEST_DEADLINE if model else REQUEST_DEADLINE)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release without asyncpg's default reset (RESET ALL, UNLISTEN *, CLOSE ALL,
    advisory unlock): one round trip per request saved. Safe because no request leaves
    session state behind: no SET, LISTEN or cursors, and the only advisory locks are
    transaction-scoped or released in a finally block (migrations)."""
    if conn.is_in_transaction():  # a cancelled request; never hand out a connection mid-transaction
        await conn.execute("rollback")


async def create_pool(dsn: str, settings: Settings) -> asyncpg.Pool:
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            command_timeout=10,
            timeout=CONNECT_TIMEOUT,
            connect=_connect,
            reset=_keep_session,
            # Every statement has a deadline so a stuck database turns into a 503, not a hang.
            server_settings={"application_name": "straatstem", "statement_timeout": "5000"},
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL ({exc.__class__.__name__}); check DATABASE_URL") from None
    assert pool is not None
    return pool


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[tuple[asyncpg.Pool, list[str]]]:
    """A server process's database: the configured one (the embedded server started if needed),
    migrated, as a pool, with the migrations just applied. Closed (and the embedded server
    stopped) on exit."""
    dsn, embedded = await resolve_dsn(settings)
    try:
        pool = await create_pool(dsn, settings)
        try:
            async with pool.acquire() as conn:
                applied = await migrate(conn)
            yield pool, applied
        finally:
            await pool.close()
    finally:
        if embedded is not None:
            embedded.stop()
