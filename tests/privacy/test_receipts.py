from __future__ import annotations

import base64
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import receipts

KEY = b"k" * 32
secret_bytes = st.binary(min_size=16, max_size=64).filter(lambda b: len(set(b)) > 1)


@given(secret_bytes)
def test_hex_and_base32_spell_the_same_receipt(raw: bytes) -> None:
    as_hex = raw.hex()
    as_b32 = base64.b32encode(raw).decode().rstrip("=")
    assert receipts.parse_receipt(as_hex) == raw
    assert receipts.parse_receipt(as_hex.upper()) == raw
    if not all(c in "0123456789ABCDEF" for c in as_b32) or len(as_b32) % 2:
        assert receipts.parse_receipt(as_b32.lower()) == raw


@given(st.binary(min_size=1, max_size=15))
def test_short_receipts_are_refused(raw: bytes) -> None:
    with pytest.raises(receipts.ReceiptError, match="128 bits"):
        receipts.parse_receipt(raw.hex())


@given(secret_bytes, secret_bytes)
def test_verify_only_the_hashed_receipt(a: bytes, b: bytes) -> None:
    stored = receipts.hash_receipt(KEY, a)
    assert receipts.verify_receipt(KEY, a, stored)
    assert receipts.verify_receipt(KEY, b, stored) == (a == b)
    assert not receipts.verify_receipt(b"x" * 32, a, stored)
    assert a not in stored and len(stored) == 32


@given(st.text(max_size=200))
def test_parse_never_echoes_the_input(text: str) -> None:
    try:
        receipts.parse_receipt(text)
    except receipts.ReceiptError as exc:
        if len(text.strip()) >= 8:
            assert text.strip() not in str(exc)


def test_repeated_bytes_are_not_a_receipt() -> None:
    with pytest.raises(receipts.ReceiptError, match="random"):
        receipts.parse_receipt("00" * 16)
    assert receipts.parse_receipt(secrets.token_hex(16))


@given(st.text(alphabet="0123456789abcdefABCDEFgxz٣", min_size=1, max_size=70))
def test_text_is_read_as_hex_exactly_when_it_is_whole_bytes_of_ascii_hex_digits(text: str) -> None:
    """The documented rule, against a plain restatement of it: otherwise it is read as base32."""
    as_hex = all(c in "0123456789abcdefABCDEF" for c in text) and len(text) % 2 == 0
    try:
        raw = receipts.parse_receipt(text)
    except receipts.ReceiptError:
        return
    if as_hex:
        assert raw == bytes.fromhex(text)
    else:
        assert raw == base64.b32decode(text.upper() + "=" * (-len(text) % 8))
