from __future__ import annotations

import ipaddress

import pytest

from api.client import client_address

PROXIES = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("198.51.100.1", None, PROXIES, "198.51.100.1"),  # direct client
        ("198.51.100.1", "203.0.113.9", PROXIES, "198.51.100.1"),  # untrusted peer cannot claim another address
        ("127.0.0.1", "203.0.113.9", PROXIES, "203.0.113.9"),
        ("127.0.0.1", "203.0.113.9, 10.1.2.3", PROXIES, "203.0.113.9"),  # skip our own proxy chain
        ("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", PROXIES, "203.0.113.9"),  # spoofed left part ignored
        ("127.0.0.1", "203.0.113.9", (), "127.0.0.1"),  # no trusted proxies configured
        ("127.0.0.1", "10.0.0.1, 10.0.0.2", PROXIES, "10.0.0.1"),
    ],
)
def test_client_address(
    peer: str, forwarded: str | None, trusted: tuple[ipaddress.IPv4Network, ...], expected: str
) -> None:
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    assert client_address({"client": (peer, 1234)}, headers, trusted) == expected
