"""numpy adapters of the agent workflows: ``mcpp`` (Monte Carlo Portfolio Planning, closed loop), ``static`` (a
multiple-choice knapsack plan through the default knapsack engine), and the ``cheapest``, ``strongest`` and
``greedy`` baselines. Every one is played in closed loop by the vectorised simulator of ``solvers/_agents.py``:
``objective`` is the simulated completion rate, ``stats`` holds its 95% interval."""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.solve import SolveOptions, solve
from ...core.validation import as_generator, as_scalar
from ...problems.agents import AgentWorkflow
from ...problems.knapsack import MultipleChoiceKnapsack
from .._agents import (
    Runs,
    cheapest_plan,
    completion_stats,
    episodes_option,
    fixed_policy,
    greedy_policy,
    ready_mask,
    simulate,
    strongest_plan,
    workflow_result,
)

KNAPSACK_SCALE = 10_000  # the static plan's expected costs in whole units of budget / KNAPSACK_SCALE (rounded up)


def static_plan(wf: AgentWorkflow) -> tuple[np.ndarray | None, dict]:
    """One option per subtask maximising the probability that every first attempt succeeds, $\\sum_s \\log P_s(o_s)$,
    with the expected cost within the budget (a multiple-choice knapsack, ``ob.solve``'s default engine, costs rounded
    up to whole units of budget / 10^4) and the critical path of worst-case times within the deadline: while the
    path is too long, the slowest option chosen on it is removed and the knapsack solved again."""
    unit = max(float(wf.budget), 1e-300) / KNAPSACK_SCALE
    costs = np.ceil(wf.expected_costs / unit - 1e-9).astype(np.int64)
    values = np.log(np.maximum(wf.success_probabilities, 1e-12))
    allowed = wf.fits(0.0, 0.0, wf.worst_costs, wf.worst_times)
    solves = 0
    while True:
        if not allowed.any(axis=1).all():
            return None, {"knapsack_solves": solves}
        kp = MultipleChoiceKnapsack(values=values, costs=costs, budget=KNAPSACK_SCALE, available=allowed)
        r = solve(kp)
        solves += 1
        if not r.ok:
            return None, {"knapsack_solves": solves}
        x = np.asarray(r.x, np.int64)
        times = wf.worst_times[np.arange(wf.n_subtasks), x]
        if wf.critical_path(times) <= wf.deadline * (1 + 1e-9):
            return x, {"knapsack_solves": solves, "expected_cost": float(wf.expected_costs[np.arange(wf.n_subtasks), x].sum())}
        on_path = _critical_subtasks(wf, times)
        s = max(on_path, key=lambda i: times[i])
        allowed = allowed.copy()
        allowed[s, x[s]] = False


def _critical_subtasks(wf: AgentWorkflow, times) -> list[int]:
    finish = np.zeros(wf.n_subtasks)
    prev = [-1] * wf.n_subtasks
    for s in wf.order.tolist():
        for a, b in wf.edges.tolist():
            if b == s and finish[a] > finish[s]:
                finish[s], prev[s] = finish[a], a
        finish[s] += times[s]
    path, s = [], int(finish.argmax())
    while s >= 0:
        path.append(s)
        s = prev[s]
    return path


def _rng(seed):
    return as_generator(seed)


def _baseline(problem, opts, policy, x, message):
    stats = completion_stats(simulate(problem, policy, Runs.start(episodes_option(opts)), _rng(opts.seed)), problem)
    return workflow_result(problem, x, stats, message)


@register(AgentWorkflow, "static", backend="numpy", priority=30, options=("episodes",), honours=("seed",))
def solve_static(problem: AgentWorkflow, opts: SolveOptions):
    """Static multiple-choice knapsack plan (expected cost within the budget, critical path within the deadline),
    replayed with retries while the worst case fits."""
    x, info = static_plan(problem)
    if x is None:
        x = cheapest_plan(problem)
        info["fallback"] = "no plan meets the expected budget and the deadline: the cheapest plan is played"
    r = _baseline(problem, opts, fixed_policy(x), x, "static knapsack plan, replayed with retries")
    return r.replace(stats={**r.stats, **info})


@register(AgentWorkflow, "cheapest", backend="numpy", priority=60, options=("episodes",), honours=("seed",))
def solve_cheapest(problem: AgentWorkflow, opts: SolveOptions):
    """Always the cheapest option (least expected cost), retried while it fits."""
    x = cheapest_plan(problem)
    return _baseline(problem, opts, fixed_policy(x), x, "always the cheapest option")


@register(AgentWorkflow, "strongest", backend="numpy", priority=61, options=("episodes",), honours=("seed",))
def solve_strongest(problem: AgentWorkflow, opts: SolveOptions):
    """Always the strongest model with the fewest samples (the most successful option that fits when it does not)."""
    x = strongest_plan(problem)
    return _baseline(problem, opts, fixed_policy(x), x, "always the strongest model")


@register(AgentWorkflow, "greedy", backend="numpy", priority=40, options=("episodes",), honours=("seed",))
def solve_greedy(problem: AgentWorkflow, opts: SolveOptions):
    """Each ready subtask: the most successful option within its share of the budget and time left."""
    x = greedy_policy(problem, Runs.start(1))[0]
    return _baseline(problem, opts, greedy_policy, x, "greedy shares of the budget and time left")


# -- MCPP ------------------------------------------------------------------------------------------------------------
def candidates(wf: AgentWorkflow, runs: Runs, n_random: int, rng, plans) -> np.ndarray:
    """(E, k, S) candidate portfolios for each of the E runs: the greedy's, each plan's (the most successful option
    that fits where the plan's does not), then ``n_random`` random ones (each ready subtask an option that fits on its
    own, or, with probability 0.15, not now)."""
    e = runs.done.size
    base = [greedy_policy(wf, runs)] + [fixed_policy(p)(wf, runs) for p in plans]
    fit = np.stack(
        [
            wf.fits(runs.spent[:, None], runs.elapsed[:, None], wf.worst_costs[s][None, :], wf.worst_times[s][None, :])
            for s in range(wf.n_subtasks)
        ],
        axis=1,
    )  # (E, S, O)
    ready = np.stack([ready_mask(wf, runs, s) for s in range(wf.n_subtasks)], axis=1)  # (E, S)
    for _ in range(n_random):
        score = np.where(fit, rng.random(fit.shape), -1.0)
        pick = score.argmax(axis=2)
        ok = ready & (score.max(axis=2) >= 0) & (rng.random((e, wf.n_subtasks)) > 0.15)
        base.append(np.where(ok, pick, -1))
    return np.stack(base, axis=1)


def mcpp_decide(wf: AgentWorkflow, runs: Runs, rng, *, candidates_n: int, rollouts: int, plans=()) -> np.ndarray:
    """For each of the runs, estimate each candidate portfolio's completion by ``rollouts`` simulated runs (the
    candidate first, then the greedy), every candidate of a run on the same random numbers, and return the best
    (ties: the earlier, the greedy's first) as an (E, S) portfolio. A candidate replaces the greedy's only when its
    paired gain over it exceeds two standard errors."""
    cands = candidates(wf, runs, candidates_n, rng, plans)
    e, k, _ = cands.shape
    rep = k * rollouts
    sim = Runs(np.repeat(runs.done, rep), np.repeat(runs.spent, rep), np.repeat(runs.elapsed, rep), np.repeat(runs.active, rep))
    first = np.repeat(cands.reshape(e * k, -1), rollouts, axis=0)
    simulate(wf, greedy_policy, sim, rng, tile=(k, rollouts), first=first)
    won = (sim.done == wf.full_mask).reshape(e, k, rollouts).astype(float)
    diff = won - won[:, :1, :]  # paired against the greedy's candidate (same random numbers)
    gain = diff.mean(axis=2)
    se = diff.std(axis=2) / np.sqrt(rollouts)
    gain = np.where(gain > 2.0 * se, gain, 0.0)  # move off the greedy only on a clear gain: no winner's curse
    gain[:, 0] = 0.0
    return cands[np.arange(e), gain.argmax(axis=1)]


class MCPPPlanner:
    """Monte Carlo Portfolio Planning as a live object: ``act(done, spent, elapsed)`` gives the portfolio of the next
    wave (option per subtask, -1: not now) for the observed state; replan after each wave's outcomes by calling it
    again. ``candidates`` random portfolios besides the greedy's and the plans' (static, cheapest, strongest),
    ``rollouts`` simulated runs each.

    Examples:
        >>> w = AgentWorkflow.chain(2, seed=0)
        >>> MCPPPlanner(w, seed=0).act().shape
        (2,)
    """

    def __init__(self, workflow: AgentWorkflow, *, candidates: int = 12, rollouts: int = 64, seed=None):
        self.workflow = workflow
        self.candidates = as_scalar("candidates", candidates, integer=True, minimum=0)
        self.rollouts = as_scalar("rollouts", rollouts, integer=True, minimum=1)
        self.rng = as_generator(seed)
        plan, _ = static_plan(workflow)
        self.plans = [p for p in (plan, cheapest_plan(workflow), strongest_plan(workflow)) if p is not None]

    def decide(self, runs: Runs) -> np.ndarray:
        return mcpp_decide(self.workflow, runs, self.rng, candidates_n=self.candidates, rollouts=self.rollouts, plans=self.plans)

    def act(self, done: int = 0, spent: float = 0.0, elapsed: float = 0.0) -> np.ndarray:
        return self.decide(Runs.start(1, done, spent, elapsed))[0]


def run_mcpp(wf: AgentWorkflow, episodes: int, seed, *, candidates: int = 12, rollouts: int = 64) -> tuple[dict, np.ndarray]:
    """Play MCPP closed loop for ``episodes`` runs in lockstep: before every wave each run still going replans from its
    own observed state."""
    from .._agents import run_wave

    rng = as_generator(seed)
    planner = MCPPPlanner(wf, candidates=candidates, rollouts=rollouts, seed=rng)
    runs = Runs.start(episodes)
    first = None
    while runs.active.any():
        live = np.flatnonzero(runs.active)
        sub = Runs(runs.done[live], runs.spent[live], runs.elapsed[live], runs.active[live])
        portfolio = planner.decide(sub)
        if first is None:
            first = portfolio[0]
        run_wave(wf, sub, portfolio, rng)
        runs.done[live], runs.spent[live], runs.elapsed[live], runs.active[live] = sub.done, sub.spent, sub.elapsed, sub.active
    return completion_stats(runs, wf), first


@register(
    AgentWorkflow,
    "mcpp",
    backend="numpy",
    priority=20,
    options=("episodes", "candidates", "rollouts"),
    honours=("seed",),
)
def solve_mcpp(problem: AgentWorkflow, opts: SolveOptions):
    """Monte Carlo Portfolio Planning (closed loop): before every wave, candidate portfolios for the ready subtasks
    are scored by simulated completions and the best is run; replans after each outcome."""
    episodes = episodes_option(opts, 400)
    cands = as_scalar("options.candidates", opts.get("candidates", 12), integer=True, minimum=0)
    rolls = as_scalar("options.rollouts", opts.get("rollouts", 64), integer=True, minimum=1)
    stats, first = run_mcpp(problem, episodes, opts.seed, candidates=cands, rollouts=rolls)
    stats.update(candidates=cands, rollouts=rolls)
    return workflow_result(problem, first, stats, f"MCPP closed loop ({cands} random candidates, {rolls} rollouts each)")
