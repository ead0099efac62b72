"""The pieces of SEQUOIA's DQN loop (`orbudget.solvers.torch.rmab.SequoiaPolicy.fit`) that are not the loop: the
Q-network (an MLP) and its layers as numpy, the replay buffer with n-step returns, the exploration and
learning-rate schedules, and the checkpoint writer.

The checkpoint format is unchanged by this split: the buffer's arrays under ``"buffer"`` and its fill level and
write position as ``state["size"]`` and ``state["pos"]``, so runs checkpointed before resume after."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from ...core.errors import InvalidProblemError
from ...core.validation import as_scalar
from ._common import read_checkpoint


class ReplayBuffer:
    """Uniform replay of transitions ``(s, x, r, s2, g)``: ``r`` the n-step return scaled by ``1 − γ`` and ``g``
    the discount of the bootstrap from ``s2``. A ring of ``capacity`` rows; ``arrays`` is what a checkpoint holds."""

    def __init__(
        self, capacity: int, n_arms: int, n_decisions: int, state_dtype, arrays: dict | None = None, size: int = 0, pos: int = 0
    ):
        self.capacity = capacity
        self.arrays = (
            arrays
            if arrays is not None
            else {
                "s": np.zeros((capacity, n_arms), state_dtype),
                "x": np.zeros((capacity, n_decisions), np.int8),
                "r": np.zeros(capacity),
                "s2": np.zeros((capacity, n_arms), state_dtype),
                "g": np.zeros(capacity),
            }
        )
        self.size, self.pos = size, pos

    def push(self, pending: list, s_end, gamma: float, powers: np.ndarray) -> None:
        """Store the oldest of the ``pending`` steps ``(s, x, r)`` with the n-step return of all of them, ending at
        ``s_end`` (``powers`` = ``γ^0..γ^n``)."""
        rewards = np.array([r for _, _, r in pending])
        i, a = self.pos, self.arrays
        a["s"][i], a["x"][i] = pending[0][0], pending[0][1]
        a["r"][i] = (1 - gamma) * float(powers[: len(rewards)] @ rewards)
        a["s2"][i], a["g"][i] = s_end, powers[len(rewards)]
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, rng: np.random.Generator, batch_size: int) -> dict:
        """A uniform batch (with replacement) of the stored rows, as arrays by field."""
        idx = rng.integers(0, self.size, batch_size)
        return {k: v[idx] for k, v in self.arrays.items()}


def epsilon(step: int, total_steps: int, start: float, end: float) -> float:
    """ε-greedy exploration: from ``start`` down to ``end``, exponentially (``e^{-5}`` of the way left at the end)."""
    return end + (start - end) * math.exp(-5.0 * step / total_steps)


def learning_rate(lr: float, step: int, total_steps: int) -> float:
    """The learning rate at ``step``: linear decay to 10% of ``lr`` over the run, then held."""
    return lr * (1.0 - 0.9 * min(1.0, step / total_steps))


def save_checkpoint(path: Path | None, payload: dict) -> None:
    """Write ``payload`` (networks, optimiser, buffer, state, random state) with ``torch.save``, atomically
    (a crash mid-write leaves the previous checkpoint); nothing without a path."""
    if path is None:
        return
    import torch

    from ...core.io import atomic_write_bytes

    blob = io.BytesIO()
    torch.save(payload, blob)
    atomic_write_bytes(path, blob.getvalue())


def _mlp(d_in: int, hidden, dtype):
    import torch

    mods, d = [], d_in
    for width in hidden:
        mods += [torch.nn.Linear(d, width, dtype=dtype), torch.nn.ReLU()]
        d = width
    mods.append(torch.nn.Linear(d, 1, dtype=dtype))
    return torch.nn.Sequential(*mods)


def state_dtype(n_states: int):
    """The narrowest unsigned integer dtype that holds states 0..n_states−1 (int8 wrapped at 128 states)."""
    return np.min_scalar_type(max(int(n_states) - 1, 0))


def network_layers(net) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (W, b) numpy pairs of a ``torch.nn.Sequential`` of Linear/ReLU layers (for the MIP and numpy checks)."""
    import torch

    return [
        (m.weight.detach().cpu().double().numpy(), m.bias.detach().cpu().double().numpy())
        for m in net
        if isinstance(m, torch.nn.Linear)
    ]


def _int_option(name: str, value, minimum: int) -> int:
    return int(as_scalar(f"options.{name}", value, integer=True, minimum=minimum))


def _hidden(value) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidProblemError(f"`options.hidden` must be a sequence of layer widths such as (32, 32); got {value!r}")
    widths = tuple(int(as_scalar("options.hidden", h, integer=True, minimum=1)) for h in value)
    if not widths:
        raise InvalidProblemError("`options.hidden` must hold at least one layer width; got ()")
    return widths


def read_training_checkpoint(self, path: Path, replay: int) -> dict:
    """A checkpoint written by `SequoiaPolicy.fit` (``self``) for its problem and network; anything else (not a torch file, a
    checkpoint of another kind, problem or network, a buffer of another size) raises InvalidProblemError naming
    `checkpoint`."""
    ck = read_checkpoint(
        path,
        device=self.device,
        kind="SequoiaCheckpoint",
        fingerprint=self.fingerprint,
        keys=("net", "target", "opt", "buffer", "state", "rng", "hidden"),
        weights_only=False,
        what="a SEQUOIA",
    )  # it holds the replay buffer's numpy arrays
    self._check_weights(ck["net"], "checkpoint", hidden=ck["hidden"])
    self._check_weights(ck["target"], "checkpoint")
    buf, state = ck["buffer"], ck["state"]
    want = {"s": (replay, self.J), "x": (replay, self.n), "r": (replay,), "s2": (replay, self.J), "g": (replay,)}
    if not isinstance(buf, dict) or any(
        not isinstance(buf.get(k), np.ndarray) or buf[k].shape != shape for k, shape in want.items()
    ):
        raise InvalidProblemError(
            f"`checkpoint` holds a replay buffer that does not match `options.replay` = {replay} for this problem"
        )
    keys = ("episode", "step", "size", "pos", "history", "target_version")
    if not isinstance(state, dict) or any(k not in state for k in keys):
        raise InvalidProblemError("`checkpoint` holds no training state (episode, step, ...)")
    if not isinstance(ck["rng"], dict) or not isinstance(ck["opt"], dict):
        raise InvalidProblemError("`checkpoint` holds no optimiser or random state")
    return ck
