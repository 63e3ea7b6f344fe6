"""Barostats composed with velocity Verlet (issue #4): C-rescale and Berendsen pressure
coupling of an LJ fluid (reduced units, T* = 1.5, ρ* ≈ 0.7, 256 atoms, V-rescale)."""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.units import PRESSURE_CONVERSION as PC

from mdz_testsystems import lj_fluid

T = 1.5 / mz.KB
P0 = 2.1 * PC          # NVT at ρ* = 0.7 gives P* = 2.11 ± 0.03 (measured)
KAPPA = 0.1 / PC       # [1/bar], κ* = 0.1


def _run(barostat, steps=12000, equil=1000, seed=3):
    system, state = lj_fluid(cells=4, density=0.7, temperature=1.5)
    rec = mz.EnergyRecorder(every=barostat.nstpcouple)
    sim = mz.Simulation(system, mz.VelocityVerlet(0.005, thermostat=mz.VRescale(T, tau=0.1),
                                                  barostat=barostat),
                        state, outputs=[rec], skin=0.3, seed=seed)
    sim.run(equil, progress=False)
    rec._rows.clear()
    p, box = [], []
    nst = barostat.nstpcouple
    for _ in range(steps // nst):
        sim.run(nst, progress=False)
        p.append(sim.stepper.barostat.last_pressure.copy())
        box.append(np.diag(sim.state.box).copy())
    sim.energies = rec.results
    return sim, np.array(p) / PC, np.array(box)


@pytest.fixture(scope="module")
def runs():
    return {
        "crescale": _run(mz.CRescale(P0, tau=0.5, compressibility=KAPPA)),
        "berendsen": _run(mz.BerendsenBarostat(P0, tau=0.5, compressibility=KAPPA)),
    }


def test_crescale_mean_pressure_and_volume_fluctuations(runs):
    """Mean of the pressures the coupling saw against the target. Its statistical error
    is the larger of a 20-block estimate and the noise's own contribution: the sum of
    the log-volume moves is ln(V_end/V_0) ≈ 0, so the mean pressure error is the mean
    noise over c = βΔt/τ, √(2 (kT/V) / (c n)). Measured (seeds 1-4): deviations 0.017,
    0.014, 0.047, −0.007 (P*) for an error ≈ 0.026; σ_V/V ≈ 2.1-2.4 %."""
    sim, p, box = runs["crescale"]
    ps = np.trace(p, axis1=1, axis2=2) / 3.0
    blocks = ps[: ps.size // 20 * 20].reshape(20, -1).mean(1)
    vol = box.prod(1)
    c = KAPPA / 0.5 * 0.05
    noise_err = np.sqrt(2.0 * 1.5 / vol.mean() * PC / (c * ps.size)) / PC
    err = max(blocks.std(ddof=1) / np.sqrt(20), noise_err)
    assert abs(ps.mean() - P0 / PC) < 3.0 * err, (ps.mean(), err)
    assert vol.std() > 0.01 * vol.mean()     # measured ≈ 2 %
    # isotropic: the box stays cubic
    assert np.allclose(box[:, 0], box[:, 2], rtol=1e-12)


def test_crescale_conserved_energy(runs):
    """The energy the barostat (and the thermostat) put in, subtracted: slope measured
    ≈ −2e-6 ε/τ per particle, fluctuation ≈ 4e-4 ε against ≈ 0.16 ε for the total."""
    sim, _, _ = runs["crescale"]
    r = sim.energies
    n = sim.system.n_particles
    e = r["Conserved En."] / n
    assert abs(np.polyfit(r["time"], e, 1)[0]) < 2e-5
    assert e.std() < 2e-3 < (r["Total Energy"] / n).std()
    assert r["Volume"].std() > 0


def test_berendsen_volume_fluctuations_too_small(runs):
    """The known flaw: same τ and κ, volume fluctuations well below C-rescale's
    (measured σ_V ≈ 3.8 against 7.7)."""
    _, p, box_b = runs["berendsen"]
    _, _, box_c = runs["crescale"]
    sb, sc = box_b.prod(1).std(), box_c.prod(1).std()
    assert sb < 0.75 * sc, (sb, sc)
    ps = np.trace(p, axis1=1, axis2=2) / 3.0
    assert ps.mean() == pytest.approx(P0 / PC, abs=0.1)


def test_semi_isotropic_keeps_xy_equal_z_independent():
    sim, p, box = _run(mz.CRescale([P0, P0], tau=0.5, compressibility=[KAPPA, KAPPA],
                                   coupling="semi-isotropic"), steps=4000)
    assert np.array_equal(box[:, 0], box[:, 1])
    assert box[:, 2].std() > 0.0 and box[:, 0].std() > 0.0
    # z moves on its own: L_z / L_x is not constant
    assert (box[:, 2] / box[:, 0]).std() > 1e-3


def test_parameters_validated():
    system, state = lj_fluid(cells=4, density=0.7, temperature=1.5)
    for bad in (dict(coupling="anisotropic"), dict(tau=0.0), dict(nstpcouple=0),
                dict(pressure=[1.0, 2.0])):
        with pytest.raises(ValueError):
            mz.Simulation(system, mz.VelocityVerlet(0.005, thermostat=mz.VRescale(T, 0.1),
                                                    barostat=mz.CRescale(**bad)), state)


@pytest.mark.parametrize("cls", [mz.CRescale, mz.BerendsenBarostat])
def test_checkpoint_resume_bit_for_bit(tmp_path, cls):
    """Checkpoint at step 100, right after a coupling, and resume."""
    def make():
        system, state = lj_fluid(cells=4, density=0.7, temperature=1.5)
        return mz.Simulation(system, mz.VelocityVerlet(
            0.005, thermostat=mz.VRescale(T, tau=0.1),
            barostat=cls(P0, tau=0.5, compressibility=KAPPA, nstpcouple=10)),
            state, skin=0.3, seed=11)

    ref = make()
    ref.run(300, progress=False)
    a = make()
    a.run(100, progress=False)
    a.save_checkpoint(tmp_path / "c.h5")
    a.run(200, progress=False)
    b = make()
    b.load_checkpoint(tmp_path / "c.h5")
    b.run(200, progress=False)
    for sim in (a, b):
        assert np.array_equal(sim.state.positions, ref.state.positions)
        assert np.array_equal(sim.state.velocities, ref.state.velocities)
        assert np.array_equal(sim.state.box, ref.state.box)
        assert (sim.energy_terms()["Conserved En."]
                == ref.energy_terms()["Conserved En."])
    assert not np.array_equal(ref.state.box, make().state.box)
