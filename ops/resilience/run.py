"""Run the three resilience scripts one after the other and print one summary.

    python ops/resilience/run.py --quick            # the bounded form CI runs (about a minute)
    python ops/resilience/run.py --kills 10 --clients 32 --samples 10

- db_outage.py: PostgreSQL killed, stopped and hung; submissions answer 503 with Retry-After
  in under 2 s, /readyz 503, /healthz 200, recovery without restarting the API;
- crash_test.py: kill -9 of the API and PostgreSQL under concurrent submissions; every
  acknowledged report stored exactly once and nothing else;
- shutdown.py: SIGTERM under load drains the requests in flight and exits 0.

Each script starts its own PostgreSQL and API in a temporary folder and ignores DATABASE_URL.
Exits 1 if any of them fails, with one line per failure saying why.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ops.resilience import crash_test, db_outage, shutdown
from ops.resilience.common import Failure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small bounded runs, for CI")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random choice (printed)")
    parser.add_argument("--samples", type=int, help="db_outage: submissions per outage and connection kind")
    parser.add_argument("--clients", type=int, help="crash_test: concurrent clients")
    parser.add_argument("--kills", type=int, help="crash_test: kills")
    parser.add_argument("--workers", type=int, default=1, help="crash_test: API worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders with the logs")
    args = parser.parse_args(argv)
    samples = args.samples or (3 if args.quick else 5)
    clients = args.clients or (12 if args.quick else 16)
    kills = args.kills if args.kills is not None else (4 if args.quick else 6)
    if samples < 1 or clients < 1 or kills < 0 or not 1 <= args.workers <= 8:
        parser.error("--samples and --clients must be >= 1, --kills >= 0, --workers 1-8")

    scripts: list[tuple[str, Callable[[], list[str]]]] = [
        ("db_outage", lambda: db_outage.run(samples, args.seed, args.keep)),
        ("crash_test", lambda: crash_test.run(clients, kills, args.seed, args.workers, args.keep)),
        ("shutdown", lambda: shutdown.run(8, 4, args.seed, args.keep)),
    ]
    summary: list[str] = []
    failures: list[str] = []
    began = time.monotonic()
    for name, script in scripts:
        print(f"\n## {name}\n", flush=True)
        started = time.monotonic()
        try:
            print("\n".join(script()), flush=True)
        except Failure as failure:
            failures.append(f"{name}: {failure}")
        except Exception as exc:  # a broken environment or a bug in the script: still one line
            failures.append(f"{name}: {exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        outcome = "FAILED" if failures and failures[-1].startswith(f"{name}:") else "ok"
        summary.append(f"  {name:<11} {outcome:<6} {time.monotonic() - started:5.1f} s")
    print(f"\n## summary (seed {args.seed}, {time.monotonic() - began:.0f} s)\n")
    print("\n".join(summary))
    for failure in failures:
        print(f"resilience: FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
