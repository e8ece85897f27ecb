"""The Polis opinion-group method in chatbot.opinion: hand-worked statistics, PCA and projection,
determinism, the in-conversation and minimum-group-size rules, and a comparison with Polis's own groups
on five real conversations in ../shared/data/polis (CC BY 4.0, read in place, never copied)."""

from __future__ import annotations

import csv
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot import opinion
from chatbot.opinion import OpinionResult, VoteMatrix
from tests.chatbot.conftest import CONVERSATIONS, polis_folder

NAN = math.nan


def matrix(rows: dict[int, list[float]], statements: tuple[int, ...]) -> VoteMatrix:
    return VoteMatrix(tuple(rows), statements, np.array(list(rows.values()), dtype=np.float64))


# --- statistics ---------------------------------------------------------------------------------------


def test_prop_test_by_hand() -> None:
    # 2 * sqrt(n + 1) * ((succ + 1) / (n + 1) - 1/2)
    assert opinion.prop_test(5, 5) == pytest.approx(math.sqrt(6))  # 2 sqrt6 (6/6 - 1/2) = sqrt6
    assert opinion.prop_test(0, 0) == pytest.approx(1.0)  # 2 * 1 * (1 - 1/2)
    assert opinion.prop_test(3, 10) == pytest.approx(-3 / math.sqrt(11))  # 2 sqrt11 (4/11 - 1/2) = -3/sqrt11
    assert opinion.prop_test(4, 4) == pytest.approx(math.sqrt(5))


def test_two_prop_test_by_hand() -> None:
    # (2, 1, 4, 4) -> counts + 1 = (3, 2, 5, 5): 3/5 vs 2/5, pooled 1/2,
    # z = (1/5) / sqrt(1/4 * (1/5 + 1/5)) = 0.2 / sqrt(0.1)
    assert opinion.two_prop_test(2, 1, 4, 4) == pytest.approx(0.2 / math.sqrt(0.1))
    # (5, 0, 5, 5) -> (6, 1, 6, 6): 1 vs 1/6, pooled 7/12,
    # z = (5/6) / sqrt(7/12 * 5/12 * 1/3) = (5/6) * sqrt(432/35) = 2.92770
    assert opinion.two_prop_test(5, 0, 5, 5) == pytest.approx(5 / 6 * math.sqrt(432 / 35))
    assert opinion.two_prop_test(0, 5, 5, 5) == pytest.approx(-5 / 6 * math.sqrt(432 / 35))
    # pooled proportion 1 (everybody in both groups succeeded): defined as 0
    assert opinion.two_prop_test(3, 3, 3, 3) == 0.0
    assert opinion.two_prop_test(5, 4, 5, 4) == 0.0


# --- a two-group toy conversation worked by hand --------------------------------------------------------

# Statements 100..103; group A = participants 1-5, group B = 6-10 (10 voted on 100 only).
TOY: dict[int, list[float]] = {
    1: [1, 1, 0, 1],
    2: [1, 1, 0, 1],
    3: [1, 1, 1, 1],
    4: [1, 0, -1, 1],
    5: [1, 0, 0, 1],
    6: [-1, 1, -1, 1],
    7: [-1, -1, -1, 1],
    8: [-1, 0, -1, 1],
    9: [-1, 1, -1, 1],
    10: [-1, NAN, NAN, NAN],
}


@pytest.fixture(scope="module")
def toy() -> OpinionResult:
    return opinion.compute(matrix(TOY, (100, 101, 102, 103)))


def test_toy_groups_and_in_conv(toy: OpinionResult) -> None:
    # min(7, 4 statements) = 4 votes puts 1-9 in; 10 (1 vote) comes in by the greedy top-up to 15.
    assert toy.in_conv == tuple(range(1, 11))
    assert [g.members for g in toy.groups] == [(1, 2, 3, 4, 5), (6, 7, 8, 9, 10)]
    assert toy.assignment == {p: 0 if p <= 5 else 1 for p in range(1, 11)}
    # 10 distinct points -> 10 base clusters -> k only 2 (Polis's max-k-fn: 2 + 10 // 12).
    assert toy.chosen_k == 2 and set(toy.k_silhouettes) == {2}


def test_toy_repness_by_hand(toy: OpinionResult) -> None:
    # Group A on 100: na=5 nd=0 ns=5; rest (B): na=0 ns=5.
    #   pa = 6/7, pat = prop_test(5, 5) = sqrt6, ra = (6/7) / (1/7) = 6,
    #   rat = two_prop_test(5, 0, 5, 5) = (5/6) sqrt(432/35) = 2.92770, rdt = -rat -> agree,
    #   metric = 6 * 2.92770 * 6/7 * sqrt6 = 36.8813.
    a100 = toy.statement_stats[(0, 100)]
    rat = 5 / 6 * math.sqrt(432 / 35)
    assert (a100.na, a100.nd, a100.ns) == (5, 0, 5)
    assert a100.repful_for == "agree"
    assert a100.pa == pytest.approx(6 / 7) and a100.pat == pytest.approx(math.sqrt(6))
    assert a100.ra == pytest.approx(6) and a100.rat == pytest.approx(rat) and a100.rdt == pytest.approx(-rat)
    assert a100.metric == pytest.approx(6 * rat * 6 / 7 * math.sqrt(6))
    # Group B on 102: na=0 nd=4 ns=4 (10 did not vote); rest (A): nd=1 ns=5.
    #   pd = 5/6, pdt = prop_test(4, 4) = sqrt5, rd = (5/6) / (2/7) = 35/12,
    #   rdt = two_prop_test(4, 1, 4, 5): (5, 2, 5, 6) -> 1 vs 1/3, pooled 7/11,
    #         z = (2/3) / sqrt(7/11 * 4/11 * (1/5 + 1/6)) = (2/3) / sqrt(28/330) = 2.28869
    #   rat = two_prop_test(0, 1, 4, 5): (1, 2, 5, 6) -> 1/5 vs 1/3, pooled 3/11,
    #         z = (-2/15) / sqrt(24/330) = -0.49441 -> disagree
    b102 = toy.statement_stats[(1, 102)]
    rdt = (2 / 3) / math.sqrt(28 / 330)
    assert (b102.na, b102.nd, b102.ns) == (0, 4, 4)
    assert b102.repful_for == "disagree" and b102.n_success == 4 and b102.n_trials == 4
    assert b102.pd == pytest.approx(5 / 6) and b102.pdt == pytest.approx(math.sqrt(5))
    assert b102.rd == pytest.approx(35 / 12) and b102.rdt == pytest.approx(rdt)
    assert b102.rat == pytest.approx((-2 / 15) / math.sqrt(24 / 330))
    assert b102.metric == pytest.approx(35 / 12 * rdt * 5 / 6 * math.sqrt(5))
    # Group A on 101: na=3 ns=5 vs B na=2 ns=4 -> (4, 3, 6, 5): 2/3 vs 3/5, pooled 7/11.
    assert toy.statement_stats[(0, 101)].rat == pytest.approx((2 / 3 - 3 / 5) / math.sqrt(28 / 330))


def test_toy_selection_follows_polis(toy: OpinionResult) -> None:
    # A: 100 is the only sufficient statement and also the best agree -> just 100.
    assert [(r.statement, r.repful_for, r.best_agree) for r in toy.repness[0]] == [(100, "agree", True)]
    # B: sufficient = 100 (disagree, 36.88) and 102 (disagree, 12.44); best agree = 103
    # (the first with pat = prop_test(4, 4) = sqrt5 > 1.2816) goes in front even though rat = 0.
    assert [(r.statement, r.repful_for, r.best_agree) for r in toy.repness[1]] == [
        (103, "agree", True),
        (100, "disagree", False),
        (102, "disagree", False),
    ]
    assert toy.representative_group[100] == 0  # equal metrics: the smaller group id
    assert toy.representative_group[102] == 1


def test_toy_consensus_majority_divisiveness(toy: OpinionResult) -> None:
    # product over groups of (agrees + 1) / (votes + 2)
    assert toy.consensus[100] == pytest.approx(6 / 7 * 1 / 7)
    assert toy.consensus[101] == pytest.approx(4 / 7 * 3 / 6)
    assert toy.consensus[102] == pytest.approx(2 / 7 * 1 / 6)
    assert toy.consensus[103] == pytest.approx(6 / 7 * 5 / 6)
    assert opinion.group_informed_consensus(matrix(TOY, (100, 101, 102, 103)), toy.assignment) == pytest.approx(
        toy.consensus
    )
    # Only 103 is a majority opinion: 9 agrees of 9, p = 10/11, z = 2 sqrt10 (1 - 1/2) = sqrt10.
    # 101 overall: 5 agrees of 9, p = 6/11 > 1/2 but z = 2 sqrt10 (6/10 - 1/2) = 0.63 is not significant.
    assert [(m.statement, m.direction, m.n_success, m.n_trials) for m in toy.majority] == [(103, "agree", 9, 9)]
    assert toy.majority[0].p_success == pytest.approx(10 / 11) and toy.majority[0].p_test == pytest.approx(
        math.sqrt(10)
    )
    assert toy.divisiveness[100] == pytest.approx(6 / 7 - 1 / 7)
    assert toy.divisiveness[103] == pytest.approx(6 / 7 - 5 / 6)


# --- PCA and projection --------------------------------------------------------------------------------

BLOCKS: dict[int, list[float]] = {
    1: [1, 1, -1, -1],
    2: [1, 1, -1, -1],
    3: [1, 1, -1, -1],
    4: [-1, -1, 1, 1],
    5: [-1, -1, 1, 1],
    6: [-1, -1, 1, 1],
    7: [1, NAN, -1, NAN],  # half the votes missing
}


def test_pca_of_two_opposed_blocks() -> None:
    # 7 has 2 votes < 4, and greedy_n=0 keeps it out: the in-conv data are two opposed blocks, centre 0,
    # principal direction (1, 1, -1, -1) / 2 (first loading made positive) and no second direction.
    result = opinion.compute(matrix(BLOCKS, (10, 11, 12, 13)), min_votes=4, greedy_n=0, min_group_size=1)
    assert result.in_conv == (1, 2, 3, 4, 5, 6)
    assert np.allclose(result.center, 0)
    assert np.allclose(result.components[0], [0.5, 0.5, -0.5, -0.5])
    assert np.allclose(result.components[1], 0)
    assert result.projections[1] == pytest.approx((2.0, 0.0))
    assert result.projections[4] == pytest.approx((-2.0, 0.0))
    # A participant who agreed with only one statement: sqrt(4 / 1) * (1 - 0) * 0.5 = 1.
    assert result.extremity == pytest.approx(dict.fromkeys((10, 11, 12, 13), 1.0))
    assert [g.members for g in result.groups] == [(1, 2, 3), (4, 5, 6)]
    # Sparsity-aware scaling: 7 voted on 2 of 4, (1 * 0.5 + (-1) * (-0.5)) * sqrt(4 / 2) = sqrt2.
    row = np.array([[1, NAN, -1, NAN]])
    projected = opinion.sparsity_aware_project(row, result.center, result.components)
    assert projected[0] == pytest.approx([math.sqrt(2), 0.0])


def test_projection_scales_a_half_voter_in_conv() -> None:
    result = opinion.compute(matrix(BLOCKS, (10, 11, 12, 13)), min_votes=2, min_group_size=1)
    assert 7 in result.in_conv
    voted = [0, 2]
    x = np.array([1.0, -1.0])
    plain = (x - result.center[voted]) @ result.components[:, voted].T
    assert result.projections[7] == pytest.approx(tuple(plain * math.sqrt(4 / 2)))
    full = np.array(BLOCKS[1], dtype=float)
    assert result.projections[1] == pytest.approx(tuple((full - result.center) @ result.components.T))
    assert np.allclose(result.components @ result.components.T, np.eye(2), atol=1e-9)


# --- rules -------------------------------------------------------------------------------------------


def test_in_conv_threshold_greedy_top_up_and_stickiness() -> None:
    # Participant p voted on the first p statements (0..10) of 10.
    values = np.full((11, 10), NAN)
    for p in range(11):
        values[p, :p] = 1.0
    m = VoteMatrix(tuple(range(11)), tuple(range(10)), values)
    assert opinion.in_conversation(m, greedy_n=0) == (7, 8, 9, 10)
    # Top up to 6 with the most votes: 6 and 5.
    assert opinion.in_conversation(m, greedy_n=6) == (5, 6, 7, 8, 9, 10)
    # Participants without any vote are never topped up.
    assert opinion.in_conversation(m, greedy_n=15) == tuple(range(1, 11))
    # Sticky: 2 stays in with 2 votes; an id that left the matrix is dropped; top-up counts the sticky ones.
    assert opinion.in_conversation(m, greedy_n=0, previous_in_conv=frozenset({2, 99})) == (2, 7, 8, 9, 10)
    assert opinion.in_conversation(m, greedy_n=6, previous_in_conv=frozenset({2})) == (2, 6, 7, 8, 9, 10)
    # With fewer statements than min_votes, voting on all of them is enough.
    few = VoteMatrix((1, 2), (1, 2, 3), np.array([[1, 0, -1], [1, NAN, NAN]], dtype=float))
    assert opinion.in_conversation(few, greedy_n=0) == (1,)
    # Ties in the top-up go to the smaller id.
    tied = VoteMatrix((5, 3, 4), (1, 2), np.array([[1.0, NAN], [1.0, NAN], [NAN, -1.0]]))
    assert opinion.in_conversation(tied, greedy_n=2) == (3, 4)
    assert opinion.compute(m, greedy_n=6, previous_in_conv=frozenset({2})).in_conv == (2, 6, 7, 8, 9, 10)


def test_too_few_participants_means_no_groups() -> None:
    result = opinion.compute(matrix(TOY, (100, 101, 102, 103)), min_group_size=11)
    assert result.groups == () and result.assignment == {} and result.repness == {}
    assert result.consensus == {} and result.statement_stats == {}
    assert set(result.representative_group.values()) == {None}
    assert set(result.divisiveness.values()) == {0.0}
    assert len(result.projections) == 10


def test_small_groups_are_merged_into_the_nearest() -> None:
    # Blocks of 3 are below a minimum of 4: the two blocks end up as one group of 6.
    result = opinion.compute(matrix(BLOCKS, (10, 11, 12, 13)), min_votes=4, greedy_n=0, min_group_size=4)
    assert [g.members for g in result.groups] == [(1, 2, 3, 4, 5, 6)]
    assert result.chosen_k == 2


def test_from_votes_latest_wins_and_column_order() -> None:
    votes = [(2, 20, 1), (1, 10, -1), (2, 20, -1), (1, 30, 0), (3, 99, 1)]
    m = VoteMatrix.from_votes(votes, statements=[30, 20, 10])
    assert m.participants == (1, 2) and m.statements == (30, 20, 10)
    assert np.array_equal(m.values, np.array([[0, NAN, -1], [NAN, -1, NAN]]), equal_nan=True)
    assert VoteMatrix.from_votes(votes).statements == (10, 20, 30, 99)
    with pytest.raises(ValueError):
        VoteMatrix.from_votes([(1, 1, 2)])
    with pytest.raises(ValueError):
        VoteMatrix((1,), (1, 2), np.array([[1.0, 0.5]]))
    assert not m.values.flags.writeable


def test_adjusted_rand_index() -> None:
    assert opinion.adjusted_rand_index([0, 0, 1, 1], ["b", "b", "a", "a"]) == pytest.approx(1.0)
    assert opinion.adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) < 0


# --- determinism and group-size property ---------------------------------------------------------------


def random_matrix(seed: int, participants: int, statements: int, density: float) -> VoteMatrix:
    rng = np.random.default_rng(seed)
    latent = rng.integers(0, 3, participants)
    leaning = rng.choice([-1.0, 0.0, 1.0], size=(3, statements), p=[0.4, 0.2, 0.4])
    values = leaning[latent]
    noise = rng.random(values.shape) < 0.25
    values[noise] = rng.choice([-1.0, 0.0, 1.0], size=int(noise.sum()))
    values[rng.random(values.shape) >= density] = NAN
    return VoteMatrix(tuple(range(100, 100 + participants)), tuple(range(statements)), values)


def assert_same(a: OpinionResult, b: OpinionResult) -> None:
    for name in OpinionResult.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert np.array_equal(x, y), name
        else:
            assert x == y, name


def test_same_seed_same_result() -> None:
    m = random_matrix(7, 400, 60, 0.3)
    first = opinion.compute(m, seed=3)
    assert len(first.groups) >= 2 and first.chosen_k >= 2
    assert_same(first, opinion.compute(m, seed=3))
    copy = VoteMatrix(m.participants, m.statements, m.values.copy())
    assert_same(first, opinion.compute(copy, seed=3))


def test_groups_do_not_depend_on_who_holds_which_id() -> None:
    # Participant ids are random: the same votes under other ids must give the same partition.
    m = random_matrix(11, 120, 30, 0.4)
    rng = np.random.default_rng(5)
    renamed = {p: int(q) for p, q in zip(m.participants, rng.permutation(10_000)[: len(m.participants)], strict=True)}
    other = VoteMatrix(tuple(renamed[p] for p in m.participants), m.statements, m.values.copy())
    first, second = opinion.compute(m, seed=2), opinion.compute(other, seed=2)
    assert len(first.groups) >= 2
    assert {frozenset(renamed[p] for p in g.members) for g in first.groups} == {
        frozenset(g.members) for g in second.groups
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    participants=st.integers(1, 45),
    statements=st.integers(1, 12),
    density=st.floats(0.1, 1.0),
    min_group_size=st.integers(2, 8),
)
def test_groups_partition_in_conv_and_respect_minimum(
    seed: int, participants: int, statements: int, density: float, min_group_size: int
) -> None:
    m = random_matrix(seed, participants, statements, density)
    result = opinion.compute(m, seed=seed, min_group_size=min_group_size, min_votes=3)
    members = [p for g in result.groups for p in g.members]
    if len(result.in_conv) < min_group_size:
        assert result.groups == ()
    else:
        assert sorted(members) == list(result.in_conv)
    assert len(members) == len(set(members))
    assert all(len(g.members) >= min_group_size for g in result.groups)
    assert [g.id for g in result.groups] == list(range(len(result.groups)))
    sizes = [len(g.members) for g in result.groups]
    assert sizes == sorted(sizes, reverse=True)
    assert result.assignment == {p: g.id for g in result.groups for p in g.members}
    for group in result.repness.values():
        assert len(group) <= 5 and len({r.statement for r in group}) == len(group)
    assert all(0 < c < 1 for c in result.consensus.values())
    assert all(0 <= d < 1 for d in result.divisiveness.values())


# --- the real Polis conversations -------------------------------------------------------------------------


@cache
def load_polis(name: str) -> tuple[VoteMatrix, dict[int, int], list[dict[str, str]], list[int]]:
    """Votes without moderated-out comments, Polis's group ids, and participants-votes.csv rows + columns."""
    folder: Path = polis_folder(name)
    with (folder / "votes.csv").open(newline="") as f:
        votes = sorted(csv.DictReader(f), key=lambda r: int(r["timestamp"]))
    with (folder / "comments.csv").open(newline="") as f:
        kept = sorted(int(c["comment-id"]) for c in csv.DictReader(f) if int(c["moderated"]) != -1)
    m = VoteMatrix.from_votes(((int(v["voter-id"]), int(v["comment-id"]), int(v["vote"])) for v in votes), kept)
    with (folder / "participants-votes.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = reader.fieldnames or []
    columns = [int(c) for c in header if c.isdigit()]
    groups = {int(r["participant"]): int(r["group-id"]) for r in rows if r["group-id"] != ""}
    return m, groups, rows, columns


@pytest.mark.parametrize("name", CONVERSATIONS)
def test_group_informed_consensus_with_polis_groups(name: str) -> None:
    _, polis_groups, rows, columns = load_polis(name)
    folder = polis_folder(name)
    with (folder / "votes.csv").open(newline="") as f:
        votes = sorted(csv.DictReader(f), key=lambda r: int(r["timestamp"]))
    m = VoteMatrix.from_votes(((int(v["voter-id"]), int(v["comment-id"]), int(v["vote"])) for v in votes), columns)
    ours = opinion.group_informed_consensus(m, polis_groups)
    expected: dict[int, float] = {}
    for column in columns:
        product = 1.0
        for group in sorted(set(polis_groups.values())):
            agrees = votes_seen = 0
            for row in rows:
                if row["group-id"] == "" or int(row["group-id"]) != group or row[str(column)] == "":
                    continue
                votes_seen += 1
                agrees += row[str(column)] == "1"
            product *= (agrees + 1) / (votes_seen + 2)
        expected[column] = product
    assert set(ours) == set(expected)
    for column in columns:
        assert abs(ours[column] - expected[column]) <= 1e-9, column


@settings(max_examples=50, deadline=None)
@given(
    votes=st.dictionaries(st.tuples(st.integers(1, 30), st.integers(1, 12)), st.sampled_from([-1, 0, 1]), max_size=120),
    columns=st.lists(st.integers(1, 14), unique=True, max_size=12),
)
def test_from_arrays_equals_from_votes(votes: dict[tuple[int, int], int], columns: list[int]) -> None:
    triples = [(p, s, v) for (p, s), v in votes.items()]
    expected = VoteMatrix.from_votes(triples, columns)
    got = VoteMatrix.from_arrays([t[0] for t in triples], [t[1] for t in triples], [t[2] for t in triples], columns)
    assert got.participants == expected.participants and got.statements == expected.statements
    assert np.array_equal(got.values, expected.values, equal_nan=True)
