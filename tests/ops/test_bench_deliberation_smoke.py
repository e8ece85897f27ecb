"""The deliberation benchmark still runs end to end (a tiny run; figures come from full runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_deliberation_benchmark_runs_and_prints_its_tables(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_")}
    command = [
        sys.executable,
        str(ROOT / "ops" / "bench" / "deliberation.py"),
        *("--participants", "60", "--statements", "20", "--rounds", "1", "--requests", "60"),
        *("--concurrency", "6", "--think-ms", "5", "--flat-out", "3"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "deliberation benchmark: 60 participants x 20 statements, 360 votes (30%)" in out
    assert "| recompute groups (read + compute + store) |" in out
    assert "| 6 participants, ~5 ms pauses | " in out and "GET .../next |" in out
    assert "{200: 60}" in out  # every next answered
    assert "targets: recompute < 2 s:" in out
