"""The chat benchmark still runs end to end (a tiny run on the lexical fallback; the figures
come from full runs with the sentence model)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_chat_benchmark_runs_and_prints_its_table(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_")}
    command = [
        sys.executable,
        str(ROOT / "ops" / "bench" / "chat.py"),
        *("--participants", "3", "--votes", "2", "--think-ms", "5", "--model", "lexical"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "chat benchmark: 3 participants, 40 seed statements, sentence model: lexical fallback" in out
    assert "| 3 participants, ~5 ms pauses | POST .../chat (all turns) | " in out
    assert "POST /bench/echo (baseline)" in out
    statuses = re.findall(r"\{(\d+): \d+\}", out)
    assert statuses and set(statuses) == {"200"}  # every chat turn of both runs answered
    assert "target: chat p99 < 150 ms" in out
