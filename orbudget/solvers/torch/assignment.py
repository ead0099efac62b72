"""Adapters for ``BudgetedAssignment`` that run on torch: ``rco`` (RCO with Gumbel straight-through samples whose hard
part comes from the multiple-choice knapsack DP) and the baseline ``penalty``; ``proxy_dp``, ``evolutionary`` and
``uniform`` run on numba (``solvers/numba/assignment.py``).

Every returned assignment, and every hard sample fed to the loss, is within the budget in exact arithmetic
(`CostUnits`): costs of any kind (whole numbers, fractions, 1e-12 or 1e18) are turned into exact integer
units before the DP, so no cost is rounded or wrapped on the way into the kernel.
"""

from __future__ import annotations

import functools
import math
import time
from fractions import Fraction

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_bool, as_choice, as_int_seed, as_scalar
from ...problems.assignment import BudgetedAssignment, assignment_matrix
from .._assignment import CostUnits, finish, stopped


def _small_torch(fn):
    """Run an adapter with torch on ``opts.threads`` CPU threads (default 1), restoring the setting after: the logit
    tables are tiny, and on a busy 2-core machine torch's default threads made ``solve(method="rco")`` on 5 groups
    take 103 s instead of 9 s (see `orbudget.solvers.torch._common`)."""

    @functools.wraps(fn)
    def wrapped(problem, opts: SolveOptions):
        from ._common import cpu_threads

        with cpu_threads(None, opts.threads or 1):
            return fn(problem, opts)

    return wrapped


def _temperature(value) -> tuple[float, float]:
    """``options.temperature`` = (τ0, τ_min): two positive finite numbers."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise InvalidProblemError(f"`options.temperature` must be a pair (τ0, τ_min) of positive numbers; got {value!r}")
    return tuple(float(as_scalar("options.temperature", t, minimum=0.0, strict_minimum=True)) for t in value)


# -- RCO ---------------------------------------------------------------------------------------------------------------
@register(
    BudgetedAssignment,
    "rco",
    backend="torch",
    priority=10,
    options=("steps", "lr", "samples", "antithetic", "temperature", "gradient", "scale"),
    honours=("time_limit", "threads", "callback", "progress", "seed"),
    long=True,
    renamed_options={"mode": "gradient"},
)
@_small_torch
def solve_rco(problem: BudgetedAssignment, opts: SolveOptions) -> Result:
    """RCO: Adam on the budget manifold of the logits, gradients from Gumbel straight-through samples whose hard
    samples are DP-feasible (``gradient='ste'``), or the exact expected gradient (``gradient='expected'``); the final
    assignment is the DP on the noise-free logits. Returns the better of it and the best hard sample (a sample that
    uses the budget exactly, when ``exact``). ``stats["max_budget_error"]``: the largest |C − B|/max(1, B) of any
    iterate.

    ``time_limit`` or a ``callback`` returning True end the steps early (the final DP and the best sample are
    still compared; ``limit`` TIME or INTERRUPTED); Ctrl-C returns the best hard sample so far (``gradient='ste'``) or
    the DP on the logits of a recent step (``'expected'``). ``callback(info)`` once per step with the standard keys
    plus ``step``, ``loss`` (the step's mean sample loss) and ``tau``; ``progress=True`` shows the steps on
    stderr. ``threads``: torch's CPU threads (default 1)."""
    import torch

    from .rco import RCO, budget_interval

    steps = as_scalar("options.steps", opts.get("steps", 300), integer=True, minimum=1)
    lr = as_scalar("options.lr", opts.get("lr", 0.1), minimum=0.0)
    samples = as_scalar("options.samples", opts.get("samples", 4), integer=True, minimum=1)
    antithetic = as_bool("options.antithetic", opts.get("antithetic", True))
    tau0, tau_min = _temperature(opts.get("temperature", (1.0, 0.01)))
    mode = as_choice("options.gradient", opts.get("gradient", "ste"), ("ste", "expected"))
    units = CostUnits(problem, opts.get("scale"))
    target = units.target() if problem.exact else None
    t0 = time.perf_counter()
    run = Run(opts, total=steps, unit="steps", desc="rco", minimize=True).open()  # the limit covers the set-up
    # the manifold in costs divided by the dearest cost: the same manifold (C = B is scale-free), with totals of
    # order N whatever the cost magnitude (1e-12 or 1e300)
    unit = float(np.max(problem.costs)) or 1.0
    costs = torch.tensor(np.asarray(problem.costs, dtype=np.float64) / unit, dtype=torch.float64)
    lo, hi = budget_interval(costs)
    alpha = torch.zeros(problem.costs.shape, dtype=torch.float64, requires_grad=True)
    if hi > lo:
        margin = 1e-9 * (hi - lo)
        manifold_budget = min(max(float(problem.exact_budget / Fraction(unit)), lo + margin), hi - margin)
        opt = RCO([alpha], costs=costs, budget=manifold_budget, lr=lr)
        max_error = abs(opt.cost() - manifold_budget) / max(1.0, abs(manifold_budget))  # relative, every iterate
    else:  # every assignment costs the same: no budget manifold, and every assignment is within the budget
        manifold_budget = lo
        opt = torch.optim.Adam([alpha], lr=lr)
        max_error = 0.0
    gen = torch.Generator().manual_seed(as_int_seed(opts.seed))
    best_loss, best_x = math.inf, None
    evaluations, hard_samples = 0, 0
    done = 0
    for step in range(steps):
        tau = max(tau_min, tau0 * (tau_min / tau0) ** (step / max(steps - 1, 1)))
        opt.zero_grad()
        if mode == "expected":
            step_loss = problem.loss_value(torch.softmax(alpha, dim=-1), differentiable=True)
            step_loss.backward()
            step_loss = step_loss.item()
            evaluations += 1
            if step % 10 == 0:  # an incumbent for Ctrl-C: the DP on the current logits
                xs = units.assign(torch.log_softmax(alpha.detach(), dim=-1).numpy(), problem.exact)
                run.offer(xs, problem.loss_of(xs))
        else:
            noises = []
            while len(noises) < samples:
                u = torch.rand(alpha.shape, generator=gen, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
                g = -torch.log(-torch.log(u))
                noises.append(g)
                if antithetic and len(noises) < samples:
                    noises.append(-g)
            step_loss = 0.0
            for g in noises:
                if run.out_of_time():  # per sample: a limit passes after at most one more DP and loss evaluation
                    break
                z = (alpha + g) / tau
                soft = torch.softmax(z, dim=-1)
                x = units.assign(z.detach().numpy(), False)
                hard_samples += 1
                hard = assignment_matrix(x, problem.n_options)
                value = problem.loss_value(hard + soft - soft.detach(), differentiable=True)
                (value / len(noises)).backward()
                evaluations += 1
                loss = value.detach().item()
                step_loss += loss / len(noises)
                if loss < best_loss and (target is None or units.total(x) == target):
                    best_loss, best_x = loss, x
                    run.offer(x, loss)
        if run.stopped:  # within a step: its gradient is partial, the logits stay as the last whole step left them
            break
        opt.step()
        if hi > lo:
            max_error = max(max_error, abs(opt.cost() - manifold_budget) / max(1.0, abs(manifold_budget)))
        done = step + 1
        if run.step(step=done, loss=step_loss, tau=tau):
            break
    run.close()
    final = units.assign(torch.log_softmax(alpha.detach(), dim=-1).numpy(), problem.exact)
    final_loss = problem.loss_of(final)
    x = final if (best_x is None or final_loss <= best_loss) else best_x
    stats = {
        "final_loss": final_loss,
        "best_sample_loss": best_loss if best_x is not None else None,
        "loss_evaluations": evaluations + 1,
        "hard_samples": hard_samples,
        "max_budget_error": max_error,
        "manifold_budget": manifold_budget * unit,
        "steps": done,
        "cost_units": units.mode,
    }
    return stopped(finish(problem, x, stats, time.perf_counter() - t0, f"RCO ({mode}), {done} steps"), run)


# -- baselines ---------------------------------------------------------------------------------------------------------
@register(
    BudgetedAssignment,
    "penalty",
    backend="torch",
    priority=40,
    options=("steps", "lr", "weight", "samples", "temperature"),
    honours=("time_limit", "threads", "callback", "progress", "seed"),
    long=True,
)
@_small_torch
def solve_penalty(problem: BudgetedAssignment, opts: SolveOptions) -> Result:
    """Quadratic penalty: Adam on the logits of L + λ·((C(α) − B)/range)² with straight-through samples rounded by
    argmax (no budget in the rounding); the answer is argmax α. A run that ends over budget is INFEASIBLE.

    ``time_limit`` or a ``callback`` returning True end the steps early: argmax α then, or when it is over budget
    the best within-budget argmax α seen (NO_SOLUTION with the ``limit`` when there was none); Ctrl-C returns that
    best within-budget argmax α. ``callback(info)`` once
    per step with the standard keys plus ``step``, ``loss`` (mean sample loss), ``penalty`` and ``cost`` (of
    argmax α); ``progress=True`` shows the steps. ``threads``: torch's CPU threads (default 1)."""
    import torch

    from .rco import expected_cost

    steps = as_scalar("options.steps", opts.get("steps", 300), integer=True, minimum=1)
    lr = as_scalar("options.lr", opts.get("lr", 0.1), minimum=0.0)
    weight = as_scalar("options.weight", opts.get("weight", 1000.0), minimum=0.0)
    samples = as_scalar("options.samples", opts.get("samples", 4), integer=True, minimum=1)
    tau0, tau_min = _temperature(opts.get("temperature", (1.0, 0.01)))
    t0 = time.perf_counter()
    costs = torch.tensor(np.asarray(problem.costs, dtype=np.float64), dtype=torch.float64)
    span = float(costs.max(dim=1).values.sum() - costs.min(dim=1).values.sum()) or 1.0
    alpha = torch.zeros(problem.costs.shape, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([alpha], lr=lr)
    gen = torch.Generator().manual_seed(as_int_seed(opts.seed))
    run = Run(opts, total=steps, unit="steps", desc="penalty", minimize=True).open()
    done, last, best_fit = 0, None, (None, math.inf)
    for step in range(steps):
        tau = max(tau_min, tau0 * (tau_min / tau0) ** (step / max(steps - 1, 1)))
        opt.zero_grad()
        step_loss = 0.0
        for _ in range(samples):
            u = torch.rand(alpha.shape, generator=gen, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
            z = (alpha - torch.log(-torch.log(u))) / tau
            soft = torch.softmax(z, dim=-1)
            hard = torch.nn.functional.one_hot(z.argmax(dim=-1), problem.n_options).to(torch.float64)
            value = problem.loss_value(hard + soft - soft.detach(), differentiable=True) / samples
            value.backward()
            step_loss += value.item()
        penalty = weight * ((expected_cost(alpha, costs) - problem.budget) / span) ** 2
        penalty.backward()
        opt.step()
        done = step + 1
        current = alpha.detach().argmax(dim=-1).numpy()
        if last is None or not np.array_equal(current, last):  # a new rounding: an incumbent if it fits
            last = current
            if problem.is_feasible(current):
                current_loss = problem.loss_of(current)
                run.offer(current, current_loss)
                if current_loss < best_fit[1]:
                    best_fit = (current, current_loss)
        if run.step(step=done, loss=step_loss, penalty=penalty.item(), cost=problem.cost_of(current)):
            break
    run.close()
    x = alpha.detach().argmax(dim=-1).numpy()
    elapsed = time.perf_counter() - t0
    stats = {"loss_evaluations": done * samples, "weight": weight, "steps": done}
    if not problem.is_feasible(x) and run.limit is not None and best_fit[0] is not None:
        x = best_fit[0]  # stopped early over budget: the best within-budget argmax α seen
    if not problem.is_feasible(x) and run.limit is not None:
        return Result(
            status=Status.NO_SOLUTION,
            limit=run.limit,
            timings={"solve": elapsed},
            stats={**stats, "cost": problem.cost_of(x), "budget": problem.budget},
            message=f"stopped early ({run.message}) with argmax α over budget: cost {problem.cost_of(x)} > {problem.budget}",
        )
    if not problem.is_feasible(x):
        return Result(
            status=Status.INFEASIBLE,
            timings={"solve": elapsed},
            stats={**stats, "cost": problem.cost_of(x), "budget": problem.budget, "loss_if_allowed": problem.loss_of(x)},
            message=f"the penalty run ended over budget: cost {problem.cost_of(x)} > {problem.budget}",
        )
    return stopped(finish(problem, x, stats, elapsed, f"quadratic penalty λ = {weight}"), run)
