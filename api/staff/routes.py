"""Staff endpoints: login, logout, who am I, changing one's password, the audit log, and the
staff accounts of a municipality (admins only).

`handlers(problems)` builds the route handlers; api/app.py passes its `problems` helper in, so
this module never imports api.app (which imports it). Every response of these routes, errors
included, carries `Cache-Control: no-store`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, Protocol, cast

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, MutableScopeHeaders, State
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, Parameter, PathParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from msgspec import Meta

from api import db
from api.errors import Problem
from api.settings import Settings
from api.staff import access, repository, service

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


class StaffAccount(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    role: Role
    disabled: Annotated[bool, Meta(description="Disabled accounts cannot log in and have no sessions")]
    second_factor: Annotated[bool, Meta(description="A TOTP second factor is enrolled")]


class StaffList(msgspec.Struct, kw_only=True):
    staff: Annotated[list[StaffAccount], Meta(description="Ordered by e-mail")]


class NewStaffIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    role: Role


class NewStaffOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: Annotated[str, Meta(description="As stored: trimmed, lower case")]
    role: Role
    initial_password: Annotated[
        str, Meta(description="Random; shown only in this response. Hand it to the staff member over a safe channel")
    ]


class SecondFactorOut(msgspec.Struct, kw_only=True):
    otpauth_uri: Annotated[
        str,
        Meta(description="The new TOTP secret as an otpauth:// URI (text or QR code); shown only in this response"),
    ]


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    current: Annotated[str, Meta(min_length=1, max_length=service.MAX_PASSWORD_LENGTH)]
    new: Annotated[
        str,
        Meta(
            max_length=service.MAX_PASSWORD_LENGTH,
            description=f"At least {service.MIN_PASSWORD_LENGTH} characters",
        ),
    ]


Slug = Annotated[str, PathParameter(max_length=64, description="Slug of your municipality")]
StaffId = Annotated[uuid.UUID, PathParameter(description="Id of a staff account of your municipality")]


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


def _account(account: repository.Account) -> StaffAccount:
    return StaffAccount(
        id=account.id,
        email=account.email,
        role=cast(Role, account.role),
        disabled=account.disabled,
        second_factor=account.totp_sealed is not None,
    )


def _invalid(error: service.StaffError) -> Problem:
    # StaffError messages name CLI options ("--email must ..."); the field name is the same.
    return Problem(400, "invalid-request", "Invalid request", str(error).removeprefix("--"))


def _no_such_staff() -> Problem:
    # The same for an unknown id and for an account of another municipality.
    return Problem(404, "not-found", "Not found", "no staff account with this id")


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
        async with db.for_request(_runtime(state).pool) as conn:
            await service.logout(conn, token)
    return Response(None, status_code=204, cookies=[_cookie("", 0)])


async def me(state: State, request: Request[Any, Any, Any]) -> Me:
    async with db.for_request(_runtime(state).pool) as conn:
        user, expires = await access.session(request, conn)
    return Me(email=user.email, municipality=user.municipality, role=cast(Role, user.role), session_expires=expires)


async def read_audit(
    state: State,
    request: Request[Any, Any, Any],
    municipality: Annotated[str, Parameter(max_length=64, description="Slug of your municipality")],
    limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    before: Annotated[int | None, Parameter(ge=1, le=2**63 - 1, description="next_before of the previous page")] = None,
) -> AuditPage:
    async with db.for_request(_runtime(state).pool) as conn:
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


async def change_password(state: State, request: Request[Any, Any, Any], data: JSONBody[PasswordIn]) -> None:
    rt = _runtime(state)
    async with db.for_request(rt.pool) as conn:
        user = await access.authenticate(request, conn)
    token = access.presented_token(request)
    assert token is not None  # authenticate() found its session
    try:
        await service.change_password(rt.pool, rt.settings, user, data.current, data.new, access.token_hash(token))
    except service.StaffError as error:
        raise _invalid(error) from None
    except service.WrongPassword as wrong:
        headers = {} if wrong.retry_after is None else {"Retry-After": str(max(1, wrong.retry_after))}
        raise Problem(
            403, "wrong-password", "Wrong password", "the current password is wrong", headers=headers
        ) from None
    except service.PasswordAttemptsLocked as locked:
        raise Problem(
            429,
            "rate-limited",
            "Too many requests",
            "too many wrong passwords for this account; retry after Retry-After seconds",
            headers={"Retry-After": str(max(1, locked.retry_after))},
        ) from None


async def list_staff(state: State, request: Request[Any, Any, Any], slug: Slug) -> StaffList:
    async with db.for_request(_runtime(state).pool) as conn:
        admin = await access.authorize(request, conn, municipality=slug, roles=access.ADMINS)
        accounts = await service.list_accounts(conn, admin)
    return StaffList(staff=[_account(a) for a in accounts])


async def add_staff(
    state: State, request: Request[Any, Any, Any], slug: Slug, data: JSONBody[NewStaffIn]
) -> Response[NewStaffOut]:
    async with db.for_request(_runtime(state).pool) as conn:
        admin = await access.authorize(request, conn, municipality=slug, roles=access.ADMINS)
        try:
            new = await service.add_account(conn, admin, data.email, data.role)
        except service.StaffExists:
            raise Problem(
                409, "staff-exists", "Staff account exists", "a staff account with this e-mail already exists"
            ) from None
        except service.StaffError as error:
            raise _invalid(error) from None
    return Response(
        NewStaffOut(id=new.id, email=new.email, role=cast(Role, new.role), initial_password=new.initial_password),
        status_code=201,
    )


async def disable_staff(state: State, request: Request[Any, Any, Any], slug: Slug, staff_id: StaffId) -> StaffAccount:
    async with db.for_request(_runtime(state).pool) as conn:
        admin = await access.authorize(request, conn, municipality=slug, roles=access.ADMINS)
        try:
            account = await service.disable_account(conn, admin, staff_id)
        except service.NoSuchStaff:
            raise _no_such_staff() from None
        except service.OwnAccount:
            raise Problem(
                409, "own-account", "Own account", "you cannot disable your own account; ask another admin"
            ) from None
    return _account(account)


async def reset_second_factor(
    state: State, request: Request[Any, Any, Any], slug: Slug, staff_id: StaffId
) -> SecondFactorOut:
    rt = _runtime(state)
    async with db.for_request(rt.pool) as conn:
        admin = await access.authorize(request, conn, municipality=slug, roles=access.ADMINS)
        try:
            uri = await service.reset_second_factor(conn, rt.settings, admin, staff_id)
        except service.NoSuchStaff:
            raise _no_such_staff() from None
    return SecondFactorOut(otpauth_uri=uri)


def handlers(problems: ProblemSpecs) -> list[HTTPRouteHandler]:
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    accounts = "/v1/staff/municipalities/{slug:str}/staff"
    account = accounts + "/{staff_id:uuid}"
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
            responses={204: ResponseSpec(data_container=None, description="Logged out"), **problems(503)},
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
        post(
            "/v1/staff/me/password",
            tags=["staff"],
            summary="Change your own password; your other sessions end, this one stays",
            status_code=204,
            opt={"strict_body": PasswordIn},
            middleware=[no_store],
            responses=problems(400, 401, 403, 413, 415, 429, 503),
            security=bearer,
        )(change_password),
        get(
            accounts,
            tags=["staff"],
            summary="The staff accounts of your municipality, by e-mail (admins only; audited)",
            middleware=[no_store],
            responses=problems(400, 401, 403, 404, 503),
            security=bearer,
        )(list_staff),
        post(
            accounts,
            tags=["staff"],
            summary="Add a staff account to your municipality; the random initial password is shown only in "
            "this response (admins only; audited)",
            status_code=201,
            opt={"strict_body": NewStaffIn},
            middleware=[no_store],
            responses=problems(400, 401, 403, 404, 409, 413, 415, 503),
            security=bearer,
        )(add_staff),
        post(
            f"{account}/disable",
            tags=["staff"],
            summary="Disable an account of your municipality (not your own) and end its sessions at once "
            "(admins only; audited; no body)",
            status_code=200,
            middleware=[no_store],
            responses=problems(400, 401, 403, 404, 409, 415, 503),
            security=bearer,
        )(disable_staff),
        post(
            f"{account}/second-factor",
            tags=["staff"],
            summary="Replace the account's TOTP second factor with a new one, shown only in this response, and "
            "end its sessions (admins only; audited; no body)",
            status_code=200,
            middleware=[no_store],
            responses=problems(400, 401, 403, 404, 415, 503),
            security=bearer,
        )(reset_second_factor),
    ]
