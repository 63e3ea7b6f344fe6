"""Unwrapping: positions folded into the periodic box → continuous trajectories.

The scheme is the displacement ("toroidal-view-preserving") scheme of

    S. von Bülow, J. T. Bullerjahn, G. Hummer, "Systematic errors in diffusion
    coefficients from long-time molecular dynamics simulations at constant pressure",
    J. Chem. Phys. 153, 021101 (2020), doi:10.1063/5.0008316,

also recommended for diffusion coefficients by J. T. Bullerjahn, S. von Bülow,
M. Heidari, J. Hénin, G. Hummer, J. Chem. Theory Comput. 19, 3406 (2023). Each frame adds
the minimum-image displacement between consecutive *wrapped* frames to the previous
unwrapped position::

    u[i+1] = u[i] + Δ,   Δ = w[i+1] − w[i] − floor(s + 1/2) · H[i+1],
    s = (w[i+1] − w[i]) · H[i+1]⁻¹           (the displacement in scaled coordinates)

with ``H`` the (3, 3) row-vector box. Under constant pressure the box (and the positions
with it) is rescaled every frame; the "heuristic" scheme that picks the image of
``w[i+1]`` closest to ``u[i]`` (``gmx trjconv -pbc nojump``) then turns each box
fluctuation into a jump proportional to the number of boxes the particle has travelled,
which inflates diffusion coefficients without bound. The displacement scheme does not:
the unwrapped path differs from the wrapped one only by whole lattice vectors added at
the frames where the particle crosses a face. For an orthorhombic box the formula above
is exactly the paper's eq. (2); for a triclinic box the shift is rounded in scaled
coordinates of the later box, which is exact as long as no particle moves more than half
the smallest box height between two frames (the same condition as for any unwrapping).

Units: nm.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._kernels import unwrap_displacement
from ._trajectory import as_trajectory

__all__ = ["unwrap", "unwrap_positions"]


def unwrap_positions(positions, boxes) -> np.ndarray:
    """Unwrap an array of wrapped positions (the array form of :func:`unwrap`).

    Parameters
    ----------
    positions : array_like, shape (T, N, 3) [nm]
        Wrapped positions (any image convention; each frame may be wrapped differently).
    boxes : array_like, shape (T, 3, 3) [nm], or None
        Row-vector box of every frame, orthorhombic or triclinic. None: not periodic,
        the positions come back unchanged (as a copy).

    Returns
    -------
    numpy.ndarray, shape (T, N, 3), float64 [nm]
        Continuous positions; frame 0 equals the input's frame 0.

    Warns
    -----
    UserWarning
        When some particle moved more than 0.4 of a box height (0.4 in scaled
        coordinates) between two frames: frames may be too far apart for any
        unwrapping to be unambiguous.
    """
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    if boxes is None or pos.shape[0] < 2:
        return pos.copy()
    boxes = np.ascontiguousarray(np.broadcast_to(boxes, (pos.shape[0], 3, 3)),
                                 dtype=np.float64)
    out = np.empty_like(pos)
    worst = unwrap_displacement(pos, boxes, np.linalg.inv(boxes), out)
    if worst > 0.4:
        warnings.warn("unwrap: some particle moved more than 0.4 of a box height between "
                      "two frames; the frames may be too far apart to unwrap "
                      "unambiguously", UserWarning, stacklevel=3)
    return out


def unwrap(traj, boxes=None) -> np.ndarray:
    """Unwrap a trajectory with the von Bülow–Bullerjahn–Hummer displacement scheme.

    Correct under constant pressure (changing orthorhombic or triclinic boxes): the
    minimum-image displacement between consecutive frames is taken in scaled
    coordinates of the later frame's box, so box rescaling makes no spurious jumps
    (J. Chem. Phys. 153, 021101 (2020); see the module docstring).

    Parameters
    ----------
    traj
        ``H5MDTrajectory``, path to an ``.h5md`` file, positions array (T, N, 3) [nm] or
        a tuple ``(positions, times, boxes)`` (see :func:`as_trajectory`).
    boxes : array_like [nm], optional
        Boxes to use instead of the trajectory's own, (T, 3, 3) or (3, 3).

    Returns
    -------
    numpy.ndarray, shape (T, N, 3), float64 [nm]
        Continuous positions; frame 0 is the input's frame 0. Molecules split across the
        box in frame 0 stay split (by constant lattice vectors), which leaves
        displacements and MSDs unchanged.
    """
    tr = as_trajectory(traj, boxes=boxes)
    return unwrap_positions(tr.positions, tr.boxes)
