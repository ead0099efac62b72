"""The AdX display-ad instances (orbudget/problems/adx.py): loader, generator, sample problem."""

import numpy as np
import pytest

import orbudget as ob
from orbudget.problems.adx import load_adx, load_adx_sample, replay


def test_adx_loader_parses_all_publishers(data_dir):
    sizes = {1: (6, 10), 2: (12, 7), 3: (17, 13), 4: (17, 15), 5: (29, 27), 6: (98, 173), 7: (101, 406)}
    for pub, (a, t) in sizes.items():
        p = load_adx(pub, data_dir / "adx")
        assert (p.n_advertisers, len(p.types)) == (a, t)
        assert abs(p.type_probabilities.sum() - 1) <= 1e-5
        for kind in p.types:
            assert np.linalg.eigvalsh(kind.covariance).min() >= -1e-12
        assert p.exchange.shape == (100, 3)


def test_adx_generator_reproduces_type_frequencies(data_dir):
    pub = load_adx(3, data_dir / "adx")
    n = 40_000
    q = pub.sample(n, seed=1)
    eligible = q > 0
    probs = pub.type_probabilities / pub.type_probabilities.sum()
    # types are identified by their eligible sets (distinct per type in these files, checked here)
    keys = [tuple(sorted(t.advertisers.tolist())) for t in pub.types]
    assert len(set(keys)) == len(keys)
    counts = {k: 0 for k in keys}
    for row in eligible:
        counts[tuple(np.flatnonzero(row).tolist())] += 1
    freq = np.array([counts[k] / n for k in keys])
    se = np.sqrt(probs * (1 - probs) / n)
    assert (np.abs(freq - probs) <= 4 * se + 1e-12).all()
    assert q.shape == (n, pub.n_advertisers) and (q >= 0).all()


def test_adx_bad_file_errors(tmp_path):
    (tmp_path / "pub9-ads.txt").write_text("advertiser: 1 rho: 0.5\nadvertiser two\n")
    with pytest.raises(ob.InvalidProblemError, match="pub9-ads.txt line 2"):
        load_adx(9, tmp_path)
    with pytest.raises(FileNotFoundError, match="AdX data not found"):
        load_adx(8, tmp_path)


def test_adx_sample_problem(data_dir):
    sample = load_adx_sample(data_dir / "adx")
    assert sample.shape == (100_000, 6)
    assert ((sample > 0).sum(axis=1) >= 1).all() and ((sample > 0).sum(axis=1) <= 2).all()
    pub = load_adx(1, data_dir / "adx")
    p = pub.problem(qualities=replay(sample, 5000, seed=0))
    assert p.rewards.max() == 1.0
    np.testing.assert_allclose(p.budgets, np.maximum(np.floor(pub.rates / pub.rates.sum() * 1.5 * 5000), 1))
