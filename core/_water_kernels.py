"""Vectorised Ewald real-space + LJ kernel for boxes of identical three-site molecules.

The molecule-pair list of ``nonbonded._Triples`` gives, for molecule i, the molecules j
within rc + 2R (+ skin). Per row i this kernel

1. packs the j molecules whose first atoms lie within rc + 2R into contiguous
   structure-of-arrays buffers (nine coordinates per j, image shift applied; a
   branch-free compaction),
2. runs, for each of the nine atom pairs (a of i, b of j), one loop over the packed j
   that LLVM turns into SIMD code: no table lookups, no branches (pairs beyond rc are
   masked with a select), reductions reassociated (``fastmath`` reassoc/contract only),
3. scatters the j forces back.

erfc has no SIMD form in numba (libm calls do not vectorise without SVML), so the Ewald
terms are written as polynomials in u = 2z/z_max − 1, z = β²r², z_max = β²rc²:

    erfc(βr)/r = 1/r − β·P(z),   P(z) = erf(√z)/√z
    F/r        = qq·(1/r³ + 2β³·Q(z)),   Q = dP/dz

P and Q are entire functions of z, so Chebyshev fits on [0, z_max] converge fast:
degree 16 for Q (max abs error ~1e-11 against |Q| ≤ 0.38) and 20 for P (~3e-15). Only
Q is needed on steps that do not report energies (``compute_forces``): the force pass
holds 17 coefficients and a dozen other constants in vector registers, which AVX-512's 32
registers take (with fewer, LLVM may keep the loop scalar: correct, slower). The energy
pass is a second loop over the same packed data, run only when energies are requested.
Error against the tabulated-erfc kernels: forces ≲ 1e-9 relative, energies ≲ 1e-11.
"""

import math

import numba
import numpy as np

#: fast-math flags for the SIMD passes: reassociation of the sums and FMA contraction;
#: no "nnan"/"ninf" (masking relies on IEEE selects) and no approximate functions
_FM = {"reassoc", "contract", "nsz"}

FORCE_DEGREE = 16
ENERGY_DEGREE = 20
_SQRT_PI = math.sqrt(math.pi)


# ---------------------------------------------------------------------------------------
# The polynomials (numpy, at bind time)
# ---------------------------------------------------------------------------------------

def erf_over_x(z: float) -> float:
    """P(z) = erf(√z)/√z (→ 2/√π at z = 0); series below z = 2, libm above."""
    if z < 2.0:
        s, t, n = 0.0, 1.0, 0               # t = (−z)ⁿ/n!
        while True:
            term = t / (2 * n + 1)
            s += term
            if abs(term) < 1e-18:
                return 2.0 / _SQRT_PI * s
            n += 1
            t *= -z / n
    x = math.sqrt(z)
    return math.erf(x) / x


def erf_over_x_derivative(z: float) -> float:
    """Q(z) = dP/dz = e^(−z)/(√π z) − erf(√z)/(2 z^(3/2)) (→ −2/(3√π) at z = 0)."""
    if z < 2.0:
        s, t, n = 0.0, -1.0, 1              # t = (−1)ⁿ z^(n−1)/(n−1)!
        while True:
            term = t / (2 * n + 1)
            s += term
            if abs(term) < 1e-18:
                return 2.0 / _SQRT_PI * s
            t *= -z / n
            n += 1
    x = math.sqrt(z)
    return math.exp(-z) / (_SQRT_PI * z) - math.erf(x) / (2.0 * z * x)


def _chebyshev_power_fit(fun, z_max, degree, nodes=200):
    """Power-basis coefficients (degree + 1,) in u = 2z/z_max − 1 of the Chebyshev
    least-squares fit of ``fun`` on [0, z_max] (well conditioned: |coefficients| < 1)."""
    u = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    y = np.array([fun(0.5 * z_max * (v + 1.0)) for v in u])
    cheb = np.polynomial.chebyshev.chebfit(u, y, degree)
    return np.ascontiguousarray(np.polynomial.chebyshev.cheb2poly(cheb), dtype=np.float64)


def ewald_polynomials(beta, rc):
    """(cp (ENERGY_DEGREE + 1,), cq (FORCE_DEGREE + 1,), scale) for the kernels:
    P(z) ≈ Σ cp[k] uᵏ, Q(z) ≈ Σ cq[k] uᵏ with u = scale·r² − 1 (β [nm⁻¹], rc [nm])."""
    z_max = (beta * rc) ** 2
    cp = _chebyshev_power_fit(erf_over_x, z_max, ENERGY_DEGREE)
    cq = _chebyshev_power_fit(erf_over_x_derivative, z_max, FORCE_DEGREE)
    return cp, cq, 2.0 * beta * beta / z_max


@numba.njit(cache=True, inline="always")
def _horner16(u, c):
    """Σ c[k] uᵏ, k ≤ 16, unrolled (a loop would stop LLVM vectorising the caller)."""
    p = c[16]
    p = p * u + c[15]
    p = p * u + c[14]
    p = p * u + c[13]
    p = p * u + c[12]
    p = p * u + c[11]
    p = p * u + c[10]
    p = p * u + c[9]
    p = p * u + c[8]
    p = p * u + c[7]
    p = p * u + c[6]
    p = p * u + c[5]
    p = p * u + c[4]
    p = p * u + c[3]
    p = p * u + c[2]
    p = p * u + c[1]
    p = p * u + c[0]
    return p


@numba.njit(cache=True, inline="always")
def _horner20(u, c):
    """Σ c[k] uᵏ, k ≤ 20, unrolled (a loop would stop LLVM vectorising the caller)."""
    p = c[20]
    p = p * u + c[19]
    p = p * u + c[18]
    p = p * u + c[17]
    p = p * u + c[16]
    p = p * u + c[15]
    p = p * u + c[14]
    p = p * u + c[13]
    p = p * u + c[12]
    p = p * u + c[11]
    p = p * u + c[10]
    p = p * u + c[9]
    p = p * u + c[8]
    p = p * u + c[7]
    p = p * u + c[6]
    p = p * u + c[5]
    p = p * u + c[4]
    p = p * u + c[3]
    p = p * u + c[2]
    p = p * u + c[1]
    p = p * u + c[0]
    return p


def evaluate_polynomials(r2, cp, cq, scale):
    """(P, Q) at r² [nm²] as the kernels evaluate them (numpy; tests)."""
    u = scale * np.asarray(r2, dtype=np.float64) - 1.0
    return (np.polynomial.polynomial.polyval(u, cp), np.polynomial.polynomial.polyval(u, cq))


# ---------------------------------------------------------------------------------------
# SIMD passes over the packed j molecules: one atom a of i against atom b of every j
# ---------------------------------------------------------------------------------------

@numba.njit(cache=True, fastmath=_FM, error_model="numpy")
def _force_pass(zx, zy, zz, fx, fy, fz, n, ya0, ya1, ya2, qq, rc2, scale, two_b3, cq, fa):
    """Coulomb (Ewald real space) forces only: fb[k] += F, fa (3,) −= Σ F."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    for k in range(n):
        d0 = zx[k] - ya0
        d1 = zy[k] - ya1
        d2 = zz[k] - ya2
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        ir2 = 1.0 / r2
        ir = math.sqrt(ir2)
        q = _horner16(scale * r2 - 1.0, cq)
        fs = qq * (ir * ir2 + two_b3 * q)
        fs = fs if r2 < rc2 else 0.0
        g0 = fs * d0
        g1 = fs * d1
        g2 = fs * d2
        a0 -= g0
        a1 -= g1
        a2 -= g2
        fx[k] += g0
        fy[k] += g1
        fz[k] += g2
    fa[0] += a0
    fa[1] += a1
    fa[2] += a2


@numba.njit(cache=True, fastmath=_FM, error_model="numpy")
def _force_pass_lj(zx, zy, zz, fx, fy, fz, n, ya0, ya1, ya2, qq, c6, c12, rc2, scale,
                   two_b3, cq, fa):
    """``_force_pass`` plus LJ 12-6 (C6, C12) of this atom pair."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    for k in range(n):
        d0 = zx[k] - ya0
        d1 = zy[k] - ya1
        d2 = zz[k] - ya2
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        ir2 = 1.0 / r2
        ir = math.sqrt(ir2)
        q = _horner16(scale * r2 - 1.0, cq)
        ir6 = ir2 * ir2 * ir2
        fs = qq * (ir * ir2 + two_b3 * q) + (12.0 * c12 * ir6 - 6.0 * c6) * ir6 * ir2
        fs = fs if r2 < rc2 else 0.0
        g0 = fs * d0
        g1 = fs * d1
        g2 = fs * d2
        a0 -= g0
        a1 -= g1
        a2 -= g2
        fx[k] += g0
        fy[k] += g1
        fz[k] += g2
    fa[0] += a0
    fa[1] += a1
    fa[2] += a2


@numba.njit(cache=True, fastmath=_FM, error_model="numpy")
def _coulomb_energy_pass(zx, zy, zz, n, ya0, ya1, ya2, qq, rc2, scale, cv):
    """U_Coul of one atom pair type: Σ qq·(1/r − Σ cv[k] uᵏ) over r < rc, with
    cv = β·cp and cv[0] += erfc(β rc)/rc (the potential shift folded in)."""
    e = 0.0
    for k in range(n):
        d0 = zx[k] - ya0
        d1 = zy[k] - ya1
        d2 = zz[k] - ya2
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        ec = qq * (1.0 / math.sqrt(r2) - _horner20(scale * r2 - 1.0, cv))
        e += ec if r2 < rc2 else 0.0
    return e


@numba.njit(cache=True, fastmath=_FM, error_model="numpy")
def _lj_energy_pass(zx, zy, zz, n, ya0, ya1, ya2, c6, c12, lj_shift, rc2):
    """U_LJ of one atom pair type; ``lj_shift`` = C12/rc¹² − C6/rc⁶ (or 0)."""
    e = 0.0
    for k in range(n):
        d0 = zx[k] - ya0
        d1 = zy[k] - ya1
        d2 = zz[k] - ya2
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        ir2 = 1.0 / r2
        ir6 = ir2 * ir2 * ir2
        el = (c12 * ir6 - c6) * ir6 - lj_shift
        e += el if r2 < rc2 else 0.0
    return e


# ---------------------------------------------------------------------------------------
# Rows and the parallel driver
# ---------------------------------------------------------------------------------------

@numba.njit(cache=True, error_model="numpy")
def _water_rows(ys, neighbours, counts, shifts, qq, c6, c12, lj_shift, rc2, far2, scale,
                beta, c_rf, cp, cq, energy, virial, lo, hi, f, out, zb, jb, fb):
    """Rows [lo, hi) into buffer f (M, 3, 3) (zeroed here); out = (U_LJ, U_Coul, W (9,))
    with W = Σ r⊗f over each row's atoms at the positions the row used (j images
    shifted), which sums to Σ_pairs d⊗F: Ξ = −½ W (only with ``virial``)."""
    f[:] = 0.0
    two_b3 = 2.0 * beta * beta * beta
    cv = beta * cp
    cv[0] += c_rf
    e_lj = 0.0
    e_coul = 0.0
    fa = np.zeros(3)
    w = np.zeros(9)
    for i in range(lo, hi):
        y00 = ys[i, 0, 0]
        y01 = ys[i, 0, 1]
        y02 = ys[i, 0, 2]
        n = 0
        for m in range(counts[i]):
            e = neighbours[i, m]
            j = e >> 5
            s = e & 31
            h0 = shifts[s, 0]
            h1 = shifts[s, 1]
            h2 = shifts[s, 2]
            c0 = ys[j, 0, 0] + h0 - y00
            c1 = ys[j, 0, 1] + h1 - y01
            c2 = ys[j, 0, 2] + h2 - y02
            jb[n] = j
            for b in range(3):
                zb[3 * b, n] = ys[j, b, 0] + h0
                zb[3 * b + 1, n] = ys[j, b, 1] + h1
                zb[3 * b + 2, n] = ys[j, b, 2] + h2
                fb[3 * b, n] = 0.0
                fb[3 * b + 1, n] = 0.0
                fb[3 * b + 2, n] = 0.0
            n += 1 if c0 * c0 + c1 * c1 + c2 * c2 < far2 else 0
        for a in range(3):
            fa[:] = 0.0
            for b in range(3):
                t = 3 * a + b
                if c6[t] != 0.0 or c12[t] != 0.0:
                    _force_pass_lj(zb[3 * b], zb[3 * b + 1], zb[3 * b + 2], fb[3 * b],
                                   fb[3 * b + 1], fb[3 * b + 2], n, ys[i, a, 0], ys[i, a, 1],
                                   ys[i, a, 2], qq[t], c6[t], c12[t], rc2, scale, two_b3,
                                   cq, fa)
                else:
                    _force_pass(zb[3 * b], zb[3 * b + 1], zb[3 * b + 2], fb[3 * b],
                                fb[3 * b + 1], fb[3 * b + 2], n, ys[i, a, 0], ys[i, a, 1],
                                ys[i, a, 2], qq[t], rc2, scale, two_b3, cq, fa)
                if energy:
                    e_coul += _coulomb_energy_pass(zb[3 * b], zb[3 * b + 1], zb[3 * b + 2],
                                                   n, ys[i, a, 0], ys[i, a, 1], ys[i, a, 2],
                                                   qq[t], rc2, scale, cv)
                    if c6[t] != 0.0 or c12[t] != 0.0:
                        e_lj += _lj_energy_pass(zb[3 * b], zb[3 * b + 1], zb[3 * b + 2], n,
                                                ys[i, a, 0], ys[i, a, 1], ys[i, a, 2], c6[t],
                                                c12[t], lj_shift[t], rc2)
            f[i, a, 0] += fa[0]
            f[i, a, 1] += fa[1]
            f[i, a, 2] += fa[2]
            if virial:
                for d in range(3):
                    for e2 in range(3):
                        w[3 * d + e2] += ys[i, a, d] * fa[e2]
        for k in range(n):
            j = jb[k]
            for b in range(3):
                f[j, b, 0] += fb[3 * b, k]
                f[j, b, 1] += fb[3 * b + 1, k]
                f[j, b, 2] += fb[3 * b + 2, k]
        if virial:
            for b in range(3):
                for d in range(3):
                    for e2 in range(3):
                        acc = 0.0
                        for k in range(n):
                            acc += zb[3 * b + d, k] * fb[3 * b + e2, k]
                        w[3 * d + e2] += acc
    out[0] = e_lj
    out[1] = e_coul
    for t in range(9):
        out[2 + t] = w[t]


@numba.njit(cache=True, parallel=True, error_model="numpy")
def water_forces(ys, neighbours, counts, shifts, qq, c6, c12, lj_shift, rc2, far2, scale,
                 beta, c_rf, cp, cq, energy, virial, bounds, buffers):
    """Forces of identical three-site molecules into ``buffers`` (chunks, M, 3, 3) (reduce
    with ``_pair_kernels.reduce_triples``); returns (U_LJ, U_Coul, W (3, 3)) [kJ/mol]: the
    energies are 0 unless ``energy``, W = Σ_pairs d⊗F (Ξ = −½ W) is 0 unless ``virial``.

    ys (M, 3, 3) molecule-list-ordered positions [nm]; qq, c6, c12, lj_shift (9,) of atom
    pair (a, b) at 3a + b (qq = f/ε_r·q_a·q_b); rc2 = rc², far2 = (rc + 2R)² [nm²];
    ``scale``, ``cp``, ``cq`` from ``ewald_polynomials``; c_rf = erfc(β rc)/rc [nm⁻¹]."""
    nch = bounds.shape[0] - 1
    energies = np.zeros((nch, 11))
    width = neighbours.shape[1] + 1
    for c in numba.prange(nch):
        zb = np.empty((9, width))
        fb = np.empty((9, width))
        jb = np.empty(width, np.int64)
        _water_rows(ys, neighbours, counts, shifts, qq, c6, c12, lj_shift, rc2, far2, scale,
                    beta, c_rf, cp, cq, energy, virial, bounds[c], bounds[c + 1],
                    buffers[c], energies[c], zb, jb, fb)
    w = np.zeros((3, 3))
    for c in range(nch):
        for t in range(9):
            w[t // 3, t % 3] += energies[c, 2 + t]
    return energies[:, 0].sum(), energies[:, 1].sum(), w
