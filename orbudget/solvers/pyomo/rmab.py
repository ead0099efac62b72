"""Pyomo models of coupled restless bandits: the five constraint families' action sets (mirroring
`orbudget.solvers.highs.rmab.family_rows` and `orbudget.solvers.ortools.rmab.family_model`) under a
linear objective, and the argmax of a ReLU Q-network over the action set, in our interval-bound formulation or
OMLT's.

**Action sets** (``model.x[decision]`` binary; ``model.budget``: Σx ≤ budget for every family but ``RMABCapacity``):

- ``RMABBudget``: the budget row only.
- ``MultipleInterventions``: ``model.x[intervention]``; ``model.level[arm, m]`` one-hot (``model.one_level[arm]``)
  with ``model.level_link[arm]``: Σ_m m·level = Σ_i hits[arm, i]·x_i (exact, no piecewise link).
- ``PathConstraint``: ``model.arc[step, tail, head]`` of the time-unrolled closed walk (waits only at the source and
  at the end), ``model.one_arc[step]``, ``model.keep_waiting[step]``, ``model.flow[step, node]`` and
  ``model.visit[node]``: x_node ≤ arrivals at node.
- ``BipartiteMatching``: ``model.assign[worker, arm, slot]`` for available triples, ``model.worker_slot[worker,
  slot]`` ≤ 1, ``model.visits[arm]``: Σ assign = visits·x_arm, ``model.distinct[arm, worker]`` ≤ 1 when
  ``distinct_workers``.
- ``RMABCapacity``: ``model.assign[worker, arm]``, ``model.capacity[worker]``: Σ costs·assign ≤ capacity,
  ``model.one_worker[arm]``: Σ_worker assign = x_arm.

**Linear objective** (``values=`` (J, A), or ``states=`` for the expected one-step rewards):
``model.value``: maximise Σ_arm values[arm, m_arm(x)] (through ``model.level`` for interventions).

**Q-network** (``network=[(W, b), ...]``, ``states=``): ``model.q`` maximises the network's output at [x; e(s)].
``formulation='interval'`` (default, ours): per-state interval bounds [L, U] on each pre-activation (the cardinality
bound Σx ≤ max_selected in the first layer, interval arithmetic after), stable neurons dropped (U ≤ 0) or linear
(L ≥ 0, ``model.linear_unit``), the others ``model.h ≥ z`` (``relu_above``), ``h ≤ z − L(1 − relu_active)``
(``relu_off``), ``h ≤ U·relu_active`` (``relu_on``) with ``model.relu_active`` binary. ``'bigm'``: the same rows with
L = −10⁵, U = 10⁵ for every neuron (the reference code's). ``'omlt_bigm'`` / ``'omlt_partition'``: OMLT's own
encodings (``ReluBigMFormulation``, ``ReluPartitionFormulation``) in ``model.network``, its inputs tied to x
(``model.network_input``) and to the fixed one-hot state; OMLT derives its own bounds from the input box
(x ∈ [0, 1]), so it is an independent check of ours.
"""

from __future__ import annotations

import logging

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.registry import register
from ...core.solve import SolveOptions
from ...problems.rmab import BipartiteMatching, CoupledRMAB, MultipleInterventions, PathConstraint, RMABBudget, RMABCapacity
from .. import _relu
from .._rmab import for_constraint
from ._common import HONOURS, OPTIONS, Export, exporter, solve_model
from ._results import value_array, whole

BIG_M = 1e5
FORMULATIONS = ("interval", "bigm", "omlt_bigm", "omlt_partition")


def _rows(m, name: str, exprs: dict) -> None:
    """``model.<name>[key]`` for each key of ``exprs`` (keys are ints or tuples)."""
    import pyomo.environ as pyo

    keys = list(exprs)
    dimen = len(keys[0]) if keys and isinstance(keys[0], tuple) else 1
    index = pyo.Set(initialize=keys, dimen=dimen, ordered=True)
    setattr(m, name + "_index", index)
    if dimen == 1:
        setattr(m, name, pyo.Constraint(index, rule=lambda m, k: exprs[k]))
    else:
        setattr(m, name, pyo.Constraint(index, rule=lambda m, *k: exprs[tuple(k)]))


def _budget(m, problem: CoupledRMAB) -> None:
    m.budget = _budget_row(m, problem.constraint)


def _budget_row(m, c):
    import pyomo.environ as pyo

    return pyo.Constraint(expr=sum(m.x[j] for j in m.decisions) <= int(c.budget))


def _matching(m, problem: CoupledRMAB) -> None:
    import pyomo.environ as pyo

    c = problem.constraint
    m.budget = _budget_row(m, c)
    trip = [tuple(int(v) for v in t) for t in c.triples()]
    m.triples = pyo.Set(initialize=trip, dimen=3)
    m.assign = pyo.Var(m.triples, domain=pyo.Binary)
    slots: dict = {}
    for w, j, k in trip:
        slots.setdefault((w, k), []).append((w, j, k))
    _rows(m, "worker_slot", {key: sum(m.assign[t] for t in ts) <= 1 for key, ts in slots.items() if len(ts) > 1})
    per_arm = {j: [t for t in trip if t[1] == j] for j in range(problem.n_arms)}
    _rows(m, "visits", {j: sum(m.assign[t] for t in ts) - int(c.visits) * m.x[j] == 0 for j, ts in per_arm.items()})
    if c.distinct_workers:
        pairs: dict = {}
        for w, j, k in trip:
            pairs.setdefault((j, w), []).append((w, j, k))
        _rows(m, "distinct", {key: sum(m.assign[t] for t in ts) <= 1 for key, ts in pairs.items() if len(ts) > 1})


def _capacity(m, problem: CoupledRMAB) -> None:  # no budget row: the capacities bound the count
    import pyomo.environ as pyo

    c = problem.constraint
    nw, nj = c.capacities.size, c.costs.size
    m.workers = pyo.Set(initialize=range(nw))
    m.assign = pyo.Var(m.workers, m.decisions, domain=pyo.Binary)
    m.capacity = pyo.Constraint(
        m.workers, rule=lambda m, w: sum(int(c.costs[j]) * m.assign[w, j] for j in range(nj)) <= int(c.capacities[w])
    )
    m.one_worker = pyo.Constraint(m.decisions, rule=lambda m, j: sum(m.assign[w, j] for w in range(nw)) == m.x[j])


def action_set(problem: CoupledRMAB, name: str = ""):
    """A ConcreteModel with ``model.x`` and the constraint family's components (from `COMPONENTS`, by constraint
    type; no objective)."""
    import pyomo.environ as pyo

    c = problem.constraint
    add = for_constraint(COMPONENTS, c, "Pyomo model")
    m = pyo.ConcreteModel(name=name or f"CoupledRMAB {type(c).__name__}")
    m.decisions = pyo.Set(initialize=range(problem.n_decisions))
    m.x = pyo.Var(m.decisions, domain=pyo.Binary)
    add(m, problem)
    return m


def _path(m, problem: CoupledRMAB) -> None:
    import pyomo.environ as pyo

    c = problem.constraint
    m.budget = _budget_row(m, c)
    n, L, dist, src = c.n_nodes, c.length, c.distances, c.source
    if L == 0:
        _rows(m, "visit", {j: m.x[j] <= 0 for j in range(n) if j != src})
        return
    arcs = [(src, src)] + [(j, k) for j in range(n) for k in c.neighbors[j]]
    keys = [(t, j, k) for t in range(L) for j, k in arcs if dist[j] <= t and dist[k] <= L - 1 - t]
    m.arcs = pyo.Set(initialize=keys, dimen=3)
    m.arc = pyo.Var(m.arcs, domain=pyo.Binary)
    layer = [[key for key in keys if key[0] == t] for t in range(L)]
    _rows(m, "one_arc", {t: sum(m.arc[a] for a in layer[t]) == 1 for t in range(L)})
    wait = {t: (t, src, src) for t in range(L) if (t, src, src) in m.arcs}
    _rows(m, "keep_waiting", {t: m.arc[wait[t - 1]] <= m.arc[wait[t]] for t in range(1, L) if t in wait and t - 1 in wait})
    flow = {}
    for t in range(L - 1):
        for j in range(n):
            inc = [a for a in layer[t] if a[2] == j]
            out = [a for a in layer[t + 1] if a[1] == j]
            if inc or out:
                flow[t, j] = sum(m.arc[a] for a in inc) - sum(m.arc[a] for a in out) == 0
    _rows(m, "flow", flow)
    into = {j: [a for a in keys if a[2] == j] for j in range(n)}
    _rows(m, "visit", {j: m.x[j] - sum(m.arc[a] for a in into[j]) <= 0 for j in range(n) if j != src})


COMPONENTS = {  # the constraint's components on x, by constraint type
    RMABBudget: _budget,
    MultipleInterventions: _budget,
    PathConstraint: _path,
    BipartiteMatching: _matching,
    RMABCapacity: _capacity,
}


def _levels(m, problem: CoupledRMAB, n_levels: int) -> None:
    """``model.level[arm, m]`` one-hot, linked to the interventions hitting the arm."""
    import pyomo.environ as pyo

    c = problem.constraint
    deg = c.hits.sum(axis=1)
    if int(deg.max(initial=0)) + 1 > n_levels:
        raise InvalidProblemError(f"`values` has {n_levels} levels; an arm can be hit {int(deg.max())} times")
    keys = [(j, k) for j in range(problem.n_arms) for k in range(int(deg[j]) + 1)]
    m.levels = pyo.Set(initialize=keys, dimen=2)
    m.level = pyo.Var(m.levels, domain=pyo.Binary)
    m.one_level = pyo.Constraint(range(problem.n_arms), rule=lambda m, j: sum(m.level[j, k] for k in range(int(deg[j]) + 1)) == 1)
    m.level_link = pyo.Constraint(
        range(problem.n_arms),
        rule=lambda m, j: (
            sum(k * m.level[j, k] for k in range(1, int(deg[j]) + 1))
            == sum(int(c.hits[j, i]) * m.x[i] for i in np.flatnonzero(c.hits[j]).tolist())
        ),
    )


def _decisions(problem, model) -> np.ndarray:
    return whole(value_array(model.x, list(range(problem.n_decisions))), "x")


def _check(problem, x):
    return problem.check(x)


def linear_model(problem: CoupledRMAB, values):
    """The action set with ``model.level_value[arm, level]`` (mutable) and ``model.value`` = Σ_arm level values."""
    import pyomo.environ as pyo

    values = np.asarray(values, float)
    if values.ndim != 2 or values.shape[0] != problem.n_arms or values.shape[1] < 2 or not np.isfinite(values).all():
        raise InvalidProblemError(
            f"`values` must be a finite (J, A) array with J = {problem.n_arms} and A >= 2; got shape {values.shape}"
        )
    m = action_set(problem)
    m.arms = pyo.Set(initialize=range(problem.n_arms))
    m.level_index = pyo.Set(initialize=range(values.shape[1]))
    m.level_value = pyo.Param(
        m.arms,
        m.level_index,
        mutable=True,
        initialize={(j, k): float(values[j, k]) for j in range(values.shape[0]) for k in range(values.shape[1])},
    )
    if problem.constraint.multi_level:
        _levels(m, problem, values.shape[1])
        m.value = pyo.Objective(expr=sum(m.level_value[j, k] * m.level[j, k] for j, k in m.levels), sense=pyo.maximize)
    else:
        m.value = pyo.Objective(
            expr=sum(m.level_value[j, 0] + (m.level_value[j, 1] - m.level_value[j, 0]) * m.x[j] for j in m.arms),
            sense=pyo.maximize,
        )
    return m


def set_values(model, values) -> None:
    values = np.asarray(values, float)
    for (j, k), p in model.level_value.items():
        p.set_value(float(values[j, k]))


def _layers(network, problem: CoupledRMAB):
    try:
        layers = [(np.asarray(w, float), np.asarray(b, float)) for w, b in network]
    except (TypeError, ValueError) as exc:
        raise InvalidProblemError(f"`network` must be a list of (W, b) pairs; {exc}") from None
    d = problem.n_decisions + problem.n_arms * problem.n_states
    if not layers or layers[0][0].ndim != 2 or layers[0][0].shape[1] != d or layers[-1][0].shape[0] != 1:
        raise InvalidProblemError(f"`network` must take n + J·S = {d} inputs and give one output")
    for k, (w, b) in enumerate(layers):
        if b.shape != (w.shape[0],) or (k and w.shape[1] != layers[k - 1][0].shape[0]):
            raise InvalidProblemError(f"`network` layer {k}: W {w.shape} and b {b.shape} do not chain")
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise InvalidProblemError(f"`network` layer {k} holds a non-finite weight")
    return layers


def _states(problem: CoupledRMAB, states) -> np.ndarray:
    s = np.asarray(states)
    if s.shape != (problem.n_arms,) or s.dtype.kind not in "iu" or ((s < 0) | (s >= problem.n_states)).any():
        raise InvalidProblemError(f"`states` must hold {problem.n_arms} state indices in [0, {problem.n_states}); got {states!r}")
    return s.astype(np.int64)


def qnetwork_model(problem: CoupledRMAB, layers, states, formulation: str = "interval"):
    """The action set with ``model.q`` = the network's output at [x; e(states)] (see the module docstring)."""
    import pyomo.environ as pyo

    m = action_set(problem, f"Q-network argmax ({formulation})")
    n = problem.n_decisions
    if formulation.startswith("omlt"):
        _omlt(m, problem, layers, states, formulation)
        return m
    c = _relu.first_layer_constant(layers, n, states, problem.n_states)
    hidden = layers[:-1]
    w_out, b_out = layers[-1]
    if not hidden:
        m.q = pyo.Objective(expr=sum(float(w_out[0, i]) * m.x[i] for i in range(n)) + float(c[0]), sense=pyo.maximize)
        return m
    if formulation == "interval":
        box = _relu.interval_bounds(layers, n, problem.constraint.max_selected, c, c)
    else:
        box = [(np.full(b.size, -BIG_M), np.full(b.size, BIG_M)) for _, b in hidden]
    live_keys, relu_keys, upper = [], [], {}
    kinds = []
    for k, (lo, hi) in enumerate(box):
        kind = np.where(hi <= 0, 0, np.where(lo >= 0, 1, 2))
        kinds.append(kind)
        for i in np.flatnonzero(kind > 0).tolist():
            live_keys.append((k, i))
            upper[k, i] = max(float(hi[i]), 0.0)
            if kind[i] == 2:
                relu_keys.append((k, i))
    m.neurons = pyo.Set(initialize=live_keys, dimen=2)
    m.h = pyo.Var(m.neurons, bounds=lambda m, k, i: (0.0, upper[k, i]))
    m.relu_neurons = pyo.Set(initialize=relu_keys, dimen=2)
    m.relu_active = pyo.Var(m.relu_neurons, domain=pyo.Binary)

    def z(k, i):
        w = hidden[k][0]
        if k == 0:
            return sum(float(w[i, p]) * m.x[p] for p in range(n) if w[i, p] != 0) + float(c[i])
        prev = np.flatnonzero(kinds[k - 1] > 0).tolist()
        return sum(float(w[i, p]) * m.h[k - 1, p] for p in prev if w[i, p] != 0) + float(hidden[k][1][i])

    pre = {key: z(*key) for key in live_keys}
    _rows(m, "linear_unit", {key: m.h[key] == pre[key] for key in live_keys if kinds[key[0]][key[1]] == 1})
    lo_of = {key: float(box[key[0]][0][key[1]]) for key in relu_keys}
    _rows(m, "relu_above", {key: m.h[key] >= pre[key] for key in relu_keys})
    _rows(m, "relu_off", {key: m.h[key] <= pre[key] - lo_of[key] * (1 - m.relu_active[key]) for key in relu_keys})
    _rows(m, "relu_on", {key: m.h[key] <= upper[key] * m.relu_active[key] for key in relu_keys})
    last = len(hidden) - 1
    out = [i for k, i in live_keys if k == last]
    m.q = pyo.Objective(expr=sum(float(w_out[0, i]) * m.h[last, i] for i in out) + float(b_out[0]), sense=pyo.maximize)
    return m


def _omlt(m, problem: CoupledRMAB, layers, states, formulation: str) -> None:
    import pyomo.environ as pyo
    from omlt import OmltBlock
    from omlt.neuralnet import NetworkDefinition, ReluBigMFormulation, ReluPartitionFormulation
    from omlt.neuralnet.layer import DenseLayer, InputLayer

    n = problem.n_decisions
    enc = _relu.encode_states(states, problem.n_states)
    d = n + enc.size
    bounds = {i: (0.0, 1.0) for i in range(n)}
    bounds.update({n + i: (float(v), float(v)) for i, v in enumerate(enc)})
    net = NetworkDefinition(scaled_input_bounds=bounds)
    prev = InputLayer([d])
    net.add_layer(prev)
    for k, (w, b) in enumerate(layers):
        layer = DenseLayer(
            prev.output_size,
            [w.shape[0]],
            activation="relu" if k < len(layers) - 1 else "linear",
            weights=w.T.copy(),
            biases=b.copy(),
        )
        net.add_layer(layer)
        net.add_edge(prev, layer)
        prev = layer
    m.network = OmltBlock()
    form = ReluBigMFormulation(net) if formulation == "omlt_bigm" else ReluPartitionFormulation(net)
    quiet = logging.getLogger("pyomo.core")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # OMLT starts its inputs at 0, outside a fixed state entry's [1, 1]: a warning each
    try:
        m.network.build_formulation(form)
    finally:
        quiet.setLevel(level)
    m.network_input = pyo.Constraint(m.decisions, rule=lambda m, i: m.network.inputs[i] == m.x[i])
    for i, v in enumerate(enc):
        m.network.inputs[n + i].fix(float(v))
    out = list(m.network.outputs.keys())
    m.q = pyo.Objective(expr=m.network.outputs[out[0]], sense=pyo.maximize)


@exporter(CoupledRMAB)
def build_rmab(problem: CoupledRMAB, *, values=None, states=None, network=None, formulation: str = "interval"):
    """``values`` (J, A) or ``states``: the linear action-set model; ``network`` and ``states``: the Q-network
    argmax."""
    if network is not None:
        if states is None:
            raise InvalidProblemError("`states` are needed with `network`: the Q-network argmax is per joint state")
        if values is not None:
            raise InvalidProblemError("`values` and `network` exclude each other: a linear or a network objective")
        if formulation not in FORMULATIONS:
            raise InvalidProblemError(f"`formulation` must be one of {FORMULATIONS}; got {formulation!r}")
        layers = _layers(network, problem)
        s = _states(problem, states)
        m = qnetwork_model(problem, layers, s, formulation)
        enc = _relu.encode_states(s, problem.n_states)

        def objective(problem, x):
            return float(_relu.forward(layers, np.r_[x, enc]))

        return m, Export(
            problem,
            lambda p, model: (_decisions(p, model), {}),
            "max",
            objective,
            _check,
            kind="qnetwork",
            extras={"layers": layers, "states": s},
        )
    if formulation != "interval":
        raise InvalidProblemError("`formulation` applies to the Q-network model only (pass `network`)")
    if values is None:
        if states is None:
            raise InvalidProblemError(
                "`values` (J, A) per-arm level values, or `states` (their expected one-step "
                "rewards), are needed for the linear objective"
            )
        values = problem.level_values(_states(problem, states))
    elif states is not None:
        raise InvalidProblemError("`values` and `states` exclude each other for the linear objective")
    m = linear_model(problem, values)

    def objective(problem, x):
        vals = np.array(
            [[p.value for p in (m.level_value[j, k] for k in range(len(m.level_index)))] for j in range(problem.n_arms)]
        )
        return float(vals[np.arange(problem.n_arms), problem.constraint.levels(x)].sum())

    return m, Export(problem, lambda p, model: (_decisions(p, model), {}), "max", objective, _check, kind="linear")


def enumerate_argmax(problem: CoupledRMAB, layers, states) -> tuple[np.ndarray, float]:
    """``(x, Q)``: the argmax of the network over every feasible action (small action sets)."""
    actions = problem.feasible_actions()
    enc = np.broadcast_to(
        _relu.encode_states(_states(problem, states), problem.n_states), (actions.shape[0], problem.n_arms * problem.n_states)
    )
    q = _relu.forward(layers, np.concatenate([actions.astype(float), enc], axis=1))
    best = int(np.argmax(q))
    return actions[best].astype(np.int64), float(q[best])


def argmax(problem: CoupledRMAB, network, states, *, formulation: str = "interval", opts=None):
    """``(x, Q(x, s), result)``: the Q-network argmax through Pyomo with ``opts.options['solver']``."""
    from ...core.solve import SolveOptions
    from ._common import to_pyomo
    from ._results import from_pyomo

    opts = opts or SolveOptions()
    model = to_pyomo(problem, network=network, states=states, formulation=formulation)
    outcome = solve_model(model, opts, "max")
    r = from_pyomo(problem, model, outcome)
    return (r.x if r.ok else None), (r.objective if r.ok else float("nan")), r


@register(CoupledRMAB, "myopic", backend="pyomo", priority=80, options=OPTIONS, **HONOURS)
def solve_myopic(problem: CoupledRMAB, opts: SolveOptions):
    """The one-step optimum over C through Pyomo (any solver it reaches), one model with mutable level values."""
    import dataclasses

    from .._rmab import evaluate, memo, no_warm_start

    no_warm_start(opts, "myopic")
    model = to_pyomo_linear(problem)
    inner = dataclasses.replace(opts, time_limit=None)  # the evaluation keeps the deadline
    solves = [0]

    def step(states, t):
        set_values(model, problem.level_values(states))
        outcome = solve_model(model, inner, "max")
        solves[0] += 1
        if not outcome.has_solution:
            from ...core.errors import SolverError

            raise SolverError(f"myopic through Pyomo: {outcome.solver}: {outcome.raw}")
        x = _decisions(problem, model)
        why = problem.check(x)
        if why:
            from ...core.errors import SolverError

            raise SolverError(f"myopic through Pyomo: {outcome.solver} returned an infeasible action: {why}")
        return x

    act = memo(step, stationary=True)
    from ._common import solver_name

    r = evaluate(
        problem,
        act,
        opts,
        method="myopic",
        stats={"oracle": "pyomo:" + solver_name(opts.options)},
        message=f"one-step optimum (Pyomo, {solver_name(opts.options)})",
    )
    return r.replace(stats={**r.stats, "solves": solves[0]})


def to_pyomo_linear(problem: CoupledRMAB):
    from ._common import to_pyomo

    return to_pyomo(problem, values=np.zeros((problem.n_arms, problem.n_levels)))
