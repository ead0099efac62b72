"""Worked compression applications of `BudgetedAssignment` (reference §3's
small CPU setting): mixed-precision quantisation of a small MLP trained from scratch, and expert pruning of a toy
mixture-of-experts layer. torch is imported when an application is built (the losses are torch functions).
"""

from __future__ import annotations

import numpy as np

from ..core.validation import as_scalar
from ..problems.assignment import BudgetedAssignment, assignment_matrix


def _mixture(n, dim, classes, gen, centers):
    import torch

    labels = torch.randint(0, classes, (n,), generator=gen)
    return centers[labels] + torch.randn(n, dim, generator=gen, dtype=torch.float64), labels


def _quantize_rows(w, bits):
    """Per-output-channel symmetric round-to-nearest at ``bits`` bits."""
    import torch

    levels = 2 ** (bits - 1) - 1
    scale = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / levels
    return torch.round(w / scale).clamp(-levels, levels) * scale


class _QuantKL:
    """KL(teacher ‖ quantised) on fixed inputs; W_layer(P) = Σ_k P_gk·W^(k) over each group's rows."""

    def __init__(self, layers, quantized, groups, inputs, teacher_logp):
        self.layers, self.quantized, self.groups = layers, quantized, groups
        self.inputs, self.teacher_logp = inputs, teacher_logp

    def __call__(self, p):
        import torch

        h = self.inputs
        g = 0
        for li, (_w, b) in enumerate(self.layers):
            rows = []
            for start, stop in self.groups[li]:
                mix = sum(p[g, k] * self.quantized[li][k][start:stop] for k in range(p.shape[1]))
                rows.append(mix)
                g += 1
            h = h @ torch.cat(rows).T + b
            if li < len(self.layers) - 1:
                h = torch.relu(h)
        logp = torch.log_softmax(h, dim=-1)
        return (self.teacher_logp.exp() * (self.teacher_logp - logp)).sum(dim=-1).mean()


def mlp_quantization(
    *,
    hidden: int = 64,
    depth: int = 3,
    group_channels: int = 16,
    bits=(2, 3, 4, 8),
    average_bits: float = 3.0,
    n_calibration: int = 1000,
    n_holdout: int = 2000,
    seed: int = 0,
):
    """A teacher MLP (32 → hidden ×depth → 10) trained from scratch on a Gaussian-mixture task; groups are blocks of
    ``group_channels`` output channels of each layer; options are per-channel round-to-nearest at ``bits``; cost =
    parameters × bits (whole numbers); budget = ``average_bits`` × parameters; loss = mean KL(teacher ‖ quantised) on
    calibration inputs. Returns ``(problem, holdout_kl)``: the second scores an assignment on fresh inputs."""
    import torch

    seed = as_scalar("seed", seed, integer=True, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    dim, classes = 32, 10
    centers = 2.0 * torch.randn(classes, dim, generator=gen, dtype=torch.float64)
    sizes = [dim] + [hidden] * depth + [classes]
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        *[
            m
            for i in range(len(sizes) - 1)
            for m in ([torch.nn.Linear(sizes[i], sizes[i + 1])] + ([torch.nn.ReLU()] if i < len(sizes) - 2 else []))
        ]
    ).double()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(300):
        x, y = _mixture(256, dim, classes, gen, centers)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    layers = [(m.weight.detach().clone(), m.bias.detach().clone()) for m in linears]
    groups, costs = [], []
    quantized = [[_quantize_rows(w, b) for b in bits] for w, _ in layers]
    for w, _ in layers:
        spans = [(s, min(s + group_channels, w.shape[0])) for s in range(0, w.shape[0], group_channels)]
        groups.append(spans)
        costs += [[(stop - start) * w.shape[1] * b for b in bits] for start, stop in spans]
    costs = np.array(costs, dtype=np.int64)
    params = sum(w.numel() for w, _ in layers)
    budget = int(average_bits * params)

    def loss_on(inputs):
        with torch.no_grad():
            teacher = torch.log_softmax(net(inputs), dim=-1)
        return _QuantKL(layers, quantized, groups, inputs, teacher)

    calib, _ = _mixture(n_calibration, dim, classes, gen, centers)
    holdout, _ = _mixture(n_holdout, dim, classes, gen, centers)
    problem = BudgetedAssignment(
        costs=costs,
        budget=budget,
        loss=loss_on(calib),
        exact=False,
        name=f"MLP quantisation {len(costs)} groups, bits {tuple(bits)}, {average_bits} avg",
    )
    held = loss_on(holdout)

    def holdout_kl(x) -> float:
        with torch.no_grad():
            return float(held(assignment_matrix(x, costs.shape[1])))

    return problem, holdout_kl


class _MoELoss:
    """Mean squared error between the full and the pruned MoE layer; experts scaled by their survival P[e, 0]."""

    def __init__(self, gates, expert_out, full):
        self.gates, self.expert_out, self.full = gates, expert_out, full

    def __call__(self, p):
        out = (self.gates * p[:, 0][None, :]).unsqueeze(-1).mul(self.expert_out).sum(dim=1)
        return ((out - self.full) ** 2).mean() / (self.full**2).mean()


def moe_pruning(
    *, n_experts: int = 64, prune: int = 16, top_k: int = 8, dim: int = 32, hidden: int = 64, n_tokens: int = 1024, seed: int = 0
) -> BudgetedAssignment:
    """Expert pruning of one mixture-of-experts layer: options (keep, prune) per expert with costs (1, 0) and budget
    E − ``prune`` (so exactly that many are pruned); loss = relative MSE of the layer output against the unpruned
    layer, with top-k routing weights not renormalised (as in the official code)."""
    import torch

    gen = torch.Generator().manual_seed(int(seed))
    skew = torch.linspace(0.0, 2.0, n_experts, dtype=torch.float64)  # some experts are routed more than others
    router = torch.randn(dim, n_experts, generator=gen, dtype=torch.float64) / dim**0.5 + skew[None] / dim
    w1 = torch.randn(n_experts, dim, hidden, generator=gen, dtype=torch.float64) / dim**0.5
    w2 = torch.randn(n_experts, hidden, dim, generator=gen, dtype=torch.float64) / hidden**0.5
    x = torch.randn(n_tokens, dim, generator=gen, dtype=torch.float64)
    logits = x @ router
    top = torch.topk(logits, top_k, dim=-1)
    gates = torch.zeros_like(logits).scatter(1, top.indices, torch.softmax(top.values, dim=-1))
    expert_out = torch.einsum("td,edh->teh", x, w1).relu()
    expert_out = torch.einsum("teh,ehd->ted", expert_out, w2)
    full = (gates.unsqueeze(-1) * expert_out).sum(dim=1)
    costs = np.tile(np.array([[1, 0]], dtype=np.int64), (n_experts, 1))
    return BudgetedAssignment(
        costs=costs,
        budget=n_experts - int(prune),
        loss=_MoELoss(gates, expert_out, full),
        exact=True,
        name=f"MoE pruning {prune} of {n_experts} experts, top-{top_k}",
    )
