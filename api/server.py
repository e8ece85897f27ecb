"""Running the ASGI server (uvicorn) the way straatstem needs it: uvloop and the httptools
parser when installed (they are dependencies; h11 and asyncio remain the fallback).

`--workers N` in uvicorn binds the listening socket itself with `proto` 0; accepted sockets
inherit it, and asyncio only enables TCP_NODELAY when a socket reports IPPROTO_TCP. Nagle's
algorithm then meets the client's delayed ACK and every keep-alive response after the first
waits about 40 ms (uvicorn issue #3149, open as of 2026-11). `NoDelayH11Protocol` sets the
option on every accepted TCP connection, whatever the listener looks like.

uvicorn also lets a client take as long as it likes to send a request: it arms no timer before
the first request, and none while headers or a body trickle in (slowloris), and httptools
accepts headers of any size. `_SlowClientGuard` adds what nginx calls client_header_timeout,
client_body_timeout and large_client_header_buffers (STRAATSTEM_HEADER_TIMEOUT_SECONDS,
STRAATSTEM_BODY_TIMEOUT_SECONDS, STRAATSTEM_MAX_HEADER_BYTES; see api/settings.py
ClientLimits): headers that are not complete in time close the connection without an answer,
a body that is not complete in time gets 408 problem+json and a close, oversized headers get
431. It watches uvicorn's own request state (`cycle`) after every read and every response,
so one mixin serves both parsers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from api import security
from api.settings import ClientLimits, client_limits

try:  # the C parser from uvicorn[standard]; h11 (pure Python) otherwise
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Fast
except ImportError:  # pragma: no cover - depends on the installed extras
    _Fast = None  # type: ignore[assignment,misc]


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


@functools.cache
def _limits() -> ClientLimits:
    # From the environment of this (worker) process; the CLI validated it at start-up.
    return client_limits()


class _SlowClientGuard(asyncio.Protocol):
    """Deadlines and a header size cap on top of a uvicorn HTTP protocol (put it first in the
    bases). Between requests (after connecting, after a response) the next request's headers
    must be complete within the header timeout; once they are, a body must be complete within
    the body timeout. uvicorn's keep-alive timer still closes idle connections sooner."""

    # Set by uvicorn's protocol classes.
    transport: asyncio.Transport
    cycle: Any
    flow: Any
    loop: asyncio.AbstractEventLoop

    _header_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None
    _seen_cycle: Any = None
    _header_bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _nodelay(transport)
        super().connection_made(transport)
        self._follow()

    def data_received(self, data: bytes) -> None:
        awaiting_headers = self._header_timer is not None
        super().data_received(data)
        if self.transport.is_closing():
            self._cancel()
            return
        if awaiting_headers and self.cycle is self._seen_cycle:
            self._header_bytes += len(data)
            if self._header_bytes > _limits().max_header_bytes:
                self._refuse(
                    431,
                    "headers-too-large",
                    "Request headers too large",
                    f"send at most {_limits().max_header_bytes} bytes of request line and headers",
                )
                return
        self._follow()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to bytes that are not HTTP, as problem+json with our headers."""
        self._refuse(400, "invalid-http", "Invalid HTTP request", "the request is not valid HTTP/1.1")

    def _response_complete(self) -> None:
        if not self.transport.is_closing():
            self._follow()

    def _follow(self) -> None:
        """Re-derive which deadline applies from uvicorn's request state."""
        cycle = self.cycle
        if cycle is not self._seen_cycle:  # a new request's headers are complete
            self._seen_cycle = cycle
            self._header_bytes = 0
            self._cancel()
            if cycle.more_body:
                self._body_timer = self.loop.call_later(_limits().body_timeout_seconds, self._body_overdue)
        if cycle is not None and not cycle.more_body and self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        if self._between_requests() and self._header_timer is None:
            self._header_bytes = 0
            self._header_timer = self.loop.call_later(_limits().header_timeout_seconds, self._headers_overdue)

    def _between_requests(self) -> bool:
        cycle = self.cycle
        return cycle is None or (cycle.response_complete and not cycle.more_body)

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if self._between_requests() and not self.transport.is_closing():
            self.transport.close()

    def _body_overdue(self) -> None:
        self._body_timer = None
        cycle = self.cycle
        if cycle is not self._seen_cycle or not cycle.more_body or self.transport.is_closing():
            return
        if self.flow.read_paused:  # we stopped reading (the app is behind), not the client
            self._body_timer = self.loop.call_later(_limits().body_timeout_seconds, self._body_overdue)
            return
        if cycle.response_started:
            self._close()
            return
        self._refuse(
            408,
            "request-timeout",
            "Request timeout",
            f"the request body did not arrive within {_limits().body_timeout_seconds} seconds",
        )

    def _refuse(self, status: int, slug: str, title: str, detail: str) -> None:
        """Answers with a problem unless the app already started answering this request."""
        if self._between_requests() or not self.cycle.response_started:
            self.transport.write(security.raw_problem(status, slug, title, detail))
        self._close()

    def _close(self) -> None:
        """Ends the connection; the app, if it is still waiting for the body, is told the
        client disconnected, and whatever it answers goes nowhere."""
        self._cancel()
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def _cancel(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None


class NoDelayH11Protocol(_SlowClientGuard, H11Protocol):
    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._response_complete()


PROTOCOL: type[asyncio.Protocol] = NoDelayH11Protocol
if _Fast is not None:

    class NoDelayHttpToolsProtocol(_SlowClientGuard, _Fast):
        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._response_complete()

    PROTOCOL = NoDelayHttpToolsProtocol


class GracefulServer(uvicorn.Server):
    """uvicorn re-raises the SIGTERM/SIGINT it handled once the drain is done, so a single
    process dies by the signal even after a clean shutdown (and an orchestrator sees a
    crash). A drained stop is a success: forget the captured signal, exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def run(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """uvicorn.run with straatstem's fixed options: no access log (it prints client
    addresses), no proxy-header rewriting (api/client.py decides whom to trust), no server
    header, our logging configuration, TCP_NODELAY and the slow-client guard on every
    connection, and exit status 0 after a drained SIGTERM."""
    config = uvicorn.Config(
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
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = GracefulServer(config)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's start-up failure status
