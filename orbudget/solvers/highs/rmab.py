"""HiGHS models for coupled restless bandits: the constraint families as MIP rows, the linear oracle
max Σ_j v_j(m_j(x)) over C (``myopic``, ``index``), and the exact argmax of a ReLU Q-network over C (``sequoia``).

**Family rows** (x = decisions):

- ``RMABBudget``: Σx ≤ B.  ``MultipleInterventions``: Σa ≤ B (levels m_j = Σ_i hits_ji a_i, linked to a one-hot
  y_jm in the linear oracle: Σ_m y_jm = 1, Σ_m m·y_jm = m_j, which is exact: no piecewise-linear link needed).
- ``PathConstraint``: time-unrolled walk, u^t_a ∈ {0,1} for each arc a (both directions of every edge, plus a
  wait arc at the source) and step t < L, kept only where the arc's tail is within t hops of the source and its
  head within L−1−t hops of it. Exactly one arc per step **counting the waits** (the reference left its self-loops
  out of this row, so a chain of them "visited" any node), flow conservation between steps, x_j ≤ Σ_t (arcs into
  j). Waits sit only at the source, at the end (u^t_wait ≤ u^{t+1}_wait): moving every wait of a closed walk there
  keeps the nodes it visits, so nothing is lost and the symmetry of where to wait is gone.
- ``BipartiteMatching``: v_wjk for available (worker, arm, slot) triples; Σ_j v_wjk ≤ 1; Σ_wk v_wjk = visits·x_j;
  with ``distinct_workers`` Σ_k v_wjk ≤ 1; Σx ≤ B.
- ``RMABCapacity``: v_wj; Σ_j c_j v_wj ≤ b_w; Σ_w v_wj = x_j (one worker per pulled arm).

**Q-network embedding.** Hidden neuron i of layer k with bounds [L, U] on its pre-activation z: U ≤ 0 → dropped;
L ≥ 0 → h = z (no binary); otherwise h ≥ z, h ≤ z − L(1−σ), h ≤ Uσ, h ≥ 0, σ ∈ {0,1}. The model is built once per
network with bounds over the whole state box (one-hot states) and, per state, the bounds are recomputed for that
state (interval arithmetic, tighter): the σ coefficients and row bounds are changed and neurons stable in that
state get σ fixed, so no rebuild. ``bounds='bigm'`` instead uses M = 10⁵ everywhere, as the reference code did
(slower, and its q can differ from the network's value at the returned action: see the benchmark).
"""

from __future__ import annotations

import time

import numpy as np

from ...core.errors import SolverError
from ...core.solve import SolveOptions
from ...problems.rmab import BipartiteMatching, CoupledRMAB, MultipleInterventions, PathConstraint, RMABBudget, RMABCapacity
from .. import _relu
from .._rmab import for_constraint

BIG_M = 1e5


class _Rows:
    """Column and row bookkeeping on a ``highspy.Highs`` model."""

    def __init__(self, h):
        import highspy

        self.h, self.inf = h, highspy.kHighsInf
        self._int = highspy.HighsVarType.kInteger

    def cols(self, n: int, lb=0.0, ub=1.0, integer: bool = True) -> np.ndarray:
        start = self.h.getNumCol()
        if n == 0:
            return np.zeros(0, dtype=np.int32)
        self.h.addVars(n, np.full(n, lb, dtype=float), np.full(n, ub, dtype=float))
        idx = np.arange(start, start + n, dtype=np.int32)
        if integer:
            self.h.changeColsIntegrality(n, idx, np.full(n, self._int))
        return idx

    def row(self, lo, hi, idx, vals) -> int:
        idx = np.asarray(idx, dtype=np.int32)
        vals = np.asarray(vals, dtype=float)
        lo = -self.inf if lo is None else float(lo)
        hi = self.inf if hi is None else float(hi)
        self.h.addRow(lo, hi, idx.size, idx, vals)
        return self.h.getNumRow() - 1


def _budget_rows(rows: _Rows, problem: CoupledRMAB, x: np.ndarray) -> None:
    rows.row(None, problem.constraint.budget, x, np.ones(x.size))


def _matching_rows(rows: _Rows, problem: CoupledRMAB, x: np.ndarray) -> None:
    c = problem.constraint
    trip = c.triples()
    v = rows.cols(len(trip))
    for w in range(c.n_workers):
        for k in range(c.arm_slots.shape[1]):
            sel = np.flatnonzero((trip[:, 0] == w) & (trip[:, 2] == k))
            if sel.size > 1:
                rows.row(None, 1, v[sel], np.ones(sel.size))
    for j in range(problem.n_arms):
        sel = np.flatnonzero(trip[:, 1] == j)
        rows.row(0, 0, np.r_[v[sel], x[j]], np.r_[np.ones(sel.size), -c.visits])
        if c.distinct_workers:
            for w in np.unique(trip[sel, 0]):
                both = sel[trip[sel, 0] == w]
                if both.size > 1:
                    rows.row(None, 1, v[both], np.ones(both.size))
    rows.row(None, c.budget, x, np.ones(x.size))


def _capacity_rows(rows: _Rows, problem: CoupledRMAB, x: np.ndarray) -> None:
    c = problem.constraint
    nw, nj = c.capacities.size, c.costs.size
    v = rows.cols(nw * nj).reshape(nw, nj)
    for w in range(nw):
        rows.row(None, int(c.capacities[w]), v[w], c.costs.astype(float))
    for j in range(nj):
        rows.row(0, 0, np.r_[v[:, j], x[j]], np.r_[np.ones(nw), -1.0])


def family_rows(rows: _Rows, problem: CoupledRMAB) -> np.ndarray:
    """Add the decision columns x and the constraint's rows (from `ROWS`, by constraint type); return x's column
    indices."""
    add = for_constraint(ROWS, problem.constraint, "HiGHS rows")
    x = rows.cols(problem.n_decisions)
    add(rows, problem, x)
    return x


def _path_rows(rows: _Rows, problem: CoupledRMAB, x: np.ndarray) -> None:
    c = problem.constraint
    n, L, dist, src = c.n_nodes, c.length, c.distances, c.source
    rows.row(None, c.budget, x, np.ones(n))
    if L == 0:
        for j in range(n):
            if j != src:
                rows.row(None, 0, [int(x[j])], [1.0])
        return
    # waits only at the source, all at the end: any closed walk with waits visits the same nodes as the walk with its
    # waits removed and appended at the source, so this loses nothing and removes the symmetry of where to wait
    arcs = [(src, src)] + [(j, k) for j in range(n) for k in c.neighbors[j]]
    into: list[list[int]] = [[] for _ in range(n)]
    layers = []  # per step: {(tail, head): column}
    for t in range(L):
        keep = [(j, k) for j, k in arcs if dist[j] <= t and dist[k] <= L - 1 - t]
        cols = rows.cols(len(keep))
        layer = dict(zip(keep, cols.tolist()))
        layers.append(layer)
        rows.row(1, 1, cols, np.ones(cols.size))  # one arc per step, waits included
        for (_, k), col in layer.items():
            into[k].append(col)
        if t and (src, src) in layer and (src, src) in layers[t - 1]:  # once waiting, keep waiting
            rows.row(None, 0, [layers[t - 1][src, src], layer[src, src]], [1.0, -1.0])
    for t in range(L - 1):
        for j in range(n):
            inc = [col for (_, k), col in layers[t].items() if k == j]
            out = [col for (i, _), col in layers[t + 1].items() if i == j]
            if inc or out:
                rows.row(0, 0, inc + out, [1.0] * len(inc) + [-1.0] * len(out))
    for j in range(n):
        if j == src:
            continue
        # x_j <= arrivals at j (no arrivals: x_j <= 0, a row so that fixing x by bounds cannot lift it)
        rows.row(None, 0, [int(x[j]), *into[j]], [1.0] + [-1.0] * len(into[j]))


ROWS = {  # the constraint's rows on x, by constraint type
    RMABBudget: _budget_rows,
    MultipleInterventions: _budget_rows,
    PathConstraint: _path_rows,
    BipartiteMatching: _matching_rows,
    RMABCapacity: _capacity_rows,
}


def _run_or_raise(h) -> None:
    """Run HiGHS in its own thread (``run_highs``) so that a Ctrl-C stops it, and raise the interrupt again here so
    the policy loop around the oracle sees it (with a plain ``h.run()`` HiGHS turned it into a "solve error")."""
    import highspy

    from ._common import run_highs

    run_highs(h, "the oracle model")
    if h.getModelStatus() in (highspy.HighsModelStatus.kInterrupt, highspy.HighsModelStatus.kHighsInterrupt):
        raise KeyboardInterrupt


def _new(opts, threads_default: int = 1):
    import dataclasses

    from ._common import new_highs

    if opts.threads is None:  # through new_highs, which resets HiGHS' global pool first: a pool already running
        opts = dataclasses.replace(opts, threads=threads_default)  # other threads refuses a new count ('Not Set')
    return new_highs(opts)


def _solution(h, x_cols) -> tuple[np.ndarray | None, float | None, str]:
    import highspy

    status = h.getModelStatus()
    info = h.getInfo()
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    text = h.modelStatusToString(status)
    if not has:
        return None, None, text
    col = np.asarray(h.getSolution().col_value)
    x = np.rint(col[x_cols]).astype(np.int64)
    ok = status == highspy.HighsModelStatus.kOptimal
    return x, float(info.objective_function_value), text if not ok else "optimal"


class LinearOracle:
    """max Σ_j v[j, m_j(x)] over C, built once per problem; only the objective changes between calls."""

    def __init__(self, problem: CoupledRMAB, opts: SolveOptions):
        import highspy

        self.problem = problem
        self.h = _new(opts)
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        rows = _Rows(self.h)
        self.x = family_rows(rows, problem)
        c = problem.constraint
        self.y = None
        if c.multi_level:
            deg = c.hits.sum(axis=1)
            self.y = []
            for j in range(problem.n_arms):
                y = rows.cols(int(deg[j]) + 1)
                self.y.append(y)
                rows.row(1, 1, y, np.ones(y.size))
                hit = np.flatnonzero(c.hits[j])
                rows.row(0, 0, np.r_[y, self.x[hit]], np.r_[np.arange(y.size, dtype=float), -np.ones(hit.size)])
        self.solves, self.seconds = 0, 0.0

    def solve(self, values) -> tuple[np.ndarray, float]:
        """``(x, value)`` for level values (J, A)."""
        values = np.asarray(values, dtype=float)
        h = self.h
        if self.y is None:
            h.changeColsCost(self.x.size, self.x, values[:, 1] - values[:, 0])
            h.changeObjectiveOffset(float(values[:, 0].sum()))
        else:
            for j, y in enumerate(self.y):
                h.changeColsCost(y.size, y, values[j, : y.size])
        t0 = time.perf_counter()
        _run_or_raise(h)
        self.seconds += time.perf_counter() - t0
        self.solves += 1
        x, obj, text = _solution(h, self.x)
        if x is None:
            raise SolverError(f"linear oracle: HiGHS {text}")
        return x, obj


class QNetworkMIP:
    """Exact argmax over C of a ReLU network Q([x; e(s)]), built once per network, updated per state.

    Args:
        problem: the bandit (its constraint gives the rows, its sizes the input layout).
        layers: list of (W, b) numpy pairs (see `orbudget.solvers._relu`).
        bounds: ``'interval'`` (per-state interval bounds, stable neurons dropped or fixed) or ``'bigm'``
            (M = 10⁵ for every neuron, the reference code's formulation).
        opts: SolveOptions (time limit per solve, gap, threads, verbose).
    """

    def __init__(
        self,
        problem: CoupledRMAB,
        layers: list[tuple[np.ndarray, np.ndarray]],
        bounds: str = "interval",
        opts: SolveOptions | None = None,
    ):
        import highspy

        if bounds not in ("interval", "bigm"):
            raise ValueError(f"`bounds` must be 'interval' or 'bigm'; got {bounds!r}")
        opts = opts or SolveOptions()
        self.problem, self.bounds = problem, bounds
        self.layers = [(np.asarray(w, float), np.asarray(b, float)) for w, b in layers]
        n, J, S = problem.n_decisions, problem.n_arms, problem.n_states
        if self.layers[0][0].shape[1] != n + J * S:
            raise ValueError(f"the network takes {self.layers[0][0].shape[1]} inputs; this bandit needs n + J·S = {n + J * S}")
        self.n, self.k = n, problem.constraint.max_selected
        self.h = h = _new(opts)
        self.inf = highspy.kHighsInf
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        rows = _Rows(h)
        self.x = family_rows(rows, problem)
        hidden = self.layers[:-1]
        if bounds == "interval":
            lo, hi = _relu.state_box_constant(self.layers, n, J, S)
            box = _relu.interval_bounds(self.layers, n, self.k, lo, hi)
        else:
            box = [(np.full(b.size, -BIG_M), np.full(b.size, BIG_M)) for _, b in hidden]
        self.neurons = []  # per layer: (kind array, h cols, sigma cols, rows r1, r2, r3)
        prev_cols, prev_idx = self.x, np.arange(n)  # active inputs of the previous layer (x; then live neurons)
        for k, (w, _) in enumerate(hidden):
            lo, hi = box[k]
            kind = np.where(hi <= 0, 0, np.where(lo >= 0, 1, 2))  # 0 off, 1 linear, 2 relu
            live = np.flatnonzero(kind > 0)
            hcols = rows.cols(live.size, 0.0, 1.0, integer=False)
            layer = {"kind": kind, "live": live, "h": hcols, "sigma": {}, "r1": {}, "r2": {}, "r3": {}}
            for pos, i in enumerate(live):
                hc = int(hcols[pos])
                wrow = w[i, :n] if k == 0 else w[i, prev_idx]
                idx = np.r_[hc, prev_cols]
                vals = np.r_[1.0, -wrow]
                if kind[i] == 1:
                    layer["r1"][i] = rows.row(0.0, 0.0, idx, vals)  # h = z (bounds set per state)
                else:
                    sg = int(rows.cols(1)[0])
                    layer["sigma"][i] = sg
                    layer["r1"][i] = rows.row(0.0, None, idx, vals)  # h − Wx ≥ const
                    layer["r2"][i] = rows.row(None, 0.0, np.r_[idx, sg], np.r_[vals, 0.0])  # h − Wx − Lσ ≤ const − L
                    layer["r3"][i] = rows.row(None, 0.0, [hc, sg], [1.0, 0.0])  # h − Uσ ≤ 0
            self.neurons.append(layer)
            prev_cols, prev_idx = hcols, live
        w_out, b_out = self.layers[-1]
        if hidden:
            h.changeColsCost(prev_cols.size, prev_cols, w_out[0, prev_idx])
        self.b_out = float(b_out[0])
        self.x_cost = w_out[0, :n] if not hidden else None
        self.solves, self.seconds, self.max_fidelity_error = 0, 0.0, 0.0
        self.last_status = ""

    def _bounds_for(self, states):
        c = _relu.first_layer_constant(self.layers, self.n, states, self.problem.n_states)
        if self.bounds == "bigm":
            return c, [(np.full(b.size, -BIG_M), np.full(b.size, BIG_M)) for _, b in self.layers[:-1]]
        return c, _relu.interval_bounds(self.layers, self.n, self.k, c, c)

    def argmax(self, states) -> tuple[np.ndarray, float, dict]:
        """``(x, Q(x, s), info)``: the exact argmax for joint state ``states``. ``info`` holds the MIP's own value,
        the HiGHS status and the solve time. Without any solution (time limit) ``x`` is ``None``."""
        h = self.h
        states = np.asarray(states, dtype=np.int64)
        if not self.layers[:-1]:  # a linear network: Q = w·x + c(s)
            c = _relu.first_layer_constant(self.layers, self.n, states, self.problem.n_states)
            h.changeColsCost(self.n, self.x, self.layers[0][0][0, : self.n])
            h.changeObjectiveOffset(float(c[0]))
        else:
            c, bnds = self._bounds_for(states)
            for k, layer in enumerate(self.neurons):
                lo, hi = bnds[k]
                const = c if k == 0 else self.layers[k][1]
                for pos, i in enumerate(layer["live"]):
                    hc = int(layer["h"][pos])
                    h.changeColBounds(hc, 0.0, max(float(hi[i]), 0.0))
                    if layer["kind"][i] == 1:
                        h.changeRowBounds(layer["r1"][i], float(const[i]), float(const[i]))
                        continue
                    sg, L, U = layer["sigma"][i], float(lo[i]), float(hi[i])
                    h.changeRowBounds(layer["r1"][i], float(const[i]), self.inf)
                    h.changeCoeff(layer["r2"][i], sg, -L)
                    h.changeRowBounds(layer["r2"][i], -self.inf, float(const[i]) - L)
                    h.changeCoeff(layer["r3"][i], sg, -U)
                    if self.bounds == "interval" and U <= 0:
                        h.changeColBounds(sg, 0.0, 0.0)
                    elif self.bounds == "interval" and L >= 0:
                        h.changeColBounds(sg, 1.0, 1.0)
                    else:
                        h.changeColBounds(sg, 0.0, 1.0)
            h.changeObjectiveOffset(self.b_out)
        t0 = time.perf_counter()
        _run_or_raise(h)
        dt = time.perf_counter() - t0
        self.seconds += dt
        self.solves += 1
        x, obj, text = _solution(h, self.x)
        self.last_status = text
        info = {"mip_value": obj, "status": text, "seconds": dt}
        if x is None:
            return None, float("nan"), info
        value = float(_relu.forward(self.layers, np.r_[x, _relu.encode_states(states, self.problem.n_states)]))
        self.max_fidelity_error = max(self.max_fidelity_error, abs(value - obj))
        return x, value, info


def mip_feasible(problem: CoupledRMAB, x, opts=None) -> bool:
    """Whether the family rows admit decision ``x`` (x fixed by column bounds): for the feasible-set tests."""
    h = _new(opts or SolveOptions())
    x_cols = family_rows(_Rows(h), problem)
    x = np.asarray(x, dtype=float)
    h.changeColsBounds(x_cols.size, x_cols, x, x)
    _run_or_raise(h)
    import highspy

    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal
