"""Helpers the benchmarks share: a fresh database (dropped afterwards), the bench server's
environment and lifetime, a free local port, the server's peak resident memory, and the
summary rows that ops/bench/run_all gathers into one table."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_server(port: int, server: subprocess.Popen[bytes]) -> None:
    """Block until the bench server accepts connections on `port` (exit if it dies or takes
    more than a minute)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("bench server did not start") from None
            time.sleep(0.2)


def peak_rss_mb(pid: int) -> float:
    """Largest peak RSS (VmHWM) among the server process and its workers."""
    import psutil

    peaks = []
    for process in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=float("nan"))


async def create_database(data_dir: Path) -> tuple[str, Any]:
    """A fresh, empty database: on the server in DATABASE_URL when set, otherwise in an embedded
    PostgreSQL started in `data_dir`. Returns its DSN and the embedded server (or None)."""
    import asyncpg

    from api import db

    base = os.environ.get("DATABASE_URL")
    if base:
        name = f"straatstem_bench_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(base)
        await conn.execute(f'create database "{name}"')
        await conn.close()
        return db.with_database(base, name), None
    embedded = db.EmbeddedPostgres(data_dir)
    admin = embedded.start()
    conn = await asyncpg.connect(admin)
    await conn.execute("drop database if exists straatstem_bench")
    await conn.execute("create database straatstem_bench")
    await conn.close()
    return db.with_database(admin, "straatstem_bench"), embedded


async def drop_database(base: str, dsn: str) -> None:
    import asyncpg

    name = unquote(urlsplit(dsn).path.lstrip("/"))
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_database(data_dir: Path) -> Iterator[str]:
    """The DSN of a fresh database for one run (`create_database`); afterwards the embedded
    server is stopped, or the database is dropped from the server in DATABASE_URL."""
    dsn, embedded = asyncio.run(create_database(data_dir))
    try:
        yield dsn
    finally:
        if embedded is not None:
            embedded.stop()
        else:
            asyncio.run(drop_database(os.environ["DATABASE_URL"], dsn))


def server_env(dsn: str, data_dir: Path | str, **settings: str) -> dict[str, str]:
    """The bench server's environment: this database, a random secret, quiet logs, no
    background jobs during measurements, plus `settings` (names without the STRAATSTEM_ prefix)."""
    env = dict(
        os.environ,
        DATABASE_URL=dsn,
        STRAATSTEM_SECRET_KEY=secrets.token_hex(32),
        STRAATSTEM_DATA_DIR=str(data_dir),
        STRAATSTEM_LOG_LEVEL="WARNING",
        STRAATSTEM_RUN_JOBS="false",
    )
    env.update({f"STRAATSTEM_{name}": value for name, value in settings.items()})
    return env


@contextlib.contextmanager
def bench_server(command: list[str], port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The server process of a bench, accepting connections on `port`; terminated afterwards."""
    server = subprocess.Popen(command, env=env)
    try:
        wait_for_server(port, server)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=20)


SUMMARY_ENV = "STRAATSTEM_BENCH_SUMMARY"


def summarize(
    benchmark: str,
    measure: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_name: str = "",
    target: str = "",
    met: bool | None = None,
    rss_mb: float | None = None,
) -> None:
    """One headline figure of a benchmark, appended as a JSON line to the file named by
    STRAATSTEM_BENCH_SUMMARY (set by run_all); without it, nothing happens. `baseline` is
    the same measure of the baseline run in the same process, so the ratio is meaningful."""
    path = os.environ.get(SUMMARY_ENV)
    if not path:
        return
    row = {
        "benchmark": benchmark,
        "measure": measure,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": value / baseline if baseline else None,
        "target": target,
        "met": met,
        "rss_mb": rss_mb,
    }
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
