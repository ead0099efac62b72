"""Worked solutions to the bandits-with-knapsacks, Hedge and games exercises (``orbudget.exercises``): one function
per exercise, each passing its grader, with the argument in its docstring. Not shipped with the package."""

from __future__ import annotations

import math

import numpy as np

import orbudget as ob


def decoy_instance(T, B, N):
    """Exercise 10.1(a). Take three arms: bad (reward 0, consumption 1), good (reward 1, consumption B/T) and decoy
    (reward 1, consumption B/T + 1/√N). OPT_LP = T: play the good arm every round. The exploration phase pulls the
    bad arm N/3 > B times, so the budget is gone before exploitation starts. Even without the bad arm, N tosses
    cannot separate B/T from B/T + 1/√N, and picking the decoy exhausts the budget after about B/(B/T + 1/√N) << T
    rounds."""
    rate = B / T
    return ob.BanditsWithKnapsacks(
        reward_means=[0.0, 1.0, 1.0],
        consumption_means=[[1.0], [rate], [min(1.0, rate + 1 / math.sqrt(N))]],
        budgets=[B],
        horizon=T,
    )


def explore_rounds(T, K):
    """Exercise 10.1(b). Exploring costs at most N in regret. After N/K pulls per arm, the estimates are off by about
    √(K/N), which costs about T·√(K/N) over the rest of the run. Balancing the two gives N = K^{1/3} T^{2/3}
    (log T)^{1/3}, so the regret is Õ(K^{1/3} T^{2/3}); the fitted slope is about 0.66."""
    return math.ceil(K ** (1 / 3) * T ** (2 / 3) * math.log(T) ** (1 / 3))


def instance(d, budget):
    """Exercise 10.2. Use d arms and d resources with budget B each, and T = dB. Arm a pays 1 and uses one unit of
    resource a. A fixed arm runs out of its resource after B rounds, so OPT_FA = B. The uniform distribution uses B
    of each resource over T = dB rounds and earns dB. Hence OPT_FD = dB = d·OPT_FA."""
    return ob.BanditsWithKnapsacks(
        reward_means=np.ones(d), consumption_means=np.eye(d), budgets=np.full(d, budget), horizon=int(d * budget)
    )


def best_price(T, B):
    """Exercise 10.3(a). On p ≥ 1 − B/T, supply never binds and V(p) = T·p(1 − p), which peaks at p = 1/2. On
    p ≤ 1 − B/T, V(p) = p·B grows with p. So p* = max(1/2, 1 − B/T). The function V has a kink at p* with slopes of
    size at most max(B, T), and this is where the discretisation error of P_ε comes from."""
    return max(0.5, 1 - B / T)


def loss_bound(eps, T, B):
    """Exercise 10.3(b). For p ≤ p* = 1 − B/T the supply binds and V(p) = p·B. The largest grid point below p* lies
    within ε of it, so it earns at least V(p*) − ε·B. If B >= T/2, then p* = 1/2 and V is smooth there, and the loss
    is even smaller: T·ε²/4 <= ε·B. So the loss is at most ε·B. With the BwK regret on K = 1/ε arms,
    √(K·OPT) + OPT·√(K/B), balancing the two terms picks ε."""
    return eps * B


def hedge(costs, eps):
    """Hedge (Slivkins ch. 5). Keep the cumulative cost vector. Before round t, play softmax(−ε·cumulative);
    subtract the maximum logit to avoid overflow. The potential argument, with Φ = Σ exp(−ε·cumulative), gives
    regret ≤ ln K/ε + εT. With ε = √(ln K/T), this is 2√(T ln K)."""
    costs = np.asarray(costs, float)
    cum = np.vstack([np.zeros(costs.shape[1]), np.cumsum(costs, axis=0)[:-1]])
    w = np.exp(-eps * (cum - cum.min(axis=1, keepdims=True)))
    return w / w.sum(axis=1, keepdims=True)


def equilibrium(a, horizon):
    """Exercise 9.3. Let R1 and R2 be the regrets of the two players. Then max_j (p̄ᵀA)_j − min_i (Aq̄)_i ≤
    (R1 + R2)/T, because each player's average cost is within R/T of its best response against the other's average.
    With Hedge, R ≤ O(√(T ln K)), so δ_T = O(√(ln K/T)), plus the √(ln T/T) of the high-probability version. Here
    both players run Hedge with full feedback and ε = √(ln K/(2T)); the averages are returned."""
    a = np.asarray(a, float)
    rows, cols = a.shape
    er, ec = math.sqrt(math.log(rows) / (2 * horizon)), math.sqrt(math.log(cols) / (2 * horizon))
    lr, lc, pbar, qbar = np.zeros(rows), np.zeros(cols), np.zeros(rows), np.zeros(cols)
    for _ in range(horizon):
        p = np.exp(-er * (lr - lr.min()))
        q = np.exp(ec * (lc - lc.max()))
        p, q = p / p.sum(), q / q.sum()
        pbar, qbar = pbar + p, qbar + q
        lr, lc = lr + a @ q, lc + p @ a
    return pbar / horizon, qbar / horizon


SOLUTIONS = {
    "bwk-10.1a": decoy_instance,
    "bwk-10.1b": explore_rounds,
    "bwk-10.2": instance,
    "bwk-10.3a": best_price,
    "bwk-10.3b": loss_bound,
    "hedge": hedge,
    "games-9.3": equilibrium,
}
