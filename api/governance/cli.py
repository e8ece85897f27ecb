"""`straatstem governance [--output DIR] [--municipality SLUG] [--language nl|en] [--contact ADDRESS]`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from api.settings import Settings

if TYPE_CHECKING:
    from api.governance.documents import Options


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    governance = sub.add_parser(
        "governance",
        help="write the Algoritmeregister entries, DPIA skeleton, privacy notices and sub-processor list",
        description=(
            "Generate the governance documents from the running configuration (the same settings and database as "
            "`straatstem serve`), so they cannot drift from it: Algoritmeregister entries (JSON and markdown) for "
            "the heatmap releases and the chatbot per municipality, a DPIA skeleton with the live data inventory "
            "and epsilon ledger, the privacy notice for residents (nl and en), the sub-processors and a "
            "manifest.json with the settings fingerprint. Existing files of the same name are replaced; secrets "
            "are never written. Parts only a person can write are marked [IN TE VULLEN: ...] / [TO FILL IN: ...]."
        ),
    )
    governance.add_argument(
        "--output", "-o", type=Path, default=Path("governance"), help="folder to write to (default: ./governance)"
    )
    governance.add_argument(
        "--municipality", help="only this municipality's entries and ledger (default: every municipality)"
    )
    governance.add_argument(
        "--language",
        choices=("nl", "en"),
        default="nl",
        help="language of the DPIA, the sub-processor list and the register renderings (default: nl); the "
        "register JSON is always Dutch and the privacy notice is written in both",
    )
    governance.add_argument(
        "--contact",
        help="e-mail or https address for questions, filled into the register entries (default: a placeholder)",
    )


def options(args: argparse.Namespace) -> Options:
    from api.governance.documents import Options, check_contact

    return Options(
        output=args.output, municipality=args.municipality, language=args.language, contact=check_contact(args.contact)
    )


async def run(conn: asyncpg.Connection, chosen: Options, settings: Settings) -> list[str]:
    import datetime as dt

    from api.governance.documents import generate
    from privacy.coarsen import AMSTERDAM

    written = await generate(conn, settings, chosen, dt.datetime.now(AMSTERDAM).date())
    return [f"wrote {path}" for path in written]
