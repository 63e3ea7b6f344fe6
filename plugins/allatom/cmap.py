"""CHARMM CMAP: tabulated φ/ψ backbone correction maps (GROMACS ``[ cmap ]`` function 1).

A CMAP couples two consecutive dihedrals of five atoms a–b–c–d–e (in proteins C–N–CA–C–N):
φ = dihedral(a, b, c, d) and ψ = dihedral(b, c, d, e), both GROMACS/IUPAC dihedrals. The
energy is a table V(φ, ψ) on an n × n grid, interpolated exactly as GROMACS 2022 does
(``setup_cmap`` in grompp, ``cmap_dihs`` in mdrun), which this module reimplements:

- **grid** (``[ cmaptypes ]`` order): value k of the n² values on the line is
  V(φ_i, ψ_j) with i = k // n, j = k % n (φ is the slow index), φ_i = −180° + i·360°/n,
  likewise ψ_j; n must be even (24 in CHARMM: 15° spacing).
- **derivatives at the grid nodes**: the grid is repeated periodically to 2n × 2n nodes
  (from −180° − n/2 spacings), and ∂V/∂φ, ∂V/∂ψ and ∂²V/∂φ∂ψ are taken from *natural*
  cubic splines along the rows and then the columns of that extended grid — nearly, not
  exactly, a periodic spline (the ends are n/2 spacings away: OpenMM's periodic spline
  gives energies within ~1e-8 relative, forces within ~1e-7 of the largest).
- **interpolation**: in each grid cell, the bicubic polynomial that matches V and the
  three derivatives at its four corners (Numerical Recipes' ``bcuint``; here written as
  a tensor product of cubic Hermite bases).

The energy term is ``CMAP Dih.``::

    >>> import numpy as np
    >>> from mdzoom.plugins.allatom.cmap import CMAPTorsions
    >>> grid = np.zeros((24, 24))                  # kJ/mol, [φ index, ψ index]
    >>> cmap = CMAPTorsions(atoms=[[0, 1, 2, 3, 4]], maps=grid)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mdzoom.core.bonded import IndexedForce as _ArrayParams
from mdzoom.core.bonded import KernelBoundForce as _BoundBonded

from . import _bonded_kernels as _k

__all__ = ["CMAPTorsions", "cmap_coefficients", "gromacs_cmap", "openmm_cmap"]

TERM = "CMAP Dih."


@dataclass(eq=False)
class CMAPTorsions(_ArrayParams):
    """V = CMAP_m(φ, ψ), φ = dihedral(a, b, c, d), ψ = dihedral(b, c, d, e) (cmap func 1).

    Parameters
    ----------
    atoms : (M, 5) int   a, b, c, d, e of each CMAP
    maps : (n, n) or (K, n, n) [kJ/mol]   grid values V(φ_i, ψ_j) with
        φ_i = −180° + i·360°/n, ψ_j likewise (``[ cmaptypes ]`` order); n even
    map_index : int or (M,)   which of the K maps each CMAP uses
    """

    atoms: np.ndarray
    maps: np.ndarray
    map_index: int | np.ndarray = 0

    term = TERM

    def checked_maps(self):
        """``maps`` as a (K, n, n) float array, checked (square, even n ≥ 4)."""
        maps = np.asarray(self.maps, dtype=float)
        if maps.ndim == 2:
            maps = maps[None]
        if maps.ndim != 3 or maps.shape[1] != maps.shape[2] or maps.shape[1] < 4 \
                or maps.shape[1] % 2:
            raise ValueError("CMAPTorsions: maps must have shape (n, n) or (K, n, n) with an "
                             f"even grid size n >= 4 (GROMACS's layout); got {maps.shape}")
        return maps

    def bind(self, system, context):
        atoms = self._indices(system, 5)
        maps = self.checked_maps()
        index = self._param("map_index", len(atoms), dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= len(maps)):
            raise IndexError(f"CMAPTorsions: map_index out of range for {len(maps)} maps "
                             f"(got {index.min()}..{index.max()})")
        return _BoundBonded(self.term, _k.cmap_torsions,
                            (atoms, index, cmap_coefficients(maps)))


# ---------------------------------------------------------------------------------------
# GROMACS's interpolation scheme


def _node_derivative_operator(n, dx):
    """(n, n) matrix D: D @ y = dy/dx at the nodes 0 … n−2 of the natural cubic spline
    through y (uniform spacing dx), the derivative taken on the interval to the right."""
    # second derivatives: y2[0] = y2[n-1] = 0, y2[i-1] + 4 y2[i] + y2[i+1] = 6 Δ²y[i] / dx²
    a = np.zeros((n - 2, n - 2))
    idx = np.arange(n - 2)
    a[idx, idx] = 4.0
    a[idx[1:], idx[:-1]] = 1.0
    a[idx[:-1], idx[1:]] = 1.0
    lap = np.zeros((n - 2, n))
    lap[idx, idx] = 1.0
    lap[idx, idx + 1] = -2.0
    lap[idx, idx + 2] = 1.0
    y2 = np.zeros((n, n))
    y2[1:-1] = np.linalg.solve(a, 6.0 / dx ** 2 * lap)
    # y'(x_i) = (y[i+1] − y[i]) / dx − dx/3 y2[i] − dx/6 y2[i+1]
    d = np.zeros((n, n))
    i = np.arange(n - 1)
    d[i, i + 1] += 1.0 / dx
    d[i, i] -= 1.0 / dx
    d[:-1] -= dx / 3.0 * y2[:-1] + dx / 6.0 * y2[1:]
    return d


def _hermite_to_monomial():
    """M with (a0, a1, a2, a3) = M (f(0), f(1), f'(0), f'(1)) for a cubic Σ a_k t^k."""
    return np.array([[1.0, 0.0, 0.0, 0.0],
                     [0.0, 0.0, 1.0, 0.0],
                     [-3.0, 3.0, -2.0, -1.0],
                     [2.0, -2.0, 1.0, 1.0]])


def cmap_coefficients(maps):
    """Bicubic coefficients (K, n, n, 4, 4) of (K, n, n) maps, GROMACS's scheme.

    ``c[m, i, j, p, q]`` is the coefficient of t^p u^q in cell (i, j) of map m, where
    t = (φ − φ_i)/Δ and u = (ψ − ψ_j)/Δ ∈ [0, 1), Δ = 360°/n (cells wrap at +180°).
    """
    maps = np.asarray(maps, dtype=float)
    k, n, _ = maps.shape
    h = n // 2
    dx = 360.0 / n                                           # degrees, as GROMACS
    dfull = _node_derivative_operator(2 * n, dx)
    d = dfull[h:h + n]                                       # rows of the central nodes
    ext = (np.arange(2 * n) - h) % n                         # extended node → grid node
    mh = _hermite_to_monomial()
    coeff = np.empty((k, n, n, 4, 4))
    for m in range(k):
        g = maps[m][np.ix_(ext, ext)]                        # (2n, 2n), from −180° − h Δ
        dpsi_all = g @ dfull.T                               # ∂V/∂ψ at the nodes
        v = maps[m]
        dphi = (d @ g)[:, h:h + n]                           # ∂V/∂φ   [kJ mol⁻¹ deg⁻¹]
        dpsi = dpsi_all[h:h + n, h:h + n]                    # ∂V/∂ψ
        dphipsi = (d @ dpsi_all)[:, h:h + n]                 # ∂²V/∂φ∂ψ
        # corner values in cell (i, j): index 0 → node i (or j), 1 → node i+1 (wrapped);
        # derivatives per cell width: × Δ (× Δ² for the mixed one)
        ip = np.roll(np.arange(n), -1)
        f = np.empty((n, n, 4, 4))
        for a, ia in ((0, slice(None)), (1, ip)):
            for b, jb in ((0, slice(None)), (1, ip)):
                f[:, :, a, b] = v[ia][:, jb]
                f[:, :, 2 + a, b] = dx * dphi[ia][:, jb]
                f[:, :, a, 2 + b] = dx * dpsi[ia][:, jb]
                f[:, :, 2 + a, 2 + b] = dx * dx * dphipsi[ia][:, jb]
        coeff[m] = np.einsum("pa,ijab,qb->ijpq", mh, f, mh)
    return np.ascontiguousarray(coeff)


# ---------------------------------------------------------------------------------------
# GROMACS handler and OpenMM converter


def gromacs_cmap(atoms, params, ctx):
    """``[ cmap ]`` func 1: the map of each line from ``[ cmaptypes ]``, matched by the
    five atoms' bonded types in the given order (as grompp: no reversed match)."""
    top = ctx.topology
    table = top.cmaptypes
    keys, index = {}, np.empty(len(atoms), dtype=np.int64)
    for r, row in enumerate(atoms):
        types = tuple(top.atomtypes[ctx.atom_types[a]].bond_type for a in row)
        if types not in table:
            avail = "; ".join(" ".join(t) for t in table) or "none"
            raise ValueError(f"[ cmap ] between atoms {' '.join(str(a + 1) for a in row)} "
                             f"(global numbering): no [ cmaptypes ] entry for bonded types "
                             f"{' '.join(types)}; available: {avail}")
        index[r] = keys.setdefault(types, len(keys))
    maps = []
    for types in keys:
        func, nx, ny, values = table[types]
        if nx != ny:
            raise ValueError(f"[ cmaptypes ] {' '.join(types)}: grid {nx}x{ny} is not square "
                             "(GROMACS needs the same size in both directions)")
        maps.append(np.asarray(values, dtype=float).reshape(nx, ny))
    if len({m.shape for m in maps}) > 1:
        raise ValueError("[ cmaptypes ]: all maps must have the same grid size (as in "
                         f"GROMACS); got {sorted({m.shape[0] for m in maps})}")
    return CMAPTorsions(atoms, np.array(maps), index)


def openmm_cmap(force, system, mm):
    """``openmm.CMAPTorsionForce``: OpenMM's map index (a, b) is at angles
    (2π a/n, 2π b/n), stored at a + n b, so our grid is shifted by n/2 and transposed.
    OpenMM interpolates with periodic splines: energies agree to ~1e-8 relative, forces
    to ~1e-7 of the largest (A6PA6, OpenMM 8.6.1 Reference platform)."""
    atoms = np.asarray(force.atoms, dtype=np.int64).reshape(-1, 5)
    maps = force.checked_maps()
    index = np.broadcast_to(np.asarray(force.map_index, dtype=np.int64), (len(atoms),))
    f = mm.CMAPTorsionForce()
    for grid in maps:
        n = grid.shape[0]
        shifted = np.roll(grid, -(n // 2), axis=(0, 1))    # [a, b] = V(2π a/n, 2π b/n)
        f.addMap(n, [float(v) for v in shifted.T.ravel()])
    for m, (a, b, c, d, e) in zip(index, atoms):
        f.addTorsion(int(m), int(a), int(b), int(c), int(d), int(b), int(c), int(d), int(e))
    f.setName(TERM)
    f.setUsesPeriodicBoundaryConditions(True)
    return [f]
