"""Staff management by municipality admins through the API, on a real database: listing,
adding, disabling, resetting second factors, changing one's own password, tenant isolation and
the audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pyotp
import pytest

from api.settings import Settings
from api.staff import service
from tests.conftest import STAFF_PASSWORD, login_headers, make_staff

ADMIN = "admin@den-haag.example"
NEW_PASSWORD = "a brand new passphrase"
BASE = "/v1/staff/municipalities"


@dataclass(frozen=True)
class Admin:
    id: uuid.UUID
    headers: dict[str, str]


@pytest.fixture
async def amsterdam(hague: list[int], clean: asyncpg.Pool) -> str:
    from api.municipalities import service as municipalities

    async with clean.acquire() as conn:
        await municipalities.add(
            conn, "amsterdam", "Amsterdam", municipalities.cells_from_circle("52.3731,4.8922", 0.5)
        )
    return "amsterdam"


@pytest.fixture
async def admin(client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]) -> Admin:
    staff_id = await _staff(clean, ADMIN, role="admin")
    return Admin(staff_id, await login_headers(client, ADMIN))


async def _staff(pool: asyncpg.Pool, email: str, role: str = "analyst", municipality: str = "den-haag") -> uuid.UUID:
    async with pool.acquire() as conn:
        return await make_staff(conn, email, municipality, role)


async def _login(http: httpx.AsyncClient, email: str, password: str = STAFF_PASSWORD, **extra: Any) -> httpx.Response:
    response = await http.post("/v1/staff/login", json={"email": email, "password": password, **extra})
    http.cookies.clear()
    return response


async def _audit(pool: asyncpg.Pool, prefix: str = "staff.") -> list[tuple[Any, ...]]:
    """(staff_id, staff_email, staff_municipality, action, municipality, detail) of every entry
    whose action starts with `prefix`, logins and logouts left out."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "select staff_id, staff_email, staff_municipality, action, municipality, detail from staff_audit"
            " where action like $1 and action not in ('staff.login', 'staff.logout') order by id",
            prefix + "%",
        )
    return [tuple(r) for r in rows]


async def _audit_text(pool: asyncpg.Pool) -> str:
    async with pool.acquire() as conn:
        rows = await conn.fetch("select * from staff_audit")
    return " ".join(str(tuple(r)) for r in rows).lower()


async def _account(pool: asyncpg.Pool, staff_id: uuid.UUID) -> asyncpg.Record:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "select s.email, s.role, s.disabled, s.totp_sealed, s.password_hash,"
            " (select count(*) from staff_session where staff_id = s.id) as sessions"
            " from staff s where s.id = $1",
            staff_id,
        )
    assert row is not None
    return row


def _is_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["type"] == f"/problems/{slug}"


# --- listing --------------------------------------------------------------------------------


async def test_admin_lists_the_staff_of_their_municipality_by_e_mail(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin, amsterdam: str, settings: Settings
) -> None:
    carol = await _staff(clean, "carol@den-haag.example", role="moderator")
    bob = await _staff(clean, "bob@den-haag.example")
    ana = await _staff(clean, "ana@den-haag.example")
    await _staff(clean, "zed@amsterdam.example", municipality="amsterdam")
    async with clean.acquire() as conn:
        await service.enrol_totp(conn, settings, "ana@den-haag.example")
        await service.disable_staff(conn, "carol@den-haag.example")

    response = await client.get(f"{BASE}/den-haag/staff", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "staff": [
            {"id": str(admin.id), "email": ADMIN, "role": "admin", "disabled": False, "second_factor": False},
            {
                "id": str(ana),
                "email": "ana@den-haag.example",
                "role": "analyst",
                "disabled": False,
                "second_factor": True,
            },
            {
                "id": str(bob),
                "email": "bob@den-haag.example",
                "role": "analyst",
                "disabled": False,
                "second_factor": False,
            },
            {
                "id": str(carol),
                "email": "carol@den-haag.example",
                "role": "moderator",
                "disabled": True,
                "second_factor": False,
            },
        ]
    }
    assert await _audit(clean, "staff.list") == [(admin.id, ADMIN, "den-haag", "staff.list", "den-haag", None)]


# --- adding ---------------------------------------------------------------------------------


async def test_admin_adds_an_account_that_logs_in_with_its_initial_password(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin
) -> None:
    response = await client.post(
        f"{BASE}/den-haag/staff",
        json={"email": "  New.Person@Den-Haag.example ", "role": "moderator"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"id", "email", "role", "initial_password"}
    assert (body["email"], body["role"]) == ("new.person@den-haag.example", "moderator")
    password = body["initial_password"]
    assert len(password) >= 16
    service.check_new_password(password)  # raises if the server's rule would refuse it

    account = await _account(clean, uuid.UUID(body["id"]))
    assert (account["email"], account["role"], account["disabled"]) == (
        "new.person@den-haag.example",
        "moderator",
        False,
    )
    assert account["password_hash"].startswith("$argon2id$") and password not in account["password_hash"]

    assert (await _login(client, "new.person@den-haag.example", "not the initial password")).status_code == 401
    headers = await login_headers(client, "new.person@den-haag.example", password)
    me = await client.get("/v1/staff/me", headers=headers)
    assert (me.json()["email"], me.json()["municipality"], me.json()["role"]) == (
        "new.person@den-haag.example",
        "den-haag",
        "moderator",
    )

    # Every account gets its own random password.
    other = await client.post(
        f"{BASE}/den-haag/staff", json={"email": "other@den-haag.example", "role": "analyst"}, headers=admin.headers
    )
    assert other.status_code == 201 and other.json()["initial_password"] != password

    assert await _audit(clean, "staff.add") == [
        (admin.id, ADMIN, "den-haag", "staff.add", "den-haag", "new.person@den-haag.example as moderator"),
        (admin.id, ADMIN, "den-haag", "staff.add", "den-haag", "other@den-haag.example as analyst"),
    ]
    text = await _audit_text(clean)
    assert password.lower() not in text and other.json()["initial_password"].lower() not in text


async def test_add_refuses_duplicates_and_bad_input(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin, amsterdam: str
) -> None:
    await _staff(clean, "taken@amsterdam.example", municipality="amsterdam")
    url = f"{BASE}/den-haag/staff"
    # E-mails are unique across the deployment, whatever the case.
    for email in ("taken@amsterdam.example", "ADMIN@den-haag.example"):
        response = await client.post(url, json={"email": email, "role": "analyst"}, headers=admin.headers)
        _is_problem(response, 409, "staff-exists")
        assert email.lower() not in response.text.lower()

    bad_email = await client.post(url, json={"email": "not-an-address", "role": "analyst"}, headers=admin.headers)
    _is_problem(bad_email, 400, "invalid-request")
    assert bad_email.json()["detail"].startswith("email must look like an e-mail address")
    for body in (
        {"email": "x@den-haag.example", "role": "superuser"},
        {"email": "x@den-haag.example", "role": "Admin"},
        {"email": "x@den-haag.example"},
        {"email": "x@den-haag.example", "role": "analyst", "password": "chosen by the admin"},
        {"email": 7, "role": "analyst"},
    ):
        response = await client.post(url, json=body, headers=admin.headers)
        _is_problem(response, 400, "invalid-request")
        assert "superuser" not in response.text
    not_json = await client.post(
        url, content=b"email=x@den-haag.example&role=analyst", headers={**admin.headers, "Content-Type": "text/plain"}
    )
    _is_problem(not_json, 415, "unsupported-media-type")

    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from staff") == 2
    assert await _audit(clean, "staff.add") == []


# --- disabling ------------------------------------------------------------------------------


async def test_disable_needs_no_body_and_ends_the_accounts_sessions_at_once(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin
) -> None:
    bob = await _staff(clean, "bob@den-haag.example", role="moderator")
    bob_headers = await login_headers(client, "bob@den-haag.example")
    other_session = await login_headers(client, "bob@den-haag.example")
    assert (await client.get("/v1/staff/me", headers=bob_headers)).status_code == 200

    # A bare POST: no body, no Content-Type.
    request = client.build_request("POST", f"{BASE}/den-haag/staff/{bob}/disable", headers=admin.headers)
    assert "content-type" not in request.headers
    response = await client.send(request)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "id": str(bob),
        "email": "bob@den-haag.example",
        "role": "moderator",
        "disabled": True,
        "second_factor": False,
    }

    for headers in (bob_headers, other_session):
        _is_problem(await client.get("/v1/staff/me", headers=headers), 401, "unauthenticated")
    assert (await _login(client, "bob@den-haag.example")).status_code == 401
    account = await _account(clean, bob)
    assert account["disabled"] is True and account["sessions"] == 0

    # Again, with an empty JSON body this time: still disabled, still fine.
    again = await client.post(
        f"{BASE}/den-haag/staff/{bob}/disable", headers={**admin.headers, "Content-Type": "application/json"}
    )
    assert again.status_code == 200 and again.json()["disabled"] is True
    listed = (await client.get(f"{BASE}/den-haag/staff", headers=admin.headers)).json()["staff"]
    assert [(s["email"], s["disabled"]) for s in listed] == [(ADMIN, False), ("bob@den-haag.example", True)]
    assert (
        await _audit(clean, "staff.disable")
        == [
            (admin.id, ADMIN, "den-haag", "staff.disable", "den-haag", "bob@den-haag.example (moderator)"),
        ]
        * 2
    )


async def test_an_admin_cannot_disable_their_own_account(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin
) -> None:
    response = await client.post(f"{BASE}/den-haag/staff/{admin.id}/disable", headers=admin.headers)
    _is_problem(response, 409, "own-account")
    assert (await client.get("/v1/staff/me", headers=admin.headers)).status_code == 200
    account = await _account(clean, admin.id)
    assert account["disabled"] is False and account["sessions"] == 1
    assert await _audit(clean, "staff.disable") == []

    # Another admin may.
    await _staff(clean, "second.admin@den-haag.example", role="admin")
    second = await login_headers(client, "second.admin@den-haag.example")
    assert (await client.post(f"{BASE}/den-haag/staff/{admin.id}/disable", headers=second)).status_code == 200
    _is_problem(await client.get("/v1/staff/me", headers=admin.headers), 401, "unauthenticated")


# --- second factor --------------------------------------------------------------------------


async def test_second_factor_reset_replaces_the_secret_and_ends_sessions(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin, settings: Settings
) -> None:
    ana = await _staff(clean, "ana@den-haag.example")
    async with clean.acquire() as conn:
        old_uri = await service.enrol_totp(conn, settings, "ana@den-haag.example")
    old = pyotp.parse_uri(old_uri)
    ana_headers = await login_headers(client, "ana@den-haag.example", totp=old.now())

    response = await client.post(f"{BASE}/den-haag/staff/{ana}/second-factor", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert set(response.json()) == {"otpauth_uri"}
    uri = response.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/")
    new = pyotp.parse_uri(uri)
    assert isinstance(new, pyotp.TOTP)
    new_secret = parse_qs(urlsplit(uri).query)["secret"][0]
    assert new_secret != old.secret and parse_qs(urlsplit(uri).query)["issuer"] == ["straatstem"]

    # The account's session ended; the old secret no longer logs in, the new one does.
    _is_problem(await client.get("/v1/staff/me", headers=ana_headers), 401, "unauthenticated")
    old_code = old.now()
    if old_code not in {new.at(t) for t in _window(new)}:  # unless the 6 digits happen to collide
        assert (await _login(client, "ana@den-haag.example", totp=old_code)).status_code == 401
    assert (await _login(client, "ana@den-haag.example")).status_code == 401  # no code at all
    assert (await _login(client, "ana@den-haag.example", totp=new.now())).status_code == 200

    account = await _account(clean, ana)
    assert service.unseal_totp(settings, account["totp_sealed"]) == new_secret
    assert await _audit(clean, "staff.totp") == [
        (None, "cli", None, "staff.totp-enrol", "den-haag", "ana@den-haag.example"),
        (admin.id, ADMIN, "den-haag", "staff.totp-reset", "den-haag", "ana@den-haag.example"),
    ]
    text = await _audit_text(clean)
    assert new_secret.lower() not in text and old.secret.lower() not in text and "otpauth" not in text


def _window(totp: pyotp.TOTP) -> list[int]:
    """Unix times of the steps around now that a login accepts (now - 1, now, now + 1)."""
    now = int(service.clock())
    return [now - totp.interval, now, now + totp.interval]


async def test_second_factor_reset_enrols_an_account_without_one(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin
) -> None:
    bob = await _staff(clean, "bob@den-haag.example")
    assert (await _login(client, "bob@den-haag.example")).status_code == 200  # no code needed yet
    response = await client.post(f"{BASE}/den-haag/staff/{bob}/second-factor", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert (await _login(client, "bob@den-haag.example")).status_code == 401  # now a code is needed
    code = pyotp.parse_uri(response.json()["otpauth_uri"]).now()
    assert (await _login(client, "bob@den-haag.example", totp=code)).status_code == 200
    listed = (await client.get(f"{BASE}/den-haag/staff", headers=admin.headers)).json()["staff"]
    assert {s["email"]: s["second_factor"] for s in listed} == {ADMIN: False, "bob@den-haag.example": True}


# --- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["list", "add", "disable", "second-factor"])
async def test_only_admins_of_the_municipality_may_manage_its_staff(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin, amsterdam: str, endpoint: str
) -> None:
    target = await _staff(clean, "target@den-haag.example")
    theirs = await _staff(clean, "theirs@amsterdam.example", municipality="amsterdam")
    await _staff(clean, "amsterdam.admin@amsterdam.example", role="admin", municipality="amsterdam")
    amsterdam_admin = await login_headers(client, "amsterdam.admin@amsterdam.example")
    await _staff(clean, "analyst@den-haag.example")
    await _staff(clean, "moderator@den-haag.example", role="moderator")
    analyst = await login_headers(client, "analyst@den-haag.example")
    moderator = await login_headers(client, "moderator@den-haag.example")

    def call(headers: dict[str, str], slug: str = "den-haag", staff_id: uuid.UUID | str = target) -> Any:
        if endpoint == "list":
            return client.get(f"{BASE}/{slug}/staff", headers=headers)
        if endpoint == "add":
            return client.post(
                f"{BASE}/{slug}/staff", json={"email": "new@den-haag.example", "role": "admin"}, headers=headers
            )
        return client.post(f"{BASE}/{slug}/staff/{staff_id}/{endpoint}", headers=headers)

    unknown_slug = await client.get("/v1/municipalities/nowhere/coverage")
    assert unknown_slug.status_code == 404

    _is_problem(await call({}), 401, "unauthenticated")
    _is_problem(await call({"Authorization": "Bearer forged"}), 401, "unauthenticated")
    for headers in (analyst, moderator):
        _is_problem(await call(headers), 403, "forbidden")
        _is_problem(await call(headers, slug="amsterdam", staff_id=theirs), 404, "not-found")
    # Another municipality answers exactly like one that does not exist.
    for headers, slug in ((amsterdam_admin, "den-haag"), (admin.headers, "amsterdam"), (admin.headers, "nowhere")):
        response = await call(headers, slug=slug, staff_id=target if slug == "den-haag" else theirs)
        _is_problem(response, 404, "not-found")
        assert response.content == unknown_slug.content, (slug, response.text)

    if endpoint in ("disable", "second-factor"):
        # An account of another municipality is not found, just like an id nobody has.
        foreign = await call(admin.headers, staff_id=theirs)
        nobody = await call(admin.headers, staff_id=uuid.uuid4())
        _is_problem(foreign, 404, "not-found")
        assert foreign.content == nobody.content
        assert (await call(admin.headers, staff_id="not-a-uuid")).status_code == 404

    # Nothing changed and nothing was audited.
    for staff_id in (target, theirs):
        account = await _account(clean, staff_id)
        assert account["disabled"] is False and account["totp_sealed"] is None
    async with clean.acquire() as conn:
        assert await conn.fetchval("select count(*) from staff where email = 'new@den-haag.example'") == 0
    assert await _audit(clean) == []

    # The municipality's own admin may.
    assert (await call(admin.headers)).status_code in (200, 201)
    assert len(await _audit(clean)) == 1


# --- changing one's password ----------------------------------------------------------------


async def test_changing_ones_password_keeps_this_session_and_ends_the_others(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    ana = await _staff(clean, "ana@den-haag.example")
    this = await login_headers(client, "ana@den-haag.example")
    other = await login_headers(client, "ana@den-haag.example")
    url = "/v1/staff/me/password"

    _is_problem(await client.post(url, json={"current": STAFF_PASSWORD, "new": NEW_PASSWORD}), 401, "unauthenticated")
    wrong = await client.post(url, json={"current": "not my password", "new": NEW_PASSWORD}, headers=this)
    _is_problem(wrong, 403, "wrong-password")
    weak = await client.post(url, json={"current": STAFF_PASSWORD, "new": "too short"}, headers=this)
    _is_problem(weak, 400, "invalid-request")
    assert weak.json()["detail"] == "the password must have at least 12 characters"
    for body in ({"current": STAFF_PASSWORD}, {"current": STAFF_PASSWORD, "new": NEW_PASSWORD, "x": 1}):
        _is_problem(await client.post(url, json=body, headers=this), 400, "invalid-request")
    # Nothing changed so far.
    assert (await client.get("/v1/staff/me", headers=other)).status_code == 200
    assert (await _login(client, "ana@den-haag.example")).status_code == 200

    response = await client.post(url, json={"current": STAFF_PASSWORD, "new": NEW_PASSWORD}, headers=this)
    assert response.status_code == 204, response.text
    assert response.headers["cache-control"] == "no-store" and response.content == b""
    assert (await client.get("/v1/staff/me", headers=this)).status_code == 200
    _is_problem(await client.get("/v1/staff/me", headers=other), 401, "unauthenticated")
    assert (await _account(clean, ana))["sessions"] == 1
    assert (await _login(client, "ana@den-haag.example")).status_code == 401
    assert (await _login(client, "ana@den-haag.example", NEW_PASSWORD)).status_code == 200

    assert [a[3:] for a in await _audit(clean, "staff.password")] == [
        ("staff.password-failed", "den-haag", "password"),
        ("staff.password-change", "den-haag", None),
    ]
    assert all(a[:3] == (ana, "ana@den-haag.example", "den-haag") for a in await _audit(clean, "staff.password"))
    text = await _audit_text(clean)
    for secret in (STAFF_PASSWORD, NEW_PASSWORD, "not my password", "too short"):
        assert secret not in text


async def test_the_session_cookie_may_change_the_password_too(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    await _staff(clean, "ana@den-haag.example")
    token = (await _login(client, "ana@den-haag.example")).json()["token"]
    cookie = {"Cookie": f"straatstem_session={token}"}
    response = await client.post(
        "/v1/staff/me/password", json={"current": STAFF_PASSWORD, "new": NEW_PASSWORD}, headers=cookie
    )
    assert response.status_code == 204, response.text
    assert (await client.get("/v1/staff/me", headers=cookie)).status_code == 200


async def test_wrong_current_passwords_count_towards_the_login_lock(
    client: httpx.AsyncClient, clean: asyncpg.Pool, hague: list[int]
) -> None:
    await _staff(clean, "ana@den-haag.example")
    headers = await login_headers(client, "ana@den-haag.example")
    url = "/v1/staff/me/password"
    for attempt in range(service.LOCK_THRESHOLD):
        response = await client.post(
            url, json={"current": f"guess number {attempt}", "new": NEW_PASSWORD}, headers=headers
        )
        _is_problem(response, 403, "wrong-password")
    assert int(response.headers["retry-after"]) >= service.LOCK_BASE_SECONDS - 2  # the last guess locked
    # Locked: even the right password is not checked, here or at login.
    locked = await client.post(url, json={"current": STAFF_PASSWORD, "new": NEW_PASSWORD}, headers=headers)
    _is_problem(locked, 429, "rate-limited")
    assert int(locked.headers["retry-after"]) > 0
    login = await _login(client, "ana@den-haag.example")
    assert login.status_code == 401 and "retry-after" in login.headers
    assert (await _login(client, "ana@den-haag.example", NEW_PASSWORD)).status_code == 401
    details = [a[5] for a in await _audit(clean, "staff.password")]
    assert details == ["password"] * service.LOCK_THRESHOLD + ["locked"]


# --- the audit log as admins read it ----------------------------------------------------------


async def test_every_admin_action_is_in_the_audit_log_without_secrets(
    client: httpx.AsyncClient, clean: asyncpg.Pool, admin: Admin
) -> None:
    added = await client.post(
        f"{BASE}/den-haag/staff", json={"email": "new@den-haag.example", "role": "analyst"}, headers=admin.headers
    )
    new_id = added.json()["id"]
    reset = await client.post(f"{BASE}/den-haag/staff/{new_id}/second-factor", headers=admin.headers)
    disabled = await client.post(f"{BASE}/den-haag/staff/{new_id}/disable", headers=admin.headers)
    listed = await client.get(f"{BASE}/den-haag/staff", headers=admin.headers)
    changed = await client.post(
        "/v1/staff/me/password", json={"current": STAFF_PASSWORD, "new": NEW_PASSWORD}, headers=admin.headers
    )
    assert [r.status_code for r in (added, reset, disabled, listed, changed)] == [201, 200, 200, 200, 204]

    page = await client.get("/v1/staff/audit", params={"municipality": "den-haag"}, headers=admin.headers)
    assert page.status_code == 200
    entries = [e for e in page.json()["entries"] if e["action"] not in ("staff.login", "audit.read")]
    assert [(e["staff"], e["staff_municipality"], e["action"], e["detail"]) for e in reversed(entries)] == [
        (ADMIN, "den-haag", "staff.add", "new@den-haag.example as analyst"),
        (ADMIN, "den-haag", "staff.totp-reset", "new@den-haag.example"),
        (ADMIN, "den-haag", "staff.disable", "new@den-haag.example (analyst)"),
        (ADMIN, "den-haag", "staff.list", None),
        (ADMIN, "den-haag", "staff.password-change", None),
    ]
    text = await _audit_text(clean)
    secret = parse_qs(urlsplit(reset.json()["otpauth_uri"]).query)["secret"][0]
    for value in (added.json()["initial_password"], secret, STAFF_PASSWORD, NEW_PASSWORD, "otpauth"):
        assert value.lower() not in text, value
