"""Martini 3 water (898 W beads, 5 nm box) at the standard 20 fs: stable and at 300 K.

Standard Martini 3 settings: reaction field ε_r 15, ε_rf ∞, rc 1.1 nm, LJ potential
shift (W–W from ``[ nonbond_params ]``: σ 0.47 nm, ε 4.65 kJ/mol). The structure
(``m3_water_898.gro``) has no velocities and slightly low density, so: steepest descent,
a short Langevin start at 10 fs, then velocity Verlet at 20 fs with V-rescale at 300 K
(τ 1 ps). GROMACS's "Conserved En." (total energy + the kinetic energy the thermostat
exchanged) must stay flat: a drift bounded well below what GROMACS's default Verlet
buffer tolerates (0.005 kJ/mol/ps = 5 kJ/mol/ns per bead); measured 2026-11-24:
−0.01 to −0.07 kJ/mol/ns per bead over 40 ps (skin 0.2 nm), ⟨T⟩ 300–301 K; about 10 s.

The W molecule is written here (one bead of type W, no charge, as in
``martini_v3.0.0_solvents_v1.itp``) so that only the particle definitions are parsed.
"""

from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.minimize import minimize

DATA = Path("/work/shared/data")
FF = DATA / "martini3" / "martini_v3.0.0.itp"
GRO = DATA / "structures" / "m3_water_898.gro"

pytestmark = pytest.mark.skipif(not (FF.exists() and GRO.exists()),
                                reason="Martini 3 force field / water structure not found")

MDP = """integrator = md
dt = 0.02
cutoff-scheme = Verlet
coulombtype = reaction-field
rcoulomb = 1.1
epsilon_r = 15
epsilon_rf = 0
vdw_type = cutoff
vdw-modifier = Potential-shift
rvdw = 1.1
"""


def _water(tmp_path):
    n = int(GRO.read_text().splitlines()[1])
    (tmp_path / "topol.top").write_text(
        f'#include "{FF}"\n\n[ moleculetype ]\nW 1\n\n[ atoms ]\n1 W 1 W W 1 0\n\n'
        f"[ system ]\nMartini 3 water\n\n[ molecules ]\nW {n}\n")
    (tmp_path / "run.mdp").write_text(MDP)
    return load_gromacs(tmp_path / "topol.top", GRO, tmp_path / "run.mdp")


def test_martini_water_stable_at_20fs(tmp_path):
    system, state, _ = _water(tmp_path)
    assert system.n_particles == 898
    assert system.masses[0] == pytest.approx(72.0)
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=0.01, temperature=300.0, friction=2.0),
                        state, seed=5, skin=0.2)
    res = minimize(sim, f_tol=50.0, max_steps=200, progress=False)
    assert res.energy <= res.energies[0] and res.max_force < 168.0
    sim.state.velocities[:] = mz.maxwell_boltzmann(system.masses, 300.0, seed=6)
    sim.run(200, progress=False)                       # 2 ps Langevin at 10 fs
    sim.set_integrator(mz.VelocityVerlet(dt=0.02,
                                         thermostat=mz.VRescale(300.0, tau=1.0)))
    sim.run(500, progress=False)                       # 10 ps to settle at 20 fs
    rec = mz.EnergyRecorder(every=20)
    sim.outputs.append(rec)
    sim.run(2000, progress=False)                      # 40 ps measured
    r = rec.results
    t = r["time"] - r["time"][0]
    for key in ("Potential", "Kinetic En.", "Total Energy", "Conserved En."):
        assert np.isfinite(r[key]).all(), key
    temp = r["Temperature"]
    assert abs(temp.mean() - 300.0) < 6.0, temp.mean()
    assert temp.min() > 260 and temp.max() < 340
    # a liquid: LJ energy per bead ≈ −21 kJ/mol at 300 K (ice or gas would be far off)
    assert -26.0 < r["Potential"].mean() / system.n_particles < -16.0
    e = r["Conserved En."]
    slope, icpt = np.polyfit(t, e, 1)
    per_bead = slope * 1000.0 / system.n_particles     # kJ/mol/ns per bead
    spread = np.std(e - slope * t - icpt) / system.n_particles
    print(f"Martini water 20 fs, V-rescale: <T> {temp.mean():.1f} K, conserved-energy "
          f"drift {per_bead:+.4f} kJ/mol/ns per bead, RMS about fit {spread:.1e}")
    assert abs(per_bead) < 0.5
    assert spread < 0.02
