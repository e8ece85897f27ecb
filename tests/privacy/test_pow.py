from __future__ import annotations

import base64
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import pow

KEY = b"s" * 32


def _payload(encoded: str) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(base64.b64decode(encoded))
    return decoded


def _encode(payload: dict[str, object]) -> str:
    return base64.b64encode(json.dumps(payload).encode()).decode()


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1_000, max_value=5_000))
def test_solved_challenge_verifies_once_keyed(max_number: int) -> None:
    challenge = pow.create_challenge(KEY, max_number, 600)
    encoded = pow.solve(challenge)
    verified = pow.verify(KEY, encoded)
    assert verified.expires == challenge.expires
    # Re-encoding the same solution (key order, whitespace) maps to the same replay key.
    p = _payload(encoded)
    again = base64.b64encode(json.dumps(dict(reversed(list(p.items()))), indent=1).encode()).decode()
    assert pow.verify(KEY, again).replay_key == verified.replay_key
    with pytest.raises(pow.PowError, match="not issued by this server"):
        pow.verify(b"t" * 32, encoded)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=10_000))
def test_wrong_numbers_are_refused(delta: int) -> None:
    challenge = pow.create_challenge(KEY, 1_000, 600)
    p = _payload(pow.solve(challenge))
    p["number"] = int(str(p["number"])) + delta
    with pytest.raises(pow.PowError):
        pow.verify(KEY, _encode(p))


def test_expired_challenges_are_refused() -> None:
    challenge = pow.create_challenge(KEY, 1_000, 60, now=time.time() - 120)
    with pytest.raises(pow.PowError, match="expired"):
        pow.verify(KEY, pow.solve(challenge))


def test_extending_the_expiry_breaks_the_signature() -> None:
    challenge = pow.create_challenge(KEY, 1_000, 60, now=time.time() - 120)
    p = _payload(pow.solve(challenge))
    p["salt"] = str(p["salt"]).replace(f"expires={challenge.expires}", f"expires={challenge.expires + 10_000}")
    with pytest.raises(pow.PowError, match="invalid"):
        pow.verify(KEY, _encode(p))


@given(st.text(max_size=300))
def test_garbage_headers_are_refused_cleanly(text: str) -> None:
    with pytest.raises(pow.PowError):
        pow.verify(KEY, text)


SOLVED = {"algorithm": "SHA-256", "challenge": "c", "number": 1, "salt": "s?expires=1", "signature": "x"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "must be a JSON object"),
        ("text", "must be a JSON object"),
        ({"algorithm": "SHA-1"}, "field 'challenge' is missing"),  # the first missing field is named
        ({**SOLVED, "challenge": 1}, "field 'challenge' is missing or of the wrong type"),
        ({**SOLVED, "number": True}, "field 'number' is missing or of the wrong type"),
        ({**SOLVED, "number": 1.0}, "field 'number' is missing or of the wrong type"),
        ({k: v for k, v in SOLVED.items() if k != "signature"}, "field 'signature' is missing"),
        ({**SOLVED, "algorithm": "SHA-1"}, "algorithm must be SHA-256"),
        ({**SOLVED, "salt": "s"}, "carries no expiry"),
    ],
)
def test_wrong_shapes_are_refused_naming_the_fault(payload: object, message: str) -> None:
    with pytest.raises(pow.PowError, match=message):
        pow.verify(KEY, base64.b64encode(json.dumps(payload).encode()).decode())


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe{}", '{"algorithm": "\udc80"}'.encode("utf-8", "surrogatepass")])
def test_payloads_that_are_not_json_are_refused(raw: bytes) -> None:
    with pytest.raises(pow.PowError, match="not base64-encoded JSON"):
        pow.verify(KEY, base64.b64encode(raw).decode())
