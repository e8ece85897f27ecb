"""Staff accounts through the API on a real database: passwords, sessions, lockout, TOTP,
tenant isolation and the audit log."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any

import asyncpg
import httpx
import pyotp
import pytest
import structlog
from argon2 import PasswordHasher
from cryptography.exceptions import InvalidTag
from litestar import Litestar, Request, get
from litestar.datastructures import State

from api.errors import Problem, problem_response
from api.settings import Settings
from api.staff import access, service
from tests.conftest import STAFF_PASSWORD, asgi_client, login_headers, make_staff

StaffHeaders = Callable[..., Awaitable[dict[str, str]]]
AMSTERDAM_CENTRE = "52.3731,4.8922"


@pytest.fixture
async def amsterdam(hague: list[int], clean: asyncpg.Pool) -> str:
    from api.municipalities import service as municipalities

    async with clean.acquire() as conn:
        await municipalities.add(
            conn, "amsterdam", "Amsterdam", municipalities.cells_from_circle(AMSTERDAM_CENTRE, 0.5)
        )
    return "amsterdam"


async def _login(http: httpx.AsyncClient, email: str, password: str = STAFF_PASSWORD, **extra: Any) -> httpx.Response:
    response = await http.post("/v1/staff/login", json={"email": email, "password": password, **extra})
    http.cookies.clear()
    return response


async def _staff(pool: asyncpg.Pool, email: str, role: str = "analyst", municipality: str = "den-haag") -> uuid.UUID:
    async with pool.acquire() as conn:
        return await make_staff(conn, email, municipality, role)


async def _actions(pool: asyncpg.Pool) -> list[tuple[str, str, str | None]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("select staff_email, action, detail from staff_audit order by id")
    return [(r["staff_email"], r["action"], r["detail"]) for r in rows]


# --- passwords ------------------------------------------------------------------------------


async def test_passwords_are_argon2id_with_rfc_9106_parameters(clean: asyncpg.Pool, hague: list[int]) -> None:
    await _staff(clean, "ana@den-haag.example")
    async with clean.acquire() as conn:
        stored = await conn.fetchval("select password_hash from staff")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert STAFF_PASSWORD not in stored
    # The dummy hash for unknown e-mails costs exactly what a real one costs.
    assert service.DUMMY_HASH.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not service.HASHER.check_needs_rehash(service.DUMMY_HASH)
    assert await service.verify_password(stored, STAFF_PASSWORD)
    assert not await service.verify_password(stored, STAFF_PASSWORD + "!")
    assert not await service.verify_password(None, STAFF_PASSWORD)


async def test_login_rehashes_a_hash_with_old_parameters(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    staff_id = await _staff(clean, "old@den-haag.example")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(STAFF_PASSWORD)
    async with clean.acquire() as conn:
        await conn.execute("update staff set password_hash = $2 where id = $1", staff_id, weak)
    assert (await _login(client, "old@den-haag.example")).status_code == 200
    async with clean.acquire() as conn:
        stored = await conn.fetchval("select password_hash from staff where id = $1", staff_id)
    assert stored != weak and stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await service.verify_password(stored, STAFF_PASSWORD)
    assert ("old@den-haag.example", "staff.login", "rehashed") in await _actions(clean)
    # A current hash is left alone.
    assert (await _login(client, "old@den-haag.example")).status_code == 200
    async with clean.acquire() as conn:
        assert await conn.fetchval("select password_hash from staff where id = $1", staff_id) == stored


# --- sessions -------------------------------------------------------------------------------


async def test_login_gives_a_bearer_token_and_a_strict_session_cookie(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int], settings: Settings
) -> None:
    await _staff(clean, "ana@den-haag.example")
    response = await _login(client, "  Ana@Den-Haag.example ")  # e-mails are normalised
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    token = body["token"]
    assert set(body) == {"token", "token_type", "expires"} and body["token_type"] == "Bearer"
    assert len(token) >= 43
    expires = dt.datetime.fromisoformat(body["expires"])
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(hours=settings.session_hours)
    assert abs((expires - expected).total_seconds()) < 60

    set_cookie = response.headers["set-cookie"]
    cookie = SimpleCookie()
    cookie.load(set_cookie)
    morsel = cookie[access.SESSION_COOKIE]
    assert morsel.value == token
    attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= attributes
    assert morsel["samesite"].lower() == "strict" and morsel["path"] == "/"
    assert morsel["max-age"] == str(settings.session_hours * 3600)

    async with clean.acquire() as conn:
        stored = await conn.fetchval("select token_hash from staff_session")
        raw = await conn.fetchval("select count(*) from staff_session where encode(token_hash, 'escape') = $1", token)
    assert stored == hashlib.sha256(token.encode()).digest() and raw == 0


async def test_bearer_and_cookie_both_authenticate(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    await _staff(clean, "ana@den-haag.example", role="moderator")
    token = (await _login(client, "ana@den-haag.example")).json()["token"]
    by_header = await client.get("/v1/staff/me", headers={"Authorization": f"Bearer {token}"})
    by_cookie = await client.get("/v1/staff/me", headers={"Cookie": f"{access.SESSION_COOKIE}={token}"})
    for response in (by_header, by_cookie):
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        me = response.json()
        assert (me["email"], me["municipality"], me["role"]) == ("ana@den-haag.example", "den-haag", "moderator")
        assert dt.datetime.fromisoformat(me["session_expires"]) > dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer " + "x" * 500},
        {"Authorization": "Basic YW5hOnBhc3N3b3Jk"},
        {"Cookie": f"{access.SESSION_COOKIE}=forged"},
    ],
)
async def test_missing_or_unknown_tokens_get_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/staff/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["type"] == "/problems/unauthenticated"


async def test_logout_revokes_the_session_and_clears_the_cookie(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    await _staff(clean, "ana@den-haag.example")
    headers = await login_headers(client, "ana@den-haag.example")
    other = await login_headers(client, "ana@den-haag.example")
    response = await client.post("/v1/staff/logout", headers=headers)
    assert response.status_code == 204 and response.headers["cache-control"] == "no-store"
    cleared = SimpleCookie()
    cleared.load(response.headers["set-cookie"])
    assert cleared[access.SESSION_COOKIE].value == "" and cleared[access.SESSION_COOKIE]["max-age"] == "0"
    assert (await client.get("/v1/staff/me", headers=headers)).status_code == 401
    # Only that session ended; logging out by cookie works too.
    assert (await client.get("/v1/staff/me", headers=other)).status_code == 200
    cookie = {"Cookie": f"{access.SESSION_COOKIE}={other['Authorization'].split()[1]}"}
    assert (await client.post("/v1/staff/logout", headers=cookie)).status_code == 204
    assert (await client.get("/v1/staff/me", headers=other)).status_code == 401
    # Logging out without (or with a dead) session is harmless and audits nothing.
    assert (await client.post("/v1/staff/logout")).status_code == 204
    assert (await client.post("/v1/staff/logout", headers=headers)).status_code == 204
    assert [a for _, a, _ in await _actions(clean)].count("staff.logout") == 2
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from staff_session") == 0


async def test_an_expired_session_is_refused(client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]) -> None:
    await _staff(clean, "ana@den-haag.example")
    headers = await login_headers(client, "ana@den-haag.example")
    assert (await client.get("/v1/staff/me", headers=headers)).status_code == 200
    async with clean.acquire() as conn:
        await conn.execute("update staff_session set expires_at = now() - interval '1 second'")
    response = await client.get("/v1/staff/me", headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    # The next login sweeps expired sessions away.
    await login_headers(client, "ana@den-haag.example")
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from staff_session where expires_at <= now()") == 0


async def test_a_disabled_account_cannot_log_in_and_its_sessions_stop(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    await _staff(clean, "ana@den-haag.example")
    await _staff(clean, "bob@den-haag.example")
    headers = await login_headers(client, "ana@den-haag.example")
    bob = await login_headers(client, "bob@den-haag.example")
    async with clean.acquire() as conn:
        # Even a session row that survived disabling (direct update) stops working.
        await conn.execute("update staff set disabled = true where email = 'bob@den-haag.example'")
        await service.disable_staff(conn, "ana@den-haag.example")
        sessions = await conn.fetchval(
            "select count(*) from staff_session s join staff t on t.id = s.staff_id where t.email = $1",
            "ana@den-haag.example",
        )
    assert sessions == 0
    assert (await client.get("/v1/staff/me", headers=headers)).status_code == 401
    assert (await client.get("/v1/staff/me", headers=bob)).status_code == 401
    refused = await _login(client, "ana@den-haag.example")
    wrong = await _login(client, "bob@den-haag.example", "wrong password!")
    assert refused.status_code == wrong.status_code == 401 and refused.content == wrong.content
    assert ("ana@den-haag.example", "staff.login-failed", "disabled") in await _actions(clean)


# --- strict bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"email": "a@b.nl", "password": "x", "remember": True}, 400),
        ({"email": "a@b.nl"}, 400),
        ({"email": "a@b.nl", "password": 12345678}, 400),
        ({"email": "a@b.nl", "password": "x", "totp": "12 456"}, 400),
        ({"email": "a@b.nl", "password": "x", "totp": 123456}, 400),
    ],
)
async def test_login_bodies_are_strict(client: httpx.AsyncClient, body: dict[str, Any], status: int) -> None:
    response = await client.post("/v1/staff/login", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["cache-control"] == "no-store"


async def test_login_needs_a_json_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/staff/login", content=b"email=a@b.nl&password=x")
    assert response.status_code == 415 and response.headers["cache-control"] == "no-store"


# --- TOTP -----------------------------------------------------------------------------------


async def test_totp_second_factor(
    client: httpx.AsyncClient,
    clean: asyncpg.Pool,
    hague: list[int],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _staff(clean, "ana@den-haag.example")
    async with clean.acquire() as conn:
        uri = await service.enrol_totp(conn, settings, "ana@den-haag.example")
        sealed = await conn.fetchval("select totp_sealed from staff")
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP) and totp.digits == 6 and totp.interval == 30
    assert uri.startswith("otpauth://totp/") and "issuer=straatstem" in uri
    assert totp.secret.encode() not in sealed and service.unseal_totp(settings, sealed) == totp.secret
    assert base64.b32decode(totp.secret) not in sealed
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(InvalidTag):  # authenticated encryption: a changed value does not open
        service.unseal_totp(settings, tampered)
    step = int(time.time() // 30)
    monkeypatch.setattr(service, "clock", lambda: step * 30 + 15.0)  # no step boundary mid-test

    def code(at_step: int) -> str:
        return totp.at(at_step * 30)

    wrong_password = await _login(client, "ana@den-haag.example", "wrong password!", totp=code(step))
    missing = await _login(client, "ana@den-haag.example")
    window = {code(step + d) for d in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in window)
    wrong_code = await _login(client, "ana@den-haag.example", totp=wrong)
    for refused in (wrong_password, missing, wrong_code):
        assert refused.status_code == 401 and refused.content == wrong_password.content

    assert (await _login(client, "ana@den-haag.example", totp=code(step - 1))).status_code == 200  # one step back
    replayed = await _login(client, "ana@den-haag.example", totp=code(step - 1))
    assert replayed.status_code == 401 and replayed.content == wrong_password.content
    assert (await _login(client, "ana@den-haag.example", totp=code(step))).status_code == 200
    assert (await _login(client, "ana@den-haag.example", totp=code(step))).status_code == 401  # reused
    assert (await _login(client, "ana@den-haag.example", totp=code(step + 1))).status_code == 200  # one ahead
    far = code(step + 2)
    if far not in window:  # two steps away is refused (unless the 6 digits collide)
        assert (await _login(client, "ana@den-haag.example", totp=far)).status_code == 401

    details = [d for _, a, d in await _actions(clean) if a == "staff.login-failed"]
    assert details[:5] == ["password", "code", "code", "code reused", "code reused"]
    async with clean.acquire() as conn:
        assert await conn.fetchval("select totp_last_step from staff") == step + 1


def test_totp_step_window() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = 1_800_000_015.0
    step = int(now // 30)
    for delta in (-1, 0, 1):
        assert service.totp_step(secret, totp.at((step + delta) * 30), now) == step + delta
    for delta in (-2, 2):
        code = totp.at((step + delta) * 30)
        if code not in {totp.at((step + d) * 30) for d in (-1, 0, 1)}:
            assert service.totp_step(secret, code, now) is None
    assert service.totp_step(secret, None, now) is None
    assert service.totp_step(secret, "12345", now) is None


# --- lockout --------------------------------------------------------------------------------


async def _expire_locks(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "update staff_login_failure set locked_until = now() - interval '1 second' where locked_until is not null"
        )


async def test_lockout_grows_and_looks_the_same_for_unknown_e_mails(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    await _staff(clean, "ana@den-haag.example")

    async def sequence(email: str) -> list[httpx.Response]:
        seen = []
        for _ in range(5):  # 4 plain failures, the 5th locks for a minute
            seen.append(await _login(client, email, "wrong password!"))
        seen.append(await _login(client, email))  # locked: even the right password is refused
        for _ in range(2):  # each further failure doubles the lock
            await _expire_locks(clean)
            seen.append(await _login(client, email, "wrong password!"))
        return seen

    known = await sequence("ana@den-haag.example")
    unknown = await sequence("nobody@den-haag.example")
    expected_retry = [None, None, None, None, 60, 60, 120, 240]
    for i, (k, u) in enumerate(zip(known, unknown, strict=True)):
        assert k.status_code == u.status_code == 401, i
        assert k.content == u.content == known[0].content, i
        assert set(k.headers) == set(u.headers), i
        for response in (k, u):
            retry = response.headers.get("retry-after")
            if expected_retry[i] is None:
                assert retry is None, i
            else:
                assert retry is not None and expected_retry[i] - 2 <= int(retry) <= expected_retry[i], (i, retry)

    async with clean.acquire() as conn:
        keys = await conn.fetch("select email_key, failures from staff_login_failure")
        dump = " ".join(str(r) for r in await conn.fetch("select * from staff_login_failure"))
    assert len(keys) == 2 and all(len(r["email_key"]) == 32 and r["failures"] == 7 for r in keys)
    assert "nobody" not in dump and "ana" not in dump
    # Only the existing account is audited, the unknown e-mail is stored nowhere.
    details = [d for e, a, d in await _actions(clean) if a == "staff.login-failed"]
    assert details == ["password"] * 5 + ["locked"] + ["password"] * 2
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from staff_audit where staff_email like 'nobody%'") == 0

    # After the lock, the right password succeeds and resets the count.
    await _expire_locks(clean)
    assert (await _login(client, "ana@den-haag.example")).status_code == 200
    assert (await _login(client, "ana@den-haag.example", "wrong password!")).headers.get("retry-after") is None
    async with clean.acquire() as conn:
        assert sorted(await conn.fetchval("select array_agg(failures) from staff_login_failure")) == [1, 7]


async def test_lock_is_capped_at_a_day_and_failures_are_forgotten_after_a_quiet_day(
    client: httpx.AsyncClient, clean: asyncpg.Pool, settings: Settings
) -> None:
    key = service.email_key(settings, "someone@example.org")
    async with clean.acquire() as conn:
        await conn.execute("insert into staff_login_failure values ($1, 40, now(), now() - interval '1 second')", key)
    response = await _login(client, "someone@example.org", "wrong password!")
    assert response.status_code == 401 and response.headers["retry-after"] == str(24 * 3600)
    async with clean.acquire() as conn:
        await conn.execute(
            "update staff_login_failure set failures = 4, locked_until = null,"
            " last_failure_at = now() - interval '25 hours' where email_key = $1",
            key,
        )
    response = await _login(client, "someone@example.org", "wrong password!")
    assert "retry-after" not in response.headers
    async with clean.acquire() as conn:
        assert await conn.fetchval("select failures from staff_login_failure where email_key = $1", key) == 1


# --- tenant isolation and roles -------------------------------------------------------------


async def test_staff_see_only_their_own_municipality(
    client: httpx.AsyncClient, staff_headers: StaffHeaders, amsterdam: str
) -> None:
    analyst = await staff_headers(role="analyst")
    admin = await staff_headers(role="admin")
    amsterdam_admin = await staff_headers(role="admin", municipality="amsterdam")

    unknown = await client.get("/v1/municipalities/nowhere/coverage")
    assert unknown.status_code == 404
    for headers in (analyst, admin):
        for slug in ("amsterdam", "nowhere"):
            response = await client.get("/v1/staff/audit", params={"municipality": slug}, headers=headers)
            assert response.status_code == 404, (slug, response.text)
            assert response.content == unknown.content
            assert response.headers["cache-control"] == "no-store"

    forbidden = await client.get("/v1/staff/audit", params={"municipality": "den-haag"}, headers=analyst)
    assert forbidden.status_code == 403 and forbidden.json()["type"] == "/problems/forbidden"
    assert forbidden.headers["cache-control"] == "no-store"
    assert (await client.get("/v1/staff/audit", params={"municipality": "den-haag"})).status_code == 401

    own = await client.get("/v1/staff/audit", params={"municipality": "den-haag"}, headers=admin)
    theirs = await client.get("/v1/staff/audit", params={"municipality": "amsterdam"}, headers=amsterdam_admin)
    assert own.status_code == theirs.status_code == 200
    assert {e["municipality"] for e in own.json()["entries"]} == {"den-haag"}
    assert {e["municipality"] for e in theirs.json()["entries"]} == {"amsterdam"}
    assert not any("den-haag" in e["staff"] for e in theirs.json()["entries"])


@pytest.mark.parametrize("combined", [False, True], ids=["authorize-then-audit", "authorize_audited"])
async def test_authorize_for_other_handlers(
    clean: asyncpg.Pool, amsterdam: str, settings: Settings, combined: bool
) -> None:
    """authorize() as heatmap and export handlers use it (and authorize_audited(), the same in
    one round trip): admins may always act, the roles given may act, anyone else gets 403,
    other municipalities 404, and only granted reads are audited."""

    @get("/probe/{slug:str}")
    async def probe(state: State, request: Request[Any, Any, Any], slug: str) -> dict[str, str]:
        async with clean.acquire() as conn:
            if combined:
                user = await access.authorize_audited(
                    request,
                    conn,
                    municipality=slug,
                    roles=frozenset({"analyst"}),
                    action="probe.read",
                    period="2026-09",
                    detail="test",
                )
            else:
                user = await access.authorize(request, conn, municipality=slug, roles=frozenset({"analyst"}))
                await access.audit(conn, user, "probe.read", slug, period="2026-09", detail="test")
        return {"role": user.role}

    app = Litestar([probe], exception_handlers={Problem: lambda _, exc: problem_response(exc)})
    tokens = {}
    async with clean.acquire() as conn:
        for role in ("analyst", "moderator", "admin"):
            await make_staff(conn, f"{role}@den-haag.example", "den-haag", role)
    async with (
        asgi_client(app) as http,
        asgi_client(_staff_app(settings, clean)) as api,
    ):
        for role in ("analyst", "moderator", "admin"):
            tokens[role] = await login_headers(api, f"{role}@den-haag.example")
        statuses = {
            role: (
                (await http.get("/probe/den-haag", headers=headers)).status_code,
                (await http.get("/probe/amsterdam", headers=headers)).status_code,
            )
            for role, headers in tokens.items()
        }
        assert (await http.get("/probe/den-haag")).status_code == 401
    assert statuses == {"analyst": (200, 404), "moderator": (403, 404), "admin": (200, 404)}
    async with clean.acquire() as conn:
        rows = await conn.fetch(
            "select staff_email, staff_municipality, municipality, period, detail"
            " from staff_audit where action = 'probe.read' order by id"
        )
    assert [tuple(r) for r in rows] == [
        ("analyst@den-haag.example", "den-haag", "den-haag", "2026-09", "test"),
        ("admin@den-haag.example", "den-haag", "den-haag", "2026-09", "test"),
    ]


def _staff_app(settings: Settings, pool: asyncpg.Pool) -> Litestar:
    from api.app import create_app

    return create_app(settings, pool=pool)


# --- the audit log --------------------------------------------------------------------------


async def test_the_audit_log_records_logins_logouts_and_reads_newest_first(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    await _staff(clean, "admin@den-haag.example", role="admin")
    assert (await _login(client, "admin@den-haag.example", "wrong password!")).status_code == 401
    first = await login_headers(client, "admin@den-haag.example")
    assert (await client.post("/v1/staff/logout", headers=first)).status_code == 204
    headers = await login_headers(client, "admin@den-haag.example")

    page = await client.get("/v1/staff/audit", params={"municipality": "den-haag"}, headers=headers)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    entries = page.json()["entries"]
    assert [e["action"] for e in entries] == [
        "audit.read",
        "staff.login",
        "staff.logout",
        "staff.login",
        "staff.login-failed",
    ]
    assert all(e["staff"] == "admin@den-haag.example" and e["staff_municipality"] == "den-haag" for e in entries)
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True) and page.json()["next_before"] is None
    assert all(dt.datetime.fromisoformat(e["at"]) <= dt.datetime.now(dt.UTC) for e in entries)

    # Keyset pages: two at a time, following next_before, never repeating an entry.
    seen: list[int] = []
    before = None
    while True:
        params: dict[str, Any] = {"municipality": "den-haag", "limit": 2}
        if before is not None:
            params["before"] = before
        body = (await client.get("/v1/staff/audit", params=params, headers=headers)).json()
        seen += [e["id"] for e in body["entries"]]
        before = body["next_before"]
        if before is None:
            break
    assert sorted(set(seen), reverse=True) == seen and set(ids) <= set(seen)
    for bad in ({"limit": 0}, {"limit": 201}, {"before": 0}, {"before": "x"}):
        response = await client.get("/v1/staff/audit", params={"municipality": "den-haag", **bad}, headers=headers)
        assert response.status_code == 400 and response.headers["cache-control"] == "no-store", bad


async def test_the_audit_log_is_append_only(clean: asyncpg.Pool, hague: list[int]) -> None:
    await _staff(clean, "admin@den-haag.example", role="admin")
    user = access.StaffUser(uuid.uuid4(), "admin@den-haag.example", "den-haag", "admin")
    async with clean.acquire() as conn:
        await access.audit(conn, user, "heatmap.read", "den-haag", period="2026-09")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("update staff_audit set action = 'nothing'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("delete from staff_audit")
        row = await conn.fetchrow("select action, period from staff_audit")
        with pytest.raises(asyncpg.CheckViolationError):
            await access.audit(conn, user, "Free text, not an action code", "den-haag")
    assert tuple(row) == ("heatmap.read", "2026-09")


# --- logs -----------------------------------------------------------------------------------


async def test_logs_never_hold_e_mails_passwords_tokens_or_codes(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int], settings: Settings
) -> None:
    staff_id = await _staff(clean, "secret.person@den-haag.example")
    async with clean.acquire() as conn:
        uri = await service.enrol_totp(conn, settings, "secret.person@den-haag.example")
    totp = pyotp.parse_uri(uri)
    code = totp.now()
    with structlog.testing.capture_logs() as captured:
        await _login(client, "secret.person@den-haag.example", "wrong password!")
        await _login(client, "unknown.person@den-haag.example", "another wrong one")
        ok = await _login(client, "secret.person@den-haag.example", totp=code)
        token = ok.json()["token"]
        await client.post("/v1/staff/logout", headers={"Authorization": f"Bearer {token}"})
        async with clean.acquire() as conn:
            await service.disable_staff(conn, "secret.person@den-haag.example")
    text = repr(captured).lower()
    assert ok.status_code == 200
    for secret in (
        "secret.person",
        "unknown.person",
        STAFF_PASSWORD,
        "wrong password!",
        "another wrong one",
        token.lower(),
        code,
        totp.secret.lower(),
        "127.0.0.1",
    ):
        assert secret.lower() not in text, secret
    assert str(staff_id) in text  # events name the staff member by id
    assert any(e["event"] == "staff login" and e.get("outcome") == "ok" for e in captured)
