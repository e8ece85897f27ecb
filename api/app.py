"""The Litestar application: wiring only. Controllers decode, call a service, encode."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import generate_latest

from aggregation import releases
from aggregation.retention import RetentionResult, run_intake_retention
from api import db, metrics, openapi, security
from api.deliberation import routes as deliberation_routes
from api.deliberation.engine import build_engine, describe
from api.errors import (
    PROBLEM_JSON,
    Problem,
    ProblemBody,
    decode_strict,
    handle_http_exception,
    handle_internal,
    handle_problem,
    invalid_json,
    problem_response,
    route_template,
)
from api.intake import fastpath
from api.intake.batcher import SUBMIT_DEADLINE
from api.intake.schemas import ChallengeOut, ReportIn, ReportOut, ReportStatus
from api.intake.service import IntakeService
from api.logging import get_logger
from api.municipalities import repository as municipalities
from api.releases import routes as release_routes
from api.releases.service import release_config
from api.settings import Settings
from api.staff import routes as staff_routes
from api.web import routes as web_routes
from chatbot.engine import Engine, Refused
from privacy import location, taxonomy
from privacy.coarsen import AMSTERDAM

API_VERSION = "1.5.2"
log = get_logger("straatstem.http")


@dataclass
class Runtime:
    settings: Settings
    pool: asyncpg.Pool
    intake: IntakeService
    deliberation: Engine
    web: web_routes.WebAssets

    @classmethod
    def build(cls, settings: Settings, pool: asyncpg.Pool) -> Runtime:
        metrics.POOL.watch(pool)
        return cls(
            settings, pool, IntakeService(settings, pool), build_engine(settings, pool), web_routes.WebAssets(settings)
        )


def runtime(state: State) -> Runtime:
    value: Runtime = state.runtime
    return value


# --- wire types -----------------------------------------------------------------------------


class Label(msgspec.Struct):
    code: str
    nl: str
    en: str
    description_nl: str | None = None
    description_en: str | None = None


class Taxonomy(msgspec.Struct):
    categories: list[Label]
    roles: list[Label]
    bands: list[Label]
    felt_safety: list[Label]
    languages: list[str]


class Municipality(msgspec.Struct):
    slug: str
    name: str
    cells: int


class Coverage(msgspec.Struct):
    municipality: str
    resolution: int
    cells: list[str]


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    checks: dict[str, str] | None = None


def _labels(terms: tuple[taxonomy.Term, ...]) -> list[Label]:
    return [Label(t.code, t.nl, t.en, t.description_nl or None, t.description_en or None) for t in terms]


TAXONOMY = Taxonomy(
    categories=_labels(taxonomy.CATEGORIES),
    roles=_labels(taxonomy.ROLES),
    bands=_labels(taxonomy.BANDS),
    felt_safety=_labels(taxonomy.FELT_SAFETY),
    languages=list(taxonomy.LANGUAGES),
)


PROBLEM_DESCRIPTIONS = {
    400: "Malformed request: schema, JSON, cell, receipt or proof-of-work (see type and detail)",
    401: "No receipt was sent; or no valid staff session, or a refused staff login (see WWW-Authenticate)",
    403: "Your staff role may not do this in your municipality",
    404: "Unknown resource, or a wrong receipt (indistinguishable on purpose)",
    409: "The submission_id was already used for a different report; or the discussion is not open, or the "
    "statement duplicates an existing one (see duplicate_of); or a staff account with this e-mail exists, or "
    "an admin tried to disable their own account",
    410: "The report with this submission_id was withdrawn; drop it from the queue",
    413: "Request body too large",
    415: "Request body is not application/json",
    422: "The cell lies outside every municipality served here",
    429: "Rate cap reached; see Retry-After",
    503: "Temporarily unavailable; retry later (see Retry-After)",
}


def problems(*codes: int) -> dict[int, ResponseSpec]:
    return {
        code: ResponseSpec(
            data_container=ProblemBody,
            media_type=PROBLEM_JSON,
            generate_examples=False,
            description=PROBLEM_DESCRIPTIONS[code],
        )
        for code in codes
    }


ReceiptHeader = Annotated[
    str | None,
    HeaderParameter(name="Authorization", required=False, description="Receipt <secret>: the report's receipt"),
]


# --- handlers -------------------------------------------------------------------------------


@get("/v1/taxonomy", tags=["intake"], summary="Categories, roles, time-of-day bands and felt-safety scale")
async def get_taxonomy() -> Taxonomy:
    return TAXONOMY


@get(
    "/v1/municipalities",
    tags=["intake"],
    summary="Municipalities served by this deployment",
    responses=problems(503),
)
async def list_municipalities(state: State) -> list[Municipality]:
    # An app asks these before it sends a report: on a hung database it hears 503 (retry
    # later) within the contract's 2 s, like a submission does, not after command_timeout.
    async with db.within(runtime(state).pool, SUBMIT_DEADLINE) as conn:
        rows = await municipalities.list_all(conn)
    return [Municipality(r["slug"], r["name"], r["cells"]) for r in rows]


@get(
    "/v1/municipalities/{slug:str}/coverage",
    tags=["intake"],
    summary="The res-9 H3 cells a municipality serves (hex strings)",
    responses=problems(400, 404, 503),
)
async def get_coverage(state: State, slug: FromPath[str]) -> Coverage:
    async with db.within(runtime(state).pool, SUBMIT_DEADLINE) as conn:
        if not await municipalities.exists(conn, slug):
            raise Problem(404, "not-found", "Not found", "no municipality with this slug")
        cells = await municipalities.coverage(conn, slug)
    return Coverage(
        municipality=slug, resolution=location.REPORT_RESOLUTION, cells=[location.cell_hex(c) for c in cells]
    )


@get("/v1/challenge", tags=["intake"], summary="A proof-of-work challenge (ALTCHA v1 format)", cache_control=None)
async def get_challenge(state: State) -> Response[ChallengeOut]:
    return Response(runtime(state).intake.challenge(), headers={"Cache-Control": "no-store"})


@post(
    "/v1/reports",
    tags=["intake"],
    summary="Submit a report (idempotent per submission_id)",
    status_code=201,
    opt={"strict_body": ReportIn},
    responses={
        200: ResponseSpec(
            data_container=ReportOut,
            generate_examples=False,
            description="An identical earlier submission: the same report, nothing new stored",
        ),
        **problems(400, 409, 410, 413, 415, 422, 429, 503),
    },
)
async def post_report(
    state: State,
    request: Request[Any, Any, Any],
    data: JSONBody[ReportIn],
    x_altcha: Annotated[
        str | None,
        HeaderParameter(name="X-Altcha", required=False, description="Base64 ALTCHA payload solving GET /v1/challenge"),
    ] = None,
) -> Response[ReportOut]:
    """Requests of the mobile contract's shape are answered before routing, by the same
    `submit_report` (api/intake/fastpath.py); this handler answers the rest."""
    status, report = await fastpath.submit_report(runtime(state).intake, request.scope, request.headers, data, x_altcha)
    return Response(report, status_code=status, headers={"Cache-Control": "no-store"})


@get(
    "/v1/reports/{report_id:uuid}",
    tags=["intake"],
    summary="Status of a report (needs its receipt)",
    responses=problems(401, 404, 503),
    security=[{"receipt": []}],
)
async def get_report(
    state: State,
    report_id: FromPath[uuid.UUID],
    authorization: ReceiptHeader = None,
) -> Response[ReportStatus]:
    status = await runtime(state).intake.status(report_id, authorization)
    return Response(status, headers={"Cache-Control": "no-store"})


@delete(
    "/v1/reports/{report_id:uuid}",
    tags=["intake"],
    summary="Withdraw a report (needs its receipt): the row is deleted, not flagged",
    status_code=204,
    responses=problems(401, 404, 503),
    security=[{"receipt": []}],
)
async def delete_report(
    state: State,
    report_id: FromPath[uuid.UUID],
    authorization: ReceiptHeader = None,
) -> None:
    await runtime(state).intake.withdraw(report_id, authorization)


@get("/healthz", tags=["ops"], summary="Liveness", include_in_schema=True)
async def healthz() -> Health:
    return Health(status="ok")


@get(
    "/readyz",
    tags=["ops"],
    summary="Readiness: the database answers. `nlp`, `toxicity` and `names` say which language model is "
    "loaded, or which documented fallback is used and why (the service is ready either way)",
    responses={
        503: ResponseSpec(
            data_container=Health,
            generate_examples=False,
            description="Not ready: the database is down or did not answer within 2 s (status `unavailable`)",
        )
    },
)
async def readyz(state: State) -> Response[Health]:
    rt = runtime(state)
    models = rt.deliberation.model_checks or {"nlp": describe(rt.deliberation.nlp_status)}
    try:
        async with db.within(rt.pool, 2) as conn:  # a hung database is "down" within 2 s
            await conn.fetchval("select 1")
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError):
        return Response(Health(status="unavailable", checks={"database": "down", **models}), status_code=503)
    return Response(Health(status="ok", checks={"database": "ok", **models}))


@get("/metrics", tags=["ops"], summary="Prometheus metrics", include_in_schema=False)
async def prometheus() -> Response[bytes]:
    return Response(generate_latest(metrics.REGISTRY), media_type="text/plain; version=0.0.4")


# --- middleware -----------------------------------------------------------------------------

JSON_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def observe(app: ASGIApp) -> ASGIApp:
    """Request metrics and one log line per request (method, route template, status, time);
    also refuses non-JSON request bodies before any decoding happens."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        method = str(scope.get("method", ""))
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            metrics.observe_request(method, scope.get("path_template") or "unmatched", status_holder["status"], started)

    return middleware


def _has_body(request: Request[Any, Any, Any]) -> bool:
    """Action endpoints (open, close, recompute) take no body; an empty POST needs no type."""
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() != "0"
    return "transfer-encoding" in request.headers


async def require_json(request: Request[Any, Any, Any]) -> None:
    """Refuse request bodies that are not JSON before any decoding happens, and an empty body
    where a route needs one: it is not JSON either (Litestar would report a missing `data`)."""
    if request.method in JSON_BODY_METHODS and _has_body(request):
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise Problem(415, "unsupported-media-type", "Unsupported media type", "send the body as application/json")
    if "strict_body" in request.route_handler.opt and not await request.body():
        raise invalid_json()


class StrictRequest(Request[Any, Any, Any]):
    """Decodes the JSON body of routes that declare `opt={"strict_body": Struct}` strictly
    (api/errors.py `decode_strict`). Litestar's own path decodes to builtins and then converts
    leniently ("2" -> 2); a client sending the wrong type should learn it now. The typed `data`
    parameter still documents the body in OpenAPI, and msgspec passes the decoded Struct
    through unchanged."""

    async def json(self) -> Any:
        struct = self.route_handler.opt.get("strict_body")
        if struct is None:
            return await super().json()
        decoded = self.state.get("strict_body")
        if decoded is None:
            decoded = decode_strict(await self.body(), struct)
            self.state["strict_body"] = decoded
        return decoded


def handle_db_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("database unavailable", error=exc.__class__.__name__)
    metrics.ERRORS.labels(route_template(request), exc.__class__.__name__).inc()
    return problem_response(
        Problem(
            503,
            "unavailable",
            "Service unavailable",
            "the database is unavailable; retry later with the same submission_id",
            headers={"Retry-After": "5"},
        )
    )


class _ProblemType(msgspec.Struct):
    type: str


ExceptionHandler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def counting_refused_reports(handler: ExceptionHandler) -> ExceptionHandler:
    """Counts every refused report submission by its problem type, wherever the refusal
    arose: body decoding, media type and size checks happen before the handler runs."""

    def counted(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        response = handler(request, exc)
        if request.scope.get("path_template") == "/v1/reports" and request.method == "POST":
            problem = msgspec.json.decode(response.content, type=_ProblemType)
            metrics.count_report(problem.type.rpartition("/")[2])
        return response

    return counted


# --- assembly -------------------------------------------------------------------------------

ROUTES = [
    get_taxonomy,
    list_municipalities,
    get_coverage,
    get_challenge,
    post_report,
    get_report,
    delete_report,
    healthz,
    readyz,
    prometheus,
    *staff_routes.handlers(problems),
    *release_routes.handlers(problems),
    *deliberation_routes.handlers(problems),
    *web_routes.handlers(),
]


JOB_INTERVAL_SECONDS = 900


async def run_retention_once(pool: asyncpg.Pool, settings: Settings) -> RetentionResult:
    now = dt.datetime.now(AMSTERDAM)
    async with pool.acquire() as conn:
        return await run_intake_retention(conn, now.date(), int(time.time() // 3600), settings.raw_horizon_days)


async def run_releases_once(pool: asyncpg.Pool, settings: Settings) -> list[releases.DueOutcome]:
    async with pool.acquire() as conn:
        return await releases.build_due(conn, release_config(settings), dt.datetime.now(AMSTERDAM).date())


async def run_jobs(pool: asyncpg.Pool, settings: Settings, intake: IntakeService) -> None:
    """Periodic jobs inside the server: due releases first, then retention (which deletes raw
    rows once their releases are frozen). Every replica runs the loop; advisory locks inside
    each job make concurrent runs harmless."""
    await asyncio.sleep(5)
    while True:
        if settings.run_jobs:
            await run_jobs_once(pool, settings, intake)
        else:  # CronJobs build and retain; yesterday's rate key still leaves this process's memory
            intake.daily.forget_unless(dt.datetime.now(AMSTERDAM).date())
        await asyncio.sleep(JOB_INTERVAL_SECONDS)


async def run_jobs_once(pool: asyncpg.Pool, settings: Settings, intake: IntakeService) -> None:
    """One round of the scheduled jobs; a database failure is counted and logged, and the
    next round tries again."""
    intake.daily.forget_unless(dt.datetime.now(AMSTERDAM).date())
    job = "releases"
    try:
        for outcome in await run_releases_once(pool, settings):
            if outcome.built is not None:
                metrics.RELEASES.labels(outcome.audience).inc()
                log.info("release built", municipality=outcome.municipality, period=outcome.period)
            elif outcome.error != "exists":
                log.warning(
                    "release refused", municipality=outcome.municipality, period=outcome.period, reason=outcome.error
                )
        metrics.JOBS.labels(job, "ok").inc()
        job = "retention"
        result = await run_retention_once(pool, settings)
        metrics.JOBS.labels(job, "ok" if result.ran else "skipped").inc()
        if result.ran:
            log.info("job done", job=job, count=result.texts + result.submission_ids)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        metrics.JOBS.labels(job, "failed").inc()
        log.warning("job failed", job=job, error=exc.__class__.__name__)


def app_from_environment() -> Litestar:
    """Factory for uvicorn workers: settings (including the parent's DATABASE_URL) from the
    environment."""
    from api import logging as slog
    from api.settings import load_settings

    settings = load_settings()
    slog.configure(settings.log_level, settings.log_json)
    return create_app(settings)


def create_app(settings: Settings, *, pool: asyncpg.Pool | None = None) -> Litestar:
    """The app. With `pool` given (tests), the caller owns the database; otherwise the app
    starts the embedded server or connects to DATABASE_URL and applies migrations."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with db.database(settings) as (own_pool, applied):
            if applied:
                log.info("migrations applied", applied=",".join(applied))
            rt = Runtime.build(settings, own_pool)
            app.state.runtime = rt
            # Start-up leaves a large heap that lives until exit (the language model, the app
            # itself). Without this every full collection scans all of it, pausing the event
            # loop for about a quarter of a second each time (measured under report load).
            gc.collect()
            gc.freeze()
            scheduler = asyncio.create_task(run_jobs(own_pool, settings, rt.intake))
            try:
                yield
            finally:
                scheduler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scheduler
                await rt.deliberation.wait_recomputed()

    handlers: dict[int | type[Exception], ExceptionHandler] = {
        exc: counting_refused_reports(handler)
        for exc, handler in dict[type[Exception], ExceptionHandler](
            {
                Problem: handle_problem,
                Refused: deliberation_routes.handle_refused,
                HTTPException: handle_http_exception,
                asyncpg.PostgresConnectionError: handle_db_unavailable,
                asyncpg.CannotConnectNowError: handle_db_unavailable,
                asyncpg.InterfaceError: handle_db_unavailable,
                asyncpg.InternalClientError: handle_db_unavailable,
                asyncpg.QueryCanceledError: handle_db_unavailable,
                ConnectionError: handle_db_unavailable,
                TimeoutError: handle_db_unavailable,
                Exception: handle_internal,
            }
        ).items()
    }
    app = Litestar(
        route_handlers=ROUTES,
        lifespan=[lifespan] if pool is None else [],
        before_request=require_json,
        request_class=StrictRequest,
        middleware=[security.keep_vary, observe],
        before_send=[security.headers_hook(settings)],
        cors_config=security.cors_config(settings),
        plugins=[openapi.ArrayLikeStructs()],
        exception_handlers=handlers,
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="straatstem API",
            version=API_VERSION,
            description=(
                "Anonymous street-harassment reporting. Locations travel as H3 resolution-9 cells "
                "(hex strings); errors are RFC 9457 problem+json."
            ),
            components=Components(
                security_schemes={
                    "receipt": SecurityScheme(type="http", scheme="Receipt", description="The report's receipt secret"),
                    "participant": SecurityScheme(
                        type="http",
                        scheme="Participant",
                        description="The token from POST /v1/discussions/{id}/participants, valid for that discussion",
                    ),
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="A staff session token from POST /v1/staff/login; the dashboard may send "
                        "the straatstem_session cookie instead",
                    ),
                }
            ),
            path="/schema",
            # JSON only: Litestar's HTML viewers load scripts from public CDNs, which would tell a
            # third party who reads our docs. Open /schema/openapi.json in any OpenAPI viewer.
            render_plugins=[JsonRenderPlugin()],
        ),
        debug=False,
    )
    if pool is not None:
        app.state.runtime = Runtime.build(settings, pool)
    # Reports of the mobile contract's shape are answered before routing (api/intake/fastpath.py).
    # `asgi_handler` is what Litestar.__call__ hands every request to, after it has attached
    # the before-send hooks; tests/api/test_intake_fastpath.py fails if that ever changes.
    app.asgi_handler = fastpath.ReportIntake(
        app.asgi_handler, handlers, settings.max_body_bytes, security.plain_answer_headers(settings)
    )
    return app
