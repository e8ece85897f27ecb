"""Every benchmark still runs end to end, through `ops/bench/run_all --quick` (tiny sizes; the
figures come from full runs): each prints its own tables into the log, and together they give
the one summary table with baselines, ratios and targets that the README shows."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "ops" / "bench" / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    tmp = tmp_path_factory.mktemp("bench")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRAATSTEM_")}
    output = tmp / "out" / "latest.md"
    result = subprocess.run(
        [sys.executable, str(ROOT / "ops" / "bench" / "run_all.py"), "--quick", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp,
    )
    assert result.returncode == 0, result.stderr[-3000:] + output.with_suffix(".log").read_text()[-3000:]
    assert [p.name for p in tmp.iterdir()] == ["out"]  # nothing left behind in the working directory
    return output.read_text(), output.with_suffix(".log").read_text(), tmp


def test_the_summary_table_has_every_benchmark_with_its_baseline(quick_run: tuple[str, str, Path]) -> None:
    table, _, _ = quick_run
    assert "| benchmark | measure | value | baseline (same process) | ratio | target | met | peak RSS MB |" in table
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| benchmark")]
    for benchmark, measure in (
        ("intake, 1 worker(s)", "POST /v1/reports throughput"),
        ("intake, 2 worker(s)", "POST /v1/reports throughput"),
        ("releases, 3,000 reports", "staff release build"),
        ("releases, 3,000 reports", "heatmap p50 (gzip, as browsers ask)"),
        ("deliberation, 60 x 20", "recompute opinion groups (max)"),
        ("deliberation, 60 x 20", "GET .../next p99 (participants pausing)"),
        ("chat, 3 participants", "POST .../chat p99 (paced)"),
    ):
        row = next((r for r in rows if r.startswith(f"| {benchmark} | {measure} |")), None)
        assert row is not None, (benchmark, measure)
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert re.match(r"^[\d,.]+ (req/s|ms|s)$", cells[2]), row
        assert cells[6] in ("yes", "**no**"), row
    assert "did not run to the end" not in table


def test_each_benchmark_printed_its_own_tables(quick_run: tuple[str, str, Path]) -> None:
    _, log, _ = quick_run
    # Two configurations of two bare-then-intake rounds each.
    assert log.count("| POST /v1/reports |") == 4 and log.count("reports stored: 900 (expected 900)") == 2
    assert "release benchmark: 3,000 reports in 2026-10" in log and "| **release build (staff, 2026-10)** |" in log
    assert "200: 40 |" in log and "304: 40 |" in log and "target < 10 s met" in log
    assert "deliberation benchmark: 60 participants x 20 statements, 360 votes (30%)" in log
    assert "{200: 60}" in log  # every next answered
    assert "chat benchmark: 3 participants, 40 seed statements, sentence model: lexical fallback" in log
    statuses = re.findall(r"\| \{(\d+): \d+\} \|", log)
    assert statuses and set(statuses) == {"200"}  # every chat turn and every next answered


def test_the_readme_section_is_replaced_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_all = load_run_all()
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Performance\n{run_all.START}\nold table\n{run_all.END}\n\n## Next\n")
    monkeypatch.setattr(run_all, "README", readme)
    run_all.update_readme("| new | table |\n")
    assert readme.read_text() == f"# x\n\n## Performance\n{run_all.START}\n| new | table |\n{run_all.END}\n\n## Next\n"
    readme.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="no <!-- bench:start -->"):
        run_all.update_readme("| t |\n")
