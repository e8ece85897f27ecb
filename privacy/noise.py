"""Differential privacy for released counts: discrete Laplace noise from OpenDP, its
uncertainty, and the epsilon ledger arithmetic (DESIGN.md section 3; issue 3 builds on it).

Invariants (tests/privacy/test_noise.py):
- `noisy_counts` adds independent discrete Laplace noise with scale sensitivity/epsilon to
  integer counts, sampled by OpenDP; it refuses to run if OpenDP's own privacy map says the
  measurement would cost more than the epsilon asked for. A statistical test checks the
  samples against the discrete Laplace mass function and fails for half the noise.
- `interval_half_width(scale, level)` is the smallest h with P(|noise| <= h) >= level;
  `sum_interval_half_width(scales, level)` the same for a sum of independent noises (views
  that add monthly releases), exact up to 16 terms and by the normal approximation beyond.
- `Ledger.charge` never lets the spent epsilon exceed the cap; arithmetic is exact
  (fractions), so many small charges cannot creep over the cap through rounding.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


class BudgetExceeded(ValueError):
    """A release would spend more epsilon than the ledger allows."""


def scale_for(epsilon: Fraction | float, sensitivity: int = 1) -> float:
    """Noise scale giving `epsilon`-DP for counts whose L1 sensitivity is `sensitivity`."""
    eps = float(epsilon)
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError("epsilon must be a positive finite number")
    if sensitivity < 1:
        raise ValueError("sensitivity must be at least 1")
    return sensitivity / eps


def _measurement(scale: float) -> Any:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    space = dp.vector_domain(dp.atom_domain(T="i64")), dp.l1_distance(T="i64")
    return dp.m.make_laplace(*space, scale=scale)


def noisy_counts(counts: Sequence[int], epsilon: Fraction | float, sensitivity: int = 1) -> list[int]:
    """Counts plus discrete Laplace noise, epsilon-DP for one report changing the vector's L1
    norm by at most `sensitivity` (a report falls in one cell: sensitivity 1)."""
    scale = scale_for(epsilon, sensitivity)
    measurement = _measurement(scale)
    # Trust OpenDP's accounting rather than our formula: it must not exceed what we charge.
    if float(measurement.map(sensitivity)) > float(epsilon) * (1 + 1e-9):
        raise BudgetExceeded("the measurement would cost more epsilon than charged")
    if not counts:
        return []
    noisy: list[int] = measurement([int(c) for c in counts])
    return noisy


def noise_parameter(scale: float) -> float:
    """a = exp(-1/scale): the ratio of successive probabilities of the discrete Laplace."""
    return math.exp(-1.0 / scale)


def pmf(x: int, scale: float) -> float:
    """P(noise = x) for discrete Laplace with this scale: (1-a)/(1+a) * a^|x|."""
    a = noise_parameter(scale)
    return (1 - a) / (1 + a) * a ** abs(x)


def interval_half_width(scale: float, level: float = 0.9) -> int:
    """Smallest h >= 0 with P(|noise| <= h) >= level; P(|noise| > h) = 2 a^(h+1) / (1+a)."""
    if not 0 < level < 1:
        raise ValueError("level must lie strictly between 0 and 1")
    a = noise_parameter(scale)
    tail = 1 - level
    h = math.log(tail * (1 + a) / 2) / math.log(a) - 1
    h_int = max(0, math.ceil(h - 1e-12))
    while 2 * a ** (h_int + 1) / (1 + a) > tail:  # guard against floating-point edge cases
        h_int += 1
    return h_int


def variance(scale: float) -> float:
    """Variance of discrete Laplace noise: 2a / (1-a)^2."""
    a = noise_parameter(scale)
    return 2 * a / (1 - a) ** 2


EXACT_TERMS = 16
_TAIL = 1e-12


def _truncated_pmf(scale: float) -> list[float]:
    a = noise_parameter(scale)
    # P(|noise| > L) = 2 a^(L+1) / (1+a) < _TAIL
    limit = max(1, math.ceil(math.log(_TAIL * (1 + a) / 2) / math.log(a)))
    return [pmf(x, scale) for x in range(-limit, limit + 1)]


@functools.lru_cache(maxsize=4096)
def sum_interval_half_width(scales: tuple[float, ...], level: float = 0.9) -> int:
    """Smallest h >= 0 with P(|N_1 + ... + N_n| <= h) >= level for independent discrete
    Laplace noises N_i with these scales. Exact (convolution of mass functions cut where less
    than 1e-12 is left in each tail, which can only widen the interval) for up to 16 terms;
    beyond that the normal approximation, whose error there is far below one count."""
    if not 0 < level < 1:
        raise ValueError("level must lie strictly between 0 and 1")
    if not scales:
        return 0
    if len(scales) == 1:
        return interval_half_width(scales[0], level)
    if len(scales) > EXACT_TERMS:
        from statistics import NormalDist

        sd = math.sqrt(sum(variance(s) for s in scales))
        return max(0, math.ceil(NormalDist().inv_cdf(0.5 + level / 2) * sd - 0.5))
    import numpy as np

    dist = np.array([1.0])
    for scale in sorted(scales):
        dist = np.convolve(dist, np.array(_truncated_pmf(scale)))
    centre = len(dist) // 2
    covered = float(dist[centre])
    h = 0
    while covered < level and h < centre:
        h += 1
        covered += float(dist[centre - h] + dist[centre + h])
    return h


@dataclass(frozen=True, slots=True)
class Ledger:
    """Epsilon spent from one bucket's budget, in exact arithmetic."""

    cap: Fraction
    spent: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        if self.cap <= 0 or self.spent < 0 or self.spent > self.cap:
            raise ValueError("a ledger needs 0 <= spent <= cap and a positive cap")

    @property
    def remaining(self) -> Fraction:
        return self.cap - self.spent

    def charge(self, epsilon: Fraction) -> Ledger:
        """The ledger after spending `epsilon`; BudgetExceeded if that would pass the cap."""
        if epsilon <= 0:
            raise ValueError("a charge must be positive")
        if self.spent + epsilon > self.cap:
            raise BudgetExceeded(f"spending {epsilon} would exceed the cap ({self.remaining} left of {self.cap})")
        return Ledger(self.cap, self.spent + epsilon)
