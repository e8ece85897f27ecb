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


@pytest.mark.parametrize("payload", [[1, 2], {"algorithm": "SHA-1"}, {"algorithm": "SHA-256", "challenge": 1}])
def test_wrong_shapes_are_refused(payload: object) -> None:
    with pytest.raises(pow.PowError):
        pow.verify(KEY, base64.b64encode(json.dumps(payload).encode()).decode())
