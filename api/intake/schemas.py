"""Wire types of the intake API (v1). Unknown fields are errors, so a client that sends
something we never want (a device id, a timestamp) finds out at once."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

Category = Literal["verbal", "nonverbal", "following", "physical", "exposure", "filming", "threat", "other"]
Role = Literal["victim", "witness"]
Band = Literal["night", "morning", "afternoon", "evening"]
Language = Literal["nl", "en"]
CellHex = Annotated[
    str,
    Meta(
        min_length=15, max_length=16, pattern="^[0-9a-fA-F]+$", description="H3 cell at resolution 9, as a hex string"
    ),
]


class ReportIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    submission_id: Annotated[uuid.UUID, Meta(description="Random UUID made by the client; retries reuse it")]
    receipt: Annotated[
        str,
        Meta(min_length=26, max_length=128, description="Client-made secret, >= 128 bits, hex or base32; sent once"),
    ]
    category: Category
    role: Role
    band: Band
    language: Language
    cell: CellHex | None = None
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    lng: Annotated[float, Meta(ge=-180, le=180)] | None = None
    felt_safety: Annotated[int, Meta(ge=1, le=5)] | None = None
    description: Annotated[str, Meta(max_length=1000)] | None = None


class ReportOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    municipality: str
    cell: str
    month: str


class ReportStatus(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    municipality: str
    cell: str
    month: str
    category: Category
    role: Role
    band: Band
    felt_safety: int | None
    has_description: bool
    status: Literal["received"]


class ChallengeOut(msgspec.Struct, kw_only=True):
    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str
