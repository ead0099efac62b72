"""The constraint families on graphs: a route through a graph from a source (`PathConstraint`), and a
worker-slot matching (`BipartiteMatching`)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.validation import as_array, as_bool, as_scalar
from .constraint import Constraint

if TYPE_CHECKING:
    pass


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
        length = 2 * budget if self.length is None else int(as_scalar("constraint.length", self.length, integer=True, minimum=0))
        for name, v in (("n_nodes", n), ("edges", edges.reshape(-1, 2)), ("source", src), ("budget", budget), ("length", length)):
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

    def _validate(self, n_arms, n_levels):
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
            return (
                f"arm {int(far[0])} is {int(self._dist[far[0]])} hops from the source; a closed walk of "
                f"{self.length} moves reaches {self.length // 2}"
            )
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
            from .._numerics import held_karp

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
        workers = as_array("constraint.worker_slots", self.worker_slots, shape=(None, arms.shape[1]), dtype=int, low=0, high=1)
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

    def _validate(self, n_arms, n_levels):
        if self.arm_slots.shape[0] != n_arms:
            raise InvalidProblemError(
                f"`constraint.arm_slots` must have one row per arm ({n_arms}); got {self.arm_slots.shape[0]}"
            )

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
