from __future__ import annotations

import math
import random
import statistics
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatbot import routing
from chatbot.routing import (
    BalanceReport,
    Candidate,
    SessionState,
    balance_factor,
    balance_report,
    choose,
    gini,
    importance,
    priority,
    session_exhausted,
    weights,
)

# --- Polis priority: exact values ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        # S=0: p = a = 1/2, importance 1/4, novelty 9 -> (9/4)^2
        (Candidate(1, 0, 0, 0), 5.0625),
        # A=6 D=2 P=2 (S=10), E=0.5: p = 3/12, a = 7/12, importance 0.75 * 1.5 * 7/12 = 0.65625,
        # novelty 1 + 8 * 2^-2 = 3 -> 1.96875^2
        (Candidate(2, 6, 2, 2, extremity=0.5), 3.8759765625),
        # A=0 D=5 P=0 (S=5): p = a = 1/7, importance 6/49, novelty 1 + 8/2 = 5 -> (30/49)^2
        (Candidate(3, 0, 5, 0), 900 / 2401),
        # Polis's own REPL example (priority-metric false 1 0 1 0): importance 4/9, novelty 1 + 8 * 2^-0.2
        (Candidate(4, 1, 0, 0), (4 / 9 * (1 + 8 * 0.8705505632961241)) ** 2),
    ],
)
def test_priority_matches_hand_computed_values(candidate: Candidate, expected: float) -> None:
    assert priority(candidate) == pytest.approx(expected, rel=1e-12)


def test_importance_hand_values() -> None:
    assert importance(Candidate(1, 0, 0, 0)) == 0.25
    assert importance(Candidate(2, 6, 2, 2, extremity=0.5)) == pytest.approx(0.65625)
    assert importance(Candidate(3, 3, 0, 0, extremity=1.0)) == pytest.approx((1 - 1 / 5) * 2 * 4 / 5)


def test_candidate_validation() -> None:
    with pytest.raises(ValueError):
        Candidate(1, -1, 0, 0)
    with pytest.raises(ValueError):
        Candidate(1, 0, 0, 0, extremity=-0.1)
    with pytest.raises(ValueError):
        Candidate(1, 0, 0, 0, extremity=math.nan)


# --- Polis priority: the distribution ---------------------------------------------------------------


def realistic_statements(n: int = 60, seed: int = 7) -> list[Candidate]:
    """Statements of a live conversation: a few new ones, most with tens to hundreds of votes,
    agree/pass mixes and PCA extremities that vary."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = 0 if i % 10 == 0 else int(rng.lognormvariate(3.5, 1.0))
        pass_share = rng.uniform(0.0, 0.4)
        agree_share = rng.uniform(0.0, 1.0 - pass_share)
        passes = round(s * pass_share)
        agree = round(s * agree_share)
        out.append(Candidate(i, agree, max(0, s - agree - passes), passes, extremity=rng.uniform(0.0, 2.0)))
    return out


def test_priorities_are_spread_out_not_constant() -> None:
    # A Polis bug once made every priority equal for months: assert on the distribution.
    cs = realistic_statements()
    ps = [priority(c) for c in cs]
    assert all(p > 0 and math.isfinite(p) for p in ps)
    assert len({round(p, 12) for p in ps}) >= 0.9 * len(ps)
    cv = statistics.pstdev(ps) / statistics.fmean(ps)
    assert cv > 0.5, cv
    assert max(ps) / min(ps) > 20
    # a constant priority (the bug) would fail all three
    constant = [1.0] * len(ps)
    assert statistics.pstdev(constant) == 0.0


def test_new_statements_outrank_heavily_voted_ones() -> None:
    cs = realistic_statements()
    new = [c for c in cs if c.seen == 0]
    heavy = [c for c in cs if c.seen >= 50]
    assert new and heavy
    for n in new:
        for h in heavy:
            if h.extremity <= n.extremity:
                assert priority(n) > priority(h)
    # even a unanimously agreed, heavily voted statement loses to a fresh one at equal extremity
    assert priority(Candidate(1, 0, 0, 0)) > priority(Candidate(2, 100, 0, 0))
    assert statistics.fmean(priority(c) for c in new) > 2 * statistics.fmean(priority(c) for c in heavy)


counts = st.integers(min_value=0, max_value=300)
extremities = st.floats(min_value=0.0, max_value=5.0)


@given(counts, counts, counts, extremities)
def test_more_passes_lower_priority(agree: int, disagree: int, passes: int, e: float) -> None:
    if disagree == 0:
        disagree, agree = 1, max(0, agree - 1)
    # same S and agrees; one disagree turned into a pass
    base = Candidate(1, agree, disagree, passes, extremity=e)
    more_passes = Candidate(2, agree, disagree - 1, passes + 1, extremity=e)
    assert priority(more_passes) < priority(base)


@given(counts, counts, counts, extremities, st.floats(min_value=0.01, max_value=5.0))
def test_higher_extremity_raises_priority(agree: int, disagree: int, passes: int, e: float, de: float) -> None:
    assert priority(Candidate(1, agree, disagree, passes, extremity=e + de)) > priority(
        Candidate(1, agree, disagree, passes, extremity=e)
    )


@given(counts, st.integers(min_value=1, max_value=300), counts, extremities)
def test_more_agrees_raise_priority(agree: int, disagree: int, passes: int, e: float) -> None:
    base = Candidate(1, agree, disagree, passes, extremity=e)
    more_agree = Candidate(1, agree + 1, disagree - 1, passes, extremity=e)
    assert priority(more_agree) > priority(base)


# --- balance factor -----------------------------------------------------------------------------------

group_counts = st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=6)


@given(group_counts)
def test_factor_is_exactly_one_at_target_shares(cs: list[int]) -> None:
    n = sum(cs)
    if n == 0:
        cs = [c + 1 for c in cs]
        n = sum(cs)
    seen = dict(enumerate(cs))
    target = {g: c / n for g, c in seen.items()}
    for g in seen:
        assert balance_factor(g, seen, target) == 1.0
        assert balance_factor(g, seen, target, strength=3.0, max_boost=100.0) == 1.0


@given(st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=1, max_size=6))
def test_factor_is_one_before_anything_was_seen(ts: list[float]) -> None:
    target = dict(enumerate(ts))
    for g in target:
        assert balance_factor(g, {}, target) == 1.0
        assert balance_factor(g, dict.fromkeys(target, 0), target) == 1.0


@given(group_counts, st.floats(min_value=0.0, max_value=3.0))
def test_factor_is_one_for_no_group_unknown_group_or_zero_strength(cs: list[int], strength: float) -> None:
    seen = dict(enumerate(cs))
    target = {g: 1 / len(cs) for g in seen}
    assert balance_factor(None, seen, target, strength=strength) == 1.0
    assert balance_factor(99, seen, target, strength=strength) == 1.0
    assert balance_factor(0, seen, target, strength=0.0) == 1.0
    assert balance_factor(0, seen, {}, strength=strength) == 1.0


shares = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=5).filter(lambda xs: sum(xs) > 0.01)


@given(
    shares,
    st.data(),
    st.floats(min_value=0.1, max_value=3.0),
    st.floats(min_value=1.0, max_value=20.0),
)
def test_factor_is_monotone_and_bounded(ts: list[float], data: st.DataObject, strength: float, boost: float) -> None:
    target = dict(enumerate(ts))
    seen = {g: data.draw(st.integers(min_value=0, max_value=40)) for g in target}
    g = data.draw(st.sampled_from(sorted(target)))
    other = data.draw(st.sampled_from(sorted(target)))

    def f(s: dict[int, int]) -> float:
        return balance_factor(g, s, target, strength=strength, max_boost=boost)

    here = f(seen)
    assert 1 / boost <= here <= boost
    assert f({**seen, g: seen[g] + 1}) <= here  # seeing more of g never raises g
    if other != g:
        assert f({**seen, other: seen[other] + 1}) >= here  # seeing more of others never lowers g


@given(shares, st.data())
def test_factor_favours_under_seen_and_demotes_over_seen(ts: list[float], data: st.DataObject) -> None:
    total = sum(ts)
    target = {g: t / total for g, t in enumerate(ts)}
    seen = {g: data.draw(st.integers(min_value=0, max_value=40)) for g in target}
    n = sum(seen.values())
    if n == 0:
        return
    for g, t in target.items():
        raw = seen[g] / n
        factor = balance_factor(g, seen, target, max_boost=1e6)
        if raw < t - 1e-6:
            assert factor > 1.0
        elif raw > t + 1e-6:
            assert factor < 1.0


def test_factor_hand_values() -> None:
    target = {0: 0.6, 1: 0.3, 2: 0.1}
    seen = {0: 1}  # N = 1: smoothed shares (1.6/2, 0.3/2, 0.1/2) = (0.8, 0.15, 0.05)
    eps = routing.EPS
    assert balance_factor(0, seen, target) == pytest.approx((0.6 + eps) / (0.8 + eps))
    assert balance_factor(1, seen, target) == pytest.approx((0.3 + eps) / (0.15 + eps))
    assert balance_factor(2, seen, target) == pytest.approx((0.1 + eps) / (0.05 + eps))
    assert balance_factor(2, seen, target, strength=2.0) == pytest.approx(((0.1 + eps) / (0.05 + eps)) ** 2)
    # clamped
    assert balance_factor(2, {0: 50}, target) == 4.0
    assert balance_factor(0, {0: 0, 2: 50}, target, max_boost=2.0) == 2.0
    assert balance_factor(2, {2: 50}, target) == 0.25
    # group with target 0: neutral until seen, then demoted
    assert balance_factor(3, {0: 2}, {**target, 3: 0.0}) == 1.0
    assert balance_factor(3, {0: 2, 3: 1}, {**target, 3: 0.0}) < 1.0


def test_factor_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        balance_factor(0, {}, {0: 1.0}, strength=-1.0)
    with pytest.raises(ValueError):
        balance_factor(0, {}, {0: 1.0}, max_boost=0.5)
    with pytest.raises(ValueError):
        balance_factor(0, {0: -1}, {0: 1.0})
    with pytest.raises(ValueError):
        balance_factor(0, {}, {0: -0.5})


# --- weights and choose -----------------------------------------------------------------------------------


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Candidate], set[int], dict[int, int], dict[int, float]]:
    ids = draw(st.lists(st.integers(min_value=0, max_value=10_000), unique=True, max_size=25))
    cands = [
        Candidate(
            i,
            draw(st.integers(0, 200)),
            draw(st.integers(0, 200)),
            draw(st.integers(0, 200)),
            extremity=draw(st.floats(0.0, 3.0)),
            group=draw(st.none() | st.integers(0, 3)),
            sensitive=draw(st.booleans()),
        )
        for i in ids
    ]
    seen = set(draw(st.lists(st.sampled_from(ids), max_size=len(ids)))) if ids else set()
    seen_groups = {g: draw(st.integers(0, 20)) for g in range(4)}
    ts = draw(st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4))
    target = dict(enumerate(ts))
    return cands, seen, seen_groups, target


@given(scenarios(), st.booleans(), st.floats(0.0, 3.0))
def test_weights_invariants(
    scenario: tuple[list[Candidate], set[int], dict[int, int], dict[int, float]], skip: bool, strength: float
) -> None:
    cands, seen, seen_groups, target = scenario
    ws = weights(cands, seen, seen_groups, target, skip_sensitive=skip, strength=strength)
    listed = {sid for sid, _ in ws}
    eligible = {c.id for c in cands if c.id not in seen and not (skip and c.sensitive)}
    assert listed == eligible
    assert all(w > 0 and math.isfinite(w) for _, w in ws)
    by_id = {c.id: c for c in cands}
    for sid, w in ws:
        c = by_id[sid]
        assert w == pytest.approx(priority(c) * balance_factor(c.group, seen_groups, target, strength=strength))


@given(scenarios(), st.booleans(), st.binary(max_size=16) | st.integers())
def test_choose_never_returns_seen_or_skipped(
    scenario: tuple[list[Candidate], set[int], dict[int, int], dict[int, float]], skip: bool, seed: bytes | int
) -> None:
    cands, seen, seen_groups, target = scenario
    eligible = {c.id for c in cands if c.id not in seen and not (skip and c.sensitive)}
    picked = choose(cands, seen, seen_groups, target, skip_sensitive=skip, seed=seed)
    if eligible:
        assert picked in eligible
    else:
        assert picked is None
    # deterministic, and independent of candidate order
    assert choose(list(reversed(cands)), seen, seen_groups, target, skip_sensitive=skip, seed=seed) == picked


@given(scenarios(), st.booleans(), st.binary(max_size=16) | st.integers(), st.floats(0.0, 3.0))
def test_prepared_choice_equals_choose(
    scenario: tuple[list[Candidate], set[int], dict[int, int], dict[int, float]],
    skip: bool,
    seed: bytes | int,
    strength: float,
) -> None:
    cands, seen, seen_groups, target = scenario
    expected = choose(cands, seen, seen_groups, target, skip_sensitive=skip, seed=seed, strength=strength)
    prepared = routing.prepare(cands)
    got = routing.choose_prepared(
        prepared, seen, seen_groups, target, skip_sensitive=skip, seed=seed, strength=strength
    )
    assert got == expected


@given(scenarios(), st.booleans(), st.integers(0, 2**32))
def test_a_participant_never_gets_a_statement_twice(
    scenario: tuple[list[Candidate], set[int], dict[int, int], dict[int, float]], skip: bool, seed: int
) -> None:
    cands, _, _, target = scenario
    by_id = {c.id: c for c in cands}
    shown: list[int] = []
    seen_groups: dict[int, int] = {}
    while True:
        picked = choose(cands, set(shown), seen_groups, target, skip_sensitive=skip, seed=seed + len(shown))
        if picked is None:
            break
        assert picked not in shown
        shown.append(picked)
        g = by_id[picked].group
        if g is not None:
            seen_groups[g] = seen_groups.get(g, 0) + 1
    assert set(shown) == {c.id for c in cands if not (skip and c.sensitive)}


def test_choose_draws_proportionally_to_weight() -> None:
    cands = [Candidate(1, 0, 0, 0), Candidate(2, 6, 2, 2, extremity=0.5), Candidate(3, 0, 5, 0)]
    ws = dict(weights(cands, set(), {}, {}, skip_sensitive=False))
    total = sum(ws.values())
    draws = 6000
    hits = dict.fromkeys(ws, 0)
    for i in range(draws):
        picked = choose(cands, set(), {}, {}, skip_sensitive=False, seed=i)
        assert picked is not None
        hits[picked] += 1
    for sid, w in ws.items():
        expected = draws * w / total
        assert abs(hits[sid] - expected) < 5 * math.sqrt(expected) + 5, (sid, hits[sid], expected)


def test_choose_is_deterministic_per_seed_but_varies_across_seeds() -> None:
    cands = realistic_statements()
    a = choose(cands, set(), {}, {}, skip_sensitive=False, seed=b"participant-1:0")
    assert a == choose(cands, set(), {}, {}, skip_sensitive=False, seed=b"participant-1:0")
    picks = {choose(cands, set(), {}, {}, skip_sensitive=False, seed=i) for i in range(200)}
    assert len(picks) > 10


def test_choose_edge_cases() -> None:
    assert choose([], set(), {}, {}, skip_sensitive=False, seed=1) is None
    only_sensitive = [Candidate(1, 0, 0, 0, sensitive=True)]
    assert choose(only_sensitive, set(), {}, {}, skip_sensitive=True, seed=1) is None
    assert choose(only_sensitive, set(), {}, {}, skip_sensitive=False, seed=1) == 1
    assert choose([Candidate(1, 0, 0, 0)], {1}, {}, {}, skip_sensitive=False, seed=1) is None


# --- the session cap --------------------------------------------------------------------------------------


def test_session_cap() -> None:
    assert not session_exhausted(0, 10)
    assert not session_exhausted(9, 10)
    assert session_exhausted(10, 10)
    assert session_exhausted(11, 10)
    assert session_exhausted(0, 0)
    assert SessionState(shown_in_session=3, cap=3).exhausted
    assert not SessionState(shown_in_session=2, cap=3).exhausted
    with pytest.raises(ValueError):
        session_exhausted(-1, 3)
    with pytest.raises(ValueError):
        session_exhausted(0, -1)


# --- balance in practice -------------------------------------------------------------------------------


def simulate(
    strength: float, other: tuple[int, int, int], participants: int = 300, per_participant: int = 12
) -> BalanceReport:
    """3 opinion groups (60 / 30 / 10 % of participants). Group 0's statements are more agreed
    with and more extreme, so Polis's priority favours them; ``other`` is (agree, disagree,
    passes) of the statements of groups 1 and 2."""
    target = {0: 0.6, 1: 0.3, 2: 0.1}
    cands = [Candidate(i, *FAVOURED, extremity=0.8, group=0) for i in range(20)]
    cands += [Candidate(100 + i, *other, extremity=0.2, group=1 + i % 2) for i in range(40)]
    by_id = {c.id: c for c in cands}
    shown: dict[int, list[int | None]] = {}
    for p in range(participants):
        seen: set[int] = set()
        seen_groups: dict[int, int] = {}
        groups: list[int | None] = []
        for k in range(per_participant):
            picked = choose(
                cands, seen, seen_groups, target, skip_sensitive=False, seed=p * 1000 + k, strength=strength
            )
            assert picked is not None
            seen.add(picked)
            g = by_id[picked].group
            groups.append(g)
            if g is not None:
                seen_groups[g] = seen_groups.get(g, 0) + 1
        shown[p] = groups
    return balance_report(shown, target)


FAVOURED = (7, 2, 1)


def describe(label: str, r: BalanceReport) -> str:
    shares = ", ".join(f"{g}: {s:.3f}" for g, s in r.mean_shares.items())
    return (
        f"{label}: distance_to_proportional {r.distance_to_proportional:.3f} "
        f"(p90 {r.p90_distance_to_proportional:.3f}), to_equal {r.distance_to_equal:.3f}, mean shares {{{shares}}}"
    )


def priority_ratio(other: tuple[int, int, int]) -> float:
    return priority(Candidate(0, *FAVOURED, extremity=0.8)) / priority(Candidate(0, *other, extremity=0.2))


def test_balance_brings_participants_closer_to_proportional() -> None:
    other = (3, 5, 2)  # same number of votes, less agreed with, less extreme
    ratio = priority_ratio(other)
    assert ratio > 10  # the premise: Polis priority strongly favours group 0
    polis = simulate(0.0, other)
    balanced = simulate(1.0, other)
    print(f"\npriority ratio {ratio:.1f}x\n{describe('polis only', polis)}\n{describe('balanced  ', balanced)}")
    assert polis.participants == balanced.participants == 300
    assert balanced.distance_to_proportional < 0.6 * polis.distance_to_proportional
    assert balanced.p90_distance_to_proportional < polis.p90_distance_to_proportional
    # group 1 (30 % of participants) is actually heard, and group 0 no longer crowds it out
    assert polis.mean_shares[1] < 0.15
    assert abs(balanced.mean_shares[1] - 0.3) < abs(polis.mean_shares[1] - 0.3)
    assert abs(balanced.mean_shares[0] - 0.6) < abs(polis.mean_shares[0] - 0.6)


def test_balance_is_a_bounded_nudge_against_extreme_priority_gaps() -> None:
    # With a 40x priority gap the clamp (max_boost 4) limits how far balance can push: it still
    # helps, but does not override Polis (fresh or far more important statements keep precedence).
    other = (12, 12, 6)
    ratio = priority_ratio(other)
    assert ratio > 40
    polis = simulate(0.0, other)
    balanced = simulate(1.0, other)
    print(f"\npriority ratio {ratio:.1f}x\n{describe('polis only', polis)}\n{describe('balanced  ', balanced)}")
    assert balanced.distance_to_proportional < polis.distance_to_proportional - 0.05


# --- balance report --------------------------------------------------------------------------------------


def test_balance_report_hand_example() -> None:
    shown: dict[int, list[int | None]] = {1: [0, 0, 1, None], 2: [1], 3: [None], 4: []}
    r = balance_report(shown, {0: 0.75, 1: 0.25})
    assert r.participants == 2
    assert r.groups == (0, 1)
    assert r.mean_shares == pytest.approx({0: 1 / 3, 1: 2 / 3})
    # participant 1: shares (2/3, 1/3) -> TV 1/12 to (3/4, 1/4), 1/6 to (1/2, 1/2)
    # participant 2: shares (0, 1)     -> TV 3/4,                 1/2
    assert r.distance_to_proportional == pytest.approx((1 / 12 + 3 / 4) / 2)
    assert r.distance_to_equal == pytest.approx((1 / 6 + 1 / 2) / 2)
    assert r.p90_distance_to_proportional == pytest.approx(3 / 4)


def test_balance_report_groups_outside_target_and_empty() -> None:
    r = balance_report({1: [0, 2]}, {0: 1.0})
    assert r.groups == (0, 2)
    assert r.distance_to_proportional == pytest.approx(0.5)
    assert r.distance_to_equal == pytest.approx(0.0)
    empty = balance_report({}, {0: 0.5, 1: 0.5})
    assert empty == BalanceReport(0, (0, 1), {0: 0.0, 1: 0.0}, 0.0, 0.0, 0.0)


@given(st.dictionaries(st.integers(0, 50), st.lists(st.none() | st.integers(0, 4), max_size=15), max_size=20), shares)
def test_balance_report_ranges(shown: dict[int, list[int | None]], ts: list[float]) -> None:
    r = balance_report(shown, dict(enumerate(ts)))
    assert r.participants == sum(1 for gs in shown.values() if any(g is not None for g in gs))
    for d in (r.distance_to_proportional, r.distance_to_equal, r.p90_distance_to_proportional):
        assert -1e-12 <= d <= 1 + 1e-12
    if r.participants:
        assert math.fsum(r.mean_shares.values()) == pytest.approx(1.0)


# --- gini ---------------------------------------------------------------------------------------------------


def test_gini_hand_examples() -> None:
    assert gini([1, 1, 1]) == 0.0
    assert gini([0, 0, 3]) == pytest.approx(2 / 3)  # (n - 1) / n: one participant does everything
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # sum|xi - xj| = 20 over 2 * 16 * 2.5
    assert gini([]) == 0.0
    assert gini([0, 0]) == 0.0
    assert gini([5]) == 0.0
    assert gini([0] * 99 + [1]) == pytest.approx(0.99)
    with pytest.raises(ValueError):
        gini([1, -1])
    with pytest.raises(ValueError):
        gini([math.inf])


@given(st.lists(st.integers(0, 1000), max_size=40), st.integers(1, 50))
def test_gini_matches_the_pairwise_definition(xs: list[int], scale: int) -> None:
    g = gini(xs)
    n = len(xs)
    if n == 0 or sum(xs) == 0:
        assert g == 0.0
        return
    exact = Fraction(sum(abs(a - b) for a in xs for b in xs), 2 * n * sum(xs))
    assert g == pytest.approx(float(exact), abs=1e-12)
    assert 0.0 <= g <= (n - 1) / n
    assert gini([x * scale for x in xs]) == pytest.approx(g, abs=1e-12)  # scale invariant
