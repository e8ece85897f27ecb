"""No input produces a 5xx: arbitrary bodies, headers and paths against the intake API, with
hypothesis. Every 4xx is problem+json and never echoes a receipt or coordinates."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from tests.conftest import asgi_client, make_settings, report_body

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "submission_id",
    "receipt",
    "category",
    "role",
    "band",
    "language",
    "cell",
    "lat",
    "lng",
    "felt_safety",
    "description",
]


def _client(pool: asyncpg.Pool, tmp: Path) -> httpx.AsyncClient:
    app = create_app(make_settings(tmp, accept_coordinates=True), pool=pool)
    return asgi_client(app)


def _assert_clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text
        body = response.json()
        assert body["status"] == response.status_code


@FUZZ
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=11), st.text(max_size=200))
async def test_arbitrary_field_values_never_5xx(
    hague: list[int], clean: asyncpg.Pool, tmp_path: Path, overrides: dict[str, Any], altcha: str
) -> None:
    body = report_body(hague[0]) | overrides
    try:
        payload = json.dumps(body, allow_nan=True).encode()
    except (TypeError, ValueError):
        return
    async with _client(clean, tmp_path) as http:
        headers = {"content-type": "application/json"}
        if altcha.isascii() and altcha.isprintable():
            headers["X-Altcha"] = altcha
        response = await http.post("/v1/reports", content=payload, headers=headers)
    _assert_clean(response)
    if isinstance(body.get("receipt"), str) and len(body["receipt"]) >= 8:
        assert body["receipt"] not in response.text


@FUZZ
@given(
    st.binary(max_size=300),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ]
    ),
)
async def test_arbitrary_bytes_never_5xx(clean: asyncpg.Pool, tmp_path: Path, raw: bytes, media: str) -> None:
    async with _client(clean, tmp_path) as http:
        response = await http.post("/v1/reports", content=raw, headers={"content-type": media} if media else {})
    _assert_clean(response)


@FUZZ
@given(
    st.text(alphabet=string.printable, max_size=60),
    st.text(alphabet=string.printable, max_size=120),
    st.sampled_from(["GET", "DELETE", "POST", "PUT", "PATCH", "OPTIONS", "HEAD"]),
)
async def test_arbitrary_paths_and_authorization_never_5xx(
    clean: asyncpg.Pool, tmp_path: Path, tail: str, authorization: str, method: str
) -> None:
    authorization = authorization.replace("\n", " ").replace("\r", " ").strip()
    async with _client(clean, tmp_path) as http:
        headers = {"Authorization": authorization} if authorization else {}
        try:
            response = await http.request(method, "/v1/reports/" + tail, headers=headers)
        except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
            return  # the client library refuses to send it; nothing reached the server
    assert response.status_code < 500, response.text
