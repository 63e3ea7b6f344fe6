"""Potential of zero charge and double-layer capacitance from a σ sweep (issue #9).

Workflow (notes §8.3): run the cell at ≥ 5 surface charge densities σ (constant-charge
electrodes, +σ on the left electrode and −σ on the right), compute Φ(z) from all charges
of each trajectory, take the electrode drops ΔΦ = Φ(z_electrode) − ⟨Φ⟩_bulk with block
errors, and fit ΔΦ = m σ_electrode + b per electrode:

- the intercept b [V] is the potential of zero charge relative to the bulk;
- 1/m is the integral capacitance; with σ in e/nm² and ΔΦ in V,
  C [µF/cm²] = 16.0218 / m [V per e/nm²] (1 e/nm² = 16.0218 µC/cm²);
- the cell: 1/C_cell = 1/C_L + 1/C_R, and the cell voltage U = Φ(z_L) − Φ(z_R) =
  ΔΦ_L − ΔΦ_R is fitted against σ as well (that fit includes the correlation of the two
  electrodes' drops, which come from the same runs).

Sign convention: the sweep's σ is the *left* electrode's surface charge density; the
right electrode carries −σ and is fitted against σ_R = −σ, so that both capacitances are
positive. Units: σ in e/nm², Φ in V, z in nm.

>>> fit = fit_pzc([-0.6, -0.3, 0, 0.3, 0.6], [-0.9, -0.4, 0.1, 0.5, 1.1],
...               [0.05] * 5)                                      # doctest: +SKIP
>>> fit.pzc, fit.pzc_error, fit.capacitance, fit.capacitance_error  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from mdzoom.core.results import Results

from .profiles import (charge_density, potential_drop, potential_from_charges,
                       potential_from_density)

__all__ = ["fit_pzc", "series_capacitance", "capacitance_from_slope",
           "drops_from_trajectory", "pzc_sweep", "analyse_sweep", "plot_pzc",
           "UC_PER_CM2_PER_E_PER_NM2", "MIN_SWEEP_POINTS"]

#: 1 e/nm² in µC/cm² (1.602176634e-19 C / 1e-14 cm² = 16.02 µC/cm²).
UC_PER_CM2_PER_E_PER_NM2 = 16.02176634
#: The number of σ values the workflow asks for (notes §8.3); ``pzc_sweep`` refuses fewer.
MIN_SWEEP_POINTS = 5


# --------------------------------------------------------------------------- fitting


def capacitance_from_slope(m, m_error=0.0):
    """C [µF/cm²] = 16.0218 / m [V per e/nm²] and its propagated error |dC/dm| se_m."""
    m = float(m)
    if m == 0.0:
        return float("inf"), float("inf")
    c = UC_PER_CM2_PER_E_PER_NM2 / m
    return c, abs(c / m) * float(m_error)


def fit_pzc(sigma, delta_phi, error=None, *, scale_covariance=None) -> Results:
    """Weighted least-squares line ΔΦ = m σ + b, the PZC and the integral capacitance.

    Parameters
    ----------
    sigma : (n,) [e/nm²]       surface charge density of the electrode
    delta_phi : (n,) [V]       its potential drop Φ(z_electrode) − ⟨Φ⟩_bulk
    error : (n,) [V] or None   standard errors of ``delta_phi``; weights 1/error²
    scale_covariance : bool | None
        False: the covariance is (XᵀWX)⁻¹, i.e. the errors are taken as absolute
        (the weighted case's default). True: it is multiplied by the reduced χ²
        (residual variance). None: True when ``error`` is missing, all equal, or not
        all finite and positive (then the fit is ordinary least squares with the
        residual variance s² = RSS/(n − 2)), else False.

    Needs n ≥ 3 points (2 parameters plus one degree of freedom).

    Returns Results: ``m`` [V per e/nm²], ``m_error``, ``b`` [V], ``b_error``, ``cov``
    (2×2, order m, b), ``pzc`` = b, ``pzc_error``, ``capacitance`` = 16.0218/m
    [µF/cm²], ``capacitance_error`` (propagated from se_m), ``chi2`` (weighted; with OLS
    the RSS), ``dof`` = n − 2, ``reduced_chi2``, ``weighted`` (bool), ``scaled`` (bool:
    whether the covariance was scaled by the reduced χ²), ``residuals``, and the inputs
    ``sigma``, ``delta_phi``, ``error``.
    """
    x = np.asarray(sigma, dtype=np.float64).ravel()
    y = np.asarray(delta_phi, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"{x.size} σ values but {y.size} potential drops")
    n = x.size
    if n < 3:
        raise ValueError(f"fit_pzc needs at least 3 points (2 parameters + 1 degree of "
                         f"freedom); got {n}")
    if np.ptp(x) == 0:
        raise ValueError("all σ values are equal: the slope is undetermined")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("σ and ΔΦ must be finite")
    e = None if error is None else np.asarray(error, dtype=np.float64).ravel()
    if e is not None and e.shape != x.shape:
        raise ValueError(f"{x.size} points but {e.size} errors")
    usable = (e is not None and np.all(np.isfinite(e)) and np.all(e > 0)
              and not np.allclose(e, e[0], rtol=1e-12, atol=0.0))
    w = 1.0 / e ** 2 if usable else np.ones(n)
    X = np.column_stack([x, np.ones(n)])
    A = X.T @ (w[:, None] * X)
    cov = np.linalg.inv(A)
    m, b = cov @ (X.T @ (w * y))
    resid = y - (m * x + b)
    chi2 = float(np.sum(w * resid ** 2))
    dof = n - 2
    red = chi2 / dof
    scaled = (not usable) if scale_covariance is None else bool(scale_covariance)
    if scaled:
        cov = cov * red
    m_err, b_err = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
    c, c_err = capacitance_from_slope(m, m_err)
    k = 1.0 if scaled else float(np.sqrt(red))      # the errors scaled by √χ²_red
    if m <= 0:
        warnings.warn(f"slope {m:.4g} V nm²/e ≤ 0: no positive capacitance (a sign or "
                      "units problem, or too much noise)", stacklevel=2)
    return Results(m=float(m), m_error=m_err, b=float(b), b_error=b_err, cov=cov,
                   pzc=float(b), pzc_error=b_err, capacitance=c, capacitance_error=c_err,
                   chi2=chi2, dof=dof, reduced_chi2=red, weighted=bool(usable),
                   scaled=scaled, m_error_scaled=k * m_err, pzc_error_scaled=k * b_err,
                   capacitance_error_scaled=k * c_err, residuals=resid, sigma=x, delta_phi=y,
                   error=e if e is not None else np.full(n, np.nan), n=n)


def series_capacitance(c_left, c_right, err_left=0.0, err_right=0.0):
    """The cell's capacitance 1/C = 1/C_L + 1/C_R (any unit, e.g. µF/cm²) and its error
    propagated from independent errors: se_C = C² √((se_L/C_L²)² + (se_R/C_R²)²)."""
    cl, cr = float(c_left), float(c_right)
    c = 1.0 / (1.0 / cl + 1.0 / cr)
    err = c * c * np.hypot(float(err_left) / cl ** 2, float(err_right) / cr ** 2)
    return c, float(err)


# --------------------------------------------------------------------------- trajectories


def _block_error(values, n_blocks):
    """Standard error of the mean of per-frame ``values`` over contiguous blocks."""
    v = np.asarray(values, dtype=np.float64)
    nb = min(int(n_blocks), v.size)
    if nb < 2:
        return float("nan")
    means = np.array([blk.mean() for blk in np.array_split(v, nb)])
    return float(means.std(ddof=1) / np.sqrt(nb))


def drops_from_trajectory(h5md_path, charges, left_z, right_z, bulk_range, *,
                          bin_width=0.005, n_blocks=5, discard=0, method="charges",
                          z_range=None, group="all") -> Results:
    """Electrode potential drops of one trajectory (H5MD), with block errors.

    Parameters
    ----------
    h5md_path : path            trajectory with a box (positions not wrapped across the gap)
    charges : (N,) [e]          every charge: electrolyte and electrode atoms
    left_z, right_z : [nm]      planes of the charged atoms of the two electrodes
    bulk_range : (lo, hi) [nm]  the flat bulk region of the electrolyte
    bin_width : [nm]            grid spacing of Φ(z) (histogram bins for "histogram")
    n_blocks : int              blocks of contiguous frames for the errors
    discard : int               frames dropped at the start (equilibration)
    method : "charges" | "histogram"
        "charges": Φ(z) = −(1/(2ε₀A)) Σ qᵢ|z − zᵢ| per frame (no binning error; a
        neutral cell); "histogram": ρ(z) per frame integrated twice with a vacuum
        boundary at the bottom of ``z_range``.
    z_range : (lo, hi) [nm]     default (0, L_z) of the first frame

    Returns Results: ``z`` (B,), ``phi`` (B,) mean profile with ⟨Φ⟩_bulk = 0 [V],
    ``phi_frames`` (T, B), ``left``/``right`` (``potential_drop`` Results: ``delta``,
    ``error``, …), ``delta_left``, ``error_left``, ``delta_right``, ``error_right``,
    ``voltage`` = Φ(z_L) − Φ(z_R) = ΔΦ_L − ΔΦ_R [V] and ``voltage_error`` (blocks of the
    same frames, so the correlation of the two drops is included), ``n_frames``,
    ``net_charge``.
    """
    from mdzoom.core.io.h5md import read_h5md

    traj = read_h5md(h5md_path, group=group)
    pos = traj.positions[int(discard):]
    if pos.shape[0] < 1:
        raise ValueError(f"{os.fspath(h5md_path)}: no frame left after discarding "
                         f"{discard} of {traj.n_frames}")
    if traj.boxes is None:
        raise ValueError(f"{os.fspath(h5md_path)} has no box: the lateral area is unknown")
    boxes = traj.boxes[int(discard):]
    q = np.asarray(charges, dtype=np.float64)
    if q.shape != (pos.shape[1],):
        raise ValueError(f"{os.fspath(h5md_path)} has {pos.shape[1]} particles but "
                         f"{q.size} charges were given")
    net = float(q.sum())
    if abs(net) > 1e-6 * max(1.0, float(np.abs(q).sum())):
        warnings.warn(f"the cell is not neutral (net charge {net:.6g} e): Φ(z) of a "
                      "non-neutral slab depends on the boundary condition", stacklevel=2)
    lo, hi = z_range if z_range is not None else (0.0, float(boxes[0][2, 2]))
    nb = max(1, int(round((hi - lo) / bin_width)))
    z = np.linspace(lo, hi, nb + 1)
    phi = np.empty((pos.shape[0], z.size))
    for t in range(pos.shape[0]):
        if method == "charges":
            phi[t] = potential_from_charges(z, pos[t], q, boxes[t])[0]
        elif method == "histogram":
            rho = charge_density(pos[t], q, boxes[t], bin_width=bin_width, z_range=(lo, hi))
            phi[t] = potential_from_density(rho.edges, rho.rho, boundary="vacuum")
        else:
            raise ValueError(f"method {method!r}: use 'charges' or 'histogram'")
    left = potential_drop(z, phi, left_z, bulk_range, n_blocks=n_blocks)
    right = potential_drop(z, phi, right_z, bulk_range, n_blocks=n_blocks)
    u_frames = np.array([np.interp(left_z, z, p) - np.interp(right_z, z, p) for p in phi])
    bulk = (z >= bulk_range[0]) & (z <= bulk_range[1])
    mean = phi.mean(axis=0)
    return Results(z=z, phi=mean - mean[bulk].mean(), phi_frames=phi, left=left,
                   right=right, delta_left=left.delta, error_left=left.error,
                   delta_right=right.delta, error_right=right.error,
                   voltage=float(u_frames.mean()),
                   voltage_error=_block_error(u_frames, n_blocks), n_frames=pos.shape[0],
                   net_charge=net, method=method, left_z=float(left_z),
                   right_z=float(right_z), bulk_range=tuple(map(float, bulk_range)))


# --------------------------------------------------------------------------- sweep driver


def _member_for(sigma, made):
    from mdzoom.core.ensemble import Member

    if isinstance(made, Member):
        return made
    return Member(f"sigma{sigma:+.4f}", made)


def _member_charges(member, seed):
    """The charges of a member's system, built from its config (as the run built it)."""
    from mdzoom.core.config import build_system
    from mdzoom.core.ensemble import build_member_config

    cfg = build_member_config(member, seed)
    return np.asarray(build_system(cfg).system.topology.charges, dtype=np.float64)


def analyse_sweep(sigmas, drops, *, names=None, min_points=3) -> Results:
    """Fit both electrodes and the cell from per-σ ``drops_from_trajectory`` Results.

    Returns Results: ``sigma``, ``names``, ``drops`` (the per-σ Results), ``left``,
    ``right``, ``cell`` (``fit_pzc`` Results; the right electrode against σ_R = −σ, the
    cell voltage U against σ, so ``cell.capacitance`` is the cell's C including the
    correlation of the drops), ``series`` = (C, error) from 1/C_L + 1/C_R with
    independent errors, ``z``, ``profiles`` (n, B) mean Φ(z) with ⟨Φ⟩_bulk = 0 (when all
    grids agree).
    """
    s = np.asarray(sigmas, dtype=np.float64)
    if len(drops) != s.size:
        raise ValueError(f"{s.size} σ values but {len(drops)} analyses")
    if s.size < min_points:
        raise ValueError(f"{s.size} σ values; at least {min_points} are needed")
    dl = np.array([d.delta_left for d in drops])
    dr = np.array([d.delta_right for d in drops])
    el = np.array([d.error_left for d in drops])
    er = np.array([d.error_right for d in drops])
    u = np.array([d.voltage for d in drops])
    eu = np.array([d.voltage_error for d in drops])
    left = fit_pzc(s, dl, el)
    right = fit_pzc(-s, dr, er)
    cell = fit_pzc(s, u, eu)
    series = series_capacitance(left.capacitance, right.capacitance,
                                left.capacitance_error, right.capacitance_error)
    same_grid = all(d.z.shape == drops[0].z.shape and np.allclose(d.z, drops[0].z)
                    for d in drops)
    profiles = np.array([d.phi for d in drops]) if same_grid else None
    return Results(sigma=s, names=list(names) if names is not None else None,
                   drops=list(drops), delta_left=dl, error_left=el, delta_right=dr,
                   error_right=er, voltage=u, voltage_error=eu, left=left, right=right,
                   cell=cell, series=series, z=drops[0].z if same_grid else None,
                   profiles=profiles)


def pzc_sweep(sigmas, make_member, out_dir, *, left_z, right_z, bulk_range, charges=None,
              bin_width=0.005, n_blocks=5, discard=0, method="charges", executor=None,
              workers=None, resume=True, base_seed=0, threads_per_member=1, progress=None,
              min_points=MIN_SWEEP_POINTS, allow_errors=False) -> Results:
    """Run one ensemble member per σ, then fit the PZC and capacitances of both electrodes.

    Parameters
    ----------
    sigmas : list of float [e/nm²]   the left electrode's σ (the right one carries −σ);
                                     at least ``min_points`` (default 5, notes §8.3)
    make_member : callable σ -> Member (or a run config: TOML path, dict, RunConfig;
                                     then the member is named ``sigma+0.3120``). Building
                                     the cell is the caller's business.
    out_dir : path                   members run in ``out_dir/<name>`` (``run_ensemble``)
    left_z, right_z, bulk_range, bin_width, n_blocks, discard, method :
                                     see ``drops_from_trajectory``
    charges : (N,) [e] or callable σ -> (N,), optional
                                     default: the topology charges of each member's
                                     built system (build_member_config + build_system)
    executor : Executor, optional    e.g. a Dask ``client.get_executor()``; default a local
                                     process pool of ``workers`` processes
    resume, base_seed, threads_per_member, progress, allow_errors : ``run_ensemble``'s

    Resumable: members with ``done.json`` are not rerun (finished σ values are reused,
    interrupted ones continue from their checkpoint). Failed members are left out of the
    fit (``failed`` lists them); fewer than 3 successful ones raise RuntimeError.

    Returns ``analyse_sweep``'s Results plus ``ensemble`` (the ``EnsembleResult``),
    ``failed`` (list of (σ, name, error)), ``out_dir``.
    """
    from mdzoom.core.config import TRAJECTORY
    from mdzoom.core.ensemble import run_ensemble

    s = [float(v) for v in sigmas]
    if len(set(s)) != len(s):
        raise ValueError(f"repeated σ values in {s}")
    if len(s) < min_points:
        raise ValueError(f"a PZC sweep needs at least {min_points} σ values (notes §8.3: "
                         f"≥ 5 charge densities); got {len(s)}. Pass min_points=3 to fit "
                         "fewer anyway.")
    if len(s) < MIN_SWEEP_POINTS:
        warnings.warn(f"only {len(s)} σ values: the workflow asks for at least "
                      f"{MIN_SWEEP_POINTS}", stacklevel=2)
    members = [_member_for(v, make_member(v)) for v in s]
    out_dir = Path(out_dir)
    ens = run_ensemble(members, executor, out_dir=out_dir, resume=resume,
                       base_seed=base_seed, workers=workers,
                       threads_per_member=threads_per_member, progress=progress,
                       allow_errors=allow_errors)
    ok_s, drops, names, failed = [], [], [], []
    for sigma, member, row in zip(s, members, ens.rows):
        if row["status"] != "done":
            failed.append((sigma, member.name, row.get("error")))
            continue
        try:
            if charges is None:
                q = _member_charges(member, row["seed"])
            elif callable(charges):
                q = charges(sigma)
            else:
                q = charges
            d = drops_from_trajectory(Path(row["out_dir"]) / TRAJECTORY, q, left_z,
                                      right_z, bulk_range, bin_width=bin_width,
                                      n_blocks=n_blocks, discard=discard, method=method)
        except Exception as exc:  # noqa: BLE001 - reported, the other σ values go on
            failed.append((sigma, member.name, f"analysis: {type(exc).__name__}: {exc}"))
            continue
        ok_s.append(sigma)
        drops.append(d)
        names.append(member.name)
    if len(ok_s) < 3:
        msg = "; ".join(f"{n} (σ = {v:g}): {e}" for v, n, e in failed)
        raise RuntimeError(f"only {len(ok_s)} of {len(s)} σ values finished, a fit needs 3. "
                           f"Failed: {msg}")
    if failed:
        warnings.warn(f"{len(failed)} σ value(s) failed and are left out of the fit: "
                      + ", ".join(n for _, n, _ in failed), stacklevel=2)
    res = analyse_sweep(ok_s, drops, names=names)
    res.update(ensemble=ens, failed=failed, out_dir=os.fspath(out_dir))
    return res


# --------------------------------------------------------------------------- output


def _pm(value, error, signed=False):
    """``value ± error`` with the value rounded to the error's second significant digit."""
    v, e = float(value), float(error)
    if not np.isfinite(e) or e <= 0:
        return f"{v:{'+' if signed else ''}.4g} ± {e:.2g}"
    dec = max(0, 1 - int(np.floor(np.log10(e))))
    return f"{v:{'+' if signed else ''}.{dec}f} ± {e:.{dec}f}"


def summary_lines(res) -> list:
    """Human-readable lines: PZC ± err [V], C ± err [µF/cm²] per electrode and the cell."""
    out = []
    for label, f in (("left electrode ", res.left), ("right electrode", res.right)):
        out.append(f"{label}: PZC = {_pm(f.pzc, f.pzc_error, True)} V, "
                   f"C = {_pm(f.capacitance, f.capacitance_error)} µF/cm² "
                   f"(slope {_pm(f.m, f.m_error)} V nm²/e, χ²/dof = {f.reduced_chi2:.3g})")
    c = res.cell
    out.append(f"cell           : U(σ=0) = {_pm(c.b, c.b_error, True)} V, "
               f"C = {_pm(c.capacitance, c.capacitance_error)} µF/cm² "
               f"(series 1/C_L + 1/C_R: {_pm(*res.series)})")
    worst = max(res.left.reduced_chi2, res.right.reduced_chi2, c.reduced_chi2)
    if any(f.weighted and not f.scaled for f in (res.left, res.right, c)) and worst > 3:
        out.append(f"note: χ²/dof up to {worst:.3g} ≫ 1: the block errors look too small "
                   "(longer runs or fewer blocks); errors scaled by √(χ²/dof) are in "
                   "pzc.json (*_scaled)")
    return out


def to_json(res) -> dict:
    """A JSON-ready dict of a sweep's fits and drops (what ``mdzoom pzc`` writes)."""
    def fit(f):
        return {"pzc_V": f.pzc, "pzc_error_V": f.pzc_error, "slope_V_nm2_per_e": f.m,
                "slope_error": f.m_error, "capacitance_uF_cm2": f.capacitance,
                "capacitance_error_uF_cm2": f.capacitance_error, "chi2": f.chi2,
                "dof": f.dof, "reduced_chi2": f.reduced_chi2, "weighted": f.weighted,
                "covariance_scaled_by_reduced_chi2": f.scaled,
                "pzc_error_scaled_V": f.pzc_error_scaled,
                "capacitance_error_scaled_uF_cm2": f.capacitance_error_scaled}

    def num(v):
        v = float(v)
        return v if np.isfinite(v) else None

    return {
        "units": {"sigma": "e/nm^2", "potential": "V", "capacitance": "uF/cm^2"},
        "convention": "sigma is the left electrode's charge density; the right carries "
                      "-sigma and is fitted against -sigma; U = Phi(z_L) - Phi(z_R)",
        "left": fit(res.left), "right": fit(res.right), "cell": fit(res.cell),
        "series_capacitance_uF_cm2": [num(res.series[0]), num(res.series[1])],
        "points": [{"sigma": float(s), "name": (res.names or [None] * len(res.sigma))[k],
                    "delta_left_V": num(res.delta_left[k]),
                    "error_left_V": num(res.error_left[k]),
                    "delta_right_V": num(res.delta_right[k]),
                    "error_right_V": num(res.error_right[k]),
                    "voltage_V": num(res.voltage[k]),
                    "voltage_error_V": num(res.voltage_error[k]),
                    "n_frames": int(res.drops[k].n_frames)}
                   for k, s in enumerate(res.sigma)],
        "failed": [{"sigma": v, "name": n, "error": e}
                   for v, n, e in res.get("failed", [])],
    }


def plot_pzc(res, png, dpi=110):
    """Two panels: Φ(z) for each σ (coloured by σ, ⟨Φ⟩_bulk = 0), and ΔΦ vs σ_electrode
    with error bars and the fitted lines of both electrodes (PZC and C in the legend).
    Returns ``png``."""
    import matplotlib
    from matplotlib import cm, colors
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11.0, 4.4))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    s = np.asarray(res.sigma)
    lim = max(float(np.abs(s).max()), 1e-12)
    norm = colors.Normalize(-lim, lim)
    cmap = matplotlib.colormaps["coolwarm"]
    for k, d in enumerate(res.drops):
        ax1.plot(d.z, d.phi, color=cmap(norm(s[k])), lw=1.0)
    d0 = res.drops[0]
    for zz in (d0.left_z, d0.right_z):
        ax1.axvline(zz, color="0.5", lw=0.8, ls=":")
    ax1.axvspan(*d0.bulk_range, color="0.9", lw=0)
    sm = cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax1, label="σ (left electrode) [e/nm²]")
    ax1.set_xlabel("z [nm]")
    ax1.set_ylabel("Φ(z) − ⟨Φ⟩_bulk [V]")
    ax1.set_title("potential profiles")
    xs = np.linspace(min(s.min(), -s.max()), max(s.max(), -s.min()), 50)
    for f, sx, y, e, c, label in ((res.left, s, res.delta_left, res.error_left, "C0",
                                   "left"),
                                  (res.right, -s, res.delta_right, res.error_right, "C3",
                                   "right")):
        ax2.errorbar(sx, y, yerr=np.nan_to_num(e), fmt="o", color=c, capsize=3)
        ax2.plot(xs, f.m * xs + f.b, color=c,
                 label=f"{label}: PZC {_pm(f.pzc, f.pzc_error, True)} V, "
                       f"C {_pm(f.capacitance, f.capacitance_error)} µF/cm²")
    ax2.axhline(0.0, color="0.7", lw=0.8)
    ax2.axvline(0.0, color="0.7", lw=0.8)
    ax2.set_xlabel("σ of the electrode [e/nm²]")
    ax2.set_ylabel("ΔΦ = Φ(z_el) − ⟨Φ⟩_bulk [V]")
    ax2.set_title(f"cell: C = {_pm(res.cell.capacitance, res.cell.capacitance_error)} "
                  "µF/cm²")
    ax2.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=dpi)
    return png
