"""Bulk report rows for aggregation tests, written straight into the intake tables (the
intake API is tested elsewhere; these tests need thousands of rows fast)."""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Sequence

import asyncpg
import h3.api.basic_int as h3i

from privacy import location, taxonomy

CATEGORIES = [t.code for t in taxonomy.CATEGORIES]
BANDS = [t.code for t in taxonomy.BANDS]

Row = tuple[int, str, str, str, int | None]  # cell, month, category, band, felt safety

# Den Haag around the central station, and the res-7 regions around it.
CENTRE = location.snap(52.0799, 4.3247)
NEIGHBOURHOOD = sorted(h3i.grid_disk(h3i.cell_to_parent(CENTRE, 7), 1))


def patch(regions: int) -> tuple[list[int], list[int]]:
    """The first `regions` res-7 cells around CENTRE (1-7) and all their res-9 cells."""
    chosen = NEIGHBOURHOOD[:regions]
    return chosen, sorted(c for r in chosen for c in h3i.cell_to_children(r, 9))


async def insert(conn: asyncpg.Connection, municipality: str, rows: Sequence[Row]) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in rows]
    await conn.copy_records_to_table(
        "report",
        columns=[
            "municipality",
            "id",
            "cell",
            "month",
            "category",
            "band",
            "felt_safety",
            "role",
            "language",
            "receipt_hash",
        ],
        records=[
            (municipality, rid, cell, month, category, band, felt, "victim", "nl", secrets.token_bytes(32))
            for rid, (cell, month, category, band, felt) in zip(ids, rows, strict=True)
        ],
    )
    return ids


def clustered(cells: Sequence[int], months: Sequence[str], n: int, seed: int = 7, rare: float = 0.2) -> list[Row]:
    """Reports concentrated on a few hot cells, with a thin spread elsewhere; a share `rare` of
    them in any category, the rest in the three most common ones."""
    rng = random.Random(seed)
    cells = sorted(cells)
    hot = rng.sample(cells, max(1, len(cells) // 8))
    rows: list[Row] = []
    for _ in range(n):
        cell = rng.choice(hot) if rng.random() < 0.7 else rng.choice(cells)
        rows.append(
            (
                cell,
                rng.choice(months),
                rng.choice(CATEGORIES) if rng.random() < rare else rng.choice(CATEGORIES[:3]),
                rng.choice(BANDS),
                rng.choice([None, 1, 2, 3, 4, 5]),
            )
        )
    return rows
