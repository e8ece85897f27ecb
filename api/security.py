"""Security headers on every HTTP response, and the CORS policy.

Headers. Every response gets a Content-Security-Policy that allows nothing and cannot be
framed, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options:
DENY` and `Cache-Control: no-store`, unless the route set its own value: the web pages keep
their own CSP, and releases keep `private, no-cache` with an ETag. A route's own CSP without a
`frame-ancestors` directive gets `frame-ancestors 'none'` appended, which can only make it
stricter. The headers are set in a `before_send` hook, the one place every response passes
through, including routing errors (404 of an unknown path, 405) that never reach route
middleware. `no-store` is the default rather than a per-route choice so that a new endpoint
with per-user data cannot forget it; a route that may be cached says so.

HSTS only over TLS, because browsers ignore it otherwise (RFC 6797 section 8.1): when the
ASGI scope says https, or when the peer is a trusted proxy (STRAATSTEM_TRUSTED_PROXIES, the
rule of api/client.py) and the first X-Forwarded-Proto value, the one set by the outermost
proxy where TLS ends, is https. A forged https on plain HTTP therefore costs nothing.

CORS. Off unless STRAATSTEM_CORS_ORIGINS lists exact https origins (validated in
api/settings.py); then Litestar's CORS middleware answers preflights and adds
Access-Control-Allow-Origin for those origins only, never with credentials: the staff session
cookie is SameSite=Strict and a cross-origin client sends the bearer token itself, so no
origin ever needs the cookie to be sent, and an allowed site cannot act with the visitor's
staff session. Litestar replaces a route's `Vary` with `Vary: Origin`; `keep_vary` keeps the
route's own value so a shared cache never hands a gzip body, or one person's answer, to a
request that did not ask for it.
"""

from __future__ import annotations

import http
from collections.abc import Callable, Sequence
from typing import Any, cast

import msgspec
from litestar.config.cors import CORSConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, BeforeMessageSendHookHandler, Message, Receive, Scope, Send

from api.client import Network, from_trusted_proxy
from api.errors import PROBLEM_JSON, ProblemBody
from api.settings import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DEFAULT_HEADERS = {
    "content-security-policy": API_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
# One year, no includeSubDomains: the deployment does not own its parent domain's other hosts.
HSTS = "max-age=31536000"
# The key of an `http.response.start` message that already carries its security headers
# (`plain_answer_headers`); the hook leaves such a message as it is.
SECURED = "straatstem.secured"

CORS_METHODS = ["GET", "POST", "PATCH", "DELETE"]
CORS_REQUEST_HEADERS = ["authorization", "content-type", "x-altcha", "if-none-match"]
CORS_EXPOSED_HEADERS = ["Retry-After", "WWW-Authenticate", "ETag", "Content-Disposition"]
_ROUTE_VARY = "straatstem.vary"


def cors_config(settings: Settings) -> CORSConfig | None:
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_origins),
        allow_methods=list(CORS_METHODS),  # type: ignore[arg-type]
        allow_headers=list(CORS_REQUEST_HEADERS),
        allow_credentials=False,
        expose_headers=list(CORS_EXPOSED_HEADERS),
        max_age=600,
    )


def over_tls(scope: Scope, trusted: Sequence[Network]) -> bool:
    if scope.get("scheme") == "https":
        return True
    if not from_trusted_proxy(scope, trusted):
        return False
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-forwarded-proto":
            return value.split(b",")[0].strip().lower() == b"https"
    return False


def headers_hook(settings: Settings) -> BeforeMessageSendHookHandler:
    """The app's `before_send` hook that puts the security headers on every response."""
    trusted = settings.trusted_proxies
    cors_vary = _cors_vary(settings)

    async def hook(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or SECURED in message:
            return
        route_vary = cast(dict[str, Any], scope).get(_ROUTE_VARY, "")
        _secure(MutableScopeHeaders.from_message(message), over_tls(scope, trusted), route_vary, cors_vary)

    return hook


def plain_answer_headers(settings: Settings) -> Callable[[Scope], list[tuple[bytes, bytes]]]:
    """For the intake fast path (api/intake/fastpath.py): the security headers of an answer
    that sets none of its own beyond Content-Type and Content-Length, as the hook would add
    them, worked out once here instead of per answer (the hook's header edits cost a fast
    answer about as much as its proof-of-work check). The caller puts them on its
    `http.response.start` message together with `SECURED`, so the hook passes it by."""
    trusted = settings.trusted_proxies
    cors_vary = _cors_vary(settings)
    by_tls = {}
    for tls in (False, True):
        headers = MutableScopeHeaders()
        _secure(headers, tls, "", cors_vary)
        by_tls[tls] = headers.headers

    def headers_for(scope: Scope) -> list[tuple[bytes, bytes]]:
        return by_tls[over_tls(scope, trusted)]

    return headers_for


def _cors_vary(settings: Settings) -> list[str]:
    # With CORS on, every answer depends on the Origin header, also when a request had none.
    return ["Origin"] if settings.cors_origins else []


def _secure(headers: MutableScopeHeaders, tls: bool, route_vary: str, cors_vary: list[str]) -> None:
    """The security headers of one answer, added to its own `headers`."""
    for name, value in DEFAULT_HEADERS.items():
        if name not in headers:
            headers[name] = value
    policy = headers["content-security-policy"]
    if "frame-ancestors" not in policy:
        headers["content-security-policy"] = policy.rstrip("; ") + "; frame-ancestors 'none'"
    if tls:
        headers["strict-transport-security"] = HSTS
    vary = _union(route_vary, *headers.getall("vary", []), *cors_vary)
    if vary:
        headers["vary"] = vary


def _union(*values: str) -> str:
    seen: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            seen.setdefault(item.strip().lower(), item.strip())
    seen.pop("", None)
    return ", ".join(seen.values())


def keep_vary(app: ASGIApp) -> ASGIApp:
    """Remembers the route's own `Vary` in the scope for `headers_hook`, before the CORS
    middleware (which wraps the whole app, outside route middleware) overwrites it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                vary = MutableScopeHeaders.from_message(message).getall("vary", [])
                if vary:
                    cast(dict[str, Any], scope)[_ROUTE_VARY] = ", ".join(vary)
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware


def raw_problem(status: int, slug: str, title: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response that closes the connection, for the server's
    protocol layer (api/server.py), which answers before any ASGI app is involved."""
    body = msgspec.json.encode(ProblemBody(type=f"/problems/{slug}", title=title, status=status, detail=detail))
    lines = [
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
        f"content-type: {PROBLEM_JSON}",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name}: {value}" for name, value in DEFAULT_HEADERS.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
