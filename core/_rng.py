"""Counter-based random numbers for the numba engine.

A normal deviate is a pure function of ``(seed, step, index)``: no generator state to
save, identical results for any thread count, and a checkpoint needs only the seed and
the step to continue bit-for-bit. The mixer is the SplitMix64 finaliser applied to a
chained key (Steele, Lea & Flood, OOPSLA 2014), which passes BigCrush as a hash of
consecutive counters.
"""

import numba
import numpy as np

__all__ = ["gaussian3", "uniform01", "gaussian_array"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0


@numba.njit(cache=True, inline="always")
def _mix64(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(cache=True, inline="always")
def _key(seed, step, index):
    k = _mix64(np.uint64(seed) + _GOLDEN)
    k = _mix64(k ^ (np.uint64(step) * _GOLDEN))
    return _mix64(k ^ (np.uint64(index) + _GOLDEN))


@numba.njit(cache=True, inline="always")
def uniform01(seed, step, index, lane):
    """Uniform deviate in (0, 1) from the counter (seed, step, index, lane)."""
    z = _mix64(_key(seed, step, index) + np.uint64(lane) * _GOLDEN)
    return ((z >> _S11) + 0.5) * _TWO_M53


@numba.njit(cache=True, inline="always")
def gaussian3(seed, step, index):
    """Three independent standard normal deviates for particle ``index`` at ``step``."""
    u1 = uniform01(seed, step, index, 0)
    u2 = uniform01(seed, step, index, 1)
    u3 = uniform01(seed, step, index, 2)
    u4 = uniform01(seed, step, index, 3)
    r1 = np.sqrt(-2.0 * np.log(u1))
    r2 = np.sqrt(-2.0 * np.log(u3))
    return (r1 * np.cos(2.0 * np.pi * u2), r1 * np.sin(2.0 * np.pi * u2),
            r2 * np.cos(2.0 * np.pi * u4))


@numba.njit(cache=True)
def gaussian_array(seed, step, n):
    """(n, 3) standard normal deviates for particles 0..n-1 at ``step``."""
    out = np.empty((n, 3))
    for i in range(n):
        g0, g1, g2 = gaussian3(seed, step, i)
        out[i, 0] = g0
        out[i, 1] = g1
        out[i, 2] = g2
    return out
