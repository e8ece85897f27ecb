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
