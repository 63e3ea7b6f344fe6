"""numba kernels of the thermostats (serial, deterministic, one pass over particles each)."""

import numba
import numpy as np

from ._rng import gaussian3, uniform01


@numba.njit(cache=True, error_model="numpy")
def group_kinetic_energy(v, m, gid, n_groups):
    """(n_groups,) ½ Σ m v² per coupling group [kJ/mol]; ``gid[i] < 0`` is in no group."""
    ke = np.zeros(n_groups)
    for i in range(v.shape[0]):
        g = gid[i]
        if g >= 0:
            ke[g] += m[i] * (v[i, 0] * v[i, 0] + v[i, 1] * v[i, 1] + v[i, 2] * v[i, 2])
    for g in range(n_groups):
        ke[g] *= 0.5
    return ke


@numba.njit(cache=True, error_model="numpy")
def scale_groups(v, alpha, gid):
    """v_i *= alpha[group of i]."""
    for i in range(v.shape[0]):
        g = gid[i]
        if g >= 0:
            a = alpha[g]
            v[i, 0] *= a
            v[i, 1] *= a
            v[i, 2] *= a


@numba.njit(cache=True, error_model="numpy")
def remove_com_velocity(v, m, inv_m):
    """Subtract the centre-of-mass velocity from every massive particle; returns the kinetic
    energy removed, P²/2M [kJ/mol]."""
    p0 = 0.0
    p1 = 0.0
    p2 = 0.0
    mt = 0.0
    for i in range(v.shape[0]):
        p0 += m[i] * v[i, 0]
        p1 += m[i] * v[i, 1]
        p2 += m[i] * v[i, 2]
        mt += m[i]
    c0 = p0 / mt
    c1 = p1 / mt
    c2 = p2 / mt
    for i in range(v.shape[0]):
        if inv_m[i] > 0.0:
            v[i, 0] -= c0
            v[i, 1] -= c1
            v[i, 2] -= c2
    return 0.5 * (p0 * p0 + p1 * p1 + p2 * p2) / mt


@numba.njit(cache=True, error_model="numpy")
def langevin_o(v, inv_m, gid, c, kt, seed, step):
    """Exact Ornstein–Uhlenbeck step per group: v = c_g v + sqrt((1 − c_g²) kT_g/m) ξ."""
    for i in range(v.shape[0]):
        g = gid[i]
        if g < 0 or inv_m[i] == 0.0:
            continue
        g0, g1, g2 = gaussian3(seed, step, i)
        cg = c[g]
        sig = np.sqrt((1.0 - cg * cg) * kt[g] * inv_m[i])
        v[i, 0] = cg * v[i, 0] + sig * g0
        v[i, 1] = cg * v[i, 1] + sig * g1
        v[i, 2] = cg * v[i, 2] + sig * g2


@numba.njit(cache=True, inline="always")
def _normal(seed, step, index, lane):
    u1 = uniform01(seed, step, index, lane)
    u2 = uniform01(seed, step, index, lane + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@numba.njit(cache=True)
def _gamma(shape, seed, step, index, lane):
    """Gamma(shape, 1) deviate, shape ≥ 1 (Marsaglia & Tsang 2000) from counter lanes
    ``lane, lane+1, …``; returns (deviate, next free lane)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    while True:
        x = _normal(seed, step, index, lane)
        u = uniform01(seed, step, index, lane + 2)
        lane += 3
        t = 1.0 + c * x
        if t <= 0.0:
            continue
        t = t * t * t
        if np.log(u) < 0.5 * x * x + d - d * t + d * np.log(t):
            return d * t, lane


@numba.njit(cache=True)
def vrescale_deviates(nf, seed, step, index):
    """(R1, Σ_{i=2}^{nf} R_i²) for Bussi's stochastic rescaling: one normal deviate and a
    χ² deviate of nf − 1 degrees of freedom, from the counter (seed, step, index)."""
    r1 = _normal(seed, step, index, 0)
    n = nf - 1
    lane = 2
    s = 0.0
    if n <= 0:
        return r1, 0.0
    if n < 40:
        k = int(np.floor(n))
        for _ in range(k):
            r = _normal(seed, step, index, lane)
            lane += 2
            s += r * r
        frac = n - k
        if frac > 0.0:          # non-integer remainder: χ²(frac) = 2 Gamma(frac/2)
            # Gamma(a) for a < 1 as Gamma(a + 1) U^(1/a)
            gv, lane = _gamma(0.5 * frac + 1.0, seed, step, index, lane)
            u = uniform01(seed, step, index, lane)
            s += 2.0 * gv * u ** (1.0 / (0.5 * frac))
        return r1, s
    gv, lane = _gamma(0.5 * n, seed, step, index, lane)
    return r1, 2.0 * gv


@numba.njit(cache=True, error_model="numpy")
def nose_hoover_chain(ke2, nf, kt, q, vxi, xi, h):
    """MTK propagation of one Nosé–Hoover chain over ``h`` [ps] (Suzuki–Yoshida order 3,
    one inner step). ``ke2`` = 2·KE of the group; ``q`` (M,) masses [kJ/mol ps²]; ``vxi``,
    ``xi`` (M,) the chain velocities [1/ps] and positions, updated in place. Returns the
    factor by which the group's velocities are scaled."""
    m = q.shape[0]
    w1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
    ws = (w1, 1.0 - 2.0 * w1, w1)
    g = np.empty(m)
    g[0] = (ke2 - nf * kt) / q[0]
    for j in range(1, m):
        g[j] = (q[j - 1] * vxi[j - 1] * vxi[j - 1] - kt) / q[j]
    scale = 1.0
    for w in ws:
        d = w * h
        vxi[m - 1] += 0.5 * d * g[m - 1]
        for j in range(m - 2, -1, -1):
            e = np.exp(-0.25 * d * vxi[j + 1])
            vxi[j] = (vxi[j] * e + 0.5 * d * g[j]) * e
        s = np.exp(-d * vxi[0])
        scale *= s
        ke2 *= s * s
        g[0] = (ke2 - nf * kt) / q[0]
        for j in range(m):
            xi[j] += d * vxi[j]
        for j in range(m - 1):
            e = np.exp(-0.25 * d * vxi[j + 1])
            vxi[j] = (vxi[j] * e + 0.5 * d * g[j]) * e
            g[j + 1] = (q[j] * vxi[j] * vxi[j] - kt) / q[j + 1]
        vxi[m - 1] += 0.5 * d * g[m - 1]
    return scale


# ----------------------------------------------------------------------------- fused operators
# One call per half step: group kinetic energies, scaling factors, scaling, and (several
# groups) centre-of-mass removal. Each returns (kinetic energy taken out by the scaling,
# kinetic energy taken out by the centre-of-mass removal) [kJ/mol].

@numba.njit(cache=True, error_model="numpy")
def _finish(v, m, inv_m, gid, ke, alpha, remove_com):
    scale_groups(v, alpha, gid)
    dk = 0.0
    for g in range(ke.shape[0]):
        dk += ke[g] * (1.0 - alpha[g] * alpha[g])
    removed = remove_com_velocity(v, m, inv_m) if remove_com else 0.0
    return dk, removed


@numba.njit(cache=True, error_model="numpy")
def vrescale_apply(v, m, inv_m, gid, nf, kt, tau, h, seed, step, index0, remove_com):
    """Bussi's stochastic rescaling over ``h`` [ps] per group; deviates from the counter
    (seed, step, index0 + 2g)."""
    ng = nf.shape[0]
    ke = group_kinetic_energy(v, m, gid, ng)
    alpha = np.ones(ng)
    for g in range(ng):
        k = ke[g]
        if k <= 0.0:
            continue
        kt_target = 0.5 * nf[g] * kt[g]
        c = np.exp(-h / tau[g]) if tau[g] > 0.0 else 0.0
        r1, s = vrescale_deviates(nf[g], seed, step, index0 + 2 * g)
        k_new = (k + (1.0 - c) * (kt_target * (r1 * r1 + s) / nf[g] - k)
                 + 2.0 * r1 * np.sqrt(c * (1.0 - c) * kt_target * k / nf[g]))
        alpha[g] = np.sqrt(max(k_new, 0.0) / k)
    return _finish(v, m, inv_m, gid, ke, alpha, remove_com)


@numba.njit(cache=True, error_model="numpy")
def berendsen_apply(v, m, inv_m, gid, nf, kt, tau, h, remove_com):
    """Berendsen weak coupling over ``h`` [ps] per group; λ within GROMACS's [0.8, 1.25]."""
    ng = nf.shape[0]
    ke = group_kinetic_energy(v, m, gid, ng)
    alpha = np.ones(ng)
    for g in range(ng):
        if ke[g] <= 0.0:
            continue
        ratio = 0.5 * nf[g] * kt[g] / ke[g]          # T0 / T
        lam2 = 1.0 + h / tau[g] * (ratio - 1.0) if tau[g] > 0.0 else ratio
        alpha[g] = min(max(np.sqrt(max(lam2, 0.0)), 0.8), 1.25)
    return _finish(v, m, inv_m, gid, ke, alpha, remove_com)


@numba.njit(cache=True, error_model="numpy")
def nose_hoover_apply(v, m, inv_m, gid, nf, kt, q, vxi, xi, h, remove_com):
    """Nosé–Hoover chains over ``h`` [ps], one chain per group (``q``, ``vxi``, ``xi``
    (G, M), the last two updated in place)."""
    ng = nf.shape[0]
    ke = group_kinetic_energy(v, m, gid, ng)
    alpha = np.ones(ng)
    for g in range(ng):
        alpha[g] = nose_hoover_chain(2.0 * ke[g], nf[g], kt[g], q[g], vxi[g], xi[g], h)
    return _finish(v, m, inv_m, gid, ke, alpha, remove_com)
