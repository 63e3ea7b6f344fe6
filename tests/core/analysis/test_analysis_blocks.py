"""Block averaging on AR(1) series, whose statistical inefficiency is (1 + φ)/(1 − φ)."""

import numpy as np
import pytest

from mdzoom.core.analysis import block_average


def ar1(phi, n, seed):
    rng = np.random.default_rng(seed)
    eps = rng.normal(size=n)
    x = np.empty(n)
    x[0] = eps[0] / np.sqrt(1 - phi * phi)            # start in the stationary state
    for k in range(1, n):
        x[k] = phi * x[k - 1] + eps[k]
    return x


@pytest.mark.parametrize("phi, tol", [(0.5, 0.15), (0.9, 0.25)])
def test_ar1_statistical_inefficiency(phi, tol):
    x = ar1(phi, 2 ** 17, seed=int(phi * 10))
    res = block_average(x)
    g_true = (1 + phi) / (1 - phi)
    assert res.g == pytest.approx(g_true, rel=tol)
    assert res.converged and res.mean == pytest.approx(x.mean())
    # sem² = g σ² / n with σ² the stationary variance 1/(1 − φ²)
    assert res.sem == pytest.approx(np.sqrt(g_true / (1 - phi * phi) / x.size), rel=tol)
    assert res.n_eff == pytest.approx(x.size / res.g)
    assert res.block_sem[0] < res.sem                  # naive SE underestimates


def test_white_noise_has_g_one_and_jonsson_rule():
    x = np.random.default_rng(1).normal(size=2 ** 15)
    res = block_average(x)
    assert res.g == pytest.approx(1.0, abs=0.15)
    assert block_average(x, rule="jonsson").g == pytest.approx(1.0, abs=0.1)
    y = ar1(0.9, 2 ** 17, seed=2)
    assert block_average(y, rule="jonsson").g == pytest.approx(19.0, rel=0.2)
    with pytest.raises(ValueError, match="available: lee, jonsson"):
        block_average(x, rule="other")


def test_too_short_series_says_so():
    res = block_average(ar1(0.99, 256, seed=3))
    assert not res.converged and "never met" in res.note
    with pytest.raises(ValueError):
        block_average([1.0])
