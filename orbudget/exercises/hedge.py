"""Hedge and games (Slivkins ch. 5 and 9): the building blocks of LagrangeBwK."""

from __future__ import annotations

import math

import numpy as np

from ._base import Exercise, Feedback


def hedge_reference(costs: np.ndarray, step: float) -> np.ndarray:
    """Hedge: p_t ∝ exp(−ε Σ_{s<t} cost_s); row t is the distribution played in round t (before its costs)."""
    costs = np.asarray(costs, float)
    cum = np.vstack([np.zeros(costs.shape[1]), np.cumsum(costs, axis=0)[:-1]])
    logits = -step * cum
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(axis=1, keepdims=True)


def _grade_hedge(answer) -> Feedback:
    rng = np.random.default_rng(7)
    for horizon, k in ((50, 3), (400, 8)):
        costs = rng.random((horizon, k))
        step = math.sqrt(math.log(k) / horizon)
        got = np.asarray(answer(costs, step), float)
        if got.shape != costs.shape:
            return Feedback(False, f"expected one distribution per round, shape {costs.shape}; got {got.shape}")
        if not np.allclose(got.sum(axis=1), 1.0):
            return Feedback(False, "each row must be a probability distribution (sum to 1)")
        want = hedge_reference(costs, step)
        if not np.allclose(got[0], 1.0 / k):
            return Feedback(False, f"round 0 must be uniform (no costs seen yet); got {np.round(got[0], 4)}")
        bad = np.flatnonzero(~np.isclose(got, want, rtol=1e-8, atol=1e-12).all(axis=1))
        if bad.size:
            t = int(bad[0])
            return Feedback(
                False,
                f"round {t}: expected {np.round(want[t], 4)}, got {np.round(got[t], 4)}. Hint: row t "
                "uses the costs of rounds 0..t-1 only, with weights exp(−ε·cumulative cost).",
            )
        regret = float((got * costs).sum() - costs.sum(axis=0).min())
        bound = math.log(k) / step + step * horizon
        if regret > bound:
            return Feedback(False, f"regret {regret:.3f} exceeds ln K/ε + εT = {bound:.3f}")
    return Feedback(True, "matches Hedge exactly, and the regret is within ln K/ε + εT on the random cost sequences")


def equilibrium_reference(matrix: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Hedge (row player, minimising pᵀAq) against Hedge (column player, maximising), full feedback, ε = √(ln K/(2T));
    returns the average strategies."""
    a = np.asarray(matrix, float)
    rows, cols = a.shape
    er, ec = math.sqrt(math.log(rows) / (2 * horizon)), math.sqrt(math.log(cols) / (2 * horizon))
    lr, lc = np.zeros(rows), np.zeros(cols)
    pbar, qbar = np.zeros(rows), np.zeros(cols)
    for _ in range(horizon):
        p = np.exp(-er * (lr - lr.min()))
        p /= p.sum()
        q = np.exp(ec * (lc - lc.max()))
        q /= q.sum()
        pbar += p
        qbar += q
        lr += a @ q  # row costs
        lc += p @ a  # column gains
    return pbar / horizon, qbar / horizon


def _grade_equilibrium(answer) -> Feedback:
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
        reference=lambda: hedge_reference,
        solution_text=(
            "Keep the cumulative cost vector. Before round t, play softmax(−ε·cumulative); subtract the "
            "maximum logit to avoid overflow. The potential argument, with Φ = Σ exp(−ε·cumulative), gives "
            "regret ≤ ln K/ε + εT. With ε = √(ln K/T), this is 2√(T ln K)."
        ),
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
        reference=lambda: equilibrium_reference,
        solution_text=(
            "Let R1 and R2 be the regrets of the two players. Then max_j (p̄ᵀA)_j − min_i (Aq̄)_i ≤ "
            "(R1 + R2)/T, because each player's average cost is within R/T of its best response against "
            "the other's average. With Hedge, R ≤ O(√(T ln K)), so δ_T = O(√(ln K/T)), plus the "
            "√(ln T/T) of the high-probability version."
        ),
    ),
)
