"""HiGHS adapters for bandits with knapsacks: the LP benchmark ``opt_lp`` and the LP-based policies ``ucb_bwk``
(optimistic LP, Agrawal and Devanur) and ``explore_first`` (Slivkins, Exercise 10.1), which play through
`orbudget.solvers.numba.bwk.play`.

The LP over distributions of arms, per round: $\\max_{X\\ge0} r^\\top X$ s.t. $C^\\top X \\le \\beta$,
$\\sum_a X_a \\le 1$ (the slack is the null arm), with $\\beta$ the budget per round.
"""

from __future__ import annotations

import numpy as np

from ...core.registry import register
from ...core.result import Result, Status
from ...core.solve import SolveOptions
from ...problems.bwk import BanditsWithKnapsacks


class BwKLP:
    """One HiGHS model reused across re-solves: only the costs, coefficients and budgets change."""

    def __init__(self, n_arms: int, n_resources: int):
        import highspy

        from ...core.solve import SolveOptions
        from ._common import new_highs

        self.k, self.d = n_arms, n_resources
        h = new_highs(SolveOptions())
        for key in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
            h.setOptionValue(key, 1e-10)  # at HiGHS' default 1e-7 an answer overspent a budget of 0.1 per round by 1e-6
        inf = highspy.kHighsInf
        h.addVars(self.k, np.zeros(self.k), np.ones(self.k))
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        cols = np.arange(self.k, dtype=np.int32)
        for _ in range(self.d):
            h.addRow(-inf, 1.0, self.k, cols, np.ones(self.k))
        h.addRow(-inf, 1.0, self.k, cols, np.ones(self.k))
        self.h = h

    def solve(self, rewards, consumption, per_round) -> tuple[float, np.ndarray]:
        """``(value per round, X)`` for reward means (K,), consumption means (K, d), budget per round (d,)."""
        import highspy

        from ...core.threads import align_highs
        from ._common import align_run

        h = self.h
        h.changeColsCost(self.k, np.arange(self.k, dtype=np.int32), np.asarray(rewards, float))
        for i in range(self.d):
            for a in range(self.k):
                h.changeCoeff(i, a, float(consumption[a, i]))
            h.changeRowBounds(i, -highspy.kHighsInf, float(per_round[i]))
        align_run(h)  # the model is kept across re-solves: another solve may have refitted HiGHS' thread pool since
        if h.run() == highspy.HighsStatus.kError and h.getModelStatus() == highspy.HighsModelStatus.kNotset:
            align_highs(None)  # a pool started outside orbudget with another thread count: reset it, run again
            align_run(h)
            h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:  # x = 0 is always feasible: presolve misjudged it
            h.setOptionValue("presolve", "off")
            h.clearSolver()
            h.run()
            h.setOptionValue("presolve", "choose")
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            from ...core.errors import SolverError

            raise SolverError(f"BwK LP: HiGHS {h.modelStatusToString(h.getModelStatus())}")
        x = np.clip(np.asarray(h.getSolution().col_value), 0.0, 1.0)
        total = x.sum()
        if total > 1:
            x = x / total
        # within every budget per round, not only within HiGHS' tolerance: scale the distribution down where needed
        use = np.asarray(consumption, float).T @ x
        over = use > np.asarray(per_round, float)
        if over.any():
            x = x * float(np.min(np.asarray(per_round, float)[over] / use[over]))
        return float(np.asarray(rewards, float) @ x), x


def opt_lp_value(problem: BanditsWithKnapsacks) -> tuple[float, np.ndarray]:
    """``(OPT_LP, X*)``: T times the LP value with the true means (book eq. 141)."""
    lp = BwKLP(problem.n_arms, problem.n_resources)
    value, x = lp.solve(problem.reward_means, problem.consumption_means, problem.budgets / problem.horizon)
    return problem.horizon * value, x


@register(BanditsWithKnapsacks, "opt_lp", backend="highs", priority=70, honours=("time_limit", "seed"))
def solve_opt_lp(problem: BanditsWithKnapsacks, opts: SolveOptions) -> Result:
    """The LP benchmark OPT_LP (best fixed distribution over arms, known means): ``x`` = that distribution."""
    value, x = opt_lp_value(problem)
    fixed = problem.opt_fixed_arm()
    return Result(
        status=Status.OPTIMAL,
        x=x,
        objective=value,
        bound=value,
        stats={"opt_lp": value, "opt_fixed_arm": fixed, "null_arm": max(0.0, 1 - float(x.sum()))},
        message="LP over fixed distributions of arms (HiGHS)",
    )


def _options(method):
    from ..numba.bwk import METHOD_OPTIONS

    return (*METHOD_OPTIONS[method], "benchmark")


@register(
    BanditsWithKnapsacks,
    "ucb_bwk",
    backend="highs",
    priority=20,
    options=_options("ucb_bwk"),
    honours=("time_limit", "seed", "callback", "progress"),
    long=True,
)
def solve_ucb_bwk(problem: BanditsWithKnapsacks, opts: SolveOptions) -> Result:
    """UcbBwK (Agrawal, Devanur): sample from the optimistic LP, re-solved every ``resolve_every`` rounds."""
    from ..numba.bwk import solve_policy

    return solve_policy(problem, opts, "ucb_bwk")


@register(
    BanditsWithKnapsacks,
    "explore_first",
    backend="highs",
    priority=50,
    options=_options("explore_first"),
    honours=("time_limit", "seed", "callback", "progress"),
)
def solve_explore_first(problem: BanditsWithKnapsacks, opts: SolveOptions) -> Result:
    """Explore-first: round-robin for N rounds, then the optimistic LP's distribution with shrunk budgets."""
    from ..numba.bwk import solve_policy

    return solve_policy(problem, opts, "explore_first")
