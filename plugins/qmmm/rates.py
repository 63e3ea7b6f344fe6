"""Rate constants from a potential of mean force: transition-state theory and Kramers.

Transition-state theory along a reaction coordinate ξ (Frenkel & Smit ch. 16; notes §7)::

    k_TST = ⟨|ξ̇|⟩‡ / 2 · exp(−βW(ξ‡)) / ∫_R exp(−βW(ξ)) dξ

- ``W(ξ) = −kT ln P(ξ)`` is the **uncorrected** PMF: the free energy of the probability
  *density* of ξ, without any Jacobian correction (no ``+2kT ln r`` for a distance, no
  ``+kT ln sin θ`` for an angle). The ratio ``exp(−βW‡)/∫_R exp(−βW)`` is then exactly the
  probability density of ξ at ξ‡ given the reactant state. A Jacobian-corrected PMF
  (``mdzoom.core.analysis.pmf_from_histogram(..., jacobian=True)`` labels it with
  ``jacobian != "none"``) would count the phase-space volume twice; such input is refused,
  and a ``pmf_from_histogram`` result is read through its ``F_uncorrected`` column.
- ``⟨|ξ̇|⟩‡ = sqrt(2kT/(πμ))`` for a Cartesian-like coordinate of effective mass μ [amu];
  for a general coordinate ``⟨|ξ̇|⟩‡ = sqrt(2kT/π) ⟨Z^½⟩‡`` with
  ``Z = Σ_i |∇_i ξ|² / m_i`` [amu⁻¹ (nm/nm)²] averaged over configurations at the dividing
  surface (``mean_sqrt_z``).
- R is the reactant range (lo, hi) of ξ; the product is what lies beyond ξ‡.

The true rate is ``k = κ · k_TST`` with the transmission coefficient κ ∈ (0, 1] from
Bennett–Chandler reactive flux (``mdzoom.plugins.qmmm.reactive_flux``).

Units: ξ in nm (or rad), W in kJ/mol, T in K, masses in amu, rates in 1/ps
(kJ/mol = amu nm² ps⁻², so sqrt(kT/μ) is in nm/ps).

Kramers' rate (``kramers_rate``) for a 1D barrier with curvature ω_b = sqrt(|W''(ξ‡)|/μ)
and Langevin friction γ [1/ps] (Kramers 1940; Hänggi, Talkner & Borkovec, Rev. Mod. Phys.
62, 251 (1990), eqs. 4.5a/4.5b)::

    κ_Kramers = sqrt(1 + (γ/2ω_b)²) − γ/(2ω_b)        (moderate-to-high friction)
    κ_Kramers ≈ ω_b/γ                                 (high-friction limit, γ ≫ ω_b)
    k = κ_Kramers · k_TST,  k_TST ≈ ω_a/(2π) exp(−βΔW‡) (harmonic well of frequency ω_a)

Kramers' spatial-diffusion formula holds for a high barrier (it is asymptotic in kT/ΔW‡)
and for friction large enough that energy diffusion in the well is not rate limiting
(γ ≳ ω_b kT/ΔW‡); below that the rate falls under it (the Kramers turnover).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mdzoom.core.results import Results
from mdzoom.core.units import KB

__all__ = ["tst_rate", "tst_analysis", "mean_abs_velocity", "mean_sqrt_z", "kramers_kappa",
           "kramers_rate", "read_pmf"]


# --------------------------------------------------------------------------- input
def _no_jacobian(label) -> bool:
    if label is None or label is False:
        return True
    return isinstance(label, str) and label.strip().lower() in ("", "none", "false", "no")


def read_pmf(xi, W=None, dW=None):
    """Normalise PMF input to ``(xi, W, dW, T)`` arrays (T None when not given).

    ``xi`` may be an array (then ``W`` [kJ/mol] is required and ``dW`` optional) or a
    mapping / ``Results``:

    - a ``pmf_from_histogram`` result (keys ``x``, ``F``, ``F_uncorrected``, ``F_err``,
      ``jacobian``, ``T``): ``F_uncorrected`` is used, with ``F_err`` as its error (a
      per-bin error that the Jacobian, a constant per bin, does not change);
    - a mapping with ``xi`` (or ``x``), ``W`` (or ``F``) and optionally ``dW`` (or
      ``F_err``), ``jacobian`` and ``T``: refused when ``jacobian`` says a correction was
      applied to W.

    Non-finite W (empty bins) are kept as +inf (zero weight).
    """
    T = None
    if isinstance(xi, Mapping):
        d = xi
        if W is not None:
            raise ValueError("give the PMF either as a mapping/Results or as xi and W arrays, "
                             "not both")
        if "xi" in d:
            x = d["xi"]
        elif "x" in d:
            x = d["x"]
        else:
            raise ValueError(f"PMF mapping has no 'xi' (or 'x') column; keys: {', '.join(d)}")
        jac = d.get("jacobian")
        if "F_uncorrected" in d and d["F_uncorrected"] is not None:
            W = d["F_uncorrected"]          # −kT ln P, whatever F was corrected by
            dW = d.get("F_err") if dW is None else dW
        else:
            if "W" in d:
                W = d["W"]
                dW = d.get("dW") if dW is None else dW
            elif "F" in d:
                W = d["F"]
                dW = d.get("F_err") if dW is None else dW
            else:
                raise ValueError("PMF mapping has no 'W' (or 'F', 'F_uncorrected') column; "
                                 f"keys: {', '.join(d)}")
            if not _no_jacobian(jac):
                raise ValueError(
                    f"this PMF was Jacobian-corrected (jacobian: {jac!r}); TST needs the "
                    "uncorrected W = −kT ln P(ξ) (e.g. pmf_from_histogram(...)"
                    ".F_uncorrected, or jacobian=False); never correct twice")
        T = d.get("T")
    else:
        x = xi
        if W is None:
            raise ValueError("W [kJ/mol] is required when xi is an array")
    x = np.asarray(x, dtype=np.float64).ravel()
    w = np.asarray(W, dtype=np.float64).ravel()
    if x.shape != w.shape:
        raise ValueError(f"xi {x.shape} and W {w.shape} must have the same length")
    if x.size < 3:
        raise ValueError(f"a PMF needs at least 3 points; got {x.size}")
    if np.any(np.isnan(x)) or np.any(np.isnan(w)):
        raise ValueError("xi and W must not contain NaN (use +inf for empty bins)")
    if np.any(np.diff(x) <= 0):
        raise ValueError("xi must be strictly increasing")
    w = np.where(np.isfinite(w), w, np.inf)
    if dW is not None:
        dW = np.asarray(dW, dtype=np.float64).ravel()
        if dW.shape != x.shape:
            raise ValueError(f"dW {dW.shape} must match xi {x.shape}")
        # empty bins (W = +inf) carry no error; an infinite dW on a sampled bin stays
        # infinite (the error is unknown there), so it is not understated
        dW = np.where(np.isfinite(w), np.nan_to_num(dW, nan=np.inf), 0.0)
        if np.any(dW < 0):
            raise ValueError("dW must be non-negative")
    return x, w, dW, (None if T is None else float(T))


# --------------------------------------------------------------------------- ⟨|ξ̇|⟩
def mean_abs_velocity(temperature, *, mass=None, z_mean_sqrt=None) -> float:
    """⟨|ξ̇|⟩ at the dividing surface [nm/ps (rad/ps)]: ``sqrt(2kT/(πμ))`` for a
    Cartesian-like coordinate of effective mass ``mass`` μ [amu], or
    ``sqrt(2kT/π)·⟨Z^½⟩`` given ``z_mean_sqrt`` = ⟨Z^½⟩ [amu^-½] (``mean_sqrt_z``).
    Exactly one of the two must be given."""
    if (mass is None) == (z_mean_sqrt is None):
        raise ValueError("give exactly one of mass [amu] (Cartesian-like coordinate) or "
                         "z_mean_sqrt = <Z^1/2> [amu^-1/2] (general coordinate)")
    kT = _kT(temperature)
    if mass is not None:
        mass = float(mass)
        if not np.isfinite(mass) or mass <= 0:
            raise ValueError(f"mass must be positive [amu]; got {mass!r}")
        return float(np.sqrt(2.0 * kT / (np.pi * mass)))
    z = float(z_mean_sqrt)
    if not np.isfinite(z) or z <= 0:
        raise ValueError(f"z_mean_sqrt must be positive [amu^-1/2]; got {z_mean_sqrt!r}")
    return float(np.sqrt(2.0 * kT / np.pi) * z)


def mean_sqrt_z(configs, cv, masses, box=None, weights=None):
    """⟨Z^½⟩ over configurations at the dividing surface, with its standard error.

    Parameters
    ----------
    configs : array_like (M, N, 3) [nm]
    cv : object with ``gradient(positions, box) -> (value, grad (N, 3))``
    masses : array_like (N,) [amu]
    box : (3, 3) [nm], optional   passed to the CV as is (None for non-periodic CVs)
    weights : array_like (M,), optional   e.g. blue-moon weights Z^-½ of constrained runs

    Returns
    -------
    (mean, sem) : floats [amu^-½]; ``Z = Σ_i |∇_i ξ|² / m_i``.
    """
    X = np.asarray(configs, dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    m = np.asarray(masses, dtype=np.float64).ravel()
    if X.ndim != 3 or X.shape[2] != 3 or X.shape[1] != m.size:
        raise ValueError(f"configs must be (M, N, 3) with N = {m.size} masses; got {X.shape}")
    if np.any(m <= 0):
        raise ValueError("masses must be positive")
    zs = np.empty(X.shape[0])
    for i, x in enumerate(X):
        _, g = cv.gradient(x, box)
        g = np.asarray(g, dtype=np.float64)
        zs[i] = np.sqrt(np.sum(np.sum(g * g, axis=1) / m))
    w = np.ones_like(zs) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != zs.shape or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be non-negative, one per configuration")
    w = w / w.sum()
    mean = float(np.sum(w * zs))
    n_eff = 1.0 / np.sum(w * w)
    var = float(np.sum(w * (zs - mean) ** 2))
    sem = float(np.sqrt(var / max(n_eff - 1.0, 1.0))) if zs.size > 1 else 0.0
    return mean, sem


# --------------------------------------------------------------------------- TST
def _kT(temperature) -> float:
    if temperature is None:
        raise ValueError("temperature [K] is required")
    t = float(temperature)
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"temperature must be positive [K]; got {temperature!r}")
    return KB * t


def _reactant_mask(x, reactant):
    if reactant is None:
        raise ValueError("reactant=(lo, hi) [units of ξ] is required")
    lo, hi = map(float, reactant)
    if not hi > lo:
        raise ValueError(f"reactant range must have lo < hi; got {reactant!r}")
    sel = (x >= lo) & (x <= hi)
    if sel.sum() < 2:
        raise ValueError(f"the reactant range {lo:g}…{hi:g} holds fewer than 2 PMF points "
                         f"(ξ spans {x[0]:g}…{x[-1]:g})")
    return lo, hi, sel


def _locate_barrier(x, w, lo, hi, sel, barrier):
    """(ξ‡, index or None, W‡) — the given ξ‡ (W interpolated), or the highest W from the
    end of the reactant range (included) to the product minimum (the lowest W outside
    the range), which must be a local maximum."""
    if barrier is not None:
        b = float(barrier)
        if not x[0] <= b <= x[-1]:
            raise ValueError(f"barrier ξ‡ = {b:g} lies outside the PMF ({x[0]:g}…{x[-1]:g})")
        if lo < b < hi:
            raise ValueError(f"barrier ξ‡ = {b:g} lies inside the reactant range "
                             f"{lo:g}…{hi:g}")
        fin = np.isfinite(w)
        return b, None, float(np.interp(b, x[fin], w[fin]))
    out = ~sel & np.isfinite(w)
    if not out.any():
        raise ValueError("no PMF points outside the reactant range: give barrier=ξ‡")
    idx_out = np.nonzero(out)[0]
    j_prod = int(idx_out[np.argmin(w[idx_out])])
    if x[j_prod] > hi:
        between = np.nonzero((x >= hi) & (x <= x[j_prod]) & np.isfinite(w))[0]
    else:
        between = np.nonzero((x <= lo) & (x >= x[j_prod]) & np.isfinite(w))[0]
    j = int(between[np.argmax(w[between])])
    if j == j_prod or j in (0, x.size - 1) or w[j] < w[j - 1] or w[j] < w[j + 1]:
        raise ValueError("no barrier (local maximum of W) between the reactant range and "
                         f"the product minimum (highest point at ξ = {x[j]:g}): give "
                         "barrier=ξ‡, a reactant range that ends before the barrier, or a "
                         "wider PMF")
    return float(x[j]), j, float(w[j])


def _trapezoid_weights(x, sel):
    """Trapezoid weights over the points of ``sel`` (a contiguous run of grid points)."""
    idx = np.nonzero(sel)[0]
    wts = np.zeros(x.size)
    dx = np.diff(x[idx])
    wts[idx[:-1]] += 0.5 * dx
    wts[idx[1:]] += 0.5 * dx
    return wts


def _log_k(x, w, kT, lo, hi, sel, barrier, vbar):
    b, j, wb = _locate_barrier(x, w, lo, hi, sel, barrier)
    tw = _trapezoid_weights(x, sel)
    wmin = float(np.min(w[sel]))
    with np.errstate(over="ignore"):
        boltz = np.where(sel & np.isfinite(w), np.exp(-(w - wmin) / kT), 0.0)
    integral = float(np.sum(tw * boltz))            # [units of ξ] × exp(βW_min)
    if not integral > 0:
        raise ValueError("the reactant range has no finite PMF points")
    ln_k = np.log(0.5 * vbar) - (wb - wmin) / kT - np.log(integral)
    return float(ln_k), b, j, wb, wmin, integral, tw * boltz / integral


def tst_analysis(xi, W=None, temperature=None, *, dW=None, barrier=None, reactant=None,
                 mass=None, z_mean_sqrt=None, error="propagate", n_bootstrap=1000,
                 seed=0) -> Results:
    """Transition-state-theory rate from a PMF, with the barrier height and an error bar.

    Parameters
    ----------
    xi : array_like (B,) [nm or rad], or a PMF mapping / ``Results`` (see ``read_pmf``)
    W : array_like (B,) [kJ/mol]   the *uncorrected* PMF −kT ln P(ξ) (no Jacobian)
    temperature : float [K]   (taken from the PMF result's ``T`` when omitted)
    dW : array_like (B,) [kJ/mol], optional   per-point standard error of W
    barrier : float, optional   ξ‡; default the highest W between the reactant range and
        the product minimum (the lowest W outside the range), on the PMF grid
    reactant : (lo, hi)   the reactant range of ξ, integrated by the trapezoid rule
    mass : float [amu]   effective mass of a Cartesian-like ξ, or
    z_mean_sqrt : float [amu^-½]   ⟨Z^½⟩‡ of a general ξ (``mean_sqrt_z``)
    error : {"propagate", "bootstrap"}
        How dW becomes the error of k: first-order propagation treating the points'
        errors as independent, ``σ²(ln k) = Σ_i (∂ln k/∂W_i)² σ_i²`` with
        ``∂ln k/∂W_i = β p_i`` on the reactant points (p_i their normalised trapezoid
        weights) minus β at ξ‡ (split by linear interpolation off the grid); or a
        parametric bootstrap drawing W_i + σ_i·N(0, 1) ``n_bootstrap`` times (the barrier
        re-located each time when not given). Errors of k are quoted as k·σ(ln k) (and the
        bootstrap's 16–84 % interval of k).
    seed : int   bootstrap seed

    Returns
    -------
    Results
        k [1/ps]; ln_k; k_err [1/ps] and ln_k_err (None without dW); barrier ξ‡;
        W_barrier [kJ/mol] W(ξ‡); dW_barrier; barrier_height ΔW‡ = W(ξ‡) − min_R W
        [kJ/mol] and its error; reactant_integral ∫_R exp(−β(W − min_R W)) dξ [units of
        ξ]; mean_abs_velocity ⟨|ξ̇|⟩‡ [nm/ps]; kT; T; reactant; error_method; note.
    """
    x, w, dw, T_pmf = read_pmf(xi, W, dW)
    T = T_pmf if temperature is None else float(temperature)
    kT = _kT(T)
    vbar = mean_abs_velocity(T, mass=mass, z_mean_sqrt=z_mean_sqrt)
    lo, hi, sel = _reactant_mask(x, reactant)
    ln_k, b, j, wb, wmin, integral, p = _log_k(x, w, kT, lo, hi, sel, barrier, vbar)
    fin = np.isfinite(w)
    res = Results(k=float(np.exp(ln_k)), ln_k=ln_k, k_err=None, ln_k_err=None,
                  k_interval=None, barrier=b, W_barrier=wb, dW_barrier=None,
                  barrier_height=wb - wmin, barrier_height_err=None,
                  reactant_integral=integral, mean_abs_velocity=vbar, kT=kT, T=T,
                  reactant=(lo, hi), error_method="none (no dW given)")
    if dw is not None:
        if error == "propagate":
            # ∂ln k/∂W_i = β p_i on the reactant points, −β (interpolation weights) at ξ‡
            grad = p / kT
            fin_idx = np.nonzero(fin)[0]
            if j is not None:
                gb = np.zeros(x.size)
                gb[j] = 1.0
            else:
                gb = np.zeros(x.size)
                xf = x[fin_idx]
                i1 = int(np.clip(np.searchsorted(xf, b), 1, xf.size - 1))
                f = (b - xf[i1 - 1]) / (xf[i1] - xf[i1 - 1])
                gb[fin_idx[i1 - 1]] += 1.0 - f
                gb[fin_idx[i1]] += f
            grad = grad - gb / kT
            db = float(np.sqrt(np.sum((gb * dw) ** 2)))
            jmin = int(np.nonzero(sel)[0][np.argmin(w[sel])])
            res.ln_k_err = float(np.sqrt(np.sum((grad * dw) ** 2)))
            res.k_err = res.k * res.ln_k_err
            res.dW_barrier = db
            res.barrier_height_err = float(np.hypot(db, dw[jmin]))
            res.error_method = ("first-order propagation of independent per-point errors dW: "
                                "σ²(ln k) = Σ_i (∂ln k/∂W_i)² σ_i², ∂ln k/∂W_i = β p_i on "
                                "the reactant points (p_i their normalised weights) − β at "
                                "ξ‡")
        elif error == "bootstrap":
            rng = np.random.default_rng(seed)
            n = int(n_bootstrap)
            if n < 10:
                raise ValueError(f"n_bootstrap must be >= 10; got {n_bootstrap}")
            lk = np.empty(n)
            dh = np.empty(n)
            wbs = np.empty(n)
            for i in range(n):
                wi = w + dw * rng.standard_normal(w.size)
                lki, _, _, wbi, wmini, _, _ = _log_k(x, wi, kT, lo, hi, sel, barrier, vbar)
                lk[i], dh[i], wbs[i] = lki, wbi - wmini, wbi
            res.ln_k_err = float(np.std(lk, ddof=1))
            res.k_err = res.k * res.ln_k_err
            q16, q84 = np.percentile(np.exp(lk), [15.865, 84.135])
            res.k_interval = (float(q16), float(q84))
            res.dW_barrier = float(np.std(wbs, ddof=1))
            res.barrier_height_err = float(np.std(dh, ddof=1))
            res.error_method = (f"parametric bootstrap over the PMF errors ({n} draws of "
                                "W_i + dW_i·N(0,1), barrier re-located when not given)")
        else:
            raise ValueError(f"unknown error method {error!r}; available: propagate, "
                             "bootstrap")
    res.note = (f"k_TST = <|xi_dot|>/2 exp(-beta W(xi‡)) / ∫_R exp(-beta W) dxi at {T:g} K "
                f"on the uncorrected PMF; xi‡ = {b:g}, reactant {lo:g}…{hi:g}; "
                f"errors: {res.error_method}")
    return res


def tst_rate(xi, W=None, temperature=None, *, barrier=None, reactant=None, mass=None,
             z_mean_sqrt=None) -> float:
    """k_TST [1/ps] = ⟨|ξ̇|⟩‡/2 · exp(−βW(ξ‡)) / ∫_R exp(−βW) dξ on the *uncorrected* PMF.

    ``xi`` (B,) [nm or rad] and ``W`` (B,) [kJ/mol] — or one PMF mapping/``Results`` in
    ``xi`` (a Jacobian-corrected one is refused; a ``pmf_from_histogram`` result is read
    through its ``F_uncorrected``); ``reactant=(lo, hi)``; ``barrier`` ξ‡ (default: the
    highest point between the reactant range and the product minimum); exactly one of
    ``mass`` [amu] or ``z_mean_sqrt`` ⟨Z^½⟩ [amu^-½]. See ``tst_analysis`` for errors.
    """
    return tst_analysis(xi, W, temperature, barrier=barrier, reactant=reactant, mass=mass,
                        z_mean_sqrt=z_mean_sqrt).k


# --------------------------------------------------------------------------- Kramers
def kramers_kappa(omega_b, friction, regime="full") -> float:
    """Kramers' transmission coefficient for Langevin friction γ [1/ps] on a parabolic
    barrier of angular frequency ω_b [1/ps]: ``sqrt(1 + (γ/2ω_b)²) − γ/(2ω_b)``
    (``regime="full"``, moderate-to-high friction) or ``ω_b/γ`` (``"high"``)."""
    wb = float(omega_b)
    g = float(friction)
    if not wb > 0:
        raise ValueError(f"omega_b must be positive [1/ps]; got {omega_b!r}")
    if not g >= 0:
        raise ValueError(f"friction must be >= 0 [1/ps]; got {friction!r}")
    if regime == "full":
        a = g / (2.0 * wb)
        return float(np.sqrt(1.0 + a * a) - a)
    if regime == "high":
        if g == 0:
            raise ValueError("the high-friction limit needs friction > 0")
        return wb / g
    raise ValueError(f"unknown regime {regime!r}; available: full, high")


def kramers_rate(omega_b, friction, *, barrier_height=None, temperature=None, omega_a=None,
                 k_tst=None, regime="full") -> float:
    """Kramers' rate [1/ps] ``κ_Kramers · k_TST`` for a 1D barrier.

    Parameters
    ----------
    omega_b : float [1/ps]   barrier angular frequency sqrt(|W''(ξ‡)|/μ)
    friction : float [1/ps]  Langevin γ
    barrier_height, temperature, omega_a : ΔW‡ [kJ/mol], T [K], well frequency [1/ps]
        for the harmonic-well TST rate ``ω_a/(2π) exp(−βΔW‡)``, or
    k_tst : float [1/ps]   a TST rate to multiply instead (e.g. ``tst_rate`` of the exact
        PMF, which removes the harmonic-well part of Kramers' O(kT/ΔW‡) error)
    regime : {"full", "high"}   see ``kramers_kappa``
    """
    kappa = kramers_kappa(omega_b, friction, regime)
    if k_tst is not None:
        if any(v is not None for v in (barrier_height, omega_a)):
            raise ValueError("give k_tst or (barrier_height, temperature, omega_a), not both")
        return kappa * float(k_tst)
    if barrier_height is None or omega_a is None:
        raise ValueError("kramers_rate needs k_tst, or barrier_height [kJ/mol], "
                         "temperature [K] and omega_a [1/ps]")
    kT = _kT(temperature)
    return kappa * float(omega_a) / (2.0 * np.pi) * float(np.exp(-float(barrier_height) / kT))
