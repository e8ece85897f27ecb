"""Schemathesis against a live `straatstem demo` process, over the server's own
/schema/openapi.json: every operation, a bounded number of examples per operation, all four
phases (examples, coverage, fuzzing, stateful; the document has no examples, so the first has
nothing to do), and the checks that the server never answers 5xx and that every answer matches
the document (status code, content type, headers, body schema). The run's summary is printed
and kept in test-output/schemathesis.txt; any failure fails the test.

The run is authenticated the way real clients are: a staff admin created with the product's
service code sends a bearer token, participant operations get a fresh participant token of
the demo discussion for every case, and report operations get their receipt through OpenAPI
links from `POST /v1/reports` (added to the loaded document by a hook, see `_links`).

This file is also the hooks module of that schemathesis process (SCHEMATHESIS_HOOKS points
here; `CONTEXT` in its environment says what the test prepared). The hooks steer generated
values towards data that exists, so operations are exercised beyond 404: in positive cases
the slug becomes the admin's municipality, a period one that is released, a discussion the
demo one, a report body carries a cell of the coverage and a freshly solved proof-of-work
(a challenge fetched from the server and solved, as the app does, whichever key signs it).
Generated X-Altcha values are still sent in the other cases and refused with 400. Negative
cases are left as generated. STRAATSTEM_SCHEMATHESIS_EXAMPLES and
STRAATSTEM_SCHEMATHESIS_SEED change the size and the seed of the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTEXT = "STRAATSTEM_SCHEMATHESIS_CONTEXT"
ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("STRAATSTEM_TEST_OUTPUT", ROOT / "test-output"))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
MUNICIPALITY = "den-haag"
# No state kept between runs (a run is its seed and nothing else), and in the stateful phase
# only the links the hooks declare: schemathesis infers about a hundred more from names, which
# spreads the scenarios so thin that the report chain is rarely reached.
CONFIG = """
[cache]
enabled = false

[generation]
database = "none"

[phases.stateful]
max-steps = 12

[phases.stateful.generation]
max-examples = {stateful_examples}

[phases.stateful.inference]
algorithms = []
"""
STAFF_QUESTION = "Waar voelt u zich 's avonds onveilig?"  # the discussion the fuzzer opens, pauses and closes


# --- the test (pytest side) -------------------------------------------------------------------

if not os.environ.get(CONTEXT):
    import asyncpg
    import httpx
    import pytest

    from api.demo import DEMO_LOGIN_FILE
    from api.staff import service as staff_service
    from tests.processes import demo_server

    @dataclass
    class Demo:
        base: str
        dsn: str
        data: Path

    @pytest.fixture(scope="module")
    def demo(dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
        """`straatstem demo` on its own database, like the browser tests' server."""
        data = tmp_path_factory.mktemp("schemathesis")
        with demo_server(dsn, "straatstem_st", data, log_json="false") as (base, own):
            assert (data / DEMO_LOGIN_FILE).exists()
            yield Demo(base, own, data)

    def prepare(demo: Demo) -> dict[str, Any]:
        """The staff admin, the discussions, cells, released periods and statements the hooks
        steer towards; and throwaway staff accounts the fuzzer may disable or reset."""
        email, password = f"schemathesis-{secrets.token_hex(4)}@{MUNICIPALITY}.example", secrets.token_urlsafe(18)

        async def accounts() -> list[str]:
            conn = await asyncpg.connect(demo.dsn)
            try:
                ids = [str(await staff_service.add_staff(conn, email, MUNICIPALITY, "admin", password))]
                for _ in range(3):
                    other = f"throwaway-{secrets.token_hex(4)}@{MUNICIPALITY}.example"
                    ids.append(str(await staff_service.add_staff(conn, other, MUNICIPALITY, "analyst", password)))
                return ids
            finally:
                await conn.close()

        admin_id, *throwaway = asyncio.run(accounts())
        with httpx.Client(base_url=demo.base, timeout=30) as http:
            login = http.post("/v1/staff/login", json={"email": email, "password": password})
            assert login.status_code == 200, login.text
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            me = http.get("/v1/staff/me", headers=bearer).json()
            assert me["role"] == "admin"
            listed = http.get("/v1/discussions", params={"municipality": MUNICIPALITY}).json()
            public = next(d for d in listed if d["question"] != STAFF_QUESTION)  # the demo's own
            created = http.post(
                f"/v1/staff/municipalities/{MUNICIPALITY}/discussions",
                json={
                    "question": STAFF_QUESTION,
                    "languages": ["nl", "en"],
                    "moderation": "pre",
                    "seed_statements": ["Meer licht op de fietsroutes", "Vaker handhavers bij de tramhalte"],
                },
                headers=bearer,
            )
            assert created.status_code == 201, created.text
            staff_discussion = created.json()["id"]
            assert http.post(f"/v1/discussions/{staff_discussion}/open", headers=bearer).status_code == 204
            cells = http.get(f"/v1/municipalities/{MUNICIPALITY}/coverage").json()["cells"]
            ledger = http.get(f"/v1/staff/municipalities/{MUNICIPALITY}/ledger", headers=bearer)
            assert ledger.status_code == 200, ledger.text
        months = sorted({e["period"] for e in ledger.json()["entries"] if e["audience"] == "staff"})
        assert months, ledger.text
        return {
            "base": demo.base,
            "bearer": bearer["Authorization"],
            "admin_id": admin_id,
            "throwaway": throwaway,
            "discussion": public["id"],
            "statements": list(range(1, public["statements"] + 1)),
            "staff_discussion": staff_discussion,
            "cells": cells[:200],
            "periods": [*months[-2:], *_quarters(months), months[-1][:4]],
            "months": months,
        }

    def _quarters(months: list[str]) -> list[str]:
        """The quarters whose three months are all released."""
        quarters = {f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months}
        return sorted(
            q for q in quarters if all(f"{q[:4]}-{3 * (int(q[-1]) - 1) + i:02d}" in months for i in (1, 2, 3))
        )

    def test_schemathesis_finds_no_server_error_and_no_schema_violation(demo: Demo, tmp_path: Path) -> None:
        context = prepare(demo)
        examples = os.environ.get("STRAATSTEM_SCHEMATHESIS_EXAMPLES", "20")
        seed = os.environ.get("STRAATSTEM_SCHEMATHESIS_SEED", "20261124")
        env = dict(os.environ, SCHEMATHESIS_HOOKS=str(Path(__file__).resolve()), **{CONTEXT: json.dumps(context)})
        config = tmp_path / "schemathesis.toml"
        config.write_text(CONFIG.format(stateful_examples=2 * int(examples)))
        OUTPUT.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{demo.base}/schema/openapi.json",
            "--checks",
            ",".join(CHECKS),
            "--phases",
            os.environ.get("STRAATSTEM_SCHEMATHESIS_PHASES", "examples,coverage,fuzzing,stateful"),
            "--max-examples",
            examples,
            "--seed",
            seed,
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--report",
            "junit",
            "--report-junit-path",
            str(OUTPUT / "schemathesis-junit.xml"),
        ]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        summary = result.stdout + result.stderr
        (OUTPUT / "schemathesis.txt").write_text(summary)
        print(summary)
        assert result.returncode == 0, summary[-8000:]
        assert "API Operations:" in summary and "Tested:" in summary
        # Schemathesis warns when operations only ever answered 401/403: the credentials did not work.
        assert "Authentication failed" not in summary, summary[-8000:]


# --- the hooks (schemathesis side) ------------------------------------------------------------

else:
    import requests
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.generation.meta import TestPhase

    from privacy import pow as pow_

    ctx: dict[str, Any] = json.loads(os.environ[CONTEXT])
    rng = random.Random(os.environ.get("STRAATSTEM_SCHEMATHESIS_SEED", "20261124"))
    http = requests.Session()
    REPORTS = "/v1/reports"

    def _security(operation: Any) -> set[str]:
        raw = operation.definition.raw
        return {name for requirement in raw.get("security") or [] for name in requirement}

    def _participant_token() -> str | None:
        answer = http.post(f"{ctx['base']}/v1/discussions/{ctx['discussion']}/participants", json={}, timeout=10)
        return str(answer.json()["token"]) if answer.status_code == 201 else None

    @schemathesis.auth(refresh_interval=None)
    class Credentials:
        """The staff bearer token for bearer operations (logout aside: it would end the
        session), a fresh participant of the demo discussion for participant operations."""

        def get(self, case: Any, context: Any) -> str | None:
            schemes = _security(context.operation)
            if "bearer" in schemes and context.operation.path != "/v1/staff/logout":
                return str(ctx["bearer"])
            if "participant" in schemes:
                token = _participant_token()
                return None if token is None else f"Participant {token}"
            return None

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = data

    @schemathesis.hook
    def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
        _links(raw_schema)

    def _links(raw_schema: dict[str, Any]) -> None:
        """The chains the stateful phase follows. GET /v1/challenge -> POST /v1/reports -> GET and DELETE
        /v1/reports/{id} with the report's receipt: the only way to reach a report, since its
        id and receipt exist only in the submission. A new discussion -> its lifecycle and
        moderation operations."""
        paths = raw_schema["paths"]
        by_receipt = {
            "path.report_id": "$response.body#/id",
            "header.Authorization": "Receipt {$request.body#/receipt}",
        }
        report = "/v1/reports/{report_id}"
        # A client fetches a challenge, then submits (the hook below solves the challenge). The
        # link also makes the submission a step the stateful phase starts from.
        paths["/v1/challenge"]["get"]["responses"]["200"]["links"] = {
            "SubmitReport": {
                "operationId": paths[REPORTS]["post"]["operationId"],
                "parameters": {"header.X-Altcha": "$response.body#/challenge"},
            }
        }
        for status in ("200", "201"):
            paths[REPORTS]["post"]["responses"][status]["links"] = {
                "ReportStatus": {"operationId": paths[report]["get"]["operationId"], "parameters": by_receipt},
                "WithdrawReport": {"operationId": paths[report]["delete"]["operationId"], "parameters": by_receipt},
            }
        discussion = "/v1/discussions/{discussion_id}"
        follow = {
            f"{name.title()}Discussion": {
                "operationId": paths[f"{discussion}/{name}"][method]["operationId"],
                "parameters": {"path.discussion_id": "$response.body#/id"},
            }
            for name, method in (
                ("open", "post"),
                ("pause", "post"),
                ("close", "post"),
                ("seed-statements", "post"),
                ("moderation", "get"),
                ("groups", "post"),
                ("report", "get"),
            )
        }
        paths["/v1/staff/municipalities/{slug}/discussions"]["post"]["responses"]["201"]["links"] = follow

    def _positive(case: Any) -> bool:
        meta = getattr(case, "meta", None)
        return meta is None or meta.generation.mode == GenerationMode.POSITIVE

    def _linked(case: Any) -> bool:
        """Stateful steps take their ids from the links; those are not steered."""
        meta = getattr(case, "meta", None)
        return meta is not None and meta.phase.name == TestPhase.STATEFUL

    @schemathesis.hook
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        """Steer positive cases to existing data; keep the admin's own account out of reach
        (a reset second factor would end the run's session)."""
        path, method = case.operation.path, case.method.upper()
        params = case.path_parameters if isinstance(case.path_parameters, dict) else {}
        staff_side = "bearer" in _security(case.operation)
        if "staff_id" in params and (str(params["staff_id"]) == ctx["admin_id"] or _positive(case)):
            params["staff_id"] = rng.choice(ctx["throwaway"])
        if staff_side and str(params.get("discussion_id")) == ctx["discussion"]:
            params["discussion_id"] = ctx["staff_discussion"]  # the participants' discussion stays open
        if not _positive(case):
            return
        if path == REPORTS and method == "POST" and isinstance(case.body, dict) and rng.random() < 0.9:
            _valid_report(case)
        if "slug" in params and path.startswith("/v1/staff/") and rng.random() < 0.85:
            params["slug"] = MUNICIPALITY
        if _linked(case):
            return
        if "discussion_id" in params and rng.random() < 0.9:
            params["discussion_id"] = ctx["staff_discussion"] if staff_side else ctx["discussion"]
        if "statement_id" in params and ctx["statements"] and rng.random() < 0.8:
            params["statement_id"] = rng.choice(ctx["statements"])
        query = case.query if isinstance(case.query, dict) else None
        if query is not None:
            if "period" in query and rng.random() < 0.7:
                query["period"] = rng.choice(ctx["periods"])
            if "from" in query and rng.random() < 0.7:
                query["from"], query["to"] = ctx["months"][0], ctx["months"][-1]

    def _valid_report(case: Any) -> None:
        """What a real client adds to a report: a cell of the coverage (computed on the phone), a
        random receipt, a new submission id, and a solved proof-of-work."""
        case.body["cell"] = rng.choice(ctx["cells"])
        # The schema says 26-128 characters; the server also wants hex or base32 (api/intake).
        case.body["receipt"] = secrets.token_hex(16)
        # Hypothesis repeats values; a reused submission id with another body is a 409.
        case.body["submission_id"] = str(uuid.uuid4())
        case.body.pop("lat", None)
        case.body.pop("lng", None)
        case.headers = case.headers or {}
        case.headers["X-Altcha"] = _solved_challenge()

    def _solved_challenge() -> str:
        c = http.get(f"{ctx['base']}/v1/challenge", timeout=10).json()
        return pow_.solve(pow_.Challenge.from_wire(c))
