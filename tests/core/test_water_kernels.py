"""The vectorised rigid-water kernel: its Ewald polynomials, forces-only evaluation, and
LJ on every atom pair (CHARMM-style TIP3P)."""

import math
from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import _water_kernels as wk
from mdzoom.core import nonbonded
from mdzoom.core.ewald import ewald_coefficient
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs

TIP3P = Path(__file__).resolve().parents[1] / "data" / "gromacs" / "tip3p_box"


@pytest.mark.parametrize("rc, rtol", [(0.8, 1e-5), (1.0, 1e-5), (1.2, 1e-6)])
def test_polynomials_match_erf_over_x_and_its_derivative(rc, rtol):
    beta = ewald_coefficient(rc, rtol)
    cp, cq, scale = wk.ewald_polynomials(beta, rc)
    r2 = np.linspace(0.0, rc * rc, 4001)
    p, q = wk.evaluate_polynomials(r2, cp, cq, scale)
    z = beta * beta * r2
    exact_p = np.array([wk.erf_over_x(v) for v in z])
    exact_q = np.array([wk.erf_over_x_derivative(v) for v in z])
    assert np.max(np.abs(p - exact_p)) < 1e-13
    # Q: degree 16; ~1e-11 at rtol 1e-5 (z_max ≈ 9.8), ~1.4e-10 at rtol 1e-6 (z_max ≈ 14)
    assert np.max(np.abs(q - exact_q)) < (2e-11 if rtol >= 1e-5 else 3e-10)
    # what the kernels build from them: erfc(βr)/r and the Ewald force factor
    r = np.sqrt(r2[1:])
    erfc_r = 1.0 / r - beta * p[1:]
    assert np.allclose(erfc_r, [math.erfc(beta * v) / v for v in r], rtol=0, atol=1e-12)
    f_over_r = 1.0 / r ** 3 + 2.0 * beta ** 3 * q[1:]
    want = [(math.erfc(beta * v) / v + 2 * beta / math.sqrt(math.pi)
             * math.exp(-(beta * v) ** 2)) / v ** 2 for v in r]
    assert np.allclose(f_over_r, want, rtol=1e-13, atol=3e-8)      # 2β³ × the Q error


def test_exact_functions_are_consistent_across_their_series_switch():
    for z in (0.0, 0.3, 1.999999999, 2.0, 2.000000001, 5.0, 9.0):
        h = 1e-5
        if z >= h:
            numeric = (wk.erf_over_x(z + h) - wk.erf_over_x(z - h)) / (2 * h)
            assert wk.erf_over_x_derivative(z) == pytest.approx(numeric, abs=1e-9)
    assert wk.erf_over_x(0.0) == pytest.approx(2 / math.sqrt(math.pi), rel=1e-15)
    assert wk.erf_over_x_derivative(0.0) == pytest.approx(-2 / (3 * math.sqrt(math.pi)),
                                                          rel=1e-15)
    below = 2.0 - 4e-15      # the last double under the switch: series vs libm forms
    assert wk.erf_over_x(below) == pytest.approx(wk.erf_over_x(2.0), abs=2e-15)
    assert wk.erf_over_x_derivative(below) == pytest.approx(wk.erf_over_x_derivative(2.0),
                                                            abs=2e-15)


def _short_cutoff_mdp(tmp_path):
    """The 2.6 nm box takes the molecule-pair list with rc = 0.8 nm and skin 0.05 nm."""
    mdp = (TIP3P / "run.mdp").read_text()
    for key in ("rcoulomb", "rvdw", "rlist"):
        mdp = "\n".join(f"{key} = 0.8" if line.split("=")[0].strip() == key else line
                        for line in mdp.splitlines())
    (tmp_path / "run.mdp").write_text(mdp + "\n")
    return tmp_path / "run.mdp"


def _tip3p(tmp_path, top=TIP3P / "processed.top"):
    system, state, _ = load_gromacs(top, TIP3P / "conf.gro", _short_cutoff_mdp(tmp_path))
    return system, state


def test_forces_only_evaluation_same_forces_no_stale_energy(tmp_path):
    system, state = _tip3p(tmp_path)
    ev = ForceEvaluator(system, skin=0.05)
    assert ev.bound[0].triples is not None and ev.bound[0].triples.identical
    e = ev.compute(state)
    f_full = ev.forces.copy()
    assert ev.has_energy and np.isfinite(e)
    e2 = ev.compute(state, energy=False)
    assert np.array_equal(ev.forces, f_full)          # the same force pass, bit for bit
    assert math.isnan(e2) and math.isnan(ev.energy) and ev.terms == {}
    assert not ev.has_energy


def test_trajectory_does_not_depend_on_how_often_energies_are_reported(tmp_path):
    system, state = _tip3p(tmp_path)
    finals = []
    for every in (None, 1, 7):
        sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.002), state.copy(), seed=3,
                        skin=0.05)
        if every:
            sim.outputs.append(mz.EnergyRecorder(every=every))
        sim.run(15, progress=False)
        finals.append(sim.state.positions.copy())
        # the last step of a run always has its energy; it equals a fresh evaluation
        assert sim.evaluator.has_energy
        fresh = ForceEvaluator(system, skin=0.05).compute(sim.state)
        assert sim.potential_energy() == pytest.approx(fresh, rel=1e-12)
    assert np.array_equal(finals[0], finals[1]) and np.array_equal(finals[0], finals[2])


def test_energy_recorder_rows_match_single_point_energies(tmp_path):
    system, state = _tip3p(tmp_path)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.002), state.copy(), seed=3,
                        skin=0.05)
    rec = mz.EnergyRecorder(every=5)
    sim.outputs.append(rec)
    sim.run(10, progress=False)
    pot = rec.results["Potential"]
    assert len(pot) == 3 and np.all(np.isfinite(pot))
    fresh = ForceEvaluator(system, skin=0.05).compute(sim.state)
    assert pot[-1] == pytest.approx(fresh, rel=1e-12)


def _evaluate_with_each_kernel(system, state):
    """{"atoms": general atom-pair kernel, "water": SIMD kernel for identical molecules,
    "mixed": the molecule-pair kernel for mixed molecules} → (terms, forces)."""
    got = {}
    try:
        for name, flag in (("atoms", False), ("water", True)):
            nonbonded.TRIPLES_KERNEL = flag
            ev = ForceEvaluator(system, skin=0.05)
            ev.compute(state)
            assert (ev.bound[0].triples is not None) == flag
            got[name] = (dict(ev.terms), ev.forces.copy())
        tr = ev.bound[0].triples
        assert tr.identical
        tr.identical = False
        ev.compute(state)
        got["mixed"] = (dict(ev.terms), ev.forces.copy())
        tr.identical = True
    finally:
        nonbonded.TRIPLES_KERNEL = True
    t0, f0 = got["atoms"]
    for name in ("water", "mixed"):
        t1, f1 = got[name]
        for term in ("LJ (SR)", "Coulomb (SR)", "Potential"):
            assert abs(t1[term] - t0[term]) <= 1e-10 * abs(t0[term]), (name, term)
        assert np.max(np.abs(f1 - f0)) <= 1e-9 * np.max(np.abs(f0)), name
    return tr


def test_water_kernels_match_the_atom_pair_kernel(tmp_path):
    """Rigid TIP3P: molecule-pair list (SIMD and mixed-molecule kernels) = atom pairs."""
    system, state = _tip3p(tmp_path)
    tr = _evaluate_with_each_kernel(system, state)
    assert np.count_nonzero(tr.a6_9) == 1                # LJ on O–O only


def test_lj_on_hydrogens_matches_the_atom_pair_kernel(tmp_path):
    """CHARMM-style TIP3P (LJ on H too): the force pass with LJ on all nine pairs."""
    top = (TIP3P / "processed.top").read_text().replace(
        "HW           1       1.008   0.0000  A   0.00000e+00  0.00000e+00",
        "HW           1       1.008   0.0000  A   4.00014e-02  1.92464e-01")
    (tmp_path / "processed.top").write_text(top)
    system, state = _tip3p(tmp_path, tmp_path / "processed.top")
    tr = _evaluate_with_each_kernel(system, state)
    assert np.count_nonzero(tr.a6_9) == 9


def test_water_checkpoint_resumes_bit_for_bit(tmp_path):
    """The molecule-pair list is the water force's own; the checkpoint carries it (and its
    affine carry under a barostat) so the resumed run sums in the same order. The
    checkpoint is taken on a step that did not rebuild the list (a list rebuilt from the
    checkpoint's positions would hold other pairs beyond the cutoff and sum in another
    order)."""
    system, state = _tip3p(tmp_path)
    eq = mz.Simulation(system, mz.LangevinBAOAB(0.001, temperature=300.0, friction=20.0),
                       state, skin=0.09, seed=1)
    eq.run(100, progress=False)

    def make():
        integ = mz.VelocityVerlet(0.002, thermostat=mz.VRescale(300.0, 0.1),
                                  barostat=mz.CRescale(1.0, tau=1.0, compressibility=4.5e-5,
                                                       nstpcouple=5))
        return mz.Simulation(system, integ, eq.state.copy(), skin=0.09, seed=4)

    ref = make()
    ref.run(40, progress=False)
    a = make()
    end = a.state.step + 40
    a.run(6, progress=False)
    while True:                 # stop after a coupling step carried without a rebuild
        nl = a.evaluator.bound[0].triples.nl
        builds = nl.n_builds
        a.run(1, progress=False)
        if nl.n_builds == builds and nl.affine_shrink != 1.0 or a.state.step > end - 10:
            break
    assert nl.n_builds == builds and a.state.step <= end - 10
    a.save_checkpoint(tmp_path / "w.h5")
    b = make()
    b.load_checkpoint(tmp_path / "w.h5")
    b.run(end - b.state.step, progress=False)
    assert np.array_equal(b.state.positions, ref.state.positions)
    assert np.array_equal(b.state.velocities, ref.state.velocities)
    assert np.array_equal(b.state.box, ref.state.box)


def test_water_virial_matches_the_mixed_molecule_kernel(tmp_path):
    """Ξ of the SIMD path (single sum Σ r⊗f over each row's shifted atoms) against the
    pair-sum virial of the tabulated kernel."""
    system, state = _tip3p(tmp_path)
    ev = ForceEvaluator(system, skin=0.05)
    ev.compute(state, virial=True)
    vir_simd, f_simd = ev.virial.copy(), ev.forces.copy()
    tr = ev.bound[0].triples
    tr.identical = False
    try:
        ev.compute(state, virial=True)
    finally:
        tr.identical = True
    assert np.abs(vir_simd - ev.virial).max() <= 1e-9 * np.abs(ev.virial).max()
    assert np.max(np.abs(f_simd - ev.forces)) <= 1e-9 * np.max(np.abs(ev.forces))
