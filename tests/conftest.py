import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

import orbudget as ob
from orbudget.core.registry import backend_available

# Property tests are derandomised by default (the same examples every run, so the test command is reproducible and a
# failure can be pinned with @example); HYPOTHESIS_PROFILE=fresh (`make fuzz-fresh`) draws new examples each run.
settings.register_profile("default", derandomize=True)
settings.register_profile("fresh", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

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


ROOT = Path(__file__).resolve().parents[1]
_CHILD_PREAMBLE = (
    "import signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell without job control leaves SIGINT ignored\n"
    f"sys.path.insert(0, {str(ROOT)!r})\n"
)


def interrupt_child(code: str, *args: str, wait: float = 60.0) -> dict:
    """Run ``code`` in a child interpreter; once it prints ``ready``, wait a second, send SIGINT, and return the JSON
    object it prints last (the child reports its Result as JSON). Used by the Ctrl-C tests of the long methods."""
    import json
    import signal
    import subprocess
    import sys
    import time

    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD_PREAMBLE + code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=wait)
    finally:
        if child.poll() is None:
            child.kill()
    line = out.strip().splitlines()[-1] if out.strip() else ""
    assert line, err
    return json.loads(line)


def twin(kernel):
    """The pure-Python twin of a numba kernel (the kernel itself when NUMBA_DISABLE_JIT=1)."""
    return getattr(kernel, "py_func", kernel)


# -- restless bandits: small instances of every constraint family -------------------------------------------------
CYCLE6 = (6, [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [1, 4]], 0)


def tiny(kind, seed=0, n=6, budget=2, **kw):
    """Small instances of every family (J = 6 unless said)."""
    kw.setdefault("horizon", 10)
    if kind == "budget":
        return ob.CoupledRMAB.budget(n, budget, seed=seed, **kw)
    if kind == "path":
        return ob.CoupledRMAB.path(6, budget, graph=CYCLE6, seed=seed, **kw)
    if kind == "matching":
        return ob.CoupledRMAB.matching(n, budget, seed=seed, **kw)
    if kind == "matching_distinct":
        return ob.CoupledRMAB.matching(n, budget, seed=seed, distinct_workers=True, **kw)
    if kind == "capacity":
        return ob.CoupledRMAB.capacity(n, budget, seed=seed, **kw)
    if kind == "multi":
        return ob.CoupledRMAB.multiple_interventions(n, 4, budget, seed=seed, **kw)
    raise ValueError(kind)


FAMILIES = ("budget", "path", "matching", "matching_distinct", "capacity", "multi")


def python_blocks(path) -> list[str]:
    """The ```python blocks of a Markdown page, in order (the pages whose examples the tests run as written)."""
    import re

    return re.findall(r"```python\n(.*?)```", Path(path).read_text(), flags=re.S)


def tiny_routing(seed, skip=False, tasks=False):
    rng = np.random.default_rng(seed)
    q, m = 5, 3
    quality = np.round(rng.uniform(0, 1, (q, m)), 3)
    costs = rng.integers(1, 9, (q, m))
    lo, hi = costs.min(axis=1).sum(), costs.max(axis=1).sum()
    kw = {}
    if tasks:
        t = rng.integers(0, 2, q)
        kw = {
            "tasks": t,
            "task_budgets": [int(costs[t == j].min(axis=1, initial=0).sum() + rng.integers(0, 8)) for j in range(2)],
        }
    return ob.ModelRouting(quality=quality, costs=costs, budget=int(rng.integers(lo, hi + 1)), allow_skip=skip, **kw)


def small_mckp(rng, exact):
    """A random multiple-choice knapsack of at most 4 x 4 with a budget around its feasible range (for brute force)."""
    n, k = rng.integers(1, 5), rng.integers(1, 5)
    costs = rng.integers(0, 7, size=(n, k))
    values = rng.integers(-3, 10, size=(n, k)).astype(float)
    available = rng.random((n, k)) < 0.8
    available[np.arange(n), rng.integers(0, k, n)] = True
    lo, hi = costs.min(axis=1).sum(), costs.max(axis=1).sum()
    budget = int(rng.integers(max(0, lo - 2), hi + 3))
    return ob.MultipleChoiceKnapsack(values=values, costs=costs, budget=budget, available=available, exact=exact)
