"""numba kernels of the generic pair potential: LJ 12-6 (+ GROMACS modifiers) and Coulomb.

LJ modes: 0 = plain cutoff or potential-shift (the shift constants are zero for plain),
1 = force-switch. Coulomb: V = f·qᵢqⱼ·(1/r + k_rf r² − c_rf) (plain cutoff: k_rf = c_rf = 0).
"""

import numba
import numpy as np

LJ_SHIFT = 0
LJ_FORCE_SWITCH = 1


@numba.njit(cache=True, parallel=True)
def lj_forces(ys, order, neighbours, counts, shifts, types, n_types, c6, c12,
              rc2, vshift6, vshift12, forces_out):
    """LJ only, plain or potential-shift. Returns U_LJ [kJ/mol]; adds into forces_out."""
    n = ys.shape[0]
    energy = 0.0
    for i in numba.prange(n):
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        row = types[i] * n_types
        fx = 0.0
        fy = 0.0
        fz = 0.0
        ei = 0.0
        for m in range(counts[i]):
            e = neighbours[i, m]
            j = e >> 5
            s = e & 31
            d0 = ys[j, 0] + shifts[s, 0] - yi0
            d1 = ys[j, 1] + shifts[s, 1] - yi1
            d2 = ys[j, 2] + shifts[s, 2] - yi2
            r2 = d0 * d0 + d1 * d1 + d2 * d2
            if r2 < rc2:
                t = row + types[j]
                a6 = c6[t]
                a12 = c12[t]
                ir2 = 1.0 / r2
                ir6 = ir2 * ir2 * ir2
                v6 = a6 * ir6
                v12 = a12 * ir6 * ir6
                ei += v12 - v6 - (a12 * vshift12 - a6 * vshift6)
                fs = (12.0 * v12 - 6.0 * v6) * ir2
                fx -= fs * d0
                fy -= fs * d1
                fz -= fs * d2
        p = order[i]
        forces_out[p, 0] += fx
        forces_out[p, 1] += fy
        forces_out[p, 2] += fz
        energy += ei
    return 0.5 * energy


@numba.njit(cache=True, inline="always")
def _switched(r, ir, alpha, r1, a, b, c):
    """Force-switched r^-alpha: returns (Φ(r), F(r) = −dΦ/dr) for the GROMACS force switch."""
    ira = ir ** alpha
    if r <= r1:
        return ira - c, alpha * ira * ir
    dr = r - r1
    dr2 = dr * dr
    return (ira - a / 3.0 * dr2 * dr - b / 4.0 * dr2 * dr2 - c,
            alpha * ira * ir + a * dr2 + b * dr2 * dr)


@numba.njit(cache=True, parallel=True)
def lj_coulomb_forces(ys, order, neighbours, counts, shifts, types, n_types, c6, c12,
                      charges, rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6, sw12,
                      rc_coul2, coul_prefactor, k_rf, c_rf, forces_out):
    """General LJ (shift or force-switch) + Coulomb (cutoff/RF). Returns (U_LJ, U_Coul).

    ``sw6``/``sw12`` are the (A, B, C) force-switch constants for r⁻⁶ and r⁻¹².
    """
    n = ys.shape[0]
    e_lj = 0.0
    e_coul = 0.0
    has_lj = rc_lj2 > 0.0
    has_coul = rc_coul2 > 0.0
    for i in numba.prange(n):
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        row = types[i] * n_types
        qi = charges[i] * coul_prefactor
        fx = 0.0
        fy = 0.0
        fz = 0.0
        elj = 0.0
        ecl = 0.0
        for m in range(counts[i]):
            e = neighbours[i, m]
            j = e >> 5
            s = e & 31
            d0 = ys[j, 0] + shifts[s, 0] - yi0
            d1 = ys[j, 1] + shifts[s, 1] - yi1
            d2 = ys[j, 2] + shifts[s, 2] - yi2
            r2 = d0 * d0 + d1 * d1 + d2 * d2
            fs = 0.0
            if has_lj and r2 < rc_lj2:
                t = row + types[j]
                a6 = c6[t]
                a12 = c12[t]
                if lj_mode == LJ_FORCE_SWITCH:
                    r = np.sqrt(r2)
                    ir = 1.0 / r
                    p6, f6 = _switched(r, ir, 6.0, rsw, sw6[0], sw6[1], sw6[2])
                    p12, f12 = _switched(r, ir, 12.0, rsw, sw12[0], sw12[1], sw12[2])
                    elj += a12 * p12 - a6 * p6
                    fs += (a12 * f12 - a6 * f6) * ir
                else:
                    ir2 = 1.0 / r2
                    ir6 = ir2 * ir2 * ir2
                    v6 = a6 * ir6
                    v12 = a12 * ir6 * ir6
                    elj += v12 - v6 - (a12 * vshift12 - a6 * vshift6)
                    fs += (12.0 * v12 - 6.0 * v6) * ir2
            if has_coul and r2 < rc_coul2:
                qq = qi * charges[j]
                if qq != 0.0:
                    ir = 1.0 / np.sqrt(r2)
                    ecl += qq * (ir + k_rf * r2 - c_rf)
                    fs += qq * (ir * ir * ir - 2.0 * k_rf)
            fx -= fs * d0
            fy -= fs * d1
            fz -= fs * d2
        p = order[i]
        forces_out[p, 0] += fx
        forces_out[p, 1] += fy
        forces_out[p, 2] += fz
        e_lj += elj
        e_coul += ecl
    return 0.5 * e_lj, 0.5 * e_coul
