"""PMF from histograms: the Jacobians of a distance (4πr²) and of a polar angle (sin θ)
on samples with exact answers, reference choices, and the block errors."""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.analysis import bin_measure, pmf_from_histogram
from mdzoom.core.units import KB

T = 300.0
KT = KB * T


def _offset_free(f, ref, err):
    """f − ref after removing their best (error-weighted) constant offset."""
    d = f - ref
    w = 1.0 / err ** 2
    return d - np.sum(d * w) / np.sum(w)


def test_distance_of_an_isotropic_gaussian():
    """x ~ N(0, σ²) in 3D: P(r) ∝ r² exp(−r²/2σ²), so with the 4πr² Jacobian
    F(r) = k r²/2 with k = kT/σ², and without it F = k r²/2 − 2kT ln r."""
    sigma = 0.1                                            # nm
    rng = np.random.default_rng(0)
    r = np.linalg.norm(rng.normal(0, sigma, (400_000, 3)), axis=1)
    edges = np.linspace(0.0, 0.3, 31)
    res = pmf_from_histogram(r, edges, T, coordinate="distance", n_blocks=20)
    k = KT / sigma ** 2
    assert "4πr²" in res.jacobian and res.coordinate == "distance"
    assert np.nanmin(res.F) == 0.0
    ok = res.counts > 1000
    dev = _offset_free(res.F[ok], 0.5 * k * res.x[ok] ** 2, res.F_err[ok])
    # bin averaging of a curved w costs < 0.01 kJ/mol here; the rest is statistics
    assert np.all(np.abs(dev) < 4 * res.F_err[ok] + 0.01), dev / res.F_err[ok]
    assert np.mean((dev / res.F_err[ok]) ** 2) < 3.0        # errors of the right size
    raw = 0.5 * k * res.x ** 2 - 2 * KT * np.log(res.x)
    dev_raw = _offset_free(res.F_uncorrected[ok], raw[ok], res.F_err[ok])
    assert np.all(np.abs(dev_raw) < 4 * res.F_err[ok] + 0.03)
    # turning the correction off gives the uncorrected profile
    off = pmf_from_histogram(r, edges, T, coordinate="distance", jacobian=False)
    assert off.jacobian == "none"
    np.testing.assert_allclose(off.F, res.F_uncorrected)


def test_uniform_directions_give_a_flat_polar_profile():
    rng = np.random.default_rng(1)
    u = rng.normal(size=(300_000, 3))
    theta = np.arccos(u[:, 2] / np.linalg.norm(u, axis=1))
    res = pmf_from_histogram(theta, 36, T, coordinate="polar_angle")
    assert res.edges[0] == 0.0 and res.edges[-1] == pytest.approx(np.pi)
    flat = _offset_free(res.F, np.zeros_like(res.F), res.F_err)
    assert np.all(np.abs(flat) < 4 * res.F_err)              # flat within the errors
    assert np.ptp(res.F) < 0.25                              # kJ/mol (kT = 2.49)
    # without the correction: −kT ln sin θ (bin-averaged: the zone area over the width)
    shape = -KT * np.log(bin_measure(res.edges, "polar_angle") / np.diff(res.edges))
    dev = _offset_free(res.F_uncorrected, shape, res.F_err)
    assert np.all(np.abs(dev) < 4 * res.F_err)
    assert np.ptp(res.F_uncorrected) > 2 * KT                # the raw shape is large
    # degrees: the same profile
    deg = pmf_from_histogram(np.degrees(theta), 36, T, coordinate="polar_angle",
                             angle_unit="degree")
    assert deg.edges[-1] == pytest.approx(180.0)
    np.testing.assert_allclose(deg.F, res.F, atol=1e-9)


def test_generic_coordinate_references_and_histogram_input():
    """A harmonic coordinate x ~ N(0, s²): F = kT x²/(2 s²), no Jacobian."""
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 0.2, 200_000)
    res = pmf_from_histogram(x, np.linspace(-0.6, 0.6, 25), T)
    assert res.jacobian == "none"
    exact = KT * res.x ** 2 / (2 * 0.04)
    ok = res.counts > 500
    dev = _offset_free(res.F[ok], exact[ok], res.F_err[ok])
    assert np.all(np.abs(dev) < 4 * res.F_err[ok] + 0.02)
    at = pmf_from_histogram(x, np.linspace(-0.6, 0.6, 25), T, reference=0.3)
    assert at.F[np.argmin(np.abs(at.x - 0.3))] == 0.0
    rng_ref = pmf_from_histogram(x, np.linspace(-0.6, 0.6, 25), T, reference=(0.2, 0.4))
    sel = (rng_ref.x >= 0.2) & (rng_ref.x <= 0.4)
    assert rng_ref.F[sel].mean() == pytest.approx(0.0, abs=1e-12)
    # a histogram in, the same profile out (no errors from one histogram)
    counts, edges = np.histogram(x, np.linspace(-0.6, 0.6, 25))
    h = pmf_from_histogram((counts, edges), T=T)
    np.testing.assert_allclose(h.F, res.F)
    assert h.F_err is None and "single histogram" in h.error_method
    # per-block histograms in: errors from them
    blocks = np.array([np.histogram(p, edges)[0] for p in np.array_split(x, 10)])
    hb = pmf_from_histogram((blocks, edges), T=T)
    np.testing.assert_allclose(hb.F_err, res.F_err)
    # weights: a weight exp(+x²/2s²)·exp(−x²/2s'²) reweights to width s'
    w = np.exp(x ** 2 / 0.08 - x ** 2 / 0.18)
    rw = pmf_from_histogram(x, np.linspace(-0.4, 0.4, 17), T, weights=w)
    exact_w = KT * rw.x ** 2 / 0.18
    assert np.all(np.abs(_offset_free(rw.F, exact_w, rw.F_err)) < 5 * rw.F_err + 0.05)


def test_empty_bins_and_errors():
    x = np.r_[np.zeros(100) + 0.05, np.zeros(100) + 0.95]
    res = pmf_from_histogram(x, np.linspace(0, 1, 11), T, n_blocks=0)
    assert np.isinf(res.F[3]) and res.F_err is None and res.F[0] == pytest.approx(0, abs=1e-12)
    with pytest.raises(ValueError, match="generic, distance, polar_angle"):
        pmf_from_histogram(x, 10, T, coordinate="dihedral")
    with pytest.raises(ValueError, match="0…π"):
        pmf_from_histogram(x * 5, 10, T, coordinate="polar_angle", range=(0, 5))
    assert mz.get_plugin_manager().registry.get_analysis("pmf") is pmf_from_histogram
