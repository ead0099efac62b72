"""Adapters for ``BudgetedAssignment``: ``rco`` (RCO with Gumbel straight-through samples whose hard part comes from
the multiple-choice knapsack DP), and the baselines ``penalty``, ``proxy_dp``, ``evolutionary`` and ``uniform``.

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
from ...core.validation import as_bool, as_choice, as_generator, as_int_seed, as_scalar
from ...problems.assignment import BudgetedAssignment, assignment_matrix

DP_CELLS = 40_000_000  # N·(B+1) choice-table cells the dense DP may use (bytes, uint8)
SPARSE_STATES = 20_000  # distinct partial totals the exact sparse DP may keep
CORE_TOTAL = 2**53  # the most units the core search takes here (totals then also exact as floats, for `target`)


class CostUnits:
    """Costs and budget as exact integers for the multiple-choice knapsack DP, built once per problem.

    Each cost is an exact rational (a float is the binary fraction it holds); over their common denominator D and
    divided by g, the gcd of all numerators, the costs become integers ``units`` and the budget ``⌊B·D/g⌋``, with
    ``Σ c ≤ B ⇔ Σ units ≤ budget`` exactly (and ``Σ c = B`` only when B·D/g is whole). Options dearer than the
    budget are dropped (``available``), and the budget is capped at the dearest reachable total, so the numbers
    that reach the kernel stay small. Then:

    * ``mode='exact'``: the DP table has at most ``DP_CELLS`` cells: the dense DP kernel, exact;
    * ``mode='core'``: too many units for a table, but at most ``CORE_TOTAL`` in all: the core search of the
      multiple-choice knapsack (`orbudget.solvers.numba.mckp_core.core_choice`), exact, with no table;
    * ``mode='sparse'``: too many units for a table, but few distinct totals: a DP over the reachable totals, exact;
    * ``mode='grid'``: neither (or ``scale`` was given): costs rounded *up* on a grid (``⌈c·s⌉`` against ``⌊B·s⌋``,
      in exact integer arithmetic), so any assignment the DP returns is within the true budget; when the grid
      admits none, the cheapest assignment is returned (feasible by the model's check). Exact budgets are not
      guaranteed in this mode.
    """

    def __init__(self, problem: BudgetedAssignment, scale=None):
        n, k = problem.costs.shape
        costs = problem.costs
        if costs.dtype.kind in "iu":
            num = [[int(v) for v in row] for row in costs]
            den = 1
        else:
            ratios = [[float(v).as_integer_ratio() for v in row] for row in costs]
            den = max(d for row in ratios for _, d in row)  # denominators are powers of two
            num = [[a * (den // d) for a, d in row] for row in ratios]
        budget = problem.exact_budget * den  # a Fraction: B·D
        g = 0
        for row in num:
            for a in row:
                g = math.gcd(g, a)
        g = g or 1
        exact = [[a // g for a in row] for row in num]  # Σ c ≤ B ⇔ Σ exact ≤ B·D/g
        self.exact_units_table = exact
        if scale is not None:
            s = Fraction(as_scalar("options.scale", scale, minimum=0.0, strict_minimum=True))
            # grid of 1/s cost units: ⌈c·s⌉ and ⌊B·s⌋, in integers
            units = [[-((-a * s.numerator) // (den * s.denominator)) for a in row] for row in num]
            self._build(units, math.floor(problem.exact_budget * s), "grid")
            return
        self._build(exact, math.floor(budget / g), "exact")
        if n * (self.budget + 1) > DP_CELLS:
            if self.units.dtype == np.int64 and int(np.where(self.available, self.units, 0).max(axis=1).sum()) <= CORE_TOTAL:
                self.mode = "core"
            elif self._sparse_ok():
                self.mode = "sparse"
            else:  # a grid of `target` units across the (capped) budget, rounded up: ⌈u·target/budget⌉
                target = max(1, DP_CELLS // n - 1)
                units = [[-((-a * target) // self.budget) for a in row] for row in exact]
                self._build(units, target, "grid")

    def _build(self, units, cap: int, mode: str) -> None:
        avail = np.array([[a <= cap for a in row] for row in units], dtype=np.bool_)
        reach = sum(max(a for a in row if a <= cap) for row in units) if avail.any(axis=1).all() else -1
        if reach < 0:  # no option of some group fits (only possible on a rounded-up grid)
            cap_eff = max(cap, 0)
        else:
            cap_eff = min(cap, reach)
        self.budget = int(max(cap_eff, 0))
        self.available = avail
        # int64 for the kernel; Python ints (object) while the budget is beyond int64, for the sparse DP only
        self.units = np.array([[min(a, self.budget + 1) for a in row] for row in units],
                              dtype=np.int64 if self.budget < 2**62 else object)
        self.mode = mode

    def _sparse_ok(self) -> bool:
        """Whether the distinct reachable totals stay below ``SPARSE_STATES`` (counted before any DP is run)."""
        totals = {0}
        for i, row in enumerate(self.units):
            opts = {int(a) for a, ok in zip(row, self.available[i]) if ok}
            totals = {t + a for t in totals for a in opts if t + a <= self.budget}
            if len(totals) > SPARSE_STATES:
                return False
        self._totals = totals
        return True

    @property
    def exact_units(self) -> bool:
        """Whether the budget is decided exactly (``'exact'`` or ``'sparse'``), not on a rounded-up grid."""
        return self.mode != "grid"

    def total(self, x) -> int:
        return int(self.units[np.arange(len(x)), np.asarray(x)].sum())

    def target(self) -> int | None:
        """The total an ``exact`` problem's final assignment should use: the budget when some assignment reaches it
        exactly, else the largest reachable total below it (``None`` on a grid, where exactness is not decided)."""
        if not self.exact_units:
            return None
        if not hasattr(self, "_target"):  # the capped budget lies below B when B·D/g is not whole or above every total
            self._target = self._largest_reachable(self.budget)
        return self._target

    def _reachable_set(self):  # dense modes only: the sparse mode keeps its totals in _totals
        reach = np.zeros(self.budget + 1, dtype=np.bool_)
        reach[0] = True
        for i, row in enumerate(self.units):
            new = np.zeros_like(reach)
            for a, ok in zip(row, self.available[i]):
                if ok:
                    new[a:] |= reach[: self.budget + 1 - a]
            reach = new
        return reach

    def _largest_reachable(self, cap: int) -> int:
        if self.mode == "sparse":
            return max(t for t in self._totals if t <= cap)
        if self.mode == "core":  # the dearest total within cap: the core search with values = costs
            from ..numba.mckp_core import core_choice

            x, _optimal = core_choice(self.units.astype(np.float64), self.units, self.available, cap, False)
            return self.total(x)
        if not hasattr(self, "_reach"):
            self._reach = self._reachable_set()
        return int(np.flatnonzero(self._reach[: cap + 1])[-1])

    def assign(self, scores, exact: bool) -> np.ndarray:
        """argmax_x Σ_i scores[i, x_i] within the budget; with ``exact``, among the assignments whose total is
        `target` (the budget when reachable, else the largest reachable total below it)."""
        scores = np.ascontiguousarray(scores, dtype=np.float64)
        if scores.shape != self.units.shape or not np.isfinite(scores).all():
            raise InvalidProblemError(f"`proxy` must be a finite ({self.units.shape[0]}, {self.units.shape[1]}) "
                                      "table of scores")
        if exact and self.exact_units:
            x = self._dp(scores, self.target(), True)
        else:
            x = self._dp(scores, self.budget, False)
        if x is None:  # a rounded-up grid admits nothing: the cheapest assignment is within the true budget
            x = self.cheapest(scores)
        return x

    def cheapest(self, scores=None) -> np.ndarray:
        """Each group's cheapest option in exact arithmetic (best score among equally cheap ones)."""
        x = np.zeros(len(self.exact_units_table), np.int64)
        for i, row in enumerate(self.exact_units_table):
            low = min(row)
            cands = [j for j, a in enumerate(row) if a == low]
            x[i] = cands[int(np.argmax(scores[i, cands]))] if scores is not None else cands[0]
        return x

    def _dp(self, scores, budget: int, exact: bool) -> np.ndarray | None:
        if self.mode == "sparse":
            return self._sparse_dp(scores, budget, exact)
        if self.mode == "core":
            from ..numba.mckp_core import core_choice

            found = core_choice(scores, self.units, self.available, budget, exact)
            return None if found is None else found[0]
        from ..numba._kernels import mckp_dp, prune_dominated

        n, k = self.units.shape
        keep = prune_dominated(scores, self.units, self.available, exact)
        choice = np.empty((n, budget + 1), dtype=np.uint8 if k <= 256 else np.uint16)
        _, x, ok = mckp_dp(scores, self.units, keep, int(budget), bool(exact), choice)
        return x if ok else None

    def _sparse_dp(self, scores, budget: int, exact: bool) -> np.ndarray | None:
        """The same DP over the reachable totals only (a dict per group: total -> best value, choice, previous)."""
        layers = []
        best = {0: 0.0}
        for i, row in enumerate(self.units):
            nxt: dict = {}
            back: dict = {}
            for t, v in best.items():
                for j, a in enumerate(row):
                    if not self.available[i, j] or t + a > budget:
                        continue
                    val = v + scores[i, j]
                    u = t + int(a)
                    if u not in nxt or val > nxt[u]:
                        nxt[u], back[u] = val, (j, t)
            best = nxt
            layers.append(back)
        if exact:
            if budget not in best:
                return None
            t = budget
        else:
            if not best:
                return None
            t = max(best, key=lambda u: (best[u], -u))
        x = np.zeros(len(layers), np.int64)
        for i in range(len(layers) - 1, -1, -1):
            x[i], t = layers[i][t]
        return x


def decode_assignment(problem: BudgetedAssignment, scores, exact: bool | None = None) -> np.ndarray:
    """The assignment that maximises Σ_i scores[i, x_i] within the budget, in one call: RCO's logits (or any
    (N, K) scores) to a discrete choice per group. Costs are turned into exact integer units first
    (`CostUnits`), so rounding never breaks the budget. With ``exact`` (default: the problem's own ``exact``) the
    total meets the budget exactly whenever some assignment can (else the largest reachable total below it).

    Examples:
        >>> import numpy as np, orbudget as ob
        >>> p = ob.BudgetedAssignment.separable(8, seed=0)
        >>> x = ob.decode_assignment(p, np.random.default_rng(1).normal(size=(8, 4)), exact=True)
        >>> bool(p.is_feasible(x)), p.cost_of(x) == p.budget
        (True, True)
    """
    from ...core.validation import as_array

    scores = as_array("scores", scores, shape=(problem.n_groups, problem.n_options))
    exact = problem.exact if exact is None else as_bool("exact", exact)
    return CostUnits(problem).assign(np.array(scores, float), exact)


def dp_assign(scores: np.ndarray, costs: np.ndarray, budget: int, exact: bool) -> np.ndarray:
    """argmax_x Σ_i scores[i, x_i] s.t. Σ costs <= budget for whole-number ``costs``; with ``exact``, among the
    assignments whose total is the budget when reachable, else the largest reachable total below it (the model's
    exact-budget rule). Raises when no assignment fits."""
    costs = np.asarray(costs)
    if int(budget) < int(costs.min(axis=1).sum()):
        raise InvalidProblemError(f"no assignment fits the budget {budget}")
    p = BudgetedAssignment(costs=costs, budget=int(budget), loss=_never, exact=bool(exact))
    return CostUnits(p).assign(scores, exact)


def _never(p):  # the loss of a problem built only for its costs
    raise AssertionError("not evaluated")


def _finish(problem, x, stats, elapsed, message, status=Status.FEASIBLE) -> Result:
    if not problem.is_feasible(x):  # never return an over-budget assignment
        return Result(status=Status.ERROR, message=f"internal: assignment over budget ({problem.cost_of(x)})")
    loss = problem.loss_of(x)
    return Result(status=status, x=np.asarray(x, np.int64), objective=loss,
                  stats={"cost": problem.cost_of(x), "budget": problem.budget, **stats}, timings={"solve": elapsed},
                  message=message)


def _small_torch(fn):
    """Run an adapter with torch on ``opts.threads`` CPU threads (default 1), restoring the setting after: the logit
    tables are tiny, and on a busy 2-core machine torch's default threads made ``solve(method="rco")`` on 5 groups
    take 103 s instead of 9 s (see `orbudget.solvers.torch._common`)."""

    @functools.wraps(fn)
    def wrapped(problem, opts):
        from ._common import cpu_threads

        with cpu_threads(None, opts.threads or 1):
            return fn(problem, opts)

    return wrapped


def _stopped(result: Result, run: Run) -> Result:
    """The result of a loop that ``run`` stopped early (time limit, callback): ``limit`` and why in the message."""
    if run.limit is None:
        return result
    return result.replace(limit=run.limit, message=f"{result.message}; stopped early: {run.message}")


def _temperature(value) -> tuple[float, float]:
    """``options.temperature`` = (τ0, τ_min): two positive finite numbers."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise InvalidProblemError(f"`options.temperature` must be a pair (τ0, τ_min) of positive numbers; got {value!r}")
    return tuple(float(as_scalar("options.temperature", t, minimum=0.0, strict_minimum=True)) for t in value)


# -- RCO ---------------------------------------------------------------------------------------------------------------
@register(BudgetedAssignment, "rco", backend="torch", priority=10,
          options=("steps", "lr", "samples", "antithetic", "temperature", "mode", "scale"),
          honours=("time_limit", "threads", "callback", "progress", "seed"), long=True)
@_small_torch
def solve_rco(problem: BudgetedAssignment, opts) -> Result:
    """RCO: Adam on the budget manifold of the logits, gradients from Gumbel straight-through samples whose hard
    samples are DP-feasible (``mode='ste'``), or the exact expected gradient (``mode='expected'``); the final
    assignment is the DP on the noise-free logits. Returns the better of it and the best hard sample (a sample that
    uses the budget exactly, when ``exact``). ``stats["max_budget_error"]``: the largest |C − B|/max(1, B) of any
    iterate.

    ``time_limit`` or a ``callback`` returning True end the steps early (the final DP and the best sample are
    still compared; ``limit`` TIME or INTERRUPTED); Ctrl-C returns the best hard sample so far (``mode='ste'``) or
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
    mode = as_choice("options.mode", opts.get("mode", "ste"), ("ste", "expected"))
    units = CostUnits(problem, opts.get("scale"))
    target = units.target() if problem.exact else None
    t0 = time.perf_counter()
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
    run = Run(opts, total=steps, unit="steps", desc="rco", minimize=True).__enter__()
    done = 0
    for step in range(steps):
        tau = max(tau_min, tau0 * (tau_min / tau0) ** (step / max(steps - 1, 1)))
        opt.zero_grad()
        if mode == "expected":
            step_loss = problem.loss(torch.softmax(alpha, dim=-1))
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
                z = (alpha + g) / tau
                soft = torch.softmax(z, dim=-1)
                x = units.assign(z.detach().numpy(), False)
                hard_samples += 1
                hard = assignment_matrix(x, problem.n_options)
                value = problem.loss(hard + soft - soft.detach())
                (value / len(noises)).backward()
                evaluations += 1
                loss = value.detach().item()
                step_loss += loss / len(noises)
                if loss < best_loss and (target is None or units.total(x) == target):
                    best_loss, best_x = loss, x
                    run.offer(x, loss)
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
    stats = {"final_loss": final_loss, "best_sample_loss": best_loss if best_x is not None else None,
             "loss_evaluations": evaluations + 1, "hard_samples": hard_samples, "max_budget_error": max_error,
             "manifold_budget": manifold_budget * unit, "steps": done, "cost_units": units.mode}
    return _stopped(_finish(problem, x, stats, time.perf_counter() - t0, f"RCO ({mode}), {done} steps"), run)


# -- baselines ---------------------------------------------------------------------------------------------------------
@register(BudgetedAssignment, "penalty", backend="torch", priority=40,
          options=("steps", "lr", "weight", "samples", "temperature"),
          honours=("time_limit", "threads", "callback", "progress", "seed"), long=True)
@_small_torch
def solve_penalty(problem: BudgetedAssignment, opts) -> Result:
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
    run = Run(opts, total=steps, unit="steps", desc="penalty", minimize=True).__enter__()
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
            value = problem.loss(hard + soft - soft.detach()) / samples
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
        return Result(status=Status.NO_SOLUTION, limit=run.limit, timings={"solve": elapsed},
                      stats={**stats, "cost": problem.cost_of(x), "budget": problem.budget},
                      message=f"stopped early ({run.message}) with argmax α over budget: cost {problem.cost_of(x)} > "
                              f"{problem.budget}")
    if not problem.is_feasible(x):
        return Result(status=Status.INFEASIBLE, timings={"solve": elapsed},
                      stats={**stats, "cost": problem.cost_of(x), "budget": problem.budget,
                             "loss_if_allowed": problem.loss_of(x)},
                      message=f"the penalty run ended over budget: cost {problem.cost_of(x)} > {problem.budget}")
    return _stopped(_finish(problem, x, stats, elapsed, f"quadratic penalty λ = {weight}"), run)


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
    when the loss is that proxy (and the costs are handled in exact units, see `CostUnits`). ``scale``: a
    grid of 1/s cost units instead (costs rounded up; the budget stays an upper bound, exactness is not kept)."""
    t0 = time.perf_counter()
    units = CostUnits(problem, opts.get("scale"))
    given = problem.proxy is not None
    proxy = problem.proxy if given else measured_proxy(problem)
    x = units.assign(-np.asarray(proxy), problem.exact)
    exact = problem.separable_loss and units.exact_units
    return _finish(problem, x, {"loss_evaluations": 1 if given else problem.n_groups * problem.n_options,
                                "cost_units": units.mode},
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
          options=("evaluations", "offspring", "start", "scale"),
          honours=("time_limit", "callback", "progress", "seed"), long=True)
def solve_evolutionary(problem: BudgetedAssignment, opts) -> Result:
    """EvoPress-style (1+λ) elitist search with budget-preserving level switches: each offspring raises one group's
    option one cost level and lowers another's, with min(U{1..3}, U{1..3}) such pairs, kept only within budget.
    Starts from ``proxy_dp`` (default) or ``uniform``; ``evaluations`` is the loss-evaluation budget; ``scale`` is
    passed to the ``proxy_dp`` start. Children are kept only within the budget, checked in exact arithmetic (any
    costs: whole, fractional, tiny or huge); on an ``exact`` problem only children with the parent's total are kept,
    so an exact start stays exact.

    ``time_limit`` or a ``callback`` returning True end the search early with the parent (``limit`` TIME or
    INTERRUPTED); Ctrl-C returns the parent. ``callback(info)`` once per generation with the standard keys plus
    ``generation`` and ``evaluations`` (loss evaluations used); ``progress=True`` shows the generations."""
    t0 = time.perf_counter()
    rng = as_generator(opts.seed)
    evaluations = as_scalar("options.evaluations", opts.get("evaluations", 1200), integer=True, minimum=1)
    offspring = as_scalar("options.offspring", opts.get("offspring", 8), integer=True, minimum=1)
    start = as_choice("options.start", opts.get("start", "proxy_dp"), ("proxy_dp", "uniform"))
    scale = opts.get("scale")
    if scale is not None:
        scale = as_scalar("options.scale", scale, minimum=0.0, strict_minimum=True)
    if start == "proxy_dp":
        from ...core.solve import SolveOptions

        first = solve_proxy_dp(problem, SolveOptions(options={} if scale is None else {"scale": scale}))
    else:
        first = solve_uniform(problem, opts)
    if not first.ok:
        return first
    total = problem.exact_cost  # Σ costs of an assignment, exactly
    order = np.argsort(problem.costs, axis=1, kind="stable")  # options by cost, per group
    rank = np.argsort(order, axis=1)
    parent = np.asarray(first.x, np.int64)
    parent_loss = first.objective
    parent_total = total(parent)
    budget = problem.exact_budget
    used = int(first.stats.get("loss_evaluations", 0))
    n = problem.n_groups
    generations = 0
    run = Run(opts, total=max(0, (evaluations - used) // offspring), unit="generations", desc="evolutionary",
              minimize=True).__enter__()
    run.offer(parent, parent_loss)
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
            child_total = total(child)
            if child_total > budget or (problem.exact and child_total != parent_total):
                continue
            loss = problem.loss_of(child)
            used += 1
            if loss < best_child_loss:
                best_child, best_child_loss = child, loss
        if best_child is not None and best_child_loss <= parent_loss:
            parent, parent_loss = best_child, best_child_loss
            run.offer(parent, parent_loss)
        if best_child is None:
            used += 1  # all offspring rejected: count the generation so the loop ends
        if run.step(generation=generations, evaluations=used):
            break
    run.close()
    return _stopped(_finish(problem, parent, {"loss_evaluations": used, "generations": generations},
                            time.perf_counter() - t0,
                            f"(1+{offspring}) evolutionary search, {generations} generations"), run)
