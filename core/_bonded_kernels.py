"""numba kernels of bonded terms."""

import numba
import numpy as np

from .kernels import minimum_image  # noqa: F401  (used by the kernels below and others)




@numba.njit(cache=True, error_model="numpy")
def harmonic_bonds(x, box, pairs, k, r0, forces_out):
    """V = ½k(r − r0)² per bond; returns U [kJ/mol] and adds forces."""
    energy = 0.0
    for b in range(pairs.shape[0]):
        i = pairs[b, 0]
        j = pairs[b, 1]
        d0, d1, d2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1],
                                   x[j, 2] - x[i, 2], box)
        r = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        dr = r - r0[b]
        energy += 0.5 * k[b] * dr * dr
        fs = -k[b] * dr / r if r > 0.0 else 0.0
        forces_out[i, 0] -= fs * d0
        forces_out[i, 1] -= fs * d1
        forces_out[i, 2] -= fs * d2
        forces_out[j, 0] += fs * d0
        forces_out[j, 1] += fs * d1
        forces_out[j, 2] += fs * d2
    return energy
