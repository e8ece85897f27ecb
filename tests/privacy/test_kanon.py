from __future__ import annotations

import h3.api.basic_int as h3i
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import kanon, location

# A patch of Den Haag: two rings of res-7 cells, so several res-7 regions with shared res-8
# parents, and counts on a random subset of its res-9 cells.
CENTRE = location.snap(52.0799, 4.3247)
COVERAGE = sorted(
    c for region in h3i.grid_disk(h3i.cell_to_parent(CENTRE, 7), 1) for c in h3i.cell_to_children(region, 9)
)[::3]
count_maps = st.dictionaries(st.sampled_from(COVERAGE), st.integers(0, 12), max_size=80)
ks = st.integers(kanon.K_FLOOR, 8)
finest = st.sampled_from([8, 9])


def _owners(cell: int, partition: kanon.Partition) -> list[tuple[int, int]]:
    owners = [(u.cell, u.resolution) for u in partition.units if h3i.cell_to_parent(cell, u.resolution) == u.cell]
    owners += [(s, 7) for s in partition.suppressed if h3i.cell_to_parent(cell, 7) == s]
    return owners


@settings(max_examples=200, deadline=None)
@given(count_maps, ks, finest)
def test_partition_invariants(counts: dict[int, int], k: int, fine: int) -> None:
    result = kanon.partition(counts, k, COVERAGE, finest=fine)
    # k presence: 0 or at least k reports in every displayed unit
    assert all(u.count == 0 or u.count >= k for u in result.units)
    # never finer than asked
    assert all(kanon.COARSE <= u.resolution <= fine for u in result.units)
    # no displayed cell is an ancestor of another
    shown = {u.cell for u in result.units} | set(result.suppressed)
    for u in result.units:
        for r in range(kanon.COARSE, u.resolution):
            assert h3i.cell_to_parent(u.cell, r) not in shown
    # partition of the whole coverage
    beneath = {u.cell: 0 for u in result.units}
    hidden = 0
    for cell in COVERAGE:
        owners = _owners(cell, result)
        assert len(owners) == 1
        owner, _resolution = owners[0]
        if owner in beneath:
            beneath[owner] += counts.get(cell, 0)
        else:
            hidden += counts.get(cell, 0)
    # conservation: each displayed count is the true sum beneath it
    assert all(beneath[u.cell] == u.count for u in result.units)
    assert sum(u.count for u in result.units) + hidden == sum(counts.values())
    # suppressed regions hold fewer than k reports
    for region in result.suppressed:
        assert sum(n for c, n in counts.items() if h3i.cell_to_parent(c, 7) == region) < k


@given(count_maps, ks)
def test_all_or_nothing_between_siblings(counts: dict[int, int], k: int) -> None:
    result = kanon.partition(counts, k, COVERAGE)
    shown = {u.cell for u in result.units}
    for u in result.units:
        if u.resolution > kanon.COARSE:
            # a shown child means every covered sibling is shown too, empty ones included
            parent = h3i.cell_to_parent(u.cell, u.resolution - 1)
            siblings = {
                c if u.resolution == 9 else h3i.cell_to_parent(c, 8)
                for c in COVERAGE
                if h3i.cell_to_parent(c, u.resolution - 1) == parent
            }
            for sibling in siblings:
                # shown itself, or split further (which needs its own reports to pass the rule)
                split = any(
                    h3i.get_resolution(c) > u.resolution and h3i.cell_to_parent(c, u.resolution) == sibling
                    for c in shown
                )
                assert sibling in shown or split


@given(count_maps, ks)
def test_one_report_more_or_less_never_changes_the_number_of_suppressed_regions_alone(
    counts: dict[int, int], k: int
) -> None:
    # Suppressed regions are every region below k, empty ones included: a lone report
    # cannot appear as "one more suppressed region".
    base = kanon.partition(counts, k, COVERAGE)
    empty = next(
        (c for c in COVERAGE if all(h3i.cell_to_parent(c, 7) != h3i.cell_to_parent(d, 7) for d in counts)), None
    )
    if empty is None:
        return
    plus = kanon.partition({**counts, empty: 1}, k, COVERAGE)
    assert len(plus.suppressed) == len(base.suppressed)


def test_small_hand_worked_example() -> None:
    a = CENTRE
    siblings = [c for c in h3i.cell_to_children(h3i.cell_to_parent(a, 8), 9) if c != a][:2]
    coverage = list(h3i.cell_to_children(h3i.cell_to_parent(a, 7), 9))
    # All non-empty children >= 5: children shown, the empty ones too (as zero); the empty
    # res-8 siblings stay whole.
    result = kanon.partition({a: 5, siblings[0]: 6, siblings[1]: 7}, 5, coverage)
    res9 = [u for u in result.units if u.resolution == 9]
    assert sorted(u.count for u in res9) == [0, 0, 0, 0, 5, 6, 7]
    assert [u.count for u in result.units if u.resolution == 8] == [0] * 6
    # One child below k: the res-8 parent alone, with the true total.
    result = kanon.partition({a: 5, siblings[0]: 6, siblings[1]: 2}, 5, coverage)
    assert [(u.resolution, u.count) for u in result.units if u.count] == [(8, 13)]
    # Everything below k: the res-7 region suppressed.
    result = kanon.partition({a: 1, siblings[0]: 2}, 5, coverage)
    assert result.units == () and result.suppressed == (h3i.cell_to_parent(a, 7),)


def test_public_partition_stops_at_res_8() -> None:
    a = CENTRE
    coverage = list(h3i.cell_to_children(h3i.cell_to_parent(a, 7), 9))
    counts = {c: 9 for c in coverage}
    assert {u.resolution for u in kanon.partition(counts, 5, coverage).units} == {9}
    assert {u.resolution for u in kanon.partition(counts, 5, coverage, finest=8).units} == {8}


def test_the_all_or_nothing_rule() -> None:
    assert kanon.passes([5, 0, 7], 5)
    assert kanon.passes([], 5)
    assert not kanon.passes([5, 1], 5)
    with pytest.raises(ValueError, match="negative"):
        kanon.passes([5, -1], 5)
    with pytest.raises(ValueError, match="at least 3"):
        kanon.passes([5], 2)


@pytest.mark.parametrize("k", [0, 1, 2, -5, True])
def test_k_floor_is_enforced(k: int) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        kanon.partition({}, k, COVERAGE)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="res-9"):
        kanon.partition({}, 5, [h3i.cell_to_parent(CENTRE, 8)])
    with pytest.raises(ValueError, match="negative"):
        kanon.partition({CENTRE: -1}, 5, [CENTRE])
    with pytest.raises(ValueError, match="inside the coverage"):
        kanon.partition({CENTRE: 1}, 5, COVERAGE[:1] if COVERAGE[0] != CENTRE else COVERAGE[1:2])
    with pytest.raises(ValueError, match="finest"):
        kanon.partition({}, 5, COVERAGE, finest=7)
