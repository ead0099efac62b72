"""The ReLU network helpers (orbudget/solvers/_relu.py): interval bounds contain every pre-activation."""

import numpy as np

from orbudget.solvers import _relu

from ..conftest import tiny
from .conftest import random_layers


def test_interval_bounds_contain_every_pre_activation():
    rng = np.random.default_rng(0)
    for kind in ("budget", "capacity", "multi", "path"):
        p = tiny(kind, 1)
        d = p.n_decisions + p.n_arms * p.n_states
        layers = random_layers(d, hidden=(16, 32, 8), seed=2)
        box = _relu.interval_bounds(
            layers,
            p.n_decisions,
            p.constraint.max_selected,
            *_relu.state_box_constant(layers, p.n_decisions, p.n_arms, p.n_states),
        )
        acts = p.feasible_actions()
        states = rng.integers(0, p.n_states, (10_000, p.n_arms))
        xs = acts[rng.integers(0, len(acts), 10_000)]
        zs = _relu.pre_activations(layers, np.c_[xs, _relu.encode_states(states, p.n_states)])
        for z, (lo, hi) in zip(zs, box):
            assert (z >= lo - 1e-9).all() and (z <= hi + 1e-9).all()
        for s in states[:50]:  # per-state bounds hold for every feasible action in that state
            c = _relu.first_layer_constant(layers, p.n_decisions, s, p.n_states)
            per = _relu.interval_bounds(layers, p.n_decisions, p.constraint.max_selected, c, c)
            z_all = _relu.pre_activations(layers, np.c_[acts, np.tile(_relu.encode_states(s, p.n_states), (len(acts), 1))])
            for z, (lo, hi), (blo, bhi) in zip(z_all, per, box):
                assert (z >= lo - 1e-9).all() and (z <= hi + 1e-9).all()
                assert (lo >= blo - 1e-9).all() and (hi <= bhi + 1e-9).all()  # tighter than the box
