"""Frozen releases: k-anonymous geometry on true counts, then discrete Laplace noise from
OpenDP, stored once and never recomputed (DESIGN.md section 3, "What staff see").

A staff release covers one municipality and one closed calendar month; a public release one
closed quarter. Building one:
1. takes the municipality's build lock, refuses a period that has not closed (plus the
   configured delay) and a period that was already built;
2. charges every layer's epsilon to the ledger of the bucket (month or quarter), refusing the
   whole release if any layer would pass the cap;
3. counts the raw reports per res-9 cell and part (category, band, felt safety);
4. decides the geometry with `privacy.kanon.partition` on TRUE counts over the whole coverage
   (staff: res 9 -> 8 -> 7; public: res 8 -> 7), and per displayed unit which breakdowns pass
   the all-or-nothing rule;
5. adds discrete Laplace noise (privacy.noise, OpenDP) per layer and stores the result.

Why one epsilon per layer suffices: each layer is a histogram over the displayed units (times
the layer's parts) in which a report counts exactly once, so adding or removing one report
changes one entry by one (L1 sensitivity 1) given the geometry. The key set is data-independent
within the geometry: every displayed unit and every part of a shown breakdown is noised,
including the zeros, and the units together with the suppressed res-7 cells cover the whole
municipality. Drawing noise for every cell at every resolution and discarding what is not shown
gives exactly the same output distribution; drawing only the shown entries is that, without
spending seconds on values nobody sees. The geometry itself follows the k rule on true counts,
as DESIGN.md requires: that is the k-anonymity part of the guarantee, not the DP part.

Invariants (tests/aggregation/test_releases*.py): displayed units hold 0 or >= k true reports;
shown breakdown parts 0 or >= k; no displayed cell is an ancestor of another; a second build of
a period is refused and the stored bytes never change; the ledger never exceeds its cap; the
public release shows nothing finer than res 8 and nothing whose noisy count is below the
threshold, and only in bands.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import asyncpg
import h3.api.basic_int as h3i
import msgspec

from privacy import kanon, noise, taxonomy
from privacy.periods import Period, month_of_date, parse_period

Audience = Literal["staff", "public"]
INTERVAL_LEVEL = 0.9
FELT_PARTS = ("1", "2", "3", "4", "5", "none")
CATEGORY_PARTS = tuple(t.code for t in taxonomy.CATEGORIES)
BAND_PARTS = tuple(t.code for t in taxonomy.BANDS)
LAYER_PARTS: dict[str, tuple[str, ...]] = {
    "category": CATEGORY_PARTS,
    "band": BAND_PARTS,
    "felt_safety": FELT_PARTS,
    "category_band": tuple(f"{c}/{b}" for c in CATEGORY_PARTS for b in BAND_PARTS),
}
# Public values are published in bands of the noisy count, never as numbers.
PUBLIC_BANDS: tuple[tuple[int, int | None], ...] = ((10, 24), (25, 49), (50, 99), (100, 249), (250, None))
PUBLIC_THRESHOLD_FLOOR = 10  # public cells need a noisy count of at least this (DESIGN.md)
BUILD_LOCK = 0x5713_0003
FORMAT_VERSION = 1


class ReleaseError(Exception):
    """A release cannot be built; `code` says why (for the CLI and the API)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ReleaseConfig:
    """What a build needs from the deployment's settings (aggregation never imports api)."""

    k: int = 5
    staff_epsilon: Mapping[str, Fraction] = field(default_factory=lambda: {"total": Fraction(1)})
    staff_cap: Fraction = Fraction(2)
    public_epsilon: Mapping[str, Fraction] = field(default_factory=lambda: {"total": Fraction(1)})
    public_cap: Fraction = Fraction(1)
    public_threshold: int = 10
    delay_days: int = 3

    def __post_init__(self) -> None:
        kanon.check_k(self.k)
        if self.public_threshold < PUBLIC_THRESHOLD_FLOOR:
            raise ValueError(f"the public threshold has a floor of {PUBLIC_THRESHOLD_FLOOR}")
        unknown = (set(self.staff_epsilon) - {"total", *LAYER_PARTS}) | (set(self.public_epsilon) - {"total"})
        if unknown:
            raise ValueError(f"unknown layer {sorted(unknown)[0]!r}")


# --- stored format ---------------------------------------------------------------------------


class StoredUnit(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, array_like=True):
    cell: str
    resolution: int
    count: int  # noisy
    layers: dict[str, list[int]] = {}  # noisy, parts in LAYER_PARTS order; only shown breakdowns


class StaffRelease(msgspec.Struct, forbid_unknown_fields=True):
    format: int
    municipality: str
    period: str
    k: int
    epsilon: dict[str, str]
    scale: dict[str, float]
    parts: dict[str, list[str]]
    units: list[StoredUnit]
    suppressed: list[str]  # res-7 cells with fewer than k reports (possibly none)


class PublicCell(msgspec.Struct, forbid_unknown_fields=True):
    cell: str
    resolution: int
    band: str


class PublicRelease(msgspec.Struct, forbid_unknown_fields=True):
    format: int
    municipality: str
    period: str
    k: int
    threshold: int
    epsilon: dict[str, str]
    scale: dict[str, float]
    bands: list[str]
    cells: list[PublicCell]


def decimal_text(value: Fraction) -> str:
    """Exact decimal text of a fraction whose denominator has only factors 2 and 5."""
    text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    if Fraction(Decimal(text)) != value:
        raise ValueError("epsilon must be a finite decimal")
    return text.rstrip("0").rstrip(".") if "." in text else text


def band_of(noisy: int) -> str | None:
    for low, high in PUBLIC_BANDS:
        if noisy >= low and (high is None or noisy <= high):
            return band_label(low, high)
    return None


def band_label(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


# --- SQL -------------------------------------------------------------------------------------

LOCK = "select pg_advisory_xact_lock($1, hashtext($2))"
MUNICIPALITY_EXISTS = "select 1 from municipality where slug = $1"
RELEASE_EXISTS = "select 1 from release where municipality = $1 and audience = $2 and period = $3"
COVERAGE = "select cell from coverage where municipality = $1"
COUNTS = """
select cell, category, band, coalesce(felt_safety, 0)::int as felt, count(*)::int as n
  from report
 where municipality = $1 and month = any($2::text[])
 group by 1, 2, 3, 4
"""
LEDGER_SPENT = "select epsilon from epsilon_ledger where municipality = $1 and audience = $2 and period = $3"
LEDGER_INSERT = """
insert into epsilon_ledger (municipality, audience, period, layer, epsilon, cap)
values ($1, $2, $3, $4, $5, $6)
"""
RELEASE_INSERT = "insert into release (municipality, audience, period, k, body) values ($1, $2, $3, $4, $5)"
RELEASE_BODY = "select body from release where municipality = $1 and audience = $2 and period = $3"
LATEST_PUBLIC = "select body from release where municipality = $1 and audience = 'public' order by period desc limit 1"
RELEASE_BODIES = "select period, body from release where municipality = $1 and audience = $2 and period = any($3)"
LEDGER_ROWS = """
select audience, period, layer, epsilon, cap from epsilon_ledger
 where municipality = $1 order by audience, period, layer
"""
MUNICIPALITIES = "select slug from municipality order by slug"
RELEASED_PERIODS = "select period from release where municipality = $1 and audience = $2"
REPORT_MONTHS = "select distinct month from report where municipality = $1"


@dataclass(frozen=True)
class Built:
    municipality: str
    audience: Audience
    period: str
    units: int
    suppressed: int
    bytes: int


def _bucket_period(audience: Audience, period: Period) -> None:
    wanted = "month" if audience == "staff" else "quarter"
    if period.kind != wanted:
        raise ReleaseError("bad-period", f"{audience} releases are built per calendar {wanted}, not per {period.kind}")


async def build(
    conn: asyncpg.Connection,
    config: ReleaseConfig,
    municipality: str,
    audience: Audience,
    period: Period,
    today: dt.date,
) -> Built:
    """Build, charge and store one release in one transaction; ReleaseError if it cannot be."""
    _bucket_period(audience, period)
    if not period.is_closed(today, config.delay_days):
        raise ReleaseError(
            "not-closed",
            f"{period} can be released from {period.closes_on + dt.timedelta(days=config.delay_days)} on",
        )
    async with conn.transaction():
        await conn.execute(LOCK, BUILD_LOCK, municipality)
        if await conn.fetchval(MUNICIPALITY_EXISTS, municipality) is None:
            raise ReleaseError("unknown-municipality", f"no municipality {municipality!r}")
        if await conn.fetchval(RELEASE_EXISTS, municipality, audience, str(period)) is not None:
            raise ReleaseError("exists", f"the {audience} release of {municipality} for {period} exists and is frozen")
        layers, cap = (
            (config.staff_epsilon, config.staff_cap)
            if audience == "staff"
            else (config.public_epsilon, config.public_cap)
        )
        ledger = noise.Ledger(
            cap,
            sum(
                (
                    Fraction(Decimal(r["epsilon"]))
                    for r in await conn.fetch(LEDGER_SPENT, municipality, audience, str(period))
                ),
                Fraction(0),
            ),
        )
        try:
            for layer in sorted(layers):
                ledger = ledger.charge(layers[layer])
        except noise.BudgetExceeded as exc:
            raise ReleaseError("budget", f"refused: {exc}") from None
        coverage = [int(r["cell"]) for r in await conn.fetch(COVERAGE, municipality)]
        rows = await conn.fetch(COUNTS, municipality, [str(m) for m in period.months()])
        counted = [(int(r["cell"]), r["category"], r["band"], int(r["felt"]), int(r["n"])) for r in rows]
        body: bytes
        if audience == "staff":
            staff = compose_staff(municipality, str(period), config.k, layers, coverage, counted)
            body = msgspec.json.encode(staff)
            units, suppressed = len(staff.units), len(staff.suppressed)
        else:
            public = compose_public(
                municipality, str(period), config.k, layers, config.public_threshold, coverage, counted
            )
            body = msgspec.json.encode(public)
            units, suppressed = len(public.cells), 0
        await conn.execute(RELEASE_INSERT, municipality, audience, str(period), config.k, body)
        for layer in sorted(layers):
            await conn.execute(
                LEDGER_INSERT,
                municipality,
                audience,
                str(period),
                layer,
                decimal_text(layers[layer]),
                decimal_text(cap),
            )
    return Built(municipality, audience, str(period), units, suppressed, len(body))


Counted = Sequence[tuple[int, str, str, int, int]]  # cell, category, band, felt (0 = none), n


def _cell_totals(counted: Counted) -> dict[int, int]:
    totals: dict[int, int] = defaultdict(int)
    for cell, _, _, _, n in counted:
        totals[cell] += n
    return totals


def _accounting(layers: Mapping[str, Fraction]) -> tuple[dict[str, str], dict[str, float]]:
    """Epsilon (exact decimal text) and noise scale per layer, as stored in a release."""
    ordered = sorted(layers.items())
    return {layer: decimal_text(eps) for layer, eps in ordered}, {layer: noise.scale_for(eps) for layer, eps in ordered}


def _assign(units: Sequence[kanon.Unit], coverage: Iterable[int]) -> dict[int, int]:
    """Index of the displayed unit holding each covered res-9 cell (suppressed cells absent)."""
    by_cell = {(u.resolution, u.cell): i for i, u in enumerate(units)}
    owner: dict[int, int] = {}
    for cell in coverage:
        for resolution in (9, 8, 7):
            key = (resolution, cell if resolution == 9 else int(h3i.cell_to_parent(cell, resolution)))
            index = by_cell.get(key)
            if index is not None:
                owner[cell] = index
                break
    return owner


def compose_staff(
    municipality: str,
    period: str,
    k: int,
    layers: Mapping[str, Fraction],
    coverage: Sequence[int],
    counted: Counted,
) -> StaffRelease:
    """The staff release for these true counts (pure apart from the noise)."""
    geometry = kanon.partition(_cell_totals(counted), k, coverage)
    owner = _assign(geometry.units, coverage)
    parts: dict[str, list[list[int]]] = {
        layer: [[0] * len(LAYER_PARTS[layer]) for _ in geometry.units] for layer in LAYER_PARTS if layer in layers
    }
    index = {layer: {p: i for i, p in enumerate(LAYER_PARTS[layer])} for layer in parts}
    for cell, category, band, felt, n in counted:
        holder = owner.get(cell)
        if holder is None:
            continue
        keys = {
            "category": category,
            "band": band,
            "felt_safety": str(felt) if felt else "none",
            "category_band": f"{category}/{band}",
        }
        for layer, table in parts.items():
            table[holder][index[layer][keys[layer]]] += n

    noisy_total = noise.noisy_counts([u.count for u in geometry.units], layers["total"])
    # Per layer, one noisy vector over every part of every unit whose breakdown passes the rule.
    shown: dict[str, dict[int, list[int]]] = {}
    for layer, table in parts.items():
        passing = [i for i, values in enumerate(table) if kanon.passes(values, k)]
        flat = noise.noisy_counts([v for i in passing for v in table[i]], layers[layer])
        width = len(LAYER_PARTS[layer])
        shown[layer] = {i: flat[j * width : (j + 1) * width] for j, i in enumerate(passing)}

    stored = [
        StoredUnit(
            h3i.int_to_str(unit.cell),
            unit.resolution,
            noisy_total[i],
            {layer: shown[layer][i] for layer in parts if i in shown[layer]},
        )
        for i, unit in enumerate(geometry.units)
    ]
    epsilon, scale = _accounting(layers)
    return StaffRelease(
        format=FORMAT_VERSION,
        municipality=municipality,
        period=period,
        k=k,
        epsilon=epsilon,
        scale=scale,
        parts={layer: list(LAYER_PARTS[layer]) for layer in parts},
        units=stored,
        suppressed=[h3i.int_to_str(c) for c in geometry.suppressed],
    )


def compose_public(
    municipality: str,
    period: str,
    k: int,
    layers: Mapping[str, Fraction],
    threshold: int,
    coverage: Sequence[int],
    counted: Counted,
) -> PublicRelease:
    """The public release: res 8 with res-7 fallback, bands where the noisy count >= threshold."""
    geometry = kanon.partition(_cell_totals(counted), k, coverage, finest=8)
    noisy = noise.noisy_counts([u.count for u in geometry.units], layers["total"])
    cells = []
    for unit, value in zip(geometry.units, noisy, strict=True):
        band = band_of(value)
        if value >= threshold and band is not None:
            cells.append(PublicCell(h3i.int_to_str(unit.cell), unit.resolution, band))
    epsilon, scale = _accounting(layers)
    return PublicRelease(
        format=FORMAT_VERSION,
        municipality=municipality,
        period=period,
        k=k,
        threshold=threshold,
        epsilon=epsilon,
        scale=scale,
        bands=[band_label(low, high) for low, high in PUBLIC_BANDS if high is None or high >= threshold],
        cells=cells,
    )


# --- reading ---------------------------------------------------------------------------------


async def stored_body(conn: asyncpg.Connection, municipality: str, audience: Audience, period: str) -> bytes | None:
    body: bytes | None = await conn.fetchval(RELEASE_BODY, municipality, audience, period)
    return body


async def latest_public(conn: asyncpg.Connection, municipality: str) -> PublicRelease | None:
    """The municipality's most recent public release (what anyone may see), or None."""
    body: bytes | None = await conn.fetchval(LATEST_PUBLIC, municipality)
    return msgspec.json.decode(body, type=PublicRelease) if body is not None else None


async def staff_releases(
    conn: asyncpg.Connection, municipality: str, periods: Sequence[str]
) -> dict[str, StaffRelease]:
    rows = await conn.fetch(RELEASE_BODIES, municipality, "staff", list(periods))
    return {r["period"]: msgspec.json.decode(r["body"], type=StaffRelease) for r in rows}


@dataclass(frozen=True)
class LedgerEntry:
    audience: str
    period: str
    layer: str
    epsilon: str
    cap: str


async def ledger(conn: asyncpg.Connection, municipality: str) -> list[LedgerEntry]:
    return [
        LedgerEntry(r["audience"], r["period"], r["layer"], r["epsilon"], r["cap"])
        for r in await conn.fetch(LEDGER_ROWS, municipality)
    ]


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


# --- scheduling ------------------------------------------------------------------------------


def _months_between(first: Period, last: Period) -> list[Period]:
    months = []
    current = first
    while current <= last:
        months.append(current)
        current = current.next()
    return months


async def due(conn: asyncpg.Connection, today: dt.date, delay_days: int) -> list[tuple[str, Audience, Period]]:
    """Releases whose period has closed (plus the delay) and that do not exist yet: every month
    from the quarter of a municipality's first report or release on, and those quarters."""
    last = month_of_date(today)
    while not last.is_closed(today, delay_days):
        last = last.previous()
    result: list[tuple[str, Audience, Period]] = []
    for slug in [r["slug"] for r in await conn.fetch(MUNICIPALITIES)]:
        staff_done = {r["period"] for r in await conn.fetch(RELEASED_PERIODS, slug, "staff")}
        public_done = {r["period"] for r in await conn.fetch(RELEASED_PERIODS, slug, "public")}
        seen = [parse_period(m) for m in staff_done] + [
            parse_period(r["month"]) for r in await conn.fetch(REPORT_MONTHS, slug)
        ]
        seen += [q.months()[0] for q in (parse_period(p) for p in public_done)]
        if not seen:
            continue
        # From the start of the first quarter, so every quarter and year view can be complete.
        months = _months_between(min(seen).quarter().months()[0], last)
        result += [(slug, "staff", m) for m in months if str(m) not in staff_done]
        quarters = sorted({m.quarter() for m in months})
        result += [
            (slug, "public", q) for q in quarters if str(q) not in public_done and q.is_closed(today, delay_days)
        ]
    return result


@dataclass(frozen=True)
class DueOutcome:
    municipality: str
    audience: Audience
    period: str
    built: Built | None
    error: str | None  # ReleaseError code when it could not be built


async def build_due(conn: asyncpg.Connection, config: ReleaseConfig, today: dt.date) -> list[DueOutcome]:
    """Build every due release, each in its own transaction. Safe from several replicas at
    once: a release another process built meanwhile is reported as "exists", not rebuilt."""
    outcomes = []
    for municipality, audience, period in await due(conn, today, config.delay_days):
        try:
            built = await build(conn, config, municipality, audience, period, today)
            outcomes.append(DueOutcome(municipality, audience, str(period), built, None))
        except ReleaseError as exc:
            outcomes.append(DueOutcome(municipality, audience, str(period), None, exc.code))
    return outcomes
