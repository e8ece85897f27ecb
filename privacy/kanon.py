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
shown only if every non-zero part has at least k reports, otherwise not at all (`passes`).

Invariants (property-tested in tests/privacy/test_kanon.py):
- every displayed unit holds 0 or at least k reports;
- no displayed cell is an ancestor of another (the display is a partition of part of space);
- every covered res-9 cell lies under exactly one displayed cell or one suppressed res-7 cell;
- conservation: a displayed count is the sum of the true counts beneath it (so the counts of
  merged children add up to their parent);
- k below the floor (3) is refused.
This module decides geometry only; noise is added to the displayed values afterwards.

The rule runs over a municipality's whole coverage, so the result covers every coverage cell
exactly once (a displayed unit or a suppressed res-7 cell) and shows empty cells beside
non-empty siblings instead of leaving them out. Leaving empty cells out would publish exact
zeros, and counting only non-empty suppressed cells would let someone who knows every other
report see one report appear; a suppressed cell means "fewer than k, possibly none". With
`finest=8` (the public view) nothing finer than res 8 is shown.
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


def check_k(k: int) -> int:
    """k itself, if it respects the floor enforced in code."""
    if not isinstance(k, int) or isinstance(k, bool) or k < K_FLOOR:
        raise ValueError(f"k must be an integer of at least {K_FLOOR}")
    return k


@dataclass(frozen=True, slots=True)
class Partition:
    units: tuple[Unit, ...]  # displayed, sorted by (resolution, cell)
    suppressed: tuple[int, ...]  # res-7 cells with fewer than k reports, sorted


def partition(counts: Mapping[int, int], k: int, coverage: Iterable[int], finest: int = FINE) -> Partition:
    """Displayed units and suppressed res-7 cells covering every cell of `coverage` (res 9).

    `counts` are true counts per res-9 cell and must lie inside `coverage`. A non-empty cell is
    split into its children (those holding coverage) only if every non-empty child has at least
    k reports, and never below `finest` (9 for staff, 8 for the public view)."""
    check_k(k)
    if finest not in (MIDDLE, FINE):
        raise ValueError("finest must be 8 or 9")
    children: dict[int, set[int]] = defaultdict(set)
    covered: set[int] = set()
    for cell in coverage:
        if h3i.get_resolution(cell) != FINE:
            raise ValueError("coverage must consist of res-9 cells")
        covered.add(cell)
        middle = int(h3i.cell_to_parent(cell, MIDDLE))
        children[middle].add(cell)
        children[int(h3i.cell_to_parent(middle, COARSE))].add(middle)
    totals: dict[int, int] = defaultdict(int)
    for cell, count in counts.items():
        if count < 0:
            raise ValueError("counts must not be negative")
        if cell not in covered:
            raise ValueError("counts must lie inside the coverage")
        if count:
            totals[cell] += count
            middle = int(h3i.cell_to_parent(cell, MIDDLE))
            totals[middle] += count
            totals[int(h3i.cell_to_parent(middle, COARSE))] += count

    units: list[Unit] = []
    suppressed: list[int] = []

    def show(cell: int, resolution: int) -> None:
        kids = children[cell]
        # An empty cell stays whole: splitting it would only scatter noisy zeros.
        if resolution < finest and totals[cell] > 0 and passes((totals[c] for c in kids), k):
            for child in kids:
                show(child, resolution + 1)
        else:
            units.append(Unit(cell, resolution, totals[cell]))

    for coarse in {c for c in children if h3i.get_resolution(c) == COARSE}:
        if totals[coarse] < k:
            suppressed.append(coarse)
        else:
            show(coarse, COARSE)
    units.sort(key=lambda u: (u.resolution, u.cell))
    suppressed.sort()
    return Partition(tuple(units), tuple(suppressed))


def passes(counts: Iterable[int], k: int) -> bool:
    """The all-or-nothing rule: True if every count is 0 or at least k. Decides both whether a
    cell may show its children and whether a unit may show a breakdown."""
    check_k(k)
    values = list(counts)
    if any(v < 0 for v in values):
        raise ValueError("counts must not be negative")
    return all(v == 0 or v >= k for v in values)
