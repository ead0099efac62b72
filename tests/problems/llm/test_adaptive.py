"""The step-by-step AdaptiveSampler: loaded states are checked entry by entry, and sizes before any work."""

import time

import numpy as np
import pytest

import orbudget as ob


def _state(**change):
    a = ob.AdaptiveSampler(3, budget=5, batch_budget=5)
    s = a.state_dict()
    s.update(change)
    return a, s


@pytest.mark.parametrize(
    "entry, value",
    [
        ("spent", -100.0),  # issue 26: accepted, then 96 samples were drawn on a budget of 5
        ("spent", float("nan")),
        ("spent", 5.0),  # not the cost of the samples recorded (none)
        ("samples", [-1, 0, 0]),
        ("samples", [1, 2]),
        ("samples", [40, 0, 0]),  # above max_samples
        ("successes", [1, 0, 0]),  # more successes than samples
        ("pending", [6, 0, 0]),  # over the batch budget
    ],
)
def test_a_corrupted_state_is_refused_by_name(entry, value):
    a, s = _state(**{entry: value})
    before = a.state_dict()
    with pytest.raises(ob.InvalidProblemError, match=f"`state` entry `{entry}`"):
        a.load_state_dict(s)
    assert a.samples.tolist() == before["samples"].tolist() and a.spent == before["spent"]  # nothing loaded


def test_the_spend_tolerance_is_relative_to_the_budget():
    a = ob.AdaptiveSampler(2, budget=0, min_samples=0)
    s = a.state_dict()
    s["spent"] = 1e-12  # any spend passes a budget of 0: no absolute slack
    with pytest.raises(ob.InvalidProblemError, match="`spent`"):
        a.load_state_dict(s)
    b = ob.AdaptiveSampler(2, budget=1e6, batch_budget=1e6)
    b.act()
    b.update([0, 0])
    s = b.state_dict()
    s["spent"] = s["spent"] * (1 + 1e-12)  # rounding of the sums that built it, far below 1e-9 of the budget
    b.load_state_dict(s)


def test_a_valid_state_resumes_exactly():
    a = ob.AdaptiveSampler(4, budget=20, batch_budget=6, max_samples=8)
    a.act()
    a.update([1, 0, 0, 0])
    b = ob.AdaptiveSampler(4, budget=20, batch_budget=6, max_samples=8)
    b.load_state_dict(a.state_dict())
    assert a.act().tolist() == b.act().tolist()


def test_a_sampler_too_large_for_memory_is_refused_at_once():
    t = time.perf_counter()
    with pytest.raises(ob.InvalidProblemError, match="`n_questions` is too large.*GiB"):
        ob.AdaptiveSampler(10**9, budget=10)
    assert time.perf_counter() - t < 1.0


def test_act_on_many_questions_does_only_what_the_batch_buys():
    n = 200_000
    a = ob.AdaptiveSampler(n, budget=10, batch_budget=10, min_samples=0, sample_costs=np.linspace(1.0, 2.0, n))
    t = time.perf_counter()
    counts = a.act()
    assert time.perf_counter() - t < 5.0
    assert counts.sum() >= 5 and counts @ a.costs <= 10 * (1 + 1e-12)
    assert counts[:9].tolist() == [1] * 9  # equal first gains: the cheapest first (gain per cost)


def test_act_matches_the_one_sample_at_a_time_greedy():
    """The vectorised runs give what the plain greedy gives: one sample to the best gain per cost that fits."""
    from scipy.special import betaln

    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(1, 7))
        costs = rng.integers(1, 4, n).astype(float)
        a = ob.AdaptiveSampler(n, 30, sample_costs=costs, max_samples=6, min_samples=0, batch_budget=float(rng.integers(1, 12)))
        a.samples[:] = rng.integers(0, 4, n)
        a.spent = float(a.samples @ costs)
        counts, used = np.zeros(n, np.int64), 0.0
        base = 1.0 + a.samples.astype(float)  # no success yet: Beta(1, 1 + failures)
        while True:
            m = counts.astype(float)
            gain = np.exp(betaln(1, base + m) - betaln(1, base)) - np.exp(betaln(1, base + m + 1) - betaln(1, base))
            ok = [i for i in np.argsort(-gain / costs, kind="stable") if a.samples[i] + counts[i] < 6 and a._fits(costs[i], used)]
            if not ok:
                break
            counts[ok[0]] += 1
            used += costs[ok[0]]
        assert a.act().tolist() == counts.tolist()
