"""Mean-square displacement, diffusion coefficients and velocity autocorrelation.

Units: positions nm, times ps, MSD nm², D nm²/ps (also given in 10⁻⁵ cm²/s, the unit
``gmx msd`` prints: 1 nm²/ps = 10⁻¹⁸ m² / 10⁻¹² s = 10⁻⁶ m²/s = 10⁻² cm²/s, so
D[10⁻⁵ cm²/s] = 1000 · D[nm²/ps]).

The MSD uses the FFT algorithm of nMoldyn (G. R. Kneller, V. Keiner, M. Kneller,
M. Schiller, Comput. Phys. Commun. 91, 191 (1995); V. Calandrini, E. Pellegrini,
P. Calligari, K. Hinsen, G. R. Kneller, "nMoldyn — interfacing spectroscopic experiments,
molecular dynamics simulations and models for time correlation functions", École
thématique de la Société Française de la Neutronique 12, 201 (2011)): with ``T`` frames
and lag ``m``,

    MSD(m) = S1(m) − 2 S2(m),
    S1(m) = 1/(T−m) Σ_{k=0}^{T−m−1} [r²(k) + r²(k+m)],
    S2(m) = 1/(T−m) Σ_{k=0}^{T−m−1} r(k)·r(k+m)     (autocorrelation, by zero-padded FFT),

averaged over every time origin, in O(T log T) per particle.
"""

from __future__ import annotations

import numpy as np

from ..results import Results
from ..units import AVOGADRO, KB
from ._kernels import weighted_centres
from ._trajectory import as_trajectory
from .unwrap import unwrap_positions

__all__ = ["msd", "vacf", "yeh_hummer_correction", "msd_fft", "autocorrelation_fft",
           "NM2_PER_PS_IN_CM2_PER_S", "YEH_HUMMER_XI"]

#: 1 nm²/ps expressed in cm²/s.
NM2_PER_PS_IN_CM2_PER_S = 1.0e-2
#: Madelung-like constant ξ of the cubic lattice (Yeh & Hummer 2004).
YEH_HUMMER_XI = 2.837297
#: Default fit window, as fractions of the longest lag time (trajectory length).
DEFAULT_FIT_FRACTIONS = (0.1, 0.5)
_CHUNK_BYTES = 16 * 2**20          # per FFT chunk; measured fastest of 2–64 MiB
#: 1 mPa·s in kJ mol⁻¹ nm⁻³ ps: 1e-3 J s m⁻³ × N_A/1000 (J → kJ/mol) × 1e12 (s → ps)
#: × 1e-27 (m⁻³ → nm⁻³).
_MPAS_IN_MD_UNITS = 1e-3 * AVOGADRO * 1e-3 * 1e12 * 1e-27


# --------------------------------------------------------------------------- kernels


def _nfft(n):
    """Smallest 2^a 3^b 5^c ≥ 2n (zero padding against circular wrap-around)."""
    target = 2 * n
    best = 1 << (target - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            v = p35
            while v < target:
                v *= 2
            best = min(best, v)
            p35 *= 3
        p5 *= 5
    return best


def _autocorr_rows(xt):
    """(M, T) unnormalised autocorrelation, summed over d, of (M, d, T) rows."""
    n = xt.shape[-1]
    nfft = _nfft(n)
    f = np.fft.rfft(xt, n=nfft, axis=-1)
    power = f.real ** 2
    power += f.imag ** 2
    return np.fft.irfft(power.sum(axis=1), n=nfft, axis=-1)[:, :n]


def _msd_rows(xt):
    """(M, T) MSD of (M, d, T) contiguous rows (modified in place: mean removed)."""
    n = xt.shape[-1]
    xt -= xt.mean(axis=-1, keepdims=True)      # translation-invariant; less cancellation
    sq = np.einsum("mdt,mdt->mt", xt, xt)
    prefix = np.zeros((sq.shape[0], n + 1))
    np.cumsum(sq, axis=-1, out=prefix[:, 1:])
    lags = np.arange(n)
    # S1(m)·(T−m) = Σ_{k<T−m} r²(k) + Σ_{k≥m} r²(k)
    out = prefix[:, n - lags] + (prefix[:, n:n + 1] - prefix[:, lags])
    out -= 2.0 * _autocorr_rows(xt)
    out /= (n - lags)
    out[:, 0] = 0.0
    return out


def autocorrelation_fft(x) -> np.ndarray:
    """Sum over the last axis of the unnormalised autocorrelation, by FFT.

    Parameters
    ----------
    x : array_like, shape (T, M, d)

    Returns
    -------
    numpy.ndarray, shape (T, M)
        ``out[m, j] = Σ_{k=0}^{T−m−1} x[k, j] · x[k+m, j]`` (dot product over d).
    """
    x = np.asarray(x, dtype=np.float64)
    return _autocorr_rows(np.ascontiguousarray(x.transpose(1, 2, 0))).T


def msd_fft(x) -> np.ndarray:
    """MSD of every column, averaged over all time origins (nMoldyn FFT algorithm).

    Parameters
    ----------
    x : array_like, shape (T, M, d) [nm]
        Continuous (unwrapped) positions of M items in d dimensions, equally spaced in
        time.

    Returns
    -------
    numpy.ndarray, shape (T, M) [nm²]
        ``msd[m, j]`` is the mean of |x[k+m, j] − x[k, j]|² over k = 0 … T−m−1.
    """
    x = np.asarray(x, dtype=np.float64)
    return _msd_rows(np.array(x.transpose(1, 2, 0), order="C", copy=True)).T


# --------------------------------------------------------------------------- helpers


def _dims(dims):
    if isinstance(dims, str):
        axes = ["xyz".index(c) for c in dims.lower() if c in "xyz"]
        if len(axes) != len(dims) or len(set(axes)) != len(axes) or not axes:
            raise ValueError(f"dims must be letters from 'xyz' without repeats, e.g. "
                             f"'xyz', 'xy', 'z'; got {dims!r}")
        return sorted(axes)
    axes = sorted(int(a) for a in dims)
    if not axes or any(a not in (0, 1, 2) for a in axes) or len(set(axes)) != len(axes):
        raise ValueError(f"dims must name axes among 0, 1, 2; got {dims!r}")
    return axes


def _masses(masses, n):
    if masses is None:
        return np.ones(n)
    if hasattr(masses, "masses"):              # a Topology
        masses = masses.masses
    m = np.asarray(masses, dtype=np.float64)
    if m.shape != (n,):
        raise ValueError(f"masses must have shape ({n},) (one per particle, amu); "
                         f"got {m.shape}")
    return m


def _index_groups(groups, n, what):
    out = []
    for k, g in enumerate(groups):
        g = np.atleast_1d(np.asarray(g, dtype=np.int64))
        if g.ndim != 1 or g.size == 0:
            raise ValueError(f"{what} {k} must be a non-empty 1-D index array")
        if g.min() < -n or g.max() >= n:
            raise IndexError(f"{what} {k} indexes particle {g.max()} of {n}")
        out.append(g % n)
    return out


def _centres(positions, groups, masses):
    """(T, G, 3) weighted centres of index groups (positions already unwrapped)."""
    idx = np.concatenate(groups)
    starts = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum([g.size for g in groups], out=starts[1:])
    w = np.ascontiguousarray(masses[idx], dtype=np.float64)
    if np.any(np.add.reduceat(w, starts[:-1]) <= 0):
        raise ValueError("a group has zero total mass")
    if all(g.size == 1 for g in groups):
        if idx.size == positions.shape[1] and np.array_equal(idx, np.arange(idx.size)):
            return positions
        return positions[:, idx]
    out = np.empty((positions.shape[0], len(groups), 3))
    weighted_centres(np.ascontiguousarray(positions), idx, starts, w, out)
    return out


def _lag_times(times):
    t = np.asarray(times, dtype=np.float64)
    if t.size < 2:
        raise ValueError("an MSD needs at least 2 frames")
    if not np.all(np.isfinite(t)):
        raise ValueError("the trajectory's times are missing or not finite; pass "
                         "(positions, times [ps], boxes)")
    dt = np.diff(t)
    if not np.all(dt > 0) or not np.allclose(dt, dt[0], rtol=1e-6, atol=1e-9):
        raise ValueError("frames must be equally spaced in time for the FFT MSD "
                         f"(time steps range {dt.min():g}–{dt.max():g} ps)")
    return np.arange(t.size) * dt[0]


def _window_mask(lag, fit_window):
    """Boolean mask of the lags inside the fit window, and the window actually used."""
    tmax = lag[-1]
    if fit_window is None:
        t0, t1 = DEFAULT_FIT_FRACTIONS[0] * tmax, DEFAULT_FIT_FRACTIONS[1] * tmax
        default = True
    else:
        t0, t1 = (float(v) for v in fit_window)
        default = False
        if not 0 <= t0 < t1:
            raise ValueError(f"fit_window must be (t0, t1) with 0 <= t0 < t1 [ps]; "
                             f"got {fit_window}")
    eps = 1e-9 * max(tmax, 1.0)
    mask = (lag >= t0 - eps) & (lag <= t1 + eps) & (lag > 0)
    if mask.sum() < 2:
        if not default:
            raise ValueError(f"fit_window ({t0:g}, {t1:g}) ps holds {mask.sum()} lag(s) "
                             f"of this trajectory (lags 0–{tmax:g} ps, step "
                             f"{lag[1]:g} ps); it needs at least 2")
        mask = lag > 0                          # tiny trajectory: all lags
        if mask.sum() < 2:
            raise ValueError(f"an MSD fit needs at least 3 frames; got {lag.size}")
    sel = lag[mask]
    return mask, (float(sel[0]), float(sel[-1])), default


def _slope_weights(x):
    """w with ``w @ y`` the least-squares slope of y(x) (a line with intercept)."""
    xc = x - x.mean()
    return xc / np.dot(xc, xc)


def _prepare_items(tr, groups, particles, masses, reference_groups):
    """Unwrapped (T, M, 3) item positions with the reference drift removed."""
    n = tr.n_particles
    m = _masses(masses, n)
    if groups is not None and particles is not None:
        raise ValueError("give either groups or particles, not both")
    if groups is not None:
        if isinstance(groups, np.ndarray) and groups.ndim == 1:
            raise ValueError("groups must be a list of index arrays (one per group); for "
                             "single particles pass particles=indices")
        groups = _index_groups(groups, n, "group")
        kind = "group centres of mass" if masses is not None else "group centres"
    else:
        if particles is None:
            particles = np.arange(n)
        groups = [np.array([i]) for i in np.atleast_1d(np.asarray(particles, np.int64)) % n]
        kind = "particles"
    refs = None
    if reference_groups is not None:
        if isinstance(reference_groups, np.ndarray) and reference_groups.ndim == 1:
            reference_groups = [reference_groups]
        elif len(reference_groups) and np.isscalar(reference_groups[0]):
            reference_groups = [reference_groups]
        refs = _index_groups(reference_groups, n, "reference group")
    needed = np.unique(np.concatenate(groups + (refs or [])))
    local = np.full(n, -1, dtype=np.int64)
    local[needed] = np.arange(needed.size)
    every = needed.size == n
    u = unwrap_positions(tr.positions if every else tr.positions[:, needed], tr.boxes)
    mloc = m[needed]
    items = _centres(u, [local[g] for g in groups], mloc)
    note = ""
    if refs is not None:
        ref_c = _centres(u, [local[g] for g in refs], mloc)
        drift = ref_c - ref_c[0]
        if len(refs) == 1:
            owner = np.zeros(len(groups), dtype=np.int64)
        else:
            member = np.full(n, -1, dtype=np.int64)
            for k, g in enumerate(refs):
                member[g] = k
            owner = np.array([member[g[0]] for g in groups])
            if np.any(owner < 0):
                bad = int(np.flatnonzero(owner < 0)[0])
                raise ValueError(f"item {bad} (first particle {groups[bad][0]}) is in no "
                                 "reference group; with several reference groups every "
                                 "item must belong to one (e.g. its leaflet)")
        items = items - drift[:, owner]
        note = (f" Centre-of-mass drift of {len(refs)} reference group(s) removed "
                "(each item relative to the reference group holding its first particle).")
    return items, kind, note


def _loglog_slope(lag, y):
    ok = (lag > 0) & (y > 0)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(lag[ok]), np.log(y[ok]), 1)[0])


# --------------------------------------------------------------------------- MSD


def msd(traj, groups=None, masses=None, dims="xyz", reference_groups=None,
        fit_window=None, speedup=None, *, particles=None, error="auto", n_blocks=4):
    """Mean-square displacement and the Einstein diffusion coefficient.

    Positions are unwrapped first (:func:`~mdzoom.core.analysis.unwrap`, correct under
    constant pressure), then the MSD of every item (particle or group centre) is computed
    by FFT over all time origins and averaged over items.

    Parameters
    ----------
    traj
        ``H5MDTrajectory``, path to an ``.h5md`` file, positions (T, N, 3) [nm] or a tuple
        ``(positions, times [ps], boxes [nm])``. Frames must be equally spaced in time.
    groups : list of array_like of int, optional
        Items are the centres of these particle groups (e.g. one index array per lipid);
        default: every particle is an item.
    masses : array_like, shape (N,) [amu], or a Topology, optional
        Weights for group and reference centres (centres of mass); default equal weights
        (centres of geometry).
    dims : str
        Dimensions of the displacement: ``"xyz"`` (d = 3), ``"xy"`` (lateral diffusion in
        a membrane, d = 2), ``"z"`` (d = 1), …
    reference_groups : array_like of int or list of them, optional
        Remove the centre-of-mass drift of a reference: each item's position is taken
        relative to the displacement of the reference group holding its first particle
        (one group: every item uses it). For bilayers the convention is per-leaflet COM
        removal: pass the two leaflets' particle indices.
    fit_window : (float, float), optional
        Lag-time window (t0, t1) [ps] of the linear fit. Default: 10 %–50 % of the
        trajectory length (the short-time ballistic/caged regime and the noisy long-lag
        tail are left out). Always returned in ``fit_window``.
    speedup : float, optional
        Coarse-grained speed-up factor (e.g. 4 for Martini lipids). When given, the
        result also carries ``D_raw`` (= ``D``, what the simulation produced) and
        ``D_scaled = D_raw / speedup`` with a ``scaling_note``.
    particles : array_like of int, optional
        Items are these single particles (instead of all). Not with ``groups``.
    error : {"auto", "items", "blocks"}
        How ``D_err`` is estimated: ``"items"``, the standard error of the mean of the
        per-item D (each item's MSD fitted over the same window; their mean is exactly
        D); ``"blocks"``, the standard error of D fitted in ``n_blocks`` consecutive time
        blocks (window scaled to the block length when it is the default). ``"auto"``:
        items when there are at least 2, else blocks.
    n_blocks : int
        Number of time blocks for ``error="blocks"``.

    Returns
    -------
    Results
        times : (T,) lag times [ps]; msd : (T,) [nm²]; msd_err : (T,) standard error over
        items [nm²]; D, D_err [nm²/ps]; D_1e5_cm2_s, D_err_1e5_cm2_s [10⁻⁵ cm²/s];
        fit_window : (t0, t1) [ps]; intercept [nm²]; loglog_slope (of the MSD over the fit
        window; 1 for normal diffusion); n_items; dims; ndim; error_method; note; and with
        ``speedup``: D_raw, D_scaled, D_scaled_err [nm²/ps], speedup, scaling_note.
    """
    tr = as_trajectory(traj)
    axes = _dims(dims)
    ndim = len(axes)
    lag = _lag_times(tr.times)
    items, kind, ref_note = _prepare_items(tr, groups, particles, masses, reference_groups)
    x = items if axes == [0, 1, 2] else items[:, :, axes]
    n_t, n_items = x.shape[:2]
    mask, window, default_window = _window_mask(lag, fit_window)
    w = _slope_weights(lag[mask])
    lo, hi = np.flatnonzero(mask)[[0, -1]]

    total = np.zeros(n_t)
    total_sq = np.zeros(n_t)
    d_items = np.empty(n_items)
    chunk = max(1, int(_CHUNK_BYTES // (16 * (_nfft(n_t) // 2 + 1) * ndim)))
    for a in range(0, n_items, chunk):
        rows = _msd_rows(np.array(x[:, a:a + chunk].transpose(1, 2, 0), order="C",
                                  copy=True))
        total += rows.sum(axis=0)
        total_sq += np.einsum("mt,mt->t", rows, rows)
        d_items[a:a + rows.shape[0]] = (rows[:, lo:hi + 1] @ w) / (2.0 * ndim)
    mean = total / n_items
    if n_items > 1:
        var = np.maximum(total_sq / n_items - mean ** 2, 0.0) * n_items / (n_items - 1)
        msd_err = np.sqrt(var / n_items)
    else:
        msd_err = np.full(n_t, np.nan)
    fit_slope = float(w @ mean[mask])
    d = fit_slope / (2.0 * ndim)
    intercept = float(mean[mask].mean() - fit_slope * lag[mask].mean())

    method = error
    if method == "auto":
        method = "items" if n_items >= 2 else "blocks"
    if method == "items":
        if n_items < 2:
            raise ValueError("error='items' needs at least 2 items")
        d_err = float(d_items.std(ddof=1) / np.sqrt(n_items))
        err_text = (f"standard error of the mean of the {n_items} per-item D (same window); "
                    "items moving together (collective motion) make it an underestimate")
    elif method == "blocks":
        d_blocks = _block_d(x, lag, fit_window, n_blocks, ndim)
        d_err = float(d_blocks.std(ddof=1) / np.sqrt(d_blocks.size)) \
            if d_blocks.size > 1 else float("nan")
        err_text = f"standard error of D fitted in {d_blocks.size} consecutive time blocks"
    else:
        raise ValueError(f"unknown error method {error!r}; available: auto, items, blocks")
    slope_ll = _loglog_slope(lag[mask], mean[mask])

    rule = ("10 %–50 % of the trajectory length (default rule)" if default_window
            else "given by the caller")
    note = (f"D from a least-squares line MSD = 2·{ndim}·D·t + c over lag times "
            f"{window[0]:g}–{window[1]:g} ps ({rule}), MSD of {n_items} {kind} in "
            f"'{''.join('xyz'[a] for a in axes)}', unwrapped with the von Bülow–Bullerjahn–"
            f"Hummer scheme. D_err: {err_text}.{ref_note}")
    if not 0.8 <= slope_ll <= 1.2:
        note += (f" Warning: the log–log slope of the MSD in the window is {slope_ll:.2f}, "
                 "not ≈ 1: the motion is not diffusive there (sub-/super-diffusive or "
                 "too short a trajectory); D may be meaningless.")
    res = Results(
        times=lag, msd=mean, msd_err=msd_err, D=d, D_err=d_err,
        D_1e5_cm2_s=d * NM2_PER_PS_IN_CM2_PER_S * 1e5,
        D_err_1e5_cm2_s=d_err * NM2_PER_PS_IN_CM2_PER_S * 1e5,
        D_items=d_items, fit_window=window, intercept=intercept, loglog_slope=slope_ll,
        n_items=n_items, dims="".join("xyz"[a] for a in axes), ndim=ndim,
        error_method=method, note=note)
    if speedup is not None:
        s = float(speedup)
        if not s > 0:
            raise ValueError(f"speedup must be positive; got {speedup}")
        res.update(
            speedup=s, D_raw=d, D_raw_err=d_err, D_scaled=d / s, D_scaled_err=d_err / s,
            scaling_note=(
                f"D_scaled = D_raw / {s:g} is the conventional coarse-grained correction, "
                "not a measurement: CG dynamics is faster than all-atom dynamics because "
                "the smoothed energy landscape lacks the friction of the removed degrees "
                f"of freedom (for Martini a factor of about 4 is customary). D_raw is "
                "what this simulation produced; report both."))
    return res


def _block_d(x, lag, fit_window, n_blocks, ndim):
    n_t = x.shape[0]
    size = n_t // max(int(n_blocks), 1)
    if size < 4:
        return np.array([])
    out = []
    blag = lag[:size]
    for b in range(n_blocks):
        part = msd_fft(x[b * size:(b + 1) * size]).mean(axis=1)
        fw = fit_window
        if fw is not None and fw[1] > blag[-1]:
            fw = None
        mask, _, _ = _window_mask(blag, fw)
        out.append(float(_slope_weights(blag[mask]) @ part[mask]) / (2.0 * ndim))
    return np.array(out)


# --------------------------------------------------------------------------- Yeh–Hummer


def yeh_hummer_correction(D_pbc, box_L, T, viscosity):
    """Finite-size correction of a diffusion coefficient in a cubic periodic box.

    ``D_∞ = D_pbc + k_B T ξ / (6 π η L)`` with ξ = 2.837297 (I.-C. Yeh, G. Hummer,
    J. Phys. Chem. B 108, 15873 (2004)).

    Parameters
    ----------
    D_pbc : float or array_like [nm²/ps]
        Diffusion coefficient measured in the periodic box.
    box_L : float [nm]
        Edge of the cubic box (for a nearly cubic box, the cube root of the volume).
    T : float [K]
    viscosity : float [mPa·s] (= cP)
        Shear viscosity η of the solvent *of the model* (e.g. TIP3P ≈ 0.32 mPa·s,
        real water 0.89 mPa·s at 298 K). 1 mPa·s = 602.214 kJ mol⁻¹ nm⁻³ ps.

    Returns
    -------
    float or numpy.ndarray [nm²/ps]
        D_∞, the infinite-system estimate.
    """
    eta = float(viscosity) * _MPAS_IN_MD_UNITS                        # kJ mol⁻¹ nm⁻³ ps
    if not (eta > 0 and box_L > 0 and T > 0):
        raise ValueError("box_L, T and viscosity must be positive")
    correction = KB * float(T) * YEH_HUMMER_XI / (6.0 * np.pi * eta * float(box_L))
    if np.ndim(D_pbc):
        return np.asarray(D_pbc, dtype=np.float64) + correction
    return float(D_pbc) + correction


# --------------------------------------------------------------------------- VACF


def vacf(traj, velocities=None, particles=None, dims="xyz", integrate_to=None):
    """Velocity autocorrelation function and the Green–Kubo diffusion coefficient.

    ``C(τ) = ⟨v(t)·v(t+τ)⟩`` over all time origins and particles (FFT), and
    ``D = (1/d) ∫₀^τ_max C(τ) dτ`` (trapezoidal rule).

    Parameters
    ----------
    traj
        Anything :func:`as_trajectory` takes; its velocities are used unless
        ``velocities`` is given. Frames must be equally spaced and close enough in time
        to resolve the decay of C (velocities saved every step or few steps).
    velocities : array_like, shape (T, N, 3) [nm/ps], optional
    particles : array_like of int, optional
        Which particles (default all).
    dims : str
        ``"xyz"``, ``"xy"``, ``"z"``, …
    integrate_to : float [ps], optional
        Upper limit τ_max of the Green–Kubo integral. Default: half the trajectory
        length (the tail of C is noise).

    Returns
    -------
    Results
        times : (T,) lag [ps]; vacf : (T,) [nm²/ps²]; running_D : (T,) (1/d)∫₀^τ C
        [nm²/ps]; D [nm²/ps]; D_1e5_cm2_s; integrate_to [ps]; note.
    """
    tr = as_trajectory(traj, velocities=velocities)
    if tr.velocities is None:
        raise ValueError("vacf needs velocities: the trajectory has none; pass "
                         "velocities=(T, N, 3) array [nm/ps]")
    axes = _dims(dims)
    ndim = len(axes)
    lag = _lag_times(tr.times)
    v = tr.velocities if particles is None else tr.velocities[:, np.asarray(particles)]
    v = v[:, :, axes]
    n_t, n = v.shape[:2]
    total = np.zeros(n_t)
    chunk = max(1, int(_CHUNK_BYTES // (16 * (_nfft(n_t) // 2 + 1) * ndim)))
    for a in range(0, n, chunk):
        rows = np.ascontiguousarray(v[:, a:a + chunk].transpose(1, 2, 0))
        total += _autocorr_rows(rows).sum(axis=0)
    c = total / (n * (n_t - np.arange(n_t)))
    running = np.zeros(n_t)
    if n_t > 1:
        running[1:] = np.cumsum(0.5 * (c[1:] + c[:-1]) * np.diff(lag)) / ndim
    tmax = 0.5 * lag[-1] if integrate_to is None else float(integrate_to)
    k = int(np.searchsorted(lag, tmax + 1e-9 * max(lag[-1], 1.0)) - 1)
    k = min(max(k, 0), n_t - 1)
    d = float(running[k])
    return Results(times=lag, vacf=c, running_D=running, D=d,
                   D_1e5_cm2_s=d * NM2_PER_PS_IN_CM2_PER_S * 1e5,
                   integrate_to=float(lag[k]), ndim=ndim,
                   note=(f"Green–Kubo D = (1/{ndim})∫₀^{lag[k]:g} ps C(τ) dτ "
                         f"(trapezoidal rule), VACF of {n} particles over all time origins"))
