"""RCO: Adam on the budget manifold (Helcig and Alistarh, "Model Compression with Exact Budget Constraints via
Riemannian Manifolds", arXiv 2605.00649; official code ``IST-DASLab/RCO``).

Logits α ∈ R^{N×K}, p_i = softmax(α_i), expected cost $C(\\alpha) = \\sum_{ik} p_{ik} c_{ik}$; the manifold is
$M = \\{\\alpha : C(\\alpha) = B\\}$, non-empty when $\\sum_i \\min_k c_{ik} < B < \\sum_i \\max_k c_{ik}$.

One step: project the loss gradient on the tangent space (normal $n_{ik} = p_{ik}(c_{ik} - \\mu_i)$,
$\\mu_i = E_{p_i}[c_i]$), take an Adam step, retract along the cost direction $\\alpha + t\\,c$ (C is
increasing in t, since $\\varphi'(t) = \\sum_i \\mathrm{Var}_{p_i(t)}(c_i) > 0$) by a safeguarded Newton search on t
with that analytic slope (bisection inside a bracket as the safeguard) to 1e-12 relative, then transport Adam's
first moment by projecting it on the new tangent space.

The iterate is kept as a float64 master copy (written back to the parameter in its own dtype), so it lies on the
manifold to 1e-12 even when the parameter is float32; every reduction uses log-sum-exp.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import torch
from numpy.typing import ArrayLike

from ...core.budget import FLOAT_BUDGET_TOL as SPEND_TOL
from ...core.errors import InvalidProblemError
from ...core.validation import canonical_digest, check_state

RETRACTION_TOL = 1e-12


def _small_work_on_one_thread(step):
    """``step`` (after the closure, which runs with the caller's threads) on one torch thread when the logits are
    small and on the CPU: the retraction is a few hundred tiny operations, and on a busy 2-core machine torch's
    default threads made one step on a 5×4 problem take 560-930 ms instead of about 1 ms."""

    @functools.wraps(step)
    def wrapped(self, closure=None):
        from ._common import SMALL_TENSOR, cpu_threads

        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.costs.device.type == "cpu" and self.costs.numel() < SMALL_TENSOR:
            with cpu_threads(None, 1):
                step(self)
        else:
            step(self)
        return loss

    return wrapped


def expected_cost(alpha: torch.Tensor, costs: torch.Tensor) -> torch.Tensor:
    """C(α) = Σ_i Σ_k softmax(α_i)_k c_ik (a 0-d tensor)."""
    return (torch.softmax(alpha, dim=-1) * costs).sum()


def normal(alpha: torch.Tensor, costs: torch.Tensor) -> torch.Tensor:
    """∂C/∂α: n_ik = p_ik (c_ik − μ_i)."""
    p = torch.softmax(alpha, dim=-1)
    mu = (p * costs).sum(dim=-1, keepdim=True)
    return p * (costs - mu)


def project(g: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """The component of g orthogonal to n (the tangent space of the budget manifold)."""
    return g - (g * n).sum() / ((n * n).sum() + 1e-300) * n


def _cost_and_slope(alpha: torch.Tensor, costs: torch.Tensor, t: float) -> tuple[float, float]:
    """φ(t) = C(α + t·c) and φ'(t) = Σ_i Var_{p_i(t)}(c_i), from one softmax (few operations: at N = 256 each
    tensor operation's overhead outweighs its arithmetic)."""
    p = torch.softmax(alpha if t == 0.0 else torch.add(alpha, costs, alpha=t), dim=-1)
    mu = torch.linalg.vecdot(p, costs)
    centred = costs - mu.unsqueeze(-1)
    return mu.sum().item(), (p * centred * centred).sum().item()


def retract(
    alpha: torch.Tensor,
    costs: torch.Tensor,
    budget: float,
    tol: float = RETRACTION_TOL,
    max_doublings: int = 60,
    max_bisections: int = 200,
) -> tuple[torch.Tensor, float]:
    """α + t·c with C(α + t·c) = B, to |C − B| <= tol·max(1, |B|): a safeguarded Newton search on t. φ(t) = C(α + t·c)
    is increasing with the analytic slope φ'(t) = Σ_i Var_{p_i(t)}(c_i), and one softmax gives both; every point
    evaluated narrows a bracket [lo, hi] around the root (φ(lo) < B < φ(hi)), and a Newton step that leaves the
    bracket (or a flat slope) is replaced by a bisection, or by a doubling of the step while one side is still open.
    The Newton step is taken on log|φ − end|, the end of the budget interval nearer B, which φ approaches
    exponentially: about 3 to 10 softmax evaluations where bisection took 45 to 100.
    ``max_doublings`` and ``max_bisections`` bound the safeguard steps. Returns ``(α', t)``."""
    scale = tol * max(1.0, abs(budget))
    floor, ceiling = budget_interval(costs)
    lower = budget - floor <= ceiling - budget  # Newton on the log of the distance to the nearer end (see below)
    lo, hi = -math.inf, math.inf
    t, step = 0.0, 1.0
    safeguards = doublings = 0
    for _ in range(2 * (max_doublings + max_bisections)):  # Newton steps included: far more than ever needed
        cost, slope = _cost_and_slope(alpha, costs, t)
        gap = cost - budget
        if abs(gap) <= scale:
            return (alpha, 0.0) if t == 0.0 else (torch.add(alpha, costs, alpha=t), t)
        if gap < 0.0:
            lo = t
        else:
            hi = t
        # Near an end of the interval, φ approaches it like a sum of exponentials in t, where plain Newton crawls:
        # the step solves log|φ − end| = log|B − end| instead (the same root; linear steps become exact ones)
        end = floor if lower else ceiling
        ratio = (budget - end) / (cost - end) if cost != end else math.nan
        newton = t + math.log(ratio) * (cost - end) / slope if slope > 0.0 and ratio > 0.0 else math.nan
        if lo < newton < hi:
            t_next = newton
        elif math.isfinite(lo) and math.isfinite(hi):
            t_next = 0.5 * (lo + hi)
            safeguards += 1
        else:  # the root lies on the open side: step out, doubling each time
            doublings += 1
            if doublings > max_doublings:
                break
            step = max(step, abs(t)) * 2.0 if doublings > 1 else max(step, abs(t), 1.0)
            t_next = t + step if gap < 0.0 else t - step
        if t_next == t or t_next in (lo, hi) or safeguards > max_bisections:  # the bracket stopped shrinking
            return torch.add(alpha, costs, alpha=t), t
        t = t_next
    else:
        return torch.add(alpha, costs, alpha=t), t
    raise InvalidProblemError(
        f"`budget` {budget} could not be bracketed: it must lie strictly between the cheapest and the dearest total cost"
    )


def budget_interval(costs: torch.Tensor) -> tuple[float, float]:
    """The open interval of budgets the manifold exists for: (Σ_i min_k c_ik, Σ_i max_k c_ik)."""
    return float(costs.min(dim=-1).values.sum()), float(costs.max(dim=-1).values.sum())


class RCO(torch.optim.Optimizer):
    """Riemannian Adam on the budget manifold {α : Σ_ik softmax(α_i)_k c_ik = B} for one (N, K) logit tensor.

    Args:
        params: an iterable holding exactly one tensor α of shape (N, K) (``requires_grad``).
        costs: (N, K) cost of option k in group i (for shared option costs c_k and group weights w_i: w_i·c_k).
        budget: B, strictly between the cheapest and the dearest total cost.
        lr: Adam's step size (default 0.1, as in the official code).
        betas: Adam's moment decays (default (0.9, 0.999)).
        eps: Adam's denominator floor (default 1e-8).
        tol: retraction tolerance, relative to max(1, |B|) (default 1e-12).

    ``step()`` uses α.grad, the plain loss gradient: project → Adam → retract → transport the first moment. α is
    retracted onto the manifold when the optimizer is created. ``state_dict()`` / ``load_state_dict()`` carry the
    float64 master iterate and the moments, so a run resumes exactly; a state carries ``kind='RCO'`` and the
    fingerprint of its costs and budget, and a state of another kind, another manifold or another shape is refused
    (InvalidProblemError naming `state`).

    Examples:
        >>> import torch
        >>> alpha = torch.zeros(3, 2, requires_grad=True)
        >>> costs = torch.tensor([[0.0, 1.0]] * 3)
        >>> opt = RCO([alpha], costs=costs, budget=1.0)
        >>> round(opt.cost(), 9)  # the float64 master iterate is on the manifold; alpha holds its float32 copy
        1.0
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        *,
        costs: ArrayLike,
        budget: float,
        lr: float = 0.1,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        tol: float = RETRACTION_TOL,
    ):
        if not (isinstance(lr, (int, float)) and lr >= 0 and math.isfinite(lr)):
            raise InvalidProblemError(f"`lr` must be a non-negative number; got {lr!r}")
        if not (len(betas) == 2 and all(0.0 <= b < 1.0 for b in betas)):
            raise InvalidProblemError(f"`betas` must be two numbers in [0, 1); got {betas!r}")
        if not (eps >= 0 and math.isfinite(eps)):
            raise InvalidProblemError(f"`eps` must be non-negative; got {eps!r}")
        if not (tol > 0):
            raise InvalidProblemError(f"`tol` must be positive; got {tol!r}")
        super().__init__(params, dict(lr=float(lr), betas=tuple(betas), eps=float(eps)))
        tensors = [p for group in self.param_groups for p in group["params"]]
        if len(tensors) != 1 or tensors[0].dim() != 2:
            raise InvalidProblemError("`params` must hold exactly one (N, K) logit tensor")
        alpha = tensors[0]
        costs = torch.as_tensor(costs, dtype=torch.float64, device=alpha.device)
        if costs.shape != alpha.shape:
            raise InvalidProblemError(f"`costs` must have the logits' shape {tuple(alpha.shape)}; got {tuple(costs.shape)}")
        if not torch.isfinite(costs).all():
            raise InvalidProblemError("`costs` must be finite")
        lo, hi = budget_interval(costs)
        if not (lo < float(budget) < hi):
            raise InvalidProblemError(
                f"`budget` must lie strictly between the cheapest total cost {lo:.6g} and the "
                f"dearest {hi:.6g} (softmax is never one-hot); got {budget}"
            )
        self.costs = costs
        self.budget = float(budget)
        self.tol = float(tol)
        state = self.state[alpha]
        master, _ = retract(alpha.detach().to(torch.float64), costs, self.budget, self.tol)
        state["master"] = master
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(master)
        state["exp_avg_sq"] = torch.zeros_like(master)
        with torch.no_grad():
            alpha.copy_(master.to(alpha.dtype))

    def fingerprint(self) -> str:
        """16 hex digits of the SHA-256 of the costs and the budget: the manifold a state belongs to."""
        return canonical_digest({"costs": self.costs.detach().cpu().numpy(), "budget": self.budget})[:16]

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["kind"] = "RCO"
        state["fingerprint"] = self.fingerprint()
        return state

    def load_state_dict(self, state_dict) -> None:
        """Load a `state_dict` of an RCO optimizer on the same manifold (costs and budget) and logit shape."""
        state = check_state(state_dict, kind="RCO", fingerprint=self.fingerprint(), keys=("state", "param_groups"), field="state")
        groups, per_param = state["param_groups"], state["state"]
        if not (isinstance(groups, list) and len(groups) == 1 and isinstance(groups[0], dict) and groups[0].get("params") == [0]):
            raise InvalidProblemError("`state` must hold one parameter group with one logit tensor")
        g = groups[0]
        try:
            lr, (b1, b2), eps = float(g["lr"]), (float(b) for b in g["betas"]), float(g["eps"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidProblemError(f"`state` has a parameter group without valid lr, betas, eps: {exc}") from exc
        if not (math.isfinite(lr) and lr >= 0 and 0 <= b1 < 1 and 0 <= b2 < 1 and math.isfinite(eps) and eps >= 0):
            raise InvalidProblemError(f"`state` has invalid hyper-parameters lr={lr}, betas=({b1}, {b2}), eps={eps}")
        entry = per_param.get(0) if isinstance(per_param, dict) else None
        shape = tuple(self.alpha.shape)
        if not isinstance(entry, dict) or not isinstance(entry.get("step"), int) or entry["step"] < 0:
            raise InvalidProblemError("`state` holds no RCO iterate (master, exp_avg, exp_avg_sq, step)")
        for key in ("master", "exp_avg", "exp_avg_sq"):
            t = entry.get(key)
            if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape or not bool(torch.isfinite(t).all()):
                raise InvalidProblemError(f"`state` entry {key!r} must be a finite tensor of shape {shape}")
        if bool((entry["exp_avg_sq"] < 0).any()):
            raise InvalidProblemError("`state` entry 'exp_avg_sq' must be non-negative")
        master = entry["master"].detach().to(dtype=torch.float64, device=self.costs.device)
        spend = float(expected_cost(master, self.costs))
        slack = max(SPEND_TOL * abs(self.budget), self.tol * max(1.0, abs(self.budget)))  # the retraction's own accuracy
        if abs(spend - self.budget) > slack:
            raise InvalidProblemError(
                f"`state` entry `master` is off the budget manifold: its expected cost is {spend:.12g}, not the budget "
                f"{self.budget:.12g} (an iterate RCO made is on it within {slack:.3g})"
            )
        super().load_state_dict({"state": state["state"], "param_groups": state["param_groups"]})
        # torch casts loaded state to the parameter's dtype: keep the master iterate and moments in float64
        mine = self.state[self.alpha]
        for key in ("master", "exp_avg", "exp_avg_sq"):
            mine[key] = entry[key].detach().to(dtype=torch.float64, device=self.costs.device).clone()
        with torch.no_grad():
            self.alpha.copy_(mine["master"].to(self.alpha.dtype))

    @property
    def alpha(self) -> torch.Tensor:
        return self.param_groups[0]["params"][0]

    def master(self) -> torch.Tensor:
        """The float64 iterate on the manifold."""
        return self.state[self.alpha]["master"]

    def cost(self) -> float:
        """C of the current iterate (equals the budget to the retraction tolerance)."""
        return float(expected_cost(self.master(), self.costs))

    @_small_work_on_one_thread
    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        group = self.param_groups[0]
        alpha = self.alpha
        if alpha.grad is None:
            return loss
        if not bool(torch.isfinite(alpha.grad).all()):  # refused before any state changes: the iterate stays on budget
            bad = int((~torch.isfinite(alpha.grad)).sum())
            raise InvalidProblemError(
                f"`alpha.grad` holds {bad} NaN or infinite entries: the loss or its gradient is not finite; "
                "the step was not taken (the iterate and the optimizer state are unchanged)"
            )
        state = self.state[alpha]
        master = state["master"]
        b1, b2 = group["betas"]
        g = project(alpha.grad.detach().to(torch.float64), normal(master, self.costs))
        state["step"] += 1
        k = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.mul_(b1).add_(g, alpha=1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        update = (m / (1 - b1**k)) / ((v / (1 - b2**k)).sqrt() + group["eps"])
        master, _ = retract(master - group["lr"] * update, self.costs, self.budget, self.tol)
        state["master"] = master
        state["exp_avg"] = project(m, normal(master, self.costs))  # vector transport of the first moment
        alpha.copy_(master.to(alpha.dtype))
        return loss
