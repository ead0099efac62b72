"""Fuzz suite for coupled restless bandits: malformed models, options, SEQUOIA state dicts, checkpoints and files, each
run in a child interpreter (a crash is a failure); and a property for every registered method: every action played
over the evaluation episodes passes the constraint's independent checker (for a plain RMABBudget, the number of arms
acted on is counted again here and never exceeds the budget)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbudget as ob
from orbudget.problems.rmab import CoupledRMAB

from .conftest import examples
from .harness import Case, suite

P = "p = ob.CoupledRMAB.budget(3, 1, seed=0, horizon=3, episodes=1)\n"
Q = "q = ob.CoupledRMAB.budget(3, 1, seed=1, horizon=3, episodes=1)\n"
TINY = {"episodes": 1, "warm_steps": 2, "warm_samples": 10, "hidden": (4,), "batch_size": 2, "replay": 20, "device": "cpu"}
POLICY = "from orbudget.solvers.torch.rmab import SequoiaPolicy\n"


def model(**changes):
    kw = {"transitions": "p.transitions", "rewards": "p.rewards", "constraint": "p.constraint", **changes}
    return P + "ob.CoupledRMAB(" + ", ".join(f"{k}={v}" for k, v in kw.items()) + ")"


def solve(method, options=None, **kw):
    extra = "".join(f", {k}={v}" for k, v in kw.items())
    return P + f"result = ob.solve(p, method={method!r}, seed=0, options={options!r}{extra})"


def sequoia(**options):
    return solve("sequoia", {**TINY, **options})


CASES = [
    # -- model fields ------------------------------------------------------------------------------------------------
    Case(
        "rows do not sum to 1",
        P + "t = p.transitions.copy(); t[0, 0, 0, 0] += 0.5\n" + model(transitions="t")[len(P) :],
        field="transitions",
    ),
    Case(
        "negative probability",
        P + "t = p.transitions.copy(); t[0, 1, 1] = [1.5, -0.5, 0, 0]\n" + model(transitions="t")[len(P) :],
        field="transitions",
    ),
    Case(
        "nan probability",
        P + "t = p.transitions.copy(); t[0, 0, 0, 0] = np.nan\n" + model(transitions="t")[len(P) :],
        field="transitions",
    ),
    Case("transitions 3-d", model(transitions="p.transitions[0]"), field="transitions"),
    Case("one action level", model(transitions="p.transitions[:, :1]"), field="transitions"),
    Case("rewards of the wrong shape", model(rewards="p.rewards[:, :2]"), field="rewards"),
    Case("infinite reward", P + "r = p.rewards.copy(); r[0, 0] = np.inf\n" + model(rewards="r")[len(P) :], field="rewards"),
    Case("constraint as text", model(constraint="'budget'"), field="constraint"),
    Case("negative budget", "ob.RMABBudget(budget=-1, n_arms=3)", field="constraint.budget"),
    Case("budget for other arm count", model(constraint="ob.RMABBudget(budget=1, n_arms=5)"), field="constraint.n_arms"),
    Case("horizon zero", model(horizon="0"), field="horizon"),
    Case("fractional horizon", model(horizon="2.5"), field="horizon"),
    Case("discount above 1", model(discount="1.5"), field="discount"),
    Case("initial rows do not sum to 1", model(initial="np.full((3, 4), 0.5)"), field="initial"),
    Case("episodes zero", model(episodes="0"), field="episodes"),
    Case(
        "horizon needing petabytes",
        "p = ob.CoupledRMAB.budget(3, 1, seed=0, horizon=10**15, episodes=2)\nob.solve(p, method='myopic')",
        field="horizon",
    ),
    Case(
        "horizon too large for the index DP",
        "p = ob.CoupledRMAB.budget(3, 1, seed=0, horizon=10**12, episodes=1)\n"
        "from orbudget.solvers._rmab import lagrange_tables\nlagrange_tables(p, 0.5)",
        field="horizon",
    ),
    Case("state space too large", "ob.CoupledRMAB.chain(np.full((3, 2), 0.5), n_states=10**6)", field="n_states"),
    Case(
        "joint state too large for exact_dp",
        "p = ob.CoupledRMAB.budget(14, 3, seed=0, horizon=3)\nob.solve(p, method='exact_dp')",
        field="transitions",
    ),
    # -- options -----------------------------------------------------------------------------------------------------
    Case("sequoia target_every 0", sequoia(target_every=0), field="options.target_every"),
    Case("sequoia replay 0", sequoia(replay=0), field="options.replay"),
    Case("sequoia replay below a batch", sequoia(replay=2, batch_size=8), field="options.replay"),
    Case("sequoia replay needing petabytes", sequoia(replay=10**15), field="options.replay"),
    Case(
        "sequoia device not here",
        P + "import torch\n"
        "device = 'cuda:99' if torch.cuda.is_available() else 'cuda'\n"
        f"ob.solve(p, method='sequoia', options={{**{TINY!r}, 'device': device}})",
        field="options.device",
    ),
    Case("sequoia device nonsense", sequoia(device="abacus"), field="options.device"),
    Case("sequoia lr negative", sequoia(lr=-0.1), field="options.lr"),
    Case("sequoia hidden as int", sequoia(hidden=16), field="options.hidden"),
    Case("sequoia n_step 0", sequoia(n_step=0), field="options.n_step"),
    Case("sequoia checkpoint not a path", sequoia(checkpoint=3.5), field="options.checkpoint"),
    Case("sequoia mip_time_limit negative", sequoia(mip_time_limit=-1), field="options.mip_time_limit"),
    Case("sequoia unknown option", solve("sequoia", {"epochs": 3}), field="options"),
    Case("myopic oracle unknown", solve("myopic", {"oracle": "gurobi"}), field="options.oracle"),
    Case("index unknown", solve("index", {"index": "gittins"}), field="options.index"),
    Case(
        "index whittle on multi-level arms",
        "p = ob.CoupledRMAB.multiple_interventions(6, 4, 2, seed=0, horizon=3, "
        "episodes=1)\nob.solve(p, method='index', options={'index': 'whittle'})",
        field="options.index",
    ),
    Case("sampling samples 0", solve("sampling", {"samples": 0}), field="options.samples"),
    Case("sampling samples huge", solve("sampling", {"samples": 10**15}), field="options.samples"),
    Case("random takes no options", solve("random", {"samples": 3}), field="options"),
    Case("exact_dp takes no options", solve("exact_dp", {"oracle": "highs"}), field="options"),
    Case("myopic with a warm start", solve("myopic", None, warm_start="{'net': {}}"), field="warm_start"),
    Case("documented oracle highs for myopic", solve("myopic", {"oracle": "highs"}), status=("FEASIBLE",)),
    Case("documented oracle highs for index", solve("index", {"oracle": "highs"}), status=("FEASIBLE",)),
    Case("documented oracle cpsat for index", solve("index", {"oracle": "cpsat"}), status=("FEASIBLE",)),
    # -- state dicts and warm starts ---------------------------------------------------------------------------------
    Case(
        "state of another problem",
        P + Q + POLICY + "SequoiaPolicy(p, hidden=(4,), device='cpu')"
        ".load_state_dict(SequoiaPolicy(q, hidden=(4,), device='cpu').state_dict())",
        field="state",
    ),
    Case(
        "state of another kind",
        P + POLICY + "a = SequoiaPolicy(p, hidden=(4,), device='cpu')\na.load_state_dict({**a.state_dict(), 'kind': 'RCO'})",
        field="state",
    ),
    Case(
        "state without fingerprint",
        P + POLICY + "a = SequoiaPolicy(p, hidden=(4,), device='cpu')\n"
        "s = a.state_dict(); del s['fingerprint']\na.load_state_dict(s)",
        field="state",
    ),
    Case(
        "state that is a list", P + POLICY + "SequoiaPolicy(p, hidden=(4,), device='cpu').load_state_dict([1, 2])", field="state"
    ),
    Case(
        "state with other layers",
        P + POLICY + "a = SequoiaPolicy(p, hidden=(4,), device='cpu')\na.load_state_dict(dict(a.state_dict(), hidden=(8,)))",
        field="state",
    ),
    Case(
        "state with nan weights",
        P + POLICY + "import torch\na = SequoiaPolicy(p, hidden=(4,), device='cpu')\n"
        "s = a.state_dict(); s['net'] = {k: torch.full_like(v, float('nan')) for k, v in s['net'].items()}\n"
        "a.load_state_dict(s)",
        field="state",
    ),
    Case(
        "warm start of another problem",
        P + Q + POLICY + "ob.solve(p, method='sequoia', warm_start=SequoiaPolicy(q, hidden=(4,), device='cpu'), "
        "options={'episodes': 0, 'hidden': (4,), 'device': 'cpu'})",
        field="warm_start",
    ),
    Case("warm start of a number", solve("sequoia", {"episodes": 0}, warm_start="7"), field="warm_start"),
    Case(
        "state loads into its own policy",
        P + POLICY + "a = SequoiaPolicy(p, hidden=(4,), device='cpu')\n"
        "b = SequoiaPolicy(p, hidden=(4,), seed=5, device='cpu')\nb.load_state_dict(a.state_dict())\n"
        "assert (b.q_values(np.zeros((1, 3), int), np.zeros((1, 3), int)) == "
        "a.q_values(np.zeros((1, 3), int), np.zeros((1, 3), int))).all()",
    ),
    # -- checkpoints -------------------------------------------------------------------------------------------------
    Case(
        "checkpoint of another problem",
        P + Q + "import os\npath = os.path.join(tmp, 's.pt')\n"
        f"ob.solve(q, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})\n"
        f"ob.solve(p, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})",
        field="checkpoint",
    ),
    Case(
        "checkpoint of garbage bytes",
        P + "import os\npath = os.path.join(tmp, 's.pt')\n"
        "open(path, 'wb').write(b'PK\\x03\\x04 cut short')\n"
        f"ob.solve(p, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})",
        field="checkpoint",
    ),
    Case(
        "checkpoint empty file",
        P + "import os\npath = os.path.join(tmp, 's.pt')\nopen(path, 'wb').close()\n"
        f"ob.solve(p, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})",
        field="checkpoint",
    ),
    Case(
        "checkpoint of another kind",
        P + "import os, torch\npath = os.path.join(tmp, 's.pt')\n"
        "torch.save({'kind': 'RCO', 'state': {}, 'param_groups': []}, path)\n"
        f"ob.solve(p, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})",
        field="checkpoint",
    ),
    Case(
        "checkpoint that is a model file",
        P + "import os\npath = str(ob.save(p, os.path.join(tmp, 'p.json')))\n"
        f"ob.solve(p, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})",
        field="checkpoint",
    ),
    Case(
        "checkpoint with another replay size",
        P + "import os\npath = os.path.join(tmp, 's.pt')\n"
        f"ob.solve(p, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})\n"
        f"ob.solve(p, method='sequoia', options={{**{TINY!r}, 'replay': 30, 'checkpoint': path}})",
        field="checkpoint",
    ),
    Case(
        "checkpoint resumes its own run",
        P + "import os\npath = os.path.join(tmp, 's.pt')\n"
        f"a = ob.solve(p, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})\n"
        f"result = ob.solve(p, method='sequoia', options={{**{TINY!r}, 'checkpoint': path}})\n"
        "assert result.stats['resumed']",
        status=("FEASIBLE",),
    ),
    # -- files -------------------------------------------------------------------------------------------------------
    Case("file round trip", P + "import os\nassert ob.load(ob.save(p, os.path.join(tmp, 'p.json'))) == p"),
    Case(
        "file with rows not summing to 1",
        P + "import json, os\npath = ob.save(p, os.path.join(tmp, 'p.json'))\n"
        "d = json.loads(open(path).read())\nd['data']['transitions']['__array__'][0][0][0][0] += 0.25\n"
        "open(path, 'w').write(json.dumps(d))\nob.load(path)",
        field="transitions",
    ),
    Case(
        "file with an unknown constraint",
        P + "import json, os\npath = ob.save(p, os.path.join(tmp, 'p.json'))\n"
        "d = json.loads(open(path).read())\nd['data']['constraint']['kind'] = 'Teleport'\n"
        "open(path, 'w').write(json.dumps(d))\nob.load(path)",
        field="constraint",
    ),
    Case(
        "file with a negative horizon",
        P + "import json, os\npath = ob.save(p, os.path.join(tmp, 'p.json'))\n"
        "d = json.loads(open(path).read())\nd['data']['horizon'] = -4\n"
        "open(path, 'w').write(json.dumps(d))\nob.load(path)",
        field="horizon",
    ),
    Case(
        "file cut short",
        P + "import os\npath = str(ob.save(p, os.path.join(tmp, 'p.json')))\n"
        "text = open(path).read()\nopen(path, 'w').write(text[: len(text) // 2])\nob.load(path)",
        error="InvalidFileError",
        field="cut short",
    ),
    # -- documented statuses -----------------------------------------------------------------------------------------
    Case(
        "budget zero plays the empty action",
        "p = ob.CoupledRMAB.budget(3, 0, seed=0, horizon=3, episodes=1)\n"
        "result = ob.solve(p, method='index')\nassert (result.x == 0).all()",
        status=("FEASIBLE",),
    ),
    Case(
        "exact_dp is optimal",
        "p = ob.CoupledRMAB.myopic_trap(episodes=1)\nresult = ob.solve(p, method='exact_dp')",
        status=("OPTIMAL",),
    ),
    Case(
        "index policy state with an unknown method",
        P + "from orbudget.solvers.numpy.rmab import RMABPolicy\npol = RMABPolicy(p)\n"
        "pol.load_state_dict({**pol.state_dict(), 'method': 'bogus'})",
        field="state",
    ),
]


outcomes, test_malformed, test_summary = suite(CASES, "rmab")


# -- every played action is feasible ---------------------------------------------------------------------------------
CYCLE4 = (4, np.array([[0, 1], [1, 2], [2, 3], [3, 0]]), 0)


@st.composite
def bandits(draw):
    """Tiny bandits of every constraint family; budgets of zero, one, or every arm."""
    kind = draw(st.sampled_from(["budget", "path", "matching", "capacity", "multi"]))
    seed = draw(st.integers(0, 999))
    kw = {"seed": seed, "horizon": draw(st.integers(1, 3)), "episodes": draw(st.integers(1, 2))}
    if kind == "budget":
        n = draw(st.integers(1, 4))
        return CoupledRMAB.budget(n, draw(st.integers(0, n)), **kw)
    if kind == "path":
        return CoupledRMAB.path(4, draw(st.integers(0, 2)), graph=CYCLE4, **kw)
    if kind == "matching":
        return CoupledRMAB.matching(draw(st.integers(2, 4)), draw(st.integers(1, 2)), n_slots=3, **kw)
    if kind == "capacity":
        return CoupledRMAB.capacity(draw(st.integers(2, 4)), draw(st.integers(1, 2)), **kw)
    return CoupledRMAB.multiple_interventions(4, draw(st.integers(1, 3)), draw(st.integers(0, 1)), **kw)


def options_for(method):
    if method == "sequoia":
        return dict(TINY)
    if method == "sampling":
        return {"samples": 3}
    return None


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bandits(), st.integers(0, 2**31 - 1))
def test_every_method_plays_only_feasible_actions(p, seed):
    methods = [m for m, _backend, available in ob.available_solvers(p) if available]
    assert {"random", "myopic", "index", "sampling"} <= set(methods)
    budget = p.constraint.budget if isinstance(p.constraint, ob.RMABBudget) else None
    for method in methods:
        r = ob.solve(p, method=method, seed=seed, options=options_for(method))
        assert r.ok, (method, r.message)
        x = np.asarray(r.x)
        assert x.shape == (p.episodes, p.horizon, p.n_decisions), method
        assert set(np.unique(x)) <= {0, 1}, method
        for action in x.reshape(-1, p.n_decisions):
            assert p.constraint.check(action) is None, (method, action)
            if budget is not None:
                assert int(action.sum()) <= budget, (method, action, budget)
