"""Proof-of-work in the ALTCHA format (v1: SHA-256, HMAC-signed, expiring challenges).

Issuing a challenge costs the server one HMAC; verifying a solution costs one SHA-256 and one
HMAC. The client pays on average `max_number / 2` hashes. The cryptography is the `altcha`
package's; this module fixes the parameters and turns results into typed errors.

Invariants (tests/privacy/test_pow.py):
- `verify` accepts only payloads whose challenge was signed with our key, whose number solves
  it, and whose expiry (inside the signed salt) has not passed.
- `replay_key` is the same for every encoding of one solved challenge, so a replay cache
  keyed by it refuses a second use, and it reveals nothing about the payload without the key.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import msgspec
from altcha import v1 as altcha_v1

ALGORITHM: Final = "SHA-256"
MAX_PAYLOAD_CHARS = 2048


class PowError(ValueError):
    """A proof-of-work payload that is malformed, forged, wrong or expired."""


@dataclass(frozen=True, slots=True)
class Challenge:
    algorithm: str
    challenge: str
    max_number: int
    salt: str
    signature: str
    expires: int  # unix seconds, also signed inside the salt

    @classmethod
    def from_wire(cls, fields: Mapping[str, Any]) -> Challenge:
        """A challenge as GET /v1/challenge sends it (ALTCHA's `maxnumber`; the expiry
        travels inside the salt), for clients and tests that solve it."""
        return cls(
            algorithm=str(fields["algorithm"]),
            challenge=str(fields["challenge"]),
            max_number=int(fields["maxnumber"]),
            salt=str(fields["salt"]),
            signature=str(fields["signature"]),
            expires=_expiry(str(fields["salt"])) or 0,
        )


@dataclass(frozen=True, slots=True)
class VerifiedPow:
    replay_key: bytes  # HMAC of the challenge: what the replay cache stores
    expires: int  # unix seconds; the replay entry can be dropped after this


def create_challenge(
    key: bytes,
    max_number: int,
    ttl_seconds: int,
    now: float | None = None,
    *,
    number: int | None = None,
    nonce: str | None = None,
) -> Challenge:
    """A fresh signed challenge expiring `ttl_seconds` from `now`. `number` and `nonce` fix
    the secret number and the salt's random part, for test vectors and benchmarks only."""
    if max_number < 1:
        raise ValueError("max_number must be positive")
    current = time.time() if now is None else now
    expires = int(current) + ttl_seconds
    made = altcha_v1.create_challenge(
        algorithm=ALGORITHM,
        max_number=max_number,
        salt_length=12,
        hmac_key=key,
        salt=nonce or "",
        number=number,
        expires=dt.datetime.fromtimestamp(expires, tz=dt.UTC),
        params=None,
    )
    return Challenge(
        algorithm=made.algorithm,
        challenge=made.challenge,
        max_number=made.max_number,
        salt=made.salt,
        signature=made.signature,
        expires=expires,
    )


def encode_payload(challenge: Challenge, number: int) -> str:
    """The base64 `X-Altcha` header value claiming `number` solves `challenge`."""
    payload = {
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "number": number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    }
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def solve(challenge: Challenge) -> str:
    """Solve a challenge as a client would and return the base64 `X-Altcha` payload."""
    solution = altcha_v1.solve_challenge(challenge.challenge, challenge.salt, ALGORITHM, challenge.max_number, 0)
    if solution is None:
        raise PowError("no solution within max_number")
    return encode_payload(challenge, solution.number)


class _Payload(msgspec.Struct):
    """The fields of an ALTCHA solution payload this server reads; others are ignored."""

    algorithm: str
    challenge: str
    number: int
    salt: str
    signature: str


_decode_payload = msgspec.json.Decoder(_Payload).decode


def verify(key: bytes, payload_b64: str, now: float | None = None, previous: Sequence[bytes] = ()) -> VerifiedPow:
    """Check a base64 ALTCHA payload; raise PowError with a client-actionable reason.

    Invariant: a payload passes only if its signature was made with `key` or one of the
    `previous` keys (a rotation in progress); the replay key is bound to the key that signed
    it, so a challenge has exactly one replay key whichever replica verifies it."""
    if not payload_b64 or len(payload_b64) > MAX_PAYLOAD_CHARS:
        raise PowError("X-Altcha must hold a base64 ALTCHA payload")
    try:
        decoded = _decode_payload(base64.b64decode(payload_b64, validate=True))
    except msgspec.ValidationError as exc:
        raise PowError(_shape_error(str(exc))) from None
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise PowError("X-Altcha is not base64-encoded JSON") from None
    if decoded.algorithm != ALGORITHM:
        raise PowError(f"X-Altcha algorithm must be {ALGORITHM}")
    expires = _expiry(decoded.salt)
    current = time.time() if now is None else now
    if expires is None:
        raise PowError("X-Altcha challenge carries no expiry; fetch a new challenge")
    fields = cast(altcha_v1.PayloadType, msgspec.structs.asdict(decoded))
    for signer in (key, *previous):
        if altcha_v1.verify_solution(fields, signer, check_expires=False)[0]:
            break
    else:
        raise PowError("X-Altcha solution is invalid or was not issued by this server")
    if expires < current:
        raise PowError("X-Altcha challenge has expired; fetch a new challenge")
    return VerifiedPow(replay_key=replay_key(signer, decoded.challenge), expires=expires)


def _shape_error(reason: str) -> str:
    """The message for a payload that is JSON but not an ALTCHA payload: msgspec names the
    field at fault in backticks (`number`, or its path `$.number`)."""
    for name in _Payload.__struct_fields__:
        if f"`{name}`" in reason or f"$.{name}`" in reason:
            return f"X-Altcha payload field '{name}' is missing or of the wrong type"
    return "X-Altcha payload must be a JSON object"


def replay_key(key: bytes, challenge: str) -> bytes:
    """Keyed digest identifying a solved challenge in the replay cache."""
    return hmac.new(key, b"straatstem/pow-replay/v1\x00" + challenge.encode(), hashlib.sha256).digest()[:16]


def _expiry(salt: str) -> int | None:
    _, _, query = salt.partition("?")
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "expires" and value.isdigit():
            return int(value)
    return None
