"""AnalysisOutput: analyses inside a running simulation equal the offline analyses of the
same frames written to H5MD."""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.analysis import msd, radius_of_gyration, rdf, rmsd, rmsf, vacf
from mdzoom.core.io import read_h5md


def assert_same_results(a, b):
    assert set(a) == set(b)
    for key in a:
        va, vb = a[key], b[key]
        if isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, vb, err_msg=key)
        else:
            assert va == vb or (va != va and vb != vb), key          # NaN == NaN


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pos, edge = mz.fcc_lattice(4, density=0.8)
    top = mz.Topology.atomic_fluid(len(pos), mass=2.0)
    system = mz.System(top, box=edge, forces=[mz.LennardJones(1.0, 1.0, cutoff=2.0)])
    v = mz.maxwell_boltzmann(top.masses, 1.2 / mz.KB, seed=2)
    path = tmp_path_factory.mktemp("out") / "traj.h5md"
    outs = {
        "rdf": mz.AnalysisOutput("rdf", every=5, r_max=1.5, n_bins=30),
        "rmsd": mz.AnalysisOutput("rmsd", every=5, selection="index 0-19"),
        "rmsf": mz.AnalysisOutput(rmsf, every=5, selection=np.arange(40)),
        "rg": mz.AnalysisOutput("rg", every=5),
        "msd": mz.AnalysisOutput("msd", every=5),
        "vacf": mz.AnalysisOutput("vacf", every=5),
    }
    h5 = mz.H5MDOutput(path, every=5, velocities=True)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.004), mz.State(pos, v, box=edge),
                        outputs=[h5, *outs.values()], seed=1)
    sim.run(100, progress=False)
    sim.close()
    return outs, read_h5md(path), top


def test_in_simulation_results_equal_offline_results(run):
    outs, traj, top = run
    assert traj.n_frames == 21
    assert_same_results(outs["rdf"].results(), rdf(traj, r_max=1.5, n_bins=30))
    assert_same_results(outs["rmsd"].results(),
                        rmsd(traj, selection="index 0-19", topology=top))
    assert_same_results(outs["rmsf"].results(),
                        rmsf(traj, selection=np.arange(40), topology=top))
    assert_same_results(outs["rg"].results(), radius_of_gyration(traj, topology=top))
    assert_same_results(outs["msd"].results(), msd(traj))
    assert_same_results(outs["vacf"].results(), vacf(traj))
    assert outs["rg"].results().weighting == "mass"            # topology passed in
    assert outs["rdf"]._pos == []                              # streamed, no frames kept
    assert outs["rmsd"].n_frames == 21


def test_results_are_cached_and_errors_are_clear(run):
    outs, _, _ = run
    assert outs["msd"].results() is outs["msd"].results()
    with pytest.raises(ValueError, match="keeps no frames"):
        outs["rdf"].trajectory()
    fresh = mz.AnalysisOutput("rmsd", every=10)
    with pytest.raises(ValueError, match="no frame yet"):
        fresh.results()
    with pytest.raises(KeyError, match="unknown analysis 'nope'"):
        mz.AnalysisOutput("nope")._resolve(type("S", (), {"plugin_manager": None})())


def test_resume_drops_frames_after_the_checkpoint(run):
    outs, _, _ = run
    out = mz.AnalysisOutput("rg", every=5)
    out._fn = radius_of_gyration
    for step in range(0, 30, 5):
        out._steps.append(step)
        out._times.append(0.1 * step)
        out._pos.append(np.full((3, 3), float(step)))
        out._boxes.append(None)
    sim = type("S", (), {"state": type("St", (), {"step": 15})()})()
    out.resume(sim)
    assert out._steps == [0, 5, 10] and len(out._pos) == 3
