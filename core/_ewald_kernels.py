"""numba kernels of Ewald electrostatics: smooth-PME B-spline charge spreading and force
gathering, and the Ewald exclusion correction.

B-splines follow Essmann et al., J. Chem. Phys. 103, 8577 (1995): particle i with scaled
fractional coordinate u = K·s (s = r·box⁻¹) puts the weight θ[j] = M_p(w + p − 1 − j),
w = u − ⌊u⌋, on grid point (⌊u⌋ − p + 1 + j) mod K, j = 0 … p−1.
"""

import math

import numba
import numpy as np


@numba.njit(cache=True, inline="always")
def _bspline(w, order, theta, dtheta):
    """Weights θ[0:order] and derivatives dθ/du for fractional offset w ∈ [0, 1)."""
    theta[order - 1] = 0.0
    theta[1] = w
    theta[0] = 1.0 - w
    for k in range(3, order):
        div = 1.0 / (k - 1.0)
        theta[k - 1] = div * w * theta[k - 2]
        for j in range(1, k - 1):
            theta[k - j - 1] = div * ((w + j) * theta[k - j - 2] + (k - j - w) * theta[k - j - 1])
        theta[0] = div * (1.0 - w) * theta[0]
    # derivative from order − 1
    dtheta[0] = -theta[0]
    for j in range(1, order):
        dtheta[j] = theta[j - 1] - theta[j]
    div = 1.0 / (order - 1.0)
    theta[order - 1] = div * w * theta[order - 2]
    for j in range(1, order - 1):
        theta[order - j - 1] = div * ((w + j) * theta[order - j - 2]
                                      + (order - j - w) * theta[order - j - 1])
    theta[0] = div * (1.0 - w) * theta[0]


@numba.njit(cache=True)
def bspline_moduli_1d(k, order):
    """|b(m)|² of Essmann eq. 4.4 for m = 0 … k−1 (zeros patched as GROMACS does)."""
    theta = np.zeros(order)
    dtheta = np.zeros(order)
    _bspline(0.0, order, theta, dtheta)
    # M_p(j + 1) for j = 0 … p−2 are theta[p−2−j] at w = 0
    out = np.zeros(k)
    for m in range(k):
        re = 0.0
        im = 0.0
        for j in range(order - 1):
            arg = 2.0 * np.pi * m * j / k
            mj = theta[order - 2 - j]
            re += mj * math.cos(arg)
            im += mj * math.sin(arg)
        out[m] = re * re + im * im
    for m in range(k):
        if out[m] < 1e-7:
            out[m] = 0.5 * (out[(m - 1) % k] + out[(m + 1) % k])
    return 1.0 / out


@numba.njit(cache=True)
def _frac_setup(x, recip, kx, ky, kz, order, idx, theta, dtheta):
    """Per particle: base grid index and B-spline weights/derivatives along each axis."""
    n = x.shape[0]
    ks = (kx, ky, kz)
    for i in range(n):
        for d in range(3):
            s = x[i, 0] * recip[0, d] + x[i, 1] * recip[1, d] + x[i, 2] * recip[2, d]
            s -= math.floor(s)
            u = s * ks[d]
            fl = math.floor(u)
            w = u - fl
            base = int(fl) - order + 1
            idx[i, d] = base % ks[d]
            _bspline(w, order, theta[i, d], dtheta[i, d])


@numba.njit(cache=True)
def spread(x, q, recip, order, grid, idx, theta, dtheta):
    """Fill ``grid`` (Kx, Ky, Kz) with B-spline-spread charges; keeps weights for gather."""
    kx, ky, kz = grid.shape
    _frac_setup(x, recip, kx, ky, kz, order, idx, theta, dtheta)
    grid[:] = 0.0
    for i in range(x.shape[0]):
        qi = q[i]
        if qi == 0.0:
            continue
        i0 = idx[i, 0]
        i1 = idx[i, 1]
        i2 = idx[i, 2]
        for a in range(order):
            ga = i0 + a
            if ga >= kx:
                ga -= kx
            ta = qi * theta[i, 0, a]
            for b in range(order):
                gb = i1 + b
                if gb >= ky:
                    gb -= ky
                tab = ta * theta[i, 1, b]
                gc = i2
                for c in range(order):
                    if gc >= kz:
                        gc -= kz
                    grid[ga, gb, gc] += tab * theta[i, 2, c]
                    gc += 1


@numba.njit(cache=True, parallel=True)
def _frac_setup_parallel(x, recip, kx, ky, kz, order, idx, theta, dtheta):
    """``_frac_setup`` with a ``prange`` over particles (each writes its own rows)."""
    n = x.shape[0]
    for i in numba.prange(n):
        for d in range(3):
            k = kx if d == 0 else (ky if d == 1 else kz)
            s = x[i, 0] * recip[0, d] + x[i, 1] * recip[1, d] + x[i, 2] * recip[2, d]
            s -= math.floor(s)
            u = s * k
            fl = math.floor(u)
            w = u - fl
            base = int(fl) - order + 1
            idx[i, d] = base % k
            _bspline(w, order, theta[i, d], dtheta[i, d])


@numba.njit(cache=True, parallel=True)
def spread_parallel(x, q, recip, order, grid, idx, theta, dtheta, partial):
    """``spread`` in parallel: particle chunk c spreads into ``partial[c]`` (n_chunks, Kx,
    Ky, Kz), then the chunks are summed in a fixed order (thread-count independent)."""
    kx, ky, kz = grid.shape
    _frac_setup_parallel(x, recip, kx, ky, kz, order, idx, theta, dtheta)
    nch = partial.shape[0]
    n = x.shape[0]
    for ch in numba.prange(nch):
        g = partial[ch]
        g[:] = 0.0
        for i in range(ch * n // nch, (ch + 1) * n // nch):
            qi = q[i]
            if qi == 0.0:
                continue
            i0 = idx[i, 0]
            i1 = idx[i, 1]
            i2 = idx[i, 2]
            for a in range(order):
                ga = i0 + a
                if ga >= kx:
                    ga -= kx
                ta = qi * theta[i, 0, a]
                for b in range(order):
                    gb = i1 + b
                    if gb >= ky:
                        gb -= ky
                    tab = ta * theta[i, 1, b]
                    gc = i2
                    for c in range(order):
                        if gc >= kz:
                            gc -= kz
                        g[ga, gb, gc] += tab * theta[i, 2, c]
                        gc += 1
    for a in numba.prange(kx):
        for b in range(ky):
            for c in range(kz):
                acc = 0.0
                for ch in range(nch):
                    acc += partial[ch, a, b, c]
                grid[a, b, c] = acc


@numba.njit(cache=True, parallel=True)
def gather(q, recip, order, phi, idx, theta, dtheta, forces_out):
    """forces_out[i] −= qᵢ ∇ᵢ Σ_k φ(k) θ(k): forces from the potential grid φ = ∂E/∂Q."""
    kx, ky, kz = phi.shape
    for i in numba.prange(q.shape[0]):
        qi = q[i]
        if qi == 0.0:
            continue
        g0 = 0.0
        g1 = 0.0
        g2 = 0.0
        i0 = idx[i, 0]
        i1 = idx[i, 1]
        i2 = idx[i, 2]
        for a in range(order):
            ga = i0 + a
            if ga >= kx:
                ga -= kx
            ta = theta[i, 0, a]
            da = dtheta[i, 0, a]
            for b in range(order):
                gb = i1 + b
                if gb >= ky:
                    gb -= ky
                tb = theta[i, 1, b]
                db = dtheta[i, 1, b]
                # Σ_c φ θ_c and Σ_c φ dθ_c, then one multiply per (a, b)
                sp = 0.0
                sd = 0.0
                gc = i2
                for c in range(order):
                    if gc >= kz:
                        gc -= kz
                    p = phi[ga, gb, gc]
                    sp += p * theta[i, 2, c]
                    sd += p * dtheta[i, 2, c]
                    gc += 1
                g0 += da * tb * sp
                g1 += ta * db * sp
                g2 += ta * tb * sd
        g0 *= kx
        g1 *= ky
        g2 *= kz
        for d in range(3):
            forces_out[i, d] -= qi * (recip[d, 0] * g0 + recip[d, 1] * g1 + recip[d, 2] * g2)


@numba.njit(cache=True)
def grid_dot(a, b):
    """Σ a·b over two (Kx, Ky, Kz) grids (serial, no BLAS)."""
    acc = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                acc += a[i, j, k] * b[i, j, k]
    return acc


@numba.njit(cache=True)
def exclusion_correction(x, q, pairs, box, inv_box, beta, prefactor, forces_out, virial_out,
                         want_virial):
    """−f qᵢqⱼ erf(βr)/r over excluded pairs (minimum image); adds forces, returns energy.
    With ``want_virial`` also adds the pair virial Ξ = −½ Σ d⊗F to ``virial_out`` (3, 3)."""
    energy = 0.0
    two_over_sqrt_pi = 2.0 / math.sqrt(math.pi)
    for p in range(pairs.shape[0]):
        i = pairs[p, 0]
        j = pairs[p, 1]
        qq = prefactor * q[i] * q[j]
        if qq == 0.0:
            continue
        d0 = x[j, 0] - x[i, 0]
        d1 = x[j, 1] - x[i, 1]
        d2 = x[j, 2] - x[i, 2]
        # minimum image through fractional coordinates (exact for short intramolecular d)
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
        if r2 == 0.0:
            energy -= qq * beta * two_over_sqrt_pi
            continue
        r = math.sqrt(r2)
        br = beta * r
        erf_r = math.erf(br) / r
        energy -= qq * erf_r
        # F_j = −dE/dr · d/r with E = −qq erf(βr)/r
        fs = qq * (two_over_sqrt_pi * beta * math.exp(-br * br) - erf_r) / r2
        forces_out[i, 0] -= fs * d0
        forces_out[i, 1] -= fs * d1
        forces_out[i, 2] -= fs * d2
        forces_out[j, 0] += fs * d0
        forces_out[j, 1] += fs * d1
        forces_out[j, 2] += fs * d2
        if want_virial:
            d = (d0, d1, d2)
            for a in range(3):
                for b in range(3):
                    virial_out[a, b] -= 0.5 * fs * d[a] * d[b]
    return energy


@numba.njit(cache=True)
def reciprocal_virial(fk, g, inv_box, beta, n_total):
    """Essmann's reciprocal-space virial Ξ = −½ Σ_m E(m)[δ − 2(1 + π²m²/β²) m⊗m/m²] (3, 3)
    [kJ/mol] from the transformed charge grid ``fk`` (kx, ky, kz//2 + 1) (``rfftn``) and
    the influence function ``g`` of the same shape; E(m) = ½ g |F(m)|² / n_total, the
    half-spectrum planes 0 < m_z < kz/2 counted twice. Serial: ≈ 0.2 ms for a 40³ grid,
    less than a parallel launch costs when the worker threads have gone to sleep."""
    kx, ky, nz = g.shape
    kz = n_total // (kx * ky)
    part = np.zeros((kx, 6))
    pi2_b2 = math.pi * math.pi / (beta * beta)
    for ix in range(kx):
        mx = ix if 2 * ix < kx else ix - kx          # np.fft.fftfreq's order
        # scalar accumulators: with a small array LLVM keeps storing to memory (16x slower)
        a0 = a1 = a2 = a3 = a4 = a5 = 0.0
        for iy in range(ky):
            my = iy if 2 * iy < ky else iy - ky
            b0 = inv_box[0, 0] * mx + inv_box[0, 1] * my
            b1 = inv_box[1, 0] * mx + inv_box[1, 1] * my
            b2 = inv_box[2, 0] * mx + inv_box[2, 1] * my
            for iz in range(nz):
                c0 = b0 + inv_box[0, 2] * iz
                c1 = b1 + inv_box[1, 2] * iz
                c2 = b2 + inv_box[2, 2] * iz
                m2 = c0 * c0 + c1 * c1 + c2 * c2
                if m2 == 0.0:                          # m = 0: g = 0
                    continue
                w = 2.0
                if iz == 0 or (kz % 2 == 0 and iz == nz - 1):
                    w = 1.0
                f = fk[ix, iy, iz]
                e = 0.5 / n_total * g[ix, iy, iz] * (f.real * f.real + f.imag * f.imag) * w
                a = 2.0 * (1.0 + pi2_b2 * m2) / m2 * e
                a0 += e - a * c0 * c0
                a1 += e - a * c1 * c1
                a2 += e - a * c2 * c2
                a3 -= a * c0 * c1
                a4 -= a * c0 * c2
                a5 -= a * c1 * c2
        part[ix, 0] = a0
        part[ix, 1] = a1
        part[ix, 2] = a2
        part[ix, 3] = a3
        part[ix, 4] = a4
        part[ix, 5] = a5
    t = np.zeros(6)
    for ix in range(kx):
        t += part[ix]
    out = np.empty((3, 3))
    out[0, 0] = -0.5 * t[0]
    out[1, 1] = -0.5 * t[1]
    out[2, 2] = -0.5 * t[2]
    out[0, 1] = out[1, 0] = -0.5 * t[3]
    out[0, 2] = out[2, 0] = -0.5 * t[4]
    out[1, 2] = out[2, 1] = -0.5 * t[5]
    return out


@numba.njit(cache=True, parallel=True)
def ewald_sum(x, q, mvecs, weights, forces_out):
    """Σ_k w(k)|S(k)|², S(k) = Σᵢ qᵢ exp(i k·rᵢ), over wave vectors ``mvecs`` (K, 3)
    [nm⁻¹]; adds −∂/∂rᵢ into ``forces_out`` and returns the energy. Parallel over k, then
    over particles (each writes its own row)."""
    nk = mvecs.shape[0]
    n = x.shape[0]
    energies = np.zeros(nk)
    ftmp = np.zeros((n, 3))
    cs = np.zeros(nk)
    sn = np.zeros(nk)
    for k in numba.prange(nk):
        kx = mvecs[k, 0]
        ky = mvecs[k, 1]
        kz = mvecs[k, 2]
        c = 0.0
        s = 0.0
        for i in range(n):
            ph = kx * x[i, 0] + ky * x[i, 1] + kz * x[i, 2]
            c += q[i] * math.cos(ph)
            s += q[i] * math.sin(ph)
        cs[k] = c
        sn[k] = s
        energies[k] = weights[k] * (c * c + s * s)
    for i in numba.prange(n):
        f0 = 0.0
        f1 = 0.0
        f2 = 0.0
        for k in range(nk):
            ph = mvecs[k, 0] * x[i, 0] + mvecs[k, 1] * x[i, 1] + mvecs[k, 2] * x[i, 2]
            # −∂/∂rᵢ w(C² + S²) = 2 w qᵢ (C sin φᵢ − S cos φᵢ) k
            g = 2.0 * weights[k] * q[i] * (cs[k] * math.sin(ph) - sn[k] * math.cos(ph))
            f0 += g * mvecs[k, 0]
            f1 += g * mvecs[k, 1]
            f2 += g * mvecs[k, 2]
        ftmp[i, 0] = f0
        ftmp[i, 1] = f1
        ftmp[i, 2] = f2
    forces_out += ftmp
    return energies.sum()
