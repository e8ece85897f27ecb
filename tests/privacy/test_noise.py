from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privacy import noise

SAMPLES = 100_000
# Chi-square critical value by the Wilson-Hilferty approximation; alpha = 1e-6 keeps the
# chance of a false failure in CI negligible while half the noise is rejected by far.
Z_ONE_IN_A_MILLION = 4.753


def _chi2_critical(df: int, z: float = Z_ONE_IN_A_MILLION) -> float:
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def _chi2(samples: list[int], scale: float) -> tuple[float, int]:
    """Chi-square statistic of samples against discrete Laplace(scale), bins |x| <= B and two tails."""
    n = len(samples)
    bound = noise.interval_half_width(scale, 0.995)
    observed = Counter(max(-bound - 1, min(bound + 1, x)) for x in samples)
    stat = 0.0
    for x in range(-bound - 1, bound + 2):
        if abs(x) <= bound:
            p = noise.pmf(x, scale)
        else:
            a = noise.noise_parameter(scale)
            p = a ** (bound + 1) / (1 + a)  # one tail
        expected = n * p
        stat += (observed.get(x, 0) - expected) ** 2 / expected
    return stat, 2 * bound + 2  # bins - 1 degrees of freedom


@pytest.mark.parametrize("epsilon", [0.5, 1.0])
def test_noise_follows_discrete_laplace_for_the_declared_epsilon(epsilon: float) -> None:
    scale = noise.scale_for(epsilon)
    samples = noise.noisy_counts([0] * SAMPLES, epsilon)
    stat, df = _chi2(samples, scale)
    assert stat < _chi2_critical(df), f"chi2 {stat:.1f} with {df} df"


def test_the_check_catches_a_mechanism_with_half_the_noise() -> None:
    epsilon = 0.5
    half_noise = noise.noisy_counts([0] * SAMPLES, 2 * epsilon)  # scale halved
    stat, df = _chi2(half_noise, noise.scale_for(epsilon))
    assert stat > _chi2_critical(df)


def test_noise_is_added_to_the_counts_and_stays_integral() -> None:
    counts = [100, 0, 7] * 2000
    noisy = noise.noisy_counts(counts, 1.0)
    assert all(isinstance(v, int) for v in noisy)
    diffs = [n - c for n, c in zip(noisy, counts, strict=True)]
    assert abs(sum(diffs) / len(diffs)) < 0.2 and len(set(diffs)) > 5


@given(st.floats(0.2, 50), st.floats(0.5, 0.99))
def test_interval_is_the_smallest_with_enough_coverage(scale: float, level: float) -> None:
    h = noise.interval_half_width(scale, level)
    a = noise.noise_parameter(scale)
    outside = lambda width: 2 * a ** (width + 1) / (1 + a)  # noqa: E731
    assert outside(h) <= 1 - level + 1e-12
    if h > 0:
        assert outside(h - 1) > 1 - level


def test_pmf_sums_to_one() -> None:
    assert math.isclose(sum(noise.pmf(x, 3.0) for x in range(-400, 401)), 1.0, rel_tol=1e-9)


@given(
    st.lists(st.fractions(min_value=Fraction(1, 1000), max_value=Fraction(1)), max_size=40),
    st.fractions(min_value=Fraction(1, 10), max_value=Fraction(3)),
)
def test_ledger_is_never_exceeded(charges: list[Fraction], cap: Fraction) -> None:
    ledger = noise.Ledger(cap)
    for charge in charges:
        try:
            ledger = ledger.charge(charge)
        except noise.BudgetExceeded:
            assert ledger.spent + charge > cap
        assert ledger.spent <= ledger.cap


def test_ledger_arithmetic_is_exact() -> None:
    ledger = noise.Ledger(Fraction(1))
    for _ in range(10):
        ledger = ledger.charge(Fraction(1, 10))
    assert ledger.remaining == 0  # ten tenths fit exactly, no float creep
    with pytest.raises(noise.BudgetExceeded):
        ledger.charge(Fraction(1, 10**9))


@pytest.mark.parametrize("epsilon", [0, -1, float("inf"), float("nan")])
def test_bad_epsilon_is_refused(epsilon: float) -> None:
    with pytest.raises(ValueError):
        noise.noisy_counts([1], epsilon)


@pytest.mark.parametrize("scales", [(1.25, 1.25), (1.25, 10 / 3, 10 / 3), (2.0,) * 5])
def test_sum_interval_is_the_smallest_covering_width(scales: tuple[float, ...]) -> None:
    # Exact distribution of the sum by brute-force convolution over a wide support.
    dist = {0: 1.0}
    for scale in scales:
        step = {x: noise.pmf(x, scale) for x in range(-200, 201)}
        new: dict[int, float] = {}
        for a, pa in dist.items():
            for b, pb in step.items():
                new[a + b] = new.get(a + b, 0.0) + pa * pb
        dist = {x: p for x, p in new.items() if p > 1e-15}
    h = noise.sum_interval_half_width(tuple(sorted(scales)), 0.9)
    inside = sum(p for x, p in dist.items() if abs(x) <= h)
    assert inside >= 0.9
    assert sum(p for x, p in dist.items() if abs(x) <= h - 1) < 0.9


def test_sum_interval_covers_sampled_sums_beyond_the_exact_range() -> None:
    scales = (1.25,) * 40
    h = noise.sum_interval_half_width(scales, 0.9)
    draws = noise.noisy_counts([0] * 40 * 2000, 0.8)
    sums = [sum(draws[i : i + 40]) for i in range(0, len(draws), 40)]
    share = sum(abs(s) <= h for s in sums) / len(sums)
    assert 0.87 <= share <= 0.93  # normal approximation; +-4.5 standard errors of 2000 samples
