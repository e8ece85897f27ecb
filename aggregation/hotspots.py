"""Hotspots: Getis-Ord Gi* on released noisy counts with Benjamini-Hochberg correction
(DESIGN.md section 3, "Hotspots").

Gi* (Ord & Getis 1995, the standardized G*_i) asks, for every cell i, whether the values in
i's neighbourhood are higher (hot) or lower (cold) than the study area as a whole would give
a neighbourhood of that size by chance. With n cells, values x, mean X and
S = sqrt(sum x^2 / n - X^2), binary weights w_ij and W_i = sum_j w_ij:

    z_i = (sum_j w_ij x_j - X W_i) / (S sqrt((n sum_j w_ij^2 - W_i^2) / (n - 1)))

Under the randomization null z_i has mean 0 and variance 1; like Ord & Getis we read p-values
from the normal distribution (two-sided), which is an approximation for small neighbourhoods.

Privacy: the input is the released, already differentially private res-8 values of one
municipality (discrete Laplace noise over a data-independent key set). Gi* only reads those
released numbers, never the raw reports, so it is post-processing: it costs no epsilon and
needs no ledger entry. Noise inflates S, which makes the statistic more conservative, not
less private. Negative noisy counts are accepted as they are (the standardized form is defined
for any real values).

Neighbourhood and study area: the study area is exactly the key set of `values` (the caller
passes the municipality's full key set, zeros included, so it does not depend on the data).
The neighbourhood of i is h3 `grid_disk(i, ring)` intersected with the key set, i itself
included, with weight 1 (so sum_j w_ij^2 = W_i). Edge cells simply have fewer neighbours.
Two conventions where the formula divides by zero: if all values are equal (S = 0) every z
is 0.0, and a cell whose neighbourhood is the whole study area (W_i = n) gets z = 0.0 (its
numerator is identically zero). S and the numerator are computed on centred values
x - X, which is algebraically the formula above and numerically stabler.

Multiple testing: every cell of the study area is a test, so p-values are corrected with
Benjamini-Hochberg (scipy's `false_discovery_control`) over all cells, before any filtering
to `eligible` cells; a cell is reported if its q-value is at most alpha. Neighbouring Gi*
values are positively correlated; BH over them is the customary choice (as in GIS packages),
not an exact FDR guarantee.

Trend: the same cell's z in the previous period (gi_star on `previous`) is compared with the
current z; a change of at least TREND_DELTA is "up" or "down", less is "steady", and a cell
without a previous value is "new". TREND_DELTA is a display threshold, not a test.

Invariants (tests/aggregation/test_hotspots.py):
- gi_star equals an independent dense, loop-based implementation of the textbook formula;
- z is unchanged by adding a constant to all values or multiplying them by a positive one;
- the result does not depend on the iteration order of the input mapping (cells are
  processed in ascending id order);
- a planted cluster is found as a hot spot at its centre, a planted hole as a cold spot, and
  a flat field gives none;
- q-values satisfy p <= q <= 1 and keep the order of the p-values;
- output is ranked hot spots first by descending z, then cold spots by ascending z, ties by
  ascending cell id, and contains only `eligible` cells when that is given.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt
from scipy import sparse, stats  # type: ignore[import-untyped]

MIN_CELLS = 3
TREND_DELTA = 1.0  # |z_now - z_prev| at which a cell's trend counts as "up" or "down"

Kind = Literal["hot", "cold"]
Trend = Literal["up", "down", "steady", "new"]


@dataclass(frozen=True, slots=True)
class Hotspot:
    """A cell whose Gi* z-score is significant after Benjamini-Hochberg correction."""

    cell: int
    kind: Kind
    z: float
    p: float  # two-sided, normal approximation
    q: float  # Benjamini-Hochberg adjusted over the whole study area
    trend: Trend


def _check_ring(ring: int) -> int:
    if not isinstance(ring, int) or isinstance(ring, bool) or ring < 1:
        raise ValueError("ring must be an integer of at least 1")
    return ring


def _study_area(values: Mapping[int, float]) -> tuple[list[int], npt.NDArray[np.float64]]:
    """Cells in ascending order and their values, validated."""
    if len(values) < MIN_CELLS:
        raise ValueError(f"Gi* needs at least {MIN_CELLS} cells")
    cells = sorted(int(c) for c in values)
    if not all(h3i.is_valid_cell(c) for c in cells):
        raise ValueError("keys must be valid H3 cells")
    resolution = h3i.get_resolution(cells[0])
    if any(h3i.get_resolution(c) != resolution for c in cells):
        raise ValueError("all cells must have the same resolution")
    x = np.array([float(values[c]) for c in cells], dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("values must be finite numbers")
    return cells, x


def _weights(cells: Sequence[int], ring: int) -> sparse.csr_array:
    """Binary neighbour matrix: w_ij = 1 if cell j is within `ring` steps of cell i."""
    index = {c: i for i, c in enumerate(cells)}
    rows: list[int] = []
    cols: list[int] = []
    for i, cell in enumerate(cells):
        for neighbour in h3i.grid_disk(cell, ring):
            j = index.get(neighbour)
            if j is not None:
                rows.append(i)
                cols.append(j)
    n = len(cells)
    return sparse.csr_array((np.ones(len(rows)), (np.array(rows), np.array(cols))), shape=(n, n))


def gi_star(values: Mapping[int, float], ring: int = 1) -> dict[int, float]:
    """Gi* z-score per cell of `values` (H3 cells of one resolution, at least three), in
    ascending cell order."""
    _check_ring(ring)
    cells, x = _study_area(values)
    n = len(cells)
    if x.max() == x.min():
        return dict.fromkeys(cells, 0.0)
    weights = _weights(cells, ring)
    centred = x - x.mean()
    s = math.sqrt(float(np.mean(centred * centred)))
    w = np.diff(weights.indptr).astype(np.float64)  # W_i; binary, so also sum_j w_ij^2
    numerator = np.asarray(weights @ centred, dtype=np.float64)
    spread = w * (n - w) / (n - 1)  # (n sum w^2 - W^2) / (n - 1)
    whole = spread <= 0  # the neighbourhood is the whole study area
    denominator = s * np.sqrt(np.where(whole, 1.0, spread))
    z = np.where(whole, 0.0, numerator / denominator)
    return {cell: float(zi) for cell, zi in zip(cells, z, strict=True)}


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg q-values (adjusted p-values), in the order of `pvalues`."""
    p = np.asarray(pvalues, dtype=np.float64)
    if p.size == 0:
        return []
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("p-values must lie in [0, 1]")
    q = np.asarray(stats.false_discovery_control(p, method="bh"), dtype=np.float64)
    return [float(v) for v in q]


def classify_trend(z_now: float, z_prev: float | None) -> Trend:
    """Trend label of a cell from its current and previous z (None: no previous value)."""
    if z_prev is None:
        return "new"
    delta = z_now - z_prev
    if delta >= TREND_DELTA:
        return "up"
    if delta <= -TREND_DELTA:
        return "down"
    return "steady"


def hotspots(
    values: Mapping[int, float],
    previous: Mapping[int, float] | None = None,
    *,
    alpha: float = 0.05,
    ring: int = 1,
    eligible: Collection[int] | None = None,
) -> list[Hotspot]:
    """Significant hot and cold spots of `values`, hot first by descending z, then cold by
    ascending z, ties by cell id. `previous` gives the trend (an empty mapping counts as
    None); `eligible`, a subset of the keys, limits which cells are reported, not the test."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")
    z = gi_star(values, ring)
    cells = list(z)
    z_arr = np.array([z[c] for c in cells], dtype=np.float64)
    p = 2.0 * np.asarray(stats.norm.sf(np.abs(z_arr)), dtype=np.float64)
    p = np.minimum(p, 1.0)
    q = benjamini_hochberg([float(v) for v in p])

    if eligible is None:
        allowed = set(cells)
    else:
        allowed = {int(c) for c in eligible}
        if not allowed <= z.keys():
            raise ValueError("eligible cells must be keys of values")

    z_prev: dict[int, float] = {}
    if previous:
        z_prev = gi_star(previous, ring)
        if h3i.get_resolution(next(iter(z_prev))) != h3i.get_resolution(cells[0]):
            raise ValueError("previous must have the same resolution as values")

    found: list[Hotspot] = []
    for cell, zi, pi, qi in zip(cells, z_arr, p, q, strict=True):
        if cell not in allowed or qi > alpha or zi == 0:
            continue
        zf = float(zi)
        kind: Kind = "hot" if zf > 0 else "cold"
        found.append(Hotspot(cell, kind, zf, float(pi), qi, classify_trend(zf, z_prev.get(cell))))
    found.sort(key=lambda h: (h.kind != "hot", -h.z if h.kind == "hot" else h.z, h.cell))
    return found
