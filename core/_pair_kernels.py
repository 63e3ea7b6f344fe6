"""numba kernels of the generic pair potential: LJ 12-6 (+ GROMACS modifiers) and Coulomb.

All kernels walk the half neighbour list (see ``neighbours.py``): a ``prange`` over
chunks of slots, each chunk adding forces (Newton's third law) into its own buffer;
the caller reduces the buffers with ``NeighbourList.reduce_forces``.

LJ modes: 0 = plain cutoff or potential-shift (the shift constants are zero for plain),
1 = force-switch. Coulomb modes: 0 = reaction field / cutoff,
V = f·qᵢqⱼ·(1/r + k_rf r² − c_rf) (plain cutoff: k_rf = c_rf = 0); 1 = Ewald real space,
V = f·qᵢqⱼ·(erfc(βr)/r − c_rf) with c_rf = erfc(β·rc)/rc for GROMACS's potential shift;
erfc(βr) and exp(−β²r²) come from piecewise polynomials (``erfc_exp``, relative error
≤ 3e-13 for βr < 3.5), a third of the cost of ``math.erfc`` + ``math.exp``.
"""

import math

import numba
import numpy as np

LJ_SHIFT = 0
LJ_FORCE_SWITCH = 1
COUL_RF = 0
COUL_EWALD = 1


@numba.njit(cache=True, error_model="numpy")
def _lj_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12, rc2, vshift6,
             vshift12, lo, hi, f):
    """LJ over slots [lo, hi) into buffer f (zeroed here). Branch-free inner loop."""
    f[:] = 0.0
    energy = 0.0
    for i in range(lo, hi):
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
            t = row + types[j]
            inside = 1.0 if r2 < rc2 else 0.0
            ir2 = inside / r2
            ir6 = ir2 * ir2 * ir2
            a6 = c6[t]
            a12 = c12[t]
            v6 = a6 * ir6
            v12 = a12 * ir6 * ir6
            ei += v12 - v6 - inside * (a12 * vshift12 - a6 * vshift6)
            fs = (12.0 * v12 - 6.0 * v6) * ir2
            fx -= fs * d0
            fy -= fs * d1
            fz -= fs * d2
            f[j, 0] += fs * d0
            f[j, 1] += fs * d1
            f[j, 2] += fs * d2
        f[i, 0] += fx
        f[i, 1] += fy
        f[i, 2] += fz
        energy += ei
    return energy


@numba.njit(cache=True, parallel=True, error_model="numpy")
def lj_forces(ys, neighbours, counts, shifts, types, n_types, c6, c12, rc2, vshift6,
              vshift12, bounds, buffers):
    """LJ only, plain or potential-shift. Returns U_LJ [kJ/mol]; forces in ``buffers``."""
    nch = bounds.shape[0] - 1
    energies = np.zeros(nch)
    for c in numba.prange(nch):
        energies[c] = _lj_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12, rc2,
                               vshift6, vshift12, bounds[c], bounds[c + 1], buffers[c])
    return energies.sum()


#: fast-math flags of the SIMD pass: reassociation of the sums and FMA contraction only
#: (no "nnan"/"ninf", no approximate functions)
_FM = {"reassoc", "contract", "nsz"}


@numba.njit(cache=True, fastmath=_FM, error_model="numpy")
def _lj1_pass(dx, dy, dz, gx, gy, gz, n, a6, a12, vshift, fa):
    """LJ of one row's packed pairs (all within rc): gx, gy, gz (n,) = the force on each
    partner, fa (3,) = the force on the row's particle; returns the energy. No gathers,
    no branches: LLVM turns it into SIMD code. The forces-only and the virial kernels both
    run this one function, so their forces are bit-identical."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    e = 0.0
    for k in range(n):
        d0 = dx[k]
        d1 = dy[k]
        d2 = dz[k]
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        ir2 = 1.0 / r2
        ir6 = ir2 * ir2 * ir2
        v6 = a6 * ir6
        v12 = a12 * ir6 * ir6
        e += v12 - v6 - vshift
        fs = (12.0 * v12 - 6.0 * v6) * ir2
        g0 = fs * d0
        g1 = fs * d1
        g2 = fs * d2
        a0 -= g0
        a1 -= g1
        a2 -= g2
        gx[k] = g0
        gy[k] = g1
        gz[k] = g2
    fa[0] = a0
    fa[1] = a1
    fa[2] = a2
    return e


@numba.njit(cache=True, inline="always")
def _scatter_row(f, i, jb, gx, gy, gz, n, fa):
    """Add a packed row's partner forces (gx, gy, gz)[:n] at jb[:n] and fa at i."""
    for k in range(n):
        j = jb[k]
        f[j, 0] += gx[k]
        f[j, 1] += gy[k]
        f[j, 2] += gz[k]
    f[i, 0] += fa[0]
    f[i, 1] += fa[1]
    f[i, 2] += fa[2]


@numba.njit(cache=True, inline="always")
def _row_virial(dx, dy, dz, gx, gy, gz, n):
    """Σ F⊗d over a packed row, upper triangle (xx, xy, xz, yy, yz, zz)."""
    w00 = w01 = w02 = w11 = w12 = w22 = 0.0
    for k in range(n):
        w00 += gx[k] * dx[k]
        w01 += gx[k] * dy[k]
        w02 += gx[k] * dz[k]
        w11 += gy[k] * dy[k]
        w12 += gy[k] * dz[k]
        w22 += gz[k] * dz[k]
    return w00, w01, w02, w11, w12, w22


@numba.njit(cache=True, error_model="numpy")
def _lj1_rows(ys, neighbours, counts, n_zero, shifts, a6, a12, rc2, vshift, lo, hi, f,
              scratch, jb, virial, out):
    """``_lj_rows`` for a single particle type (C6, C12 and V(rc) scalars), in three
    passes per row: pack the partners within rc (pair vectors, image applied; branch-free
    compaction), the SIMD ``_lj1_pass`` over them, scatter the partner forces (and with
    ``virial`` sum F⊗d). out (7,) = (U, Σ F⊗d upper triangle: xx, xy, xz, yy, yz, zz)."""
    f[:] = 0.0
    dx = scratch[0]
    dy = scratch[1]
    dz = scratch[2]
    gx = scratch[3]
    gy = scratch[4]
    gz = scratch[5]
    fa = np.zeros(3)
    energy = 0.0
    w00 = w01 = w02 = w11 = w12 = w22 = 0.0
    for i in range(lo, hi):
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        n = 0
        nz = n_zero[i]
        for m in range(nz):               # the zero image shift (see neighbours.py)
            j = neighbours[i, m] >> 5
            d0 = ys[j, 0] - yi0
            d1 = ys[j, 1] - yi1
            d2 = ys[j, 2] - yi2
            dx[n] = d0
            dy[n] = d1
            dz[n] = d2
            jb[n] = j
            n += d0 * d0 + d1 * d1 + d2 * d2 < rc2
        for m in range(nz, counts[i]):
            e = neighbours[i, m]
            j = e >> 5
            s = e & 31
            d0 = ys[j, 0] + shifts[s, 0] - yi0
            d1 = ys[j, 1] + shifts[s, 1] - yi1
            d2 = ys[j, 2] + shifts[s, 2] - yi2
            dx[n] = d0
            dy[n] = d1
            dz[n] = d2
            jb[n] = j
            n += d0 * d0 + d1 * d1 + d2 * d2 < rc2
        energy += _lj1_pass(dx, dy, dz, gx, gy, gz, n, a6, a12, vshift, fa)
        _scatter_row(f, i, jb, gx, gy, gz, n, fa)
        if virial:
            v00, v01, v02, v11, v12, v22 = _row_virial(dx, dy, dz, gx, gy, gz, n)
            w00 += v00
            w01 += v01
            w02 += v02
            w11 += v11
            w12 += v12
            w22 += v22
    out[0] = energy
    out[1] = w00
    out[2] = w01
    out[3] = w02
    out[4] = w11
    out[5] = w12
    out[6] = w22


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _lj1_chunks(ys, neighbours, counts, n_zero, shifts, a6, a12, rc2, vshift, bounds,
                buffers, virial):
    nch = bounds.shape[0] - 1
    cap = neighbours.shape[1]
    out = np.zeros((nch, 7))
    for c in numba.prange(nch):
        scratch = np.empty((6, cap))
        jb = np.empty(cap, np.int64)
        _lj1_rows(ys, neighbours, counts, n_zero, shifts, a6, a12, rc2, vshift, bounds[c],
                  bounds[c + 1], buffers[c], scratch, jb, virial, out[c])
    return out


@numba.njit(cache=True, error_model="numpy")
def lj1_forces(ys, neighbours, counts, n_zero, shifts, a6, a12, rc2, vshift, bounds,
               buffers):
    """LJ for one particle type (simple fluids, CG water): scalar parameters; returns
    U_LJ [kJ/mol], forces in ``buffers`` (see ``lj_forces``). ``n_zero`` (N,): the
    list's ``n_zero_shift`` (rows list their zero-shift entries first)."""
    out = _lj1_chunks(ys, neighbours, counts, n_zero, shifts, a6, a12, rc2, vshift, bounds,
                      buffers, False)
    e = 0.0
    for c in range(out.shape[0]):
        e += out[c, 0]
    return e


def lj1_virial(ys, neighbours, counts, n_zero, shifts, a6, a12, rc2, vshift, bounds,
               buffers):
    """``lj1_forces`` plus the pair virial: (U_LJ, Ξ (3, 3)); the same forces, bit for
    bit (one kernel)."""
    s = _lj1_chunks(ys, neighbours, counts, n_zero, shifts, a6, a12, rc2, vshift, bounds,
                    buffers, True).sum(axis=0)
    return s[0], _virial_from_sums(s[1:])


@numba.njit(cache=True, fastmath=_FM, error_model="numpy")
def _ljrf_pass(dx, dy, dz, p6, p12, pv, pq, gx, gy, gz, n, k_rf, c_rf, fa, e2):
    """Shifted LJ + reaction field of one row's packed pairs (all within rc): per pair
    C6 ``p6``, C12 ``p12``, LJ shift ``pv`` and ``pq`` = f/ε_r·q_i·q_j (0 for neutral
    pairs: branch-free); partner forces into gx, gy, gz, the row particle's into fa (3,),
    energies into e2 (2,) = (U_LJ, U_Coul). SIMD like ``_lj1_pass``."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    elj = 0.0
    ec = 0.0
    for k in range(n):
        d0 = dx[k]
        d1 = dy[k]
        d2 = dz[k]
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        ir2 = 1.0 / r2
        ir = np.sqrt(ir2)
        ir6 = ir2 * ir2 * ir2
        v6 = p6[k] * ir6
        v12 = p12[k] * ir6 * ir6
        qq = pq[k]
        elj += v12 - v6 - pv[k]
        ec += qq * (ir + k_rf * r2 - c_rf)
        fs = (12.0 * v12 - 6.0 * v6) * ir2 + qq * (ir * ir2 - 2.0 * k_rf)
        g0 = fs * d0
        g1 = fs * d1
        g2 = fs * d2
        a0 -= g0
        a1 -= g1
        a2 -= g2
        gx[k] = g0
        gy[k] = g1
        gz[k] = g2
    fa[0] = a0
    fa[1] = a1
    fa[2] = a2
    e2[0] += elj
    e2[1] += ec


@numba.njit(cache=True, error_model="numpy")
def _ljrf_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12, vshift6,
               vshift12, q, coul_prefactor, rc2, k_rf, c_rf, lo, hi, f, scratch, jb,
               virial, out):
    """``_lj1_rows`` for many particle types and charges (shifted LJ + reaction field,
    one cutoff: Martini's setup): pack, ``_ljrf_pass``, scatter. out (8,) = (U_LJ,
    U_Coul, Σ F⊗d upper triangle)."""
    f[:] = 0.0
    dx = scratch[0]
    dy = scratch[1]
    dz = scratch[2]
    gx = scratch[3]
    gy = scratch[4]
    gz = scratch[5]
    p6 = scratch[6]
    p12 = scratch[7]
    pv = scratch[8]
    pq = scratch[9]
    fa = np.zeros(3)
    e2 = np.zeros(2)
    w00 = w01 = w02 = w11 = w12 = w22 = 0.0
    for i in range(lo, hi):
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        row = types[i] * n_types
        qi = q[i] * coul_prefactor
        n = 0
        for m in range(counts[i]):
            e = neighbours[i, m]
            j = e >> 5
            s = e & 31
            d0 = ys[j, 0] + shifts[s, 0] - yi0
            d1 = ys[j, 1] + shifts[s, 1] - yi1
            d2 = ys[j, 2] + shifts[s, 2] - yi2
            t = row + types[j]
            a6 = c6[t]
            a12 = c12[t]
            dx[n] = d0
            dy[n] = d1
            dz[n] = d2
            p6[n] = a6
            p12[n] = a12
            pv[n] = a12 * vshift12 - a6 * vshift6
            pq[n] = qi * q[j]
            jb[n] = j
            n += d0 * d0 + d1 * d1 + d2 * d2 < rc2
        _ljrf_pass(dx, dy, dz, p6, p12, pv, pq, gx, gy, gz, n, k_rf, c_rf, fa, e2)
        _scatter_row(f, i, jb, gx, gy, gz, n, fa)
        if virial:
            v00, v01, v02, v11, v12, v22 = _row_virial(dx, dy, dz, gx, gy, gz, n)
            w00 += v00
            w01 += v01
            w02 += v02
            w11 += v11
            w12 += v12
            w22 += v22
    out[0] = e2[0]
    out[1] = e2[1]
    out[2] = w00
    out[3] = w01
    out[4] = w02
    out[5] = w11
    out[6] = w12
    out[7] = w22


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _ljrf_chunks(ys, neighbours, counts, shifts, types, n_types, c6, c12, vshift6,
                 vshift12, q, coul_prefactor, rc2, k_rf, c_rf, bounds, buffers, virial):
    nch = bounds.shape[0] - 1
    cap = neighbours.shape[1]
    out = np.zeros((nch, 8))
    for c in numba.prange(nch):
        scratch = np.empty((10, cap))
        jb = np.empty(cap, np.int64)
        _ljrf_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                   vshift6, vshift12, q, coul_prefactor, rc2, k_rf, c_rf, bounds[c],
                   bounds[c + 1], buffers[c], scratch, jb, virial, out[c])
    return out


def ljrf_forces(ys, neighbours, counts, shifts, types, n_types, c6, c12, vshift6,
                vshift12, q, coul_prefactor, rc2, k_rf, c_rf, bounds, buffers):
    """Shifted (or plain: zero shifts) LJ + reaction field (or plain cutoff: RF with
    ε_rf = 1) with one cutoff, any number of types: (U_LJ, U_Coul) [kJ/mol], forces in
    ``buffers``. The SIMD form of ``lj_coulomb_forces`` for that case (Martini)."""
    s = _ljrf_chunks(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                     vshift6, vshift12, q, coul_prefactor, rc2, k_rf, c_rf, bounds, buffers,
                     False).sum(axis=0)
    return s[0], s[1]


def ljrf_virial(ys, neighbours, counts, shifts, types, n_types, c6, c12, vshift6,
                vshift12, q, coul_prefactor, rc2, k_rf, c_rf, bounds, buffers):
    """``ljrf_forces`` plus the pair virial: (U_LJ, U_Coul, Ξ (3, 3)); the same forces,
    bit for bit."""
    s = _ljrf_chunks(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                     vshift6, vshift12, q, coul_prefactor, rc2, k_rf, c_rf, bounds, buffers,
                     True).sum(axis=0)
    return s[0], s[1], _virial_from_sums(s[2:])


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


@numba.njit(cache=True, error_model="numpy")
def _lj_coulomb_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12, charges,
                     rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6, sw12, rc_coul2,
                     coul_prefactor, k_rf, c_rf, coul_mode, beta, lo, hi, f, out):
    f[:] = 0.0
    beta_pi = 2.0 * beta / math.sqrt(math.pi)
    e_lj = 0.0
    e_coul = 0.0
    has_lj = rc_lj2 > 0.0
    has_coul = rc_coul2 > 0.0
    for i in range(lo, hi):
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        row = types[i] * n_types
        qi = charges[i] * coul_prefactor
        fx = 0.0
        fy = 0.0
        fz = 0.0
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
                    e_lj += a12 * p12 - a6 * p6
                    fs += (a12 * f12 - a6 * f6) * ir
                else:
                    ir2 = 1.0 / r2
                    ir6 = ir2 * ir2 * ir2
                    v6 = a6 * ir6
                    v12 = a12 * ir6 * ir6
                    e_lj += v12 - v6 - (a12 * vshift12 - a6 * vshift6)
                    fs += (12.0 * v12 - 6.0 * v6) * ir2
            if has_coul and r2 < rc_coul2:
                qq = qi * charges[j]
                if qq != 0.0:
                    ir = 1.0 / np.sqrt(r2)
                    if coul_mode == COUL_EWALD:
                        erfc_v, ex = erfc_exp(beta * r2 * ir, _ERFC_TAB, _ERFC_INV_H)
                        erfc_r = erfc_v * ir
                        e_coul += qq * (erfc_r - c_rf)
                        fs += qq * (erfc_r + beta_pi * ex) * ir * ir
                    else:
                        e_coul += qq * (ir + k_rf * r2 - c_rf)
                        fs += qq * (ir * ir * ir - 2.0 * k_rf)
            fx -= fs * d0
            fy -= fs * d1
            fz -= fs * d2
            f[j, 0] += fs * d0
            f[j, 1] += fs * d1
            f[j, 2] += fs * d2
        f[i, 0] += fx
        f[i, 1] += fy
        f[i, 2] += fz
    out[0] = e_lj
    out[1] = e_coul


@numba.njit(cache=True, parallel=True, error_model="numpy")
def lj_coulomb_forces(ys, neighbours, counts, shifts, types, n_types, c6, c12, charges,
                      rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6, sw12, rc_coul2,
                      coul_prefactor, k_rf, c_rf, bounds, buffers, coul_mode=COUL_RF,
                      beta=0.0):
    """General LJ (shift or force-switch) + Coulomb (cutoff/RF/Ewald real space).
    Returns (U_LJ, U_Coul).

    ``sw6``/``sw12`` are the (A, B, C) force-switch constants for r⁻⁶ and r⁻¹²;
    ``coul_mode`` COUL_RF or COUL_EWALD (then ``beta`` [nm⁻¹] and shift ``c_rf``).
    """
    nch = bounds.shape[0] - 1
    energies = np.zeros((nch, 2))
    for c in numba.prange(nch):
        _lj_coulomb_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12, charges,
                         rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6, sw12, rc_coul2,
                         coul_prefactor, k_rf, c_rf, coul_mode, beta, bounds[c],
                         bounds[c + 1], buffers[c], energies[c])
    return energies[:, 0].sum(), energies[:, 1].sum()


@numba.njit(cache=True)
def rf_exclusion_correction(x, q, pairs, box, inv_box, prefactor, k_rf, c_rf, rc2, forces_out):
    """GROMACS Verlet-scheme reaction field for excluded pairs within rc:
    f·qᵢqⱼ·(k_rf r² − c_rf) (no 1/r), minimum image. Adds forces, returns the energy."""
    energy = 0.0
    for p in range(pairs.shape[0]):
        i = pairs[p, 0]
        j = pairs[p, 1]
        qq = prefactor * q[i] * q[j]
        d0 = x[j, 0] - x[i, 0]
        d1 = x[j, 1] - x[i, 1]
        d2 = x[j, 2] - x[i, 2]
        s0 = d0 * inv_box[0, 0] + d1 * inv_box[1, 0] + d2 * inv_box[2, 0]
        s1 = d0 * inv_box[0, 1] + d1 * inv_box[1, 1] + d2 * inv_box[2, 1]
        s2 = d0 * inv_box[0, 2] + d1 * inv_box[1, 2] + d2 * inv_box[2, 2]
        s0 -= math.floor(s0 + 0.5)
        s1 -= math.floor(s1 + 0.5)
        s2 -= math.floor(s2 + 0.5)
        d0 = s0 * box[0, 0] + s1 * box[1, 0] + s2 * box[2, 0]
        d1 = s0 * box[0, 1] + s1 * box[1, 1] + s2 * box[2, 1]
        d2 = s0 * box[0, 2] + s1 * box[1, 2] + s2 * box[2, 2]
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        if r2 >= rc2:
            continue
        energy += qq * (k_rf * r2 - c_rf)
        fs = -2.0 * qq * k_rf  # force on j along d: −dV/dr·d/r
        forces_out[i, 0] -= fs * d0
        forces_out[i, 1] -= fs * d1
        forces_out[i, 2] -= fs * d2
        forces_out[j, 0] += fs * d0
        forces_out[j, 1] += fs * d1
        forces_out[j, 2] += fs * d2
    return energy


# ---------------------------------------------------------------------------------------
# Fast erfc(x) and exp(−x²) for the Ewald real space: piecewise polynomials
# ---------------------------------------------------------------------------------------

#: interval width, polynomial degree and range of ``erfc_exp_table``; beyond ``ERFC_XMAX``
#: the kernels fall back to ``math.erfc``/``math.exp`` (never reached for βr < β·rc ≈ 3.1)
ERFC_H = 0.03125
ERFC_DEGREE = 6
ERFC_XMAX = 6.0


def erfc_exp_table(h=ERFC_H, xmax=ERFC_XMAX):
    """Coefficients (n, degree + 1, 2) of erfc(x) ([..., 0]) and exp(−x²) ([..., 1]) on
    intervals [k h, (k + 1) h), k < n = xmax / h, as power series in u = 2(x − x_mid)/h ∈
    [−1, 1] (Chebyshev interpolation on 40 nodes from ``math.erfc``/``math.exp``).

    h = 1/32, degree 6: relative error ≤ 3e-11 on [0, 6] and ≤ 3e-13 on [0, 3.5]
    (``tests/core/test_erfc.py``). Evaluate with ``erfc_exp``.
    """
    degree = ERFC_DEGREE
    n = int(round(xmax / h))
    nodes = 40
    u = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    x = (np.arange(n)[:, None] + 0.5) * h + 0.5 * h * u[None, :]       # (n, nodes)
    y = np.stack([np.vectorize(math.erfc)(x), np.exp(-x * x)])          # (2, n, nodes)
    # least-squares Chebyshev fit on the nodes, then Chebyshev → power basis (both linear)
    fit = np.linalg.pinv(np.polynomial.chebyshev.chebvander(u, degree))  # (deg+1, nodes)
    to_power = np.zeros((degree + 1, degree + 1))                        # (power, cheb)
    for m in range(degree + 1):
        c = np.polynomial.chebyshev.cheb2poly(np.eye(degree + 1)[m])
        to_power[:len(c), m] = c
    coef = np.einsum("pq,qk,fnk->npf", to_power, fit, y)
    return np.ascontiguousarray(coef)


@numba.njit(cache=True, inline="always")
def erfc_exp(x, tab, inv_h):
    """(erfc(x), exp(−x²)) for x ≥ 0 from ``erfc_exp_table()`` (degree 6; ``inv_h`` = 1/h)."""
    k = int(x * inv_h)
    if k >= tab.shape[0]:
        return math.erfc(x), math.exp(-x * x)
    u = 2.0 * x * inv_h - (2 * k + 1)
    c = tab[k]
    # Estrin's scheme: a short dependency chain (Horner's is six multiply-adds deep)
    u2 = u * u
    u4 = u2 * u2
    pe = ((c[0, 0] + c[1, 0] * u) + (c[2, 0] + c[3, 0] * u) * u2
          + ((c[4, 0] + c[5, 0] * u) + c[6, 0] * u2) * u4)
    px = ((c[0, 1] + c[1, 1] * u) + (c[2, 1] + c[3, 1] * u) * u2
          + ((c[4, 1] + c[5, 1] * u) + c[6, 1] * u2) * u4)
    return pe, px


#: the table the kernels use (a constant of the compiled code)
_ERFC_TAB = erfc_exp_table()
_ERFC_INV_H = 1.0 / ERFC_H


@numba.njit(cache=True, error_model="numpy")
def erfc_exp_array(x, tab, inv_h, out):
    """Vectorised ``erfc_exp`` (for tests): out[:, 0] = erfc(x), out[:, 1] = exp(−x²)."""
    for i in range(x.shape[0]):
        a, b = erfc_exp(x[i], tab, inv_h)
        out[i, 0] = a
        out[i, 1] = b


# ---------------------------------------------------------------------------------------
# Three-site molecules (rigid water) with Ewald real space: a molecule-pair kernel
# ---------------------------------------------------------------------------------------

@numba.njit(cache=True, error_model="numpy")
def gather_triples(x, order, offsets, box, inv_box, ys):
    """ys[k, a] = position of atom a of molecule order[k], its first atom wrapped as in
    the molecule list (``offsets``) and the others at the minimum image from it.
    Returns the largest distance² of an atom from its molecule's first atom."""
    most = 0.0
    for k in range(order.shape[0]):
        m = order[k]
        o = 3 * m
        c0 = x[o, 0] + offsets[m, 0]
        c1 = x[o, 1] + offsets[m, 1]
        c2 = x[o, 2] + offsets[m, 2]
        ys[k, 0, 0] = c0
        ys[k, 0, 1] = c1
        ys[k, 0, 2] = c2
        for a in range(1, 3):
            d0 = x[o + a, 0] - x[o, 0]
            d1 = x[o + a, 1] - x[o, 1]
            d2 = x[o + a, 2] - x[o, 2]
            s0 = d0 * inv_box[0, 0] + d1 * inv_box[1, 0] + d2 * inv_box[2, 0]
            s1 = d0 * inv_box[0, 1] + d1 * inv_box[1, 1] + d2 * inv_box[2, 1]
            s2 = d0 * inv_box[0, 2] + d1 * inv_box[1, 2] + d2 * inv_box[2, 2]
            s0 = math.floor(s0 + 0.5)
            s1 = math.floor(s1 + 0.5)
            s2 = math.floor(s2 + 0.5)
            d0 -= s0 * box[0, 0] + s1 * box[1, 0] + s2 * box[2, 0]
            d1 -= s0 * box[0, 1] + s1 * box[1, 1] + s2 * box[2, 1]
            d2 -= s0 * box[0, 2] + s1 * box[1, 2] + s2 * box[2, 2]
            ys[k, a, 0] = c0 + d0
            ys[k, a, 1] = c1 + d1
            ys[k, a, 2] = c2 + d2
            r2 = d0 * d0 + d1 * d1 + d2 * d2
            if r2 > most:
                most = r2
    return most


@numba.njit(cache=True, error_model="numpy")
def _ewald_lj_triples_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12, lj_on,
                           qs, coul_prefactor, rc2, far2, near2, vshift6, vshift12, c_rf, beta,
                           tab, inv_h, lo, hi, f, out):
    """Molecule pairs of slots [lo, hi): all 9 atom pairs, r < rc, LJ (shift) + Ewald."""
    f[:] = 0.0
    beta_pi = 2.0 * beta / math.sqrt(math.pi)
    e_lj = 0.0
    e_coul = 0.0
    for i in range(lo, hi):
        for m in range(counts[i]):
            e = neighbours[i, m]
            j = e >> 5
            s = e & 31
            c0 = ys[j, 0, 0] + shifts[s, 0] - ys[i, 0, 0]
            c1 = ys[j, 0, 1] + shifts[s, 1] - ys[i, 0, 1]
            c2 = ys[j, 0, 2] + shifts[s, 2] - ys[i, 0, 2]
            oo2 = c0 * c0 + c1 * c1 + c2 * c2
            if oo2 >= far2:
                continue                 # first atoms ≥ rc + 2R apart: no pair within rc
            inside = oo2 < near2          # ≤ rc − 2R apart: all nine pairs within rc
            for a in range(3):
                # atom a of i, moved by −shift: d = y_j,b − (y_i,a − shift)
                x0 = ys[i, a, 0] - shifts[s, 0]
                x1 = ys[i, a, 1] - shifts[s, 1]
                x2 = ys[i, a, 2] - shifts[s, 2]
                qa = qs[i, a] * coul_prefactor
                row = types[i, a] * n_types
                fx = 0.0
                fy = 0.0
                fz = 0.0
                for b in range(3):
                    d0 = ys[j, b, 0] - x0
                    d1 = ys[j, b, 1] - x1
                    d2 = ys[j, b, 2] - x2
                    r2 = d0 * d0 + d1 * d1 + d2 * d2
                    if not inside and r2 >= rc2:
                        continue
                    fs = 0.0
                    t = row + types[j, b]
                    if lj_on[t]:
                        a6 = c6[t]
                        a12 = c12[t]
                        ir2 = 1.0 / r2
                        ir6 = ir2 * ir2 * ir2
                        v6 = a6 * ir6
                        v12 = a12 * ir6 * ir6
                        e_lj += v12 - v6 - (a12 * vshift12 - a6 * vshift6)
                        fs = (12.0 * v12 - 6.0 * v6) * ir2
                    qq = qa * qs[j, b]
                    if qq != 0.0:
                        ir = 1.0 / math.sqrt(r2)
                        erfc_v, ex = erfc_exp(beta * r2 * ir, tab, inv_h)
                        erfc_r = erfc_v * ir
                        e_coul += qq * (erfc_r - c_rf)
                        fs += qq * (erfc_r + beta_pi * ex) * ir * ir
                    fx -= fs * d0
                    fy -= fs * d1
                    fz -= fs * d2
                    f[j, b, 0] += fs * d0
                    f[j, b, 1] += fs * d1
                    f[j, b, 2] += fs * d2
                f[i, a, 0] += fx
                f[i, a, 1] += fy
                f[i, a, 2] += fz
    out[0] = e_lj
    out[1] = e_coul


@numba.njit(cache=True, parallel=True, error_model="numpy")
def ewald_lj_triples_forces(ys, neighbours, counts, shifts, types, n_types, c6, c12, lj_on,
                            qs, coul_prefactor, rc2, far2, near2, vshift6, vshift12, c_rf, beta,
                            tab, inv_h, bounds, buffers):
    """LJ (plain / potential-shift) + Ewald real space between three-site molecules over a
    half list of molecules (slots: ``ys`` (M, 3, 3) from ``gather_triples``; ``types``,
    ``qs`` (M, 3) charges [e] per slot,
    ``coul_prefactor`` f/ε_r; ``far2`` (rc + 2R)², R the largest atom–first-atom
    distance, beyond which a molecule pair is skipped, ``near2`` (rc − 2R)² within which
    all nine pairs are inside rc (no test); ``lj_on`` (T·T,) C6 or C12 ≠ 0).
    Returns (U_LJ, U_Coul); forces in ``buffers`` (n_chunks, M, 3, 3)."""
    nch = bounds.shape[0] - 1
    energies = np.zeros((nch, 2))
    for c in numba.prange(nch):
        _ewald_lj_triples_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                               lj_on, qs, coul_prefactor, rc2, far2, near2, vshift6, vshift12,
                               c_rf, beta, tab, inv_h, bounds[c], bounds[c + 1], buffers[c],
                               energies[c])
    return energies[:, 0].sum(), energies[:, 1].sum()


@numba.njit(cache=True, parallel=True, error_model="numpy")
def reduce_triples(buffers, order, forces_out):
    """forces_out[3·order[k] + a] += Σ_c buffers[c, k, a] (fixed order)."""
    nch = buffers.shape[0]
    for k in numba.prange(order.shape[0]):
        p = 3 * order[k]
        for a in range(3):
            for d in range(3):
                acc = 0.0
                for c in range(nch):
                    acc += buffers[c, k, a, d]
                forces_out[p + a, d] += acc



# ---------------------------------------------------------------------------------------
# Virial variants: the same pair physics plus Ξ = −½ Σ_pairs fs·d⊗d (GROMACS convention),
# used only on steps that need the virial, so the kernels above stay as they are
# ---------------------------------------------------------------------------------------

@numba.njit(cache=True, error_model="numpy")
def _lj_coulomb_virial_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12, charges,
                            rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6, sw12, rc_coul2,
                            coul_prefactor, k_rf, c_rf, coul_mode, beta, lo, hi, f, out):
    f[:] = 0.0
    beta_pi = 2.0 * beta / math.sqrt(math.pi)
    e_lj = 0.0
    e_coul = 0.0
    w00 = w01 = w02 = w11 = w12 = w22 = 0.0
    has_lj = rc_lj2 > 0.0
    has_coul = rc_coul2 > 0.0
    for i in range(lo, hi):
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        row = types[i] * n_types
        qi = charges[i] * coul_prefactor
        fx = 0.0
        fy = 0.0
        fz = 0.0
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
                    e_lj += a12 * p12 - a6 * p6
                    fs += (a12 * f12 - a6 * f6) * ir
                else:
                    ir2 = 1.0 / r2
                    ir6 = ir2 * ir2 * ir2
                    v6 = a6 * ir6
                    v12 = a12 * ir6 * ir6
                    e_lj += v12 - v6 - (a12 * vshift12 - a6 * vshift6)
                    fs += (12.0 * v12 - 6.0 * v6) * ir2
            if has_coul and r2 < rc_coul2:
                qq = qi * charges[j]
                if qq != 0.0:
                    ir = 1.0 / np.sqrt(r2)
                    if coul_mode == COUL_EWALD:
                        erfc_v, ex = erfc_exp(beta * r2 * ir, _ERFC_TAB, _ERFC_INV_H)
                        erfc_r = erfc_v * ir
                        e_coul += qq * (erfc_r - c_rf)
                        fs += qq * (erfc_r + beta_pi * ex) * ir * ir
                    else:
                        e_coul += qq * (ir + k_rf * r2 - c_rf)
                        fs += qq * (ir * ir * ir - 2.0 * k_rf)
            fx -= fs * d0
            fy -= fs * d1
            fz -= fs * d2
            f[j, 0] += fs * d0
            f[j, 1] += fs * d1
            f[j, 2] += fs * d2
            w00 += fs * d0 * d0
            w01 += fs * d0 * d1
            w02 += fs * d0 * d2
            w11 += fs * d1 * d1
            w12 += fs * d1 * d2
            w22 += fs * d2 * d2
        f[i, 0] += fx
        f[i, 1] += fy
        f[i, 2] += fz
    out[0] = e_lj
    out[1] = e_coul
    out[2] = w00
    out[3] = w01
    out[4] = w02
    out[5] = w11
    out[6] = w12
    out[7] = w22


def _virial_from_sums(acc):
    """(3, 3) Ξ = −½ Σ fs d⊗d from the summed upper triangle (xx, xy, xz, yy, yz, zz)."""
    v = np.empty((3, 3))
    v[0, 0], v[0, 1], v[0, 2], v[1, 1], v[1, 2], v[2, 2] = acc
    v[1, 0], v[2, 0], v[2, 1] = v[0, 1], v[0, 2], v[1, 2]
    return -0.5 * v


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _lj_coulomb_virial_chunks(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                              charges, rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6, sw12,
                              rc_coul2, coul_prefactor, k_rf, c_rf, bounds, buffers,
                              coul_mode, beta):
    nch = bounds.shape[0] - 1
    out = np.zeros((nch, 8))
    for c in numba.prange(nch):
        _lj_coulomb_virial_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                                charges, rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6, sw12,
                                rc_coul2, coul_prefactor, k_rf, c_rf, coul_mode, beta,
                                bounds[c], bounds[c + 1], buffers[c], out[c])
    return out


def lj_coulomb_virial(ys, neighbours, counts, shifts, types, n_types, c6, c12, charges,
                      rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6, sw12, rc_coul2,
                      coul_prefactor, k_rf, c_rf, bounds, buffers, coul_mode=COUL_RF,
                      beta=0.0):
    """``lj_coulomb_forces`` plus the pair virial: returns (U_LJ, U_Coul, Ξ (3, 3))."""
    out = _lj_coulomb_virial_chunks(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                                    charges, rc_lj2, lj_mode, vshift6, vshift12, rsw, sw6,
                                    sw12, rc_coul2, coul_prefactor, k_rf, c_rf, bounds,
                                    buffers, coul_mode, beta)
    s = out.sum(axis=0)
    return s[0], s[1], _virial_from_sums(s[2:])


@numba.njit(cache=True, error_model="numpy")
def _ewald_lj_triples_virial_rows(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                                  lj_on, qs, coul_prefactor, rc2, far2, vshift6, vshift12,
                                  c_rf, beta, tab, inv_h, lo, hi, f, out):
    """``_ewald_lj_triples_rows`` plus the pair virial sums (out[2:8])."""
    f[:] = 0.0
    beta_pi = 2.0 * beta / math.sqrt(math.pi)
    e_lj = 0.0
    e_coul = 0.0
    w00 = w01 = w02 = w11 = w12 = w22 = 0.0
    for i in range(lo, hi):
        for m in range(counts[i]):
            e = neighbours[i, m]
            j = e >> 5
            s = e & 31
            c0 = ys[j, 0, 0] + shifts[s, 0] - ys[i, 0, 0]
            c1 = ys[j, 0, 1] + shifts[s, 1] - ys[i, 0, 1]
            c2 = ys[j, 0, 2] + shifts[s, 2] - ys[i, 0, 2]
            if c0 * c0 + c1 * c1 + c2 * c2 >= far2:
                continue
            for a in range(3):
                x0 = ys[i, a, 0] - shifts[s, 0]
                x1 = ys[i, a, 1] - shifts[s, 1]
                x2 = ys[i, a, 2] - shifts[s, 2]
                qa = qs[i, a] * coul_prefactor
                row = types[i, a] * n_types
                fx = 0.0
                fy = 0.0
                fz = 0.0
                for b in range(3):
                    d0 = ys[j, b, 0] - x0
                    d1 = ys[j, b, 1] - x1
                    d2 = ys[j, b, 2] - x2
                    r2 = d0 * d0 + d1 * d1 + d2 * d2
                    if r2 >= rc2:
                        continue
                    fs = 0.0
                    t = row + types[j, b]
                    if lj_on[t]:
                        a6 = c6[t]
                        a12 = c12[t]
                        ir2 = 1.0 / r2
                        ir6 = ir2 * ir2 * ir2
                        v6 = a6 * ir6
                        v12 = a12 * ir6 * ir6
                        e_lj += v12 - v6 - (a12 * vshift12 - a6 * vshift6)
                        fs = (12.0 * v12 - 6.0 * v6) * ir2
                    qq = qa * qs[j, b]
                    if qq != 0.0:
                        ir = 1.0 / math.sqrt(r2)
                        erfc_v, ex = erfc_exp(beta * r2 * ir, tab, inv_h)
                        erfc_r = erfc_v * ir
                        e_coul += qq * (erfc_r - c_rf)
                        fs += qq * (erfc_r + beta_pi * ex) * ir * ir
                    fx -= fs * d0
                    fy -= fs * d1
                    fz -= fs * d2
                    f[j, b, 0] += fs * d0
                    f[j, b, 1] += fs * d1
                    f[j, b, 2] += fs * d2
                    w00 += fs * d0 * d0
                    w01 += fs * d0 * d1
                    w02 += fs * d0 * d2
                    w11 += fs * d1 * d1
                    w12 += fs * d1 * d2
                    w22 += fs * d2 * d2
                f[i, a, 0] += fx
                f[i, a, 1] += fy
                f[i, a, 2] += fz
    out[0] = e_lj
    out[1] = e_coul
    out[2] = w00
    out[3] = w01
    out[4] = w02
    out[5] = w11
    out[6] = w12
    out[7] = w22


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _ewald_lj_triples_virial_chunks(ys, neighbours, counts, shifts, types, n_types, c6, c12,
                                    lj_on, qs, coul_prefactor, rc2, far2, vshift6, vshift12,
                                    c_rf, beta, tab, inv_h, bounds, buffers):
    nch = bounds.shape[0] - 1
    out = np.zeros((nch, 8))
    for c in numba.prange(nch):
        _ewald_lj_triples_virial_rows(ys, neighbours, counts, shifts, types, n_types, c6,
                                      c12, lj_on, qs, coul_prefactor, rc2, far2, vshift6,
                                      vshift12, c_rf, beta, tab, inv_h, bounds[c],
                                      bounds[c + 1], buffers[c], out[c])
    return out


def ewald_lj_triples_virial(ys, neighbours, counts, shifts, types, n_types, c6, c12, lj_on,
                            qs, coul_prefactor, rc2, far2, vshift6, vshift12, c_rf, beta,
                            tab, inv_h, bounds, buffers):
    """``ewald_lj_triples_forces`` (any three-site molecules, identical or not) plus the
    pair virial: returns (U_LJ, U_Coul, Ξ (3, 3))."""
    out = _ewald_lj_triples_virial_chunks(ys, neighbours, counts, shifts, types, n_types, c6,
                                          c12, lj_on, qs, coul_prefactor, rc2, far2, vshift6,
                                          vshift12, c_rf, beta, tab, inv_h, bounds, buffers)
    s = out.sum(axis=0)
    return s[0], s[1], _virial_from_sums(s[2:])


def pair_virial(d, fs):
    """Ξ = −½ Σ fs·d⊗d for pair vectors d (P, 3) [nm] and F/r values fs (P,) (numpy; for
    short lists such as exclusion corrections)."""
    return -0.5 * np.einsum("p,pa,pb->ab", fs, d, d)


def min_image(x, pairs, box):
    """Minimum-image pair vectors x[j] − x[i] (P, 3) for ``pairs`` (P, 2) (numpy)."""
    d = x[pairs[:, 1]] - x[pairs[:, 0]]
    s = d @ np.linalg.inv(box)
    s -= np.floor(s + 0.5)
    return s @ box
