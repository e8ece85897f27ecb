"""Running the ASGI server (uvicorn) the way straatstem needs it: uvloop and the httptools
parser when installed (they are dependencies; h11 and asyncio remain the fallback).

`--workers N` in uvicorn binds the listening socket itself with `proto` 0; accepted sockets
inherit it, and asyncio only enables TCP_NODELAY when a socket reports IPPROTO_TCP. Nagle's
algorithm then meets the client's delayed ACK and every keep-alive response after the first
waits about 40 ms (uvicorn issue #3149, open as of 2026-11). `NoDelayH11Protocol` sets the
option on every accepted TCP connection, whatever the listener looks like.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # the C parser from uvicorn[standard]; h11 (pure Python) otherwise
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Fast
except ImportError:  # pragma: no cover - depends on the installed extras
    _Fast = None  # type: ignore[assignment,misc]


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        _nodelay(transport)
        super().connection_made(transport)


PROTOCOL: type[asyncio.Protocol] = NoDelayH11Protocol
if _Fast is not None:

    class NoDelayHttpToolsProtocol(_Fast):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            _nodelay(transport)
            super().connection_made(transport)

    PROTOCOL = NoDelayHttpToolsProtocol


def run(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """uvicorn.run with straatstem's fixed options: no access log (it prints client
    addresses), no proxy-header rewriting (api/client.py decides whom to trust), no server
    header, our logging configuration, TCP_NODELAY on every connection."""
    import uvicorn

    uvicorn.run(
        app,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        http=PROTOCOL,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_config=None,
        timeout_graceful_shutdown=10,
        **options,
    )
