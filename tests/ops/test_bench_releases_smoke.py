"""The release benchmark still runs end to end (a tiny run; figures come from full runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_release_benchmark_runs_and_prints_its_tables(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_")}
    command = [
        sys.executable,
        str(ROOT / "ops" / "bench" / "releases.py"),
        *("--reports", "3000", "--cells", "300", "--requests", "40", "--concurrency", "4"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "release benchmark: 3,000 reports in 2026-10" in out
    for row in (
        "| data: COPY into report (not in target) |",
        "| **release build (staff, 2026-10)** |",
        "| build: COUNTS query (group by cell, category, band, felt) |",
        "| build: compose: OpenDP noise |",
        "| heatmap, first request (cold: decode release, render, cache) | 1 |",
        "| bare GET /bench/select1 (SELECT 1) | 40 |",
        "| GET heatmap 2026-10, city-wide, gzip (200) | 40 |",
        "| GET heatmap 2026-10, city-wide, uncompressed (200) | 40 |",
        "| GET heatmap, If-None-Match: ETag (304) | 40 |",
        "| diagnostic: SELECT 1 + static body of the heatmap's size | 40 |",
    ):
        assert row in out, row
    assert "200: 40 |" in out and "304: 40 |" in out
    assert "server peak RSS (largest process):" in out
    assert "target < 10 s met" in out  # a 3,000-report build takes well under a second
    assert "heatmap p50 (gzip, as browsers ask) x" in out and "heatmap p50 (uncompressed) x" in out
    assert not list(tmp_path.iterdir())  # nothing left behind in the working directory
