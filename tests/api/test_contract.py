"""The mobile contract: generated files are current, and every vector holds against the code."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from api.openapi import VECTOR_KEY, generated_files
from privacy import location
from privacy import pow as pow_
from tests.conftest import HAGUE, solved_pow

CONTRACT = Path(__file__).resolve().parents[2] / "mobile-contract"


@pytest.mark.parametrize("name", sorted(generated_files()))
def test_committed_contract_is_current(name: str) -> None:
    committed = (CONTRACT / name).read_text(encoding="utf-8")
    assert committed == generated_files()[name], f"mobile-contract/{name} is stale: run `straatstem openapi`"


def _vectors(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CONTRACT / "vectors" / name).read_text(encoding="utf-8"))
    return loaded


def test_cell_vectors() -> None:
    for case in _vectors("cells.json")["cases"]:
        cell = location.parse_cell(case["cell"])
        assert location.snap(case["lat"], case["lng"]) == cell
        assert location.cell_hex(location.parent(cell, 8)) == case["parent_res8"]


def test_proof_of_work_vectors_solve_and_verify() -> None:
    vectors = _vectors("proof-of-work.json")
    assert bytes.fromhex(vectors["hmac_key_hex_for_these_vectors_only"]) == VECTOR_KEY
    for case in vectors["cases"]:
        c = case["challenge"]
        solved = pow_.solve(pow_.Challenge.from_wire(c))
        assert json.loads(base64.b64decode(solved))["number"] == case["solution_number"]
        assert pow_.verify(VECTOR_KEY, case["x_altcha"], now=0).expires == 4102444800
        with pytest.raises(pow_.PowError):
            pow_.verify(b"\x01" * 32, case["x_altcha"], now=0)


async def test_submission_vector_runs_against_the_api(
    client: httpx.AsyncClient, hague: list[int], clean: asyncpg.Pool
) -> None:
    steps = _vectors("submission.json")["steps"]
    assert location.parse_cell(steps[1]["request"]["body"]["cell"]) == location.snap(*HAGUE)
    report_id = None
    for step in steps:
        request, expected = step["request"], step["response"]
        headers = {k: v for k, v in request.get("headers", {}).items() if k != "X-Altcha"}
        if request["method"] == "POST":
            headers["X-Altcha"] = await solved_pow(client)
        path = request["path"].replace("<id>", str(report_id))
        response = await client.request(request["method"], path, json=request.get("body"), headers=headers)
        assert response.status_code == expected["status"], (step, response.text)
        if "content_type" in expected:
            assert response.headers["content-type"].startswith(expected["content_type"])
        if expected["status"] in (200, 201) and response.content:
            body = response.json()
            for field in expected.get("body_fields", []):
                assert field in body
            if "body" in expected:
                assert body["cell"] == expected["body"]["cell"] and body["municipality"] == "den-haag"
                report_id = report_id or body["id"]
                assert body["id"] == report_id
