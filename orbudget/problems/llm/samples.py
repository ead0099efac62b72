"""Test-time sample allocation (`SampleAllocation`): how many samples each question gets within a token budget."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...core.budget import as_reported, budget_value, cost_array, exact_dot, fits, is_whole, level_costs
from ...core.errors import InvalidProblemError
from ...core.io import register_kind
from ...core.validation import (
    as_array,
    as_choice,
    as_generator,
    as_probabilities,
    as_scalar,
)
from ..base import Problem
from ..knapsack import MultipleChoiceKnapsack, check_table_size
from ._fields import _names, _number, _per_item_ints, _read_rows
from .accuracy import MAX_VOTE_SAMPLES, OBJECTIVES, PROBABILITY_SUM_TOL, concavity_report, majority_vote_table, pass_at_k_table

# -- sample allocation ------------------------------------------------------------------------------------------------


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
            raise InvalidProblemError("give exactly one of `success_rates` (pass@k) and `answer_probabilities` (majority vote)")
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
                raise InvalidProblemError(f"`answer_probabilities` rows must sum to 1; row {bad[0]} sums to {sums[bad[0]]:.6g}")
            k = probs.shape[1]
            correct = (
                np.zeros(n, np.int64)
                if self.correct is None
                else as_array("correct", self.correct, shape=(n,), dtype=int, low=0, high=k - 1)
            )
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
            raise InvalidProblemError(
                f"`max_samples` must be <= {MAX_VOTE_SAMPLES} for majority vote (exact accuracy costs O(K n^3)); got {hi.max()}"
            )
        width = int(hi.max()) + 1  # the accuracy table is (N, max + 1) floats, and its gains as many again
        check_table_size(
            "max_samples", 16 * n * width, f"the accuracy table of {n} questions by {width} sample counts", "lower `max_samples`"
        )
        costs = self.sample_costs
        if costs is not None:
            costs = cost_array("sample_costs", costs, shape=(n,))  # exact: int64 below 2^63, never wrapped
            if (costs <= 0).any():
                i = int(np.flatnonzero(costs <= 0)[0])
                raise InvalidProblemError(f"`sample_costs` must be positive; got {costs[i]} at index ({i},)")
        integral = costs is None or is_whole(costs)
        self._set("success_rates", p)
        self._set("answer_probabilities", probs)
        self._set("correct", correct)
        self._set("min_samples", lo)
        self._set("max_samples", hi)
        self._set("sample_costs", costs)
        self._set("budget", budget_value("budget", self.budget, whole_costs=integral))
        self._set("_whole", bool(integral and isinstance(self.budget, int)))
        self._set("names", _names("names", self.names, n))

    @property
    def whole_number_costs(self) -> bool:
        """Whole-number costs and budget: spends are decided in integers, with no tolerance."""
        return self._whole

    def __repr__(self) -> str:
        what = "pass_at_k" if self.success_rates is not None else f"majority_vote, {self.n_answers} answers"
        return (
            f"SampleAllocation({self.n_questions} questions, {what}, budget={self.budget}, "
            f"samples {self.min_samples.min()}..{self.max_samples.max()})"
        )

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
        return dict(self._concavity)

    @cached_property
    def _concavity(self) -> dict:
        if self.success_rates is not None:  # pass@k: the gains p(1-p)^n are non-increasing in n, exactly
            return {"concave": True, "nonconcave_questions": 0, "first_nonconcave": None, "max_gain_increase": 0.0}
        return concavity_report(self._table, self.min_samples, self.max_samples)

    # -- evaluation ---------------------------------------------------------------------------------------------
    def check_allocation(self, x) -> np.ndarray:
        x = as_array("x", x, shape=(self.n_questions,), dtype=int)
        out = np.flatnonzero((x < self.min_samples) | (x > self.max_samples))
        if out.size:
            i = out[0]
            raise InvalidProblemError(
                f"`x` must lie in [min_samples, max_samples]; question {i} has {x[i]} outside "
                f"[{self.min_samples[i]}, {self.max_samples[i]}]"
            )
        return x

    def accuracy_of(self, x) -> float:
        """Expected accuracy (mean over questions) of allocation ``x``."""
        x = self.check_allocation(x)
        return math.fsum(self._table[np.arange(self.n_questions), x].tolist()) / self.n_questions

    def exact_cost(self, x):
        """Exact total cost of ``x`` (an int for whole-number costs, else a Fraction); never overflows or rounds."""
        return exact_dot(self.costs_per_sample, self.check_allocation(x))

    def cost_of(self, x):
        """Total cost of ``x``: exact int for whole-number costs, else the float nearest the exact sum."""
        return as_reported(self.exact_cost(x))

    def is_feasible(self, x) -> bool:
        """The exact cost within the budget under the one rule (`orbudget.core.budget.fits`): in integers for
        whole-number costs and budget, else within ``1e-9·B`` relative."""
        return fits(self.exact_cost(x), self.budget, whole=self.whole_number_costs)

    def infeasibility_reason(self) -> str | None:
        low = self.exact_cost(self.min_samples)
        if not fits(low, self.budget, whole=self.whole_number_costs):
            return f"budget {self.budget} is below the cost of min_samples for every question, {as_reported(low)}"
        return None

    def to_knapsack(self) -> MultipleChoiceKnapsack:
        """Each question is a group; option k means n = min(min_samples) + k samples, available when n lies in the
        question's own bounds, costing n·c_i, worth accuracy / N."""
        base = int(self.min_samples.min())
        levels = np.arange(base, int(self.max_samples.max()) + 1)
        values = self._table[:, base:] / self.n_questions
        costs = level_costs("sample_costs", self.costs_per_sample, levels)
        available = (levels[None, :] >= self.min_samples[:, None]) & (levels[None, :] <= self.max_samples[:, None])
        return MultipleChoiceKnapsack(values=values, costs=costs, budget=self.budget, available=available)

    def with_budget(self, budget) -> SampleAllocation:
        """The same problem with another budget (validated again)."""
        return dataclasses.replace(self, budget=budget)

    # -- generators and loaders -------------------------------------------------------------------------------------
    @classmethod
    def random(
        cls,
        n_questions: int = 100,
        *,
        objective: str = "pass_at_k",
        samples_per_question: float = 8,
        min_samples: int = 1,
        max_samples: int = 32,
        difficulty: tuple = (0.5, 1.5),
        n_answers: int = 4,
        concentration: float = 0.5,
        correct_bias: float = 3.0,
        token_costs: bool = False,
        seed=None,
    ) -> SampleAllocation:
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
    def from_file(
        cls, path, *, budget, min_samples=1, max_samples=32, smoothing: float = 0.0, file_format: str | None = None
    ) -> SampleAllocation:
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
            raise InvalidProblemError(
                f"`path` {path}: every row needs `p`, or every row `counts`; row {has_p.index(not has_p[0])} differs from row 0"
            )
        names = [str(r.get("question", i)) for i, r in enumerate(rows)]
        costs = None
        if any("cost" in r and r["cost"] not in ("", None) for r in rows):
            costs = [_number(path, i, "cost", r.get("cost")) for i, r in enumerate(rows)]
        if all(has_p):
            p = [_number(path, i, "p", r["p"]) for i, r in enumerate(rows)]
            return cls(
                success_rates=p, budget=budget, min_samples=min_samples, max_samples=max_samples, sample_costs=costs, names=names
            )
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
            arr[i, : len(c)] = c
        arr = as_array("counts", arr, nonnegative=True)
        width = np.array([len(c) for c in counts])
        smoothed = np.where(np.arange(k)[None, :] < width[:, None], arr + smoothing, 0.0)
        totals = smoothed.sum(axis=1)
        if (totals <= 0).any():
            raise InvalidProblemError(f"`counts` of row {int(np.flatnonzero(totals <= 0)[0])} in {path} are all zero")
        return cls(
            answer_probabilities=smoothed / totals[:, None],
            correct=correct,
            budget=budget,
            min_samples=min_samples,
            max_samples=max_samples,
            sample_costs=costs,
            names=names,
        )
