"""numba adapter of the agent workflows: ``exact_dp``, the exact dynamic program over (done set, budget left, time
left) on the discretised budget and clock (`orbudget.solvers._agents.dp_model`)."""

from __future__ import annotations

import math

import numpy as np

from ...core.registry import register
from ...core.result import Status
from ...core.solve import SolveOptions
from ...problems.agents import AgentWorkflow
from .._agents import Runs, completion_stats, episodes_option, grid, ideals, simulate, wave_actions, workflow_result

MAX_DP_CELLS = 2_000_000  # done sets × budget units × time units


def dp_size(wf: AgentWorkflow) -> int:
    _, _, b, t = grid(wf)
    return len(ideals(wf)) * (b + 1) * (t + 1)


def dp_unsupported(wf: AgentWorkflow) -> str | None:
    _, _, b, t = grid(wf)
    if (b + 1) * (t + 1) * 2 ** min(wf.n_subtasks, 12) > 64 * MAX_DP_CELLS:  # cheap screen before counting done sets
        return f"the DP grid of {b + 1} budget by {t + 1} time units is too large; set coarser `budget_unit`/`time_unit`"
    n = dp_size(wf)
    if n > MAX_DP_CELLS:
        return f"the DP has {n} states (done sets × budget units × time units), more than {MAX_DP_CELLS}; use a coarser grid"
    return None


class WorkflowDP:
    """The solved DP: ``value`` (the exact completion probability from the start), ``portfolio(done, spent,
    elapsed)`` for one run, and ``policy`` (vectorised, for `orbudget.solvers._agents.simulate`)."""

    def __init__(self, wf: AgentWorkflow):
        from ._agents import workflow_dp

        self.wf = wf
        self.bu, self.tu, self.b_max, self.t_max = grid(wf)
        states = ideals(wf)
        self.index = {m: i for i, m in enumerate(states)}
        act_ptr, act_cost, act_time, out_ptr = [0], [], [], [0]
        out_next, out_cost, out_time, out_prob, portfolios = [], [], [], [], []
        for m in states:
            if m != wf.full_mask:
                for portfolio, wc, wt, dist in wave_actions(wf, m):
                    portfolios.append(portfolio)
                    act_cost.append(wc)
                    act_time.append(wt)
                    for (nxt, c, t), p in dist.items():
                        out_next.append(self.index[nxt])
                        out_cost.append(c)
                        out_time.append(t)
                        out_prob.append(p)
                    out_ptr.append(len(out_prob))
            act_ptr.append(len(act_cost))
        self.portfolios = np.array(portfolios, np.int64).reshape(-1, wf.n_subtasks)
        i64 = lambda v: np.array(v, np.int64)  # noqa: E731
        self.values, self.table = workflow_dp(
            len(states), self.index[wf.full_mask], self.b_max, self.t_max, i64(act_ptr), i64(act_cost), i64(act_time),
            i64(out_ptr), i64(out_next), i64(out_cost), i64(out_time), np.array(out_prob, float),
        )  # fmt: skip
        self.n_actions = len(portfolios)
        self.n_outcomes = len(out_prob)

    @property
    def value(self) -> float:
        return float(self.values[self.index[0], self.b_max, self.t_max])

    def cells(self, runs: Runs):
        b = np.clip(np.floor((float(self.wf.budget) - runs.spent) / self.bu + 1e-9), 0, self.b_max).astype(np.int64)
        t = np.clip(np.floor((self.wf.deadline - runs.elapsed) / self.tu + 1e-9), 0, self.t_max).astype(np.int64)
        s = np.array([self.index.get(int(d), -1) for d in runs.done.tolist()], np.int64)
        return s, b, t

    def policy(self, wf: AgentWorkflow, runs: Runs) -> np.ndarray:
        s, b, t = self.cells(runs)
        a = np.where(s >= 0, self.table[np.maximum(s, 0), b, t], -1)
        out = np.full((runs.done.size, wf.n_subtasks), -1, np.int64)
        out[a >= 0] = self.portfolios[a[a >= 0]]
        return out

    def portfolio(self, done: int = 0, spent: float = 0.0, elapsed: float = 0.0) -> np.ndarray:
        return self.policy(self.wf, Runs.start(1, done, spent, elapsed))[0]


@register(
    AgentWorkflow, "exact_dp", backend="numba", priority=10, supports=dp_unsupported, options=("episodes",), honours=("seed",)
)
def solve_workflow_dp(problem: AgentWorkflow, opts: SolveOptions):
    """Exact DP over (done set, budget units left, time units left): the optimal closed-loop completion probability
    on the grid (exact when costs and times are whole grid units); the policy is then simulated (``episodes``)."""
    dp = WorkflowDP(problem)
    rng = np.random.default_rng(opts.seed) if not isinstance(opts.seed, np.random.Generator) else opts.seed
    stats = completion_stats(simulate(problem, dp.policy, Runs.start(episodes_option(opts)), rng), problem)
    stats.update(exact=dp.value, states=dp.values.size, actions=dp.n_actions, outcomes=dp.n_outcomes)
    x = dp.portfolio()
    msg = f"exact DP on a grid of {dp.bu:g} cost and {dp.tu:g} time units: completion {dp.value:.6f}"
    if math.isclose(dp.value, 0.0):
        msg += " (no policy can complete the workflow in time and budget)"
    return workflow_result(problem, x, stats, msg, status=Status.OPTIMAL, objective=dp.value, bound=dp.value)
