"""numba kernels of the constraint solvers: SHAKE/RATTLE (iterative) and SETTLE (analytical).

Every kernel corrects arrays in place and accumulates the *displacement virial*
``Σ_pairs r_ij ⊗ m_i Δ_i`` into a caller-owned (3, 3) buffer (``Δ`` is a position or a
velocity correction); the Python layer turns it into −½ Σ r ⊗ f with the right time factor.
Pair vectors use the minimum image of a lower-triangular box, so molecules may straddle
the periodic boundary.
"""

import numba
import numpy as np

from ._bonded_kernels import minimum_image


# ---------------------------------------------------------------------- SHAKE / RATTLE
@numba.njit(cache=True, error_model="numpy")
def shake(x_ref, x, v, inv_dt, inv_m, box, pairs, d2, tol, max_iter, g_sum, virial):
    """Iterative SHAKE (Ryckaert, Ciccotti & Berendsen 1977), Gauss–Seidel over constraints.

    Moves ``x`` along the reference bond vectors of ``x_ref`` until every
    |r² − d²| ≤ 2·tol·d². With ``v.shape[0] > 0`` also adds Δx·inv_dt to ``v``.
    ``g_sum`` (M,) receives each constraint's total multiplier [amu].

    Returns ``(iterations, worst)``: ``iterations`` < 0 means a failure at constraint
    ``worst`` (−1: not converged, −2: the bond turned by ≥ 90° within the step);
    otherwise ``worst`` is the constraint with the largest remaining deviation.
    """
    m = pairs.shape[0]
    for k in range(m):
        g_sum[k] = 0.0
    with_v = v.shape[0] > 0
    it = 0
    while True:
        done = True
        worst = -1
        worst_dev = -1.0
        for k in range(m):
            i = pairs[k, 0]
            j = pairs[k, 1]
            r0, r1, r2 = minimum_image(x[i, 0] - x[j, 0], x[i, 1] - x[j, 1],
                                       x[i, 2] - x[j, 2], box)
            diff = d2[k] - (r0 * r0 + r1 * r1 + r2 * r2)
            dev = abs(diff) / d2[k]
            if dev > worst_dev:
                worst_dev = dev
                worst = k
            if dev <= 2.0 * tol:
                continue
            done = False
            if it >= max_iter:
                continue
            s0, s1, s2 = minimum_image(x_ref[i, 0] - x_ref[j, 0], x_ref[i, 1] - x_ref[j, 1],
                                       x_ref[i, 2] - x_ref[j, 2], box)
            rr = s0 * r0 + s1 * r1 + s2 * r2
            if rr < 1e-6 * d2[k]:
                return -2, k
            g = diff / (2.0 * rr * (inv_m[i] + inv_m[j]))
            g_sum[k] += g
            a = g * inv_m[i]
            b = g * inv_m[j]
            x[i, 0] += a * s0
            x[i, 1] += a * s1
            x[i, 2] += a * s2
            x[j, 0] -= b * s0
            x[j, 1] -= b * s1
            x[j, 2] -= b * s2
            if with_v:
                a *= inv_dt
                b *= inv_dt
                v[i, 0] += a * s0
                v[i, 1] += a * s1
                v[i, 2] += a * s2
                v[j, 0] -= b * s0
                v[j, 1] -= b * s1
                v[j, 2] -= b * s2
        if done:
            break
        if it >= max_iter:
            return -1, worst
        it += 1
    for k in range(m):
        g = g_sum[k]
        if g == 0.0:
            continue
        i = pairs[k, 0]
        j = pairs[k, 1]
        s0, s1, s2 = minimum_image(x_ref[i, 0] - x_ref[j, 0], x_ref[i, 1] - x_ref[j, 1],
                                   x_ref[i, 2] - x_ref[j, 2], box)
        virial[0, 0] += g * s0 * s0
        virial[0, 1] += g * s0 * s1
        virial[0, 2] += g * s0 * s2
        virial[1, 0] += g * s1 * s0
        virial[1, 1] += g * s1 * s1
        virial[1, 2] += g * s1 * s2
        virial[2, 0] += g * s2 * s0
        virial[2, 1] += g * s2 * s1
        virial[2, 2] += g * s2 * s2
    return it, worst


@numba.njit(cache=True, error_model="numpy")
def rattle_velocities(x, v, inv_m, box, pairs, d2, tol, max_iter, g_sum, virial):
    """Iterative RATTLE velocity stage (Andersen 1983): make r_ij · v_ij = 0.

    Converged when |r_ij · v_ij| ≤ tol · |r_ij| · |v_ij| for every constraint (a relative
    tolerance on the cosine between bond and relative velocity). Returns
    ``(iterations, worst)`` like ``shake`` (iterations −1: not converged).
    """
    m = pairs.shape[0]
    for k in range(m):
        g_sum[k] = 0.0
    it = 0
    while True:
        done = True
        worst = -1
        worst_dev = -1.0
        for k in range(m):
            i = pairs[k, 0]
            j = pairs[k, 1]
            r0, r1, r2 = minimum_image(x[i, 0] - x[j, 0], x[i, 1] - x[j, 1],
                                       x[i, 2] - x[j, 2], box)
            w0 = v[i, 0] - v[j, 0]
            w1 = v[i, 1] - v[j, 1]
            w2 = v[i, 2] - v[j, 2]
            rv = r0 * w0 + r1 * w1 + r2 * w2
            rr = r0 * r0 + r1 * r1 + r2 * r2
            scale = np.sqrt(rr * (w0 * w0 + w1 * w1 + w2 * w2))
            dev = abs(rv) / scale if scale > 0.0 else 0.0
            if dev > worst_dev:
                worst_dev = dev
                worst = k
            if dev <= tol:
                continue
            done = False
            if it >= max_iter:
                continue
            g = -rv / (rr * (inv_m[i] + inv_m[j]))
            g_sum[k] += g
            a = g * inv_m[i]
            b = g * inv_m[j]
            v[i, 0] += a * r0
            v[i, 1] += a * r1
            v[i, 2] += a * r2
            v[j, 0] -= b * r0
            v[j, 1] -= b * r1
            v[j, 2] -= b * r2
        if done:
            break
        if it >= max_iter:
            return -1, worst
        it += 1
    for k in range(m):
        g = g_sum[k]
        if g == 0.0:
            continue
        i = pairs[k, 0]
        j = pairs[k, 1]
        s0, s1, s2 = minimum_image(x[i, 0] - x[j, 0], x[i, 1] - x[j, 1],
                                   x[i, 2] - x[j, 2], box)
        virial[0, 0] += g * s0 * s0
        virial[0, 1] += g * s0 * s1
        virial[0, 2] += g * s0 * s2
        virial[1, 0] += g * s1 * s0
        virial[1, 1] += g * s1 * s1
        virial[1, 2] += g * s1 * s2
        virial[2, 0] += g * s2 * s0
        virial[2, 1] += g * s2 * s1
        virial[2, 2] += g * s2 * s2
    return it, worst


@numba.njit(cache=True, error_model="numpy")
def distance_deviations(x, v, box, pairs, d2, out_pos, out_vel):
    """Per constraint: |r² − d²|/(2d²) (≈ relative length error) and the RATTLE cosine
    |r·v_ij| / (|r||v_ij|)."""
    for k in range(pairs.shape[0]):
        i = pairs[k, 0]
        j = pairs[k, 1]
        r0, r1, r2 = minimum_image(x[i, 0] - x[j, 0], x[i, 1] - x[j, 1],
                                   x[i, 2] - x[j, 2], box)
        rr = r0 * r0 + r1 * r1 + r2 * r2
        out_pos[k] = abs(d2[k] - rr) / (2.0 * d2[k])
        w0 = v[i, 0] - v[j, 0]
        w1 = v[i, 1] - v[j, 1]
        w2 = v[i, 2] - v[j, 2]
        scale = np.sqrt(rr * (w0 * w0 + w1 * w1 + w2 * w2))
        out_vel[k] = abs(r0 * w0 + r1 * w1 + r2 * w2) / scale if scale > 0.0 else 0.0


# ---------------------------------------------------------------------- SETTLE
@numba.njit(cache=True, inline="always")
def _add_outer(virial, s, a0, a1, a2, b0, b1, b2):
    virial[0, 0] += s * a0 * b0
    virial[0, 1] += s * a0 * b1
    virial[0, 2] += s * a0 * b2
    virial[1, 0] += s * a1 * b0
    virial[1, 1] += s * a1 * b1
    virial[1, 2] += s * a1 * b2
    virial[2, 0] += s * a2 * b0
    virial[2, 1] += s * a2 * b1
    virial[2, 2] += s * a2 * b2


@numba.njit(cache=True, error_model="numpy")
def settle_positions(x_ref, x, v, inv_dt, inv_m, box, oxygens, d_oh, d_hh, virial):
    """SETTLE (Miyamoto & Kollman 1992) for rigid O–H–H waters at o, o+1, o+2.

    ``x_ref`` holds the constrained positions before the move, ``x`` the unconstrained ones
    after it (corrected in place). The solution keeps the centre of mass and the angular
    momentum about the normal of the old plane: it is the exact SHAKE solution with the
    displacements along the old bond vectors. With ``v.shape[0] > 0`` adds Δx·inv_dt to
    ``v``. Returns −1 on success, else the index (into ``oxygens``) of a water whose
    move was too large to solve.
    """
    rc = 0.5 * d_hh
    h = np.sqrt(d_oh * d_oh - rc * rc)
    with_v = v.shape[0] > 0
    for w in range(oxygens.shape[0]):
        o = oxygens[w]
        mo = 1.0 / inv_m[o]
        mh = 1.0 / inv_m[o + 1]
        wt = mo + 2.0 * mh
        ra = 2.0 * mh * h / wt
        rb = h - ra
        # old bond vectors relative to the old O
        xb0, yb0, zb0 = minimum_image(x_ref[o + 1, 0] - x_ref[o, 0], x_ref[o + 1, 1] - x_ref[o, 1],
                                      x_ref[o + 1, 2] - x_ref[o, 2], box)
        xc0, yc0, zc0 = minimum_image(x_ref[o + 2, 0] - x_ref[o, 0], x_ref[o + 2, 1] - x_ref[o, 1],
                                      x_ref[o + 2, 2] - x_ref[o, 2], box)
        # new positions relative to the new centre of mass
        pb0, pb1, pb2 = minimum_image(x[o + 1, 0] - x[o, 0], x[o + 1, 1] - x[o, 1],
                                      x[o + 1, 2] - x[o, 2], box)
        pc0, pc1, pc2 = minimum_image(x[o + 2, 0] - x[o, 0], x[o + 2, 1] - x[o, 1],
                                      x[o + 2, 2] - x[o, 2], box)
        f = mh / wt
        cx = f * (pb0 + pc0)
        cy = f * (pb1 + pc1)
        cz = f * (pb2 + pc2)
        xa1 = -cx
        ya1 = -cy
        za1 = -cz
        xb1 = pb0 - cx
        yb1 = pb1 - cy
        zb1 = pb2 - cz
        xc1 = pc0 - cx
        yc1 = pc1 - cy
        zc1 = pc2 - cz
        # frame: Z normal to the old plane, X ⟂ a1, Y = Z × X
        zx = yb0 * zc0 - zb0 * yc0
        zy = zb0 * xc0 - xb0 * zc0
        zz = xb0 * yc0 - yb0 * xc0
        xx = ya1 * zz - za1 * zy
        xy = za1 * zx - xa1 * zz
        xz = xa1 * zy - ya1 * zx
        yx = zy * xz - zz * xy
        yy = zz * xx - zx * xz
        yz = zx * xy - zy * xx
        n = 1.0 / np.sqrt(xx * xx + xy * xy + xz * xz)
        xx *= n
        xy *= n
        xz *= n
        n = 1.0 / np.sqrt(yx * yx + yy * yy + yz * yz)
        yx *= n
        yy *= n
        yz *= n
        n = 1.0 / np.sqrt(zx * zx + zy * zy + zz * zz)
        zx *= n
        zy *= n
        zz *= n
        xb0d = xx * xb0 + xy * yb0 + xz * zb0
        yb0d = yx * xb0 + yy * yb0 + yz * zb0
        xc0d = xx * xc0 + xy * yc0 + xz * zc0
        yc0d = yx * xc0 + yy * yc0 + yz * zc0
        za1d = zx * xa1 + zy * ya1 + zz * za1
        xb1d = xx * xb1 + xy * yb1 + xz * zb1
        yb1d = yx * xb1 + yy * yb1 + yz * zb1
        zb1d = zx * xb1 + zy * yb1 + zz * zb1
        xc1d = xx * xc1 + xy * yc1 + xz * zc1
        yc1d = yx * xc1 + yy * yc1 + yz * zc1
        zc1d = zx * xc1 + zy * yc1 + zz * zc1

        sinphi = za1d / ra
        t = 1.0 - sinphi * sinphi
        if not t > 1e-12:
            return w
        cosphi = np.sqrt(t)
        sinpsi = (zb1d - zc1d) / (2.0 * rc * cosphi)
        t = 1.0 - sinpsi * sinpsi
        if not t > 1e-12:
            return w
        cospsi = np.sqrt(t)
        ya2d = ra * cosphi
        xb2d = -rc * cospsi
        t1 = -rb * cosphi
        t2 = rc * sinpsi * sinphi
        yb2d = t1 - t2
        yc2d = t1 + t2
        alpha = xb2d * (xb0d - xc0d) + yb0d * yb2d + yc0d * yc2d
        beta = xb2d * (yc0d - yb0d) + xb0d * yb2d + xc0d * yc2d
        gamma = xb0d * yb1d - xb1d * yb0d + xc0d * yc1d - xc1d * yc0d
        ab2 = alpha * alpha + beta * beta
        t = ab2 - gamma * gamma
        if not t > 0.0:
            return w
        sinthe = (alpha * gamma - beta * np.sqrt(t)) / ab2
        costhe = np.sqrt(1.0 - sinthe * sinthe)
        xa3d = -ya2d * sinthe
        ya3d = ya2d * costhe
        xb3d = xb2d * costhe - yb2d * sinthe
        yb3d = xb2d * sinthe + yb2d * costhe
        xc3d = -xb2d * costhe - yc2d * sinthe
        yc3d = -xb2d * sinthe + yc2d * costhe
        # back to the lab frame; z components (along Z) are unchanged by construction
        da0 = xx * xa3d + yx * ya3d + zx * za1d - xa1
        da1 = xy * xa3d + yy * ya3d + zy * za1d - ya1
        da2 = xz * xa3d + yz * ya3d + zz * za1d - za1
        db0 = xx * xb3d + yx * yb3d + zx * zb1d - xb1
        db1 = xy * xb3d + yy * yb3d + zy * zb1d - yb1
        db2 = xz * xb3d + yz * yb3d + zz * zb1d - zb1
        dc0 = xx * xc3d + yx * yc3d + zx * zc1d - xc1
        dc1 = xy * xc3d + yy * yc3d + zy * zc1d - yc1
        dc2 = xz * xc3d + yz * yc3d + zz * zc1d - zc1
        x[o, 0] += da0
        x[o, 1] += da1
        x[o, 2] += da2
        x[o + 1, 0] += db0
        x[o + 1, 1] += db1
        x[o + 1, 2] += db2
        x[o + 2, 0] += dc0
        x[o + 2, 1] += dc1
        x[o + 2, 2] += dc2
        if with_v:
            v[o, 0] += da0 * inv_dt
            v[o, 1] += da1 * inv_dt
            v[o, 2] += da2 * inv_dt
            v[o + 1, 0] += db0 * inv_dt
            v[o + 1, 1] += db1 * inv_dt
            v[o + 1, 2] += db2 * inv_dt
            v[o + 2, 0] += dc0 * inv_dt
            v[o + 2, 1] += dc1 * inv_dt
            v[o + 2, 2] += dc2 * inv_dt
        # Σ r_i ⊗ m_i Δ_i with r relative to the old O (Σ m_i Δ_i = 0)
        _add_outer(virial, mh, xb0, yb0, zb0, db0, db1, db2)
        _add_outer(virial, mh, xc0, yc0, zc0, dc0, dc1, dc2)
    return -1


@numba.njit(cache=True, error_model="numpy")
def settle_velocities(x, v, inv_m, box, oxygens, virial):
    """Analytical RATTLE velocity stage of a rigid triangle: solve the 3×3 system that
    makes r_ab · v_ab = 0 for the three pairs (O–H1, O–H2, H1–H2) exactly.

    Returns −1, or the index of a water whose triangle is degenerate.
    """
    for w in range(oxygens.shape[0]):
        o = oxygens[w]
        io = inv_m[o]
        i1 = inv_m[o + 1]
        i2 = inv_m[o + 2]
        # e0 = O − H1, e1 = O − H2, e2 = H1 − H2
        e00, e01, e02 = minimum_image(x[o, 0] - x[o + 1, 0], x[o, 1] - x[o + 1, 1],
                                      x[o, 2] - x[o + 1, 2], box)
        e10, e11, e12 = minimum_image(x[o, 0] - x[o + 2, 0], x[o, 1] - x[o + 2, 1],
                                      x[o, 2] - x[o + 2, 2], box)
        e20 = e10 - e00
        e21 = e11 - e01
        e22 = e12 - e02
        g00 = e00 * e00 + e01 * e01 + e02 * e02
        g11 = e10 * e10 + e11 * e11 + e12 * e12
        g22 = e20 * e20 + e21 * e21 + e22 * e22
        g01 = e00 * e10 + e01 * e11 + e02 * e12
        g02 = e00 * e20 + e01 * e21 + e02 * e22
        g12 = e10 * e20 + e11 * e21 + e12 * e22
        a00 = g00 * (io + i1)
        a01 = g01 * io
        a02 = -g02 * i1
        a11 = g11 * (io + i2)
        a12 = g12 * i2
        a22 = g22 * (i1 + i2)
        b0 = -(e00 * (v[o, 0] - v[o + 1, 0]) + e01 * (v[o, 1] - v[o + 1, 1])
               + e02 * (v[o, 2] - v[o + 1, 2]))
        b1 = -(e10 * (v[o, 0] - v[o + 2, 0]) + e11 * (v[o, 1] - v[o + 2, 1])
               + e12 * (v[o, 2] - v[o + 2, 2]))
        b2 = -(e20 * (v[o + 1, 0] - v[o + 2, 0]) + e21 * (v[o + 1, 1] - v[o + 2, 1])
               + e22 * (v[o + 1, 2] - v[o + 2, 2]))
        # symmetric 3×3 solve by cofactors
        c00 = a11 * a22 - a12 * a12
        c01 = a02 * a12 - a01 * a22
        c02 = a01 * a12 - a02 * a11
        c11 = a00 * a22 - a02 * a02
        c12 = a01 * a02 - a00 * a12
        c22 = a00 * a11 - a01 * a01
        det = a00 * c00 + a01 * c01 + a02 * c02
        if not abs(det) > 1e-30:
            return w
        inv = 1.0 / det
        t0 = (c00 * b0 + c01 * b1 + c02 * b2) * inv
        t1 = (c01 * b0 + c11 * b1 + c12 * b2) * inv
        t2 = (c02 * b0 + c12 * b1 + c22 * b2) * inv
        for d in range(3):
            ea = e00 if d == 0 else (e01 if d == 1 else e02)
            eb = e10 if d == 0 else (e11 if d == 1 else e12)
            ec = e20 if d == 0 else (e21 if d == 1 else e22)
            v[o, d] += io * (t0 * ea + t1 * eb)
            v[o + 1, d] += i1 * (-t0 * ea + t2 * ec)
            v[o + 2, d] += i2 * (-t1 * eb - t2 * ec)
        _add_outer(virial, t0, e00, e01, e02, e00, e01, e02)
        _add_outer(virial, t1, e10, e11, e12, e10, e11, e12)
        _add_outer(virial, t2, e20, e21, e22, e20, e21, e22)
    return -1
