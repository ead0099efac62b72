"""Ready instances of the coupled restless bandit (the paper's §1.0 arms under each constraint family, the
myopic trap) and the London Underground graphs; `CoupledRMAB` has them as class methods."""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.validation import as_array, as_generator, as_scalar
from .constraint import require_memory
from .constraints import MultipleInterventions, RMABBudget, RMABCapacity
from .graph_constraints import BipartiteMatching, PathConstraint

if TYPE_CHECKING:
    from .model import CoupledRMAB


class Instances:
    """The ready-instance class methods of `CoupledRMAB` (``ob.CoupledRMAB.budget(...)`` and the others)."""

    @staticmethod
    def chain(up, n_states: int = 4) -> np.ndarray:
        """Birth-death chains: from s go up with probability ``up[..., m]`` else down, clipped to [0, S−1]; returns
        (..., A, S, S)."""
        up = as_array("up", up, low=0.0, high=1.0, allow_empty=True)
        n_states = int(as_scalar("n_states", n_states, integer=True, minimum=1))
        require_memory("n_states", 8 * up.size * n_states * n_states, f"the transition tables for {n_states} states")
        p = np.zeros((*up.shape, n_states, n_states))
        for s in range(n_states):
            p[..., s, min(s + 1, n_states - 1)] += up
            p[..., s, max(s - 1, 0)] += 1 - up
        return p

    @classmethod
    def _arms(cls, rng, n_arms: int, n_good: int, n_states: int = 4):
        """§1.0 arms: passive up-probability U(0, 0.2), active U(0.7, 0.9); arms j < n_good pay (0.2, 0.15, 0.1, R),
        R ∈ {4, 5, 6}, the others (0.1, 0.15, 0.2, R), R ∈ {1, 2, 3}: acting on a good arm in a low state lowers the
        next reward (the myopic trap)."""
        up = np.stack([rng.uniform(0, 0.2, n_arms), rng.uniform(0.7, 0.9, n_arms)], axis=1)
        rewards = np.zeros((n_arms, 4))
        good = np.arange(n_arms) < n_good
        rewards[good, :3] = (0.2, 0.15, 0.1)
        rewards[~good, :3] = (0.1, 0.15, 0.2)
        rewards[:, 3] = np.where(good, rng.integers(4, 7, n_arms), rng.integers(1, 4, n_arms))
        return cls.chain(up, n_states), rewards

    @classmethod
    def budget(cls, n_arms: int = 10, budget: int = 3, *, seed=None, **kw) -> CoupledRMAB:
        """The §1.0 arms under a plain budget Σx ≤ B."""
        n_arms, budget = _size(n_arms, budget)
        p, r = cls._arms(as_generator(seed), n_arms, budget)
        return cls(transitions=p, rewards=r, constraint=RMABBudget(budget=budget, n_arms=n_arms), **kw)

    @classmethod
    def path(cls, n_arms: int = 20, budget: int = 5, *, graph=None, seed=None, **kw) -> CoupledRMAB:
        """Routing: the §1.0 arms on the nodes of a London Underground subgraph (J ∈ {20, 40, 60, 80, 100}, the
        reference's graphs, embedded) or of ``graph`` = (n_nodes, edges, source); act on at most B arms on a
        closed walk of 2B moves from the source."""
        n_arms, budget = _size(n_arms, budget)
        if graph is None:
            graph = london_graph(n_arms)
        n_nodes, edges, source = graph
        if n_nodes != n_arms:
            raise InvalidProblemError(f"`graph` has {n_nodes} nodes for {n_arms} arms")
        p, r = cls._arms(as_generator(seed), n_arms, budget)
        return cls(
            transitions=p, rewards=r, constraint=PathConstraint(n_nodes=n_nodes, edges=edges, source=source, budget=budget), **kw
        )

    @classmethod
    def matching(
        cls, n_arms: int = 20, budget: int = 5, *, n_slots: int = 5, distinct_workers: bool = False, seed=None, **kw
    ) -> CoupledRMAB:
        """Scheduling: W = B workers, K slots; each arm is available in 2 slots drawn with probabilities increasing
        in the slot index, each worker in 3 slots with decreasing probabilities (anti-correlated, so matching is
        tight); a pulled arm needs 2 visits."""
        n_arms, budget = _size(n_arms, budget)
        n_slots = int(as_scalar("n_slots", n_slots, integer=True, minimum=3))
        rng = as_generator(seed)
        p, r = cls._arms(rng, n_arms, budget)
        inc = np.arange(1, n_slots + 1, dtype=float)
        arms = np.zeros((n_arms, n_slots), dtype=np.int64)
        workers = np.zeros((budget, n_slots), dtype=np.int64)
        for j in range(n_arms):
            arms[j, rng.choice(n_slots, 2, replace=False, p=inc / inc.sum())] = 1
        for w in range(budget):
            workers[w, rng.choice(n_slots, 3, replace=False, p=inc[::-1] / inc.sum())] = 1
        c = BipartiteMatching(arm_slots=arms, worker_slots=workers, budget=budget, distinct_workers=distinct_workers)
        return cls(transitions=p, rewards=r, constraint=c, **kw)

    @classmethod
    def capacity(cls, n_arms: int = 20, budget: int = 5, *, seed=None, **kw) -> CoupledRMAB:
        """Capacities: W = B workers with capacity U{2..7}, arm costs U{2..6}."""
        n_arms, budget = _size(n_arms, budget)
        rng = as_generator(seed)
        p, r = cls._arms(rng, n_arms, budget)
        c = RMABCapacity(costs=rng.integers(2, 7, n_arms), capacities=rng.integers(2, 8, max(budget, 1)))
        return cls(transitions=p, rewards=r, constraint=c, **kw)

    @classmethod
    def multiple_interventions(
        cls, n_arms: int = 20, n_interventions: int = 10, budget: int = 5, *, seed=None, **kw
    ) -> CoupledRMAB:
        """Interventions with complementarity (§1.1): arms j ≥ ⌈J·B/N⌉ have a steep sigmoid link that needs about
        three simultaneous interventions; the others a shallow one that one intervention already helps. B "good"
        interventions, grouped in threes, each group hitting the same 3 steep arms; leftovers hit 3 fresh steep arms
        alone; the other interventions hit 3 shallow arms each. Up-probability
        φ(x) = 0.98·α·[σ(βx − x0) − σ(−x0)] + 0.01 at x = 3·(interventions hitting the arm). The steep arms carry
        the high rewards (the reference gave them to arms j < B regardless of link, which hides the triples)."""
        n_arms = int(as_scalar("n_arms", n_arms, integer=True, minimum=3))
        n_int = int(as_scalar("n_interventions", n_interventions, integer=True, minimum=1))
        budget = int(as_scalar("budget", budget, integer=True, minimum=0, maximum=n_int))
        rng = as_generator(seed)
        n_shallow = min(n_arms - 3, int(np.ceil(n_arms * budget / n_int)))
        steep = np.arange(n_shallow, n_arms)
        shallow = np.arange(n_shallow)
        hits = np.zeros((n_arms, n_int), dtype=np.int64)
        order = rng.permutation(n_int)
        good, bad = order[:budget], order[budget:]
        cursor = 0

        def fresh(pool, k=3):
            nonlocal cursor
            out = [pool[(cursor + i) % len(pool)] for i in range(k)] if len(pool) else []
            cursor += k
            return out

        for g in range(0, budget - budget % 3, 3):
            arms3 = fresh(steep)
            for i in good[g : g + 3]:
                hits[arms3, i] = 1
        for i in good[budget - budget % 3 :]:
            hits[fresh(steep), i] = 1
        cursor = 0
        for i in bad:
            hits[fresh(shallow) if len(shallow) else fresh(steep), i] = 1
        is_steep = np.zeros(n_arms, bool)
        is_steep[steep] = True
        alpha = np.where(is_steep, rng.uniform(0.7, 1.0, n_arms), rng.uniform(0.2, 0.5, n_arms))
        beta = np.where(is_steep, rng.uniform(1.4, 1.9, n_arms), 1.0)
        x0 = np.where(is_steep, rng.integers(9, 11, n_arms), rng.integers(1, 3, n_arms)).astype(float)
        n_levels = int(hits.sum(axis=1).max()) + 1
        n_levels = max(n_levels, 2)
        xs = 3.0 * np.arange(n_levels)
        sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
        up = 0.98 * alpha[:, None] * (sig(beta[:, None] * xs[None] - x0[:, None]) - sig(-x0[:, None])) + 0.01
        up = np.clip(up, 0.0, 1.0)
        _, r = cls._arms(rng, n_arms, 0)
        r[is_steep, :3] = (0.2, 0.15, 0.1)
        r[is_steep, 3] = rng.integers(4, 7, is_steep.sum())
        return cls(transitions=cls.chain(up), rewards=r, constraint=MultipleInterventions(hits=hits, budget=budget), **kw)

    @classmethod
    def myopic_trap(cls, **kw) -> CoupledRMAB:
        """The reference's stylised instance: two deterministic 3-state arms, budget 1. Acting moves an arm up,
        resting moves it down. Arm 0 pays (0.2, 0.1, 10), arm 1 (0.1, 0.2, 1): myopic keeps acting on arm 1
        (≈ 1.2 per step); acting twice on arm 0 reaches 10.1 per step."""
        up = np.array([[0.0, 1.0], [0.0, 1.0]])
        kw.setdefault("initial", np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
        return cls(
            transitions=cls.chain(up, 3),
            rewards=[[0.2, 0.1, 10.0], [0.1, 0.2, 1.0]],
            constraint=RMABBudget(budget=1, n_arms=2),
            **kw,
        )


def _size(n_arms, budget):
    return (int(as_scalar("n_arms", n_arms, integer=True, minimum=1)), int(as_scalar("budget", budget, integer=True, minimum=0)))


def london_graph(n_nodes: int, path=None) -> tuple[int, np.ndarray, int]:
    """``(n_nodes, edges, source)`` of the reference's London Underground subgraph with ``n_nodes`` stations
    (20, 40, 60, 80 or 100), from the embedded copy of ``london_tube/graphs.json`` or from ``path``."""
    if path is None:
        text = resources.files("orbudget.data").joinpath("london_tube.json").read_text()
    else:
        with open(path) as fh:
            text = fh.read()
    graphs = json.loads(text)["graphs"]
    if str(n_nodes) not in graphs:
        raise InvalidProblemError(
            f"`n_arms` must be one of {sorted(int(k) for k in graphs)} for the London graphs; got {n_nodes}"
        )
    g = graphs[str(n_nodes)]
    return int(g["n_nodes"]), np.asarray(g["edges"], dtype=np.int64), int(g["source"])
