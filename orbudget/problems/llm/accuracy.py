"""The exact accuracy numerics of LLM sample allocation: pass@k, the majority-vote table, the concavity check;
and the field checks the LLM models share."""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, xlogy

from ..knapsack import check_table_size

OBJECTIVES = ("pass_at_k", "majority_vote")
MAX_VOTE_SAMPLES = 256  # the exact majority-vote table costs O(K n^3) per question
PROBABILITY_SUM_TOL = 1e-6
CONCAVITY_TOL = 1e-12


# -- accuracy numerics ---------------------------------------------------------------------------------------------


def pass_at_k(p, n):
    """$1 - (1-p)^n$, as ``-expm1(n log1p(-p))`` (exact to the last digit for tiny p; 0 when n = 0).

    Examples:
        >>> float(pass_at_k(0.5, 3))
        0.875
    """
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = -np.expm1(n * np.log1p(-p))
    return np.where(n == 0, 0.0, out)


def pass_at_k_table(success_rates, n_max: int) -> np.ndarray:
    """(N, n_max + 1) table of pass@n for n = 0..n_max; a table too large for memory is refused first, naming
    `max_samples`."""
    p = np.asarray(success_rates, dtype=float)[:, None]
    check_table_size("max_samples", 8 * p.shape[0] * (int(n_max) + 1), f"the pass@k table ({p.shape[0]} x {int(n_max) + 1})")
    return pass_at_k(p, np.arange(n_max + 1, dtype=float)[None, :])


def majority_vote_table(probabilities, correct, n_max: int) -> np.ndarray:
    """(N, n_max + 1) table: entry [i, n] is the probability that the plurality vote of n samples from the
    categorical distribution ``probabilities[i]`` returns answer ``correct[i]`` (ties: uniform among tied answers;
    n = 0 gives 0, no answer).

    Exact: with the correct answer drawn c times, the others' counts must all be <= c; the ``t`` others at exactly
    c tie with it, which wins with probability 1/(1+t). For each c the others' joint count distribution is a
    product of truncated exponential generating functions, kept as probabilities
    $G_j[m] = \\sum_x \\binom{m}{x} q_j^x G_{j-1}[m-x]$ (every entry <= 1, binomials in log space), with a
    second axis counting ties; one pass gives every n <= ``n_max``. Work O(K n_max^3) per question, vectorised over
    questions.

    Examples:
        >>> round(float(majority_vote_table([[0.6, 0.4]], [0], 3)[0, 3]), 6)
        0.648
    """
    P = np.asarray(probabilities, dtype=float)
    n_q, k = P.shape
    correct = np.asarray(correct, dtype=np.int64)
    rows = np.arange(n_q)
    p0 = P[rows, correct]
    keep = np.ones(P.shape, bool)
    keep[rows, correct] = False
    others = P[keep].reshape(n_q, k - 1)
    others = others[:, others.max(axis=0, initial=0.0) > 0] if others.size else others  # drop all-zero columns
    logfact = gammaln(np.arange(n_max + 2, dtype=float) + 1.0)
    out = np.zeros((n_q, n_max + 1))
    n_others = others.shape[1]
    for c in range(1, n_max + 1):
        length = n_max - c + 1  # the others' total m = 0..n_max - c
        ties = min(n_others, (n_max - c) // c)
        g = np.zeros((n_q, ties + 1, length))
        g[:, 0, 0] = 1.0
        for j in range(n_others):
            q = others[:, j][:, None]
            new = np.zeros_like(g)
            for x in range(0, min(c, length - 1) + 1):
                m = np.arange(x, length)
                coef = np.exp(logfact[m] - logfact[x] - logfact[m - x] + xlogy(x, q))  # (n_q, length - x)
                if x < c:
                    new[:, :, x:] += coef[:, None, :] * g[:, :, : length - x]
                else:
                    new[:, 1:, x:] += coef[:, None, :] * g[:, :-1, : length - x]
            g = new
        s = np.einsum("qtl,t->ql", g, 1.0 / np.arange(1, ties + 2))
        n = np.arange(c, n_max + 1)
        out[:, c:] += np.exp(logfact[n] - logfact[c] - logfact[n - c] + xlogy(c, p0[:, None])) * s
    return np.minimum(out, 1.0)


def concavity_report(table, lo, hi, tol: float = CONCAVITY_TOL) -> dict:
    """Whether each row of ``table`` has non-increasing marginal gains on [lo_i, hi_i] (to ``tol``)."""
    table = np.asarray(table, dtype=float)
    gains = np.diff(table, axis=1)
    second = np.diff(gains, axis=1)  # second[i, n] = gain(n+1) - gain(n), n = 0..
    cols = np.arange(second.shape[1])[None, :]
    inside = (cols >= np.asarray(lo)[:, None]) & (cols + 2 <= np.asarray(hi)[:, None])
    scale = tol * np.maximum(1.0, np.abs(table).max(axis=1, keepdims=True))
    bad = inside & (second > scale)
    rows = np.flatnonzero(bad.any(axis=1))
    worst = float(np.where(inside, second, -np.inf).max(initial=-np.inf)) if second.size else -np.inf
    return {
        "concave": rows.size == 0,
        "nonconcave_questions": int(rows.size),
        "first_nonconcave": int(rows[0]) if rows.size else None,
        "max_gain_increase": max(worst, 0.0),
    }
