"""Restore a straatstem backup into a fresh database and prove it complete.

    python ops/backup/restore_check.py BACKUP.dump [--server URL] [--source URL] [--keep]
    python ops/backup/restore_check.py BACKUP.dump --restored URL

Checks the dump against its `.sha256` file, creates an empty database on the server of
`--server` (default: DATABASE_URL), restores the dump into it with pg_restore, and compares
the row count of every table, and a SHA-256 over the frozen release and epsilon-ledger rows
(stored once and served byte-identical ever after), with the dump's manifest, which backup.sh
took from the same snapshot as the dump. `--source URL` compares with that live database
instead (exact only while nothing writes to it). The scratch database is dropped afterwards
unless `--keep`; `--restored URL` compares a database restored earlier without restoring again.

Prints one line per table and exits 0 when everything matches, 1 on any difference, 2 on an
error the operator must fix (a damaged dump, an unreachable server, no matching pg_restore).
Needs only Python's standard library and the PostgreSQL client programs of the server's major
version, looked for in PG_BIN, the pgserver package, /usr/lib/postgresql/*/bin and PATH.
Output names tables and counts only: no URL (it may hold a password), no row content.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

# The same text as between the MANIFEST SQL markers of backup.sh (tests/ops/test_backup_restore.py
# compares them): the first builds a query counting every table, the second hashes the frozen rows.
COUNTS_QUERY_SQL = (
    "select 'select coalesce(json_object_agg(t, n order by t), ''{}'') from (' || coalesce(string_agg("
    "format('select %L as t, count(*) as n from %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname), "
    "' union all ' order by n.nspname, c.relname), 'select null::text as t, 0::bigint as n where false') "
    "|| ') counted' from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') "
    "and n.nspname <> 'information_schema' and n.nspname !~ '^pg_'"
)
FROZEN_SQL = (
    "select json_build_object('release', (select encode(sha256(convert_to(coalesce(string_agg("
    "format('%s %s %s %s %s', municipality, audience, period, k, encode(sha256(body), 'hex')), E'\\n' "
    "order by municipality, audience, period), ''), 'UTF8')), 'hex') from release), 'epsilon_ledger', "
    "(select encode(sha256(convert_to(coalesce(string_agg(format('%s %s %s %s %s %s', municipality, audience, "
    "period, layer, epsilon, cap), E'\\n' order by municipality, audience, period, layer), ''), 'UTF8')), "
    "'hex') from epsilon_ledger))"
)


class CheckError(Exception):
    """Something the operator must fix; printed as one line, exit code 2."""


@dataclass(frozen=True)
class Manifest:
    tables: dict[str, int]
    frozen: dict[str, str]

    @classmethod
    def from_json(cls, data: Any) -> Manifest:
        try:
            tables = {str(k): int(v) for k, v in data["tables"].items()}
            frozen = {str(k): str(v) for k, v in data["frozen"].items()}
        except (KeyError, TypeError, ValueError, AttributeError):
            raise CheckError("the manifest is not one written by backup.sh") from None
        return cls(tables, frozen)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, parts.fragment))


def candidate_dirs() -> Iterator[Path]:
    if os.environ.get("PG_BIN"):
        yield Path(os.environ["PG_BIN"])
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin is not None:
        yield Path(spec.origin).parent / "pginstall" / "bin"
    yield from (Path(d) for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    found = shutil.which("pg_restore")
    if found:
        yield Path(found).parent


def client_major(directory: Path) -> int | None:
    try:
        out = subprocess.run(
            [str(directory / "pg_restore"), "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\) (\d+)", out)
    return int(match.group(1)) if match else None


def psql(bin_dir: Path, url: str, *commands: str) -> list[str]:
    """Run commands in one session; their output lines (unaligned, tuples only, no command tags)."""
    args = [str(bin_dir / "psql"), url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    for command in commands:
        args += ["-c", command]
    result = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise CheckError(_first_error(result.stderr) or f"psql failed with exit code {result.returncode}")
    return result.stdout.splitlines()


def _first_error(stderr: str) -> str:
    """The error line of a client program without CONTEXT lines, which can quote row data."""
    for line in stderr.splitlines():
        if "error" in line.lower() or "fatal" in line.lower():
            return line.strip()
    return ""


def tools_for(url: str) -> Path:
    """The client programs whose major version is the server's."""
    dirs = [d for d in dict.fromkeys(candidate_dirs()) if (d / "psql").exists() and (d / "pg_restore").exists()]
    if not dirs:
        raise CheckError("no psql and pg_restore found; install the PostgreSQL client or set PG_BIN")
    version = int(psql(dirs[0], url, "show server_version_num")[0])
    major = version // 10000
    for directory in dirs:
        if client_major(directory) == major:
            return directory
    raise CheckError(f"no pg_restore of PostgreSQL {major} found; install postgresql-client-{major} or set PG_BIN")


def manifest_of(bin_dir: Path, url: str) -> Manifest:
    """Counts and checksums of one database, read in one repeatable-read snapshot."""
    (counts_sql,) = psql(bin_dir, url, COUNTS_QUERY_SQL)
    tables, frozen = psql(bin_dir, url, "begin isolation level repeatable read, read only", counts_sql, FROZEN_SQL)
    return Manifest.from_json({"tables": json.loads(tables), "frozen": json.loads(frozen)})


def verify_checksum(dump: Path) -> None:
    sums = dump.with_name(dump.name + ".sha256")
    if not sums.exists():
        raise CheckError(f"{sums.name} is missing; every dump of backup.sh has one")
    expected = sums.read_text().split()[0].lower() if sums.read_text().split() else ""
    digest = hashlib.sha256()
    with dump.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise CheckError(f"{dump.name} does not match {sums.name}: the dump is damaged or was replaced")


def restore(bin_dir: Path, server: str, dump: Path, name: str) -> str:
    psql(bin_dir, server, f'create database "{name}"')
    target = with_database(server, name)
    result = subprocess.run(
        [
            str(bin_dir / "pg_restore"),
            "--exit-on-error",
            "--no-owner",
            "--no-acl",
            f"--dbname={target}",
            str(dump),
        ],
        capture_output=True,
        text=True,
        timeout=6 * 3600,
    )
    if result.returncode != 0:
        raise CheckError("pg_restore failed: " + (_first_error(result.stderr) or f"exit code {result.returncode}"))
    return target


def drop(bin_dir: Path, server: str, name: str) -> None:
    psql(bin_dir, server, f'drop database if exists "{name}" with (force)')


def compare(expected: Manifest, restored: Manifest, expected_label: str) -> tuple[list[str], bool]:
    """The printed table and whether everything matches."""
    names = sorted(set(expected.tables) | set(restored.tables))
    frozen = sorted(set(expected.frozen) | set(restored.frozen))
    width = max([len("table"), *(len(n) for n in names), *(len(f"{n} rows (sha256)") for n in frozen)])
    lines = [f"{'table':<{width}}  {expected_label:>14}  {'restored':>14}"]
    ok = True
    for name in names:
        want, got = expected.tables.get(name), restored.tables.get(name)
        same = want == got
        ok &= same
        lines.append(
            f"{name:<{width}}  {'missing' if want is None else want:>14}  {'missing' if got is None else got:>14}"
            + ("" if same else "  <-- differs")
        )
    for name in frozen:
        want_hash, got_hash = expected.frozen.get(name), restored.frozen.get(name)
        same = want_hash == got_hash
        ok &= same
        label, want_short, got_short = (
            f"{name} rows (sha256)",
            (want_hash or "missing")[:12],
            (got_hash or "missing")[:12],
        )
        lines.append(f"{label:<{width}}  {want_short:>14}  {got_short:>14}" + ("" if same else "  <-- differs"))
    rows = sum(restored.tables.values())
    lines.append(
        f"OK: {len(names)} tables, {rows} rows, frozen rows byte-identical"
        if ok
        else "DIFFERENT: the restored database does not match; do not rely on this backup"
    )
    return lines, ok


def run(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="restore a straatstem dump into a fresh database and check it")
    parser.add_argument("dump", type=Path, help="a dump written by ops/backup/backup.sh")
    parser.add_argument("--server", help="server for the scratch database (default: DATABASE_URL)")
    parser.add_argument("--source", help="compare with this live database instead of the dump's manifest")
    parser.add_argument("--keep", action="store_true", help="keep the restored database (its name is printed)")
    parser.add_argument("--restored", help="compare this already restored database; restore nothing")
    args = parser.parse_args(argv)

    dump: Path = args.dump
    if not dump.is_file():
        raise CheckError(f"{dump} is not a file")
    verify_checksum(dump)
    if args.source:
        expected = manifest_of(tools_for(args.source), args.source)
        label = "source"
    else:
        manifest_path = dump.with_name(dump.name + ".manifest.json")
        if not manifest_path.exists():
            raise CheckError(f"{manifest_path.name} is missing; give --source URL to compare with a live database")
        try:
            expected = Manifest.from_json(json.loads(manifest_path.read_text()))
        except json.JSONDecodeError:
            raise CheckError(f"{manifest_path.name} is not valid JSON") from None
        label = "dump"

    if args.restored:
        restored = manifest_of(tools_for(args.restored), args.restored)
    else:
        server = args.server or os.environ.get("DATABASE_URL")
        if not server:
            raise CheckError("set DATABASE_URL or --server: the server on which to create the scratch database")
        bin_dir = tools_for(server)
        name = f"straatstem_restore_{secrets.token_hex(4)}"
        try:
            target = restore(bin_dir, server, dump, name)
            restored = manifest_of(bin_dir, target)
        finally:
            if args.keep:
                print(f"kept the restored database {name}", file=sys.stderr)
            else:
                drop(bin_dir, server, name)

    lines, ok = compare(expected, restored, label)
    print("\n".join(lines))
    return 0 if ok else 1


def main() -> None:
    try:
        code = run()
    except CheckError as exc:
        print(f"restore_check: error: {exc}", file=sys.stderr)
        code = 2
    except subprocess.TimeoutExpired as exc:
        print(f"restore_check: error: {Path(str(exc.cmd[0])).name} timed out", file=sys.stderr)
        code = 2
    sys.exit(code)


if __name__ == "__main__":
    main()
