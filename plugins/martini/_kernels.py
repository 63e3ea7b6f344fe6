"""numba kernels of the Martini-specific bonded terms.

Same conventions as GROMACS (and the all-atom plugin's kernels, which this plugin does not
import): positions ``x`` (N, 3) [nm], the box (3, 3) of lower-triangular row vectors
[nm], index arrays and per-interaction parameters in internal units (nm, rad, kJ/mol);
each kernel adds −∂U/∂x into ``forces_out`` (N, 3) [kJ mol⁻¹ nm⁻¹] and returns U
[kJ/mol]. The angle i–j–k is between r_ij = x_i − x_j and r_kj = x_k − x_j (minimum
image).
"""

import numba
import numpy as np
from mdzoom.core.kernels import minimum_image

__all__ = ["restricted_bending"]


@numba.njit(cache=True, error_model="numpy")
def restricted_bending(x, box, atoms, cos0, k, forces_out):
    """Restricted bending (GROMACS angles func 10; Bulacu et al., JCTC 9, 3282 (2013)).

    V = ½ k (cos θ − cos θ0)² / sin² θ per angle.

    Parameters
    ----------
    x : (N, 3) float64 [nm]
    box : (3, 3) float64 [nm]
    atoms : (M, 3) int64        i, j (apex), k
    cos0 : (M,) float64         cos θ0
    k : (M,) float64 [kJ/mol]
    forces_out : (N, 3) float64 [kJ mol⁻¹ nm⁻¹], forces are added here

    Returns
    -------
    float : U [kJ/mol]

    With c = cos θ: dV/dc = k (c − c0)(1 − c c0) / (1 − c²)², and
    ∂c/∂x_i = (b̂ − c â)/|a|, ∂c/∂x_k = (â − c b̂)/|b|, ∂c/∂x_j = −(∂c/∂x_i + ∂c/∂x_k)
    for a = r_ij, b = r_kj. The potential diverges at θ = 0° and 180°; a collinear
    triple (sin θ = 0 exactly) contributes neither energy nor force.
    """
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        l = atoms[t, 2]
        a0, a1, a2 = minimum_image(x[i, 0] - x[j, 0], x[i, 1] - x[j, 1],
                                   x[i, 2] - x[j, 2], box)
        b0, b1, b2 = minimum_image(x[l, 0] - x[j, 0], x[l, 1] - x[j, 1],
                                   x[l, 2] - x[j, 2], box)
        ra = np.sqrt(a0 * a0 + a1 * a1 + a2 * a2)
        rb = np.sqrt(b0 * b0 + b1 * b1 + b2 * b2)
        ia = 1.0 / ra
        ib = 1.0 / rb
        a0 *= ia
        a1 *= ia
        a2 *= ia
        b0 *= ib
        b1 *= ib
        b2 *= ib
        c = a0 * b0 + a1 * b1 + a2 * b2
        s2 = 1.0 - c * c
        if s2 <= 0.0:
            continue
        dc = c - cos0[t]
        energy += 0.5 * k[t] * dc * dc / s2
        dvdc = k[t] * dc * (1.0 - c * cos0[t]) / (s2 * s2)
        # F = −dV/dc ∂c/∂x
        gi = -dvdc * ia
        gk = -dvdc * ib
        fi0 = gi * (b0 - c * a0)
        fi1 = gi * (b1 - c * a1)
        fi2 = gi * (b2 - c * a2)
        fk0 = gk * (a0 - c * b0)
        fk1 = gk * (a1 - c * b1)
        fk2 = gk * (a2 - c * b2)
        forces_out[i, 0] += fi0
        forces_out[i, 1] += fi1
        forces_out[i, 2] += fi2
        forces_out[l, 0] += fk0
        forces_out[l, 1] += fk1
        forces_out[l, 2] += fk2
        forces_out[j, 0] -= fi0 + fk0
        forces_out[j, 1] -= fi1 + fk1
        forces_out[j, 2] -= fi2 + fk2
    return energy
