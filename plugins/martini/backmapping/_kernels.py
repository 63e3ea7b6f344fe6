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
from mdzoom.core.kernels import add_dihedral_force, dihedral

__all__ = ["torsion_restraints"]


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
        g = dihedral(x, box, i, j, kk, ll)
        dp = g[0] - phi0[t]
        energy += k[t] * (1.0 - np.cos(dp))
        add_dihedral_force(forces_out, i, j, kk, ll, k[t] * np.sin(dp), g)
    return energy
