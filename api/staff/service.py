"""Staff accounts: argon2id passwords, session tokens, login lockout, TOTP, and account
management, shared by the CLI and the admin endpoints.

Login never tells an outsider whether an e-mail has an account. Every attempt, for known and
unknown e-mails alike, is counted under HMAC(server key, normalised e-mail) before the
password is checked, an unknown e-mail is verified against a fixed dummy hash of the same
parameters, and every refusal (wrong password, unknown e-mail, disabled account, missing,
wrong or reused code, lock) raises the same `LoginFailed`; only its `retry_after` differs,
and it depends on the attempt count alone. After LOCK_THRESHOLD consecutive failures the
e-mail is locked for LOCK_BASE_SECONDS, doubling with each further failure up to
LOCK_CAP_SECONDS; attempts during a lock are refused without checking the password and do
not extend it. A success resets the count; a day without failure and without a lock in force
forgets it.

Hashing costs 64 MiB for the duration of one verification (RFC 9106 low-memory profile), so
at most HASH_SLOTS hashes run at once per process, in worker threads, off the event loop.

Logs carry the staff id at most: never the e-mail, password, token, code or address.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

import asyncpg
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from api import db
from api.logging import get_logger
from api.municipalities import repository as municipalities
from api.settings import Settings
from api.staff import repository as repo
from api.staff.access import ROLES, StaffUser, audit, token_hash

log = get_logger("straatstem.staff")

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
LOCK_THRESHOLD = 5
LOCK_BASE_SECONDS = 60
LOCK_CAP_SECONDS = 24 * 3600
FORGET_SECONDS = 24 * 3600
TOTP_INTERVAL = 30
TOTP_DIGITS = 6
TOTP_ISSUER = "straatstem"
HASH_SLOTS = 2
CLI_ACTOR = "cli"
clock = time.time  # the TOTP clock; tests pin it

HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
# A hash of a random password nobody kept, with HASHER's parameters (a test checks they
# match): unknown e-mails are verified against it so they take as long as known ones.
DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$aIl5JNah6w6ajZNL4ChFug$t4v+AozELMa6vXE7oS2kr3RKZAjUimbuvaCscjOmfzE"
_hash_slots = threading.BoundedSemaphore(HASH_SLOTS)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StaffError(ValueError):
    """An error for the operator (CLI): printed as one line. The API answers it as a problem,
    with the leading "--" of an option name dropped from the message."""


class LoginFailed(Exception):
    """Any refused login. `retry_after`: seconds the e-mail is locked for, if it is."""

    def __init__(self, retry_after: int | None) -> None:
        super().__init__("login failed")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class LoginSession:
    token: str
    expires: dt.datetime
    user: StaffUser


# --- passwords ------------------------------------------------------------------------------


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise StaffError("--email must look like an e-mail address (name@example.org)")
    return email


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StaffError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def _hash(password: str) -> str:
    with _hash_slots:
        return HASHER.hash(password)


def _verify(stored: str, password: str) -> bool:
    with _hash_slots:
        try:
            return HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """Check `password` against `stored`, or against the dummy hash when there is no account
    (always False then), so both take the same time."""
    matched = await asyncio.to_thread(_verify, stored or DUMMY_HASH, password)
    return matched and stored is not None


def email_key(settings: Settings, email: str) -> bytes:
    return hmac.new(settings.derived_key("staff-login"), email.encode(), hashlib.sha256).digest()


# --- TOTP (RFC 6238: 30 s steps, 6 digits, SHA-1 as authenticator apps expect) --------------


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, the RFC 4226 recommendation


TOTP_AAD = b"straatstem/staff-totp/v1"


def seal_totp(settings: Settings, secret: str) -> bytes:
    """Nonce || AES-256-GCM(key, secret): a database dump alone holds no second factor, and a
    tampered value fails to open instead of yielding another secret."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(settings.derived_key("staff-totp")).encrypt(nonce, base64.b32decode(secret), TOTP_AAD)


def unseal_totp(settings: Settings, sealed: bytes) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = AESGCM(settings.derived_key("staff-totp")).decrypt(sealed[:12], sealed[12:], TOTP_AAD)
    return base64.b32encode(raw).decode()


def totp_step(secret: str, code: str | None, now: float) -> int | None:
    """The time step (now-1, now or now+1) whose code is `code`, or None."""
    if code is None or len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL)
    current = int(now // TOTP_INTERVAL)
    matched = None
    for step in (current + 1, current, current - 1):  # no early exit: constant work
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


# --- login and logout -----------------------------------------------------------------------


async def login(
    pool: asyncpg.Pool, settings: Settings, raw_email: str, password: str, code: str | None
) -> LoginSession:
    """A new session for the account, or LoginFailed. The database connection is not held
    while the password is hashed."""
    email = raw_email.strip().lower()
    key = email_key(settings, email)
    async with db.for_request(pool) as conn:
        attempt = await repo.login_attempt(
            conn, key, LOCK_THRESHOLD, LOCK_BASE_SECONDS, LOCK_CAP_SECONDS, FORGET_SECONDS
        )
        account = await repo.find_by_email(conn, email)
        if attempt.refused_seconds is not None:
            if account is not None:
                await _login_failed(conn, account, "locked")
            log.info("staff login", outcome="refused", reason="locked", **_who(account))
            raise LoginFailed(attempt.refused_seconds)
    matched = await verify_password(account.password_hash if account else None, password)
    reason = None
    if account is None:
        reason = "unknown"
    elif not matched:
        reason = "password"
    elif account.disabled:
        reason = "disabled"
    elif account.totp_sealed is not None:
        step = totp_step(unseal_totp(settings, account.totp_sealed), code, clock())
        if step is None:
            reason = "code"
        else:
            async with db.for_request(pool) as conn:
                if not await repo.use_totp_step(conn, account.id, step):
                    reason = "code reused"
    if reason is not None or account is None:
        if account is not None:
            async with db.for_request(pool) as conn:
                await _login_failed(conn, account, reason or "unknown")
        log.info("staff login", outcome="refused", reason=reason, **_who(account))
        raise LoginFailed(attempt.lock_seconds)
    rehashed = await hash_password(password) if HASHER.check_needs_rehash(account.password_hash) else None
    token = secrets.token_urlsafe(32)
    user = StaffUser(account.id, account.email, account.municipality, account.role)
    async with db.for_request(pool) as conn, conn.transaction():
        await repo.clear_failures(conn, key)
        if rehashed is not None:
            await repo.set_password_hash(conn, account.id, rehashed)
        await repo.drop_expired_sessions(conn)
        expires = await repo.create_session(conn, token_hash(token), account.id, settings.session_hours)
        await audit(conn, user, "staff.login", user.municipality, detail="rehashed" if rehashed else None)
    log.info("staff login", outcome="ok", **_who(account))
    return LoginSession(token=token, expires=expires, user=user)


async def _login_failed(conn: asyncpg.Connection, account: repo.Account, reason: str) -> None:
    user = StaffUser(account.id, account.email, account.municipality, account.role)
    await audit(conn, user, "staff.login-failed", account.municipality, detail=reason)


def _who(account: repo.Account | None) -> dict[str, str]:
    return {"staff_id": str(account.id)} if account is not None else {}


async def logout(conn: asyncpg.Connection, token: str) -> None:
    """Revoke the session of `token` (nothing happens for an unknown token)."""
    async with conn.transaction():
        row = await repo.delete_session(conn, token_hash(token))
        if row is not None:
            user = StaffUser(row["id"], row["email"], row["municipality"], row["role"])
            await audit(conn, user, "staff.logout", user.municipality)
    if row is not None:
        log.info("staff logout", staff_id=str(row["id"]))


# --- the audit log --------------------------------------------------------------------------


async def read_audit(
    conn: asyncpg.Connection, user: StaffUser, municipality: str, before: int | None, limit: int
) -> list[asyncpg.Record]:
    """A page of the municipality's audit log, newest first; the read is audited first, in
    the same transaction, so the first page shows it."""
    async with conn.transaction():
        await audit(conn, user, "audit.read", municipality, detail=f"before {before}" if before else None)
        return await repo.audit_page(conn, municipality, before, limit)


# --- account management: one implementation for the CLI and the admin API ---------------------
#
# The cores below take the `actor`: a logged-in admin (StaffUser), whose entries the audit log
# attributes to them, or None for the command line (audited as "cli"). The CLI entry points
# (add_staff, enrol_totp, disable_staff, list_staff) find accounts by e-mail across the
# deployment; the API ones (add_account, reset_second_factor, disable_account, list_accounts)
# act only within the admin's own municipality. Audit details name the affected e-mail and
# role, never a password or a TOTP secret.

Actor = StaffUser | None  # None: the command line
INITIAL_PASSWORD_BYTES = 18  # 144 random bits, 24 URL-safe characters


class StaffExists(StaffError):
    """The e-mail already has an account (in any municipality)."""


class NoSuchStaff(StaffError):
    """No such account (or, for the API, none in the admin's municipality)."""


class OwnAccount(StaffError):
    """An admin tried to disable their own account."""


class WrongPassword(Exception):
    """The current password given to change it is wrong. `retry_after`: seconds the e-mail is
    now locked for (logins included), if this failure locked it."""

    def __init__(self, retry_after: int | None) -> None:
        super().__init__("wrong password")
        self.retry_after = retry_after


class PasswordAttemptsLocked(Exception):
    """Too many wrong passwords for this e-mail: the current one was not even checked."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("locked")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class NewAccount:
    id: uuid.UUID
    email: str
    role: str
    initial_password: str


def check_role(role: str) -> str:
    if role not in ROLES:
        raise StaffError(f"--role must be one of {', '.join(ROLES)}")
    return role


def new_initial_password() -> str:
    """A random password for a new account, shown once to the admin who created it."""
    password = secrets.token_urlsafe(INITIAL_PASSWORD_BYTES)
    check_new_password(password)
    return password


async def _audit(
    conn: asyncpg.Connection, actor: Actor, action: str, municipality: str, detail: str | None = None
) -> None:
    if actor is not None:
        await audit(conn, actor, action, municipality, detail=detail)
        return
    await repo.insert_audit(
        conn,
        staff_id=None,
        staff_email=CLI_ACTOR,
        staff_municipality=None,
        action=action,
        municipality=municipality,
        period=None,
        detail=detail,
    )


async def _existing(conn: asyncpg.Connection, raw_email: str) -> repo.Account:
    account = await repo.find_by_email(conn, normalise_email(raw_email))
    if account is None:
        raise NoSuchStaff("no staff account with this e-mail")
    return account


async def _in_municipality(conn: asyncpg.Connection, admin: StaffUser, staff_id: uuid.UUID) -> repo.Account:
    account = await repo.find_in_municipality(conn, staff_id, admin.municipality)
    if account is None:
        raise NoSuchStaff("no staff account with this id")
    return account


async def _add(
    conn: asyncpg.Connection, actor: Actor, raw_email: str, municipality: str, role: str, password: str
) -> tuple[uuid.UUID, str]:
    email = normalise_email(raw_email)
    check_role(role)
    check_new_password(password)
    if not await municipalities.exists(conn, municipality):
        raise StaffError(f"no municipality with slug {municipality!r}; see `straatstem municipality list`")
    password_hash = await hash_password(password)
    staff_id = uuid.uuid4()
    try:
        async with conn.transaction():
            await repo.insert_staff(conn, staff_id, email, municipality, role, password_hash)
            await _audit(conn, actor, "staff.add", municipality, f"{email} as {role}")
    except asyncpg.UniqueViolationError:
        raise StaffExists("a staff account with this e-mail already exists") from None
    log.info("staff added", staff_id=str(staff_id), municipality=municipality)
    return staff_id, email


async def _new_second_factor(
    conn: asyncpg.Connection,
    settings: Settings,
    account: repo.Account,
    actor: Actor,
    action: str,
    *,
    end_sessions: bool,
) -> str:
    secret = new_totp_secret()
    async with conn.transaction():
        await repo.set_totp(conn, account.id, seal_totp(settings, secret))
        if end_sessions:
            await repo.drop_sessions(conn, account.id)
        await _audit(conn, actor, action, account.municipality, account.email)
    log.info("staff totp enrolled", staff_id=str(account.id))
    uri: str = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_INTERVAL).provisioning_uri(
        name=account.email, issuer_name=TOTP_ISSUER
    )
    return uri


async def _disable(conn: asyncpg.Connection, account: repo.Account, actor: Actor) -> repo.Account:
    async with conn.transaction():
        await repo.disable(conn, account.id)  # ends its sessions too
        await _audit(conn, actor, "staff.disable", account.municipality, f"{account.email} ({account.role})")
    log.info("staff disabled", staff_id=str(account.id))
    return dataclasses.replace(account, disabled=True)


# CLI: audited as "cli", accounts found by e-mail.


async def add_staff(conn: asyncpg.Connection, raw_email: str, municipality: str, role: str, password: str) -> uuid.UUID:
    staff_id, _ = await _add(conn, None, raw_email, municipality, role, password)
    return staff_id


async def enrol_totp(conn: asyncpg.Connection, settings: Settings, raw_email: str) -> str:
    """Give the account a new TOTP secret (replacing any earlier one); returns the otpauth://
    URI to show once, as text or QR code, to the staff member's authenticator app."""
    account = await _existing(conn, raw_email)
    return await _new_second_factor(conn, settings, account, None, "staff.totp-enrol", end_sessions=False)


async def disable_staff(conn: asyncpg.Connection, raw_email: str) -> repo.Account:
    """Disable the account and end its sessions at once."""
    return await _disable(conn, await _existing(conn, raw_email), None)


async def end_sessions(conn: asyncpg.Connection, municipality: str | None) -> dict[str, int]:
    """End every staff session, of one municipality or (None) of all: what rotating session
    secrets means here, since a session is a random token stored only as a hash. Audited per
    municipality as the command line; returns the sessions ended per municipality."""
    if municipality is not None and not await municipalities.exists(conn, municipality):
        raise StaffError(f"no municipality with slug {municipality!r}; see `straatstem municipality list`")
    async with conn.transaction():
        ended = await repo.end_sessions(conn, municipality)
        slugs = [municipality] if municipality is not None else [m["slug"] for m in await municipalities.list_all(conn)]
        for slug in slugs:
            await _audit(conn, None, "staff.sessions-end", slug, f"{ended.get(slug, 0)} sessions ended")
    log.info("staff sessions ended", count=sum(ended.values()))
    return {slug: ended.get(slug, 0) for slug in slugs}


async def list_staff(conn: asyncpg.Connection, municipality: str) -> list[repo.Account]:
    if not await municipalities.exists(conn, municipality):
        raise StaffError(f"no municipality with slug {municipality!r}; see `straatstem municipality list`")
    return await repo.list_by_municipality(conn, municipality)


# API: an admin acting within their own municipality, audited as that admin.


async def list_accounts(conn: asyncpg.Connection, admin: StaffUser) -> list[repo.Account]:
    async with conn.transaction():
        await _audit(conn, admin, "staff.list", admin.municipality)
        return await list_staff(conn, admin.municipality)


async def add_account(conn: asyncpg.Connection, admin: StaffUser, raw_email: str, role: str) -> NewAccount:
    """A new account in the admin's municipality with a random initial password, returned once."""
    password = new_initial_password()
    staff_id, email = await _add(conn, admin, raw_email, admin.municipality, role, password)
    return NewAccount(id=staff_id, email=email, role=role, initial_password=password)


async def disable_account(conn: asyncpg.Connection, admin: StaffUser, staff_id: uuid.UUID) -> repo.Account:
    """Disable an account of the admin's municipality (never their own) and end its sessions."""
    account = await _in_municipality(conn, admin, staff_id)
    if account.id == admin.id:
        raise OwnAccount("you cannot disable your own account")
    return await _disable(conn, account, admin)


async def reset_second_factor(
    conn: asyncpg.Connection, settings: Settings, admin: StaffUser, staff_id: uuid.UUID
) -> str:
    """A new TOTP secret for an account of the admin's municipality, replacing the old one;
    the account's sessions end. Returns the otpauth:// URI, to hand over once."""
    account = await _in_municipality(conn, admin, staff_id)
    return await _new_second_factor(conn, settings, account, admin, "staff.totp-reset", end_sessions=True)


async def change_password(
    pool: asyncpg.Pool, settings: Settings, user: StaffUser, current: str, new: str, keep_token_hash: bytes
) -> None:
    """Change the user's own password: `current` must be right; the session whose token hashes
    to `keep_token_hash` stays, every other session of the account ends. Wrong current
    passwords count towards the login lock of the e-mail (the same secret is being guessed),
    and no connection is held while hashing."""
    check_new_password(new)
    key = email_key(settings, user.email)
    async with db.for_request(pool) as conn:
        attempt = await repo.login_attempt(
            conn, key, LOCK_THRESHOLD, LOCK_BASE_SECONDS, LOCK_CAP_SECONDS, FORGET_SECONDS
        )
        if attempt.refused_seconds is not None:
            await _audit(conn, user, "staff.password-failed", user.municipality, "locked")
            raise PasswordAttemptsLocked(attempt.refused_seconds)
        account = await repo.find_in_municipality(conn, user.id, user.municipality)
    if not await verify_password(account.password_hash if account else None, current) or account is None:
        async with db.for_request(pool) as conn:
            await _audit(conn, user, "staff.password-failed", user.municipality, "password")
        log.info("staff password change", outcome="refused", staff_id=str(user.id))
        raise WrongPassword(attempt.lock_seconds)
    password_hash = await hash_password(new)
    async with db.for_request(pool) as conn, conn.transaction():
        await repo.clear_failures(conn, key)
        await repo.set_password_hash(conn, account.id, password_hash)
        await repo.drop_other_sessions(conn, account.id, keep_token_hash)
        await _audit(conn, user, "staff.password-change", user.municipality)
    log.info("staff password change", outcome="ok", staff_id=str(user.id))
