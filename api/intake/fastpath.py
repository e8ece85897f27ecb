"""POST /v1/reports answered before Litestar's routing and per-request machinery.

Report intake is the one endpoint whose throughput matters: a busy evening in a city, or a
flood of submissions someone aims at the service. Measured in process (ops/bench/intake.py
and the profile behind it), Litestar's work for this route cost more CPU per report than our
own intake code: routing, the route's middleware stack, a Request, the kwargs and signature
models, the before-request hook, a Response object and its conversion. `ReportIntake` sits
in front of the router and serves the route directly: it reads the body, decodes it strictly
(api/errors.py `decode_strict`, as the Litestar path does), calls the same `submit_report` as
the Litestar handler and writes the JSON answer itself.

What it takes: POST /v1/reports with a body framed by Content-Length and typed exactly
`application/json` (what the mobile contract prescribes), without an Origin header, and with
a Host header of plain characters. Everything else (other media types, chunked bodies,
browsers, a path with a trailing slash) goes to the router and the Litestar handler
`api.app.post_report`, which is also the operation the OpenAPI description documents.
tests/api/test_intake_fastpath.py shows that both paths give every request, valid or not, the
same status, headers and body.

What it keeps: it runs inside `Litestar.__call__`, so the security-headers hook
(api/security.py) still sees every answer; a stored report's answer already carries the
hook's headers, worked out once at start-up (`security.plain_answer_headers`), and the hook
passes it by. It records the request metrics as the `observe` middleware does; and an error
is answered by the app's own exception handlers (the same problem+json, the same refusal
counting), exactly as the Litestar path answers it. The CORS middleware is not needed: a
request with an Origin header is never taken.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.enums import ScopeType
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ASGIApp, HTTPResponseBodyEvent, Receive, Scope, Send

from api import metrics
from api.client import client_address
from api.errors import CLIENT_DISCONNECTED, decode_strict
from api.intake.schemas import ReportIn, ReportOut
from api.intake.service import IntakeService
from api.security import SECURED

PATH = "/v1/reports"
ExceptionHandlers = Mapping[int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]]

# A strict subset of what Litestar's router accepts in a Host header; anything else is left
# to the router, which refuses what it finds invalid.
_PLAIN_HOST = re.compile(rb"[0-9A-Za-z.:\-\[\]]*")
_encode = msgspec.json.Encoder().encode


async def submit_report(
    intake: IntakeService, scope: Scope, headers: Any, data: ReportIn, altcha: str | None
) -> tuple[int, ReportOut]:
    """The report endpoint's work, shared by both paths: 201 and the new report, or 200 and
    the report an identical earlier submission created."""
    address = client_address(scope, headers, intake.settings.trusted_proxies)
    created, report = await intake.submit(data, altcha, address)
    metrics.count_report("created" if created else "existing")
    return (201 if created else 200), report


class ReportIntake:
    """Wraps the app's ASGI handler (the router inside Litestar's exception and CORS layers)."""

    def __init__(
        self,
        app: ASGIApp,
        handlers: ExceptionHandlers,
        max_body_bytes: int,
        security_headers: Callable[[Scope], list[tuple[bytes, bytes]]],
    ) -> None:
        self.app = app
        self.handlers = handlers
        self.max_body_bytes = max_body_bytes
        self.security_headers = security_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"] == PATH and scope["method"] == "POST":
            headers = _first_values(scope)
            if takes(scope, headers):
                await self.serve(scope, receive, send, headers)
                return
        await self.app(scope, receive, send)

    async def serve(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        started = time.perf_counter()
        scope["path_template"] = PATH  # as the router sets it: metrics and error handlers read it
        status = 500
        try:
            status = await self._answer(scope, receive, send, headers)
        finally:
            metrics.observe_request("POST", PATH, status, started)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> int:
        try:
            if int(headers["content-length"]) > self.max_body_bytes:
                raise RequestEntityTooLarge
            data = decode_strict(await _body(receive, self.max_body_bytes), ReportIn)
            intake: IntakeService = scope["litestar_app"].state.runtime.intake
            status, report = await submit_report(intake, scope, headers, data, headers.get("x-altcha"))
        except Exception as exc:  # answered exactly as the Litestar path answers it
            request: Request[Any, Any, Any] = Request(scope, receive, send)
            handler = next(h for cls in type(exc).__mro__ if (h := self.handlers.get(cls)) is not None)
            response = handler(request, exc)
            await response.to_asgi_response(app=None, request=request)(scope, receive, send)
            return response.status_code or 500
        body = _encode(report)
        start: Any = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *self.security_headers(scope),
            ],
            SECURED: True,
        }
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
        await send(start)
        await send(end)
        return status


def takes(scope: Scope, headers: dict[str, str]) -> bool:
    """Whether a POST /v1/reports is of the shape the fast path serves (see the module)."""
    length = headers.get("content-length", "")
    return (
        headers.get("content-type") == "application/json"
        and length.isascii()
        and length.isdigit()
        and "origin" not in headers
        and not scope.get("root_path")
        and _PLAIN_HOST.fullmatch(headers.get("host", "").encode("latin-1")) is not None
    )


def _first_values(scope: Scope) -> dict[str, str]:
    """Header names (lower case) to their first value, as Litestar's `Headers.get` reads them."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def _body(receive: Receive, limit: int) -> bytes:
    """The request body, refused past `limit` bytes as Litestar's `Request.body` refuses it."""
    chunks: list[bytes] = []
    total = 0
    while True:
        message: Any = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                raise RequestEntityTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise InternalServerException(CLIENT_DISCONNECTED)
