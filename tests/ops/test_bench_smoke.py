"""The intake benchmark still runs end to end (a tiny run; figures come from full runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_intake_benchmark_runs_and_prints_its_table(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_")}
    result = subprocess.run([sys.executable, str(ROOT / "ops" / "bench" / "intake.py"), "--requests", "150",
                             "--concurrency", "8"], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| POST /v1/reports |" in result.stdout and "| bare POST (decode only) |" in result.stdout
    assert "reports stored: 450 (expected 450)" in result.stdout
    assert "201: 150" in result.stdout
