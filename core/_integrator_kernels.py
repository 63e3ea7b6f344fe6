"""numba kernels of the integrators (one pass over particles each)."""

import numba
import numpy as np

from ._rng import gaussian3


@numba.njit(cache=True, error_model="numpy")
def kick(v, f, inv_m, half_dt):
    """v += (dt/2)·f/m."""
    for i in range(v.shape[0]):
        s = half_dt * inv_m[i]
        v[i, 0] += s * f[i, 0]
        v[i, 1] += s * f[i, 1]
        v[i, 2] += s * f[i, 2]


@numba.njit(cache=True, error_model="numpy")
def kick_drift(x, v, f, inv_m, half_dt, dt):
    """Velocity Verlet first half: v += (dt/2)·f/m; x += dt·v."""
    for i in range(x.shape[0]):
        s = half_dt * inv_m[i]
        for d in range(3):
            v[i, d] += s * f[i, d]
            x[i, d] += dt * v[i, d]


@numba.njit(cache=True, error_model="numpy")
def baoa(x, v, f, inv_m, half_dt, c1, noise_scale, seed, step):
    """BAOAB up to the force call: B, A, O (exact Ornstein–Uhlenbeck), A.

    ``noise_scale[i] = sqrt((1 − c1²)·kT/m_i)`` [nm/ps].
    """
    for i in range(x.shape[0]):
        s = half_dt * inv_m[i]
        g0, g1, g2 = gaussian3(seed, step, i)
        sig = noise_scale[i]
        v0 = v[i, 0] + s * f[i, 0]
        v1 = v[i, 1] + s * f[i, 1]
        v2 = v[i, 2] + s * f[i, 2]
        x[i, 0] += half_dt * v0
        x[i, 1] += half_dt * v1
        x[i, 2] += half_dt * v2
        v0 = c1 * v0 + sig * g0
        v1 = c1 * v1 + sig * g1
        v2 = c1 * v2 + sig * g2
        x[i, 0] += half_dt * v0
        x[i, 1] += half_dt * v1
        x[i, 2] += half_dt * v2
        v[i, 0] = v0
        v[i, 1] = v1
        v[i, 2] = v2


@numba.njit(cache=True, error_model="numpy")
def brownian(x, v, f, mobility, noise_scale, dt, seed, step):
    """Overdamped Langevin (Euler–Maruyama): x += dt·μ·F + sqrt(2kTμdt)·ξ; v = Δx/dt.

    ``mobility[i] = 1/(m_i γ)`` [mol ps kg⁻¹…: nm² ps⁻¹ (kJ/mol)⁻¹];
    ``noise_scale[i] = sqrt(2 kT μ_i dt)`` [nm].
    """
    for i in range(x.shape[0]):
        g0, g1, g2 = gaussian3(seed, step, i)
        mu = mobility[i] * dt
        sig = noise_scale[i]
        dx0 = mu * f[i, 0] + sig * g0
        dx1 = mu * f[i, 1] + sig * g1
        dx2 = mu * f[i, 2] + sig * g2
        x[i, 0] += dx0
        x[i, 1] += dx1
        x[i, 2] += dx2
        v[i, 0] = dx0 / dt
        v[i, 1] = dx1 / dt
        v[i, 2] = dx2 / dt


@numba.njit(cache=True, error_model="numpy")
def kinetic_energy(v, m):
    """½ Σ m v² [kJ/mol]."""
    e = 0.0
    for i in range(v.shape[0]):
        e += m[i] * (v[i, 0] * v[i, 0] + v[i, 1] * v[i, 1] + v[i, 2] * v[i, 2])
    return 0.5 * e


@numba.njit(cache=True, error_model="numpy")
def drift(x, v, h):
    """x += h·v."""
    for i in range(x.shape[0]):
        x[i, 0] += h * v[i, 0]
        x[i, 1] += h * v[i, 1]
        x[i, 2] += h * v[i, 2]


@numba.njit(cache=True, error_model="numpy")
def ornstein_uhlenbeck(v, c1, noise_scale, seed, step):
    """BAOAB's O: v = c1·v + noise_scale·ξ, the same deviates ``baoa`` draws."""
    for i in range(v.shape[0]):
        g0, g1, g2 = gaussian3(seed, step, i)
        sig = noise_scale[i]
        v[i, 0] = c1 * v[i, 0] + sig * g0
        v[i, 1] = c1 * v[i, 1] + sig * g1
        v[i, 2] = c1 * v[i, 2] + sig * g2
