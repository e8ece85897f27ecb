"""Runs every benchmark of the project and writes one markdown table of the headline figures,
each beside its baseline measured in the same process, with the ratio and the target.

    .venv/bin/python ops/bench/run_all.py [--quick] [--output FILE] [--update-readme]
    (or: bash ops/bench/run_all ...)

Each benchmark still prints its own detailed tables (kept in the log next to the output
file); the headline rows come from `common.summarize`, which every benchmark calls. Without
--quick the benchmarks run at the sizes the README quotes (about 4 minutes on 2 cores);
--quick runs them small, to check the machinery (the figures then mean little). With
--update-readme the table replaces the one between the README's `bench:start`/`bench:end`
markers. Exits non-zero when a benchmark fails to run (a missed target is reported, not an
error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

# name -> (script, full-size arguments, quick arguments)
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "intake (1 worker)": (
        "intake.py",
        ["--requests", "20000", "--workers", "1"],
        ["--requests", "300", "--rounds", "2"],
    ),
    "intake (2 workers)": (
        "intake.py",
        ["--requests", "20000", "--workers", "2"],
        ["--requests", "300", "--workers", "2", "--rounds", "2"],
    ),
    "releases": ("releases.py", [], ["--reports", "3000", "--cells", "300", "--requests", "40", "--concurrency", "4"]),
    "deliberation": (
        "deliberation.py",
        [],
        [
            *("--participants", "60", "--statements", "20", "--rounds", "1", "--requests", "60"),
            *("--concurrency", "6", "--think-ms", "5", "--flat-out", "3"),
        ],
    ),
    "chat": ("chat.py", [], ["--participants", "3", "--votes", "2", "--think-ms", "5", "--model", "lexical"]),
}


def run(name: str, script: str, args: list[str], summary: Path, log: Path) -> tuple[bool, float]:
    env = {**os.environ, "STRAATSTEM_BENCH_SUMMARY": str(summary)}
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n## {name}: {script} {' '.join(args)}\n\n")
        out.flush()
        done = subprocess.run([sys.executable, str(HERE / script), *args], stdout=out, stderr=out, env=env)
    return done.returncode == 0, time.monotonic() - started


def fmt(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def table(rows: list[dict[str, Any]], failed: list[str], header: str) -> str:
    lines = [
        header,
        "",
        "| benchmark | measure | value | baseline (same process) | ratio | target | met | peak RSS MB |",
        "| --- | --- | ---: | --- | ---: | --- | --- | ---: |",
    ]
    for row in rows:
        baseline = row["baseline"]
        named = f" ({row['baseline_name']})" if row["baseline_name"] else ""
        base_text = f"{fmt(baseline)} {row['unit']}{named}" if baseline is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[row["met"]]
        lines.append(
            f"| {row['benchmark']} | {row['measure']} | {fmt(row['value'])} {row['unit']} | {base_text} | "
            f"{fmt(row['ratio'])} | {row['target']} | {met} | {fmt(row['rss_mb'])} |"
        )
    for name in failed:
        lines.append(f"| {name} | did not run to the end (see the log) | | | | | **no** | |")
    return "\n".join(lines) + "\n"


def update_readme(markdown: str) -> None:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"run_all: error: README.md has no {START} ... {END} section to update")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    README.write_text(f"{before}{START}\n{markdown}{END}{after}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the machinery, not the figures")
    parser.add_argument("--output", type=Path, default=ROOT / "test-output" / "bench" / "latest.md")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only these (repeatable)")
    parser.add_argument("--update-readme", action="store_true", help="put the table into README.md")
    args = parser.parse_args()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    log = args.output.with_suffix(".log")
    log.write_text(f"# benchmark log {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n", encoding="utf-8")
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    total = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="straatstem-bench-all-") as tmp:
        for name, (script, full, quick) in BENCHMARKS.items():
            if args.only and name not in args.only:
                continue
            summary = Path(tmp) / f"{script}.{len(rows)}.jsonl"
            ok, seconds = run(name, script, quick if args.quick else full, summary, log)
            print(f"run_all: {name}: {'done' if ok else 'FAILED'} in {seconds:.0f} s", file=sys.stderr)
            if not ok:
                failed.append(name)
            if summary.exists():
                rows.extend(json.loads(line) for line in summary.read_text(encoding="utf-8").splitlines())
    database = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded PostgreSQL (pgserver)"
    header = (
        f"Benchmarks{' (--quick: machinery check, not figures)' if args.quick else ''}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{database}; `bash ops/bench/run_all{' --quick' if args.quick else ''}` "
        f"({time.monotonic() - total:.0f} s; details in {log.relative_to(ROOT) if log.is_relative_to(ROOT) else log}):"
    )
    markdown = table(rows, failed, header)
    args.output.write_text(markdown, encoding="utf-8")
    print(markdown)
    if args.update_readme:
        update_readme(markdown)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
