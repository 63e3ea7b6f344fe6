"""Conversions between box matrices and (lengths, angles) cell parameters.

A box is a (3, 3) float64 matrix of row vectors ``(a, b, c)`` in nm, in the
GROMACS convention: ``a = (ax, 0, 0)``, ``b = (bx, by, 0)``,
``c = (cx, cy, cz)`` with ``ax, by, cz > 0``.  Angles are in degrees:
``alpha`` between b and c, ``beta`` between a and c, ``gamma`` between a
and b.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "box_from_lengths_angles",
    "lengths_angles_from_box",
    "is_orthorhombic",
    "to_lower_triangular",
]


def _cos_sin(angle_deg: float) -> tuple[float, float]:
    """Cosine and sine of an angle in degrees, exact for 90 degrees."""
    if angle_deg == 90.0:
        return 0.0, 1.0
    rad = np.deg2rad(angle_deg)
    return float(np.cos(rad)), float(np.sin(rad))


def box_from_lengths_angles(a, b, c, alpha, beta, gamma) -> np.ndarray:
    """Build a GROMACS-convention box from cell lengths and angles.

    Parameters
    ----------
    a, b, c : float
        Lengths of the cell vectors in nm (all > 0).
    alpha, beta, gamma : float
        Angles b^c, a^c and a^b in degrees.

    Returns
    -------
    numpy.ndarray, shape (3, 3), float64
        Row vectors ``(a, b, c)`` in nm, lower triangular.

    Raises
    ------
    ValueError
        For non-positive lengths or angles that do not form a cell.
    """
    a, b, c = float(a), float(b), float(c)
    if min(a, b, c) <= 0.0:
        raise ValueError(f"box lengths must be > 0, got {(a, b, c)}")
    cos_a, _ = _cos_sin(float(alpha))
    cos_b, _ = _cos_sin(float(beta))
    cos_g, sin_g = _cos_sin(float(gamma))
    if sin_g <= 0.0:
        raise ValueError(f"gamma must be in (0, 180) degrees, got {gamma}")
    cx = c * cos_b
    cy = c * (cos_a - cos_b * cos_g) / sin_g
    cz_sq = c * c - cx * cx - cy * cy
    if cz_sq <= 0.0:
        raise ValueError(
            f"angles alpha={alpha}, beta={beta}, gamma={gamma} do not form a "
            "valid cell")
    box = np.array([
        [a, 0.0, 0.0],
        [b * cos_g, b * sin_g, 0.0],
        [cx, cy, np.sqrt(cz_sq)],
    ])
    # Remove rounding noise such as cos(90.000001 deg) ~ 1e-17.
    box[np.abs(box) < 1e-12 * max(a, b, c)] = 0.0
    return box


def lengths_angles_from_box(box) -> tuple[float, float, float,
                                          float, float, float]:
    """Cell lengths (nm) and angles (degrees) of a box.

    Parameters
    ----------
    box : array_like, shape (3, 3)
        Row vectors ``(a, b, c)`` in nm (any orientation).

    Returns
    -------
    tuple of float
        ``(a, b, c, alpha, beta, gamma)``.
    """
    box = np.asarray(box, dtype=np.float64)
    if box.shape != (3, 3):
        raise ValueError(f"box must have shape (3, 3), got {box.shape}")
    lengths = np.linalg.norm(box, axis=1)
    if np.any(lengths <= 0.0):
        raise ValueError("box vectors must have non-zero length")

    def angle(u, v, lu, lv):
        cos = np.clip(np.dot(u, v) / (lu * lv), -1.0, 1.0)
        if cos == 0.0:
            return 90.0
        return float(np.degrees(np.arccos(cos)))

    va, vb, vc = box
    la, lb, lc = (float(x) for x in lengths)
    return (la, lb, lc, angle(vb, vc, lb, lc), angle(va, vc, la, lc),
            angle(va, vb, la, lb))


def is_orthorhombic(box) -> bool:
    """True when all off-diagonal elements of the (3, 3) box are zero."""
    box = np.asarray(box, dtype=np.float64)
    return bool(np.all(box[~np.eye(3, dtype=bool)] == 0.0))


def to_lower_triangular(box) -> tuple[np.ndarray, np.ndarray]:
    """Rotate an arbitrarily oriented box into the GROMACS convention.

    Parameters
    ----------
    box : array_like, shape (3, 3)
        Right-handed row vectors in nm.

    Returns
    -------
    new_box : numpy.ndarray, shape (3, 3)
        Lower-triangular box with the same lengths and angles.
    rotation : numpy.ndarray, shape (3, 3)
        Proper rotation R with ``new_box = box @ R``; apply it to positions
        (and velocities) of shape (N, 3) as ``positions @ R``.

    Raises
    ------
    ValueError
        For a singular or left-handed box.
    """
    box = np.asarray(box, dtype=np.float64)
    if np.linalg.det(box) <= 0.0:
        raise ValueError("box vectors must be right-handed and non-singular")
    new_box = box_from_lengths_angles(*lengths_angles_from_box(box))
    rotation = np.linalg.solve(box, new_box)
    return new_box, rotation
