"""What every restless-bandit method shares, whatever it runs on: the linear oracle over the constraint set
(`Oracle`), the per-arm dynamic programs (Lagrangian tables and bound, Whittle indices), the joint-state DP, and the
evaluation of a policy over the episodes (`evaluate`, `memo`). The methods are in ``python/rmab.py`` (baselines),
``torch/rmab.py`` (SEQUOIA) and ``pyomo/rmab.py``; see ``python/rmab.py`` for the evaluation protocol and the bound.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..core.errors import InvalidProblemError
from ..core.progress import Run
from ..core.registry import module_available
from ..core.result import Limit, Result, Status
from ..core.validation import as_choice, split_seed
from ..problems.rmab import ENUMERATION_LIMIT, CoupledRMAB, PathConstraint, RMABBudget, RMABCapacity, require_memory

ORACLES = ("auto", "highs", "cpsat", "enumerate", "knapsack")
EXACT_DP_LIMIT = 20_000_000  # S^J · |C| table entries


def for_constraint(table: dict, constraint, what: str):
    """The entry of ``table`` (keyed by constraint class, as cvxpy keys its canonicalisations by expression type)
    for ``constraint``'s class or its nearest base class; a constraint no entry covers is refused by name. Every
    backend that models the constraint set (HiGHS, CP-SAT, Pyomo) keeps one such table of row builders."""
    for cls in type(constraint).__mro__:
        if cls in table:
            return table[cls]
    from ..core.errors import SolverError

    raise SolverError(f"no {what} for constraint {type(constraint).__name__}; known: " + ", ".join(c.__name__ for c in table))


# -- the linear oracle: max Σ_j v[j, m_j(x)] over C ------------------------------------------------------------
class Oracle:
    """max Σ_j v[j, m_j(x)] over C: closed form for a plain budget (the B largest positive gains), else the core
    knapsack search for a one-worker `RMABCapacity` (``'knapsack'``), the HiGHS MIP (``'highs'``), CP-SAT (``'cpsat'``)
    or enumeration of C (``'enumerate'``). ``'auto'``: closed form, then the knapsack search, then enumeration when
    |C| ≤ 5000, then CP-SAT for paths (the time-unrolled walk is hard for HiGHS' LP bound) and HiGHS for the other
    families."""

    def __init__(self, problem: CoupledRMAB, kind: str = "auto", opts=None):
        from ..core.solve import SolveOptions

        kind = as_choice("options.oracle", kind, ORACLES)
        # the method's own options (``oracle``, ``kind``) are not HiGHS or CP-SAT parameters: the backend gets the
        # standard keywords only
        opts = dataclasses.replace(opts, options={}) if opts is not None else SolveOptions()
        self.problem = problem
        if kind == "auto":
            if isinstance(problem.constraint, RMABBudget):
                kind = "budget"
            elif _one_knapsack(problem):
                kind = "knapsack"
            elif problem.count_actions(5000) is not None:
                kind = "enumerate"
            elif isinstance(problem.constraint, PathConstraint) and module_available("ortools"):
                kind = "cpsat"  # measured: 0.1–0.3 s per solve on London J = 40, B = 10, against 6–14 s for HiGHS
            elif module_available("highspy"):
                kind = "highs"
            else:
                kind = "enumerate"
        self.kind = kind
        if kind == "knapsack" and not _one_knapsack(problem):
            raise InvalidProblemError(
                "`options.oracle` = 'knapsack' needs a `RMABCapacity` constraint with one worker "
                f"(a 0/1 knapsack); this constraint is {type(problem.constraint).__name__}"
            )
        if kind == "highs":
            from .highs.rmab import LinearOracle

            self.impl = LinearOracle(problem, opts)
        elif kind == "cpsat":
            from .ortools.rmab import CpSatOracle

            self.impl = CpSatOracle(problem, opts)
        elif kind == "enumerate":
            if problem.count_actions() is None:
                raise InvalidProblemError(
                    "`options.oracle` = 'enumerate' needs a small action set; this one has more "
                    f"than {ENUMERATION_LIMIT} feasible actions (use 'highs' or 'cpsat')"
                )
            self.actions = problem.feasible_actions()
            self.levels = problem.constraint.levels(self.actions)

    def solve(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.kind == "budget":
            gain = values[:, 1] - values[:, 0]
            order = np.argsort(-gain, kind="stable")[: self.problem.constraint.budget]
            x = np.zeros(self.problem.n_arms, dtype=np.int64)
            x[order[gain[order] > 0]] = 1
            return x
        if self.kind == "knapsack":  # pull arm j (cost c_j) or not, within the one worker's capacity
            from .numba.mckp_core import core_choice

            c = self.problem.constraint
            cap = int(c.capacities[0])
            costs = np.zeros((self.problem.n_arms, 2), np.int64)
            costs[:, 1] = c.costs
            found = core_choice(values[:, :2], costs, costs <= cap, cap, False)
            return found[0].astype(np.int64)
        if self.kind == "enumerate":
            total = values[np.arange(values.shape[0]), self.levels].sum(axis=1)
            return self.actions[int(np.argmax(total))].astype(np.int64)
        return self.impl.solve(values)[0]


def _one_knapsack(problem: CoupledRMAB) -> bool:
    """Whether the constraint is a 0/1 knapsack: `RMABCapacity` with one worker."""
    return isinstance(problem.constraint, RMABCapacity) and problem.constraint.capacities.size == 1


# -- per-arm dynamic programs ----------------------------------------------------------------------------------
def _level_mask(problem: CoupledRMAB) -> np.ndarray:
    """(J, A): levels arm j can reach (its level under the all-ones decision caps it)."""
    top = problem.constraint.levels(np.ones(problem.n_decisions, dtype=np.int64))
    return np.arange(problem.n_levels)[None, :] <= top[:, None]


def lagrange_tables(problem: CoupledRMAB, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """``(Q, V0)``: per-arm H-step DP with charge λ·w_j per level; Q (H, J, A, S) *without* the immediate charge, and
    V0 (J, S) the priced value at t = 0."""
    H, J, A, S = problem.horizon, problem.n_arms, problem.n_levels, problem.n_states
    require_memory("horizon", 8 * H * J * A * S, f"the per-arm DP table (H·J·A·S = {H}·{J}·{A}·{S} values)")
    er, P = problem.expected_rewards, problem.transitions
    mask = _level_mask(problem)[:, :, None]
    charge = lam * problem.constraint.level_weights(J)[:, None, None] * np.arange(A)[None, :, None]
    V = np.zeros((J, S))
    Q = np.empty((H, J, A, S))
    for t in range(H - 1, -1, -1):
        q = er + np.einsum("jmst,jt->jms", P, V)
        Q[t] = q
        V = np.where(mask, q - charge, -np.inf).max(axis=1)
    return Q, V


def lagrangian_bound(problem: CoupledRMAB, iterations: int = 100, run=None) -> tuple[float, float]:
    """``(bound per step, λ*)``: min over λ ≥ 0 of the Lagrangian relaxation of Σ_j m_j ≤ K (golden-section search
    on the convex function of λ). With a `Run`, each iteration is one ``run.step``
    (extra keys ``phase="lagrange"``, ``lambda``); when it says stop the search ends and its best point so far is
    returned (still an upper bound: every λ ≥ 0 gives one), not cached; ``run.stopped`` tells the caller."""
    key = ("lagrange", iterations)
    if key in problem._cache:
        return problem._cache[key]
    K, H = problem.constraint.level_budget(), problem.horizon
    er = problem.expected_rewards

    def f(lam):
        _, V0 = lagrange_tables(problem, lam)
        return (lam * K * H + float((problem.initial * V0).sum())) / H

    w_min = float(problem.constraint.level_weights(problem.n_arms).min())
    lo, hi = 0.0, (float(er.max() - er.min()) * H + 1.0) / max(w_min, 1e-9)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(iterations):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = f(b)
        if run is not None and run.step(bound=min(fa, fb), phase="lagrange", **{"lambda": a if fa <= fb else b}):
            return min((fa, a), (fb, b))
    cands = [(f(0.0), 0.0), (fa, a), (fb, b)]
    out = min(cands)
    problem._cache[key] = out
    return out


def whittle_indices(problem: CoupledRMAB, iterations: int = 50, run=None) -> np.ndarray:
    """(J, S) Whittle indices for the discounted (γ = ``problem.discount``) two-action arms: the passive subsidy at
    which acting and resting are equally good in that state, by bisection with exact policy iteration per subsidy.
    (Meaningful when the arm is indexable; the value is the bisection's midpoint either way.) With a
    `Run`, each bisection step is one ``run.step`` (``phase="whittle"``) and the
    bisection ends when it says stop (``run.stopped``)."""
    if problem.n_levels != 2:
        raise InvalidProblemError(
            "`options.index` = 'whittle' needs two-action arms; this bandit's arms have "
            f"{problem.n_levels} action levels (use index='lagrange')"
        )
    gamma = min(problem.discount, 0.999)
    J, S = problem.n_arms, problem.n_states
    er, P = problem.expected_rewards, problem.transitions
    span = float(er.max() - er.min()) / (1 - gamma) + 1.0
    lo, hi = np.full((J, S), -span), np.full((J, S), span)
    eye = np.eye(S)
    arms = np.repeat(np.arange(J), S)
    target = np.tile(np.arange(S), J)
    for _ in range(iterations):
        lam = ((lo + hi) / 2).ravel()
        pol = np.zeros((J * S, S), dtype=np.int64)
        r = np.stack([er[arms, 0] + lam[:, None], er[arms, 1]], axis=1)  # (JS, 2, S)
        p = P[arms]  # (JS, 2, S, S)
        for _ in range(50):
            rp = np.take_along_axis(r, pol[:, None, :], axis=1)[:, 0]
            pp = np.take_along_axis(p, pol[:, None, :, None], axis=1)[:, 0]
            V = np.linalg.solve(eye[None] - gamma * pp, rp[..., None])[..., 0]
            q = r + gamma * np.einsum("bmst,bt->bms", p, V)
            new = np.argmax(q, axis=1)
            if np.array_equal(new, pol):
                break
            pol = new
        adv = q[np.arange(J * S), 1, target] - q[np.arange(J * S), 0, target]
        more = (adv > 0).reshape(J, S)  # acting still better: the subsidy must rise
        lo = np.where(more, (lo + hi) / 2, lo)
        hi = np.where(more, hi, (lo + hi) / 2)
        if run is not None and run.step(phase="whittle"):
            break
    return (lo + hi) / 2


# -- exact joint-state DP ----------------------------------------------------------------------------------------
def exact_dp(problem: CoupledRMAB, run=None) -> tuple[np.ndarray, np.ndarray, float] | None:
    """``(policy (H, S^J) action indices, actions (M, n), expected mean reward per step)`` by backward induction
    over the joint state for the undiscounted H-step objective. Each stage is one step of ``run`` (a
    `Run`, ``phase="dp"``); when it says stop, ``None`` (no policy)."""
    key = ("exact_dp",)
    if key in problem._cache:
        return problem._cache[key]
    J, S, H = problem.n_arms, problem.n_states, problem.horizon
    actions = problem.feasible_actions()
    size = S**J * len(actions)
    if size > EXACT_DP_LIMIT:
        raise InvalidProblemError(f"`transitions` give exact_dp S^J·|C| = {size} table entries (limit {EXACT_DP_LIMIT})")
    _require_dp_memory(problem, len(actions))
    levels = problem.constraint.levels(actions)
    er, P = problem.expected_rewards, problem.transitions
    shape = (S,) * J
    V = np.zeros(shape)
    policy = np.empty((H, S**J), dtype=np.int32)
    for t in range(H - 1, -1, -1):
        Q = np.empty((len(actions), S**J))
        for a, lv in enumerate(levels):
            ev = V
            reward = np.zeros(shape)
            for j in range(J):
                ev = np.moveaxis(np.tensordot(P[j, lv[j]], ev, axes=([1], [j])), 0, j)
                view = [1] * J
                view[j] = S
                reward = reward + er[j, lv[j]].reshape(view)
            Q[a] = (reward + ev).ravel()
        policy[t] = Q.argmax(axis=0)
        V = Q.max(axis=0).reshape(shape)
        if run is not None and run.step(phase="dp", stage=H - t):
            return None
    init = problem.initial[0]
    for j in range(1, J):
        init = np.multiply.outer(init, problem.initial[j])
    out = (policy, actions, float((init * V).sum()) / H)
    problem._cache[key] = out
    return out


def exact_dp_size(problem: CoupledRMAB) -> int | None:
    """S^J·|C|, or ``None`` when it is above ``EXACT_DP_LIMIT`` (never enumerating more than that)."""
    if problem.n_states**problem.n_arms > EXACT_DP_LIMIT:
        return None
    n = problem.count_actions(EXACT_DP_LIMIT // problem.n_states**problem.n_arms)
    return None if n is None else n * problem.n_states**problem.n_arms


def _require_dp_memory(problem: CoupledRMAB, n_actions: int) -> None:
    """The joint-state DP's memory (policy table, value and Q arrays), checked before anything is allocated."""
    J, S, H = problem.n_arms, problem.n_states, problem.horizon
    require_memory(
        "horizon", 4 * H * S**J + 8 * (n_actions + 2) * S**J, f"the joint-state policy table (H·S^J = {H}·{S}^{J} entries)"
    )


def dp_supported(problem: CoupledRMAB) -> str | None:
    size = exact_dp_size(problem)
    if size is None:
        return (
            f"`transitions`: the joint state space S^J = {problem.n_states}^{problem.n_arms} times |C| is too large for exact DP"
        )
    try:  # the same check exact_dp makes, so solve() refuses the method up front with the same message
        _require_dp_memory(problem, size // problem.n_states**problem.n_arms)
    except InvalidProblemError as exc:
        return str(exc)
    return None


# -- evaluation ----------------------------------------------------------------------------------------------------
def reference_value(problem: CoupledRMAB) -> tuple[float, str]:
    """``(value, kind)``: the exact DP value when S^J·|C| ≤ 2·10⁶, else the Lagrangian upper bound."""
    size = exact_dp_size(problem) if problem.n_states**problem.n_arms <= 100_000 else None
    if size is not None and size <= 2_000_000 and dp_supported(problem) is None:
        return exact_dp(problem)[2], "exact_dp"
    return lagrangian_bound(problem)[0], "lagrangian_bound"


def check_evaluation_size(problem: CoupledRMAB, episodes: int | None = None) -> None:
    """Refuse, before any work, a horizon or episode count whose evaluation arrays (rewards and played actions, the
    per-arm DP of the reference bound) would not fit in memory; the error names the field and the memory needed."""
    V, H, n = episodes or problem.episodes, problem.horizon, problem.n_decisions
    require_memory("horizon" if H >= V else "episodes", V * H * (8 + n), f"recording {V} episodes × {H} steps × {n} decisions")
    require_memory(
        "horizon", 8 * H * problem.n_arms * problem.n_levels * problem.n_states, "the Lagrangian bound's per-arm DP table"
    )


def evaluate(
    problem: CoupledRMAB, act, opts, *, method: str, stats=None, message: str = "", episodes: int | None = None, run=None
) -> Result:
    """Play ``act(states, t, rng) -> x`` for the evaluation episodes and build the family's Result.

    Each episode is one step of ``run`` (a `Run`, made here when not given; a given
    one carries the time already spent): ``callback(info)`` sees ``phase="evaluate"``, ``episode`` and
    ``mean_reward`` (per step, over the episodes so far), and ends the evaluation when it returns ``True``
    (``limit=INTERRUPTED``); the time limit ends it after the episode that passes it (``limit=TIME``); a Ctrl-C
    ends it with the episodes done (``limit=INTERRUPTED``; before the first one ends, none: ``NO_SOLUTION``)."""
    policy_rng, env_rng = split_seed(opts.seed)  # the environment's stream depends only on the seed
    V = episodes or problem.episodes
    H = problem.horizon
    check_evaluation_size(problem, V)
    env = problem.env(env_rng)
    rewards = np.zeros((V, H))
    actions = np.zeros((V, H, problem.n_decisions), dtype=np.int8)
    own = run is None
    run = Run(opts, total=V, unit="episodes", desc=method).open() if own else run
    if not own:
        run.total, run.unit, run.iteration = V, "episodes", 0
    t0 = time.perf_counter()
    limit = None
    done = 0
    total = 0.0  # running sum for the callback's mean (not a fresh mean over all episodes after each one)
    try:
        for v in range(V):
            states, _ = env.reset()
            for t in range(H):
                x = act(states, t, policy_rng)
                actions[v, t] = x
                states, rewards[v, t], *_ = env.step(x)
            done = v + 1
            total += float(rewards[v].sum())
            if run.step(phase="evaluate", episode=done, mean_reward=total / (done * H)) and done < V:
                limit = run.limit
                message = f"{message}; {run.message} after {done} of {V} episodes"
                break
    except KeyboardInterrupt:
        if done == 0:
            raise
        limit = Limit.INTERRUPTED
        message = f"{message}; interrupted after {done} of {V} episodes"
    finally:
        run.close()
    rewards, actions = rewards[:done], actions[:done]
    objective = float(rewards.mean())
    null = problem.null_value()
    ref, ref_kind = reference_value(problem)
    per_episode = rewards.mean(axis=1)
    st = {
        "episodes": done,
        "steps": H,
        "episode_rewards": per_episode,
        "stderr": float(per_episode.std(ddof=1) / np.sqrt(done)) if done > 1 else float("nan"),
        "null": null,
        "reference": ref,
        "reference_kind": ref_kind,
        "normalized": (objective - null) / (ref - null) if abs(ref - null) > 1e-12 else float("nan"),
        "max_selected": int(actions.reshape(-1, problem.n_decisions).sum(axis=1).max()) if actions.size else 0,
    }
    st.update(stats or {})
    timings = {"evaluate": time.perf_counter() - t0}
    return Result(
        status=Status.FEASIBLE,
        limit=limit,
        x=actions,
        objective=objective,
        bound=ref if ref_kind == "lagrangian_bound" else None,
        stats=st,
        timings=timings,
        message=message,
    )


def memo(fn, stationary: bool = False):
    """``act(states, t, rng)`` caching a deterministic policy ``fn(states, t)`` by (t, state), or by state alone
    when the policy does not depend on t."""
    cache: dict = {}

    def act(states, t, rng):
        key = states.tobytes() if stationary else (t, states.tobytes())
        if key not in cache:
            cache[key] = fn(states, t)
        return cache[key]

    return act


def no_warm_start(opts, method: str) -> None:
    """A fixed policy has nothing to start from: a ``warm_start`` is refused rather than ignored."""
    if opts.warm_start is not None:
        raise InvalidProblemError(
            f"`warm_start` is not used by method {method!r} (only 'sequoia' starts from a "
            "trained policy); got " + type(opts.warm_start).__name__
        )
