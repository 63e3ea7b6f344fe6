"""Potentials of mean force from umbrella sampling: WHAM (1D and 2D) and MBAR (pymbar).

Input: for each window k, time-ordered samples of ξ (n_k,) — or (n_k, 2) for two
coordinates — drawn with the harmonic bias U_k(ξ) = ½ k_k (ξ − ξ_k)² [kJ/mol] (periodic
difference for periodic coordinates, e.g. dihedrals), at temperature T [K].

WHAM (Kumar et al., J. Comput. Chem. 13, 1011 (1992)) on a histogram of B bins solves
self-consistently

    P_b = Σ_k n_kb / Σ_k N_k exp(f_k − u_kb),   exp(−f_k) = Σ_b P_b exp(−u_kb),

with u_kb = U_k(ξ_b)/kT at the bin centres, until the window free energies f_k change by
less than ``tol`` (in kT). The PMF is W_b = −kT ln(P_b/Δξ_b) [kJ/mol]. Samples outside
the histogram range are left out (each window's distribution is then the one conditional
on the range, which the equations above treat exactly).

Jacobian. W(ξ) = −kT ln P(ξ) is the free energy of the probability *density* of ξ. For a
distance (``jacobian="distance"``) the reversible-work PMF is w = W + 2kT ln r, for a
polar angle (``"polar"``) w = W + kT ln sin θ; both are applied once, exactly per bin, by
dividing each bin's probability by its measure (``mdzoom.core.analysis.pmf.bin_measure``:
shell volume or zone area) instead of its width. ``W`` is the corrected PMF,
``W_uncorrected`` the density one, and ``jacobian`` says which correction was applied.
Use the *uncorrected* W in TST rates; never correct twice.

Errors: bootstrap. Each window's series is subsampled with its statistical inefficiency
g_k (``pymbar.timeseries.statistical_inefficiency`` when pymbar is installed, else the
same integrated-autocorrelation estimate here), the decorrelated samples are resampled
with replacement, and WHAM is redone; dW is the standard deviation over the resamples
(of W relative to the same reference bin as the estimate).

MBAR (``mbar_pmf``): ``pymbar.FES`` on the decorrelated samples (Shirts & Chodera,
J. Chem. Phys. 129, 124105 (2008)), histogram PMF with analytical uncertainties.

Units: kJ/mol, K, ξ in nm or rad; results are ``mdzoom.core.results.Results``.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np

from mdzoom.core.analysis.pmf import bin_measure
from mdzoom.core.results import Results
from mdzoom.core.units import KB

__all__ = ["wham", "mbar_pmf", "statistical_inefficiency", "minimum_free_energy_path",
           "JACOBIANS"]

#: accepted ``jacobian`` values → (bin_measure coordinate, label stored in the result)
JACOBIANS = {
    "none": ("generic", "none"),
    "distance": ("distance", "distance: w = W + 2kT ln r (bin shell volume "
                             "(4π/3)(r_hi³ − r_lo³))"),
    "polar": ("polar_angle", "polar angle: w = W + kT ln sin θ (bin zone area "
                             "2π(cos θ_lo − cos θ_hi))"),
}
_JACOBIAN_ALIASES = {"generic": "none", "polar_angle": "polar", None: "none"}


# --------------------------------------------------------------------------- input


def _jacobian_key(jacobian):
    key = _JACOBIAN_ALIASES.get(jacobian, jacobian)
    if key not in JACOBIANS:
        raise ValueError(f"unknown jacobian {jacobian!r}; available: "
                         f"{', '.join(JACOBIANS)}")
    return key


def _prepare(samples, centers, k, periodic):
    """Validate the windows: samples list of (n_k, D), centres (K, D), k (K, D)."""
    samples = list(samples)
    if not samples:
        raise ValueError("no windows given")
    c = np.asarray(centers, dtype=np.float64)
    dim = 1 if c.ndim == 1 else c.shape[1]
    c = c.reshape(len(samples), dim) if c.size == len(samples) * dim else None
    if c is None:
        raise ValueError(f"{len(samples)} windows need {len(samples)} centres "
                         f"(or {len(samples)} × 2 for two coordinates); got shape "
                         f"{np.shape(centers)}")
    if dim not in (1, 2):
        raise ValueError(f"WHAM handles one or two coordinates; got {dim}")
    kk = _force_constants(k, len(samples), dim)
    if np.any(kk <= 0) or not np.all(np.isfinite(kk)):
        raise ValueError("force constants k must be positive and finite")
    xs = []
    for i, s in enumerate(samples):
        a = np.asarray(s, dtype=np.float64)
        a = a.reshape(-1, 1) if a.ndim == 1 else a
        if a.ndim != 2 or a.shape[1] != dim:
            raise ValueError(f"window {i}: samples must have shape (n,) or (n, {dim}); got "
                             f"{np.shape(s)}")
        if a.shape[0] < 2:
            raise ValueError(f"window {i}: needs at least 2 samples; got {a.shape[0]}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"window {i}: samples contain NaN or inf")
        xs.append(a)
    per = list(periodic) if isinstance(periodic, (list, tuple)) else [periodic] * dim
    if len(per) != dim:
        raise ValueError(f"periodic must give one period (or None) per coordinate; got "
                         f"{periodic!r}")
    per = [None if p is None else float(p) for p in per]
    return xs, c, kk, per, dim


def _force_constants(k, n_windows, dim):
    """k as (K, D): a scalar, (K,), (D,) (2D: per coordinate, all windows) or (K, D)."""
    ka = np.asarray(k, dtype=np.float64)
    if ka.ndim == 0:
        return np.full((n_windows, dim), float(ka))
    if dim > 1 and ka.shape == (dim,):
        return np.tile(ka, (n_windows, 1))
    if ka.shape == (n_windows,):
        return np.repeat(ka[:, None], dim, axis=1)
    if ka.shape == (n_windows, dim):
        return ka.copy()
    raise ValueError(f"k must be a number, one per window ({n_windows}) or one per window "
                     f"and coordinate ({n_windows}, {dim}); got shape {ka.shape}")


def _edges(xs, bins, range_, per, dim):
    bins = list(bins) if isinstance(bins, (list, tuple)) and dim > 1 else [bins] * dim
    if dim > 1 and np.ndim(bins[0]) == 0 and len(bins) != dim:
        raise ValueError(f"bins must be one value or one per coordinate ({dim})")
    ranges = range_ if (range_ is not None and dim > 1) else [range_] * dim
    edges = []
    for d in range(dim):
        b, r = bins[d], ranges[d]
        if np.ndim(b) == 1:
            e = np.asarray(b, dtype=np.float64)
            if e.size < 2 or np.any(np.diff(e) <= 0):
                raise ValueError("bin edges must be increasing, at least two")
        else:
            if r is None:
                if per[d] is not None:
                    r = (-per[d] / 2, per[d] / 2)
                else:
                    allx = np.concatenate([x[:, d] for x in xs])
                    r = (float(allx.min()), float(allx.max()))
            lo, hi = map(float, r)
            if not hi > lo:
                raise ValueError(f"empty histogram range ({lo}, {hi})")
            e = np.linspace(lo, hi, int(b) + 1)
        edges.append(e)
    return edges


def _wrap(x, lo, period):
    return lo + np.mod(x - lo, period)


def _bin_index(x, edges, per):
    """Flat bin index of each sample (n, D); −1 outside the range."""
    n = x.shape[0]
    flat = np.zeros(n, dtype=np.int64)
    ok = np.ones(n, dtype=bool)
    for d, e in enumerate(edges):
        v = x[:, d]
        if per[d] is not None and math.isclose(e[-1] - e[0], per[d], rel_tol=1e-9):
            v = _wrap(v, e[0], per[d])
        i = np.searchsorted(e, v, side="right") - 1
        i = np.where(v == e[-1], e.size - 2, i)        # the last edge belongs to the last bin
        ok &= (i >= 0) & (i < e.size - 1)
        flat = flat * (e.size - 1) + np.clip(i, 0, e.size - 2)
    return np.where(ok, flat, -1)


def _subdivide(edges, sub):
    """Each bin split into ``sub`` equal parts."""
    if sub == 1:
        return edges
    t = np.arange(sub) / sub
    inner = (edges[:-1, None] + np.diff(edges)[:, None] * t[None, :]).ravel()
    return np.append(inner, edges[-1])


def _coarsen(a, shape, sub):
    """Sum fine-bin values (flat) back to the bins of ``shape`` (flat result)."""
    if sub == 1:
        return a
    if len(shape) == 1:
        return a.reshape(shape[0], sub).sum(axis=1)
    return a.reshape(shape[0], sub, shape[1], sub).sum(axis=(1, 3)).ravel()


def _grid_centres(edges):
    cs = [0.5 * (e[1:] + e[:-1]) for e in edges]
    mesh = np.meshgrid(*cs, indexing="ij")
    return cs, np.stack([m.ravel() for m in mesh], axis=1)      # (B, D)


def _bias(points, c, kk, per):
    """Reduced-free bias U_k(points) [kJ/mol]: (K, P)."""
    u = np.zeros((c.shape[0], points.shape[0]))
    for d in range(c.shape[1]):
        diff = points[None, :, d] - c[:, None, d]
        if per[d] is not None:
            diff = diff - per[d] * np.floor(diff / per[d] + 0.5)
        u += 0.5 * kk[:, d:d + 1] * diff ** 2
    return u


def _measure(edges, coord, dim):
    if dim == 1:
        return bin_measure(edges[0], coord), np.diff(edges[0])
    w = np.multiply.outer(np.diff(edges[0]), np.diff(edges[1])).ravel()
    return w, w


# --------------------------------------------------------------------------- WHAM core


def _wham_solve(counts, n_k, u, f0=None, tol=1e-7, max_iter=100_000):
    """Self-consistent WHAM. counts (K, B), n_k (K,), u (K, B) reduced bias.

    Returns (f (K,) with f_0 = 0 [kT], p (B,) normalised bin probabilities, iterations,
    converged)."""
    m = counts.sum(axis=0)
    occupied = m > 0
    mb = m[occupied]
    c = np.exp(-(u[:, occupied] - u[:, occupied].min(axis=1, keepdims=True)))
    shift = u[:, occupied].min(axis=1)            # f_k = g_k + shift_k (exact rescaling)
    g = np.zeros(counts.shape[0]) if f0 is None else np.asarray(f0, float) - shift
    g = g - g[0]
    ln_n = np.log(np.maximum(n_k, 1e-300))
    it, converged = 0, False
    for it in range(1, max_iter + 1):
        a = ln_n + g
        amax = a.max()
        denom = np.exp(a - amax) @ c                         # (B,)
        p = mb / denom                                       # × exp(−amax)
        z = c @ p                                            # (K,)
        g_new = -np.log(z)
        g_new -= g_new[0]
        delta = np.max(np.abs(g_new - g))
        g = g_new
        if delta < tol:
            converged = True
            break
    f = g + shift
    f = f - f[0]
    a = ln_n + f
    full = np.zeros(counts.shape[1])
    ua = u[:, occupied]
    lden = _logsumexp(a[:, None] - ua, axis=0)
    full[occupied] = np.exp(np.log(mb) - lden - np.max(np.log(mb) - lden))
    full /= full.sum()
    return f, full, it, converged


def _logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True))).squeeze(axis)


def _free_energy(p, width, measure, kT):
    with np.errstate(divide="ignore"):
        raw = np.where(p > 0, -kT * np.log(p / width), np.inf)
        cor = np.where(p > 0, -kT * np.log(p / measure), np.inf)
    return raw, cor


def _ref_index(w, reference, centres):
    finite = np.isfinite(w)
    if not finite.any():
        raise ValueError("no bin has samples: check the histogram range")
    if reference is None or (isinstance(reference, str) and reference == "min"):
        return int(np.argmin(np.where(finite, w, np.inf)))
    if isinstance(reference, str):
        raise ValueError(f"unknown reference {reference!r}; available: 'min', a value of "
                         "the coordinate")
    d = np.sum((centres - np.atleast_1d(np.asarray(reference, float))) ** 2, axis=1)
    d = np.where(finite, d, np.inf)
    return int(np.argmin(d))


# --------------------------------------------------------------------------- decorrelation


def statistical_inefficiency(series) -> float:
    """g = 1 + 2 Σ_t (1 − t/n) C(t) of a time series (≥ 1): pymbar's
    ``timeseries.statistical_inefficiency`` (FFT) when pymbar is installed, else the same
    estimator here (sum until the autocorrelation first drops to ≤ 0)."""
    a = np.asarray(series, dtype=np.float64).ravel()
    if a.size < 3 or np.ptp(a) == 0:
        return 1.0
    ts = _pymbar_timeseries()
    if ts is not None:
        try:
            return float(max(1.0, ts.statistical_inefficiency(a, fft=True)))
        except Exception:  # noqa: BLE001 - pymbar's ParameterError on odd input
            pass
    n = a.size
    x = a - a.mean()
    f = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n]
    acf /= acf[0]
    g = 1.0
    for t in range(1, n):
        if acf[t] <= 0:
            break
        g += 2.0 * acf[t] * (1.0 - t / n)
    return float(max(1.0, g))


def _pymbar_timeseries():
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(
                io.StringIO()):
            from pymbar import timeseries
    except ImportError:
        return None
    return timeseries


def _decorrelated(xs, decorrelate, dim):
    gs, subs = [], []
    for x in xs:
        if decorrelate:
            g = max(statistical_inefficiency(x[:, d]) for d in range(dim))
        else:
            g = 1.0
        stride = max(1, int(math.ceil(g - 1e-9)))
        gs.append(g)
        subs.append(x[::stride])
    return np.array(gs), subs


# --------------------------------------------------------------------------- WHAM


def wham(samples, centers, k, *, temperature, bins=100, range=None, periodic=None,
         jacobian="none", reference="min", tol=1e-7, max_iter=100_000, n_bootstrap=0,
         decorrelate=True, seed=None, oversample=4) -> Results:
    """PMF from umbrella windows by WHAM, in one or two coordinates.

    Parameters
    ----------
    samples : sequence of K arrays (n_k,) or (n_k, 2)
        Time-ordered ξ of each window [nm or rad].
    centers : array_like (K,) or (K, 2)
        Window centres ξ_k.
    k : float, (K,) or (K, 2) [kJ mol⁻¹ unit⁻²]
        Force constants of U_k = ½ k (ξ − ξ_k)².
    temperature : float [K]
    bins : int, edges (B+1,), or one of those per coordinate (2D)
    range : (lo, hi) or ((lo, hi), (lo, hi)), optional
        Histogram range; default the samples' range (a full period, centred on 0, for a
        periodic coordinate).
    periodic : None, a period, or one per coordinate
        Period of the coordinate (2π for a dihedral): the bias uses the periodic
        difference, and samples are wrapped into a full-period range.
    jacobian : {"none", "distance", "polar"}
        Correction applied to ``W`` (1D only; see the module docstring).
    reference : "min" or a value of ξ
        W (and ``W_uncorrected`` on its own) is zero at its minimum or at the bin nearest
        that value.
    tol : float [kT]
        Convergence: the largest change of a window free energy in one iteration.
    max_iter : int
    n_bootstrap : int
        Bootstrap resamples for ``dW`` (0: no errors; ``dW`` is None).
    decorrelate : bool
        Estimate each window's statistical inefficiency for the bootstrap (False: treat
        samples as independent).
    seed : int, optional   bootstrap random numbers
    oversample : int
        The self-consistent equations are solved on bins split ``oversample`` times per
        coordinate, and the probabilities summed back: WHAM's bias-constant-within-a-bin
        error falls as (Δξ/oversample)² while the statistics are those of the bins asked
        for (the error is 0.47 kJ/mol for oversample=1 on the 2D test surface of
        ``tests/plugins/qmmm/test_wham.py`` at 24 × 18 bins, 0.04 for 4).

    Returns
    -------
    Results
        1D: x (B,) bin centres; edges (B+1,). 2D: x (Bx,), y (By,), edges [ex, ey];
        W, W_uncorrected, dW, dW_uncorrected, P (probability per bin), counts: (B,) or
        (Bx, By) [kJ/mol]; +inf where no sample fell. f_windows (K,) [kJ/mol] window free
        energies (f_0 = 0); f_windows_kT (K,); jacobian (label), jacobian_key; method
        "wham"; T, kT; iterations, converged; statistical_inefficiency (K,);
        n_samples (K,) in range; n_bootstrap; centers, k; note.
    """
    xs, c, kk, per, dim = _prepare(samples, centers, k, periodic)
    key = _jacobian_key(jacobian)
    if dim == 2 and key != "none":
        raise ValueError("Jacobian corrections apply to one coordinate; for 2D PMFs use "
                         "jacobian='none'")
    kT = KB * float(temperature)
    if not kT > 0:
        raise ValueError(f"temperature must be > 0 K; got {temperature}")
    edges = _edges(xs, bins, range, per, dim)
    shape = tuple(e.size - 1 for e in edges)
    cs, centres = _grid_centres(edges)
    sub = int(oversample)
    if sub < 1:
        raise ValueError(f"oversample must be >= 1; got {oversample}")
    fine = [_subdivide(e, sub) for e in edges]
    nf = int(np.prod([e.size - 1 for e in fine]))
    u = _bias(_grid_centres(fine)[1], c, kk, per) / kT
    idx = [_bin_index(x, fine, per) for x in xs]
    counts = np.array([np.bincount(i[i >= 0], minlength=nf) for i in idx], dtype=np.float64)
    n_k = counts.sum(axis=1)
    empty = np.nonzero(n_k == 0)[0]
    if empty.size:
        raise ValueError(f"window(s) {', '.join(map(str, empty))} have no sample inside the "
                         "histogram range: widen the range or leave them out")
    f, p_fine, iters, converged = _wham_solve(counts, n_k, u, tol=tol, max_iter=max_iter)
    p = _coarsen(p_fine, shape, sub)
    measure, width = _measure(edges, JACOBIANS[key][0], dim)
    raw, cor = _free_energy(p, width, measure, kT)
    i_cor = _ref_index(cor, reference, centres)
    i_raw = _ref_index(raw, reference, centres)
    W, W_raw = cor - cor[i_cor], raw - raw[i_raw]

    gs, subs = _decorrelated(xs, decorrelate and n_bootstrap > 0, dim)
    dW = dW_raw = None
    if n_bootstrap and n_bootstrap > 0:
        rng = np.random.default_rng(seed)
        sub_idx = [_bin_index(s, fine, per) for s in subs]
        bw, bw_raw = [], []
        for _ in np.arange(int(n_bootstrap)):
            cb = np.empty_like(counts)
            for j, si in enumerate(sub_idx):
                pick = si[rng.integers(0, si.size, si.size)]
                cb[j] = np.bincount(pick[pick >= 0], minlength=nf)
            nkb = cb.sum(axis=1)
            if np.any(nkb == 0):
                continue
            _, pb, _, _ = _wham_solve(cb, nkb, u, f0=f, tol=max(tol, 1e-6),
                                      max_iter=max_iter)
            r, q = _free_energy(_coarsen(pb, shape, sub), width, measure, kT)
            if not (np.isfinite(q[i_cor]) and np.isfinite(r[i_raw])):
                continue                   # the reference bin is empty in this resample
            bw.append(q - q[i_cor])
            bw_raw.append(r - r[i_raw])
        if len(bw) >= 2:
            dW = _finite_std(np.array(bw))
            dW_raw = _finite_std(np.array(bw_raw))
    res = Results(method="wham", T=float(temperature), kT=kT, jacobian=JACOBIANS[key][1],
                  jacobian_key=key, f_windows=f * kT, f_windows_kT=f, iterations=iters,
                  converged=converged, tol=tol, statistical_inefficiency=gs,
                  n_samples=n_k.astype(np.int64), n_bootstrap=int(n_bootstrap or 0),
                  centers=c if dim == 2 else c[:, 0], k=kk if dim == 2 else kk[:, 0],
                  periodic=per if dim == 2 else per[0], dim=dim)
    _store_grid(res, edges, cs, shape, W=W, W_uncorrected=W_raw, dW=dW,
                dW_uncorrected=dW_raw, P=p, counts=_coarsen(counts.sum(axis=0), shape, sub))
    res["note"] = (f"WHAM at {float(temperature):g} K, {len(xs)} windows, {iters} "
                   f"iterations ({'converged' if converged else 'NOT converged'} to "
                   f"{tol:g} kT); W zero at its {reference!r} bin; Jacobian: "
                   f"{JACOBIANS[key][1]}; errors: "
                   + (f"bootstrap of decorrelated samples ({int(n_bootstrap)} resamples)"
                      if dW is not None else "none"))
    if not converged:
        import warnings

        warnings.warn(f"WHAM did not converge to {tol:g} kT in {max_iter} iterations",
                      RuntimeWarning, stacklevel=2)
    return res


def _finite_std(a):
    """Standard deviation over resamples (axis 0) of the finite values; inf where fewer
    than two resamples had the bin."""
    finite = np.isfinite(a)
    n = finite.sum(axis=0)
    x = np.where(finite, a, 0.0)
    mean = x.sum(axis=0) / np.maximum(n, 1)
    var = np.where(finite, (a - mean) ** 2, 0.0).sum(axis=0) / np.maximum(n - 1, 1)
    return np.where(n >= 2, np.sqrt(var), np.inf)


def _store_grid(res, edges, cs, shape, **arrays):
    if len(edges) == 1:
        res["x"], res["edges"] = cs[0], edges[0]
    else:
        res["x"], res["y"], res["edges"] = cs[0], cs[1], edges
    for name, a in arrays.items():
        res[name] = None if a is None else np.asarray(a).reshape(shape)


# --------------------------------------------------------------------------- MBAR


def _pymbar():
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(
                io.StringIO()):
            import pymbar
    except ImportError:
        raise ImportError("MBAR needs pymbar 4: pip install pymbar  (or use method "
                          "'wham', which needs nothing extra)") from None
    if not hasattr(pymbar, "FES"):
        raise ImportError(f"MBAR needs pymbar >= 4 (found {pymbar.__version__}, which has "
                          "no pymbar.FES): pip install -U pymbar")
    return pymbar


def mbar_pmf(samples, centers, k, *, temperature, bins=100, range=None, periodic=None,
             jacobian="none", reference="min", decorrelate=True, n_bootstrap=20,
             seed=None) -> Results:
    """PMF from umbrella windows by MBAR (``pymbar.FES``, histogram estimator).

    Parameters are those of :func:`wham`. In 1D the uncertainties are MBAR's analytical
    ones (pymbar's FES); in 2D, where pymbar 4.0's FES takes no 2D bins, they come from
    ``n_bootstrap`` resamples of each window's samples (``seed``). Both need
    decorrelated samples: keep ``decorrelate=True`` for MD data. Each window is subsampled with its statistical inefficiency first.

    Returns the same keys as :func:`wham` with ``method = "mbar"``; ``f_windows`` are
    MBAR's window free energies [kJ/mol], ``dW`` its analytical uncertainties (relative to
    the reference bin; the Jacobian does not change them).

    Raises ImportError (saying ``pip install pymbar``) without pymbar 4.
    """
    pymbar = _pymbar()
    xs, c, kk, per, dim = _prepare(samples, centers, k, periodic)
    key = _jacobian_key(jacobian)
    if dim == 2 and key != "none":
        raise ValueError("Jacobian corrections apply to one coordinate; for 2D PMFs use "
                         "jacobian='none'")
    kT = KB * float(temperature)
    edges = _edges(xs, bins, range, per, dim)
    shape = tuple(e.size - 1 for e in edges)
    nb = int(np.prod(shape))
    cs, centres = _grid_centres(edges)
    gs, subs = _decorrelated(xs, decorrelate, dim)
    # keep what falls in the range (wrapped for periodic coordinates)
    kept = []
    for s in subs:
        s = s.copy()
        for d, e in enumerate(edges):
            if per[d] is not None and math.isclose(e[-1] - e[0], per[d], rel_tol=1e-9):
                s[:, d] = _wrap(s[:, d], e[0], per[d])
        i = _bin_index(s, edges, per)
        kept.append(s[i >= 0])
    n_k = np.array([len(s) for s in kept])
    if np.any(n_k == 0):
        bad = np.nonzero(n_k == 0)[0]
        raise ValueError(f"window(s) {', '.join(map(str, bad))} have no sample inside the "
                         "histogram range")
    x_n = np.concatenate(kept)
    u_kn = _bias(x_n, c, kk, per) / kT
    # a start from binned WHAM's window free energies saves most of MBAR's iterations
    counts = np.array([np.bincount(_bin_index(s, edges, per), minlength=nb) for s in kept],
                      dtype=np.float64)
    f0, _, _, _ = _wham_solve(counts, n_k.astype(np.float64),
                              _bias(centres, c, kk, per) / kT, tol=1e-6)
    occupied = np.bincount(_bin_index(x_n, edges, per), minlength=nb) > 0
    fw = np.full(nb, np.inf)
    dfw = np.full(nb, np.inf)
    with contextlib.redirect_stdout(io.StringIO()):
        if dim == 1:
            fes = pymbar.FES(u_kn, n_k, verbose=False, mbar_options={"initial_f_k": f0})
            fes.generate_fes(np.zeros(x_n.shape[0]), x_n[:, 0], fes_type="histogram",
                             histogram_parameters={"bin_edges": edges[0]})
            out = fes.get_fes(centres[occupied][:, 0], reference_point="from-lowest",
                              uncertainty_method="analytical")
            fk = np.asarray(fes.mbar.f_k, dtype=np.float64)
            fw[occupied] = np.asarray(out["f_i"], dtype=np.float64)
            dfw[occupied] = np.asarray(out["df_i"], dtype=np.float64)
        else:
            # pymbar 4.0's FES cannot take bin edges of unequal lengths: the same
            # histogram estimator from MBAR's unbiased-state weights, with errors from
            # a bootstrap over each window's decorrelated samples
            bin_n = _bin_index(x_n, edges, per)
            vol = _measure(edges, "generic", 2)[1]

            def fes_2d(u, nk, idx, f_init):
                mb = pymbar.MBAR(u, nk, verbose=False, initial_f_k=f_init)
                fkb = np.asarray(mb.f_k, dtype=np.float64)
                lw = -_logsumexp(np.log(nk)[:, None] + fkb[:, None] - u, axis=0)
                wb = np.bincount(idx, weights=np.exp(lw - lw.max()), minlength=nb)
                with np.errstate(divide="ignore"):
                    out = np.where(wb > 0, -np.log(wb / vol), np.inf)
                return out - out[np.isfinite(out)].min(), fkb

            fw, fk = fes_2d(u_kn, n_k, bin_n, f0)
            dfw = None
            if n_bootstrap and n_bootstrap >= 2:
                rng = np.random.default_rng(seed)
                starts = np.concatenate([[0], np.cumsum(n_k)[:-1]])
                boots = []
                for _ in np.arange(int(n_bootstrap)):
                    pick = np.concatenate([st + rng.integers(0, n, n)
                                           for st, n in zip(starts, n_k)])
                    fb, _ = fes_2d(u_kn[:, pick], n_k, bin_n[pick], fk)
                    boots.append(fb - fb[np.argmin(np.where(np.isfinite(fw), fw, np.inf))])
                dfw = _finite_std(np.array(boots))
    # pymbar's histogram f_i is −ln(density per bin volume); the Jacobian via bin measure
    measure, width = _measure(edges, JACOBIANS[key][0], dim)
    raw = kT * fw
    cor = raw + kT * np.log(measure / width)
    i_cor = _ref_index(cor, reference, centres)
    i_raw = _ref_index(raw, reference, centres)
    W, W_raw = cor - cor[i_cor], raw - raw[i_raw]
    dW = None if dfw is None else kT * dfw    # relative to pymbar's lowest bin
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(occupied, np.exp(-(fw - np.min(fw[occupied]))) * width, 0.0)
    p /= p.sum()
    res = Results(method="mbar", T=float(temperature), kT=kT, jacobian=JACOBIANS[key][1],
                  jacobian_key=key, f_windows=(fk - fk[0]) * kT, f_windows_kT=fk - fk[0],
                  iterations=None, converged=True, statistical_inefficiency=gs,
                  n_samples=n_k.astype(np.int64), n_bootstrap=0,
                  centers=c if dim == 2 else c[:, 0], k=kk if dim == 2 else kk[:, 0],
                  periodic=per if dim == 2 else per[0], dim=dim)
    _store_grid(res, edges, cs, shape, W=W, W_uncorrected=W_raw, dW=dW, dW_uncorrected=dW,
                P=p, counts=np.bincount(_bin_index(x_n, edges, per), minlength=nb))
    if dW is None:
        res["note_errors"] = "2D MBAR: no uncertainties (n_bootstrap < 2)"
    elif dim == 2:
        res["n_bootstrap"] = int(n_bootstrap)
        res["note_errors"] = (f"2D MBAR: bootstrap over {int(n_bootstrap)} resamples of the "
                              "decorrelated samples (relative to the lowest bin)")
    res["note"] = (f"MBAR (pymbar {pymbar.__version__} FES, histogram) at "
                   f"{float(temperature):g} K, {len(xs)} windows, {int(n_k.sum())} "
                   f"decorrelated samples; W zero at its {reference!r} bin; Jacobian: "
                   f"{JACOBIANS[key][1]}; errors: MBAR analytical")
    return res


# --------------------------------------------------------------------------- 2D path


def minimum_free_energy_path(result, start, end, *, kT=None):
    """Minimum free-energy path on a 2D PMF between two points (e.g. two minima).

    Dijkstra on the grid of occupied bins (8 neighbours; periodic coordinates wrap),
    each step costing its length in bins × exp((W − W_min)/kT) averaged over its two
    ends. This Boltzmann-weighted path crosses a ridge at its lowest point (the saddle)
    and follows the valleys elsewhere.

    Parameters
    ----------
    result : Results of ``wham``/``mbar_pmf`` with two coordinates (x, y, W)
    start, end : (ξ1, ξ2)   points; each snaps to the nearest occupied bin
    kT : float [kJ/mol], optional   default ``result.kT``

    Returns
    -------
    Results
        path (P, 2) bin centres from start to end; W (P,) [kJ/mol] along it; index
        (P, 2) bin indices; barrier [kJ/mol] (max W on the path − W at the start);
        saddle (2,) the highest point of the path.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    if result.get("dim") != 2 and "y" not in result:
        raise ValueError("minimum_free_energy_path needs a 2D PMF (x, y, W)")
    x, y, W = np.asarray(result["x"]), np.asarray(result["y"]), np.asarray(result["W"])
    kT = float(result["kT"] if kT is None else kT)
    per = result.get("periodic") or [None, None]
    nx, ny = W.shape
    ok = np.isfinite(W)
    if not ok.any():
        raise ValueError("the PMF has no finite bin")
    e = np.where(ok, np.exp(np.minimum((W - W[ok].min()) / kT, 600.0)), np.inf)
    ids = np.arange(nx * ny).reshape(nx, ny)
    rows, cols, wts = [], [], []
    for dx, dy in ((1, 0), (0, 1), (1, 1), (1, -1)):
        length = math.hypot(dx, dy)
        i0, j0 = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        i1, j1 = i0 + dx, j0 + dy
        if per[0] is not None:
            i1 = i1 % nx
        if per[1] is not None:
            j1 = j1 % ny
        inside = (i1 >= 0) & (i1 < nx) & (j1 >= 0) & (j1 < ny)
        a = ids[i0[inside], j0[inside]]
        b = ids[i1[inside], j1[inside]]
        both = ok.ravel()[a] & ok.ravel()[b] & (a != b)
        a, b = a[both], b[both]
        w = length * 0.5 * (e.ravel()[a] + e.ravel()[b])
        rows += [a, b]
        cols += [b, a]
        wts += [w, w]
    g = coo_matrix((np.concatenate(wts), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(nx * ny, nx * ny)).tocsr()

    def snap(pt):
        d = (x[:, None] - pt[0]) ** 2 + (y[None, :] - pt[1]) ** 2
        d = np.where(ok, d, np.inf)
        return int(np.argmin(d))

    s, t = snap(start), snap(end)
    _, pred = dijkstra(g, indices=s, return_predecessors=True)
    if pred[t] < 0 and s != t:
        raise ValueError(f"no path of occupied bins joins {tuple(start)} and {tuple(end)}")
    node, order = t, [t]
    while node != s:
        node = int(pred[node])
        order.append(node)
    order = np.array(order[::-1])
    ii, jj = np.unravel_index(order, (nx, ny))
    w_path = W[ii, jj]
    top = int(np.argmax(w_path))
    path = np.stack([x[ii], y[jj]], axis=1)
    return Results(path=path, W=w_path, index=np.stack([ii, jj], axis=1),
                   barrier=float(w_path[top] - w_path[0]), saddle=path[top])
