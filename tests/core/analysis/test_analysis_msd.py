"""MSD, diffusion coefficients, Yeh–Hummer correction and VACF: exact limits and
cross-checks (direct O(T²) MSD, MDAnalysis' EinsteinMSD)."""

import numpy as np
import pytest

from mdzoom.core.analysis import (NM2_PER_PS_IN_CM2_PER_S, autocorrelation_fft, msd,
                                  msd_fft, vacf, yeh_hummer_correction)
from mdzoom.core.analysis.diffusion import YEH_HUMMER_XI


def direct_msd(x):
    """O(T²) MSD over all time origins; x (T, M, d) → (T,) mean over items."""
    n = x.shape[0]
    out = np.zeros(n)
    for m in range(1, n):
        out[m] = np.mean(np.sum((x[m:] - x[:-m]) ** 2, axis=-1))
    return out


def random_walk(rng, n_t, n, d_coef, dt=1.0, dims=3):
    return np.cumsum(rng.normal(0.0, np.sqrt(2 * d_coef * dt), (n_t, n, dims)), axis=0)


def test_fft_msd_equals_direct_msd():
    rng = np.random.default_rng(0)
    x = random_walk(rng, 97, 6, 0.05) + 3.0          # odd length, offset positions
    np.testing.assert_allclose(msd_fft(x).mean(axis=1), direct_msd(x), rtol=1e-10,
                               atol=1e-12)
    res = msd((x, 0.5 * np.arange(97), None), dims="xz")
    np.testing.assert_allclose(res.msd, direct_msd(x[:, :, [0, 2]]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.times, 0.5 * np.arange(97))


def test_autocorrelation_fft_equals_direct_sum():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3, 2))
    ac = autocorrelation_fft(x)
    for m in (0, 1, 7, 39):
        np.testing.assert_allclose(ac[m], np.sum(x[:40 - m] * x[m:], axis=(0, 2)),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dims, d", [("xyz", 3), ("xy", 2), ("z", 1)])
def test_free_brownian_particles_give_msd_2dDt(dims, d):
    rng = np.random.default_rng(10 + d)
    d_true, dt = 0.02, 2.0                               # nm²/ps, ps
    x = random_walk(rng, 400, 1500, d_true, dt)
    res = msd((x, dt * np.arange(400), None), dims=dims)
    assert res.ndim == d and res.dims == dims
    assert res.fit_window == pytest.approx((0.1 * 798.0, 0.5 * 798.0), abs=dt)
    assert abs(res.D - d_true) < 4 * res.D_err
    assert res.D_err < 0.03 * d_true
    assert res.D == pytest.approx(res.D_items.mean(), rel=1e-12)  # fit is linear in MSD
    lag = res.times[1:200]
    assert np.all(np.abs(res.msd[1:200] - 2 * d * d_true * lag) < 5 * res.msd_err[1:200])
    assert res.loglog_slope == pytest.approx(1.0, abs=0.05)
    assert "10 %–50 %" in res.note and "D_err" in res.note
    assert "D_scaled" not in res and "D_raw" not in res


def test_ballistic_motion_gives_v2t2():
    rng = np.random.default_rng(2)
    v = rng.normal(0.0, 0.3, (20, 3))
    t = 0.1 * np.arange(50)
    x = 1.0 + t[:, None, None] * v[None]
    res = msd((x, t, None))
    np.testing.assert_allclose(res.msd, np.mean(np.sum(v ** 2, axis=1)) * t ** 2,
                               rtol=1e-10, atol=1e-14)
    assert res.loglog_slope == pytest.approx(2.0, abs=1e-6)
    assert "not diffusive" in res.note


def test_units_of_D():
    # 1 nm²/ps = (1e-7 cm)² / 1e-12 s = 1e-2 cm²/s
    assert NM2_PER_PS_IN_CM2_PER_S == pytest.approx((1e-7) ** 2 / 1e-12)
    rng = np.random.default_rng(3)
    d_true = 0.0023                                       # water: 2.3e-5 cm²/s
    res = msd((random_walk(rng, 200, 500, d_true), np.arange(200.0), None))
    assert res.D_1e5_cm2_s == pytest.approx(res.D * 1e3, rel=1e-12)
    assert res.D_err_1e5_cm2_s == pytest.approx(res.D_err * 1e3, rel=1e-12)
    assert abs(res.D_1e5_cm2_s - 2.3) < 4 * res.D_err_1e5_cm2_s


def test_group_centres_of_mass_with_masses():
    rng = np.random.default_rng(4)
    n_t, n_g = 150, 8
    com = random_walk(rng, n_t, n_g, 0.01)
    a = rng.normal(0.0, 0.2, (n_t, n_g, 3))               # internal motion
    x = np.empty((n_t, 2 * n_g, 3))
    x[:, 0::2] = com + 3 * a                              # mass 1
    x[:, 1::2] = com - a                                  # mass 3 → COM = com
    masses = np.tile([1.0, 3.0], n_g)
    groups = [np.array([2 * k, 2 * k + 1]) for k in range(n_g)]
    res = msd((x, np.arange(n_t) * 1.0, None), groups=groups, masses=masses)
    np.testing.assert_allclose(res.msd, direct_msd(com), rtol=1e-10, atol=1e-12)
    assert res.n_items == n_g and res.error_method == "items"
    plain = msd((x, np.arange(n_t) * 1.0, None), groups=groups)   # centres of geometry
    assert not np.allclose(plain.msd, res.msd)


def test_per_leaflet_reference_drift_removal():
    rng = np.random.default_rng(6)
    n_t, n = 200, 40
    t = np.arange(n_t) * 1.0
    x = random_walk(rng, n_t, n, 0.01)
    drift = np.zeros((n_t, n, 3))
    drift[:, :20, 0] = 0.05 * t[:, None]                  # upper leaflet slides +x
    drift[:, 20:, 0] = -0.05 * t[:, None]                 # lower leaflet slides −x
    leaflets = [np.arange(20), np.arange(20, n)]
    res = msd((x + drift, t, None), dims="xy", reference_groups=leaflets)
    expect = x.copy()
    for g in leaflets:
        c = x[:, g].mean(axis=1, keepdims=True)
        expect[:, g] -= c - c[0]
    np.testing.assert_allclose(res.msd, direct_msd(expect[:, :, :2]), rtol=1e-9, atol=1e-12)
    assert "reference group" in res.note
    raw = msd((x + drift, t, None), dims="xy")
    assert raw.D > 5 * res.D
    with pytest.raises(ValueError, match="no reference group"):
        msd((x, t, None), reference_groups=[np.arange(10), np.arange(10, 20)])


def test_speedup_reports_raw_and_scaled():
    rng = np.random.default_rng(7)
    res = msd((random_walk(rng, 100, 50, 0.01), np.arange(100.0), None), speedup=4)
    assert res.D_raw == res.D
    assert res.D_scaled == pytest.approx(res.D_raw / 4)
    assert res.D_scaled_err == pytest.approx(res.D_err / 4)
    assert "conventional" in res.scaling_note and "D_raw" in res.scaling_note


def test_fit_window_errors_and_single_item_blocks():
    rng = np.random.default_rng(8)
    x = random_walk(rng, 200, 1, 0.01)
    res = msd((x, np.arange(200.0), None), fit_window=(20, 60))
    assert res.fit_window == (20.0, 60.0) and "given by the caller" in res.note
    assert res.error_method == "blocks" and np.isfinite(res.D_err) and res.D_err > 0
    with pytest.raises(ValueError, match="needs at least 2"):
        msd((x, np.arange(200.0), None), fit_window=(500, 600))
    with pytest.raises(ValueError, match="equally spaced"):
        msd((x, np.r_[np.arange(199.0), 300.0], None))
    with pytest.raises(ValueError, match="dims"):
        msd(x, dims="xq")


def test_msd_through_unwrapping_of_a_wrapped_trajectory():
    rng = np.random.default_rng(9)
    x = random_walk(rng, 300, 30, 0.01) + 1.0
    box = np.diag([2.0, 2.0, 2.0])
    wrapped = x - np.floor(x / 2.0) * 2.0
    res = msd((wrapped, np.arange(300.0), box))
    np.testing.assert_allclose(res.msd, direct_msd(x), rtol=1e-9, atol=1e-12)


def test_agrees_with_mdanalysis_einstein_msd():
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.analysis.msd import EinsteinMSD
    from MDAnalysis.coordinates.memory import MemoryReader

    rng = np.random.default_rng(11)
    x = (random_walk(rng, 300, 30, 0.02) + 5.0).astype(np.float32)
    u = mda.Universe.empty(30, trajectory=True)
    u.load_new(x.copy(), format=MemoryReader, dt=2.0)
    for dims in ("xyz", "xy", "z"):
        ref = EinsteinMSD(u, select="all", msd_type=dims, fft=False).run()
        res = msd((x.astype(np.float64), 2.0 * np.arange(300), None), dims=dims)
        np.testing.assert_allclose(res.msd[1:], ref.results.timeseries[1:], rtol=1e-6)
        np.testing.assert_allclose(res.times, ref.results.delta_t_values)


def test_yeh_hummer_correction_in_si_units():
    kb_si, t, eta, box = 1.380649e-23, 298.15, 0.89e-3, 3.0e-9      # J/K, K, Pa s, m
    corr_si = kb_si * t * YEH_HUMMER_XI / (6 * np.pi * eta * box)   # m²/s
    corr = corr_si * 1e18 / 1e12                                    # nm²/ps
    assert corr == pytest.approx(2.32065e-4, rel=1e-5)
    assert yeh_hummer_correction(0.0, 3.0, 298.15, 0.89) == pytest.approx(corr, rel=1e-6)
    d = np.array([1e-3, 2e-3])
    np.testing.assert_allclose(yeh_hummer_correction(d, 3.0, 298.15, 0.89), d + corr,
                               rtol=1e-6)
    assert YEH_HUMMER_XI == 2.837297


def test_vacf_and_green_kubo_of_an_ornstein_uhlenbeck_velocity():
    rng = np.random.default_rng(12)
    n_t, n, dt, gamma, sigma2 = 3000, 200, 0.01, 10.0, 0.5     # ps, 1/ps, nm²/ps²
    a = np.exp(-gamma * dt)
    v = np.empty((n_t, n, 3))
    v[0] = rng.normal(0.0, np.sqrt(sigma2), (n, 3))
    noise = rng.normal(0.0, np.sqrt(sigma2 * (1 - a * a)), (n_t, n, 3))
    for k in range(1, n_t):
        v[k] = a * v[k - 1] + noise[k]
    t = dt * np.arange(n_t)
    res = vacf((np.zeros_like(v), t, None), velocities=v, integrate_to=1.0)
    np.testing.assert_allclose(res.vacf[:30], 3 * sigma2 * a ** np.arange(30), rtol=0.03,
                               atol=0.01)
    # ∫₀^1ps σ² e^{−γτ} dτ per dimension; trapezoid error (γ dt)²/12 ≈ 1e-3
    assert res.D == pytest.approx(sigma2 / gamma * (1 - np.exp(-gamma)), rel=0.05)
    direct = np.mean(np.sum(v[:-5] * v[5:], axis=-1))
    assert res.vacf[5] == pytest.approx(direct, rel=1e-10)
    with pytest.raises(ValueError, match="velocities"):
        vacf((v, t, None))


def test_registered_as_plugin_analyses():
    from mdzoom.core import PluginManager
    from mdzoom.core.analysis import block_average, p2_bond_order, scd

    reg = PluginManager(entry_points=False).registry
    assert reg.get_analysis("msd") is msd
    assert reg.get_analysis("vacf") is vacf
    assert reg.get_analysis("scd") is scd
    assert reg.get_analysis("p2") is p2_bond_order
    assert reg.get_analysis("block-average") is block_average
