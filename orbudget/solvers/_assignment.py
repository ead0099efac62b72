"""What every `BudgetedAssignment` method shares, whatever it runs on: exact integer cost units and the
budget-feasible decoding of scores (`CostUnits`, `decode_assignment`, `dp_assign`), and building the result
(`finish`, `stopped`). Every returned assignment, and every hard sample RCO feeds to the loss, is within the budget
in exact arithmetic: costs of any kind (whole numbers, fractions, 1e-12 or 1e18) are turned into exact integer units
before the DP, so no cost is rounded or wrapped on the way into the kernel.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.progress import Run
from ..core.result import Result, Status
from ..core.validation import as_bool, as_scalar
from ..problems.assignment import BudgetedAssignment

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

    * ``mode='core'`` (the default, as on every knapsack path): at most ``CORE_TOTAL`` units in all: the core search
      of the multiple-choice knapsack (`orbudget.solvers.numba.mckp_core.core_choice`), exact, with no table;
    * ``mode='exact'``: larger totals whose DP table has at most ``DP_CELLS`` cells: the dense DP kernel, exact;
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
        # the one knapsack path's default: the core search whenever its totals fit; the dense DP table only where
        # they do not (and the table is small), then the sparse DP, then a rounded-up grid
        if self.units.dtype == np.int64 and int(np.where(self.available, self.units, 0).max(axis=1).sum()) <= CORE_TOTAL:
            self.mode = "core"
        elif n * (self.budget + 1) > DP_CELLS:
            if self._sparse_ok():
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
        self.units = np.array(
            [[min(a, self.budget + 1) for a in row] for row in units], dtype=np.int64 if self.budget < 2**62 else object
        )
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
            from .numba.mckp_core import core_choice

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
            raise InvalidProblemError(f"`proxy` must be a finite ({self.units.shape[0]}, {self.units.shape[1]}) table of scores")
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
            from .numba.mckp_core import core_choice

            found = core_choice(scores, self.units, self.available, budget, exact)
            return None if found is None else found[0]
        from .numba._knapsack_dp import mckp_dp, prune_dominated

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
    from ..core.validation import as_array

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


def finish(problem, x, stats, elapsed, message, status=Status.FEASIBLE) -> Result:
    if not problem.is_feasible(x):  # never return an over-budget assignment
        return Result(status=Status.ERROR, message=f"internal: assignment over budget ({problem.cost_of(x)})")
    loss = problem.loss_of(x)
    return Result(
        status=status,
        x=np.asarray(x, np.int64),
        objective=loss,
        stats={"cost": problem.cost_of(x), "budget": problem.budget, **stats},
        timings={"solve": elapsed},
        message=message,
    )


def stopped(result: Result, run: Run) -> Result:
    """The result of a loop that ``run`` stopped early (time limit, callback): ``limit`` and why in the message."""
    if run.limit is None:
        return result
    return result.replace(limit=run.limit, message=f"{result.message}; stopped early: {run.message}")
