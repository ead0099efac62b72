"""OR-Tools CP-SAT adapter for the knapsack family (``cpsat``): one Boolean per option, exactly one per group."""

from __future__ import annotations

import time

import numpy as np

from ...core.budget import INT64_MAX
from ...core.errors import InvalidProblemError
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Limit, Result, Status
from ...core.solve import SolveOptions, limited_result
from ...core.threads import default_threads
from ...core.validation import as_int_seed
from ...problems.knapsack import MultipleChoiceKnapsack
from ...problems.rollouts import RolloutAllocation
from .._knapsack import starting_choice
from .._reduce import infeasible, no_solution_after_scaling, via_knapsack


def new_cpsat_solver(opts: SolveOptions):
    """A CpSolver with the standard options applied (CP-SAT's own Ctrl-C handling returns the best so far)."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    params = solver.parameters
    if opts.time_limit is not None:
        params.max_time_in_seconds = float(opts.time_limit)
    if opts.rel_gap is not None:
        params.relative_gap_limit = float(opts.rel_gap)
    params.num_workers = int(opts.threads) if opts.threads is not None else default_threads()  # 0 would be every core
    params.random_seed = as_int_seed(opts.seed)
    params.log_search_progress = bool(opts.verbose)
    params.catch_sigint_signal = True
    return solver


def run_cpsat(solver, model, run: Run, decode, bound_of=lambda b: b):
    """``solver.solve(model)`` reporting to ``run``: with a callback or progress display, each improving solution is
    one ``run.step`` (``decode(cb)`` gives ``(x, objective)`` from the solution callback ``cb`` for ``run.offer``;
    ``bound_of`` maps CP-SAT's bound to the problem's units; info keys ``event="solution"``, ``branches``), and a
    callback that returns ``True`` stops the search (``stop_search``; CP-SAT keeps its best solution). Without
    either, no solution callback slows CP-SAT down: its own time limit and Ctrl-C handling serve. A solve that found
    nothing to report makes one ``run.step`` at the end (``event="done"``). Returns CP-SAT's status code."""
    from ortools.sat.python import cp_model

    if run.callback is None and not run.show:
        return solver.solve(model)
    errors: list[BaseException] = []

    class _Report(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self):
            if errors or run.stopped:
                self.stop_search()
                return
            try:
                run.offer(*decode(self))
                if run.step(bound=bound_of(self.best_objective_bound), event="solution", branches=int(self.num_branches)):
                    self.stop_search()
            except BaseException as exc:  # re-raised once CP-SAT has stopped
                errors.append(exc)
                self.stop_search()

    code = solver.solve(model, _Report())
    if errors:
        raise errors[0]
    if run.iteration == 0:
        run.step(event="done", branches=int(solver.num_branches))
    return code


def status_of(code, solver, limit_hit: bool):
    """Map CP-SAT's status to (Status, Limit) — the one status map of this adapter."""
    from ortools.sat.python import cp_model

    if code == cp_model.OPTIMAL:
        return Status.OPTIMAL, None
    if code == cp_model.INFEASIBLE:
        return Status.INFEASIBLE, None
    if code == cp_model.FEASIBLE:
        return Status.FEASIBLE, (Limit.TIME if limit_hit else Limit.INTERRUPTED)
    if code == cp_model.UNKNOWN:
        return Status.NO_SOLUTION, (Limit.TIME if limit_hit else Limit.INTERRUPTED)
    return Status.ERROR, None


@register(
    MultipleChoiceKnapsack,
    "cpsat",
    backend="ortools",
    priority=30,
    options=("scale",),
    honours=("time_limit", "rel_gap", "threads", "warm_start", "callback", "progress", "seed"),
    long=True,
)
def solve_cpsat(problem: MultipleChoiceKnapsack, opts: SolveOptions) -> Result:
    """Exact CP-SAT model (whole-number costs, or ``options={"scale": s}``); real-valued objective."""
    from ortools.sat.python import cp_model

    t_call = time.perf_counter()
    reason = problem.infeasibility_reason()
    if reason:
        return infeasible(reason)
    form = problem.integer_form(opts.get("scale"))  # the one integer form: gcd-divided, options over the budget out
    costs, budget, scaled, mask = form.costs, form.budget, form.scaled, form.usable
    if form.infeasible:
        return infeasible(f"no choice of one option per group costs exactly {problem.budget}")
    n, k = problem.values.shape
    # the caller's start and the LP's integral part, offered before the model is built (the build checks no clock):
    # a limit or a Ctrl-C then always has an incumbent, and CP-SAT is hinted with the better one that fits
    start, start_bound = starting_choice(problem)
    if start_bound is not None:
        opts.incumbent.bound = start_bound
    given = None if opts.warm_start is None else problem.check_choice(opts.warm_start)
    for x in (given, start):
        if x is not None and problem.is_feasible(x):
            opts.incumbent.offer(x, problem.value_of(x), cost=problem.cost_of(x))
    start = given if opts.incumbent.x is None else opts.incumbent.x
    # exactly one option per group: costs are taken above each group's cheapest (budget lowered to match), which is
    # exact and keeps coefficients small; CP-SAT refuses a constraint whose coefficients sum beyond 2^62
    base = np.where(mask, costs, INT64_MAX).min(axis=1)
    costs = np.where(mask, costs - base[:, None], 0)
    budget = int(budget) - sum(int(b) for b in base.tolist())
    top = sum(int(v) for v in costs[mask].tolist())
    if top > INT64_MAX // 2:
        raise InvalidProblemError(
            f"`costs` are too large for 'cpsat': its budget row's coefficients sum to {top}, beyond 2^62 (the int64 "
            "overflow limit CP-SAT checks); use method='mip'"
        )
    t0 = time.perf_counter()
    m = cp_model.CpModel()
    y = {}
    for i in range(n):
        row = [j for j in range(k) if mask[i, j]]
        for j in row:
            y[i, j] = m.new_bool_var(f"y_{i}_{j}")
        m.add_exactly_one(y[i, j] for j in row)
    spend = sum(int(costs[i, j]) * v for (i, j), v in y.items())
    if problem.exact:
        m.add(spend == int(budget))
    else:
        m.add(spend <= int(budget))
    # Integer objective: values scaled so the largest possible total is about 1e12, rounded. The rounding moves
    # the total by at most n/(2·scale), which is added to the bound; objective is recomputed from x exactly.
    top = float(np.abs(np.where(mask, problem.values, 0)).max(axis=1).sum())
    scale = 1e12 / top if top > 0 else 1.0
    m.maximize(sum(int(round(float(problem.values[i, j]) * scale)) * v for (i, j), v in y.items()))
    if start is not None:
        for (i, j), v in y.items():
            m.add_hint(v, int(start[i] == j))
    solver = new_cpsat_solver(opts)
    t1 = time.perf_counter()
    if opts.time_limit is not None:  # the limit counts from the call, model building included
        solver.parameters.max_time_in_seconds = max(float(opts.time_limit) - (t1 - t_call), 1e-3)

    def decode(cb):
        x = np.zeros(n, np.int64)
        for (i, j), v in y.items():
            if cb.boolean_value(v):
                x[i] = j
        return x, problem.value_of(x)

    def bound_of(b):
        return None if scaled else float(b) / scale + n / (2 * scale)

    with Run(opts, unit="solutions", desc="cpsat") as run:
        code = run_cpsat(solver, m, run, decode, bound_of)
    t2 = time.perf_counter()
    # CP-SAT says UNKNOWN/FEASIBLE both for its time limit and for Ctrl-C (its own SIGINT handler); which one it was
    # is read from the clock. Its wall_time starts after the model is loaded, so the time from the call is compared
    # too, with 10% slack: a stop in the last tenth of the limit counts as the time limit.
    limit_hit = opts.time_limit is not None and (
        solver.wall_time >= 0.9 * solver.parameters.max_time_in_seconds
        or time.perf_counter() - t_call >= 0.9 * float(opts.time_limit)
    )
    status, limit = status_of(code, solver, limit_hit)
    if limit is Limit.INTERRUPTED and run.limit is not None:  # stopped by the user's callback
        limit = run.limit
    timings = {"build": t1 - t0, "solve": t2 - t1}
    raw = solver.status_name(code) + (f"; {run.message}" if run.limit is not None else "")
    if status is Status.INFEASIBLE and scaled:
        return no_solution_after_scaling(opts.get("scale")).replace(timings=timings)
    if status is Status.NO_SOLUTION and limit is not None and opts.incumbent.x is not None:  # stopped before the hint
        return limited_result(problem, opts.incumbent, limit, f"CP-SAT: {raw}").replace(
            timings=timings, message=f"CP-SAT: {raw}; the starting solution"
        )
    if status not in (Status.OPTIMAL, Status.FEASIBLE):
        msg = "no choice of one option per group meets the budget" if status is Status.INFEASIBLE else raw
        return Result(status=status, limit=limit, timings=timings, message=f"{msg} (CP-SAT: {raw})")
    x, objective = decode(solver)  # the solver answers boolean_value like a solution callback
    if scaled and status is Status.OPTIMAL:
        status = Status.FEASIBLE
    bound = bound_of(solver.best_objective_bound)
    if status is Status.FEASIBLE and bound is not None and start_bound is not None and not scaled:
        bound = min(bound, start_bound)
    return Result(
        status=status,
        limit=limit,
        x=x,
        objective=objective,
        bound=bound,
        stats={"cost": problem.cost_of(x), "branches": int(solver.num_branches)},
        timings=timings,
        message=f"CP-SAT: {raw}",
    )


register(
    RolloutAllocation,
    "cpsat",
    backend="ortools",
    priority=40,
    options=("scale",),
    honours=("time_limit", "rel_gap", "threads", "warm_start", "callback", "progress", "seed"),
    long=True,
)(via_knapsack(solve_cpsat))
