"""Periodic-boundary helpers and the spatial grouping of solvent (4 H₂O → 1 W).

Boxes are (3, 3) row-vector matrices in the GROMACS convention (lower triangular for a
triclinic cell); ``None`` means no periodic boundaries. Lengths in nm.
"""

from __future__ import annotations

import numpy as np

__all__ = ["minimum_image", "make_whole", "cluster_groups"]


def minimum_image(d, box):
    """Shortest periodic image of displacement vectors ``d`` (..., 3) [nm].

    Exact for orthorhombic boxes; for a GROMACS triclinic box the usual c, b, a sweep,
    exact for vectors shorter than half the smallest box height (bonds, neighbours).
    """
    if box is None:
        return d
    d = np.array(d, dtype=np.float64, copy=True)
    for k in (2, 1, 0):
        if box[k, k] > 0:
            d -= np.round(d[..., k] / box[k, k])[..., None] * box[k]
    return d


def make_whole(x, tree, box):
    """Make molecules whole in place: ``x`` (count, k, 3) [nm], ``tree`` (k-1, 2)
    (parent, child) pairs in breadth-first order; each child is put at the periodic
    image nearest its parent. Returns ``x``."""
    if box is None or len(tree) == 0:
        return x
    for parent, child in tree:
        x[:, child] = x[:, parent] + minimum_image(x[:, child] - x[:, parent], box)
    return x


def _wrap(x, box):
    """Fractional coordinates in [0, 1) of positions x (n, 3)."""
    frac = x @ np.linalg.inv(box)
    return frac - np.floor(frac)


def cluster_groups(centres, size, box, *, cell=0.6, sweeps=10):
    """Group points ``size`` by ``size`` by spatial proximity, each point used once.

    Greedy on a cell grid: seeds are taken in cell order (a sweep through the box), each
    seed takes its ``size - 1`` nearest unused neighbours (periodic minimum image),
    searching 1, 2, … cells around it until it has enough. Then ``sweeps`` passes of
    pairwise exchanges between neighbouring groups, each lowering the summed squared
    distance of the points to their group centres (a balanced k-means step), tidy the
    stragglers the greedy pass leaves. Deterministic.

    Parameters
    ----------
    centres : (n, 3) float64 [nm]
    size : int
    box : (3, 3) float64 [nm] or None
    cell : float [nm]
        Cell edge of the search grid (about 2 waters per cell at 0.6 nm).

    Returns
    -------
    groups : (n // size, size) int64
        Indices into ``centres``; the first is the seed.
    left : (n % size,) int64
        Points in no group.
    """
    centres = np.asarray(centres, dtype=np.float64)
    n = len(centres)
    n_groups = n // size
    if n_groups == 0:
        return np.zeros((0, size), np.int64), np.arange(n)
    if box is None:
        lo = centres.min(axis=0)
        span = np.maximum(centres.max(axis=0) - lo, 1e-9) * (1 + 1e-9) + 1e-9
        frac = (centres - lo) / span
        ncell = np.maximum(1, np.floor(span / cell)).astype(int)
        periodic = False
    else:
        frac = _wrap(centres, box)
        heights = np.abs(np.diag(box))
        ncell = np.maximum(1, np.floor(heights / cell)).astype(int)
        periodic = True
    ijk = np.minimum((frac * ncell).astype(np.int64), ncell - 1)
    flat = (ijk[:, 0] * ncell[1] + ijk[:, 1]) * ncell[2] + ijk[:, 2]
    order = np.argsort(flat, kind="stable")
    n_cells = int(np.prod(ncell))
    starts = np.searchsorted(flat[order], np.arange(n_cells + 1))
    members = [list(order[starts[c]:starts[c + 1]]) for c in range(n_cells)]
    used = np.zeros(n, dtype=bool)
    groups = np.empty((n_groups, size), dtype=np.int64)
    g = 0
    max_reach = int(np.max(ncell))
    for seed in order:
        if g == n_groups:
            break
        if used[seed]:
            continue
        used[seed] = True
        ci = ijk[seed]
        found = []
        reach = 1
        while True:
            cand = _cells_around(ci, reach, ncell, periodic)
            pts = [p for c in cand for p in members[c] if not used[p]]
            if len(pts) >= size - 1 or reach >= max_reach:
                break
            reach += 1
        if pts:
            d = minimum_image(centres[pts] - centres[seed], box) if periodic \
                else centres[pts] - centres[seed]
            r2 = np.einsum("ij,ij->i", d, d)
            take = np.argsort(r2, kind="stable")[:size - 1]
            found = [pts[t] for t in take]
        if len(found) < size - 1:         # cannot happen while unused points remain
            used[seed] = False
            break
        used[found] = True
        groups[g, 0] = seed
        groups[g, 1:] = found
        g += 1
    left = np.flatnonzero(~used)
    groups = groups[:g]
    if sweeps and g > 1:
        _exchange(groups, centres, box if periodic else None, cell, sweeps)
    return groups, left


def _exchange(groups, x, box, cell, sweeps, reach=1.0):
    """Swap points between neighbouring groups (centres closer than ``reach`` nm) while
    that lowers Σ|x - centre|²; each sweep evaluates all pairs at once and applies the
    best non-conflicting swaps."""
    size = groups.shape[1]

    def centres():
        pts = x[groups]
        rel = minimum_image(pts - pts[:, :1], box)
        return pts[:, 0] + rel.mean(axis=1)

    cen = centres()
    pairs = []
    for lo in range(0, len(groups), 1024):               # neighbour pairs, chunked rows
        d = minimum_image(cen[lo:lo + 1024, None, :] - cen[None, :, :], box)
        a, b = np.nonzero(np.einsum("ijk,ijk->ij", d, d) < reach * reach)
        a = a + lo
        keep = a < b
        pairs.append(np.stack([a[keep], b[keep]], axis=1))
    pairs = np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)
    if not len(pairs):
        return
    a, b = pairs[:, 0], pairs[:, 1]
    for _ in range(sweeps):
        xa, xb = x[groups[a]], x[groups[b]]                # (P, size, 3)
        ca, cb = cen[a][:, None, :], cen[b][:, None, :]

        def sq(v):
            return np.einsum("pik,pik->pi", v, v)

        daa, dab = sq(minimum_image(xa - ca, box)), sq(minimum_image(xa - cb, box))
        dbb, dba = sq(minimum_image(xb - cb, box)), sq(minimum_image(xb - ca, box))
        gain = (dab - daa)[:, :, None] + (dba - dbb)[:, None, :]     # (P, size, size)
        flat = gain.reshape(len(pairs), -1)
        best = np.argmin(flat, axis=1)
        value = flat[np.arange(len(pairs)), best]
        todo = np.flatnonzero(value < -1e-9)
        if not len(todo):
            break
        busy = np.zeros(len(groups), dtype=bool)
        for p in todo[np.argsort(value[todo], kind="stable")]:
            if busy[a[p]] or busy[b[p]]:
                continue
            busy[a[p]] = busy[b[p]] = True
            i, j = divmod(int(best[p]), size)
            groups[a[p], i], groups[b[p], j] = groups[b[p], j], groups[a[p], i]
        cen = centres()


def _cells_around(ci, reach, ncell, periodic):
    """Flat indices of the cells within ``reach`` cells of cell ``ci`` (unique)."""
    rng = [np.arange(c - reach, c + reach + 1) for c in ci]
    out = set()
    for a in rng[0]:
        if not periodic and not 0 <= a < ncell[0]:
            continue
        for b in rng[1]:
            if not periodic and not 0 <= b < ncell[1]:
                continue
            for c in rng[2]:
                if not periodic and not 0 <= c < ncell[2]:
                    continue
                out.add(((a % ncell[0]) * ncell[1] + (b % ncell[1])) * ncell[2]
                        + (c % ncell[2]))
    return sorted(out)
