"""RFC 9457 problem details for every error the API returns.

`detail` is written for a client developer and never contains request values other than
field paths, so coordinates, receipts or text cannot be echoed back (or into logs).
"""

from __future__ import annotations

from typing import Any, TypeVar

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotFoundException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from api import metrics
from api.logging import get_logger

PROBLEM_JSON = "application/problem+json"
log = get_logger("straatstem.errors")


class Problem(Exception):
    """An error answered as problem+json. `slug` becomes the problem type URI."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
        duplicate_of: DuplicateOf | None = None,
    ) -> None:
        super().__init__(title)
        self.duplicate_of = duplicate_of
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors


class DuplicateOf(msgspec.Struct):
    """The existing statement a submitted one duplicates (problem type duplicate-statement)."""

    statement: int
    similarity: float
    method: str
    href: str


class ProblemBody(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, str]] | None = None
    duplicate_of: DuplicateOf | None = None


def problem_response(problem: Problem) -> Response[Any]:
    body = ProblemBody(
        type=f"/problems/{problem.slug}",
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        errors=problem.errors,
        duplicate_of=problem.duplicate_of,
    )
    return Response(
        content=msgspec.json.encode(body),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            errors.append(
                {"message": without_values(message), **({"key": str(item["key"])} if item.get("key") else {})}
            )
    return errors


def without_values(message: str) -> str:
    # msgspec quotes offending enum values ("Invalid enum value 'x'"); keep the field path only.
    if message.startswith("Invalid enum value"):
        _, _, path = message.partition(" - at ")
        return "Invalid enum value" + (f" - at {path}" if path else "")
    return message


T = TypeVar("T")


def decode_strict(body: bytes, struct: type[T]) -> T:
    """Decode a JSON body strictly, in one pass, straight into `struct` ("2" is not 2): a
    client that sends the wrong type learns it now. Errors name field paths, never values."""
    try:
        return msgspec.json.decode(body, type=struct)
    except msgspec.ValidationError as exc:
        raise Problem(
            400,
            "invalid-request",
            "Invalid request",
            "the request does not match the schema; see errors",
            errors=[{"message": without_values(str(exc))}],
        ) from None
    except msgspec.DecodeError:
        raise invalid_json() from None


def invalid_json() -> Problem:
    return Problem(400, "invalid-json", "Invalid JSON", "the body is not valid JSON")


# Litestar's detail when the body stream ends in http.disconnect (litestar/connection/request.py).
CLIENT_DISCONNECTED = "client disconnected prematurely"

_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("rate-limited", "Too many requests"),
    503: ("unavailable", "Service unavailable"),
}


def handle_problem(_: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    return problem_response(exc)


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    slug, title = _STATUS_SLUGS.get(status, ("error", "Error"))
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        detail = "the request does not match the schema; see errors" if errors else _safe_detail(exc.detail)
        return problem_response(Problem(400, "invalid-request", "Invalid request", detail, errors=errors or None))
    if isinstance(exc, NotFoundException):
        return problem_response(Problem(404, slug, title, "no such resource"))
    if status == HTTP_500_INTERNAL_SERVER_ERROR and exc.detail == CLIENT_DISCONNECTED:
        # Nobody receives this answer; it is for the request metrics and the log, where a
        # client that stopped sending (or api/server.py's body timeout) is not a server error.
        return problem_response(
            Problem(408, "request-timeout", "Request timeout", "the request body did not arrive completely")
        )
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in ("allow", "retry-after")}
    return problem_response(Problem(status, slug, title, _safe_detail(exc.detail), headers=headers))


def _safe_detail(detail: str) -> str:
    # Litestar's own details name methods, media types and sizes, never request values.
    return detail[:300]


def nul_in_text() -> Problem:
    """PostgreSQL text cannot hold U+0000: refused, whether found before the database or by it."""
    return Problem(400, "invalid-text", "Invalid text", "text must not contain the NUL character (U+0000)")


def handle_internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, asyncpg.CharacterNotInRepertoireError):
        # PostgreSQL text cannot hold U+0000; a path, query or body carried one. Refused, not
        # failed: nothing was stored (the statement's transaction rolled back).
        return problem_response(nul_in_text())
    route = route_template(request)
    log.error("unhandled error", error=exc.__class__.__name__, method=request.method, route=route)
    metrics.ERRORS.labels(route, exc.__class__.__name__).inc()
    return problem_response(
        Problem(
            HTTP_500_INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed; the request was not processed",
        )
    )


def route_template(request: Request[Any, Any, Any]) -> str:
    try:
        return str(request.scope["path_template"])
    except KeyError:
        return "unmatched"
