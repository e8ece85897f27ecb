"""SQL of the staff capability: accounts, sessions, login lockout and the audit log.
Functions take a connection; callers own transactions."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

INSERT_STAFF = """
insert into staff (id, email, municipality, role, password_hash) values ($1, $2, $3, $4, $5)
"""
FIND_BY_EMAIL = """
select id, email, municipality, role, password_hash, totp_sealed, totp_last_step, disabled
  from staff where email = $1
"""
FIND_IN_MUNICIPALITY = """
select id, email, municipality, role, password_hash, totp_sealed, totp_last_step, disabled
  from staff where id = $1 and municipality = $2
"""
LIST_BY_MUNICIPALITY = """
select id, email, municipality, role, password_hash, totp_sealed, totp_last_step, disabled
  from staff where municipality = $1 order by email
"""
SET_PASSWORD_HASH = "update staff set password_hash = $2 where id = $1"  # noqa: S105 (SQL, not a password)
SET_TOTP = "update staff set totp_sealed = $2, totp_last_step = null where id = $1"
USE_TOTP_STEP = """
update staff set totp_last_step = $2
 where id = $1 and (totp_last_step is null or totp_last_step < $2)
returning id
"""
DISABLE = "update staff set disabled = true where id = $1"
DROP_SESSIONS_OF = "delete from staff_session where staff_id = $1"
DROP_OTHER_SESSIONS_OF = "delete from staff_session where staff_id = $1 and token_hash <> $2"

LOGIN_ATTEMPT = "select refused_seconds, lock_seconds from staff_login_attempt($1, $2, $3, $4, $5)"
CLEAR_FAILURES = "delete from staff_login_failure where email_key = $1"

CREATE_SESSION = """
insert into staff_session (token_hash, staff_id, expires_at)
values ($1, $2, now() + make_interval(hours => $3))
returning expires_at
"""
DROP_EXPIRED_SESSIONS = "delete from staff_session where expires_at <= now()"
END_SESSIONS = """
with gone as (
  delete from staff_session s using staff st
   where st.id = s.staff_id and ($1::text is null or st.municipality = $1)
  returning st.municipality
)
select municipality, count(*) as sessions from gone group by municipality
"""
SESSION_USER = """
select s.expires_at, st.id, st.email, st.municipality, st.role
  from staff_session s join staff st on st.id = s.staff_id
 where s.token_hash = $1 and s.expires_at > now() and not st.disabled
"""
DELETE_SESSION = """
with gone as (delete from staff_session where token_hash = $1 returning staff_id)
select st.id, st.email, st.municipality, st.role from gone join staff st on st.id = gone.staff_id
"""

INSERT_AUDIT = """
insert into staff_audit (staff_id, staff_email, staff_municipality, action, municipality, period, detail)
values ($1, $2, $3, $4, $5, $6, $7)
"""
# One round trip for the hot read path: who is asking, and if they may read this municipality,
# the audit entry of the read. The entry is written only when the session, the municipality
# and the role all pass; the caller still answers 401/404/403 from the returned row.
SESSION_USER_AUDIT = """
with who as (
    select s.expires_at, st.id, st.email, st.municipality, st.role
      from staff_session s join staff st on st.id = s.staff_id
     where s.token_hash = $1 and s.expires_at > now() and not st.disabled
), entry as (
    insert into staff_audit (staff_id, staff_email, staff_municipality, action, municipality, period, detail)
    select who.id, who.email, who.municipality, $3, $2, $4, $5 from who
     where who.municipality = $2 and (who.role = 'admin' or who.role = any($6::text[]))
    returning id
)
select who.*, (select count(*) from entry) as audited from who
"""
AUDIT_PAGE = """
select id, at, staff_email, staff_municipality, action, municipality, period, detail
  from staff_audit
 where municipality = $1 and ($2::bigint is null or id < $2)
 order by id desc
 limit $3
"""


@dataclass(frozen=True, slots=True)
class Account:
    id: uuid.UUID
    email: str
    municipality: str
    role: str
    password_hash: str
    totp_sealed: bytes | None
    totp_last_step: int | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class Attempt:
    """`refused_seconds`: the e-mail is locked for that long, do not check the password.
    `lock_seconds`: if this attempt fails, the e-mail is now locked for that long."""

    refused_seconds: int | None
    lock_seconds: int | None


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: uuid.UUID
    email: str
    municipality: str
    role: str
    expires_at: dt.datetime


def _account(row: asyncpg.Record) -> Account:
    return Account(
        id=row["id"],
        email=row["email"],
        municipality=row["municipality"],
        role=row["role"],
        password_hash=row["password_hash"],
        totp_sealed=row["totp_sealed"],
        totp_last_step=row["totp_last_step"],
        disabled=row["disabled"],
    )


async def insert_staff(
    conn: asyncpg.Connection, staff_id: uuid.UUID, email: str, municipality: str, role: str, password_hash: str
) -> None:
    await conn.execute(INSERT_STAFF, staff_id, email, municipality, role, password_hash)


async def find_by_email(conn: asyncpg.Connection, email: str) -> Account | None:
    row = await conn.fetchrow(FIND_BY_EMAIL, email)
    return None if row is None else _account(row)


async def find_in_municipality(conn: asyncpg.Connection, staff_id: uuid.UUID, municipality: str) -> Account | None:
    """The account with this id if it belongs to `municipality`: one query, so an id of another
    municipality is simply not found."""
    row = await conn.fetchrow(FIND_IN_MUNICIPALITY, staff_id, municipality)
    return None if row is None else _account(row)


async def list_by_municipality(conn: asyncpg.Connection, municipality: str) -> list[Account]:
    return [_account(r) for r in await conn.fetch(LIST_BY_MUNICIPALITY, municipality)]


async def set_password_hash(conn: asyncpg.Connection, staff_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(SET_PASSWORD_HASH, staff_id, password_hash)


async def set_totp(conn: asyncpg.Connection, staff_id: uuid.UUID, sealed: bytes) -> None:
    await conn.execute(SET_TOTP, staff_id, sealed)


async def use_totp_step(conn: asyncpg.Connection, staff_id: uuid.UUID, step: int) -> bool:
    """Record `step` as the last accepted TOTP step unless it (or a later one) was used."""
    return await conn.fetchval(USE_TOTP_STEP, staff_id, step) is not None


async def disable(conn: asyncpg.Connection, staff_id: uuid.UUID) -> None:
    await conn.execute(DISABLE, staff_id)
    await drop_sessions(conn, staff_id)


async def drop_sessions(conn: asyncpg.Connection, staff_id: uuid.UUID) -> None:
    """End every session of the account."""
    await conn.execute(DROP_SESSIONS_OF, staff_id)


async def drop_other_sessions(conn: asyncpg.Connection, staff_id: uuid.UUID, keep_token_hash: bytes) -> None:
    """End every session of the account except the one whose token hashes to `keep_token_hash`."""
    await conn.execute(DROP_OTHER_SESSIONS_OF, staff_id, keep_token_hash)


async def login_attempt(
    conn: asyncpg.Connection, email_key: bytes, threshold: int, base_seconds: int, cap_seconds: int, forget_seconds: int
) -> Attempt:
    row = await conn.fetchrow(LOGIN_ATTEMPT, email_key, threshold, base_seconds, cap_seconds, forget_seconds)
    assert row is not None
    return Attempt(refused_seconds=row["refused_seconds"], lock_seconds=row["lock_seconds"])


async def clear_failures(conn: asyncpg.Connection, email_key: bytes) -> None:
    await conn.execute(CLEAR_FAILURES, email_key)


async def create_session(conn: asyncpg.Connection, token_hash: bytes, staff_id: uuid.UUID, hours: int) -> dt.datetime:
    expires: dt.datetime = await conn.fetchval(CREATE_SESSION, token_hash, staff_id, hours)
    return expires


async def drop_expired_sessions(conn: asyncpg.Connection) -> None:
    await conn.execute(DROP_EXPIRED_SESSIONS)


async def session_user(conn: asyncpg.Connection, token_hash: bytes) -> SessionRow | None:
    row = await conn.fetchrow(SESSION_USER, token_hash)
    if row is None:
        return None
    return SessionRow(row["id"], row["email"], row["municipality"], row["role"], row["expires_at"])


async def session_user_audit(
    conn: asyncpg.Connection,
    token_hash: bytes,
    municipality: str,
    action: str,
    period: str | None,
    detail: str | None,
    roles: list[str],
) -> tuple[SessionRow, bool] | None:
    row = await conn.fetchrow(SESSION_USER_AUDIT, token_hash, municipality, action, period, detail, roles)
    if row is None:
        return None
    return SessionRow(row["id"], row["email"], row["municipality"], row["role"], row["expires_at"]), bool(
        row["audited"]
    )


async def delete_session(conn: asyncpg.Connection, token_hash: bytes) -> asyncpg.Record | None:
    """Delete the session; return its staff member (id, email, municipality, role) if it existed."""
    row: asyncpg.Record | None = await conn.fetchrow(DELETE_SESSION, token_hash)
    return row


async def insert_audit(
    conn: asyncpg.Connection,
    *,
    staff_id: uuid.UUID | None,
    staff_email: str,
    staff_municipality: str | None,
    action: str,
    municipality: str,
    period: str | None,
    detail: str | None,
) -> None:
    await conn.execute(INSERT_AUDIT, staff_id, staff_email, staff_municipality, action, municipality, period, detail)


async def audit_page(
    conn: asyncpg.Connection, municipality: str, before: int | None, limit: int
) -> list[asyncpg.Record]:
    return list(await conn.fetch(AUDIT_PAGE, municipality, before, limit))


async def end_sessions(conn: asyncpg.Connection, municipality: str | None) -> dict[str, int]:
    """Ends every staff session (of one municipality, or all); returns the count per municipality."""
    return {row["municipality"]: row["sessions"] for row in await conn.fetch(END_SESSIONS, municipality)}
