"""WHAM and MBAR against exactly known PMFs.

Umbrella windows are drawn exactly from their biased Boltzmann distributions (inverse
CDF on a fine grid; no MD), so the only errors are statistical and those of binning. The
reference PMF is averaged over each bin exactly as the estimators define it."""

import numpy as np
import pytest

from mdzoom.core.units import KB
from mdzoom.plugins.qmmm.wham import (minimum_free_energy_path, mbar_pmf,
                                      statistical_inefficiency, wham)

T = 300.0
kT = KB * T
TOL = 0.5          # kJ/mol


def draw(logp, lo, hi, n, rng, grid=200_001):
    """n samples of the density exp(logp(x)) on [lo, hi] (piecewise-linear inverse CDF)."""
    x = np.linspace(lo, hi, grid)
    lp = logp(x)
    p = np.exp(lp - lp.max())
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
    return np.interp(rng.random(n), cdf / cdf[-1], x)


def windows_1d(w, jac, centers, k, n, lo, hi, seed, periodic=None):
    """Samples of P_k(ξ) ∝ J(ξ) exp(−(w(ξ) + ½k(ξ − ξ_k)²)/kT)."""
    rng = np.random.default_rng(seed)
    out = []
    for c in centers:
        def logp(x, c=c):
            d = x - c
            if periodic is not None:
                d = d - periodic * np.floor(d / periodic + 0.5)
            with np.errstate(divide="ignore"):
                return np.log(jac(x)) - (w(x) + 0.5 * k * d ** 2) / kT
        out.append(draw(logp, lo, hi, n, rng))
    return out


def bin_average(fn, edges, jac=lambda x: np.ones_like(x), sub=400):
    """−kT ln(∫_bin J exp(−w/kT) dξ / Δξ): the exact density PMF of each bin."""
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        x = np.linspace(a, b, sub + 1)
        out.append(np.trapezoid(jac(x) * np.exp(-fn(x) / kT), x) / (b - a))
    return -kT * np.log(np.array(out))


def max_error(W, exact, mask=None):
    """Largest |W − exact| after the best constant shift, over finite (masked) bins."""
    W, exact = np.asarray(W, dtype=float), np.asarray(exact, dtype=float)
    m = np.isfinite(W) & np.isfinite(exact)
    if mask is not None:
        m &= mask
    d = np.where(m, W, 0.0) - np.where(m, exact, 0.0)
    assert m.sum() > 10
    d = d[m] - d[m].mean()
    return float(np.abs(d).max())


def double_well(x):
    return 10.0 * (x ** 2 - 1.0) ** 2           # kJ/mol; barrier 10 kJ/mol ≈ 4 kT


@pytest.fixture(scope="module")
def dw_windows():
    centers = np.linspace(-1.6, 1.6, 25)
    return centers, 200.0, windows_1d(double_well, np.ones_like, centers, 200.0, 8000,
                                      -2.5, 2.5, seed=1)


def test_wham_double_well(dw_windows):
    centers, k, samples = dw_windows
    res = wham(samples, centers, k, temperature=T, bins=60, range=(-1.5, 1.5),
               n_bootstrap=20, seed=3)
    assert res.converged and res.method == "wham" and res.jacobian == "none"
    exact = bin_average(double_well, res.edges)
    err = max_error(res.W, exact)
    print(f"WHAM double well: max error {err:.3f} kJ/mol, {res.iterations} iterations")
    assert err < TOL
    # the barrier itself (x = 0 relative to the minima at ±1)
    i0, i1 = np.argmin(abs(res.x)), np.argmin(abs(res.x - 1.0))
    assert res.W[i0] - res.W[i1] == pytest.approx(exact[i0] - exact[i1], abs=TOL)
    # bootstrap errors: present, small, and of the size of the actual deviations
    assert res.dW.shape == res.W.shape and np.all(np.isfinite(res.dW))
    assert 0.01 < np.median(res.dW) < 0.3
    assert np.all((res.statistical_inefficiency >= 1) & (res.statistical_inefficiency < 2))
    assert res.f_windows.shape == (25,) and res.f_windows[0] == 0.0
    # symmetric well: symmetric window free energies
    np.testing.assert_allclose(res.f_windows, res.f_windows[::-1], atol=0.6)


def test_mbar_double_well_agrees(dw_windows):
    pytest.importorskip("pymbar")
    centers, k, samples = dw_windows
    res = mbar_pmf([s[:4000] for s in samples], centers, k, temperature=T, bins=60,
                   range=(-1.5, 1.5))
    err = max_error(res.W, bin_average(double_well, res.edges))
    print(f"MBAR double well: max error {err:.3f} kJ/mol")
    assert res.method == "mbar" and err < TOL
    assert np.all(np.isfinite(res.dW)) and np.median(res.dW) < 0.5
    ref = wham([s[:4000] for s in samples], centers, k, temperature=T, bins=60,
               range=(-1.5, 1.5))
    np.testing.assert_allclose(res.f_windows, ref.f_windows, atol=0.3)


@pytest.fixture(scope="module")
def pair_windows():
    """Distance r between two ideal particles: P(r) ∝ r² (0 < r < 1.5 nm)."""
    centers = np.linspace(0.15, 1.35, 16)
    return centers, 800.0, windows_1d(lambda r: 0 * r, lambda r: r ** 2, centers, 800.0,
                                      6000, 0.0, 1.5, seed=2)


@pytest.mark.parametrize("method", ["wham", "mbar"])
def test_ideal_pair_distance_jacobian(pair_windows, method):
    centers, k, samples = pair_windows
    if method == "mbar":
        pytest.importorskip("pymbar")
        samples = [s[:2000] for s in samples]
        fn = mbar_pmf
    else:
        fn = wham
    res = fn(samples, centers, k, temperature=T, bins=50, range=(0.2, 1.3),
             jacobian="distance")
    assert res.jacobian.startswith("distance") and res.jacobian_key == "distance"
    flat = max_error(res.W, np.zeros(res.x.size))
    raw = max_error(res.W_uncorrected, bin_average(lambda r: 0 * r, res.edges,
                                                   jac=lambda r: r ** 2))
    slope = np.polyfit(np.log(res.x), res.W_uncorrected, 1)[0]
    print(f"{method} ideal pair: corrected max |W − const| {flat:.3f}, raw max error "
          f"{raw:.3f} kJ/mol, raw slope vs ln r {slope / kT:.3f} kT")
    assert flat < TOL and raw < TOL
    assert slope == pytest.approx(-2 * kT, rel=0.05)       # raw W = −2kT ln r + c
    # applied once: the correction is exactly the bin-measure term
    d = res.W - res.W_uncorrected
    measure = 4 * np.pi / 3 * np.diff(res.edges ** 3) / np.diff(res.edges)
    assert max_error(d, kT * np.log(measure)) < 1e-9


@pytest.mark.parametrize("method", ["wham", "mbar"])
def test_free_polar_angle_jacobian(method):
    centers = np.linspace(0.15, np.pi - 0.15, 14)
    k = 150.0
    samples = windows_1d(lambda t: 0 * t, np.sin, centers, k, 6000 if method == "wham"
                         else 2000, 0.0, np.pi, seed=5)
    fn = wham
    if method == "mbar":
        pytest.importorskip("pymbar")
        fn = mbar_pmf
    res = fn(samples, centers, k, temperature=T, bins=40, range=(0.15, np.pi - 0.15),
             jacobian="polar")
    flat = max_error(res.W, np.zeros(res.x.size))
    raw = max_error(res.W_uncorrected, bin_average(lambda t: 0 * t, res.edges, jac=np.sin))
    print(f"{method} polar angle: corrected max |W − const| {flat:.3f}, raw max error "
          f"{raw:.3f} kJ/mol")
    assert flat < TOL and raw < TOL
    assert res.jacobian.startswith("polar")


def test_periodic_dihedral_windows_wrap():
    period = 2 * np.pi
    w = lambda p: 6.0 * (1 + np.cos(3 * p))                       # noqa: E731
    centers = np.linspace(-np.pi, np.pi, 24, endpoint=False)
    samples = windows_1d(w, np.ones_like, centers, 40.0, 5000, -np.pi, np.pi, seed=7,
                         periodic=period)
    # windows near ±π see samples on both sides of the cut
    res = wham(samples, centers, 40.0, temperature=T, bins=48, periodic=period)
    assert res.edges[0] == pytest.approx(-np.pi) and res.edges[-1] == pytest.approx(np.pi)
    err = max_error(res.W, bin_average(w, res.edges))
    print(f"WHAM periodic dihedral: max error {err:.3f} kJ/mol")
    assert err < TOL


def surface(x, y):
    """Two minima (±1, 0.8), saddle (0, 0) at 10 kJ/mol; (0, 0.8) lies 12.8 higher."""
    return 10.0 * (x ** 2 - 1.0) ** 2 + 20.0 * (y - 0.8 * x ** 2) ** 2


def bin_average_2d(fn, ex, ey, sub=20):
    """−kT ln(mean of exp(−w/kT) over each bin): the exact bin PMF in 2D."""
    fx = ex[0] + (np.arange(sub * (ex.size - 1)) + 0.5) * (ex[1] - ex[0]) / sub
    fy = ey[0] + (np.arange(sub * (ey.size - 1)) + 0.5) * (ey[1] - ey[0]) / sub
    X, Y = np.meshgrid(fx, fy, indexing="ij")
    b = np.exp(-fn(X, Y) / kT).reshape(ex.size - 1, sub, ey.size - 1, sub).mean(axis=(1, 3))
    return -kT * np.log(b)


@pytest.fixture(scope="module")
def windows_2d():
    rng = np.random.default_rng(11)
    gx = np.linspace(-2.0, 2.0, 801)
    gy = np.linspace(-1.2, 2.4, 721)
    X, Y = np.meshgrid(gx, gy, indexing="ij")
    cx, cy = np.meshgrid(np.linspace(-1.5, 1.5, 11), np.linspace(-0.3, 1.5, 9), indexing="ij")
    centers = np.stack([cx.ravel(), cy.ravel()], axis=1)
    k = (60.0, 60.0)
    dx, dy = gx[1] - gx[0], gy[1] - gy[0]
    samples = []
    for c in centers:
        u = surface(X, Y) + 0.5 * k[0] * (X - c[0]) ** 2 + 0.5 * k[1] * (Y - c[1]) ** 2
        p = np.exp(-(u - u.min()) / kT).ravel()
        cell = rng.choice(p.size, size=6000, p=p / p.sum())
        i, j = np.unravel_index(cell, X.shape)
        samples.append(np.stack([gx[i] + dx * (rng.random(i.size) - 0.5),
                                 gy[j] + dy * (rng.random(j.size) - 0.5)], axis=1))
    return centers, k, samples


def test_wham_2d_surface_and_minimum_free_energy_path(windows_2d):
    centers, k, samples = windows_2d
    res = wham(samples, centers, k, temperature=T, bins=(24, 18),
               range=((-1.5, 1.5), (-0.3, 1.5)))
    assert res.W.shape == (24, 18) and res.dim == 2
    exact = bin_average_2d(surface, *res.edges)
    region = (exact - exact.min() < 15.0) & (res.counts > 200)
    err = max_error(res.W, exact, region)
    print(f"WHAM 2D: max error {err:.3f} kJ/mol over {region.sum()} bins")
    assert err < TOL
    path = minimum_free_energy_path(res, (-1.0, 0.8), (1.0, 0.8))
    top = path.saddle
    print(f"MFEP: saddle at {top}, barrier {path.barrier:.2f} kJ/mol (exact 10)")
    assert abs(top[0]) < 0.15 and abs(top[1]) < 0.2          # passes the saddle (0, 0)
    assert path.barrier == pytest.approx(10.0, abs=1.5)
    assert np.abs(path.path[:, 1][np.abs(path.path[:, 0]) < 0.1]).max() < 0.2
    assert path.path[0] == pytest.approx((-1.0, 0.8), abs=0.1)


def test_mbar_2d_agrees_with_wham(windows_2d):
    pytest.importorskip("pymbar")
    centers, k, samples = windows_2d
    sub = [s[:600] for s in samples]
    kw = dict(temperature=T, bins=(15, 12), range=((-1.5, 1.5), (-0.3, 1.5)))
    m = mbar_pmf(sub, centers, k, n_bootstrap=10, seed=1, **kw)
    w = wham(sub, centers, k, n_bootstrap=10, seed=1, **kw)
    ok = np.isfinite(m.W) & np.isfinite(w.W) & (w.W < 15)
    assert ok.sum() > 50
    assert max_error(m.W, w.W, ok) < TOL
    # bootstrap errors in 2D: finite where sampled, and of WHAM's size (same data)
    both = ok & np.isfinite(m.dW) & np.isfinite(w.dW) & (w.dW > 0)
    assert both.sum() > 40
    ratio = np.median(m.dW[both] / w.dW[both])
    print(f"2D MBAR/WHAM bootstrap error ratio {ratio:.2f}")
    assert 0.5 < ratio < 2.0


def test_statistical_inefficiency_of_ar1():
    rng = np.random.default_rng(0)
    a, n = 0.9, 50_000
    x = np.empty(n)
    x[0] = 0
    noise = rng.normal(size=n)
    for t in range(1, n):
        x[t] = a * x[t - 1] + noise[t]
    g = statistical_inefficiency(x)
    assert g == pytest.approx((1 + a) / (1 - a), rel=0.25)        # 19
    assert statistical_inefficiency(rng.normal(size=5000)) < 1.3


def test_fast_enough_30_windows_1e5_samples():
    import time
    rng = np.random.default_rng(0)
    centers = np.linspace(-1.6, 1.6, 30)
    samples = [c + rng.normal(scale=0.1, size=100_000) for c in centers]
    t0 = time.perf_counter()
    res = wham(samples, centers, 250.0, temperature=T, bins=100)
    dt = time.perf_counter() - t0
    print(f"WHAM 30 windows x 1e5 samples: {dt:.2f} s, {res.iterations} iterations")
    assert res.converged and dt < 5.0


def test_bad_input_errors():
    s = [np.zeros(10) + 0.1, np.zeros(10) + 0.2]
    with pytest.raises(ValueError, match="2 windows need 2 centres"):
        wham(s, [0.1, 0.2, 0.3], 10.0, temperature=T)
    with pytest.raises(ValueError, match="unknown jacobian 'radial'; available: none"):
        wham(s, [0.1, 0.2], 10.0, temperature=T, jacobian="radial")
    with pytest.raises(ValueError, match="positive"):
        wham(s, [0.1, 0.2], -1.0, temperature=T)
    with pytest.raises(ValueError, match="window 1: samples contain NaN"):
        wham([s[0], np.array([0.1, np.nan])], [0.1, 0.2], 10.0, temperature=T)
    with pytest.raises(ValueError, match="no sample inside the histogram range"):
        wham(s, [0.1, 0.2], 10.0, temperature=T, range=(0.15, 0.3))


def test_mbar_without_pymbar_says_pip_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **kw):
        if name == "pymbar" or name.startswith("pymbar."):
            raise ImportError("no pymbar")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="pip install pymbar"):
        mbar_pmf([np.zeros(5), np.ones(5)], [0, 1], 10.0, temperature=T)


# --------------------------------------------------------------------------- mdzoom pmf


def pmf_main(monkeypatch, argv):
    """``mdzoom.core.cli.main(argv)`` with the ``pmf`` verb present (added here unless a
    plugin already registered it)."""
    import argparse

    from mdzoom.core import cli
    from mdzoom.plugins.qmmm.pmf_cli import add_pmf_command

    original = cli.build_parser

    def build_parser(plugin_manager=None):
        parser = original(plugin_manager)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "pmf" not in sub.choices:
            add_pmf_command(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", build_parser)
    return cli.main(argv)


def test_cli_pmf_from_window_files_and_index(dw_windows, tmp_path, monkeypatch, capsys):
    import json

    from mdzoom.plugins.qmmm.umbrella import write_cv_file, write_index
    centers, k, samples = dw_windows
    files = []
    for i, (c, s) in enumerate(zip(centers, samples)):
        f = tmp_path / f"w{i:02d}.dat"
        write_cv_file(f, np.arange(s.size) * 10, np.arange(s.size) * 0.02, s,
                      name=f"w{i:02d}", center=c, k=k, temperature=T)
        files.append(f)
    out = tmp_path / "out" / "pmf"
    status = pmf_main(monkeypatch, ["pmf", *map(str, files), "--bins", "60", "--range",
                                    "-1.5", "1.5", "--bootstrap", "5", "-o", str(out)])
    assert status == 0
    said = capsys.readouterr().out
    assert "WHAM PMF of 25 windows at 300 K" in said and "pmf.png" in said
    rows = np.genfromtxt(out.with_suffix(".csv"), delimiter=",", names=True)
    err = max_error(rows["W_kJ_mol"], bin_average(double_well, np.linspace(-1.5, 1.5, 61)))
    assert err < TOL
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["method"] == "wham" and meta["temperature_K"] == T
    assert len(meta["window_free_energies_kJ_mol"]) == 25
    assert out.with_suffix(".png").stat().st_size > 5000
    # the same windows through an index TOML, with MBAR and a Jacobian label
    index = write_index(tmp_path / "umbrella.toml", [
        {"file": f, "center": c, "k": k} for f, c in zip(files, centers)], temperature=T)
    if __import__("importlib").util.find_spec("pymbar") is not None:
        status = pmf_main(monkeypatch, ["pmf", str(index), "--method", "mbar", "--bins", "30",
                                        "--range", "-1.5", "1.5", "--discard", "6000",
                                        "-o", str(tmp_path / "m"), "--no-plot"])
        assert status == 0
        rows = np.genfromtxt(tmp_path / "m.csv", delimiter=",", names=True)
        assert max_error(rows["W_kJ_mol"], bin_average(double_well,
                                                       np.linspace(-1.5, 1.5, 31))) < TOL
        assert not (tmp_path / "m.png").exists()


def test_cli_pmf_2d_map_and_path(windows_2d, tmp_path, monkeypatch, capsys):
    import json

    from mdzoom.plugins.qmmm.umbrella import write_cv_file
    centers, k, samples = windows_2d
    files = []
    for i, (c, s) in enumerate(zip(centers, samples)):
        f = tmp_path / f"w{i:03d}.dat"
        write_cv_file(f, np.arange(1500), np.arange(1500) * 0.1, s[:1500], center=c, k=k)
        files.append(f)
    status = pmf_main(monkeypatch, ["pmf", *map(str, files), "-T", "300", "--bins", "24",
                                    "18", "--range", "-1.5", "1.5", "-0.3", "1.5",
                                    "--bootstrap", "0", "-o", str(tmp_path / "map")])
    assert status == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "map.json").read_text())
    path = meta["minimum_free_energy_path"]
    assert abs(path["saddle"][0]) < 0.2 and abs(path["saddle"][1]) < 0.25
    ends = np.array(path["points"])[[0, -1]]
    np.testing.assert_allclose(np.sort(ends[:, 0]), [-1.0, 1.0], atol=0.2)
    assert (tmp_path / "map.png").stat().st_size > 5000
    assert "minimum free-energy path: barrier" in capsys.readouterr().out


def test_cli_pmf_user_errors(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "w.dat"
    bad.write_text("# center: 0.5\n0 0.0 0.51\n1 0.1 0.49\n")
    assert pmf_main(monkeypatch, ["pmf", str(bad), "-T", "300"]) == 1
    assert "w.dat: no k (expected a '# k: …' header line" in capsys.readouterr().err
    bad.write_text("# center: 0.5\n# k: 100\n0 0.0 0.51\n1 0.1 abc\n")
    assert pmf_main(monkeypatch, ["pmf", str(bad), "-T", "300"]) == 1
    assert "w.dat:4: expected numbers" in capsys.readouterr().err
    bad.write_text("# center: 0.5\n# k: 100\n0 0.0 0.51\n1 0.1 0.49\n")
    assert pmf_main(monkeypatch, ["pmf", str(bad)]) == 1
    assert "no temperature: give --temperature" in capsys.readouterr().err
    assert pmf_main(monkeypatch, ["pmf", str(tmp_path / "missing.dat"), "-T", "300"]) == 1
    assert "missing.dat" in capsys.readouterr().err
    idx = tmp_path / "u.toml"
    idx.write_text('temperature = 300.0\n[[windows]]\ncenter = 0.5\nk = 10.0\n')
    assert pmf_main(monkeypatch, ["pmf", str(idx)]) == 1
    assert "u.toml: [[windows]] #1 has no 'file'" in capsys.readouterr().err
