"""The one budget arithmetic every model and adapter uses: exact spends, the tolerance rule, range guards and the
integer form of a knapsack-like problem.

* **Exact spend.** `exact_total` and `exact_dot` sum costs exactly: an ``int`` for whole numbers, a ``Fraction``
  (each float taken at its exact binary value) otherwise. They never overflow and never round.
* **One tolerance rule.** `spend_window` gives the exact interval a spend must lie in: whole-number costs and
  budget are decided in integers with no tolerance; otherwise the slack is ``FLOAT_BUDGET_TOL`` times the budget,
  relative and never absolute (a budget of 5e-13 gets a slack of 5e-22; a zero budget none). `fits` applies it.
* **Range guards.** `cost_array` keeps whole numbers exact (int64 below 2^63; larger ones stay float64, where every
  value is a whole number) and never wraps one to a negative int64; `budget_value` keeps an int budget exact.
* **The integer form.** `integer_form` turns costs, a mask and a budget into what the exact engines (``dp``,
  ``core``, ``cpsat``, the HiGHS rows) consume: int64 costs of an equivalent problem, divided by their greatest
  common divisor, a budget lowered to the dearest usable total and to a multiple of that divisor, and the usable
  mask. It is made once per problem, in one place.

No model or adapter compares a spend with a budget itself: ``tests/core/test_budget.py`` checks the package for it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .errors import InvalidProblemError
from .validation import as_array, as_scalar

FLOAT_BUDGET_TOL = 1e-9  # relative to the budget, when costs or budget are not whole numbers
INT64_MAX = 2**63 - 1

Exact = int | Fraction


# -- exact numbers -------------------------------------------------------------------------------------------------
def exact_number(v) -> Exact:
    """``v`` as an exact int (whole numbers) or Fraction (a float at its exact binary value)."""
    if isinstance(v, (numbers.Integral, np.integer)):
        return int(v)
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else v
    f = Fraction(float(v))
    return f.numerator if f.denominator == 1 else f


def exact_total(values) -> Exact:
    """The exact sum of ``values`` (ints, or floats taken at their exact binary value): an ``int`` when every term
    is a whole number, else a ``Fraction``. Never overflows and never rounds.

    Examples:
        >>> exact_total([0.1, 0.2]) == exact_total([0.3])
        False
        >>> exact_total(np.array([2**62, 2**62, 2**62]))
        13835058055282163712
    """
    a = np.asarray(values).ravel()
    fast = _small_whole_sum(a)
    if fast is not None:
        return fast
    if a.dtype.kind in "iub":
        return sum(int(v) for v in a.tolist())
    ratios = [float(v).as_integer_ratio() for v in a.tolist()]
    den = max((q for _, q in ratios), default=1)
    num = sum(p * (den // q) for p, q in ratios)
    return num if den == 1 else Fraction(num, den)


def _small_whole_sum(a: np.ndarray):
    """The exact sum of ``a`` as an ``int`` by numpy when every partial sum is provably exact (whole numbers whose
    absolute total stays below 2^62 for integers, 2^53 for floats), else ``None`` (the caller sums in Python ints).
    This keeps the exact check at numpy speed on everyday inputs (10^4 groups: ~50 us instead of ~0.1 s)."""
    if a.size == 0:
        return 0
    if a.dtype.kind == "b":
        return int(a.sum())
    if a.dtype.kind in "iu":
        if max(abs(float(a.max())), abs(float(a.min()))) * a.size < 2.0**62:  # no np.abs: it wraps at -2^63
            return int(a.sum(dtype=np.int64))
        return None
    if a.dtype.kind == "f":
        absum = float(np.abs(a).sum())
        if absum < 2.0**52 and bool(np.all(a == np.floor(a))):
            return int(a.sum())
    return None


def exact_dot(costs, counts) -> Exact:
    """Exact $\\sum_i c_i n_i$ for integer counts ``n`` (costs as in `exact_total`)."""
    c = np.asarray(costs).ravel()
    counts = np.asarray(counts).ravel()
    if c.size and counts.dtype.kind in "iu" and c.dtype.kind in "iu":
        bound = max(abs(float(c.max())), abs(float(c.min()))) * float(np.abs(counts.astype(np.float64)).sum())
        if bound < 2**62:  # every partial sum fits in int64: numpy's sum is exact
            return int(np.dot(c.astype(np.int64), counts.astype(np.int64)))
    n = [int(v) for v in counts.tolist()]
    if c.dtype.kind in "iub":
        return sum(int(a) * b for a, b in zip(c.tolist(), n))
    ratios = [float(v).as_integer_ratio() for v in c.tolist()]
    den = max((q for _, q in ratios), default=1)
    num = sum(p * (den // q) * b for (p, q), b in zip(ratios, n))
    return num if den == 1 else Fraction(num, den)


def float_at_most(q) -> float:
    """The largest float <= the exact number ``q`` (so that ``c <= q`` is decided exactly for a float ``c``)."""
    f = float(q)
    if Fraction(f) > q:
        f = float(np.nextafter(f, -np.inf))
    return f


def as_reported(total: Exact) -> int | float:
    """An exact spend as a result reports it: the int itself, or the float nearest the Fraction."""
    return total if isinstance(total, int) else float(total)


# -- the tolerance rule ----------------------------------------------------------------------------------------------
def spend_window(budget, *, whole: bool, exact: bool = False) -> tuple[Exact | None, Exact]:
    """``(low, high)``, exact numbers: a spend is feasible iff ``low <= spend <= high`` (``low`` is None unless the
    budget must be met exactly). With ``whole`` (whole-number costs and budget, or a family whose budgets are exact
    by definition) ``high = B`` (and ``low = B``), decided exactly with no tolerance. Otherwise
    ``high = B·(1 + 1e-9)`` (and ``low = B·(1 - 1e-9)``): relative to the budget, so a budget of 1e-12 gets a slack of
    1e-21 and a zero budget none."""
    b = exact_number(budget)
    if whole:
        return (b if exact else None), b
    tol = b * Fraction(FLOAT_BUDGET_TOL)
    return (b - tol if exact else None), b + tol


def spend_limit(budget, *, whole: bool) -> Exact:
    """The most a spend may be, exactly (the ``high`` of `spend_window`)."""
    return spend_window(budget, whole=whole)[1]


def fits(spent, budget, *, whole: bool | None = None, exact: bool = False) -> bool:
    """The one budget comparison: is ``spent`` (any number; taken exactly) within ``budget`` under the rule of
    `spend_window`? ``whole`` defaults to "both are ints" (whole-number costs and budget)."""
    s, b = exact_number(spent), exact_number(budget)
    if whole is None:
        whole = isinstance(s, int) and isinstance(b, int)
    low, high = spend_window(b, whole=whole, exact=exact)
    return s <= high and (low is None or s >= low)


def slack(spent, budget, *, whole: bool | None = None) -> Exact:
    """``high - spent`` exactly: how much more may be spent (negative when over the budget)."""
    s, b = exact_number(spent), exact_number(budget)
    if whole is None:
        whole = isinstance(s, int) and isinstance(b, int)
    return spend_limit(b, whole=whole) - s


def same_spend(a, b, budget) -> bool:
    """Whether two records of one spend agree, to the rule's slack (``1e-9`` of the budget, relative): a spend that
    was summed in floats against the exact cost of what it bought."""
    diff = Fraction(exact_number(a)) - Fraction(exact_number(b))
    return abs(diff) <= Fraction(exact_number(budget)) * Fraction(FLOAT_BUDGET_TOL)


def check_spend(key: str, spent, budget, what: str = "the budget", *, field: str = "state") -> None:
    """Refuse a loaded spend (entry ``key`` of ``field``) above ``budget`` under the one rule (`fits`, relative to the
    budget: a budget of 0 allows no spend at all), naming the entry."""
    if not fits(spent, budget, whole=False):
        raise InvalidProblemError(f"`{field}` entry `{key}` is {spent}, above {what} {budget}: a run never spends more")


# -- range guards ---------------------------------------------------------------------------------------------------
def cost_array(name: str, value, *, shape=None, ndim=None) -> np.ndarray:
    """Validated non-negative costs: int64 when every value is a whole number below 2^63 (integer input is never
    routed through a float, which rounds above 2^53), else float64. Whole numbers of 2^63 and more stay float64 (every
    float that large is a whole number, exact as given) and are summed in Python ints: never cast to int64, where
    they would wrap to negative numbers. Integer input beyond int64 is refused by name."""
    ints = _whole_number_ints(name, value, shape, ndim)
    if ints is not None:
        return ints
    arr = as_array(name, value, shape=shape, ndim=ndim, nonnegative=True)
    if arr.size and bool(np.all(arr == np.floor(arr))) and float(arr.max()) < 2.0**63:
        return as_array(name, arr, dtype=int)
    return arr


def _whole_number_ints(name, value, shape, ndim) -> np.ndarray | None:
    """Integer input: int64 when it fits, else (beyond int64) float64 when every value is exactly a float (the whole
    numbers of 2^63 and more that floats hold, such as 10**19), else refused by name. ``None`` for other input."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError, OverflowError):
        return None
    big = raw.dtype == object or (raw.dtype.kind == "u" and raw.size and int(raw.max()) > INT64_MAX)
    if big and raw.size:
        items = raw.ravel().tolist()
        if not all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) for v in items):
            return None
        inexact = [int(v) for v in items if abs(int(v)) > INT64_MAX and int(float(int(v))) != int(v)]
        if inexact:
            raise InvalidProblemError(
                f"`{name}` given as integers must lie within int64 (|c| <= {INT64_MAX}) or be exactly a float; got "
                f"{inexact[0]}; give larger costs as floats, or in a larger unit"
            )
        return as_array(
            name, np.array([float(int(v)) for v in items]).reshape(raw.shape), shape=shape, ndim=ndim, nonnegative=True
        )
    if raw.dtype.kind not in "iu":
        return None
    return as_array(name, raw.astype(np.int64, copy=False), shape=shape, ndim=ndim, dtype=np.int64, nonnegative=True)


def budget_value(name: str, value, *, whole_costs: bool = True) -> int | float:
    """A non-negative budget, kept exact: an int input stays an int (never routed through a float); a float that is a
    whole number becomes an int when the costs are whole numbers too (so feasibility is decided in integers)."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        v = int(value)
        if v < 0:
            raise InvalidProblemError(f"`{name}` must be >= 0; got {value}")
        return v
    b = as_scalar(name, value, minimum=0.0)
    return int(b) if whole_costs and b == int(b) else b


def level_costs(name: str, costs, levels) -> np.ndarray:
    """(N, L) costs ``c_i·n`` for the counts ``n`` in ``levels``, exact: int64 while every product stays below 2^62,
    else float64 where each product is checked to be exactly the float it is stored as (whole costs of 2^63 and more);
    a product that neither holds exactly is refused, naming ``name`` (never wrapped, never rounded silently). Real
    costs give float products (rounded to the nearest float; the exact check of an answer uses the costs themselves)."""
    c = np.asarray(costs)
    lv = np.asarray(levels, dtype=np.int64)
    top = float(max(int(lv.max()), 1)) if lv.size else 1.0
    if c.dtype.kind in "iu" and (c.size == 0 or float(c.max()) * top < 2.0**62):
        return c.astype(np.int64)[:, None] * lv[None, :]
    out = c.astype(np.float64)[:, None] * lv[None, :].astype(np.float64)
    if is_whole(c):
        for i, j in zip(*np.nonzero(out >= 2.0**53)):
            want = int(c[i]) * int(lv[j])
            if int(out[i, j]) != want:
                raise InvalidProblemError(
                    f"`{name}` times the counts reach {want} (question {int(i)}), which neither int64 nor a float holds "
                    "exactly; give the costs in a larger unit (for example thousands of tokens)"
                )
    return out


def is_whole(costs: np.ndarray) -> bool:
    """Whole-number costs: int64, or floats that are all whole numbers (those of 2^63 and more)."""
    return costs.dtype.kind in "iub" or bool(costs.size == 0 or np.all(costs == np.floor(costs)))


# -- the integer form ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IntegerForm:
    """An equivalent whole-number problem for the exact engines: a choice fits ``budget`` (``== budget`` when
    ``exact``) with these ``costs`` exactly when it fits the original problem (when ``scaled`` is False; with
    ``scaled`` every choice that fits here fits the original, and the optimum may be missed).

    ``costs`` is (N, K) int64 (C-contiguous): the original costs divided by ``divisor``, and ``budget + 1`` where
    ``usable`` is False (options not offered, or costing more than the budget alone: never chosen). ``budget`` is
    the budget lowered to the dearest usable total and divided by ``divisor`` (rounded down). ``infeasible`` is set
    when an exact budget is no multiple of the divisor (no choice can meet it)."""

    costs: np.ndarray
    budget: int
    usable: np.ndarray
    divisor: int
    scaled: bool
    exact: bool
    infeasible: bool = False


def integer_form(costs, mask, budget, *, exact: bool, scale=None, divide: bool = True) -> IntegerForm:
    """The `IntegerForm` of costs (N, K), an availability ``mask`` and a ``budget``. Whole-number costs and budget
    are taken as they are (``scale`` must be None). Otherwise ``scale`` (a positive number) is required: costs become
    ``ceil(s·c)`` and the budget ``floor(s·high)``, ``high`` the rule's limit, so any choice within the scaled budget is
    within the true one. With ``divide`` the costs and budget are divided by the costs' greatest common divisor.
    Raises InvalidProblemError naming the field when the budget cannot be held in int64."""
    costs = np.asarray(costs)
    mask = np.asarray(mask, dtype=bool)
    b = exact_number(budget)
    whole = is_whole(costs) and isinstance(b, int)
    if whole:
        if scale is not None:
            raise InvalidProblemError("`options.scale` applies only to non-integer costs; these are whole numbers")
        limit, scaled = b, False
        usable = mask & at_most(costs, b)
    else:
        if scale is None:
            raise InvalidProblemError(
                "`costs` are not whole numbers: use method='mip', or pass options={'scale': s} to round s·costs up"
            )
        if exact:
            raise InvalidProblemError("`exact` budgets need whole-number costs for this method; use method='mip'")
        costs, limit = round_costs_up(costs, spend_limit(b, whole=False), scale)
        usable, scaled = mask & (costs <= limit), True
    if not exact:  # a budget above the dearest usable total is that total: never astronomically large
        limit = min(limit, exact_total(np.where(usable, costs, 0).max(axis=1)) if usable.any() else 0)
    if limit >= INT64_MAX:
        raise InvalidProblemError(f"`budget` {budget} reaches the int64 limit 2^63 - 1 that DP and CP-SAT work within; use 'mip'")
    ints = np.where(usable, costs, 0).astype(np.int64) if not usable.all() else np.array(costs, dtype=np.int64)
    divisor, infeasible = 1, False
    if divide and usable.any():
        d = int(np.gcd.reduce(ints[usable]))
        if d > 1:
            infeasible = exact and limit % d != 0
            ints //= d
            limit //= d
            divisor = d
    ints[~usable] = limit + 1
    return IntegerForm(np.ascontiguousarray(ints), int(limit), usable, divisor, scaled, bool(exact), infeasible)


def at_most(costs: np.ndarray, limit) -> np.ndarray:
    """``costs <= limit`` decided exactly (int64 costs against a Python int, floats against the float at most it)."""
    if costs.dtype.kind in "iu":
        return costs <= min(math.floor(limit), INT64_MAX)
    return costs <= float_at_most(limit)


def round_costs_up(costs, budget, scale) -> tuple[np.ndarray, int]:
    """``ceil(s·c)`` and ``floor(s·B)`` for a positive scale s: any choice within the scaled budget is within the true
    one. The one rule every method that rounds real costs to whole ones uses.

    Exact and overflow-free: the products are formed in exact arithmetic, every cost above the scaled budget (it can
    never be chosen) becomes ``floor(s·B) + 1`` before the int64 cast, and a scaled budget of 2^63 or more is refused.
    """
    if not (isinstance(scale, (int, float)) and not isinstance(scale, bool) and scale > 0 and np.isfinite(scale)):
        raise InvalidProblemError(f"`options.scale` must be a positive number; got {scale!r}")
    s = Fraction(scale)
    cap = math.floor(exact_number(budget) * s)
    if cap >= INT64_MAX:
        raise InvalidProblemError(
            f"`options.scale` {scale} makes the scaled budget {cap} reach the int64 limit 2^63 - 1; use a smaller scale"
        )
    raw = np.asarray(costs, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        prod = raw * float(scale)
        up = np.ceil(prod)
    # the float product is within a relative 2^-53 of the exact one, so its ceiling is exact unless it lies that
    # close to a whole number, or is too large for a float to resolve: those few are done in exact arithmetic
    margin = 1e-12 * np.maximum(1.0, np.abs(prod))
    safe = np.isfinite(prod) & (prod < 2.0**52) & (up - prod > margin) & (prod - (up - 1) > margin)
    safe |= np.isfinite(prod) & (prod < 2.0**52) & (prod == up) & (raw == 0)
    out = np.where(safe, up, 0).astype(np.int64)
    for i in np.flatnonzero(~safe.ravel()).tolist():
        out.flat[i] = min(math.ceil(exact_number(float(raw.flat[i])) * s), cap + 1)
    return np.minimum(out, cap + 1), int(cap)
