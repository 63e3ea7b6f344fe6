"""TST rates from a PMF, Bennett–Chandler κ, Kramers and brute force on a 1D double well.

Model: one particle (m = 1 amu) in U(x) = ΔU((x/a)² − 1)², a = 1 nm, ΔU = 5 kT with
kT = 1 kJ/mol (T = 1/k_B), ω_b = sqrt(4ΔU/(m a²)) ≈ 4.47/ps, under Langevin dynamics
(numba BAOAB, dt = 5 fs). The exact PMF along x is U itself.

Error models: κ(t) and the plateau κ from pairs of forward/backward shots (delta method
and bootstrap over pairs); brute-force rates from one long trajectory, Poisson error
k/√n on the n well-to-well transitions; κ·k_TST carries κ's relative error (k_TST of the
exact PMF has none). Agreement is asserted within 3 combined standard errors. Kramers'
κ = sqrt(1 + (γ/2ω_b)²) − γ/2ω_b is compared with the *exact* k_TST (its harmonic-well
ω_a/2π prefactor is 5 % high at 5 kT — checked separately within its O(kT/ΔU) error).

Measured with 40 000 shots (seed 11): γ = 5/ps κ = 0.582 ± 0.003 (Kramers 0.587),
κ·k_TST = 3.750e-3 /ps vs brute force 3.70e-3 ± 0.05e-3 /ps (5549 transitions);
γ = 50/ps κ = 0.088 ± 0.004 (Kramers 0.0887, ω_b/γ = 0.0894), κ·k_TST = 5.69e-4 vs
brute force 5.47e-4 ± 0.14e-4 /ps.
"""

import argparse
import functools
import json
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from scipy import integrate

import mdzoom.core as mz
from mdzoom.core.analysis.pmf import pmf_from_histogram
from mdzoom.core.results import Results
from mdzoom.plugins.qmmm.rate_cli import add_rate_command, read_pmf_file
from mdzoom.plugins.qmmm.rates import (kramers_kappa, kramers_rate, mean_abs_velocity,
                                       mean_sqrt_z, tst_analysis, tst_rate)
from mdzoom.plugins.qmmm.reactive_flux import (DoubleWellLangevin, EnginePropagator,
                                               load_kappa, save_kappa,
                                               transmission_coefficient)

KT = 1.0
T = KT / mz.KB
DU = 5.0 * KT
XI = np.linspace(-2.0, 2.0, 2001)


class XCoord:
    """ξ = c·x of particle 0 [nm]; the CV protocol of mdzoom.plugins.qmmm.cv."""

    def __init__(self, c=1.0):
        self.c = c

    def value(self, positions, box):
        return float(self.c * positions[0, 0])

    def gradient(self, positions, box):
        g = np.zeros_like(positions)
        g[0, 0] = self.c
        return self.value(positions, box), g

    def values(self, frames, box):          # vectorised over frames (optional)
        return self.c * frames[:, 0, 0]


def model(friction, **kw):
    return DoubleWellLangevin(barrier=DU, a=1.0, mass=1.0, temperature=T, friction=friction,
                              dt=0.005, stride=2, **kw)


def k_tst(xi_star):
    dw = model(1.0)
    return tst_rate(XI, dw.potential(XI), T, reactant=(-2.0, xi_star), barrier=xi_star,
                    mass=1.0)


@functools.lru_cache(maxsize=None)
def kappa_run(friction, xi_star=0.0, n_shots=4000, t_max=2.0, seed=1):
    config = np.array([[[xi_star, 0.0, 0.0]]])
    return transmission_coefficient(config, model(friction), XCoord(), [1.0], T, xi_star,
                                    t_max, n_shots, seed)


@functools.lru_cache(maxsize=None)
def brute(friction, t_total, seed=3):
    return model(friction).brute_force_rate(t_total, seed=seed)


# --------------------------------------------------------------------------- TST
def test_tst_rate_equals_the_quadrature_formula_and_the_harmonic_limit():
    dw = model(1.0)
    k = tst_rate(XI, dw.potential(XI), T, reactant=(-2.0, 0.0), mass=1.0)   # barrier found
    z = integrate.quad(lambda x: np.exp(-dw.potential(x) / KT), -2.0, 0.0)[0]
    exact = np.sqrt(2 * KT / (np.pi * 1.0)) / 2 * np.exp(-DU / KT) / z
    assert k == pytest.approx(exact, rel=1e-4)      # trapezoid, 2 pm grid
    # harmonic-well limit: 20 kT barrier, within its O(kT/ΔU) error
    hi = DoubleWellLangevin(barrier=20 * KT, temperature=T)
    k_hi = tst_rate(XI, hi.potential(XI), T, reactant=(-2.0, 0.0), mass=1.0)
    harm = hi.omega_a / (2 * np.pi) * np.exp(-20.0)
    assert abs(k_hi / harm - 1) < KT / (20 * KT)
    assert kramers_rate(hi.omega_b, 0.0, barrier_height=20 * KT, temperature=T,
                        omega_a=hi.omega_a) == pytest.approx(harm, rel=1e-12)


def test_tst_is_invariant_under_shift_and_rescaling_of_the_coordinate():
    dw = model(1.0)
    w = dw.potential(XI)
    base = tst_rate(XI, w, T, reactant=(-2.0, 0.0), barrier=0.0, mass=1.0)
    assert tst_rate(XI, w + 17.0, T, reactant=(-2.0, 0.0), barrier=0.0,
                    mass=1.0) == pytest.approx(base, rel=1e-12)
    # ξ = 3x: P(ξ) = P(x)/3 (W + kT ln 3), Z = 9/m, same physical rate
    cv = XCoord(3.0)
    zs, zerr = mean_sqrt_z(np.zeros((5, 1, 3)), cv, [1.0])
    assert zs == pytest.approx(3.0) and zerr == pytest.approx(0.0, abs=1e-12)
    k3 = tst_rate(3 * XI, w + KT * np.log(3.0), T, reactant=(-6.0, 0.0), barrier=0.0,
                  z_mean_sqrt=zs)
    assert k3 == pytest.approx(base, rel=1e-9)
    assert mean_abs_velocity(T, mass=4.0) == pytest.approx(
        mean_abs_velocity(T, z_mean_sqrt=0.5))


def test_tst_reads_pmf_results_and_refuses_a_jacobian_corrected_pmf():
    rng = np.random.default_rng(0)
    r = np.abs(rng.normal(1.0, 0.4, 20000)) + 0.05
    pmf = pmf_from_histogram(r, bins=40, T=T, coordinate="distance")
    assert pmf.jacobian != "none"
    a = tst_analysis(pmf, reactant=(0.1, 0.9), barrier=1.6, mass=10.0)   # T from pmf
    b = tst_analysis(pmf.x, pmf.F_uncorrected, T, dW=pmf.F_err, reactant=(0.1, 0.9),
                     barrier=1.6, mass=10.0)
    assert a.k == pytest.approx(b.k, rel=1e-12) and a.k_err == pytest.approx(b.k_err)
    c = tst_analysis(pmf.x, pmf.F, T, reactant=(0.1, 0.9), barrier=1.6, mass=10.0)
    assert abs(c.k / a.k - 1) > 0.05            # the corrected PMF gives a different k
    with pytest.raises(ValueError, match="Jacobian-corrected"):
        tst_rate({"xi": pmf.x, "W": pmf.F, "jacobian": pmf.jacobian}, None, T,
                 reactant=(0.1, 0.9), barrier=1.6, mass=10.0)
    with pytest.raises(ValueError, match="Jacobian-corrected"):
        tst_rate(Results(x=pmf.x, F=pmf.F, jacobian="sin θ"), None, T,
                 reactant=(0.1, 0.9), barrier=1.6, mass=10.0)
    # an explicitly uncorrected mapping is fine
    ok = tst_rate({"xi": pmf.x, "W": pmf.F_uncorrected, "jacobian": "none"}, None, T,
                  reactant=(0.1, 0.9), barrier=1.6, mass=10.0)
    assert ok == pytest.approx(a.k)


def test_tst_errors_propagated_and_bootstrapped_agree():
    dw = model(1.0)
    x = np.linspace(-2.0, 2.0, 81)
    dW = np.full(x.size, 0.2)
    p = tst_analysis(x, dw.potential(x), T, dW=dW, reactant=(-2.0, 0.0), barrier=0.0,
                     mass=1.0)
    bs = tst_analysis(x, dw.potential(x), T, dW=dW, reactant=(-2.0, 0.0), barrier=0.0,
                      mass=1.0, error="bootstrap", n_bootstrap=2000, seed=1)
    assert p.k == bs.k
    # the barrier point dominates: σ(ln k) ≥ β σ(W‡) and not much more
    assert 0.2 / KT <= p.ln_k_err < 1.2 * 0.2 / KT
    assert bs.ln_k_err == pytest.approx(p.ln_k_err, rel=0.1)
    assert bs.k_interval[0] < p.k < bs.k_interval[1]
    assert p.barrier_height == pytest.approx(DU, rel=1e-9)
    assert p.barrier_height_err == pytest.approx(0.2 * np.sqrt(2))
    auto = tst_analysis(x, dw.potential(x), T, reactant=(-2.0, -0.5), mass=1.0)
    assert auto.barrier == pytest.approx(0.0, abs=1e-12)   # highest point before product


def test_tst_bad_input_is_explained():
    w = model(1.0).potential(XI)
    with pytest.raises(ValueError, match="exactly one of mass"):
        tst_rate(XI, w, T, reactant=(-2, 0), mass=1.0, z_mean_sqrt=1.0)
    with pytest.raises(ValueError, match="exactly one of mass"):
        tst_rate(XI, w, T, reactant=(-2, 0))
    with pytest.raises(ValueError, match="fewer than 2 PMF points"):
        tst_rate(XI, w, T, reactant=(5, 6), mass=1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        tst_rate(XI[::-1], w, T, reactant=(-2, 0), mass=1.0)
    with pytest.raises(ValueError, match="inside the reactant range"):
        tst_rate(XI, w, T, reactant=(-2, 0.5), barrier=0.0, mass=1.0)
    with pytest.raises(ValueError, match="temperature"):
        tst_rate(XI, w, None, reactant=(-2, 0), mass=1.0)
    with pytest.raises(ValueError, match="no barrier"):
        tst_rate(XI, -XI, T, reactant=(-2, -1), mass=1.0)      # downhill all the way
    with pytest.raises(ValueError, match="same length"):
        tst_rate(XI, w[:-1], T, reactant=(-2, 0), mass=1.0)


def test_kramers_kappa_limits():
    wb = 4.0
    assert kramers_kappa(wb, 0.0) == 1.0
    assert kramers_kappa(wb, 400.0) == pytest.approx(wb / 400.0, rel=1e-3)
    assert kramers_kappa(wb, 400.0, regime="high") == wb / 400.0
    assert kramers_kappa(wb, 8.0) == pytest.approx(np.sqrt(2) - 1)
    with pytest.raises(ValueError, match="regime"):
        kramers_kappa(wb, 1.0, regime="low")


# --------------------------------------------------------------------------- κ, 1D
def _sigma_k(kap, ktst):
    return kap.kappa_plateau_err * ktst


def test_kappa_times_tst_matches_brute_force_and_kramers():
    gamma = 5.0
    kap = kappa_run(gamma)
    ktst = k_tst(0.0)
    k_rf = kap.kappa_plateau * ktst
    bf = brute(gamma, 3.0e5)
    assert bf.n_transitions > 500
    sigma = np.hypot(_sigma_k(kap, ktst), bf.k_err)
    assert abs(k_rf - bf.k) < 3 * sigma, (k_rf, bf.k, sigma)
    dw = model(gamma)
    k_kr = kramers_rate(dw.omega_b, gamma, k_tst=ktst)
    assert abs(k_rf - k_kr) < 3 * _sigma_k(kap, ktst), (k_rf, k_kr)
    # the classical harmonic-well Kramers rate, within its O(kT/ΔU) asymptotic error
    k_kr_h = kramers_rate(dw.omega_b, gamma, barrier_height=DU, temperature=T,
                          omega_a=dw.omega_a)
    assert abs(bf.k - k_kr_h) < 3 * bf.k_err + KT / DU * k_kr_h
    # κ(t) starts at 1 and decays to the plateau; recrossings are what lowers it
    assert kap.kappa[0] == pytest.approx(1.0, abs=1e-12)
    assert kap.kappa_plateau < kap.kappa[1] < 1.0
    assert 0.1 < kap.fraction_recrossing < 0.9
    assert kap.kappa_plateau == pytest.approx(kap.fraction_reactive, abs=0.15)


def test_kappa_lies_in_the_unit_interval():
    for run in (kappa_run(5.0), kappa_run(50.0, n_shots=12000, t_max=6.0),
                kappa_run(0.2, n_shots=500, t_max=0.5)):
        assert run.kappa_plateau - 5 * run.kappa_plateau_err > 0
        assert run.kappa_plateau - 2 * run.kappa_plateau_err <= 1.0
        assert np.all(run.kappa <= 1.0 + 3 * run.kappa_err + 1e-12)
        assert np.all(run.kappa > -3 * run.kappa_err - 1e-12)


def test_rate_does_not_depend_on_small_shifts_of_the_dividing_surface():
    gamma = 5.0
    delta = 0.05 * 2.0                    # 5 % of the barrier width (well to well, 2a)
    ref = kappa_run(gamma).kappa_plateau * k_tst(0.0)
    ref_err = _sigma_k(kappa_run(gamma), k_tst(0.0))
    for xs in (-delta, delta):
        kap = kappa_run(gamma, xi_star=xs, seed=2)
        kt = k_tst(xs)
        assert abs(kt / k_tst(0.0) - 1) > 0.05           # k_TST itself does move
        k = kap.kappa_plateau * kt
        assert abs(k - ref) < 3 * np.hypot(_sigma_k(kap, kt), ref_err), (xs, k, ref)


def test_kappa_is_one_for_ballistic_crossing_and_near_one_at_low_friction():
    nve = kappa_run(0.0, n_shots=200, t_max=0.5)
    assert nve.kappa_plateau == pytest.approx(1.0, abs=1e-12)
    assert nve.mean_recrossings == 0.0
    low = kappa_run(0.2, n_shots=500, t_max=0.5)
    k_kr = kramers_kappa(model(0.2).omega_b, 0.2)
    assert low.kappa_plateau > 0.95
    assert abs(low.kappa_plateau - k_kr) < 3 * low.kappa_plateau_err + 0.01


def test_kappa_at_high_friction_matches_kramers_omega_b_over_gamma():
    gamma = 50.0
    kap = kappa_run(gamma, n_shots=12000, t_max=6.0)
    wb = model(gamma).omega_b
    assert kap.kappa_plateau < 0.2                       # clearly below 1
    err = kap.kappa_plateau_err
    assert abs(kap.kappa_plateau - kramers_kappa(wb, gamma)) < 3 * err
    assert abs(kap.kappa_plateau - wb / gamma) < 3 * err
    assert kap.mean_recrossings > 2                      # many recrossings at high γ


@pytest.mark.slow
def test_high_friction_rate_matches_brute_force():
    gamma = 50.0
    kap = kappa_run(gamma, n_shots=40000, t_max=6.0, seed=7)
    ktst = k_tst(0.0)
    bf = brute(gamma, 2.0e6, seed=9)
    sigma = np.hypot(_sigma_k(kap, ktst), bf.k_err)
    assert abs(kap.kappa_plateau * ktst - bf.k) < 3 * sigma


# --------------------------------------------------------------------------- driver
def test_executor_and_chunking_do_not_change_the_result():
    cfg = np.zeros((1, 1, 3))
    args = (cfg, model(5.0), XCoord(), [1.0], T, 0.0, 1.0, 64, 5)
    serial = transmission_coefficient(*args, chunk_size=64)
    with ThreadPoolExecutor(2) as ex:
        pooled = transmission_coefficient(*args, executor=ex, chunk_size=7)
    np.testing.assert_array_equal(serial.kappa, pooled.kappa)
    assert serial.kappa_plateau == pooled.kappa_plateau
    other = transmission_coefficient(*args[:-1], 6)
    assert not np.array_equal(serial.kappa, other.kappa)


def test_driver_rejects_bad_input():
    dw = model(5.0)
    with pytest.raises(ValueError, match="sample_configs must be"):
        transmission_coefficient(np.zeros((1, 2, 3)), dw, XCoord(), [1.0], T, 0.0, 1.0, 4)
    with pytest.raises(ValueError, match="dt"):
        transmission_coefficient(np.zeros((1, 1, 3)), lambda x, v, n: None, XCoord(), [1.0],
                                 T, 0.0, 1.0, 4)
    with pytest.raises(ValueError, match="plateau"):
        transmission_coefficient(np.zeros((1, 1, 3)), dw, XCoord(), [1.0], T, 0.0, 1.0, 4,
                                 plateau=(2.0, 3.0))

    def short(x, v, n):
        return np.zeros((n, 1, 3))
    with pytest.raises(ValueError, match="n_steps \\+ 1"):
        transmission_coefficient(np.zeros((1, 1, 3)), short, XCoord(), [1.0], T, 0.0, 1.0,
                                 4, dt=0.01)


def test_kappa_file_round_trip(tmp_path):
    kap = kappa_run(0.2, n_shots=500, t_max=0.5)
    for name in ("k.npz", "k.json"):
        path = save_kappa(kap, tmp_path / name)
        back = load_kappa(path)
        np.testing.assert_allclose(back.kappa, kap.kappa)
        assert back.kappa_plateau == pytest.approx(kap.kappa_plateau)
        assert back.xi_star == 0.0
    (tmp_path / "bad.json").write_text(json.dumps({"t": [0, 1]}))
    with pytest.raises(ValueError, match="not a κ file"):
        load_kappa(tmp_path / "bad.json")


# --------------------------------------------------------------------------- engine
@numba.njit(cache=True)
def _quartic(x, du):
    s = x[0, 0] ** 2 - 1.0
    g = np.zeros_like(x)
    g[0, 0] = 4.0 * du * s * x[0, 0]
    return du * s * s, g


def _well_energy_and_gradient(x, box):
    return _quartic(x, DU)


def _engine_system():
    top = mz.Topology.atomic_fluid(1, mass=1.0)
    force = mz.PythonForce(energy_and_gradient=_well_energy_and_gradient, term="Double well")
    return mz.System(top, box=100.0, forces=[force])


def test_engine_propagator_reproduces_the_numba_kappa():
    system = _engine_system()
    gamma = 5.0
    prop = EnginePropagator(system, mz.LangevinBAOAB(dt=0.005, temperature=T,
                                                     friction=gamma), stride=2, seed=1)
    assert prop.frame_time == pytest.approx(0.01)
    kap = transmission_coefficient(np.zeros((1, 1, 3)), prop, XCoord(), [1.0], T, 0.0, 1.5,
                                   300, seed=2)
    ref = kappa_run(gamma)
    assert abs(kap.kappa_plateau - ref.kappa_plateau) < 3 * np.hypot(
        kap.kappa_plateau_err, ref.kappa_plateau_err)
    # Hamiltonian dynamics through the engine: no recrossing before the particle returns
    nve = EnginePropagator(system, mz.VelocityVerlet(dt=0.005), stride=2)
    one = transmission_coefficient(np.zeros((1, 1, 3)), nve, XCoord(), [1.0], T, 0.0, 0.5,
                                   40, seed=3)
    assert one.kappa_plateau == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="Brownian"):
        EnginePropagator(system, mz.Brownian(dt=0.001, temperature=T))


# --------------------------------------------------------------------------- CLI
def _parser():
    parser = argparse.ArgumentParser(prog="mdzoom")
    add_rate_command(parser.add_subparsers(dest="command"))
    return parser


def test_rate_cli_combines_tst_and_kappa(tmp_path, capsys):
    dw = model(5.0)
    x = np.linspace(-2.0, 2.0, 401)
    pmf_csv = tmp_path / "pmf.csv"
    pmf_csv.write_text("# double well\nxi,W,dW\n" + "\n".join(
        f"{a:.6f},{b:.9f},0.1" for a, b in zip(x, dw.potential(x))))
    kap = kappa_run(5.0)
    kfile = save_kappa(kap, tmp_path / "kappa.npz")
    out = tmp_path / "rate"
    args = _parser().parse_args(["rate", str(pmf_csv), "--reactant", "-2", "0", "-T",
                                 str(T), "--mass", "1", "--kappa-from", kfile, "-o",
                                 str(out)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "k_TST" in text and "kappa" in text
    res = json.loads((tmp_path / "rate.json").read_text())
    expected = tst_analysis(x, dw.potential(x), T, dW=np.full(x.size, 0.1),
                            reactant=(-2.0, 0.0), barrier=0.0, mass=1.0)
    assert res["k_tst"] == pytest.approx(expected.k)
    assert res["kappa"] == pytest.approx(kap.kappa_plateau)
    assert res["k"] == pytest.approx(kap.kappa_plateau * expected.k)
    rel = np.hypot(expected.k_err / expected.k, kap.kappa_plateau_err / kap.kappa_plateau)
    assert res["k_err"] == pytest.approx(res["k"] * rel)
    assert res["barrier"] == 0.0
    png = tmp_path / "rate_kappa.png"
    assert png.exists() and png.read_bytes()[:4] == b"\x89PNG"

    # a κ value instead of a file; barrier located automatically; no PNG
    args = _parser().parse_args(["rate", str(pmf_csv), "--reactant", "-2", "-0.5", "-T",
                                 str(T), "--mass", "1", "--kappa", "0.5", "--kappa-err",
                                 "0.05", "-o", str(tmp_path / "v")])
    assert args.func(args) == 0
    res2 = json.loads((tmp_path / "v.json").read_text())
    assert res2["k"] == pytest.approx(0.5 * res2["k_tst"])
    assert not (tmp_path / "v_kappa.png").exists()


def test_rate_cli_input_errors(tmp_path):
    js = tmp_path / "pmf.json"
    x = np.linspace(0.2, 2.0, 50)
    js.write_text(json.dumps({"xi": x.tolist(), "W": np.cos(3 * x).tolist(),
                              "jacobian": "4πr²", "T": 300.0}))
    d = read_pmf_file(js)
    assert d["T"] == 300.0 and d["dW"] is None
    args = _parser().parse_args(["rate", str(js), "--reactant", "0.2", "1.0", "--mass",
                                 "1", "-o", str(tmp_path / "r")])
    with pytest.raises(ValueError, match="Jacobian-corrected"):
        args.func(args)
    bad = tmp_path / "bad.csv"
    bad.write_text("r,F\n1,2\n")
    with pytest.raises(ValueError, match="header must name"):
        read_pmf_file(bad)
    with pytest.raises(SystemExit):         # --mass and --z-mean-sqrt are exclusive
        _parser().parse_args(["rate", str(js), "--reactant", "0", "1", "--mass", "1",
                              "--z-mean-sqrt", "1"])
    kfile = save_kappa(kappa_run(0.2, n_shots=500, t_max=0.5), tmp_path / "k.json")
    js.write_text(json.dumps({"xi": x.tolist(), "W": np.cos(3 * x).tolist()}))
    args = _parser().parse_args(["rate", str(js), "--reactant", "0.2", "0.5", "-T", "300",
                                 "--mass", "1", "--kappa-from", kfile, "-o",
                                 str(tmp_path / "r")])
    with pytest.raises(ValueError, match="K"):       # κ file at T = 120 K, asked at 300 K
        args.func(args)


def test_rate_verb_through_mdzoom_main(tmp_path, capsys):
    """``mdzoom rate`` as the qmmm plugin registers it."""
    from mdzoom.core.cli import main

    pmf = tmp_path / "pmf.json"
    x = np.linspace(-2.0, 2.0, 201)
    pmf.write_text(json.dumps({"xi": x.tolist(), "W": model(1.0).potential(x).tolist(),
                               "jacobian": "none", "T": T}))
    assert main(["rate", str(pmf), "--reactant", "-2", "0", "--mass", "1", "-o",
                 str(tmp_path / "r")]) == 0
    assert "plain TST" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["k"] == pytest.approx(
        k_tst(0.0), rel=1e-2)     # trapezoid on a 20 pm grid
    pmf.write_text(json.dumps({"xi": x.tolist(), "W": x.tolist(), "jacobian": "sin θ"}))
    assert main(["rate", str(pmf), "--reactant", "-2", "0", "-T", "300", "--mass",
                 "1"]) == 1
    assert "Jacobian-corrected" in capsys.readouterr().err
