"""Receipts: the reporter's only handle on their report.

The client generates a random secret of at least 128 bits and sends it once. The server keeps
HMAC-SHA-256(server key, canonical secret bytes). With that much entropy a slow hash adds
nothing but cost per report (and a denial-of-service lever), so a keyed fast hash is the
right tool; without the server key a stolen table cannot even be used to test guesses.

Invariants (tests/privacy/test_receipts.py):
- `parse_receipt` accepts exactly the secrets with >= 128 bits, hex or RFC 4648 base32,
  case-insensitive, and maps both spellings of the same bytes to the same canonical bytes.
- `verify_receipt` is constant-time in the comparison and true only for the hashed secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

MIN_RECEIPT_BITS = 128
MAX_RECEIPT_CHARS = 128
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")  # ASCII hex digits only, whole bytes


class ReceiptError(ValueError):
    """A receipt that is malformed or too short. The message never contains the receipt."""


def parse_receipt(text: str) -> bytes:
    """Canonical bytes of a receipt given as hex (32+ chars) or base32 (26+ chars).

    Hex is tried first when every character is a hex digit; otherwise base32 (padding and
    dashes/spaces for readability are ignored).
    """
    if not isinstance(text, str):
        raise ReceiptError("receipt must be a string")
    cleaned = text.strip().replace("-", "").replace(" ", "").rstrip("=")
    if not cleaned or len(cleaned) > MAX_RECEIPT_CHARS:
        raise ReceiptError(f"receipt must be 1-{MAX_RECEIPT_CHARS} characters of hex or base32")
    raw: bytes | None = None
    if _HEX.fullmatch(cleaned):
        raw = bytes.fromhex(cleaned)
    else:
        upper = cleaned.upper()
        padded = upper + "=" * (-len(upper) % 8)
        try:
            raw = base64.b32decode(padded)
        except (binascii.Error, ValueError):
            raise ReceiptError("receipt must be hex or RFC 4648 base32") from None
        # Base32 may carry a few bits beyond the last full byte; count what was written.
        if len(cleaned) * 5 < MIN_RECEIPT_BITS:
            raise ReceiptError(f"receipt must carry at least {MIN_RECEIPT_BITS} bits")
    if len(raw) * 8 < MIN_RECEIPT_BITS:
        raise ReceiptError(f"receipt must carry at least {MIN_RECEIPT_BITS} bits")
    if len(set(raw)) == 1:
        raise ReceiptError("receipt must be random, not a repeated byte")
    return raw


def hash_receipt(server_key: bytes, receipt: bytes) -> bytes:
    """HMAC-SHA-256 of canonical receipt bytes under the server's receipt key."""
    if len(server_key) < 32:
        raise ValueError("receipt key must be at least 32 bytes")
    return hmac.new(server_key, b"straatstem/receipt/v1\x00" + receipt, hashlib.sha256).digest()


def verify_receipt(server_key: bytes, receipt: bytes, stored: bytes) -> bool:
    """Whether `receipt` hashes to `stored`, compared in constant time."""
    return hmac.compare_digest(hash_receipt(server_key, receipt), stored)
