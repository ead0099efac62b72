"""Generators of code-like and proof-like workflows and the loader of per-(subtask, model) estimates."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from ...core.errors import InvalidProblemError
from ...core.validation import as_generator, as_scalar
from ..llm._fields import _number, _read_rows
from .workflow import AgentWorkflow

CODE_EDGES = [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]  # spec -> implement, tests -> integrate -> review
PROOF_EDGES = [(0, 2), (1, 2), (2, 3)]  # two lemmas -> main step -> write-up
TOKEN_STEP = 200  # generated lengths are multiples of this many tokens: the DP grid is then exact


def random_workflow(
    edges,
    n_subtasks: int,
    *,
    budget_fraction: float = 0.5,
    deadline_fraction: float = 0.5,
    difficulty: float = 0.0,
    long: bool = False,
    names=None,
    seed=None,
) -> AgentWorkflow:
    """A random workflow with two models, ``small`` (price 1 per token, 0.01 s per token) and ``large`` (price 4,
    0.02 s per token), both capped at 1,000 tokens, one or two samples. Per (subtask, model) three equally likely
    lengths, multiples of 200 tokens (``long``: longer, so the cap truncates more); the large model's success
    rate is U(0.6, 0.95) − ``difficulty``, the small one's 0.15 to 0.45 lower. The budget is ``budget_fraction``
    of twice the worst-case cost of every subtask at its dearest option, and the deadline ``deadline_fraction`` of
    twice the slowest critical path (at least the fastest one), both rounded to the DP grid (200 cost units,
    2 s), on which the DP is then exact."""
    frac_b = as_scalar("budget_fraction", budget_fraction, minimum=0.0, maximum=1.0)
    frac_t = as_scalar("deadline_fraction", deadline_fraction, minimum=0.0, maximum=1.0)
    rng = as_generator(seed)
    n = n_subtasks
    top = rng.uniform(0.6, 0.95, n) - difficulty
    small = top - rng.uniform(0.15, 0.45, n)
    p = np.clip(np.stack([small, top], axis=1), 0.02, 0.98).round(3)
    hi = 6 if long else 5
    lengths = TOKEN_STEP * np.sort(rng.integers(1, hi + 1, (n, 2, 3)), axis=2)
    lengths[:, 0] += TOKEN_STEP * (rng.random((n, 3)) < 0.3)  # the small model rambles more
    wf = AgentWorkflow(
        success_rates=p,
        lengths=lengths,
        max_tokens=[1000, 1000],
        prices=[1, 4],
        token_times=[0.01, 0.02],
        budget=1,
        deadline=1e9,
        edges=edges,
        sample_counts=(1, 2),
        budget_unit=TOKEN_STEP,
        time_unit=TOKEN_STEP * 0.01,
        subtask_names=names,
        model_names=("small", "large"),
    )
    b_max = 2 * float(wf.worst_costs.max(axis=1).sum())
    t_fast = wf.critical_path(wf.worst_times.min(axis=1))
    t_max = 2 * wf.critical_path(wf.worst_times.max(axis=1))
    budget = TOKEN_STEP * round(frac_b * b_max / TOKEN_STEP)
    step = TOKEN_STEP * 0.01
    deadline = step * max(math.ceil(t_fast / step - 1e-9), round(frac_t * t_max / step))
    return wf.with_limits(budget=budget, deadline=round(deadline, 9))


def load_workflow(
    path,
    *,
    budget,
    deadline,
    sample_counts=(1, 2),
    n_lengths: int = 3,
    budget_unit=None,
    time_unit=None,
    file_format: str | None = None,
) -> AgentWorkflow:
    """One row per (subtask, model) from CSV or JSON lines: ``subtask``, ``model``, ``success_rate``, ``price`` (per
    token), ``token_time`` (seconds per token), ``max_tokens``, and either ``lengths`` (observed token counts,
    separated by ``;`` or spaces) or ``length_mean`` and ``length_sd`` (a lognormal with that mean and standard
    deviation, taken at ``n_lengths`` equally likely quantiles); optional ``parents`` (subtask ids separated by
    ``;``) and ``latency``. Model columns must agree across rows; every subtask needs every model. Sample lists are
    brought to a common size by taking their ``n`` equally spaced quantiles (``n`` = the shortest list)."""
    rows = _read_rows(path, file_format)
    subtasks: dict = {}
    models: dict = {}
    cells: dict = {}
    model_cols: dict = {}
    parents_of: dict = {}
    for i, r in enumerate(rows):
        for key in ("subtask", "model", "success_rate", "price", "token_time", "max_tokens"):
            if r.get(key) in (None, ""):
                raise InvalidProblemError(f"`path` {path}: row {i} has no `{key}`")
        s, m = str(r["subtask"]), str(r["model"])
        subtasks.setdefault(s, len(subtasks))
        models.setdefault(m, len(models))
        if (s, m) in cells:
            raise InvalidProblemError(f"`path` {path}: row {i} repeats subtask {s!r}, model {m!r}")
        cols = tuple(_number(path, i, k, r[k]) for k in ("price", "token_time", "max_tokens"))
        cols += (_number(path, i, "latency", r["latency"]) if r.get("latency") not in (None, "") else 0.0,)
        if model_cols.setdefault(m, cols) != cols:
            raise InvalidProblemError(
                f"`path` {path}: row {i} gives model {m!r} another price, token_time, max_tokens or latency"
            )
        if r.get("lengths") not in (None, ""):
            raw = r["lengths"]
            vals = raw if isinstance(raw, list) else str(raw).replace(";", " ").split()
            lengths = np.array([_number(path, i, "lengths", v) for v in vals])
        elif r.get("length_mean") not in (None, ""):
            mean, sd = _number(path, i, "length_mean", r["length_mean"]), _number(path, i, "length_sd", r.get("length_sd", 0))
            if mean <= 0 or sd < 0:
                raise InvalidProblemError(
                    f"`length_mean` and `length_sd` in row {i} of {path} must be positive; got {mean}, {sd}"
                )
            sigma2 = math.log(1 + (sd / mean) ** 2)
            q = norm.ppf((np.arange(n_lengths) + 0.5) / n_lengths)
            lengths = np.maximum(1, np.round(np.exp(math.log(mean) - sigma2 / 2 + math.sqrt(sigma2) * q)))
        else:
            raise InvalidProblemError(f"`path` {path}: row {i} has neither `lengths` nor `length_mean`")
        if (lengths < 0).any():
            raise InvalidProblemError(f"`lengths` in row {i} of {path} must be non-negative token counts; got {lengths.min()}")
        cells[s, m] = (_number(path, i, "success_rate", r["success_rate"]), lengths)
        if r.get("parents") not in (None, ""):
            parents_of.setdefault(s, set()).update(str(r["parents"]).replace(",", ";").split(";"))
    k = min(v[1].size for v in cells.values())
    p = np.zeros((len(subtasks), len(models)))
    lengths = np.zeros((len(subtasks), len(models), k))
    for s, si in subtasks.items():
        for m, mi in models.items():
            if (s, m) not in cells:
                raise InvalidProblemError(f"`path` {path}: subtask {s!r} has no row for model {m!r}")
            rate, ls = cells[s, m]
            p[si, mi] = rate
            qs = np.sort(ls)[np.round(np.linspace(0, ls.size - 1, k)).astype(int)] if ls.size != k else ls
            lengths[si, mi] = np.maximum(1, np.round(qs))
    edges = []
    for s, ps in parents_of.items():
        for a in sorted(x.strip() for x in ps if x.strip()):
            if a not in subtasks:
                raise InvalidProblemError(f"`parents` of subtask {s!r} in {path} names an unknown subtask {a!r}")
            edges.append((subtasks[a], subtasks[s]))
    mc = np.array([model_cols[m] for m in models])
    return AgentWorkflow(
        success_rates=p,
        lengths=lengths,
        prices=mc[:, 0],
        token_times=mc[:, 1],
        max_tokens=mc[:, 2],
        latencies=mc[:, 3],
        budget=budget,
        deadline=deadline,
        edges=edges,
        sample_counts=sample_counts,
        budget_unit=budget_unit,
        time_unit=time_unit,
        subtask_names=tuple(subtasks),
        model_names=tuple(models),
    )
