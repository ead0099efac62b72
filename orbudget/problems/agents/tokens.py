"""`TokenBudgetAllocation` (DUET): spend an RLVR step's token budget on rollouts per prompt and a length cap per
prompt at once, as a multiple-choice knapsack; and `TokenAllocator`, its step-by-step form for a training loop."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...core.budget import fits
from ...core.errors import InvalidProblemError
from ...core.io import register_kind
from ...core.validation import as_array, as_generator, as_probabilities, as_scalar, check_state
from ..base import Problem
from ..knapsack import MultipleChoiceKnapsack, exact_total
from ..rollouts import knapsack_rl_value


def _counts(field: str, value) -> tuple:
    vals = tuple(as_scalar(field, v, integer=True, minimum=1) for v in np.atleast_1d(np.asarray(value)).tolist())
    if not vals or len(set(vals)) != len(vals):
        raise InvalidProblemError(f"`{field}` must be distinct positive whole numbers; got {vals}")
    return tuple(sorted(vals))


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class TokenBudgetAllocation(Problem):
    """Rollouts and a length cap per prompt under a token budget (DUET: "Optimize Token-Budget Allocation for RLVR").

    Prompt i has success rate $p_i$ and equally likely response lengths ``lengths[i]`` (samples, or quantiles of a
    parametric law). Option (n, ℓ) gives it n rollouts capped at ℓ tokens: a truncated response fails, so the group's
    success rate is $p_i(\\ell) = p_i\\,P(L_i \\le \\ell)$, its value is Knapsack RL's informativeness
    $\\mathrm{Value}(n, p_i(\\ell)) = (1 - p^n - (1-p)^n)\\,p(1-p)^2$ and its cost the expected tokens
    $n\\,\\lceil E\\min(L_i, \\ell)\\rceil$. Option 0 gives no rollouts. The allocation maximises the total value
    with the total cost within ``budget`` tokens: a multiple-choice knapsack (`to_knapsack`), solved exactly by
    ``ob.solve``'s default engine. ``x`` is the option per prompt (`option`).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.TokenBudgetAllocation(success_rates=[0.3, 0.8], lengths=[[100, 300], [200, 600]],
        ...                              rollout_counts=[2, 4], length_caps=[300, 600], budget=2000)
        >>> r = ob.solve(p)
        >>> [p.option(o) for o in r.x.tolist()], r.stats["cost"] <= 2000
        ([(4, 300), (4, 300)], True)
    """

    success_rates: np.ndarray
    lengths: np.ndarray
    rollout_counts: tuple = (2, 4, 8, 16)
    length_caps: tuple = (1024, 2048, 4096, 8192)
    budget: int = 0
    prompt_names: tuple | None = None

    def __post_init__(self):
        p = as_probabilities("success_rates", self.success_rates, ndim=1)
        lengths = as_array("lengths", self.lengths, shape=(p.size, None), dtype=int)
        if (lengths < 0).any():
            i = tuple(int(v) for v in np.argwhere(lengths < 0)[0])
            raise InvalidProblemError(f"`lengths` must be non-negative token counts; got {lengths[i]} at index {i}")
        self._set("success_rates", p)
        self._set("lengths", lengths)
        self._set("rollout_counts", _counts("rollout_counts", self.rollout_counts))
        self._set("length_caps", _counts("length_caps", self.length_caps))
        self._set("budget", as_scalar("budget", self.budget, integer=True, minimum=0))
        from ..llm._fields import _names

        self._set("prompt_names", _names("prompt_names", self.prompt_names, p.size))

    def __repr__(self) -> str:
        return (
            f"TokenBudgetAllocation({self.n_prompts} prompts, {len(self.rollout_counts)} x {len(self.length_caps)} options, "
            f"budget={self.budget} tokens)"
        )

    @property
    def n_prompts(self) -> int:
        return self.success_rates.size

    @property
    def n_options(self) -> int:
        return 1 + len(self.rollout_counts) * len(self.length_caps)

    def option(self, o: int) -> tuple[int, int]:
        """``(rollouts, length cap)`` of option ``o``; option 0 is ``(0, 0)``, no rollouts."""
        o = as_scalar("option", o, integer=True, minimum=0, maximum=self.n_options - 1)
        if o == 0:
            return 0, 0
        i, j = divmod(o - 1, len(self.length_caps))
        return self.rollout_counts[i], self.length_caps[j]

    def option_index(self, rollouts: int, cap: int) -> int:
        if rollouts == 0:
            return 0
        return 1 + self.rollout_counts.index(rollouts) * len(self.length_caps) + self.length_caps.index(cap)

    @cached_property
    def _tables(self):
        caps = np.array(self.length_caps)
        n = np.array(self.rollout_counts)
        within = (self.lengths[:, :, None] <= caps[None, None, :]).mean(axis=1)  # (N, C) P(L <= cap)
        tokens = np.ceil(np.minimum(self.lengths[:, :, None], caps[None, None, :]).mean(axis=1) - 1e-9).astype(np.int64)
        rate = self.success_rates[:, None] * within  # (N, C)
        values = knapsack_rl_value(n[None, :, None], rate[:, None, :])  # (N, R, C)
        costs = n[None, :, None] * tokens[:, None, :]
        nn = self.n_prompts
        v = np.hstack([np.zeros((nn, 1)), values.reshape(nn, -1)])
        c = np.hstack([np.zeros((nn, 1), np.int64), costs.reshape(nn, -1)])
        v.setflags(write=False)
        c.setflags(write=False)
        return v, c, rate

    @property
    def values(self) -> np.ndarray:
        """(N, O) value of each option."""
        return self._tables[0]

    @property
    def costs(self) -> np.ndarray:
        """(N, O) expected tokens of each option (whole numbers)."""
        return self._tables[1]

    def effective_rates(self) -> np.ndarray:
        """(N, C) success rate left by each length cap."""
        return self._tables[2]

    def check_choice(self, x) -> np.ndarray:
        return as_array("x", x, shape=(self.n_prompts,), dtype=int, low=0, high=self.n_options - 1)

    def value_of(self, x) -> float:
        x = self.check_choice(x)
        return math.fsum(self.values[np.arange(self.n_prompts), x].tolist())

    def cost_of(self, x) -> int:
        x = self.check_choice(x)
        return int(exact_total(self.costs[np.arange(self.n_prompts), x]))

    def is_feasible(self, x) -> bool:
        return fits(self.cost_of(x), self.budget)

    def mask(self, *, rollouts=None, caps=None) -> np.ndarray:
        """(N, O) options allowed when rollouts are limited to ``rollouts`` and caps to ``caps`` (option 0 always)."""
        keep = np.ones(self.n_options, bool)
        for o in range(1, self.n_options):
            n, c = self.option(o)
            keep[o] = (rollouts is None or n in rollouts) and (caps is None or c in caps)
        return np.broadcast_to(keep, (self.n_prompts, self.n_options))

    def to_knapsack(self, available=None) -> MultipleChoiceKnapsack:
        """One group per prompt, one option per (rollouts, cap) and option 0; ``available`` restricts the options."""
        return MultipleChoiceKnapsack(values=self.values, costs=self.costs, budget=self.budget, available=available)

    def with_budget(self, budget) -> TokenBudgetAllocation:
        return dataclasses.replace(self, budget=budget)

    @classmethod
    def random(
        cls,
        n_prompts: int = 64,
        *,
        rollout_counts=(2, 4, 8, 16),
        length_caps=(1024, 2048, 4096, 8192),
        n_lengths: int = 16,
        budget_fraction: float = 0.25,
        seed=None,
    ) -> TokenBudgetAllocation:
        """Success rates ~ Beta(0.6, 0.6) (many prompts near 0 or 1, as in RLVR), lengths lognormal around a
        per-prompt median of 300 to 6,000 tokens (harder prompts run longer), ``n_lengths`` samples each; the budget
        is ``budget_fraction`` of the dearest allocation (every prompt at the most rollouts and the longest cap)."""
        n = as_scalar("n_prompts", n_prompts, integer=True, minimum=1)
        frac = as_scalar("budget_fraction", budget_fraction, minimum=0.0, maximum=1.0)
        k = as_scalar("n_lengths", n_lengths, integer=True, minimum=1)
        rng = as_generator(seed)
        p = rng.beta(0.6, 0.6, n).round(4)
        median = np.exp(rng.uniform(np.log(300), np.log(6000), n) + 0.5 * (0.5 - p))
        lengths = np.maximum(1, np.round(median[:, None] * rng.lognormal(0.0, 0.5, (n, k)))).astype(np.int64)
        p0 = cls(success_rates=p, lengths=lengths, rollout_counts=rollout_counts, length_caps=length_caps, budget=0)
        return p0.with_budget(int(frac * p0.costs.max(axis=1).sum()))


class TokenAllocator:
    """Rollouts and length caps per prompt, step by step inside an RLVR training loop (like `RolloutAllocator`).

    ``act(prompt_ids, token_budget)`` returns ``(rollouts, caps)`` for the batch: the exact `TokenBudgetAllocation`
    on the current estimates (success rate: Beta(1, 1) posterior mean of the prompt's rewards; lengths: its last
    ``history`` observed lengths, or ``prior_lengths`` before any). ``update(prompt_ids, rewards, lengths)`` records
    a step's outcomes (one entry per rollout). ``state_dict`` / ``load_state_dict`` checkpoint it.

    Examples:
        >>> a = TokenAllocator(rollout_counts=(2, 4), length_caps=(256, 512), prior_lengths=[100, 400])
        >>> n, cap = a.act(["q1", "q2"], token_budget=2000)
        >>> int((n * np.minimum(cap, 400)).sum()) <= 4000
        True
    """

    KIND = "TokenAllocator"

    def __init__(self, *, rollout_counts=(2, 4, 8, 16), length_caps=(1024, 2048, 4096), prior_lengths=(512,), history: int = 32):
        self.rollout_counts = _counts("rollout_counts", rollout_counts)
        self.length_caps = _counts("length_caps", length_caps)
        self.prior_lengths = as_array("prior_lengths", prior_lengths, ndim=1, dtype=int, low=0)
        self.history = as_scalar("history", history, integer=True, minimum=1)
        self.reset()

    def reset(self) -> None:
        self.successes: dict = {}
        self.trials: dict = {}
        self.lengths: dict = {}

    def problem(self, prompt_ids, token_budget) -> TokenBudgetAllocation:
        ids = list(prompt_ids)
        p = np.array([(1 + self.successes.get(i, 0)) / (2 + self.trials.get(i, 0)) for i in ids])
        k = self.history
        rows = []
        for i in ids:
            seen = self.lengths.get(i) or self.prior_lengths.tolist()
            rows.append(np.asarray(seen)[np.round(np.linspace(0, len(seen) - 1, k)).astype(int)])
        return TokenBudgetAllocation(
            success_rates=p,
            lengths=np.array(rows),
            rollout_counts=self.rollout_counts,
            length_caps=self.length_caps,
            budget=token_budget,
        )

    def act(self, prompt_ids, token_budget) -> tuple[np.ndarray, np.ndarray]:
        from ...core.solve import solve

        prob = self.problem(prompt_ids, token_budget)
        r = solve(prob, method="mckp")
        x = r.x if r.ok else np.zeros(prob.n_prompts, np.int64)
        pairs = np.array([prob.option(o) for o in x.tolist()], np.int64).reshape(-1, 2)
        return pairs[:, 0], pairs[:, 1]

    def update(self, prompt_ids, rewards, lengths) -> None:
        ids = list(prompt_ids)
        rewards = as_array("rewards", rewards, shape=(len(ids),), low=0.0, high=1.0)
        lengths = as_array("lengths", lengths, shape=(len(ids),), dtype=int, low=0)
        for i, r, n in zip(ids, rewards.tolist(), lengths.tolist()):
            self.successes[i] = self.successes.get(i, 0) + r
            self.trials[i] = self.trials.get(i, 0) + 1
            self.lengths[i] = (self.lengths.get(i, []) + [int(n)])[-self.history :]

    def state_dict(self) -> dict:
        return {
            "kind": self.KIND,
            "successes": dict(self.successes),
            "trials": dict(self.trials),
            "lengths": {k: list(v) for k, v in self.lengths.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        state = check_state(state, kind=self.KIND, keys=("successes", "trials", "lengths"))
        self.successes, self.trials = dict(state["successes"]), dict(state["trials"])
        self.lengths = {k: list(v) for k, v in state["lengths"].items()}
