"""Adapters for ``BudgetedAssignment``: ``rco`` (RCO with Gumbel straight-through samples whose hard part comes from
the multiple-choice knapsack DP), and the baselines ``penalty``, ``proxy_dp``, ``evolutionary`` and ``uniform``.

Every returned assignment, and every hard sample fed to the loss, is within the budget in exact integer arithmetic
(whole-number costs; other costs are scaled and rounded up by ``options={"scale": s}``).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.registry import register
from ...core.result import Result, Status
from ...core.validation import as_generator, as_int_seed, as_scalar
from ...problems.assignment import BudgetedAssignment, assignment_matrix
from .._reduce import round_costs_up


def integer_costs(problem: BudgetedAssignment, scale=None) -> tuple[np.ndarray, int]:
    """Whole-number costs and budget: as given, or ⌈s·c⌉ and ⌊s·B⌋ (any choice within those is within the real budget)."""
    if problem.costs.dtype.kind == "i":
        return np.ascontiguousarray(problem.costs, dtype=np.int64), int(math.floor(problem.budget))
    if scale is None:
        raise InvalidProblemError("`costs` are not whole numbers: pass options={'scale': s} to round s·costs up")
    return round_costs_up(problem.costs, problem.budget, scale)


def dp_assign(scores: np.ndarray, costs: np.ndarray, budget: int, exact: bool) -> np.ndarray:
    """argmax_x Σ_i scores[i, x_i] s.t. Σ costs <= budget, with exactly ``budget`` preferred when ``exact`` and
    reachable (the multiple-choice knapsack DP kernel)."""
    from ..numba._kernels import mckp_dp, prune_dominated

    values = np.ascontiguousarray(scores, dtype=np.float64)
    costs = np.ascontiguousarray(costs, dtype=np.int64)
    mask = np.ones(costs.shape, dtype=np.bool_)
    n, k = costs.shape
    dtype = np.uint8 if k <= 256 else np.uint16
    for want_exact in ((True, False) if exact else (False,)):
        keep = prune_dominated(values, costs, mask, want_exact)
        choice = np.empty((n, budget + 1), dtype=dtype)
        _, x, ok = mckp_dp(values, costs, keep, int(budget), want_exact, choice)
        if ok:
            return x
    raise InvalidProblemError(f"no assignment fits the budget {budget}")


def _finish(problem, x, stats, elapsed, message, status=Status.FEASIBLE) -> Result:
    if not problem.is_feasible(x):  # never return an over-budget assignment
        return Result(status=Status.ERROR, message=f"internal: assignment over budget ({problem.cost_of(x)})")
    loss = problem.loss_of(x)
    return Result(status=status, x=np.asarray(x, np.int64), objective=loss,
                  stats={"cost": problem.cost_of(x), "budget": problem.budget, **stats}, timings={"solve": elapsed},
                  message=message)


# -- RCO ---------------------------------------------------------------------------------------------------------------
@register(BudgetedAssignment, "rco", backend="torch", priority=10,
          options=("steps", "lr", "samples", "antithetic", "temperature", "mode", "scale"), honours=("seed",), long=True)
def solve_rco(problem: BudgetedAssignment, opts) -> Result:
    """RCO: Adam on the budget manifold of the logits, gradients from Gumbel straight-through samples whose hard
    samples are DP-feasible (``mode='ste'``), or the exact expected gradient (``mode='expected'``); the final
    assignment is the DP on the noise-free logits. Returns the better of it and the best hard sample (a sample that
    uses the budget exactly, when ``exact``). ``stats["max_budget_error"]``: the largest |C − B|/max(1, B) of any
    iterate."""
    import torch

    from .rco import RCO, budget_interval

    steps = as_scalar("options.steps", opts.get("steps", 300), integer=True, minimum=1)
    lr = as_scalar("options.lr", opts.get("lr", 0.1), minimum=0.0)
    samples = as_scalar("options.samples", opts.get("samples", 4), integer=True, minimum=1)
    antithetic = bool(opts.get("antithetic", True))
    tau0, tau_min = opts.get("temperature", (1.0, 0.01))
    mode = opts.get("mode", "ste")
    if mode not in ("ste", "expected"):
        raise InvalidProblemError(f"`options.mode` must be 'ste' or 'expected'; got {mode!r}")
    icosts, ibudget = integer_costs(problem, opts.get("scale"))
    t0 = time.perf_counter()
    costs = torch.tensor(np.array(problem.costs), dtype=torch.float64)
    lo, hi = budget_interval(costs)
    margin = 1e-9 * max(1.0, hi - lo)
    manifold_budget = min(max(float(problem.budget), lo + margin), hi - margin)
    alpha = torch.zeros(problem.costs.shape, dtype=torch.float64, requires_grad=True)
    opt = RCO([alpha], costs=costs, budget=manifold_budget, lr=lr)
    gen = torch.Generator().manual_seed(as_int_seed(opts.seed))
    best_loss, best_x = math.inf, None
    evaluations, hard_samples = 0, 0
    max_error = abs(opt.cost() - manifold_budget) / max(1.0, abs(manifold_budget))  # relative, every iterate
    for step in range(steps):
        tau = max(tau_min, tau0 * (tau_min / tau0) ** (step / max(steps - 1, 1)))
        opt.zero_grad()
        if mode == "expected":
            problem.loss(torch.softmax(alpha, dim=-1)).backward()
            evaluations += 1
        else:
            noises = []
            while len(noises) < samples:
                u = torch.rand(alpha.shape, generator=gen, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
                g = -torch.log(-torch.log(u))
                noises.append(g)
                if antithetic and len(noises) < samples:
                    noises.append(-g)
            for g in noises:
                z = (alpha + g) / tau
                soft = torch.softmax(z, dim=-1)
                x = dp_assign(z.detach().numpy(), icosts, ibudget, False)
                hard_samples += 1
                hard = assignment_matrix(x, problem.n_options)
                value = problem.loss(hard + soft - soft.detach())
                (value / len(noises)).backward()
                evaluations += 1
                loss = value.detach().item()
                if loss < best_loss and (not problem.exact or int(icosts[np.arange(len(x)), x].sum()) == ibudget):
                    best_loss, best_x = loss, x
        opt.step()
        max_error = max(max_error, abs(opt.cost() - manifold_budget) / max(1.0, abs(manifold_budget)))
    final = dp_assign(torch.log_softmax(alpha.detach(), dim=-1).numpy(), icosts, ibudget, problem.exact)
    final_loss = problem.loss_of(final)
    x = final if (best_x is None or final_loss <= best_loss) else best_x
    stats = {"final_loss": final_loss, "best_sample_loss": best_loss if best_x is not None else None,
             "loss_evaluations": evaluations + 1, "hard_samples": hard_samples, "max_budget_error": max_error,
             "manifold_budget": manifold_budget, "steps": steps}
    return _finish(problem, x, stats, time.perf_counter() - t0, f"RCO ({mode}), {steps} steps")


# -- baselines ---------------------------------------------------------------------------------------------------------
@register(BudgetedAssignment, "penalty", backend="torch", priority=40,
          options=("steps", "lr", "weight", "samples", "temperature"), honours=("seed",), long=True)
def solve_penalty(problem: BudgetedAssignment, opts) -> Result:
    """Quadratic penalty: Adam on the logits of L + λ·((C(α) − B)/range)² with straight-through samples rounded by
    argmax (no budget in the rounding); the answer is argmax α. A run that ends over budget is INFEASIBLE."""
    import torch

    from .rco import expected_cost

    steps = as_scalar("options.steps", opts.get("steps", 300), integer=True, minimum=1)
    lr = as_scalar("options.lr", opts.get("lr", 0.1), minimum=0.0)
    weight = as_scalar("options.weight", opts.get("weight", 1000.0), minimum=0.0)
    samples = as_scalar("options.samples", opts.get("samples", 4), integer=True, minimum=1)
    tau0, tau_min = opts.get("temperature", (1.0, 0.01))
    t0 = time.perf_counter()
    costs = torch.tensor(np.array(problem.costs), dtype=torch.float64)
    span = float(costs.max(dim=1).values.sum() - costs.min(dim=1).values.sum()) or 1.0
    alpha = torch.zeros(problem.costs.shape, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([alpha], lr=lr)
    gen = torch.Generator().manual_seed(as_int_seed(opts.seed))
    for step in range(steps):
        tau = max(tau_min, tau0 * (tau_min / tau0) ** (step / max(steps - 1, 1)))
        opt.zero_grad()
        for _ in range(samples):
            u = torch.rand(alpha.shape, generator=gen, dtype=torch.float64).clamp(1e-12, 1 - 1e-12)
            z = (alpha - torch.log(-torch.log(u))) / tau
            soft = torch.softmax(z, dim=-1)
            hard = torch.nn.functional.one_hot(z.argmax(dim=-1), problem.n_options).to(torch.float64)
            (problem.loss(hard + soft - soft.detach()) / samples).backward()
        penalty = weight * ((expected_cost(alpha, costs) - problem.budget) / span) ** 2
        penalty.backward()
        opt.step()
    x = alpha.detach().argmax(dim=-1).numpy()
    elapsed = time.perf_counter() - t0
    stats = {"loss_evaluations": steps * samples, "weight": weight}
    if not problem.is_feasible(x):
        return Result(status=Status.INFEASIBLE, timings={"solve": elapsed},
                      stats={**stats, "cost": problem.cost_of(x), "budget": problem.budget,
                             "loss_if_allowed": problem.loss_of(x)},
                      message=f"the penalty run ended over budget: cost {problem.cost_of(x)} > {problem.budget}")
    return _finish(problem, x, stats, elapsed, f"quadratic penalty λ = {weight}")


def measured_proxy(problem: BudgetedAssignment) -> np.ndarray:
    """A separable proxy by single switches: proxy[i, k] = L(reference with group i set to k) − L(reference), the
    reference being every group's dearest option (N·K loss evaluations)."""
    ref = problem.costs.argmax(axis=1)
    base = problem.loss_of(ref)
    proxy = np.zeros(problem.costs.shape)
    for i in range(problem.n_groups):
        for k in range(problem.n_options):
            if k != ref[i]:
                x = ref.copy()
                x[i] = k
                proxy[i, k] = problem.loss_of(x) - base
    return proxy


@register(BudgetedAssignment, "proxy_dp", backend="numba", priority=20, options=("scale",), honours=("seed",))
def solve_proxy_dp(problem: BudgetedAssignment, opts) -> Result:
    """The separable proxy (given, or measured one switch at a time) minimised exactly by the knapsack DP; OPTIMAL
    when the loss is that proxy."""
    t0 = time.perf_counter()
    icosts, ibudget = integer_costs(problem, opts.get("scale"))
    given = problem.proxy is not None
    proxy = problem.proxy if given else measured_proxy(problem)
    x = dp_assign(-np.asarray(proxy), icosts, ibudget, problem.exact)
    exact = problem.separable_loss and problem.costs.dtype.kind == "i"
    return _finish(problem, x, {"loss_evaluations": 1 if given else problem.n_groups * problem.n_options},
                   time.perf_counter() - t0, "DP on the separable proxy",
                   status=Status.OPTIMAL if exact else Status.FEASIBLE)


@register(BudgetedAssignment, "uniform", backend="numba", priority=60, honours=("time_limit", "seed"))
def solve_uniform(problem: BudgetedAssignment, opts) -> Result:
    """The same option index in every group: the best one within the budget."""
    t0 = time.perf_counter()
    best, best_loss = None, math.inf
    for k in range(problem.n_options):
        x = np.full(problem.n_groups, k, np.int64)
        if problem.is_feasible(x):
            loss = problem.loss_of(x)
            if loss < best_loss:
                best, best_loss = x, loss
    if best is None:
        return Result(status=Status.INFEASIBLE, message="no uniform assignment fits the budget",
                      timings={"solve": time.perf_counter() - t0})
    return _finish(problem, best, {"loss_evaluations": problem.n_options}, time.perf_counter() - t0,
                   f"uniform option {int(best[0])}")


@register(BudgetedAssignment, "evolutionary", backend="numba", priority=30,
          options=("evaluations", "offspring", "start"))
def solve_evolutionary(problem: BudgetedAssignment, opts) -> Result:
    """EvoPress-style (1+λ) elitist search with budget-preserving level switches: each offspring raises one group's
    option one cost level and lowers another's, with min(U{1..3}, U{1..3}) such pairs, kept only within budget.
    Starts from ``proxy_dp`` (default) or ``uniform``; ``evaluations`` is the loss-evaluation budget."""
    t0 = time.perf_counter()
    rng = as_generator(opts.seed)
    evaluations = as_scalar("options.evaluations", opts.get("evaluations", 1200), integer=True, minimum=1)
    offspring = as_scalar("options.offspring", opts.get("offspring", 8), integer=True, minimum=1)
    start = opts.get("start", "proxy_dp")
    icosts, ibudget = integer_costs(problem, None if problem.costs.dtype.kind == "i" else 1e6)
    if start == "proxy_dp":
        from ...core.solve import SolveOptions

        first = solve_proxy_dp(problem, SolveOptions())
    elif start == "uniform":
        first = solve_uniform(problem, opts)
    else:
        raise InvalidProblemError(f"`options.start` must be 'proxy_dp' or 'uniform'; got {start!r}")
    if not first.ok:
        return first
    order = np.argsort(problem.costs, axis=1, kind="stable")  # options by cost, per group
    rank = np.argsort(order, axis=1)
    parent = np.asarray(first.x, np.int64)
    parent_loss = first.objective
    used = int(first.stats.get("loss_evaluations", 0))
    n = problem.n_groups
    generations = 0
    while used + offspring <= evaluations:
        generations += 1
        best_child, best_child_loss = None, math.inf
        for _ in range(offspring):
            child = parent.copy()
            for _ in range(min(rng.integers(1, 4), rng.integers(1, 4))):
                up, down = rng.integers(0, n, 2)
                if up == down:
                    continue
                ru, rd = rank[up, child[up]], rank[down, child[down]]
                if ru + 1 < problem.n_options and rd > 0:
                    child[up] = order[up, ru + 1]
                    child[down] = order[down, rd - 1]
            if int(icosts[np.arange(n), child].sum()) > ibudget:
                continue
            loss = problem.loss_of(child)
            used += 1
            if loss < best_child_loss:
                best_child, best_child_loss = child, loss
        if best_child is not None and best_child_loss <= parent_loss:
            parent, parent_loss = best_child, best_child_loss
        if best_child is None:
            used += 1  # all offspring rejected: count the generation so the loop ends
    return _finish(problem, parent, {"loss_evaluations": used, "generations": generations},
                   time.perf_counter() - t0, f"(1+{offspring}) evolutionary search, {generations} generations")
