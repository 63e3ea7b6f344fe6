"""A solvated peptide at 2 fs: h-bond constraints (SHAKE/RATTLE) + SETTLE water, PME.

Minimise (steepest descent), thermalise with Langevin at 300 K, then NVE at 2 fs; the
total-energy drift is reported per ns and bounded (measured: +0.28 kJ/mol/ns per atom,
1446 atoms, 2 ps; GROMACS's default pair-list buffer alone tolerates 5). Without constraints the same 2 fs run
is unstable (bonds to hydrogen vibrate with a ~10 fs period) — the pre-flight check of
the analysis issue flags that; here we make sure the System exposes what it needs.
"""

from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.minimize import minimize

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs" / "aapaa_tip3p_hbonds"


@pytest.mark.slow
def test_solvated_peptide_nve_at_2fs_with_constraints():
    system, state, settings = load_gromacs(DATA / "processed.top", DATA / "conf.gro",
                                           DATA / "run.mdp")
    kinds = sorted(type(c).__name__ for c in system.constraints)
    assert kinds == ["DistanceConstraints", "Settle"]
    n_water = dict(system.topology.molecules)["SOL"]
    assert system.n_constraints == 3 * n_water + sum(
        1 for c in system.constraints if type(c).__name__ == "DistanceConstraints"
        for _ in c.lengths)
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=0.002, temperature=300.0, friction=5.0),
                        state, seed=3, skin=0.1)
    res = minimize(sim, f_tol=500.0, max_steps=300, progress=False)
    assert res.energy < res.energies[0]
    sim.state.velocities[:] = mz.maxwell_boltzmann(system.masses, 300.0, seed=4)
    sim.run(250, progress=False)
    sim.set_integrator(mz.VelocityVerlet(dt=0.002))
    rec = mz.EnergyRecorder(every=10)
    sim.outputs.append(rec)
    sim.run(1000, progress=False)
    r = rec.results
    t = r["time"] - r["time"][0]
    e = r["Total Energy"]
    slope, icpt = np.polyfit(t, e, 1)
    drift_per_ns = slope * 1000.0                           # kJ/mol/ns, whole system
    per_atom = drift_per_ns / system.n_particles
    print(f"NVE 2 fs, {system.n_particles} atoms: drift {drift_per_ns:+.1f} kJ/mol/ns "
          f"({per_atom:+.4f} per atom), fluctuation {np.std(e - slope * t - icpt):.2f} "
          f"kJ/mol, <T> {r['Temperature'].mean():.1f} K")
    assert np.isfinite(e).all()
    # measured 2026-11-24: +0.28 kJ/mol/ns per atom over 2 ps (the peptide still relaxing
    # from the minimised model). GROMACS's default verlet-buffer-tolerance alone allows
    # 0.005 kJ/mol/ps = 5 kJ/mol/ns per atom; we bound at a fifth of that.
    assert abs(per_atom) < 1.0
    assert 250 < r["Temperature"].mean() < 380
