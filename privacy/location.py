"""Location coarsening on the H3 hierarchy.

Invariants (property-tested in tests/privacy/test_location.py):
- The only location a report can carry is a valid H3 cell at `REPORT_RESOLUTION` (9).
- Coordinates are snapped to that cell in memory and never returned by any function here,
  so callers cannot echo them.
- Coarser cells are always derived with `cell_to_parent` from the stored res-9 cell, never by
  re-indexing a point: H3 children do not tile their parent geometrically, so re-indexing a
  point at a coarser resolution can land in a different cell than the hierarchy says.
- Coverage of an area is the set of res-9 cells whose *centre* lies inside the area
  (h3's centre-containment rule). Two areas that share a border therefore never both contain
  a cell unless their polygons overlap; overlap is resolved by the caller (first claim wins).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import h3
import h3.api.basic_int as h3i

REPORT_RESOLUTION = 9
AREA_RESOLUTIONS = (7, 8, 9)
_HEX_CHARS = frozenset("0123456789abcdef")


class CellError(ValueError):
    """An H3 cell that is malformed, invalid or at the wrong resolution."""


class CoordinateError(ValueError):
    """Coordinates that are not a finite point on Earth. The message never repeats them."""


def parse_cell(text: str, resolution: int = REPORT_RESOLUTION) -> int:
    """Parse an H3 hex string into its integer, accepting only valid cells at `resolution`.

    Invariant: a returned value is a valid H3 cell index at exactly `resolution`.
    """
    if not isinstance(text, str) or not 1 <= len(text) <= 16:
        raise CellError("cell must be an H3 index as a 15-16 character hex string")
    lowered = text.lower()
    if not _HEX_CHARS.issuperset(lowered):
        raise CellError("cell must be an H3 index as a hex string (0-9, a-f)")
    cell = int(lowered, 16)
    if not h3i.is_valid_cell(cell):
        raise CellError("cell is not a valid H3 cell index")
    actual = h3i.get_resolution(cell)
    if actual != resolution:
        raise CellError(f"cell has H3 resolution {actual}; resolution {resolution} is required")
    return cell


def cell_hex(cell: int) -> str:
    """Hex string form of an H3 integer (the wire format; integers exceed 2**53)."""
    return str(h3i.int_to_str(cell))


def snap(lat: float, lng: float, resolution: int = REPORT_RESOLUTION) -> int:
    """The res-9 cell containing a point. The point itself is not kept or echoed.

    Invariant: returns a valid cell at `resolution`; raises CoordinateError (whose message
    contains no coordinate) for non-finite or out-of-range input.
    """
    if not (isinstance(lat, int | float) and isinstance(lng, int | float)):
        raise CoordinateError("lat and lng must be numbers")
    if not (math.isfinite(lat) and math.isfinite(lng)):
        raise CoordinateError("lat and lng must be finite numbers")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        raise CoordinateError("lat must lie in [-90, 90] and lng in [-180, 180]")
    return int(h3i.latlng_to_cell(float(lat), float(lng), resolution))


def parent(cell: int, resolution: int) -> int:
    """The ancestor of `cell` at `resolution`, by the H3 hierarchy (never by geometry)."""
    if resolution > h3i.get_resolution(cell):
        raise CellError("parent resolution must not be finer than the cell's")
    return int(h3i.cell_to_parent(cell, resolution))


def cells_for_circle(lat: float, lng: float, radius_km: float) -> set[int]:
    """Res-9 cells whose centre lies within `radius_km` of a point (a 64-gon approximation)."""
    if not (math.isfinite(radius_km) and 0.1 <= radius_km <= 100.0):
        raise ValueError("radius must be between 0.1 and 100 km")
    snap(lat, lng)  # validates the centre
    earth_radius_km = 6371.0088
    ring: list[tuple[float, float]] = []
    for i in range(64):
        bearing = 2 * math.pi * i / 64
        d = radius_km / earth_radius_km
        la1, lo1 = math.radians(lat), math.radians(lng)
        la2 = math.asin(math.sin(la1) * math.cos(d) + math.cos(la1) * math.sin(d) * math.cos(bearing))
        lo2 = lo1 + math.atan2(
            math.sin(bearing) * math.sin(d) * math.cos(la1),
            math.cos(d) - math.sin(la1) * math.sin(la2),
        )
        ring.append((math.degrees(la2), math.degrees(lo2)))
    return _shape_cells(h3.LatLngPoly(ring))


def cells_for_geojson(geojson: Mapping[str, Any]) -> set[int]:
    """Res-9 cells whose centre lies inside a GeoJSON Polygon/MultiPolygon, Feature or
    FeatureCollection (RFC 7946, lng/lat order)."""
    shapes = list(_geometries(geojson))
    if not shapes:
        raise ValueError("the GeoJSON holds no Polygon or MultiPolygon geometry")
    cells: set[int] = set()
    for geometry in shapes:
        try:
            shape = h3.geo_to_h3shape(geometry)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ValueError(f"invalid GeoJSON polygon: {exc}") from None
        cells |= _shape_cells(shape)
    return cells


def _geometries(obj: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    kind = obj.get("type") if isinstance(obj, Mapping) else None
    if kind == "FeatureCollection":
        for feature in obj.get("features") or []:
            yield from _geometries(feature)
    elif kind == "Feature":
        geometry = obj.get("geometry")
        if isinstance(geometry, Mapping):
            yield from _geometries(geometry)
    elif kind in ("Polygon", "MultiPolygon"):
        yield obj
    elif kind == "GeometryCollection":
        for geometry in obj.get("geometries") or []:
            yield from _geometries(geometry)


def _shape_cells(shape: h3.H3Shape) -> set[int]:
    return {int(h3.str_to_int(c)) for c in h3.h3shape_to_cells(shape, REPORT_RESOLUTION)}


def cell_boundary_geojson(cell: int) -> list[list[float]]:
    """Closed lng/lat ring of a cell, for GeoJSON output."""
    ring = [[lng, lat] for lat, lng in h3i.cell_to_boundary(cell)]
    ring.append(ring[0])
    return ring
