"""The client's network address, for rate limiting only. It is used to compute a keyed
pseudonym and dropped; nothing else in the code base asks for it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def peer_address(scope: Any) -> str:
    """The address of the connection's other end (a proxy, when there is one)."""
    return str((scope.get("client") or ("", 0))[0] or "")


def from_trusted_proxy(scope: Any, trusted: Sequence[Network]) -> bool:
    """Whether the connection comes from a proxy whose forwarding headers are believed."""
    return bool(trusted) and in_networks(peer_address(scope), trusted)


def client_address(scope: Any, headers: Any, trusted: Sequence[Network]) -> str:
    peer = peer_address(scope)
    if "x-forwarded-for" not in headers or not from_trusted_proxy(scope, trusted):
        return peer
    forwarded = headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    # Walk from the nearest hop outwards; the first address we do not trust is the client.
    for hop in reversed(hops):
        if not in_networks(hop, trusted):
            return str(hop)
    return str(hops[0]) if hops else peer


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
