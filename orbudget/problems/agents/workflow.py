"""`AgentWorkflow`: a dependency graph of LLM subtasks run under a budget and a deadline, its per-option outcome
tables, and the Gymnasium-style environment `WorkflowEnv`."""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...core.budget import exact_number, fits, float_at_most, spend_limit
from ...core.errors import InvalidProblemError
from ...core.io import register_kind
from ...core.validation import as_array, as_generator, as_probabilities, as_scalar
from ..base import Problem
from ..llm._fields import _names

MAX_SUBTASKS = 20  # done sets are bit masks of one int64
MAX_OUTCOMES = 4096  # length combinations enumerated per option (K ** samples)


def _topological_order(n: int, edges: np.ndarray) -> np.ndarray:
    """Kahn's order of ``n`` nodes; `InvalidProblemError` naming ``edges`` when the graph has a cycle."""
    indeg = np.zeros(n, np.int64)
    children: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges.tolist():
        children[a].append(b)
        indeg[b] += 1
    order, stack = [], [i for i in range(n) if indeg[i] == 0]
    while stack:
        v = stack.pop(0)
        order.append(v)
        for w in children[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                stack.append(w)
    if len(order) < n:
        stuck = sorted(set(range(n)) - set(order))
        raise InvalidProblemError(f"`edges` must form an acyclic graph; subtasks {stuck} lie on or after a cycle")
    return np.array(order, np.int64)


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class AgentWorkflow(Problem):
    """An agentic workflow under a budget and a deadline ("On Time, Within Budget", MCPP).

    Subtask s may run once its parents (``edges``: rows ``(before, after)``) have succeeded. Running it is an
    *option* o = (model m, samples n): n parallel calls to m; call k generates $L_k$ tokens, drawn uniformly from the
    ``lengths[s, m]`` list (equally likely lengths: samples, or quantiles of a parametric law); a call stops at
    ``max_tokens[m]`` (truncated: a failure), else it succeeds with probability ``success_rates[s, m]``; a verifier
    accepts when any sample succeeds. The calls cost ``prices[m]`` per token and take ``latencies[m] +
    token_times[m]·max_k min(L_k, cap)`` seconds. Execution is in *waves*: every ready subtask may be launched
    (several run side by side: a wave lasts as long as its slowest launch), outcomes are observed, a failed subtask
    may be retried. A launch is allowed only when its worst case (every call at its longest) fits in what is left
    of the budget and before the deadline, so no run ever overspends or overruns. The goal is the probability that
    every subtask succeeds.

    Examples:
        >>> import orbudget as ob
        >>> w = ob.AgentWorkflow.chain(2, seed=0)
        >>> w.n_subtasks, w.n_models, w.n_options
        (2, 2, 4)
        >>> round(ob.solve(w, method="exact_dp").objective, 4) <= 1.0
        True
    """

    success_rates: np.ndarray
    lengths: np.ndarray
    max_tokens: np.ndarray
    prices: np.ndarray
    token_times: np.ndarray
    budget: float
    deadline: float
    edges: np.ndarray | None = None
    sample_counts: tuple = (1, 2)
    latencies: np.ndarray | None = None
    budget_unit: float | None = None
    time_unit: float | None = None
    subtask_names: tuple | None = None
    model_names: tuple | None = None

    def __post_init__(self):
        p = as_probabilities("success_rates", self.success_rates, ndim=2)
        n_s, n_m = p.shape
        if n_s > MAX_SUBTASKS:
            raise InvalidProblemError(f"`success_rates` has {n_s} subtasks; at most {MAX_SUBTASKS} are modelled")
        lengths = as_array("lengths", self.lengths, shape=(n_s, n_m, None), dtype=int, low=1)
        caps = as_array("max_tokens", self.max_tokens, shape=(n_m,), dtype=int, low=1)
        prices = as_array("prices", self.prices, shape=(n_m,), nonnegative=True)
        times = as_array("token_times", self.token_times, shape=(n_m,), low=0.0)
        if (times <= 0).any():
            raise InvalidProblemError(f"`token_times` must be positive; got {times.tolist()}")
        lat = as_array("latencies", np.zeros(n_m) if self.latencies is None else self.latencies, shape=(n_m,), nonnegative=True)
        budget = as_scalar("budget", self.budget, minimum=0.0)
        deadline = as_scalar("deadline", self.deadline, minimum=0.0, strict_minimum=True)
        edges = np.zeros((0, 2), np.int64) if self.edges is None or np.size(self.edges) == 0 else self.edges
        edges = as_array("edges", edges, shape=(None, 2), dtype=int, low=0, high=n_s - 1, allow_empty=True)
        if (edges[:, 0] == edges[:, 1]).any():
            raise InvalidProblemError(
                f"`edges` must form an acyclic graph; subtask {int(edges[edges[:, 0] == edges[:, 1], 0][0])} depends on itself"
            )
        counts = tuple(as_scalar("sample_counts", c, integer=True, minimum=1) for c in np.atleast_1d(self.sample_counts).tolist())
        if len(set(counts)) != len(counts):
            raise InvalidProblemError(f"`sample_counts` must be distinct; got {counts}")
        if lengths.shape[2] ** max(counts) > MAX_OUTCOMES:
            raise InvalidProblemError(
                f"`lengths`: {lengths.shape[2]} lengths per pair and up to {max(counts)} samples give more than "
                f"{MAX_OUTCOMES} outcomes"
            )
        self._set("budget", int(budget) if budget == int(budget) else budget)
        self._set("deadline", deadline)
        self._set("success_rates", p)
        self._set("lengths", lengths)
        self._set("max_tokens", caps)
        self._set("prices", prices)
        self._set("token_times", times)
        self._set("latencies", lat)
        self._set("edges", edges)
        self._set("sample_counts", counts)
        for f in ("budget_unit", "time_unit"):
            v = getattr(self, f)
            self._set(f, None if v is None else as_scalar(f, v, minimum=0.0, strict_minimum=True))
        self._set("subtask_names", _names("subtask_names", self.subtask_names, n_s))
        self._set("model_names", _names("model_names", self.model_names, n_m))
        order = _topological_order(n_s, edges)
        self._set("_order", order)
        # a deadline shorter than every way through the graph: even the fastest option on the critical path is late
        fastest = self.worst_times.min(axis=1)
        if self.critical_path(fastest) > deadline * (1 + 1e-9):
            raise InvalidProblemError(
                f"`deadline` {deadline} is shorter than the fastest critical path, {self.critical_path(fastest):.6g} s "
                "(each subtask at its fastest option's worst-case time)"
            )

    def __repr__(self) -> str:
        return (
            f"AgentWorkflow({self.n_subtasks} subtasks, {self.edges.shape[0]} edges, {self.n_models} models, "
            f"samples {self.sample_counts}, budget={self.budget}, deadline={self.deadline})"
        )

    # -- shape -----------------------------------------------------------------------------------------------------
    @property
    def n_subtasks(self) -> int:
        return self.success_rates.shape[0]

    @property
    def n_models(self) -> int:
        return self.success_rates.shape[1]

    @property
    def n_options(self) -> int:
        return self.n_models * len(self.sample_counts)

    @property
    def order(self) -> np.ndarray:
        """A topological order of the subtasks."""
        return self._order

    def option(self, o: int) -> tuple[int, int]:
        """``(model, samples)`` of option index ``o`` (``o = model·len(sample_counts) + j``)."""
        o = as_scalar("option", o, integer=True, minimum=0, maximum=self.n_options - 1)
        return o // len(self.sample_counts), self.sample_counts[o % len(self.sample_counts)]

    @cached_property
    def parent_masks(self) -> np.ndarray:
        """(S,) bit mask of each subtask's parents."""
        masks = np.zeros(self.n_subtasks, np.int64)
        for a, b in self.edges.tolist():
            masks[b] |= 1 << a
        return masks

    @property
    def full_mask(self) -> int:
        return (1 << self.n_subtasks) - 1

    def ready(self, done: int) -> list[int]:
        """Subtasks not done whose parents are all done."""
        pm = self.parent_masks
        return [s for s in range(self.n_subtasks) if not (done >> s) & 1 and (done & pm[s]) == pm[s]]

    def critical_path(self, durations) -> float:
        """Longest path through the graph with ``durations[s]`` per subtask."""
        d = np.asarray(durations, float)
        finish = np.zeros(self.n_subtasks)
        parents: list[list[int]] = [[] for _ in range(self.n_subtasks)]
        for a, b in self.edges.tolist():
            parents[b].append(a)
        for s in self.order.tolist():
            finish[s] = d[s] + max((finish[a] for a in parents[s]), default=0.0)
        return float(finish.max())

    # -- per-option tables -----------------------------------------------------------------------------------------
    @cached_property
    def _option_arrays(self):
        n_opt = self.n_options
        models = np.repeat(np.arange(self.n_models), len(self.sample_counts))
        samples = np.tile(np.array(self.sample_counts, np.int64), self.n_models)
        return models[:n_opt], samples[:n_opt]

    @property
    def option_models(self) -> np.ndarray:
        return self._option_arrays[0]

    @property
    def option_samples(self) -> np.ndarray:
        return self._option_arrays[1]

    @cached_property
    def worst_tokens(self) -> np.ndarray:
        """(S, M) the most tokens one call can generate: min(longest length, cap)."""
        return np.minimum(self.lengths.max(axis=2), self.max_tokens[None, :])

    @cached_property
    def worst_costs(self) -> np.ndarray:
        """(S, O) cost of an option when every call generates its most tokens."""
        m, n = self.option_models, self.option_samples
        return self.worst_tokens[:, m] * self.prices[m][None, :] * n[None, :]

    @cached_property
    def worst_times(self) -> np.ndarray:
        """(S, O) the longest an option can take."""
        m = self.option_models
        return self.latencies[m][None, :] + self.token_times[m][None, :] * self.worst_tokens[:, m]

    @cached_property
    def outcomes(self) -> list:
        """``outcomes[s][o]``: arrays ``(prob, success_prob, cost, duration)`` over the distinct (cost, duration) of
        running option o on subtask s (``prob`` sums to 1; ``success_prob`` is P(success and this outcome))."""
        out = []
        k = self.lengths.shape[2]
        for s in range(self.n_subtasks):
            row = []
            for o in range(self.n_options):
                m, n = int(self.option_models[o]), int(self.option_samples[o])
                tok = np.minimum(self.lengths[s, m], self.max_tokens[m])
                ok = np.where(self.lengths[s, m] > self.max_tokens[m], 0.0, self.success_rates[s, m])
                table: dict = {}
                for combo in itertools.product(range(k), repeat=n):
                    t = tok[list(combo)]
                    key = (int(t.sum()), int(t.max()))
                    fail = math.prod(1.0 - ok[c] for c in combo)
                    pr, ps = table.get(key, (0.0, 0.0))
                    table[key] = (pr + k**-n, ps + k**-n * (1.0 - fail))
                keys = sorted(table)
                tokens = np.array([a for a, _ in keys], float)
                longest = np.array([b for _, b in keys], float)
                prob = np.array([table[q][0] for q in keys])
                succ = np.array([table[q][1] for q in keys])
                row.append((prob, succ, tokens * self.prices[m], self.latencies[m] + self.token_times[m] * longest))
            out.append(row)
        return out

    @cached_property
    def success_probabilities(self) -> np.ndarray:
        """(S, O) probability that one run of the option succeeds."""
        return np.array([[o[1].sum() for o in row] for row in self.outcomes])

    @cached_property
    def expected_costs(self) -> np.ndarray:
        """(S, O) expected cost of one run of the option."""
        return np.array([[float(o[0] @ o[2]) for o in row] for row in self.outcomes])

    def units(self) -> tuple[float, float]:
        """The DP grid: ``(budget_unit, time_unit)``; defaults: budget / 100 and deadline / 50."""
        return (self.budget_unit or max(float(self.budget), 1e-300) / 100.0, self.time_unit or float(self.deadline) / 50.0)

    def fits(self, spent, elapsed, cost, duration) -> bool | np.ndarray:
        """Whether ``cost`` more and ``duration`` more stay within the budget and the deadline (exact for whole
        numbers, else the relative tolerance ``1e-9·budget``)."""
        if np.ndim(spent) == 0 and np.ndim(cost) == 0:  # the one rule of orbudget.core.budget, on exact sums
            return fits(exact_number(spent) + exact_number(cost), self.budget) and fits(
                exact_number(elapsed) + exact_number(duration), self.deadline
            )
        # many runs at once: against the largest float the same rule allows (relative to the budget, never absolute)
        b = float_at_most(spend_limit(self.budget, whole=False))
        d = float_at_most(spend_limit(self.deadline, whole=False))
        return (np.asarray(spent) + cost <= b) & (np.asarray(elapsed) + duration <= d)

    def check_plan(self, x) -> np.ndarray:
        """An option index per subtask (``-1``: none) as int64, checked."""
        return as_array("x", x, shape=(self.n_subtasks,), dtype=int, low=-1, high=self.n_options - 1)

    def with_limits(self, *, budget=None, deadline=None) -> AgentWorkflow:
        """The same workflow with another budget and/or deadline (validated again)."""
        return dataclasses.replace(
            self, budget=self.budget if budget is None else budget, deadline=self.deadline if deadline is None else deadline
        )

    def env(self, seed=None) -> WorkflowEnv:
        return WorkflowEnv(self, seed=seed)

    # -- generators and loaders (in _instances.py) -------------------------------------------------------------
    @classmethod
    def chain(cls, n_subtasks: int = 3, **kw) -> AgentWorkflow:
        """A random chain of ``n_subtasks`` (see `orbudget.problems.agents._instances.random_workflow`)."""
        from ._instances import random_workflow

        n = as_scalar("n_subtasks", n_subtasks, integer=True, minimum=1, maximum=MAX_SUBTASKS)
        return random_workflow([(i, i + 1) for i in range(n - 1)], n, **kw)

    @classmethod
    def code_like(cls, **kw) -> AgentWorkflow:
        """A code-like workflow (CodeFlow's shape): spec -> (implement, write tests) -> integrate -> review."""
        from ._instances import CODE_EDGES, random_workflow

        return random_workflow(CODE_EDGES, 5, difficulty=0.0, names=("spec", "implement", "tests", "integrate", "review"), **kw)

    @classmethod
    def proof_like(cls, **kw) -> AgentWorkflow:
        """A proof-like workflow (ProofFlow's shape): two lemmas -> the main step -> the write-up; harder, longer."""
        from ._instances import PROOF_EDGES, random_workflow

        return random_workflow(PROOF_EDGES, 4, difficulty=0.15, long=True, names=("lemma_a", "lemma_b", "main", "writeup"), **kw)

    @classmethod
    def from_file(cls, path, **kw) -> AgentWorkflow:
        """Load per-(subtask, model) estimates from CSV or JSON lines (see
        `orbudget.problems.agents._instances.load_workflow`)."""
        from ._instances import load_workflow

        return load_workflow(path, **kw)


class WorkflowEnv:
    """Run an `AgentWorkflow` wave by wave, with Gymnasium's 5-tuple.

    ``reset(seed=None) -> (obs, info)``; ``step(action) -> (obs, reward, terminated, truncated, info)`` where
    ``action`` is an option index per subtask (``-1``: do not launch it now). Launches are made in topological
    order while their worst case fits what is left (a launch that does not fit is not made, and ``info['refused']``
    lists it); a wave with no launch ends the episode. The reward is 1 when the last subtask succeeds. ``obs``: a
    dict of ``done`` (bool per subtask), ``ready``, ``budget_left``, ``time_left``.
    """

    def __init__(self, workflow: AgentWorkflow, seed=None):
        self.workflow = workflow
        self.rng = as_generator(seed)
        self.reset()

    def _obs(self) -> dict:
        w = self.workflow
        done = np.array([(self.done >> s) & 1 for s in range(w.n_subtasks)], bool)
        ready = np.zeros(w.n_subtasks, bool)
        ready[w.ready(self.done)] = True
        return {"done": done, "ready": ready, "budget_left": float(w.budget) - self.spent, "time_left": w.deadline - self.elapsed}

    def reset(self, *, seed=None):
        if seed is not None:
            self.rng = as_generator(seed)
        self.done, self.spent, self.elapsed, self.over = 0, 0.0, 0.0, False
        return self._obs(), {}

    def step(self, action):
        w = self.workflow
        if self.over:
            raise InvalidProblemError("`action`: the episode is over; call reset()")
        action = w.check_plan(action)
        ready = set(w.ready(self.done))
        cost_wc, launched, refused = 0.0, [], []
        for s in w.order.tolist():
            o = int(action[s])
            if o < 0:
                continue
            if s not in ready:
                raise InvalidProblemError(f"`action` launches subtask {s}, which is not ready")
            if w.fits(self.spent + cost_wc, self.elapsed, w.worst_costs[s, o], w.worst_times[s, o]):
                cost_wc += w.worst_costs[s, o]
                launched.append((s, o))
            else:
                refused.append(s)
        cost, duration, succeeded = 0.0, 0.0, []
        for s, o in launched:
            prob, succ, c, d = w.outcomes[s][o]
            i = int(self.rng.choice(prob.size, p=prob))
            cost += c[i]
            duration = max(duration, d[i])
            if self.rng.random() * prob[i] < succ[i]:
                succeeded.append(s)
                self.done |= 1 << s
        self.spent += cost
        self.elapsed += duration
        complete = self.done == w.full_mask
        self.over = complete or not launched
        info = {"launched": launched, "refused": refused, "succeeded": succeeded, "spent": self.spent, "elapsed": self.elapsed}
        return self._obs(), float(complete), self.over, False, info
