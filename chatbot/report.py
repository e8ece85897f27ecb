"""The moderators' report of a discussion: opinion groups with their representative
statements, group-informed consensus and divisive statements, majority statements,
participation evenness and the routing balance figures; as JSON, CSV and a printable page.

Only aggregates leave here: group sizes (never below the configured minimum, see
chatbot/opinion.py), statement counts and shares. No participant id, token or per-participant
row appears in any format.
"""

from __future__ import annotations

import csv
import html
import io
import uuid
from collections.abc import Mapping, Sequence
from typing import Literal

import asyncpg
import msgspec

from chatbot import repository as repo
from chatbot import routing
from chatbot.engine import Engine, Refused, Snapshot, group_label

TOP = 10


class ReportRep(msgspec.Struct, kw_only=True):
    statement: int
    body: str
    direction: Literal["agree", "disagree"]
    share: float  # of the group's votes on it that went this direction
    votes: int
    metric: float


class ReportGroup(msgspec.Struct, kw_only=True):
    id: int
    size: int
    share: float
    representative: list[ReportRep]


class ReportStatement(msgspec.Struct, kw_only=True):
    id: int
    body: str
    state: str
    seed: bool
    agree: int
    disagree: int
    passes: int
    group_informed_consensus: float | None
    divisiveness: float | None
    group: int | None


class RankedStatement(msgspec.Struct, kw_only=True):
    statement: int
    body: str
    value: float
    direction: Literal["agree", "disagree"] | None = None


class Participation(msgspec.Struct, kw_only=True):
    participants: int
    voters: int
    authors: int
    in_conversation: int
    votes: int
    statements: int
    gini_votes: float
    gini_statements: float


class Balance(msgspec.Struct, kw_only=True):
    participants: int
    target: dict[int, float]
    mean_shares: dict[int, float]
    distance_to_proportional: float
    distance_to_equal: float
    p90_distance_to_proportional: float


class Report(msgspec.Struct, kw_only=True):
    discussion: uuid.UUID
    question: str
    state: str
    moderation: str
    version: int
    method: Literal["opinion", "text", "none"]
    groups: list[ReportGroup]
    consensus: list[RankedStatement]
    divisive: list[RankedStatement]
    majority: list[RankedStatement]
    participation: Participation
    balance: Balance
    statements: list[ReportStatement]
    # Which language models served this discussion's checks, or which fallback (degraded mode).
    language_models: dict[str, str] = msgspec.field(default_factory=dict)


async def build(engine: Engine, conn: asyncpg.Connection, discussion: uuid.UUID) -> Report:
    row = await repo.discussion(conn, discussion)
    if row is None:
        raise Refused("not-found", "no discussion with this id")
    version, snap = await engine.snapshot(conn, discussion)
    counts = {r["id"]: r for r in await repo.vote_counts(conn, discussion, engine.config.flag_threshold)}
    statements = await repo.statements(conn, discussion, states=("accepted", "pending"))
    body = {r["id"]: r["body"] for r in statements}
    people = await repo.participant_rows(conn, discussion)
    shown = await repo.shown_by_participant(conn, discussion)
    return Report(
        discussion=discussion,
        question=row["question"],
        state=row["state"],
        moderation=row["moderation"],
        version=version,
        method=snap.method,
        groups=_groups(snap, body),
        consensus=_ranked(snap.consensus, body),
        divisive=_ranked(snap.divisiveness, body, positive_only=True),
        majority=[
            RankedStatement(statement=m.statement, body=body[m.statement], value=m.p_success, direction=m.direction)
            for m in snap.majority
            if m.statement in body
        ],
        participation=_participation(people, snap),
        balance=_balance(shown, snap),
        language_models=dict(engine.model_checks),
        statements=[
            ReportStatement(
                id=r["id"],
                body=r["body"],
                state=r["state"],
                seed=r["is_seed"],
                agree=counts[r["id"]]["agree"] if r["id"] in counts else 0,
                disagree=counts[r["id"]]["disagree"] if r["id"] in counts else 0,
                passes=counts[r["id"]]["passes"] if r["id"] in counts else 0,
                group_informed_consensus=snap.consensus.get(r["id"]),
                divisiveness=snap.divisiveness.get(r["id"]),
                group=snap.statement_group.get(r["id"]) if snap.method == "opinion" else None,
            )
            for r in statements
            if r["id"] in counts
        ],
    )


def _groups(snap: Snapshot, body: Mapping[int, str]) -> list[ReportGroup]:
    total = sum(g.size for g in snap.groups) or 1
    return [
        ReportGroup(
            id=g.id,
            size=g.size,
            share=round(g.size / total, 4),
            representative=[
                ReportRep(
                    statement=r.statement,
                    body=body[r.statement],
                    direction=r.direction,
                    share=round((r.agree if r.direction == "agree" else r.disagree) / r.votes, 4) if r.votes else 0.0,
                    votes=r.votes,
                    metric=round(r.metric, 6),
                )
                for r in g.representative
                if r.statement in body
            ],
        )
        for g in snap.groups
    ]


def _ranked(
    values: Mapping[int, float], body: Mapping[int, str], *, positive_only: bool = False
) -> list[RankedStatement]:
    ranked = sorted(((v, s) for s, v in values.items() if s in body and (v > 0 or not positive_only)), reverse=True)
    return [RankedStatement(statement=s, body=body[s], value=round(v, 6)) for v, s in ranked[:TOP]]


def _participation(people: Sequence[asyncpg.Record], snap: Snapshot) -> Participation:
    votes = [int(r["votes"]) for r in people]
    statements = [int(r["statements"]) for r in people]
    return Participation(
        participants=len(people),
        voters=sum(1 for v in votes if v),
        authors=sum(1 for s in statements if s),
        in_conversation=snap.in_conversation,
        votes=sum(votes),
        statements=sum(statements),
        gini_votes=round(routing.gini(votes), 4),
        gini_statements=round(routing.gini(statements), 4),
    )


def _balance(shown: Sequence[asyncpg.Record], snap: Snapshot) -> Balance:
    target = snap.target()
    per_participant = {r["participant"]: [snap.statement_group.get(s) for s in r["statements"]] for r in shown}
    figures = routing.balance_report(per_participant, target)
    return Balance(
        participants=figures.participants,
        target={g: round(v, 4) for g, v in target.items()},
        mean_shares={g: round(v, 4) for g, v in figures.mean_shares.items()},
        distance_to_proportional=round(figures.distance_to_proportional, 4),
        distance_to_equal=round(figures.distance_to_equal, 4),
        p90_distance_to_proportional=round(figures.p90_distance_to_proportional, 4),
    )


# --- formats --------------------------------------------------------------------------------

CSV_COLUMNS = (
    "statement",
    "body",
    "state",
    "seed",
    "agree",
    "disagree",
    "pass",
    "group_informed_consensus",
    "divisiveness",
    "group",
    "representative_of",
)


def to_csv(report: Report) -> str:
    """One row per statement; formula-leading cells are prefixed with ' so spreadsheets do
    not execute them."""
    representative = {r.statement: f"{g.id}:{r.direction}" for g in report.groups for r in g.representative}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in report.statements:
        writer.writerow(
            (
                s.id,
                _cell(s.body),
                s.state,
                "yes" if s.seed else "no",
                s.agree,
                s.disagree,
                s.passes,
                "" if s.group_informed_consensus is None else f"{s.group_informed_consensus:.6f}",
                "" if s.divisiveness is None else f"{s.divisiveness:.6f}",
                "" if s.group is None else s.group,
                representative.get(s.id, ""),
            )
        )
    return out.getvalue()


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_html(report: Report) -> str:
    """A self-contained printable page: no scripts, no external resources."""
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Report: {e(report.question)}</title>",
        "<style>body{font:14px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}td,th{border-bottom:1px solid #ccc;"
        "padding:.3em .5em;text-align:left;vertical-align:top}th{background:#f3f3f3}.n{text-align:right}"
        "@media print{body{margin:0}h2{break-after:avoid}table{break-inside:auto}tr{break-inside:avoid}}</style>",
        "</head><body>",
        f"<h1>{e(report.question)}</h1>",
        f"<p>Discussion state: {e(report.state)}; moderation: {e(report.moderation)}-moderated; "
        f"groups computed by: {e(report.method)} (version {report.version}).</p>",
    ]
    if report.language_models:
        models = "; ".join(f"{name}: {value}" for name, value in sorted(report.language_models.items()))
        parts.append(f"<p>Language models: {e(models)}.</p>")
    p = report.participation
    parts.append("<h2>Participation</h2><table>")
    for label, value in (
        ("Participants", p.participants),
        ("Voted", p.voters),
        ("Wrote a statement", p.authors),
        ("In the opinion-group computation", p.in_conversation),
        ("Votes", p.votes),
        ("Statements by participants", p.statements),
        ("Gini of votes per participant (0 = even)", f"{p.gini_votes:.3f}"),
        ("Gini of statements per participant", f"{p.gini_statements:.3f}"),
    ):
        parts.append(f"<tr><th>{e(label)}</th><td class='n'>{e(str(value))}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Opinion groups</h2>")
    if not report.groups:
        parts.append("<p>No opinion groups yet: too few participants have voted enough.</p>")
    for g in report.groups:
        label = group_label(sorted(x.id for x in report.groups).index(g.id))
        parts.append(f"<h3>Group {label}: {g.size} participants ({g.share:.0%})</h3><table>")
        parts.append("<tr><th>Representative statement</th><th>Group</th><th class='n'>Votes</th></tr>")
        for r in g.representative:
            parts.append(
                f"<tr><td>{e(r.body)}</td><td>{r.share:.0%} {e(r.direction)}</td><td class='n'>{r.votes}</td></tr>"
            )
        parts.append("</table>")
    for title, rows, fmt in (
        ("Consensus across groups (group-informed)", report.consensus, "{:.3f}"),
        ("Divisive statements", report.divisive, "{:.3f}"),
        ("Majority statements", report.majority, "{:.0%}"),
    ):
        parts.append(f"<h2>{e(title)}</h2>")
        if not rows:
            parts.append("<p>None yet.</p>")
            continue
        parts.append("<table><tr><th>Statement</th><th class='n'>Value</th></tr>")
        for ranked in rows:
            direction = f" {e(ranked.direction)}" if ranked.direction else ""
            parts.append(f"<tr><td>{e(ranked.body)}</td><td class='n'>{fmt.format(ranked.value)}{direction}</td></tr>")
        parts.append("</table>")
    b = report.balance
    parts.append(
        "<h2>Routing balance</h2>"
        f"<p>Over {b.participants} participants, the statements shown differ from each group's share of "
        f"participants by {b.distance_to_proportional:.3f} on average (total variation; 90th percentile "
        f"{b.p90_distance_to_proportional:.3f}) and from equal shares by {b.distance_to_equal:.3f}.</p>"
    )
    parts.append(
        "<h2>All statements</h2><table><tr><th>#</th><th>Statement</th><th class='n'>Agree</th>"
        "<th class='n'>Disagree</th><th class='n'>Pass</th></tr>"
    )
    for s in report.statements:
        parts.append(
            f"<tr><td>{s.id}</td><td>{e(s.body)}</td><td class='n'>{s.agree}</td>"
            f"<td class='n'>{s.disagree}</td><td class='n'>{s.passes}</td></tr>"
        )
    parts.append("</table></body></html>")
    return "".join(parts)
