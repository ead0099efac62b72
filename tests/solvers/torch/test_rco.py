"""The RCO optimizer's geometry: normal vector, tangent projection, retraction precision on every iterate,
checkpointing, bad hyper-parameters."""

import numpy as np
import pytest

import orbudget as ob

torch = pytest.importorskip("torch", reason="torch is not installed (extra 'torch')")

from orbudget.solvers.torch.rco import RCO, expected_cost, normal, project, retract  # noqa: E402


def _instance(n=12, k=4, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    costs = torch.rand(n, k, generator=gen, dtype=torch.float64) * torch.rand(n, 1, generator=gen, dtype=torch.float64)
    lo, hi = costs.min(-1).values.sum().item(), costs.max(-1).values.sum().item()
    alpha = torch.randn(n, k, generator=gen, dtype=torch.float64).to(dtype).requires_grad_(True)
    return alpha, costs, lo + 0.37 * (hi - lo)


def test_normal_matches_finite_differences():
    alpha, costs, _ = _instance(6, 3)
    a = alpha.detach()
    n = normal(a, costs)
    h = 1e-6
    fd = torch.zeros_like(a)
    for i in range(a.shape[0]):
        for k in range(a.shape[1]):
            e = torch.zeros_like(a)
            e[i, k] = h
            fd[i, k] = (expected_cost(a + e, costs) - expected_cost(a - e, costs)) / (2 * h)
    np.testing.assert_allclose(n.numpy(), fd.numpy(), atol=1e-9)
    np.testing.assert_allclose(n.sum(-1).numpy(), 0.0, atol=1e-12)  # orthogonal to per-group shifts


def test_projection_is_idempotent_and_orthogonal():
    alpha, costs, _ = _instance()
    n = normal(alpha.detach(), costs)
    g = torch.randn_like(n)
    pg = project(g, n)
    assert abs(float((pg * n).sum())) <= 1e-12 * float(g.norm() * n.norm())
    np.testing.assert_allclose(project(pg, n).numpy(), pg.numpy(), atol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_every_iterate_is_on_the_budget(dtype):
    alpha, costs, budget = _instance(40, 5, seed=3, dtype=dtype)
    target = torch.randn(40, 5, dtype=torch.float64)
    opt = RCO([alpha], costs=costs, budget=budget, lr=0.3)
    assert abs(opt.cost() - budget) <= 1e-9 * max(1, budget)
    for _ in range(60):
        opt.zero_grad()
        loss = ((torch.softmax(alpha.double(), -1) - torch.softmax(target, -1)) ** 2).sum() + (alpha.double() ** 3).mean()
        loss.backward()
        opt.step()
        assert abs(opt.cost() - budget) <= 1e-9 * max(1, budget)
    assert torch.isfinite(alpha).all()


def test_retraction_handles_large_shifts():
    costs = torch.tensor([[0.0, 1.0, 2.0]] * 5, dtype=torch.float64)
    alpha = torch.tensor([[50.0, 0.0, -50.0]] * 5, dtype=torch.float64)  # far from a budget near the top
    moved, t = retract(alpha, costs, 9.9)
    assert abs(float(expected_cost(moved, costs)) - 9.9) <= 1e-11 and t > 0


def _bisection_retract(alpha, costs, budget, tol=1e-12):
    """The retraction as it was before the Newton search: bracket t by doubling, then bisect (the reference)."""
    scale = tol * max(1.0, abs(budget))

    def gap(t):
        return float(expected_cost(alpha + t * costs, costs)) - budget

    lo, hi = -1.0, 1.0
    while gap(lo) > 0.0:
        lo *= 2.0
    while gap(hi) < 0.0:
        hi *= 2.0
    while True:
        t = 0.5 * (lo + hi)
        g = gap(t)
        if abs(g) <= scale or t in (lo, hi):
            return t
        lo, hi = (t, hi) if g < 0.0 else (lo, t)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("where", [0.001, 0.37, 0.999])
def test_the_newton_retraction_lands_on_the_budget_where_bisection_did_with_few_softmaxes(seed, where, monkeypatch):
    """Same multiplier as the bisection it replaced (to the tolerance over the slope), on budget to 1e-12 relative,
    in at most 16 softmax evaluations (bisection took about 40) from random logits far from the manifold, budgets near
    either end included."""
    alpha, costs, _ = _instance(n=40, k=6, seed=seed)
    alpha = alpha.detach() * (1 + 10 * (seed % 3))  # peaked logits: flat slopes far from the root
    lo, hi = costs.min(-1).values.sum().item(), costs.max(-1).values.sum().item()
    budget = lo + where * (hi - lo)
    calls = []
    softmax = torch.softmax
    monkeypatch.setattr(torch, "softmax", lambda *a, **k: calls.append(1) or softmax(*a, **k))
    moved, t = retract(alpha, costs, budget)
    monkeypatch.undo()
    assert abs(float(expected_cost(moved, costs)) - budget) <= 1e-12 * max(1.0, budget)
    assert len(calls) <= 16
    reference = _bisection_retract(alpha, costs, budget)
    slope = float(normal(moved, costs).mul(costs).sum())  # φ'(t) = Σ_ik n_ik c_ik
    assert abs(t - reference) <= 2e-12 * max(1.0, budget) / slope + 1e-15 * max(1.0, abs(t))
    assert torch.allclose(moved, alpha + t * costs, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("where", [0.01, 0.5, 0.99])
def test_after_an_optimizer_sized_step_the_retraction_takes_a_few_softmaxes(where, monkeypatch):
    alpha, costs, _ = _instance(n=256, k=8, seed=3)
    lo, hi = costs.min(-1).values.sum().item(), costs.max(-1).values.sum().item()
    budget = lo + where * (hi - lo)
    on, _ = retract(alpha.detach(), costs, budget)
    moved = on + 1e-2 * torch.randn(on.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    calls = []
    softmax = torch.softmax
    monkeypatch.setattr(torch, "softmax", lambda *a, **k: calls.append(1) or softmax(*a, **k))
    back, _ = retract(moved, costs, budget)
    monkeypatch.undo()
    assert abs(float(expected_cost(back, costs)) - budget) <= 1e-12 * max(1.0, budget) and len(calls) <= 4


def test_a_retraction_already_on_budget_returns_the_same_logits():
    alpha, costs, _ = _instance(n=5, k=3, seed=1)
    budget = float(expected_cost(alpha.detach(), costs))
    moved, t = retract(alpha.detach(), costs, budget)
    assert t == 0.0 and moved is not None and torch.equal(moved, alpha.detach())


def test_an_unreachable_budget_is_refused_by_name():
    costs = torch.tensor([[0.0, 1.0]] * 3, dtype=torch.float64)
    with pytest.raises(ob.InvalidProblemError, match="`budget` 3.5 could not be bracketed"):
        retract(torch.zeros(3, 2, dtype=torch.float64), costs, 3.5)


def test_state_dict_resumes_exactly():
    def run(steps, opt, alpha, target):
        for _ in range(steps):
            opt.zero_grad()
            ((torch.softmax(alpha, -1) - target) ** 2).sum().backward()
            opt.step()

    alpha, costs, budget = _instance(10, 3, seed=5)
    target = torch.softmax(torch.randn(10, 3, dtype=torch.float64), -1)
    a = alpha.detach().clone().requires_grad_(True)
    opt_a = RCO([a], costs=costs, budget=budget)
    run(20, opt_a, a, target)
    b = alpha.detach().clone().requires_grad_(True)
    opt_b = RCO([b], costs=costs, budget=budget)
    run(8, opt_b, b, target)
    c = b.detach().clone().requires_grad_(True)
    opt_c = RCO([c], costs=costs, budget=budget)
    opt_c.load_state_dict(opt_b.state_dict())
    run(12, opt_c, c, target)
    np.testing.assert_allclose(c.detach().numpy(), a.detach().numpy(), atol=1e-12)


BAD = [
    (dict(lr=-1.0), "`lr` must be a non-negative number"),
    (dict(betas=(0.9, 1.0)), "`betas` must be two numbers in [0, 1)"),
    (dict(eps=-1e-8), "`eps` must be non-negative"),
    (dict(budget=0.0), "`budget` must lie strictly between"),
    (dict(budget=1e9), "`budget` must lie strictly between"),
    (dict(costs=torch.zeros(2, 2)), "`costs` must have the logits' shape"),
]


@pytest.mark.parametrize("override, fragment", BAD)
def test_bad_hyper_parameters(override, fragment):
    alpha, costs, budget = _instance(6, 3)
    kw = {"costs": costs, "budget": budget, **override}
    with pytest.raises(ob.InvalidProblemError) as info:
        RCO([alpha], **kw)
    assert fragment in str(info.value)


def test_state_dict_of_another_manifold_or_kind_is_refused():
    alpha, costs, budget = _instance(6, 3, seed=1)
    opt = RCO([alpha], costs=costs, budget=budget)
    state = opt.state_dict()
    assert state["kind"] == "RCO" and len(state["fingerprint"]) == 16
    other = RCO([alpha.detach().clone().requires_grad_(True)], costs=costs, budget=budget * 1.01)
    with pytest.raises(ob.InvalidProblemError, match="`state` belongs to another problem"):
        other.load_state_dict(state)
    adam = torch.optim.Adam([alpha.detach().clone().requires_grad_(True)]).state_dict()
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        opt.load_state_dict(adam)
    with pytest.raises(ob.InvalidProblemError, match="`state` must be a state of a RCO"):
        opt.load_state_dict({**state, "kind": "SequoiaPolicy"})
    with pytest.raises(ob.InvalidProblemError, match="`state` entry 'master'"):
        opt.load_state_dict({**state, "state": {0: {**state["state"][0], "master": torch.zeros(2, 2)}}})
    with pytest.raises(ob.InvalidProblemError, match="`state`"):
        opt.load_state_dict("checkpoint.pt")


def test_state_dict_keeps_the_float64_iterate_of_a_float32_parameter():
    _, costs, budget = _instance(6, 3, seed=2)
    a = torch.zeros(6, 3, dtype=torch.float32, requires_grad=True)
    opt = RCO([a], costs=costs, budget=budget)
    for _ in range(3):
        opt.zero_grad()
        torch.softmax(a, -1)[:, 0].sum().backward()
        opt.step()
    b = torch.zeros(6, 3, dtype=torch.float32, requires_grad=True)
    again = RCO([b], costs=costs, budget=budget)
    again.load_state_dict(opt.state_dict())
    assert again.master().dtype == torch.float64 and torch.equal(again.master(), opt.master())


def test_state_with_the_master_iterate_off_the_manifold_is_refused():
    costs = torch.tensor([[0.0, 1.0, 2.0]] * 3, dtype=torch.float64)
    a = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    opt = RCO([a], costs=costs, budget=2.5)
    import copy

    state = copy.deepcopy(opt.state_dict())  # torch's state dict shares the optimizer's own entries
    state["state"][0]["master"] = torch.zeros(3, 3, dtype=torch.float64)  # expected cost 3, not 2.5
    with pytest.raises(ob.InvalidProblemError, match="`master` is off the budget manifold"):
        opt.load_state_dict(state)
    opt.load_state_dict(opt.state_dict())
