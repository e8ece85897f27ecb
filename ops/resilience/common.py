"""What the resilience scripts share: their own PostgreSQL and API server (both of which the
scripts kill, so neither may be a server someone else uses), and a client that follows the
mobile contract (mobile-contract/README.md) to the letter.

The PostgreSQL is a pgserver data directory in a temporary folder, reachable by Unix socket
only. It is killed the way a crash kills it (SIGKILL of the postmaster, whose pid is the first
line of postmaster.pid) and started again on the same data directory, so the restart runs
PostgreSQL's own crash recovery. The API is `straatstem serve` in its own process group, so a
kill takes every worker with it, restarted on the same port. DATABASE_URL is ignored: the
scripts kill what they use.

The client: one submission is created once (submission id, receipt, form values) and every
attempt sends exactly the same body with a freshly fetched and solved challenge. 201 and 200
acknowledge; a network error, a timeout or a 5xx means retry after the larger of an
exponential backoff with jitter and Retry-After; 400 proof-of-work problems mean retry with a
new challenge; 429 keeps the report queued for another day, which within a run is a refusal;
every other 4xx is a definite refusal. Receipts, submission ids and the X-Forwarded-For
addresses the client sends never leave this process: nothing here prints them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CENTER = "52.0799,4.3247"  # Den Haag
DATABASE = "straatstem"
CATEGORIES = ("verbal", "nonverbal", "following", "physical", "threat")
BANDS = ("night", "morning", "afternoon", "evening")
RESPONSE_DEADLINE = 2.0  # the bound for a 503 while the database is down or hung
# How the API is started; RESILIENCE_SERVE (a command line, split on spaces) replaces it to
# try a change to the server before it is made in api/.
SERVE = os.environ.get("RESILIENCE_SERVE", f"{sys.executable} -m api.cli").split()
CLIENT_TIMEOUT = 10.0  # a client gives up waiting for one answer after this long (then retries)


class Failure(Exception):
    """A resilience requirement that does not hold; the message is the one-line reason."""


def check(condition: bool, reason: str) -> None:
    if not condition:
        raise Failure(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    """True while `pid` runs; a zombie (dead, not yet reaped by whoever adopted it) is dead."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_dead(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            raise Failure(f"processes {pids} still run {timeout:.0f} s after SIGKILL")
        time.sleep(0.02)


# --- PostgreSQL -----------------------------------------------------------------------------


class Postgres:
    """A PostgreSQL of our own in `data`: initialised by pgserver (which also handles running
    as root through its `pgserver` system user), then run here as a child process of this
    script, so a killed postmaster is reaped at once (a dead but unreaped postmaster still
    owns postmaster.pid, and PostgreSQL refuses to start until whoever adopted it reaps it)."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.log = data / "log"
        self.user: str | None = None
        self.socket_dir: Path | None = None
        self.admin_dsn = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._paused: list[int] = []

    def init(self) -> None:
        import logging
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about a missing XDG_RUNTIME_DIR
            import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        server = pgserver.get_server(self.data, cleanup_mode=None)  # type: ignore[attr-defined]
        info = server.get_postmaster_info()
        self.user = server.system_user
        self.socket_dir = info.socket_dir
        self.admin_dsn = info.get_uri()
        self.stop()  # pgserver started it with pg_ctl, detached; from now on it is our child
        self.start()

    @property
    def bin(self) -> Path:
        import pgserver

        return Path(pgserver.__file__).parent / "pginstall" / "bin"

    def dsn(self, database: str) -> str:
        return self.admin_dsn.replace("/postgres?", f"/{database}?", 1)

    def _pid_file(self) -> list[str]:
        try:
            return (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def pid(self) -> int | None:
        """The postmaster's pid from postmaster.pid, if that process runs."""
        lines = self._pid_file()
        try:
            pid = int(lines[0])
        except (IndexError, ValueError):
            return None
        return pid if _alive(pid) else None

    def processes(self) -> list[int]:
        """The postmaster and its children (backends and auxiliary processes)."""
        import psutil

        pid = self.pid()
        if pid is None:
            return []
        try:
            return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def _reap(self) -> None:
        if self.proc is not None:
            self.proc.wait(timeout=30)
            self.proc = None

    def start(self, timeout: float = 30) -> float:
        """Start on the same data directory (with crash recovery after a kill); returns the
        seconds until it accepts connections. Orphaned backends of a killed postmaster keep
        the old shared memory attached for a moment, during which a start is refused: retry."""
        began = time.monotonic()
        deadline = began + timeout
        while True:
            with self.log.open("ab") as out:
                self.proc = subprocess.Popen(
                    [str(self.bin / "postgres"), "-D", str(self.data), "-h", "", "-k", str(self.socket_dir)],
                    user=self.user,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            while self.proc.poll() is None:
                lines = self._pid_file()
                if len(lines) >= 8 and lines[0] == str(self.proc.pid) and lines[7].strip() == "ready":
                    return time.monotonic() - began
                if time.monotonic() > deadline:
                    raise Failure(f"PostgreSQL did not start within {timeout:.0f} s (see {self.log})")
                time.sleep(0.02)
            self.proc = None
            if time.monotonic() > deadline:
                raise Failure(f"PostgreSQL did not start within {timeout:.0f} s (see {self.log})")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL of the postmaster only, as a crash would do it: its backends notice and exit."""
        pid = self.pid()
        check(pid is not None, "PostgreSQL is not running, cannot kill it")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        if self.proc is not None and self.proc.pid == pid:
            self._reap()
        _wait_dead([pid], 10)

    def stop(self, mode: str = "fast") -> None:
        result = subprocess.run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        check(result.returncode == 0, f"pg_ctl stop -m {mode} failed: {result.stderr.strip()[:200]}")
        self._reap()

    def pause(self) -> int:
        """SIGSTOP the postmaster first (so it forks nothing new), then every child: a database
        that hangs instead of failing. Returns the number of processes stopped."""
        pid = self.pid()
        check(pid is not None, "PostgreSQL is not running, cannot pause it")
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        self._paused = [pid]
        for child in self.processes()[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGSTOP)
                self._paused.append(child)
        return len(self._paused)

    def resume(self) -> None:
        for pid in reversed(self._paused):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self._paused = []

    def close(self) -> None:
        """Stop whatever is left of this server (also after a failed run)."""
        self.resume()
        if self.pid() is None:
            self._reap()
            return
        try:
            self.stop("immediate")
        except (Failure, subprocess.TimeoutExpired):
            pids = self.processes()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self._reap()
            _wait_dead(pids, 10)


async def prepare_database(pg: Postgres, radius_km: float = 2.0) -> list[str]:
    """A fresh `straatstem` database, migrated, with one municipality added by the product's
    own code; returns the municipality's cells (hex)."""
    import asyncpg

    from api import db
    from api.municipalities import service
    from privacy import location

    admin = await asyncpg.connect(pg.admin_dsn)
    try:
        await admin.execute(f"drop database if exists {DATABASE} with (force)")
        await admin.execute(f"create database {DATABASE}")
    finally:
        await admin.close()
    conn = await asyncpg.connect(pg.dsn(DATABASE))
    try:
        await db.migrate(conn)
        cells = service.cells_from_circle(CENTER, radius_km)
        await service.add(conn, "den-haag", "Den Haag", cells)
    finally:
        await conn.close()
    return [location.cell_hex(c) for c in sorted(cells)]


async def stored_reports(pg: Postgres) -> list[tuple[str, str | None]]:
    """(report id, submission id) of every stored report."""
    import asyncpg

    conn = await asyncpg.connect(pg.dsn(DATABASE))
    try:
        rows = await conn.fetch("select id::text, submission_id::text from report")
    finally:
        await conn.close()
    return [(r[0], r[1]) for r in rows]


# --- the API server -------------------------------------------------------------------------


class Api:
    """`straatstem serve` on a fixed port, in its own process group, against our PostgreSQL."""

    def __init__(self, workdir: Path, dsn: str, *, workers: int = 1) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "api.log"
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_") and k != "DATABASE_URL"}
        env.update(
            DATABASE_URL=dsn,
            STRAATSTEM_DATA_DIR=str(workdir / "api"),
            STRAATSTEM_SECRET_KEY=secrets.token_hex(32),
            STRAATSTEM_RUN_JOBS="false",
            STRAATSTEM_NLP_MODEL="lexical",
            STRAATSTEM_LOG_LEVEL="WARNING",
            # Distinct X-Forwarded-For addresses per report from a trusted local proxy, and a
            # generous cap, so rate caps never refuse what this test sends.
            STRAATSTEM_TRUSTED_PROXIES="127.0.0.1/32",
            STRAATSTEM_RATE_LIMIT_PER_DAY="1000",
            STRAATSTEM_RATE_LIMIT_PER_CELL="1000",
            STRAATSTEM_POW_MAX_NUMBER="1000",
        )
        self.env = env

    def start(self, timeout: float = 60) -> float:
        """Start and wait until /readyz answers 200; returns the seconds that took."""
        import httpx

        began = time.monotonic()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*SERVE, "serve", "--port", str(self.port), "--workers", str(self.workers)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=ROOT,
                start_new_session=True,
            )
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return time.monotonic() - began
            if self.proc.poll() is not None:
                raise Failure(f"the API exited with {self.proc.returncode} while starting (see {self.log})")
            if time.monotonic() - began > timeout:
                raise Failure(f"the API was not ready within {timeout:.0f} s (see {self.log})")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL of the whole process group (server and workers), as a crash would do it."""
        check(self.proc is not None and self.proc.poll() is None, "the API is not running, cannot kill it")
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@contextlib.contextmanager
def stack(name: str, *, workers: int = 1, keep: bool = False) -> Iterator[tuple[Postgres, Api, list[str]]]:
    """A temporary folder with our own PostgreSQL (fresh database, one municipality) and a
    started API; everything stopped and removed afterwards (kept with `keep`, for reading the
    logs of a failed run)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"straatstem-{name}-"))
    pg = Postgres(workdir / "pg")
    api: Api | None = None
    failed = True
    try:
        pg.init()
        cells = asyncio.run(prepare_database(pg))
        api = Api(workdir, pg.dsn(DATABASE), workers=workers)
        api.start()
        yield pg, api, cells
        failed = False
    finally:
        if api is not None:
            api.close()
        pg.close()
        if keep or failed:
            print(f"  ({name}: logs kept in {workdir})", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


# --- the client -----------------------------------------------------------------------------

ACK, RETRY, REFUSED = "ack", "retry", "refused"
POW_PROBLEMS = frozenset({"proof-of-work-required", "invalid-proof-of-work", "proof-of-work-replayed"})


def classify(status: int | None, problem_type: str | None, report_id: str | None) -> str:
    """What the mobile contract tells a client to do with an answer (None: no answer at all)."""
    if status in (200, 201) and report_id:
        return ACK
    if status is None or status >= 500:
        return RETRY
    if status == 400 and (problem_type or "").rsplit("/", 1)[-1] in POW_PROBLEMS:
        return RETRY  # fetch a new challenge and send again
    return REFUSED  # 429 waits for another day, which this run does not have; the rest are final


def backoff(failures: int, retry_after: float | None, rng: random.Random, base: float, cap: float) -> float:
    """Exponential backoff with full jitter, never shorter than the server's Retry-After."""
    delay = rng.uniform(0, min(cap, base * 2 ** max(0, failures - 1)))
    return max(delay, retry_after or 0.0)


def retry_after_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass
class Report:
    """One report as the client creates it once: the body never changes between attempts."""

    submission_id: str
    body: bytes = field(repr=False)  # holds the receipt
    forwarded_for: str = field(repr=False)
    attempts: int = 0
    acked: str | None = None  # the report id of the acknowledgement
    ack_ids: set[str] = field(default_factory=set)
    refused: str | None = None  # status and problem type of a definite refusal

    @classmethod
    def make(cls, rng: random.Random, cells: list[str], index: int) -> Report:
        body = {
            "submission_id": str(uuid.uuid4()),
            "receipt": secrets.token_hex(16),
            "cell": rng.choice(cells),
            "category": rng.choice(CATEGORIES),
            "role": rng.choice(["victim", "witness"]),
            "band": rng.choice(BANDS),
            "language": "nl",
            "felt_safety": rng.randint(1, 5),
        }
        if index % 5 == 0:
            body["description"] = "Iemand riep dingen naar me bij de tramhalte."
        address = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
        return cls(body["submission_id"], json.dumps(body).encode(), address)  # type: ignore[arg-type]


@dataclass
class Attempt:
    status: int | None  # None: no HTTP answer (refused, reset, timeout)
    problem_type: str | None = None
    retry_after: float | None = None
    report_id: str | None = None
    error: str | None = None  # the exception class of a failed exchange
    seconds: float = 0.0  # the POST alone, from sending to the full answer

    @property
    def verdict(self) -> str:
        return classify(self.status, self.problem_type, self.report_id)


async def solved_challenge(session: Any, base: str) -> str:
    """GET /v1/challenge and solve it as an app does; the X-Altcha header value."""
    import aiohttp

    from privacy import pow as pow_

    async with session.get(f"{base}/v1/challenge", timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)) as response:
        if response.status != 200:
            raise ConnectionError(f"challenge answered {response.status}")
        data = await response.json()
    return pow_.solve(pow_.Challenge.from_wire(data))


async def post_report(session: Any, base: str, report: Report, altcha: str) -> Attempt:
    import aiohttp

    headers = {"Content-Type": "application/json", "X-Altcha": altcha, "X-Forwarded-For": report.forwarded_for}
    began = time.monotonic()
    try:
        async with session.post(
            f"{base}/v1/reports", data=report.body, headers=headers, timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
        ) as response:
            raw = await response.read()
            seconds = time.monotonic() - began
            try:
                data = json.loads(raw) if raw else {}
            except ValueError:
                data = {}
            data = data if isinstance(data, dict) else {}
            return Attempt(
                response.status,
                data.get("type") if response.status >= 400 else None,
                retry_after_seconds(response.headers.get("Retry-After")),
                data.get("id") if response.status < 300 else None,
                seconds=seconds,
            )
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Attempt(None, error=exc.__class__.__name__, seconds=time.monotonic() - began)


async def attempt(session: Any, base: str, report: Report) -> Attempt:
    """One attempt: a fresh solved challenge, then the unchanged body."""
    import aiohttp

    report.attempts += 1
    try:
        altcha = await solved_challenge(session, base)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError) as exc:
        return Attempt(None, error=f"challenge: {exc.__class__.__name__}")
    result = await post_report(session, base, report, altcha)
    if result.verdict == ACK:
        assert result.report_id is not None
        report.ack_ids.add(result.report_id)
        report.acked = report.acked or result.report_id
    elif result.verdict == REFUSED:
        report.refused = f"{result.status} {result.problem_type}"
    return result


def session(limit: int = 1) -> Any:
    """An HTTP client session: `limit` keep-alive connections, as one phone would hold."""
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit, force_close=False))


def table(rows: list[tuple[str, object]]) -> str:
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name.ljust(width)}  {value}" for name, value in rows)


async def timed_get(session: Any, url: str) -> tuple[int | None, float]:
    """(status or None without an answer, seconds) of one GET."""
    import aiohttp

    began = time.monotonic()
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)) as response:
            await response.read()
            return response.status, time.monotonic() - began
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None, time.monotonic() - began
