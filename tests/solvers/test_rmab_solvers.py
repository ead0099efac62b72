"""Coupled restless bandits: MIP and CP-SAT models against the checkers, the exact Q-network argmax, bounds, the
baselines and SEQUOIA training."""

import itertools

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.solve import SolveOptions
from orbudget.problems.rmab import CoupledRMAB, london_graph
from orbudget.solvers import _relu
from orbudget.solvers._rmab import Oracle, lagrange_tables, lagrangian_bound, whittle_indices
from tests.conftest import FAMILIES, needs, tiny

ONE = SolveOptions(threads=1)


random_layers = _relu.random_network


def brute_max(p, layers, states):
    acts = p.feasible_actions()
    X = np.c_[acts, np.tile(_relu.encode_states(states, p.n_states), (len(acts), 1))]
    return _relu.forward(layers, X).max()


# -- MIP / CP-SAT feasible sets equal the checker's --------------------------------------------------------------------
@needs("highs")
@needs("ortools")
@pytest.mark.parametrize("kind", FAMILIES)
def test_model_feasible_sets_equal_enumeration(kind):
    from orbudget.solvers.highs.rmab import mip_feasible
    from orbudget.solvers.ortools.rmab import cpsat_feasible

    for seed in (0, 1):
        p = tiny(kind, seed)
        feasible = {a.tobytes() for a in p.feasible_actions().astype(np.int64)}
        count = 0
        for bits in itertools.product((0, 1), repeat=p.n_decisions):
            x = np.array(bits, dtype=np.int64)
            in_c = x.tobytes() in feasible
            assert mip_feasible(p, x, ONE) == in_c, (kind, seed, bits)
            assert cpsat_feasible(p, x) == in_c, (kind, seed, bits)
            count += in_c
        assert count == len(feasible)


# -- linear oracle (myopic) ----------------------------------------------------------------------------------------
@needs("highs")
@needs("ortools")
@pytest.mark.parametrize("kind", FAMILIES)
def test_myopic_oracles_equal_brute_force(kind):
    p = tiny(kind, 2)
    acts = p.feasible_actions()
    oracles = [Oracle(p, k, ONE) for k in ("highs", "cpsat", "enumerate", "auto")]
    rng = np.random.default_rng(0)
    for _ in range(10):
        s = rng.integers(0, p.n_states, p.n_arms)
        best = p.reward(np.broadcast_to(s, (len(acts), p.n_arms)), acts).max()
        for o in oracles:
            x = o.solve(p.level_values(s))
            assert p.check(x) is None
            assert p.reward(s, x) == pytest.approx(best, abs=1e-5), o.kind


def test_knapsack_oracle_for_one_worker_equals_brute_force():
    """A `RMABCapacity` constraint with one worker is a 0/1 knapsack: `auto` takes the core knapsack search, which gives
    the one-step optimum of enumeration; with several workers 'knapsack' is refused, naming the option."""
    rng = np.random.default_rng(4)
    for seed in range(6):
        p = CoupledRMAB.capacity(10, 1, seed=seed, horizon=5)
        assert p.constraint.capacities.size == 1
        knap, enum = Oracle(p, "auto", ONE), Oracle(p, "enumerate", ONE)
        assert knap.kind == "knapsack"
        for _ in range(10):
            values = p.level_values(rng.integers(0, p.n_states, p.n_arms))
            x = knap.solve(values)
            assert p.check(x) is None
            got = values[np.arange(p.n_arms), x].sum()
            best = values[np.arange(p.n_arms), enum.solve(values)].sum()
            assert got == pytest.approx(best, abs=1e-12)
    with pytest.raises(ob.InvalidProblemError, match="`options.oracle`"):
        Oracle(CoupledRMAB.capacity(10, 2, seed=0, horizon=5), "knapsack", ONE)


@needs("highs")
def test_path_never_picks_arms_out_of_reach():
    from orbudget.solvers.highs.rmab import LinearOracle, QNetworkMIP
    from orbudget.solvers.ortools.rmab import CpSatOracle

    for n in (20, 40, 60, 80, 100):
        for budget in (1, 2, 3):
            p = CoupledRMAB.path(n, budget, seed=0, graph=london_graph(n))
            dist = p.constraint.distances
            far = dist > budget
            values = np.zeros((n, 2))
            values[far, 1] = 10.0  # only arms the walk cannot reach pay
            values[~far, 1] = -1.0
            oracles = [LinearOracle(p, ONE)] + ([CpSatOracle(p, ONE)] if n <= 40 else [])
            for o in oracles:
                x, _ = o.solve(values)
                assert x.sum() == 0 and p.check(x) is None
            w = np.r_[np.where(far, 10.0, -1.0), np.zeros(n * p.n_states)]
            mip = QNetworkMIP(p, [(w[None, :], np.zeros(1))], "interval", ONE)
            x, q, _ = mip.argmax(np.zeros(n, int))
            assert x.sum() == 0 and q == pytest.approx(0.0)


# -- the Q-network MIP ---------------------------------------------------------------------------------------------
def _trained_layers(p):
    from orbudget.solvers.torch.rmab import SequoiaPolicy

    pol = SequoiaPolicy(p, hidden=(16, 32), argmax="enumerate", seed=1, device="cpu")
    pol.fit(episodes=0, warm_steps=150, warm_samples=500)
    return pol.layers()


@needs("highs")
@pytest.mark.parametrize("kind", ["budget", "path", "matching", "capacity", "multi"])
@pytest.mark.parametrize("net", ["random", pytest.param("trained", marks=needs("torch"))])
def test_mip_argmax_equals_brute_force_and_forward_pass(kind, net):
    from orbudget.solvers.highs.rmab import QNetworkMIP

    p = tiny(kind, 3)
    d = p.n_decisions + p.n_arms * p.n_states
    layers = random_layers(d, seed=4) if net == "random" else _trained_layers(p)
    mip = QNetworkMIP(p, layers, "interval", ONE)
    rng = np.random.default_rng(5)
    for _ in range(20):
        s = rng.integers(0, p.n_states, p.n_arms)
        x, q, info = mip.argmax(s)
        assert p.check(x) is None
        assert q == pytest.approx(brute_max(p, layers, s), abs=1e-6)
        assert info["mip_value"] == pytest.approx(q, abs=1e-6)  # embedding fidelity


@needs("highs")
def test_sign_convention_linear_network_picks_the_best_set():
    from orbudget.solvers.highs.rmab import QNetworkMIP

    p = CoupledRMAB.budget(8, 3, seed=0)
    w = np.array([0.5, -1.0, 2.0, 0.1, 3.0, -0.2, 1.5, 0.0])
    layers = [(np.r_[w, np.zeros(8 * 4)][None, :], np.array([0.7]))]
    x, q, _ = QNetworkMIP(p, layers, "interval", ONE).argmax(np.zeros(8, int))
    assert x.tolist() == [0, 0, 1, 0, 1, 0, 1, 0] and q == pytest.approx(0.7 + 6.5)
    # and through one hidden layer (ReLU of a positive signal is the identity)
    hidden = [(np.r_[w, np.zeros(32)][None, :], np.array([10.0])), (np.ones((1, 1)), np.zeros(1))]
    x, q, _ = QNetworkMIP(p, hidden, "interval", ONE).argmax(np.zeros(8, int))
    assert x.tolist() == [0, 0, 1, 0, 1, 0, 1, 0] and q == pytest.approx(16.5)


def test_interval_bounds_contain_every_pre_activation():
    rng = np.random.default_rng(0)
    for kind in ("budget", "capacity", "multi", "path"):
        p = tiny(kind, 1)
        d = p.n_decisions + p.n_arms * p.n_states
        layers = random_layers(d, hidden=(16, 32, 8), seed=2)
        box = _relu.interval_bounds(
            layers,
            p.n_decisions,
            p.constraint.max_selected,
            *_relu.state_box_constant(layers, p.n_decisions, p.n_arms, p.n_states),
        )
        acts = p.feasible_actions()
        states = rng.integers(0, p.n_states, (10_000, p.n_arms))
        xs = acts[rng.integers(0, len(acts), 10_000)]
        zs = _relu.pre_activations(layers, np.c_[xs, _relu.encode_states(states, p.n_states)])
        for z, (lo, hi) in zip(zs, box):
            assert (z >= lo - 1e-9).all() and (z <= hi + 1e-9).all()
        for s in states[:50]:  # per-state bounds hold for every feasible action in that state
            c = _relu.first_layer_constant(layers, p.n_decisions, s, p.n_states)
            per = _relu.interval_bounds(layers, p.n_decisions, p.constraint.max_selected, c, c)
            z_all = _relu.pre_activations(layers, np.c_[acts, np.tile(_relu.encode_states(s, p.n_states), (len(acts), 1))])
            for z, (lo, hi), (blo, bhi) in zip(z_all, per, box):
                assert (z >= lo - 1e-9).all() and (z <= hi + 1e-9).all()
                assert (lo >= blo - 1e-9).all() and (hi <= bhi + 1e-9).all()  # tighter than the box


@needs("highs")
def test_tight_bounds_and_bigm_give_the_same_optimum():
    from orbudget.solvers.highs.rmab import QNetworkMIP

    p = tiny("budget", 0, n=8, budget=3)
    layers = random_layers(p.n_arms * 5, seed=7)
    tight, loose = QNetworkMIP(p, layers, "interval", ONE), QNetworkMIP(p, layers, "bigm", ONE)
    rng = np.random.default_rng(1)
    for _ in range(5):
        s = rng.integers(0, 4, 8)
        assert tight.argmax(s)[1] == pytest.approx(loose.argmax(s)[1], abs=1e-6)
    # per state, the interval bounds are small and leave some neurons stable (their σ is fixed, no branching)
    _, bounds = tight._bounds_for(s)
    assert max(float(np.abs(np.r_[lo, hi]).max()) for lo, hi in bounds) < 100
    assert sum(int(((lo >= 0) | (hi <= 0)).sum()) for lo, hi in bounds) > 0


# -- baselines -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", FAMILIES)
def test_every_method_plays_feasible_actions(kind):
    """Property test over random instances: every action every baseline plays passes the family's checker."""
    methods = ["random", "sampling", "myopic", "index"]
    for seed in range(35):
        p = tiny(kind, seed, horizon=4, episodes=2)
        for m in methods:
            opts = {"samples": 5} if m == "sampling" else None
            r = ob.solve(p, method=m, seed=seed, options=opts)
            assert r.x.shape == (2, 4, p.n_decisions)
            for x in r.x.reshape(-1, p.n_decisions):
                assert p.check(x) is None, (kind, seed, m, x)


def test_lagrangian_bound_is_an_upper_bound_and_index_uses_it():
    for kind in ("budget", "path", "capacity", "multi", "matching"):
        for seed in range(3):
            p = tiny(kind, seed)
            bound, lam = lagrangian_bound(p)
            dp = ob.solve(p, method="exact_dp", seed=0).stats["expected"]
            assert bound >= dp - 1e-9 and lam >= 0
    # with a budget that never binds, λ* = 0 and the bound is the unconstrained optimum
    p = CoupledRMAB.budget(3, 3, seed=0, horizon=5)
    bound, lam = lagrangian_bound(p)
    assert lam == pytest.approx(0.0, abs=1e-6)
    assert bound == pytest.approx(ob.solve(p, method="exact_dp").stats["expected"], rel=1e-9)
    Q, _ = lagrange_tables(p, 0.0)
    assert Q.shape == (5, 3, 2, 4)


def test_whittle_index_closed_form_when_actions_do_not_change_transitions():
    p0 = CoupledRMAB.budget(3, 1, seed=0)
    same = p0.transitions.copy()
    same[:, 1] = same[:, 0]
    rewards = np.array([[0, 1, 2, 3], [1, 1, 1, 1], [3, 0, 0, 5.0]])
    p = CoupledRMAB(transitions=same, rewards=rewards, constraint=p0.constraint)
    # the future does not depend on the action, so the index is the immediate difference: 0 here
    assert np.allclose(whittle_indices(p), 0.0, atol=1e-6)
    # an arm whose active action adds a reward bonus through a better next state: index > 0 in every state
    assert (whittle_indices(p0) > -1e-9).any()


def test_exact_dp_is_optimal_against_every_stationary_baseline():
    for kind in ("budget", "path", "multi"):
        p = tiny(kind, 0, episodes=100)
        dp = ob.solve(p, method="exact_dp", seed=0)
        assert dp.status == ob.Status.OPTIMAL
        for m in ("myopic", "index", "random"):
            assert ob.solve(p, method=m, seed=0).objective <= dp.stats["expected"] + 4 * dp.stats["stderr"] + 1e-9


def test_time_limit_returns_the_episodes_played():
    p = tiny("budget", 0, episodes=50)
    r = ob.solve(p, method="sampling", seed=0, time_limit=1e-4)
    assert r.limit == ob.Limit.TIME and 1 <= r.stats["episodes"] < 50 and r.x.shape[0] == r.stats["episodes"]


# -- SEQUOIA -------------------------------------------------------------------------------------------------------
@needs("torch")
def test_sequoia_escapes_the_myopic_trap():
    p = CoupledRMAB.myopic_trap()
    dp = ob.solve(p, method="exact_dp", seed=0).stats["expected"]
    my = ob.solve(p, method="myopic", seed=0).objective
    sq = ob.solve(p, method="sequoia", seed=0)
    assert sq.objective >= 0.9 * dp
    assert sq.objective >= 5 * my
    assert sq.stats["argmax"] == "enumerate"


SMALL_DP = [("budget", 0), ("path", 2), ("matching", 2), ("capacity", 3), ("multi", 0)]


@needs("torch")
@pytest.mark.slow
@pytest.mark.parametrize("kind,seed", SMALL_DP)
def test_small_exact_dp_ordering(kind, seed):
    """random < myopic <= sequoia, and sequoia >= 0.9 of the optimum (J = 6, H = 10, 100 episodes, same randomness
    for every method). Seeds where myopic is above random: on some path and matching seeds the myopic trap puts it
    below random (see the docs page)."""
    p = tiny(kind, seed, episodes=100)
    v = {m: ob.solve(p, method=m, seed=0).objective for m in ("random", "myopic", "sequoia")}
    dp = ob.solve(p, method="exact_dp", seed=0).objective
    assert v["random"] < v["myopic"] <= v["sequoia"] + 1e-9
    assert v["sequoia"] >= 0.9 * dp


@needs("torch")
def test_sequoia_checkpoint_resume_matches_an_uninterrupted_run(tmp_path):
    import torch

    from orbudget.solvers.torch.rmab import SequoiaPolicy

    p = tiny("budget", 0, horizon=5)
    kw = dict(episodes=4, warm_steps=20, warm_samples=100, checkpoint_every=1)
    straight = SequoiaPolicy(p, seed=3, device="cpu")
    straight.fit(checkpoint=tmp_path / "a.pt", **kw)

    def interrupt(info):
        if info["episode"] == 2:
            raise KeyboardInterrupt

    first = SequoiaPolicy(p, seed=3, device="cpu")
    info = first.fit(checkpoint=tmp_path / "b.pt", callback=interrupt, **kw)
    assert info["stopped"] == ob.Limit.INTERRUPTED
    resumed = SequoiaPolicy(p, seed=3, device="cpu")
    info = resumed.fit(checkpoint=tmp_path / "b.pt", **kw)
    assert info["resumed"] and info["episodes_trained"] == 4
    for a, b in zip(straight.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.equal(a, b)


@needs("torch")
@needs("highs")
def test_sequoia_with_the_mip_in_the_loop():
    p = tiny("capacity", 3, horizon=5, episodes=3)
    r = ob.solve(p, method="sequoia", seed=0, options={"argmax": "mip", "episodes": 3, "warm_steps": 50, "hidden": (8, 8)})
    assert r.stats["argmax"] == "mip" and r.stats["mip"]["solves"] > 0
    assert r.stats["mip"]["max_fidelity_error"] < 1e-6
    for x in r.x.reshape(-1, p.n_decisions):
        assert p.check(x) is None
    # the greedy MIP actions equal the enumeration oracle's values for the same network
    from orbudget.solvers.torch.rmab import SequoiaPolicy

    pol = SequoiaPolicy(p, hidden=(8, 8), argmax="mip", seed=0, device="cpu")
    pol.fit(episodes=1, warm_steps=30, warm_samples=100)
    enum = SequoiaPolicy(p, hidden=(8, 8), argmax="enumerate", seed=0, device="cpu")
    enum.load_state_dict(pol.state_dict())
    states = np.random.default_rng(0).integers(0, 4, (6, p.n_arms))
    assert np.allclose(pol.best(states)[1], enum.best(states)[1], atol=1e-5)


@needs("torch")
def test_sequoia_warm_start_from_a_policy_evaluates_without_training():
    from orbudget.solvers.torch.rmab import SequoiaPolicy

    p = CoupledRMAB.myopic_trap(episodes=2)
    pol = SequoiaPolicy(p, seed=0, device="cpu")
    pol.fit(episodes=0, warm_steps=100, warm_samples=200)
    r = ob.solve(p, method="sequoia", seed=0, warm_start=pol, options={"episodes": 0})
    assert r.stats["episodes_trained"] == 0
    from orbudget.solvers._rmab import evaluate

    same = evaluate(p, lambda s, t, rng: pol.act(s), SolveOptions(seed=0), method="sequoia")
    assert r.objective == same.objective and np.array_equal(r.x, same.x)


@needs("torch")
def test_demo_rows():
    from orbudget.demos import run_demos

    rows = run_demos("rmab", quick=True)
    methods = [r[2] for r in rows]
    assert methods == ["exact_dp", "sequoia", "index", "myopic", "sampling", "random"]
    by = {r[2]: r for r in rows}
    assert by["sequoia"][5] < 0.1 and by["myopic"][5] > 0.5  # gap to the exact DP


@needs("torch")
@pytest.mark.parametrize("kind", FAMILIES)
def test_sequoia_plays_feasible_actions(kind):
    """SEQUOIA's greedy and exploratory actions pass the checker (short runs on random instances)."""
    for seed in range(3):
        p = tiny(kind, seed, horizon=4, episodes=2)
        r = ob.solve(
            p,
            method="sequoia",
            seed=seed,
            options={"episodes": 2, "warm_steps": 20, "warm_samples": 50, "batch_size": 4, "hidden": (8,)},
        )
        for x in r.x.reshape(-1, p.n_decisions):
            assert p.check(x) is None, (kind, seed, x)


@needs("highs")
def test_mip_time_limit_still_returns_a_feasible_action():
    from orbudget.solvers.highs.rmab import QNetworkMIP

    p = CoupledRMAB.budget(30, 8, seed=0)
    layers = random_layers(30 * 5, hidden=(32, 32), seed=0)
    mip = QNetworkMIP(p, layers, "interval", SolveOptions(threads=1, time_limit=0.05))
    x, q, info = mip.argmax(np.zeros(30, int))
    assert x is None or (p.check(x) is None and np.isfinite(q))
    assert info["status"] in ("optimal", "Time limit reached")


# -- issue 13: options, sizes, state dicts and checkpoints ---------------------------------------------------------
def _jump_to_top(n_states=130, n_arms=2):
    """Every arm jumps to the top state (S − 1) whatever it does: replayed next states are all S − 1."""
    P = np.zeros((n_arms, 2, n_states, n_states))
    P[..., n_states - 1] = 1.0
    R = np.tile(np.linspace(0, 1, n_states), (n_arms, 1))
    return CoupledRMAB(transitions=P, rewards=R, constraint=ob.RMABBudget(budget=1, n_arms=n_arms), horizon=3, episodes=1)


@needs("torch")
def test_sequoia_replay_buffer_holds_states_above_127(tmp_path):
    """States are stored in a dtype wide enough for S (int8 wrapped 129 to −127 and corrupted the training inputs)."""
    import torch

    from orbudget.solvers.torch.rmab import SequoiaPolicy

    p = _jump_to_top(130)
    pol = SequoiaPolicy(p, hidden=(4,), seed=0, device="cpu")
    pol.fit(episodes=2, warm_steps=1, warm_samples=10, batch_size=2, checkpoint=tmp_path / "c.pt")
    ck = torch.load(tmp_path / "c.pt", weights_only=False)
    size = ck["state"]["size"]
    assert size == 6
    assert (ck["buffer"]["s2"][:size] == 129).all()
    assert ck["buffer"]["s"][:size].min() >= 0 and ck["buffer"]["s"][:size].max() <= 129


BAD_SEQUOIA_OPTIONS = [
    ({"target_every": 0}, "options.target_every"),
    ({"replay": 0}, "options.replay"),
    ({"replay": 4, "batch_size": 8}, "options.replay"),
    ({"lr": 0}, "options.lr"),
    ({"lr": float("nan")}, "options.lr"),
    ({"batch_size": 1.5}, "options.batch_size"),
    ({"episodes": -1}, "options.episodes"),
    ({"n_step": 0}, "options.n_step"),
    ({"updates_per_step": -1}, "options.updates_per_step"),
    ({"warm_samples": 0}, "options.warm_samples"),
    ({"warm_steps": "x"}, "options.warm_steps"),
    ({"checkpoint_every": 0}, "options.checkpoint_every"),
    ({"hidden": 8}, "options.hidden"),
    ({"hidden": (0,)}, "options.hidden"),
    ({"device": "nonsense"}, "options.device"),
    ({"device": "cuda:99"}, "options.device"),
    ({"argmax": "best"}, "options.argmax"),
    ({"bounds": "tight"}, "options.bounds"),
    ({"train_initial": "zero"}, "options.train_initial"),
    ({"checkpoint": 7}, "options.checkpoint"),
    ({"mip_time_limit": -1}, "options.mip_time_limit"),
    ({"replay": 10**15}, "options.replay"),
    ({"hidden": (10**9, 10**9)}, "options.hidden"),
]


@needs("torch")
@pytest.mark.parametrize("options,field", BAD_SEQUOIA_OPTIONS, ids=lambda v: str(v))
def test_sequoia_bad_options_name_the_option(options, field):
    p = tiny("budget", 0, horizon=3, episodes=1)
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        ob.solve(p, method="sequoia", seed=0, options={"episodes": 1, "warm_steps": 1, "warm_samples": 10, **options})


def test_sequoia_cuda_without_cuda_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ob.InvalidProblemError, match="`options.device` is 'cuda' but CUDA is not available"):
        ob.solve(tiny("budget", 0, horizon=3, episodes=1), method="sequoia", options={"device": "cuda"})


@pytest.mark.parametrize(
    "method,options,field",
    [
        ("sampling", {"samples": 0}, "options.samples"),
        ("sampling", {"samples": 10**15}, "options.samples"),
        ("myopic", {"oracle": "gurobi"}, "options.oracle"),
        ("index", {"oracle": 3}, "options.oracle"),
        ("index", {"index": "gittins"}, "options.index"),
        ("myopic", {"kind": "lagrange"}, "options"),
        ("random", {"samples": 3}, "options"),
        ("exact_dp", {"oracle": "highs"}, "options"),
    ],
)
def test_baseline_bad_options_name_the_option(method, options, field):
    with pytest.raises(ob.InvalidProblemError, match=f"`{field}`"):
        ob.solve(tiny("capacity", 0, horizon=3, episodes=1), method=method, options=options)


def test_whittle_on_multi_level_arms_names_the_option():
    with pytest.raises(ob.InvalidProblemError, match="`options.index`"):
        ob.solve(tiny("multi", 0, horizon=3, episodes=1), method="index", options={"index": "whittle"})


@needs("highs")
@needs("ortools")
@pytest.mark.parametrize("method", ["myopic", "index"])
def test_documented_oracle_options_are_accepted(method):
    """`options={'oracle': 'highs'}` reached HiGHS as a HiGHS option and was refused; every documented oracle gives
    the same decisions as enumeration."""
    p = tiny("capacity", 1, budget=1, horizon=3, episodes=2)  # one worker: 'knapsack' applies too
    got = {
        o: ob.solve(p, method=method, seed=0, options={"oracle": o}) for o in ("auto", "highs", "cpsat", "enumerate", "knapsack")
    }
    assert got["highs"].stats["oracle"] == "highs"
    for o, r in got.items():
        assert r.objective == pytest.approx(got["enumerate"].objective, abs=1e-9), o


@pytest.mark.parametrize("method", ["random", "sampling", "myopic", "index", "exact_dp"])
def test_fixed_policies_refuse_a_warm_start(method):
    with pytest.raises(ob.InvalidProblemError, match="`warm_start`"):
        ob.solve(tiny("budget", 0, horizon=3, episodes=1), method=method, warm_start={"net": {}})


@pytest.mark.parametrize("method", ["random", "myopic", "index", "sampling", "exact_dp"])
def test_huge_horizon_is_a_clear_error_with_the_memory_needed(method):
    p = CoupledRMAB.budget(3, 1, seed=0, horizon=10**15, episodes=2)
    with pytest.raises(ob.InvalidProblemError, match=r"`horizon`.*GiB"):
        ob.solve(p, method=method)


def test_huge_state_space_is_a_clear_error():
    with pytest.raises(ob.InvalidProblemError, match=r"`n_states`.*GiB"):
        CoupledRMAB.chain(np.full((4, 2), 0.5), n_states=10**6)
    p = CoupledRMAB.budget(3, 1, seed=0, horizon=10**15, episodes=2)
    from orbudget.solvers._rmab import exact_dp

    with pytest.raises(ob.InvalidProblemError, match=r"`horizon`.*GiB"):
        exact_dp(p)


@needs("torch")
def test_sequoia_states_and_checkpoints_belong_to_one_problem(tmp_path):
    import torch

    from orbudget.solvers.torch.rmab import SequoiaPolicy

    p, q = tiny("budget", 0, horizon=3, episodes=1), tiny("budget", 1, horizon=3, episodes=1)
    pol_p, pol_q = SequoiaPolicy(p, hidden=(4,), device="cpu"), SequoiaPolicy(q, hidden=(4,), device="cpu")
    state = pol_q.state_dict()
    assert state["kind"] == "SequoiaPolicy" and state["fingerprint"] == ob.core.validation.fingerprint(q)
    with pytest.raises(ob.InvalidProblemError, match="`state` belongs to another problem"):
        pol_p.load_state_dict(state)
    with pytest.raises(ob.InvalidProblemError, match="`warm_start` belongs to another problem"):
        ob.solve(p, method="sequoia", warm_start=pol_q, options={"episodes": 0})
    wrong = dict(pol_p.state_dict(), hidden=(8,))
    with pytest.raises(ob.InvalidProblemError, match="`state` holds a network with hidden layers"):
        pol_p.load_state_dict(wrong)
    with pytest.raises(ob.InvalidProblemError, match="`state` must be a state of a SequoiaPolicy"):
        pol_p.load_state_dict({**pol_p.state_dict(), "kind": "RCO"})
    with pytest.raises(ob.InvalidProblemError, match="`state` does not hold this policy's network weights"):
        pol_p.load_state_dict({**pol_p.state_dict(), "net": {"w": torch.zeros(2)}})
    pol_p.load_state_dict(pol_p.state_dict())  # its own state loads
    # checkpoints: another problem's, garbage bytes and another kind of torch file are refused by name
    kw = dict(episodes=1, warm_steps=1, warm_samples=10, batch_size=2, replay=50)
    pol_q.fit(checkpoint=tmp_path / "q.pt", **kw)
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` belongs to another problem"):
        pol_p.fit(checkpoint=tmp_path / "q.pt", **kw)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* is not a SEQUOIA checkpoint"):
        pol_p.fit(checkpoint=tmp_path / "junk.pt", **kw)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint`"):
        pol_p.fit(checkpoint=tmp_path / "other.pt", **kw)
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` holds a replay buffer"):
        pol_q.fit(checkpoint=tmp_path / "q.pt", **{**kw, "replay": 60})


@needs("highs")
def test_highs_oracle_after_another_model_started_highs_pool_with_other_threads():
    """HiGHS keeps one global thread pool: a model asking another thread count than the running pool got model
    status 'Not Set' (the linear oracle raised SolverError) unless the pool is reset first, as new_highs does."""
    import highspy

    from orbudget.core.solve import SolveOptions
    from orbudget.solvers.highs.rmab import LinearOracle

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    highspy.Highs.resetGlobalScheduler(True)
    h.setOptionValue("threads", 2)
    h.addVar(0, 1)
    h.changeColCost(0, 1.0)
    h.run()  # the pool now runs two threads
    q = ob.CoupledRMAB.budget(6, 2, seed=0)
    values = np.random.default_rng(0).random((q.n_arms, 2))
    x, value = LinearOracle(q, SolveOptions()).solve(values)
    assert int(x.sum()) <= 2
    assert value == pytest.approx(max(np.sort(values[:, 1] - values[:, 0])[-2:].clip(0).sum(), 0) + values[:, 0].sum())


def test_exact_dp_stops_during_the_dp_with_no_policy():
    # issue 15: backward induction took every stage before any limit was read
    p = ob.CoupledRMAB.budget(7, 3, seed=0, horizon=30, episodes=5)
    seen = []

    def stop(info):
        seen.append(info)
        return info.get("phase") == "dp" and info["stage"] == 3

    r = ob.solve(p, method="exact_dp", callback=stop)
    assert r.status is ob.Status.NO_SOLUTION and r.limit is ob.Limit.INTERRUPTED
    assert [i["stage"] for i in seen] == [1, 2, 3]
    full = ob.solve(p, method="exact_dp", seed=0)
    assert full.status is ob.Status.OPTIMAL and full.limit is None


@pytest.mark.parametrize("method,kind", [("index", "lagrange"), ("index", "whittle"), ("myopic", "lagrange")])
def test_rmab_policy_object_decides_as_solve_does(method, kind):
    # the environment is driven by the seed alone, so the policy object replays solve's episodes step for step
    from orbudget.core.validation import split_seed
    from orbudget.solvers.numpy.rmab import RMABPolicy

    p = CoupledRMAB.budget(6, 2, seed=0, horizon=8, episodes=5)
    options = {"index": kind} if method == "index" else {}
    r = ob.solve(p, method=method, seed=3, options=options)
    pol = RMABPolicy(p, method, index=kind)
    env = p.env(split_seed(3)[1])
    rewards, actions = [], []
    for _ in range(p.episodes):
        states, _ = env.reset()
        for t in range(p.horizon):
            x = pol.act(states, t)
            assert p.check(x) is None
            actions.append(x)
            states, reward, *_ = env.step(x)
            rewards.append(reward)
    np.testing.assert_array_equal(np.array(actions).reshape(r.x.shape), r.x)
    assert np.mean(rewards) == pytest.approx(r.objective, rel=1e-12)
    again = RMABPolicy(p, "myopic")
    again.load_state_dict(pol.state_dict())  # the same policy again, from its state
    assert again.state_dict() == pol.state_dict()
    s0 = np.zeros(6, dtype=np.int64)
    assert np.array_equal(again.act(s0, 2), pol.act(s0, 2))
    pol.update(states, reward)  # nothing to learn; the decisions stay the same
    assert np.array_equal(pol.act(s0, 2), again.act(s0, 2))
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        again.load_state_dict({"method": "index"})
    with pytest.raises(ob.InvalidProblemError, match="`states`"):
        pol.act(np.full(6, p.n_states))
    with pytest.raises(ob.InvalidProblemError, match="`t`"):
        pol.act(np.zeros(6, dtype=np.int64), p.horizon)
