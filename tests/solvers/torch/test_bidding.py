"""The torch bidding parts (orbudget/solvers/torch/bidding.py): the batched value DP against numba, and ``rlb_nn``:
large episodes, checkpoints, seeds, devices and sizes."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.solvers.numba import _bidding as k
from orbudget.solvers.numba.bidding import stop_loss_grid

from ...conftest import needs
from ..conftest import small_campaign


@needs("torch")
def test_torch_batched_dp_equals_numba():
    from orbudget.solvers.torch.bidding import value_tables

    camps = [
        ob.BiddingCampaign.synthetic(n_test=10, n_train=20_000, episode_length=40, budget_fraction=f, seed=s)
        for s, f in ((0, 1 / 8), (1, 1 / 2))
    ]
    budget = max(c.budget for c in camps)
    pmfs = np.stack([c.market_price for c in camps])
    tables = value_tables(pmfs, [c.ctr_mean for c in camps], 40, budget).cpu().numpy()
    windowed = value_tables(pmfs, [c.ctr_mean for c in camps], 40, budget, windowed=True).cpu().numpy()
    np.testing.assert_allclose(windowed, tables, atol=1e-12)  # the GPU formulation, run on the CPU here
    for i, c in enumerate(camps):
        ref = k.value_table(40, budget, c.market_price, c.ctr_mean, True)
        np.testing.assert_allclose(tables[i], ref, atol=1e-9)  # the numba kernel's saturation stop is at 1e-10
        grid, step = stop_loss_grid(c.ctr_sample)
        ref = k.value_table_exact(40, budget, c.market_price, grid, step)
        for windowed in (False, True):
            exact = value_tables(
                c.market_price, c.ctr_mean, 40, budget, stop_loss=(grid, step), zero_at_empty=False, windowed=windowed
            )
            np.testing.assert_allclose(exact.cpu().numpy()[0], ref, atol=1e-9)


@needs("torch")
def test_rlb_nn_runs_large_episodes_and_resumes(tmp_path):
    c = ob.BiddingCampaign.synthetic(n_test=60_000, n_train=50_000, episode_length=20_000, budget_fraction=1 / 16, seed=4)
    ckpt = tmp_path / "nn.pt"
    r = ob.solve(c, method="rlb_nn", options={"horizon0": 500, "steps": 600, "checkpoint": str(ckpt)}, seed=0)
    assert ckpt.exists() and r.stats["max_episode_spend"] <= c.budget and r.stats["episodes"] == 3
    again = ob.solve(c, method="rlb_nn", options={"horizon0": 500, "steps": 600, "checkpoint": str(ckpt)}, seed=0)
    assert again.objective == pytest.approx(r.objective)  # resumed at step 600: nothing left to train, same net
    lin = ob.solve(c, method="linear")
    assert r.objective >= 0.9 * lin.objective


@needs("torch")
def test_rlb_nn_checkpoints_belong_to_their_campaign_and_options(tmp_path):
    c, other = small_campaign(), small_campaign(seed=5)
    ckpt = tmp_path / "nn.pt"
    opts = {"horizon0": 20, "steps": 30, "checkpoint": str(ckpt), "device": "cpu"}
    r = ob.solve(c, method="rlb_nn", seed=0, options=opts)
    data = ckpt.read_bytes()
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` belongs to another problem"):
        ob.solve(other, method="rlb_nn", seed=0, options=opts)
    for change in ({"horizon0": 25}, {"dp": "mean"}):
        with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* was trained with"):
            ob.solve(c, method="rlb_nn", seed=0, options={**opts, **change})
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* was trained with"):
        ob.solve(c, method="rlb_nn", seed=1, options=opts)
    with pytest.raises(ob.InvalidProblemError, match="has trained 30 steps, more than `options.steps` = 10"):
        ob.solve(c, method="rlb_nn", seed=0, options={**opts, "steps": 10})
    assert ckpt.read_bytes() == data  # a refused checkpoint is left as it was
    again = ob.solve(c, method="rlb_nn", seed=0, options=opts)
    assert again.stats["resumed_at"] == 30 and again.objective == r.objective
    # files that are not checkpoints: clear errors, not unpickling tracebacks
    import torch

    bad = tmp_path / "bad.pt"
    for content in (b"", b"not a checkpoint", data[: len(data) // 2]):
        bad.write_bytes(content)
        with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* is not an rlb_nn checkpoint"):
            ob.solve(c, method="rlb_nn", seed=0, options={**opts, "checkpoint": str(bad)})
    ob.save(c, tmp_path / "campaign.json")
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` .* is not an rlb_nn checkpoint"):
        ob.solve(c, method="rlb_nn", seed=0, options={**opts, "checkpoint": str(tmp_path / "campaign.json")})
    state = torch.load(ckpt, weights_only=True)
    for broken, fragment in (
        (dict(state, kind="sequoia"), "got a state of a 'sequoia'"),
        ({key: v for key, v in state.items() if key != "fingerprint"}, "carrying the problem's"),
        ({"net": state["net"], "opt": state["opt"], "step": 30}, "missing 'options'"),
        (dict(state, step=-3), "bad step count"),
        ([1, 2], "a dict from"),
        (dict(state, net={"0.weight": torch.zeros(2)}), "does not hold this network's weights"),
    ):
        torch.save(broken, bad)
        with pytest.raises(ob.InvalidProblemError, match=f"`checkpoint`.*{fragment}"):
            ob.solve(c, method="rlb_nn", seed=0, options={**opts, "checkpoint": str(bad)})
    with pytest.raises(ob.InvalidProblemError, match="`checkpoint` must be a file path"):
        ob.solve(c, method="rlb_nn", seed=0, options={**opts, "checkpoint": str(tmp_path)})


@needs("torch")
def test_rlb_nn_seeds_and_devices():
    import torch

    c = small_campaign()
    opts = {"horizon0": 20, "steps": 20}
    a = ob.solve(c, method="rlb_nn", seed=np.random.default_rng(7), options=opts)
    b = ob.solve(c, method="rlb_nn", seed=np.random.default_rng(7), options=opts)
    assert a.objective == b.objective and a.stats["max_episode_spend"] <= c.budget
    for device, fragment in (
        ("meta", "must be 'cpu' or a CUDA device"),
        (3, "must be a device name"),
        ("tpu", "must be a device name"),
        ("nonsense", "must be a device name"),
    ):
        with pytest.raises(ob.InvalidProblemError, match=f"`options.device` {fragment}"):
            ob.solve(c, method="rlb_nn", options={**opts, "device": device})
    if not torch.cuda.is_available():
        with pytest.raises(ob.InvalidProblemError, match="`options.device` is 'cuda' but CUDA is not available"):
            ob.solve(c, method="rlb_nn", options={**opts, "device": "cuda"})
    with pytest.raises(ob.InvalidProblemError, match="`options.dp` must be one of"):
        ob.solve(c, method="rlb_nn", options={**opts, "dp": "exactly"})
    with pytest.raises(ob.InvalidProblemError, match="`seed` must be >= 0"):
        ob.solve(c, method="rlb_nn", seed=-1, options=opts)


@needs("torch")
def test_rlb_nn_and_torch_tables_refuse_huge_sizes():
    from orbudget.solvers.torch.bidding import value_tables

    c = small_campaign(episode_length=300_000)
    huge = c.with_budget(10**12)
    with pytest.raises(ob.InvalidProblemError, match="`budget` 1000000000000 with `options.horizon0` 1000 .* GiB"):
        ob.solve(huge, method="rlb_nn", options={"steps": 1})
    with pytest.raises(ob.InvalidProblemError, match="`budget` 1000000000 with `horizon` 1000 .* GiB"):
        value_tables(c.market_price, c.ctr_mean, 1000, 10**9)
    with pytest.raises(ob.InvalidProblemError, match="`device` is 'cuda' but CUDA|`device` must be 'cpu'"):
        value_tables(c.market_price, c.ctr_mean, 5, 5, device="cuda" if not __import__("torch").cuda.is_available() else "meta")
