"""Nucleation and crystallisation: Steinhardt bond order, solid-like particles, growth.

Local bond order (P. J. Steinhardt, D. R. Nelson, M. Ronchetti, Phys. Rev. B 28, 784
(1983)): for particle i with the N_b(i) neighbours j closer than ``r_cut`` (periodic),

    q_lm(i) = (1/N_b(i)) Σ_j Y_lm(r̂_ij),   q_l(i) = sqrt(4π/(2l+1) Σ_m |q_lm(i)|²).

Y_lm are the orthonormal spherical harmonics with the Condon–Shortley phase, computed
here by the associated-Legendre recurrence (no scipy). Perfect fcc gives q_6 = 0.5745,
bcc (14 neighbours) 0.5107, simple cubic 0.3536; a liquid ≈ 0.3–0.4 with
12 neighbours (both depend on N_b).

Solid-like particles (P. R. ten Wolde, M. J. Ruiz-Montero, D. Frenkel, J. Chem. Phys.
104, 9932 (1996)): neighbours i and j are *connected* when

    d_l(i, j) = Re Σ_m q_lm(i) q_lm(j)* / (|q_l(i)| |q_l(j)|) > ``threshold``,

|q_l(i)|² = Σ_m |q_lm(i)|², and a particle is solid-like with at least
``min_connections`` (ξ_c) connections. Defaults: l = 6, threshold 0.7, ξ_c = 7; ten
Wolde et al. used 0.5, others 0.6–0.7 with ξ_c = 6–8 — the numbers depend on these
choices (and on ``r_cut``, usually the first minimum of g(r): 1.5 σ for LJ), so report
them. Solid-like neighbours (closer than ``r_cut``) form clusters; the largest is the
usual nucleus size. In every Bravais lattice all sites have the same q_lm, so every
d_l = 1 and a perfect crystal is 100 % solid-like.

Onset of steady growth (:func:`growth_onset`): a hinge fit of N_s(t) — constant, then a
straight line from the onset t₀ (continuous at t₀), t₀ chosen among the frame times by
least squares — or a threshold rule; the growth rate is then fitted only over the
points after the onset.

Units: nm, ps; q_l and d_l dimensionless; rates in particles/ps.
"""

from __future__ import annotations

import numpy as np

from ..results import Results
from . import _local_kernels as _k
from ._trajectory import as_trajectory
from .hbonds import _search_geometry, _shifted

__all__ = ["spherical_harmonics", "steinhardt_q", "solid_particles", "growth_onset"]


def spherical_harmonics(vectors, l=6) -> np.ndarray:
    """Y_lm(r̂) for m = −l…l (orthonormal, Condon–Shortley phase).

    Parameters
    ----------
    vectors : array_like, shape (K, 3) (any length, not zero)
    l : int

    Returns
    -------
    numpy.ndarray, shape (K, 2l+1), complex128; column ``m + l`` holds Y_lm.
    """
    v = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float64)
    re = np.empty((v.shape[0], l + 1))
    im = np.empty((v.shape[0], l + 1))
    _k.ylm_table(v, int(l), re, im)
    pos = re + 1j * im
    m = np.arange(1, l + 1)
    neg = ((-1.0) ** m)[None, :] * np.conj(pos[:, 1:])     # Y_l,−m = (−1)^m Y_lm*
    return np.concatenate([neg[:, ::-1], pos], axis=1)


def _frames(traj, r_cut, l, threshold, particles, boxes):
    tr = as_trajectory(traj, boxes=boxes)
    idx = (np.arange(tr.n_particles, dtype=np.int64) if particles is None
           else np.ascontiguousarray(np.asarray(particles, dtype=np.int64).ravel()))
    n = idx.size
    rc = float(r_cut)
    cap = max(64, 8 * n)
    pi, pj, pv = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty((cap, 3))
    re, im = np.empty((n, l + 1)), np.empty((n, l + 1))
    for t in range(tr.n_frames):
        box = None if tr.boxes is None else tr.boxes[t]
        if box is None:                     # a made-up box around the selected particles
            x = np.ascontiguousarray(_shifted(tr.positions[t][idx], None))
            sel = np.arange(n, dtype=np.int64)
        else:
            x = np.ascontiguousarray(tr.positions[t])
            sel = idx
        hbox, inv, nc = _search_geometry(box, rc, x[sel])
        while True:
            found = _k.neighbour_pairs(x, sel, hbox, inv, int(nc[0]), int(nc[1]),
                                       int(nc[2]), rc * rc, pi, pj, pv)
            if found <= pi.size:
                break
            cap = int(found * 1.25) + 16
            pi, pj, pv = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty((cap, 3))
        a, b, v = pi[:found], pj[:found], pv[:found]
        n_nb = np.empty(n, np.int64)
        q = np.empty(n)
        n_conn = np.empty(n, np.int64)
        _k.steinhardt_frame(n, a, b, v, int(l), float(threshold), re, im, n_nb, q, n_conn)
        yield tr, t, idx, a, b, n_nb, q, n_conn


def steinhardt_q(traj, r_cut, l=6, particles=None, *, boxes=None) -> Results:
    """Steinhardt q_l of every particle in every frame.

    Parameters
    ----------
    traj
        Any trajectory :func:`as_trajectory` accepts.
    r_cut : float [nm]
        Neighbours are closer than this (periodic); below half of every box height.
    l : int
        Default 6.
    particles : array_like of int, optional
        Only these particles (e.g. the oxygens, or one species); neighbours are searched
        among them only.

    Returns
    -------
    Results
        times (T,); q (T, n) [q_l per particle, 0 without neighbours]; q_mean (T,);
        n_neighbours (T, n); l; r_cut; particles; note.
    """
    qs, nbs, tr, idx = [], [], None, None
    for tr, _, idx, _, _, n_nb, q, _ in _frames(traj, r_cut, int(l), 0.0, particles, boxes):
        qs.append(q)
        nbs.append(n_nb)
    q = np.array(qs)
    return Results(times=tr.times.copy(), q=q, q_mean=q.mean(axis=1),
                   n_neighbours=np.array(nbs), l=int(l), r_cut=float(r_cut), particles=idx,
                   note=f"Steinhardt q_{int(l)} with neighbours closer than {r_cut:g} nm")


def solid_particles(traj, r_cut, l=6, threshold=0.7, min_connections=7, particles=None, *,
                    per_particle=False, boxes=None) -> Results:
    """Solid-like particles N_s(t) and the largest solid cluster (ten Wolde–Frenkel).

    Parameters
    ----------
    traj
        Any trajectory :func:`as_trajectory` accepts.
    r_cut : float [nm]
        Neighbour cutoff (first minimum of g(r)); below half of every box height.
    l : int
        Spherical-harmonic order, default 6.
    threshold : float
        Neighbours are connected when d_l(i, j) > threshold (default 0.7).
    min_connections : int
        ξ_c: a particle with at least this many connections is solid-like (default 7).
    particles : array_like of int, optional
        Only these particles take part.
    per_particle : bool
        Also return the (T, n) arrays q, n_connections, solid and cluster.

    Returns
    -------
    Results
        times (T,); n_solid (T,); fraction (T,) = n_solid / n; largest_cluster (T,);
        q_mean (T,) mean q_l; n (particles analysed); parameters (dict); note; and with
        ``per_particle``: q, n_neighbours, n_connections (T, n), solid (T, n) bool,
        in_largest (T, n) bool.
    """
    n_solid, largest, q_mean = [], [], []
    per = {"q": [], "n_neighbours": [], "n_connections": [], "solid": [], "in_largest": []}
    tr, idx = None, None
    for tr, _, idx, a, b, n_nb, q, n_conn in _frames(traj, r_cut, int(l), threshold,
                                                      particles, boxes):
        solid = n_conn >= int(min_connections)
        size, labels = _k.largest_cluster(idx.size, a, b, solid)
        n_solid.append(int(solid.sum()))
        largest.append(int(size))
        q_mean.append(float(q.mean()) if q.size else 0.0)
        if per_particle:
            counts = np.bincount(labels[labels >= 0], minlength=idx.size)
            in_largest = np.zeros(idx.size, dtype=bool)
            if size > 0:
                root = np.flatnonzero(counts == size)[0]
                in_largest = labels == root
            for k, val in (("q", q), ("n_neighbours", n_nb), ("n_connections", n_conn),
                           ("solid", solid), ("in_largest", in_largest)):
                per[k].append(val)
    n_solid = np.array(n_solid, dtype=np.int64)
    params = dict(l=int(l), r_cut=float(r_cut), threshold=float(threshold),
                  min_connections=int(min_connections))
    out = Results(times=tr.times.copy(), n_solid=n_solid,
                  fraction=n_solid / max(idx.size, 1),
                  largest_cluster=np.array(largest, dtype=np.int64),
                  q_mean=np.array(q_mean), n=int(idx.size), parameters=params,
                  note=(f"solid-like: ≥ {int(min_connections)} neighbours (r < {r_cut:g} nm) "
                        f"with d_{int(l)} > {threshold:g} (ten Wolde–Frenkel); clusters "
                        f"of solid-like neighbours"))
    if per_particle:
        out.update({k: np.array(v) for k, v in per.items()})
    return out


# --------------------------------------------------------------------------- growth


def _line_fit(t, y):
    """Ordinary least squares y = c + r t: (r, r_err, c); r_err from the residuals."""
    n = t.size
    tm = t.mean()
    sxx = float(((t - tm) ** 2).sum())
    r = float(((t - tm) * (y - y.mean())).sum() / sxx)
    c = float(y.mean() - r * tm)
    resid = y - (c + r * t)
    s2 = float((resid ** 2).sum() / (n - 2)) if n > 2 else np.nan
    return r, float(np.sqrt(s2 / sxx)), c


def _hinge_sse(t, y, min_points):
    """Residual sum of squares of y = b + r·max(t − t_k, 0) for every candidate k."""
    n = t.size
    ks = np.arange(min_points, n - min_points + 1)
    # suffix sums from index k on
    rev = lambda a: np.r_[np.cumsum(a[::-1])[::-1], 0.0]     # noqa: E731
    s_n = rev(np.ones(n))
    s_t, s_tt = rev(t), rev(t * t)
    s_y, s_ty = rev(y), rev(t * y)
    tk = t[ks]
    nt = s_n[ks]
    sx = s_t[ks] - tk * nt
    sxx = s_tt[ks] - 2 * tk * s_t[ks] + tk * tk * nt
    sxy = s_ty[ks] - tk * s_y[ks]
    sy, syy = y.sum(), (y * y).sum()
    cxx = sxx - sx * sx / n
    cxy = sxy - sx * sy / n
    cyy = syy - sy * sy / n
    with np.errstate(invalid="ignore", divide="ignore"):
        sse = np.where(cxx > 0, cyy - cxy * cxy / cxx, cyy)
    return ks, sse


def growth_onset(times, n_s, method="hinge", *, min_points=5, fit_end=None,
                 baseline_window=None, k_sigma=3.0) -> Results:
    """Onset of steady growth of N_s(t), and the growth rate fitted after it.

    Parameters
    ----------
    times : array_like (T,) [ps]
    n_s : array_like (T,)
        Number of solid-like particles (or the largest cluster) per frame.
    method : {"hinge", "threshold"}
        ``"hinge"`` (default): least-squares fit of ``N_s = b + r·max(t − t₀, 0)``
        (a flat baseline, then a straight line continuous at t₀), t₀ chosen among the
        frame times with at least ``min_points`` frames on either side. ``"threshold"``:
        level = mean + ``k_sigma``·σ of N_s over ``baseline_window``; the onset is the
        first frame after the last one at or below the level (N_s stays above it from
        there on). It lags the kink by about k_sigma·σ / rate.
        A nucleus grows faster as its surface grows, so a real N_s(t) bends upwards;
        the hinge then puts t₀ where a straight line describes the rest best (later
        than the first solid clusters): bound the fit with ``fit_end`` before N_s
        saturates.
    min_points : int
        Fewest frames before the onset and in the growth fit.
    fit_end : float [ps], optional
        Last time of the growth fit (e.g. before the box is crystallised and N_s
        saturates); also bounds the hinge search. Default: the last frame.
    baseline_window : (t0, t1) [ps], optional
        For ``"threshold"`` (default: the first 10 % of the series); for ``"hinge"`` the
        baseline statistics are those before the onset.
    k_sigma : float
        Threshold level in baseline standard deviations.

    Returns
    -------
    Results
        onset_time [ps]; onset_index; rate [1/ps] (slope of the straight line fitted to
        N_s over ``fit_window`` only, ordinary least squares); rate_err (its standard
        error from the residuals — assumes uncorrelated noise, so an underestimate for
        correlated N_s); intercept; fit_window (t_onset, t_end) [ps]; n_fit;
        baseline_mean, baseline_std; growing (rate > 3 rate_err); method; note.
    """
    t = np.asarray(times, dtype=np.float64).ravel()
    y = np.asarray(n_s, dtype=np.float64).ravel()
    if t.shape != y.shape:
        raise ValueError(f"times {t.shape} and n_s {y.shape} differ in length")
    end = t.size if fit_end is None else int(np.searchsorted(t, float(fit_end), "right"))
    if end < 2 * min_points + 1:
        raise ValueError(f"need at least {2 * min_points + 1} frames up to fit_end; "
                         f"got {end}")
    tt, yy = t[:end], y[:end]
    if method == "hinge":
        ks, sse = _hinge_sse(tt, yy, int(min_points))
        onset = int(ks[np.argmin(sse)])
        base = yy[:onset]
        how = ("hinge fit N_s = b + r·max(t − t₀, 0) by least squares over t₀ "
               f"(≥ {min_points} frames each side)")
    elif method == "threshold":
        if baseline_window is None:
            nb = max(int(min_points), int(0.1 * t.size))
            base = y[:nb]
            bw = (float(t[0]), float(t[nb - 1]))
        else:
            sel = (t >= baseline_window[0]) & (t <= baseline_window[1])
            base = y[sel]
            bw = tuple(map(float, baseline_window))
        if base.size < 2:
            raise ValueError("the baseline window holds fewer than 2 frames")
        level = base.mean() + float(k_sigma) * base.std(ddof=1)
        at_or_below = np.flatnonzero(yy <= level)
        onset = int(at_or_below[-1] + 1) if at_or_below.size else 0
        how = (f"threshold: N_s stays above baseline mean + {k_sigma:g}σ "
               f"(= {level:.3g}, baseline {bw[0]:g}–{bw[1]:g} ps) from the onset on")
    else:
        raise ValueError(f"unknown onset method {method!r}; available: hinge, threshold")
    n_fit = end - onset
    if n_fit < max(int(min_points), 3):
        return Results(onset_time=np.nan, onset_index=None, rate=np.nan, rate_err=np.nan,
                       intercept=np.nan, fit_window=(np.nan, np.nan), n_fit=n_fit,
                       baseline_mean=float(np.mean(base)) if base.size else np.nan,
                       baseline_std=float(np.std(base, ddof=1)) if base.size > 1 else np.nan,
                       growing=False, method=method,
                       note=f"{how}; fewer than {max(int(min_points), 3)} frames after "
                            "the onset: no growth found")
    rate, rate_err, icpt = _line_fit(tt[onset:], yy[onset:])
    window = (float(tt[onset]), float(tt[end - 1]))
    note = (f"{how}; onset {window[0]:g} ps; growth rate from a straight line fitted to "
            f"N_s over {window[0]:g}–{window[1]:g} ps only ({n_fit} frames), error from "
            "the residuals (uncorrelated-noise assumption)")
    return Results(onset_time=float(tt[onset]), onset_index=onset, rate=rate,
                   rate_err=rate_err, intercept=icpt, fit_window=window, n_fit=n_fit,
                   baseline_mean=float(base.mean()) if base.size else np.nan,
                   baseline_std=float(base.std(ddof=1)) if base.size > 1 else np.nan,
                   growing=bool(rate > 3.0 * rate_err), method=method, note=note)
