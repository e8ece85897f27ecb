from __future__ import annotations

import ipaddress

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from privacy import ratelimit

K1, K2 = b"1" * 32, b"2" * 32
P = ratelimit.network_prefix
v4 = st.ip_addresses(v=4).map(str)
v6 = st.ip_addresses(v=6).map(str)


@given(v6, st.integers(min_value=0, max_value=2**64 - 1))
def test_all_addresses_of_an_ipv6_64_share_a_pseudonym(addr: str, host: int) -> None:
    net = ipaddress.ip_network(addr + "/64", strict=False)
    other = str(net.network_address + host)
    # IPv4-mapped addresses (::ffff:a.b.c.d) deliberately count as their IPv4 address.
    assume(ipaddress.IPv6Address(addr).ipv4_mapped is None)
    assume(ipaddress.IPv6Address(other).ipv4_mapped is None)
    assert ratelimit.pseudonym(K1, P(addr)) == ratelimit.pseudonym(K1, P(other))


@given(st.one_of(v4, v6), st.one_of(v4, v6))
def test_pseudonyms_separate_prefixes_and_days(a: str, b: str) -> None:
    same = ratelimit.network_prefix(a) == ratelimit.network_prefix(b)
    assert (ratelimit.pseudonym(K1, P(a)) == ratelimit.pseudonym(K1, P(b))) == same
    assert ratelimit.pseudonym(K1, P(a)) != ratelimit.pseudonym(K2, P(a))
    assert ratelimit.pseudonym(K1, P(a)) != ratelimit.cell_token(K1, P(a), 0x89196B85DA3FFFF)


@given(v4)
def test_pseudonym_does_not_contain_the_address(addr: str) -> None:
    packed = ipaddress.ip_address(addr).packed
    token = ratelimit.pseudonym(K1, P(addr))
    assert packed not in token and addr.encode() not in token


def test_ipv4_mapped_ipv6_counts_as_ipv4() -> None:
    assert P("::ffff:198.51.100.7") == P("198.51.100.7")


def test_non_addresses_and_short_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        ratelimit.network_prefix("testclient")
    with pytest.raises(ValueError):
        ratelimit.pseudonym(b"short", P("198.51.100.7"))


@given(st.ip_addresses())
def test_a_parsed_address_has_the_prefix_of_its_text(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    assert ratelimit.network_prefix(addr) == ratelimit.network_prefix(str(addr))
