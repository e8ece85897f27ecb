"""Where the Polis open data lives for tests: ../shared/data/polis next to the repository
(CC BY 4.0, read in place, never copied), or STRAATSTEM_POLIS_DATA. Tests that need it skip
with a message saying where it was looked for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

POLIS_DATA = Path(
    os.environ.get("STRAATSTEM_POLIS_DATA", Path(__file__).resolve().parents[3] / "shared" / "data" / "polis")
)
CONVERSATIONS = (
    "15-per-hour-seattle",
    "brexit-consensus",
    "canadian-electoral-reform",
    "london.youth.policing",
    "scoop-hivemind.biodiversity",
)


def polis_folder(name: str) -> Path:
    folder = POLIS_DATA / name
    if not folder.is_dir():
        pytest.skip(
            f"Polis open data not found at {folder} (expected ../shared/data/polis next to the repository, "
            "or set STRAATSTEM_POLIS_DATA)"
        )
    return folder
