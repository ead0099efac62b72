"""SEQUOIA's training pieces (orbudget/solvers/torch/_training.py): the replay buffer holds states above 127."""

import numpy as np

import orbudget as ob
from orbudget.problems.rmab import CoupledRMAB

from ...conftest import needs


def _jump_to_top(n_states=130, n_arms=2):
    """Every arm jumps to the top state (S − 1) whatever it does: replayed next states are all S − 1."""
    P = np.zeros((n_arms, 2, n_states, n_states))
    P[..., n_states - 1] = 1.0
    R = np.tile(np.linspace(0, 1, n_states), (n_arms, 1))
    return CoupledRMAB(transitions=P, rewards=R, constraint=ob.RMABBudget(budget=1, n_arms=n_arms), horizon=3, episodes=1)


@needs("torch")
def test_sequoia_replay_buffer_holds_states_above_127(tmp_path):
    """States are stored in a dtype wide enough for S (int8 wrapped 129 to −127 and corrupted the training inputs)."""
    import torch

    from orbudget.solvers.torch.rmab import SequoiaPolicy

    p = _jump_to_top(130)
    pol = SequoiaPolicy(p, hidden=(4,), seed=0, device="cpu")
    pol.fit(episodes=2, warm_steps=1, warm_samples=10, batch_size=2, checkpoint=tmp_path / "c.pt")
    ck = torch.load(tmp_path / "c.pt", weights_only=False)
    size = ck["state"]["size"]
    assert size == 6
    assert (ck["buffer"]["s2"][:size] == 129).all()
    assert ck["buffer"]["s"][:size].min() >= 0 and ck["buffer"]["s"][:size].max() <= 129
