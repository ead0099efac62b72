"""Budgets for LLM inference: test-time sample allocation and model routing.

**Sample allocation** (self-consistency, best-of-n with a verifier). Question i gets $n_i$ samples at
$c_i$ tokens each. With a success probability $p_i$ and a verifier the question is solved when any
sample is correct (pass@k): $a_i(n) = 1 - (1 - p_i)^n$. With a categorical answer distribution
$\\pi_i$ (correct answer $y_i$) and no verifier the answer is the plurality vote of the samples, ties
broken uniformly at random; $a_i(n)$ is the probability that the vote returns $y_i$ (computed exactly by
`majority_vote_table`). The allocation solves

$$
\\max_{n} \\frac1N \\sum_i a_i(n_i) \\quad\\text{s.t.}\\quad \\sum_i c_i n_i \\le B,\\qquad
n^{\\min}_i \\le n_i \\le n^{\\max}_i,\\; n_i \\in \\mathbb{Z}.
$$

**Model routing.** Query q may go to model m with predicted quality $Q_{qm}$ at cost $C_{qm}$;

$$
\\max_{x} \\frac1{|Q|} \\sum_q Q_{q,x_q} \\quad\\text{s.t.}\\quad \\sum_q C_{q,x_q} \\le B
\\;\\Big(\\text{and } \\sum_{q \\in \\tau} C_{q,x_q} \\le B_\\tau \\text{ per task } \\tau\\Big).
$$

Offline both are multiple-choice knapsacks (`SampleAllocation.to_knapsack`, `ModelRouting.to_knapsack`);
online routing is an `OnlineAllocation` (`ModelRouting.to_online`). References: PETS
(optimal trajectory allocation for self-consistency), Adaptive-Consistency (Aggarwal et al. 2023), and the
budget-aware routing papers listed on the docs page. This module holds the models, their generators and loaders,
the exact accuracy numerics, and the step-by-step `AdaptiveSampler`; it imports no solver.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy.special import betainc, betaln, gammaln, xlogy

from ..core.errors import InvalidProblemError
from ..core.io import register_kind
from ..core.validation import (
    as_array,
    as_bool,
    as_choice,
    as_generator,
    as_probabilities,
    as_scalar,
    check_state,
    fingerprint,
    is_integral,
)
from .base import Problem
from .knapsack import FLOAT_BUDGET_TOL, MultipleChoiceKnapsack
from .online import OnlineAllocation

OBJECTIVES = ("pass_at_k", "majority_vote")
MAX_VOTE_SAMPLES = 256  # the exact majority-vote table costs O(K n^3) per question
PROBABILITY_SUM_TOL = 1e-6
CONCAVITY_TOL = 1e-12


# -- accuracy numerics ---------------------------------------------------------------------------------------------

def pass_at_k(p, n):
    """$1 - (1-p)^n$, as ``-expm1(n log1p(-p))`` (exact to the last digit for tiny p; 0 when n = 0).

    Examples:
        >>> float(pass_at_k(0.5, 3))
        0.875
    """
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = -np.expm1(n * np.log1p(-p))
    return np.where(n == 0, 0.0, out)


def pass_at_k_table(success_rates, n_max: int) -> np.ndarray:
    """(N, n_max + 1) table of pass@n for n = 0..n_max."""
    p = np.asarray(success_rates, dtype=float)[:, None]
    return pass_at_k(p, np.arange(n_max + 1, dtype=float)[None, :])


def majority_vote_table(probabilities, correct, n_max: int) -> np.ndarray:
    """(N, n_max + 1) table: entry [i, n] is the probability that the plurality vote of n samples from the
    categorical distribution ``probabilities[i]`` returns answer ``correct[i]`` (ties: uniform among tied answers;
    n = 0 gives 0, no answer).

    Exact: with the correct answer drawn c times, the others' counts must all be <= c; the ``t`` others at exactly
    c tie with it, which wins with probability 1/(1+t). For each c the others' joint count distribution is a
    product of truncated exponential generating functions, kept as probabilities
    $G_j[m] = \\sum_x \\binom{m}{x} q_j^x G_{j-1}[m-x]$ (every entry <= 1, binomials in log space), with a
    second axis counting ties; one pass gives every n <= ``n_max``. Work O(K n_max^3) per question, vectorised over
    questions.

    Examples:
        >>> round(float(majority_vote_table([[0.6, 0.4]], [0], 3)[0, 3]), 6)
        0.648
    """
    P = np.asarray(probabilities, dtype=float)
    n_q, k = P.shape
    correct = np.asarray(correct, dtype=np.int64)
    rows = np.arange(n_q)
    p0 = P[rows, correct]
    keep = np.ones(P.shape, bool)
    keep[rows, correct] = False
    others = P[keep].reshape(n_q, k - 1)
    others = others[:, others.max(axis=0, initial=0.0) > 0] if others.size else others  # drop all-zero columns
    logfact = gammaln(np.arange(n_max + 2, dtype=float) + 1.0)
    out = np.zeros((n_q, n_max + 1))
    n_others = others.shape[1]
    for c in range(1, n_max + 1):
        length = n_max - c + 1  # the others' total m = 0..n_max - c
        ties = min(n_others, (n_max - c) // c)
        g = np.zeros((n_q, ties + 1, length))
        g[:, 0, 0] = 1.0
        for j in range(n_others):
            q = others[:, j][:, None]
            new = np.zeros_like(g)
            for x in range(0, min(c, length - 1) + 1):
                m = np.arange(x, length)
                coef = np.exp(logfact[m] - logfact[x] - logfact[m - x] + xlogy(x, q))  # (n_q, length - x)
                if x < c:
                    new[:, :, x:] += coef[:, None, :] * g[:, :, :length - x]
                else:
                    new[:, 1:, x:] += coef[:, None, :] * g[:, :-1, :length - x]
            g = new
        s = np.einsum("qtl,t->ql", g, 1.0 / np.arange(1, ties + 2))
        n = np.arange(c, n_max + 1)
        out[:, c:] += np.exp(logfact[n] - logfact[c] - logfact[n - c] + xlogy(c, p0[:, None])) * s
    return np.minimum(out, 1.0)


def concavity_report(table, lo, hi, tol: float = CONCAVITY_TOL) -> dict:
    """Whether each row of ``table`` has non-increasing marginal gains on [lo_i, hi_i] (to ``tol``)."""
    table = np.asarray(table, dtype=float)
    gains = np.diff(table, axis=1)
    second = np.diff(gains, axis=1)  # second[i, n] = gain(n+1) - gain(n), n = 0..
    cols = np.arange(second.shape[1])[None, :]
    inside = (cols >= np.asarray(lo)[:, None]) & (cols + 2 <= np.asarray(hi)[:, None])
    scale = tol * np.maximum(1.0, np.abs(table).max(axis=1, keepdims=True))
    bad = inside & (second > scale)
    rows = np.flatnonzero(bad.any(axis=1))
    worst = float(np.where(inside, second, -np.inf).max(initial=-np.inf)) if second.size else -np.inf
    return {"concave": rows.size == 0, "nonconcave_questions": int(rows.size),
            "first_nonconcave": int(rows[0]) if rows.size else None, "max_gain_increase": max(worst, 0.0)}


# -- shared field checks ---------------------------------------------------------------------------------------------

def _names(field: str, value, size: int):
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise InvalidProblemError(f"`{field}` must be a sequence of {size} strings; got {value!r:.60}")
    names = tuple(value)
    if len(names) != size or not all(isinstance(s, str) for s in names):
        raise InvalidProblemError(f"`{field}` must be a sequence of {size} strings; got {len(names)} entries")
    return names


def _per_item_ints(field: str, value, size: int, minimum: int) -> np.ndarray:
    if np.ndim(value) == 0:
        v = as_scalar(field, value, integer=True, minimum=minimum)
        arr = np.full(size, v, np.int64)
        arr.setflags(write=False)
        return arr
    return as_array(field, value, shape=(size,), dtype=int, low=minimum)


def _budget(value, costs_integral: bool):
    b = as_scalar("budget", value, minimum=0.0)
    return int(b) if costs_integral and b == int(b) else b


# -- sample allocation ------------------------------------------------------------------------------------------------


def over_budget(spent, cap) -> bool:
    """The one budget rule of this family: exact for whole numbers, else a relative slack of
    ``FLOAT_BUDGET_TOL·max(1, |cap|)`` (used by ``is_feasible`` and ``infeasibility_reason`` alike)."""
    if isinstance(spent, int) and isinstance(cap, int):
        return spent > cap
    return spent > cap + FLOAT_BUDGET_TOL * max(1.0, abs(cap))

@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class SampleAllocation(Problem):
    """How many samples to draw per question under a total sample (or token) budget.

    Args:
        success_rates: (N,) probability that one sample is correct (objective pass@k, needs a verifier).
        answer_probabilities: (N, K) categorical distribution over answers, each row summing to 1 within 1e-6 (kept
            as given, so a saved problem loads back equal; objective majority-vote accuracy). Give exactly one of
            ``success_rates`` and ``answer_probabilities``.
        correct: (N,) index of the correct answer in each row (default 0); majority vote only.
        budget: B >= 0; the allocation must satisfy $\\sum_i c_i n_i \\le B$.
        min_samples: per-question lower bound (a scalar or an (N,) array); default 1.
        max_samples: per-question upper bound (a scalar or an (N,) array); default 32. Majority vote allows at
            most 256 samples per question.
        sample_costs: (N,) positive cost of one sample of each question (e.g. expected tokens); default 1.
        names: optional question ids.

    Methods: ``greedy`` (marginal gains; exact when gains are concave and costs equal, else it falls back to the
    exact ``mckp``, saying so in ``stats``), ``mckp`` (the multiple-choice knapsack, solved by ``dp`` or ``mip``),
    ``uniform`` and ``proportional`` (baselines).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.SampleAllocation(success_rates=[0.9, 0.2, 0.05], budget=9, max_samples=8)
        >>> r = ob.solve(p)
        >>> r.method, r.x.tolist(), round(r.objective, 4)
        ('greedy', [2, 6, 1], 0.5926)
    """

    budget: float
    success_rates: np.ndarray | None = None
    answer_probabilities: np.ndarray | None = None
    correct: np.ndarray | None = None
    min_samples: int | np.ndarray = 1
    max_samples: int | np.ndarray = 32
    sample_costs: np.ndarray | None = None
    names: tuple | None = None

    def __post_init__(self):
        if (self.success_rates is None) == (self.answer_probabilities is None):
            raise InvalidProblemError("give exactly one of `success_rates` (pass@k) and `answer_probabilities` "
                                      "(majority vote)")
        if self.success_rates is not None:
            p = as_probabilities("success_rates", self.success_rates, ndim=1)
            n = p.size
            if self.correct is not None:
                raise InvalidProblemError("`correct` applies only with `answer_probabilities` (majority vote)")
            probs, correct = None, None
        else:
            probs = as_probabilities("answer_probabilities", self.answer_probabilities, ndim=2)
            n = probs.shape[0]
            sums = probs.sum(axis=1)
            bad = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_SUM_TOL)
            if bad.size:
                raise InvalidProblemError(f"`answer_probabilities` rows must sum to 1; row {bad[0]} sums to "
                                          f"{sums[bad[0]]:.6g}")
            k = probs.shape[1]
            correct = (np.zeros(n, np.int64) if self.correct is None
                       else as_array("correct", self.correct, shape=(n,), dtype=int, low=0, high=k - 1))
            if correct.flags.writeable:
                correct.setflags(write=False)
            p = None
        lo = _per_item_ints("min_samples", self.min_samples, n, 0)
        hi = _per_item_ints("max_samples", self.max_samples, n, 1)
        below = np.flatnonzero(hi < lo)
        if below.size:
            i = below[0]
            raise InvalidProblemError(f"`max_samples` must be >= `min_samples`; question {i} has {hi[i]} < {lo[i]}")
        if probs is not None and hi.max() > MAX_VOTE_SAMPLES:
            raise InvalidProblemError(f"`max_samples` must be <= {MAX_VOTE_SAMPLES} for majority vote (exact "
                                      f"accuracy costs O(K n^3)); got {hi.max()}")
        costs = self.sample_costs
        if costs is not None:
            costs = as_array("sample_costs", costs, shape=(n,), low=0.0)
            if (costs <= 0).any():
                i = int(np.flatnonzero(costs <= 0)[0])
                raise InvalidProblemError(f"`sample_costs` must be positive; got {costs[i]} at index ({i},)")
            if is_integral(costs):
                costs = as_array("sample_costs", costs, dtype=int)
        integral = costs is None or costs.dtype.kind == "i"
        self._set("success_rates", p)
        self._set("answer_probabilities", probs)
        self._set("correct", correct)
        self._set("min_samples", lo)
        self._set("max_samples", hi)
        self._set("sample_costs", costs)
        self._set("budget", _budget(self.budget, integral))
        self._set("names", _names("names", self.names, n))

    def __repr__(self) -> str:
        what = "pass_at_k" if self.success_rates is not None else f"majority_vote, {self.n_answers} answers"
        return (f"SampleAllocation({self.n_questions} questions, {what}, budget={self.budget}, "
                f"samples {self.min_samples.min()}..{self.max_samples.max()})")

    # -- shape ------------------------------------------------------------------------------------------------
    @property
    def objective(self) -> str:
        return "pass_at_k" if self.success_rates is not None else "majority_vote"

    @property
    def n_questions(self) -> int:
        return (self.success_rates if self.success_rates is not None else self.answer_probabilities).shape[0]

    @property
    def n_answers(self) -> int | None:
        return None if self.answer_probabilities is None else self.answer_probabilities.shape[1]

    @property
    def costs_per_sample(self) -> np.ndarray:
        return np.ones(self.n_questions, np.int64) if self.sample_costs is None else self.sample_costs

    @property
    def equal_costs(self) -> bool:
        c = self.costs_per_sample
        return bool(np.all(c == c[0]))

    @cached_property
    def _table(self) -> np.ndarray:
        n_max = int(self.max_samples.max())
        if self.success_rates is not None:
            t = pass_at_k_table(self.success_rates, n_max)
        else:
            t = majority_vote_table(self.answer_probabilities, self.correct, n_max)
        t.setflags(write=False)
        return t

    def accuracy_table(self) -> np.ndarray:
        """(N, max(max_samples) + 1) expected accuracy of question i with n samples (cached)."""
        return self._table

    def concavity(self) -> dict:
        """Whether every question's marginal gain is non-increasing on [min_samples, max_samples] (checked
        numerically on the computed table: pass@k always is; majority vote usually is not, odd/even counts)."""
        return concavity_report(self._table, self.min_samples, self.max_samples)

    # -- evaluation ---------------------------------------------------------------------------------------------
    def check_allocation(self, x) -> np.ndarray:
        x = as_array("x", x, shape=(self.n_questions,), dtype=int)
        out = np.flatnonzero((x < self.min_samples) | (x > self.max_samples))
        if out.size:
            i = out[0]
            raise InvalidProblemError(f"`x` must lie in [min_samples, max_samples]; question {i} has {x[i]} outside "
                                      f"[{self.min_samples[i]}, {self.max_samples[i]}]")
        return x

    def accuracy_of(self, x) -> float:
        """Expected accuracy (mean over questions) of allocation ``x``."""
        x = self.check_allocation(x)
        return math.fsum(self._table[np.arange(self.n_questions), x].tolist()) / self.n_questions

    def cost_of(self, x):
        x = self.check_allocation(x)
        total = (self.costs_per_sample * x).sum()
        return int(total) if np.asarray(total).dtype.kind == "i" else float(total)

    def is_feasible(self, x) -> bool:
        return not over_budget(self.cost_of(x), self.budget)

    def infeasibility_reason(self) -> str | None:
        low = self.cost_of(self.min_samples)
        if over_budget(low, self.budget):
            return f"budget {self.budget} is below the cost of min_samples for every question, {low}"
        return None

    def to_knapsack(self) -> MultipleChoiceKnapsack:
        """Each question is a group; option k means n = min(min_samples) + k samples, available when n lies in the
        question's own bounds, costing n·c_i, worth accuracy / N."""
        base = int(self.min_samples.min())
        levels = np.arange(base, int(self.max_samples.max()) + 1)
        values = self._table[:, base:] / self.n_questions
        costs = self.costs_per_sample[:, None] * levels[None, :]
        available = (levels[None, :] >= self.min_samples[:, None]) & (levels[None, :] <= self.max_samples[:, None])
        return MultipleChoiceKnapsack(values=values, costs=costs, budget=self.budget, available=available)

    def with_budget(self, budget) -> SampleAllocation:
        """The same problem with another budget (validated again)."""
        return dataclasses.replace(self, budget=budget)

    # -- generators and loaders -------------------------------------------------------------------------------------
    @classmethod
    def random(cls, n_questions: int = 100, *, objective: str = "pass_at_k", samples_per_question: float = 8,
               min_samples: int = 1, max_samples: int = 32, difficulty: tuple = (0.5, 1.5), n_answers: int = 4,
               concentration: float = 0.5, correct_bias: float = 3.0, token_costs: bool = False,
               seed=None) -> SampleAllocation:
        """A random instance with documented parameters.

        * pass@k: $p_i \\sim \\mathrm{Beta}(a, b)$ with ``difficulty = (a, b)`` (the default (0.5, 1.5) gives
          mean 0.25 with many hard questions).
        * majority vote: $\\pi_i \\sim \\mathrm{Dirichlet}(\\alpha, \\dots, \\alpha)$ over ``n_answers``
          answers, ``concentration`` = α, with the correct answer's parameter multiplied by ``correct_bias``
          (1 = no bias; larger makes the correct answer the mode more often). The correct answer is index 0.
        * ``token_costs``: per-sample costs ~ round(lognormal(log 400, 0.5)) tokens (whole numbers), else 1.
        * budget = ``samples_per_question`` × N × mean cost.
        """
        n = as_scalar("n_questions", n_questions, integer=True, minimum=1)
        objective = as_choice("objective", objective, OBJECTIVES)
        spq = as_scalar("samples_per_question", samples_per_question, minimum=0.0)
        a, b = (as_scalar("difficulty", v, minimum=0.0, strict_minimum=True) for v in difficulty)
        rng = as_generator(seed)
        kw = {}
        if objective == "pass_at_k":
            kw["success_rates"] = rng.beta(a, b, n)
        else:
            k = as_scalar("n_answers", n_answers, integer=True, minimum=2)
            alpha = as_scalar("concentration", concentration, minimum=0.0, strict_minimum=True)
            bias = as_scalar("correct_bias", correct_bias, minimum=0.0, strict_minimum=True)
            params = np.full(k, alpha)
            params[0] *= bias
            probs = rng.dirichlet(params, n)
            kw["answer_probabilities"] = np.maximum(probs, 0.0) / np.maximum(probs, 0.0).sum(axis=1, keepdims=True)
        costs = np.maximum(1, np.round(rng.lognormal(math.log(400), 0.5, n))).astype(np.int64) if token_costs else None
        mean_cost = 1.0 if costs is None else float(costs.mean())
        budget = int(math.floor(spq * n * mean_cost))
        return cls(budget=budget, min_samples=min_samples, max_samples=max_samples, sample_costs=costs, **kw)

    @classmethod
    def from_file(cls, path, *, budget, min_samples=1, max_samples=32, smoothing: float = 0.0,
                  file_format: str | None = None) -> SampleAllocation:
        """Load one row per question from CSV or JSON lines (no download; ``file_format`` from the suffix).

        Columns / keys: ``question`` (id, optional), then either ``p`` (success rate) or ``counts`` (answer counts,
        a JSON list, or in CSV a ``;``-separated list) with ``correct`` (index into ``counts``, default 0); optional
        ``cost`` (per-sample tokens). Counts become a distribution (counts + ``smoothing``) / total; rows may have
        different numbers of answers (padded with zeros).
        """
        rows = _read_rows(path, file_format)
        smoothing = as_scalar("smoothing", smoothing, minimum=0.0)
        has_p = ["p" in r and r["p"] not in ("", None) for r in rows]
        if any(has_p) and not all(has_p):
            raise InvalidProblemError(f"`path` {path}: every row needs `p`, or every row `counts`; row "
                                      f"{has_p.index(not has_p[0])} differs from row 0")
        names = [str(r.get("question", i)) for i, r in enumerate(rows)]
        costs = None
        if any("cost" in r and r["cost"] not in ("", None) for r in rows):
            costs = [_number(path, i, "cost", r.get("cost")) for i, r in enumerate(rows)]
        if all(has_p):
            p = [_number(path, i, "p", r["p"]) for i, r in enumerate(rows)]
            return cls(success_rates=p, budget=budget, min_samples=min_samples, max_samples=max_samples,
                       sample_costs=costs, names=names)
        counts, correct = [], []
        for i, r in enumerate(rows):
            raw = r.get("counts")
            if isinstance(raw, str):
                raw = [s for s in raw.replace(",", ";").split(";") if s.strip()]
            if not isinstance(raw, list) or not raw:
                raise InvalidProblemError(f"`path` {path}: row {i} needs `p` or a non-empty `counts` list")
            counts.append([_number(path, i, "counts", v) for v in raw])
            correct.append(_number(path, i, "correct", r.get("correct", 0) if r.get("correct") not in ("", None) else 0))
        k = max(len(c) for c in counts)
        arr = np.zeros((len(counts), k))
        for i, c in enumerate(counts):
            arr[i, :len(c)] = c
        arr = as_array("counts", arr, nonnegative=True)
        width = np.array([len(c) for c in counts])
        smoothed = np.where(np.arange(k)[None, :] < width[:, None], arr + smoothing, 0.0)
        totals = smoothed.sum(axis=1)
        if (totals <= 0).any():
            raise InvalidProblemError(f"`counts` of row {int(np.flatnonzero(totals <= 0)[0])} in {path} are all zero")
        return cls(answer_probabilities=smoothed / totals[:, None], correct=correct, budget=budget,
                   min_samples=min_samples, max_samples=max_samples, sample_costs=costs, names=names)


# -- model routing -------------------------------------------------------------------------------------------------

@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class ModelRouting(Problem):
    """Route each query to one model: maximise mean predicted quality under a cost budget.

    Args:
        quality: (Q, M) predicted quality (e.g. probability of a correct answer) of model m on query q.
        costs: (Q, M) non-negative cost of sending query q to model m (dollars, tokens).
        budget: B >= 0 for the total cost.
        allow_skip: whether a query may be left unanswered (quality 0, cost 0; ``x = -1``).
        tasks: optional (Q,) task index per query; with ``task_budgets`` each task's spend is capped too (a second
            resource: offline ``mip``, online ``dmd``).
        task_budgets: (n_tasks,) non-negative budget per task.
        query_names: optional ids of the queries.
        model_names: optional ids of the models.

    Methods: ``mckp`` (exact, the multiple-choice knapsack by ``dp`` or ``mip``), ``mip`` (exact HiGHS MIP of the
    routing, task budgets included), ``lp`` (LP bound, fractional ``x``), ``cheapest``, ``strongest`` (baselines),
    ``dmd`` (online: dual mirror descent over the queries in order, with hindsight and regret). `frontier`
    gives the quality-cost frontier over many budgets.

    Examples:
        >>> import orbudget as ob
        >>> p = ob.ModelRouting(quality=[[0.5, 0.9], [0.2, 0.8], [0.7, 0.75]], costs=[[1, 10], [1, 10], [1, 10]],
        ...                     budget=21)
        >>> r = ob.solve(p)
        >>> r.x.tolist(), round(r.objective, 4)
        ([1, 1, 0], 0.8)
    """

    quality: np.ndarray
    costs: np.ndarray
    budget: float
    allow_skip: bool = False
    tasks: np.ndarray | None = None
    task_budgets: np.ndarray | None = None
    query_names: tuple | None = None
    model_names: tuple | None = None

    def __post_init__(self):
        quality = as_array("quality", self.quality, ndim=2)
        costs = as_array("costs", self.costs, shape=quality.shape, nonnegative=True)
        integral = is_integral(costs)
        if integral:
            costs = as_array("costs", costs, dtype=int)
        n_q = quality.shape[0]
        tasks, task_budgets = self.tasks, self.task_budgets
        if (tasks is None) != (task_budgets is None):
            raise InvalidProblemError("`tasks` and `task_budgets` go together: give both or neither")
        if tasks is not None:
            task_budgets = as_array("task_budgets", task_budgets, ndim=1, nonnegative=True)
            tasks = as_array("tasks", tasks, shape=(n_q,), dtype=int, low=0, high=task_budgets.size - 1)
            if integral and is_integral(task_budgets):
                task_budgets = as_array("task_budgets", task_budgets, dtype=int)
        self._set("quality", quality)
        self._set("costs", costs)
        self._set("budget", _budget(self.budget, integral))
        self._set("allow_skip", as_bool("allow_skip", self.allow_skip))
        self._set("tasks", tasks)
        self._set("task_budgets", task_budgets)
        self._set("query_names", _names("query_names", self.query_names, n_q))
        self._set("model_names", _names("model_names", self.model_names, quality.shape[1]))

    def __repr__(self) -> str:
        extra = f", {self.task_budgets.size} task budgets" if self.tasks is not None else ""
        return f"ModelRouting({self.n_queries} queries, {self.n_models} models, budget={self.budget}{extra})"

    @property
    def n_queries(self) -> int:
        return self.quality.shape[0]

    @property
    def n_models(self) -> int:
        return self.quality.shape[1]

    @property
    def has_task_budgets(self) -> bool:
        return self.tasks is not None

    @cached_property
    def cheapest(self) -> np.ndarray:
        """Per query the cheapest model (ties: the better quality, then the lower index)."""
        best = np.empty(self.n_queries, np.int64)
        for q in range(self.n_queries):
            idx = np.lexsort((np.arange(self.n_models), -self.quality[q], self.costs[q]))
            best[q] = idx[0]
        best.setflags(write=False)
        return best

    def check_routes(self, x) -> np.ndarray:
        x = as_array("x", x, shape=(self.n_queries,), dtype=int)
        low = -1 if self.allow_skip else 0
        bad = np.flatnonzero((x < low) | (x >= self.n_models))
        if bad.size:
            i = bad[0]
            raise InvalidProblemError(f"`x` must hold model indices in {low}..{self.n_models - 1}; got {x[i]} at "
                                      f"query {i}")
        return x

    def _picked(self, table, x):
        x = self.check_routes(x)
        rows = np.flatnonzero(x >= 0)
        return table[rows, x[rows]], rows

    def accuracy_of(self, x) -> float:
        """Mean predicted quality of routes ``x`` (a skipped query counts 0)."""
        vals, _ = self._picked(self.quality, x)
        return math.fsum(vals.tolist()) / self.n_queries

    def cost_of(self, x):
        vals, _ = self._picked(self.costs, x)
        return int(vals.sum()) if vals.dtype.kind == "i" else math.fsum(vals.tolist())

    def task_costs_of(self, x) -> np.ndarray:
        """Spend per task (zeros-length array without task budgets)."""
        if not self.has_task_budgets:
            return np.zeros(0)
        vals, rows = self._picked(self.costs, x)
        out = np.zeros(self.task_budgets.size, dtype=vals.dtype)
        np.add.at(out, self.tasks[rows], vals)
        return out

    def is_feasible(self, x) -> bool:
        """Every budget kept: in integer arithmetic for whole-number costs, to 1e-9 relative otherwise."""
        checks = [(self.cost_of(x), self.budget)]
        if self.has_task_budgets:
            checks += list(zip(self.task_costs_of(x).tolist(), self.task_budgets.tolist()))
        return not any(over_budget(spent, cap) for spent, cap in checks)

    def infeasibility_reason(self) -> str | None:
        if self.allow_skip:
            return None
        x = self.cheapest
        low = self.cost_of(x)
        if over_budget(low, self.budget):
            return f"budget {self.budget} is below the cheapest routing, {low}"
        if self.has_task_budgets:
            spent = self.task_costs_of(x)
            over = [j for j, (s, cap) in enumerate(zip(spent.tolist(), self.task_budgets.tolist()))
                    if over_budget(s, cap)]  # the same rule as is_feasible
            if over:
                j = over[0]
                return f"task {j}'s budget {self.task_budgets[j]} is below its cheapest routing, {spent[j]}"
        return None

    def to_knapsack(self) -> MultipleChoiceKnapsack:
        """One group per query; option m is model m (plus a last free, worthless option when ``allow_skip``);
        values are quality / Q. Task budgets are not part of it (use ``mip``)."""
        values, costs = self.quality / self.n_queries, self.costs
        if self.allow_skip:
            values = np.hstack([values, np.zeros((self.n_queries, 1))])
            costs = np.hstack([costs, np.zeros((self.n_queries, 1), dtype=costs.dtype)])
        return MultipleChoiceKnapsack(values=values, costs=costs, budget=self.budget)

    def routes_from_knapsack(self, choice) -> np.ndarray:
        x = np.asarray(choice, dtype=np.int64).copy()
        if self.allow_skip:
            x[x == self.n_models] = -1
        return x

    def to_online(self, *, normalize: bool = True) -> OnlineAllocation:
        """The same routing as an online allocation over the queries in order.

        With ``allow_skip`` the null action skips the query (reward = quality, consumption = cost). Without it every
        query is answered, so the null action is the query's cheapest model and action m is the *upgrade* to m:
        reward $Q_{qm} - Q_{q,\\mathrm{cheap}}$, consumption $C_{qm} - C_{q,\\mathrm{cheap}}$, budget
        $B - \\sum_q C_{q,\\mathrm{cheap}}$ (the cheapest route's cost is reserved for every query). Resource 0
        is the total budget, resource 1 + τ task τ's. With ``normalize`` consumption is divided by each budget's
        per-query rate B_j / Q (so the target rate ρ is 1, the scale dual mirror descent's default step suits) and
        budgets become Q; without it everything stays in the original units (for the exact hindsight MIP). A budget
        with nothing left above the cheapest routing (surplus 0) cannot be paced: the actions that would spend it
        get a negative reward and no consumption (never played), and it keeps a placeholder budget.
        """
        reason = self.infeasibility_reason()
        if reason:
            raise InvalidProblemError(f"`budget`: {reason}")
        caps = [float(self.budget)] + ([] if not self.has_task_budgets else [float(b) for b in self.task_budgets])
        rewards = np.asarray(self.quality, dtype=float)
        use = np.asarray(self.costs, dtype=float)
        if not self.allow_skip:
            rows = np.arange(self.n_queries)
            cheap = self.cheapest
            rewards = rewards - rewards[rows, cheap][:, None]
            use = use - use[rows, cheap][:, None]
            caps[0] -= float(self.costs[rows, cheap].sum())
            if self.has_task_budgets:
                spent = np.zeros(self.task_budgets.size)
                np.add.at(spent, self.tasks, self.costs[rows, cheap])
                for j in range(spent.size):
                    caps[1 + j] -= spent[j]
        m = len(caps)
        consumption = np.zeros((self.n_queries, self.n_models, m))
        consumption[:, :, 0] = use
        if self.has_task_budgets:
            consumption[np.arange(self.n_queries), :, 1 + self.tasks] = use
        caps_arr = np.array(caps)
        consumption = np.maximum(consumption, 0.0)
        empty = caps_arr <= 0  # nothing left to spend on this resource (a negative surplus was refused above)
        if empty.any():  # actions that would spend it can never be played: negative reward, no consumption
            blocked = (consumption[:, :, empty] > 0).any(axis=2)
            rewards = np.where(blocked, -1.0 - float(np.abs(rewards).max()), rewards)
            consumption[blocked] = 0.0
            caps_arr = np.where(empty, 1.0, caps_arr)  # a placeholder budget that nothing consumes any more
        if normalize:
            consumption /= (caps_arr / self.n_queries)[None, None, :]
            caps_arr = np.full(m, float(self.n_queries))
        return OnlineAllocation(rewards=rewards, consumption=consumption, budgets=caps_arr)

    def routes_from_online(self, actions) -> np.ndarray:
        """Model per query from the online actions (-1: skip with ``allow_skip``, else the cheapest model)."""
        a = np.asarray(actions, dtype=np.int64)
        return a.copy() if self.allow_skip else np.where(a >= 0, a, self.cheapest)

    def with_budget(self, budget) -> ModelRouting:
        """The same problem with another budget (validated again)."""
        return dataclasses.replace(self, budget=budget)

    def always(self, model: int) -> np.ndarray:
        """Routes sending every query to ``model``."""
        model = as_scalar("model", model, integer=True, minimum=0, maximum=self.n_models - 1)
        return np.full(self.n_queries, model, np.int64)

    def frontier(self, budgets, *, method: str = "mckp", bound: bool = True) -> dict:
        """The quality-cost frontier: the exact optimum at each budget (one ``ob.solve`` per budget, ``method``),
        with the LP bound (``lp``, the concave hull, cheap) when ``bound``. Returns arrays ``budget``,
        ``accuracy``, ``cost`` (what the optimum spends), ``lp_bound`` and the per-model baselines ``always``:
        ``{model: (cost, accuracy)}``."""
        from ..core.registry import honoured
        from ..core.solve import solve

        budgets = np.sort(as_array("budgets", budgets, ndim=1, nonnegative=True))
        acc = np.full(budgets.size, np.nan)
        spent = np.full(budgets.size, np.nan)
        lp = np.full(budgets.size, np.nan)
        for i, b in enumerate(budgets.tolist()):
            p = self.with_budget(b)
            r = solve(p, method=method, **honoured(p, method, threads=1))
            if r.ok:
                acc[i], spent[i] = r.objective, r.stats["cost"]
            if bound and not self.has_task_budgets:
                lb = solve(p, method="lp")
                lp[i] = lb.objective if lb.ok else np.nan
        names = self.model_names or tuple(str(m) for m in range(self.n_models))
        always = {names[m]: (self.cost_of(self.always(m)), self.accuracy_of(self.always(m)))
                  for m in range(self.n_models)}
        return {"budget": budgets, "accuracy": acc, "cost": spent, "lp_bound": lp, "always": always}

    def min_cost_for(self, accuracy: float, *, method: str | None = None):
        """The least cost at which mean quality >= ``accuracy`` (an exact MCKP with the roles swapped: costs
        $\\max_m Q_{qm} - Q_{qm}$, values $-C_{qm}$). Returns ``(cost, routes)``, or ``(None, None)``
        when no routing reaches it. No task budgets."""
        from ..core.registry import honoured
        from ..core.solve import solve

        if self.has_task_budgets:
            raise InvalidProblemError("`tasks`: min_cost_for does not take task budgets")
        target = as_scalar("accuracy", accuracy)
        q = self.quality if not self.allow_skip else np.hstack([self.quality, np.zeros((self.n_queries, 1))])
        c = self.costs if not self.allow_skip else np.hstack([self.costs, np.zeros((self.n_queries, 1))])
        top = q.max(axis=1, keepdims=True)
        slack = float(top.sum()) - target * self.n_queries
        if slack < -1e-9 * max(1.0, abs(float(top.sum()))):
            return None, None
        kp = MultipleChoiceKnapsack(values=-np.asarray(c, float), costs=top - q, budget=max(slack, 0.0))
        r = solve(kp, method=method, **honoured(kp, method, threads=1))
        if not r.ok:
            return None, None
        x = self.routes_from_knapsack(r.x)
        return self.cost_of(x), x

    # -- generators and loaders ---------------------------------------------------------------------------------
    @classmethod
    def random(cls, n_queries: int = 500, n_models: int = 4, *, cost_ratio: float = 4.0, skill_gain: float = 1.2,
               difficulty_spread: float = 1.5, noise: float = 0.5, budget_fraction: float = 0.3,
               n_tasks: int = 0, seed=None) -> ModelRouting:
        """A random routing instance with a quality-cost curve of diminishing returns.

        Model m costs ``cost_ratio**m`` per 1,000 tokens; query q has a length ~ lognormal(log 1000, 0.6) tokens
        (cost = length × price / 1000, rounded to whole micro-dollars) and a difficulty
        $d_q \\sim N(0, \\text{difficulty\\_spread}^2)$. Model m's skill is ``skill_gain × log2(1 + m)`` (each
        4× price buys less), and its predicted quality is $\\sigma(s_m - d_q + \\varepsilon_{qm})$,
        $\\varepsilon \\sim N(0, \\text{noise}^2)$. The budget is ``budget_fraction`` of the way from the
        always-cheapest cost to the always-strongest cost. ``n_tasks`` > 0 splits the queries into tasks, each
        with the same fraction of its own range.
        """
        n_q = as_scalar("n_queries", n_queries, integer=True, minimum=1)
        n_m = as_scalar("n_models", n_models, integer=True, minimum=1)
        ratio = as_scalar("cost_ratio", cost_ratio, minimum=1.0)
        gain = as_scalar("skill_gain", skill_gain, minimum=0.0)
        spread = as_scalar("difficulty_spread", difficulty_spread, minimum=0.0)
        noise = as_scalar("noise", noise, minimum=0.0)
        frac = as_scalar("budget_fraction", budget_fraction, minimum=0.0, maximum=1.0)
        n_tasks = as_scalar("n_tasks", n_tasks, integer=True, minimum=0)
        rng = as_generator(seed)
        length = rng.lognormal(math.log(1000.0), 0.6, n_q)
        price = ratio ** np.arange(n_m)
        costs = np.maximum(1, np.round(length[:, None] * price[None, :])).astype(np.int64)  # micro-dollars
        skill = gain * np.log2(1.0 + np.arange(n_m))
        d = rng.normal(0.0, spread, n_q)
        logits = skill[None, :] - d[:, None] + rng.normal(0.0, noise, (n_q, n_m))
        quality = np.round(1.0 / (1.0 + np.exp(-logits)), 6)
        lo, hi = costs[:, 0].sum(), costs[:, -1].sum()
        budget = int(lo + frac * (hi - lo))
        kw = {}
        if n_tasks:
            tasks = rng.integers(0, n_tasks, n_q)
            lo_t = np.bincount(tasks, weights=costs[:, 0], minlength=n_tasks)
            hi_t = np.bincount(tasks, weights=costs[:, -1], minlength=n_tasks)
            kw = {"tasks": tasks, "task_budgets": np.floor(lo_t + frac * (hi_t - lo_t)).astype(np.int64)}
        return cls(quality=quality, costs=costs, budget=budget, **kw)

    @classmethod
    def from_file(cls, path, *, budget, allow_skip: bool = False, task_budgets=None,
                  file_format: str | None = None) -> ModelRouting:
        """Load one row per (query, model) from CSV or JSON lines: ``query``, ``model``, ``quality``, ``cost`` and an
        optional ``task`` (one per query; ``task_budgets`` maps task name to budget). Every query needs every
        model; ids keep their first-seen order."""
        rows = _read_rows(path, file_format)
        queries, models, cells, task_of = {}, {}, {}, {}
        for i, r in enumerate(rows):
            for key in ("query", "model", "quality", "cost"):
                if r.get(key) in (None, ""):
                    raise InvalidProblemError(f"`path` {path}: row {i} has no `{key}`")
            q, m = str(r["query"]), str(r["model"])
            queries.setdefault(q, len(queries))
            models.setdefault(m, len(models))
            if (q, m) in cells:
                raise InvalidProblemError(f"`path` {path}: row {i} repeats query {q!r}, model {m!r}")
            cells[q, m] = (_number(path, i, "quality", r["quality"]), _number(path, i, "cost", r["cost"]))
            if r.get("task") not in (None, ""):
                t = str(r["task"])
                if task_of.setdefault(q, t) != t:
                    raise InvalidProblemError(f"`path` {path}: query {q!r} is in two tasks")
        quality = np.zeros((len(queries), len(models)))
        costs = np.zeros_like(quality)
        for q, qi in queries.items():
            for m, mi in models.items():
                if (q, m) not in cells:
                    raise InvalidProblemError(f"`path` {path}: query {q!r} has no row for model {m!r}")
                quality[qi, mi], costs[qi, mi] = cells[q, m]
        kw = {}
        if task_budgets is not None:
            if not isinstance(task_budgets, dict):
                raise InvalidProblemError(f"`task_budgets` must be a dict from task name to budget; got "
                                          f"{type(task_budgets).__name__}")
            missing = [q for q in queries if q not in task_of]
            if missing:
                raise InvalidProblemError(f"`path` {path}: query {missing[0]!r} has no `task`")
            names = sorted(set(task_of.values()), key=list(task_of.values()).index)
            unknown = [t for t in names if t not in task_budgets]
            if unknown:
                raise InvalidProblemError(f"`task_budgets` has no budget for task {unknown[0]!r}")
            kw = {"tasks": [names.index(task_of[q]) for q in queries],
                  "task_budgets": [task_budgets[t] for t in names]}
        return cls(quality=quality, costs=costs, budget=budget, allow_skip=allow_skip, query_names=tuple(queries),
                   model_names=tuple(models), **kw)


def _read_rows(path, file_format) -> list[dict]:
    path = Path(path)
    fmt = file_format or {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}.get(
        path.suffix.lower())
    fmt = as_choice("file_format", fmt, ("csv", "jsonl"))
    if not path.is_file():
        raise InvalidProblemError(f"`path` {path} is not a file")
    text = path.read_text()
    if fmt == "csv":
        rows = [dict(r) for r in csv.DictReader(text.splitlines())]
    else:
        rows = []
        for i, line in enumerate(text.splitlines()):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidProblemError(f"`path` {path}: line {i + 1} is not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise InvalidProblemError(f"`path` {path}: line {i + 1} is not a JSON object")
            rows.append(row)
    if not rows:
        raise InvalidProblemError(f"`path` {path} has no rows")
    return rows


def _number(path, row: int, key: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidProblemError(f"`{key}` in row {row} of {path} must be a number; got {value!r:.40}") from None
    if not math.isfinite(v):
        raise InvalidProblemError(f"`{key}` in row {row} of {path} must be finite; got {value!r:.40}")
    return v


# -- the adaptive (step-by-step) sampler ---------------------------------------------------------------------------

class AdaptiveSampler:
    """Allocate samples batch by batch from what the samples so far showed (adaptive self-consistency).

    Each round ``counts = sampler.act()`` says how many more samples each question gets (total cost within the
    batch budget and what is left of ``budget``); draw them, then ``sampler.update(observations)``.

    * ``pass_at_k`` (verifier): observations are successes per question. A solved question stops. Unsolved question
      i with f failures has a Beta(a, b + f) posterior; m more samples solve it with probability
      $1 - B(a, b+f+m)/B(a, b+f)$, concave in m, so the batch goes by the marginal-gain greedy (exact for
      equal costs, by gain per cost otherwise).
    * ``majority_vote`` (no verifier): observations are (N, K) answer counts. The posterior is Dirichlet(α + h);
      a question stops once the Beta stopping rule of Adaptive-Consistency (Aggarwal et al. 2023) says the leader
      beats the runner-up with probability >= ``threshold``: $P(X > 1/2)$, $X \\sim
      \\mathrm{Beta}(h_1 + 1, h_2 + 1)$. Each active question gets ``step`` more samples per batch, the least
      confident first while the batch budget lasts.

    Every question first gets its ``min_samples``; none passes ``max_samples``; the spend never passes ``budget``.

    Examples:
        >>> s = AdaptiveSampler(3, budget=12, batch_budget=6, max_samples=8)
        >>> s.act().tolist()
        [2, 2, 2]
        >>> s.update([1, 0, 0]); s.act().tolist()
        [0, 3, 3]
    """

    KIND = "AdaptiveSampler"

    def __init__(self, n_questions: int, budget, *, objective: str = "pass_at_k", n_answers: int | None = None,
                 min_samples=1, max_samples=32, sample_costs=None, batch_budget=None, prior=None,
                 threshold: float = 0.95, step: int = 1):
        self.n_questions = as_scalar("n_questions", n_questions, integer=True, minimum=1)
        self.objective = as_choice("objective", objective, OBJECTIVES)
        n = self.n_questions
        self.min_samples = np.array(_per_item_ints("min_samples", min_samples, n, 0))
        self.max_samples = np.array(_per_item_ints("max_samples", max_samples, n, 1))
        if (self.max_samples < self.min_samples).any():
            raise InvalidProblemError("`max_samples` must be >= `min_samples` for every question")
        self.costs = (np.ones(n) if sample_costs is None
                      else np.array(as_array("sample_costs", sample_costs, shape=(n,), low=0.0), float))
        if (self.costs <= 0).any():
            raise InvalidProblemError("`sample_costs` must be positive")
        self.budget = as_scalar("budget", budget, minimum=0.0)
        self.batch_budget = (max(self.budget / 8, float(self.costs.max())) if batch_budget is None
                             else as_scalar("batch_budget", batch_budget, minimum=0.0, strict_minimum=True))
        self.threshold = as_scalar("threshold", threshold, minimum=0.0, maximum=1.0)
        self.step = as_scalar("step", step, integer=True, minimum=1)
        if self.objective == "majority_vote":
            if n_answers is None:
                raise InvalidProblemError("`n_answers` is required for majority vote")
            self.n_answers = as_scalar("n_answers", n_answers, integer=True, minimum=2)
            if prior is None:
                prior = 1.0
            self.prior = (np.full(self.n_answers, as_scalar("prior", prior, minimum=0.0)) if np.ndim(prior) == 0
                          else np.array(as_array("prior", prior, shape=(self.n_answers,), low=0.0)))
            if (self.prior <= 0).any():
                raise InvalidProblemError("`prior` Dirichlet parameters must be positive")
            self.answer_counts = np.zeros((n, self.n_answers), np.int64)
        else:
            self.n_answers = None
            ab = (1.0, 1.0) if prior is None else prior
            if np.ndim(ab) != 1 or len(ab) != 2:
                raise InvalidProblemError(f"`prior` must be a pair (a, b) of Beta parameters; got {prior!r}")
            self.prior = np.array([as_scalar("prior", v, minimum=0.0, strict_minimum=True) for v in ab])
            self.successes = np.zeros(n, np.int64)
        self.samples = np.zeros(n, np.int64)
        self.spent = 0.0
        self.pending = None

    @classmethod
    def from_problem(cls, problem: SampleAllocation, **kw) -> AdaptiveSampler:
        """A sampler with the problem's size, objective, budget, bounds and costs (not its probabilities)."""
        return cls(problem.n_questions, problem.budget, objective=problem.objective, n_answers=problem.n_answers,
                   min_samples=problem.min_samples, max_samples=problem.max_samples,
                   sample_costs=problem.sample_costs, **kw)

    # -- estimates ------------------------------------------------------------------------------------------------
    def estimates(self) -> np.ndarray:
        """Posterior means: (N,) success rates, or (N, K) answer distributions."""
        if self.objective == "pass_at_k":
            a, b = self.prior
            return (a + self.successes) / (a + b + self.samples)
        alpha = self.prior[None, :] + self.answer_counts
        return alpha / alpha.sum(axis=1, keepdims=True)

    def confidence(self) -> np.ndarray:
        """Per question: 1 if solved (pass@k), else for majority vote P(leader beats runner-up) (Beta rule)."""
        if self.objective == "pass_at_k":
            return (self.successes > 0).astype(float)
        top = -np.sort(-self.answer_counts, axis=1)
        return 1.0 - betainc(top[:, 0] + 1.0, top[:, 1] + 1.0, 0.5)

    def answers(self) -> np.ndarray:
        """The current answer per question: the plurality answer (ties: lowest index), or 1/0 solved for pass@k."""
        if self.objective == "pass_at_k":
            return (self.successes > 0).astype(np.int64)
        return self.answer_counts.argmax(axis=1)

    # -- the loop -------------------------------------------------------------------------------------------------
    def _fits(self, extra_cost: float, batch_used: float) -> bool:
        return batch_used + extra_cost <= self.batch_budget * (1 + 1e-12) and \
            self.spent + batch_used + extra_cost <= self.budget * (1 + 1e-12)

    def act(self) -> np.ndarray:
        """Samples per question for the next batch (zeros when done). Call `update` before acting again."""
        if self.pending is not None:
            raise InvalidProblemError("`update` must be called with the last batch's observations before `act`")
        n = self.n_questions
        counts = np.zeros(n, np.int64)
        used = 0.0
        for i in np.flatnonzero(self.samples < self.min_samples):  # minimums first
            need = int(self.min_samples[i] - self.samples[i])
            take = need
            while take > 0 and not self._fits(take * self.costs[i], used):
                take -= 1
            counts[i] += take
            used += take * self.costs[i]
        active = (self.samples + counts < self.max_samples) & (self.samples + counts >= self.min_samples)
        active &= self.confidence() < (1.0 if self.objective == "pass_at_k" else self.threshold)
        if self.objective == "pass_at_k":
            a, b = self.prior
            base = b + (self.samples - self.successes).astype(float)  # Beta(a, b + failures) for unsolved questions
            while True:
                best = -1
                idx = np.flatnonzero(active & (self.samples + counts < self.max_samples))
                if idx.size == 0:
                    break
                m = counts[idx].astype(float)  # pending samples (minimums included)
                # P(the first success is pending sample m + 1) = [B(a, b+f+m) - B(a, b+f+m+1)] / B(a, b+f)
                gain = (np.exp(betaln(a, base[idx] + m) - betaln(a, base[idx]))
                        - np.exp(betaln(a, base[idx] + m + 1) - betaln(a, base[idx])))
                ratio = gain / self.costs[idx]
                for j in np.argsort(-ratio, kind="stable"):
                    i = idx[j]
                    if ratio[j] > 0 and self._fits(self.costs[i], used):
                        best = i
                        break
                if best < 0:
                    break
                counts[best] += 1
                used += self.costs[best]
        else:
            order = np.argsort(self.confidence(), kind="stable")
            for i in order:
                if not active[i]:
                    continue
                take = int(min(self.step, self.max_samples[i] - self.samples[i] - counts[i]))
                while take > 0 and not self._fits(take * self.costs[i], used):
                    take -= 1
                counts[i] += take
                used += take * self.costs[i]
        self.pending = counts
        return counts.copy()

    @property
    def done(self) -> bool:
        """True when the last `act` asked for nothing (budget spent, every question stopped or at its max)."""
        return self.pending is not None and not self.pending.any()

    def update(self, observations) -> None:
        """Record the last batch: successes per question (pass@k) or (N, K) answer counts (majority vote)."""
        if self.pending is None:
            raise InvalidProblemError("`observations` came without a batch: call `act` first")
        counts = self.pending
        if self.objective == "pass_at_k":
            s = as_array("observations", observations, shape=(self.n_questions,), dtype=int, low=0)
            over = np.flatnonzero(s > counts)
            if over.size:
                raise InvalidProblemError(f"`observations` has {s[over[0]]} successes for question {over[0]}, which "
                                          f"got {counts[over[0]]} samples")
            self.successes += s
        else:
            h = as_array("observations", observations, shape=(self.n_questions, self.n_answers), dtype=int, low=0)
            bad = np.flatnonzero(h.sum(axis=1) != counts)
            if bad.size:
                raise InvalidProblemError(f"`observations` row {bad[0]} counts {h[bad[0]].sum()} answers; the batch "
                                          f"gave that question {counts[bad[0]]} samples")
            self.answer_counts += h
        self.samples += counts
        self.spent += float(counts @ self.costs)
        self.pending = None

    # -- checkpoints ----------------------------------------------------------------------------------------------
    def _config(self) -> dict:
        return {"n_questions": self.n_questions, "objective": self.objective, "n_answers": self.n_answers,
                "min_samples": self.min_samples, "max_samples": self.max_samples, "costs": self.costs,
                "budget": self.budget, "batch_budget": self.batch_budget, "prior": self.prior,
                "threshold": self.threshold, "step": self.step}

    def state_dict(self) -> dict:
        state = {"kind": self.KIND, "fingerprint": fingerprint(self._config()),
                 "samples": self.samples.copy(), "spent": self.spent,
                 "pending": None if self.pending is None else self.pending.copy()}
        if self.objective == "pass_at_k":
            state["successes"] = self.successes.copy()
        else:
            state["answer_counts"] = self.answer_counts.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        key = "successes" if self.objective == "pass_at_k" else "answer_counts"
        check_state(state, kind=self.KIND, fingerprint=fingerprint(self._config()),
                    keys=("samples", "spent", "pending", key))
        self.samples = np.array(state["samples"], np.int64)
        self.spent = float(state["spent"])
        self.pending = None if state["pending"] is None else np.array(state["pending"], np.int64)
        setattr(self, key, np.array(state[key], np.int64))


def simulate_adaptive(problem: SampleAllocation, sampler: AdaptiveSampler | None = None, *, seed=None,
                      **kw) -> dict:
    """Run an `AdaptiveSampler` on ``problem``'s true probabilities (a fresh one from the problem when
    ``sampler`` is None; ``kw`` go to it). Returns the realised ``accuracy`` (share of questions answered correctly:
    solved for pass@k; plurality = correct answer for majority vote, ties broken uniformly), ``cost``,
    ``samples`` per question and ``rounds``."""
    rng = as_generator(seed)
    s = AdaptiveSampler.from_problem(problem, **kw) if sampler is None else sampler
    rounds = 0
    while True:
        counts = s.act()
        if not counts.any():
            break
        rounds += 1
        if problem.objective == "pass_at_k":
            s.update(rng.binomial(counts, problem.success_rates))
        else:
            s.update(np.stack([rng.multinomial(c, p) for c, p in zip(counts, problem.answer_probabilities)]))
    if problem.objective == "pass_at_k":
        correct = s.successes > 0
    else:
        h = s.answer_counts
        top = h.max(axis=1, keepdims=True)
        tied = (h == top) & (top > 0)
        pick = np.array([rng.choice(np.flatnonzero(t)) if t.any() else -1 for t in tied])
        correct = pick == problem.correct
    return {"accuracy": float(correct.mean()), "cost": float(s.samples @ s.costs), "samples": s.samples.copy(),
            "rounds": rounds}
