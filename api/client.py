"""The client's network address, for rate limiting only. It is used to compute a keyed
pseudonym and dropped; nothing else in the code base asks for it."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(scope: Any, headers: Any, trusted: Sequence[Network]) -> str:
    peer = str((scope.get("client") or ("", 0))[0] or "")
    if not trusted or "x-forwarded-for" not in headers or not _in(peer, trusted):
        return peer
    forwarded = headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    # Walk from the nearest hop outwards; the first address we do not trust is the client.
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return str(hop)
    return str(hops[0]) if hops else peer


def _in(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
