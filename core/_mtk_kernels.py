"""numba kernels of the MTK barostat: the particle half-kick with the barostat friction
and the drift with the box strain rate, each solved exactly over its substep (one pass
over the particles, serial, deterministic), and the piston's own 3-vector updates."""

import numba
import numpy as np

from ._rng import gaussian3


@numba.njit(cache=True, error_model="numpy")
def kick_friction(v, f, inv_m, h, a, b):
    """v_ia = a_a v_ia + h b_a f_ia / m_i: the exact solution of v̇ = f/m − α v over ``h``
    [ps] with a = e^{−αh}, b = e^{−αh/2} sinh(αh/2)/(αh/2)."""
    a0, a1, a2 = a[0], a[1], a[2]
    b0, b1, b2 = h * b[0], h * b[1], h * b[2]
    for i in range(v.shape[0]):
        s = inv_m[i]
        v[i, 0] = a0 * v[i, 0] + b0 * s * f[i, 0]
        v[i, 1] = a1 * v[i, 1] + b1 * s * f[i, 1]
        v[i, 2] = a2 * v[i, 2] + b2 * s * f[i, 2]


@numba.njit(cache=True, error_model="numpy")
def kick_friction_drift(x, v, f, inv_m, h, a, b, dt, c, d):
    """``kick_friction`` over ``h``, then the drift ẋ = v + u∘x over ``dt`` [ps] solved
    exactly: x_ia = c_a x_ia + dt d_a v_ia with c = e^{u dt}, d = e^{u dt/2}
    sinh(u dt/2)/(u dt/2)."""
    a0, a1, a2 = a[0], a[1], a[2]
    b0, b1, b2 = h * b[0], h * b[1], h * b[2]
    c0, c1, c2 = c[0], c[1], c[2]
    d0, d1, d2 = dt * d[0], dt * d[1], dt * d[2]
    for i in range(x.shape[0]):
        s = inv_m[i]
        v0 = a0 * v[i, 0] + b0 * s * f[i, 0]
        v1 = a1 * v[i, 1] + b1 * s * f[i, 1]
        v2 = a2 * v[i, 2] + b2 * s * f[i, 2]
        v[i, 0] = v0
        v[i, 1] = v1
        v[i, 2] = v2
        x[i, 0] = c0 * x[i, 0] + d0 * v0
        x[i, 1] = c1 * x[i, 1] + d1 * v1
        x[i, 2] = c2 * x[i, 2] + d2 * v2


@numba.njit(cache=True, error_model="numpy")
def kinetic_diagonal(v, m):
    """(3,) Σ_i m_i v_ia², twice the diagonal of the kinetic-energy tensor [kJ/mol]."""
    k0 = 0.0
    k1 = 0.0
    k2 = 0.0
    for i in range(v.shape[0]):
        k0 += m[i] * v[i, 0] * v[i, 0]
        k1 += m[i] * v[i, 1] * v[i, 1]
        k2 += m[i] * v[i, 2] * v[i, 2]
    out = np.empty(3)
    out[0] = k0
    out[1] = k1
    out[2] = k2
    return out


@numba.njit(cache=True, error_model="numpy")
def box_volume(box):
    """|det box| [nm³] (explicit 3 × 3 determinant)."""
    d = (box[0, 0] * (box[1, 1] * box[2, 2] - box[1, 2] * box[2, 1])
         - box[0, 1] * (box[1, 0] * box[2, 2] - box[1, 2] * box[2, 0])
         + box[0, 2] * (box[1, 0] * box[2, 1] - box[1, 1] * box[2, 0]))
    return abs(d)


@numba.njit(cache=True, error_model="numpy")
def piston_energy(p, w, coupled):
    """Σ_g p_g²/2W_g over the coupled groups [kJ/mol]."""
    e = 0.0
    for g in range(p.shape[0]):
        if coupled[g]:
            e += 0.5 * p[g] * p[g] / w[g]
    return e


@numba.njit(cache=True, error_model="numpy")
def piston_kick(p, coupled, group_of, p0_dir, k2, vir_diag, vol, nf, h, pconv):
    """G(h): p_g += h Σ_{a∈g} [2K_aa − 2Ξ_aa − V P0_a/pconv + 2K/N_f] (coupled groups).
    ``k2`` (3,) = 2 K_aa, ``vir_diag`` (3,) = Ξ_aa [kJ/mol], ``p0_dir`` (3,) [bar]."""
    two_k_nf = (k2[0] + k2[1] + k2[2]) / nf
    for a in range(3):
        g = group_of[a]
        if coupled[g]:
            p[g] += h * (k2[a] - 2.0 * vir_diag[a] - vol * p0_dir[a] / pconv + two_k_nf)


@numba.njit(cache=True, error_model="numpy")
def piston_bath(p, w, coupled, c, sigma, seed, step, index):
    """O: exact Ornstein–Uhlenbeck step p_g ← c p_g + σ_g ξ_g (deviates keyed by
    (seed, step, index)); returns the piston energy taken out [kJ/mol]."""
    e0 = piston_energy(p, w, coupled)
    xi = gaussian3(seed, step, index)
    for g in range(p.shape[0]):
        if coupled[g]:
            p[g] = c * p[g] + sigma[g] * xi[g]
    return e0 - piston_energy(p, w, coupled)


@numba.njit(cache=True, inline="always")
def _sinhc(x):
    if abs(x) < 1e-4:
        x2 = x * x
        return 1.0 + x2 / 6.0 * (1.0 + x2 / 20.0)
    return np.sinh(x) / x


@numba.njit(cache=True, error_model="numpy")
def step_factors(p, w, coupled, group_of, nf, dt, out):
    """Kick and drift factors of one step for the strain rate u_a = p_g/W_g into ``out``
    (5, 3): a = e^{−αh}, b = e^{−αh/2} sinhc(αh/2) (α = u + tr(u)/N_f, h = dt/2),
    c = e^{u dt}, d = e^{u dt/2} sinhc(u dt/2), and the strain increments u dt."""
    u = np.zeros(3)
    for a in range(3):
        g = group_of[a]
        if coupled[g]:
            u[a] = p[g] / w[g]
    tr = (u[0] + u[1] + u[2]) / nf
    h = 0.5 * dt
    for a in range(3):
        al = u[a] + tr
        out[0, a] = np.exp(-al * h)
        out[1, a] = np.exp(-0.5 * al * h) * _sinhc(0.5 * al * h)
        out[2, a] = np.exp(u[a] * dt)
        out[3, a] = np.exp(0.5 * u[a] * dt) * _sinhc(0.5 * u[a] * dt)
        out[4, a] = u[a] * dt
