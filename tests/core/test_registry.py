import importlib.util
import subprocess
import sys

import pytest

import orbudget as ob
from orbudget.core.registry import BACKENDS, specs_for


def test_registry_matches_installed_extras():
    p = ob.MultipleChoiceKnapsack.random(3, 2, seed=0)
    for method, backend, available in ob.available_solvers(p):
        modules, _ = BACKENDS[backend]
        assert available == all(importlib.util.find_spec(m) is not None for m in modules), (method, backend)


def test_preference_order_and_names():
    p = ob.MultipleChoiceKnapsack.random(3, 2, seed=0)
    methods = [m for m, _, _ in ob.available_solvers(p)]
    assert methods[0] == "core"
    assert {"dp", "mip", "cpsat", "lp", "greedy"} <= set(methods)
    q = ob.RolloutAllocation(success_rates=[0.5, 0.2], total_rollouts=8)
    qm = [m for m, _, _ in ob.available_solvers(q)]
    assert qm[0] == "greedy"
    assert {"greedy", "dp", "mip", "cpsat", "uniform", "convex", "knapsackrl", "lp"} <= set(qm)


def test_availability_check_does_not_import_backends():
    code = (
        "import sys, orbudget as ob; p = ob.MultipleChoiceKnapsack.random(3, 2, seed=0); "
        "ob.available_solvers(p); print(','.join(m for m in ('highspy', 'ortools', 'cvxpy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_unknown_method_backend_and_option_are_clear_errors():
    p = ob.MultipleChoiceKnapsack.random(3, 2, seed=0)
    with pytest.raises(ob.InvalidProblemError, match="`method` must be one of"):
        ob.solve(p, method="simplex")
    with pytest.raises(ob.InvalidProblemError, match="`backend` must be one of"):
        ob.solve(p, method="dp", backend="highs")
    with pytest.raises(ob.InvalidProblemError, match="unknown key `foo`"):
        ob.solve(p, method="dp", options={"foo": 1})
    with pytest.raises(ob.InvalidProblemError, match="`time_limit`"):
        ob.solve(p, time_limit=-1)


def test_every_spec_has_a_description():
    for cls in (ob.MultipleChoiceKnapsack, ob.RolloutAllocation):
        for s in specs_for(cls):
            assert s.description, (s.method, s.backend)


def test_renamed_methods_and_options_keep_working_for_one_release_with_a_warning():
    import numpy as np
    import pytest

    c = ob.BiddingCampaign.synthetic(n_test=400, n_train=800, episode_length=40, budget_fraction=1 / 8, max_bid=30, seed=1)
    names = [m for m, *_ in ob.available_solvers(c)]
    assert {"linear", "constant", "random"} <= set(names) and not {"lin", "const", "rand"} & set(names)
    for old, new, options in (
        ("lin", "linear", {"base_bid_from": "tuned"}),
        ("const", "constant", None),
        ("rand", "random", None),
    ):
        with pytest.warns(DeprecationWarning, match=f"method '{old}' of BiddingCampaign is renamed '{new}'"):
            r = ob.solve(c, method=old, seed=0, options=options)
        assert r.method == new and r.objective == ob.solve(c, method=new, seed=0, options=options).objective
    cases = [
        (c, "linear", "mode", "base_bid_from", "solved"),
        (c, "ortb", "form", "bid_function", 2),
        (ob.CoupledRMAB.budget(4, 1, seed=0, horizon=3, episodes=2), "index", "kind", "index", "whittle"),
    ]
    for problem, method, old, new, value in cases:
        with pytest.warns(DeprecationWarning, match=f"option '{old}' of method '{method}' is renamed '{new}'"):
            r = ob.solve(problem, method=method, seed=0, options={old: value})
        assert np.array_equal(r.x, ob.solve(problem, method=method, seed=0, options={new: value}).x)
        with (
            pytest.raises(ob.InvalidProblemError, match=f"gives both `{old}` and its new name `{new}`"),
            pytest.warns(DeprecationWarning),
        ):
            ob.solve(problem, method=method, options={old: value, new: value})
    p = ob.CoupledRMAB.budget(4, 1, seed=0, horizon=3, episodes=2)
    with pytest.warns(DeprecationWarning, match="`kind` of RMABPolicy is renamed `index`"):
        old_policy = ob.RMABPolicy(p, "index", kind="whittle")
    states = np.zeros(4, dtype=np.int64)
    assert np.array_equal(old_policy.act(states), ob.RMABPolicy(p, "index", index="whittle").act(states))


def test_every_module_that_registers_is_imported_at_start_up():
    """(Start-up here is the registry's first read: `import orbudget` imports no adapter.)
    solvers/__init__.py finds the adapter modules by their register lines: a module that calls register (at any
    indentation, through a helper or not) is among the imported ones, and no other module is."""
    import re
    from pathlib import Path

    from orbudget.solvers import ADAPTER_MODULES

    root = Path(ob.__file__).parent / "solvers"
    calls = {
        "orbudget.solvers." + ".".join(p.relative_to(root).with_suffix("").parts)
        for p in root.glob("*/*.py")
        if not p.name.startswith("_") and re.search(r"(^|\s|@)register\(", p.read_text())
    }
    assert calls == set(ADAPTER_MODULES) and "orbudget.solvers.numba.bwk" in calls  # registers via _register(...)


def test_every_method_is_registered_in_its_backends_folder():
    """A method's backend label says what it runs on: its function lives in ``orbudget/solvers/<backend>/`` (a
    reduction, such as a rollout method through the knapsack, where the method it reduces to lives)."""
    import inspect

    from orbudget.core.registry import registered

    misplaced = []
    for spec in registered():
        func = inspect.unwrap(spec.func)
        if not func.__module__.startswith("orbudget."):  # a test's own toy method
            continue
        if not func.__module__.startswith(f"orbudget.solvers.{spec.backend}."):
            misplaced.append(f"{spec.problem.__name__}.{spec.method} ({spec.backend}) in {func.__module__}")
    assert not misplaced, misplaced


def test_the_python_backend_is_a_deprecated_name_of_numpy():
    p = ob.MultipleChoiceKnapsack.random(4, 3, seed=0)
    with pytest.warns(DeprecationWarning, match="backend 'python' is renamed 'numpy'"):
        old = ob.solve(p, method="greedy", backend="python")
    assert old.backend == "numpy" and old.x.tolist() == ob.solve(p, method="greedy", backend="numpy").x.tolist()
