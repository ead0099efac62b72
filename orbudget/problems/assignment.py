"""Budgeted assignment: one of K options for each of N groups (bit widths for layers, keep/prune for experts) with
total cost within (preferably exactly at) a budget, minimising a loss that does not decompose over groups
(Helcig and Alistarh, "Model Compression with Exact Budget Constraints via Riemannian Manifolds", 2026).

$$
\\min_x L(x) \\quad\\text{s.t.}\\quad \\sum_i c_{i,x_i} \\le B \\;(= B \\text{ when reachable and } \\texttt{exact}).
$$

The loss is a torch callable of the (N, K) assignment matrix: one-hot rows for a discrete assignment, probability
rows for a relaxed one, so gradients flow for the relaxed and straight-through forms.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..core.budget import INT64_MAX, exact_total, fits
from ..core.display import short_value
from ..core.errors import InvalidProblemError
from ..core.validation import as_array, as_bool, as_generator, as_scalar, is_integral
from .base import Problem


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class BudgetedAssignment(Problem):
    """Choose option ``x_i`` in each group to minimise ``loss(one_hot(x))`` with ``Σ_i costs[i, x_i] <= budget``.

    Args:
        costs: (N, K) non-negative option costs: whole numbers (e.g. parameters × bits) or any finite floats.
            Feasibility is decided in exact arithmetic either way: a float is the exact binary fraction it holds, so
            ``Σ costs ≤ budget`` is never decided by a rounded sum (`exact_cost`).
        budget: B (an int is kept exactly, whatever its size; ``budget`` holds it as a float).
        loss: ``loss(P) -> scalar tensor`` for P of shape (N, K) (torch, differentiable in P).
        exact: the final assignment uses the budget exactly when some assignment can; otherwise the largest total
            below it.
        proxy: optional (N, K) separable proxy loss (for ``proxy_dp``); by default measured one switch at a time.
        separable_loss: the loss is exactly Σ proxy ⊙ P (then ``proxy_dp`` is exact and gives the optimum).
        name: a label.
    """

    costs: np.ndarray
    budget: float
    loss: Callable
    exact: bool = True
    proxy: np.ndarray | None = None
    separable_loss: bool = False
    name: str = ""

    def __post_init__(self):
        costs = _exact_costs(self.costs)
        budget_exact = _exact_scalar("budget", self.budget)
        budget = float(budget_exact)
        if not callable(self.loss):
            raise InvalidProblemError(f"`loss` must be a callable of the (N, K) assignment matrix; got {self.loss!r}")
        cheapest = _exact_total(costs.min(axis=1))
        if budget_exact < cheapest:
            raise InvalidProblemError(f"`budget` {budget} is below the cheapest assignment's cost {float(cheapest)}")
        self._set("costs", costs)
        self._set("budget", budget)
        self._set("_budget_exact", budget_exact)
        self._set("exact", as_bool("exact", self.exact))
        if self.proxy is not None:
            self._set("proxy", as_array("proxy", self.proxy, shape=costs.shape))
        if self.separable_loss and self.proxy is None:
            raise InvalidProblemError("`separable_loss` needs `proxy` (the loss table)")

    @property
    def n_groups(self) -> int:
        return self.costs.shape[0]

    @property
    def n_options(self) -> int:
        return self.costs.shape[1]

    def to_dict(self) -> dict:
        raise InvalidProblemError("a BudgetedAssignment cannot be saved: its `loss` is code, not data")

    def check_assignment(self, x) -> np.ndarray:
        x = as_array("x", x, shape=(self.n_groups,), dtype=int)
        if ((x < 0) | (x >= self.n_options)).any():
            raise InvalidProblemError(f"`x` must hold option indices in 0..{self.n_options - 1}")
        return x

    def cost_of(self, x):
        """Total cost: an int for whole-number costs (exact), else the correctly rounded float of the exact sum."""
        x = self.check_assignment(x)
        picked = self.costs[np.arange(self.n_groups), x]
        return int(picked.sum()) if picked.dtype.kind == "i" else math.fsum(picked)  # int totals fit int64

    def exact_cost(self, x) -> Fraction:
        """Total cost in exact rational arithmetic (each float cost is the binary fraction it holds)."""
        x = self.check_assignment(x)
        return _exact_total(self.costs[np.arange(self.n_groups), x])

    @property
    def exact_budget(self) -> Fraction:
        """The budget as given, exactly (an int budget above 2^53 is not rounded)."""
        return self._budget_exact

    def is_feasible(self, x) -> bool:
        """``Σ_i costs[i, x_i] <= budget``, decided in exact arithmetic."""
        return fits(self.exact_cost(x), self._budget_exact, whole=True)  # this family's budgets are exact: no slack

    def uses_budget_exactly(self, x) -> bool:
        """``Σ_i costs[i, x_i] == budget`` exactly."""
        return self.exact_cost(x) == self._budget_exact

    def loss_of(self, x) -> float:
        """The loss of a discrete assignment (one-hot rows)."""
        import torch

        with torch.no_grad():
            return float(self.loss_value(assignment_matrix(self.check_assignment(x), self.n_options)))

    def loss_value(self, matrix, *, differentiable: bool = False):
        """``loss(matrix)``, checked: a one-element torch tensor (returned as a scalar), and with ``differentiable`` one
        that has a gradient with respect to ``matrix``. Anything else is refused naming `loss`, at its first
        evaluation, instead of a torch error deep inside a method."""
        import torch

        value = self.loss(matrix)
        if isinstance(value, (int, float)) and not differentiable:
            return torch.tensor(float(value), dtype=torch.float64)
        if not isinstance(value, torch.Tensor):
            raise InvalidProblemError(
                f"`loss` must return a scalar torch tensor (a differentiable function of the assignment matrix); got "
                f"{type(value).__name__} {value!r:.60}"
            )
        if value.numel() != 1:
            raise InvalidProblemError(
                f"`loss` must return a scalar torch tensor; got one of shape {tuple(value.shape)} (sum or average it)"
            )
        if differentiable and not value.requires_grad:
            raise InvalidProblemError(
                "`loss` must be differentiable in the assignment matrix: its value has no gradient (was it computed "
                "with numpy, .item() or .detach()?)"
            )
        return value.reshape(())

    @classmethod
    def from_option_costs(cls, option_costs, group_weights, budget: float, loss, **kw) -> BudgetedAssignment:
        """Shared option costs c_k (e.g. bits) and group weights w_i (e.g. parameters): costs[i, k] = w_i·c_k."""
        c = as_array("option_costs", option_costs, ndim=1, nonnegative=True)
        w = as_array("group_weights", group_weights, ndim=1, nonnegative=True)
        return cls(costs=np.outer(w, c), budget=budget, loss=loss, **kw)

    # -- instances with known answers ------------------------------------------------------------------------
    @classmethod
    def separable(
        cls, n_groups: int = 50, *, bits=(2, 3, 4, 8), average_bits: float = 3.5, seed=None, exact: bool = False
    ) -> BudgetedAssignment:
        """Mixed-precision-style separable instance (reference C.1): group i has n_i parameters (16..256), option k
        costs n_i·bits_k, the budget is ⌊average_bits·Σn_i⌋, and the loss is Σ_i s_i·n_i·2^{−2·bits_{x_i}} with
        log-normal sensitivities s_i. Its optimum (``optimum``) is the multiple-choice knapsack DP's."""
        n = as_scalar("n_groups", n_groups, integer=True, minimum=1)
        rng = as_generator(seed)
        bits = np.asarray(bits, float)
        sizes = rng.integers(16, 257, n)
        sens = rng.lognormal(0.0, 1.0, n)
        table = (sens * sizes)[:, None] * 2.0 ** (-2 * bits[None, :])
        table = table / table.sum(axis=1).mean()
        costs = (sizes[:, None] * bits[None, :]).astype(np.int64)
        budget = int(np.floor(average_bits * sizes.sum()))
        return cls(
            costs=costs,
            budget=budget,
            loss=_LinearLoss(table),
            exact=exact,
            proxy=table,
            separable_loss=True,
            name=f"separable N={n}",
        )

    @classmethod
    def quadratic(cls, n_groups: int = 10, n_options: int = 4, *, budget_fraction: float = 0.5, seed=None):
        """Non-separable quadratic (reference C.2): e_i = A[i, x_i], L = Σ_i e_i + eᵀMe with M PSD/N; whole-number
        costs; the budget is ``budget_fraction`` of the way from the cheapest to the dearest assignment."""
        n = as_scalar("n_groups", n_groups, integer=True, minimum=1)
        k = as_scalar("n_options", n_options, integer=True, minimum=2)
        rng = as_generator(seed)
        costs = np.sort(rng.integers(1, 10, (n, k)), axis=1)
        a = np.sort(rng.uniform(0.0, 1.0, (n, k)), axis=1)[:, ::-1].copy()  # dearer options lose less
        g = rng.standard_normal((n, n))
        m = g @ g.T / n
        lo, hi = costs.min(axis=1).sum(), costs.max(axis=1).sum()
        budget = int(lo + budget_fraction * (hi - lo))
        return cls(costs=costs, budget=budget, loss=_QuadraticLoss(a, m), exact=False, name=f"quadratic N={n} K={k}")


def _exact_costs(raw) -> np.ndarray:
    """``costs`` checked, as int64 when they are whole numbers whose every total fits in int64 (exact integer sums),
    else as the exact float64 values given. Integers are never cast through a wrapping conversion: given as
    integers they must fit (the message names the limit); whole floats of 2^63 and more stay floats."""
    costs = as_array("costs", raw, ndim=2, nonnegative=True)
    given = raw if isinstance(raw, np.ndarray) else np.asarray(raw, dtype=object if _has_big_int(raw) else None)
    # integers as given are kept exactly (the float coercion above rounds past 2^53)
    if given.dtype.kind in "iu" or (
        given.dtype.kind == "O"
        and all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) for v in given.ravel())
    ):
        ints = np.vectorize(int, otypes=[object])(given) if given.size else given
        total = sum(max(int(v) for v in row) for row in ints) if given.size else 0
        if total > INT64_MAX:
            raise InvalidProblemError(
                f"`costs` given as integers must have every total within the int64 limit "
                f"2^63 − 1 = {INT64_MAX}; the dearest assignment costs {total}"
            )
        out = np.array(ints, dtype=np.int64)
    elif is_integral(costs) and costs.size and sum(int(v) for v in costs.max(axis=1)) <= INT64_MAX:
        out = costs.astype(np.int64)  # whole floats below 2^63, exactly
    else:
        return costs  # fractional, or whole floats too large for int64: the exact floats given
    out.setflags(write=False)
    return out


def _has_big_int(raw) -> bool:
    try:
        return any(isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT64_MAX for row in raw for v in row)
    except TypeError:
        return False


def _exact_scalar(name: str, value) -> Fraction:
    """A finite non-negative real as an exact Fraction (ints of any size kept exactly, floats as they are held)."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        v = Fraction(int(value))
        if v < 0:
            raise InvalidProblemError(f"`{name}` must be >= 0.0; got {value}")
        return v
    return Fraction(as_scalar(name, value, minimum=0.0))


def _exact_total(values) -> Fraction:
    """Σ values in exact arithmetic, as a Fraction (`exact_total`)."""
    return Fraction(exact_total(values))


def assignment_matrix(x, n_options: int):
    """The (N, K) float64 torch matrix with a one in row i, column x_i: what a loss sees for a discrete assignment."""
    import torch

    x = torch.from_numpy(np.array(x, dtype=np.int64))
    p = torch.zeros((x.numel(), n_options), dtype=torch.float64)
    p[torch.arange(x.numel()), x] = 1.0
    return p


class _LinearLoss:
    """L(P) = Σ table ⊙ P (picklable)."""

    def __init__(self, table):
        self.table = np.asarray(table, float)

    def __repr__(self) -> str:
        return f"linear loss on {short_value(self.table)}"

    def __call__(self, p):
        import torch

        return (torch.as_tensor(self.table, dtype=p.dtype, device=p.device) * p).sum()


class _QuadraticLoss:
    """L(P) = Σ e + eᵀ M e with e = (A ⊙ P).sum(1)."""

    def __init__(self, a, m):
        self.a, self.m = np.asarray(a, float), np.asarray(m, float)

    def __repr__(self) -> str:
        return f"quadratic loss on {short_value(self.a)} and {short_value(self.m)}"

    def __call__(self, p):
        import torch

        e = (torch.as_tensor(self.a, dtype=p.dtype, device=p.device) * p).sum(dim=1)
        return e.sum() + e @ torch.as_tensor(self.m, dtype=p.dtype, device=p.device) @ e
