"""Coupled restless bandits: evaluation of a policy over the episodes, and the baselines ``random``, ``sampling``,
``myopic``, ``index`` (Lagrangian or Whittle per-arm values combined over C) and ``exact_dp`` (joint-state DP).

Every method is evaluated the same way: ``problem.episodes`` episodes of ``problem.horizon`` steps, start states
from ``problem.initial``, one uniform per arm per step from a generator that depends only on the seed (so methods
are compared on the same randomness), every played action checked by the constraint's independent checker.
``objective`` is the mean expected reward per step; ``stats['normalized']`` is (V − V_null)/(V_ref − V_null) with
V_null the exact value of never acting and V_ref the exact DP value when the joint state space is small, else the
Lagrangian upper bound.

**Lagrangian bound.** Relax C to one row Σ_j w_j m_j ≤ K (``constraint.level_weights()`` and ``level_budget()``:
a cardinality row for most families, total cost within total capacity for ``Capacity``; valid for every family)
and price it by λ ≥ 0 per step: each arm then solves its own H-step DP, and
$\\min_\\lambda [\\lambda K H + \\sum_j \\mathbb E V^\\lambda_{j,0}(s_j)] / H$ bounds every policy's mean reward
(weak duality). ``index`` acts on the per-arm values of that DP at the minimising λ*: at step t it maximises
Σ_j Q^{λ*}_{j,t}(s_j, m_j) over C (the future is priced, the immediate charge is left out so the budget is used
whenever an arm's advantage is positive).
"""

from __future__ import annotations

import time

import numpy as np

from ...core.errors import InvalidProblemError, warn_renamed
from ...core.progress import Run
from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...core.validation import as_array, as_choice, as_scalar
from ...problems.rmab import CoupledRMAB, require_memory
from .._rmab import (
    Oracle,
    dp_supported,
    evaluate,
    exact_dp,
    lagrange_tables,
    lagrangian_bound,
    memo,
    no_warm_start,
    whittle_indices,
)


def myopic_rule(problem: CoupledRMAB, oracle: Oracle):
    """``decide(states, t)`` of the myopic policy: the one-step optimum over C."""
    return lambda s, t: oracle.solve(problem.level_values(s))


def index_rule(problem: CoupledRMAB, oracle: Oracle, kind: str, tables: np.ndarray):
    """``decide(states, t)`` of the index policy from its tables: the Lagrangian Q-values per period
    (``kind='lagrange'``, from `lagrange_tables`) or the Whittle indices (``'whittle'``, from `whittle_indices`),
    combined over C by the oracle."""
    arms = np.arange(problem.n_arms)
    if kind == "lagrange":
        return lambda s, t: oracle.solve(tables[t][arms, :, s])
    return lambda s, t: oracle.solve(np.stack([np.zeros(problem.n_arms), tables[arms, s]], axis=1))


class RMABPolicy:
    """Which arms to act on now, for given states: the ``index`` or ``myopic`` policy as a step-by-step object (the
    trained SEQUOIA policy is ``SequoiaPolicy.act``). ``act(states, t=0)`` returns the decision ``x`` (one 0/1 per
    decision bit, feasible for the problem's constraint) for the joint state ``states`` (one state per arm) at
    period ``t`` of the horizon (``t`` matters for the finite-horizon Lagrangian index only).

    Args:
        problem: a ``CoupledRMAB``.
        method: ``"index"`` (per-arm values combined over the constraint by the oracle) or ``"myopic"`` (the
            one-step optimum).
        index: for ``index``: ``"lagrange"`` (the per-arm DP's Q-values at the Lagrangian bound's λ*) or
            ``"whittle"`` (discounted Whittle indices, two-action arms).
        kind: the old name of ``index`` (deprecated; it goes in the next release).
        oracle: how the combination over the constraint is solved (``"auto"``, ``"enumerate"``, ``"highs"``,
            ``"cpsat"``), as in ``solve``'s ``options``; ``"auto"`` takes the closed form for a plain budget.

    The same decisions as ``ob.solve(problem, method=...)`` makes in its simulated episodes (a test checks it).

    Examples:
        >>> import numpy as np, orbudget as ob
        >>> from orbudget.solvers.numpy.rmab import RMABPolicy
        >>> p = ob.CoupledRMAB.budget(6, 2, seed=0, horizon=10)
        >>> x = RMABPolicy(p, "index").act(np.zeros(6, dtype=np.int64))
        >>> int(x.sum()) <= 2 and p.check(x) is None
        True
    """

    def __init__(
        self,
        problem: CoupledRMAB,
        method: str = "index",
        *,
        index: str = "lagrange",
        oracle: str = "auto",
        kind: str | None = None,
    ):
        if kind is not None:
            warn_renamed("`kind` of RMABPolicy", "`index`")
            index = kind
        self.problem = problem
        self.method = as_choice("method", method, ("index", "myopic"))
        self.kind = as_choice("index", index, ("lagrange", "whittle"))
        self.oracle = Oracle(problem, oracle)
        self._oracle_asked = oracle
        if self.method == "myopic":
            self._decide = myopic_rule(problem, self.oracle)
        elif self.kind == "lagrange":
            _, lam = lagrangian_bound(problem)
            self._decide = index_rule(problem, self.oracle, "lagrange", lagrange_tables(problem, lam)[0])
        else:
            self._decide = index_rule(problem, self.oracle, "whittle", whittle_indices(problem))

    def update(self, *feedback) -> None:
        """Nothing to learn: the index and myopic policies are fixed by the model. Accepted (and ignored) so that one
        loop can drive every step-by-step policy the same way (``act``, then ``update`` with what was observed)."""

    def state_dict(self) -> dict:
        """What rebuilds this policy for the same problem: its method, index kind and oracle."""
        return {"method": self.method, "kind": self.kind, "oracle": self._oracle_asked}

    def load_state_dict(self, state: dict) -> None:
        """Rebuild for ``state`` (from :meth:`state_dict`) on the same problem."""
        if not isinstance(state, dict) or set(state) != {"method", "kind", "oracle"}:
            raise InvalidProblemError("`state` must be a dict with keys method, kind and oracle (from state_dict())")
        try:
            again = RMABPolicy(self.problem, state["method"], index=state["kind"], oracle=state["oracle"])
        except InvalidProblemError as exc:
            raise InvalidProblemError(f"`state` holds a setting this policy cannot take: {exc}") from None
        self.__dict__.update(again.__dict__)

    def act(self, states, t: int = 0) -> np.ndarray:
        """The decision for the joint state ``states`` at period ``t`` (0 .. horizon - 1)."""
        p = self.problem
        s = as_array("states", states, shape=(p.n_arms,), dtype=int)
        if ((s < 0) | (s >= p.n_states)).any():
            raise InvalidProblemError(f"`states` must lie in 0..{p.n_states - 1} (one state per arm)")
        t = int(as_scalar("t", t, integer=True, minimum=0, maximum=p.horizon - 1))
        return self._decide(s, t)


# -- adapters --------------------------------------------------------------------------------------------------
@register(CoupledRMAB, "random", backend="numpy", priority=5, honours=("time_limit", "seed", "callback", "progress"))
def solve_random(problem: CoupledRMAB, opts: SolveOptions) -> Result:
    """A random feasible action each step (built with a certificate: a random walk, a greedy matching, first fit)."""
    no_warm_start(opts, "random")
    return evaluate(
        problem, lambda s, t, rng: problem.constraint.sample(rng), opts, method="random", message="random feasible action"
    )


@register(
    CoupledRMAB,
    "sampling",
    backend="numpy",
    priority=10,
    options=("samples",),
    honours=("time_limit", "seed", "callback", "progress"),
)
def solve_sampling(problem: CoupledRMAB, opts: SolveOptions) -> Result:
    """Best of ``samples`` (100) random feasible actions by expected one-step reward."""
    no_warm_start(opts, "sampling")
    k = int(as_scalar("options.samples", opts.get("samples", 100), integer=True, minimum=1))
    require_memory("options.samples", 8 * k * (problem.n_decisions + problem.n_arms), f"{k} sampled actions per step")

    def act(states, t, rng):
        xs = np.stack([problem.constraint.sample(rng) for _ in range(k)])
        return xs[int(np.argmax(problem.reward(states, xs)))]

    return evaluate(
        problem,
        act,
        opts,
        method="sampling",
        stats={"samples": k},
        message=f"best of {k} random feasible actions by one-step reward",
    )


@register(
    CoupledRMAB,
    "myopic",
    backend="numpy",
    priority=30,
    options=("oracle",),
    honours=("time_limit", "threads", "seed", "callback", "progress"),
)
def solve_myopic(problem: CoupledRMAB, opts: SolveOptions) -> Result:
    """The exact one-step optimum: max over C of the expected next reward, a linear 0-1 program (levels one-hot
    linked for multiple interventions, exact)."""
    no_warm_start(opts, "myopic")
    oracle = Oracle(problem, opts.get("oracle", "auto"), opts)
    act = memo(myopic_rule(problem, oracle), stationary=True)
    return evaluate(
        problem, act, opts, method="myopic", stats={"oracle": oracle.kind}, message=f"one-step optimum ({oracle.kind})"
    )


@register(
    CoupledRMAB,
    "index",
    backend="numpy",
    priority=40,
    options=("oracle", "index"),
    honours=("time_limit", "threads", "seed", "callback", "progress"),
    long=True,
    renamed_options={"kind": "index"},
)
def solve_index(problem: CoupledRMAB, opts: SolveOptions) -> Result:
    """Per-arm values combined over C by the oracle: ``index='lagrange'`` (default: the Lagrangian Q-values of the
    per-arm DP at the bound's λ*) or ``'whittle'`` (discounted Whittle indices, two-action arms).

    ``time_limit``, ``callback`` and ``progress`` cover the whole call: one step per iteration of the λ search and
    of the Whittle bisection (``phase`` ``"lagrange"``/``"whittle"``), then one per evaluation episode
    (``phase="evaluate"``). Stopped (time, a callback's ``True``) before the indices are computed it returns
    ``NO_SOLUTION`` with the limit (no policy to evaluate); during the evaluation, the episodes played so far."""
    no_warm_start(opts, "index")
    kind = as_choice("options.index", opts.get("index", "lagrange"), ("lagrange", "whittle"))
    oracle = Oracle(problem, opts.get("oracle", "auto"), opts)
    run = Run(opts, unit="iterations", desc="index").open()
    bound, lam = lagrangian_bound(problem, run=run)
    run.set_bound(bound)
    if kind == "lagrange" and not run.stopped:
        act = memo(index_rule(problem, oracle, kind, lagrange_tables(problem, lam)[0]))
    elif not run.stopped:
        act = memo(index_rule(problem, oracle, kind, whittle_indices(problem, run=run)), stationary=True)
    if run.stopped:
        run.close()
        return Result(
            status=Status.NO_SOLUTION,
            limit=run.limit,
            stats={"kind": kind, "oracle": oracle.kind, "iterations": run.iteration},
            message=f"{run.message} while computing the {kind} indices (no policy to evaluate)",
        )
    return evaluate(
        problem,
        act,
        opts,
        method="index",
        run=run,
        stats={"kind": kind, "oracle": oracle.kind, "lagrangian_bound": bound, "lambda": lam},
        message=f"{kind} index policy ({oracle.kind})",
    )


@register(
    CoupledRMAB,
    "exact_dp",
    backend="numpy",
    priority=60,
    supports=dp_supported,
    preferred=lambda p: False,
    honours=("time_limit", "seed", "callback", "progress"),
    long=True,
)
def solve_exact_dp(problem: CoupledRMAB, opts: SolveOptions) -> Result:
    """The optimal policy by backward induction over the joint state (tiny instances: S^J·|C| ≤ 2·10⁷).
    ``stats['expected']`` is its exact expected mean reward per step; ``objective`` the simulated one.

    ``time_limit``, ``callback`` and ``progress`` cover the whole call: one step per DP stage (``phase="dp"``,
    ``stage``), then one per evaluation episode. Stopped during the DP it returns ``NO_SOLUTION`` with the limit
    (no policy yet); during the evaluation, the episodes played so far."""
    no_warm_start(opts, "exact_dp")
    t0 = time.perf_counter()
    run = Run(opts, total=problem.horizon, unit="stages", desc="exact_dp").open()
    out = exact_dp(problem, run=run)
    t1 = time.perf_counter()
    if out is None:
        run.close()
        return Result(
            status=Status.NO_SOLUTION,
            limit=run.limit,
            timings={"dp": t1 - t0},
            message=f"{run.message} during the joint-state DP (no policy to evaluate)",
        )
    policy, actions, value = out
    weights = problem.n_states ** np.arange(problem.n_arms - 1, -1, -1)
    r = evaluate(
        problem,
        lambda s, t, rng: actions[policy[t, int(s @ weights)]],
        opts,
        method="exact_dp",
        run=run,
        stats={"expected": value, "actions": len(actions)},
        message="joint-state dynamic programming",
    )
    return r.replace(status=Status.OPTIMAL if r.limit is None else r.status, timings={**r.timings, "dp": t1 - t0})
