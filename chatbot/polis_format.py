"""Read and write Polis export folders.

A Polis export is a folder of CSV files (UTF-8, comma separated, RFC 4180 quoting, ``\\n`` line
ends). straatstem reads and writes these four:

``comments.csv``
    ``timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body``; one row
    per statement. ``moderated`` is -1 (moderated out), 0 (not moderated yet) or 1 (accepted).
    Bodies may contain quotes, commas and newlines.
``votes.csv``
    ``timestamp,datetime,comment-id,voter-id,vote``; one row per vote *event*, so a participant
    who changed their mind has several rows for one statement. The rows are not necessarily in
    time order. Vote encoding: agree = +1, disagree = -1, pass = 0 (the same as straatstem).
``participants-votes.csv``
    ``participant,[xid,]group-id,n-comments,n-votes,n-agree,n-disagree`` followed by one column
    per statement (the header is the comment id); a cell holds the participant's final vote,
    blank = no vote. ``group-id`` is Polis's opinion group (blank for participants it did not
    cluster). Polis leaves out columns of statements nobody voted on.
``summary.csv``
    ``key,value`` rows without a header: ``topic``, ``url``, ``views``, ``voters``,
    ``voters-in-conv``, ``commenters``, ``comments``, ``groups``, ``conversation-description``.

Reading (:func:`read_export`)
-----------------------------
``comments.csv`` is required. Votes come from ``votes.csv`` when it exists, else from the
``participants-votes.csv`` matrix. From ``votes.csv`` the *latest* vote per (participant,
statement) wins: rows are ordered by timestamp, ties (and files whose timestamps are all blank,
as straatstem writes them) by file order. Opinion groups come from ``participants-votes.csv``
when present (when ``votes.csv`` is the vote source only the matrix's ids and ``group-id``
column are read). ``summary.csv`` is optional and only ``topic`` and ``conversation-description``
are used. Input is validated (headers, integers, vote values, every voted statement exists, no
duplicate statement or participant ids); any problem raises :class:`PolisFormatError` whose
message is one line naming the file and the 1-based line (and column where it applies). Messages
never echo cell contents, so statement text cannot leak into logs. Things deliberately ignored:
the ``agrees``/``disagrees``/``n-*`` counts (they are derived data, and Polis's own
``agrees``/``disagrees`` count vote events rather than final votes), the ``datetime`` column,
and the optional ``xid`` column (external participant ids could identify people).

Checked against five public Polis conversations: for all of them the ``participants-votes.csv``
matrix equals the latest-vote-wins reduction of ``votes.csv`` exactly; the only difference is
the omitted columns of statements without any vote.

Writing (:func:`write_export`)
------------------------------
Writes the same four files in Polis's column layout, plus a trailing
``group-informed-consensus`` column in ``comments.csv``. The ``timestamp`` and ``datetime``
columns are written **empty on purpose**: straatstem does not keep when a vote was cast or a
statement was written (privacy), so there is nothing truthful to put there. ``votes.csv``
therefore holds exactly one row per final vote. ``participants-votes.csv`` has one column per
statement (ascending id, including statements without votes) and one row per participant (the
ones passed in plus any voter not passed in). In ``summary.csv`` ``url`` and ``views`` are
blank, ``voters`` and ``voters-in-conv`` are both the number of distinct voters (Polis's
published exports have them equal too), ``comments`` is the number of statements (= the
number of statement columns, as in Polis), ``commenters`` the number of distinct known authors
and ``groups`` the number of distinct opinion groups.

Every file is written atomically (temporary file in the same folder, then ``os.replace``);
the set of four is not atomic as a whole, but all input is validated before the first file is
written. Files are created with mode 0600 (readable by the owner only). Existing Polis files
are never replaced unless ``overwrite=True``.

Standard library only; no database.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "COMMENTS_CSV",
    "PARTICIPANTS_VOTES_CSV",
    "POLIS_FILES",
    "SUMMARY_CSV",
    "VOTES_CSV",
    "ExportComment",
    "ExportParticipant",
    "PolisComment",
    "PolisConversation",
    "PolisFormatError",
    "PolisVote",
    "read_export",
    "write_export",
]

COMMENTS_CSV = "comments.csv"
VOTES_CSV = "votes.csv"
PARTICIPANTS_VOTES_CSV = "participants-votes.csv"
SUMMARY_CSV = "summary.csv"
POLIS_FILES = (COMMENTS_CSV, VOTES_CSV, PARTICIPANTS_VOTES_CSV, SUMMARY_CSV)

COMMENTS_HEADER = (
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "comment-body",
    "group-informed-consensus",
)
VOTES_HEADER = ("timestamp", "datetime", "comment-id", "voter-id", "vote")
PARTICIPANTS_META_HEADER = ("participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")
# Non-statement columns Polis may put in participants-votes.csv (``xid`` only in newer exports).
_PARTICIPANTS_META = frozenset({*PARTICIPANTS_META_HEADER, "xid"})

VOTE_VALUES = frozenset({-1, 0, 1})
MODERATED_VALUES = frozenset({-1, 0, 1})

_INT = re.compile(r"-?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")


class PolisFormatError(ValueError):
    """A Polis export that cannot be read or written. The message is always a single line that
    names the file (and 1-based line/column where it applies) and never contains cell text."""

    def __init__(self, message: str) -> None:
        super().__init__(message.replace("\r", "\\r").replace("\n", "\\n"))


@dataclass(frozen=True)
class PolisComment:
    id: int
    author: int | None
    body: str
    moderated: int  # -1 moderated out, 0 not moderated yet, 1 accepted


@dataclass(frozen=True)
class PolisVote:
    participant: int
    comment: int
    value: int  # agree = +1, disagree = -1, pass = 0


@dataclass(frozen=True)
class PolisConversation:
    topic: str | None
    description: str | None
    comments: tuple[PolisComment, ...]  # sorted by id
    votes: tuple[PolisVote, ...]  # final vote per (participant, comment), sorted by (participant, comment)
    groups: dict[int, int]  # participant -> Polis group id; {} without participants-votes.csv
    source: Literal["votes.csv", "participants-votes.csv"]


@dataclass(frozen=True)
class ExportComment:
    id: int
    author: int | None
    body: str
    moderated: int
    agrees: int
    disagrees: int
    group_informed_consensus: float | None


@dataclass(frozen=True)
class ExportParticipant:
    id: int
    group: int | None
    n_comments: int


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


class _Table:
    """One CSV file with a header row: column lookup by name and row iteration with the line
    number each record starts on."""

    def __init__(self, path: Path, required: Sequence[str]) -> None:
        self.name = path.name
        self._rows = _records(path)
        first = next(self._rows, None)
        if first is None:
            raise PolisFormatError(f"{self.name} line 1: file is empty, expected a header row")
        _, header = first
        self.header = [h.strip() for h in header]
        self.index: dict[str, int] = {}
        duplicated: set[str] = set()
        for i, h in enumerate(self.header):
            if h in self.index:
                duplicated.add(h)
            self.index.setdefault(h, i)
        missing = [r for r in required if r not in self.index]
        if missing:
            names = ", ".join(repr(m) for m in missing)
            raise PolisFormatError(f"{self.name} line 1: missing column{'s' if len(missing) > 1 else ''} {names}")
        for name in required:
            if name in duplicated:
                raise PolisFormatError(f"{self.name} line 1: column {name!r} appears more than once")

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.header)
        for line, row in self._rows:
            if len(row) != width:
                raise PolisFormatError(f"{self.name} line {line}: {len(row)} fields, the header has {width}")
            yield line, row

    def where(self, line: int, col: int) -> str:
        return f"{self.name} line {line}, column {col + 1} ({self.header[col]})"

    def integer(
        self, line: int, row: list[str], column: str, *, blank_ok: bool = False, signed: bool = False
    ) -> int | None:
        col = self.index[column]
        return _parse_int(row[col], lambda: self.where(line, col), blank_ok=blank_ok, signed=signed)

    def required_integer(self, line: int, row: list[str], column: str, *, signed: bool = False) -> int:
        value = self.integer(line, row, column, signed=signed)
        assert value is not None
        return value


def _parse_int(text: str, where: Callable[[], str], *, blank_ok: bool = False, signed: bool = False) -> int | None:
    text = text.strip()
    if not text:
        if blank_ok:
            return None
        raise PolisFormatError(f"{where()}: must not be blank")
    if not (_INT if signed else _UNSIGNED).fullmatch(text):
        kind = "an integer" if signed else "a non-negative integer"
        raise PolisFormatError(f"{where()}: must be {kind}")
    return int(text)


def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """Yield (line the record starts on, fields) for each non-blank CSV record of ``path``;
    UTF-8 with or without a byte-order mark. Errors become :class:`PolisFormatError`."""
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PolisFormatError(f"{name}: not found in {path.parent}") from None
    except OSError as e:
        raise PolisFormatError(f"{name}: cannot be read ({e.strerror or type(e).__name__})") from None
    bom = b"\xef\xbb\xbf"
    if data.startswith(bom):
        data = data[len(bom) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise PolisFormatError(f"{name} line {line}: not valid UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise PolisFormatError(f"{name} line {start}: malformed CSV ({e})") from None
        if row:
            yield start, row


def _read_comments(path: Path) -> tuple[PolisComment, ...]:
    table = _Table(path, ("comment-id", "author-id", "moderated", "comment-body"))
    body_col = table.index["comment-body"]
    first_line: dict[int, int] = {}
    comments: list[PolisComment] = []
    for line, row in table.rows():
        cid = table.required_integer(line, row, "comment-id")
        if cid in first_line:
            raise PolisFormatError(
                f"{table.where(line, table.index['comment-id'])}: duplicate comment id {cid} "
                f"(first on line {first_line[cid]})"
            )
        first_line[cid] = line
        author = table.integer(line, row, "author-id", blank_ok=True)
        moderated = table.required_integer(line, row, "moderated", signed=True)
        if moderated not in MODERATED_VALUES:
            raise PolisFormatError(f"{table.where(line, table.index['moderated'])}: moderated must be -1, 0 or 1")
        comments.append(PolisComment(id=cid, author=author, body=row[body_col], moderated=moderated))
    comments.sort(key=lambda c: c.id)
    return tuple(comments)


def _vote_value(table: _Table, line: int, col: int, text: str) -> int:
    value = _parse_int(text, lambda: table.where(line, col), signed=True)
    if value not in VOTE_VALUES:
        raise PolisFormatError(f"{table.where(line, col)}: vote must be -1, 0 or 1")
    assert value is not None
    return value


def _read_votes(path: Path, comment_ids: set[int]) -> dict[tuple[int, int], int]:
    """Final vote per (participant, comment) from votes.csv: latest timestamp wins, ties by
    file order. Timestamps must be all present or all blank (then file order decides)."""
    table = _Table(path, ("timestamp", "comment-id", "voter-id", "vote"))
    vote_col = table.index["vote"]
    comment_col = table.index["comment-id"]
    ts_col = table.index["timestamp"]
    latest: dict[tuple[int, int], tuple[int, int]] = {}  # key -> (timestamp, value)
    timed: bool | None = None
    for line, row in table.rows():
        ts = table.integer(line, row, "timestamp", blank_ok=True)
        if timed is None:
            timed = ts is not None
        elif timed != (ts is not None):
            raise PolisFormatError(f"{table.where(line, ts_col)}: timestamps must be given on every row or on none")
        cid = table.required_integer(line, row, "comment-id")
        pid = table.required_integer(line, row, "voter-id")
        value = _vote_value(table, line, vote_col, row[vote_col])
        if cid not in comment_ids:
            raise PolisFormatError(f"{table.where(line, comment_col)}: comment id {cid} is not in {COMMENTS_CSV}")
        stamp = ts if ts is not None else 0
        key = (pid, cid)
        previous = latest.get(key)
        if previous is None or stamp >= previous[0]:
            latest[key] = (stamp, value)
    return {key: value for key, (_, value) in latest.items()}


def _read_participants_votes(
    path: Path, comment_ids: set[int], *, want_votes: bool
) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Groups (participant -> group id) and, when ``want_votes``, the vote matrix."""
    table = _Table(path, ("participant", "group-id"))
    columns: list[tuple[int, int]] = []  # (column index, comment id)
    seen: dict[int, int] = {}
    for col, head in enumerate(table.header):
        if head in _PARTICIPANTS_META or not _UNSIGNED.fullmatch(head):
            continue  # meta columns, and anything unknown a newer Polis may add
        cid = int(head)
        if cid in seen:
            raise PolisFormatError(
                f"{table.name} line 1, column {col + 1}: comment id {cid} appears twice (also column {seen[cid] + 1})"
            )
        if cid not in comment_ids:
            raise PolisFormatError(f"{table.name} line 1, column {col + 1}: comment id {cid} is not in {COMMENTS_CSV}")
        seen[cid] = col
        columns.append((col, cid))
    groups: dict[int, int] = {}
    votes: dict[tuple[int, int], int] = {}
    first_line: dict[int, int] = {}
    for line, row in table.rows():
        pid = table.required_integer(line, row, "participant")
        if pid in first_line:
            raise PolisFormatError(
                f"{table.where(line, table.index['participant'])}: duplicate participant {pid} "
                f"(first on line {first_line[pid]})"
            )
        first_line[pid] = line
        group = table.integer(line, row, "group-id", blank_ok=True)
        if group is not None:
            groups[pid] = group
        if want_votes:
            for col, cid in columns:
                cell = row[col]
                if cell.strip():
                    votes[(pid, cid)] = _vote_value(table, line, col, cell)
    return groups, votes


def _read_summary(path: Path) -> tuple[str | None, str | None]:
    wanted = {"topic": None, "conversation-description": None}
    values: dict[str, str] = {}
    for line, row in _records(path):
        if len(row) > 2:
            raise PolisFormatError(f"{path.name} line {line}: expected key,value but found {len(row)} fields")
        key = row[0].strip()
        if key in wanted:
            if key in values:
                raise PolisFormatError(f"{path.name} line {line}: duplicate key {key!r}")
            values[key] = row[1] if len(row) > 1 else ""
    return values.get("topic") or None, values.get("conversation-description") or None


def read_export(folder: Path | str) -> PolisConversation:
    """Read the Polis export in ``folder`` (see the module docstring for what is read and how
    it is validated). Raises :class:`PolisFormatError` with a one-line message."""
    if isinstance(folder, str) and not folder.strip():
        raise PolisFormatError("empty folder path")
    folder = Path(folder)
    if not folder.exists():
        raise PolisFormatError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise PolisFormatError(f"{folder}: not a folder")

    comments = _read_comments(folder / COMMENTS_CSV)
    comment_ids = {c.id for c in comments}
    votes_path = folder / VOTES_CSV
    pv_path = folder / PARTICIPANTS_VOTES_CSV
    has_votes = votes_path.exists()
    has_pv = pv_path.exists()
    if not has_votes and not has_pv:
        raise PolisFormatError(f"{VOTES_CSV}: not found in {folder} (nor {PARTICIPANTS_VOTES_CSV})")

    source: Literal["votes.csv", "participants-votes.csv"]
    groups: dict[int, int] = {}
    if has_votes:
        source = "votes.csv"
        final = _read_votes(votes_path, comment_ids)
        if has_pv:
            groups, _ = _read_participants_votes(pv_path, comment_ids, want_votes=False)
    else:
        source = "participants-votes.csv"
        groups, final = _read_participants_votes(pv_path, comment_ids, want_votes=True)

    topic: str | None = None
    description: str | None = None
    summary_path = folder / SUMMARY_CSV
    if summary_path.exists():
        topic, description = _read_summary(summary_path)

    votes = tuple(PolisVote(participant=p, comment=c, value=v) for (p, c), v in sorted(final.items()))
    return PolisConversation(
        topic=topic,
        description=description,
        comments=comments,
        votes=votes,
        groups=dict(sorted(groups.items())),
        source=source,
    )


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _csv_field(value: str) -> str:
    # Hand-rolled rather than csv.writer: with "\n" line ends csv.writer leaves a lone "\r"
    # unquoted, which would not survive a round trip.
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_text(rows: Sequence[Sequence[str]]) -> str:
    return "".join(",".join(_csv_field(f) for f in row) + "\n" for row in rows)


def _check_int(value: object, what: str, *, allowed: frozenset[int] | None = None, minimum: int | None = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise PolisFormatError(f"{what}: must be an integer")
    if allowed is not None and value not in allowed:
        raise PolisFormatError(f"{what}: must be one of {', '.join(str(a) for a in sorted(allowed))}")
    if minimum is not None and value < minimum:
        raise PolisFormatError(f"{what}: must be >= {minimum}")
    return value


def _render(
    topic: str,
    description: str | None,
    comments: Sequence[ExportComment],
    votes: Sequence[PolisVote],
    participants: Sequence[ExportParticipant],
) -> dict[str, str]:
    """Validate the input and build the four files' text (nothing is written here)."""
    by_id: dict[int, ExportComment] = {}
    for c in comments:
        cid = _check_int(c.id, f"{COMMENTS_CSV}: comment id")
        if cid in by_id:
            raise PolisFormatError(f"{COMMENTS_CSV}: duplicate comment id {cid}")
        by_id[cid] = c
        what = f"{COMMENTS_CSV}: comment {cid}"
        if c.author is not None:
            _check_int(c.author, f"{what} author")
        _check_int(c.moderated, f"{what} moderated", allowed=MODERATED_VALUES, minimum=None)
        _check_int(c.agrees, f"{what} agrees")
        _check_int(c.disagrees, f"{what} disagrees")
        if not isinstance(c.body, str):
            raise PolisFormatError(f"{what} body: must be a string")
        gic = c.group_informed_consensus
        if gic is not None and (not isinstance(gic, int | float) or not math.isfinite(gic)):
            raise PolisFormatError(f"{what} group-informed-consensus: must be a finite number")

    final: dict[tuple[int, int], int] = {}
    for v in votes:
        pid = _check_int(v.participant, f"{VOTES_CSV}: voter id")
        cid = _check_int(v.comment, f"{VOTES_CSV}: comment id")
        what = f"{VOTES_CSV}: vote of participant {pid} on comment {cid}"
        value = _check_int(v.value, what, allowed=VOTE_VALUES, minimum=None)
        if cid not in by_id:
            raise PolisFormatError(f"{what}: comment {cid} is not among the comments")
        if (pid, cid) in final:
            raise PolisFormatError(f"{what}: more than one vote (pass only the final vote)")
        final[(pid, cid)] = value

    people: dict[int, ExportParticipant] = {}
    for p in participants:
        pid = _check_int(p.id, f"{PARTICIPANTS_VOTES_CSV}: participant id")
        if pid in people:
            raise PolisFormatError(f"{PARTICIPANTS_VOTES_CSV}: duplicate participant {pid}")
        if p.group is not None:
            _check_int(p.group, f"{PARTICIPANTS_VOTES_CSV}: participant {pid} group")
        _check_int(p.n_comments, f"{PARTICIPANTS_VOTES_CSV}: participant {pid} n-comments")
        people[pid] = p
    authored: dict[int, int] = {}
    for c in by_id.values():
        if c.author is not None:
            authored[c.author] = authored.get(c.author, 0) + 1
    for pid, _ in final:
        if pid not in people:  # a voter the caller did not describe: no group, count their statements
            people[pid] = ExportParticipant(id=pid, group=None, n_comments=authored.get(pid, 0))

    comment_ids = sorted(by_id)
    comment_rows: list[list[str]] = [list(COMMENTS_HEADER)]
    for cid in comment_ids:
        c = by_id[cid]
        gic = c.group_informed_consensus
        comment_rows.append(
            [
                "",  # timestamp: not kept (privacy)
                "",  # datetime: not kept (privacy)
                str(cid),
                "" if c.author is None else str(c.author),
                str(c.agrees),
                str(c.disagrees),
                str(c.moderated),
                c.body,
                "" if gic is None else repr(float(gic)),
            ]
        )

    vote_rows: list[list[str]] = [list(VOTES_HEADER)]
    for (pid, cid), value in sorted(final.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        vote_rows.append(["", "", str(cid), str(pid), str(value)])

    per_participant: dict[int, dict[int, int]] = {}
    for (pid, cid), value in final.items():
        per_participant.setdefault(pid, {})[cid] = value
    pv_rows: list[list[str]] = [[*PARTICIPANTS_META_HEADER, *(str(c) for c in comment_ids)]]
    for pid in sorted(people):
        p = people[pid]
        mine = per_participant.get(pid, {})
        values = list(mine.values())
        pv_rows.append(
            [
                str(pid),
                "" if p.group is None else str(p.group),
                str(p.n_comments),
                str(len(values)),
                str(values.count(1)),
                str(values.count(-1)),
                *("" if (cell := mine.get(cid)) is None else str(cell) for cid in comment_ids),
            ]
        )

    voters = len({pid for pid, _ in final})
    summary_rows = [
        ["topic", topic],
        ["url", ""],
        ["views", ""],
        ["voters", str(voters)],
        ["voters-in-conv", str(voters)],
        ["commenters", str(len({c.author for c in by_id.values() if c.author is not None}))],
        ["comments", str(len(by_id))],
        ["groups", str(len({p.group for p in people.values() if p.group is not None}))],
        ["conversation-description", description or ""],
    ]
    return {
        COMMENTS_CSV: _csv_text(comment_rows),
        VOTES_CSV: _csv_text(vote_rows),
        PARTICIPANTS_VOTES_CSV: _csv_text(pv_rows),
        SUMMARY_CSV: _csv_text(summary_rows),
    }


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_export(
    folder: Path | str,
    *,
    topic: str,
    description: str | None,
    comments: Sequence[ExportComment],
    votes: Sequence[PolisVote],
    participants: Sequence[ExportParticipant],
    overwrite: bool = False,
) -> list[Path]:
    """Write a Polis export (comments.csv, votes.csv, participants-votes.csv, summary.csv) to
    ``folder`` and return the paths written, in that order.

    ``votes`` are final votes, at most one per (participant, comment). The ``timestamp`` and
    ``datetime`` columns are left empty on purpose: straatstem keeps no vote or statement times
    (privacy). The folder is created if missing; existing Polis files in it are only replaced
    with ``overwrite=True``. Each file is written atomically (temporary file + ``os.replace``)
    after all input has been validated. Problems raise :class:`PolisFormatError`."""
    if isinstance(folder, str) and not folder.strip():
        raise PolisFormatError("empty folder path")
    folder = Path(folder)
    if not isinstance(topic, str):
        raise PolisFormatError(f"{SUMMARY_CSV}: topic must be a string")
    if description is not None and not isinstance(description, str):
        raise PolisFormatError(f"{SUMMARY_CSV}: description must be a string or None")
    texts = _render(topic, description, comments, votes, participants)

    if folder.exists() and not folder.is_dir():
        raise PolisFormatError(f"{folder}: exists and is not a folder")
    if not overwrite and folder.is_dir():
        present = [name for name in POLIS_FILES if (folder / name).exists() or (folder / name).is_symlink()]
        if present:
            raise PolisFormatError(
                f"{folder}: already holds {', '.join(present)}; refusing to overwrite (pass overwrite=True)"
            )
    written: list[Path] = []
    current = str(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name in POLIS_FILES:
            current = name
            path = folder / name
            _write_atomic(path, texts[name])
            written.append(path)
    except OSError as e:
        raise PolisFormatError(f"{current}: cannot write to {folder} ({e.strerror or type(e).__name__})") from None
    with contextlib.suppress(OSError):  # best effort: make the renames durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return written
