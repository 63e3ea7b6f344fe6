"""Umbrella bias as a core Force, the CV recorder, and umbrella sampling of two
Lennard-Jones particles run through the core's ensemble executor, analysed by WHAM.

The pair's reversible-work PMF is exactly the LJ potential (shifted at the cutoff): the
distance's Jacobian (+2kT ln r) turns the WHAM density PMF into it."""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.state import State
from mdzoom.core.system import System
from mdzoom.core.topology import Topology
from mdzoom.core.units import KB
from mdzoom.plugins.qmmm.cv import Angle, Dihedral, Distance, DistanceDifference
from mdzoom.plugins.qmmm.umbrella import (CVOutput, UmbrellaBias, read_cv_file,
                                          read_windows, run_umbrella, umbrella_windows)
from mdzoom.plugins.qmmm.wham import wham

BOX = np.array([[2.0, 0, 0], [0.5, 1.9, 0], [-0.3, 0.4, 1.8]])


def cluster_state(n=4, seed=0, box=BOX):
    rng = np.random.default_rng(seed)
    x = 1.0 + rng.uniform(-0.25, 0.25, (n, 3))
    x[1] += box[0]                         # one particle an image away
    return State(x, box=box)


@pytest.mark.parametrize("bias", [
    UmbrellaBias(Distance(0, 1), 0.2, 3000.0),
    UmbrellaBias(DistanceDifference(0, 1, 2, 3), -0.1, 2000.0),
    UmbrellaBias(Angle(0, 1, 2), 1.2, 300.0),
    UmbrellaBias(Dihedral(0, 1, 2, 3), 3.0, 200.0),       # centre near π: wraps
], ids=["distance", "sn2", "angle", "dihedral"])
def test_bias_forces_energy_virial(bias):
    st = cluster_state()
    system = System(Topology.atomic_fluid(4), box=BOX, forces=[bias])
    e, f, terms = testing.evaluate(system, st)
    assert e == pytest.approx(bias.energy(bias.cv.value(st.positions, st.box)))
    assert terms["COM Pull En."] == pytest.approx(e) and e > 0
    testing.check_finite_difference(system, st, particles=range(4), h=1e-6, rtol=1e-6,
                                    atol=1e-6)
    testing.check_translation_invariance(system, st)
    testing.check_pickling(bias, system, st)
    # virial: Ξ = ½ dU/dε under a homogeneous strain x → x(1 + ε), box → box(1 + ε)
    ev = ForceEvaluator(system)
    ev.compute(st, virial=True)
    h = 1e-6
    for a in range(3):
        for b in range(a + 1):                # strains that keep the box lower-triangular
            eps = np.zeros((3, 3))
            eps[a, b] = h
            up = State(st.positions @ (np.eye(3) + eps), box=st.box @ (np.eye(3) + eps))
            dn = State(st.positions @ (np.eye(3) - eps), box=st.box @ (np.eye(3) - eps))
            dU = (testing.evaluate(system, up)[0] - testing.evaluate(system, dn)[0]) / (2 * h)
            assert ev.virial[a, b] == pytest.approx(0.5 * dU, abs=1e-5)
    np.testing.assert_allclose(ev.virial, ev.virial.T, atol=1e-9)   # no net torque


def test_dihedral_bias_uses_periodic_difference():
    b = UmbrellaBias(Dihedral(0, 1, 2, 3), center=np.pi - 0.1, k=100.0)
    assert b.energy(-np.pi + 0.1) == pytest.approx(0.5 * 100 * 0.2 ** 2)


def test_bias_from_a_run_configuration_table():
    from mdzoom.core.config import parse_config
    from mdzoom.core.plugins import Registry

    registry = Registry()
    registry.add_force("umbrella", UmbrellaBias)
    registry.add_integrator("langevin", mz.LangevinBAOAB)
    data = {"system": {"builder": "lj-fluid", "cells": 1, "density": 0.5},
            "forces": [{"type": "umbrella", "cv": {"type": "angle", "atoms": [0, 1, 2]},
                        "center": 1.5, "k": 100.0}],
            "integrator": {"type": "langevin"}, "run": {"steps": 10}}
    cfg = parse_config(data, registry=registry)
    assert cfg.forces == [UmbrellaBias(Angle(0, 1, 2), 1.5, 100.0)]
    data["forces"][0]["cv"] = {"type": "angle", "atoms": [0, 1]}
    with pytest.raises(ValueError, match=r"\[\[forces\]\] #1.*angle' needs atoms = a list "
                                         "of 3 particle indices"):
        parse_config(data, registry=registry)
    data["forces"][0]["cv"] = {"type": "rmsd"}
    with pytest.raises(ValueError, match="unknown collective variable type 'rmsd'; "
                                         "available: distance"):
        parse_config(data, registry=registry)


def test_bad_bias_arguments():
    with pytest.raises(ValueError, match="k must be >= 0"):
        UmbrellaBias(Distance(0, 1), 0.3, -1.0)
    with pytest.raises(TypeError, match="collective variable"):
        UmbrellaBias("distance", 0.3, 1.0)
    system = System(Topology.atomic_fluid(2), box=BOX, forces=[UmbrellaBias(Distance(0, 5),
                                                                            0.3, 1.0)])
    with pytest.raises(IndexError, match="particle 5 out of range for 2 particles"):
        ForceEvaluator(system)


def test_bias_in_mdzoom_simulation_records_cv_every_step(tmp_path):
    """A free pair held by the umbrella in mdzoom's own engine: ξ recorded every step
    equals the bias's own ξ, and its mean and spread are the harmonic well's
    (⟨ξ⟩ ≈ ξ0 + 2kT/(k ξ0) from the r² Jacobian, σ ≈ √(kT/k))."""
    T, k, r0 = 300.0, 5000.0, 0.6
    bias = UmbrellaBias(Distance(0, 1), r0, k)
    top = Topology.atomic_fluid(2, mass=20.0)
    system = System(top, box=3.0, forces=[bias])
    st = State(np.array([[0.2, 0.2, 0.2], [2.9, 0.2, 0.2]]), box=3.0)   # r = 0.3 via image
    out = CVOutput(Distance(0, 1), tmp_path / "cv.dat", every=1, center=r0, k=k,
                   temperature=T)
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=0.002, temperature=T, friction=5.0),
                        st, outputs=[out], seed=4)
    sim.run(200)
    assert sim.evaluator.bound[0].last_value == pytest.approx(out.results.xi[-1])
    sim.run(6000)
    sim.close()
    xi = out.results.xi
    assert xi.size == 6201 and np.all(np.diff(out.results.step) == 1)
    kT = KB * T
    tail = xi[500:]
    assert tail.mean() == pytest.approx(r0 + 2 * kT / (k * r0), abs=0.004)
    assert tail.std() == pytest.approx(np.sqrt(kT / k), rel=0.15)
    back = read_cv_file(tmp_path / "cv.dat")
    np.testing.assert_allclose(back.xi, xi, atol=1e-9)
    assert back.center == r0 and back.k == k and back.temperature == T
    assert back.periodic is None


T = 300.0
N_PAIRS = 16
K_BOND, R0_BOND = 200.0, 0.5        # kJ/mol/nm², nm: the pairs' own interaction


def bond(r):
    return 0.5 * K_BOND * (r - R0_BOND) ** 2


def pairs_config(tmp_path):
    """N_PAIRS independent particle pairs in a 4 nm box, each held by a weak harmonic
    bond (no other interactions): one window samples N_PAIRS distances per frame."""
    lines = ["independent pairs", f"{2 * N_PAIRS:5d}"]
    for m in range(N_PAIRS):
        x0 = np.array([0.3 + 0.9 * (m % 4), 0.3 + 0.9 * (m // 4), 2.0])
        for j, x in enumerate((x0, x0 + [R0_BOND, 0.0, 0.0])):
            n = 2 * m + j + 1
            lines.append(f"{n:5d}{'P':<5s}{'P':>5s}{n:5d}{x[0]:8.3f}{x[1]:8.3f}{x[2]:8.3f}")
    lines.append("   4.00000   4.00000   4.00000")
    (tmp_path / "pairs.gro").write_text("\n".join(lines) + "\n")
    return {
        "system": {"structure": "pairs.gro", "mass": 10.0, "type": "P"},
        "velocities": {"temperature": T},
        "forces": [{"type": "harmonic-bond", "k": K_BOND, "r0": R0_BOND,
                    "pairs": [[2 * m, 2 * m + 1] for m in range(N_PAIRS)]}],
        "integrator": {"type": "langevin", "dt": 0.004, "temperature": T, "friction": 5.0},
        "run": {"steps": 1200, "threads": 1},
        "output": {"dir": "unused", "energy_every": 0, "checkpoint_every": 0,
                   "plot": False},
    }, tmp_path


def test_umbrella_windows_through_run_ensemble_recover_pmf(tmp_path, monkeypatch):
    """Windows along the pair distance run as ensemble members (a local process pool);
    WHAM with the distance Jacobian recovers the bond potential, and the uncorrected
    PMF carries the −2kT ln r of the r² phase-space volume."""
    cfg, base = pairs_config(tmp_path)
    monkeypatch.chdir(base)
    centers = np.linspace(0.30, 0.75, 10)
    cvs = [Distance(2 * m, 2 * m + 1) for m in range(N_PAIRS)]
    windows = umbrella_windows(np.repeat(centers[:, None], N_PAIRS, axis=1), 1200.0, cvs,
                               cfg, record_every=12)
    assert [w.name for w in windows][:2] == ["w000", "w001"]
    assert windows[3].member.config.forces[-1] == UmbrellaBias(cvs[-1], centers[3], 1200.0)
    run = run_umbrella(windows, tmp_path / "us", workers=2, discard=120, progress=False)
    assert run.ensemble.ok and len(run.samples) == 10 and run.temperature == T
    assert run.samples[0].shape == ((1200 - 120) // 12 + 1, N_PAIRS)
    samples = [s.ravel() for s in run.samples]
    means = np.array([s.mean() for s in samples])
    assert np.all(np.abs(means - centers) < 0.08)
    res = wham(samples, centers, 1200.0, temperature=T, bins=24, range=(0.3, 0.75),
               jacobian="distance", n_bootstrap=10, seed=0)
    ok = np.isfinite(res.W) & (res.counts > 50)
    assert ok.sum() >= 20
    d = res.W[ok] - bond(res.x[ok])
    err = float(np.abs(d - d.mean()).max())
    raw = res.W_uncorrected[ok] - (bond(res.x[ok]) - 2 * KB * T * np.log(res.x[ok]))
    err_raw = float(np.abs(raw - raw.mean()).max())
    print(f"pairs through run_ensemble: max |W − V_bond| {err:.3f} kJ/mol, raw "
          f"{err_raw:.3f}, over {ok.sum()} bins; median bootstrap dW "
          f"{np.median(res.dW[ok]):.3f} kJ/mol")
    assert err < 0.6 and err_raw < 0.6
    # the index file round-trips into the same windows (what `mdzoom pmf` reads)
    again = read_windows(run.index)
    assert again.temperature == T
    np.testing.assert_allclose(again.centers[:, 0], centers)
    np.testing.assert_allclose(again.samples[4], run.samples[4], atol=1e-9)
    # resume: a second call reuses the finished windows
    rerun = run_umbrella(windows, tmp_path / "us", workers=2, discard=120, progress=False)
    assert all(r["reused"] for r in rerun.ensemble.rows)
    np.testing.assert_allclose(rerun.samples[2], run.samples[2])


def test_umbrella_windows_bad_input(tmp_path):
    cfg, base = pairs_config(tmp_path)
    cfg["system"]["structure"] = str(base / "pairs.gro")
    with pytest.raises(ValueError, match=r"centers must have shape \(K,\) for one CV or \(K, 2\)"):
        umbrella_windows([0.3, 0.4], 100.0, [Distance(0, 1), Angle(0, 1, 0)], cfg)
    with pytest.raises(ValueError, match="2 windows need 2 structures"):
        umbrella_windows([0.3, 0.4], 100.0, Distance(0, 1), cfg, structures=["a.gro"])
    with pytest.raises(TypeError, match="TOML path, a dict or a RunConfig"):
        umbrella_windows([0.3], 100.0, Distance(0, 1), 42)
