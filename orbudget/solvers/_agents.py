"""What the agent-workflow methods share: a vectorised simulator of many runs at once (`Runs`, `run_wave`), the
policies it plays (fixed plans, the greedy, the DP table), the closed-loop evaluation with a confidence interval
(`evaluate`), the discretised model of the exact DP (`dp_model`) and the results' statistics. The methods are in
``numba/agents.py`` (``exact_dp``) and ``numpy/agents.py`` (``mcpp``, ``static``, ``cheapest``, ``strongest``,
``greedy``)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..core.result import Result, Status
from ..core.solve import SolveOptions
from ..core.validation import as_generator, as_scalar
from ..problems.agents import AgentWorkflow

Z95 = 1.959963984540054


@dataclass
class Runs:
    """The state of R runs: done bit masks, spend, elapsed time, whether each run still goes on."""

    done: np.ndarray
    spent: np.ndarray
    elapsed: np.ndarray
    active: np.ndarray

    @classmethod
    def start(cls, n: int, done: int = 0, spent: float = 0.0, elapsed: float = 0.0) -> Runs:
        return cls(np.full(n, done, np.int64), np.full(n, float(spent)), np.full(n, float(elapsed)), np.ones(n, bool))


def _tables(wf: AgentWorkflow):
    cache = wf.__dict__.get("_sim_tables")
    if cache is None:
        cache = [[(np.cumsum(o[0]), o[1] / o[0], o[2], o[3]) for o in row] for row in wf.outcomes]
        wf.__dict__["_sim_tables"] = cache
    return cache


def ready_mask(wf: AgentWorkflow, runs: Runs, s: int) -> np.ndarray:
    pm = int(wf.parent_masks[s])
    return runs.active & (((runs.done >> s) & 1) == 0) & ((runs.done & pm) == pm)


def _draw(rng, n: int, tile) -> np.ndarray:
    """``n`` uniforms; with ``tile = (k, r)`` the rows are blocks of k candidates × r runs and every candidate of a
    block gets the same r numbers (common random numbers)."""
    if tile == 1 or tile is None:
        return rng.random(n)
    k, r = tile
    return np.broadcast_to(rng.random((n // (k * r), 1, r)), (n // (k * r), k, r)).ravel()


def run_wave(wf: AgentWorkflow, runs: Runs, portfolio: np.ndarray, rng, tile=1) -> None:
    """Play one wave of every active run in place: launch ``portfolio[r, s]`` (``-1``: not now) in topological order
    while its worst case fits what is left; a run that launches nothing stops. ``tile = (k, r)`` draws one set of random
    numbers per block of runs and repeats it across the block's candidates (see `_draw`)."""
    n = runs.done.size
    tables = _tables(wf)
    committed = np.zeros(n)
    cost = np.zeros(n)
    duration = np.zeros(n)
    launched = np.zeros(n, bool)
    finished = runs.done.copy()
    for s in wf.order.tolist():
        o = portfolio[:, s]
        go = ready_mask(wf, runs, s) & (o >= 0)
        oo = np.where(go, o, 0)
        wc, wt = wf.worst_costs[s, oo], wf.worst_times[s, oo]
        go &= wf.fits(runs.spent + committed, runs.elapsed, wc, wt)
        committed += np.where(go, wc, 0.0)
        launched |= go
        u, v = _draw(rng, n, tile), _draw(rng, n, tile)
        for opt in np.unique(oo[go]).tolist():
            rows = np.flatnonzero(go & (oo == opt))
            cum, psucc, c, d = tables[s][opt]
            idx = np.minimum(np.searchsorted(cum, u[rows] * cum[-1], side="right"), cum.size - 1)
            cost[rows] += c[idx]
            duration[rows] = np.maximum(duration[rows], d[idx])
            ok = v[rows] < psucc[idx]
            finished[rows[ok]] |= 1 << s
    runs.spent += cost
    runs.elapsed += duration
    runs.done = np.where(runs.active, finished, runs.done)
    runs.active &= launched & (runs.done != wf.full_mask)


# -- policies: (wf, runs) -> (R, S) portfolio --------------------------------------------------------------------
def best_fitting(wf: AgentWorkflow, runs: Runs, s: int, budget_share=None, time_share=None) -> np.ndarray:
    """Per run, the option of subtask s with the highest success probability whose worst case fits what is left
    (and the shares, when given; with nothing within the shares, the cheapest option that fits); -1 if none fits."""
    n = runs.done.size
    best = np.full(n, -1, np.int64)
    best_p = np.full(n, -1.0)
    cheap = np.full(n, -1, np.int64)
    cheap_c = np.full(n, np.inf)
    for o in range(wf.n_options):
        fit = wf.fits(runs.spent, runs.elapsed, wf.worst_costs[s, o], wf.worst_times[s, o])
        c = wf.expected_costs[s, o]
        better_c = fit & (c < cheap_c)
        cheap[better_c], cheap_c[better_c] = o, c
        if budget_share is not None:
            fit = fit & (wf.worst_costs[s, o] <= budget_share) & (wf.worst_times[s, o] <= time_share)
        p = wf.success_probabilities[s, o]
        better = fit & (p > best_p)
        best[better], best_p[better] = o, p
    return np.where(best >= 0, best, cheap) if budget_share is not None else best


def fixed_policy(plan):
    """Launch each ready subtask with ``plan[s]``; when that does not fit, the most successful option that does."""
    plan = np.asarray(plan, np.int64)

    def policy(wf: AgentWorkflow, runs: Runs) -> np.ndarray:
        out = np.full((runs.done.size, wf.n_subtasks), -1, np.int64)
        for s in range(wf.n_subtasks):
            ready = ready_mask(wf, runs, s)
            if not ready.any():
                continue
            o = plan[s]
            fit = wf.fits(runs.spent, runs.elapsed, wf.worst_costs[s, o], wf.worst_times[s, o])
            out[:, s] = np.where(ready, np.where(fit, o, best_fitting(wf, runs, s)), -1)
        return out

    return policy


def _remaining_path(wf: AgentWorkflow, runs: Runs, durations) -> tuple[np.ndarray, np.ndarray]:
    """Per run: the longest path through the subtasks not done (``durations[s]`` each) and, per subtask, the
    longest such path through it."""
    n, S = runs.done.size, wf.n_subtasks
    head = np.zeros((n, S))
    tail = np.zeros((n, S))
    parents = [[a for a, b in wf.edges.tolist() if b == s] for s in range(S)]
    children = [[b for a, b in wf.edges.tolist() if a == s] for s in range(S)]
    todo = np.stack([((runs.done >> s) & 1) == 0 for s in range(S)], axis=1) * np.asarray(durations, float)[None, :]
    for s in wf.order.tolist():
        head[:, s] = todo[:, s]
        for a in parents[s]:
            head[:, s] = np.maximum(head[:, s], todo[:, s] + head[:, a])
    for s in wf.order.tolist()[::-1]:
        tail[:, s] = todo[:, s]
        for b in children[s]:
            tail[:, s] = np.maximum(tail[:, s], todo[:, s] + tail[:, b])
    through = head + tail - todo
    return head.max(axis=1), through


def greedy_policy(wf: AgentWorkflow, runs: Runs) -> np.ndarray:
    """Each ready subtask gets the most successful option within its share of what is left: of the budget in
    proportion to its cheapest expected cost among the subtasks not done, of the time in proportion to its fastest
    worst-case time along the longest remaining path through it (the cheapest option that fits otherwise)."""
    n = runs.done.size
    out = np.full((n, wf.n_subtasks), -1, np.int64)
    cheapest = wf.expected_costs.min(axis=1)
    fastest = wf.worst_times.min(axis=1)
    todo = np.stack([((runs.done >> s) & 1) == 0 for s in range(wf.n_subtasks)], axis=1)
    need = np.maximum((todo * cheapest[None, :]).sum(axis=1), 1e-300)
    _, through = _remaining_path(wf, runs, fastest)
    left_b = float(wf.budget) - runs.spent
    left_t = wf.deadline - runs.elapsed
    for s in range(wf.n_subtasks):
        ready = ready_mask(wf, runs, s)
        if not ready.any():
            continue
        share_b = left_b * cheapest[s] / need * 1.5
        share_t = left_t * fastest[s] / np.maximum(through[:, s], 1e-300)
        out[:, s] = np.where(ready, best_fitting(wf, runs, s, share_b, share_t), -1)
    return out


def cheapest_plan(wf: AgentWorkflow) -> np.ndarray:
    """Per subtask the option with the least expected cost (ties: the more successful)."""
    return np.array([np.lexsort((-wf.success_probabilities[s], wf.expected_costs[s]))[0] for s in range(wf.n_subtasks)])


def strongest_plan(wf: AgentWorkflow) -> np.ndarray:
    """Per subtask the strongest model (highest mean success over the subtasks) with the fewest samples."""
    m = int(wf.success_rates.mean(axis=0).argmax())
    return np.full(wf.n_subtasks, m * len(wf.sample_counts) + int(np.argmin(wf.sample_counts)), np.int64)


def simulate(wf: AgentWorkflow, policy, runs: Runs, rng, tile=1, first=None) -> Runs:
    """Play ``policy`` until every run has stopped (``first``: the portfolio of the first wave instead)."""
    if first is not None:
        run_wave(wf, runs, first, rng, tile)
    while runs.active.any():
        run_wave(wf, runs, policy(wf, runs), rng, tile)
    return runs


def completion_stats(runs: Runs, wf: AgentWorkflow) -> dict:
    """Completion rate with a 95% Wilson interval, and the largest spend and time of any run."""
    n = runs.done.size
    k = int((runs.done == wf.full_mask).sum())
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return {
        "completion": p,
        "ci_low": max(0.0, centre - half),
        "ci_high": min(1.0, centre + half),
        "stderr": math.sqrt(max(p * (1 - p), 1e-12) / n),
        "episodes": n,
        "max_spent": float(runs.spent.max()),
        "mean_spent": float(runs.spent.mean()),
        "max_elapsed": float(runs.elapsed.max()),
    }


def episodes_option(opts: SolveOptions, default: int = 2000) -> int:
    return as_scalar("options.episodes", opts.get("episodes", default), integer=True, minimum=1)


def evaluate(wf: AgentWorkflow, policy, episodes: int, seed) -> dict:
    """Closed-loop completion of a vectorised ``policy`` over ``episodes`` simulated runs."""
    return completion_stats(simulate(wf, policy, Runs.start(episodes), as_generator(seed)), wf)


def workflow_result(
    wf: AgentWorkflow, x, stats: dict, message: str, status=Status.FEASIBLE, objective=None, bound=None
) -> Result:
    """``x``: the option per subtask the method starts from (-1: none yet); ``objective``: the simulated completion
    rate unless given (the DP's exact probability)."""
    obj = stats["completion"] if objective is None else objective
    return Result(status=status, x=np.asarray(x, np.int64), objective=float(obj), bound=bound, stats=stats, message=message)


# -- the discretised model of the exact DP --------------------------------------------------------------------------
def grid(wf: AgentWorkflow) -> tuple[float, float, int, int]:
    """``(budget_unit, time_unit, budget_units, time_units)``."""
    bu, tu = wf.units()
    return bu, tu, int(math.floor(float(wf.budget) / bu + 1e-9)), int(math.floor(wf.deadline / tu + 1e-9))


def to_units(value, unit) -> np.ndarray:
    """Whole grid units rounded up (exact on the grid): a cost on the grid never looks cheaper than it is."""
    return np.ceil(np.asarray(value, float) / unit - 1e-9).astype(np.int64)


def ideals(wf: AgentWorkflow) -> list[int]:
    """Every done set a run can reach (closed under parents), most done first."""
    out = [0]
    seen = {0}
    for d in out:
        for s in wf.ready(d):
            m = d | (1 << s)
            if m not in seen:
                seen.add(m)
                out.append(m)
    return sorted(out, key=lambda m: (-bin(m).count("1"), m))


def wave_actions(wf: AgentWorkflow, done: int):
    """The portfolios of a done set on the grid: yields ``(portfolio, worst cost units, worst time units, outcomes)``
    with outcomes a dict ``(next done, cost units, time units) -> probability``."""
    bu, tu, bmax, tmax = grid(wf)
    wc_u, wt_u = to_units(wf.worst_costs, bu), to_units(wf.worst_times, tu)
    ready = wf.ready(done)
    per = []
    for s in ready:
        opts = [-1] + [o for o in range(wf.n_options) if wc_u[s, o] <= bmax and wt_u[s, o] <= tmax]
        per.append(opts)
    for choice in itertools.product(*per):
        if all(o < 0 for o in choice):
            continue
        launch = [(s, o) for s, o in zip(ready, choice) if o >= 0]
        dist = {(done, 0, 0): 1.0}
        for s, o in launch:
            prob, succ, cost, dur = wf.outcomes[s][o]
            cu, du = to_units(cost, bu), np.maximum(1, to_units(dur, tu))
            new: dict = {}
            for (d, c, t), p in dist.items():
                for i in range(prob.size):
                    for ok, q in ((1, succ[i]), (0, prob[i] - succ[i])):
                        if q <= 0:
                            continue
                        key = (d | (1 << s) if ok else d, c + int(cu[i]), max(t, int(du[i])))
                        new[key] = new.get(key, 0.0) + p * q
            dist = new
        portfolio = np.full(wf.n_subtasks, -1, np.int64)
        for s, o in launch:
            portfolio[s] = o
        yield portfolio, int(sum(wc_u[s, o] for s, o in launch)), int(max(wt_u[s, o] for s, o in launch)), dist
