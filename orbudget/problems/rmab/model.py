"""The coupled restless bandit model (`CoupledRMAB`) and the table of constraint kinds it reads from files."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from math import comb

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.io import register_kind
from ...core.validation import as_array, as_generator, as_scalar
from ..base import Problem
from .constraint import ENUMERATION_LIMIT, Constraint
from .constraints import MultipleInterventions, RMABBudget, RMABCapacity
from .environment import RMABEnv
from .graph_constraints import BipartiteMatching, PathConstraint
from .instances import Instances

CONSTRAINTS = {c.__name__: c for c in (RMABBudget, MultipleInterventions, PathConstraint, BipartiteMatching, RMABCapacity)}
LEGACY_KINDS = {"Budget": RMABBudget, "Capacity": RMABCapacity}  # files written before the rename still load


def constraint_from_dict(d) -> Constraint:
    if isinstance(d, Constraint):
        return d
    if not isinstance(d, dict) or (d.get("kind") not in CONSTRAINTS and d.get("kind") not in LEGACY_KINDS):
        raise InvalidProblemError(f"`constraint` must be one of {', '.join(CONSTRAINTS)}; got {type(d).__name__}")
    cls = CONSTRAINTS.get(d["kind"]) or LEGACY_KINDS[d["kind"]]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class CoupledRMAB(Problem, Instances):
    """A coupled restless multi-armed bandit.

    Args:
        transitions: (J, A, S, S) row-stochastic: P_j[m, s, s'] for action level m (A ≥ 2 levels).
        rewards: (J, S) reward r_j(s') paid on the next state.
        constraint: one of `RMABBudget`, `MultipleInterventions`, `PathConstraint`,
            `BipartiteMatching`, `RMABCapacity`.
        horizon: H, steps per episode (20).
        discount: γ used by training targets and the Whittle index; default 1 − 1/H, so the effective horizon is the
            episode length (the reference used 0.99 with H = 20: see the docs page on the action gap). Results
            are undiscounted means.
        initial: (J, S) start-state distribution per arm (default: state 1 with probability 0.2, else 0, as in the
            reference evaluation).
        episodes: V, evaluation episodes (50).

    ``x`` of a result: the decisions played, shape (V, H, n_decisions); ``objective``: mean expected reward per step.

    Examples:
        >>> import orbudget as ob
        >>> p = ob.CoupledRMAB.myopic_trap()
        >>> dp, myopic = ob.solve(p, method="exact_dp"), ob.solve(p, method="myopic")
        >>> round(dp.stats["expected"], 3), round(myopic.objective, 3)   # (0.2 + 19 × 10.1)/20 and (0.4 + 19 × 1.2)/20
        (9.605, 1.16)
    """

    transitions: np.ndarray
    rewards: np.ndarray
    constraint: Constraint
    horizon: int = 20
    discount: float | None = None
    initial: np.ndarray | None = None
    episodes: int = 50

    def __post_init__(self):
        p = as_array("transitions", self.transitions, ndim=4, low=0.0, high=1.0)
        n_arms, n_levels, n_states, _ = p.shape
        if p.shape[3] != n_states or n_levels < 2:
            raise InvalidProblemError(f"`transitions` must have shape (J, A >= 2, S, S); got {p.shape}")
        rows = p.sum(axis=-1)
        if not np.allclose(rows, 1.0, atol=1e-9):
            where = tuple(int(i) for i in np.argwhere(~np.isclose(rows, 1.0, atol=1e-9))[0])
            raise InvalidProblemError(f"`transitions` rows must sum to 1; row {where} sums to {rows[where]:.6g}")
        r = as_array("rewards", self.rewards, shape=(n_arms, n_states))
        constraint = constraint_from_dict(self.constraint)
        constraint._validate(n_arms, n_levels)
        if self.initial is None:
            init = np.zeros((n_arms, n_states))
            init[:, 0], init[:, 1] = 0.8, 0.2
        else:
            init = as_array("initial", self.initial, shape=(n_arms, n_states), low=0.0, high=1.0)
            if not np.allclose(init.sum(axis=1), 1.0, atol=1e-9):
                raise InvalidProblemError("`initial` rows must sum to 1")
        self._set("transitions", p)
        self._set("rewards", r)
        self._set("constraint", constraint)
        self._set("horizon", int(as_scalar("horizon", self.horizon, integer=True, minimum=1)))
        gamma = 1.0 - 1.0 / max(self.horizon, 2) if self.discount is None else self.discount
        self._set("discount", float(as_scalar("discount", gamma, minimum=0.0, maximum=1.0)))
        self._set("initial", np.asarray(init, dtype=float))
        self._set("episodes", int(as_scalar("episodes", self.episodes, integer=True, minimum=1)))
        er = np.einsum("jmst,jt->jms", p, r)
        er.setflags(write=False)
        self._set("_expected", er)
        self._set("_cache", {})  # enumerated action sets, per limit

    @classmethod
    def from_dict(cls, d: dict):
        d = dict(d)
        d["constraint"] = constraint_from_dict(d["constraint"])
        return super().from_dict(d)

    # -- sizes and rewards -----------------------------------------------------------------------------------
    @property
    def n_arms(self) -> int:
        return self.transitions.shape[0]

    @property
    def n_states(self) -> int:
        return self.transitions.shape[2]

    @property
    def n_levels(self) -> int:
        return self.transitions.shape[1]

    @property
    def n_decisions(self) -> int:
        return self.constraint.n_decisions(self.n_arms)

    @property
    def expected_rewards(self) -> np.ndarray:
        """(J, A, S): r̄_j(s, m) = Σ_s' P_j[m, s, s'] r_j(s')."""
        return self._expected

    def reward(self, states, x) -> np.ndarray | float:
        """Expected one-step reward Σ_j r̄_j(s_j, m_j(x)); ``states`` (..., J), ``x`` (..., n) broadcast."""
        states = np.asarray(states, dtype=np.int64)
        lv = self.constraint.levels(x)
        arms = np.arange(self.n_arms)
        return self._expected[arms, lv, states].sum(axis=-1)

    def level_values(self, states) -> np.ndarray:
        """(J, A) expected one-step reward of each arm at each level, in ``states``."""
        return self._expected[np.arange(self.n_arms), :, np.asarray(states, dtype=np.int64)]

    # -- the action set --------------------------------------------------------------------------------------
    def check(self, x) -> str | None:
        """``None`` when ``x`` is a feasible decision, else the reason."""
        return self.constraint.check(x)

    def is_feasible(self, x) -> bool:
        return self.constraint.check(x) is None

    def sample_action(self, rng=None) -> np.ndarray:
        return self.constraint.sample(as_generator(rng))

    def feasible_actions(self, limit: int = ENUMERATION_LIMIT) -> np.ndarray:
        """Every feasible decision (M, n) as 0/1 rows, the empty one first; raises when there are more than
        ``limit``. Enumerates supersets only of feasible sets (the families are downward closed)."""
        key = ("actions", limit)
        cached = self._cache.get(key)
        if cached is not None:
            if isinstance(cached, str):
                raise InvalidProblemError(cached)
            return cached
        n = self.n_decisions
        c = self.constraint
        rows: list[tuple[int, ...]] = [()]
        try:
            if isinstance(c, (RMABBudget, MultipleInterventions)):
                k = c.max_selected
                total = sum(comb(n, i) for i in range(k + 1))
                if total > limit:
                    raise OverflowError(total)
                rows = [s for i in range(k + 1) for s in itertools.combinations(range(n), i)]
            else:
                candidates = np.arange(n)
                if isinstance(c, PathConstraint):
                    candidates = np.flatnonzero(c.reachable())
                stack = [((), 0)]
                rows = []
                while stack:
                    chosen, start = stack.pop()
                    rows.append(chosen)
                    if len(rows) > limit:
                        raise OverflowError(len(rows))
                    for i in range(len(candidates) - 1, start - 1, -1):
                        cand = (*chosen, int(candidates[i]))
                        x = np.zeros(n, dtype=np.int64)
                        x[list(cand)] = 1
                        if c.check(x) is None:
                            stack.append((cand, i + 1))
                rows.sort(key=lambda s: (len(s), s))
        except OverflowError:
            msg = f"the action set has more than {limit} feasible actions; use the MIP (argmax='mip', oracle='highs')"
            self._cache[key] = msg
            raise InvalidProblemError(msg) from None
        out = np.zeros((len(rows), n), dtype=np.int8)
        for i, s in enumerate(rows):
            out[i, list(s)] = 1
        out.setflags(write=False)
        self._cache[key] = out
        return out

    def count_bound(self) -> int:
        """A cheap upper bound on |C|: subsets of at most ``max_selected`` candidates (reachable nodes for a path)."""
        c = self.constraint
        n = int(c.reachable().sum()) if isinstance(c, PathConstraint) else self.n_decisions
        return sum(comb(n, i) for i in range(min(n, c.max_selected) + 1))

    def count_actions(self, limit: int = ENUMERATION_LIMIT) -> int | None:
        """|C| when it is at most ``limit``, else ``None``. Not enumerated (``None``) when `count_bound`
        exceeds 20·``limit``, so the question stays cheap on large instances."""
        if self.count_bound() > 20 * limit:
            return None
        try:
            return len(self.feasible_actions(limit))
        except InvalidProblemError:
            return None

    # -- simulation --------------------------------------------------------------------------------------------
    def env(self, seed=None, *, reward: str = "expected", initial=None) -> RMABEnv:
        """A Gymnasium-style environment (``reset``, ``step``) seeded with ``seed``."""
        return RMABEnv(self, seed=seed, reward=reward, initial=initial)

    def null_value(self) -> float:
        """Exact mean reward per step of never acting (arms evolve independently)."""
        dist = self.initial.copy()
        total = 0.0
        p0 = self.transitions[:, 0]
        er0 = self._expected[:, 0]
        for _ in range(self.horizon):
            total += float((dist * er0).sum())
            dist = np.einsum("js,jst->jt", dist, p0)
        return total / self.horizon
