"""What staff read: views derived from frozen monthly releases, by post-processing only (no
extra epsilon, no raw report ever read).

A month view shows that month's release. A quarter or year view adds up the monthly releases
on a common geometry: per res-7 region, suppressed if any month suppressed it, otherwise the
finest level every month can be expressed at (a region shown whole in some month is shown
whole). Each value is a sum of independent noisy values, so its interval comes from the sum of
their noise (`privacy.noise.sum_interval_half_width`). A breakdown is shown for a combined cell
only if every month's contributing cell showed it; sums of parts that are each 0 or >= k are 0
or >= k, so the all-or-nothing rule survives the addition.

Filters (category, time-of-day band, or both) pick the matching part of the stored breakdown
layers; a cell whose breakdown was withheld shows no value for the filter ("withheld"), which
is different from zero, as a suppressed region is.

Invariants (tests/aggregation/test_views.py): every view cell is a displayed unit of every
month or a union of them; no view cell is an ancestor of another; a view depends only on the
stored bytes, so the same request gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import h3.api.basic_int as h3i
import msgspec

from aggregation.releases import INTERVAL_LEVEL, LAYER_PARTS, StaffRelease
from privacy import noise, taxonomy

BREAKDOWN_LAYERS = ("category", "band", "felt_safety")  # shown in unfiltered views


class FilterError(ValueError):
    """An unknown filter value, or a filter this deployment does not release."""


class Interval(msgspec.Struct, array_like=True):
    low: int
    high: int


class ViewCell(msgspec.Struct, omit_defaults=True):
    cell: str
    resolution: int
    count: int | None
    interval: Interval | None
    breakdowns: dict[str, dict[str, int]] | None = None
    withheld: bool = False


class Totals(msgspec.Struct):
    count: int
    interval: Interval
    cells: int
    withheld_cells: int
    suppressed_regions: int


class HeatmapView(msgspec.Struct):
    municipality: str
    period: str
    months: list[str]
    k: int
    filter: dict[str, str]
    layer: str
    interval_level: float
    epsilon_per_report: dict[str, str]
    noise_scale: dict[str, float]
    totals: Totals
    cells: list[ViewCell]
    suppressed: list[str]


@dataclass(frozen=True, slots=True)
class Selection:
    layer: str  # "total" or a breakdown layer
    part: int | None  # index into LAYER_PARTS[layer]
    filter: dict[str, str]


def select(category: str | None, band: str | None, released_layers: Sequence[str]) -> Selection:
    """The layer and part a filter reads; FilterError for unknown codes or layers not released."""
    chosen: dict[str, str] = {}
    if category is not None:
        if category not in taxonomy.CATEGORY_CODES:
            raise FilterError(f"category must be one of {', '.join(sorted(taxonomy.CATEGORY_CODES))}")
        chosen["category"] = category
    if band is not None:
        if band not in taxonomy.BAND_CODES:
            raise FilterError(f"band must be one of {', '.join(sorted(taxonomy.BAND_CODES))}")
        chosen["band"] = band
    if not chosen:
        return Selection("total", None, chosen)
    if category is not None and band is not None:
        layer, part = "category_band", f"{category}/{band}"
    elif category is not None:
        layer, part = "category", category
    else:
        assert band is not None
        layer, part = "band", band
    if layer not in released_layers:
        raise FilterError(f"this deployment does not release the {layer.replace('_', ' x ')} breakdown")
    return Selection(layer, LAYER_PARTS[layer].index(part), chosen)


def _region(cell: int, resolution: int) -> int:
    return cell if resolution == 7 else int(h3i.cell_to_parent(cell, 7))


def common_geometry(releases: Sequence[StaffRelease]) -> tuple[dict[tuple[int, int], list[tuple[int, int]]], set[int]]:
    """Combined cells -> the (month index, unit index) pairs they add up, and the suppressed
    res-7 regions."""
    suppressed: set[int] = set()
    whole7: set[int] = set()
    whole8: set[int] = set()
    for release in releases:
        suppressed.update(h3i.str_to_int(c) for c in release.suppressed)
        for unit in release.units:
            if unit.resolution == 7:
                whole7.add(h3i.str_to_int(unit.cell))
            elif unit.resolution == 8:
                whole8.add(h3i.str_to_int(unit.cell))
    groups: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for m, release in enumerate(releases):
        for u, unit in enumerate(release.units):
            cell = h3i.str_to_int(unit.cell)
            region = _region(cell, unit.resolution)
            if region in suppressed:
                continue
            if region in whole7:
                groups[(7, region)].append((m, u))
                continue
            middle = cell if unit.resolution == 8 else int(h3i.cell_to_parent(cell, 8))
            if middle in whole8:
                groups[(8, middle)].append((m, u))
            else:
                groups[(9, cell)].append((m, u))
    return groups, suppressed


def heatmap(
    releases: Sequence[StaffRelease], period: str, selection: Selection, level: float = INTERVAL_LEVEL
) -> HeatmapView:
    """The view of `period` from its monthly releases (in month order)."""
    if not releases:
        raise ValueError("a view needs at least one release")
    municipality = releases[0].municipality
    groups, suppressed = common_geometry(releases)
    cells: list[ViewCell] = []
    all_scales: list[float] = []
    withheld = 0
    layer = selection.layer
    for (resolution, cell), members in sorted(groups.items()):
        scales: list[float] = []
        value = 0
        available = True
        sums: dict[str, list[int]] = {}
        complete = set(BREAKDOWN_LAYERS)
        for m, u in members:
            release = releases[m]
            unit = release.units[u]
            if layer == "total":
                value += unit.count
                scales.append(release.scale["total"])
            elif layer in unit.layers and selection.part is not None:
                value += unit.layers[layer][selection.part]
                scales.append(release.scale[layer])
            else:
                available = False
            if layer == "total":
                for name in BREAKDOWN_LAYERS:
                    if name in unit.layers:
                        acc = sums.setdefault(name, [0] * len(LAYER_PARTS[name]))
                        for i, v in enumerate(unit.layers[name]):
                            acc[i] += v
                    else:
                        complete.discard(name)
        hex_cell = h3i.int_to_str(cell)
        if not available:
            withheld += 1
            cells.append(ViewCell(hex_cell, resolution, None, None, withheld=True))
            continue
        half = noise.sum_interval_half_width(tuple(sorted(scales)), level)
        breakdowns = None
        if layer == "total":
            breakdowns = {
                name: dict(zip(LAYER_PARTS[name], sums[name], strict=True))
                for name in BREAKDOWN_LAYERS
                if name in complete and name in sums
            } or None
        cells.append(ViewCell(hex_cell, resolution, value, Interval(value - half, value + half), breakdowns))
        all_scales.extend(scales)
    total = sum(c.count for c in cells if c.count is not None)
    total_half = noise.sum_interval_half_width(tuple(sorted(all_scales)), level)
    epsilon: dict[str, str] = {}
    scale: dict[str, float] = {}
    for release in releases:
        for name, eps in release.epsilon.items():
            # Each report lies in one month, so it spent what its own month's release spent.
            if name not in epsilon or float(eps) > float(epsilon[name]):
                epsilon[name] = eps
                scale[name] = release.scale[name]
    return HeatmapView(
        municipality=municipality,
        period=period,
        months=[r.period for r in releases],
        k=max(r.k for r in releases),
        filter=selection.filter,
        layer=layer,
        interval_level=level,
        epsilon_per_report=epsilon,
        noise_scale=scale,
        totals=Totals(
            count=total,
            interval=Interval(total - total_half, total + total_half),
            cells=len(cells) - withheld,
            withheld_cells=withheld,
            suppressed_regions=len(suppressed),
        ),
        cells=cells,
        suppressed=[h3i.int_to_str(c) for c in sorted(suppressed)],
    )


# --- GeoJSON (RFC 7946) and CSV --------------------------------------------------------------


def ring(cell: int) -> list[list[float]]:
    """The cell's boundary as a closed, counterclockwise [lng, lat] ring (RFC 7946 3.1.6)."""
    points = [[round(lng, 7), round(lat, 7)] for lat, lng in h3i.cell_to_boundary(cell)]
    area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(points, points[1:] + points[:1], strict=True))
    if area < 0:
        points.reverse()
    return [*points, points[0]]


def _flat_properties(cell: ViewCell) -> dict[str, object]:
    props: dict[str, object] = {
        "cell": cell.cell,
        "resolution": cell.resolution,
        "count": cell.count,
        "interval_low": cell.interval.low if cell.interval else None,
        "interval_high": cell.interval.high if cell.interval else None,
        "withheld": cell.withheld,
    }
    for name, parts in (cell.breakdowns or {}).items():
        for part, value in parts.items():
            props[f"{name}_{part}"] = value
    return props


def geojson(view: HeatmapView) -> dict[str, object]:
    features: list[dict[str, object]] = [
        {
            "type": "Feature",
            "id": c.cell,
            "geometry": {"type": "Polygon", "coordinates": [ring(h3i.str_to_int(c.cell))]},
            "properties": _flat_properties(c),
        }
        for c in view.cells
    ]
    features += [
        {
            "type": "Feature",
            "id": s,
            "geometry": {"type": "Polygon", "coordinates": [ring(h3i.str_to_int(s))]},
            "properties": {"cell": s, "resolution": 7, "suppressed": True},
        }
        for s in view.suppressed
    ]
    meta = msgspec.to_builtins(view)
    del meta["cells"], meta["suppressed"]
    return {"type": "FeatureCollection", "straatstem": meta, "features": features}


CSV_BASE = ["cell", "resolution", "count", "interval_low", "interval_high", "withheld"]


def csv_text(view: HeatmapView) -> str:
    columns = list(CSV_BASE)
    if view.layer == "total":
        columns += [f"{name}_{part}" for name in BREAKDOWN_LAYERS for part in LAYER_PARTS[name]]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    for cell in view.cells:
        props = _flat_properties(cell)
        props["withheld"] = "true" if cell.withheld else "false"
        writer.writerow({k: ("" if v is None else v) for k, v in props.items()})
    for s in view.suppressed:
        writer.writerow({"cell": s, "resolution": 7, "withheld": "suppressed"})
    return out.getvalue()


# --- hotspot input and trends ----------------------------------------------------------------


def res8_values(view: HeatmapView, coverage8: Sequence[int]) -> tuple[dict[int, float], set[int]]:
    """Released values per res-8 cell of the whole key set (post-processing): res-9 cells add up
    to their parent, a res-7 cell is spread evenly over its covered res-8 children; suppressed
    and withheld areas count 0 and are not eligible to be named a hotspot."""
    keys = set(coverage8)
    values: dict[int, float] = dict.fromkeys(keys, 0.0)
    eligible: set[int] = set()
    children7: dict[int, list[int]] = defaultdict(list)
    for middle in keys:
        children7[int(h3i.cell_to_parent(middle, 7))].append(middle)
    for cell in view.cells:
        if cell.count is None:
            continue
        index = h3i.str_to_int(cell.cell)
        if cell.resolution == 7:
            kids = children7.get(index, [])
            for kid in kids:
                values[kid] += cell.count / len(kids)
                eligible.add(kid)
        else:
            middle = index if cell.resolution == 8 else int(h3i.cell_to_parent(index, 8))
            if middle in values:
                values[middle] += cell.count
                eligible.add(middle)
    return values, eligible


class TrendPoint(msgspec.Struct):
    month: str
    total: int
    interval: Interval
    category: dict[str, int]
    band: dict[str, int]
    breakdown_cells: dict[str, int]  # cells whose breakdown was shown, per layer
    cells: int


def trend_point(release: StaffRelease, level: float = INTERVAL_LEVEL) -> TrendPoint:
    """A month's released totals. Category and band sums cover only cells whose breakdown was
    shown (`breakdown_cells` of `cells`), so they are lower bounds of the month's totals."""
    total = sum(u.count for u in release.units)
    half = noise.sum_interval_half_width((release.scale["total"],) * len(release.units), level)
    sums: dict[str, list[int]] = {}
    shown: dict[str, int] = {}
    for name in ("category", "band"):
        acc = [0] * len(LAYER_PARTS[name])
        shown[name] = 0
        for unit in release.units:
            if name in unit.layers:
                shown[name] += 1
                for i, v in enumerate(unit.layers[name]):
                    acc[i] += v
        sums[name] = acc
    return TrendPoint(
        month=release.period,
        total=total,
        interval=Interval(total - half, total + half),
        category=dict(zip(LAYER_PARTS["category"], sums["category"], strict=True)),
        band=dict(zip(LAYER_PARTS["band"], sums["band"], strict=True)),
        breakdown_cells=shown,
        cells=len(release.units),
    )
