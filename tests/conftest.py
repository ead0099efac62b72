import itertools
import os
from pathlib import Path

import numpy as np
import pytest

import orbudget as ob
from orbudget.core.registry import backend_available

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def needs(backend):
    return pytest.mark.skipif(not backend_available(backend), reason=f"backend {backend!r} is not installed")


def brute_force_mckp(p: ob.MultipleChoiceKnapsack):
    """Best (value, x) over every choice, or (None, None) if none is feasible."""
    best, best_x = None, None
    options = [np.flatnonzero(p.mask[i]) for i in range(p.n_groups)]
    for combo in itertools.product(*options):
        x = np.array(combo)
        if p.is_feasible(x):
            v = p.value_of(x)
            if best is None or v > best + 1e-12:
                best, best_x = v, x
    return best, best_x


def brute_force_rollouts(p: ob.RolloutAllocation):
    best = None
    levels = range(p.min_rollouts, p.max_rollouts + 1)
    for combo in itertools.product(levels, repeat=p.n_prompts):
        x = np.array(combo)
        if p.is_feasible(x):
            v = p.value_of(x)
            best = v if best is None else max(best, v)
    return best


@pytest.fixture
def data_dir():
    if not DATA.is_dir():
        pytest.skip(f"shared data folder not found at {DATA}")
    return DATA


os.environ.setdefault("ORBUDGET_TEST", "1")
