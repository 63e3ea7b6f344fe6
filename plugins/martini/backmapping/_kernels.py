"""numba kernels of the backmapping restraints.

Conventions of the core's kernels: positions ``x`` (N, 3) [nm], the box (3, 3) of
lower-triangular row vectors [nm], index arrays and parameters in internal units (nm,
rad, kJ/mol); a kernel adds −∂U/∂x into ``forces_out`` and returns U [kJ/mol]. The
dihedral i–j–k–l is GROMACS's: r_ij = x_i − x_j, r_kj = x_k − x_j, r_kl = x_k − x_l,
m = r_ij × r_kj, n = r_kj × r_kl, φ = angle(m, n) with the sign of r_ij · n (IUPAC, φ = 0
for cis); the force is Blondel & Karplus's (GROMACS ``do_dih_fup``).
"""

import numba
import numpy as np
from mdzoom.core.kernels import minimum_image

__all__ = ["torsion_restraints"]

# sin²(angle) below which a dihedral counts as degenerate (collinear atoms): no force
_DEGENERATE = 1e-16


@numba.njit(cache=True, error_model="numpy")
def torsion_restraints(x, box, atoms, phi0, k, forces_out):
    """V = k (1 − cos(φ − φ0)) per torsion.

    Parameters
    ----------
    x : (N, 3) float64 [nm]
    box : (3, 3) float64 [nm]
    atoms : (M, 4) int64
    phi0 : (M,) float64 [rad]
    k : (M,) float64 [kJ/mol]
    forces_out : (N, 3) float64 [kJ mol⁻¹ nm⁻¹], forces are added here

    Returns
    -------
    float : U [kJ/mol]
    """
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        kk = atoms[t, 2]
        ll = atoms[t, 3]
        a0, a1, a2 = minimum_image(x[i, 0] - x[j, 0], x[i, 1] - x[j, 1], x[i, 2] - x[j, 2],
                                   box)
        b0, b1, b2 = minimum_image(x[kk, 0] - x[j, 0], x[kk, 1] - x[j, 1],
                                   x[kk, 2] - x[j, 2], box)
        c0, c1, c2 = minimum_image(x[kk, 0] - x[ll, 0], x[kk, 1] - x[ll, 1],
                                   x[kk, 2] - x[ll, 2], box)
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
        dp = phi - phi0[t]
        energy += k[t] * (1.0 - np.cos(dp))
        dvdphi = k[t] * np.sin(dp)
        mm = m0 * m0 + m1 * m1 + m2 * m2
        nn = n0 * n0 + n1 * n1 + n2 * n2
        aa = a0 * a0 + a1 * a1 + a2 * a2
        bb = b0 * b0 + b1 * b1 + b2 * b2
        cc = c0 * c0 + c1 * c1 + c2 * c2
        if mm <= _DEGENERATE * aa * bb or nn <= _DEGENERATE * bb * cc:
            continue
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
        u0 = p * fi0 - q * fl0
        u1 = p * fi1 - q * fl1
        u2 = p * fi2 - q * fl2
        forces_out[i, 0] += fi0
        forces_out[i, 1] += fi1
        forces_out[i, 2] += fi2
        forces_out[j, 0] -= fi0 - u0
        forces_out[j, 1] -= fi1 - u1
        forces_out[j, 2] -= fi2 - u2
        forces_out[kk, 0] -= fl0 + u0
        forces_out[kk, 1] -= fl1 + u1
        forces_out[kk, 2] -= fl2 + u2
        forces_out[ll, 0] += fl0
        forces_out[ll, 1] += fl1
        forces_out[ll, 2] += fl2
    return energy
