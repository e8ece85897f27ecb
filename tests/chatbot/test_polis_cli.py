"""`straatstem polis import|export` and `discussion recompute` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from chatbot import polis_format
from tests.api.test_cli import run
from tests.chatbot.conftest import polis_folder


async def test_import_export_and_recompute_from_the_command_line(
    dsn: str, clean: asyncpg.Pool, hague: list[int], tmp_path: Path
) -> None:
    source = polis_folder("london.youth.policing")
    env = {"STRAATSTEM_NLP_MODEL": "lexical"}
    imported = run(["polis", "import", str(source), "--municipality", "den-haag"], dsn, tmp_path, **env)
    assert imported.returncode == 0, imported.stderr
    line = imported.stdout.strip()
    assert line.startswith("imported discussion ") and "39 statements, 638 votes; groups: " in line
    discussion = line.split()[2].rstrip(":")
    recomputed = run(["discussion", "recompute", discussion], dsn, tmp_path, **env)
    assert recomputed.returncode == 0 and recomputed.stdout.startswith("version 2: opinion;"), recomputed.stderr
    out = tmp_path / "export"
    exported = run(["polis", "export", discussion, str(out)], dsn, tmp_path, **env)
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(polis_format.POLIS_FILES)
    assert polis_format.read_export(out).votes == polis_format.read_export(source).votes
    again = run(["polis", "export", discussion, str(out)], dsn, tmp_path, **env)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "overwrite" in again.stderr
    async with clean.acquire() as conn:
        assert await conn.fetchval("select state from discussion") == "closed"


def test_import_errors_are_one_line(dsn: str, hague: list[int], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for args, message in (
        (["polis", "import", str(tmp_path / "empty"), "--municipality", "den-haag"], "comments.csv"),
        (["polis", "import", str(tmp_path / "empty"), "--municipality", "atlantis"], "no municipality 'atlantis'"),
        (["polis", "export", "not-a-uuid", str(tmp_path / "x")], "a UUID"),
        (["discussion", "recompute", "00000000-0000-0000-0000-000000000000"], "no discussion with this id"),
    ):
        result = run(args, dsn, tmp_path, STRAATSTEM_NLP_MODEL="lexical")
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.count("\n") == 1 and message in result.stderr, (args, result.stderr)
