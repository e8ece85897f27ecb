"""Import of historical reports (`straatstem reports import FILE [--accept-valid]`).

This module is the repository of the import capability: its SQL lives in the statement
constants below. Reports from another system (a Signalen or Ushahidi export reduced to our
fields) are validated and coarsened exactly like reports from the API.

Privacy invariants:
- Kept per report: municipality, a random UUIDv4, the res-9 H3 cell, the calendar month
  ('YYYY-MM'), band, category, role, felt safety and language; free text only after PII
  scrubbing, in `report_text`, never in `report`.
- Dropped: coordinates (snapped to their res-9 cell in memory and never stored, printed or
  logged), the day and time of a date or date-time (only its Europe/Amsterdam calendar month
  is kept), the ignorable export columns in `IGNORED_COLUMNS` (source ids, system names: they
  could link a report back to the source system) and the source file's row order.
- Free text whose month is already past the 90-day text retention (privacy.coarsen.
  text_expired) is not stored at all: retention would have deleted it already. The report
  itself is still imported and the summary counts the dropped texts.
- Rejection reasons are fixed phrases and never contain a value from the file, so neither
  the summary nor an error message can echo a coordinate, a cell or a description. Unknown
  column names are only echoed when they look like column names (a headerless file would
  otherwise print its first data row).
- Shuffled: accepted rows are inserted in a random order (random.SystemRandom), so the
  physical order of rows in the table does not reveal the order of the source file, which is
  usually chronological and would otherwise hint at days and times within a month.
- All or nothing: validation, the coverage lookup and every insert happen in ONE transaction.
  By default one rejected row means nothing is stored; with `accept_valid` the valid rows are
  stored together and the rejected rows are listed. An empty file stores nothing.
- Imported reports get `receipt_hash` = 32 random bytes and no submission id: nobody holds a
  receipt for them, so they can never be looked up or withdrawn by receipt. Nothing records
  which file a report came from either, so importing the same file twice stores it twice.

Row numbers in reasons: for CSV the record number as a spreadsheet shows it (the header is
row 1, the first data row is row 2); for JSONL the line number in the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import random
import re
import secrets
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from api.intake.repository import REPORT_COLUMNS
from privacy import coarsen, location, pii, taxonomy

COVERAGE_OF_CELLS = "select cell, municipality from coverage where cell = any($1::bigint[])"
REPORT_TABLE = "report"
REPORT_TEXT_TABLE = "report_text"
REPORT_TEXT_COLUMNS = ("municipality", "report_id", "month", "language", "body", "pii_removed")

SUPPORTED_SUFFIXES = (".csv", ".jsonl", ".ndjson")
REQUIRED_COLUMNS = ("category", "role", "band", "date")
LOCATION_COLUMNS = ("cell", "lat", "lng")
OPTIONAL_COLUMNS = ("language", "felt_safety", "description")
# Columns common in exports that are accepted and ignored: never validated, never stored.
IGNORED_COLUMNS = frozenset({"id", "external_id", "source"})
KNOWN_COLUMNS = frozenset(REQUIRED_COLUMNS + LOCATION_COLUMNS + OPTIONAL_COLUMNS) | IGNORED_COLUMNS

DEFAULT_LANGUAGE = "nl"
MAX_DESCRIPTION = 1000
BATCH_SIZE = 1000
PROGRESS_EVERY = 1000
EXAMPLES_PER_REASON = 10

_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_DECIMAL_OR_COMMA = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")
_FELT_SAFETY = re.compile(r"[0-9]+")
_MONTH_ONLY = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}.*")
# Echo an unknown column name only if it looks like one (a headerless file would otherwise
# print its first data row: coordinates, a cell or a description).
_PRINTABLE_NAME = re.compile(r"[a-z][a-z0-9_ .\-]{0,39}")

_SYSTEM_RANDOM = random.SystemRandom()


class ImportFileError(ValueError):
    """A file that cannot be imported as a whole (unsupported type, unreadable, not UTF-8,
    malformed, wrong columns, or refused by the database). The message says what to fix and
    never contains a value from the file."""


@dataclass
class ImportSummary:
    """Outcome of one import. `rejected` holds (row number, reason) with fixed-phrase reasons."""

    total: int
    accepted: int
    rejected: list[tuple[int, str]] = field(default_factory=list)
    committed: bool = False
    accept_valid: bool = False
    texts_stored: int = 0
    texts_dropped_expired: int = 0
    ignored_columns: tuple[str, ...] = ()

    def render(self) -> str:
        lines: list[str] = []
        if self.total == 0:
            return "No data rows found in the file: nothing was stored."
        lines.append(f"Accepted {self.accepted} of {self.total} rows; rejected {len(self.rejected)}.")
        if self.ignored_columns:
            lines.append(f"Ignored columns (never stored): {', '.join(self.ignored_columns)}.")
        if self.rejected:
            lines.append("Rejected rows by reason:")
            by_reason: dict[str, list[int]] = defaultdict(list)
            for row, reason in self.rejected:
                by_reason[reason].append(row)
            for reason, rows in sorted(by_reason.items(), key=lambda item: (-len(item[1]), item[0])):
                rows.sort()
                shown = ", ".join(str(r) for r in rows[:EXAMPLES_PER_REASON])
                more = f" and {len(rows) - EXAMPLES_PER_REASON} more" if len(rows) > EXAMPLES_PER_REASON else ""
                noun = "row" if len(rows) == 1 else "rows"
                lines.append(f"  {reason}: {len(rows)} ({noun} {shown}{more})")
        if self.committed:
            lines.append(
                f"Stored {self.accepted} reports ({self.texts_stored} with a description) in one transaction, "
                "in random order."
            )
            if self.rejected:
                lines.append(f"Rejected rows not stored (--accept-valid): {len(self.rejected)}.")
            if self.texts_dropped_expired:
                lines.append(
                    f"Descriptions not stored because their month is past the 90-day text retention: "
                    f"{self.texts_dropped_expired}."
                )
            lines.append(
                "Imported reports have no receipt, so they cannot be withdrawn by receipt; "
                "importing this file again would store them twice."
            )
        elif self.accepted == 0:
            lines.append("Nothing was stored: no row was valid.")
        else:
            lines.append(
                f"Nothing was stored: the import is all or nothing and {_rows(len(self.rejected))} rejected. "
                f"Fix them and import again, or use --accept-valid to store only the {self.accepted} valid "
                f"{'row' if self.accepted == 1 else 'rows'}."
            )
        return "\n".join(lines)


def _rows(count: int) -> str:
    return f"{count} row was" if count == 1 else f"{count} rows were"


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    values: dict[str, Any]
    csv: bool
    problem: str | None = None  # a fixed-phrase reason found while reading (CSV shape)


@dataclass(slots=True)
class _Valid:
    number: int
    cell: int
    month: str
    band: str
    category: str
    role: str
    felt_safety: int | None
    language: str
    description: str | None


class _Reject(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Progress:
    """One-line progress on stderr (carriage-return updates); never shows a value from the file."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self.stream = stream
        self.width = 0
        self.drawn = False

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        stream = self.stream or sys.stderr
        stream.write("\r" + text.ljust(self.width))
        stream.flush()
        self.width = max(self.width, len(text))
        self.drawn = True

    def tick(self, label: str, done: int, total: int | None = None, *, force: bool = False) -> None:
        if self.enabled and (force or done % PROGRESS_EVERY == 0):
            self.show(f"{label}: {done}" + (f"/{total}" if total is not None else "") + " rows")

    def end(self) -> None:
        if self.enabled and self.drawn:
            stream = self.stream or sys.stderr
            stream.write("\n")
            stream.flush()
            self.drawn = False


# --- reading -----------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "(none)"
        raise ImportFileError(f"unsupported file type {shown}: use .csv or .jsonl (or .ndjson)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc.strerror or exc.__class__.__name__}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path.name} is not UTF-8 text (bad byte at offset {exc.start}): save it as UTF-8 (in Excel: 'CSV UTF-8')"
        ) from None


def _column_name(name: str) -> str:
    return name.strip().lower()


def _names(columns: Sequence[str]) -> str:
    printable = [repr(c) for c in columns if _PRINTABLE_NAME.fullmatch(c)]
    hidden = len(columns) - len(printable)
    return ", ".join(printable + ([f"{hidden} whose names do not look like column names"] if hidden else []))


def _check_columns(columns: Iterable[str], *, what: str) -> None:
    present = {c for c in columns if c}
    unknown = sorted(present - KNOWN_COLUMNS)
    if unknown:
        if not present & KNOWN_COLUMNS:
            raise ImportFileError(
                f"the {what} has no known column name: the file needs a header with "
                f"{', '.join(REQUIRED_COLUMNS)} and cell or lat and lng"
            )
        raise ImportFileError(
            f"unknown column(s) {_names(unknown)}: remove them or map them to "
            f"{', '.join(REQUIRED_COLUMNS + LOCATION_COLUMNS + OPTIONAL_COLUMNS)} "
            f"(ignored: {', '.join(sorted(IGNORED_COLUMNS))}); nothing was imported"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if "cell" not in present and not {"lat", "lng"} <= present:
        if {"lat", "lng"} & present:
            missing.append("lng" if "lat" in present else "lat")
        else:
            missing.append("cell (or lat and lng)")
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)}; nothing was imported")


def _read_csv(text: str) -> tuple[list[_Row], set[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[_Row] = []
    header: list[str] | None = None
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue  # blank lines before the header
                header = [_column_name(c) for c in record]
                named = [c for c in header if c]
                duplicates = sorted({c for c in named if named.count(c) > 1})
                if duplicates:
                    raise ImportFileError(
                        f"column(s) {_names(duplicates)} appear more than once in the header row; keep one of each"
                    )
                _check_columns(header, what="header row")
                continue
            if not any(cell.strip() for cell in record):
                continue  # blank line or a row of empty cells (Excel writes ';;;;')
            problem: str | None = None
            if len(record) > len(header):
                problem = "more cells than header columns"
            elif len(record) < len(header):
                problem = "fewer cells than header columns"
            values: dict[str, Any] = {}
            for name, cell in zip(header, record, strict=False):
                if name:
                    values[name] = cell
                elif cell.strip() and problem is None:
                    problem = "value in a column without a name in the header row"
            rows.append(_Row(number, values, csv=True, problem=problem))
    except csv.Error as exc:
        raise ImportFileError(f"row {number + 1} is not valid CSV ({exc}); check its quotes") from None
    return rows, set(header or ()) & IGNORED_COLUMNS


def _read_jsonl(text: str) -> tuple[list[_Row], set[str]]:
    rows: list[_Row] = []
    keys: set[str] = set()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFileError(
                f"line {number} is not valid JSON ({exc.msg} at column {exc.colno}): "
                "each line must hold one JSON object"
            ) from None
        except RecursionError:
            raise ImportFileError(f"line {number} is nested too deeply to be a report") from None
        if not isinstance(obj, dict):
            raise ImportFileError(
                f'line {number} is not a JSON object: each line must hold one object like {{"category": ...}}'
            )
        values = {_column_name(str(k)): v for k, v in obj.items()}
        if "" in values:
            raise ImportFileError(f"line {number} has an empty key: name it or remove it")
        keys.update(values)
        rows.append(_Row(number, values, csv=False))
    if rows:
        _check_columns(keys, what="JSON objects")
    return rows, keys & IGNORED_COLUMNS


def _read_rows(path: Path) -> tuple[list[_Row], set[str]]:
    text = _read_text(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(text)
    return _read_jsonl(text)


# --- validation --------------------------------------------------------------------------------


def _text(values: dict[str, Any], key: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Reject(f"{key} must be text")
    if "\x00" in value:  # PostgreSQL text cannot hold it; refused per row, not by the database
        raise _Reject(f"{key} contains the NUL character (U+0000)")
    value = value.strip()
    return value or None


def _code(values: dict[str, Any], key: str, allowed: Iterable[str], unknown: str) -> str:
    value = _text(values, key)
    if value is None:
        raise _Reject(f"{key} missing")
    value = value.lower()
    if value not in allowed:
        raise _Reject(unknown)
    return value


def _felt_safety(values: dict[str, Any]) -> int | None:
    value = values.get("felt_safety")
    reason = "felt_safety is not a whole number from 1 to 5"
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _Reject(reason)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _FELT_SAFETY.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise _Reject(reason)
    if not 1 <= number <= 5:
        raise _Reject(reason)
    return number


def _coordinate(value: Any, *, comma: bool) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise _Reject("lat/lng is not a decimal number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        written = value.strip()
        if not (_DECIMAL_OR_COMMA if comma else _DECIMAL).fullmatch(written):
            raise _Reject("lat/lng is not a decimal number")
        number = float(written.replace(",", "."))
    else:
        raise _Reject("lat/lng is not a decimal number")
    if not math.isfinite(number):
        raise _Reject("lat/lng is not a decimal number")
    return number


def _cell(row: _Row) -> int:
    cell_text = _text(row.values, "cell")
    lat = _coordinate(row.values.get("lat"), comma=row.csv)
    lng = _coordinate(row.values.get("lng"), comma=row.csv)
    if cell_text is not None:
        if lat is not None or lng is not None:
            raise _Reject("both cell and lat/lng given; give one")
        try:
            return location.parse_cell(cell_text)
        except location.CellError:
            raise _Reject("cell is not a valid resolution-9 H3 cell") from None
    if lat is None and lng is None:
        raise _Reject("needs either cell or lat and lng")
    if lat is None or lng is None:
        raise _Reject("lat and lng must be given together")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        raise _Reject("lat/lng out of range")
    try:
        return location.snap(lat, lng)
    except location.CoordinateError:
        raise _Reject("lat/lng out of range") from None


def _month(values: dict[str, Any], now: dt.datetime) -> str:
    """Calendar month of the row's date; the day and time are dropped here."""
    value = _text(values, "date")
    not_a_date = "date missing or not YYYY-MM[-DD] or an ISO 8601 date-time"
    not_real = "date is not a real calendar date"
    future = "date in the future"
    if value is None:
        raise _Reject(not_a_date)
    today = now.date()
    if match := _MONTH_ONLY.fullmatch(value):
        year, month = int(match.group(1)), int(match.group(2))
        if year < 1 or not 1 <= month <= 12:
            raise _Reject(not_real)
        if (year, month) > (today.year, today.month):
            raise _Reject(future)
        return f"{year:04d}-{month:02d}"
    if _DATE_ONLY.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise _Reject(not_real) from None
        if day > today:
            raise _Reject(future)
        return coarsen.month_of_date(day)
    if _DATE_TIME.fullmatch(value):
        try:
            instant = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _Reject(not_a_date) from None
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise _Reject("date-time without UTC offset (add Z or +01:00)")
        if instant > now:
            raise _Reject(future)
        return coarsen.month_of(instant)
    raise _Reject(not_a_date)


def _validate(row: _Row, now: dt.datetime) -> _Valid:
    values = row.values
    if row.problem is not None:
        raise _Reject(row.problem)
    category = _code(values, "category", taxonomy.CATEGORY_CODES, "unknown category")
    role = _code(values, "role", taxonomy.ROLE_CODES, "unknown role (use victim or witness)")
    band = _code(values, "band", taxonomy.BAND_CODES, "unknown band (use night, morning, afternoon or evening)")
    language_text = _text(values, "language")
    language = (language_text or DEFAULT_LANGUAGE).lower()
    if language not in taxonomy.LANGUAGES:
        raise _Reject("unknown language (use nl or en)")
    felt_safety = _felt_safety(values)
    cell = _cell(row)
    month = _month(values, now)
    description = _text(values, "description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise _Reject(f"description longer than {MAX_DESCRIPTION} characters")
    return _Valid(row.number, cell, month, band, category, role, felt_safety, language, description)


# --- storing -----------------------------------------------------------------------------------


async def _coverage(conn: asyncpg.Connection, cells: Sequence[int]) -> dict[int, str]:
    if not cells:
        return {}
    return {int(r["cell"]): str(r["municipality"]) for r in await conn.fetch(COVERAGE_OF_CELLS, list(cells))}


def _scrubbed(description: str) -> tuple[str, list[str]] | None:
    result = pii.scrub(description)
    body = result.text.strip()[:MAX_DESCRIPTION]
    if not body:
        return None  # only invisible characters: nothing worth storing
    return body, sorted(kind.value for kind in result.found)


async def _store(
    conn: asyncpg.Connection,
    rows: list[tuple[_Valid, str]],
    today: dt.date,
    progress: _Progress,
) -> tuple[int, int]:
    """Insert the rows (already shuffled). Returns (texts stored, texts dropped as expired)."""
    stored_texts = dropped = 0
    done = 0
    for start in range(0, len(rows), BATCH_SIZE):
        reports: list[tuple[Any, ...]] = []
        texts: list[tuple[Any, ...]] = []
        for valid, municipality in rows[start : start + BATCH_SIZE]:
            report_id = uuid.uuid4()
            reports.append(
                (
                    municipality,
                    report_id,
                    valid.cell,
                    valid.month,
                    valid.band,
                    valid.category,
                    valid.role,
                    valid.felt_safety,
                    valid.language,
                    None,
                    None,
                    secrets.token_bytes(32),
                )
            )
            if valid.description is None:
                continue
            if coarsen.text_expired(valid.month, today):
                dropped += 1
                continue
            scrubbed = _scrubbed(valid.description)
            if scrubbed is not None:
                texts.append((municipality, report_id, valid.month, valid.language, scrubbed[0], scrubbed[1]))
        await conn.copy_records_to_table(REPORT_TABLE, records=reports, columns=REPORT_COLUMNS)
        if texts:
            await conn.copy_records_to_table(REPORT_TEXT_TABLE, records=texts, columns=REPORT_TEXT_COLUMNS)
        stored_texts += len(texts)
        done += len(reports)
        progress.show(f"storing: {done}/{len(rows)} reports")
    return stored_texts, dropped


async def import_reports(conn: asyncpg.Connection, path: Path, *, accept_valid: bool, progress: bool) -> ImportSummary:
    """Validate every row of `path` and store the valid ones in one transaction: all rows or
    nothing by default, the valid rows with `accept_valid`. Raises ImportFileError for a file
    that cannot be imported at all (see the module docstring for what is kept and dropped)."""
    bar = _Progress(progress)
    try:
        return await _import(conn, path, accept_valid=accept_valid, bar=bar)
    finally:
        bar.end()


async def _import(conn: asyncpg.Connection, path: Path, *, accept_valid: bool, bar: _Progress) -> ImportSummary:
    rows, ignored = _read_rows(path)
    now = dt.datetime.now(coarsen.AMSTERDAM)
    valid: list[_Valid] = []
    rejected: list[tuple[int, str]] = []
    for checked, row in enumerate(rows, start=1):
        try:
            valid.append(_validate(row, now))
        except _Reject as reject:
            rejected.append((row.number, reject.reason))
        bar.tick("checking", checked, len(rows), force=checked == len(rows))
    total = len(rows)
    del rows  # raw values (coordinates included) are not needed any more
    if total == 0:
        return ImportSummary(total=0, accepted=0, committed=False, accept_valid=accept_valid)

    try:
        async with conn.transaction():
            bar.show("checking coverage")
            municipality_of = await _coverage(conn, sorted({v.cell for v in valid}))
            accepted: list[tuple[_Valid, str]] = []
            for v in valid:
                municipality = municipality_of.get(v.cell)
                if municipality is None:
                    rejected.append((v.number, "outside coverage"))
                else:
                    accepted.append((v, municipality))
            rejected.sort()
            summary = ImportSummary(
                total=total,
                accepted=len(accepted),
                rejected=rejected,
                accept_valid=accept_valid,
                ignored_columns=tuple(sorted(ignored)),
            )
            if not accepted or (rejected and not accept_valid):
                return summary
            _SYSTEM_RANDOM.shuffle(accepted)
            summary.texts_stored, summary.texts_dropped_expired = await _store(conn, accepted, now.date(), bar)
            summary.committed = True
    except asyncpg.PostgresError as exc:
        # The database's own message may quote a failing row; name only the error class.
        raise ImportFileError(
            f"the database refused the import ({exc.__class__.__name__}, SQLSTATE {exc.sqlstate}); nothing was stored"
        ) from None
    return summary
