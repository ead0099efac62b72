"""What the knapsack family's exact methods share: a cheap feasible start (`starting_choice`), so that a time limit or
a Ctrl-C that lands before the MIP or CP solver finds a solution of its own still returns one (DESIGN rule 7).

The start is the Lagrangian choice of the LP relaxation: every group takes the option that maximises
$v_{ik} - \\lambda c_{ik}$, for the least price $\\lambda$ (found by bisection) whose choice fits the budget; then the
groups whose choice changes just below that price move up, best ratio first, while they fit. That is the LP's
integral part (what the convex-hull greedy keeps) at numpy speed: about 10 ms for 3,000 groups of 10 options,
with no kernel to compile, so it costs as little in a guarded child as in the calling process. Exact budgets have
no cheap start (meeting one is a subset-sum problem): `starting_choice` gives ``None`` there.
"""

from __future__ import annotations

import numpy as np

from ..problems.knapsack import MultipleChoiceKnapsack

BISECTION_ROUNDS = 64  # halvings of the price interval (a fixed count of work, never a clock)


def starting_choice(problem: MultipleChoiceKnapsack) -> tuple[np.ndarray | None, float | None]:
    """``(x, bound)``: a feasible choice (option index per group, checked exactly with ``problem.is_feasible``) and
    the least Lagrangian bound met on the way, $\\sum_i \\max_k (v_{ik} - \\lambda c_{ik}) + \\lambda B$, an upper
    bound on the optimum (floats). ``(None, None)`` for an exact budget or a budget that nothing fits.
    Deterministic: the same problem gives the same choice."""
    if problem.exact:
        return None, None
    usable = problem.affordable()
    if not usable.any(axis=1).all():
        return None, None
    n = problem.n_groups
    rows = np.arange(n)
    values = np.where(usable, np.asarray(problem.values, np.float64), -np.inf)
    costs = np.where(usable, np.asarray(problem.costs, np.float64), np.inf)
    finite_costs = np.where(usable, costs, 0.0)
    high = float(problem.spend_window()[1])
    bound = np.inf
    # the cheapest option of each group, the better value among equal costs: fits whenever anything does
    cheapest = np.lexsort((-values, costs), axis=1)[:, 0]

    def choice(price: float) -> np.ndarray:
        nonlocal bound
        score = np.where(usable, values - price * finite_costs, -np.inf)
        x = score.argmax(axis=1)
        bound = min(bound, float(score[rows, x].sum()) + price * high)
        return x

    def spend(x: np.ndarray) -> float:
        return float(costs[rows, x].sum())

    best = choice(0.0)
    if spend(best) > high:
        spread = float(np.where(usable, np.abs(values), 0.0).max()) + 1.0
        low_price, high_price = 0.0, spread / max(float(finite_costs.max()), 1e-300)
        x_high = choice(high_price)
        for _ in range(BISECTION_ROUNDS):  # double until the choice fits (or the cheapest choice is the answer)
            if spend(x_high) <= high:
                break
            low_price, high_price = high_price, 2.0 * high_price
            x_high = choice(high_price)
        else:
            x_high = cheapest
        if not np.array_equal(x_high, cheapest):
            for _ in range(BISECTION_ROUNDS):
                mid = 0.5 * (low_price + high_price)
                if not low_price < mid < high_price:
                    break
                x_mid = choice(mid)
                if spend(x_mid) <= high:
                    high_price, x_high = mid, x_mid
                else:
                    low_price = mid
        best = _fill(x_high, choice(low_price), values, costs, high)
    bound_or_none = bound if np.isfinite(bound) else None
    if problem.is_feasible(best):
        return best.astype(np.int64), bound_or_none
    if problem.is_feasible(cheapest):  # float sums that rounded past the budget
        return cheapest.astype(np.int64), bound_or_none
    return None, bound_or_none


def _fill(x: np.ndarray, up: np.ndarray, values: np.ndarray, costs: np.ndarray, high: float) -> np.ndarray:
    """``x`` with groups moved to their choice in ``up`` (a lower price's), best value per cost first, while the
    total fits."""
    rows = np.arange(x.size)
    moved = np.flatnonzero(up != x)
    if moved.size == 0:
        return x
    d_cost = costs[moved, up[moved]] - costs[moved, x[moved]]
    d_value = values[moved, up[moved]] - values[moved, x[moved]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(d_cost > 0, d_value / d_cost, np.inf)
    x = x.copy()
    left = high - float(costs[rows, x].sum())
    for i in np.lexsort((moved, -ratio)).tolist():
        if d_value[i] > 0 and d_cost[i] <= left:
            x[moved[i]] = up[moved[i]]
            left -= float(d_cost[i])
    return x
