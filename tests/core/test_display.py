"""Short model reprs and Result.summary() / _repr_html_ (orbudget.core.display)."""

import numpy as np

import orbudget as ob

LARGE = [
    lambda: ob.RolloutAllocation.synthetic(500, 8, seed=0),
    lambda: ob.MultipleChoiceKnapsack.random(1000, 20, seed=0),
    lambda: ob.CoupledRMAB.budget(12, 3, seed=0, horizon=40, episodes=100),
    lambda: ob.BiddingCampaign.synthetic(n_test=4000, n_train=800, episode_length=40, budget_fraction=1 / 8, seed=1),
    lambda: ob.online_inputs.random_auctions(10_000, seed=0, budget_rate=0.05),
    lambda: ob.BanditsWithKnapsacks.random(20, 5, horizon=1000, seed=0),
    lambda: ob.BudgetedAssignment.separable(300, seed=0),
    lambda: ob.ModelRouting.random(2000, 8, n_tasks=4, seed=0),
]


def test_models_print_sizes_not_arrays():
    for make in LARGE:
        p = make()
        text = repr(p)
        assert "\n" not in text and len(text) < 400, text
        assert text.startswith(type(p).__name__ + "(") and "..." not in text and "e-0" not in text, text


def test_model_repr_leaves_defaults_out_and_prints_small_arrays_in_full():
    p = ob.RolloutAllocation(success_rates=[0.5, 0.05, 0.9, 0.3], total_rollouts=30, max_rollouts=12)
    assert repr(p) == "RolloutAllocation(success_rates=[0.5 , 0.05, 0.9 , 0.3 ], total_rollouts=30, max_rollouts=12)"
    q = ob.RolloutAllocation.synthetic(500, 8, seed=0)
    assert repr(q) == "RolloutAllocation(success_rates=<500 float64 array>, total_rollouts=4000)"
    k = ob.MultipleChoiceKnapsack(values=[[1, 4], [2, 3]], costs=[[1, 3], [1, 2]], budget=4, exact=True)
    assert repr(k) == "MultipleChoiceKnapsack(values=[[1., 4.], [2., 3.]], costs=[[1, 3], [1, 2]], budget=4, exact=True)"
    c = ob.CoupledRMAB.budget(12, 3, seed=0, horizon=40, episodes=100)
    assert "constraint=RMABBudget(budget=3, n_arms=12)" in repr(c) and "<12×2×4×4 float64 array>" in repr(c)


def test_summary_table_and_notebook_view():
    p = ob.MultipleChoiceKnapsack.random(30, 4, seed=0)
    r = ob.solve(p, method="dp")
    lines = r.summary().splitlines()
    assert lines[0].split() == ["status", "optimal"]
    assert lines[1].split() == ["objective", f"{r.objective:.6g}"]
    assert lines[2].split()[:2] == ["bound", f"{r.bound:.6g}"] and "gap 0" in lines[2]
    assert lines[3].split() == ["method", "dp", "(numba)"] and lines[4].startswith("time ")
    assert any(line.startswith("stats ") and "cost" in line for line in lines)
    # a limit is named; a long stats dict is cut with a count; HTML escapes the message
    stats = {f"s{i}": i for i in range(12)}
    s = ob.Result(
        status=ob.Status.FEASIBLE,
        limit=ob.Limit.TIME,
        objective=1.5,
        x=np.zeros(2),
        bound=2.0,
        stats={**stats, "trace": np.arange(5)},
        timings={"total": 2.5, "solve": 0.004},
        method="m",
        message="x < y & z",
    )
    text = s.summary()
    assert "feasible (stopped by the time limit)" in text and "gap 0.333" in text
    assert "2.5 s total; solve 4 ms" in text and "(+5 more in .stats)" in text and "s7 7" in text and "s8" not in text
    html = s._repr_html_()
    assert html.startswith("<table>") and "x &lt; y &amp; z" in html and "x < y" not in html
    none = ob.Result(status=ob.Status.NO_SOLUTION, limit=ob.Limit.INTERRUPTED, method="m")
    assert none.summary().splitlines()[0].split()[:2] == ["status", "no_solution"]


def test_summary_displays_as_a_table_in_a_notebook_and_a_terminal():
    r = ob.Result(status=ob.Status.OPTIMAL, objective=3.0, x=np.zeros(2), method="m", message="a < b")
    s = r.summary()
    # still a string for code that treats it as one
    assert isinstance(s, str) and str(s) == s and type(str(s)) is str and s.splitlines()[0].split() == ["status", "optimal"]
    # a cell's value / the REPL show the table itself, not an escaped one-line string
    assert repr(s) == str(s) and "\\n" not in repr(s) and not repr(s).startswith("'")
    from IPython.lib.pretty import pretty

    assert pretty(s) == str(s)
    html = s._repr_html_()
    assert html == r._repr_html_() and "<table>" in html and "a &lt; b" in html
