"""Running the ASGI server (uvicorn) the way straatstem needs it.

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


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


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
        http=NoDelayH11Protocol,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        log_config=None,
        timeout_graceful_shutdown=10,
        **options,
    )
