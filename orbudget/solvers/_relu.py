"""ReLU networks as numpy: the forward pass and interval-arithmetic bounds on every pre-activation, shared by the
Q-network MIP (HiGHS), the enumeration oracle and the tests.

A network is a list of ``(W, b)`` pairs (W of shape (out, in)); ReLU after every layer but the last, whose single
output is the value. The input is ``[x; e(s)]``: the binary decision x (n entries) then the state encoding e(s),
here one-hot per arm (J·S entries), so the first layer is affine in x with a state-dependent constant
c(s) = b¹ + Σ_j W¹[:, n + j·S + s_j].
"""

from __future__ import annotations

import numpy as np


def random_network(d_in: int, hidden=(16, 32), seed=0) -> list[tuple[np.ndarray, np.ndarray]]:
    """An untrained network initialised as torch's Linear layers are (weights and biases uniform ±1/√fan_in), in
    numpy: for tests and benchmarks of the MIP without torch."""
    rng = np.random.default_rng(seed)
    sizes = [d_in, *hidden, 1]
    out = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        k = 1 / np.sqrt(a)
        out.append((rng.uniform(-k, k, (b, a)), rng.uniform(-k, k, b)))
    return out


def encode_states(states, n_states: int) -> np.ndarray:
    """One-hot state encoding (..., J) -> (..., J·S)."""
    states = np.asarray(states, dtype=np.int64)
    out = np.zeros((*states.shape, n_states))
    np.put_along_axis(out, states[..., None], 1.0, axis=-1)
    return out.reshape(*states.shape[:-1], -1)


def forward(layers, inputs) -> np.ndarray:
    """Network value for inputs (..., d) -> (...)."""
    h = np.asarray(inputs, dtype=float)
    for k, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if k < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h[..., 0]


def pre_activations(layers, inputs) -> list[np.ndarray]:
    """Every hidden layer's pre-activation z^k for inputs (..., d)."""
    h = np.asarray(inputs, dtype=float)
    out = []
    for w, b in layers[:-1]:
        z = h @ w.T + b
        out.append(z)
        h = np.maximum(z, 0.0)
    return out


def first_layer_constant(layers, n_decisions: int, states, n_states: int) -> np.ndarray:
    """c(s) = b¹ + W¹_s e(s): the first layer's constant term for one state (J,)."""
    w, b = layers[0]
    states = np.asarray(states, dtype=np.int64)
    ws = w[:, n_decisions:].reshape(w.shape[0], states.size, n_states)
    return b + ws[:, np.arange(states.size), states].sum(axis=1)


def cardinality_range(w_x: np.ndarray, max_selected: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of W_x: the least and largest Σ_i W_x[r, i] x_i over binary x with Σx ≤ k (the k most negative and
    the k largest positive entries)."""
    k = int(max_selected)
    if w_x.shape[1] == 0 or k == 0:
        return np.zeros(w_x.shape[0]), np.zeros(w_x.shape[0])
    srt = np.sort(w_x, axis=1)
    lo = np.minimum(srt[:, :k], 0.0).sum(axis=1)
    hi = np.maximum(srt[:, ::-1][:, :k], 0.0).sum(axis=1)
    return lo, hi


def interval_bounds(layers, n_decisions: int, max_selected: int, const_lo, const_hi) -> list[tuple[np.ndarray, np.ndarray]]:
    """Bounds [L^k, U^k] on every hidden pre-activation, for x binary with Σx ≤ ``max_selected`` and the first
    layer's constant c in [const_lo, const_hi] (equal for one state; per-arm min/max over states for the whole state
    box). Layer k ≥ 2 by interval arithmetic: U = b + W⁺ max(U, 0) + W⁻ max(L, 0), L symmetric."""
    w1, _ = layers[0]
    lo_x, hi_x = cardinality_range(w1[:, :n_decisions], max_selected)
    lo, hi = np.asarray(const_lo) + lo_x, np.asarray(const_hi) + hi_x
    out = [(lo, hi)]
    for w, b in layers[1:-1]:
        hl, hu = np.maximum(lo, 0.0), np.maximum(hi, 0.0)
        wp, wn = np.maximum(w, 0.0), np.minimum(w, 0.0)
        lo, hi = b + wp @ hl + wn @ hu, b + wp @ hu + wn @ hl
        out.append((lo, hi))
    return out


def state_box_constant(layers, n_decisions: int, n_arms: int, n_states: int) -> tuple[np.ndarray, np.ndarray]:
    """Range of c(s) over every joint state: b¹ + Σ_j min_s / max_s W¹[:, n + j·S + s]."""
    w, b = layers[0]
    ws = w[:, n_decisions:].reshape(w.shape[0], n_arms, n_states)
    return b + ws.min(axis=2).sum(axis=1), b + ws.max(axis=2).sum(axis=1)
