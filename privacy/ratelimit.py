"""Rate-limit pseudonyms: count submissions per network origin without keeping the origin.

The pseudonym is HMAC-SHA-256(daily key, network prefix): the full IPv4 address (/32) or the
IPv6 /64 (one household or phone typically holds a whole /64, so counting per address would be
trivially evaded). The daily key is random, lives only in PostgreSQL's shared table and is
destroyed after its day, after which no pseudonym can be linked to an address by anyone.

The per-cell counter uses a separate token HMAC(daily key, prefix || cell), so the counter
table never pairs a pseudonym with a cell in the clear: linking an address to a cell needs
the day's key *and* the address, and becomes impossible once the key is gone.

Invariants (tests/privacy/test_ratelimit.py): the same prefix gives the same pseudonym under
one key; different keys give unrelated pseudonyms; all addresses of one IPv6 /64 collide; the
output never contains the address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

PSEUDONYM_BYTES = 16


def network_prefix(address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    """The packed /32 (IPv4) or /64 (IPv6) prefix of an address (text or parsed). IPv4-mapped
    IPv6 counts as IPv4. Raises ValueError for anything that is not an IP address."""
    ip = ipaddress.ip_address(address.strip()) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return b"4" + ip.packed
    return b"6" + ip.packed[:8]


def pseudonym(daily_key: bytes, prefix: bytes) -> bytes:
    """Keyed pseudonym of a network prefix (from `network_prefix`) for one day."""
    return _mac(daily_key, b"day\x00" + prefix)


def cell_token(daily_key: bytes, prefix: bytes, cell: int) -> bytes:
    """Keyed token for (network prefix, cell) for one day."""
    return _mac(daily_key, b"cell\x00" + prefix + cell.to_bytes(8, "big"))


def _mac(key: bytes, message: bytes) -> bytes:
    if len(key) < 32:
        raise ValueError("daily key must be at least 32 bytes")
    return hmac.new(key, b"straatstem/rate/v1\x00" + message, hashlib.sha256).digest()[:PSEUDONYM_BYTES]
