"""Standard knapsack test instances, as `MultipleChoiceKnapsack` models.

0/1 knapsack classes (Pisinger, "Where are the hard knapsack problems?", Computers & OR 32, 2005; Martello, Pisinger
and Toth, Management Sci. 45, 1999). Weights ``w`` are uniform integers in [1, R]; profits ``p`` are:

==================================  ===========================================================================
``uncorrelated``                    uniform in [1, R]
``weakly_correlated``               uniform in [w - R/10, w + R/10], at least 1
``strongly_correlated``             w + R/10
``inverse_strongly_correlated``     p uniform in [1, R], and the weight is p + R/10
``almost_strongly_correlated``      uniform in [w + R/10 - R/500, w + R/10 + R/500]
``subset_sum``                      w
``profit_ceiling``                  3 * ceil(w / 3)
``circle``                          floor(2/3 * sqrt(4 R^2 - (w - 2R)^2))
``spanner``                         span(2, 10): 2 strongly correlated items, weights and profits divided by 11
                                    (rounded up), each item a random one of them times a multiplier in [1, 10]
==================================  ===========================================================================

The capacity is ``floor(capacity * sum(w))`` (half by default). Item j becomes group j with two options, skip
(cost 0, value 0) and take (cost w_j, value p_j).

Multiple-choice classes (Pisinger, "A minimal algorithm for the multiple-choice knapsack problem", EJOR 83, 1995;
Kellerer, Pferschy and Pisinger, *Knapsack Problems*, 2004, sec. 11.9), N classes of K items, weights uniform
in [1, R]:

====================  ========================================================================================
``uncorrelated``      profits uniform in [1, R]
``weakly_correlated`` profits uniform in [w - 10, w + 10], at least 1
``strongly_correlated`` per class, K items (w', w' + 10) sorted by weight, then cumulated: option j is the sum
                      of the first j + 1 of them (every option on a line of slope about 1)
``subset_sum``        profit = weight
``monotone``          per class, K weights and K profits drawn uniformly in [1, R] and each sorted increasing:
                      no option is dominated, but the (cost, value) points zig-zag below their upper hull
====================  ========================================================================================

The budget is ``floor(capacity * sum_i (min_j w_ij + max_j w_ij))`` (capacity 0.5: Pisinger's choice).

Examples:
    >>> import orbudget as ob
    >>> p = ob.knapsack_instances.zero_one("strongly_correlated", 50, R=100, seed=0)
    >>> p.values.shape, p.costs[0, 0]
    ((50, 2), np.int64(0))
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.validation import as_generator, as_scalar
from .knapsack import MultipleChoiceKnapsack

ZERO_ONE_CLASSES = (
    "uncorrelated",
    "weakly_correlated",
    "strongly_correlated",
    "inverse_strongly_correlated",
    "almost_strongly_correlated",
    "subset_sum",
    "profit_ceiling",
    "circle",
    "spanner",
)
MULTIPLE_CHOICE_CLASSES = ("uncorrelated", "weakly_correlated", "strongly_correlated", "subset_sum", "monotone")


def _check_kind(kind, classes):
    if kind not in classes:
        raise InvalidProblemError(f"`kind` must be one of {', '.join(map(repr, classes))}; got {kind!r}")
    return kind


def _zero_one_items(kind: str, n: int, R: int, rng) -> tuple[np.ndarray, np.ndarray]:
    w = rng.integers(1, R + 1, n)
    if kind == "uncorrelated":
        p = rng.integers(1, R + 1, n)
    elif kind == "weakly_correlated":
        p = np.maximum(1, w + rng.integers(-(R // 10), R // 10 + 1, n))
    elif kind == "strongly_correlated":
        p = w + R // 10
    elif kind == "inverse_strongly_correlated":
        p = rng.integers(1, R + 1, n)
        w = p + R // 10
    elif kind == "almost_strongly_correlated":
        p = w + R // 10 + rng.integers(-(R // 500), R // 500 + 1, n)
    elif kind == "subset_sum":
        p = w.copy()
    elif kind == "profit_ceiling":
        p = 3 * -(-w // 3)
    elif kind == "circle":
        p = np.floor(2.0 / 3.0 * np.sqrt(4.0 * R * R - (w - 2.0 * R) ** 2)).astype(np.int64)
    else:  # spanner span(2, 10), strongly correlated spanner set
        v, m = 2, 10
        sw, sp = _zero_one_items("strongly_correlated", v, R, rng)
        sw, sp = -(-sw // (m + 1)), -(-sp // (m + 1))
        pick = rng.integers(0, v, n)
        mult = rng.integers(1, m + 1, n)
        w, p = sw[pick] * mult, sp[pick] * mult
    return w.astype(np.int64), p.astype(np.int64)


def zero_one(kind: str, n: int, *, R: int = 1000, capacity: float = 0.5, seed=None) -> MultipleChoiceKnapsack:
    """A 0/1 knapsack of class ``kind`` (see the module docstring) with ``n`` items and range ``R``, as a
    multiple-choice knapsack with options (skip, take) per item."""
    kind = _check_kind(kind, ZERO_ONE_CLASSES)
    n = as_scalar("n", n, integer=True, minimum=1)
    R = as_scalar("R", R, integer=True, minimum=10)
    capacity = as_scalar("capacity", capacity, minimum=0.0, maximum=1.0)
    w, p = _zero_one_items(kind, n, R, as_generator(seed))
    costs = np.stack([np.zeros(n, np.int64), w], axis=1)
    values = np.stack([np.zeros(n), p.astype(np.float64)], axis=1)
    return MultipleChoiceKnapsack(values=values, costs=costs, budget=int(np.floor(capacity * int(w.sum()))))


def multiple_choice(kind: str, N: int, K: int, *, R: int = 1000, capacity: float = 0.5, seed=None) -> MultipleChoiceKnapsack:
    """A multiple-choice knapsack of class ``kind`` (see the module docstring): ``N`` classes of ``K`` items."""
    kind = _check_kind(kind, MULTIPLE_CHOICE_CLASSES)
    N = as_scalar("N", N, integer=True, minimum=1)
    K = as_scalar("K", K, integer=True, minimum=1)
    R = as_scalar("R", R, integer=True, minimum=10)
    capacity = as_scalar("capacity", capacity, minimum=0.0, maximum=1.0)
    rng = as_generator(seed)
    w = rng.integers(1, R + 1, (N, K))
    if kind == "uncorrelated":
        p = rng.integers(1, R + 1, (N, K))
    elif kind == "weakly_correlated":
        p = np.maximum(1, w + rng.integers(-10, 11, (N, K)))
    elif kind == "strongly_correlated":
        w = np.sort(w, axis=1)
        p = np.cumsum(w + 10, axis=1)
        w = np.cumsum(w, axis=1)
    elif kind == "subset_sum":
        p = w.copy()
    else:  # monotone
        w = np.sort(w, axis=1)
        p = np.sort(rng.integers(1, R + 1, (N, K)), axis=1)
    budget = int(np.floor(capacity * int((w.min(axis=1) + w.max(axis=1)).sum())))
    return MultipleChoiceKnapsack(values=p.astype(np.float64), costs=w.astype(np.int64), budget=budget)
