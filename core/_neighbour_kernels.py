"""numba kernels of the cell list + Verlet neighbour list (see ``neighbours.py``)."""

import numba
import numpy as np

SHIFT_BITS = 5          # neighbour entry = (j << SHIFT_BITS) | shift_index
SHIFT_MASK = 31
ZERO_SHIFT = 13         # index of the (0, 0, 0) image in the 27-entry shift table


@numba.njit(cache=True, error_model="numpy")
def shift_table(box):
    """(27, 3) image shift vectors sa·a + sb·b + sc·c, index (sa+1)·9 + (sb+1)·3 + (sc+1)."""
    out = np.empty((27, 3))
    for sa in range(-1, 2):
        for sb in range(-1, 2):
            for sc in range(-1, 2):
                s = (sa + 1) * 9 + (sb + 1) * 3 + (sc + 1)
                for d in range(3):
                    out[s, d] = sa * box[0, d] + sb * box[1, d] + sc * box[2, d]
    return out


@numba.njit(cache=True, error_model="numpy")
def bin_particles(x, box, inv_box, nca, ncb, ncc, offsets, cell):
    """Fold positions into the cell (offsets = wrapped − x) and assign each a cell id."""
    n = x.shape[0]
    for i in range(n):
        f0 = x[i, 0] * inv_box[0, 0] + x[i, 1] * inv_box[1, 0] + x[i, 2] * inv_box[2, 0]
        f1 = x[i, 0] * inv_box[0, 1] + x[i, 1] * inv_box[1, 1] + x[i, 2] * inv_box[2, 1]
        f2 = x[i, 0] * inv_box[0, 2] + x[i, 1] * inv_box[1, 2] + x[i, 2] * inv_box[2, 2]
        n0 = np.floor(f0)
        n1 = np.floor(f1)
        n2 = np.floor(f2)
        f0 -= n0
        f1 -= n1
        f2 -= n2
        for d in range(3):
            offsets[i, d] = -(n0 * box[0, d] + n1 * box[1, d] + n2 * box[2, d])
        ca = min(int(f0 * nca), nca - 1)
        cb = min(int(f1 * ncb), ncb - 1)
        cc = min(int(f2 * ncc), ncc - 1)
        cell[i] = (ca * ncb + cb) * ncc + cc


@numba.njit(cache=True, error_model="numpy")
def counting_sort(cell, n_cells, order, cell_start):
    """Stable sort of particles by cell id: fills ``order`` (N,) and ``cell_start`` (C+1,)."""
    cell_start[:] = 0
    for i in range(cell.shape[0]):
        cell_start[cell[i] + 1] += 1
    for c in range(n_cells):
        cell_start[c + 1] += cell_start[c]
    fill = cell_start[:-1].copy()
    for i in range(cell.shape[0]):
        c = cell[i]
        order[fill[c]] = i
        fill[c] += 1


@numba.njit(cache=True, error_model="numpy")
def gather_positions(x, offsets, order, ys):
    """ys[k] = x[order[k]] + offsets[order[k]]."""
    for k in range(order.shape[0]):
        i = order[k]
        ys[k, 0] = x[i, 0] + offsets[i, 0]
        ys[k, 1] = x[i, 1] + offsets[i, 1]
        ys[k, 2] = x[i, 2] + offsets[i, 2]


@numba.njit(cache=True, error_model="numpy")
def refresh_positions(x, x_ref, offsets, order, ys):
    """Gather sorted positions and return the largest squared displacement since x_ref."""
    n = order.shape[0]
    most = 0.0
    for k in range(n):
        i = order[k]
        ys[k, 0] = x[i, 0] + offsets[i, 0]
        ys[k, 1] = x[i, 1] + offsets[i, 1]
        ys[k, 2] = x[i, 2] + offsets[i, 2]
        d0 = x[i, 0] - x_ref[i, 0]
        d1 = x[i, 1] - x_ref[i, 1]
        d2 = x[i, 2] - x_ref[i, 2]
        d = d0 * d0 + d1 * d1 + d2 * d2
        if d > most:
            most = d
    return most


@numba.njit(cache=True, inline="always")
def _excluded(a, b, excl_start, excl_index):
    for k in range(excl_start[a], excl_start[a + 1]):
        if excl_index[k] == b:
            return True
    return False


#: forward half of the 27-cell stencil: each pair of cells is visited from one side only
HALF_STENCIL = np.array([(0, 0, 1), (0, 1, -1), (0, 1, 0), (0, 1, 1)]
                        + [(1, b, c) for b in (-1, 0, 1) for c in (-1, 0, 1)], dtype=np.int64)


@numba.njit(cache=True)
def stencil_table(nca, ncb, ncc, stencil):
    """For every cell, its half-stencil neighbour cells and their image-shift indices.

    Returns ``(cells, codes)``, both (n_cells, len(stencil)) int64. Computed once per
    cell grid, so the list build does no periodic wrapping per particle.
    """
    nc = nca * ncb * ncc
    ns = stencil.shape[0]
    cells = np.empty((nc, ns), np.int64)
    codes = np.empty((nc, ns), np.int64)
    for c in range(nc):
        ca = c // (ncb * ncc)
        cb = (c // ncc) % ncb
        cc = c % ncc
        for t in range(ns):
            a = ca + stencil[t, 0]
            b = cb + stencil[t, 1]
            z = cc + stencil[t, 2]
            sa = 0
            sb = 0
            sc = 0
            if a < 0:
                a += nca
                sa = -1
            elif a >= nca:
                a -= nca
                sa = 1
            if b < 0:
                b += ncb
                sb = -1
            elif b >= ncb:
                b -= ncb
                sb = 1
            if z < 0:
                z += ncc
                sc = -1
            elif z >= ncc:
                z -= ncc
                sc = 1
            cells[c, t] = (a * ncb + b) * ncc + z
            codes[c, t] = (sa + 1) * 9 + (sb + 1) * 3 + (sc + 1)
    return cells, codes


@numba.njit(cache=True, parallel=True, error_model="numpy")
def build_cell_list(ys, order, cell, cell_start, stencil_cells, stencil_codes, shifts, rlist2,
                    excl_start, excl_index, neighbours, counts):
    """Half Verlet list (each pair once) from the own cell (j > i) and a half stencil.

    Branch-free compaction: every candidate is written to the next free column and the
    column advances only if the pair is in range, so ``neighbours`` needs one spare
    column. ``counts`` holds the true number of entries, so the caller can detect
    overflow and grow the array. Returns the largest count.
    """
    n = ys.shape[0]
    cap = neighbours.shape[1] - 1
    ns = stencil_cells.shape[1]
    has_excl = excl_index.shape[0] > 0
    for i in numba.prange(n):
        c = cell[order[i]]
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        m = 0
        # own cell, later slots only (the zero image shift)
        for j in range(i + 1, cell_start[c + 1]):
            d0 = ys[j, 0] - yi0
            d1 = ys[j, 1] - yi1
            d2 = ys[j, 2] - yi2
            ok = d0 * d0 + d1 * d1 + d2 * d2 < rlist2
            if has_excl and ok:
                ok = not _excluded(order[i], order[j], excl_start, excl_index)
            neighbours[i, min(m, cap)] = (j << SHIFT_BITS) | ZERO_SHIFT
            m += ok
        for t in range(ns):
            cid = stencil_cells[c, t]
            s = stencil_codes[c, t]
            s0 = shifts[s, 0] - yi0
            s1 = shifts[s, 1] - yi1
            s2 = shifts[s, 2] - yi2
            for j in range(cell_start[cid], cell_start[cid + 1]):
                d0 = ys[j, 0] + s0
                d1 = ys[j, 1] + s1
                d2 = ys[j, 2] + s2
                ok = d0 * d0 + d1 * d1 + d2 * d2 < rlist2
                if has_excl and ok:
                    ok = not _excluded(order[i], order[j], excl_start, excl_index)
                neighbours[i, min(m, cap)] = (j << SHIFT_BITS) | s
                m += ok
        counts[i] = m
    return counts.max() if n else 0


@numba.njit(cache=True, parallel=True, error_model="numpy")
def build_brute_force(ys, order, shifts, rlist2, excl_start, excl_index, neighbours, counts):
    """O(N²) half list for boxes too small for three cells per direction.

    For each pair it takes the nearest of the 27 images; the caller guarantees the list
    radius is below half the smallest box height, so at most one image is in range.
    """
    n = ys.shape[0]
    cap = neighbours.shape[1] - 1
    has_excl = excl_index.shape[0] > 0
    for i in numba.prange(n):
        m = 0
        for j in range(i + 1, n):
            best = rlist2
            best_s = -1
            for s in range(27):
                d0 = ys[j, 0] + shifts[s, 0] - ys[i, 0]
                d1 = ys[j, 1] + shifts[s, 1] - ys[i, 1]
                d2 = ys[j, 2] + shifts[s, 2] - ys[i, 2]
                r2 = d0 * d0 + d1 * d1 + d2 * d2
                if r2 < best:
                    best = r2
                    best_s = s
            if best_s < 0:
                continue
            if has_excl and _excluded(order[i], order[j], excl_start, excl_index):
                continue
            neighbours[i, min(m, cap)] = (j << SHIFT_BITS) | best_s
            m += 1
        counts[i] = m
    return counts.max() if n else 0


@numba.njit(cache=True, error_model="numpy")
def balanced_chunks(counts, n_chunks, bounds):
    """Split slots into ``n_chunks`` contiguous ranges of about equal pair counts."""
    n = counts.shape[0]
    total = 0
    for i in range(n):
        total += counts[i]
    bounds[0] = 0
    c = 1
    acc = 0
    for i in range(n):
        acc += counts[i]
        while c < n_chunks and acc * n_chunks >= c * total:
            bounds[c] = i + 1
            c += 1
    while c <= n_chunks:
        bounds[c] = n
        c += 1
    for k in range(1, n_chunks + 1):
        if bounds[k] < bounds[k - 1]:
            bounds[k] = bounds[k - 1]


@numba.njit(cache=True, parallel=True, error_model="numpy")
def reduce_forces(buffers, order, forces_out):
    """forces_out[order[k]] += Σ_c buffers[c, k] (fixed order: thread-count independent)."""
    nch = buffers.shape[0]
    for k in numba.prange(order.shape[0]):
        p = order[k]
        for d in range(3):
            acc = 0.0
            for c in range(nch):
                acc += buffers[c, k, d]
            forces_out[p, d] += acc
