"""numba kernels of the structural analyses (``structure.py``) and the RDF (``rdf.py``).

Arguments are arrays and scalars only; positions float64 [nm], boxes row-vector (3, 3).
"""

import numba
import numpy as np


# --------------------------------------------------------------------------- whole molecules


@numba.njit(cache=True)
def make_whole(x, boxes, inv_boxes, order, parent, out):
    """Molecules made whole along a bond spanning forest, frame by frame.

    ``x`` (T, n, 3) positions; ``boxes``/``inv_boxes`` (T, 3, 3); ``order`` (K,) local
    indices in breadth-first order (roots left out), ``parent[k]`` the already placed
    neighbour of ``order[k]``. ``out`` (T, n, 3) receives the positions with each
    non-root particle moved to the image nearest its parent (shift rounded in scaled
    coordinates); roots keep their position.
    """
    n_t, n = x.shape[0], x.shape[1]
    for t in range(n_t):
        h = boxes[t]
        hi = inv_boxes[t]
        for i in range(n):
            out[t, i, 0] = x[t, i, 0]
            out[t, i, 1] = x[t, i, 1]
            out[t, i, 2] = x[t, i, 2]
        for k in range(order.size):
            i = order[k]
            p = parent[k]
            d0 = x[t, i, 0] - out[t, p, 0]
            d1 = x[t, i, 1] - out[t, p, 1]
            d2 = x[t, i, 2] - out[t, p, 2]
            n0 = np.floor(d0 * hi[0, 0] + d1 * hi[1, 0] + d2 * hi[2, 0] + 0.5)
            n1 = np.floor(d0 * hi[0, 1] + d1 * hi[1, 1] + d2 * hi[2, 1] + 0.5)
            n2 = np.floor(d0 * hi[0, 2] + d1 * hi[1, 2] + d2 * hi[2, 2] + 0.5)
            out[t, i, 0] = out[t, p, 0] + d0 - (n0 * h[0, 0] + n1 * h[1, 0] + n2 * h[2, 0])
            out[t, i, 1] = out[t, p, 1] + d1 - (n0 * h[0, 1] + n1 * h[1, 1] + n2 * h[2, 1])
            out[t, i, 2] = out[t, p, 2] + d2 - (n0 * h[0, 2] + n1 * h[1, 2] + n2 * h[2, 2])


# --------------------------------------------------------------------------- superposition


@numba.njit(cache=True)
def _rotation(x, fit, w, ref, rot):
    """Weighted centre of ``x[fit]`` (returned) and the Kabsch rotation into ``rot``.

    ``(x[fit] − centre) @ rot`` best matches ``ref`` (centred, same order) in the
    ``w``-weighted least-squares sense (``w`` sums to 1); proper rotation (det = +1).
    """
    c0 = 0.0
    c1 = 0.0
    c2 = 0.0
    for k in range(fit.size):
        i = fit[k]
        c0 += w[k] * x[i, 0]
        c1 += w[k] * x[i, 1]
        c2 += w[k] * x[i, 2]
    cov = np.zeros((3, 3))
    for k in range(fit.size):
        i = fit[k]
        p0 = w[k] * (x[i, 0] - c0)
        p1 = w[k] * (x[i, 1] - c1)
        p2 = w[k] * (x[i, 2] - c2)
        for b in range(3):
            q = ref[k, b]
            cov[0, b] += p0 * q
            cov[1, b] += p1 * q
            cov[2, b] += p2 * q
    u, s, vt = np.linalg.svd(cov)
    d = 1.0 if np.linalg.det(u) * np.linalg.det(vt) > 0.0 else -1.0
    for a in range(3):
        for b in range(3):
            rot[a, b] = u[a, 0] * vt[0, b] + u[a, 1] * vt[1, b] + d * u[a, 2] * vt[2, b]
    return c0, c1, c2


@numba.njit(cache=True)
def fit_rmsd(x, fit, w, ref, sel, wsel, sel_ref, superpose, rot_out, centre_out, out):
    """Per-frame RMSD of ``x[t, sel]`` against ``sel_ref`` after fitting ``x[t, fit]``.

    ``x`` (T, N, 3); ``fit``/``w``/``ref`` fit indices, weights (sum 1) and centred
    fit reference; ``sel``/``wsel``/``sel_ref`` the RMSD atoms, their weights (sum 1)
    and reference expressed in the frame of the centred fit reference. Without
    ``superpose`` the plain RMSD of ``x[t, sel]`` against ``sel_ref`` is returned.
    ``rot_out`` (T, 3, 3), ``centre_out`` (T, 3), ``out`` (T,) [nm].
    """
    rot = np.empty((3, 3))
    for t in range(x.shape[0]):
        xt = x[t]
        if superpose:
            c0, c1, c2 = _rotation(xt, fit, w, ref, rot)
        else:
            c0 = c1 = c2 = 0.0
            for a in range(3):
                for b in range(3):
                    rot[a, b] = 1.0 if a == b else 0.0
        acc = 0.0
        for k in range(sel.size):
            i = sel[k]
            p0 = xt[i, 0] - c0
            p1 = xt[i, 1] - c1
            p2 = xt[i, 2] - c2
            for b in range(3):
                y = p0 * rot[0, b] + p1 * rot[1, b] + p2 * rot[2, b] - sel_ref[k, b]
                acc += wsel[k] * y * y
        out[t] = np.sqrt(acc)
        for a in range(3):
            for b in range(3):
                rot_out[t, a, b] = rot[a, b]
        centre_out[t, 0] = c0
        centre_out[t, 1] = c1
        centre_out[t, 2] = c2


@numba.njit(cache=True)
def fit_accumulate(x, fit, w, ref, sel, mean, m2, with_m2):
    """Fit every frame onto ``ref`` and accumulate mean (and M2) of the fitted ``x[sel]``.

    Welford's update over frames: ``mean`` (n, 3) the mean fitted position,
    ``m2`` (n, 3) the sums of squared deviations (only ``with_m2``). Both are
    overwritten. Fitted coordinates are centred on the fit atoms' weighted centre.
    """
    rot = np.empty((3, 3))
    for k in range(sel.size):
        for b in range(3):
            mean[k, b] = 0.0
            m2[k, b] = 0.0
    for t in range(x.shape[0]):
        xt = x[t]
        c0, c1, c2 = _rotation(xt, fit, w, ref, rot)
        inv = 1.0 / (t + 1.0)
        for k in range(sel.size):
            i = sel[k]
            p0 = xt[i, 0] - c0
            p1 = xt[i, 1] - c1
            p2 = xt[i, 2] - c2
            for b in range(3):
                y = p0 * rot[0, b] + p1 * rot[1, b] + p2 * rot[2, b]
                delta = y - mean[k, b]
                mean[k, b] += delta * inv
                if with_m2:
                    m2[k, b] += delta * (y - mean[k, b])


@numba.njit(cache=True)
def gyration_radii(x, sel, w, out):
    """``out[t] = sqrt(Σ w_k |x[t, sel_k] − c_t|²)``, ``c_t`` the ``w``-weighted centre
    (``w`` sums to 1)."""
    for t in range(x.shape[0]):
        c0 = 0.0
        c1 = 0.0
        c2 = 0.0
        for k in range(sel.size):
            i = sel[k]
            c0 += w[k] * x[t, i, 0]
            c1 += w[k] * x[t, i, 1]
            c2 += w[k] * x[t, i, 2]
        acc = 0.0
        for k in range(sel.size):
            i = sel[k]
            d0 = x[t, i, 0] - c0
            d1 = x[t, i, 1] - c1
            d2 = x[t, i, 2] - c2
            acc += w[k] * (d0 * d0 + d1 * d1 + d2 * d2)
        out[t] = np.sqrt(acc)


# --------------------------------------------------------------------------- RDF


@numba.njit(cache=True)
def _wrap_cells(x, h, hi, n_cells, wrapped, cell):
    """Positions folded into the box (Cartesian, ``wrapped``) and their cell index."""
    nx, ny, nz = n_cells[0], n_cells[1], n_cells[2]
    for i in range(x.shape[0]):
        s0 = x[i, 0] * hi[0, 0] + x[i, 1] * hi[1, 0] + x[i, 2] * hi[2, 0]
        s1 = x[i, 0] * hi[0, 1] + x[i, 1] * hi[1, 1] + x[i, 2] * hi[2, 1]
        s2 = x[i, 0] * hi[0, 2] + x[i, 1] * hi[1, 2] + x[i, 2] * hi[2, 2]
        s0 -= np.floor(s0)
        s1 -= np.floor(s1)
        s2 -= np.floor(s2)
        if s0 >= 1.0:
            s0 = 0.0
        if s1 >= 1.0:
            s1 = 0.0
        if s2 >= 1.0:
            s2 = 0.0
        for b in range(3):
            wrapped[i, b] = s0 * h[0, b] + s1 * h[1, b] + s2 * h[2, b]
        cx = min(int(s0 * nx), nx - 1)
        cy = min(int(s1 * ny), ny - 1)
        cz = min(int(s2 * nz), nz - 1)
        cell[i] = (cx * ny + cy) * nz + cz


@numba.njit(cache=True)
def _cell_sort(x, ids, mol, h, hi, n_cells):
    """Wrapped positions, ids and molecule ids sorted by cell, and the cell starts."""
    n = x.shape[0]
    n_cell = n_cells[0] * n_cells[1] * n_cells[2]
    wrapped = np.empty((n, 3))
    cell = np.empty(n, dtype=np.int64)
    _wrap_cells(x, h, hi, n_cells, wrapped, cell)
    start = np.zeros(n_cell + 1, dtype=np.int64)
    for j in range(n):
        start[cell[j] + 1] += 1
    for c in range(n_cell):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    sx = np.empty((n, 3))
    sid = np.empty(n, dtype=np.int64)
    smol = np.empty(n, dtype=np.int64)
    for j in range(n):
        m = fill[cell[j]]
        fill[cell[j]] += 1
        sx[m, 0] = wrapped[j, 0]
        sx[m, 1] = wrapped[j, 1]
        sx[m, 2] = wrapped[j, 2]
        sid[m] = ids[j]
        smol[m] = mol[j]
    return sx, sid, smol, start


@numba.njit(cache=True)
def rdf_frame(xa, xb, ida, idb, mola, molb, exclude_mol, same, h, hi, n_cells, reach,
              r_max, n_bins, counts):
    """Add one frame's A–B pair distances below ``r_max`` to ``counts`` (n_bins,).

    Cell list in scaled coordinates: ``n_cells[d]`` cells along box vector d, each at
    least ``r_max / reach`` high, searched ``reach`` cells deep in every direction with
    the periodic shift of each neighbour cell, so every periodic image within
    ``r_max`` is found exactly once (needs ``r_max`` < half the smallest box height,
    which makes that image the minimum image). Particles are sorted by cell first
    (contiguous memory). Pairs with ``ida == idb`` (the same particle) and, with
    ``exclude_mol``, ``mola == molb`` are skipped. With ``same`` (A and B the same
    particles) each unordered pair is visited once — half of the neighbour offsets,
    and j > i inside a cell — and counted twice (ordered pairs). Returns the number of
    ordered pairs counted.
    """
    nx, ny, nz = n_cells[0], n_cells[1], n_cells[2]
    sb, sidb, smolb, startb = _cell_sort(xb, idb, molb, h, hi, n_cells)
    if same:
        sa, sida, smola, starta = sb, sidb, smolb, startb
    else:
        sa, sida, smola, starta = _cell_sort(xa, ida, mola, h, hi, n_cells)
    r2max = r_max * r_max
    inv_dr = n_bins / r_max
    add = 2 if same else 1
    total = 0
    for c in range(nx * ny * nz):
        if starta[c] == starta[c + 1]:
            continue
        cz0 = c % nz
        cy0 = (c // nz) % ny
        cx0 = c // (nz * ny)
        for ox in range(-reach, reach + 1):
            if same and ox < 0:
                continue
            cx = cx0 + ox
            sx = (cx - (cx % nx)) // nx
            cx -= sx * nx
            for oy in range(-reach, reach + 1):
                if same and ox == 0 and oy < 0:
                    continue
                cy = cy0 + oy
                sy = (cy - (cy % ny)) // ny
                cy -= sy * ny
                for oz in range(-reach, reach + 1):
                    if same and ox == 0 and oy == 0 and oz < 0:
                        continue
                    own = ox == 0 and oy == 0 and oz == 0
                    cz = cz0 + oz
                    sz = (cz - (cz % nz)) // nz
                    cz -= sz * nz
                    t0 = sx * h[0, 0] + sy * h[1, 0] + sz * h[2, 0]
                    t1 = sx * h[0, 1] + sy * h[1, 1] + sz * h[2, 1]
                    t2 = sx * h[0, 2] + sy * h[1, 2] + sz * h[2, 2]
                    cc = (cx * ny + cy) * nz + cz
                    j1 = startb[cc + 1]
                    for i in range(starta[c], starta[c + 1]):
                        a0 = t0 - sa[i, 0]
                        a1 = t1 - sa[i, 1]
                        a2 = t2 - sa[i, 2]
                        j0 = i + 1 if (same and own) else startb[cc]
                        for j in range(j0, j1):
                            d0 = sb[j, 0] + a0
                            d1 = sb[j, 1] + a1
                            d2 = sb[j, 2] + a2
                            r2 = d0 * d0 + d1 * d1 + d2 * d2
                            if r2 >= r2max:
                                continue
                            if sida[i] == sidb[j]:
                                continue
                            if exclude_mol and smola[i] == smolb[j]:
                                continue
                            k = int(np.sqrt(r2) * inv_dr)
                            if k < n_bins:
                                counts[k] += add
                                total += add
    return total
