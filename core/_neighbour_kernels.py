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


@numba.njit(cache=True, inline="always")
def _scan(ys, order, yi0, yi1, yi2, i, lo, hi, s, shifts, rlist2, has_excl, excl_start,
          excl_index, row, cap, m):
    """Candidates in slots lo…hi−1 at image s: branch-free compaction into ``row``."""
    s0 = shifts[s, 0] - yi0
    s1 = shifts[s, 1] - yi1
    s2 = shifts[s, 2] - yi2
    for j in range(lo, hi):
        d0 = ys[j, 0] + s0
        d1 = ys[j, 1] + s1
        d2 = ys[j, 2] + s2
        ok = d0 * d0 + d1 * d1 + d2 * d2 < rlist2
        if has_excl and ok:
            ok = not _excluded(order[i], order[j], excl_start, excl_index)
        row[min(m, cap)] = (j << SHIFT_BITS) | s
        m += ok
    return m


@numba.njit(cache=True, inline="always")
def _gap(d, f):
    """Lower bound, in cell heights, on the distance along one cell axis from a point at
    fraction f ∈ [0, 1] of its cell to the cell d cells away."""
    if d > 0:
        return d - f
    if d < 0:
        return -d - 1.0 + f
    return 0.0


@numba.njit(cache=True, parallel=True, error_model="numpy")
def build_cell_list(ys, order, cell, cell_start, nca, ncb, ncc, reach, inv_box, cell_h,
                    rect, shifts, rlist2, excl_start, excl_index, neighbours, counts):
    """Half Verlet list (each pair once): the own cell (later slots) and the forward half
    of the (2·reach + 1)³ neighbouring cells; needs every n ≥ reach + 2 and r_list below
    half of every box height (then a cell reached by two offsets is reached as two
    different images, of which at most one can be in range: no pair is listed twice).

    Cells are numbered (a·ncb + b)·ncc + c, so for each column offset (Δa, Δb) the cells
    c + Δc, Δc = −reach…reach (1…reach in the own column), are consecutive slots of the
    sorted particles: one run (two where the column wraps through the box). Scanning runs
    instead of single cells keeps the inner loops long: a short, unpredictable loop costs
    a branch miss per cell, which dominated the build with one loop per cell.

    Each particle skips the columns and trims the runs that no point within r_list can
    reach: the distance between points whose fractional coordinates along a cell axis
    differ by Δ is at least Δ × the cell height ``cell_h`` along it; in a rectangular box
    (``rect``) the bounds of the three axes add in quadrature, otherwise the largest one
    is used.

    Branch-free compaction: every candidate is written to the next free column and the
    column advances only if the pair is in range, so ``neighbours`` needs one spare
    column. ``counts`` holds the true number of entries, so the caller can detect
    overflow and grow the array. Returns the largest count.
    """
    n = ys.shape[0]
    cap = neighbours.shape[1] - 1
    has_excl = excl_index.shape[0] > 0
    rlist = np.sqrt(rlist2)
    ha = cell_h[0]
    hb = cell_h[1]
    hc = cell_h[2]
    for i in numba.prange(n):
        c = cell[order[i]]
        ca = c // (ncb * ncc)
        cb = (c // ncc) % ncb
        cc = c % ncc
        yi0 = ys[i, 0]
        yi1 = ys[i, 1]
        yi2 = ys[i, 2]
        # position within the own cell, fractions of its edges
        fa = (yi0 * inv_box[0, 0] + yi1 * inv_box[1, 0] + yi2 * inv_box[2, 0]) * nca - ca
        fb = (yi0 * inv_box[0, 1] + yi1 * inv_box[1, 1] + yi2 * inv_box[2, 1]) * ncb - cb
        fc = (yi0 * inv_box[0, 2] + yi1 * inv_box[1, 2] + yi2 * inv_box[2, 2]) * ncc - cc
        fa = min(max(fa, 0.0), 1.0)
        fb = min(max(fb, 0.0), 1.0)
        fc = min(max(fc, 0.0), 1.0)
        row = neighbours[i]
        # own cell, later slots only (the zero image shift)
        m = _scan(ys, order, yi0, yi1, yi2, i, i + 1, cell_start[c + 1], ZERO_SHIFT, shifts,
                  rlist2, has_excl, excl_start, excl_index, row, cap, 0)
        for da in range(0, reach + 1):
            ga = _gap(da, fa) * ha
            a = ca + da
            sa = 0
            if a >= nca:
                a -= nca
                sa = 1
            for db in range(-reach, reach + 1):
                if da == 0 and db < 0:
                    continue
                gb = _gap(db, fb) * hb
                if rect:
                    rz2 = rlist2 - ga * ga - gb * gb
                    if rz2 <= 0.0:
                        continue
                    rz = np.sqrt(rz2)
                else:
                    if ga >= rlist or gb >= rlist:
                        continue
                    rz = rlist
                # the cells along c within reach of rz
                zlo = 1 if (da == 0 and db == 0) else -reach
                while zlo < 0 and _gap(zlo, fc) * hc >= rz:
                    zlo += 1
                zhi = reach
                while zhi > 0 and _gap(zhi, fc) * hc >= rz:
                    zhi -= 1
                if zlo > zhi:
                    continue
                zlo += cc
                zhi += cc
                b = cb + db
                sb = 0
                if b < 0:
                    b += ncb
                    sb = -1
                elif b >= ncb:
                    b -= ncb
                    sb = 1
                base = (a * ncb + b) * ncc
                code = (sa + 1) * 9 + (sb + 1) * 3 + 1
                if zlo < 0:               # the part below the box: image −1
                    m = _scan(ys, order, yi0, yi1, yi2, i, cell_start[base + zlo + ncc],
                              cell_start[base + min(zhi, -1) + ncc + 1], code - 1, shifts,
                              rlist2, has_excl, excl_start, excl_index, row, cap, m)
                lo = max(zlo, 0)
                hi = min(zhi, ncc - 1)
                if lo <= hi:
                    m = _scan(ys, order, yi0, yi1, yi2, i, cell_start[base + lo],
                              cell_start[base + hi + 1], code, shifts, rlist2, has_excl,
                              excl_start, excl_index, row, cap, m)
                if zhi >= ncc:            # the part above: image +1
                    m = _scan(ys, order, yi0, yi1, yi2, i,
                              cell_start[base + max(zlo, ncc) - ncc],
                              cell_start[base + zhi - ncc + 1], code + 1, shifts, rlist2,
                              has_excl, excl_start, excl_index, row, cap, m)
        counts[i] = m
    return counts.max() if n else 0


@numba.njit(cache=True, parallel=True, error_model="numpy")
def build_brute_force(ys, order, shifts, rlist2, excl_start, excl_index, neighbours, counts):
    """O(N²) half list for boxes too small for five cells of r_list/2 per direction.

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


@numba.njit(cache=True, parallel=True, error_model="numpy")
def partition_zero_shift(neighbours, counts, n_zero):
    """Reorder every row so that its entries with the zero image shift come first (each
    part keeps its order); ``n_zero[i]`` = how many. Kernels can then skip the shift
    lookup for the first ``n_zero[i]`` entries (the large majority in any box much wider
    than the list radius)."""
    n = counts.shape[0]
    block = 256
    nblocks = (n + block - 1) // block
    cap = neighbours.shape[1]
    for b in numba.prange(nblocks):
        tmp = np.empty(cap, neighbours.dtype)
        for i in range(b * block, min(n, (b + 1) * block)):
            m0 = 0
            mb = 0
            for m in range(counts[i]):
                e = neighbours[i, m]
                if (e & SHIFT_MASK) == ZERO_SHIFT:
                    neighbours[i, m0] = e
                    m0 += 1
                else:
                    tmp[mb] = e
                    mb += 1
            for k in range(mb):
                neighbours[i, m0 + k] = tmp[k]
            n_zero[i] = m0


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
