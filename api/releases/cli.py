"""`straatstem release build --municipality SLUG --period 2026-10 | --all-due` and
`straatstem release list --municipality SLUG`."""

from __future__ import annotations

import argparse
import datetime as dt

import asyncpg

from aggregation import releases
from aggregation.releases import ReleaseError
from api.releases.service import release_config
from api.settings import Settings
from privacy.coarsen import AMSTERDAM
from privacy.periods import parse_period


class ReleaseCliError(Exception):
    """A one-line error for the operator (exit code 2)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    release = sub.add_parser("release", help="frozen heatmap releases")
    actions = release.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="build a closed period's release (stored once, never rebuilt)")
    build.add_argument("--municipality", help="municipality slug")
    build.add_argument("--period", help="a closed month (staff release, 2026-10) or quarter (public release, 2026-Q3)")
    build.add_argument("--all-due", action="store_true", help="build every release whose period has closed")
    listing = actions.add_parser("list", help="list a municipality's releases")
    listing.add_argument("--municipality", required=True)


def today() -> dt.date:
    return dt.datetime.now(AMSTERDAM).date()


async def run(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> list[str]:
    """Lines to print; ReleaseCliError for anything the operator must fix."""
    config = release_config(settings)
    if args.action == "list":
        rows = await conn.fetch(
            "select audience, period, k, length(body) as size from release where municipality = $1 "
            "order by audience desc, period",
            args.municipality,
        )
        return [f"{r['audience']}\t{r['period']}\tk={r['k']}\t{r['size']} bytes" for r in rows]
    if args.all_due:
        if args.period or args.municipality:
            raise ReleaseCliError("--all-due builds everything due; leave out --municipality and --period")
        lines = []
        for outcome in await releases.build_due(conn, config, today()):
            if outcome.built is not None:
                lines.append(_built(outcome.built))
            else:
                lines.append(f"{outcome.municipality} {outcome.audience} {outcome.period}: not built ({outcome.error})")
        return lines or ["nothing is due"]
    if not args.municipality or not args.period:
        raise ReleaseCliError("give --municipality and --period, or --all-due")
    try:
        period = parse_period(args.period)
    except ValueError as exc:
        raise ReleaseCliError(f"--period: {exc}") from None
    if period.kind == "year":
        raise ReleaseCliError("--period: releases are built per month (staff) or quarter (public); a year is their sum")
    audience: releases.Audience = "staff" if period.kind == "month" else "public"
    try:
        built = await releases.build(conn, config, args.municipality, audience, period, today())
    except ReleaseError as exc:
        raise ReleaseCliError(str(exc)) from None
    return [_built(built)]


def _built(built: releases.Built) -> str:
    return (
        f"built the {built.audience} release of {built.municipality} for {built.period}: {built.units} cells shown, "
        f"{built.suppressed} regions suppressed, {built.bytes} bytes"
    )
