"""Chapter 10 (bandits with knapsacks) exercises: explore-first lower and upper bounds (10.1), fixed distribution vs
fixed arm (10.2), dynamic pricing with limited supply (10.3)."""

from __future__ import annotations

import math

import numpy as np

from ._base import Exercise, Feedback

HORIZONS = (1_000, 10_000, 100_000)


def _solve(problem, method, seed, **options):
    from ..core.solve import solve

    return solve(problem, method=method, seed=seed, options=options)


# -- 10.1(a): explore-first can lose a constant fraction when B < √T ------------------------------------------------
def _grade_lower(answer) -> Feedback:
    from ..problems.bwk import BanditsWithKnapsacks

    ratios = []
    for horizon in HORIZONS:
        budget = math.sqrt(horizon) / 2
        n = math.ceil((3 * horizon**2) ** (1 / 3))
        out = answer(horizon, budget, n)
        p = (
            out
            if isinstance(out, BanditsWithKnapsacks)
            else BanditsWithKnapsacks(reward_means=out[0], consumption_means=out[1], budgets=[budget], horizon=horizon)
        )
        if p.n_resources != 1 or p.horizon != horizon or not np.isclose(p.budgets[0], budget):
            return Feedback(
                False,
                f"for T={horizon} the instance must have one resource with budget B={budget:.4g} "
                f"and horizon T (got d={p.n_resources}, B={p.budgets}, T={p.horizon})",
            )
        r = _solve(p, "explore_first", 0, explore_rounds=n)
        ratios.append(r.objective / r.stats["opt_lp"])
    shown = ", ".join(f"T={t}: {x:.3f}" for t, x in zip(HORIZONS, ratios))
    if max(ratios) <= 0.75:
        return Feedback(True, f"explore-first keeps losing a constant fraction of OPT_LP ({shown})")
    return Feedback(
        False,
        f"explore-first earned {shown} of OPT_LP: on your instance it does fine. Hint: with B < √T, "
        "an arm that burns budget without reward makes any fixed-length exploration costly, and two "
        "coins with means B/T and B/T + 1/√N cannot be told apart in N tosses.",
    )


# -- 10.1(b): with B = Ω(T), N ≈ T^{2/3} gives regret Õ(T^{2/3}) ------------------------------------------------------
def _upper_instance(horizon):
    from ..problems.bwk import BanditsWithKnapsacks

    return BanditsWithKnapsacks(
        reward_means=[0.9, 0.6, 0.3], consumption_means=[[0.9], [0.4], [0.1]], budgets=[horizon / 4], horizon=horizon
    )


def _grade_upper(answer) -> Feedback:
    regrets, ratios, rounds = [], [], []
    for horizon in HORIZONS:
        n = int(answer(horizon, 3))
        if not 0 <= n <= horizon:
            return Feedback(False, f"N must be between 0 and T; got {n} for T={horizon}")
        rounds.append(n)
        runs = [_solve(_upper_instance(horizon), "explore_first", s, explore_rounds=n) for s in range(4)]
        regrets.append(max(1.0, float(np.median([r.stats["regret"] for r in runs]))))
        ratios.append(float(np.median([r.objective / r.stats["opt_lp"] for r in runs])))
    slope = float(np.polyfit(np.log(HORIZONS), np.log(regrets), 1)[0])
    facts = f"N = {rounds}, regret slope {slope:.2f} (log-log over T = 1e3..1e5), REW/OPT_LP at 1e5 = {ratios[-1]:.3f}"
    if slope <= 0.8 and ratios[-1] >= 0.9:
        return Feedback(True, facts)
    hint = (
        "too much exploration: the explore phase alone costs a constant fraction of T"
        if rounds[-1] > 0.2 * HORIZONS[-1]
        else "too little exploration: the LP is solved from estimates that are too noisy"
    )
    return Feedback(False, f"{facts}; {hint}. Balance N·(cost of exploring) against T·√(K/N) (estimation error).")


# -- 10.2: OPT_FD can be d times OPT_FA ---------------------------------------------------------------------------
def _grade_tight(answer) -> Feedback:
    from ..solvers.highs.bwk import opt_lp_value

    for d, budget in ((2, 50), (3, 40), (5, 20)):
        p = answer(d, budget)
        if p.n_resources != d:
            return Feedback(False, f"for d={d} the instance must have d={d} resources; got {p.n_resources}")
        fd, fa = opt_lp_value(p)[0], p.opt_fixed_arm()
        if fa <= 0:
            return Feedback(False, f"for d={d} no fixed arm earns anything (OPT_FA = 0): the ratio is undefined")
        if not math.isclose(fd / fa, d, rel_tol=1e-6):
            return Feedback(
                False,
                f"for d={d}: OPT_FD = {fd:.6g}, OPT_FA = {fa:.6g}, ratio {fd / fa:.4f}, not {d}. Hint: "
                "let each arm use up a different resource, and give time for all of them.",
            )
    return Feedback(True, "OPT_FD / OPT_FA = d exactly for d = 2, 3, 5 (HiGHS LP against the best fixed arm)")


# -- 10.3: dynamic pricing with limited supply --------------------------------------------------------------------
def _price_value(price, horizon, supply):
    return price * np.minimum(supply, horizon * (1 - price))


def _best_value(horizon, supply):
    """max over p in [0, 1] of V(p), found numerically, by golden-section search: V is concave (the minimum of the
    concave p·B and T·p(1 − p)), so the search closes in on its maximum; 80 steps bring the bracket below 1e-16."""
    lo, hi, ratio = 0.0, 1.0, (math.sqrt(5) - 1) / 2
    for _ in range(80):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if _price_value(a, horizon, supply) < _price_value(b, horizon, supply):
            lo = a
        else:
            hi = b
    return float(max(_price_value(x, horizon, supply) for x in (lo, hi)))


def _grade_price(answer) -> Feedback:
    for horizon, supply in ((1000, 100), (1000, 600), (5000, 2500), (200, 1)):
        p = float(answer(horizon, supply))
        if not 0 <= p <= 1:
            return Feedback(False, f"T={horizon}, B={supply}: a price must lie in [0, 1]; got {p}")
        best = _best_value(horizon, supply)
        got = float(_price_value(p, horizon, supply))
        if got < best * (1 - 1e-6):
            return Feedback(
                False,
                f"T={horizon}, B={supply}: price {p:.4f} earns {got:.4f}, the best fixed price earns "
                f"{best:.4f}. Hint: V(p) = p·min(B, T(1 − p)) has two regimes; where do they meet?",
            )
    return Feedback(True, "your price matches the best fixed price on every (T, B) tried")


def _mesh_loss(eps, horizon, supply):
    """V(p*) − max over the mesh P_ε = {ε, 2ε, ...} ∩ [0, 1] of V(p), on the fluid value V."""
    mesh = np.arange(1, int(np.floor(1 / eps + 1e-9)) + 1) * eps
    return _best_value(horizon, supply) - float(_price_value(mesh, horizon, supply).max())


def _grade_mesh(answer) -> Feedback:
    cases = [
        (eps, horizon, supply)
        for eps in (0.3, 0.1, 0.037, 0.013)
        for horizon in (1000, 10_000)
        for supply in (horizon // 50, horizon // 7, horizon // 3, horizon // 2)
    ]
    worst = 0.0
    for eps, horizon, supply in cases:
        loss = _mesh_loss(eps, horizon, supply)
        bound = float(answer(eps, horizon, supply))
        if bound < loss - 1e-9 * max(1.0, loss):
            return Feedback(
                False,
                f"ε={eps}, T={horizon}, B={supply}: the mesh loses {loss:.4f} but your bound says "
                f"{bound:.4f}. Hint: left of p* = 1 − B/T the value is p·B, so a step of ε left "
                "costs at most ε·B.",
            )
        if bound > 4 * eps * supply + horizon * eps**2:
            return Feedback(
                False,
                f"ε={eps}, T={horizon}, B={supply}: {bound:.4g} is a valid bound but far from tight "
                f"(the loss is {loss:.4g}); aim for O(ε·B).",
            )
        worst = max(worst, loss / max(bound, 1e-300))
    return Feedback(True, f"your bound holds on all {len(cases)} (ε, T, B) cases; the tightest case uses {worst:.0%} of it")


EXERCISES = (
    Exercise(
        id="bwk-10.1a",
        title="Explore-first fails when the budget is small",
        source="Slivkins, Exercise 10.1(a)",
        statement=(
            "Explore-first plays every arm in turn for N rounds fixed in advance (N ≈ K^{1/3} T^{2/3}), then "
            "samples from one distribution D computed from the estimates. Let there be one resource besides "
            "time, with B < √T, and N = ⌈(3T²)^{1/3}⌉. Construct an instance on which explore-first loses a "
            "constant fraction of OPT_LP for every large T."
        ),
        answer_format="a function instance(T, B, N) returning a BanditsWithKnapsacks (one resource, budget B, horizon T) "
        "or a pair (reward_means (K,), consumption_means (K, 1)); checked at T = 1e3, 1e4, 1e5, B = √T/2",
        grader=_grade_lower,
    ),
    Exercise(
        id="bwk-10.1b",
        title="Explore-first with a large budget",
        source="Slivkins, Exercise 10.1(b)",
        statement=(
            "Now B = Ω(T) (here B = T/4, K = 3 arms, one resource). Explore-first explores for N rounds, then "
            "samples from the optimistic LP's solution, with budgets shrunk by (1 − √(K/T)). Choose N as a "
            "function of T and K so that the regret is Õ(T^{2/3})."
        ),
        answer_format="a function explore_rounds(T, K) -> N; graded by the log-log slope of the median regret over "
        "T = 1e3..1e5 (at most 0.8) and REW/OPT_LP >= 0.9 at T = 1e5",
        grader=_grade_upper,
    ),
    Exercise(
        id="bwk-10.2",
        title="Fixed distribution vs fixed arm",
        source="Slivkins, Exercise 10.2 / Section 10.1",
        statement=(
            "OPT_FD (the best fixed distribution over arms) is at most d·OPT_FA (the best fixed arm). Show that "
            "the factor d is tight: for every d, give an instance with OPT_FD = d·OPT_FA."
        ),
        answer_format="a function instance(d, B) returning a BanditsWithKnapsacks with d resources",
        grader=_grade_tight,
    ),
    Exercise(
        id="bwk-10.3a",
        title="Dynamic pricing with limited supply: the best fixed price",
        source="Slivkins, Exercise 10.3",
        statement=(
            "A seller has B units and T customers. Each customer buys at posted price p with probability "
            "S(p) = 1 − p. A fixed price p earns about V(p) = p·min(B, T·S(p)). Find the best fixed price as a "
            "function of T and B. This is the benchmark that the discretised price grid P_ε is measured "
            "against."
        ),
        answer_format="a function best_price(T, B) -> p in [0, 1]",
        grader=_grade_price,
    ),
    Exercise(
        id="bwk-10.3b",
        title="Dynamic pricing: the cost of a price grid",
        source="Slivkins, Exercise 10.3",
        statement=(
            "Restrict prices to the mesh P_ε = {ε, 2ε, ...} ∩ [0, 1] (the arms of a BwK pricing instance). "
            "With S(p) = 1 − p and V(p) = p·min(B, T(1 − p)), bound the discretisation loss "
            "V(p*) − max_{p ∈ P_ε} V(p) as a function of ε, T and B (B <= T/2). Then the regret against the "
            "best price is the BwK regret on the mesh plus this term; choosing ε trades the two off."
        ),
        answer_format="a function loss_bound(eps, T, B) that is never below the true loss and is O(ε·B)",
        grader=_grade_mesh,
    ),
)
