"""orbudget warmup: a small instance of every registered model, solved with its default method."""

import io

import pytest

import orbudget as ob
from orbudget.core.registry import registered
from orbudget.warmup import _instances, warmup


def test_every_registered_model_is_warmed_with_its_default_method():
    models = {s.problem.__name__ for s in registered() if s.func.__module__.startswith("orbudget.")}
    table = dict(_instances())
    assert set(table) == models
    out = io.StringIO()
    records = warmup(["MultipleChoiceKnapsack", "RolloutAllocation"], stream=out)
    assert [r["family"] for r in records] == ["MultipleChoiceKnapsack", "RolloutAllocation"]
    for r in records:
        assert r["method"] == ob.solve(table[r["family"]]()).method and r["status"] == "optimal" and r["compile"] >= 0
    assert len(out.getvalue().splitlines()) == 2 and "MultipleChoiceKnapsack" in out.getvalue()


def test_an_unknown_family_is_refused_by_name():
    with pytest.raises(ob.InvalidProblemError, match="`families` .* got 'Knapsack'"):
        warmup(["Knapsack"], stream=io.StringIO())
