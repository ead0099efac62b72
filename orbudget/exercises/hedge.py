"""Hedge and games (Slivkins ch. 5 and 9): the building blocks of LagrangeBwK."""

from __future__ import annotations

import math

import numpy as np

from ._base import Exercise, Feedback


def _grade_hedge(answer) -> Feedback:
    """Hedge is pinned down by two properties, checked here without running Hedge: round 0 is uniform, and each round
    multiplies the weights by exp(−ε·cost), so log p_{t+1} − log p_t + ε·c_t is the same for every expert. The
    regret bound ln K/ε + εT is checked on top."""
    rng = np.random.default_rng(7)
    for horizon, k in ((50, 3), (400, 8)):
        costs = rng.random((horizon, k))
        step = math.sqrt(math.log(k) / horizon)
        got = np.asarray(answer(costs, step), float)
        if got.shape != costs.shape:
            return Feedback(False, f"expected one distribution per round, shape {costs.shape}; got {got.shape}")
        if not np.isfinite(got).all() or (got < 0).any() or not np.allclose(got.sum(axis=1), 1.0):
            return Feedback(False, "each row must be a probability distribution (non-negative, sum to 1)")
        if not np.allclose(got[0], 1.0 / k):
            return Feedback(False, f"round 0 must be uniform (no costs seen yet); got {np.round(got[0], 4)}")
        if (got <= 0).any():
            t = int(np.flatnonzero((got <= 0).any(axis=1))[0])
            return Feedback(False, f"round {t}: an expert has weight 0; Hedge keeps every weight positive")
        drift = np.log(got[1:]) - np.log(got[:-1]) + step * costs[:-1]  # constant across experts for Hedge
        spread = drift.max(axis=1) - drift.min(axis=1)
        bad = np.flatnonzero(spread > 1e-9)
        if bad.size:
            t = int(bad[0])
            return Feedback(
                False,
                f"round {t + 1}: p_{t + 1}/p_{t} is not proportional to exp(−ε·c_{t}) (off by a factor up to "
                f"{math.exp(spread[t]):.4g} between experts). Hint: row t uses the costs of rounds 0..t-1 only, "
                "with weights exp(−ε·cumulative cost).",
            )
        regret = float((got * costs).sum() - costs.sum(axis=0).min())
        bound = math.log(k) / step + step * horizon
        if regret > bound:
            return Feedback(False, f"regret {regret:.3f} exceeds ln K/ε + εT = {bound:.3f}")
    return Feedback(
        True,
        "starts uniform and updates every weight by exp(−ε·cost), as Hedge does, and the regret is within "
        "ln K/ε + εT on the random cost sequences",
    )


def _grade_equilibrium(answer) -> Feedback:
    """Graded by the equilibrium gap of the averages (best responses against each), not against a reference run."""
    rng = np.random.default_rng(3)
    for horizon, (rows, cols) in ((2000, (3, 4)), (8000, (5, 5))):
        a = rng.random((rows, cols))
        p, q = (np.asarray(v, float) for v in answer(a, horizon))
        if p.shape != (rows,) or q.shape != (cols,) or not (np.isclose(p.sum(), 1) and np.isclose(q.sum(), 1)):
            return Feedback(False, f"return two probability vectors of sizes {rows} and {cols}")
        gap = float((p @ a).max() - (a @ q).min())  # best responses against each average
        bound = 3 * math.sqrt(math.log(max(rows, cols) * horizon) / horizon)
        if gap > bound:
            return Feedback(
                False,
                f"{rows}x{cols} game, T={horizon}: the average strategies are a {gap:.4f}-equilibrium; "
                f"Hedge vs Hedge reaches {bound:.4f} (3√(ln(KT)/T)). Hint: each player updates with "
                "its full-feedback costs every round; return the averages, not the last iterates.",
            )
    return Feedback(True, "the average play is a δ_T-approximate Nash equilibrium with δ_T <= 3√(ln(KT)/T)")


EXERCISES = (
    Exercise(
        id="hedge",
        title="Implement Hedge",
        source="Slivkins, Chapter 5 (Hedge)",
        statement=(
            "K experts, costs c_t ∈ [0, 1]^K revealed after each round. Hedge plays "
            "p_t ∝ exp(−ε Σ_{s<t} c_s). Implement it, and check that its regret is at most ln K/ε + εT."
        ),
        answer_format="a function hedge(costs (T, K), eps) -> (T, K) array of the distributions played",
        grader=_grade_hedge,
    ),
    Exercise(
        id="games-9.3",
        title="Hedge vs Hedge finds an approximate equilibrium",
        source="Slivkins, Exercise 9.3",
        statement=(
            "In a zero-sum game with cost matrix A ∈ [0, 1]^{K×K'}, the row player minimises pᵀAq and the column "
            "player maximises it. Both run Hedge with full feedback and ε = √(ln K/(2T)). Show, and check "
            "numerically, that the average strategies (p̄, q̄) form a δ_T-approximate Nash equilibrium with "
            "δ_T = O(√(ln(KT)/T)). This is the engine inside LagrangeBwK."
        ),
        answer_format="a function equilibrium(A, T) -> (p_bar, q_bar)",
        grader=_grade_equilibrium,
    ),
)
