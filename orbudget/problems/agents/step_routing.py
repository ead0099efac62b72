"""`StepRouting` ("Budget-Aware Agentic Routing"): a model per step of an episode under a strict per-task budget."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ...core.io import register_kind
from ...core.validation import as_array, as_generator, as_probabilities, as_scalar
from ..base import Problem
from ..llm._fields import _names


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class StepRouting(Problem):
    """Pick a model at every step of an episode; the reward (1) comes at the end if every step succeeded.

    Step t with model m succeeds with probability ``success_rates[t, m]`` and costs one of ``costs[t, m]`` (equally
    likely whole numbers: token counts times a price; a (H, M) array for fixed costs). A call is made only when its
    largest cost fits in what is left of ``budget``, so no episode overspends; with no call that fits, the episode
    fails. A finite-horizon constrained MDP over (step, remaining budget), solved exactly by dynamic programming
    (method ``dp``) as the bidding family's RLB does over (auctions left, budget left); ``small`` and ``large``
    are the boundary policies (always the cheapest, always the strongest model that fits).

    Examples:
        >>> import orbudget as ob
        >>> p = ob.StepRouting(success_rates=[[0.7, 0.95]] * 3, costs=[[1, 4]] * 3, budget=9)
        >>> round(ob.solve(p).objective, 5)  # one step on the small model, two on the large: 0.7 · 0.95²
        0.63175
    """

    success_rates: np.ndarray
    costs: np.ndarray
    budget: int
    model_names: tuple | None = None

    def __post_init__(self):
        p = as_probabilities("success_rates", self.success_rates, ndim=2)
        c = np.asarray(self.costs)
        if c.ndim == 2:
            c = c[:, :, None]
        c = as_array("costs", c, shape=(p.shape[0], p.shape[1], None), dtype=int, nonnegative=True)
        self._set("success_rates", p)
        self._set("costs", c)
        self._set("budget", as_scalar("budget", self.budget, integer=True, minimum=0))
        self._set("model_names", _names("model_names", self.model_names, p.shape[1]))

    def __repr__(self) -> str:
        return f"StepRouting({self.horizon} steps, {self.n_models} models, budget={self.budget})"

    @property
    def horizon(self) -> int:
        return self.success_rates.shape[0]

    @property
    def n_models(self) -> int:
        return self.success_rates.shape[1]

    @property
    def worst_costs(self) -> np.ndarray:
        """(H, M) the largest cost of each call."""
        return self.costs.max(axis=2)

    @property
    def mean_costs(self) -> np.ndarray:
        return self.costs.mean(axis=2)

    @property
    def small(self) -> int:
        """The cheapest model (by mean cost over the episode)."""
        return int(self.mean_costs.sum(axis=0).argmin())

    @property
    def large(self) -> int:
        """The strongest model (by mean success rate over the episode)."""
        return int(self.success_rates.mean(axis=0).argmax())

    def with_budget(self, budget) -> StepRouting:
        return dataclasses.replace(self, budget=budget)

    @classmethod
    def random(cls, horizon: int = 8, *, n_costs: int = 3, budget_fraction: float = 0.5, seed=None) -> StepRouting:
        """Two models: small (success U(0.6, 0.9), 1 to 3 cost units per call) and large (success 0.05 to 0.3 higher,
        capped at 0.99; 4 to 10 units), ``n_costs`` equally likely costs per call; the budget is ``budget_fraction``
        of the way from the always-small worst case to the always-large worst case."""
        h = as_scalar("horizon", horizon, integer=True, minimum=1)
        k = as_scalar("n_costs", n_costs, integer=True, minimum=1)
        frac = as_scalar("budget_fraction", budget_fraction, minimum=0.0, maximum=1.0)
        rng = as_generator(seed)
        small = rng.uniform(0.6, 0.9, h)
        p = np.stack([small, np.minimum(0.99, small + rng.uniform(0.05, 0.3, h))], axis=1).round(3)
        costs = np.stack([rng.integers(1, 4, (h, k)), rng.integers(4, 11, (h, k))], axis=1)
        lo, hi = costs[:, 0].max(axis=1).sum(), costs[:, 1].max(axis=1).sum()
        return cls(success_rates=p, costs=costs, budget=int(lo + frac * (hi - lo)), model_names=("small", "large"))
