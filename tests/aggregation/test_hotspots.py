from __future__ import annotations

import math
import random
import time

import h3.api.basic_int as h3i
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregation import hotspots as hs

# A res-8 cell in Den Haag; grid_disk patches around it are real H3 geometry without pentagons.
CENTRE = h3i.latlng_to_cell(52.0799, 4.3247, 8)


def patch(radius: int, centre: int = CENTRE) -> list[int]:
    return sorted(h3i.grid_disk(centre, radius))


def naive_gi_star(values: dict[int, float], ring: int) -> dict[int, float]:
    """Textbook Gi* with a dense weight matrix from grid_distance and plain loops."""
    cells = list(values)
    n = len(cells)
    x = [float(values[c]) for c in cells]
    w = [[1.0 if h3i.grid_distance(a, b) <= ring else 0.0 for b in cells] for a in cells]
    mean = sum(x) / n
    s = math.sqrt(max(sum(v * v for v in x) / n - mean * mean, 0.0))
    out: dict[int, float] = {}
    for i, cell in enumerate(cells):
        sw = sum(w[i])
        sw2 = sum(v * v for v in w[i])
        lag = sum(w[i][j] * x[j] for j in range(n))
        var = (n * sw2 - sw * sw) / (n - 1)
        if max(x) == min(x) or var == 0:
            out[cell] = 0.0
        else:
            out[cell] = (lag - mean * sw) / (s * math.sqrt(var))
    return out


@st.composite
def value_maps(draw: st.DrawFn) -> dict[int, float]:
    cells = patch(draw(st.integers(4, 8)))
    keep = draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    chosen = [c for c, k in zip(cells, keep, strict=True) if k]
    if len(chosen) < 3:
        chosen = cells
    counts = draw(st.lists(st.integers(-20, 300), min_size=len(chosen), max_size=len(chosen)))
    return {c: float(v) for c, v in zip(chosen, counts, strict=True)}


@settings(max_examples=60, deadline=None)
@given(value_maps(), st.integers(1, 2))
def test_gi_star_matches_naive_dense_implementation(values: dict[int, float], ring: int) -> None:
    fast = hs.gi_star(values, ring)
    slow = naive_gi_star(values, ring)
    assert fast.keys() == slow.keys()
    for cell in values:
        assert fast[cell] == pytest.approx(slow[cell], rel=1e-7, abs=1e-9)


def test_gi_star_known_value_on_a_line_of_three() -> None:
    # Three cells in a row a-b-c: a and c see two cells, b sees all three (z = 0 by convention).
    a = CENTRE
    b = h3i.grid_ring(a, 1)[0]
    c = next(x for x in h3i.grid_ring(b, 1) if h3i.grid_distance(a, x) == 2)
    z = hs.gi_star({a: 3.0, b: 0.0, c: 0.0})
    # n=3, mean 1, S = sqrt(2), sqrt((3*2 - 2^2)/2) = 1; a: (3 - 1*2) / sqrt(2); c: (0 - 1*2) / sqrt(2)
    assert z[a] == pytest.approx(1 / math.sqrt(2))
    assert z[c] == pytest.approx(-math.sqrt(2))
    assert z[b] == 0.0


def planted(radius: int, background: list[float], centre: int, value: float) -> dict[int, float]:
    cells = patch(radius)
    values = dict(zip(cells, background, strict=True))
    for cell in h3i.grid_disk(centre, 1):
        values[cell] = value
    return values


@pytest.mark.parametrize("seed", range(5))
def test_planted_cluster_is_a_hot_spot_at_its_centre(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = len(patch(6))
    values = planted(6, [float(v) for v in rng.integers(0, 4, n)], CENTRE, 30.0)
    found = hs.hotspots(values)
    assert found[0].cell == CENTRE
    assert found[0].kind == "hot" and found[0].q <= 0.05 and found[0].z > 3
    assert all(h.kind == "hot" for h in found)  # nothing cold in a flat field with one cluster


@pytest.mark.parametrize("seed", range(5))
def test_planted_hole_is_a_cold_spot(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = len(patch(6))
    values = planted(6, [float(v) for v in rng.integers(48, 53, n)], CENTRE, 0.0)
    found = hs.hotspots(values)
    assert found[0].cell == CENTRE
    assert found[0].kind == "cold" and found[0].q <= 0.05 and found[0].z < -3
    assert all(h.kind == "cold" for h in found)


@pytest.mark.parametrize("level", [0.0, 7.0, -3.0])
def test_flat_field_has_no_hot_spots(level: float) -> None:
    values = dict.fromkeys(patch(5), level)
    assert all(z == 0.0 for z in hs.gi_star(values).values())
    assert hs.hotspots(values) == []


@pytest.mark.parametrize("seed", range(5))
def test_flat_noisy_field_has_no_hot_spots(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    cells = patch(6)
    values = {c: float(v) for c, v in zip(cells, rng.integers(0, 4, len(cells)), strict=True)}
    assert hs.hotspots(values) == []


@settings(max_examples=60, deadline=None)
@given(value_maps(), st.floats(-1000, 1000), st.floats(0.01, 100))
def test_z_is_invariant_under_shift_and_positive_scale(values: dict[int, float], shift: float, scale: float) -> None:
    base = hs.gi_star(values)
    shifted = hs.gi_star({c: v + shift for c, v in values.items()})
    scaled = hs.gi_star({c: v * scale for c, v in values.items()})
    for cell, z in base.items():
        assert shifted[cell] == pytest.approx(z, rel=1e-7, abs=1e-7)
        assert scaled[cell] == pytest.approx(z, rel=1e-7, abs=1e-7)


@settings(max_examples=40, deadline=None)
@given(value_maps(), st.randoms(use_true_random=False))
def test_dict_order_does_not_change_the_output(values: dict[int, float], rnd: random.Random) -> None:
    items = list(values.items())
    rnd.shuffle(items)
    shuffled = dict(items)
    assert hs.gi_star(shuffled) == hs.gi_star(values)
    assert list(hs.gi_star(shuffled)) == sorted(values)
    assert hs.hotspots(shuffled, alpha=0.2) == hs.hotspots(values, alpha=0.2)


def test_benjamini_hochberg_worked_example() -> None:
    # m = 8, sorted p with ranks r: p*m/r = .008 .032 .104 .082 .0672 .08 .0845714 .205;
    # the step-up (running minimum from the largest rank) lowers ranks 3 and 4 to .0672.
    p = [0.039, 0.001, 0.205, 0.041, 0.008, 0.074, 0.042, 0.06]
    expected = [0.0672, 0.008, 0.205, 0.0672, 0.032, 0.074 * 8 / 7, 0.0672, 0.08]
    assert hs.benjamini_hochberg(p) == pytest.approx(expected, rel=1e-12)
    assert hs.benjamini_hochberg([]) == []


@settings(max_examples=200)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=50))
def test_benjamini_hochberg_bounds_and_order(p: list[float]) -> None:
    q = hs.benjamini_hochberg(p)
    assert len(q) == len(p)
    assert all(pi <= qi + 1e-15 and qi <= 1.0 for pi, qi in zip(p, q, strict=True))
    for i in range(len(p)):
        for j in range(len(p)):
            if p[i] <= p[j]:
                assert q[i] <= q[j]


@pytest.mark.parametrize("bad", [[-0.1], [1.5], [float("nan")]])
def test_benjamini_hochberg_rejects_non_probabilities(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        hs.benjamini_hochberg(bad)


def twin_clusters() -> tuple[dict[int, float], int, int]:
    """Two identical clusters (30) and one hole (0) in a flat field (20) of 169 cells: the mean
    is exactly 20 and every centred sum is an exact integer, so the twin centres tie exactly."""
    cells = patch(7)  # 169 cells
    first = h3i.grid_ring(CENTRE, 3)[0]
    second = next(c for c in h3i.grid_ring(CENTRE, 3) if h3i.grid_distance(first, c) == 6)
    hole = next(
        c for c in h3i.grid_ring(CENTRE, 4) if min(h3i.grid_distance(c, first), h3i.grid_distance(c, second)) >= 4
    )
    values = dict.fromkeys(cells, 20.0)
    for centre in (first, second):
        for cell in h3i.grid_disk(centre, 1):
            values[cell] = 30.0
    for cell in h3i.grid_disk(hole, 1):
        values[cell] = 0.0
    return values, first, second


def test_ranking_hot_first_then_cold_with_ties_broken_by_cell_id() -> None:
    values, first, second = twin_clusters()
    found = hs.hotspots(values)
    kinds = [h.kind for h in found]
    assert "hot" in kinds and "cold" in kinds
    assert kinds == sorted(kinds, key=lambda k: k != "hot")  # all hot before any cold
    assert found == sorted(found, key=lambda h: (h.kind != "hot", -h.z if h.kind == "hot" else h.z, h.cell))
    assert [h.cell for h in found[:2]] == sorted([first, second])
    assert found[0].z == found[1].z  # an exact tie, settled by cell id
    assert all(h.q <= 0.05 for h in found)
    rnd = random.Random(7)
    items = list(values.items())
    rnd.shuffle(items)
    assert hs.hotspots(dict(items)) == found


def test_p_is_two_sided_normal_and_q_is_bh_over_the_whole_study_area() -> None:
    values, _, _ = twin_clusters()
    z = hs.gi_star(values)
    p_all = [math.erfc(abs(z[c]) / math.sqrt(2)) for c in z]  # two-sided normal tail
    q_all = dict(zip(z, hs.benjamini_hochberg(p_all), strict=True))
    found = hs.hotspots(values)
    assert found
    for h in found:
        assert h.z == z[h.cell]
        assert h.p == pytest.approx(math.erfc(abs(h.z) / math.sqrt(2)), rel=1e-9, abs=1e-300)
        assert h.q == pytest.approx(q_all[h.cell], rel=1e-9)
        assert h.p <= h.q <= 0.05
    reported = {h.cell for h in found}
    assert reported == {c for c in z if q_all[c] <= 0.05 and z[c] != 0}
    # q <= alpha is inclusive: alpha equal to a cell's q reports that cell
    boundary = max(hs.hotspots(values, alpha=0.9), key=lambda h: (h.q, h.cell))
    assert 0.05 < boundary.q < 0.9
    assert boundary in hs.hotspots(values, alpha=boundary.q)


def test_eligible_filters_output_but_not_the_correction() -> None:
    values, first, _ = twin_clusters()
    everything = hs.hotspots(values)
    allowed = {h.cell for h in everything} - {first}
    filtered = hs.hotspots(values, eligible=allowed)
    assert first not in {h.cell for h in filtered}
    assert filtered == [h for h in everything if h.cell != first]  # same q: BH over all cells
    assert hs.hotspots(values, eligible=[]) == []
    with pytest.raises(ValueError):
        hs.hotspots(values, eligible=[h3i.cell_to_parent(CENTRE, 7)])


def test_trend_labels() -> None:
    rng = np.random.default_rng(3)
    n = len(patch(6))
    background = [float(v) for v in rng.integers(0, 4, n)]
    strong = planted(6, background, CENTRE, 30.0)
    weak = dict(strong)
    for cell in h3i.grid_ring(CENTRE, 1)[:3]:
        weak[cell] = background[patch(6).index(cell)]
    flat = dict.fromkeys(patch(6), 1.0)

    def centre(values: dict[int, float], previous: dict[int, float] | None) -> hs.Hotspot:
        return next(h for h in hs.hotspots(values, previous) if h.cell == CENTRE)

    assert centre(strong, flat).trend == "up"  # previous z is 0 everywhere
    assert centre(strong, strong).trend == "steady"
    z_weak, z_strong = hs.gi_star(weak)[CENTRE], hs.gi_star(strong)[CENTRE]
    assert z_strong - z_weak >= hs.TREND_DELTA  # the construction really weakens the centre
    assert centre(weak, strong).trend == "down"
    assert centre(strong, None).trend == "new"
    assert centre(strong, {}).trend == "new"
    missing = {c: v for c, v in strong.items() if c != CENTRE}
    assert centre(strong, missing).trend == "new"
    for h in hs.hotspots(weak, strong):
        assert h.trend == hs.classify_trend(h.z, hs.gi_star(strong)[h.cell])


@pytest.mark.parametrize(
    ("z_now", "z_prev", "label"),
    [(3.0, 2.0, "up"), (2.0, 3.0, "down"), (3.0, 2.5, "steady"), (2.5, 3.0, "steady"), (3.0, None, "new")],
)
def test_classify_trend_threshold(z_now: float, z_prev: float | None, label: str) -> None:
    assert hs.TREND_DELTA == 1.0
    assert hs.classify_trend(z_now, z_prev) == label


def test_error_cases() -> None:
    cells = patch(1)
    with pytest.raises(ValueError, match="resolution"):
        hs.gi_star({**dict.fromkeys(cells, 1.0), h3i.cell_to_parent(CENTRE, 7): 2.0})
    with pytest.raises(ValueError, match="at least 3"):
        hs.gi_star(dict.fromkeys(cells[:2], 1.0))
    with pytest.raises(ValueError, match="valid H3"):
        hs.gi_star({1: 1.0, 2: 2.0, 3: 3.0})
    with pytest.raises(ValueError, match="finite"):
        hs.gi_star({**dict.fromkeys(cells, 1.0), CENTRE: float("nan")})
    for ring in (0, -1, True):
        with pytest.raises(ValueError, match="ring"):
            hs.gi_star(dict.fromkeys(cells, 1.0), ring=ring)
    values = {c: float(i) for i, c in enumerate(cells)}
    for alpha in (0.0, 1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            hs.hotspots(values, alpha=alpha)
    coarse = dict.fromkeys(h3i.grid_disk(h3i.cell_to_parent(CENTRE, 7), 1), 1.0)
    with pytest.raises(ValueError, match="previous"):
        hs.hotspots(values, coarse)


def test_twenty_thousand_cells_are_fast() -> None:
    cells = patch(82)[:20_000]
    rng = np.random.default_rng(0)
    values = {c: float(v) for c, v in zip(cells, rng.poisson(3, len(cells)), strict=True)}
    start = time.perf_counter()
    z = hs.gi_star(values)
    elapsed = time.perf_counter() - start
    assert len(z) == 20_000
    assert elapsed < 5.0  # measured about 0.1 s; the bound only catches a quadratic regression
