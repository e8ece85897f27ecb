"""A straatstem server as a real process for tests: started with the given CLI arguments and
environment, ready once /readyz answers 200, stopped afterwards; its output goes to a log."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests import logscan


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_process(args: list[str], env: dict[str, str], log_path: Path, timeout: float = 60) -> Iterator[str]:
    """`python -m api.cli <args> --port <free>`; yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logscan.watch_file(log_path)
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", *args, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@contextmanager
def demo_server(dsn: str, prefix: str, data_dir: Path, **settings: str) -> Iterator[tuple[str, str]]:
    """`straatstem demo` on a database of its own, created on the server of `dsn` and dropped
    afterwards (other tests empty theirs between tests); fast proof-of-work, no rate caps that
    a test run would hit, no background jobs, the lexical NLP fallback. Yields (base URL, DSN)."""
    import asyncio
    import os
    import secrets

    import asyncpg

    from api import db

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'create database "{name}"'))
    own = db.with_database(dsn, name)
    env = dict(
        os.environ,
        DATABASE_URL=own,
        STRAATSTEM_DATA_DIR=str(data_dir),
        STRAATSTEM_POW_MAX_NUMBER="1000",
        STRAATSTEM_RATE_LIMIT_PER_DAY="1000",
        STRAATSTEM_RATE_LIMIT_PER_CELL="1000",
        STRAATSTEM_RUN_JOBS="false",
        STRAATSTEM_NLP_MODEL="lexical",
        **{f"STRAATSTEM_{key.upper()}": value for key, value in settings.items()},
    )
    try:
        with server_process(["demo", "--host", "127.0.0.1"], env, data_dir / "server.log", timeout=120) as base:
            yield base, own
    finally:
        asyncio.run(admin(f'drop database if exists "{name}" with (force)'))
