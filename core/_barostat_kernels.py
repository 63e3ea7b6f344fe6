"""Numba kernels of the barostats: the counter-based noise and the in-place scaling."""

import numba
import numpy as np

from ._rng import gaussian3


@numba.njit(cache=True)
def barostat_noise(seed, step, index):
    """Three independent standard normal deviates keyed by (seed, step, index)."""
    return gaussian3(seed, step, index)


@numba.njit(cache=True, parallel=True)
def scale_positions_velocities(x, v, mu, scale_v):
    """In place: x_ia *= mu_a; with ``scale_v`` also v_ia /= mu_a."""
    n = x.shape[0]
    m0, m1, m2 = mu[0], mu[1], mu[2]
    i0, i1, i2 = 1.0 / m0, 1.0 / m1, 1.0 / m2
    for i in numba.prange(n):
        x[i, 0] *= m0
        x[i, 1] *= m1
        x[i, 2] *= m2
        if scale_v:
            v[i, 0] *= i0
            v[i, 1] *= i1
            v[i, 2] *= i2
