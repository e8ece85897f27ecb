"""The `straatstem` command. Errors an operator can fix are printed as one line and exit 2."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from api import db
from api import logging as slog
from api.settings import Settings, SettingsError, load_settings


class CliError(Exception):
    """An error for the operator: printed as one line, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="straatstem", description="straatstem server and tools")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations and serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (one per core in production)")

    demo = sub.add_parser("demo", help="serve with three demo municipalities and synthetic reports")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--workers", type=int, default=1)

    sub.add_parser("migrate", help="apply database migrations and exit")

    actions = sub.add_parser("actions", help="serve the Rasa custom actions (rasa-sdk action server)")
    actions.add_argument("--host", default="127.0.0.1")
    actions.add_argument("--port", type=int, default=5055)

    openapi = sub.add_parser("openapi", help="write the OpenAPI 3.1 document and test vectors of the mobile contract")
    openapi.add_argument("--output", "-o", type=Path, default=Path("mobile-contract"), help="contract folder")

    muni = sub.add_parser("municipality", help="manage municipalities")
    muni_sub = muni.add_subparsers(dest="action", required=True)
    add = muni_sub.add_parser("add", help="add a municipality and its coverage")
    add.add_argument("--slug", required=True)
    add.add_argument("--name", required=True)
    area = add.add_mutually_exclusive_group(required=True)
    area.add_argument("--boundary", type=Path, help="GeoJSON Polygon/MultiPolygon/Feature(Collection)")
    area.add_argument("--center", help="LAT,LNG (use with --radius-km)")
    add.add_argument("--radius-km", type=float)
    muni_sub.add_parser("list", help="list municipalities")

    retention = sub.add_parser("retention", help="data retention")
    retention_sub = retention.add_subparsers(dest="action", required=True)
    retention_sub.add_parser("run", help="delete what has passed its retention horizon")

    reports = sub.add_parser("reports", help="report tools")
    reports_sub = reports.add_subparsers(dest="action", required=True)
    imp = reports_sub.add_parser("import", help="import historical reports (CSV or JSONL)")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--accept-valid",
        action="store_true",
        help="store the valid rows even if some are rejected (default: all or nothing)",
    )

    staff = sub.add_parser("staff", help="manage staff accounts")
    staff_sub = staff.add_subparsers(dest="action", required=True)
    staff_add = staff_sub.add_parser("add", help="add a staff account; the password is read from stdin")
    staff_add.add_argument("--email", required=True)
    staff_add.add_argument("--municipality", required=True, help="slug of the staff member's municipality")
    staff_add.add_argument("--role", required=True, help="analyst, moderator or admin")
    staff_add.add_argument("--password-stdin", action="store_true", help="read the password (one line) from stdin")
    staff_totp = staff_sub.add_parser("totp", help="enrol a new TOTP second factor; prints the otpauth:// URI once")
    staff_totp.add_argument("--email", required=True)
    staff_disable = staff_sub.add_parser("disable", help="disable an account and end its sessions")
    staff_disable.add_argument("--email", required=True)
    staff_list = staff_sub.add_parser("list", help="list the staff accounts of a municipality")
    staff_list.add_argument("--municipality", required=True)
    staff_end = staff_sub.add_parser(
        "sessions-end", help="end every staff session (after a suspected leak, or to rotate sessions)"
    )
    which = staff_end.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="of every municipality")
    which.add_argument("--municipality", help="of this municipality only")

    from api.releases import cli as release_cli

    release_cli.add_parser(sub)
    from api.deliberation import cli as deliberation_cli

    deliberation_cli.add_parser(sub)
    from api.governance import cli as governance_cli

    governance_cli.add_parser(sub)
    return parser


async def _with_database(
    settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[Any]], *, migrate_first: bool = True
) -> Any:
    dsn, embedded = await db.resolve_dsn(settings)
    try:
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError) as exc:
            raise db.DatabaseError(
                f"cannot connect to PostgreSQL ({exc.__class__.__name__}); check DATABASE_URL"
            ) from None
        try:
            if migrate_first:
                await db.migrate(conn)
            return await work(conn)
        finally:
            await conn.close()
    finally:
        if embedded is not None:
            embedded.stop()


async def _prepare_database(settings: Settings, dsn: str, *, demo: bool) -> list[str]:
    pool = await db.create_pool(dsn, settings)
    try:
        async with pool.acquire() as conn:
            await db.migrate(conn)
        if demo:
            from api.demo import ensure_demo_data

            return await ensure_demo_data(pool, settings)
        return []
    finally:
        await pool.close()


def _serve(settings: Settings, host: str, port: int, *, demo: bool, workers: int) -> None:
    """The parent process owns the database: it starts the embedded server if needed, applies
    migrations and demo data once, then hands workers the DSN through DATABASE_URL."""
    from api import server

    if not 1 <= workers <= 64:
        raise CliError("--workers must be between 1 and 64")
    dsn, embedded = asyncio.run(db.resolve_dsn(settings))
    try:
        notes = asyncio.run(_prepare_database(settings, dsn, demo=demo))
        os.environ["DATABASE_URL"] = dsn
        base = f"http://{host}:{port}"
        print(f"straatstem listening on {base} ({workers} worker{'s' if workers > 1 else ''})", file=sys.stderr)
        print(f"  public map:     {base}/", file=sys.stderr)
        print(f"  report:         {base}/report", file=sys.stderr)
        print(f"  dashboard:      {base}/dashboard", file=sys.stderr)
        print(f"  OpenAPI:        {base}/schema/openapi.json", file=sys.stderr)
        for note in notes:
            print(note, file=sys.stderr)
        server.run("api.app:app_from_environment", host=host, port=port, workers=workers)
    finally:
        if embedded is not None:
            embedded.stop()


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    slog.configure(settings.log_level, settings.log_json)
    if args.command in ("serve", "demo"):
        _serve(settings, args.host, args.port, demo=args.command == "demo", workers=args.workers)
        return 0
    if args.command == "actions":
        from api.deliberation import actions as action_server

        action_server.serve(settings, args.host, args.port)
        return 0
    if args.command == "migrate":
        applied = asyncio.run(_with_database(settings, db.migrate, migrate_first=False))
        print(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else ""))
        return 0
    if args.command == "openapi":
        from api.openapi import write_contract

        for path in write_contract(args.output):
            print(f"wrote {path}")
        return 0
    if args.command == "municipality":
        from api.municipalities import service

        if args.action == "list":
            from api.municipalities import repository

            rows = asyncio.run(_with_database(settings, repository.list_all))
            for row in rows:
                print(f"{row['slug']}\t{row['name']}\t{row['cells']} cells")
            return 0
        if args.boundary is not None:
            if args.radius_km is not None:
                raise CliError("--radius-km goes with --center, not --boundary")
            cells = service.cells_from_boundary(args.boundary)
        else:
            if args.radius_km is None:
                raise CliError("--center needs --radius-km")
            cells = service.cells_from_circle(args.center, args.radius_km)

        async def add(conn: asyncpg.Connection) -> service.Added:
            return await service.add(conn, args.slug, args.name, cells)

        added = asyncio.run(_with_database(settings, add))
        note = f" ({added.skipped} border cells already belonged to another municipality)" if added.skipped else ""
        print(f"added {added.slug} with {added.cells} res-9 cells{note}")
        return 0
    if args.command == "retention":
        import datetime as dt
        import time

        from aggregation.retention import run_intake_retention
        from privacy.coarsen import AMSTERDAM

        async def retain(conn: asyncpg.Connection) -> Any:
            return await run_intake_retention(
                conn, dt.datetime.now(AMSTERDAM).date(), int(time.time() // 3600), settings.raw_horizon_days
            )

        print(asyncio.run(_with_database(settings, retain)).render())
        return 0
    if args.command == "reports":
        from api import importer

        async def do_import(conn: asyncpg.Connection) -> importer.ImportSummary:
            return await importer.import_reports(
                conn, args.file, accept_valid=args.accept_valid, progress=sys.stderr.isatty()
            )

        summary = asyncio.run(_with_database(settings, do_import))
        print(summary.render())
        return 0 if summary.committed else 1
    if args.command == "staff":
        return _staff(settings, args)
    if args.command == "release":
        from api.releases import cli as release_cli

        async def release(conn: asyncpg.Connection) -> list[str]:
            return await release_cli.run(conn, args, settings)

        for line in asyncio.run(_with_database(settings, release)):
            print(line)
        return 0
    if args.command in ("polis", "discussion"):
        from api.deliberation import cli as deliberation_cli

        async def deliberate(conn: asyncpg.Connection) -> list[str]:
            return await deliberation_cli.run(conn, args, settings)

        for line in asyncio.run(_with_database(settings, deliberate)):
            print(line)
        return 0
    if args.command == "governance":
        from api.governance import cli as governance_cli
        from api.governance.documents import prepare_output

        chosen = governance_cli.options(args)
        prepare_output(chosen.output)  # an unusable folder fails before the database is touched

        async def govern(conn: asyncpg.Connection) -> list[str]:
            return await governance_cli.run(conn, chosen, settings)

        for line in asyncio.run(_with_database(settings, govern)):
            print(line)
        return 0
    raise CliError(f"unknown command {args.command}")


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("password: ")
    line = sys.stdin.readline()
    if not line:
        raise CliError("--password-stdin: no password on stdin")
    return line.rstrip("\r\n")


def _staff(settings: Settings, args: argparse.Namespace) -> int:
    from api.staff import service

    if args.action == "add":
        if not args.password_stdin:
            raise CliError("staff add needs --password-stdin (pipe the password in; never put it on the command line)")
        service.normalise_email(args.email)
        service.check_role(args.role)
        password = _read_password()
        service.check_new_password(password)

        async def add(conn: asyncpg.Connection) -> Any:
            return await service.add_staff(conn, args.email, args.municipality, args.role, password)

        asyncio.run(_with_database(settings, add))
        print(f"added {args.role} {service.normalise_email(args.email)} for {args.municipality}")
        return 0
    if args.action == "totp":

        async def enrol(conn: asyncpg.Connection) -> Any:
            return await service.enrol_totp(conn, settings, args.email)

        uri = asyncio.run(_with_database(settings, enrol))
        print("Add this to the authenticator app now (as text or QR code); it is not shown again:", file=sys.stderr)
        print(uri)
        return 0
    if args.action == "disable":

        async def disable(conn: asyncpg.Connection) -> Any:
            return await service.disable_staff(conn, args.email)

        asyncio.run(_with_database(settings, disable))
        print("disabled; its sessions have ended")
        return 0

    if args.action == "sessions-end":

        async def end(conn: asyncpg.Connection) -> dict[str, int]:
            return await service.end_sessions(conn, None if args.all else args.municipality)

        for slug, count in asyncio.run(_with_database(settings, end)).items():
            print(f"{slug}\t{count} sessions ended")
        return 0

    async def listing(conn: asyncpg.Connection) -> Any:
        return await service.list_staff(conn, args.municipality)

    for account in asyncio.run(_with_database(settings, listing)):
        flags = ["totp" if account.totp_sealed else "no-totp"] + (["disabled"] if account.disabled else [])
        print(f"{account.email}\t{account.role}\t{' '.join(flags)}")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    from api.deliberation.cli import DeliberationCliError
    from api.governance import GovernanceError
    from api.importer import ImportFileError
    from api.municipalities.service import MunicipalityError
    from api.releases.cli import ReleaseCliError
    from api.staff.service import StaffError

    try:
        code = run(argv)
    except (
        SettingsError,
        db.DatabaseError,
        CliError,
        MunicipalityError,
        ImportFileError,
        StaffError,
        ReleaseCliError,
        DeliberationCliError,
        GovernanceError,
    ) as exc:
        print(f"straatstem: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    main()
