"""Coupled restless bandits with combinatorial actions (Xu, Wilder, Khalil, Tambe, ICLR 2025, "SEQUOIA").

J arms, each a small Markov chain on states 0..S−1. Each step a binary decision vector ``x`` is chosen from a
combinatorial set C (a budget, interventions that act on several arms, a route through a graph, a worker-slot
matching, worker capacities); ``x`` fixes each arm's *action level* m_j (0 = passive, 1 = acted on; with
multiple interventions, the number of interventions hitting the arm). Arm j then moves from s to s' with
probability P_j[m_j, s, s'] and pays r_j(s'). The metric is the mean over episodes and steps of the expected
reward $\\sum_j \\bar r_j(s_j, m_j)$, $\\bar r_j(s, m) = \\sum_{s'} P_j[m, s, s'] r_j(s')$.

Every constraint family here is *downward closed* (dropping a pulled arm or an intervention keeps the action
feasible), the empty action is always feasible, and each family has an independent feasibility checker
(`Constraint.check`: counting, BFS, max-flow, bin-packing search; never a MIP) that the solvers' MIP and
CP-SAT models are tested against.

Choices where the reference code (lily-x/combinatorial-rmab) is inconsistent or wrong, see the docs page:

- ``PathConstraint``: a closed walk of at most ``length`` (default 2B) moves from the source, waiting allowed;
  pulled arms must lie on it. The reference MIP let a chain of self-loops "visit" any node; ours cannot.
- ``BipartiteMatching``: a pulled arm gets exactly ``visits`` (worker, slot) pairs, both available in that slot,
  each (worker, slot) used once. The reference MIP lets one worker make both visits (its baselines do not):
  ``distinct_workers=False`` (default) is the MIP's meaning, ``True`` the baselines'.
- ``Capacity``: each pulled arm is assigned to one worker, loads within capacities; no separate budget row
  (as in the reference; the capacities bound the count).
- ``MultipleInterventions``: at most B interventions (the environment's rule; the reference MIP forced = B).
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import json
from collections import deque
from dataclasses import dataclass
from importlib import resources
from math import comb

import numpy as np

from ..core.display import model_repr
from ..core.errors import InvalidProblemError
from ..core.io import register_kind, values_equal
from ..core.validation import as_array, as_bool, as_generator, as_scalar, memory_limit
from .base import Problem

ENUMERATION_LIMIT = 200_000  # feasible actions enumerated at most (beyond: the MIP)


def _gib(nbytes: int) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def require_memory(field: str, nbytes: int, what: str) -> None:
    """Raise InvalidProblemError naming ``field`` when ``what`` would need more than `memory_limit` bytes:
    sizes are computed before anything is allocated, so a huge horizon or state space is a clear error, never a
    MemoryError halfway through."""
    limit = memory_limit()
    if nbytes > limit:
        raise InvalidProblemError(f"`{field}` is too large: {what} needs {_gib(nbytes)} of memory, more than the "
                                  f"{_gib(limit)} allowed (min of 8 GiB and half the available memory)")


# -- constraint families ---------------------------------------------------------------------------------------
class Constraint(abc.ABC):
    """A combinatorial action set C over binary decisions ``x`` (length `n_decisions`)."""

    decision = "arm"  # what one decision bit selects

    def __repr__(self) -> str:
        return model_repr(self)  # sizes and scalars, not the graph arrays

    def n_decisions(self, n_arms: int) -> int:
        return n_arms

    def levels(self, x) -> np.ndarray:
        """Arm action levels for decision(s) ``x`` (..., n) -> (..., J) ints."""
        return np.asarray(x, dtype=np.int64)

    @property
    @abc.abstractmethod
    def max_selected(self) -> int:
        """An upper bound on Σx over C (used by the interval bounds of the Q-network MIP)."""

    def level_budget(self) -> int:
        """K with Σ_j w_j m_j ≤ K for every action in C (w = `level_weights`): the single row the Lagrangian
        bound prices."""
        return self.max_selected

    def level_weights(self, n_arms: int) -> np.ndarray:
        """w in the relaxation Σ_j w_j m_j ≤ K (ones: a cardinality row)."""
        return np.ones(n_arms)

    @abc.abstractmethod
    def check(self, x) -> str | None:
        """``None`` when ``x`` is feasible, else the reason (independent of any solver)."""

    @abc.abstractmethod
    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A random feasible decision, built with a certificate (cheap; used by ``random``, ``sampling``, exploration)."""

    @abc.abstractmethod
    def _validate(self, n_arms: int) -> None:
        """Raise InvalidProblemError when the constraint does not fit a bandit with ``n_arms`` arms."""

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["kind"] = type(self).__name__
        return d

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return values_equal(self.to_dict(), other.to_dict())

    __hash__ = None

    def _binary(self, x) -> np.ndarray | str:
        x = np.asarray(x)
        if x.ndim != 1:
            return f"a decision must be a vector; got shape {x.shape}"
        if x.size and not np.isin(x, (0, 1)).all():
            return "a decision must be 0/1"
        return x.astype(np.int64)


def _random_subset(rng, n: int, k: int) -> np.ndarray:
    x = np.zeros(n, dtype=np.int64)
    x[rng.permutation(n)[: min(k, n)]] = 1
    return x


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class Budget(Constraint):
    """Act on at most ``budget`` arms: Σ_j x_j ≤ B (the classic restless bandit)."""

    budget: int
    n_arms: int

    def __post_init__(self):
        object.__setattr__(self, "budget", int(as_scalar("constraint.budget", self.budget, integer=True, minimum=0)))
        object.__setattr__(self, "n_arms", int(as_scalar("constraint.n_arms", self.n_arms, integer=True, minimum=1)))

    @property
    def max_selected(self) -> int:
        return min(self.budget, self.n_arms)

    def _validate(self, n_arms):
        if self.n_arms != n_arms:
            raise InvalidProblemError(f"`constraint.n_arms` must equal the number of arms ({n_arms}); got {self.n_arms}")

    def check(self, x):
        x = self._binary(x)
        if isinstance(x, str):
            return x
        if x.size != self.n_arms:
            return f"the decision has {x.size} entries for {self.n_arms} arms"
        if x.sum() > self.budget:
            return f"acts on {int(x.sum())} arms; the budget is {self.budget}"
        return None

    def sample(self, rng):
        return _random_subset(rng, self.n_arms, self.budget)


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class MultipleInterventions(Constraint):
    """Choose at most ``budget`` of N interventions; ``hits`` (J, N) 0/1 says which arms each acts on. Arm j's level
    is the number of chosen interventions that hit it, m_j = Σ_i hits[j, i]·a_i (so P_j has one slice per count)."""

    hits: np.ndarray
    budget: int
    decision = "intervention"

    def __post_init__(self):
        hits = as_array("constraint.hits", self.hits, ndim=2, dtype=int, low=0, high=1)
        object.__setattr__(self, "hits", hits)
        object.__setattr__(self, "budget", int(as_scalar("constraint.budget", self.budget, integer=True, minimum=0)))

    def n_decisions(self, n_arms):
        return self.hits.shape[1]

    def levels(self, x):
        return np.asarray(x, dtype=np.int64) @ self.hits.T

    @property
    def max_selected(self):
        return min(self.budget, self.hits.shape[1])

    def level_budget(self):
        # Σ_j m_j = Σ_i deg_i a_i ≤ (sum of the B largest intervention degrees)
        deg = np.sort(self.hits.sum(axis=0))[::-1]
        return int(deg[: self.max_selected].sum())

    def _validate(self, n_arms):
        if self.hits.shape[0] != n_arms:
            raise InvalidProblemError(f"`constraint.hits` must have one row per arm ({n_arms}); got {self.hits.shape[0]}")

    def check(self, x):
        x = self._binary(x)
        if isinstance(x, str):
            return x
        if x.size != self.hits.shape[1]:
            return f"the decision has {x.size} entries for {self.hits.shape[1]} interventions"
        if x.sum() > self.budget:
            return f"uses {int(x.sum())} interventions; the budget is {self.budget}"
        return None

    def sample(self, rng):
        return _random_subset(rng, self.hits.shape[1], self.budget)


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class PathConstraint(Constraint):
    """Act on at most ``budget`` arms (graph nodes), all on one closed walk from ``source`` of at most ``length``
    moves along ``edges`` (default 2·budget); the walker may wait at a node."""

    n_nodes: int
    edges: np.ndarray
    source: int
    budget: int
    length: int | None = None

    def __post_init__(self):
        n = int(as_scalar("constraint.n_nodes", self.n_nodes, integer=True, minimum=1))
        edges = as_array("constraint.edges", self.edges, shape=(None, 2), dtype=int, low=0, high=n - 1, allow_empty=True)
        if edges.size and (edges[:, 0] == edges[:, 1]).any():
            raise InvalidProblemError("`constraint.edges` must not contain self-loops (waiting is always allowed)")
        src = int(as_scalar("constraint.source", self.source, integer=True, minimum=0, maximum=n - 1))
        budget = int(as_scalar("constraint.budget", self.budget, integer=True, minimum=0))
        length = 2 * budget if self.length is None else int(as_scalar("constraint.length", self.length, integer=True,
                                                                       minimum=0))
        for name, v in (("n_nodes", n), ("edges", edges.reshape(-1, 2)), ("source", src), ("budget", budget),
                        ("length", length)):
            object.__setattr__(self, name, v)
        adj = [[] for _ in range(n)]
        for u, v in self.edges:
            adj[u].append(int(v))
            adj[v].append(int(u))
        object.__setattr__(self, "_adj", tuple(tuple(sorted(set(a))) for a in adj))
        object.__setattr__(self, "_dist", _bfs_tree(self._adj, src)[0])

    @property
    def neighbors(self) -> tuple:
        return self._adj

    @property
    def distances(self) -> np.ndarray:
        """Hop distance from the source (a large number where unreachable)."""
        return self._dist

    @property
    def max_selected(self):
        return min(self.budget, self.n_nodes, self.length + 1)

    def _validate(self, n_arms):
        if self.n_nodes != n_arms:
            raise InvalidProblemError(f"`constraint.n_nodes` must equal the number of arms ({n_arms}); got {self.n_nodes}")

    def reachable(self) -> np.ndarray:
        """Nodes a closed walk of ``length`` moves can visit: distance ≤ length // 2."""
        return self._dist <= self.length // 2

    def check(self, x):
        x = self._binary(x)
        if isinstance(x, str):
            return x
        if x.size != self.n_nodes:
            return f"the decision has {x.size} entries for {self.n_nodes} nodes"
        pulled = np.flatnonzero(x)
        if pulled.size > self.budget:
            return f"acts on {pulled.size} arms; the budget is {self.budget}"
        far = pulled[self._dist[pulled] > self.length // 2]
        if far.size:
            return f"arm {int(far[0])} is {int(self._dist[far[0]])} hops from the source; a closed walk of " \
                   f"{self.length} moves reaches {self.length // 2}"
        return None if self.walk(x) is not None else f"no closed walk of {self.length} moves from the source covers them"

    def walk(self, x) -> list[int] | None:
        """A closed walk from the source (node list, waits omitted) of at most ``length`` moves visiting every
        pulled node, or ``None``. The shortest such walk goes between consecutive first visits along shortest
        paths, so its length is the shortest tour through the source and the pulled nodes in the hop metric: a
        nearest-neighbour tour is tried first, then the exact Held–Karp dynamic program over subsets."""
        pulled = [int(j) for j in np.flatnonzero(np.asarray(x)) if j != self.source]
        nodes = [self.source, *pulled]
        if any(self._dist[j] > self.length // 2 for j in pulled):
            return None
        paths = [_bfs_tree(self._adj, u) for u in nodes]  # (distances, parents) from each of the k + 1 nodes
        dist = np.array([[paths[a][0][b] for b in nodes] for a in range(len(nodes))], dtype=np.int64)
        order, left, cur, total = [], set(range(1, len(nodes))), 0, 0
        while left:  # nearest neighbour
            nxt = min(left, key=lambda b: (dist[cur, b], b))
            total += dist[cur, nxt]
            order.append(nxt)
            left.discard(nxt)
            cur = nxt
        total += dist[cur, 0]
        if total > self.length:
            from ._numerics import held_karp

            total, tour = held_karp(dist)
            order = [int(i) for i in tour]
            if total > self.length:
                return None
        route = [self.source]
        for a, b in zip([0, *order], [*order, 0]):
            route += _path_between(paths[a][1], nodes[a], nodes[b])
        return route

    def sample(self, rng):
        """A random closed walk (each move to a neighbour or a wait, staying within reach of the way back), then up
        to ``budget`` of its nodes at random."""
        node, seen = self.source, {self.source}
        for t in range(self.length):
            left = self.length - t - 1
            options = [v for v in (node, *self._adj[node]) if self._dist[v] <= left]
            node = options[int(rng.integers(len(options)))]
            seen.add(node)
        seen = np.array(sorted(seen))
        x = np.zeros(self.n_nodes, dtype=np.int64)
        x[rng.permutation(seen)[: self.budget]] = 1
        return x


def _bfs_tree(adj, source):
    """``(distances, parents)`` of a breadth-first search from ``source``."""
    dist = np.full(len(adj), 10**9, dtype=np.int64)
    parent = np.full(len(adj), -1, dtype=np.int64)
    dist[source] = 0
    queue = deque([source])
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if dist[v] > dist[u] + 1:
                dist[v], parent[v] = dist[u] + 1, u
                queue.append(v)
    return dist, parent


def _path_between(parent_from_a, a, b) -> list[int]:
    """Nodes after ``a`` on a shortest path from ``a`` to ``b`` (``parent_from_a``: the BFS tree rooted at a)."""
    out = []
    while b != a:
        out.append(int(b))
        b = parent_from_a[b]
    return out[::-1]


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class BipartiteMatching(Constraint):
    """Scheduling: W workers and K time slots; ``arm_slots`` (J, K) and ``worker_slots`` (W, K) say who is available
    when. A pulled arm gets exactly ``visits`` (worker, slot) pairs, both available in that slot, and each (worker,
    slot) serves one arm; at most ``budget`` arms (default W). ``distinct_workers``: the visits come from different
    workers (the reference baselines' rule; the reference MIP allows one worker twice, our default)."""

    arm_slots: np.ndarray
    worker_slots: np.ndarray
    budget: int | None = None
    visits: int = 2
    distinct_workers: bool = False

    def __post_init__(self):
        arms = as_array("constraint.arm_slots", self.arm_slots, ndim=2, dtype=int, low=0, high=1)
        workers = as_array("constraint.worker_slots", self.worker_slots, shape=(None, arms.shape[1]), dtype=int, low=0,
                           high=1)
        budget = workers.shape[0] if self.budget is None else self.budget
        object.__setattr__(self, "arm_slots", arms)
        object.__setattr__(self, "worker_slots", workers)
        object.__setattr__(self, "budget", int(as_scalar("constraint.budget", budget, integer=True, minimum=0)))
        object.__setattr__(self, "visits", int(as_scalar("constraint.visits", self.visits, integer=True, minimum=1)))
        object.__setattr__(self, "distinct_workers", as_bool("constraint.distinct_workers", self.distinct_workers))

    @property
    def n_workers(self) -> int:
        return self.worker_slots.shape[0]

    @property
    def max_selected(self):
        return min(self.budget, self.arm_slots.shape[0])

    def _validate(self, n_arms):
        if self.arm_slots.shape[0] != n_arms:
            raise InvalidProblemError(f"`constraint.arm_slots` must have one row per arm ({n_arms}); got "
                                      f"{self.arm_slots.shape[0]}")

    def triples(self) -> np.ndarray:
        """(worker, arm, slot) triples where both are available, shape (P, 3)."""
        w, j, k = np.nonzero(self.worker_slots[:, None, :] & self.arm_slots[None, :, :])
        return np.stack([w, j, k], axis=1)

    def check(self, x):
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import maximum_flow

        x = self._binary(x)
        if isinstance(x, str):
            return x
        n_arms, n_slots = self.arm_slots.shape
        if x.size != n_arms:
            return f"the decision has {x.size} entries for {n_arms} arms"
        pulled = np.flatnonzero(x)
        if pulled.size > self.budget:
            return f"acts on {pulled.size} arms; the budget is {self.budget}"
        if pulled.size == 0:
            return None
        # source -> arm (visits) -> [arm-worker (1) if distinct] -> worker-slot (1) -> sink
        nw = self.n_workers
        arm_node = {j: 1 + i for i, j in enumerate(pulled)}
        base = 1 + pulled.size
        pair_node = {}
        ws_node = lambda w, k: base + len(pulled) * nw * self.distinct_workers + w * n_slots + k  # noqa: E731
        sink = base + len(pulled) * nw * self.distinct_workers + nw * n_slots
        rows, cols, caps = [], [], []
        for j in pulled:
            rows.append(0), cols.append(arm_node[j]), caps.append(self.visits)
            for w in range(nw):
                common = np.flatnonzero(self.arm_slots[j] & self.worker_slots[w])
                if not common.size:
                    continue
                src = arm_node[j]
                if self.distinct_workers:
                    pair_node[j, w] = base + (arm_node[j] - 1) * nw + w
                    rows.append(src), cols.append(pair_node[j, w]), caps.append(1)
                    src = pair_node[j, w]
                for k in common:
                    rows.append(src), cols.append(ws_node(w, k)), caps.append(1)
        for w in range(nw):
            for k in range(n_slots):
                rows.append(ws_node(w, k)), cols.append(sink), caps.append(1)
        graph = csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(sink + 1, sink + 1))
        flow = maximum_flow(graph, 0, sink).flow_value
        need = self.visits * pulled.size
        return None if flow == need else f"only {flow} of the {need} (worker, slot) visits can be scheduled"

    def sample(self, rng):
        """Arms in random order, each added when ``visits`` free (worker, slot) pairs can be found for it greedily."""
        n_arms, n_slots = self.arm_slots.shape
        free = self.worker_slots.astype(bool).copy()
        x = np.zeros(n_arms, dtype=np.int64)
        for j in rng.permutation(n_arms):
            if x.sum() >= self.budget:
                break
            pairs = [(w, k) for w, k in zip(*np.nonzero(free & self.arm_slots[j].astype(bool)[None, :]))]
            pairs = [pairs[i] for i in rng.permutation(len(pairs))]
            chosen, used_w = [], set()
            for w, k in pairs:
                if self.distinct_workers and w in used_w:
                    continue
                chosen.append((w, k))
                used_w.add(w)
                if len(chosen) == self.visits:
                    break
            if len(chosen) == self.visits:
                x[j] = 1
                for w, k in chosen:
                    free[w, k] = False
        return x


@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class Capacity(Constraint):
    """Workers with integer ``capacities`` (W,); arm j costs ``costs[j]``; the pulled arms must be split among the
    workers with every load within capacity (a multiple-knapsack / bin-packing feasibility condition)."""

    costs: np.ndarray
    capacities: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "costs", as_array("constraint.costs", self.costs, ndim=1, dtype=int, low=1))
        object.__setattr__(self, "capacities", as_array("constraint.capacities", self.capacities, ndim=1, dtype=int,
                                                         low=0))

    @property
    def max_selected(self):
        c = np.sort(self.costs)
        return int(np.searchsorted(np.cumsum(c), int(self.capacities.sum()), side="right"))

    def level_budget(self):
        return int(self.capacities.sum())  # Σ_j c_j x_j ≤ Σ_w b_w: tighter than counting arms

    def level_weights(self, n_arms):
        return self.costs.astype(float)

    def _validate(self, n_arms):
        if self.costs.size != n_arms:
            raise InvalidProblemError(f"`constraint.costs` must have one entry per arm ({n_arms}); got {self.costs.size}")

    def check(self, x):
        x = self._binary(x)
        if isinstance(x, str):
            return x
        if x.size != self.costs.size:
            return f"the decision has {x.size} entries for {self.costs.size} arms"
        items = sorted((int(c) for c in self.costs[x == 1]), reverse=True)
        if pack(items, [int(b) for b in self.capacities]) is None:
            return f"arms of costs {items} do not fit workers of capacities {self.capacities.tolist()}"
        return None

    def sample(self, rng):
        """Arms in random order, each placed first-fit into workers taken in random order."""
        left = self.capacities.astype(np.int64).copy()
        order = rng.permutation(left.size)
        x = np.zeros(self.costs.size, dtype=np.int64)
        for j in rng.permutation(self.costs.size):
            for w in order:
                if left[w] >= self.costs[j]:
                    left[w] -= self.costs[j]
                    x[j] = 1
                    break
        return x


def pack(items: list[int], capacities: list[int]) -> list[int] | None:
    """Exact bin-packing feasibility by depth-first search: the worker of each item (items sorted by decreasing
    size work best), or ``None``. Bins with equal remaining capacity are tried once (symmetry)."""
    left = list(capacities)
    where = [0] * len(items)
    suffix = np.concatenate([np.cumsum(items[::-1])[::-1], [0]]).tolist() if items else [0]
    failed = set()

    def place(i):
        if i == len(items):
            return True
        if sum(c for c in left if c >= items[-1]) < suffix[i]:
            return False
        key = (i, tuple(sorted(left)))
        if key in failed:
            return False
        tried = set()
        for w, cap in enumerate(left):
            if cap >= items[i] and cap not in tried:
                tried.add(cap)
                left[w] -= items[i]
                where[i] = w
                if place(i + 1):
                    return True
                left[w] += items[i]
        failed.add(key)
        return False

    return where if place(0) else None


CONSTRAINTS = {c.__name__: c for c in (Budget, MultipleInterventions, PathConstraint, BipartiteMatching, Capacity)}


def constraint_from_dict(d) -> Constraint:
    if isinstance(d, Constraint):
        return d
    if not isinstance(d, dict) or d.get("kind") not in CONSTRAINTS:
        raise InvalidProblemError(f"`constraint` must be one of {', '.join(CONSTRAINTS)}; got {type(d).__name__}")
    cls = CONSTRAINTS[d["kind"]]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


# -- the model ---------------------------------------------------------------------------------------------------
@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class CoupledRMAB(Problem):
    """A coupled restless multi-armed bandit.

    Args:
        transitions: (J, A, S, S) row-stochastic: P_j[m, s, s'] for action level m (A ≥ 2 levels).
        rewards: (J, S) reward r_j(s') paid on the next state.
        constraint: one of `Budget`, `MultipleInterventions`, `PathConstraint`,
            `BipartiteMatching`, `Capacity`.
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
        constraint._validate(n_arms)
        if isinstance(constraint, MultipleInterventions) and constraint.hits.sum(axis=1).max() >= n_levels:
            raise InvalidProblemError(f"`transitions` has {n_levels} action levels but an arm is hit by up to "
                                      f"{int(constraint.hits.sum(axis=1).max())} interventions")
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
            if isinstance(c, (Budget, MultipleInterventions)):
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

    # -- ready instances ---------------------------------------------------------------------------------------
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
        return cls(transitions=p, rewards=r, constraint=Budget(budget=budget, n_arms=n_arms), **kw)

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
        return cls(transitions=p, rewards=r, constraint=PathConstraint(n_nodes=n_nodes, edges=edges, source=source,
                                                                       budget=budget), **kw)

    @classmethod
    def matching(cls, n_arms: int = 20, budget: int = 5, *, n_slots: int = 5, distinct_workers: bool = False, seed=None,
                 **kw) -> CoupledRMAB:
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
        c = Capacity(costs=rng.integers(2, 7, n_arms), capacities=rng.integers(2, 8, max(budget, 1)))
        return cls(transitions=p, rewards=r, constraint=c, **kw)

    @classmethod
    def multiple_interventions(cls, n_arms: int = 20, n_interventions: int = 10, budget: int = 5, *, seed=None,
                               **kw) -> CoupledRMAB:
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
            for i in good[g: g + 3]:
                hits[arms3, i] = 1
        for i in good[budget - budget % 3:]:
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
        return cls(transitions=cls.chain(up), rewards=r,
                   constraint=MultipleInterventions(hits=hits, budget=budget), **kw)

    @classmethod
    def myopic_trap(cls, **kw) -> CoupledRMAB:
        """The reference's stylised instance: two deterministic 3-state arms, budget 1. Acting moves an arm up,
        resting moves it down. Arm 0 pays (0.2, 0.1, 10), arm 1 (0.1, 0.2, 1): myopic keeps acting on arm 1
        (≈ 1.2 per step); acting twice on arm 0 reaches 10.1 per step."""
        up = np.array([[0.0, 1.0], [0.0, 1.0]])
        kw.setdefault("initial", np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
        return cls(transitions=cls.chain(up, 3), rewards=[[0.2, 0.1, 10.0], [0.1, 0.2, 1.0]],
                   constraint=Budget(budget=1, n_arms=2), **kw)


def _size(n_arms, budget):
    return (int(as_scalar("n_arms", n_arms, integer=True, minimum=1)),
            int(as_scalar("budget", budget, integer=True, minimum=0)))


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
        raise InvalidProblemError(f"`n_arms` must be one of {sorted(int(k) for k in graphs)} for the London graphs; "
                                  f"got {n_nodes}")
    g = graphs[str(n_nodes)]
    return int(g["n_nodes"]), np.asarray(g["edges"], dtype=np.int64), int(g["source"])


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
            self._checked[key] = self.problem.check(x) if x.shape == (self.n_decisions,) else \
                f"shape {x.shape}, expected ({self.n_decisions},)"
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
        return nxt.copy(), reward, False, self.t >= p.horizon, {"t": self.t, "levels": levels, "expected": expected,
                                                                "sampled": sampled}
