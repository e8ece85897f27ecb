"""Adding municipalities: coverage from a GeoJSON boundary or a circle.

Border rule: a res-9 cell belongs to the municipality whose boundary contains the cell's
centre (H3 centre containment). Boundaries that share an edge therefore split the cells along
it without overlap. Where boundaries overlap (or circles are used), the municipality added
first keeps the cell; `add` reports how many cells were already taken.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from api.municipalities import repository as repo
from privacy import location

SLUG = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


class MunicipalityError(ValueError):
    pass


@dataclass(frozen=True)
class Added:
    slug: str
    cells: int
    skipped: int


def cells_from_boundary(path: Path) -> set[int]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise MunicipalityError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MunicipalityError(f"{path} is not valid GeoJSON: {exc}") from None
    try:
        return location.cells_for_geojson(data)
    except ValueError as exc:
        raise MunicipalityError(f"{path}: {exc}") from None


def cells_from_circle(center: str, radius_km: float) -> set[int]:
    try:
        lat_text, lng_text = center.split(",")
        lat, lng = float(lat_text), float(lng_text)
    except ValueError:
        raise MunicipalityError("--center must be LAT,LNG in decimal degrees, e.g. 52.08,4.31") from None
    try:
        return location.cells_for_circle(lat, lng, radius_km)
    except ValueError as exc:
        raise MunicipalityError(f"--center/--radius-km: {exc}") from None


async def add(conn: asyncpg.Connection, slug: str, name: str, cells: set[int]) -> Added:
    if not SLUG.match(slug):
        raise MunicipalityError(
            "--slug must be 2-63 characters: lowercase letters, digits and '-', starting with a letter"
        )
    if not name.strip():
        raise MunicipalityError("--name must not be empty")
    if not cells:
        raise MunicipalityError("the area covers no res-9 cell; is it too small, or lat/lng swapped?")
    async with conn.transaction():
        if await repo.exists(conn, slug):
            raise MunicipalityError(f"municipality {slug!r} already exists")
        claimed = await repo.add(conn, slug, name.strip(), cells)
        if claimed == 0:
            raise MunicipalityError("every cell of this area already belongs to another municipality")
    return Added(slug=slug, cells=claimed, skipped=len(cells) - claimed)
