"""The client's network address, for rate limiting only. It is used to compute a keyed
pseudonym and dropped; nothing else in the code base asks for it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Peer addresses already found inside the trusted networks, each with the (immutable) tuple of
# networks that said so. Every request asks this question once or twice (the client address,
# HTTPS behind a proxy), and behind a proxy the answer is the same for every request. Only
# trusted peers, the operator's own proxies, are remembered: a client's address never is.
_PROXY_PEERS: dict[str, tuple[Network, ...]] = {}
_PROXY_PEERS_MAX = 256


def peer_address(scope: Any) -> str:
    """The address of the connection's other end (a proxy, when there is one)."""
    return str((scope.get("client") or ("", 0))[0] or "")


def from_trusted_proxy(scope: Any, trusted: Sequence[Network]) -> bool:
    """Whether the connection comes from a proxy whose forwarding headers are believed."""
    if not trusted:
        return False
    peer = peer_address(scope)
    if _PROXY_PEERS.get(peer) is trusted:
        return True
    if not in_networks(peer, trusted):
        return False
    if type(trusted) is tuple:  # a list could change after the answer was remembered
        if len(_PROXY_PEERS) >= _PROXY_PEERS_MAX:
            _PROXY_PEERS.clear()
        _PROXY_PEERS[peer] = trusted
    return True


def client_address(scope: Any, headers: Any, trusted: Sequence[Network]) -> Address | None:
    """The client's address: the peer, or behind trusted proxies the nearest X-Forwarded-For
    hop that is not one of them. None when that is not an IP address (a Unix socket, a
    malformed header); rate limiting then puts the request in one shared bucket."""
    if "x-forwarded-for" not in headers or not from_trusted_proxy(scope, trusted):
        return parse_address(peer_address(scope))
    forwarded = headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    # Walk from the nearest hop outwards; the first address we do not trust is the client.
    for hop in reversed(hops):
        ip = parse_address(hop)
        if ip is None or not _inside(ip, trusted):
            return ip
    return parse_address(hops[0] if hops else peer_address(scope))


def parse_address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    ip = parse_address(address)
    return ip is not None and _inside(ip, networks)


def _inside(ip: Address, networks: Sequence[Network]) -> bool:
    return any(ip in net for net in networks)
