"""Electrode layers from lattices: graphene/graphite, fcc(111) metal slabs and generic
2D sheets (MXene-like), each in an orthorhombic supercell that tiles a rectangular box.

Units: nm. Every builder returns a :class:`Slab` ``(positions, lateral_box, layer)``:

* ``positions`` : (N, 3) float64 [nm], inside ``[0, lx) × [0, ly)`` laterally; the first
  layer is at ``z = z0`` and layers go up in z;
* ``lateral_box`` : ``(lx, ly)`` [nm], the periodic lengths in x and y (the slab is
  periodic in x and y with exactly the bulk neighbour distances across the box edges);
* ``layer`` : (N,) int64, the atomic layer of each atom, 0 = lowest z.

Atoms are ordered layer by layer (layer 0 first). Areal densities: graphene
4 / (a · a√3) = 38.2 nm⁻² for a = 0.246 nm; fcc(111) 2 / (b² √3) per layer with
b = a/√2 (Au, a = 0.4078 nm: 13.9 nm⁻²).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Slab", "graphene_layer", "graphite", "fcc111", "lattice_2d", "rectangular_cell"]


class Slab(NamedTuple):
    """An electrode slab: ``positions`` (N, 3) [nm], ``lateral_box`` (lx, ly) [nm],
    ``layer`` (N,) int64 (0 = lowest layer)."""

    positions: np.ndarray
    lateral_box: tuple
    layer: np.ndarray

    @property
    def area(self) -> float:
        """Lateral area lx · ly [nm²]."""
        return float(self.lateral_box[0] * self.lateral_box[1])

    @property
    def n_layers(self) -> int:
        return int(self.layer.max()) + 1 if self.layer.size else 0


def _check_repeats(nx, ny):
    nx, ny = int(nx), int(ny)
    if nx < 1 or ny < 1:
        raise ValueError(f"nx and ny must be >= 1, got nx={nx}, ny={ny}")
    return nx, ny


def _tile(cell_xy, lx_cell, ly_cell, nx, ny):
    """Repeat (k, 2) in-cell positions over nx × ny rectangular cells, cell-major."""
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    shifts = np.stack([i.ravel() * lx_cell, j.ravel() * ly_cell], axis=1)   # (nx·ny, 2)
    return (shifts[:, None, :] + cell_xy[None, :, :]).reshape(-1, 2)


def _wrap_xy(xy, lx, ly):
    out = np.array(xy, dtype=float)
    out[:, 0] %= lx
    out[:, 1] %= ly
    # values within round-off of the upper edge go to 0 (so x ∈ [0, lx))
    out[np.isclose(out[:, 0], lx, rtol=0, atol=1e-12), 0] = 0.0
    out[np.isclose(out[:, 1], ly, rtol=0, atol=1e-12), 1] = 0.0
    return out


def _stack(layers_xy, z_values, lx, ly):
    pos = []
    layer = []
    for k, (xy, z) in enumerate(zip(layers_xy, z_values)):
        xy = _wrap_xy(xy, lx, ly)
        pos.append(np.column_stack([xy, np.full(len(xy), float(z))]))
        layer.append(np.full(len(xy), k, dtype=np.int64))
    return Slab(np.concatenate(pos), (float(lx), float(ly)), np.concatenate(layer))


# ------------------------------------------------------------------- graphene / graphite
def _graphene_cell(a):
    """The 4-atom rectangular cell a × a√3 of graphene (zigzag rows along x; C–C bonds
    d = a/√3 along y and at ±30° from x)."""
    d = a / np.sqrt(3.0)
    return np.array([[0.0, 0.0], [0.0, d], [0.5 * a, 1.5 * d], [0.5 * a, 2.5 * d]]), d


def graphene_layer(nx: int, ny: int, a: float = 0.246, z: float = 0.0) -> Slab:
    """One graphene sheet of nx × ny rectangular cells a × a√3 (4 atoms each).

    Parameters
    ----------
    nx, ny : int            repeats along x (period a) and y (period a√3)
    a : float [nm]          lattice constant (0.246 nm: C–C bond a/√3 = 0.142 nm)
    z : float [nm]          height of the sheet

    Returns a :class:`Slab` of 4·nx·ny atoms in a box (nx·a, ny·a√3), all in layer 0.
    """
    nx, ny = _check_repeats(nx, ny)
    cell, _ = _graphene_cell(a)
    lx, ly = nx * a, ny * a * np.sqrt(3.0)
    return _stack([_tile(cell, a, a * np.sqrt(3.0), nx, ny)], [z], lx, ly)


def graphite(n_layers: int, nx: int, ny: int, spacing: float = 0.335, a: float = 0.246,
             z0: float = 0.0) -> Slab:
    """AB (Bernal) stacked graphite: ``n_layers`` graphene sheets ``spacing`` apart.

    Layer k sits at ``z0 + k · spacing``; odd layers are shifted by one C–C bond
    (0, a/√3), so half their atoms sit over atoms and half over hexagon centres.

    Parameters
    ----------
    n_layers : int
    nx, ny : int                repeats of the a × a√3 cell (4 atoms per layer)
    spacing : float [nm]        interlayer distance (graphite: 0.335 nm)
    a : float [nm]              in-plane lattice constant (0.246 nm)
    z0 : float [nm]             height of layer 0

    Returns a :class:`Slab` of 4·nx·ny·n_layers atoms.
    """
    nx, ny = _check_repeats(nx, ny)
    if int(n_layers) < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    cell, d = _graphene_cell(a)
    lx_c, ly_c = a, a * np.sqrt(3.0)
    base = _tile(cell, lx_c, ly_c, nx, ny)
    layers = [base + np.array([0.0, (k % 2) * d]) for k in range(int(n_layers))]
    z = [z0 + k * spacing for k in range(int(n_layers))]
    return _stack(layers, z, nx * lx_c, ny * ly_c)


# ------------------------------------------------------------------------------ fcc(111)
def fcc111(n_layers: int, nx: int, ny: int, a: float = 0.4078, z0: float = 0.0) -> Slab:
    """An fcc(111) slab with ABC stacking (gold: a = 0.4078 nm).

    The surface net is triangular with nearest-neighbour distance b = a/√2; the
    orthorhombic surface cell is b × b√3 (= a/√2 × a√6/2) with 2 atoms per layer. Layers
    are a/√3 apart; layer k is shifted by k · (b/2, b√3/6) (the hollow sites), so every
    atom has 12 nearest neighbours at b in the bulk (9 at a surface layer, 6 in-plane).

    Parameters
    ----------
    n_layers : int
    nx, ny : int            repeats of the b × b√3 cell
    a : float [nm]          cubic lattice constant
    z0 : float [nm]         height of layer 0

    Returns a :class:`Slab` of 2·nx·ny·n_layers atoms, box (nx·b, ny·b√3).
    """
    nx, ny = _check_repeats(nx, ny)
    if int(n_layers) < 1:
        raise ValueError(f"n_layers must be >= 1, got {n_layers}")
    b = a / np.sqrt(2.0)
    lx_c, ly_c = b, b * np.sqrt(3.0)
    cell = np.array([[0.0, 0.0], [0.5 * b, 0.5 * ly_c]])
    base = _tile(cell, lx_c, ly_c, nx, ny)
    hollow = np.array([0.5 * b, ly_c / 6.0])
    dz = a / np.sqrt(3.0)
    layers = [base + (k % 3) * hollow for k in range(int(n_layers))]
    return _stack(layers, [z0 + k * dz for k in range(int(n_layers))], nx * lx_c, ny * ly_c)


# --------------------------------------------------------------------------- generic 2D
def _rotate_to_x(cell_vectors):
    v = np.asarray(cell_vectors, dtype=float)
    ang = np.arctan2(v[0, 1], v[0, 0])
    c, s = np.cos(-ang), np.sin(-ang)
    rot = np.array([[c, -s], [s, c]])
    return v @ rot.T


def rectangular_cell(cell_vectors, basis, max_index: int = 6, tol: float = 1e-6):
    """The smallest orthorhombic cell of a 2D lattice, for :func:`lattice_2d`.

    Rotates the lattice so the first vector v1 lies along +x and searches integer
    combinations w = p·v1 + q·v2 (|p|, q ≤ ``max_index``) perpendicular to v1; the cell
    (v1, w) holds q primitive cells. A hexagonal lattice (120° or 60°) gives q = 2.

    Parameters
    ----------
    cell_vectors : (2, 2) [nm]      primitive vectors as rows
    basis : (k, 3)                  fractional (f1, f2) and absolute z [nm] per site

    Returns ``(cell_vectors (2, 2), basis (k·q, 3))`` with the new cell diagonal.
    Raises ValueError if no rectangular cell exists within ``max_index``.
    """
    v = _rotate_to_x(cell_vectors)
    basis = np.atleast_2d(np.asarray(basis, dtype=float))
    v1, v2 = v
    best = None
    for q in range(1, max_index + 1):
        for p in range(-max_index, max_index + 1):
            w = p * v1 + q * v2
            if abs(w @ v1) <= tol * np.linalg.norm(v1) * np.linalg.norm(w):
                best = (p, q, w)
                break
        if best:
            break
    if best is None:
        raise ValueError("this 2D lattice has no rectangular (orthorhombic) supercell with "
                         f"indices up to {max_index}; its cell vectors are {v.tolist()}")
    p, q, w = best
    lx, ly = float(np.linalg.norm(v1)), float(abs(w[1]))
    # all sites of the primitive cells inside the new cell
    sites = []
    inv = np.linalg.inv(np.array([[lx, 0.0], [0.0, w[1]]]))
    for i in range(-max_index * 2, max_index * 2 + 1):
        for j in range(0, q + 1):
            for f1, f2, z in basis:
                r = (i + f1) * v1 + (j + f2) * v2
                f = r @ inv
                f = f - np.floor(f + 1e-9)
                sites.append((f[0], f[1], z))
    sites = np.array(sites)
    f12 = sites[:, :2]
    f12[np.abs(f12) < 1e-9] = 0.0
    f12[np.abs(f12 - 1.0) < 1e-9] = 0.0
    key = np.round(sites, 7)
    _, idx = np.unique(key, axis=0, return_index=True)
    out = sites[np.sort(idx)]
    if len(out) != len(basis) * q:
        raise RuntimeError(f"rectangular_cell found {len(out)} sites, expected "
                           f"{len(basis) * q}")  # pragma: no cover - consistency check
    return np.array([[lx, 0.0], [0.0, ly]]), out


def lattice_2d(cell_vectors, basis, nx: int, ny: int, z0: float = 0.0,
               layer_tol: float = 1e-4) -> Slab:
    """A 2D sheet (MXene-like) repeated nx × ny times from a rectangular unit cell.

    Parameters
    ----------
    cell_vectors : (2, 2) [nm]      cell vectors as rows; they must be perpendicular (the
        box is orthorhombic). For a hexagonal cell, convert first with
        :func:`rectangular_cell` (else ValueError).
    basis : (k, 3)                  per site: fractional coordinates (f1, f2) along the two
        vectors and the absolute height z [nm]
    nx, ny : int                    repeats along the two vectors
    z0 : float [nm]                 added to every z
    layer_tol : float [nm]          sites whose z differ by less belong to one layer

    Atoms are ordered layer by layer (sites within ``layer_tol`` in z form a layer), and
    within a layer cell by cell, the layer's sites in basis order.
    Returns a :class:`Slab` of k·nx·ny atoms; the first vector is rotated onto +x.
    """
    nx, ny = _check_repeats(nx, ny)
    v = np.asarray(cell_vectors, dtype=float)
    if v.shape != (2, 2):
        raise ValueError(f"cell_vectors must have shape (2, 2), got {v.shape}")
    basis = np.atleast_2d(np.asarray(basis, dtype=float))
    if basis.ndim != 2 or basis.shape[1] != 3:
        raise ValueError(f"basis must have shape (k, 3) (f1, f2, z), got {basis.shape}")
    n1, n2 = np.linalg.norm(v[0]), np.linalg.norm(v[1])
    if n1 == 0 or n2 == 0 or abs(np.linalg.det(v)) < 1e-12:
        raise ValueError("cell_vectors are degenerate")
    cosang = float(v[0] @ v[1]) / (n1 * n2)
    if abs(cosang) > 1e-8:
        raise ValueError(
            f"the cell vectors make {np.degrees(np.arccos(cosang)):.3f}°, so the "
            f"{nx} × {ny} supercell is not rectangular and cannot tile an orthorhombic "
            "box; convert the cell with rectangular_cell(cell_vectors, basis) first")
    v = _rotate_to_x(v)
    if v[1, 1] < 0:                     # left-handed input: flip y so the box is +x, +y
        v[1] = -v[1]
        basis = basis * np.array([1.0, -1.0, 1.0])
        basis[:, 1] %= 1.0
    lx_c, ly_c = float(v[0, 0]), float(v[1, 1])
    zs = basis[:, 2] + z0
    order = np.argsort(zs, kind="stable")
    layer_of_site = np.empty(len(basis), dtype=np.int64)
    k = 0
    for prev, s in zip(np.r_[order[0], order[:-1]], order):
        if zs[s] - zs[prev] > layer_tol:
            k += 1
        layer_of_site[s] = k
    pos, lay = [], []
    for k in range(int(layer_of_site.max()) + 1):
        sites = np.flatnonzero(layer_of_site == k)
        cell = basis[sites, :2] * np.array([lx_c, ly_c])
        xy = _wrap_xy(_tile(cell, lx_c, ly_c, nx, ny), nx * lx_c, ny * ly_c)
        z = np.tile(zs[sites], nx * ny)
        pos.append(np.column_stack([xy, z]))
        lay.append(np.full(len(xy), k, dtype=np.int64))
    return Slab(np.concatenate(pos), (nx * lx_c, ny * ly_c), np.concatenate(lay))
