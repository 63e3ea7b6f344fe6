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
"""

import numba
import numpy as np

__all__ = ["minimum_image"]


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
