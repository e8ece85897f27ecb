"""Opinion groups by the Polis method: pure numpy and scikit-learn, no I/O.

Votes are encoded agree = +1, disagree = -1, pass = 0 and not voted = NaN everywhere in this module.
Polis stores agree as -1 internally; every statistic below is defined on agree/disagree *counts*
(or, for projections, on the sign-fixed principal components), so results do not depend on that choice.

Method (compdemocracy/polis ``math/src/polismath/math/{conversation,pca,clusters,repness,stats}.clj``):

1. In-conversation participants: at least ``min(min_votes, n_statements)`` votes (and at least one),
   plus everyone in ``previous_in_conv`` (sticky, as Polis keeps ``:in-conv`` across updates); while
   fewer than ``greedy_n``, add the participants with the most votes (ties: smaller id first).
2. PCA: column means of the in-conversation rows (an unvoted column has mean 0) replace missing votes,
   the matrix is centred, and the first two principal components are taken (exact eigen-decomposition of
   the smaller Gram matrix instead of Polis's power iteration); each component's sign is fixed so that
   its largest-magnitude loading is positive.
3. Sparsity-aware projection: ``(x - center) . pc`` over the voted entries only, times
   ``sqrt(n_statements / max(n_votes, 1))``. A statement's extremity is the length of the projection
   of a participant who agreed with it and voted on nothing else.
4. Base clusters: k-means with ``k = min(base_clusters, distinct points)`` on the projections (when
   every distinct point can be its own cluster, the distinct points are the base clusters). Group
   clusters: k-means over base-cluster centres weighted by member counts, for
   ``k = 2 .. min(max_groups, 2 + n_base // 12)`` (Polis's ``max-k-fn``) with ``k < n_base``; the k with
   the best silhouette over the base-cluster centres (unweighted, Euclidean: ``silhouette_score`` on the
   centres, which is what Polis's ``clusters/silhouette`` on ``bucket-dists`` computes) wins, ties to
   the smaller k. With exactly two base clusters each is a group; with one there is one group.
5. Representativeness (``repness.clj``): per (group, statement) na, nd, ns, pa, pd, pat, pdt against the
   group's own votes and ra, rd, rat, rdt against all other in-conversation participants' votes;
   selection as ``select-rep-comments`` (see :func:`select_representative`).
6. Group-informed consensus (``group-aware-consensus``), majority opinion (``consensus-stats`` /
   ``select-consensus-comments``) and divisiveness.

Deliberate differences from Polis:

* Deterministic and stateless: scikit-learn k-means (k-means++ initialisation, ``random_state=seed``,
  fixed ``n_init``) instead of Polis's first-k-distinct-rows initialisation warm-started from the previous
  run, exact PCA instead of seeded-at-random power iteration / mini-batch PCA, and the silhouette-best k
  is used directly instead of Polis's k-smoother (which switches k only after it wins 4 updates in a row).
  The same input and seed always give the same result.
* Minimum group size: a group with fewer than ``min_group_size`` members is merged into the nearest
  other group (distance between member-mean centroids in projection space), smallest group first, until
  every group is large enough or one group remains; with fewer in-conversation participants than the
  minimum there are no groups. Polis shows groups of any size.
* PCA centre, components and projections use the in-conversation rows only (Polis fits the PCA on every
  row of the rating matrix and projects everyone); only in-conversation participants are projected.
* The selected "best agree" statement (see :func:`select_representative`) is always reported in the agree
  direction; Polis re-derives its direction from rat > rdt and may label it "disagree".
* Vote counts for the in-conversation rule use the matrix's columns only, so statements left out of the
  matrix (moderated out) do not count; Polis counts its raw matrix including moderated-out comments.
  Participants without a vote in the matrix are never in the conversation.
* When merging leaves a single group, its repness is computed with the same formulas against an empty
  rest (Polis always has at least two groups).
* Group ids are 0..G-1 ordered by size (descending), then smallest member id.
* Group-informed consensus is empty when there are no groups (Polis has no such state).
* ``representative_group`` (the group with the highest repness metric per statement, ties to the smaller
  id) and divisiveness are not Polis outputs; see :func:`divisiveness`. Like Polis's sort key, the metric
  is a product of signed z-scores, so two negative tests make a (small) positive metric.

Majority opinion is computed over every participant of the matrix, as Polis's ``consensus-stats`` runs
on the whole rating matrix, not only the in-conversation participants.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

# scikit-learn, SciPy's linalg and threadpoolctl are imported where they are used: they take about
# a second to import, which every CLI call and worker start would otherwise pay.

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Direction = Literal["agree", "disagree"]

Z_90 = 1.2816
"""One-sided 90% critical value of the standard normal, Polis's ``z-sig-90?`` threshold."""

BASE_N_INIT = 10
GROUP_N_INIT = 10
MAX_REPRESENTATIVE = 5
MAX_MAJORITY = 5


@dataclass(frozen=True, eq=False)
class VoteMatrix:
    """Votes of ``participants`` (rows) on ``statements`` (columns).

    Invariant: ``values.shape == (len(participants), len(statements))``, every entry is +1, -1, 0 or NaN,
    ids are unique, and ``values`` is read-only.
    """

    participants: tuple[int, ...]
    statements: tuple[int, ...]
    values: FloatArray

    def __post_init__(self) -> None:
        values = np.array(self.values, dtype=np.float64, copy=True)
        if values.ndim != 2 or values.shape != (len(self.participants), len(self.statements)):
            raise ValueError("values must have shape (len(participants), len(statements))")
        if len(set(self.participants)) != len(self.participants) or len(set(self.statements)) != len(self.statements):
            raise ValueError("participant and statement ids must be unique")
        voted = values[~np.isnan(values)]
        if not np.isin(voted, (-1.0, 0.0, 1.0)).all():
            raise ValueError("votes must be +1 (agree), -1 (disagree), 0 (pass) or NaN (not voted)")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)

    @classmethod
    def from_arrays(
        cls, participants: Sequence[int], statements: Sequence[int], values: Sequence[int], columns: Sequence[int]
    ) -> VoteMatrix:
        """Build a matrix from parallel arrays holding at most one vote per (participant,
        statement), as the database keeps them. Columns are ``columns`` in that order (votes on
        other statements are dropped); rows are the participants with a kept vote, sorted by id.
        The same matrix as `from_votes` on the same votes, built without a Python loop per vote."""
        p = np.asarray(participants, dtype=np.int64)
        s = np.asarray(statements, dtype=np.int64)
        v = np.asarray(values, dtype=np.float64)
        cols = np.asarray(columns, dtype=np.int64)
        order = np.argsort(cols, kind="stable")
        where = np.searchsorted(cols[order], s).clip(0, max(len(cols) - 1, 0))
        kept = (cols[order][where] == s) if len(cols) else np.zeros(len(s), dtype=bool)
        rows, row_index = np.unique(p[kept], return_inverse=True)
        matrix = np.full((len(rows), len(cols)), np.nan)
        matrix[row_index.reshape(-1), order[where[kept]]] = v[kept]
        return cls(tuple(rows.tolist()), tuple(int(c) for c in columns), matrix)

    @classmethod
    def from_votes(cls, votes: Iterable[tuple[int, int, int]], statements: Sequence[int] | None = None) -> VoteMatrix:
        """Build a matrix from ``(participant, statement, value)`` triples.

        A later triple for the same (participant, statement) replaces an earlier one, so pass votes in
        time order. Columns are ``statements`` in the given order when given (votes on other statements are
        ignored), else every voted statement sorted by id. Rows are the participants with at least one
        kept vote, sorted by id.
        """
        latest: dict[tuple[int, int], int] = {}
        allowed = None if statements is None else set(statements)
        for participant, statement, value in votes:
            if allowed is not None and statement not in allowed:
                continue
            if value not in (-1, 0, 1):
                raise ValueError(f"vote value must be -1, 0 or 1, got {value!r}")
            latest[(participant, statement)] = value
        columns = tuple(statements) if statements is not None else tuple(sorted({s for _, s in latest}))
        rows = tuple(sorted({p for p, _ in latest}))
        row_of = {p: i for i, p in enumerate(rows)}
        col_of = {s: j for j, s in enumerate(columns)}
        values = np.full((len(rows), len(columns)), np.nan)
        for (participant, statement), value in latest.items():
            values[row_of[participant], col_of[statement]] = value
        return cls(rows, columns, values)


@dataclass(frozen=True)
class Group:
    """An opinion group: ``members`` sorted ascending, ``centroid`` = mean of their projections."""

    id: int
    members: tuple[int, ...]
    centroid: tuple[float, float]


@dataclass(frozen=True)
class Repness:
    """Polis's representativeness of ``statement`` for ``group`` against the other in-conversation votes.

    Raw counts and statistics (``na`` .. ``rdt``) are as in ``repness.clj``; the finalized fields follow
    ``finalize-cmt-stats``: ``repful_for`` is "agree" iff ``rat > rdt`` (always "agree" when ``best_agree``),
    ``n_success``/``p_success``/``p_test``/``repness``/``repness_test`` are that direction's na|nd, pa|pd,
    pat|pdt, ra|rd, rat|rdt, ``n_trials == ns`` and ``metric == repness * repness_test * p_success * p_test``.
    """

    group: int
    statement: int
    repful_for: Direction
    n_success: int
    n_trials: int
    p_success: float
    p_test: float
    repness: float
    repness_test: float
    metric: float
    na: int
    nd: int
    ns: int
    pa: float
    pd: float
    pat: float
    pdt: float
    ra: float
    rd: float
    rat: float
    rdt: float
    best_agree: bool = False


@dataclass(frozen=True)
class Majority:
    """A majority opinion (Polis ``select-consensus-comments``) over every participant in the matrix.

    Invariant: ``p_success > 0.5`` and ``p_test > Z_90``, where for "agree" ``n_success`` counts agrees and
    for "disagree" disagrees, ``n_trials`` counts all votes incl. passes, ``p_success = (n_success + 1) /
    (n_trials + 2)`` and ``p_test = prop_test(n_success, n_trials)``.
    """

    statement: int
    direction: Direction
    n_success: int
    n_trials: int
    p_success: float
    p_test: float


@dataclass(frozen=True, eq=False)
class OpinionResult:
    """Everything :func:`compute` derives from one vote matrix.

    ``center`` has shape (S,) and ``components`` shape (2, S) (numpy arrays); every other field holds plain
    Python values. ``groups`` partition ``in_conv`` and each has at least the minimum group size (or there
    are no groups); ``assignment`` maps every grouped participant to its group id.
    """

    in_conv: tuple[int, ...]
    center: FloatArray
    components: FloatArray
    projections: dict[int, tuple[float, float]]
    extremity: dict[int, float]
    groups: tuple[Group, ...]
    assignment: dict[int, int]
    k_silhouettes: dict[int, float]
    chosen_k: int
    repness: dict[int, tuple[Repness, ...]]
    statement_stats: dict[tuple[int, int], Repness]
    representative_group: dict[int, int | None]
    consensus: dict[int, float]
    majority: tuple[Majority, ...]
    divisiveness: dict[int, float]


# --- statistics ---------------------------------------------------------------------------------------


def prop_test(succ: float, n: float) -> float:
    """Polis's one-proportion z statistic with a +1 prior: ``2 * sqrt(n + 1) * ((succ + 1) / (n + 1) - 0.5)``.

    Positive iff ``(succ + 1) / (n + 1) > 0.5``; ``prop_test(0, 0) == 1``.
    """
    return 2.0 * math.sqrt(n + 1) * ((succ + 1) / (n + 1) - 0.5)


def two_prop_test(succ_in: float, succ_out: float, pop_in: float, pop_out: float) -> float:
    """Polis's two-proportion z statistic after adding 1 to all four counts; 0 when the pooled p is 1.

    Antisymmetric: ``two_prop_test(a, b, n, m) == -two_prop_test(b, a, m, n)``; positive iff the in-group
    proportion ``(a + 1) / (n + 1)`` exceeds the out-group's ``(b + 1) / (m + 1)``.
    """
    s1, s2, n1, n2 = succ_in + 1, succ_out + 1, pop_in + 1, pop_out + 1
    pi1, pi2 = s1 / n1, s2 / n2
    pi_hat = (s1 + s2) / (n1 + n2)
    if pi_hat == 1:
        return 0.0
    return (pi1 - pi2) / math.sqrt(pi_hat * (1 - pi_hat) * (1 / n1 + 1 / n2))


def _prop_test_array(succ: FloatArray, n: FloatArray) -> FloatArray:
    result: FloatArray = 2.0 * np.sqrt(n + 1) * ((succ + 1) / (n + 1) - 0.5)
    return result


def _two_prop_test_array(
    succ_in: FloatArray, succ_out: FloatArray, pop_in: FloatArray, pop_out: FloatArray
) -> FloatArray:
    s1, s2, n1, n2 = succ_in + 1, succ_out + 1, pop_in + 1, pop_out + 1
    pi_hat = (s1 + s2) / (n1 + n2)
    variance = pi_hat * (1 - pi_hat) * (1 / n1 + 1 / n2)
    degenerate = pi_hat == 1
    z: FloatArray = np.where(degenerate, 0.0, (s1 / n1 - s2 / n2) / np.sqrt(np.where(degenerate, 1.0, variance)))
    return z


def _counts(values: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per-row indicator matrices (agree, disagree, voted) as float64 for matrix products."""
    return (values == 1).astype(np.float64), (values == -1).astype(np.float64), (~np.isnan(values)).astype(np.float64)


def _membership(n_groups: int, labels: IntArray) -> FloatArray:
    """One-hot (n_groups, n_rows) matrix; rows with label -1 belong to no group."""
    onehot = np.zeros((n_groups, labels.shape[0]))
    rows = np.flatnonzero(labels >= 0)
    onehot[labels[rows], rows] = 1.0
    return onehot


def _group_informed_consensus(agree: FloatArray, voted: FloatArray, onehot: FloatArray) -> FloatArray:
    if onehot.shape[0] == 0:
        return np.ones(agree.shape[1])
    result: FloatArray = np.prod((onehot @ agree + 1.0) / (onehot @ voted + 2.0), axis=0)
    return result


def group_informed_consensus(matrix: VoteMatrix, assignment: Mapping[int, int]) -> dict[int, float]:
    """Polis's group-aware consensus per statement for any participant -> group assignment.

    ``consensus[s] = prod over groups g of (agrees of g's members on s + 1) / (votes of g's members on s
    incl. passes + 2)``; participants of ``assignment`` missing from the matrix add nothing, a group
    without votes on s contributes 1/2. Each factor lies in (0, 1), so does the product. Empty when
    ``assignment`` has no participant of the matrix.
    """
    row_of = {p: i for i, p in enumerate(matrix.participants)}
    present = {p: g for p, g in assignment.items() if p in row_of}
    if not present:
        return {}
    group_ids = sorted(set(present.values()))
    index_of = {g: i for i, g in enumerate(group_ids)}
    labels = np.full(len(matrix.participants), -1, dtype=np.int64)
    for participant, group in present.items():
        labels[row_of[participant]] = index_of[group]
    agree, _, voted = _counts(matrix.values)
    consensus = _group_informed_consensus(agree, voted, _membership(len(group_ids), labels))
    return dict(zip(matrix.statements, consensus.tolist(), strict=True))


def adjusted_rand_index(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Adjusted Rand index of two labelings of the same items (1 = identical partitions, ~0 = chance)."""
    if len(a) != len(b):
        raise ValueError("labelings must have the same length")
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(list(a), list(b)))


# --- participants and PCA ----------------------------------------------------------------------------


def in_conversation(
    matrix: VoteMatrix, *, min_votes: int = 7, greedy_n: int = 15, previous_in_conv: frozenset[int] = frozenset()
) -> tuple[int, ...]:
    """Polis's ``:in-conv`` rule, ids sorted ascending.

    Contains every participant with ``>= max(1, min(min_votes, n_statements))`` votes and every participant
    of ``previous_in_conv`` still in the matrix; while that is fewer than ``greedy_n``, the remaining
    participants with at least one vote are added in order of most votes, then smaller id.
    """
    n_votes = (~np.isnan(matrix.values)).sum(axis=1)
    threshold = max(1, min(min_votes, len(matrix.statements)))
    chosen = {p for p, n in zip(matrix.participants, n_votes.tolist(), strict=True) if n >= threshold}
    chosen |= previous_in_conv & set(matrix.participants)
    if len(chosen) < greedy_n:
        candidates = sorted(
            ((-n, p) for p, n in zip(matrix.participants, n_votes.tolist(), strict=True) if n > 0 and p not in chosen)
        )
        chosen.update(p for _, p in candidates[: greedy_n - len(chosen)])
    return tuple(sorted(chosen))


def _fix_sign(component: FloatArray) -> FloatArray:
    magnitude = np.abs(component)
    top = magnitude.max(initial=0.0)
    if top == 0.0:
        return component
    first = int(np.flatnonzero(magnitude >= top * (1 - 1e-9))[0])
    return -component if component[first] < 0 else component


def _top_eigen(centred: FloatArray, n_comps: int) -> tuple[FloatArray, FloatArray]:
    """The ``n_comps`` largest eigenvalues of ``centred.T @ centred`` (descending) and matching eigenvectors
    as rows (unnormalised when taken from the smaller Gram matrix ``centred @ centred.T``).

    Exact (LAPACK ``syevr`` on the smaller Gram matrix) and deterministic; costs
    O(rows * cols * min(rows, cols)), about 20 ms single-threaded for 2000 x 500.
    """
    n_rows, n_cols = centred.shape
    if not centred.any():
        return np.zeros(n_comps), np.zeros((n_comps, n_cols))
    size = min(n_rows, n_cols)
    gram = centred.T @ centred if n_cols <= n_rows else centred @ centred.T
    import scipy.linalg  # type: ignore[import-untyped]

    eigenvalues, vectors = scipy.linalg.eigh(gram, subset_by_index=[size - n_comps, size - 1], driver="evr")
    directions = vectors.T if n_cols <= n_rows else (centred.T @ vectors).T
    return eigenvalues[::-1], directions[::-1]


def principal_components(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Centre (S,) and first two principal components (2, S) of a vote matrix with NaN = not voted.

    ``center`` is the column mean over voted entries (0 for an unvoted column); missing votes are imputed
    with it. Components are orthonormal rows (a component is all zeros when the data has fewer than that
    many directions of variance), in order of decreasing variance, each with its first largest-magnitude
    loading positive.
    """
    n_rows, n_cols = values.shape
    voted = ~np.isnan(values)
    counts = voted.sum(axis=0)
    sums = np.where(voted, values, 0.0).sum(axis=0)
    center: FloatArray = np.divide(sums, counts, out=np.zeros(n_cols), where=counts > 0)
    components: FloatArray = np.zeros((2, n_cols))
    if n_rows == 0 or n_cols == 0:
        return center, components
    centred = np.where(voted, values - center, 0.0)
    n_comps = min(2, n_rows, n_cols)
    eigenvalues, directions = _top_eigen(centred, n_comps)
    scale = max(float(np.square(centred).sum()), 1.0)
    for i in range(n_comps):
        norm = float(np.linalg.norm(directions[i]))
        if eigenvalues[i] > 1e-10 * scale and norm > 0:
            components[i] = _fix_sign(directions[i] / norm)
    return center, components


def sparsity_aware_project(values: FloatArray, center: FloatArray, components: FloatArray) -> FloatArray:
    """Polis's sparsity-aware projection of rows of ``values`` (NaN = not voted), shape (n, 2).

    Row i maps to ``sqrt(S / max(n_votes_i, 1)) * sum over voted j of (x_ij - center_j) * components[:, j]``,
    so a row without votes maps to the origin and a fully voted row to its ordinary PCA projection.
    """
    values = np.atleast_2d(values)
    voted = ~np.isnan(values)
    centred = np.where(voted, values - center, 0.0)
    n_votes = voted.sum(axis=1)
    scale = np.sqrt(values.shape[1] / np.maximum(n_votes, 1))
    projected: FloatArray = (centred @ components.T) * scale[:, None]
    return projected


def comment_extremity(center: FloatArray, components: FloatArray) -> FloatArray:
    """Length of the sparsity-aware projection of a participant who agreed with only statement j, per j.

    Equals ``sqrt(S) * |1 - center_j| * ||components[:, j]||`` (Polis's ``comment-extremity``).
    """
    n_cols = center.shape[0]
    extremity: FloatArray = math.sqrt(n_cols) * np.abs(1.0 - center) * np.linalg.norm(components, axis=0)
    return extremity


# --- clustering ----------------------------------------------------------------------------------------


def _base_clusters(points: FloatArray, base_clusters: int, seed: int) -> tuple[IntArray, FloatArray]:
    """Base-cluster label per point and the clusters' centres (member means).

    Points equal to 9 decimals count as one distinct point, so identical vote rows always share a base
    cluster whatever rounding the matrix product left in their projections.
    """
    distinct, inverse = np.unique(np.round(points, 9), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1).astype(np.int64)
    if distinct.shape[0] <= base_clusters:
        centres = np.zeros((distinct.shape[0], 2))
        np.add.at(centres, inverse, points)
        return inverse, centres / np.bincount(inverse, minlength=distinct.shape[0])[:, None]
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=base_clusters, n_init=BASE_N_INIT, random_state=seed).fit(points)
    labels = np.asarray(kmeans.labels_, dtype=np.int64)
    used, labels = np.unique(labels, return_inverse=True)
    labels = labels.reshape(-1).astype(np.int64)
    centres = np.zeros((used.shape[0], 2))
    np.add.at(centres, labels, points)
    centres /= np.bincount(labels, minlength=used.shape[0])[:, None]
    return labels, centres


def _group_clusters(
    centres: FloatArray, weights: FloatArray, max_groups: int, seed: int
) -> tuple[IntArray, dict[int, float], int]:
    """Group label per base cluster, silhouette per tried k, and the chosen k."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n_base = centres.shape[0]
    if n_base <= 2:
        return np.arange(n_base, dtype=np.int64), {}, n_base
    max_k = min(max_groups, 2 + n_base // 12, n_base - 1)
    silhouettes: dict[int, float] = {}
    labelings: dict[int, IntArray] = {}
    for k in range(2, max_k + 1):
        kmeans = KMeans(n_clusters=k, n_init=GROUP_N_INIT, random_state=seed).fit(centres, sample_weight=weights)
        labels = np.asarray(kmeans.labels_, dtype=np.int64)
        if np.unique(labels).shape[0] < 2:
            continue
        silhouettes[k] = float(silhouette_score(centres, labels))
        labelings[k] = labels
    if not silhouettes:
        return np.zeros(n_base, dtype=np.int64), {}, 1
    best = max(silhouettes, key=lambda k: (silhouettes[k], -k))
    return labelings[best], silhouettes, best


def _merge_small_groups(points: FloatArray, labels: IntArray, min_size: int) -> list[list[int]]:
    """Partition of row indices in which every part has >= min_size rows, or a single part.

    Repeatedly takes the smallest too-small part (ties: smallest row index) and merges it into the part
    whose member-mean centroid is nearest to its own (ties: smaller smallest row index). Rows are in
    content order (see `_by_content`), so ties are broken by votes, never by participant ids.
    """
    parts = [np.flatnonzero(labels == label).tolist() for label in np.unique(labels)]
    while len(parts) > 1:
        small = [i for i, part in enumerate(parts) if len(part) < min_size]
        if not small:
            break
        source = min(small, key=lambda i: (len(parts[i]), min(parts[i])))
        centroids = [points[part].mean(axis=0) for part in parts]
        target = min(
            (i for i in range(len(parts)) if i != source),
            key=lambda i: (float(np.linalg.norm(centroids[i] - centroids[source])), min(parts[i])),
        )
        parts[target] = parts[target] + parts[source]
        del parts[source]
    return parts


# --- representativeness ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    """Per (group, statement) arrays of Polis's repness statistics, shape (G, S)."""

    na: FloatArray
    nd: FloatArray
    ns: FloatArray
    pa: FloatArray
    pd: FloatArray
    pat: FloatArray
    pdt: FloatArray
    ra: FloatArray
    rd: FloatArray
    rat: FloatArray
    rdt: FloatArray


def _repness_columns(agree: FloatArray, disagree: FloatArray, voted: FloatArray, onehot: FloatArray) -> _Columns:
    na, nd, ns = onehot @ agree, onehot @ disagree, onehot @ voted
    rest_na, rest_nd, rest_ns = na.sum(axis=0) - na, nd.sum(axis=0) - nd, ns.sum(axis=0) - ns
    pa, pd = (na + 1) / (ns + 2), (nd + 1) / (ns + 2)
    return _Columns(
        na=na,
        nd=nd,
        ns=ns,
        pa=pa,
        pd=pd,
        pat=_prop_test_array(na, ns),
        pdt=_prop_test_array(nd, ns),
        ra=pa / ((rest_na + 1) / (rest_ns + 2)),
        rd=pd / ((rest_nd + 1) / (rest_ns + 2)),
        rat=_two_prop_test_array(na, rest_na, ns, rest_ns),
        rdt=_two_prop_test_array(nd, rest_nd, ns, rest_ns),
    )


def _finalize(
    group: int, statement: int, s: Mapping[str, float], direction: Direction | None = None, best_agree: bool = False
) -> Repness:
    if direction is None:
        direction = "agree" if s["rat"] > s["rdt"] else "disagree"
    if direction == "agree":
        n_success, p_success, p_test, repness, repness_test = s["na"], s["pa"], s["pat"], s["ra"], s["rat"]
    else:
        n_success, p_success, p_test, repness, repness_test = s["nd"], s["pd"], s["pdt"], s["rd"], s["rdt"]
    return Repness(
        group=group,
        statement=statement,
        repful_for=direction,
        n_success=int(n_success),
        n_trials=int(s["ns"]),
        p_success=p_success,
        p_test=p_test,
        repness=repness,
        repness_test=repness_test,
        metric=repness * repness_test * p_success * p_test,
        na=int(s["na"]),
        nd=int(s["nd"]),
        ns=int(s["ns"]),
        pa=s["pa"],
        pd=s["pd"],
        pat=s["pat"],
        pdt=s["pdt"],
        ra=s["ra"],
        rd=s["rd"],
        rat=s["rat"],
        rdt=s["rdt"],
        best_agree=best_agree,
    )


def _passes_by_test(s: Mapping[str, float]) -> bool:
    return (s["rat"] > Z_90 and s["pat"] > Z_90) or (s["rdt"] > Z_90 and s["pdt"] > Z_90)


def _beats_best_agree(s: Mapping[str, float], best: Mapping[str, float] | None) -> bool:
    if s["na"] == 0 and s["nd"] == 0:
        return False
    if best is not None and best["ra"] > 1.0:
        return s["ra"] * s["rat"] * s["pa"] * s["pat"] > best["ra"] * best["rat"] * best["pa"] * best["pat"]
    if best is not None:
        return s["pa"] * s["pat"] > best["pa"] * best["pat"]
    return s["pat"] > Z_90 or (s["ra"] > 1.0 and s["pa"] > 0.5)


def select_representative(
    group: int, statements: Sequence[int], stats: Sequence[Mapping[str, float]]
) -> tuple[Repness, ...]:
    """Polis's ``select-rep-comments`` for one group; ``stats[j]`` holds na..rdt of ``statements[j]``.

    Scanning statements in column order: a statement is *sufficient* when (pat and rat) or (pdt and rdt)
    exceed ``Z_90``; the *best agree* statement is tracked with Polis's ``beats-best-agr?`` (never one
    without agrees or disagrees); the *best* is the first with the largest ``max(rat, rdt)``. Result:
    without sufficient statements, ``[best agree]`` or else ``[best]`` (or nothing when there are no
    statements); otherwise best agree (if any) followed by the sufficient statements by metric descending
    (best agree not repeated), cut to 5, then stably reordered agrees before disagrees. At most 5 entries,
    no statement twice; ``best_agree`` entries are in the agree direction.
    """
    sufficient: list[Repness] = []
    best: Repness | None = None
    best_agree: tuple[int, Mapping[str, float]] | None = None
    for statement, s in zip(statements, stats, strict=True):
        if _passes_by_test(s):
            sufficient.append(_finalize(group, statement, s))
        if not sufficient and (best is None or max(s["rat"], s["rdt"]) > best.repness_test):
            best = _finalize(group, statement, s)
        if _beats_best_agree(s, None if best_agree is None else best_agree[1]):
            best_agree = (statement, s)
    head: list[Repness] = []
    if best_agree is not None:
        head = [_finalize(group, best_agree[0], best_agree[1], "agree", best_agree=True)]
    if not sufficient:
        if head:
            return tuple(head)
        return (best,) if best is not None else ()
    head_statements = {r.statement for r in head}
    ranked = sorted((r for r in sufficient if r.statement not in head_statements), key=lambda r: -r.metric)
    chosen = (head + ranked)[:MAX_REPRESENTATIVE]
    return tuple([r for r in chosen if r.repful_for == "agree"] + [r for r in chosen if r.repful_for == "disagree"])


def majority_opinions(matrix: VoteMatrix) -> tuple[Majority, ...]:
    """Polis's ``consensus-stats`` + ``select-consensus-comments`` over every participant of ``matrix``.

    For each direction: statements with p > 0.5 and prop-test z > ``Z_90``, by p * z descending (stable in
    column order), at most 5; agree entries first, then disagree. A statement can appear in one direction only.
    """
    agree, disagree, voted = _counts(matrix.values)
    na, nd, ns = agree.sum(axis=0), disagree.sum(axis=0), voted.sum(axis=0)
    result: list[Majority] = []
    direction: Direction
    for direction, succ in (("agree", na), ("disagree", nd)):
        p = (succ + 1) / (ns + 2)
        z = _prop_test_array(succ, ns)
        keep = [j for j in range(len(matrix.statements)) if p[j] > 0.5 and z[j] > Z_90]
        keep.sort(key=lambda j: -(p[j] * z[j]))
        result.extend(
            Majority(matrix.statements[j], direction, int(succ[j]), int(ns[j]), float(p[j]), float(z[j]))
            for j in keep[:MAX_MAJORITY]
        )
    return tuple(result)


def divisiveness(pa: FloatArray) -> FloatArray:
    """Per statement, the spread of the groups' agree probabilities: ``max_g pa[g] - min_g pa[g]``.

    ``pa[g] = (agrees + 1) / (votes + 2)`` within group g (rows = groups). In [0, 1); 0 with fewer than two
    groups. Not a Polis statistic: it is the quantity Polis's consensus view contrasts with.
    """
    if pa.shape[0] < 2:
        return np.zeros(pa.shape[1])
    spread: FloatArray = pa.max(axis=0) - pa.min(axis=0)
    return spread


# --- the whole computation ---------------------------------------------------------------------------------


def compute(
    matrix: VoteMatrix,
    *,
    seed: int = 0,
    min_group_size: int = 5,
    min_votes: int = 7,
    greedy_n: int = 15,
    max_groups: int = 5,
    base_clusters: int = 100,
    previous_in_conv: frozenset[int] = frozenset(),
) -> OpinionResult:
    """Opinion groups and their statistics for ``matrix`` (see the module docstring for the method).

    Deterministic: equal inputs and seed give equal results. Groups partition ``in_conv`` and each has
    ``>= min_group_size`` members; there are none when ``in_conv`` has fewer than ``min_group_size``.
    Runs with BLAS/OpenMP limited to one thread (process-wide while it runs): on a small shared machine
    their thread pools made it several times slower under contention, single-threaded it is fast enough.
    """
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(limits=1):
        return _compute(
            matrix,
            seed=seed,
            min_group_size=min_group_size,
            min_votes=min_votes,
            greedy_n=greedy_n,
            max_groups=max_groups,
            base_clusters=base_clusters,
            previous_in_conv=previous_in_conv,
        )


def _by_content(matrix: VoteMatrix, ids: tuple[int, ...], row_of: Mapping[int, int]) -> tuple[int, ...]:
    """``ids`` ordered by their rows of votes (then by id). k-means seeding depends on row order;
    ordering by content makes the groups a function of the votes alone, so the same votes give
    the same groups for a seed whichever (random) ids the participants hold."""
    if not ids:
        return ids
    rows = np.nan_to_num(matrix.values[[row_of[p] for p in ids]], nan=2.0)
    order = np.lexsort((np.asarray(ids, dtype=np.float64), *rows.T[::-1]))
    return tuple(ids[i] for i in order.tolist())


def _compute(
    matrix: VoteMatrix,
    *,
    seed: int,
    min_group_size: int,
    min_votes: int,
    greedy_n: int,
    max_groups: int,
    base_clusters: int,
    previous_in_conv: frozenset[int],
) -> OpinionResult:
    if min_group_size < 1 or max_groups < 2 or base_clusters < 1:
        raise ValueError("need min_group_size >= 1, max_groups >= 2 and base_clusters >= 1")
    statements = matrix.statements
    in_conv = in_conversation(matrix, min_votes=min_votes, greedy_n=greedy_n, previous_in_conv=previous_in_conv)
    row_of = {p: i for i, p in enumerate(matrix.participants)}
    in_conv = _by_content(matrix, in_conv, row_of)
    values = matrix.values[[row_of[p] for p in in_conv]].reshape(len(in_conv), len(statements))
    center, components = principal_components(values)
    points = sparsity_aware_project(values, center, components).reshape(len(in_conv), 2)
    projections = {p: (float(x), float(y)) for p, (x, y) in zip(in_conv, points.tolist(), strict=True)}
    extremity = dict(zip(statements, comment_extremity(center, components).tolist(), strict=True))

    groups: tuple[Group, ...] = ()
    silhouettes: dict[int, float] = {}
    chosen_k = 0
    labels = np.full(len(in_conv), -1, dtype=np.int64)
    if len(in_conv) >= min_group_size:
        base_labels, centres = _base_clusters(points, base_clusters, seed)
        weights = np.bincount(base_labels, minlength=centres.shape[0]).astype(np.float64)
        group_of_base, silhouettes, chosen_k = _group_clusters(centres, weights, max_groups, seed)
        parts = _merge_small_groups(points, group_of_base[base_labels], min_group_size)
        # Numbering only (the partition itself never depends on ids): larger first, then smallest id.
        parts.sort(key=lambda part: (-len(part), min(in_conv[r] for r in part)))
        built = []
        for gid, part in enumerate(parts):
            labels[part] = gid
            centroid = points[part].mean(axis=0)
            members = tuple(sorted(in_conv[r] for r in part))
            built.append(Group(gid, members, (float(centroid[0]), float(centroid[1]))))
        groups = tuple(built)
    assignment = {in_conv[r]: int(labels[r]) for r in range(len(in_conv)) if labels[r] >= 0}

    agree, disagree, voted = _counts(values)
    onehot = _membership(len(groups), labels)
    columns = _repness_columns(agree, disagree, voted, onehot)
    names = ("na", "nd", "ns", "pa", "pd", "pat", "pdt", "ra", "rd", "rat", "rdt")
    as_lists = {name: getattr(columns, name).tolist() for name in names}
    repness: dict[int, tuple[Repness, ...]] = {}
    statement_stats: dict[tuple[int, int], Repness] = {}
    for group in groups:
        per_statement = [{name: as_lists[name][group.id][j] for name in names} for j in range(len(statements))]
        for statement, s in zip(statements, per_statement, strict=True):
            statement_stats[(group.id, statement)] = _finalize(group.id, statement, s)
        repness[group.id] = select_representative(group.id, statements, per_statement)
    representative_group: dict[int, int | None] = {}
    for statement in statements:
        candidates = [statement_stats[(group.id, statement)] for group in groups]
        representative_group[statement] = (
            max(candidates, key=lambda r: (r.metric, -r.group)).group if candidates else None
        )
    consensus = (
        dict(zip(statements, _group_informed_consensus(agree, voted, onehot).tolist(), strict=True)) if groups else {}
    )
    return OpinionResult(
        in_conv=tuple(sorted(in_conv)),
        center=center,
        components=components,
        projections=projections,
        extremity=extremity,
        groups=groups,
        assignment=assignment,
        k_silhouettes=silhouettes,
        chosen_k=chosen_k,
        repness=repness,
        statement_stats=statement_stats,
        representative_group=representative_group,
        consensus=consensus,
        majority=majority_opinions(matrix),
        divisiveness=dict(zip(statements, divisiveness(columns.pa).tolist(), strict=True)),
    )
