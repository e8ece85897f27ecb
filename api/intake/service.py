"""Intake service: turns a decoded request into a stored report, or a Problem.

Order of checks: cheap, stateless validation first (shape, cell, receipt, proof-of-work
signature and expiry), then one database call that does idempotency, coverage, replay and
rate caps atomically. Coordinates, receipts and the client address exist only in local
variables of `submit` and are never logged, stored or put in an error message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass, field

import asyncpg
import msgspec

from api import db
from api.client import Address
from api.errors import Problem, nul_in_text
from api.intake import repository as repo
from api.intake.batcher import SUBMIT_DEADLINE, SubmitBatcher
from api.intake.schemas import ChallengeOut, ReportIn, ReportOut, ReportStatus
from api.settings import Settings
from privacy import coarsen, location, pii, pow, ratelimit, receipts

AMSTERDAM = coarsen.AMSTERDAM


@dataclass
class IntakeKeys:
    receipt: bytes
    pow: bytes
    fingerprint: bytes
    pow_previous: tuple[bytes, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeKeys:
        pow_key, pow_previous = settings.pow_keys()
        return cls(
            receipt=settings.derived_key("receipt"),
            pow=pow_key,
            fingerprint=settings.derived_key("submission-fingerprint"),
            pow_previous=pow_previous,
        )


@dataclass
class DailyKeyCache:
    """The day's rate-limit key, cached in memory for the day; PostgreSQL is the source of
    truth so every replica uses the same key."""

    day: dt.date | None = None
    key: bytes = field(default=b"", repr=False)

    def forget_unless(self, today: dt.date) -> None:
        """Drop a cached key of an earlier day from memory (the database copy is deleted by
        retention); called by the scheduler so an idle worker does not keep yesterday's key."""
        if self.day is not None and self.day != today:
            self.day, self.key = None, b""

    async def get(self, pool: asyncpg.Pool, today: dt.date) -> bytes:
        if self.day != today:
            # The first submission of a process or a day: bounded like the batch itself, so a
            # hung database is a 503 within the deadline here too.
            async with db.within(pool, SUBMIT_DEADLINE) as conn:
                self.key = await repo.rate_key(conn, today, secrets.token_bytes(32))
            self.day = today
        return self.key


class IntakeService:
    def __init__(self, settings: Settings, pool: asyncpg.Pool) -> None:
        self.settings = settings
        self.pool = pool
        self.keys = IntakeKeys.from_settings(settings)
        self.daily = DailyKeyCache()
        self.batcher = SubmitBatcher(pool)

    def challenge(self) -> ChallengeOut:
        made = pow.create_challenge(self.keys.pow, self.settings.pow_max_number, self.settings.pow_ttl_seconds)
        return ChallengeOut(
            algorithm=made.algorithm,
            challenge=made.challenge,
            maxnumber=made.max_number,
            salt=made.salt,
            signature=made.signature,
        )

    def resolve_cell(self, data: ReportIn) -> int:
        has_point = data.lat is not None or data.lng is not None
        if data.cell is not None and has_point:
            raise Problem(400, "invalid-location", "Invalid location", "send either cell or lat/lng, not both")
        if data.cell is not None:
            try:
                return location.parse_cell(data.cell)
            except location.CellError as exc:
                raise Problem(400, "invalid-cell", "Invalid cell", str(exc)) from None
        if not has_point:
            raise Problem(
                400, "invalid-location", "Invalid location", "cell (an H3 resolution-9 hex string) is required"
            )
        if not self.settings.accept_coordinates:
            raise Problem(
                400,
                "coordinates-not-accepted",
                "Coordinates not accepted",
                "this deployment accepts only an H3 resolution-9 cell computed on the device; "
                "send cell instead of lat/lng",
            )
        if data.lat is None or data.lng is None:
            raise Problem(400, "invalid-location", "Invalid location", "lat and lng must be sent together")
        try:
            return location.snap(data.lat, data.lng)
        except location.CoordinateError as exc:
            raise Problem(400, "invalid-location", "Invalid location", str(exc)) from None

    def fingerprint(self, data: ReportIn, cell: int, receipt: bytes) -> bytes:
        """Keyed digest of everything the client sent (after snapping), so an identical retry
        can be told from a different body reusing an id, without storing the body."""
        canonical = msgspec.json.encode(
            [
                str(data.submission_id),
                receipt.hex(),
                cell,
                data.category,
                data.role,
                data.band,
                data.language,
                data.felt_safety,
                data.description,
            ]
        )
        return hmac.new(self.keys.fingerprint, canonical, hashlib.sha256).digest()

    async def submit(self, data: ReportIn, altcha_header: str | None, client: Address | None) -> tuple[bool, ReportOut]:
        cell = self.resolve_cell(data)
        try:
            receipt = receipts.parse_receipt(data.receipt)
        except receipts.ReceiptError as exc:
            raise Problem(400, "invalid-receipt", "Invalid receipt", str(exc)) from None
        if not altcha_header:
            raise Problem(
                400,
                "proof-of-work-required",
                "Proof of work required",
                "send the solved challenge from GET /v1/challenge in the X-Altcha header",
            )
        try:
            solved = pow.verify(self.keys.pow, altcha_header, previous=self.keys.pow_previous)
        except pow.PowError as exc:
            raise Problem(400, "invalid-proof-of-work", "Invalid proof of work", str(exc)) from None
        body: str | None = None
        removed: list[str] = []
        if data.description is not None:
            if "\x00" in data.description:
                # Refused here, not by PostgreSQL: reports are stored in batches, and a statement
                # that fails fails every report of its batch.
                raise nul_in_text()
            scrubbed = pii.scrub(data.description)
            # Scrubbing normalises (NFKC) and may leave only whitespace or invisible characters.
            text = scrubbed.text.strip()
            if any(unicodedata.category(c)[0] not in "CZ" for c in text):
                body = text[:1000]
                removed = sorted(kind.value for kind in scrubbed.found)
        # No usable client address (e.g. a Unix socket): one shared bucket.
        prefix = b"none" if client is None else ratelimit.network_prefix(client)
        now = dt.datetime.now(AMSTERDAM)
        today = now.date()
        daily_key = await self.daily.get(self.pool, today)
        submission = repo.Submission(
            cell=cell,
            month=coarsen.month_of(now),
            band=data.band,
            category=data.category,
            role=data.role,
            felt_safety=data.felt_safety,
            language=data.language,
            submission_id=data.submission_id,
            submission_mac=self.fingerprint(data, cell, receipt),
            receipt_hash=receipts.hash_receipt(self.keys.receipt, receipt),
            body=body,
            pii_removed=removed,
            pow_key=solved.replay_key,
            pow_expires_hour=math.ceil(solved.expires / 3600),
            day=today,
            cell_token=ratelimit.cell_token(daily_key, prefix, cell),
            cell_cap=self.settings.rate_limit_per_cell,
            day_token=ratelimit.pseudonym(daily_key, prefix),
            day_cap=self.settings.rate_limit_per_day,
        )
        try:
            stored = await self.batcher.submit(submission)
        except repo.Refused as refused:
            raise _refusal(refused.reason, now) from None
        return stored.created, ReportOut(
            id=stored.id, municipality=stored.municipality, cell=location.cell_hex(stored.cell), month=stored.month
        )

    async def status(self, report_id: uuid.UUID, authorization: str | None) -> ReportStatus:
        receipt_hash = self._receipt_hash(authorization)
        # Bounded like a submission: a hung database is a 503 within the deadline, not a wait
        # of command_timeout and then of asyncpg's cancel request.
        async with db.within(self.pool, SUBMIT_DEADLINE) as conn:
            row = await repo.get_report(conn, report_id)
        if row is None or not hmac.compare_digest(row["receipt_hash"], receipt_hash):
            raise _not_found()
        return ReportStatus(
            id=row["id"],
            municipality=row["municipality"],
            cell=location.cell_hex(row["cell"]),
            month=row["month"],
            category=row["category"],
            role=row["role"],
            band=row["band"],
            felt_safety=row["felt_safety"],
            has_description=row["has_description"],
            status="received",
        )

    async def withdraw(self, report_id: uuid.UUID, authorization: str | None) -> None:
        receipt_hash = self._receipt_hash(authorization)
        async with db.within(self.pool, SUBMIT_DEADLINE) as conn:
            deleted = await repo.delete_report(conn, report_id, receipt_hash)
        if not deleted:
            raise _not_found()

    def _receipt_hash(self, authorization: str | None) -> bytes:
        if not authorization:
            raise Problem(
                401,
                "receipt-required",
                "Receipt required",
                "send the report's receipt as 'Authorization: Receipt <secret>'",
                headers={"WWW-Authenticate": "Receipt"},
            )
        scheme, _, secret = authorization.strip().partition(" ")
        try:
            if scheme.lower() != "receipt":
                raise receipts.ReceiptError("wrong scheme")
            raw = receipts.parse_receipt(secret)
        except receipts.ReceiptError:
            # Hash something anyway so a malformed receipt costs the same as a wrong one.
            raw = b"\x00" * 16
            receipts.hash_receipt(self.keys.receipt, raw)
            raise _not_found() from None
        return receipts.hash_receipt(self.keys.receipt, raw)


def _not_found() -> Problem:
    return Problem(404, "not-found", "Not found", "no report with this id and receipt")


def _seconds_to_midnight(now: dt.datetime) -> int:
    tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=AMSTERDAM)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


def _refusal(reason: str, now: dt.datetime) -> Problem:
    if reason == "conflict":
        return Problem(
            409,
            "submission-conflict",
            "Submission id already used",
            "this submission_id was used for a different report; generate a new id for a new report",
        )
    if reason == "withdrawn":
        return Problem(
            410,
            "submission-withdrawn",
            "Report withdrawn",
            "the report with this submission_id was withdrawn; drop it from the queue",
        )
    if reason == "outside":
        return Problem(
            422,
            "outside-coverage",
            "Outside coverage",
            "the cell lies outside every municipality served here; see GET /v1/municipalities",
        )
    if reason == "replay":
        return Problem(
            400,
            "proof-of-work-replayed",
            "Proof of work already used",
            "each solved challenge can be used once; fetch a new one from GET /v1/challenge",
        )
    if reason == "retry":
        return Problem(
            503,
            "unavailable",
            "Service busy",
            "the submission collided with a concurrent one; retry with the same submission_id",
            headers={"Retry-After": "1"},
        )
    retry = str(_seconds_to_midnight(now))
    if reason == "rate_cell":
        return Problem(
            429,
            "rate-limited",
            "Too many reports for this place today",
            "one report per place per day from one network; try again tomorrow",
            headers={"Retry-After": retry},
        )
    if reason == "rate_day":
        return Problem(
            429,
            "rate-limited",
            "Too many reports today",
            "the daily number of reports from one network is reached; try again tomorrow",
            headers={"Retry-After": retry},
        )
    raise AssertionError(f"unknown refusal {reason}")


def hour_now() -> int:
    return int(time.time() // 3600)
