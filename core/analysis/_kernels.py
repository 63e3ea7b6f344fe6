"""numba kernels of the analyses (see ``unwrap.py`` and ``diffusion.py``)."""

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def unwrap_displacement(w, boxes, inv_boxes, out):
    """von Bülow–Bullerjahn–Hummer displacement unwrapping, in one pass.

    ``w`` (T, N, 3) wrapped positions; ``boxes``/``inv_boxes`` (T, 3, 3) row-vector boxes
    and their inverses; ``out`` (T, N, 3) receives the unwrapped positions. The shift of
    the displacement ``w[t] − w[t−1]`` is rounded in scaled coordinates of box ``t``.
    Returns the largest |residual scaled displacement| (≤ 0.5), a sparseness check.
    """
    n_t, n = w.shape[0], w.shape[1]
    worst = 0.0
    for i in range(n):
        for d in range(3):
            out[0, i, d] = w[0, i, d]
    for t in range(1, n_t):
        h = boxes[t]
        hi = inv_boxes[t]
        for i in range(n):
            d0 = w[t, i, 0] - w[t - 1, i, 0]
            d1 = w[t, i, 1] - w[t - 1, i, 1]
            d2 = w[t, i, 2] - w[t - 1, i, 2]
            s0 = d0 * hi[0, 0] + d1 * hi[1, 0] + d2 * hi[2, 0]
            s1 = d0 * hi[0, 1] + d1 * hi[1, 1] + d2 * hi[2, 1]
            s2 = d0 * hi[0, 2] + d1 * hi[1, 2] + d2 * hi[2, 2]
            n0 = np.floor(s0 + 0.5)
            n1 = np.floor(s1 + 0.5)
            n2 = np.floor(s2 + 0.5)
            r = max(abs(s0 - n0), abs(s1 - n1), abs(s2 - n2))
            if r > worst:
                worst = r
            out[t, i, 0] = out[t - 1, i, 0] + d0 - (n0 * h[0, 0] + n1 * h[1, 0] + n2 * h[2, 0])
            out[t, i, 1] = out[t - 1, i, 1] + d1 - (n0 * h[0, 1] + n1 * h[1, 1] + n2 * h[2, 1])
            out[t, i, 2] = out[t - 1, i, 2] + d2 - (n0 * h[0, 2] + n1 * h[1, 2] + n2 * h[2, 2])
    return worst


@numba.njit(cache=True)
def weighted_centres(x, index, starts, weights, out):
    """Weighted centres of index groups: ``out[t, g]`` (T, G, 3).

    Group ``g`` is ``index[starts[g]:starts[g+1]]`` with ``weights`` aligned to ``index``
    (their per-group sums must be positive).
    """
    n_t = x.shape[0]
    n_g = starts.size - 1
    for t in range(n_t):
        for g in range(n_g):
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            wsum = 0.0
            for k in range(starts[g], starts[g + 1]):
                i = index[k]
                wk = weights[k]
                a0 += wk * x[t, i, 0]
                a1 += wk * x[t, i, 1]
                a2 += wk * x[t, i, 2]
                wsum += wk
            out[t, g, 0] = a0 / wsum
            out[t, g, 1] = a1 / wsum
            out[t, g, 2] = a2 / wsum
