"""numba helpers for force kernels, public for plugin authors (ours use them too).

``minimum_image(d0, d1, d2, box)``: the minimum-image vector of a difference
(d0, d1, d2) [nm] for a box of lower-triangular row vectors (3, 3) [nm] (GROMACS
convention: shifts along c, then b, then a); a zero diagonal element means no
periodicity along that box vector. Inlined into the caller's kernel::

    from mdzoom.core.kernels import minimum_image

    @numba.njit(cache=True)
    def my_bonds(x, box, pairs, ...):
        d0, d1, d2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1],
                                   x[j, 2] - x[i, 2], box)

``dihedral(x, box, i, j, k, l)`` → (φ, and the vectors its gradient needs) and
``add_dihedral_force(f, i, j, k, l, dV/dφ, g)``: GROMACS's dihedral convention
(r_ij = x_i − x_j, r_kj = x_k − x_j, r_kl = x_k − x_l, m = r_ij × r_kj, n = r_kj × r_kl,
φ = angle(m, n) with the sign of r_ij · n; IUPAC, φ = 0 for cis) and force (Blondel &
Karplus; GROMACS's do_dih_fup). A torsion kernel is then::

    g = dihedral(x, box, i, j, k, l)
    energy += V(g[0])
    add_dihedral_force(forces_out, i, j, k, l, dV_dphi(g[0]), g)
"""

import numba
import numpy as np

__all__ = ["minimum_image", "dihedral", "add_dihedral_force"]

# sin²(angle) below which a dihedral counts as degenerate (collinear atoms): its force is
# zero, as the gradient of φ is undefined there
_DEGENERATE = 1e-16


@numba.njit(cache=True, inline="always")
def minimum_image(d0, d1, d2, box):
    """Minimum-image (d0, d1, d2) [nm] for a lower-triangular ``box`` (3, 3) [nm]."""
    if box[2, 2] > 0.0:
        n = np.rint(d2 / box[2, 2])
        d0 -= n * box[2, 0]
        d1 -= n * box[2, 1]
        d2 -= n * box[2, 2]
    if box[1, 1] > 0.0:
        n = np.rint(d1 / box[1, 1])
        d0 -= n * box[1, 0]
        d1 -= n * box[1, 1]
    if box[0, 0] > 0.0:
        n = np.rint(d0 / box[0, 0])
        d0 -= n * box[0, 0]
    return d0, d1, d2


@numba.njit(cache=True, inline="always")
def dihedral(x, box, i, j, k, l):
    """φ (rad, in (−π, π]) and the vectors its gradient needs.

    Returns (φ, r_ij, r_kj, r_kl, m, n, m·m, n·n) flattened; φ = 0 when m or n vanishes.
    """
    a0, a1, a2 = minimum_image(x[i, 0] - x[j, 0], x[i, 1] - x[j, 1], x[i, 2] - x[j, 2], box)
    b0, b1, b2 = minimum_image(x[k, 0] - x[j, 0], x[k, 1] - x[j, 1], x[k, 2] - x[j, 2], box)
    c0, c1, c2 = minimum_image(x[k, 0] - x[l, 0], x[k, 1] - x[l, 1], x[k, 2] - x[l, 2], box)
    m0 = a1 * b2 - a2 * b1
    m1 = a2 * b0 - a0 * b2
    m2 = a0 * b1 - a1 * b0
    n0 = b1 * c2 - b2 * c1
    n1 = b2 * c0 - b0 * c2
    n2 = b0 * c1 - b1 * c0
    s0 = m1 * n2 - m2 * n1
    s1 = m2 * n0 - m0 * n2
    s2 = m0 * n1 - m1 * n0
    phi = np.arctan2(np.sqrt(s0 * s0 + s1 * s1 + s2 * s2), m0 * n0 + m1 * n1 + m2 * n2)
    if a0 * n0 + a1 * n1 + a2 * n2 < 0.0:
        phi = -phi
    mm = m0 * m0 + m1 * m1 + m2 * m2
    nn = n0 * n0 + n1 * n1 + n2 * n2
    return (phi, a0, a1, a2, b0, b1, b2, c0, c1, c2, m0, m1, m2, n0, n1, n2, mm, nn)


@numba.njit(cache=True, inline="always")
def add_dihedral_force(f, i, j, k, l, dvdphi, g):
    """Add −dV/dφ ∇φ (Blondel & Karplus; GROMACS's do_dih_fup); zero if degenerate."""
    (_, a0, a1, a2, b0, b1, b2, c0, c1, c2, m0, m1, m2, n0, n1, n2, mm, nn) = g
    aa = a0 * a0 + a1 * a1 + a2 * a2
    bb = b0 * b0 + b1 * b1 + b2 * b2
    cc = c0 * c0 + c1 * c1 + c2 * c2
    if mm <= _DEGENERATE * aa * bb or nn <= _DEGENERATE * bb * cc:
        return
    nb = np.sqrt(bb)
    gi = -dvdphi * nb / mm
    gl = dvdphi * nb / nn
    fi0 = gi * m0
    fi1 = gi * m1
    fi2 = gi * m2
    fl0 = gl * n0
    fl1 = gl * n1
    fl2 = gl * n2
    p = (a0 * b0 + a1 * b1 + a2 * b2) / bb
    q = (c0 * b0 + c1 * b1 + c2 * b2) / bb
    s0 = p * fi0 - q * fl0
    s1 = p * fi1 - q * fl1
    s2 = p * fi2 - q * fl2
    f[i, 0] += fi0
    f[i, 1] += fi1
    f[i, 2] += fi2
    f[j, 0] -= fi0 - s0
    f[j, 1] -= fi1 - s1
    f[j, 2] -= fi2 - s2
    f[k, 0] -= fl0 + s0
    f[k, 1] -= fl1 + s1
    f[k, 2] -= fl2 + s2
    f[l, 0] += fl0
    f[l, 1] += fl1
    f[l, 2] += fl2
