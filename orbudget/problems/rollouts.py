"""Knapsack RL: rollout-budget allocation across prompts for GRPO-style training (Li et al., arXiv 2509.25849).

Prompt i has success rate $p_i$; a group of $N$ rollouts gives a non-zero GRPO gradient iff it is
mixed, with probability $P_{nz}(N, p) = 1 - p^N - (1-p)^N$. The paper's value of a prompt is
$\\mathrm{Value}(N, p) = P_{nz}(N, p)\\, p (1-p)^2$ and the allocation solves

$$
\\max_{N} \\sum_i \\mathrm{Value}(N_i, p_i) \\quad\\text{s.t.}\\quad \\sum_i N_i = N_{total},\\;
N_{low} \\le N_i \\le N_{up},\\; N_i \\in \\mathbb{Z}.
$$

With per-rollout costs $c_i$ (for example expected tokens) the budget becomes
$\\sum_i c_i N_i \\le N_{total}$.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..core.budget import cost_array, exact_dot, exact_number, exact_total, fits, spend_limit
from ..core.errors import InvalidProblemError
from ..core.io import register_kind
from ..core.validation import as_array, as_probabilities, as_scalar, is_integral
from .base import Problem
from .knapsack import MultipleChoiceKnapsack, check_table_size, exact_integer

VALUE_MODELS = ("knapsack_rl", "nonzero_gradient")


def nonzero_gradient_probability(n, p):
    """$P_{nz}(n, p) = 1 - p^n - (1-p)^n$, the chance a group of ``n`` rollouts is mixed.

    Examples:
        >>> bool(nonzero_gradient_probability(8, 0.5) == 1 - 2.0**-7)
        True
    """
    n = np.asarray(n, dtype=float)
    p = np.asarray(p, dtype=float)
    return np.where(n > 0, 1.0 - p**n - (1.0 - p) ** n, 0.0)  # no rollouts: never mixed (the formula gives -1)


def info_gain(p):
    """Knapsack RL's approximation of one update's gain in success probability, $p(1-p)^2$ (peak 4/27 at 1/3)."""
    p = np.asarray(p, dtype=float)
    return p * (1.0 - p) ** 2


def knapsack_rl_value(n, p):
    """$\\mathrm{Value}(n, p) = P_{nz}(n, p)\\,p(1-p)^2$."""
    return nonzero_gradient_probability(n, p) * info_gain(p)


def expected_rollouts_until_mixed(p):
    """Expected rollouts drawn one at a time until the group is mixed: $1/(p(1-p)) - 1$."""
    p = np.asarray(p, dtype=float)
    return 1.0 / (p * (1.0 - p)) - 1.0


def probability_cost(p, alpha: float = 0.9):
    """Knapsack RL's real-valued "probability" cost $\\ln(1-\\alpha)/\\ln\\max(p, 1-p)$."""
    p = np.asarray(p, dtype=float)
    return np.log(1.0 - alpha) / np.log(np.maximum(p, 1.0 - p))


def min_rollouts_for_mixed(p: float, alpha: float = 0.9, limit: int = 10**7) -> int:
    """Smallest N with $P_{nz}(N, p) \\ge \\alpha$ (exact search; 230 at p = 0.01, alpha = 0.9)."""
    p = as_scalar("p", p, minimum=0.0, maximum=1.0)
    if p in (0.0, 1.0):
        raise InvalidProblemError(f"`p` must be strictly between 0 and 1 for a group to ever be mixed; got {p}")
    n = max(1, int(np.floor(probability_cost(p, alpha))) - 1)
    while nonzero_gradient_probability(n, p) < alpha:
        n += 1
        if n > limit:
            raise InvalidProblemError(f"no N <= {limit} reaches probability {alpha}")
    while n > 1 and nonzero_gradient_probability(n - 1, p) >= alpha:
        n -= 1
    return n


def value_table(success_rates, max_rollouts: int, value: str = "knapsack_rl") -> np.ndarray:
    """(n, max_rollouts + 1) table of Value(N, p_i) for N = 0..max_rollouts (its size is checked first)."""
    p = np.asarray(success_rates, dtype=float)[:, None]
    check_table_size(
        "max_rollouts",
        8 * p.shape[0] * (int(max_rollouts) + 1),
        f"a value table of {p.shape[0]} prompts by {int(max_rollouts) + 1} rollout counts",
    )
    n = np.arange(max_rollouts + 1, dtype=float)[None, :]
    return _value(n, p, value)


def _value(n, p, value: str):
    if value == "knapsack_rl":
        return knapsack_rl_value(n, p)
    if value == "nonzero_gradient":
        return nonzero_gradient_probability(n, p)
    raise InvalidProblemError(f"`value` must be one of {VALUE_MODELS} or an (n, max_rollouts + 1) table; got {value!r}")


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class RolloutAllocation(Problem):
    """Knapsack RL's rollout allocation.

    Args:
        success_rates: (n,) estimated success rate of each prompt, in [0, 1].
        total_rollouts: the budget. With unit costs exactly this many rollouts are allocated; with
            ``rollout_costs`` the total cost $\\sum_i c_i N_i$ may not exceed it.
        min_rollouts: the lower bound $N_{low} \\le N_i$ (default 2).
        max_rollouts: the upper bound $N_i \\le N_{up}$ (default 128).
        value: ``"knapsack_rl"`` ($P_{nz}\\cdot p(1-p)^2$), ``"nonzero_gradient"`` ($P_{nz}$), or an
            (n, max_rollouts + 1) table whose entry [i, N] is the value of giving prompt i N rollouts.
        rollout_costs: optional (n,) positive cost of one rollout of each prompt.

    Methods: ``greedy`` (marginal allocation; exact when values are concave and costs are unit), ``dp``,
    ``mip``, ``cpsat``, ``lp``, ``convex`` (cvxpy continuous relaxation: an upper bound), ``uniform``, and
    ``knapsackrl`` (the official code's allocation, fallback rules and quirks included, for comparison).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.RolloutAllocation(success_rates=[0.5, 0.05, 1.0], total_rollouts=24, max_rollouts=16)
        >>> ob.solve(p).x.tolist()
        [7, 15, 2]
    """

    success_rates: np.ndarray
    total_rollouts: int
    min_rollouts: int = 2
    max_rollouts: int = 128
    value: str | np.ndarray = "knapsack_rl"
    rollout_costs: np.ndarray | None = None

    def __post_init__(self):
        p = as_probabilities("success_rates", self.success_rates, ndim=1)
        lo = exact_integer("min_rollouts", self.min_rollouts, minimum=0)
        hi = exact_integer("max_rollouts", self.max_rollouts, minimum=1)
        if hi < lo:
            raise InvalidProblemError(f"`max_rollouts` must be >= `min_rollouts` ({lo}); got {hi}")
        costs = self.rollout_costs
        if costs is None:
            total = exact_integer("total_rollouts", self.total_rollouts, minimum=0)
        else:
            costs = cost_array("rollout_costs", costs, shape=(p.size,))
            if (costs <= 0).any():
                i = int(np.flatnonzero(costs <= 0)[0])
                raise InvalidProblemError(f"`rollout_costs` must be positive; got {costs[i]} at index ({i},)")
            if is_integral(costs):
                if costs.dtype.kind == "f" and float(costs.max()) >= 2.0**63:
                    i = int(np.argmax(costs))
                    raise InvalidProblemError(
                        f"`rollout_costs` that are whole numbers must be below 2^63 (the int64 "
                        f"limit); got {costs[i]} at index ({i},)"
                    )
                if costs.dtype.kind == "f":  # whole floats below 2^63; int input is already exact int64
                    costs = as_array("rollout_costs", costs, dtype=int)
            if isinstance(self.total_rollouts, (numbers.Integral, np.integer)):
                total = exact_integer("total_rollouts", self.total_rollouts, minimum=0)
            else:
                total = as_scalar("total_rollouts", self.total_rollouts, minimum=0)
                if costs.dtype.kind == "i" and total == int(total):
                    total = exact_integer("total_rollouts", total, minimum=0)
        value = self.value
        if isinstance(value, str):
            if value not in VALUE_MODELS:
                raise InvalidProblemError(f"`value` must be one of {VALUE_MODELS} or a table; got {value!r}")
        else:
            value = as_array("value", value, shape=(p.size, hi + 1))
        self._set("success_rates", p)
        self._set("min_rollouts", lo)
        self._set("max_rollouts", hi)
        self._set("total_rollouts", total)
        self._set("rollout_costs", costs)
        self._set("value", value)

    @property
    def n_prompts(self) -> int:
        return self.success_rates.size

    @property
    def unit_costs(self) -> bool:
        return self.rollout_costs is None

    @property
    def costs_per_rollout(self) -> np.ndarray:
        return np.ones(self.n_prompts, np.int64) if self.rollout_costs is None else self.rollout_costs

    def table(self, max_level: int | None = None) -> np.ndarray:
        """(n, max_level + 1) value table, for N = 0..max_level (default ``max_rollouts``).

        Solvers ask for ``max_level=self.useful_max()``: counts above it can never be part of a feasible
        allocation, so a huge ``max_rollouts`` with a small budget costs nothing. The size is checked first."""
        top = self.max_rollouts if max_level is None else min(int(max_level), self.max_rollouts)
        if isinstance(self.value, str):
            return value_table(self.success_rates, top, self.value)
        return self.value if top == self.max_rollouts else self.value[:, : top + 1]

    def useful_max(self) -> int:
        """The largest count any prompt can get in a feasible allocation (at least ``min_rollouts``), exactly:
        ``min(max_rollouts, min_rollouts + max_i floor((B - Σ_j c_j·min_rollouts) / c_i))``."""
        return max(int(self.prompt_caps().max()), self.min_rollouts)

    def prompt_caps(self) -> np.ndarray:
        """Per prompt, the largest count it can get in a feasible allocation (below ``min_rollouts`` when none
        is feasible), as int64, never above ``max_rollouts``."""
        lo, hi = self.min_rollouts, self.max_rollouts
        slack = self._spend_limit() - exact_dot(self.costs_per_rollout, np.full(self.n_prompts, lo))
        if slack < 0:
            return np.full(self.n_prompts, max(lo - 1, 0), np.int64)
        if self.rollout_costs is None:
            return np.full(self.n_prompts, min(hi, lo + int(slack)), np.int64)
        c = self.rollout_costs
        if c.dtype.kind == "i" and isinstance(slack, int) and slack < 2**62:  # exact in int64 (costs >= 1)
            return np.minimum(hi, lo + slack // c).astype(np.int64)
        if c.dtype.kind == "i":
            caps = [min(hi, lo + int(slack // int(ci))) for ci in c.tolist()]
        else:
            caps = [min(hi, lo + math.floor(slack / Fraction(float(ci)))) for ci in c.tolist()]
        return np.array(caps, np.int64)

    def _spend_limit(self):
        """The most an allocation may cost, exactly: the budget for whole-number costs and budget, else the budget
        plus the relative tolerance ``1e-9·B`` (as for `MultipleChoiceKnapsack`)."""
        return spend_limit(self.total_rollouts, whole=self.whole_number_costs)

    @property
    def whole_number_costs(self) -> bool:
        """Whole-number costs and budget: the budget is kept in integers, with no tolerance."""
        return self.unit_costs or (self.rollout_costs.dtype.kind == "i" and isinstance(exact_number(self.total_rollouts), int))

    def is_concave(self, tol: float = 1e-12) -> bool:
        """True when every prompt's value has non-increasing marginal gains on [min_rollouts, max_rollouts]."""
        if isinstance(self.value, str):
            # both analytic models are concave in N on N >= 1 (see the docs); with no rollouts a prompt is worth 0,
            # and one rollout is never mixed (P_nz(1, p) = 0), so from N = 0 the first gain (0) is below the second
            # (2p(1-p) > 0 for 0 < p < 1): not concave there, and the greedy would stall at 0
            if self.min_rollouts >= 1 or self.max_rollouts <= 1:
                return True
            p = self.success_rates
            return not bool(np.any((p > 0) & (p < 1)))
        d = np.diff(self.value[:, self.min_rollouts :], axis=1)
        return bool(np.all(np.diff(d, axis=1) <= tol))

    def value_of(self, x) -> float:
        """Total value of ``x`` (computed at ``x`` alone: no table is built)."""
        x = self.check_allocation(x)
        if isinstance(self.value, str):
            return float(_value(x.astype(float), self.success_rates, self.value).sum())
        return float(self.value[np.arange(self.n_prompts), x].sum())

    def exact_cost(self, x):
        """Exact total cost of ``x`` (an int for whole-number costs, else a Fraction); never overflows."""
        return exact_dot(self.costs_per_rollout, self.check_allocation(x))

    def cost_of(self, x):
        total = self.exact_cost(x)
        return total if isinstance(total, int) else float(total)

    def check_allocation(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.shape != (self.n_prompts,):
            raise InvalidProblemError(f"`x` must have shape ({self.n_prompts},); got {x.shape}")
        if x.dtype.kind not in "iub":
            if x.dtype.kind != "f" or not np.isfinite(x).all() or not is_integral(x):
                raise InvalidProblemError("`x` must hold whole numbers of rollouts")
            if x.size and np.abs(x).max() >= 2.0**63:
                raise InvalidProblemError(f"`x` must lie in [{self.min_rollouts}, {self.max_rollouts}]; got {x.max()}")
        x = x.astype(np.int64)
        if ((x < self.min_rollouts) | (x > self.max_rollouts)).any():
            raise InvalidProblemError(f"`x` must lie in [{self.min_rollouts}, {self.max_rollouts}]; got {x.min()}..{x.max()}")
        return x

    def is_feasible(self, x) -> bool:
        """Exact: unit costs allocate exactly ``total_rollouts``; with costs the exact total stays within the budget
        (in integers for whole numbers, else within ``1e-9·B`` relative)."""
        x = self.check_allocation(x)
        if self.unit_costs:
            return exact_total(x) == self.total_rollouts
        return fits(self.exact_cost(x), self.total_rollouts, whole=self.whole_number_costs)

    def infeasibility_reason(self) -> str | None:
        low = exact_dot(self.costs_per_rollout, np.full(self.n_prompts, self.min_rollouts))
        if not fits(low, self.total_rollouts, whole=self.whole_number_costs):
            what = "n·min_rollouts" if self.unit_costs else "the cost of min_rollouts for every prompt"
            low = low if isinstance(low, int) else float(low)
            return f"total_rollouts {self.total_rollouts} is below {what}, {low}"
        if self.unit_costs and self.n_prompts * self.max_rollouts < self.total_rollouts:
            return (
                f"total_rollouts {self.total_rollouts} is above n·max_rollouts, "
                f"{self.n_prompts * self.max_rollouts}, and every rollout must be allocated"
            )
        return None

    def to_knapsack(self, stop=None) -> MultipleChoiceKnapsack | None:
        """The equivalent multiple-choice knapsack: option k of group i means N_i = min_rollouts + k.

        Options stop at `useful_max` (larger counts are never feasible), and a count above a prompt's own cap
        (`prompt_caps`) is marked unavailable, so costs stay within the budget (no int64 overflow).

        With ``stop`` (a function of no arguments), the value table is computed in blocks of rows and ``stop()`` is
        asked after each: a True answer gives up the build and returns None. The values are the same as in one
        call (each entry is computed on its own)."""
        caps = self.prompt_caps()  # computed once: useful_max is its maximum
        top = max(int(caps.max()), self.min_rollouts)
        width = top - self.min_rollouts + 1
        check_table_size(
            "max_rollouts", 17 * self.n_prompts * width, f"the knapsack of {self.n_prompts} prompts by {width} rollout counts"
        )
        n_levels = np.arange(self.min_rollouts, top + 1, dtype=np.int64)
        available = n_levels[None, :] <= np.maximum(caps, self.min_rollouts)[:, None]
        c = self.costs_per_rollout
        levels = np.where(available, n_levels[None, :], self.min_rollouts)  # unavailable: any finite cost will do
        costs = c[:, None] * levels
        if stop is None or not isinstance(self.value, str):
            values = self.table(top)[:, self.min_rollouts :]
        else:  # an analytic table, in blocks of about 1M entries, asking stop() between them
            values = np.empty((self.n_prompts, width))
            block = max(1, 2**20 // (top + 1))
            for i in range(0, self.n_prompts, block):
                if stop():
                    return None
                values[i : i + block] = value_table(self.success_rates[i : i + block], top, self.value)[:, self.min_rollouts :]
            if stop():
                return None
        values.setflags(write=False)  # read-only and owned: the knapsack keeps them without a copy
        costs.setflags(write=False)
        return MultipleChoiceKnapsack(
            values=values,
            costs=costs,
            budget=self.total_rollouts,
            exact=self.unit_costs,
            available=None if available.all() else available,
        )

    @classmethod
    def synthetic(
        cls,
        n_prompts: int = 256,
        rollouts_per_prompt: int = 8,
        *,
        solved: float = 0.4,
        unsolved: float = 0.2,
        seed=None,
        **kwargs,
    ) -> RolloutAllocation:
        """The reference's static instance: a share of prompts always solved (p = 1), a share never (p = 0), the
        rest p ~ Beta(0.5, 0.5); budget ``n_prompts * rollouts_per_prompt``."""
        from ..core.validation import as_generator

        rng = as_generator(seed)
        u = rng.random(n_prompts)
        p = np.where(u < solved, 1.0, np.where(u < solved + unsolved, 0.0, rng.beta(0.5, 0.5, n_prompts)))
        return cls(success_rates=p, total_rollouts=n_prompts * rollouts_per_prompt, **kwargs)
