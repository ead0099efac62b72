"""SEQUOIA's policy (orbudget/solvers/torch/sequoia.py): checkpoint resume, and states and checkpoints that belong to one
problem."""

import pytest

import orbudget as ob

from ...conftest import needs, tiny


@needs("torch")
def test_sequoia_checkpoint_resume_matches_an_uninterrupted_run(tmp_path):
    import torch

    from orbudget.solvers.torch.rmab import SequoiaPolicy

    p = tiny("budget", 0, horizon=5)
    kw = dict(episodes=4, warm_steps=20, warm_samples=100, checkpoint_every=1)
    straight = SequoiaPolicy(p, seed=3, device="cpu")
    straight.fit(checkpoint=tmp_path / "a.pt", **kw)

    def interrupt(info):
        if info["episode"] == 2:
            raise KeyboardInterrupt

    first = SequoiaPolicy(p, seed=3, device="cpu")
    info = first.fit(checkpoint=tmp_path / "b.pt", callback=interrupt, **kw)
    assert info["stopped"] == ob.Limit.INTERRUPTED
    resumed = SequoiaPolicy(p, seed=3, device="cpu")
    info = resumed.fit(checkpoint=tmp_path / "b.pt", **kw)
    assert info["resumed"] and info["episodes_trained"] == 4
    for a, b in zip(straight.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.equal(a, b)


@needs("torch")
def test_sequoia_states_and_checkpoints_belong_to_one_problem(tmp_path):
    import torch

    from orbudget.solvers.torch.rmab import SequoiaPolicy

    p, q = tiny("budget", 0, horizon=3, episodes=1), tiny("budget", 1, horizon=3, episodes=1)
    pol_p, pol_q = SequoiaPolicy(p, hidden=(4,), device="cpu"), SequoiaPolicy(q, hidden=(4,), device="cpu")
    state = pol_q.state_dict()
    assert state["kind"] == "SequoiaPolicy" and state["fingerprint"] == ob.core.validation.fingerprint(q)
    with pytest.raises(ob.InvalidProblemError, match="`state` belongs to another problem"):
        pol_p.load_state_dict(state)
    with pytest.raises(ob.InvalidProblemError, match="`warm_start` belongs to another problem"):
        ob.solve(p, method="sequoia", warm_start=pol_q, options={"episodes": 0})
    wrong = dict(pol_p.state_dict(), hidden=(8,))
    with pytest.raises(ob.InvalidProblemError, match="`state` holds a network with hidden layers"):
        pol_p.load_state_dict(wrong)
    with pytest.raises(ob.InvalidProblemError, match="`state` must be a state of a SequoiaPolicy"):
        pol_p.load_state_dict({**pol_p.state_dict(), "kind": "RCO"})
    with pytest.raises(ob.InvalidProblemError, match="`state` does not hold this policy's network weights"):
        pol_p.load_state_dict({**pol_p.state_dict(), "net": {"w": torch.zeros(2)}})
    pol_p.load_state_dict(pol_p.state_dict())  # its own state loads
    # checkpoints: another problem's, garbage bytes and another kind of torch file are refused by name
    kw = dict(episodes=1, warm_steps=1, warm_samples=10, batch_size=2, replay=50)
    pol_q.fit(checkpoint=tmp_path / "q.pt", **kw)
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` belongs to another problem"):
        pol_p.fit(checkpoint=tmp_path / "q.pt", **kw)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* is not a SEQUOIA checkpoint"):
        pol_p.fit(checkpoint=tmp_path / "junk.pt", **kw)
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint`"):
        pol_p.fit(checkpoint=tmp_path / "other.pt", **kw)
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` holds a replay buffer"):
        pol_q.fit(checkpoint=tmp_path / "q.pt", **{**kw, "replay": 60})


@needs("torch")
def test_sequoia_state_with_nan_weights_is_refused():
    from orbudget.solvers.torch.rmab import SequoiaPolicy

    pol = SequoiaPolicy(tiny("budget", 0, horizon=3, episodes=1), hidden=(4,), device="cpu")
    state = pol.state_dict()
    name = next(iter(state["net"]))
    state["net"][name][...] = float("nan")
    with pytest.raises(ob.InvalidProblemError, match=f"`state` entry '{name}' holds NaN"):
        pol.load_state_dict(state)
