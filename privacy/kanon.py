"""k-anonymous adaptive merging of report counts on the H3 hierarchy (DESIGN.md section 3).

Geometry is decided on TRUE counts, all or nothing, top down:
- a res-7 cell whose total is below k is suppressed (nothing beneath it is shown);
- a res-7 cell shows its res-8 children only if every non-empty res-8 child has at least k
  reports; otherwise it is shown alone;
- a shown res-8 cell shows its res-9 children only if every non-empty res-9 child has at least
  k reports; otherwise it is shown alone.
Showing some children beside their parent's remainder is never allowed: subtracting one from
the other would expose a count below k.

Breakdowns (category, time-of-day band, felt safety) follow the same rule per displayed unit:
shown only if every non-zero part has at least k reports, otherwise not at all.

Invariants (property-tested in tests/privacy/test_kanon.py):
- every displayed unit holds at least k reports;
- no displayed cell is an ancestor of another (the display is a partition of part of space);
- every reported res-9 cell lies under exactly one displayed cell or one suppressed res-7 cell;
- conservation: a displayed count is the sum of the true counts beneath it, and displayed plus
  suppressed reports add up to all reports;
- k below the floor (3) is refused.
This module decides geometry only; noise is added to the displayed values afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import h3.api.basic_int as h3i

K_FLOOR = 3
FINE, MIDDLE, COARSE = 9, 8, 7


@dataclass(frozen=True, slots=True)
class Unit:
    """A displayed cell: its H3 index, resolution and true report count."""

    cell: int
    resolution: int
    count: int


@dataclass(frozen=True, slots=True)
class Merged:
    units: tuple[Unit, ...]
    suppressed_units: int  # res-7 cells with reports but fewer than k
    suppressed_reports: int


def check_k(k: int) -> int:
    """k itself, if it respects the floor enforced in code."""
    if not isinstance(k, int) or isinstance(k, bool) or k < K_FLOOR:
        raise ValueError(f"k must be an integer of at least {K_FLOOR}")
    return k


def merge(counts: Mapping[int, int], k: int) -> Merged:
    """Displayed units for true counts per res-9 cell. Zero counts are ignored."""
    check_k(k)
    by_middle: dict[int, dict[int, int]] = defaultdict(dict)
    for cell, count in counts.items():
        if count < 0:
            raise ValueError("counts must not be negative")
        if h3i.get_resolution(cell) != FINE:
            raise ValueError("counts must be keyed by res-9 cells")
        if count:
            by_middle[int(h3i.cell_to_parent(cell, MIDDLE))][cell] = count
    by_coarse: dict[int, dict[int, dict[int, int]]] = defaultdict(dict)
    for middle, children in by_middle.items():
        by_coarse[int(h3i.cell_to_parent(middle, COARSE))][middle] = children

    units: list[Unit] = []
    suppressed_units = suppressed_reports = 0
    for coarse in sorted(by_coarse):
        middles = by_coarse[coarse]
        totals = {middle: sum(children.values()) for middle, children in middles.items()}
        total = sum(totals.values())
        if total < k:
            suppressed_units += 1
            suppressed_reports += total
        elif any(t < k for t in totals.values()):
            units.append(Unit(coarse, COARSE, total))
        else:
            for middle in sorted(middles):
                children = middles[middle]
                if all(c >= k for c in children.values()):
                    units.extend(Unit(cell, FINE, children[cell]) for cell in sorted(children))
                else:
                    units.append(Unit(middle, MIDDLE, totals[middle]))
    return Merged(tuple(units), suppressed_units, suppressed_reports)


def breakdown(parts: Mapping[str, int], k: int) -> dict[str, int] | None:
    """A unit's breakdown if every non-zero part has at least k reports, else None."""
    check_k(k)
    if any(0 < v < k for v in parts.values()) or any(v < 0 for v in parts.values()):
        return None
    return {name: v for name, v in parts.items() if v}


def unit_of(cell: int, units: Iterable[Unit]) -> Unit | None:
    """The displayed unit that holds a res-9 cell, if any."""
    for unit in units:
        if h3i.cell_to_parent(cell, unit.resolution) == unit.cell:
            return unit
    return None
