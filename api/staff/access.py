"""Who is asking, and may they? Authentication by session token, authorisation by role within
the staff member's own municipality, and the audit log every staff handler writes to.

Order of checks in `authorize`: no valid session -> 401; another municipality (or one that
does not exist) -> 404 with exactly the body an unknown municipality gets, so staff cannot
even learn which municipalities have data; a role that may not act -> 403. Admins may do
everything within their own municipality.

Handlers call `audit` themselves after `authorize` succeeds, naming what they read or
exported (`action`), the municipality and the period, so the entry says exactly what was
shown; put it in the same transaction as the read where there is one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from litestar import Request

from api.errors import Problem
from api.staff import repository as repo

ANALYST = "analyst"
MODERATOR = "moderator"
ADMIN = "admin"
ROLES = (ANALYST, MODERATOR, ADMIN)
# Convenience sets for callers of `authorize` (admin is always allowed anyway).
READ_HEATMAPS = frozenset({ANALYST, MODERATOR, ADMIN})
MODERATE = frozenset({MODERATOR, ADMIN})
ADMINS = frozenset({ADMIN})

SESSION_COOKIE = "straatstem_session"
WWW_AUTHENTICATE = 'Bearer realm="straatstem"'
_MAX_TOKEN_LENGTH = 128


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: uuid.UUID
    email: str
    municipality: str
    role: str


def token_hash(token: str) -> bytes:
    """SHA-256 of a session token: tokens are 256 random bits, so a slow hash buys nothing."""
    return hashlib.sha256(token.encode()).digest()


def presented_token(request: Request[Any, Any, Any]) -> str | None:
    """The token from `Authorization: Bearer <token>`, else from the session cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie or None


def unauthenticated() -> Problem:
    return Problem(
        401,
        "unauthenticated",
        "Authentication required",
        "log in with POST /v1/staff/login and send the token as Authorization: Bearer <token>",
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


def not_found() -> Problem:
    # Exactly the problem of an unknown municipality (GET /v1/municipalities/{slug}/coverage).
    return Problem(404, "not-found", "Not found", "no municipality with this slug")


async def session(request: Request[Any, Any, Any], conn: asyncpg.Connection) -> tuple[StaffUser, dt.datetime]:
    """The staff member behind the presented token and when the session expires, or 401."""
    token = presented_token(request)
    if token is None or len(token) > _MAX_TOKEN_LENGTH:
        raise unauthenticated()
    row = await repo.session_user(conn, token_hash(token))
    if row is None:
        raise unauthenticated()
    return StaffUser(row.id, row.email, row.municipality, row.role), row.expires_at


async def authenticate(request: Request[Any, Any, Any], conn: asyncpg.Connection) -> StaffUser:
    """The logged-in staff member; 401 with WWW-Authenticate when the token is missing,
    unknown, expired, revoked or belongs to a disabled account."""
    user, _ = await session(request, conn)
    return user


async def authorize(
    request: Request[Any, Any, Any], conn: asyncpg.Connection, *, municipality: str, roles: frozenset[str]
) -> StaffUser:
    """Authenticate, then allow only staff of `municipality` whose role is in `roles` (or who
    are admins). Another or unknown municipality: 404 as for an unknown slug; wrong role: 403."""
    user = await authenticate(request, conn)
    if user.municipality != municipality:
        raise not_found()
    if user.role != ADMIN and user.role not in roles:
        raise Problem(403, "forbidden", "Forbidden", "your role may not do this")
    return user


async def authorize_audited(
    request: Request[Any, Any, Any],
    conn: asyncpg.Connection,
    *,
    municipality: str,
    roles: frozenset[str],
    action: str,
    period: str | None = None,
    detail: str | None = None,
) -> StaffUser:
    """`authorize` and `audit` in one database round trip, for reads whose answer is already
    known to exist (a cached view): the entry is written exactly when access is granted."""
    token = presented_token(request)
    if token is None or len(token) > _MAX_TOKEN_LENGTH:
        raise unauthenticated()
    found = await repo.session_user_audit(conn, token_hash(token), municipality, action, period, detail, sorted(roles))
    if found is None:
        raise unauthenticated()
    row, audited = found
    user = StaffUser(row.id, row.email, row.municipality, row.role)
    if user.municipality != municipality:
        raise not_found()
    if not audited:
        raise Problem(403, "forbidden", "Forbidden", "your role may not do this")
    return user


async def audit(
    conn: asyncpg.Connection,
    user: StaffUser,
    action: str,
    municipality: str,
    period: str | None = None,
    detail: str | None = None,
) -> None:
    """Append an entry to the audit log. `action` is a short code such as "heatmap.read" or
    "export.csv"; `detail` is short and never holds report text, tokens or passwords."""
    await repo.insert_audit(
        conn,
        staff_id=user.id,
        staff_email=user.email,
        staff_municipality=user.municipality,
        action=action,
        municipality=municipality,
        period=period,
        detail=detail,
    )
