"""Polis export folders: reading the five public Polis conversations, round trips, and one-line
errors for malformed input.

The real conversations are read from ../shared/data/polis (CC BY 4.0, The Computational
Democracy Project; see ATTRIBUTION.md there) and never copied into the repository; those tests
skip when the folder is absent.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatbot.polis_format import (
    POLIS_FILES,
    ExportComment,
    ExportParticipant,
    PolisConversation,
    PolisFormatError,
    PolisVote,
    read_export,
    write_export,
)

POLIS_DATA = Path(os.environ.get("STRAATSTEM_POLIS_DATA", Path(__file__).resolve().parents[3] / "shared/data/polis"))

# name -> (comments.csv rows, final votes, voters, participants with a Polis group,
#          (participant, comment) pairs whose vote changed over time)
REAL = {
    "15-per-hour-seattle": (54, 2872, 339, 138, 7),
    "brexit-consensus": (50, 5303, 204, 197, 1),
    "canadian-electoral-reform": (174, 11950, 448, 281, 3),
    "london.youth.policing": (39, 638, 26, 24, 0),
    "scoop-hivemind.biodiversity": (316, 29719, 536, 443, 1),
}
# Statements without a column in Polis's participants-votes.csv: all moderated out, no votes.
MATRIX_OMITS = {"london.youth.policing": {0, 2, 3}, "scoop-hivemind.biodiversity": {6, 7}}

_cache: dict[str, PolisConversation] = {}


def real_folder(name: str) -> Path:
    folder = POLIS_DATA / name
    if not (folder / "comments.csv").is_file():
        pytest.skip(
            f"Polis open data not found at {folder} (expected ../shared/data/polis next to the repository, "
            "or set STRAATSTEM_POLIS_DATA)"
        )
    return folder


def real(name: str) -> PolisConversation:
    folder = real_folder(name)
    if name not in _cache:
        _cache[name] = read_export(folder)
    return _cache[name]


def raw_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def raw_summary(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {row[0]: row[1] for row in csv.reader(fh) if row}


# ---------------------------------------------------------------------------------------------
# The five real conversations
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_conversation_counts(name: str) -> None:
    folder = real_folder(name)
    conv = real(name)
    n_comments, n_votes, n_voters, n_grouped, _ = REAL[name]
    summary = raw_summary(folder / "summary.csv")

    assert conv.source == "votes.csv"
    assert conv.topic == summary["topic"]
    assert conv.description == (summary["conversation-description"] or None)
    assert len(conv.comments) == n_comments == len(raw_rows(folder / "comments.csv"))
    assert [c.id for c in conv.comments] == sorted(c.id for c in conv.comments)
    assert {c.moderated for c in conv.comments} <= {-1, 0, 1}
    assert len(conv.votes) == n_votes
    assert {v.value for v in conv.votes} <= {-1, 0, 1}
    assert [(v.participant, v.comment) for v in conv.votes] == sorted({(v.participant, v.comment) for v in conv.votes})

    voters = {v.participant for v in conv.votes}
    voted = {v.comment for v in conv.votes}
    assert len(voters) == n_voters == int(summary["voters"]) == int(summary["voters-in-conv"])
    # Polis's summary counts the statements that received votes (= the matrix's columns), not all rows.
    assert len(voted) == int(summary["comments"])
    assert len({c.author for c in conv.comments}) == int(summary["commenters"])
    assert voted <= {c.id for c in conv.comments}

    assert len(conv.groups) == n_grouped
    assert len(set(conv.groups.values())) == int(summary["groups"])
    assert set(conv.groups) <= voters
    per_participant = Counter(v.participant for v in conv.votes)
    assert all(p in conv.groups for p, n in per_participant.items() if n >= 7)  # Polis clusters everyone with >= 7


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_latest_vote_wins(name: str) -> None:
    folder = real_folder(name)
    conv = real(name)
    history: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for row in raw_rows(folder / "votes.csv"):
        key = (int(row["voter-id"]), int(row["comment-id"]))
        history.setdefault(key, []).append((int(row["timestamp"]), int(row["vote"])))
    final = {(v.participant, v.comment): v.value for v in conv.votes}
    assert set(final) == set(history)
    changed = {k: h for k, h in history.items() if len({value for _, value in h}) > 1}
    assert len(changed) == REAL[name][4]
    for key, events in history.items():
        assert final[key] == max(events)[1]  # timestamps are unique per pair in these files
    # The file is not in time order; the rule must not degrade to "first row wins".
    if name == "15-per-hour-seattle":
        assert any(final[k] != h[0][1] for k, h in changed.items())


def test_latest_vote_wins_regardless_of_file_order(tmp_path: Path) -> None:
    """A voter changed their mind (a real changed vote from the Seattle file), rows written
    newest first; and a timestamp tie, decided by file order."""
    folder = real_folder("15-per-hour-seattle")
    rows = raw_rows(folder / "votes.csv")
    by_key: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        by_key.setdefault((row["voter-id"], row["comment-id"]), []).append(row)
    voter, comment = next(k for k, h in by_key.items() if len({r["vote"] for r in h}) > 1)
    events = sorted(by_key[(voter, comment)], key=lambda r: int(r["timestamp"]))
    shutil.copy(folder / "comments.csv", tmp_path / "comments.csv")
    with (tmp_path / "votes.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["timestamp", "datetime", "comment-id", "voter-id", "vote"])
        writer.writeheader()
        writer.writerows(reversed(events))  # newest first
        tie = {"timestamp": "1", "datetime": "", "comment-id": comment, "voter-id": "999999"}
        writer.writerow({**tie, "vote": "1"})
        writer.writerow({**tie, "vote": "-1"})  # same timestamp, later in the file: wins
    conv = read_export(tmp_path)
    final = {(v.participant, v.comment): v.value for v in conv.votes}
    assert final == {(int(voter), int(comment)): int(events[-1]["vote"]), (999999, int(comment)): -1}
    assert conv.groups == {}
    assert conv.topic is None and conv.description is None


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_matrix_alone_gives_the_same_votes(name: str, tmp_path: Path) -> None:
    """participants-votes.csv holds the final votes: reading it alone gives exactly the
    latest-vote-wins set from votes.csv. The one difference between the files: Polis omits
    matrix columns of statements nobody voted on (moderated out before anyone saw them)."""
    folder = real_folder(name)
    conv = real(name)
    for file in ("comments.csv", "participants-votes.csv"):
        shutil.copy(folder / file, tmp_path / file)
    alone = read_export(tmp_path)
    assert alone.source == "participants-votes.csv"
    assert alone.votes == conv.votes
    assert alone.groups == conv.groups
    assert alone.comments == conv.comments

    with (folder / "participants-votes.csv").open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    columns = {int(h) for h in header if h.isdigit()}
    omitted = {c.id for c in conv.comments} - columns
    assert omitted == MATRIX_OMITS.get(name, set())
    assert not omitted & {v.comment for v in conv.votes}
    assert all(c.moderated == -1 for c in conv.comments if c.id in omitted)
    if name == "london.youth.policing":
        assert "xid" in header  # the extra column is tolerated (and ignored)


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_round_trip(name: str, tmp_path: Path) -> None:
    conv = real(name)
    comments = [ExportComment(c.id, c.author, c.body, c.moderated, 0, 0, None) for c in conv.comments]
    participants = [ExportParticipant(p, g, 0) for p, g in conv.groups.items()]
    write_export(
        tmp_path, topic=conv.topic or "", description=conv.description, comments=comments, votes=conv.votes,
        participants=participants,
    )  # fmt: skip
    back = read_export(tmp_path)
    assert (back.comments, back.votes, back.groups) == (conv.comments, conv.votes, conv.groups)
    assert (back.topic, back.description) == (conv.topic, conv.description)


# ---------------------------------------------------------------------------------------------
# Writing and round trips
# ---------------------------------------------------------------------------------------------

BODIES = {
    1: 'Zeg "nee" tegen nafluiten, ook als het "grappig" bedoeld is',
    2: "Meer licht bij het station, de tunnel, en de fietsenstalling",
    3: "Eerste regel\nTweede regel\r\nDerde regel\rvierde",
    4: "Straatintimidatie — \u2018niet oké\u2019, ça suffit; 街 🚲",
    5: "  spaties rondom  ",
    7: "",
}


def synthetic(folder: Path, **kwargs: object) -> list[Path]:
    comments = [
        ExportComment(cid, None if cid == 7 else cid % 3, body, [1, 0, -1][cid % 3], cid, 1, 0.25 if cid < 4 else None)
        for cid, body in BODIES.items()
    ]
    votes = [
        PolisVote(0, 1, 1),
        PolisVote(0, 2, -1),
        PolisVote(0, 4, 0),
        PolisVote(1, 1, -1),
        PolisVote(1, 3, 1),
        PolisVote(2, 7, 1),
        PolisVote(5, 5, 0),
    ]
    participants = [ExportParticipant(0, 0, 2), ExportParticipant(1, 1, 1), ExportParticipant(9, 1, 0)]
    return write_export(
        folder,
        topic='Hoe maken we de straat veiliger? "Samen"',
        description="Regel één,\nregel twee",
        comments=comments,
        votes=votes,
        participants=participants,
        **kwargs,  # type: ignore[arg-type]
    )


def test_synthetic_round_trip(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "export"
    paths = synthetic(folder)
    assert paths == [folder / name for name in POLIS_FILES]
    conv = read_export(folder)
    assert conv.source == "votes.csv"
    assert {c.id: c.body for c in conv.comments} == BODIES
    assert [(c.id, c.author, c.moderated) for c in conv.comments] == [
        (1, 1, 0),
        (2, 2, -1),
        (3, 0, 1),
        (4, 1, 0),
        (5, 2, -1),
        (7, None, 0),
    ]
    assert conv.votes == (
        PolisVote(0, 1, 1),
        PolisVote(0, 2, -1),
        PolisVote(0, 4, 0),
        PolisVote(1, 1, -1),
        PolisVote(1, 3, 1),
        PolisVote(2, 7, 1),
        PolisVote(5, 5, 0),
    )
    assert conv.groups == {0: 0, 1: 1, 9: 1}
    assert conv.topic == 'Hoe maken we de straat veiliger? "Samen"'
    assert conv.description == "Regel één,\nregel twee"
    # Reading the matrix alone gives the same.
    (folder / "votes.csv").unlink()
    alone = read_export(folder)
    assert (alone.votes, alone.groups, alone.source) == (conv.votes, conv.groups, "participants-votes.csv")


def test_written_files_follow_polis_layout(tmp_path: Path) -> None:
    synthetic(tmp_path)
    comments = raw_rows(tmp_path / "comments.csv")
    assert list(comments[0]) == [
        "timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body",
        "group-informed-consensus",
    ]  # fmt: skip
    assert all(r["timestamp"] == r["datetime"] == "" for r in comments)  # no times kept, on purpose
    assert [r["group-informed-consensus"] for r in comments] == ["0.25", "0.25", "0.25", "", "", ""]
    assert comments[3]["agrees"] == "4" and comments[5]["author-id"] == ""

    votes = raw_rows(tmp_path / "votes.csv")
    assert list(votes[0]) == ["timestamp", "datetime", "comment-id", "voter-id", "vote"]
    assert all(r["timestamp"] == r["datetime"] == "" for r in votes)
    assert [(r["comment-id"], r["voter-id"]) for r in votes][:3] == [("1", "0"), ("1", "1"), ("2", "0")]

    with (tmp_path / "participants-votes.csv").open(encoding="utf-8", newline="") as fh:
        matrix = list(csv.reader(fh))
    assert matrix[0] == [
        "participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree", "1", "2", "3", "4", "5", "7",
    ]  # fmt: skip
    assert matrix[1] == ["0", "0", "2", "3", "1", "1", "1", "-1", "", "0", "", ""]
    assert matrix[3] == ["2", "", "2", "1", "1", "0", "", "", "", "", "", "1"]  # voter not passed in: no group
    assert [row[0] for row in matrix[1:]] == ["0", "1", "2", "5", "9"]

    summary = raw_summary(tmp_path / "summary.csv")
    assert summary == {
        "topic": 'Hoe maken we de straat veiliger? "Samen"',
        "url": "",
        "views": "",
        "voters": "4",
        "voters-in-conv": "4",
        "commenters": "3",
        "comments": "6",
        "groups": "2",
        "conversation-description": "Regel één,\nregel twee",
    }
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert (tmp_path / "comments.csv").read_bytes().count(b"\r\n") == 1  # only inside the quoted body


@st.composite
def conversations(
    draw: st.DrawFn,
) -> tuple[list[ExportComment], list[PolisVote], list[ExportParticipant], str, str | None]:
    ids = draw(st.lists(st.integers(0, 10**9), unique=True, max_size=8))
    comments = [
        ExportComment(
            cid,
            draw(st.none() | st.integers(0, 10**6)),
            draw(st.text(max_size=30)),
            draw(st.sampled_from([-1, 0, 1])),
            draw(st.integers(0, 1000)),
            draw(st.integers(0, 1000)),
            draw(st.none() | st.floats(0, 1)),
        )
        for cid in ids
    ]
    votes: list[PolisVote] = []
    if ids:
        final = draw(
            st.dictionaries(
                st.tuples(st.integers(0, 30), st.sampled_from(ids)), st.sampled_from([-1, 0, 1]), max_size=40
            )
        )
        votes = [PolisVote(p, c, v) for (p, c), v in final.items()]
    groups = draw(st.dictionaries(st.integers(0, 40), st.none() | st.integers(0, 4), max_size=10))
    participants = [ExportParticipant(p, g, draw(st.integers(0, 5))) for p, g in groups.items()]
    return comments, votes, participants, draw(st.text(max_size=20)), draw(st.none() | st.text(max_size=40))


@settings(max_examples=50, deadline=None)
@given(conversations())
def test_round_trip_property(
    conversation: tuple[list[ExportComment], list[PolisVote], list[ExportParticipant], str, str | None],
) -> None:
    comments, votes, participants, topic, description = conversation
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_export(folder, topic=topic, description=description, comments=comments, votes=votes,
                     participants=participants)  # fmt: skip
        conv = read_export(folder)
        (folder / "votes.csv").unlink()
        alone = read_export(folder)
    assert [(c.id, c.author, c.body, c.moderated) for c in conv.comments] == sorted(
        (c.id, c.author, c.body, c.moderated) for c in comments
    )
    assert conv.votes == tuple(sorted(votes, key=lambda v: (v.participant, v.comment)))
    assert conv.groups == {p.id: p.group for p in participants if p.group is not None}
    assert (conv.topic, conv.description) == (topic or None, description or None)
    assert (alone.comments, alone.votes, alone.groups) == (conv.comments, conv.votes, conv.groups)


def test_overwrite_refused(tmp_path: Path) -> None:
    synthetic(tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in POLIS_FILES}
    (tmp_path / "comments.csv").write_text("changed by hand\n", encoding="utf-8")
    with pytest.raises(PolisFormatError, match=r"refusing to overwrite") as err:
        synthetic(tmp_path)
    assert "\n" not in str(err.value)
    assert (tmp_path / "comments.csv").read_text(encoding="utf-8") == "changed by hand\n"
    synthetic(tmp_path, overwrite=True)
    assert {name: (tmp_path / name).read_bytes() for name in POLIS_FILES} == before

    # A single existing Polis file is enough to refuse; unrelated files are not.
    other = tmp_path / "other"
    other.mkdir()
    (other / "README.txt").write_text("notes", encoding="utf-8")
    synthetic(other)
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "summary.csv").write_text("topic,x\n", encoding="utf-8")
    with pytest.raises(PolisFormatError, match=r"summary\.csv"):
        synthetic(lone)
    assert sorted(p.name for p in lone.iterdir()) == ["summary.csv"]

    a_file = tmp_path / "file"
    a_file.write_text("", encoding="utf-8")
    with pytest.raises(PolisFormatError, match="not a folder"):
        synthetic(a_file)


@pytest.mark.parametrize(
    ("comments", "votes", "participants", "match"),
    [
        ([ExportComment(1, None, "a", 0, 0, 0, None)] * 2, [], [], "duplicate comment id 1"),
        ([ExportComment(1, None, "a", 2, 0, 0, None)], [], [], "moderated"),
        ([ExportComment(1, None, "a", 0, 0, 0, float("nan"))], [], [], "finite"),
        ([ExportComment(1, None, "a", 0, 0, 0, None)], [PolisVote(0, 1, 2)], [], "must be one of -1, 0, 1"),
        ([ExportComment(1, None, "a", 0, 0, 0, None)], [PolisVote(0, 2, 1)], [], "comment 2 is not among"),
        ([ExportComment(1, None, "a", 0, 0, 0, None)], [PolisVote(0, 1, 1)] * 2, [], "more than one vote"),
        ([], [], [ExportParticipant(3, None, 0)] * 2, "duplicate participant 3"),
    ],
)
def test_write_rejects_bad_input(
    tmp_path: Path,
    comments: list[ExportComment],
    votes: list[PolisVote],
    participants: list[ExportParticipant],
    match: str,
) -> None:
    with pytest.raises(PolisFormatError, match=match):
        write_export(tmp_path / "out", topic="t", description=None, comments=comments, votes=votes,
                     participants=participants)  # fmt: skip
    assert not (tmp_path / "out").exists()  # validated before anything is written


# ---------------------------------------------------------------------------------------------
# Malformed input: one-line errors naming file and line, never echoing statement text
# ---------------------------------------------------------------------------------------------

SECRET = "Mijn buurman Jan de Vries"  # statement text that must never appear in an error
COMMENTS_OK = (
    "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
    f'1,,0,0,0,0,1,"{SECRET}, line one\nline two\nline three"\n'
    "2,,1,,0,0,0,Tweede\n"
)
VOTES_OK = "timestamp,datetime,comment-id,voter-id,vote\n10,,0,5,1\n11,,1,5,-1\n"
PV_OK = "participant,group-id,n-comments,n-votes,n-agree,n-disagree,0,1\n5,0,0,2,1,1,1,-1\n"


def make_folder(folder: Path, **files: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, content in files.items():
        path = folder / (stem.replace("_", "-") + ".csv")
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return folder


def read_error(folder: Path | str) -> str:
    with pytest.raises(PolisFormatError) as err:
        read_export(folder)
    message = str(err.value)
    assert "\n" not in message and "\r" not in message
    assert SECRET not in message
    return message


def test_valid_minimal_folder(tmp_path: Path) -> None:
    conv = read_export(make_folder(tmp_path, comments=COMMENTS_OK, votes=VOTES_OK, participants_votes=PV_OK))
    assert conv.votes == (PolisVote(5, 0, 1), PolisVote(5, 1, -1))
    assert conv.groups == {5: 0}
    assert conv.comments[0].body == f"{SECRET}, line one\nline two\nline three"
    assert conv.comments[1].author is None


def test_bom_accepted(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    folder = make_folder(
        tmp_path,
        comments=bom + COMMENTS_OK.encode(),
        votes=bom + VOTES_OK.encode(),
        summary=bom + b"topic,Veilig\nconversation-description,\n",
    )
    conv = read_export(folder)
    assert len(conv.comments) == 2 and len(conv.votes) == 2
    assert (conv.topic, conv.description) == ("Veilig", None)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param({"votes": VOTES_OK}, "comments.csv: not found in ", id="missing-comments"),
        pytest.param({"comments": COMMENTS_OK}, "votes.csv: not found in ", id="no-votes-at-all"),
        pytest.param({"comments": "", "votes": VOTES_OK}, "comments.csv line 1: file is empty", id="empty-comments"),
        pytest.param(
            {"comments": COMMENTS_OK.replace("comment-id", "comment_id", 1), "votes": VOTES_OK},
            "comments.csv line 1: missing column 'comment-id'",
            id="bad-header",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "votes": VOTES_OK.replace("voter-id", "voter")},
            "votes.csv line 1: missing column 'voter-id'",
            id="bad-votes-header",
        ),
        pytest.param(
            {"comments": COMMENTS_OK + "3,,x7,0,0,0,1,Derde\n", "votes": VOTES_OK},
            "comments.csv line 6, column 3 (comment-id): must be a non-negative integer",
            id="non-integer-id",  # line 6: the first record spans lines 2-4
        ),
        pytest.param(
            {"comments": COMMENTS_OK.replace("\n2,,1,", "\n2,,0,"), "votes": VOTES_OK},
            "comments.csv line 5, column 3 (comment-id): duplicate comment id 0 (first on line 2)",
            id="duplicate-comment-id",
        ),
        pytest.param(
            {"comments": COMMENTS_OK.replace(',0,1,"', ',0,7,"'), "votes": VOTES_OK},
            "comments.csv line 2, column 7 (moderated): moderated must be -1, 0 or 1",
            id="bad-moderated",
        ),
        pytest.param(
            {"comments": COMMENTS_OK + "3,,2,0,0,0,1\n", "votes": VOTES_OK},
            "comments.csv line 6: 7 fields, the header has 8",
            id="short-row",
        ),
        pytest.param(
            {"comments": COMMENTS_OK + '3,,2,0,0,0,1,"unterminated\n', "votes": VOTES_OK},
            "comments.csv line 6: malformed CSV",
            id="unterminated-quote",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "votes": VOTES_OK + "12,,1,6,2\n"},
            "votes.csv line 4, column 5 (vote): vote must be -1, 0 or 1",
            id="vote-2",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "votes": VOTES_OK + "12,,1,6,yes\n"},
            "votes.csv line 4, column 5 (vote): must be an integer",
            id="vote-not-integer",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "votes": VOTES_OK + "12,,9,6,1\n"},
            "votes.csv line 4, column 3 (comment-id): comment id 9 is not in comments.csv",
            id="vote-on-unknown-comment",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "votes": VOTES_OK + ",,1,6,1\n"},
            "votes.csv line 4, column 1 (timestamp): timestamps must be given on every row or on none",
            id="mixed-timestamps",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "participants_votes": PV_OK + "6,,0,1,0,0,2,\n"},
            "participants-votes.csv line 3, column 7 (0): vote must be -1, 0 or 1",
            id="matrix-vote-2",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "participants_votes": PV_OK.replace(",0,1\n", ",0,8\n", 1)},
            "participants-votes.csv line 1, column 8: comment id 8 is not in comments.csv",
            id="matrix-unknown-comment",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "participants_votes": PV_OK + "5,,0,0,0,0,,\n"},
            "participants-votes.csv line 3, column 1 (participant): duplicate participant 5 (first on line 2)",
            id="matrix-duplicate-participant",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "votes": VOTES_OK, "participants_votes": PV_OK.replace("\n5,0,", "\n5,g,")},
            "participants-votes.csv line 2, column 2 (group-id): must be a non-negative integer",
            id="bad-group",
        ),
        pytest.param(
            {"comments": COMMENTS_OK, "votes": VOTES_OK, "summary": "topic,a\ntopic,b\n"},
            "summary.csv line 2: duplicate key 'topic'",
            id="summary-duplicate-key",
        ),
        pytest.param(
            {"comments": COMMENTS_OK.encode() + b"3,,2,0,0,0,1,caf\xe9\n", "votes": VOTES_OK},
            "comments.csv line 6: not valid UTF-8",
            id="not-utf8",
        ),
    ],
)
def test_malformed_input(tmp_path: Path, files: dict[str, str | bytes], expected: str) -> None:
    message = read_error(make_folder(tmp_path / "conv", **files))
    assert message.startswith(expected), message


def test_bad_folders(tmp_path: Path) -> None:
    assert read_error("") == "empty folder path"
    assert read_error(tmp_path / "missing").endswith("missing: no such folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert read_error(empty) == f"comments.csv: not found in {empty}"
    a_file = tmp_path / "comments.csv"
    a_file.write_text(COMMENTS_OK, encoding="utf-8")
    assert read_error(a_file).endswith("comments.csv: not a folder")
    odd = tmp_path / "two\nlines"
    odd.mkdir()
    assert read_error(odd).startswith("comments.csv: not found in ")  # newline in the path escaped
