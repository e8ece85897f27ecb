"""Rotating the proof-of-work signing key without refusing residents mid-report: challenges
signed with the previous key stay valid for their lifetime, new ones are signed with the new
key, and a key that was never configured is refused."""

from __future__ import annotations

import secrets
from pathlib import Path

import asyncpg
import pytest

from api.app import create_app
from api.settings import SettingsError, load_settings
from privacy import pow as pow_
from tests.api.test_intake import assert_problem, count
from tests.conftest import asgi_client, make_settings, report_body, submit

OLD, NEW, STRANGER = (secrets.token_bytes(32) for _ in range(3))


def solved_with(key: bytes) -> str:
    return pow_.solve(pow_.create_challenge(key, 1_000, 600))


async def test_challenges_of_the_previous_key_are_accepted_during_a_rotation(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    app = create_app(make_settings(tmp_path, pow_key=NEW, pow_key_previous=OLD), pool=clean)
    async with asgi_client(app) as http:
        issued = (await http.get("/v1/challenge")).json()
        assert pow_.verify(NEW, pow_.solve(pow_.Challenge.from_wire(issued))).expires > 0  # new challenges: the new key
        with pytest.raises(pow_.PowError):
            pow_.verify(OLD, pow_.solve(pow_.Challenge.from_wire(issued)))

        from_old = solved_with(OLD)
        assert (await submit(http, report_body(hague[0]), altcha=from_old)).status_code == 201
        # The replay cache knows a challenge of the previous key as well as a new one.
        assert_problem(await submit(http, report_body(hague[1]), altcha=from_old), 400, "proof-of-work-replayed")
        assert (await submit(http, report_body(hague[2]), altcha=solved_with(NEW))).status_code == 201
        assert_problem(await submit(http, report_body(hague[3]), altcha=solved_with(STRANGER)), 400)
    assert await count(clean) == 2


async def test_after_the_rotation_the_previous_key_is_refused(
    clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    app = create_app(make_settings(tmp_path, pow_key=NEW), pool=clean)
    async with asgi_client(app) as http:
        refused = await submit(http, report_body(hague[0]), altcha=solved_with(OLD))
        assert_problem(refused, 400, "invalid-proof-of-work")
    assert await count(clean) == 0


@pytest.mark.parametrize("name", ["POW_KEY", "POW_KEY_PREVIOUS"])
@pytest.mark.parametrize(("value", "says"), [("zz" * 32, "must be hex"), ("ab" * 16, "at least 32 bytes")])
def test_bad_pow_keys_fail_start_up_naming_the_setting(tmp_path: Path, name: str, value: str, says: str) -> None:
    env = {"STRAATSTEM_DATA_DIR": str(tmp_path), f"STRAATSTEM_{name}": value}
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert f"STRAATSTEM_{name}" in str(raised.value) and says in str(raised.value)
    assert value not in str(raised.value)


def test_the_pow_key_defaults_to_one_derived_from_the_secret(tmp_path: Path) -> None:
    settings = load_settings({"STRAATSTEM_DATA_DIR": str(tmp_path), "STRAATSTEM_SECRET_KEY": "11" * 32})
    assert settings.pow_keys() == (settings.derived_key("pow"), ())
    rotated = load_settings(
        {
            "STRAATSTEM_DATA_DIR": str(tmp_path),
            "STRAATSTEM_POW_KEY": NEW.hex(),
            "STRAATSTEM_POW_KEY_PREVIOUS": OLD.hex(),
        }
    )
    assert rotated.pow_keys() == (NEW, (OLD,))
    assert NEW.hex() not in repr(rotated)
