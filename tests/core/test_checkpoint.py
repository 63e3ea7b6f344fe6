"""Checkpoint + resume continues bit-for-bit, and outputs join without gap or duplicate."""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.io import read_h5md

from mdz_testsystems import lj_fluid


@pytest.mark.parametrize("integrator", [
    mz.VelocityVerlet(dt=0.005),
    mz.LangevinBAOAB(dt=0.005, temperature=1.0 / mz.KB, friction=1.0),
    mz.Brownian(dt=0.0005, temperature=1.0 / mz.KB, friction=10.0),
])
def test_resume_is_bit_for_bit(tmp_path, integrator):
    system, state = lj_fluid(cells=4, temperature=1.2)

    def outputs(d):
        return [mz.H5MDOutput(d / "traj.h5md", every=25, velocities=True),
                mz.EnergyLog(d / "energy.log", every=10)]

    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    ref = mz.Simulation(system, integrator, state.copy(), outputs=outputs(ref_dir), seed=42,
                        skin=0.3)
    ref.run(300, progress=False)
    ref.close()

    d = tmp_path / "split"
    d.mkdir()
    first = mz.Simulation(system, integrator, state.copy(), outputs=outputs(d), seed=42,
                          skin=0.3)
    first.run(130, progress=False)
    first.save_checkpoint(d / "state.chk")
    first.run(40, progress=False)        # work done after the checkpoint is lost in a crash
    first.close()

    second = mz.Simulation(system, integrator, outputs=outputs(d), seed=0, skin=0.3)
    second.load_checkpoint(d / "state.chk")
    assert second.state.step == 130 and second.seed == 42
    second.run(170, progress=False)
    second.close()

    assert np.array_equal(second.state.positions, ref.state.positions)
    assert np.array_equal(second.state.velocities, ref.state.velocities)
    assert second.state.time == ref.state.time
    a, b = read_h5md(ref_dir / "traj.h5md"), read_h5md(d / "traj.h5md")
    assert np.array_equal(a.steps, b.steps)
    assert np.array_equal(a.positions, b.positions)
    la = mz.EnergyLog.read(ref_dir / "energy.log")
    lb = mz.EnergyLog.read(d / "energy.log")
    assert np.array_equal(la["step"], lb["step"])
    assert np.array_equal(la["Total Energy"], lb["Total Energy"])


def test_checkpoint_output_and_mismatch_errors(tmp_path):
    system, state = lj_fluid(cells=4)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.005), state,
                        outputs=[mz.CheckpointOutput(tmp_path / "c.h5", every=50)], skin=0.3)
    sim.run(100, progress=False)
    other = mz.Simulation(system, mz.VelocityVerlet(dt=0.002), skin=0.3)
    with pytest.raises(ValueError, match="integrator"):
        other.load_checkpoint(tmp_path / "c.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="junk.h5"):
        other.load_checkpoint(tmp_path / "junk.h5")
    small, sstate = lj_fluid(cells=3, cutoff=1.2)
    with pytest.raises(ValueError, match="particles"):
        mz.Simulation(small, mz.VelocityVerlet(dt=0.005), sstate).load_checkpoint(tmp_path / "c.h5")
