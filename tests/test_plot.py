"""The per-family plotting helpers (orbudget.plot): what each draws, checked on the Axes it returns."""

import numpy as np
import pytest

import orbudget as ob

plt = pytest.importorskip("matplotlib.pyplot")
from orbudget import plot  # noqa: E402


def test_allocation_puts_one_dot_per_prompt_at_its_rollouts():
    p = ob.RolloutAllocation.synthetic(40, 6, seed=0)
    r = ob.solve(p)
    ax = plot.allocation(p, r)
    offsets = ax.collections[0].get_offsets()
    assert offsets.shape == (40, 2)
    np.testing.assert_array_equal(offsets[:, 0], p.success_rates)
    np.testing.assert_array_equal(offsets[:, 1], r.x)
    plt.close(ax.figure)


def test_bid_curves_draw_the_rlb_rule_per_budget():
    from orbudget.solvers.numba.bidding import rlb_bid, rlb_table

    c = ob.BiddingCampaign.synthetic(n_test=500, n_train=2000, episode_length=30, budget_fraction=1 / 4, seed=3)
    v = rlb_table(c, exact=True)
    thetas = np.linspace(0, 0.01, 7)
    ax = plot.bid_curves(c, v, t=20, budgets=[5, c.budget], thetas=thetas)
    lines = ax.get_lines()
    assert len(lines) == 2
    assert list(lines[1].get_ydata()) == [rlb_bid(v, 20, c.budget, th, c.max_bid) for th in thetas]
    plt.close(ax.figure)


def test_methods_draws_a_bar_per_result_and_names_the_ones_without_a_value():
    ok = ob.Result(status=ob.Status.FEASIBLE, objective=2.0, x=np.zeros(1), bound=3.0, stats={"episode_rewards": [1.0, 3.0]})
    bad = ob.Result(status=ob.Status.INFEASIBLE, message="over budget")
    ax = plot.methods({"a": ok, "b": bad})
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [2.0, 0.0]
    assert [t.get_text() for t in ax.texts] == ["infeasible"]
    bound = [line for line in ax.get_lines() if list(line.get_ydata()) == [3.0, 3.0]]
    assert len(bound) == 1  # the bound of the result that has one
    plt.close(ax.figure)


def test_spend_paths_end_at_each_resources_share_spent():
    p = ob.online_inputs.iid_matching(500, 3, seed=0)
    r = ob.solve(p, method="dmd")
    ax = plot.spend_paths(p, r)
    lines = ax.get_lines()
    assert len(lines) == 4  # three resources and the even pace
    ends = [line.get_ydata()[-1] for line in lines[:3]]
    np.testing.assert_allclose(ends, np.asarray(r.stats["spent"]) / np.asarray(p.budgets))
    plt.close(ax.figure)


def test_value_heatmap_and_learning_curve_show_their_data():
    table = np.arange(12.0).reshape(3, 4)
    ax = plot.value_heatmap(table)
    np.testing.assert_array_equal(ax.images[0].get_array(), table)
    plt.close(ax.figure)
    ax = plot.learning_curve([1.0, 3.0, 2.0, 4.0], window=2)
    raw, smooth = ax.get_lines()
    assert list(raw.get_ydata()) == [1.0, 3.0, 2.0, 4.0] and list(smooth.get_ydata()) == [2.0, 2.5, 3.0]
    plt.close(ax.figure)


def _sweep_records():
    return [
        {"horizon": t, "method": m, "regret": (t**0.5) * (1 + (m == "b")), "seed": s, "error": None}
        for t in (100, 1000, 10000, 100000)
        for m in ("primal_dual_long_name", "ucb_bwk")
        for s in (0, 1)
    ]


def _bid_curves():
    from orbudget.solvers.numba.bidding import rlb_table

    c = ob.BiddingCampaign.synthetic(n_test=500, n_train=2000, episode_length=30, budget_fraction=1 / 4, seed=3)
    return plot.bid_curves(c, rlb_table(c, exact=True), t=20, budgets=[5, c.budget])


def _methods():
    results = {
        f"method_with_a_long_name_{i}": ob.Result(status=ob.Status.FEASIBLE, objective=1000.0 * i, x=np.zeros(1))
        for i in range(1, 7)
    }
    return plot.methods(results, ylabel="clicks per episode")


def _online():
    p = ob.online_inputs.iid_matching(200, 3, seed=0)
    return plot.spend_paths(p, ob.solve(p, method="dmd"))


def _routing_frontier():
    q = ob.ModelRouting.random(30, 3, seed=0)
    budgets = np.linspace(q.costs.min(axis=1).sum(), q.costs.max(axis=1).sum(), 5)
    return plot.frontier(q.frontier(budgets), x="budget", y="accuracy")


# every public plotting function, drawn on realistic data with long labels
FIGURES = {
    "frontier": lambda: plot.frontier(_sweep_records(), "horizon", "regret", by="method"),
    "regret_curve": lambda: plot.regret_curve(_sweep_records()),
    "allocation": lambda: plot.allocation(*(lambda p: (p, ob.solve(p)))(ob.RolloutAllocation.synthetic(200, 16, seed=0))),
    "bid_curves": _bid_curves,
    "methods": _methods,
    "spend_paths": _online,
    "value_heatmap": lambda: plot.value_heatmap(np.arange(12.0 * 400).reshape(12, 400) * 1e3),
    "learning_curve": lambda: plot.learning_curve(np.linspace(0, 1e4, 500), window=10),
}


def test_every_plot_function_has_a_figure_check():
    import inspect

    public = {
        n for n, f in vars(plot).items() if inspect.isfunction(f) and not n.startswith("_") and f.__module__ == plot.__name__
    }
    assert public == set(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_saved_figure_keeps_every_label_inside(name, tmp_path):
    ax = FIGURES[name]()
    fig = ax.figure
    fig.savefig(tmp_path / f"{name}.png")  # lays the figure out as a saved file is
    renderer = fig.canvas.get_renderer()
    inside = fig.bbox.padded(1.0)  # a pixel for rounding
    for a in fig.axes:
        drawn = [a.xaxis.label, a.yaxis.label, a.title, a.xaxis, a.yaxis]  # an axis: its drawn tick labels
        for part in drawn:
            box = part.get_tightbbox(renderer) if part in (a.xaxis, a.yaxis) else part.get_window_extent(renderer)
            if box is None or (hasattr(part, "get_text") and not part.get_text()):
                continue
            assert inside.contains(box.x0, box.y0) and inside.contains(box.x1, box.y1), (
                f"{name}: {part} at {box} lies outside the figure {fig.bbox}"
            )
    plt.close(fig)


def test_frontier_takes_what_a_models_frontier_returns():
    q = ob.ModelRouting.random(30, 3, seed=0)
    budgets = np.linspace(q.costs.min(axis=1).sum(), q.costs.max(axis=1).sum(), 4)
    f = q.frontier(budgets)
    ax = plot.frontier(f, x="budget", y="accuracy")
    main = ax.get_lines()[0]
    np.testing.assert_array_equal(main.get_xdata(), f["budget"])
    np.testing.assert_array_equal(main.get_ydata(), f["accuracy"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "LP bound" in labels and sum(label.startswith("always ") for label in labels) == 3
    with pytest.raises(ob.InvalidProblemError, match="`quality`"):
        plot.frontier(f, x="budget", y="quality")
    plt.close("all")
