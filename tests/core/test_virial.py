"""Virial and pressure (issue #4): Ξ = −½ Σ r⊗f (GROMACS convention) of every force type
against the strain derivative of the energy, and the ideal-gas pressure.

Under a homogeneous strain x → x(1 + E), box → box(1 + E) (row vectors), dU/dE_ab =
−Σᵢ x_ia f_ib, so Ξ_ab = ½ ∂U/∂E_ab. Components a ≥ b keep a lower-triangular box (PME).
"""

from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.units import KB, PRESSURE_CONVERSION

from mdz_testsystems import lj_fluid, random_gas

GMX = Path(__file__).resolve().parents[1] / "data" / "gromacs"


def strain_virial(system, x, box, eps=1e-6):
    """½ ∂U/∂E_ab by central differences, for a ≥ b (NaN above the diagonal)."""
    out = np.full((3, 3), np.nan)
    for a in range(3):
        for b in range(a + 1):
            e = np.zeros((3, 3))
            e[a, b] = eps
            u = []
            for sgn in (1, -1):
                m = np.eye(3) + sgn * e
                ev = ForceEvaluator(system, skin=0.0)
                u.append(ev.compute(mz.State(x @ m, box=box @ m)))
            out[a, b] = 0.5 * (u[0] - u[1]) / (2 * eps)
    return out


def virial_of(system, x, box):
    ev = ForceEvaluator(system, skin=0.0)
    e0 = ev.compute(mz.State(x.copy(), box=box.copy()))
    f0 = ev.forces.copy()
    e1 = ev.compute(mz.State(x.copy(), box=box.copy()), virial=True)
    # same energy and forces as the plain path
    assert e1 == pytest.approx(e0, rel=1e-12)
    np.testing.assert_allclose(ev.forces, f0, rtol=1e-9, atol=1e-9 * np.abs(f0).max())
    return ev.virial


def check(system, x, box, rel=1e-6):
    vir = virial_of(system, x, box)
    ref = strain_virial(system, x, box)
    low = np.tril_indices(3)
    scale = np.abs(vir).max()
    np.testing.assert_allclose(vir[low], ref[low], atol=rel * scale)
    np.testing.assert_allclose(vir, vir.T, atol=rel * scale)
    return vir


def test_lj_fluid_virial_is_strain_derivative():
    system, state = lj_fluid(cells=4)
    rng = np.random.default_rng(0)
    x = state.positions + rng.normal(0, 0.05, state.positions.shape)
    check(system, x, np.array(state.box))


@pytest.mark.parametrize("modifier", ["none", "force-switch"])
def test_lj_coulomb_rf_virial(modifier):
    top, x = random_gas(n=80, box=3.0, seed=2)
    force = mz.Nonbonded(cutoff=1.2, lj={"A": (0.3, 0.5), "B": (0.35, 0.8)},
                         modifier=modifier, switch_distance=0.9, coulomb="reaction-field",
                         epsilon_rf=78.0, rf_exclusion_correction=True)
    system = mz.System(top, box=3.0, forces=[force])
    check(system, x, np.array(system.box))


@pytest.mark.parametrize("box", ["cubic", "triclinic-odd-grid"])
def test_pme_virial_is_strain_derivative(box):
    """Off-diagonal components need the right sign at the Nyquist planes; an odd grid has
    none (both kinds covered)."""
    from mdzoom.core.ewald import PME

    top, x = random_gas(n=80, box=3.0, seed=3)
    nb = mz.Nonbonded(cutoff=1.0, lj={"A": (0.3, 0.5), "B": (0.35, 0.8)}, coulomb="pme")
    if box == "cubic":
        system = mz.System(top, box=3.0, forces=[nb, PME(cutoff=1.0)])
    else:
        tri = np.array([[3.0, 0.0, 0.0], [0.4, 3.1, 0.0], [-0.3, 0.5, 3.2]])
        system = mz.System(top, box=tri, forces=[nb, PME(cutoff=1.0, grid=(25, 27, 29))])
    check(system, x, np.array(system.box), rel=1e-5)


def test_water_triples_pme_virial():
    """TIP3P box: three-site Ewald kernel, PME, exclusion corrections (DispCorr off here:
    its virial is not the strain derivative of its energy, which includes the shift)."""
    from mdzoom.core.gromacs import load_gromacs

    d = GMX / "tip3p_box"
    system, state, _ = load_gromacs(d / "processed.top", d / "conf.gro", d / "run.mdp")
    for f in system.forces:
        if isinstance(f, mz.Nonbonded):
            f.dispersion_correction = "no"
    check(system, np.array(state.positions), np.array(state.box), rel=2e-5)


def test_bonded_fallback_virial():
    """Plugin bonded forces have no ``compute_virial``: the whole-molecule fallback."""
    from mdzoom.core.gromacs import load_gromacs

    d = GMX / "a6pa6_amber_vac"
    system, state, _ = load_gromacs(d / "processed.top", d / "conf.gro", d / "run.mdp")
    ev = ForceEvaluator(system, skin=0.0)
    x = ev.whole_positions(state)
    check(system, x, np.array(state.box), rel=1e-5)


def test_dispersion_correction_pressure():
    """EnerPres virial: the r > rc tail of −C6/r⁶, −(2/3)πρ²⟨C6⟩·… per GROMACS."""
    system, state = lj_fluid(cells=3, cutoff=1.2)
    nb = system.forces[0]
    nb.dispersion_correction = "EnerPres"
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state, virial=True)
    b = ev.bound[0]
    n = system.n_particles
    vol = abs(np.linalg.det(state.box))
    rho = n / vol
    # P_tail = −(2/3)π ρ² C6 · 2/rc³ ·… : from ∫ r·F: −(2π/3) ρ² ∫ 4... (textbook)
    p_tail = -2.0 * np.pi / 3.0 * rho ** 2 * 4.0 * 2.0 / 1.2 ** 3 * PRESSURE_CONVERSION
    assert b.dispersion_pressure(state) == pytest.approx(p_tail, rel=1e-12)


def test_ideal_gas_pressure():
    n, box, temp = 400, 5.0, 300.0
    top = mz.Topology.atomic_fluid(n)
    system = mz.System(top, box=box, forces=[])
    rng = np.random.default_rng(1)
    state = mz.State(rng.uniform(0, box, (n, 3)),
                     mz.maxwell_boltzmann(top.masses, temp, seed=2), box=system.box)
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=0.002, temperature=temp, friction=5.0),
                        state, seed=3)
    ps = []
    for _ in range(100):
        sim.run(10, progress=False)
        ps.append(sim.pressure())
    expect = n * KB * temp / box ** 3 * PRESSURE_CONVERSION
    assert np.mean(ps) == pytest.approx(expect, rel=0.03)
    np.testing.assert_allclose(sim.pressure_tensor(), sim.pressure_tensor().T)


def test_pressure_reported_only_when_needed():
    system, state = lj_fluid(cells=4)

    class Rec(mz.EnergyRecorder):
        needs = {"virial"}

    rec = Rec(every=5)
    plain = mz.EnergyRecorder(every=5)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.005), state, outputs=[rec], seed=1)
    sim.run(10, progress=False)
    p = rec.results["Pressure"]
    assert len(p) == 3 and np.all(np.isfinite(p))
    assert p[-1] == pytest.approx(sim.pressure(), rel=1e-12)
    system2, state2 = lj_fluid(cells=4)
    sim2 = mz.Simulation(system2, mz.VelocityVerlet(dt=0.005), state2, outputs=[plain], seed=1)
    sim2.run(10, progress=False)
    assert "Pressure" not in plain.results
    np.testing.assert_array_equal(sim.state.positions, sim2.state.positions)


def test_dispersion_pressure_matches_gromacs():
    import json

    from mdzoom.core.gromacs import load_gromacs

    ref = json.loads((GMX.parent / "virial" / "reference.json").read_text())["tip3p_box"]
    d = GMX / "tip3p_box"
    system, state, _ = load_gromacs(d / "processed.top", d / "conf.gro", d / "run.mdp")
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state, virial=True)
    nb = next(b for b in ev.bound if hasattr(b, "dispersion_pressure"))
    assert nb.dispersion_pressure(state) == pytest.approx(ref["Pres. DC (bar)"], abs=1e-3)
