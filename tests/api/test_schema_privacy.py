"""The schema itself cannot hold what DESIGN.md section 3 forbids: coordinates, timestamps
finer than a month, IP addresses, user agents, serial ids. Inspects information_schema, so a
future migration that adds such a column fails here until it is justified below."""

from __future__ import annotations

import re

import asyncpg

# Types that could hold a point, a precise time or a network address.
FORBIDDEN_TYPES = {
    "timestamp without time zone",
    "timestamp with time zone",
    "time without time zone",
    "time with time zone",
    "interval",
    "date",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "point",
    "real",
    "double precision",
    "numeric",
    "USER-DEFINED",
    "json",
    "jsonb",
}
FORBIDDEN_NAMES = re.compile(
    r"(^|_)(lat|lng|lon|latitude|longitude|coord|coords|coordinates|geom|geometry|point|ip|ips|"
    r"ip_address|addr|address|remote|user_agent|useragent|ua|device|created|updated|inserted|"
    r"timestamp|ts|time|hour|minute|second|at)($|_)"
)
# Operational columns that must hold a coarse time. None of these tables relates to a report:
# the day's rate-limit key and counters (deleted after the day) and the hour after which a
# spent proof-of-work challenge has expired anyway (deleted after that hour).
JUSTIFIED = {
    ("rate_key", "day"): "date",
    ("rate_counter", "day"): "date",
    ("pow_spent", "expires_hour"): "integer",
    # Staff-only tables (api/migrations/0002_staff.sql); none of them relates to a report.
    # Session expiry: a bearer token must stop working after settings.session_hours.
    ("staff_session", "expires_at"): "timestamp with time zone",
    # Login lockout: when the last failure happened (failures are forgotten a day later) and
    # until when an e-mail key is locked. Keyed by an HMAC of the e-mail, deleted after a quiet day.
    ("staff_login_failure", "last_failure_at"): "timestamp with time zone",
    ("staff_login_failure", "locked_until"): "timestamp with time zone",
    # The 30-second TOTP step of the staff member's last accepted code (replay protection);
    # not caught by the checker, listed because it is a time of staff activity.
    ("staff", "totp_last_step"): "bigint",
    # Audit log: staff accountability needs when each staff read, export or admin action
    # happened, and an identity column gives the log a strict append order for paging.
    ("staff_audit", "at"): "timestamp with time zone",
    ("staff_audit", "id"): "bigint",
}
REPORT_COLUMNS = {
    "municipality",
    "id",
    "cell",
    "month",
    "band",
    "category",
    "role",
    "felt_safety",
    "language",
    "submission_id",
    "submission_mac",
    "receipt_hash",
}


async def _columns(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "select table_name, column_name, data_type, column_default, is_identity "
            "from information_schema.columns where table_schema = 'public'"
        )
    )


async def test_no_column_can_hold_forbidden_data(clean: asyncpg.Pool) -> None:
    async with clean.acquire() as conn:
        columns = await _columns(conn)
    assert columns, "no columns found: is the schema migrated?"
    offenders = []
    seen_justified = set()
    for c in columns:
        key = (c["table_name"], c["column_name"])
        if key in JUSTIFIED:
            assert c["data_type"] == JUSTIFIED[key], key
            seen_justified.add(key)
            continue
        if c["data_type"] in FORBIDDEN_TYPES or FORBIDDEN_NAMES.search(c["column_name"]):
            offenders.append(f"{key[0]}.{key[1]} ({c['data_type']})")
        if c["is_identity"] == "YES" or "nextval(" in (c["column_default"] or ""):
            offenders.append(f"{key[0]}.{key[1]} is a serial id")
    assert not offenders, "columns that could hold forbidden data: " + ", ".join(offenders)
    assert seen_justified == set(JUSTIFIED), "a justified column disappeared: update JUSTIFIED"


async def test_report_rows_hold_exactly_the_designed_fields(clean: asyncpg.Pool) -> None:
    async with clean.acquire() as conn:
        columns = {c["column_name"] for c in await _columns(conn) if c["table_name"] == "report"}
        sequences = await conn.fetchval("select count(*) from information_schema.sequences")
        id_type = await conn.fetchval(
            "select data_type from information_schema.columns where table_name = 'report' and column_name = 'id'"
        )
    assert columns == REPORT_COLUMNS
    assert sequences == 0 and id_type == "uuid"


def test_the_checker_catches_what_it_should() -> None:
    # Guard against a pattern that silently stopped matching.
    for name in ("lat", "client_ip", "user_agent", "created_at", "submitted_ts", "geom", "ip_address"):
        assert FORBIDDEN_NAMES.search(name), name
    for name in ("cell", "month", "band", "receipt_hash", "category", "municipality"):
        assert not FORBIDDEN_NAMES.search(name), name
