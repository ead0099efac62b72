"""CoupledRMAB: validation, dynamics, the independent checkers (against brute force), generators, graph data."""

import itertools
import json

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.rmab import CoupledRMAB, london_graph, pack

from ..conftest import FAMILIES, tiny


# -- validation ----------------------------------------------------------------------------------------------------
def test_bad_input_names_the_field():
    p = CoupledRMAB.myopic_trap()
    bad = p.transitions.copy()
    bad[0, 0, 0, 0] = 0.5
    with pytest.raises(ob.InvalidProblemError, match="`transitions` rows must sum to 1"):
        CoupledRMAB(transitions=bad, rewards=p.rewards, constraint=p.constraint)
    with pytest.raises(ob.InvalidProblemError, match="`rewards`"):
        CoupledRMAB(transitions=p.transitions, rewards=np.zeros((3, 3)), constraint=p.constraint)
    with pytest.raises(ob.InvalidProblemError, match="`constraint.budget`"):
        ob.RMABBudget(budget=-1, n_arms=2)
    with pytest.raises(ob.InvalidProblemError, match="`constraint.n_nodes`"):
        CoupledRMAB(
            transitions=p.transitions,
            rewards=p.rewards,
            constraint=ob.PathConstraint(n_nodes=3, edges=[[0, 1]], source=0, budget=1),
        )
    with pytest.raises(ob.InvalidProblemError, match="`constraint.n_arms`"):
        CoupledRMAB(transitions=p.transitions, rewards=p.rewards, constraint=ob.RMABBudget(budget=1, n_arms=3))
    with pytest.raises(ob.InvalidProblemError, match="self-loops"):
        ob.PathConstraint(n_nodes=3, edges=[[1, 1]], source=0, budget=1)
    with pytest.raises(ob.InvalidProblemError, match="`constraint`"):
        CoupledRMAB(transitions=p.transitions, rewards=p.rewards, constraint="budget")
    with pytest.raises(ob.InvalidProblemError, match="`horizon`"):
        CoupledRMAB(transitions=p.transitions, rewards=p.rewards, constraint=p.constraint, horizon=0)
    env = p.env(0)
    env.reset()
    with pytest.raises(ob.InvalidProblemError, match="`action` is infeasible: acts on 2 arms; the budget is 1"):
        env.step([1, 1])


def test_round_trip_and_pickle(tmp_path):
    import pickle

    for kind in FAMILIES:
        p = tiny(kind)
        assert ob.load(ob.save(p, tmp_path / f"{kind}.json")) == p
        assert pickle.loads(pickle.dumps(p)) == p


# -- dynamics --------------------------------------------------------------------------------------------------------
def test_expected_reward_matches_monte_carlo():
    p = CoupledRMAB.budget(5, 2, seed=3)
    rng = np.random.default_rng(0)
    states = rng.integers(0, 4, 5)
    x = np.array([1, 0, 1, 0, 0])
    env = p.env(1, reward="sampled")
    draws = []
    for _ in range(10_000):
        env.reset()
        env.states = states.copy()
        s2, r, *_ = env.step(x)
        assert ((0 <= s2) & (s2 < 4)).all()
        draws.append(r)
    draws = np.array(draws)
    se = draws.std() / np.sqrt(draws.size)
    assert abs(draws.mean() - p.reward(states, x)) < 4 * se


def test_same_seed_same_run_and_transition_rule():
    p = CoupledRMAB.budget(6, 2, seed=1)
    assert ((p.transitions >= 0) & (p.transitions <= 1)).all()
    # birth-death chain: up with p(m), down otherwise, clipped
    up = p.transitions[:, :, 0, 1]
    assert np.allclose(p.transitions[:, :, 3, 3], up)
    runs = []
    for _ in range(2):
        env, out = p.env(7), []
        s, _ = env.reset()
        for t in range(p.horizon):
            s, r, term, trunc, _ = env.step(p.sample_action(np.random.default_rng(t)))
            out.append((s.tolist(), r))
        assert trunc and not term
        runs.append(out)
    assert runs[0] == runs[1]


def test_null_value_is_exact():
    p = CoupledRMAB.budget(4, 1, seed=2, horizon=6)
    env = p.env(0)
    total = []
    for _ in range(4000):
        env.reset()
        total.append(np.mean([env.step(np.zeros(4, int))[1] for _ in range(6)]))
    assert abs(np.mean(total) - p.null_value()) < 4 * np.std(total) / np.sqrt(len(total))


# -- independent checkers against brute force -------------------------------------------------------------------------
def _walk_sets(c: ob.PathConstraint):
    """Node sets visited by every closed walk of at most `length` moves (brute force over all walks)."""
    sets = set()
    frontier = {(c.source, frozenset([c.source]))}
    for _ in range(c.length + 1):
        sets |= {v for node, v in frontier if node == c.source}
        frontier = {(w, v | {w}) for node, v in frontier for w in (node, *c.neighbors[node])}
    return sets


def _matching_ok(c: ob.BipartiteMatching, pulled):
    """Brute force: try every way of giving each pulled arm `visits` distinct (worker, slot) pairs."""
    pairs = [
        [(w, k) for w in range(c.n_workers) for k in range(c.arm_slots.shape[1]) if c.worker_slots[w, k] and c.arm_slots[j, k]]
        for j in pulled
    ]
    options = []
    for j_pairs in pairs:
        opts = [
            s for s in itertools.combinations(j_pairs, c.visits) if not c.distinct_workers or len({w for w, _ in s}) == c.visits
        ]
        options.append(opts)
    for combo in itertools.product(*options):
        used = [p for s in combo for p in s]
        if len(used) == len(set(used)):
            return True
    return not pulled


def _capacity_ok(c: ob.RMABCapacity, pulled):
    for assign in itertools.product(range(c.capacities.size), repeat=len(pulled)):
        load = np.zeros(c.capacities.size, int)
        for j, w in zip(pulled, assign):
            load[w] += c.costs[j]
        if (load <= c.capacities).all():
            return True
    return not pulled


@pytest.mark.parametrize("seed", range(6))
def test_checkers_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 6
    # path: a random connected graph
    edges = [[i, int(rng.integers(0, i))] for i in range(1, n)] + [[0, 5], [2, 4]]
    path = ob.PathConstraint(n_nodes=n, edges=edges, source=int(rng.integers(n)), budget=2 + seed % 2)
    walks = _walk_sets(path)
    match = ob.BipartiteMatching(
        arm_slots=rng.integers(0, 2, (n, 3)), worker_slots=rng.integers(0, 2, (2, 3)), budget=3, distinct_workers=bool(seed % 2)
    )
    cap = ob.RMABCapacity(costs=rng.integers(2, 7, n), capacities=rng.integers(2, 8, 2))
    for bits in itertools.product((0, 1), repeat=n):
        x = np.array(bits)
        pulled = [int(j) for j in np.flatnonzero(x)]
        ok_path = x.sum() <= path.budget and any(set(pulled) <= w for w in walks)
        assert (path.check(x) is None) == ok_path, (bits, path.check(x))
        if ok_path:
            walk = path.walk(x)
            assert walk[0] == walk[-1] == path.source and len(walk) - 1 <= path.length and set(pulled) <= set(walk)
        ok_match = x.sum() <= match.budget and _matching_ok(match, pulled)
        assert (match.check(x) is None) == ok_match, bits
        assert (cap.check(x) is None) == _capacity_ok(cap, pulled), bits


def test_pack_finds_assignments():
    assert pack([5, 4, 3, 2], [7, 7]) is not None
    assert pack([5, 5, 5], [7, 7]) is None
    assert pack([6, 3, 3, 2], [7, 7]) is None  # 14 units fit 14 only in sum
    where = pack([6, 3, 3, 1], [7, 7])
    load = np.bincount(where, weights=[6, 3, 3, 1], minlength=2)
    assert (load <= 7).all()


@pytest.mark.parametrize("kind", FAMILIES)
def test_samples_are_feasible_and_enumeration_is_downward_closed(kind):
    for seed in range(30):
        p = tiny(kind, seed)
        rng = np.random.default_rng(seed)
        for _ in range(10):
            assert p.check(p.sample_action(rng)) is None
    p = tiny(kind, 1)
    acts = p.feasible_actions()
    assert not acts[0].any()
    assert len({a.tobytes() for a in acts}) == len(acts)
    every = np.array(list(itertools.product((0, 1), repeat=p.n_decisions)))
    feasible = {a.tobytes() for a in every.astype(np.int8) if p.check(a) is None}
    assert feasible == {a.tobytes() for a in acts}


# -- generators and data ------------------------------------------------------------------------------------------------
def test_generators_follow_the_reference_layout():
    p = CoupledRMAB.budget(10, 3, seed=0)
    up_passive, up_active = p.transitions[:, 0, 1, 2], p.transitions[:, 1, 1, 2]
    assert ((0 <= up_passive) & (up_passive <= 0.2)).all() and ((0.7 <= up_active) & (up_active <= 0.9)).all()
    assert np.allclose(p.rewards[:3, :3], [0.2, 0.15, 0.1]) and set(p.rewards[:3, 3]) <= {4, 5, 6}
    assert np.allclose(p.rewards[3:, :3], [0.1, 0.15, 0.2]) and set(p.rewards[3:, 3]) <= {1, 2, 3}
    m = CoupledRMAB.multiple_interventions(20, 10, 5, seed=0)
    hits = m.constraint.hits
    assert (hits.sum(axis=0) == 3).all()  # every intervention hits 3 arms
    triples = [i for i in range(10) if (hits[:, i] @ hits).max() == 3 and ((hits.T @ hits[:, i]) == 3).sum() == 3]
    assert len(triples) == 3  # one group of three interventions on the same three arms
    steep = hits[:, triples[0]].astype(bool)
    assert (m.transitions[steep, 1, 0, 1] < 0.05).all() and (m.transitions[steep, 3, 0, 1] > 0.5).all()
    c = CoupledRMAB.capacity(20, 5, seed=0).constraint
    assert c.capacities.size == 5 and set(c.capacities) <= set(range(2, 8)) and set(c.costs) <= set(range(2, 7))
    s = CoupledRMAB.matching(20, 5, seed=0).constraint
    assert (s.arm_slots.sum(axis=1) == 2).all() and (s.worker_slots.sum(axis=1) == 3).all()


def test_london_graphs(data_dir):
    shared = json.loads((data_dir / "london_tube" / "graphs.json").read_text())
    listed = {20: (29, 0), 40: (56, 10), 60: (82, 20), 80: (108, 0), 100: (133, 0)}
    for n, (n_edges, source) in listed.items():
        nodes, edges, src = london_graph(n)
        assert (nodes, len(edges), src) == (n, n_edges, source)
        assert edges.tolist() == shared["graphs"][str(n)]["edges"]  # the embedded copy is the shared file
        assert (edges[:, 0] != edges[:, 1]).all()
        c = ob.PathConstraint(n_nodes=n, edges=edges, source=src, budget=1)
        assert (c.distances < n).all()  # connected


def test_myopic_trap_values_in_closed_form():
    p = CoupledRMAB.myopic_trap()
    # acting twice on arm 0 then holding it: 0.2 + 19 × 10.1 over 20 steps; myopic: 0.4 + 19 × 1.2
    assert ob.solve(p, method="exact_dp").stats["expected"] == pytest.approx((0.2 + 19 * 10.1) / 20)
    assert ob.solve(p, method="myopic").objective == pytest.approx((0.4 + 19 * 1.2) / 20)


@pytest.mark.parametrize("jit", [True, False])
def test_held_karp_equals_brute_force_tours(jit):
    from orbudget.problems._numerics import held_karp

    kernel = held_karp if jit else held_karp.py_func
    rng = np.random.default_rng(0)
    for k in range(0, 7):
        pts = rng.integers(0, 10, (k + 1, 2))
        dist = np.abs(pts[:, None, :] - pts[None, :, :]).sum(-1).astype(np.int64)  # a metric
        best = min(
            (sum(dist[a, b] for a, b in zip((0, *perm), (*perm, 0))) for perm in itertools.permutations(range(1, k + 1))),
            default=0,
        )
        length, order = kernel(dist)
        assert length == best
        assert sorted(order.tolist()) == list(range(1, k + 1))
        assert sum(dist[a, b] for a, b in zip((0, *order), (*order, 0))) == best


def test_path_checker_on_a_large_route():
    p = CoupledRMAB.path(100, 20, seed=0)
    c = p.constraint
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = c.sample(rng)
        walk = c.walk(x)
        assert walk[0] == walk[-1] == c.source and len(walk) - 1 <= c.length
        assert set(np.flatnonzero(x)) <= set(walk)
        assert all(b in c.neighbors[a] for a, b in zip(walk[:-1], walk[1:]))
