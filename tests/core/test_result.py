import numpy as np
import pytest

import orbudget as ob


def test_result_is_immutable_and_x_raises_without_solution():
    r = ob.Result(status=ob.Status.INFEASIBLE, message="budget 1 is below the cheapest choice, 2")
    with pytest.raises(AttributeError):
        r.objective = 3
    with pytest.raises(ob.NoSolutionError, match="cheapest choice"):
        _ = r.x
    assert not r.ok
    with pytest.raises(ob.NoSolutionError):
        r.raise_for_status()


def test_error_status_raises_solver_error():
    with pytest.raises(ob.SolverError, match="boom"):
        ob.Result(status=ob.Status.ERROR, message="boom").raise_for_status()


def test_gap_is_derived_and_replace_recomputes_it():
    r = ob.Result(status=ob.Status.FEASIBLE, x=np.array([1]), objective=9.0, bound=10.0)
    assert r.gap == pytest.approx(1 / 9)
    r2 = r.replace(objective=10.0)
    assert r2.gap == 0.0 and r.objective == 9.0
    assert r.ok and r.raise_for_status() is r


def test_to_dict_round_trip():
    r = ob.Result(status="feasible", limit="time", x=np.arange(3), objective=1.5, stats={"cost": 3})
    d = r.to_dict()
    assert d["status"] == "feasible" and d["limit"] == "time" and d["kind"] == "Result"
    assert ob.Result.from_dict(d) == r


def test_result_is_a_frozen_keyword_only_dataclass():
    import dataclasses
    import pickle

    r = ob.Result(status="optimal", x=np.arange(3), objective=2.0, bound=2.5)
    assert [f.name for f in dataclasses.fields(r)][:4] == ["status", "limit", "objective", "x"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.x = None
    with pytest.raises(TypeError):
        ob.Result("optimal")  # keyword-only
    assert r.gap == pytest.approx(0.25) and r.replace(objective=2.5).gap == 0.0
    back = pickle.loads(pickle.dumps(r))
    assert back == r and back.x.tolist() == [0, 1, 2]
    none = ob.Result(status="no_solution", limit="time", message="out of time")
    assert pickle.loads(pickle.dumps(none)) == none and not none.ok


@pytest.mark.parametrize("status", ["optimal", "infeasible", "unbounded", "error"])
def test_a_limit_comes_only_with_feasible_or_no_solution(status):
    with pytest.raises(ValueError, match="must be FEASIBLE or NO_SOLUTION"):
        ob.Result(status=status, limit="time")
    ob.Result(status=status)  # without a limit it is fine
