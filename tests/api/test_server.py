"""Accepted connections get TCP_NODELAY even from a listener created like uvicorn's
multi-worker supervisor creates it (proto 0), the cause of uvicorn issue #3149; and a started
app has moved its start-up heap out of the garbage collector's reach."""

from __future__ import annotations

import asyncio
import gc
import socket
from pathlib import Path

from litestar.testing import AsyncTestClient
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from api.app import create_app
from api.server import PROTOCOL, NoDelayH11Protocol
from tests.conftest import make_settings


async def _nodelay_of_accepted(protocol: type[asyncio.Protocol]) -> int:
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(protocol):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            sock = transport.get_extra_info("socket")
            if not seen.done():
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)  # proto 0, as uvicorn binds it
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    config = Config(app=lambda scope, receive, send: None)
    config.load()
    state = ServerState()
    server = await asyncio.get_running_loop().create_server(lambda: Probe(config, state, {}), sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname())
        value = await asyncio.wait_for(seen, 5)
        writer.close()
        return value
    finally:
        server.close()


async def test_accepted_connections_disable_nagle() -> None:
    assert await _nodelay_of_accepted(NoDelayH11Protocol) != 0
    assert await _nodelay_of_accepted(PROTOCOL) != 0  # the one the server uses (httptools when installed)


async def test_the_bug_is_real_without_the_fix() -> None:
    # If this starts failing, uvicorn fixed #3149 and api/server.py can go.
    assert await _nodelay_of_accepted(H11Protocol) == 0


async def test_startup_heap_is_frozen(dsn: str, tmp_path: Path) -> None:
    """Full collections would otherwise scan everything start-up made (models, the app) each
    time, a pause of the event loop of about a quarter of a second under report load."""
    gc.unfreeze()
    app = create_app(make_settings(tmp_path, database_url=dsn, run_jobs=False))
    try:
        async with AsyncTestClient(app) as client:  # runs the app's lifespan
            assert gc.get_freeze_count() > 10_000
            assert (await client.get("/healthz")).status_code == 200
    finally:
        gc.unfreeze()
