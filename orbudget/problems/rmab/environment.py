"""The simulator of a coupled restless bandit, with Gymnasium's interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.validation import as_array, as_generator

if TYPE_CHECKING:
    from .model import CoupledRMAB


class RMABEnv:
    """Gymnasium-style environment over a `CoupledRMAB` (no gymnasium dependency).

    ``reset(seed=None) -> (states, info)``; ``step(x) -> (states, reward, terminated, truncated, info)``. The reward
    is the expected one-step reward (``reward='expected'``, the reference's choice: it removes reward noise) or the
    sampled r(s') (``'sampled'``). Each step draws one uniform per arm, so two policies run with the same seed see
    the same randomness (common random numbers). Episodes truncate after ``horizon`` steps; an infeasible ``x``
    raises `InvalidProblemError` with the checker's reason.
    """

    def __init__(self, problem: CoupledRMAB, seed=None, reward: str = "expected", initial=None):
        if reward not in ("expected", "sampled"):
            raise InvalidProblemError(f"`reward` must be 'expected' or 'sampled'; got {reward!r}")
        self.problem = problem
        self.reward_kind = reward
        self.initial = problem.initial if initial is None else as_array("initial", initial, shape=problem.initial.shape)
        self._cum_init = np.cumsum(self.initial, axis=1)
        self._cum = np.cumsum(problem.transitions, axis=-1)
        self.rng = as_generator(seed)
        self.n_arms, self.n_states, self.n_decisions = problem.n_arms, problem.n_states, problem.n_decisions
        self.states = None
        self.t = 0
        self._checked: dict[bytes, str | None] = {}

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = as_generator(seed)
        u = self.rng.random(self.n_arms)
        self.states = np.minimum((u[:, None] > self._cum_init).sum(axis=1), self.n_states - 1)
        self.t = 0
        return self.states.copy(), {"t": 0}

    def step(self, x):
        if self.states is None:
            raise RuntimeError("call reset() before step()")
        x = np.asarray(x, dtype=np.int64)
        key = x.tobytes()
        if key not in self._checked:
            self._checked[key] = (
                self.problem.check(x) if x.shape == (self.n_decisions,) else f"shape {x.shape}, expected ({self.n_decisions},)"
            )
        reason = self._checked[key]
        if reason is not None:
            raise InvalidProblemError(f"`action` is infeasible: {reason}")
        p = self.problem
        levels = p.constraint.levels(x)
        arms = np.arange(self.n_arms)
        expected = float(p.expected_rewards[arms, levels, self.states].sum())
        u = self.rng.random(self.n_arms)
        nxt = np.minimum((u[:, None] > self._cum[arms, levels, self.states]).sum(axis=1), self.n_states - 1)
        sampled = float(p.rewards[arms, nxt].sum())
        self.states = nxt
        self.t += 1
        reward = expected if self.reward_kind == "expected" else sampled
        return (
            nxt.copy(),
            reward,
            False,
            self.t >= p.horizon,
            {"t": self.t, "levels": levels, "expected": expected, "sampled": sampled},
        )
