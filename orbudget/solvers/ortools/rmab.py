"""OR-Tools CP-SAT models of the coupled-bandit action sets, used as the linear oracle max Σ_j v_j(m_j(x)) over C
(``oracle='cpsat'`` for ``myopic`` and ``index``) and as a second model of each set in the tests.

- ``PathConstraint``: positions p_0..p_L with p_0 = p_L = source and each (p_t, p_{t+1}) an edge or a wait
  (``AddAllowedAssignments``); x_j ⇒ some p_t = j. Walks may revisit nodes, which ``AddCircuit`` (simple circuits)
  would not allow, so the time-unrolled form is the exact one.
- ``BipartiteMatching``: a Boolean per available (worker, arm, slot), at most one arm per (worker, slot), exactly
  ``visits`` per pulled arm (and per worker at most one when ``distinct_workers``).
- ``RMABCapacity``: a Boolean per (worker, arm), loads within capacity, one worker per pulled arm.
- ``RMABBudget`` / ``MultipleInterventions``: Σx ≤ B (interventions: one-hot level per arm).

CP-SAT needs integer objectives: values are scaled by ``scale`` (10⁶) and rounded; the returned value is
recomputed exactly from the chosen x, so the argmax is exact up to that rounding.
"""

from __future__ import annotations

import numpy as np

from ...core.errors import SolverError
from ...problems.rmab import BipartiteMatching, CoupledRMAB, MultipleInterventions, PathConstraint, RMABBudget, RMABCapacity
from .._rmab import for_constraint


def _budget_model(m, problem: CoupledRMAB, x) -> None:
    m.Add(sum(x) <= problem.constraint.budget)


def _path_model(m, problem: CoupledRMAB, x) -> None:
    c = problem.constraint
    m.Add(sum(x) <= c.budget)
    L = c.length
    pos = [m.NewIntVar(0, c.n_nodes - 1, f"p{t}") for t in range(L + 1)]
    m.Add(pos[0] == c.source)
    m.Add(pos[L] == c.source)
    arcs = [(j, k) for j in range(c.n_nodes) for k in (j, *c.neighbors[j])]
    for t in range(L):
        m.AddAllowedAssignments([pos[t], pos[t + 1]], arcs)
    at: dict = {}
    for t in range(L + 1):
        for j in range(c.n_nodes):
            if c.distances[j] <= min(t, L - t):
                b = m.NewBoolVar(f"at{t}_{j}")
                m.Add(pos[t] == j).OnlyEnforceIf(b)
                m.Add(pos[t] != j).OnlyEnforceIf(b.Not())
                at.setdefault(j, []).append(b)
    for j in range(c.n_nodes):
        if j in at:
            m.AddBoolOr(at[j]).OnlyEnforceIf(x[j])
        else:
            m.Add(x[j] == 0)


def _matching_model(m, problem: CoupledRMAB, x) -> None:
    c = problem.constraint
    trip = c.triples()
    v = [m.NewBoolVar(f"v{i}") for i in range(len(trip))]
    for w in range(c.n_workers):
        for k in range(c.arm_slots.shape[1]):
            sel = np.flatnonzero((trip[:, 0] == w) & (trip[:, 2] == k))
            m.Add(sum(v[i] for i in sel) <= 1)
    for j in range(problem.n_arms):
        sel = np.flatnonzero(trip[:, 1] == j)
        m.Add(sum(v[i] for i in sel) == c.visits * x[j])
        if c.distinct_workers:
            for w in np.unique(trip[sel, 0]):
                m.Add(sum(v[i] for i in sel[trip[sel, 0] == w]) <= 1)
    m.Add(sum(x) <= c.budget)


def _capacity_model(m, problem: CoupledRMAB, x) -> None:
    c = problem.constraint
    nw, nj = c.capacities.size, c.costs.size
    v = [[m.NewBoolVar(f"v{w}_{j}") for j in range(nj)] for w in range(nw)]
    for w in range(nw):
        m.Add(sum(int(c.costs[j]) * v[w][j] for j in range(nj)) <= int(c.capacities[w]))
    for j in range(nj):
        m.Add(sum(v[w][j] for w in range(nw)) == x[j])


MODELS = {  # the constraint's CP-SAT constraints on x, by constraint type
    RMABBudget: _budget_model,
    MultipleInterventions: _budget_model,
    PathConstraint: _path_model,
    BipartiteMatching: _matching_model,
    RMABCapacity: _capacity_model,
}


def family_model(problem: CoupledRMAB):
    """``(model, x)``: a CpModel with the constraint's rows (from `MODELS`, by constraint type) over Booleans x (one
    per decision)."""
    from ortools.sat.python import cp_model

    add = for_constraint(MODELS, problem.constraint, "CP-SAT model")
    m = cp_model.CpModel()
    x = [m.NewBoolVar(f"x{j}") for j in range(problem.n_decisions)]
    add(m, problem, x)
    return m, x


class CpSatOracle:
    """max Σ_j v[j, m_j(x)] over C with CP-SAT (objective scaled to integers)."""

    def __init__(self, problem: CoupledRMAB, opts, scale: float = 1e6):
        from .knapsack import new_cpsat_solver

        self.problem, self.scale = problem, float(scale)
        self.model, self.x = family_model(problem)
        self.y = None
        c = problem.constraint
        if c.multi_level:
            self.y = []
            for j in range(problem.n_arms):
                hit = np.flatnonzero(c.hits[j])
                y = [self.model.NewBoolVar(f"y{j}_{k}") for k in range(hit.size + 1)]
                self.model.AddExactlyOne(y)
                self.model.Add(sum(k * y[k] for k in range(len(y))) == sum(self.x[i] for i in hit))
                self.y.append(y)
        self.solver = new_cpsat_solver(opts)
        if opts.threads is None:
            self.solver.parameters.num_workers = 1
        # one oracle solve is short: a Ctrl-C is left to Python, which raises it once the solve returns, so the
        # policy loop stops (CP-SAT's own handler would end this solve early and the loop would go on)
        self.solver.parameters.catch_sigint_signal = False
        self.solves = 0

    def solve(self, values) -> tuple[np.ndarray, float]:
        from ortools.sat.python import cp_model

        values = np.asarray(values, dtype=float)
        if self.y is None:
            gain = np.rint((values[:, 1] - values[:, 0]) * self.scale).astype(np.int64)
            self.model.Maximize(sum(int(g) * xj for g, xj in zip(gain, self.x) if g))
        else:
            self.model.Maximize(
                sum(int(round(values[j, k] * self.scale)) * yk for j, y in enumerate(self.y) for k, yk in enumerate(y))
            )
        code = self.solver.Solve(self.model)
        self.solves += 1
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise SolverError(f"CP-SAT oracle: {self.solver.StatusName(code)}")
        x = np.array([self.solver.Value(v) for v in self.x], dtype=np.int64)
        return x, float(np.take_along_axis(values, self.problem.constraint.levels(x)[:, None], axis=1).sum())


def cpsat_feasible(problem: CoupledRMAB, x) -> bool:
    """Whether the CP-SAT model admits decision ``x`` (fixed): for the feasible-set tests."""
    from ortools.sat.python import cp_model

    m, xv = family_model(problem)
    for v, val in zip(xv, np.asarray(x)):
        m.Add(v == int(val))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    return solver.Solve(m) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
