"""Rollout allocation inside a training loop: success-rate estimation, a step-by-step allocator, and a small
GRPO-like simulation that measures the effective-gradient ratio of knapsack against uniform allocation.

Estimation follows Knapsack RL's code (reference §a.2): a reward counts as a success when it is > 0; a prompt's
rate is the mean of its rollouts in its latest epoch, or of its most recent ``history`` (16) rewards when that epoch
gave fewer; a prompt is *valid* once it has ``min_samples`` (8) rewards in total. Invalid prompts get the uniform
``default_rollouts`` (8).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.validation import as_array, as_choice, as_generator, as_scalar, check_state, state_scalar
from ..problems.rollouts import VALUE_MODELS, RolloutAllocation


class SuccessRateEstimator:
    """Per-prompt success rates from streamed rewards (latest epoch, else the last ``history`` rewards).

    Examples:
        >>> est = SuccessRateEstimator(history=4, min_samples=4)
        >>> est.update([7, 7, 7, 7], [1, 0, 1, 1], epoch=0)
        >>> est.estimate([7, 8])
        (array([0.75, 0.  ]), array([ True, False]))
    """

    def __init__(self, history: int = 16, min_samples: int = 8):
        self.history = as_scalar("history", history, integer=True, minimum=1)
        self.min_samples = as_scalar("min_samples", min_samples, integer=True, minimum=1)
        self._stats: dict = {}  # id -> [total, epoch, epoch_count, epoch_successes, deque of recent outcomes]

    def update(self, prompt_ids, rewards, epoch: int = 0) -> None:
        """Record one reward per rollout; ``prompt_ids[j]`` is the prompt of ``rewards[j]``."""
        ids = np.asarray(prompt_ids)
        r = np.asarray(rewards, dtype=float)
        if ids.shape != r.shape or ids.ndim != 1:
            raise InvalidProblemError(f"`prompt_ids` and `rewards` must be 1-d of one length; got {ids.shape} and {r.shape}")
        if not np.isfinite(r).all():
            raise InvalidProblemError("`rewards` must be finite")
        for pid, success in zip(ids.tolist(), (r > 0).tolist()):
            s = self._stats.get(pid)
            if s is None:
                s = self._stats[pid] = [0, epoch, 0, 0, deque(maxlen=self.history)]
            if s[1] != epoch:
                s[1], s[2], s[3] = epoch, 0, 0
            s[0] += 1
            s[2] += 1
            s[3] += success
            s[4].append(success)

    def estimate(self, prompt_ids) -> tuple[np.ndarray, np.ndarray]:
        """``(success_rates, valid)`` for the given prompts (rate 0 and invalid for prompts never seen)."""
        ids = np.asarray(prompt_ids).tolist()
        p = np.zeros(len(ids))
        valid = np.zeros(len(ids), bool)
        for j, pid in enumerate(ids):
            s = self._stats.get(pid)
            if s is None:
                continue
            valid[j] = s[0] >= self.min_samples
            p[j] = s[3] / s[2] if s[2] >= self.history else (sum(s[4]) / len(s[4]))
        return p, valid

    def state_dict(self) -> dict:
        return {
            "kind": "SuccessRateEstimator",
            "history": self.history,
            "min_samples": self.min_samples,
            "stats": {str(k): [v[0], v[1], v[2], v[3], list(map(int, v[4]))] for k, v in self._stats.items()},
            "key_types": {str(k): type(k).__name__ for k in self._stats},
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume from `state_dict`; a state no run can reach (negative counts, more successes than rewards, more
        recent outcomes than ``history``) is refused with an InvalidProblemError naming the entry, loading nothing."""
        check_state(state, kind="SuccessRateEstimator", keys=("history", "min_samples", "stats"))
        history = int(state_scalar(state, "history", integer=True, minimum=1))
        min_samples = int(state_scalar(state, "min_samples", integer=True, minimum=1))
        stats, types = state["stats"], state.get("key_types", {})
        if not isinstance(stats, dict) or not isinstance(types, dict):
            raise InvalidProblemError("`state` entries `stats` and `key_types` must be dicts (from state_dict())")
        cast = {"int": int, "str": str}
        loaded = {}
        for k, v in stats.items():
            bad = f"`state` entry `stats` for prompt {k!r} must be [total, epoch, epoch count, epoch successes, recent 0/1s]"
            if not isinstance(v, (list, tuple)) or len(v) != 5 or not isinstance(v[4], (list, tuple)):
                raise InvalidProblemError(f"{bad}; got {v!r}"[:300])
            try:
                total, epoch, count, wins = (int(as_scalar("stats", x, integer=True)) for x in v[:4])
                recent = as_array("stats", list(v[4]), dtype=int, low=0, high=1, allow_empty=True)
                key = cast.get(types.get(k, "str"), str)(k)
            except (InvalidProblemError, ValueError) as exc:
                raise InvalidProblemError(f"{bad}: {exc}") from None
            if not (0 <= wins <= count <= total) or recent.size > min(history, total):
                raise InvalidProblemError(f"{bad}, counts 0 <= successes <= count <= total; got {v!r}"[:300])
            loaded[key] = [total, epoch, count, wins, deque(map(bool, recent.tolist()), maxlen=history)]
        self.history, self.min_samples, self._stats = history, min_samples, loaded


class RolloutAllocator:
    """Allocate a batch's rollouts across its prompts, step by step, from rewards seen so far.

    Each training step: ``counts = allocator.allocate(prompt_ids, total_rollouts)``, generate ``counts[i]``
    rollouts for prompt i, then ``allocator.update(rollout_prompt_ids, rewards, epoch)``.

    Rules (default, ``compat=None``): invalid prompts get ``default_rollouts``; the rest of the budget goes to valid
    prompts by solving `RolloutAllocation` over the prompts with 0 < p < 1 (``method``, default the exact
    greedy); prompts with p in {0, 1} get ``min_rollouts``, and any surplus the effective prompts cannot absorb
    (all at ``max_rollouts``) goes evenly to p = 0 prompts first, then p = 1 ones, then invalid ones, as the
    official fallback intends. ``compat="knapsackrl"`` reproduces the official code instead, quirks included.

    Examples:
        >>> alloc = RolloutAllocator(min_samples=2, history=2)
        >>> alloc.allocate([0, 1], 16).tolist()
        [8, 8]
        >>> alloc.update([0, 0, 1, 1], [1, 0, 1, 1])
        >>> alloc.allocate([0, 1], 16).tolist()
        [14, 2]
    """

    def __init__(
        self,
        *,
        min_rollouts: int = 2,
        max_rollouts: int = 128,
        default_rollouts: int = 8,
        value: str = "knapsack_rl",
        method: str = "greedy",
        compat: str | None = None,
        history: int = 16,
        min_samples: int = 8,
    ):
        self.min_rollouts = as_scalar("min_rollouts", min_rollouts, integer=True, minimum=0)
        self.max_rollouts = as_scalar("max_rollouts", max_rollouts, integer=True, minimum=1)
        if self.max_rollouts < self.min_rollouts:
            raise InvalidProblemError(f"`max_rollouts` must be >= `min_rollouts`; got {max_rollouts} < {min_rollouts}")
        self.default_rollouts = as_scalar("default_rollouts", default_rollouts, integer=True, minimum=0)
        self.value = as_choice("value", value, VALUE_MODELS)
        self.method = method
        self.compat = None if compat is None else as_choice("compat", compat, ("knapsackrl",))
        self.estimator = SuccessRateEstimator(history, min_samples)
        self.last_info: dict = {}

    def update(self, prompt_ids, rewards, epoch: int = 0) -> None:
        """Record rewards, one per rollout (``prompt_ids`` repeats each prompt once per rollout)."""
        self.estimator.update(prompt_ids, rewards, epoch)

    def allocate(self, prompt_ids, total_rollouts: int | None = None) -> np.ndarray:
        """Rollouts per prompt (int array in the order of ``prompt_ids``) summing to ``total_rollouts``."""
        p, valid = self.estimator.estimate(prompt_ids)
        n = p.size
        total = (
            n * self.default_rollouts
            if total_rollouts is None
            else as_scalar("total_rollouts", total_rollouts, integer=True, minimum=0)
        )
        if self.compat == "knapsackrl":
            from ..solvers.numba.rollouts import knapsackrl_allocation

            try:
                counts, info = knapsackrl_allocation(
                    p,
                    valid,
                    total,
                    default_rollouts=self.default_rollouts,
                    min_rollouts=self.min_rollouts,
                    max_rollouts=self.max_rollouts,
                )
            except ValueError as exc:
                raise InvalidProblemError(f"`total_rollouts`: {exc}") from None
            self.last_info = info
            return counts
        counts = np.where(valid, self.min_rollouts, self.default_rollouts).astype(np.int64)
        budget = total - int(counts.sum())
        if budget < 0:
            raise InvalidProblemError(f"`total_rollouts` {total} is below the base allocation {int(counts.sum())}")
        effective = np.flatnonzero(valid & (p > 0) & (p < 1))
        room = effective.size * (self.max_rollouts - self.min_rollouts)
        to_effective = min(budget, room)
        if effective.size:
            problem = RolloutAllocation(
                success_rates=p[effective],
                total_rollouts=to_effective + effective.size * self.min_rollouts,
                min_rollouts=self.min_rollouts,
                max_rollouts=self.max_rollouts,
                value=self.value,
            )
            from ..core.solve import solve

            result = solve(problem, method=self.method).raise_for_status()
            counts[effective] = result.x
            self.last_info = {"objective": result.objective, "method": result.method}
        surplus = budget - to_effective
        for group in (np.flatnonzero(valid & (p == 0)), np.flatnonzero(valid & (p == 1)), np.flatnonzero(~valid)):
            surplus = _spread(counts, group, surplus, self.max_rollouts)
        if surplus:
            raise InvalidProblemError(f"`total_rollouts` {total} is above what max_rollouts allows for {n} prompts")
        return counts

    def state_dict(self) -> dict:
        return {
            "kind": "RolloutAllocator",
            "config": {
                "min_rollouts": self.min_rollouts,
                "max_rollouts": self.max_rollouts,
                "default_rollouts": self.default_rollouts,
                "value": self.value,
                "method": self.method,
                "compat": self.compat,
            },
            "estimator": self.estimator.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume from `state_dict`; a malformed state (unknown settings, a corrupted estimator) is refused with an
        InvalidProblemError naming the entry, and nothing is loaded then."""
        check_state(state, kind="RolloutAllocator", keys=("config", "estimator"))
        cfg, keys = state["config"], ("min_rollouts", "max_rollouts", "default_rollouts", "value", "method", "compat")
        if not isinstance(cfg, dict) or set(cfg) - set(keys):
            raise InvalidProblemError(f"`state` entry `config` must be a dict of {', '.join(keys)}; got {cfg!r}"[:300])
        estimator = SuccessRateEstimator()
        estimator.load_state_dict(state["estimator"])
        self.__init__(**cfg, history=estimator.history, min_samples=estimator.min_samples)
        self.estimator = estimator


def _spread(counts: np.ndarray, group: np.ndarray, amount: int, cap: int) -> int:
    """Add ``amount`` evenly over ``group`` without passing ``cap``; return what did not fit."""
    while amount > 0 and group.size:
        room = cap - counts[group]
        open_ = group[room > 0]
        if open_.size == 0:
            break
        share = max(1, amount // open_.size)
        add = np.minimum(np.minimum(room[room > 0], share), amount)
        add = np.where(np.cumsum(add) <= amount, add, 0)
        if add.sum() == 0:
            add[0] = min(amount, room[room > 0][0])
        counts[open_] += add
        amount -= int(add.sum())
    return amount


@dataclass(frozen=True)
class GRPOSimulation:
    """Per-step traces of `simulate_grpo`."""

    allocation: str
    effective_gradient_ratio: np.ndarray  # rollouts in mixed groups / rollouts
    effective_prompt_ratio: np.ndarray  # prompts with a mixed group / prompts
    mean_pass_rate: np.ndarray  # mean success rate over the whole pool after the step
    max_rollouts: np.ndarray  # largest allocation in the step

    def summary(self, skip: int = 0) -> dict:
        return {
            "allocation": self.allocation,
            "effective_gradient_ratio": float(self.effective_gradient_ratio[skip:].mean()),
            "effective_prompt_ratio": float(self.effective_prompt_ratio[skip:].mean()),
            "final_pass_rate": float(self.mean_pass_rate[-1]),
            "max_rollouts": int(self.max_rollouts.max()),
        }


def simulate_grpo(
    allocation: str = "knapsack",
    *,
    n_prompts: int = 2000,
    batch_prompts: int = 256,
    rollouts_per_prompt: int = 8,
    steps: int = 200,
    mean_logit: float = 0.0,
    logit_std: float = 2.5,
    learning_rate: float = 0.5,
    min_rollouts: int = 2,
    max_rollouts: int = 128,
    method: str = "greedy",
    seed=0,
) -> GRPOSimulation:
    """A toy GRPO loop (reference §a.4). Prompt i succeeds with probability sigmoid(theta_i), theta ~ N(mean, std²).

    Each step samples ``batch_prompts`` prompts (epochs walk a fresh permutation of the pool), allocates
    ``batch_prompts * rollouts_per_prompt`` rollouts (``allocation``: ``"knapsack"``, ``"knapsackrl"`` for the
    official code's rules, or ``"uniform"``), draws Bernoulli rewards, and for each mixed group moves theta up by
    ``learning_rate * q(1 - q)`` with q the group's empirical success rate (the size of a GRPO step's signal).
    The same seed gives the same pool and the same prompt order for every allocation.
    """
    allocation = as_choice("allocation", allocation, ("knapsack", "knapsackrl", "uniform"))
    rng_pool = as_generator(seed)
    theta = rng_pool.normal(mean_logit, logit_std, n_prompts)
    order_rng = np.random.default_rng(rng_pool.integers(2**63))
    draw_rng = np.random.default_rng(rng_pool.integers(2**63))
    allocator = None
    if allocation != "uniform":
        allocator = RolloutAllocator(
            min_rollouts=min_rollouts,
            max_rollouts=max_rollouts,
            default_rollouts=rollouts_per_prompt,
            method=method,
            compat="knapsackrl" if allocation == "knapsackrl" else None,
        )
    budget = batch_prompts * rollouts_per_prompt
    egr, epr, pass_rate, biggest = (np.zeros(steps) for _ in range(4))
    perm, pos, epoch = order_rng.permutation(n_prompts), 0, 0
    for t in range(steps):
        if pos + batch_prompts > n_prompts:
            perm, pos, epoch = order_rng.permutation(n_prompts), 0, epoch + 1
        ids = perm[pos : pos + batch_prompts]
        pos += batch_prompts
        counts = np.full(ids.size, rollouts_per_prompt) if allocator is None else allocator.allocate(ids, budget)
        prob = 1.0 / (1.0 + np.exp(-theta[ids]))
        rewards = (draw_rng.random(int(counts.sum())) < np.repeat(prob, counts)).astype(float)
        successes = np.add.reduceat(rewards, np.concatenate([[0], np.cumsum(counts)[:-1]])) if counts.size else rewards
        successes = np.where(counts > 0, successes, 0)
        mixed = (successes > 0) & (successes < counts)
        egr[t] = counts[mixed].sum() / max(1, counts.sum())
        epr[t] = mixed.mean()
        q = successes / np.maximum(counts, 1)
        theta[ids[mixed]] += learning_rate * q[mixed] * (1 - q[mixed])
        if allocator is not None:
            allocator.update(np.repeat(ids, counts), rewards, epoch)
        pass_rate[t] = float((1.0 / (1.0 + np.exp(-theta))).mean())
        biggest[t] = counts.max()
    return GRPOSimulation(allocation, egr, epr, pass_rate, biggest.astype(np.int64))
