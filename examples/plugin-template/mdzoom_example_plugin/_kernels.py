"""numba kernels of the example plugin.

mdzoom's kernel discipline, which a plugin follows too:

- module-level ``@numba.njit(cache=True)`` functions; arguments are arrays and scalars only
  (never a jitted function: that defeats caching);
- scalar x/y/z arithmetic in inner loops, no per-pair temporary arrays;
- float64, no ``fastmath``; a ``prange`` loop writes only its own rows (or its own
  chunk buffer, for pair kernels over the half neighbour list);
- forces are *added* into the caller's ``forces_out`` (N, 3) [kJ mol⁻¹ nm⁻¹] and the
  energy [kJ/mol] is returned.

Nothing here imports mdzoom's private kernels: a plugin owns its numerics.
"""

import numba
import numpy as np
from mdzoom.core.neighbours import SHIFT_BITS, SHIFT_MASK


@numba.njit(cache=True, inline="always")
def minimum_image(d0, d1, d2, box):
    """Minimum-image vector for a lower-triangular box of row vectors (GROMACS convention).

    Exact for vectors shorter than half the smallest box height; that is all bonds and
    restraints need.
    """
    n = np.rint(d2 / box[2, 2])
    d0 -= n * box[2, 0]
    d1 -= n * box[2, 1]
    d2 -= n * box[2, 2]
    n = np.rint(d1 / box[1, 1])
    d0 -= n * box[1, 0]
    d1 -= n * box[1, 1]
    n = np.rint(d0 / box[0, 0])
    d0 -= n * box[0, 0]
    return d0, d1, d2


@numba.njit(cache=True)
def morse_bonds(x, box, pairs, d_e, a, r0, forces_out):
    """V = D_e (1 − e^{−a(r − r0)})² per bond. Returns U [kJ/mol]; adds forces."""
    energy = 0.0
    for b in range(pairs.shape[0]):
        i = pairs[b, 0]
        j = pairs[b, 1]
        d0, d1, d2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1],
                                   x[j, 2] - x[i, 2], box)
        r = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        ex = np.exp(-a[b] * (r - r0[b]))
        one_minus = 1.0 - ex
        energy += d_e[b] * one_minus * one_minus
        # dV/dr = 2 D_e a e (1 − e); the force on j is −dV/dr · d/r, on i the opposite
        fs = -2.0 * d_e[b] * a[b] * ex * one_minus / r if r > 0.0 else 0.0
        forces_out[i, 0] -= fs * d0
        forces_out[i, 1] -= fs * d1
        forces_out[i, 2] -= fs * d2
        forces_out[j, 0] += fs * d0
        forces_out[j, 1] += fs * d1
        forces_out[j, 2] += fs * d2
    return energy


@numba.njit(cache=True)
def flat_bottom(x, box, particles, reference, r_fb, k, forces_out):
    """V = ½ k (d − r_fb)² for d > r_fb, else 0; d = |x − reference| (minimum image).

    ``reference`` is (M, 3), one point per restrained particle. Returns U [kJ/mol].
    """
    energy = 0.0
    for m in range(particles.shape[0]):
        i = particles[m]
        d0, d1, d2 = minimum_image(x[i, 0] - reference[m, 0], x[i, 1] - reference[m, 1],
                                   x[i, 2] - reference[m, 2], box)
        d = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        excess = d - r_fb[m]
        if excess > 0.0:
            energy += 0.5 * k[m] * excess * excess
            fs = -k[m] * excess / d
            forces_out[i, 0] += fs * d0
            forces_out[i, 1] += fs * d1
            forces_out[i, 2] += fs * d2
    return energy


@numba.njit(cache=True, error_model="numpy")
def _lj_rows(ys, neighbours, counts, shifts, c6, c12, rc2, vshift, lo, hi, f):
    """LJ over list slots [lo, hi) into the chunk buffer ``f`` (N, 3), zeroed here.

    The list is a half list (each pair once), so both partners get their force here
    (Newton's third law). The inner loop is branch-free: pairs beyond rc contribute
    exactly zero through the ``inside`` factor.
    """
    f[:] = 0.0
    energy = 0.0
    for i in range(lo, hi):
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        fx = 0.0
        fy = 0.0
        fz = 0.0
        ei = 0.0
        for m in range(counts[i]):
            e = neighbours[i, m]
            j = e >> SHIFT_BITS
            s = e & SHIFT_MASK
            d0 = ys[j, 0] + shifts[s, 0] - yi0
            d1 = ys[j, 1] + shifts[s, 1] - yi1
            d2 = ys[j, 2] + shifts[s, 2] - yi2
            r2 = d0 * d0 + d1 * d1 + d2 * d2
            inside = 1.0 if r2 < rc2 else 0.0
            ir2 = inside / r2
            ir6 = ir2 * ir2 * ir2
            v6 = c6 * ir6
            v12 = c12 * ir6 * ir6
            ei += v12 - v6 - inside * vshift
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
def lj_shifted(ys, neighbours, counts, shifts, c6, c12, rc2, vshift, bounds, buffers):
    """LJ 12-6 with potential shift over mdzoom's shared (half) neighbour list.

    ``ys`` (N, 3) are the list's *sorted* positions; entry ``e = neighbours[k, m]``
    (m < counts[k]) is partner slot ``e >> SHIFT_BITS`` seen through image
    ``shifts[e & SHIFT_MASK]``. A ``prange`` over the list's chunks (``bounds``) lets each
    chunk add into its own buffer ``buffers[c]``; the caller reduces them with
    ``NeighbourList.reduce_forces``. Returns the energy [kJ/mol].
    """
    nch = bounds.shape[0] - 1
    energies = np.zeros(nch)
    for c in numba.prange(nch):
        energies[c] = _lj_rows(ys, neighbours, counts, shifts, c6, c12, rc2, vshift,
                               bounds[c], bounds[c + 1], buffers[c])
    return energies.sum()
