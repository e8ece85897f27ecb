"""Reading releases for staff and the public, and building them (CLI and scheduler).

Every view is a pure function of frozen releases, so a rendered view is cached in memory for
good once every release it needs exists: the same request gets the same bytes, from any
replica, however reports change afterwards. Nothing here reads a raw report row.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import h3.api.basic_int as h3i
import msgspec

from aggregation import hotspots as gi
from aggregation import releases, views
from aggregation.releases import ReleaseConfig, ReleaseError, StaffRelease
from api.errors import Problem
from api.settings import Settings
from privacy.periods import Period, parse_period

CACHE_ENTRIES = 512
MAX_TREND_MONTHS = 60
HOTSPOT_ALPHA = 0.05
COVERAGE = "select cell from coverage where municipality = $1"


def release_config(settings: Settings) -> ReleaseConfig:
    return ReleaseConfig(
        k=settings.release_k,
        staff_epsilon=settings.staff_epsilon,
        staff_cap=settings.staff_epsilon_cap,
        public_epsilon=settings.public_epsilon,
        public_cap=settings.public_epsilon_cap,
        public_threshold=settings.public_threshold,
        delay_days=settings.release_delay_days,
    )


GZIP_MIN_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    gzipped: bytes | None = None  # the same body, gzip-compressed once (deterministic: mtime 0)

    @classmethod
    def of(cls, body: bytes, *, compress: bool = False) -> Rendered:
        packed = gzip.compress(body, compresslevel=6, mtime=0) if compress and len(body) >= GZIP_MIN_BYTES else None
        return cls(body, releases.etag(body), packed)


def view_key(
    kind: str, slug: str, period: Period, category: str | None, band: str | None, fmt: str
) -> tuple[object, ...]:
    return (kind, slug, str(period), category, band, fmt)


def period_or_400(text: str | None, *, name: str = "period") -> Period:
    if text is None:
        raise Problem(400, "invalid-period", "Invalid period", f"{name} is required: 2026-10, 2026-Q3 or 2026")
    try:
        return parse_period(text)
    except ValueError as exc:
        raise Problem(400, "invalid-period", "Invalid period", f"{name}: {exc}") from None


def not_released(period: Period, missing: list[str]) -> Problem:
    return Problem(
        404,
        "not-released",
        "Not released",
        f"no release covers all of {period} yet (missing: {', '.join(missing)}); "
        "months are released a few days after they close and never before",
    )


class ReleaseService:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.pool = pool
        self.config = release_config(settings)
        self._cache: OrderedDict[tuple[object, ...], Rendered] = OrderedDict()
        self._coverage8: dict[str, list[int]] = {}

    def cached(self, key: tuple[object, ...]) -> Rendered | None:
        """A view rendered earlier; views of frozen releases never change."""
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
        return hit

    async def _rendered(self, key: tuple[object, ...], produce: Callable[[], Awaitable[bytes]]) -> Rendered:
        """The cached rendering of `key`, produced (and compressed) once."""
        hit = self.cached(key)
        if hit is not None:
            return hit
        value = Rendered.of(await produce(), compress=True)
        self._cache[key] = value
        if len(self._cache) > CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return value

    async def _monthly(self, conn: asyncpg.Connection, slug: str, period: Period) -> list[StaffRelease]:
        wanted = [str(m) for m in period.months()]
        found = await releases.staff_releases(conn, slug, wanted)
        missing = [m for m in wanted if m not in found]
        if missing:
            raise not_released(period, missing)
        return [found[m] for m in wanted]

    async def heatmap_view(
        self, conn: asyncpg.Connection, slug: str, period: Period, category: str | None, band: str | None
    ) -> views.HeatmapView:
        selection = self._selection(category, band)
        return views.heatmap(await self._monthly(conn, slug, period), str(period), selection)

    def _selection(self, category: str | None, band: str | None) -> views.Selection:
        try:
            return views.select(category, band, list(self.config.staff_epsilon))
        except views.FilterError as exc:
            raise Problem(400, "invalid-filter", "Invalid filter", str(exc)) from None

    async def heatmap(
        self, conn: asyncpg.Connection, slug: str, period: Period, category: str | None, band: str | None, fmt: str
    ) -> Rendered:
        async def produce() -> bytes:
            view = await self.heatmap_view(conn, slug, period, category, band)
            if fmt == "json":
                return msgspec.json.encode(view)
            if fmt == "geojson":
                return msgspec.json.encode(views.geojson(view))
            return views.csv_text(view).encode()

        return await self._rendered(view_key("heatmap", slug, period, category, band, fmt), produce)

    async def _coverage(self, conn: asyncpg.Connection, slug: str) -> list[int]:
        cached = self._coverage8.get(slug)
        if cached is None:
            cells = [int(r["cell"]) for r in await conn.fetch(COVERAGE, slug)]
            cached = sorted({int(h3i.cell_to_parent(c, 8)) for c in cells})
            self._coverage8[slug] = cached
        return cached

    async def hotspots(
        self, conn: asyncpg.Connection, slug: str, period: Period, category: str | None, band: str | None, fmt: str
    ) -> Rendered:
        async def produce() -> bytes:
            result = await self._hotspots(conn, slug, period, category, band)
            return msgspec.json.encode(result) if fmt == "json" else hotspots_csv(result).encode()

        return await self._rendered(view_key("hotspots", slug, period, category, band, fmt), produce)

    async def _hotspots(
        self, conn: asyncpg.Connection, slug: str, period: Period, category: str | None, band: str | None
    ) -> HotspotsOut:
        view = await self.heatmap_view(conn, slug, period, category, band)
        coverage8 = await self._coverage(conn, slug)
        values, eligible = views.res8_values(view, coverage8)
        previous_values: dict[int, float] | None = None
        previous = period.previous()
        try:
            previous_view = await self.heatmap_view(conn, slug, previous, category, band)
            previous_values, _ = views.res8_values(previous_view, coverage8)
        except Problem:
            previous_values = None
        found = gi.hotspots(values, previous_values, alpha=HOTSPOT_ALPHA, eligible=eligible) if len(values) >= 3 else []
        return HotspotsOut(
            municipality=slug,
            period=str(period),
            previous_period=str(previous) if previous_values is not None else None,
            filter=view.filter,
            resolution=8,
            alpha=HOTSPOT_ALPHA,
            method=(
                "Getis-Ord Gi* z-scores on the released (noisy) res-8 values, neighbourhood = the cell and its "
                "H3 ring-1 neighbours, two-sided p-values corrected by Benjamini-Hochberg over all cells; "
                "post-processing of the release, no extra privacy budget"
            ),
            hot=[HotspotOut.of(h) for h in found if h.kind == "hot"],
            cold=[HotspotOut.of(h) for h in found if h.kind == "cold"],
        )

    async def trends(self, conn: asyncpg.Connection, slug: str, start: Period, end: Period, fmt: str) -> Rendered:
        if start.kind != "month" or end.kind != "month":
            raise Problem(400, "invalid-period", "Invalid period", "from and to must be calendar months (2026-01)")
        months: list[Period] = []
        current = start
        while current <= end and len(months) <= MAX_TREND_MONTHS:
            months.append(current)
            current = current.next()
        if not months or len(months) > MAX_TREND_MONTHS:
            raise Problem(
                400,
                "invalid-period",
                "Invalid period",
                f"from must not be after to, and at most {MAX_TREND_MONTHS} months",
            )
        found = await releases.staff_releases(conn, slug, [str(m) for m in months])
        points = [views.trend_point(found[str(m)]) for m in months if str(m) in found]
        result = TrendsOut(
            municipality=slug,
            months=[str(m) for m in months],
            missing=[str(m) for m in months if str(m) not in found],
            series=points,
        )
        # Not cached: a later release fills a missing month.
        return Rendered.of(msgspec.json.encode(result) if fmt == "json" else trends_csv(result).encode())

    async def public_heatmap(self, conn: asyncpg.Connection, slug: str, period: Period) -> Rendered:
        if period.kind != "quarter":
            raise Problem(400, "invalid-period", "Invalid period", "public maps are published per quarter (2026-Q3)")

        async def produce() -> bytes:
            body = await releases.stored_body(conn, slug, "public", str(period))
            if body is None:
                raise not_released(period, [str(period)])
            return body

        return await self._rendered(("public", slug, str(period)), produce)

    async def ledger(self, conn: asyncpg.Connection, slug: str) -> LedgerOut:
        entries = await releases.ledger(conn, slug)
        return LedgerOut(
            municipality=slug,
            staff_cap_per_month=releases.decimal_text(self.settings.staff_epsilon_cap),
            public_cap_per_quarter=releases.decimal_text(self.settings.public_epsilon_cap),
            entries=[LedgerEntryOut(e.audience, e.period, e.layer, e.epsilon, e.cap) for e in entries],
        )

    async def build(self, conn: asyncpg.Connection, slug: str, period: Period, today: dt.date) -> releases.Built:
        audience: releases.Audience = "staff" if period.kind == "month" else "public"
        return await releases.build(conn, self.config, slug, audience, period, today)


# --- wire types ------------------------------------------------------------------------------


class HotspotOut(msgspec.Struct):
    cell: str
    z: float
    q: float
    trend: str

    @classmethod
    def of(cls, spot: gi.Hotspot) -> HotspotOut:
        return cls(h3i.int_to_str(spot.cell), round(spot.z, 4), round(spot.q, 6), spot.trend)


class HotspotsOut(msgspec.Struct):
    municipality: str
    period: str
    previous_period: str | None
    filter: dict[str, str]
    resolution: int
    alpha: float
    method: str
    hot: list[HotspotOut]
    cold: list[HotspotOut]


class TrendsOut(msgspec.Struct):
    municipality: str
    months: list[str]
    missing: list[str]
    series: list[views.TrendPoint]


class LedgerEntryOut(msgspec.Struct):
    audience: str
    period: str
    layer: str
    epsilon: str
    cap: str


class LedgerOut(msgspec.Struct):
    municipality: str
    staff_cap_per_month: str
    public_cap_per_quarter: str
    entries: list[LedgerEntryOut]


def hotspots_csv(result: HotspotsOut) -> str:
    lines = ["kind,rank,cell,z,q,trend"]
    for kind, spots in (("hot", result.hot), ("cold", result.cold)):
        lines += [f"{kind},{i},{s.cell},{s.z},{s.q},{s.trend}" for i, s in enumerate(spots, 1)]
    return "\n".join(lines) + "\n"


def trends_csv(result: TrendsOut) -> str:
    from aggregation.releases import BAND_PARTS, CATEGORY_PARTS

    header = ["month", "total", "interval_low", "interval_high"]
    header += [f"category_{c}" for c in CATEGORY_PARTS] + [f"band_{b}" for b in BAND_PARTS]
    lines = [",".join(header)]
    for p in result.series:
        row = [p.month, str(p.total), str(p.interval.low), str(p.interval.high)]
        row += [str(p.category[c]) for c in CATEGORY_PARTS] + [str(p.band[b]) for b in BAND_PARTS]
        lines.append(",".join(row))
    return "\n".join(lines) + "\n"


__all__ = ["ReleaseError", "ReleaseService", "period_or_400", "release_config"]
