"""Staff endpoints: login, logout, who am I, and the audit log.

`handlers(problems)` builds the route handlers; api/app.py passes its `problems` helper in, so
this module never imports api.app (which imports it). Every response of these routes, errors
included, carries `Cache-Control: no-store`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol, cast

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, MutableScopeHeaders, State
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, Parameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from msgspec import Meta

from api.errors import Problem
from api.settings import Settings
from api.staff import access, service

ProblemSpecs = Callable[..., dict[int, ResponseSpec]]


class _Runtime(Protocol):
    settings: Settings
    pool: asyncpg.Pool


def _runtime(state: State) -> _Runtime:
    value: _Runtime = state.runtime
    return value


# --- wire types -----------------------------------------------------------------------------


class LoginIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=service.MAX_PASSWORD_LENGTH)]
    totp: (
        Annotated[str, Meta(pattern="^[0-9]{6}$", description="The current code of the authenticator app, if enrolled")]
        | None
    ) = None


class LoginOut(msgspec.Struct, kw_only=True):
    token: Annotated[str, Meta(description="Send as Authorization: Bearer <token>; keep it secret")]
    token_type: Literal["Bearer"]
    expires: dt.datetime


Role = Literal["analyst", "moderator", "admin"]


class Me(msgspec.Struct, kw_only=True):
    email: str
    municipality: str
    role: Role
    session_expires: dt.datetime


class AuditEntry(msgspec.Struct, kw_only=True):
    id: int
    at: dt.datetime
    staff: Annotated[str, Meta(description='E-mail of the staff member, or "cli" for the command line')]
    staff_municipality: str | None
    action: str
    municipality: str
    period: str | None
    detail: str | None


class AuditPage(msgspec.Struct, kw_only=True):
    entries: list[AuditEntry]
    next_before: Annotated[int | None, Meta(description="Pass as ?before= for the next (older) page")]


# --- responses ------------------------------------------------------------------------------


def no_store(app: ASGIApp) -> ASGIApp:
    """Adds Cache-Control: no-store to every response, problem responses included."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["Cache-Control"] = "no-store"
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware


def _cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        key=access.SESSION_COOKIE,
        value=value,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )


def login_failed(retry_after: int | None) -> Problem:
    # One body for every refusal; only a lock adds Retry-After.
    headers = {"WWW-Authenticate": access.WWW_AUTHENTICATE}
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, retry_after))
    return Problem(
        401,
        "login-failed",
        "Login failed",
        "the e-mail, password or code is wrong, or there were too many attempts (then see Retry-After)",
        headers=headers,
    )


async def no_body_needed(_: Request[Any, Any, Any]) -> None:
    """Logout has no body: replaces the app-wide JSON body check, which would make clients
    invent one. Cross-site posts cannot log anyone out: the cookie is SameSite=Strict."""
    return None


# --- handlers -------------------------------------------------------------------------------


async def login(state: State, data: JSONBody[LoginIn]) -> Response[LoginOut]:
    rt = _runtime(state)
    try:
        session = await service.login(rt.pool, rt.settings, data.email, data.password, data.totp)
    except service.LoginFailed as failed:
        raise login_failed(failed.retry_after) from None
    return Response(
        LoginOut(token=session.token, token_type="Bearer", expires=session.expires),  # noqa: S106
        status_code=200,
        cookies=[_cookie(session.token, rt.settings.session_hours * 3600)],
    )


async def logout(state: State, request: Request[Any, Any, Any]) -> Response[None]:
    token = access.presented_token(request)
    if token is not None:
        async with _runtime(state).pool.acquire() as conn:
            await service.logout(conn, token)
    return Response(None, status_code=204, cookies=[_cookie("", 0)])


async def me(state: State, request: Request[Any, Any, Any]) -> Me:
    async with _runtime(state).pool.acquire() as conn:
        user, expires = await access.session(request, conn)
    return Me(email=user.email, municipality=user.municipality, role=cast(Role, user.role), session_expires=expires)


async def read_audit(
    state: State,
    request: Request[Any, Any, Any],
    municipality: Annotated[str, Parameter(max_length=64, description="Slug of your municipality")],
    limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    before: Annotated[int | None, Parameter(ge=1, description="next_before of the previous page")] = None,
) -> AuditPage:
    async with _runtime(state).pool.acquire() as conn:
        user = await access.authorize(request, conn, municipality=municipality, roles=access.ADMINS)
        rows = await service.read_audit(conn, user, municipality, before, limit)
    entries = [
        AuditEntry(
            id=r["id"],
            at=r["at"],
            staff=r["staff_email"],
            staff_municipality=r["staff_municipality"],
            action=r["action"],
            municipality=r["municipality"],
            period=r["period"],
            detail=r["detail"],
        )
        for r in rows
    ]
    return AuditPage(entries=entries, next_before=entries[-1].id if len(entries) == limit else None)


def handlers(problems: ProblemSpecs) -> list[HTTPRouteHandler]:
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    return [
        post(
            "/v1/staff/login",
            tags=["staff"],
            summary="Log in: a bearer token, and the same token as an HttpOnly session cookie",
            status_code=200,
            opt={"strict_body": LoginIn},
            middleware=[no_store],
            responses=problems(400, 401, 413, 415, 503),
        )(login),
        post(
            "/v1/staff/logout",
            tags=["staff"],
            summary="Log out: revoke the session of the token (header or cookie) and clear the cookie",
            status_code=204,
            before_request=no_body_needed,
            middleware=[no_store],
            responses=problems(503),
            security=bearer,
        )(logout),
        get(
            "/v1/staff/me",
            tags=["staff"],
            summary="The logged-in staff member and when the session expires",
            middleware=[no_store],
            responses=problems(401, 503),
            security=bearer,
        )(me),
        get(
            "/v1/staff/audit",
            tags=["staff"],
            summary="The municipality's audit log, newest first (admins only; the read is audited)",
            middleware=[no_store],
            responses=problems(400, 401, 403, 404, 503),
            security=bearer,
        )(read_audit),
    ]
