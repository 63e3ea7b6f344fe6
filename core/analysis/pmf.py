"""Potential of mean force from a histogram, with the Jacobian of the coordinate.

``W(ξ) = −kT ln P(ξ)`` of a probability density P includes the volume of phase space
at each value of ξ. For a distance r between two particles in 3D, ``P(r) ∝ 4πr²
exp(−w(r)/kT)``, and for a polar angle θ, ``P(θ) ∝ sin θ exp(−w(θ)/kT)``; the
"reversible work" PMF w, the one that is flat for non-interacting particles, is

- distance:    ``w(r) = −kT ln P(r) + 2kT ln r``   (+ const),
- polar angle: ``w(θ) = −kT ln P(θ) + kT ln sin θ`` (+ const).

Here the Jacobian is applied *once*, exactly, by dividing each bin's probability by the
bin's measure rather than by the value at the bin centre: the shell volume
``(4π/3)(r_hi³ − r_lo³)`` for distances and the zone area ``2π(cos θ_lo − cos θ_hi)``
for polar angles (``Δξ`` for a generic coordinate). For a flat w this is exact for any
bin width. Which correction was applied is stated in the result (``jacobian``), and the
uncorrected ``−kT ln P`` is returned beside it: use the *uncorrected* one in
transition-state-theory rates and in binding integrals that carry their own r² factor;
never correct twice.

Errors come from block averaging of histograms: the time-ordered samples are cut into
``n_blocks`` contiguous blocks, each block gives a normalised histogram p_b(ξ), and
``σ_F(ξ) = kT · SE(p_b(ξ)) / mean_b p_b(ξ)`` (first-order propagation of the standard
error of the block mean of each bin). It is each bin's own error, not including the
uncertainty of the reference bin. Blocks must be longer than the correlation time of
ξ for the error to be right.

Units: kJ/mol, K; distances nm; angles in radians (``angle_unit="degree"`` for degrees).
"""

from __future__ import annotations

import numpy as np

from ..results import Results
from ..units import KB

__all__ = ["pmf_from_histogram", "bin_measure"]

_JACOBIAN = {"generic": "none", "distance": "4πr² (bin shell volume (4π/3)(r_hi³ − r_lo³))",
             "polar_angle": "sin θ (bin zone area 2π(cos θ_lo − cos θ_hi))"}


def bin_measure(edges, coordinate="generic", angle_unit="radian") -> np.ndarray:
    """Measure of each bin: Δξ (generic), the shell volume (4π/3)(r_hi³ − r_lo³)
    [nm³] (distance), or the zone area 2π(cos θ_lo − cos θ_hi) [sr] (polar angle).

    Parameters
    ----------
    edges : array_like (B+1,)
    coordinate : {"generic", "distance", "polar_angle"}
    angle_unit : {"radian", "degree"}
    """
    e = np.asarray(edges, dtype=np.float64)
    if coordinate == "generic":
        return np.diff(e)
    if coordinate == "distance":
        if e[0] < 0:
            raise ValueError("distance bins must not start below 0")
        return 4.0 * np.pi / 3.0 * np.diff(e ** 3)
    if coordinate == "polar_angle":
        th = np.deg2rad(e) if angle_unit == "degree" else e
        if th[0] < -1e-12 or th[-1] > np.pi + 1e-9:
            raise ValueError("polar-angle bins must lie within 0…π (0…180°)")
        return 2.0 * np.pi * (np.cos(th[:-1]) - np.cos(th[1:]))
    raise ValueError(f"unknown coordinate {coordinate!r}; available: generic, distance, "
                     "polar_angle")


def _reference(x, f, reference):
    finite = np.isfinite(f)
    if reference is None or reference == "none":
        return 0.0
    if not finite.any():
        return 0.0
    if isinstance(reference, str):
        if reference == "min":
            return float(f[finite].min())
        raise ValueError(f"unknown reference {reference!r}; available: 'min', a value of "
                         "the coordinate, a (lo, hi) range, None")
    if np.ndim(reference) == 0:
        k = int(np.argmin(np.abs(x - float(reference))))
        return float(f[k])
    lo, hi = map(float, reference)
    sel = (x >= lo) & (x <= hi) & finite
    if not sel.any():
        raise ValueError(f"no populated bin in the reference range {lo:g}–{hi:g}")
    return float(f[sel].mean())


def pmf_from_histogram(data, bins=50, T=298.15, coordinate="generic", weights=None, *,
                       range=None, jacobian=True, reference="min", n_blocks=10,
                       angle_unit="radian") -> Results:
    """Free energy profile F(ξ) [kJ/mol] from samples of ξ or from a histogram.

    Parameters
    ----------
    data : array_like (n,), or (counts, edges)
        Time-ordered samples of the coordinate; or a histogram as ``np.histogram``
        returns it, where ``counts`` may be (B,) or (n_blocks, B) per-block histograms
        (errors are then from those blocks; none from one histogram).
    bins : int or array_like
        Number of bins or the bin edges (samples only).
    T : float [K]
    coordinate : {"generic", "distance", "polar_angle"}
        Which Jacobian applies (see the module docstring).
    weights : array_like (n,), optional
        Sample weights (e.g. reweighting factors); histograms are weighted sums.
    range : (lo, hi), optional
        Histogram range (samples only); default the samples' range; polar angles default
        to 0…π.
    jacobian : bool
        Apply the Jacobian correction of ``coordinate`` (True) or not (False).
    reference : "min", float, (lo, hi) or None
        F is shifted so that its minimum, the bin nearest a value, the mean over a range
        (e.g. a distance plateau) or nothing is zero; ``F_uncorrected`` follows the same
        rule on its own values.
    n_blocks : int
        Contiguous blocks for the error (0 or 1: no error).
    angle_unit : {"radian", "degree"}

    Returns
    -------
    Results
        x (B,) bin centres; edges (B+1,); F (B,) [kJ/mol], +inf in empty bins; F_err
        (B,) [kJ/mol] or None; F_uncorrected (B,) ``−kT ln P`` (no Jacobian); P (B,)
        probability density per unit ξ (uncorrected); counts (B,); jacobian (the
        correction applied, "none" when off); coordinate; T; kT; error_method; note.
    """
    if isinstance(data, tuple) and len(data) == 2:
        counts_in, edges = data
        edges = np.asarray(edges, dtype=np.float64)
        block_counts = np.atleast_2d(np.asarray(counts_in, dtype=np.float64))
        if block_counts.shape[1] != edges.size - 1:
            raise ValueError(f"{edges.size} edges need {edges.size - 1} counts per "
                             f"histogram; got {block_counts.shape[1]}")
        from_samples = False
    else:
        x = np.asarray(data, dtype=np.float64).ravel()
        w = None if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        if w is not None and w.shape != x.shape:
            raise ValueError(f"weights {w.shape} do not match the samples {x.shape}")
        if range is None and coordinate == "polar_angle" and np.ndim(bins) == 0:
            range = (0.0, 180.0 if angle_unit == "degree" else np.pi)
        edges = np.histogram_bin_edges(x, bins=bins, range=range)
        nb = int(n_blocks) if n_blocks and int(n_blocks) > 1 else 1
        parts = np.array_split(np.arange(x.size), nb)
        block_counts = np.array([np.histogram(x[p], bins=edges,
                                              weights=None if w is None else w[p])[0]
                                 for p in parts], dtype=np.float64)
        from_samples = True
    if coordinate not in _JACOBIAN:
        raise ValueError(f"unknown coordinate {coordinate!r}; available: "
                         f"{', '.join(_JACOBIAN)}")
    kT = KB * float(T)
    width = np.diff(edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    measure = bin_measure(edges, coordinate if jacobian else "generic", angle_unit)
    counts = block_counts.sum(axis=0)
    total = counts.sum()
    if total <= 0:
        raise ValueError("the histogram is empty")
    with np.errstate(divide="ignore", invalid="ignore"):
        density = counts / (total * width)
        f_raw = -kT * np.log(density)
        f = -kT * np.log(counts / (total * measure))
    f_raw = np.where(counts > 0, f_raw, np.inf)
    f = np.where(counts > 0, f, np.inf)
    f = f - _reference(centres, f, reference)
    f_raw = f_raw - _reference(centres, f_raw, reference)

    f_err = None
    method = "none (no blocks)" if from_samples else "none (a single histogram)"
    n_b = block_counts.shape[0]
    if n_b > 1:
        tot_b = block_counts.sum(axis=1, keepdims=True)
        if np.any(tot_b <= 0):
            raise ValueError("a block has no samples in range: use fewer blocks")
        p_b = block_counts / tot_b
        p_mean = p_b.mean(axis=0)
        se = p_b.std(axis=0, ddof=1) / np.sqrt(n_b)
        with np.errstate(divide="ignore", invalid="ignore"):
            f_err = np.where(p_mean > 0, kT * se / p_mean, np.inf)
        method = (f"block averaging of histograms: {n_b} contiguous blocks, "
                  "σ_F = kT·SE(p_b)/p̄ per bin (reference-bin error not included)")
        if not from_samples:
            method = method.replace("contiguous blocks", "given per-block histograms")
    jac = _JACOBIAN[coordinate] if jacobian else "none"
    note = (f"F = −kT ln(P/J) at {float(T):g} K, Jacobian J: {jac}; reference "
            f"{reference!r} set to 0; errors: {method}")
    return Results(x=centres, edges=edges, F=f, F_err=f_err, F_uncorrected=f_raw,
                   P=density, counts=counts, jacobian=jac, coordinate=coordinate,
                   T=float(T), kT=kT, error_method=method, note=note)
