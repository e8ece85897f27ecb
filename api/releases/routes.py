"""Heatmap, hotspot, trend, ledger and export endpoints (staff), and the public map and its
transparency page. Thin: authorize, parse, call the service, audit, encode.

Staff responses are `private, no-cache` with an ETag (a release never changes, so revalidation
is cheap and nothing lands in a shared cache); public ones may be cached by anyone. Order of
checks for staff: session (401), municipality and role (404/403, before anything about the
period is revealed), then the period (400) and whether it is released (404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import Parameter, QueryParameter

from aggregation import releases
from aggregation.views import HeatmapView
from api import db
from api.errors import Problem
from api.municipalities import repository as municipalities
from api.openapi import alternative_media
from api.releases.service import HotspotsOut, LedgerOut, ReleaseService, Rendered, TrendsOut, period_or_400, view_key
from api.staff import access
from privacy.periods import Period

ProblemSpecs = Callable[..., dict[int, ResponseSpec]]
GEOJSON = "application/geo+json"
CSV = "text/csv"  # Litestar adds "; charset=utf-8" to text/* types

Slug = Annotated[str, Parameter(max_length=64, description="Municipality slug")]
PeriodParam = Annotated[
    str | None,
    Parameter(max_length=16, description="A calendar month (2026-10), quarter (2026-Q3) or year (2026); nothing else"),
]
CategoryParam = Annotated[str | None, Parameter(max_length=32, description="Only this category (taxonomy code)")]
BandParam = Annotated[str | None, Parameter(max_length=32, description="Only this time-of-day band (taxonomy code)")]


def service(state: State) -> ReleaseService:
    existing: ReleaseService | None = state.get("releases")
    if existing is None:
        rt = state.runtime
        existing = ReleaseService(rt.settings, rt.pool)
        state.releases = existing
    return existing


def _accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    for item in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _respond(
    request: Request[Any, Any, Any],
    rendered: Rendered,
    media_type: str,
    *,
    public: bool = False,
    filename: str | None = None,
) -> Response[bytes]:
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": "public, max-age=3600" if public else "private, no-cache",
        "Vary": "Accept-Encoding" if public else "Accept-Encoding, Authorization, Cookie",
    }
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    body = rendered.body
    if rendered.gzipped is not None and _accepts_gzip(request):
        # Compressed once when the view was rendered, so serving it costs nothing.
        body = rendered.gzipped
        headers["Content-Encoding"] = "gzip"
        headers["ETag"] = rendered.etag[:-1] + '-gz"'
    if request.headers.get("if-none-match") in (rendered.etag, rendered.etag[:-1] + '-gz"'):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _filters(category: str | None, band: str | None) -> str | None:
    parts = [f"category={category}" if category else "", f"band={band}" if band else ""]
    return ",".join(p for p in parts if p) or None


async def _staff_read(
    state: State,
    request: Request[Any, Any, Any],
    slug: str,
    kind: str,
    action: str,
    period_text: str | None,
    category: str | None,
    band: str | None,
    fmt: str,
) -> tuple[Rendered, Period]:
    """A heatmap or hotspot view: 401/404/403 before anything about the period (400) or its
    release (404) is said, and an audit entry for every read that is answered."""
    svc = service(state)
    detail = _filters(category, band)
    try:
        period, bad_period = period_or_400(period_text), None
    except Problem as problem:
        period, bad_period = None, problem
    async with db.for_request(svc.pool) as conn:
        hit = svc.cached(view_key(kind, slug, period, category, band, fmt)) if period is not None else None
        if hit is not None and period is not None:
            # The hot path: a view rendered before; access check and audit entry in one round trip.
            await access.authorize_audited(
                request,
                conn,
                municipality=slug,
                roles=access.READ_HEATMAPS,
                action=action,
                period=str(period),
                detail=detail,
            )
            return hit, period
        user = await access.authorize(request, conn, municipality=slug, roles=access.READ_HEATMAPS)
        if period is None:
            raise bad_period or Problem(400, "invalid-period", "Invalid period")
        render = svc.heatmap if kind == "heatmap" else svc.hotspots
        rendered = await render(conn, slug, period, category, band, fmt)
        await access.audit(conn, user, action, slug, str(period), detail)
    return rendered, period


def _view(kind: str, fmt: str, media: str) -> Callable[..., Awaitable[Response[bytes]]]:
    """A read handler for one view and format (heatmap JSON/GeoJSON, hotspots)."""

    async def handler(
        state: State,
        request: Request[Any, Any, Any],
        slug: Slug,
        period: PeriodParam = None,
        category: CategoryParam = None,
        band: BandParam = None,
    ) -> Response[bytes]:
        rendered, _ = await _staff_read(state, request, slug, kind, f"{kind}.read", period, category, band, fmt)
        return _respond(request, rendered, media)

    return handler


async def _trends(
    state: State, request: Request[Any, Any, Any], slug: str, start: str | None, end: str | None, action: str, fmt: str
) -> Rendered:
    svc = service(state)
    async with db.for_request(svc.pool) as conn:
        user = await access.authorize(request, conn, municipality=slug, roles=access.READ_HEATMAPS)
        first = period_or_400(start, name="from")
        last = period_or_400(end, name="to")
        rendered = await svc.trends(conn, slug, first, last, fmt)
        await access.audit(conn, user, action, slug, f"{first}..{last}")
    return rendered


FromParam = Annotated[str | None, QueryParameter(name="from", max_length=16, description="First month, 2026-01")]
ToParam = Annotated[str | None, QueryParameter(name="to", max_length=16, description="Last month, 2026-10")]


async def staff_trends(
    state: State, request: Request[Any, Any, Any], slug: Slug, start: FromParam = None, end: ToParam = None
) -> Response[bytes]:
    rendered = await _trends(state, request, slug, start, end, "trends.read", "json")
    return _respond(request, rendered, "application/json")


async def staff_ledger(state: State, request: Request[Any, Any, Any], slug: Slug) -> Response[LedgerOut]:
    svc = service(state)
    async with db.for_request(svc.pool) as conn:
        user = await access.authorize(request, conn, municipality=slug, roles=access.READ_HEATMAPS)
        result = await svc.ledger(conn, slug)
        await access.audit(conn, user, "ledger.read", slug)
    return Response(result, headers={"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"})


EXPORTS = {  # name -> view, format, media type; audited as export.<name>
    "heatmap.csv": ("heatmap", "csv", CSV),
    "heatmap.geojson": ("heatmap", "geojson", GEOJSON),
    "hotspots.csv": ("hotspots", "csv", CSV),
}


async def staff_export(
    state: State,
    request: Request[Any, Any, Any],
    slug: Slug,
    name: Annotated[str, Parameter(max_length=32, description="heatmap.csv, heatmap.geojson or hotspots.csv")],
    period: PeriodParam = None,
    category: CategoryParam = None,
    band: BandParam = None,
) -> Response[bytes]:
    if name not in EXPORTS:
        svc = service(state)
        async with db.for_request(svc.pool) as conn:
            await access.authorize(request, conn, municipality=slug, roles=access.READ_HEATMAPS)
        raise Problem(404, "not-found", "Not found", "exports are heatmap.csv, heatmap.geojson and hotspots.csv")
    kind, fmt, media = EXPORTS[name]
    rendered, parsed = await _staff_read(state, request, slug, kind, f"export.{name}", period, category, band, fmt)
    suffix = "-".join(p for p in (category, band) if p)
    filename = f"straatstem-{slug}-{parsed}-{name.split('.')[0]}{'-' + suffix if suffix else ''}.{name.split('.')[1]}"
    return _respond(request, rendered, media, filename=filename)


async def staff_trends_export(
    state: State, request: Request[Any, Any, Any], slug: Slug, start: FromParam = None, end: ToParam = None
) -> Response[bytes]:
    rendered = await _trends(state, request, slug, start, end, "export.trends.csv", "csv")
    return _respond(request, rendered, CSV, filename=f"straatstem-{slug}-{start}-{end}-trends.csv")


# --- public ----------------------------------------------------------------------------------


async def public_heatmap(
    state: State, request: Request[Any, Any, Any], slug: Slug, period: PeriodParam = None
) -> Response[bytes]:
    svc = service(state)
    async with db.for_request(svc.pool) as conn:
        if not await municipalities.exists(conn, slug):
            raise access.not_found()
        rendered = await svc.public_heatmap(conn, slug, period_or_400(period))
    return _respond(request, rendered, "application/json", public=True)


class LayerOut(msgspec.Struct):
    layer: str
    epsilon: str


class TransparencyOut(msgspec.Struct):
    municipality: str
    method: str
    k: int
    public_threshold: int
    public_bands: list[str]
    staff_layers: list[LayerOut]
    public_layers: list[LayerOut]
    staff_cap_per_month: str
    public_cap_per_quarter: str
    lifetime_epsilon_per_report: str
    retention: str
    ledger: LedgerOut


METHOD = (
    "Reports carry only a res-9 H3 cell (about 0.1 km2), the month of receipt and a time-of-day band. "
    "Each closed month, staff get one frozen release per municipality; each closed quarter, the public gets one. "
    "Cells are merged on the H3 hierarchy (res 9 -> 8 -> 7, public from res 8) until every shown cell holds none or "
    "at least k reports; areas with fewer than k (possibly none) are suppressed. Every shown value carries discrete "
    "Laplace noise (OpenDP) and its 90% interval; each report spends at most the listed epsilon per layer, and a "
    "ledger refuses any release that would pass the cap. Quarter and year views are sums of monthly releases. "
    "Public cells are shown only where the noisy count is at least the threshold, and only as bands."
)


async def transparency(state: State, slug: Slug) -> Response[TransparencyOut]:
    svc = service(state)
    settings = svc.settings
    async with db.for_request(svc.pool) as conn:
        if not await municipalities.exists(conn, slug):
            raise access.not_found()
        ledger = await svc.ledger(conn, slug)
    cap = settings.staff_epsilon_cap + settings.public_epsilon_cap
    result = TransparencyOut(
        municipality=slug,
        method=METHOD,
        k=settings.release_k,
        public_threshold=settings.public_threshold,
        public_bands=[
            releases.band_label(lo, hi)
            for lo, hi in releases.PUBLIC_BANDS
            if hi is None or hi >= settings.public_threshold
        ],
        staff_layers=[LayerOut(k, releases.decimal_text(v)) for k, v in sorted(settings.staff_epsilon.items())],
        public_layers=[LayerOut(k, releases.decimal_text(v)) for k, v in sorted(settings.public_epsilon.items())],
        staff_cap_per_month=releases.decimal_text(settings.staff_epsilon_cap),
        public_cap_per_quarter=releases.decimal_text(settings.public_epsilon_cap),
        lifetime_epsilon_per_report=releases.decimal_text(cap),
        retention=(
            f"Raw report rows are deleted once the month's staff release and the quarter's public release are frozen, "
            f"and in any case {settings.raw_horizon_days} days after the first day of their month; free text after "
            "90 days. Releases and the ledger are kept."
        ),
        ledger=ledger,
    )
    return Response(result, headers={"Cache-Control": "public, max-age=3600"})


def handlers(problems: ProblemSpecs) -> list[HTTPRouteHandler]:
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    staff = "/v1/staff/municipalities/{slug:str}"
    read = problems(400, 401, 403, 404, 503)

    def ok(container: type, media: str, description: str) -> dict[int, ResponseSpec]:
        return {
            200: ResponseSpec(
                data_container=container, media_type=media, generate_examples=False, description=description
            ),
            **read,
        }

    return [
        get(
            f"{staff}/heatmap",
            tags=["staff"],
            summary="Released heatmap of a calendar month, quarter or year (optionally one category and/or band)",
            security=bearer,
            responses=ok(HeatmapView, "application/json", "The view; identical bytes on every request"),
            operation_id="staffHeatmap",
        )(_view("heatmap", "json", "application/json")),
        get(
            f"{staff}/heatmap.geojson",
            tags=["staff"],
            summary="The same heatmap as RFC 7946 GeoJSON hexagons (for QGIS and other GIS tools)",
            security=bearer,
            responses=ok(dict, GEOJSON, "A FeatureCollection of hexagon polygons"),
            operation_id="staffHeatmapGeojson",
        )(_view("heatmap", "geojson", GEOJSON)),
        get(
            f"{staff}/hotspots",
            tags=["staff"],
            summary="Getis-Ord Gi* hot and cold spots at res 8, Benjamini-Hochberg corrected",
            security=bearer,
            responses=ok(HotspotsOut, "application/json", "Ranked hot and cold spots"),
            operation_id="staffHotspots",
        )(_view("hotspots", "json", "application/json")),
        get(
            f"{staff}/trends",
            tags=["staff"],
            summary="Monthly released totals per category and band",
            security=bearer,
            responses=ok(TrendsOut, "application/json", "Series of released months"),
        )(staff_trends),
        get(
            f"{staff}/ledger",
            tags=["staff"],
            summary="The epsilon ledger of the municipality",
            security=bearer,
            responses=problems(400, 401, 403, 404, 503),
        )(staff_ledger),
        get(
            f"{staff}/exports/trends.csv",
            tags=["staff"],
            summary="Export the trends as CSV (audit-logged)",
            security=bearer,
            responses=ok(str, CSV, "CSV"),
        )(staff_trends_export),
        get(
            f"{staff}/exports/{{name:str}}",
            tags=["staff"],
            summary="Export a view: heatmap.csv, heatmap.geojson or hotspots.csv (audit-logged)",
            security=bearer,
            responses=ok(str, CSV, "CSV or GeoJSON, as a download"),
            operation_class=alternative_media(200, {GEOJSON: Schema(type=OpenAPIType.OBJECT)}),
        )(staff_export),
        get(
            "/v1/public/municipalities/{slug:str}/heatmap",
            tags=["public"],
            summary="The public quarterly map: res 8 with res-7 fallback, bands, only where the noisy count >= 10",
            responses=ok(releases.PublicRelease, "application/json", "The frozen public release"),
        )(public_heatmap),
        get(
            "/v1/public/municipalities/{slug:str}/transparency",
            tags=["public"],
            summary="How the maps are made: method, k, epsilon per layer, caps and the ledger",
            responses=problems(400, 404, 503),
        )(transparency),
    ]
