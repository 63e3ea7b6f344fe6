"""The piecewise-polynomial erfc(x) and exp(−x²) of the Ewald real-space kernels."""

import math

import numpy as np

from mdzoom.core import _pair_kernels as _k


def _evaluate(x):
    tab = _k.erfc_exp_table()
    out = np.zeros((x.size, 2))
    _k.erfc_exp_array(np.ascontiguousarray(x, dtype=np.float64), tab, 1.0 / _k.ERFC_H, out)
    return out


def test_erfc_and_gaussian_relative_error_over_0_to_6():
    x = np.concatenate([np.linspace(0.0, 6.0, 30001), np.arange(0, 193) * _k.ERFC_H,
                        np.arange(1, 193) * _k.ERFC_H - 1e-15])
    got = _evaluate(x)
    erfc = np.array([math.erfc(v) for v in x])
    gauss = np.exp(-x * x)
    assert np.max(np.abs(got[:, 0] / erfc - 1.0)) < 1e-9
    assert np.max(np.abs(got[:, 1] / gauss - 1.0)) < 1e-9
    # the range Ewald kernels use (β·rc ≈ 3.1 for ewald-rtol 1e-5): near machine precision
    inner = x < 3.5
    assert np.max(np.abs(got[inner, 0] / erfc[inner] - 1.0)) < 1e-12
    assert np.max(np.abs(got[inner, 1] / gauss[inner] - 1.0)) < 1e-12


def test_beyond_the_table_falls_back_to_libm():
    x = np.array([6.0, 6.5, 8.0, 27.0])
    got = _evaluate(x)
    assert np.allclose(got[:, 0], [math.erfc(v) for v in x], rtol=1e-15, atol=0)
    assert np.allclose(got[:, 1], np.exp(-x * x), rtol=1e-15, atol=0)
