"""What the chatbot may say about a discussion's area: figures from the municipality's latest
*public* release only (k-anonymous, differentially private, banded; aggregation/releases.py),
never from reports themselves. So the bot can say nothing that a resident could not already
read on the public map, and quoting it costs no privacy budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from aggregation import releases
from privacy import location

AREA_RESOLUTION = 7


@dataclass(frozen=True)
class AreaFigures:
    """`period` of the latest public release (None when there is none); `parts`: released
    cells overlapping the area (cells below the public threshold are not in a release);
    `top_band`: the highest band among them, e.g. "25-49"."""

    period: str | None
    parts: int
    top_band: str | None


def _overlaps(cell: int, resolution: int, area: frozenset[int]) -> bool:
    if resolution >= AREA_RESOLUTION:
        return location.parent(cell, AREA_RESOLUTION) in area
    return any(location.parent(a, resolution) == cell for a in area)


async def area_figures(conn: asyncpg.Connection, municipality: str, area: Sequence[int]) -> AreaFigures | None:
    """None when the discussion has no area."""
    if not area:
        return None
    release = await releases.latest_public(conn, municipality)
    if release is None:
        return AreaFigures(None, 0, None)
    cells = frozenset(area)
    bands = [c.band for c in release.cells if _overlaps(location.parse_cell(c.cell, c.resolution), c.resolution, cells)]
    order = {band: i for i, band in enumerate(release.bands)}
    top = max(bands, key=lambda b: order.get(b, -1)) if bands else None
    return AreaFigures(release.period, len(bands), top)
