"""Φ(z) from charges and from histograms: analytic cases of notes §8.5 (no MD)."""

import numpy as np
import pytest

from mdzoom.plugins.electrode.profiles import (INV_EPS0_V, charge_density,
                                               potential_drop, potential_from_charges,
                                               potential_from_density)

BOX = np.array([2.0, 2.5, 8.0])
AREA = 5.0


def neutral_slab(n=200, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform([0, 0, 2.0], [2.0, 2.5, 4.0], (n, 3))
    q = rng.normal(0, 0.5, n)
    q -= q.mean()
    return x, q


def test_constant_is_the_textbook_value():
    assert INV_EPS0_V == pytest.approx(18.0951, abs=1e-4)


def test_histogram_potential_equals_point_charge_formula():
    x, q = neutral_slab()
    rho = charge_density(x, q, BOX, bin_width=0.0005)
    phi = potential_from_density(rho.edges, rho.rho, boundary="vacuum")
    ref = potential_from_charges(rho.edges, x, q, BOX)[0]
    ref -= ref[0]                                   # same reference: Φ = 0 at z = 0
    scale = np.ptp(ref)
    assert scale > 0.5                              # a real profile, volts
    assert np.abs(phi - ref).max() < 2e-3 * scale   # binning error only
    # vacuum boundary: no field outside a neutral slab
    out = (rho.edges > 4.05)
    assert np.ptp(phi[out]) < 1e-9
    # the binning error shrinks with the bin
    coarse = charge_density(x, q, BOX, bin_width=0.01)
    phic = potential_from_density(coarse.edges, coarse.rho)
    refc = potential_from_charges(coarse.edges, x, q, BOX)[0]
    assert np.abs(phic - (refc - refc[0])).max() > np.abs(phi - ref).max()


def test_dipole_layer_gives_a_step_p_over_eps0():
    n, qd, d = 50, 0.4, 0.1
    rng = np.random.default_rng(2)
    xy = rng.uniform([0, 0], [2.0, 2.5], (n, 2))
    top = np.column_stack([xy, np.full(n, 4.0 + d / 2)])
    bottom = np.column_stack([xy, np.full(n, 4.0 - d / 2)])
    x = np.vstack([top, bottom])
    q = np.concatenate([np.full(n, qd), np.full(n, -qd)])
    z = np.array([1.0, 7.0])
    phi = potential_from_charges(z, x, q, BOX)[0]
    p = n * qd * d / AREA                           # e/nm, pointing +z
    assert phi[1] - phi[0] == pytest.approx(p * INV_EPS0_V, rel=1e-12)


def test_empty_capacitor_drop_and_field():
    sigma, d = 0.3, 1.5                             # e/nm², nm
    n = 40
    rng = np.random.default_rng(3)
    xy = rng.uniform([0, 0], [2.0, 2.5], (2 * n, 2))
    x = np.column_stack([xy, np.r_[np.full(n, 3.0), np.full(n, 3.0 + d)]])
    q = np.r_[np.full(n, sigma * AREA / n), np.full(n, -sigma * AREA / n)]
    rho = charge_density(x, q, BOX, bin_width=0.001)
    phi = potential_from_density(rho.edges, rho.rho)
    drop = np.interp(3.0, rho.edges, phi) - np.interp(3.0 + d, rho.edges, phi)
    assert drop == pytest.approx(sigma * d * INV_EPS0_V, rel=1e-3)
    inside = (rho.edges > 3.2) & (rho.edges < 4.3)
    field = -np.polyfit(rho.edges[inside], phi[inside], 1)[0]
    assert field == pytest.approx(sigma * INV_EPS0_V, rel=1e-9)


def test_periodic_boundary_closes_the_potential():
    x, q = neutral_slab()
    x[:, 2] += 0.4                                   # the dipole of the cell is not zero
    rho = charge_density(x, q, BOX, bin_width=0.002)
    per = potential_from_density(rho.edges, rho.rho, boundary="periodic")
    vac = potential_from_density(rho.edges, rho.rho, boundary="vacuum")
    assert per[-1] == pytest.approx(per[0], abs=1e-12)
    assert abs(vac[-1] - vac[0]) > 1e-3
    # the tin-foil field E(0) = (1/(ε₀L))∫zρ dz (notes §8.3); above the neutral slab
    # E = E(0), so dΦ/dz = −E(0) there
    mz_hist = (rho.rho * rho.z).sum() * rho.bin_width       # ∫zρ of the histogram
    assert mz_hist == pytest.approx((x[:, 2] * q).sum() / AREA, rel=1e-2)
    slope = (per[-1] - per[-2]) / rho.bin_width
    assert slope == pytest.approx(-mz_hist * INV_EPS0_V / BOX[2], rel=1e-9)
    with pytest.raises(ValueError, match="boundary"):
        potential_from_density(rho.edges, rho.rho, boundary="tinfoil")


def test_mirror_symmetric_cell_has_equal_drops():
    """Two identical electrodes and a mirror-symmetric electrolyte: equal drops, zero
    cell voltage (notes §8.5, 4)."""
    rng = np.random.default_rng(4)
    frames = []
    for _ in range(20):
        half = rng.uniform([0, 0, 1.0], [2.0, 2.5, 4.0], (60, 3))
        mirror = half * [1, 1, -1] + [0, 0, 8.0]
        frames.append(np.vstack([half, mirror]))
    q = np.tile(rng.normal(0, 0.3, 60), 2)
    q[:60] -= q[:60].mean()
    q[60:] = q[:60]
    z = np.linspace(0.0, 8.0, 801)
    phi = potential_from_charges(z, np.array(frames), q, BOX)
    left = potential_drop(z, phi, 1.0, (3.8, 4.2))
    right = potential_drop(z, phi, 7.0, (3.8, 4.2))
    assert left.delta == pytest.approx(right.delta, abs=1e-9)
    assert np.isfinite(left.error) and left.n_blocks == 5
    assert np.isnan(potential_drop(z, phi[:1], 1.0, (3.8, 4.2)).error)   # one frame


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        charge_density(np.zeros((3, 2)), np.zeros(3), BOX)
    with pytest.raises(ValueError, match="charges"):
        charge_density(np.zeros((3, 3)), np.zeros(2), BOX)
    with pytest.raises(ValueError, match="bulk range"):
        potential_drop(np.linspace(0, 1, 5), np.zeros(5), 0.5, (2, 3))
