"""numpy adapters of budget-aware step routing (`StepRouting`): ``dp`` (exact over (step, remaining budget)),
``small`` and ``large`` (the boundary policies), ``mix`` (call the large model with a fixed probability), their exact
evaluation, the cost-success frontier, and the live `StepRouter`."""

from __future__ import annotations

import numpy as np

from ...core.budget import fits
from ...core.errors import InvalidProblemError
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_array, as_scalar, check_state
from ...problems.agents import StepRouting


def _continuation(problem: StepRouting, t: int, m: int, nxt: np.ndarray) -> np.ndarray:
    """(B+1,) value of calling m at step t with b left: p · mean_k V(t+1, b − c_k), −1 where the worst case misses."""
    b = np.arange(problem.budget + 1)
    cont = np.zeros(b.size)
    for c in problem.costs[t, m].tolist():
        cont += nxt[np.maximum(b - c, 0)]
    out = problem.success_rates[t, m] * cont / problem.costs.shape[2]
    return np.where(b >= problem.worst_costs[t, m], out, -1.0)


def value_tables(problem: StepRouting) -> tuple[np.ndarray, np.ndarray]:
    """The exact DP: V (H+1, B+1) completion probability with t steps done and b left, and the argmax model
    (H, B+1) (−1: no call fits). $V(t, b) = \\max_m p_{tm} \\frac1K\\sum_k V(t+1, b - c_{tmk})$ over the models whose
    largest cost fits b; V(H, ·) = 1."""
    h = problem.horizon
    v = np.zeros((h + 1, problem.budget + 1))
    v[h] = 1.0
    pol = np.full((h, problem.budget + 1), -1, np.int64)
    for t in range(h - 1, -1, -1):
        conts = np.stack([_continuation(problem, t, m, v[t + 1]) for m in range(problem.n_models)])
        pol[t] = np.where(conts.max(axis=0) >= 0, conts.argmax(axis=0), -1)
        v[t] = np.maximum(conts.max(axis=0), 0.0)
    return v, pol


def evaluate_mix(problem: StepRouting, large_probability: float, small=None, large=None) -> tuple[float, float]:
    """Exact completion probability and expected spend of calling ``large`` with probability α at every step (else
    ``small``), falling back to the other model when the chosen one's worst case does not fit."""
    a = as_scalar("large_probability", large_probability, minimum=0.0, maximum=1.0)
    small = problem.small if small is None else small
    large = problem.large if large is None else large
    h, bmax = problem.horizon, problem.budget
    b = np.arange(bmax + 1)
    v = np.ones(bmax + 1)
    spend = np.zeros(bmax + 1)  # expected further spend
    for t in range(h - 1, -1, -1):
        nv, ns = np.zeros(bmax + 1), np.zeros(bmax + 1)
        for first, second, w in ((large, small, a), (small, large, 1 - a)):
            fits1 = b >= problem.worst_costs[t, first]
            fits2 = b >= problem.worst_costs[t, second]
            m_arr = np.where(fits1, first, second)
            can = fits1 | fits2
            for m in {first, second}:
                rows = can & (m_arr == m)
                val, sp = np.zeros(bmax + 1), np.zeros(bmax + 1)
                for c in problem.costs[t, m].tolist():
                    idx = np.maximum(b - c, 0)
                    val += v[idx]
                    sp += c + problem.success_rates[t, m] * spend[idx]
                k = problem.costs.shape[2]
                nv += w * np.where(rows, problem.success_rates[t, m] * val / k, 0.0)
                ns += w * np.where(rows, sp / k, 0.0)
        v, spend = nv, ns
    return float(v[bmax]), float(spend[bmax])


def frontier(problem: StepRouting, budgets, mixes=(0.0, 0.25, 0.5, 0.75, 1.0)) -> dict:
    """Per budget: the DP's completion probability and the exact value of every fixed mixing (α = 0 is always-small,
    α = 1 always-large); arrays ``budget``, ``dp``, ``mix`` (len(budgets), len(mixes)), ``mixes``."""
    budgets = as_array("budgets", budgets, ndim=1, dtype=int, nonnegative=True)
    dp = np.array([value_tables(problem.with_budget(int(b)))[0][0, -1] for b in budgets.tolist()])
    mix = np.array([[evaluate_mix(problem.with_budget(int(b)), a)[0] for a in mixes] for b in budgets.tolist()])
    return {"budget": budgets, "dp": dp, "mix": mix, "mixes": tuple(mixes)}


def _result(problem, x, value, spend, status, message, bound=None):
    stats = {"expected_spent": spend, "worst_spent": int(problem.worst_costs[np.arange(problem.horizon), np.maximum(x, 0)].sum())}
    return Result(status=status, x=np.asarray(x, np.int64), objective=float(value), bound=bound, stats=stats, message=message)


@register(StepRouting, "dp", backend="numpy", priority=10, honours=("seed",))
def solve_step_dp(problem: StepRouting, opts: SolveOptions):
    """Exact DP over (step, remaining budget); ``x`` is the model of each step on the path where every call costs
    its mean (rounded up), ``objective`` the optimal completion probability."""
    v, pol = value_tables(problem)
    x, b = [], problem.budget
    for t in range(problem.horizon):
        m = int(pol[t, b]) if b >= 0 else -1
        x.append(m)
        b -= int(np.ceil(problem.mean_costs[t, m])) if m >= 0 else 0
        b = max(b, 0)
    value = float(v[0, problem.budget])
    return _result(problem, x, value, None, Status.OPTIMAL, f"exact DP over (step, budget): completion {value:.6f}", bound=value)


def _fixed(problem, alpha, name):
    value, spend = evaluate_mix(problem, alpha)
    m = problem.large if alpha == 1.0 else problem.small
    return _result(problem, [m] * problem.horizon, value, spend, Status.FEASIBLE, f"{name}, evaluated exactly")


@register(StepRouting, "small", backend="numpy", priority=50, honours=("seed",))
def solve_step_small(problem: StepRouting, opts: SolveOptions):
    """Always the cheapest model (the large one when only it fits): a boundary policy."""
    return _fixed(problem, 0.0, "always the small model")


@register(StepRouting, "large", backend="numpy", priority=51, honours=("seed",))
def solve_step_large(problem: StepRouting, opts: SolveOptions):
    """Always the strongest model that fits (the small one otherwise): a boundary policy."""
    return _fixed(problem, 1.0, "always the large model")


class StepRouter:
    """The DP's policy, live: ``reset()``, ``act(budget_left) -> model`` (−1: nothing fits), ``update(cost, success)``;
    ``state_dict`` / ``load_state_dict``.

    Examples:
        >>> from orbudget.problems.agents import StepRouting
        >>> r = StepRouter(StepRouting(success_rates=[[0.7, 0.95]] * 3, costs=[[1, 4]] * 3, budget=9))
        >>> r.act() in (0, 1), round(r.value, 5)  # the small model first or later: a tie (0.7 · 0.95²)
        (True, 0.63175)
    """

    KIND = "StepRouter"

    def __init__(self, problem: StepRouting):
        self.problem = problem
        self.values, self.table = value_tables(problem)
        self.reset()

    @property
    def value(self) -> float:
        return float(self.values[0, self.problem.budget])

    def reset(self) -> None:
        self.step, self.spent, self.failed = 0, 0, False

    def act(self, budget_left=None) -> int:
        if self.failed or self.step >= self.problem.horizon:
            return -1
        b = (
            self.problem.budget - self.spent
            if budget_left is None
            else as_scalar("budget_left", budget_left, integer=True, minimum=0)
        )
        return int(self.table[self.step, min(b, self.problem.budget)])

    def update(self, cost, success: bool) -> None:
        cost = as_scalar("cost", cost, integer=True, minimum=0)
        if not fits(self.spent + cost, self.problem.budget):
            raise InvalidProblemError(f"`cost` {cost} takes the spend past the budget {self.problem.budget}")
        self.spent += cost
        self.step += 1
        self.failed = self.failed or not success

    def state_dict(self) -> dict:
        return {"kind": self.KIND, "step": self.step, "spent": self.spent, "failed": self.failed}

    def load_state_dict(self, state: dict) -> None:
        state = check_state(state, kind=self.KIND, keys=("step", "spent", "failed"))
        self.step, self.spent, self.failed = int(state["step"]), int(state["spent"]), bool(state["failed"])
