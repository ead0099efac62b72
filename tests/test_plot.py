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
