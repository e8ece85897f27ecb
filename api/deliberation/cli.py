"""`straatstem polis import DIR --municipality SLUG` and `straatstem polis export DISCUSSION
OUTDIR`, and `straatstem discussion recompute DISCUSSION`."""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

import asyncpg

from api.deliberation.engine import build_engine
from api.settings import Settings
from chatbot import polis_io
from chatbot.engine import Refused
from chatbot.polis_format import PolisFormatError


class DeliberationCliError(Exception):
    """A one-line error for the operator (exit code 2)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    polis = sub.add_parser("polis", help="Polis import and export")
    actions = polis.add_subparsers(dest="action", required=True)
    imp = actions.add_parser("import", help="import a Polis export folder as a new discussion")
    imp.add_argument("folder", type=Path, help="folder with comments.csv and votes.csv or participants-votes.csv")
    imp.add_argument("--municipality", required=True, help="municipality slug the discussion belongs to")
    imp.add_argument("--language", choices=("nl", "en"), default="en", help="language of the comments (default en)")
    imp.add_argument(
        "--state", choices=("draft", "open", "closed"), default="closed", help="state of the new discussion"
    )
    exp = actions.add_parser("export", help="write a discussion as a Polis export folder")
    exp.add_argument("discussion", help="discussion id")
    exp.add_argument("outdir", type=Path, help="folder to write (created if missing)")
    exp.add_argument("--overwrite", action="store_true", help="replace Polis files already in the folder")
    discussion = sub.add_parser("discussion", help="deliberation maintenance")
    d_actions = discussion.add_subparsers(dest="action", required=True)
    rec = d_actions.add_parser("recompute", help="recompute a discussion's opinion groups now")
    rec.add_argument("discussion", help="discussion id")


def _discussion_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise DeliberationCliError("the discussion must be given by its id (a UUID)") from None


async def run(conn: asyncpg.Connection, args: argparse.Namespace, settings: Settings) -> list[str]:
    engine = build_engine(settings)
    try:
        if args.command == "discussion":
            version, snap = await engine.recompute(conn, _discussion_id(args.discussion))
            sizes = ", ".join(str(g.size) for g in snap.groups) or "none"
            return [f"version {version}: {snap.method}; {snap.in_conversation} in conversation; groups: {sizes}"]
        if args.action == "import":
            exists = await conn.fetchval("select 1 from municipality where slug = $1", args.municipality)
            if not exists:
                raise DeliberationCliError(f"no municipality {args.municipality!r}; add it first")
            done = await polis_io.import_folder(
                conn, engine, args.folder, args.municipality, language=args.language, state=args.state
            )
            version, snap = await engine.snapshot(conn, done.discussion)
            sizes = ", ".join(str(g.size) for g in snap.groups) or "none"
            return [
                f"imported discussion {done.discussion}: {done.participants} participants, "
                f"{done.statements} statements, {done.votes} votes; groups: {sizes}"
            ]
        written = await polis_io.export_folder(
            conn, engine, _discussion_id(args.discussion), args.outdir, overwrite=args.overwrite
        )
        return [f"wrote {path}" for path in written]
    except PolisFormatError as exc:
        raise DeliberationCliError(str(exc)) from None
    except Refused as refused:
        raise DeliberationCliError(refused.detail) from None
