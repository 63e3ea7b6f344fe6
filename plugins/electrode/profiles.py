"""Charge-density and electrostatic-potential profiles across a slab (along z).

Laterally averaged Poisson equation (SI form, mdzoom units):
d²Φ/dz² = −ρ(z)/ε₀, E_z = −dΦ/dz, with 1/ε₀ = 4π·138.935458 = 1745.93 kJ mol⁻¹ nm e⁻²,
i.e. 18.0951 V·nm/e when Φ is given in volts (``INV_EPS0_V``).

Two estimators, which agree when the bins are small:

- ``potential_from_charges``: for point charges in a laterally periodic slab with a vacuum
  gap (or an isolated slab) and a neutral cell, Φ(z) = −(1/(2ε₀A)) Σᵢ qᵢ |z − zᵢ| + C,
  with no binning error. This is the double integral of the density with E_z = 0 in
  the vacuum.
- ``charge_density`` + ``potential_from_density``: a histogram ρ(z) integrated twice by
  cumulative sums, exact for the histogrammed (step-function) density. Boundary
  conditions:
  - ``"vacuum"``: E_z = 0 and Φ = 0 at the bottom of the range (put it in the gap). This
    matches EW3DC/slab electrostatics.
  - ``"periodic"``: the field at z = 0 that makes Φ periodic, E(0) = −(1/(ε₀L)) ∫ z ρ dz.
    This matches tin-foil 3D Ewald without a slab correction.
  - ``field0=``: any other uniform field, e.g. a finite-D run's.

Include every charge: the electrolyte and the electrode atoms. Φ is in volts, z and
positions in nm, charges in e, areas in nm², ρ in e/nm³. ``potential_drop`` takes
ΔΦ = Φ(z_electrode) − ⟨Φ⟩_bulk with block-averaged errors over the frames.
"""

from __future__ import annotations

import numpy as np

from mdzoom.core.results import Results
from mdzoom.core.units import COULOMB

KJ_PER_MOL_PER_V = 96.485332            # 1 V·e = 96.485 kJ/mol
INV_EPS0 = 4.0 * np.pi * COULOMB       # kJ mol⁻¹ nm e⁻²
INV_EPS0_V = INV_EPS0 / KJ_PER_MOL_PER_V  # V·nm/e (18.0951)

__all__ = ["charge_density", "potential_from_density", "potential_from_charges",
           "potential_drop", "INV_EPS0_V"]


def _frames(positions):
    x = np.asarray(positions, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"positions must have shape (N, 3) or (T, N, 3); got {x.shape}")
    return x


def _area(box):
    b = np.asarray(box, dtype=np.float64)
    if b.shape == (3,):
        return float(b[0] * b[1])
    if b.shape == (3, 3):
        return float(abs(np.cross(b[0], b[1])[2]))
    raise ValueError(f"box must be (3,) or (3, 3) [nm]; got {b.shape}")


def charge_density(positions, charges, box, *, bin_width=0.005, z_range=None):
    """ρ(z) [e/nm³] of point charges, averaged over frames.

    positions : (N, 3) or (T, N, 3) [nm], not wrapped across the gap
    charges : (N,) [e]
    box : (3,) or (3, 3) [nm]; the lateral area A = |a × b|
    z_range : (lo, hi) [nm], default the box's (0, L_z)
    Returns Results: ``edges`` (B+1,), ``z`` (B,) centres, ``rho`` (B,) mean, ``rho_frames``
    (T, B), ``area``, ``bin_width``.
    """
    x = _frames(positions)
    q = np.asarray(charges, dtype=np.float64)
    if q.shape != (x.shape[1],):
        raise ValueError(f"{x.shape[1]} positions but charges of shape {q.shape}")
    b = np.asarray(box, dtype=np.float64)
    lz = float(b[2] if b.shape == (3,) else b[2, 2])
    lo, hi = z_range if z_range is not None else (0.0, lz)
    nb = max(1, int(round((hi - lo) / bin_width)))
    edges = np.linspace(lo, hi, nb + 1)
    area = _area(box)
    dz = edges[1] - edges[0]
    rho_t = np.empty((x.shape[0], nb))
    for t in range(x.shape[0]):
        h, _ = np.histogram(x[t, :, 2], bins=edges, weights=q)
        rho_t[t] = h / (area * dz)
    return Results(edges=edges, z=0.5 * (edges[1:] + edges[:-1]), rho=rho_t.mean(axis=0),
                   rho_frames=rho_t, area=area, bin_width=dz)


def potential_from_density(edges, rho, *, boundary="vacuum", field0=None):
    """Φ at the bin edges [V] from a histogram density ρ [e/nm³] on ``edges`` [nm].

    Integrates ρ as a step function (exact for the histogram): E(z) = E(z₀) + (1/ε₀)∫ρ,
    Φ(z) = −∫E, with Φ(z₀) = 0 at the first edge. ``boundary``: "vacuum" (E(z₀) = 0) or
    "periodic" (E(z₀) chosen so that Φ(z_end) = Φ(z₀), the tin-foil condition for a
    neutral cell); ``field0`` [V/nm] overrides both.
    """
    e = np.asarray(edges, dtype=np.float64)
    r = np.asarray(rho, dtype=np.float64)
    if r.shape != (e.size - 1,):
        raise ValueError(f"rho has {r.size} bins but edges {e.size} entries")
    dz = np.diff(e)
    # within bin k, E(z) = E_k + c ρ_k (z − e_k): Φ drops by E_k dz + ½ c ρ_k dz²
    c = INV_EPS0_V
    e_left = np.concatenate([[0.0], np.cumsum(c * r * dz)])          # E − E(z₀) at edges
    drop = e_left[:-1] * dz + 0.5 * c * r * dz * dz
    phi0 = -np.concatenate([[0.0], np.cumsum(drop)])                 # with E(z₀) = 0
    length = e[-1] - e[0]
    if field0 is not None:
        f0 = float(field0)
    elif boundary == "vacuum":
        f0 = 0.0
    elif boundary == "periodic":
        f0 = phi0[-1] / length          # a uniform field that closes Φ over the cell
    else:
        raise ValueError(f"boundary {boundary!r}: use 'vacuum' or 'periodic' (or field0=)")
    return phi0 - f0 * (e - e[0])


def potential_from_charges(z, positions, charges, box):
    """Φ(z) [V] = −(1/(2ε₀A)) Σᵢ qᵢ |z − zᵢ| for each frame: (T, len(z)).

    The vacuum-boundary solution for a laterally periodic slab of point charges (a neutral
    cell: then E = 0 on both sides). Constant offset: Φ has zero mean over the charges'
    own z-range ends.
    """
    x = _frames(positions)
    q = np.asarray(charges, dtype=np.float64)
    zz = np.asarray(z, dtype=np.float64)
    area = _area(box)
    out = np.empty((x.shape[0], zz.size))
    for t in range(x.shape[0]):
        out[t] = -INV_EPS0_V / (2.0 * area) * (q[None, :] * np.abs(zz[:, None] - x[t, None, :, 2])).sum(axis=1)
    return out


def potential_drop(z, phi_frames, electrode_z, bulk_range, *, n_blocks=5):
    """ΔΦ = Φ(z_electrode) − ⟨Φ⟩_bulk [V] with a block-averaged standard error.

    z : (B,) [nm]; phi_frames : (T, B) [V] per frame (or (B,) for one profile)
    electrode_z : plane of the electrode's charged atoms [nm] (Φ is continuous there)
    bulk_range : (lo, hi) [nm] of the flat bulk region
    Returns Results: ``delta`` [V], ``error`` [V] (SE over ``n_blocks`` contiguous blocks
    of frames; NaN for fewer than 2 frames), ``phi_electrode``, ``phi_bulk``.
    """
    zz = np.asarray(z, dtype=np.float64)
    p = np.atleast_2d(np.asarray(phi_frames, dtype=np.float64))
    if p.shape[1] != zz.size:
        raise ValueError(f"phi has {p.shape[1]} points per frame but z has {zz.size}")
    lo, hi = bulk_range
    bulk = (zz >= lo) & (zz <= hi)
    if not bulk.any():
        raise ValueError(f"no z point inside the bulk range {bulk_range}")

    def drop(block):
        mean = block.mean(axis=0)
        return float(np.interp(electrode_z, zz, mean) - mean[bulk].mean())

    d = drop(p)
    err = float("nan")
    nb = min(int(n_blocks), p.shape[0])
    if nb >= 2:
        vals = np.array([drop(b) for b in np.array_split(p, nb)])
        err = float(vals.std(ddof=1) / np.sqrt(nb))
    return Results(delta=d, error=err, phi_electrode=d + float(p.mean(axis=0)[bulk].mean()),
                   phi_bulk=float(p.mean(axis=0)[bulk].mean()), n_blocks=nb)
