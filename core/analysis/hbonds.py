"""Hydrogen bonds by geometric criteria, and their lifetimes.

A hydrogen bond D–H···A exists in a frame when

- the donor–acceptor distance ``|r_DA| ≤ d_a_cutoff`` (default 0.30 nm), and
- the D–H···A angle at the hydrogen ``θ > d_h_a_angle_cutoff`` (default 150°; 180° is
  linear),

with periodic minimum images (orthorhombic or triclinic boxes). These are the criteria,
and the comparisons (``≤`` for the distance, ``>`` for the angle), of MDAnalysis'
``HydrogenBondAnalysis`` (``d_a_cutoff=3.0`` Å, ``d_h_a_angle_cutoff=150``), whose
per-frame counts this module reproduces exactly (tested on an SPC/E trajectory made by
mdzoom). MDAnalysis also drops D–A pairs closer than 0.1 nm; here only the donor itself
is excluded as its own acceptor (no real D–A pair is that close).

Donors and hydrogens come from the topology's bond graph: every hydrogen bonded to an
atom whose element is in ``donor_elements`` (default N and O; add ``"S"`` for thiols)
gives one donor–hydrogen pair. Acceptors are, by default, every atom whose element is in
``acceptor_elements`` (N and O: this counts amide/amine N and every O, including ester
and ether O; pass ``acceptors=`` to be more selective). Elements are read from the
topology's ``element`` attribute, else guessed from the mass, else from the name's first
letter.

Lifetimes (:func:`hbond_lifetimes`) use the population operator h_i(t) (1 while bond i
exists, sampled at the trajectory's frames):

- continuous, ``C_c(τ) = Σ_i Σ_t h_i(t) H_i(t, t+τ) / Σ_i Σ_t h_i(t)`` with
  ``H_i(t, t+τ) = 1`` when bond i is present in *every* frame from t to t+τ
  (Rapaport, Mol. Phys. 50, 1151 (1983));
- intermittent, ``C_i(τ) = Σ_i Σ_t h_i(t) h_i(t+τ) / Σ_i Σ_t h_i(t)`` — breaking and
  re-forming allowed (Luzar & Chandler, Nature 379, 55 (1996); Luzar, J. Chem. Phys.
  113, 10663 (2000)).

Both sums run over the same time origins t ≤ T − 1 − τ, so C(0) = 1 exactly. A break
shorter than the frame interval is invisible: the continuous lifetime depends on how
often frames are saved (the finer, the shorter), so state the interval with it.

Units: nm, ps, degrees.
"""

from __future__ import annotations

import numpy as np

from ..neighbours import box_heights
from ..results import Results
from . import _local_kernels as _k
from ._trajectory import as_trajectory

__all__ = ["hydrogen_bonds", "hbond_lifetimes", "donor_hydrogen_pairs", "guess_elements"]

_ELEMENT_BY_MASS = {1: "H", 2: "H", 12: "C", 14: "N", 16: "O", 19: "F", 31: "P", 32: "S"}


# --------------------------------------------------------------------------- search box


def _search_geometry(box, rc, positions=None):
    """(box, inverse, cell counts) for a periodic search within ``rc``.

    Without a box (``None``) a box is made around ``positions`` with a gap of more than
    ``2 rc`` on every side, so no image comes within reach. Raises when ``rc`` is not
    below half of every box height (the minimum image would be ambiguous).
    """
    if box is None:
        lo = positions.min(axis=0)
        hi = positions.max(axis=0)
        box = np.diag(np.maximum(hi - lo, 0.0) + 3.0 * rc + 1e-9)
    box = np.ascontiguousarray(box, dtype=np.float64)
    heights = box_heights(box)
    if not np.all(heights > 2.0 * rc):
        raise ValueError(f"cutoff {rc:g} nm is not below half of the box heights "
                         f"{np.round(heights, 4).tolist()} nm")
    n = np.maximum(np.floor(heights / rc).astype(np.int64), 1)
    while n.prod() > 8 * 10 ** 6:                    # no giant grids in sparse systems
        n = np.maximum(n // 2, 1)
    return box, np.ascontiguousarray(np.linalg.inv(box)), n


def _shifted(positions, box):
    """Positions as given with a box; shifted into a made-up box when there is none."""
    if box is not None:
        return positions
    return positions - positions.min(axis=0)


# --------------------------------------------------------------------------- topology


def guess_elements(topology) -> np.ndarray:
    """(N,) element symbols of a Topology: its ``element`` attributes, else from the
    rounded mass (1 H, 12 C, 14 N, 16 O, 32 S, …), else the name's first letter."""
    els = list(topology.elements)
    masses = np.asarray(topology.masses)
    names = topology.names
    out = []
    for el, m, name in zip(els, masses, names):
        el = str(el or "").strip()
        if el:
            out.append(el.capitalize())
        elif int(round(float(m))) in _ELEMENT_BY_MASS:
            out.append(_ELEMENT_BY_MASS[int(round(float(m)))])
        else:
            out.append(str(name)[:1].upper())
    return np.array(out, dtype=object)


def donor_hydrogen_pairs(topology, donor_elements=("N", "O"), donors=None,
                         hydrogens=None) -> np.ndarray:
    """(P, 2) int64 ``(donor, hydrogen)`` pairs from the topology's bond graph.

    Every hydrogen (element H) bonded to an atom of ``donor_elements``; restricted to
    the given ``donors`` and/or ``hydrogens`` (global indices) when given. A hydrogen
    bonded to several donor atoms gives one pair per donor.
    """
    el = guess_elements(topology)
    bonds = np.asarray(topology.bonds, dtype=np.int64).reshape(-1, 2)
    donor_set = {e.capitalize() for e in donor_elements}
    pairs = []
    for u, v in bonds:
        for d, h in ((u, v), (v, u)):
            if el[h] == "H" and el[d] in donor_set:
                pairs.append((d, h))
    out = np.array(sorted(set(pairs)), dtype=np.int64).reshape(-1, 2)
    if donors is not None:
        out = out[np.isin(out[:, 0], np.asarray(donors, dtype=np.int64))]
    if hydrogens is not None:
        out = out[np.isin(out[:, 1], np.asarray(hydrogens, dtype=np.int64))]
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def _select(topology, donors, hydrogens, acceptors, donor_elements, acceptor_elements,
            n_particles):
    if donors is not None and hydrogens is not None:
        d = np.asarray(donors, dtype=np.int64).ravel()
        h = np.asarray(hydrogens, dtype=np.int64).ravel()
        if d.shape != h.shape:
            raise ValueError("donors and hydrogens, when both given, are aligned "
                             f"donor–hydrogen pairs; got {d.size} donors, {h.size} hydrogens")
        pairs = np.stack([d, h], axis=1)
    else:
        if topology is None:
            raise ValueError("a topology (its bond graph) is needed to find donor–hydrogen "
                             "pairs; or pass both donors= and hydrogens= as aligned pairs")
        pairs = donor_hydrogen_pairs(topology, donor_elements, donors, hydrogens)
    if acceptors is None:
        if topology is None:
            raise ValueError("a topology is needed to pick acceptors by element; or pass "
                             "acceptors=")
        el = guess_elements(topology)
        acc_set = {e.capitalize() for e in acceptor_elements}
        acc = np.flatnonzero(np.isin(el, list(acc_set)))
    else:
        acc = np.unique(np.asarray(acceptors, dtype=np.int64).ravel())
    for name, arr in (("donor/hydrogen", pairs), ("acceptor", acc)):
        if arr.size and (arr.min() < 0 or arr.max() >= n_particles):
            raise ValueError(f"{name} indices out of range for {n_particles} particles")
    return np.ascontiguousarray(pairs), np.ascontiguousarray(acc)


# --------------------------------------------------------------------------- search


def hydrogen_bonds(traj, topology=None, donors=None, hydrogens=None, acceptors=None,
                   d_a_cutoff=0.30, d_h_a_angle_cutoff=150.0, *,
                   donor_elements=("N", "O"), acceptor_elements=("N", "O"),
                   boxes=None) -> Results:
    """Geometric hydrogen bonds in every frame (see the module docstring).

    Parameters
    ----------
    traj
        Any trajectory :func:`as_trajectory` accepts (nm, periodic when it has boxes).
    topology : Topology, optional
        Its bond graph gives the donor–hydrogen pairs and its elements the acceptors.
        Not needed when ``donors``, ``hydrogens`` (aligned pairs) and ``acceptors`` are
        all given.
    donors, hydrogens : array_like of int, optional
        Global indices. Both given: aligned donor–hydrogen pairs. One given: restricts
        the pairs found in the bond graph.
    acceptors : array_like of int, optional
        Default: every atom of ``acceptor_elements``.
    d_a_cutoff : float [nm]
        Largest donor–acceptor distance (inclusive).
    d_h_a_angle_cutoff : float [degree]
        The D–H···A angle must be larger than this.
    donor_elements, acceptor_elements : tuple of str
    boxes : optional
        Overrides the trajectory's boxes.

    Returns
    -------
    Results
        times (T,) [ps]; counts (T,) hydrogen bonds per frame; frame, donor, hydrogen,
        acceptor (M,) int32 one row per bond and frame (frame index, global atom indices),
        distance (M,) float32 [nm] D–A, angle (M,) float32 [degree] D–H···A;
        pairs (P, 2) the donor–hydrogen pairs searched; acceptors (A,); criteria;
        n_frames; note.
    """
    tr = as_trajectory(traj, boxes=boxes)
    pairs, acc = _select(topology, donors, hydrogens, acceptors, donor_elements,
                         acceptor_elements, tr.n_particles)
    rc = float(d_a_cutoff)
    cos_cut = float(np.cos(np.deg2rad(float(d_h_a_angle_cutoff))))
    dn = np.ascontiguousarray(pairs[:, 0])
    hy = np.ascontiguousarray(pairs[:, 1])
    cap = max(64, 4 * len(pairs))
    buf = [np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap), np.empty(cap)]
    rows = {k: [] for k in ("frame", "donor", "hydrogen", "acceptor", "distance", "angle")}
    counts = np.zeros(tr.n_frames, dtype=np.int64)
    for t in range(tr.n_frames):
        x = tr.positions[t]
        box = None if tr.boxes is None else tr.boxes[t]
        x = np.ascontiguousarray(_shifted(x, box))
        hbox, inv, n = _search_geometry(box, rc, x)
        while True:
            found = _k.hbond_frame(x, hbox, inv, dn, hy, acc, int(n[0]), int(n[1]),
                                   int(n[2]), rc * rc, cos_cut, *buf)
            if found <= buf[0].size:
                break
            cap = int(found * 1.25) + 16
            buf = [np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap),
                   np.empty(cap)]
        counts[t] = found
        p, a, r, c = (b[:found] for b in buf)
        order = np.lexsort((acc[a], hy[p], dn[p]))
        p, a, r, c = p[order], a[order], r[order], c[order]
        rows["frame"].append(np.full(found, t, dtype=np.int32))
        rows["donor"].append(dn[p].astype(np.int32))
        rows["hydrogen"].append(hy[p].astype(np.int32))
        rows["acceptor"].append(acc[a].astype(np.int32))
        rows["distance"].append(r.astype(np.float32))
        rows["angle"].append(np.rad2deg(np.arccos(np.clip(c, -1.0, 1.0))).astype(np.float32))
    out = {k: (np.concatenate(v) if v else np.zeros(0, np.int32)) for k, v in rows.items()}
    criteria = dict(d_a_cutoff=rc, d_h_a_angle_cutoff=float(d_h_a_angle_cutoff),
                    donor_elements=tuple(donor_elements),
                    acceptor_elements=tuple(acceptor_elements))
    note = (f"D–A ≤ {rc:g} nm and D–H···A > {float(d_h_a_angle_cutoff):g}°, periodic "
            f"minimum image; {len(pairs)} donor–hydrogen pairs, {acc.size} acceptors, "
            f"{tr.n_frames} frames, mean {counts.mean() if counts.size else 0:.1f} per frame")
    return Results(times=tr.times.copy(), counts=counts, **out, pairs=pairs, acceptors=acc,
                   criteria=criteria, n_frames=tr.n_frames, note=note)


# --------------------------------------------------------------------------- lifetimes


def _series(result, by):
    """(bond id per row, frame per row), sorted by bond then frame, unique."""
    frame = np.asarray(result["frame"], dtype=np.int64)
    d = np.asarray(result["donor"], dtype=np.int64)
    a = np.asarray(result["acceptor"], dtype=np.int64)
    if by == "triplet":
        keys = (frame, a, np.asarray(result["hydrogen"], dtype=np.int64), d)
    elif by == "pair":
        keys = (frame, a, d)
    else:
        raise ValueError(f"unknown bond identity {by!r}; available: triplet, pair")
    order = np.lexsort(keys)
    cols = [k[order] for k in keys[1:]]
    fr = frame[order]
    new_bond = np.ones(fr.size, dtype=bool)
    if fr.size:
        new_bond[1:] = np.any([c[1:] != c[:-1] for c in cols], axis=0)
    keep = np.ones(fr.size, dtype=bool)                   # drop duplicates (same bond, frame)
    if fr.size:
        keep[1:] = new_bond[1:] | (fr[1:] != fr[:-1])
    return np.cumsum(new_bond[keep]) - 1, fr[keep]


def _exp_fit(t, c, floor, t_window):
    """ln C = ln A − t/τ, unweighted least squares over the window."""
    if t_window is None:
        below = np.flatnonzero(c < floor)
        end = below[0] if below.size else c.size
        sel = np.arange(end)
    else:
        sel = np.flatnonzero((t >= t_window[0]) & (t <= t_window[1]) & (c > 0))
    if sel.size < 2:
        return np.nan, np.nan, (np.nan, np.nan)
    slope, icpt = np.polyfit(t[sel], np.log(c[sel]), 1)
    tau = -1.0 / slope if slope < 0 else np.inf
    return float(tau), float(np.exp(icpt)), (float(t[sel[0]]), float(t[sel[-1]]))


def hbond_lifetimes(result, tau_max=None, intermittent=False, *, by="triplet", times=None,
                    fit_floor=0.05, fit_window=None) -> Results:
    """Continuous or intermittent hydrogen-bond correlation function and lifetime.

    Parameters
    ----------
    result : Results or dict
        From :func:`hydrogen_bonds` (needs ``frame``, ``donor``, ``hydrogen``,
        ``acceptor``, ``counts``, ``times``); any dict with those keys works, e.g. a
        synthetic h(t).
    tau_max : float [ps], optional
        Largest lag. Default: half the trajectory.
    intermittent : bool
        False: the continuous C_c (bond present at every frame in between); True: the
        intermittent C_i (present at both ends).
    by : {"triplet", "pair"}
        Bond identity: (donor, hydrogen, acceptor), or (donor, acceptor) whichever H.
    times : array_like [ps], optional
        Frame times; default ``result["times"]``. Must be equally spaced.
    fit_floor : float
        The exponential fit runs from τ = 0 to the last lag before C first drops below
        this, unless ``fit_window=(t0, t1)`` [ps] is given.

    Returns
    -------
    Results
        kind ("continuous"/"intermittent"); times (L,) lags [ps]; C (L,);
        tau (= tau_integral + the fitted exponential's tail beyond tau_max, the
        recommended lifetime [ps]); tau_integral (trapezoid ∫₀^τmax C dt [ps]); tau_fit,
        fit_amplitude, fit_window (single exponential A e^(−t/τ) fitted to ln C);
        n_bonds (distinct bonds); by; note.
    """
    t = np.asarray(result["times"] if times is None else times, dtype=np.float64)
    n_t = t.size
    if n_t < 2:
        raise ValueError("lifetimes need at least 2 frames")
    dt = float(t[1] - t[0])
    if not np.allclose(np.diff(t), dt, rtol=1e-6, atol=1e-9 * max(abs(dt), 1.0)):
        raise ValueError("hydrogen-bond lifetimes need equally spaced frames")
    max_lag = (n_t - 1) // 2 if tau_max is None else int(np.floor(float(tau_max) / dt + 1e-9))
    max_lag = int(min(max(max_lag, 1), n_t - 1))
    bond, frame = _series(result, by)
    counts = np.bincount(frame, minlength=n_t).astype(np.float64)
    # denominators: Σ_bonds Σ_{t ≤ T−1−τ} h_i(t)
    cum = np.cumsum(counts)
    denom = cum[n_t - 1 - np.arange(max_lag + 1)]
    num = np.zeros(max_lag + 1)
    if intermittent:
        starts = np.flatnonzero(np.r_[True, bond[1:] != bond[:-1]]) if bond.size else \
            np.zeros(0, np.int64)
        starts = np.r_[starts, bond.size].astype(np.int64)
        _k.intermittent_numerator(starts, frame, max_lag, num)
    elif bond.size:
        brk = np.r_[True, (bond[1:] != bond[:-1]) | (frame[1:] != frame[:-1] + 1)]
        run_start = np.flatnonzero(brk)
        lengths = np.diff(np.r_[run_start, bond.size])
        # Σ_runs max(L − τ, 0) = Σ_{L > τ} L c_L − τ Σ_{L > τ} c_L
        c_len = np.bincount(lengths, minlength=n_t + 1).astype(np.float64)
        ell = np.arange(c_len.size, dtype=np.float64)
        a_sum = np.cumsum((ell * c_len)[::-1])[::-1]     # Σ_{L ≥ ℓ}
        b_sum = np.cumsum(c_len[::-1])[::-1]
        lag = np.arange(max_lag + 1)
        num = a_sum[lag + 1] - lag * b_sum[lag + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(denom > 0, num / denom, np.nan)
    lags = np.arange(max_lag + 1) * dt
    tau_int = float(np.trapezoid(corr, lags)) if hasattr(np, "trapezoid") else \
        float(np.trapz(corr, lags))
    tau_fit, amp, window = _exp_fit(lags, corr, fit_floor, fit_window)
    tail = amp * tau_fit * np.exp(-lags[-1] / tau_fit) if np.isfinite(tau_fit) else 0.0
    kind = "intermittent" if intermittent else "continuous"
    n_bonds = int(bond[-1] + 1) if bond.size else 0
    note = (f"{kind} correlation over {n_bonds} distinct bonds ({by}), frames {dt:g} ps "
            f"apart; tau = ∫₀^{lags[-1]:g} C dt (trapezoid) + the fitted exponential's tail "
            f"beyond; tau_fit from ln C fitted over {window[0]:g}–{window[1]:g} ps")
    if kind == "continuous":
        note += "; breaks shorter than the frame interval are not seen"
    return Results(kind=kind, times=lags, C=corr, tau=float(tau_int + tail),
                   tau_integral=tau_int, tau_fit=tau_fit, fit_amplitude=amp,
                   fit_window=window, n_bonds=n_bonds, by=by, note=note)
