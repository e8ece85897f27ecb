from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api import client
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
    assert str(client_address({"client": (peer, 1234)}, headers, trusted)) == expected


@pytest.mark.parametrize(
    ("peer", "forwarded"),
    [
        ("testclient", None),  # not an IP address (an in-process test client, a Unix socket)
        ("", None),
        ("127.0.0.1", "not-an-address"),  # the proxy forwarded garbage: it is the client's claim
        ("127.0.0.1", "10.0.0.1, garbage, 10.0.0.2"),
    ],
)
def test_no_usable_address_is_none(peer: str, forwarded: str | None) -> None:
    headers = {"x-forwarded-for": forwarded} if forwarded is not None else {}
    assert client_address({"client": (peer, 1234)}, headers, PROXIES) is None


OTHER = (ipaddress.ip_network("198.51.100.0/24"),)
addresses = st.one_of(
    st.sampled_from(["127.0.0.1", "10.9.8.7", "198.51.100.4", "203.0.113.9", "::1", "testclient"]),
    st.ip_addresses().map(str),
)


@given(st.lists(st.tuples(addresses, st.sampled_from([PROXIES, OTHER, (), list(PROXIES)])), max_size=40))
def test_remembered_proxies_give_the_same_answers_and_hold_no_client(calls: list[tuple[str, object]]) -> None:
    """Whatever order peers and proxy settings come in, the remembered answers are those of
    checking every time, and only addresses inside the trusted networks are remembered."""
    client._PROXY_PEERS.clear()
    for peer, trusted in calls:
        networks = trusted if isinstance(trusted, (tuple, list)) else ()
        assert client.from_trusted_proxy({"client": (peer, 1)}, networks) == client.in_networks(peer, networks)
        for remembered, by in client._PROXY_PEERS.items():
            assert type(by) is tuple and client.in_networks(remembered, by)


def test_a_list_of_networks_is_not_remembered() -> None:
    client._PROXY_PEERS.clear()
    networks = [ipaddress.ip_network("10.0.0.0/8")]
    assert client.from_trusted_proxy({"client": ("10.1.1.1", 1)}, networks)
    networks[0] = ipaddress.ip_network("192.0.2.0/24")
    assert not client.from_trusted_proxy({"client": ("10.1.1.1", 1)}, networks)
    assert client._PROXY_PEERS == {}
