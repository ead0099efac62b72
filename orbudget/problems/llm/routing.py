"""Budget-aware model routing (`ModelRouting`): which model answers each query within a budget (and per-task
budgets), offline as a knapsack or online."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ...core.budget import as_reported, budget_value, cost_array, exact_total, fits, is_whole
from ...core.errors import InvalidProblemError
from ...core.io import register_kind
from ...core.validation import (
    as_array,
    as_bool,
    as_generator,
    as_scalar,
    is_integral,
)
from ..base import Problem
from ..knapsack import MultipleChoiceKnapsack
from ..online import OnlineAllocation
from ._fields import _names, _number, _read_rows

# -- model routing -------------------------------------------------------------------------------------------------


@register_kind
@dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class ModelRouting(Problem):
    """Route each query to one model: maximise mean predicted quality under a cost budget.

    Args:
        quality: (Q, M) predicted quality (e.g. probability of a correct answer) of model m on query q.
        costs: (Q, M) non-negative cost of sending query q to model m (dollars, tokens).
        budget: B >= 0 for the total cost.
        allow_skip: whether a query may be left unanswered (quality 0, cost 0; ``x = -1``).
        tasks: optional (Q,) task index per query; with ``task_budgets`` each task's spend is capped too (a second
            resource: offline ``mip``, online ``dmd``).
        task_budgets: (n_tasks,) non-negative budget per task.
        query_names: optional ids of the queries.
        model_names: optional ids of the models.

    Methods: ``mckp`` (exact, the multiple-choice knapsack by ``dp`` or ``mip``), ``mip`` (exact HiGHS MIP of the
    routing, task budgets included), ``lp`` (LP bound, fractional ``x``), ``cheapest``, ``strongest`` (baselines),
    ``dmd`` (online: dual mirror descent over the queries in order, with hindsight and regret). `frontier`
    gives the quality-cost frontier over many budgets.

    Examples:
        >>> import orbudget as ob
        >>> p = ob.ModelRouting(quality=[[0.5, 0.9], [0.2, 0.8], [0.7, 0.75]], costs=[[1, 10], [1, 10], [1, 10]],
        ...                     budget=21)
        >>> r = ob.solve(p)
        >>> r.x.tolist(), round(r.objective, 4)
        ([1, 1, 0], 0.8)
    """

    quality: np.ndarray
    costs: np.ndarray
    budget: float
    allow_skip: bool = False
    tasks: np.ndarray | None = None
    task_budgets: np.ndarray | None = None
    query_names: tuple | None = None
    model_names: tuple | None = None

    def __post_init__(self):
        quality = as_array("quality", self.quality, ndim=2)
        costs = cost_array("costs", self.costs, shape=quality.shape)  # exact: int64 below 2^63, never wrapped
        integral = is_whole(costs)
        n_q = quality.shape[0]
        tasks, task_budgets = self.tasks, self.task_budgets
        if (tasks is None) != (task_budgets is None):
            raise InvalidProblemError("`tasks` and `task_budgets` go together: give both or neither")
        if tasks is not None:
            task_budgets = as_array("task_budgets", task_budgets, ndim=1, nonnegative=True)
            tasks = as_array("tasks", tasks, shape=(n_q,), dtype=int, low=0, high=task_budgets.size - 1)
            if integral and is_integral(task_budgets) and float(task_budgets.max()) < 2.0**63:
                task_budgets = as_array("task_budgets", task_budgets, dtype=int)
        self._set("quality", quality)
        self._set("costs", costs)
        self._set("budget", budget_value("budget", self.budget, whole_costs=integral))
        self._set("_whole", bool(integral and isinstance(self.budget, int)))
        self._set("allow_skip", as_bool("allow_skip", self.allow_skip))
        self._set("tasks", tasks)
        self._set("task_budgets", task_budgets)
        self._set("query_names", _names("query_names", self.query_names, n_q))
        self._set("model_names", _names("model_names", self.model_names, quality.shape[1]))

    @property
    def whole_number_costs(self) -> bool:
        """Whole-number costs and budget: spends are decided in integers, with no tolerance."""
        return self._whole

    def __repr__(self) -> str:
        extra = f", {self.task_budgets.size} task budgets" if self.tasks is not None else ""
        return f"ModelRouting({self.n_queries} queries, {self.n_models} models, budget={self.budget}{extra})"

    @property
    def n_queries(self) -> int:
        return self.quality.shape[0]

    @property
    def n_models(self) -> int:
        return self.quality.shape[1]

    @property
    def has_task_budgets(self) -> bool:
        return self.tasks is not None

    @cached_property
    def cheapest(self) -> np.ndarray:
        """Per query the cheapest model (ties: the better quality, then the lower index)."""
        n, m = self.quality.shape
        rows = np.repeat(np.arange(n), m)
        order = np.lexsort((np.tile(np.arange(m), n), -self.quality.ravel(), self.costs.ravel(), rows))
        best = (order[::m] % m).astype(np.int64)  # the first of each query's block, in that order
        best.setflags(write=False)
        return best

    def check_routes(self, x) -> np.ndarray:
        x = as_array("x", x, shape=(self.n_queries,), dtype=int)
        low = -1 if self.allow_skip else 0
        bad = np.flatnonzero((x < low) | (x >= self.n_models))
        if bad.size:
            i = bad[0]
            raise InvalidProblemError(f"`x` must hold model indices in {low}..{self.n_models - 1}; got {x[i]} at query {i}")
        return x

    def _picked(self, table, x):
        x = self.check_routes(x)
        rows = np.flatnonzero(x >= 0)
        return table[rows, x[rows]], rows

    def accuracy_of(self, x) -> float:
        """Mean predicted quality of routes ``x`` (a skipped query counts 0)."""
        vals, _ = self._picked(self.quality, x)
        return math.fsum(vals.tolist()) / self.n_queries

    def exact_cost(self, x):
        """Exact total cost of routes ``x`` (an int for whole-number costs, else a Fraction); never overflows."""
        vals, _ = self._picked(self.costs, x)
        return exact_total(vals)

    def cost_of(self, x):
        """Total cost of ``x``: exact int for whole-number costs, else the float nearest the exact sum."""
        return as_reported(self.exact_cost(x))

    def _exact_task_costs(self, x) -> list:
        vals, rows = self._picked(self.costs, x)
        tasks = self.tasks[rows]
        return [exact_total(vals[tasks == j]) for j in range(self.task_budgets.size)]

    def task_costs_of(self, x) -> np.ndarray:
        """Spend per task (zeros-length array without task budgets)."""
        if not self.has_task_budgets:
            return np.zeros(0)
        spent = [as_reported(v) for v in self._exact_task_costs(x)]
        return np.array(spent, dtype=np.int64 if all(isinstance(v, int) and v < 2**63 for v in spent) else np.float64)

    def _over(self, x) -> list:
        """The budgets ``x`` breaks under the one rule (`orbudget.core.budget.fits`): ``-1`` for the total, ``j`` for
        task j's."""
        over = [] if fits(self.exact_cost(x), self.budget, whole=self.whole_number_costs) else [-1]
        if self.has_task_budgets:
            whole = self.whole_number_costs and self.task_budgets.dtype.kind == "i"
            over += [
                j
                for j, (spent, cap) in enumerate(zip(self._exact_task_costs(x), self.task_budgets.tolist()))
                if not fits(spent, cap, whole=whole)
            ]
        return over

    def is_feasible(self, x) -> bool:
        """Every budget kept, on exact spends: in integers for whole-number costs and budgets, else within ``1e-9``
        of each budget, relative."""
        return not self._over(x)

    def infeasibility_reason(self) -> str | None:
        if self.allow_skip:
            return None
        x = self.cheapest
        over = self._over(x)
        if over and over[0] == -1:
            return f"budget {self.budget} is below the cheapest routing, {self.cost_of(x)}"
        if over:
            j = over[0]
            return f"task {j}'s budget {self.task_budgets[j]} is below its cheapest routing, {self.task_costs_of(x)[j]}"
        return None

    def to_knapsack(self) -> MultipleChoiceKnapsack:
        """One group per query; option m is model m (plus a last free, worthless option when ``allow_skip``);
        values are quality / Q. Task budgets are not part of it (use ``mip``)."""
        values, costs = self.quality / self.n_queries, self.costs
        if self.allow_skip:
            values = np.hstack([values, np.zeros((self.n_queries, 1))])
            costs = np.hstack([costs, np.zeros((self.n_queries, 1), dtype=costs.dtype)])
        return MultipleChoiceKnapsack(values=values, costs=costs, budget=self.budget)

    def routes_from_knapsack(self, choice) -> np.ndarray:
        x = np.asarray(choice, dtype=np.int64).copy()
        if self.allow_skip:
            x[x == self.n_models] = -1
        return x

    def to_online(self, *, normalize: bool = True) -> OnlineAllocation:
        """The same routing as an online allocation over the queries in order.

        With ``allow_skip`` the null action skips the query (reward = quality, consumption = cost). Without it every
        query is answered, so the null action is the query's cheapest model and action m is the *upgrade* to m:
        reward $Q_{qm} - Q_{q,\\mathrm{cheap}}$, consumption $C_{qm} - C_{q,\\mathrm{cheap}}$, budget
        $B - \\sum_q C_{q,\\mathrm{cheap}}$ (the cheapest route's cost is reserved for every query). Resource 0
        is the total budget, resource 1 + τ task τ's. With ``normalize`` consumption is divided by each budget's
        per-query rate B_j / Q (so the target rate ρ is 1, the scale dual mirror descent's default step suits) and
        budgets become Q; without it everything stays in the original units (for the exact hindsight MIP). A budget
        with nothing left above the cheapest routing (surplus 0) cannot be paced: the actions that would spend it
        get a negative reward and no consumption (never played), and it keeps a placeholder budget.
        """
        reason = self.infeasibility_reason()
        if reason:
            raise InvalidProblemError(f"`budget`: {reason}")
        caps = [float(self.budget)] + ([] if not self.has_task_budgets else [float(b) for b in self.task_budgets])
        rewards = np.asarray(self.quality, dtype=float)
        use = np.asarray(self.costs, dtype=float)
        if not self.allow_skip:
            rows = np.arange(self.n_queries)
            cheap = self.cheapest
            rewards = rewards - rewards[rows, cheap][:, None]
            use = use - use[rows, cheap][:, None]
            caps[0] -= float(self.costs[rows, cheap].sum())
            if self.has_task_budgets:
                spent = np.zeros(self.task_budgets.size)
                np.add.at(spent, self.tasks, self.costs[rows, cheap])
                for j in range(spent.size):
                    caps[1 + j] -= spent[j]
        m = len(caps)
        consumption = np.zeros((self.n_queries, self.n_models, m))
        consumption[:, :, 0] = use
        if self.has_task_budgets:
            consumption[np.arange(self.n_queries), :, 1 + self.tasks] = use
        caps_arr = np.array(caps)
        consumption = np.maximum(consumption, 0.0)
        empty = caps_arr <= 0  # nothing left to spend on this resource (a negative surplus was refused above)
        if empty.any():  # actions that would spend it can never be played: negative reward, no consumption
            blocked = (consumption[:, :, empty] > 0).any(axis=2)
            rewards = np.where(blocked, -1.0 - float(np.abs(rewards).max()), rewards)
            consumption[blocked] = 0.0
            caps_arr = np.where(empty, 1.0, caps_arr)  # a placeholder budget that nothing consumes any more
        if normalize:
            consumption /= (caps_arr / self.n_queries)[None, None, :]
            caps_arr = np.full(m, float(self.n_queries))
        return OnlineAllocation(rewards=rewards, consumption=consumption, budgets=caps_arr)

    def routes_from_online(self, actions) -> np.ndarray:
        """Model per query from the online actions (-1: skip with ``allow_skip``, else the cheapest model)."""
        a = np.asarray(actions, dtype=np.int64)
        return a.copy() if self.allow_skip else np.where(a >= 0, a, self.cheapest)

    def with_budget(self, budget) -> ModelRouting:
        """The same problem with another budget (validated again)."""
        return dataclasses.replace(self, budget=budget)

    def always(self, model: int) -> np.ndarray:
        """Routes sending every query to ``model``."""
        model = as_scalar("model", model, integer=True, minimum=0, maximum=self.n_models - 1)
        return np.full(self.n_queries, model, np.int64)

    def frontier(self, budgets, *, method: str = "mckp", bound: bool = True) -> dict:
        """The quality-cost frontier: the exact optimum at each budget (one ``ob.solve`` per budget, ``method``),
        with the LP bound (``lp``, the concave hull, cheap) when ``bound``. Returns arrays ``budget``,
        ``accuracy``, ``cost`` (what the optimum spends), ``lp_bound`` and the per-model baselines ``always``:
        ``{model: (cost, accuracy)}``."""
        from ...core.registry import honoured
        from ...core.solve import solve

        budgets = np.sort(as_array("budgets", budgets, ndim=1, nonnegative=True))
        acc = np.full(budgets.size, np.nan)
        spent = np.full(budgets.size, np.nan)
        lp = np.full(budgets.size, np.nan)
        for i, b in enumerate(budgets.tolist()):
            p = self.with_budget(b)
            r = solve(p, method=method, **honoured(p, method, threads=1))
            if r.ok:
                acc[i], spent[i] = r.objective, r.stats["cost"]
            if bound and not self.has_task_budgets:
                lb = solve(p, method="lp")
                lp[i] = lb.objective if lb.ok else np.nan
        names = self.model_names or tuple(str(m) for m in range(self.n_models))
        always = {names[m]: (self.cost_of(self.always(m)), self.accuracy_of(self.always(m))) for m in range(self.n_models)}
        return {"budget": budgets, "accuracy": acc, "cost": spent, "lp_bound": lp, "always": always}

    def min_cost_for(self, accuracy: float, *, method: str | None = None):
        """The least cost at which mean quality >= ``accuracy`` (an exact MCKP with the roles swapped: costs
        $\\max_m Q_{qm} - Q_{qm}$, values $-C_{qm}$). Returns ``(cost, routes)``, or ``(None, None)``
        when no routing reaches it. No task budgets."""
        from ...core.registry import honoured
        from ...core.solve import solve

        if self.has_task_budgets:
            raise InvalidProblemError("`tasks`: min_cost_for does not take task budgets")
        target = as_scalar("accuracy", accuracy)
        q = self.quality if not self.allow_skip else np.hstack([self.quality, np.zeros((self.n_queries, 1))])
        c = self.costs if not self.allow_skip else np.hstack([self.costs, np.zeros((self.n_queries, 1))])
        top = q.max(axis=1, keepdims=True)
        if not fits(target * self.n_queries, float(top.sum()), whole=False):  # the best routing is below the target
            return None, None
        slack = float(top.sum()) - target * self.n_queries
        kp = MultipleChoiceKnapsack(values=-np.asarray(c, float), costs=top - q, budget=max(slack, 0.0))
        r = solve(kp, method=method, **honoured(kp, method, threads=1))
        if not r.ok:
            return None, None
        x = self.routes_from_knapsack(r.x)
        return self.cost_of(x), x

    # -- generators and loaders ---------------------------------------------------------------------------------
    @classmethod
    def random(
        cls,
        n_queries: int = 500,
        n_models: int = 4,
        *,
        cost_ratio: float = 4.0,
        skill_gain: float = 1.2,
        difficulty_spread: float = 1.5,
        noise: float = 0.5,
        budget_fraction: float = 0.3,
        n_tasks: int = 0,
        seed=None,
    ) -> ModelRouting:
        """A random routing instance with a quality-cost curve of diminishing returns.

        Model m costs ``cost_ratio**m`` per 1,000 tokens; query q has a length ~ lognormal(log 1000, 0.6) tokens
        (cost = length × price / 1000, rounded to whole micro-dollars) and a difficulty
        $d_q \\sim N(0, \\text{difficulty\\_spread}^2)$. Model m's skill is ``skill_gain × log2(1 + m)`` (each
        4× price buys less), and its predicted quality is $\\sigma(s_m - d_q + \\varepsilon_{qm})$,
        $\\varepsilon \\sim N(0, \\text{noise}^2)$. The budget is ``budget_fraction`` of the way from the
        always-cheapest cost to the always-strongest cost. ``n_tasks`` > 0 splits the queries into tasks, each
        with the same fraction of its own range.
        """
        n_q = as_scalar("n_queries", n_queries, integer=True, minimum=1)
        n_m = as_scalar("n_models", n_models, integer=True, minimum=1)
        ratio = as_scalar("cost_ratio", cost_ratio, minimum=1.0)
        gain = as_scalar("skill_gain", skill_gain, minimum=0.0)
        spread = as_scalar("difficulty_spread", difficulty_spread, minimum=0.0)
        noise = as_scalar("noise", noise, minimum=0.0)
        frac = as_scalar("budget_fraction", budget_fraction, minimum=0.0, maximum=1.0)
        n_tasks = as_scalar("n_tasks", n_tasks, integer=True, minimum=0)
        rng = as_generator(seed)
        length = rng.lognormal(math.log(1000.0), 0.6, n_q)
        price = ratio ** np.arange(n_m)
        costs = np.maximum(1, np.round(length[:, None] * price[None, :])).astype(np.int64)  # micro-dollars
        skill = gain * np.log2(1.0 + np.arange(n_m))
        d = rng.normal(0.0, spread, n_q)
        logits = skill[None, :] - d[:, None] + rng.normal(0.0, noise, (n_q, n_m))
        quality = np.round(1.0 / (1.0 + np.exp(-logits)), 6)
        lo, hi = costs[:, 0].sum(), costs[:, -1].sum()
        budget = int(lo + frac * (hi - lo))
        kw = {}
        if n_tasks:
            tasks = rng.integers(0, n_tasks, n_q)
            lo_t = np.bincount(tasks, weights=costs[:, 0], minlength=n_tasks)
            hi_t = np.bincount(tasks, weights=costs[:, -1], minlength=n_tasks)
            kw = {"tasks": tasks, "task_budgets": np.floor(lo_t + frac * (hi_t - lo_t)).astype(np.int64)}
        return cls(quality=quality, costs=costs, budget=budget, **kw)

    @classmethod
    def from_file(
        cls, path, *, budget, allow_skip: bool = False, task_budgets=None, file_format: str | None = None
    ) -> ModelRouting:
        """Load one row per (query, model) from CSV or JSON lines: ``query``, ``model``, ``quality``, ``cost`` and an
        optional ``task`` (one per query; ``task_budgets`` maps task name to budget). Every query needs every
        model; ids keep their first-seen order."""
        rows = _read_rows(path, file_format)
        queries, models, cells, task_of = {}, {}, {}, {}
        for i, r in enumerate(rows):
            for key in ("query", "model", "quality", "cost"):
                if r.get(key) in (None, ""):
                    raise InvalidProblemError(f"`path` {path}: row {i} has no `{key}`")
            q, m = str(r["query"]), str(r["model"])
            queries.setdefault(q, len(queries))
            models.setdefault(m, len(models))
            if (q, m) in cells:
                raise InvalidProblemError(f"`path` {path}: row {i} repeats query {q!r}, model {m!r}")
            cells[q, m] = (_number(path, i, "quality", r["quality"]), _number(path, i, "cost", r["cost"]))
            if r.get("task") not in (None, ""):
                t = str(r["task"])
                if task_of.setdefault(q, t) != t:
                    raise InvalidProblemError(f"`path` {path}: query {q!r} is in two tasks")
        quality = np.zeros((len(queries), len(models)))
        costs = np.zeros_like(quality)
        for q, qi in queries.items():
            for m, mi in models.items():
                if (q, m) not in cells:
                    raise InvalidProblemError(f"`path` {path}: query {q!r} has no row for model {m!r}")
                quality[qi, mi], costs[qi, mi] = cells[q, m]
        kw = {}
        if task_budgets is not None:
            if not isinstance(task_budgets, dict):
                raise InvalidProblemError(
                    f"`task_budgets` must be a dict from task name to budget; got {type(task_budgets).__name__}"
                )
            missing = [q for q in queries if q not in task_of]
            if missing:
                raise InvalidProblemError(f"`path` {path}: query {missing[0]!r} has no `task`")
            names = sorted(set(task_of.values()), key=list(task_of.values()).index)
            unknown = [t for t in names if t not in task_budgets]
            if unknown:
                raise InvalidProblemError(f"`task_budgets` has no budget for task {unknown[0]!r}")
            kw = {"tasks": [names.index(task_of[q]) for q in queries], "task_budgets": [task_budgets[t] for t in names]}
        return cls(
            quality=quality,
            costs=costs,
            budget=budget,
            allow_skip=allow_skip,
            query_names=tuple(queries),
            model_names=tuple(models),
            **kw,
        )
