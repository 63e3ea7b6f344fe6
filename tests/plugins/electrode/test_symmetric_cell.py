"""Issue #9's symmetry check with real dynamics: two identical uncharged graphite
electrodes and an aqueous NaCl electrolyte. By symmetry the two electrodes' potential
drops are equal, so the cell voltage at σ = 0 must vanish within its statistical error;
a sign or geometry bug (a mirror image that is not one, the slab term, the Φ(z)
boundary condition) would show as a voltage."""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.minimize import minimize
from mdzoom.core.outputs import H5MDOutput
from mdzoom.plugins.electrode.cell import build_cell
from mdzoom.plugins.electrode.pzc import drops_from_trajectory


@pytest.mark.slow
def test_uncharged_symmetric_cell_has_zero_voltage(tmp_path):
    cell = build_cell("graphite", gap=2.4, concentration=1.0, sigma=0.0, seed=3,
                      folder=tmp_path / "cell")
    sim = mz.Simulation(cell.system, mz.LangevinBAOAB(dt=0.002, temperature=300.0,
                                                      friction=2.0),
                        cell.state, seed=5, skin=0.1)
    minimize(sim, f_tol=1000.0, max_steps=300)
    sim.state.velocities[:] = mz.maxwell_boltzmann(cell.system.masses, 300.0, seed=6)
    sim.run(1500, progress=False)                                # 3 ps equilibration
    sim.outputs.append(H5MDOutput(tmp_path / "traj.h5md", every=25))
    sim.run(7500, progress=False)                                # 15 ps, 300 frames
    sim.close()                                                  # flush the trajectory
    mid = 0.5 * (cell.z_left + cell.z_right)
    res = drops_from_trajectory(tmp_path / "traj.h5md", cell.system.topology.charges,
                                cell.z_left, cell.z_right, (mid - 0.3, mid + 0.3),
                                n_blocks=5)
    print(f"sigma = 0: dPhi_L {res.delta_left:+.3f} ± {res.error_left:.3f} V, dPhi_R "
          f"{res.delta_right:+.3f} ± {res.error_right:.3f} V, U {res.voltage:+.3f} ± "
          f"{res.voltage_error:.3f} V")
    assert np.isfinite(res.voltage_error) and res.voltage_error > 0
    assert abs(res.voltage) < 3.0 * res.voltage_error + 0.05
