"""numba kernels of the local-structure analyses (``hbonds.py``, ``nucleation.py``).

One periodic cell search serves both: points are binned in *scaled* coordinates
``s = r · H⁻¹`` (row-vector box ``H``) into ``n_k = floor(h_k / r_c)`` cells along each
box vector (``h_k`` the perpendicular height), so two points closer than ``r_c`` differ
by at most one cell index along each axis, in orthorhombic and triclinic boxes alike.
The 27 neighbouring cells are visited with an explicit image shift (no minimum-image
rounding), which is exact as long as ``r_c < h_k / 2`` (checked by the callers).
All kernels take arrays and scalars only and are serial and deterministic.
"""

import numba
import numpy as np


@numba.njit(cache=True)
def scaled_wrapped(x, index, inv_box, out):
    """``out[k]`` = scaled coordinates of ``x[index[k]]`` wrapped into [0, 1)."""
    for k in range(index.size):
        i = index[k]
        for d in range(3):
            s = x[i, 0] * inv_box[0, d] + x[i, 1] * inv_box[1, d] + x[i, 2] * inv_box[2, d]
            s -= np.floor(s)
            if s >= 1.0:                                 # -1e-17 - floor(...) rounds to 1
                s = 0.0
            out[k, d] = s


@numba.njit(cache=True)
def _cell_of(s, n0, n1, n2):
    c0 = min(int(s[0] * n0), n0 - 1)
    c1 = min(int(s[1] * n1), n1 - 1)
    c2 = min(int(s[2] * n2), n2 - 1)
    return c0, c1, c2


@numba.njit(cache=True)
def bin_cells(s, n0, n1, n2, order, cell_start):
    """Counting sort of the points ``s`` (M, 3) into cells: the points of cell ``c``
    (= (c0 n1 + c1) n2 + c2) are ``order[cell_start[c]:cell_start[c + 1]]``."""
    m = s.shape[0]
    n_cells = n0 * n1 * n2
    cell = np.empty(m, np.int64)
    for c in range(n_cells + 1):
        cell_start[c] = 0
    for k in range(m):
        c0, c1, c2 = _cell_of(s[k], n0, n1, n2)
        c = (c0 * n1 + c1) * n2 + c2
        cell[k] = c
        cell_start[c + 1] += 1
    for c in range(n_cells):
        cell_start[c + 1] += cell_start[c]
    fill = cell_start[:n_cells].copy()
    for k in range(m):
        c = cell[k]
        order[fill[c]] = k
        fill[c] += 1


@numba.njit(cache=True)
def hbond_frame(x, box, inv_box, donor, hydrogen, acceptor, n0, n1, n2, rc2, cos_cut,
                out_pair, out_acc, out_r, out_cos):
    """Geometric hydrogen bonds of one frame.

    For every donor–hydrogen pair ``p`` (``donor[p]``, ``hydrogen[p]``) and every
    acceptor ``a`` (≠ the donor) with ``|r_DA|² ≤ rc2`` (periodic), the D–H–A angle θ at
    the hydrogen is accepted when ``cos θ < cos_cut`` (θ larger than the cutoff angle).
    The H position is the minimum image of the D–H bond vector. Writes ``out_pair`` (the
    pair index), ``out_acc`` (the acceptor's index into ``acceptor``), ``out_r`` (D–A
    distance) and ``out_cos`` up to their capacity and returns the number found (larger
    than the capacity: the caller grows the arrays and calls again).
    """
    na = acceptor.size
    sa = np.empty((na, 3))
    scaled_wrapped(x, acceptor, inv_box, sa)
    order = np.empty(na, np.int64)
    cell_start = np.empty(n0 * n1 * n2 + 1, np.int64)
    bin_cells(sa, n0, n1, n2, order, cell_start)
    cap = out_pair.size
    found = 0
    sd = np.empty(3)
    for p in range(donor.size):
        d = donor[p]
        h = hydrogen[p]
        for k in range(3):
            s = x[d, 0] * inv_box[0, k] + x[d, 1] * inv_box[1, k] + x[d, 2] * inv_box[2, k]
            s -= np.floor(s)
            if s >= 1.0:
                s = 0.0
            sd[k] = s
        # minimum image of the D–H bond (short against the box)
        e0 = x[h, 0] - x[d, 0]
        e1 = x[h, 1] - x[d, 1]
        e2 = x[h, 2] - x[d, 2]
        t0 = e0 * inv_box[0, 0] + e1 * inv_box[1, 0] + e2 * inv_box[2, 0]
        t1 = e0 * inv_box[0, 1] + e1 * inv_box[1, 1] + e2 * inv_box[2, 1]
        t2 = e0 * inv_box[0, 2] + e1 * inv_box[1, 2] + e2 * inv_box[2, 2]
        t0 -= np.floor(t0 + 0.5)
        t1 -= np.floor(t1 + 0.5)
        t2 -= np.floor(t2 + 0.5)
        dh0 = t0 * box[0, 0] + t1 * box[1, 0] + t2 * box[2, 0]
        dh1 = t0 * box[0, 1] + t1 * box[1, 1] + t2 * box[2, 1]
        dh2 = t0 * box[0, 2] + t1 * box[1, 2] + t2 * box[2, 2]
        ldh = np.sqrt(dh0 * dh0 + dh1 * dh1 + dh2 * dh2)
        c0, c1, c2 = _cell_of(sd, n0, n1, n2)
        for g0 in range(-1, 2):
            r0 = c0 + g0
            m0 = np.floor(r0 / n0)
            w0 = r0 - int(m0) * n0
            for g1 in range(-1, 2):
                r1 = c1 + g1
                m1 = np.floor(r1 / n1)
                w1 = r1 - int(m1) * n1
                for g2 in range(-1, 2):
                    r2 = c2 + g2
                    m2 = np.floor(r2 / n2)
                    w2 = r2 - int(m2) * n2
                    c = (w0 * n1 + w1) * n2 + w2
                    for q in range(cell_start[c], cell_start[c + 1]):
                        k = order[q]
                        if acceptor[k] == d:
                            continue
                        u0 = sa[k, 0] + m0 - sd[0]
                        u1 = sa[k, 1] + m1 - sd[1]
                        u2 = sa[k, 2] + m2 - sd[2]
                        da0 = u0 * box[0, 0] + u1 * box[1, 0] + u2 * box[2, 0]
                        da1 = u0 * box[0, 1] + u1 * box[1, 1] + u2 * box[2, 1]
                        da2 = u0 * box[0, 2] + u1 * box[1, 2] + u2 * box[2, 2]
                        rr = da0 * da0 + da1 * da1 + da2 * da2
                        if rr > rc2 or rr == 0.0:
                            continue
                        # angle at H between H→D (= −dh) and H→A (= da − dh)
                        ha0 = da0 - dh0
                        ha1 = da1 - dh1
                        ha2 = da2 - dh2
                        lha = np.sqrt(ha0 * ha0 + ha1 * ha1 + ha2 * ha2)
                        if lha == 0.0 or ldh == 0.0:
                            continue
                        cs = -(dh0 * ha0 + dh1 * ha1 + dh2 * ha2) / (ldh * lha)
                        if cs < cos_cut:
                            if found < cap:
                                out_pair[found] = p
                                out_acc[found] = k
                                out_r[found] = np.sqrt(rr)
                                out_cos[found] = cs
                            found += 1
    return found


@numba.njit(cache=True)
def neighbour_pairs(x, index, box, inv_box, n0, n1, n2, rc2, out_i, out_j, out_v):
    """Half list of the pairs of points ``index`` closer than ``sqrt(rc2)`` (periodic).

    ``out_i``/``out_j`` are positions in ``index`` (i < j), ``out_v`` the vector from
    i to j. Returns the number of pairs (larger than the capacity: grow and call again).
    """
    m = index.size
    s = np.empty((m, 3))
    scaled_wrapped(x, index, inv_box, s)
    order = np.empty(m, np.int64)
    cell_start = np.empty(n0 * n1 * n2 + 1, np.int64)
    bin_cells(s, n0, n1, n2, order, cell_start)
    cap = out_i.size
    found = 0
    for i in range(m):
        c0, c1, c2 = _cell_of(s[i], n0, n1, n2)
        for g0 in range(-1, 2):
            r0 = c0 + g0
            m0 = np.floor(r0 / n0)
            w0 = r0 - int(m0) * n0
            for g1 in range(-1, 2):
                r1 = c1 + g1
                m1 = np.floor(r1 / n1)
                w1 = r1 - int(m1) * n1
                for g2 in range(-1, 2):
                    r2 = c2 + g2
                    m2 = np.floor(r2 / n2)
                    w2 = r2 - int(m2) * n2
                    c = (w0 * n1 + w1) * n2 + w2
                    for q in range(cell_start[c], cell_start[c + 1]):
                        j = order[q]
                        if j <= i:
                            continue
                        u0 = s[j, 0] + m0 - s[i, 0]
                        u1 = s[j, 1] + m1 - s[i, 1]
                        u2 = s[j, 2] + m2 - s[i, 2]
                        v0 = u0 * box[0, 0] + u1 * box[1, 0] + u2 * box[2, 0]
                        v1 = u0 * box[0, 1] + u1 * box[1, 1] + u2 * box[2, 1]
                        v2 = u0 * box[0, 2] + u1 * box[1, 2] + u2 * box[2, 2]
                        rr = v0 * v0 + v1 * v1 + v2 * v2
                        if rr > rc2:
                            continue
                        if found < cap:
                            out_i[found] = i
                            out_j[found] = j
                            out_v[found, 0] = v0
                            out_v[found, 1] = v1
                            out_v[found, 2] = v2
                        found += 1
    return found


@numba.njit(cache=True)
def _legendre_coefficients(l):
    """Recurrence coefficients of the orthonormal associated Legendre functions divided
    by sin^m θ: ``qmm[m]`` (constants), ``a[l', m]``, ``b[l', m]``."""
    qmm = np.empty(l + 1)
    qmm[0] = 1.0 / np.sqrt(4.0 * np.pi)
    for m in range(1, l + 1):
        qmm[m] = -np.sqrt((2.0 * m + 1.0) / (2.0 * m)) * qmm[m - 1]
    a = np.zeros((l + 1, l + 1))
    b = np.zeros((l + 1, l + 1))
    for m in range(l + 1):
        for ll in range(m + 2, l + 1):
            a[ll, m] = np.sqrt((4.0 * ll * ll - 1.0) / (ll * ll - m * m))
            b[ll, m] = np.sqrt(((ll - 1.0) ** 2 - m * m) / (4.0 * (ll - 1.0) ** 2 - 1.0))
    return qmm, a, b


@numba.njit(cache=True)
def _ylm_into(v0, v1, v2, l, qmm, a, b, sign, re, im, row):
    """Add ``sign``-weighted Y_lm(v̂), m = 0…l, into ``re[row]``, ``im[row]``.

    ``Y_lm = Q_lm(cos θ) ((x + i y)/r)^m`` with ``Q_lm = P̄_l^m / sin^m θ`` (orthonormal
    P̄ with the Condon–Shortley phase), so there is no division by sin θ at the poles.
    """
    r = np.sqrt(v0 * v0 + v1 * v1 + v2 * v2)
    ct = v2 / r
    ur = v0 / r
    ui = v1 / r
    pr = 1.0                                        # ((x + i y)/r)^m
    pi_ = 0.0
    for m in range(l + 1):
        if m == l:
            q = qmm[m]
        else:
            q_2 = qmm[m]
            q_1 = np.sqrt(2.0 * m + 3.0) * ct * q_2
            for ll in range(m + 2, l + 1):
                q_0 = a[ll, m] * (ct * q_1 - b[ll, m] * q_2)
                q_2 = q_1
                q_1 = q_0
            q = q_1
        re[row, m] += sign * q * pr
        im[row, m] += sign * q * pi_
        tr = pr * ur - pi_ * ui
        pi_ = pr * ui + pi_ * ur
        pr = tr


@numba.njit(cache=True)
def ylm_table(v, l, re, im):
    """Y_lm(v̂_k) for m = 0…l into ``re[k]``, ``im[k]`` (for tests and callers)."""
    qmm, a, b = _legendre_coefficients(l)
    for k in range(v.shape[0]):
        re[k, :] = 0.0
        im[k, :] = 0.0
        _ylm_into(v[k, 0], v[k, 1], v[k, 2], l, qmm, a, b, 1.0, re, im, k)


@numba.njit(cache=True)
def steinhardt_frame(n, pi, pj, pv, l, threshold, re, im, n_nb, q_l, n_conn):
    """Steinhardt q_lm, q_l and ten Wolde–Frenkel connections of one frame.

    ``pi``, ``pj``, ``pv`` are the neighbour pairs (half list, vector i → j). Fills
    ``re``/``im`` (n, l+1) with q_lm (m ≥ 0; q_l,−m = (−1)^m q_lm*), ``n_nb`` (n,)
    neighbour counts, ``q_l`` (n,) and ``n_conn`` (n,) the number of neighbours j with
    ``d_l(i, j) = Re Σ_m q_lm(i) q_lm(j)* / (|q(i)| |q(j)|) > threshold``.
    """
    qmm, a, b = _legendre_coefficients(l)
    sign_odd = 1.0 if l % 2 == 0 else -1.0          # Y_lm(−r̂) = (−1)^l Y_lm(r̂)
    for i in range(n):
        n_nb[i] = 0
        n_conn[i] = 0
        for m in range(l + 1):
            re[i, m] = 0.0
            im[i, m] = 0.0
    for k in range(pi.size):
        i = pi[k]
        j = pj[k]
        _ylm_into(pv[k, 0], pv[k, 1], pv[k, 2], l, qmm, a, b, 1.0, re, im, i)
        _ylm_into(pv[k, 0], pv[k, 1], pv[k, 2], l, qmm, a, b, sign_odd, re, im, j)
        n_nb[i] += 1
        n_nb[j] += 1
    norm = np.zeros(n)
    for i in range(n):
        if n_nb[i] > 0:
            inv = 1.0 / n_nb[i]
            s = 0.0
            for m in range(l + 1):
                re[i, m] *= inv
                im[i, m] *= inv
                w = 1.0 if m == 0 else 2.0
                s += w * (re[i, m] * re[i, m] + im[i, m] * im[i, m])
            norm[i] = np.sqrt(s)
            q_l[i] = np.sqrt(4.0 * np.pi / (2.0 * l + 1.0) * s)
        else:
            q_l[i] = 0.0
    for k in range(pi.size):
        i = pi[k]
        j = pj[k]
        if norm[i] == 0.0 or norm[j] == 0.0:
            continue
        s = re[i, 0] * re[j, 0]
        for m in range(1, l + 1):
            s += 2.0 * (re[i, m] * re[j, m] + im[i, m] * im[j, m])
        if s / (norm[i] * norm[j]) > threshold:
            n_conn[i] += 1
            n_conn[j] += 1


@numba.njit(cache=True)
def largest_cluster(n, pi, pj, member):
    """Size of the largest connected set of ``member`` particles, with neighbour pairs as
    links (union–find). Returns (size, labels) with label −1 for non-members."""
    parent = np.arange(n)
    for k in range(pi.size):
        i = pi[k]
        j = pj[k]
        if not (member[i] and member[j]):
            continue
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        if i != j:
            if i < j:
                parent[j] = i
            else:
                parent[i] = j
    size = np.zeros(n, np.int64)
    labels = np.full(n, -1, np.int64)
    best = 0
    for i in range(n):
        if not member[i]:
            continue
        r = i
        while parent[r] != r:
            r = parent[r]
        labels[i] = r
        size[r] += 1
        if size[r] > best:
            best = size[r]
    return best, labels


@numba.njit(cache=True)
def intermittent_numerator(starts, frames, tau_max, out):
    """``out[τ] += Σ_bonds #{(t, t + τ) both present}`` for τ = 0…tau_max.

    Bond ``b`` is present at ``frames[starts[b]:starts[b + 1]]`` (sorted, unique).
    """
    for b in range(starts.size - 1):
        lo = starts[b]
        hi = starts[b + 1]
        for u in range(lo, hi):
            fu = frames[u]
            for w in range(u, hi):
                lag = frames[w] - fu
                if lag > tau_max:
                    break
                out[lag] += 1
