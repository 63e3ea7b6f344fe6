"""An example analysis: the distribution of bond lengths over a trajectory.

An mdzoom analysis is a plain function ``fn(trajectory, **params) -> Results``
(``mdzoom.core.Results``: a dict whose keys are also attributes). Analyses run after the
simulation, on arrays, so numpy is enough here — no numba needed.
"""

from __future__ import annotations

import numpy as np
from mdzoom.core import Results

__all__ = ["bond_length_distribution", "bond_lengths"]


def _minimum_image(d, boxes):
    """Minimum-image vectors ``d`` (T, M, 3) for lower-triangular boxes (T, 3, 3)."""
    d = d.copy()
    for axis in (2, 1, 0):
        edge = boxes[:, axis, :][:, None, :]                      # (T, 1, 3)
        n = np.rint(d[..., axis] / edge[..., axis])               # (T, M)
        d -= n[..., None] * edge
    return d


def bond_lengths(positions, bonds, boxes=None) -> np.ndarray:
    """Bond lengths (T, M) [nm] of ``positions`` (T, N, 3) for ``bonds`` (M, 2).

    ``boxes`` (T, 3, 3) [nm] applies the minimum image; ``None`` means no periodicity.
    """
    x = np.asarray(positions, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    b = np.asarray(bonds, dtype=np.int64).reshape(-1, 2)
    d = x[:, b[:, 1]] - x[:, b[:, 0]]
    if boxes is not None:
        boxes = np.broadcast_to(np.asarray(boxes, dtype=np.float64), (x.shape[0], 3, 3))
        d = _minimum_image(d, boxes)
    return np.sqrt(np.einsum("tmk,tmk->tm", d, d))


def bond_length_distribution(trajectory, bonds=None, bins=50, range=None, start=0,
                             stop=None, step=1) -> Results:
    """Histogram of bond lengths over frames ``start:stop:step``.

    Parameters
    ----------
    trajectory : object with ``positions`` (T, N, 3) [nm] and ``boxes`` (T, 3, 3) [nm]
        or None (e.g. ``mdzoom.core.io.read_h5md(path)``)
    bonds : (M, 2) int array
        Particle index pairs, e.g. ``system.topology.bonds``. If omitted, taken from
        ``trajectory.bonds`` when the trajectory has it.
    bins : int or sequence of edges
    range : (float, float) [nm], optional   histogram range (default: data min..max)

    Returns
    -------
    Results with ``bin_edges`` (B+1,) [nm], ``bin_centres`` (B,) [nm], ``counts`` (B,),
    ``density`` (B,) [nm⁻¹] (normalised to integrate to 1), ``mean`` and ``std`` [nm]
    of all sampled lengths, ``lengths`` (T', M) [nm] and ``n_frames``.
    """
    if bonds is None:
        bonds = getattr(trajectory, "bonds", None)
        if bonds is None:
            raise ValueError("bond_length_distribution needs bonds=(M, 2) particle pairs "
                             "(e.g. system.topology.bonds)")
    frames = slice(start, stop, step)
    positions = np.asarray(trajectory.positions)[frames]
    boxes = getattr(trajectory, "boxes", None)
    if boxes is not None:
        boxes = np.asarray(boxes)[frames]
    lengths = bond_lengths(positions, bonds, boxes)
    if lengths.size == 0:
        raise ValueError("no bond lengths to histogram (no frames or no bonds)")
    counts, edges = np.histogram(lengths, bins=bins, range=range)
    widths = np.diff(edges)
    total = counts.sum()
    density = counts / (total * widths) if total else np.zeros_like(widths)
    return Results(bin_edges=edges, bin_centres=0.5 * (edges[1:] + edges[:-1]),
                   counts=counts, density=density, mean=float(lengths.mean()),
                   std=float(lengths.std()), lengths=lengths, n_frames=lengths.shape[0])
