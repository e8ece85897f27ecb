from __future__ import annotations

import h3.api.basic_int as h3i
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import kanon, location

# Points within ~6 km of Den Haag: several res-7 cells, many shared res-8 parents.
points = st.tuples(st.floats(52.03, 52.11), st.floats(4.23, 4.37))
count_maps = st.dictionaries(points.map(lambda p: location.snap(*p)), st.integers(0, 12), max_size=60)
ks = st.integers(kanon.K_FLOOR, 8)


@settings(max_examples=300)
@given(count_maps, ks)
def test_merging_invariants(counts: dict[int, int], k: int) -> None:
    merged = kanon.merge(counts, k)
    units = merged.units
    # k presence
    assert all(u.count >= k for u in units)
    # no displayed cell is an ancestor of another
    cells = {u.cell: u for u in units}
    for u in units:
        for r in range(kanon.COARSE, u.resolution):
            assert h3i.cell_to_parent(u.cell, r) not in cells
    # partition and conservation
    nonzero = {c: n for c, n in counts.items() if n}
    beneath: dict[int, int] = {u.cell: 0 for u in units}
    suppressed = 0
    for cell, n in nonzero.items():
        holders = [u for u in units if h3i.cell_to_parent(cell, u.resolution) == u.cell]
        assert len(holders) <= 1
        if holders:
            beneath[holders[0].cell] += n
        else:
            suppressed += n
    assert all(beneath[u.cell] == u.count for u in units)
    assert suppressed == merged.suppressed_reports
    assert sum(u.count for u in units) + merged.suppressed_reports == sum(nonzero.values())
    # suppressed reports sit in res-7 cells whose whole total is below k
    coarse_totals: dict[int, int] = {}
    for cell, n in nonzero.items():
        parent = h3i.cell_to_parent(cell, 7)
        coarse_totals[parent] = coarse_totals.get(parent, 0) + n
    assert merged.suppressed_units == sum(1 for t in coarse_totals.values() if t < k)


@given(count_maps, ks)
def test_all_or_nothing_between_siblings(counts: dict[int, int], k: int) -> None:
    merged = kanon.merge(counts, k)
    shown = {u.cell for u in merged.units}
    for u in merged.units:
        if u.resolution == kanon.FINE:
            # every non-empty sibling under the same res-8 parent is shown too
            parent = h3i.cell_to_parent(u.cell, kanon.MIDDLE)
            siblings = [c for c, n in counts.items() if n and h3i.cell_to_parent(c, kanon.MIDDLE) == parent]
            assert all(s in shown for s in siblings)


def test_small_hand_worked_example() -> None:
    a = location.snap(52.0799, 4.3247)
    siblings = [c for c in h3i.cell_to_children(h3i.cell_to_parent(a, 8), 9) if c != a][:2]
    # All three children >= 5: children shown.
    merged = kanon.merge({a: 5, siblings[0]: 6, siblings[1]: 7}, 5)
    assert sorted(u.count for u in merged.units) == [5, 6, 7] and {u.resolution for u in merged.units} == {9}
    # One child below k: the res-8 parent alone, with the true total.
    merged = kanon.merge({a: 5, siblings[0]: 6, siblings[1]: 2}, 5)
    assert [(u.resolution, u.count) for u in merged.units] == [(8, 13)]
    # Everything below k: suppressed at res 7.
    merged = kanon.merge({a: 1, siblings[0]: 2}, 5)
    assert merged.units == () and merged.suppressed_units == 1 and merged.suppressed_reports == 3


def test_breakdowns_follow_the_rule() -> None:
    assert kanon.breakdown({"verbal": 5, "physical": 0, "threat": 7}, 5) == {"verbal": 5, "threat": 7}
    assert kanon.breakdown({"verbal": 5, "physical": 1}, 5) is None


@pytest.mark.parametrize("k", [0, 1, 2, -5, True])
def test_k_floor_is_enforced(k: int) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        kanon.merge({}, k)


def test_only_res9_counts_are_accepted() -> None:
    with pytest.raises(ValueError, match="res-9"):
        kanon.merge({h3i.cell_to_parent(location.snap(52.08, 4.32), 8): 5}, 5)
    with pytest.raises(ValueError, match="negative"):
        kanon.merge({location.snap(52.08, 4.32): -1}, 5)
