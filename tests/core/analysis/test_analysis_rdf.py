"""Radial distribution function: ideal gas, minimum image in triclinic boxes, and
MDAnalysis' InterRDF on a GROMACS-equilibrated SPC/E box and an mdzoom LJ trajectory."""

from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.analysis import RDFAccumulator, box_heights, rdf
from mdzoom.core.io import box_from_lengths_angles, lengths_angles_from_box, read_gro

# MDAnalysis warns that an in-memory or H5MD reader without dt "has no dt information"
pytestmark = pytest.mark.filterwarnings("ignore:Reader has no dt:UserWarning")

SPCE = Path(__file__).resolve().parents[2] / "data" / "spce_box" / "conf.gro"
TRICLINIC = box_from_lengths_angles(3.0, 3.5, 4.0, 70.0, 80.0, 100.0)


def ideal_gas(rng, box, n_frames, n):
    return rng.uniform(size=(n_frames, n, 3)) @ box


@pytest.mark.parametrize("box", [np.diag([3.0, 3.5, 4.0]), TRICLINIC],
                         ids=["orthorhombic", "triclinic"])
def test_ideal_gas_has_g_equal_one(box):
    rng = np.random.default_rng(3)
    n, n_frames = 1000, 40
    r_max = 0.49 * box_heights(box).min()
    res = rdf((ideal_gas(rng, box, n_frames, n), None, box), r_max=r_max, n_bins=20)
    sigma = 1.0 / np.sqrt(res.counts / 2)           # Poisson noise of unordered pairs
    assert np.all(np.abs(res.g - 1.0) < 5 * sigma)
    assert abs(np.average(res.g, weights=res.counts) - 1.0) < 0.005
    vol = abs(np.linalg.det(box))
    expect = (n - 1) / vol * 4 / 3 * np.pi * res.edges[1:] ** 3
    np.testing.assert_allclose(res.coordination[5:], expect[5:], rtol=0.02)
    assert res.coordination[-1] == pytest.approx(expect[-1], rel=0.005)
    assert res.n_pairs == n * (n - 1) and res.volume == pytest.approx(vol)


def test_minimum_image_and_r_max_limit():
    box = np.diag([2.0, 2.0, 2.0])
    x = np.array([[0.06, 1.0, 1.0], [1.95, 1.0, 1.0], [1.0, 1.0, 1.0]])
    res = rdf((x, None, box), r_max=0.5, n_bins=5)
    assert res.counts[1] == 2 and res.counts.sum() == 2       # 0.11 nm through the face
    with pytest.raises(ValueError, match="below half the smallest box height"):
        rdf((x, None, box), r_max=1.0)
    with pytest.raises(ValueError, match="periodic box"):
        rdf(x, r_max=0.5)
    # a triclinic box whose smallest height is well below its shortest edge
    assert box_heights(TRICLINIC).min() < 3.0
    with pytest.raises(ValueError, match="below half"):
        rdf((x, None, TRICLINIC), r_max=0.5 * 3.0 - 1e-3)


def _mda_universe(mda, pos_nm, box):
    from MDAnalysis.coordinates.memory import MemoryReader

    la = np.array(lengths_angles_from_box(box))
    la[:3] *= 10.0
    u = mda.Universe.empty(pos_nm.shape[1], trajectory=True)
    u.load_new((pos_nm * 10.0).astype(np.float32), format=MemoryReader,
               dimensions=np.tile(la, (pos_nm.shape[0], 1)))
    return u


def test_triclinic_counts_equal_mdanalysis():
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.analysis.rdf import InterRDF

    rng = np.random.default_rng(4)
    x = ideal_gas(rng, TRICLINIC, 5, 400)
    u = _mda_universe(mda, x, TRICLINIC)
    r_max = 0.49 * box_heights(TRICLINIC).min()
    ref = InterRDF(u.atoms, u.atoms, nbins=50, range=(0, 10 * r_max),
                   exclusion_block=(1, 1)).run()
    x32 = u.trajectory.timeseries(order="fac").astype(np.float64) / 10.0
    res = rdf((x32, None, TRICLINIC), r_max=r_max, n_bins=50)
    np.testing.assert_array_equal(res.counts, ref.results.count)
    np.testing.assert_allclose(res.g, ref.results.rdf, rtol=1e-10)


def _agree_with_float32_reference(res, ref):
    """MDAnalysis computes distances from float32 coordinates, in float32: a pair within
    that rounding (~1e-6 Å per 10 Å) of a bin edge may sit in the neighbouring bin. So:
    at most 1e-5 of the pairs moved across an edge (or r_max), and g equal to 1e-6
    relative in every bin whose count agrees."""
    diff = res.counts - ref.results.count
    moved = np.abs(np.cumsum(diff)).max()                    # includes pairs at r_max
    assert moved <= max(4, 1e-5 * res.counts.sum())
    ok = diff == 0
    assert ok.mean() > 0.8
    np.testing.assert_allclose(res.g[ok], ref.results.rdf[ok], rtol=1e-6)
    return int(moved)


def test_spce_water_oo_and_intermolecular_oh_agree_with_mdanalysis():
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.analysis.rdf import InterRDF

    u = mda.Universe(str(SPCE))
    frame = read_gro(SPCE)
    ow = u.select_atoms("name OW")
    hw = u.select_atoms("name HW1 HW2")
    pos = u.atoms.positions.astype(np.float64) / 10.0
    box = np.diag(u.dimensions[:3].astype(np.float64) / 10.0)
    ref = InterRDF(ow, ow, nbins=100, range=(0, 13.0), exclusion_block=(1, 1)).run()
    res = rdf((pos, None, box), "name OW", r_max=1.3, n_bins=100, topology=frame)
    _agree_with_float32_reference(res, ref)
    first_peak = res.r[np.argmax(res.g)]
    assert 0.27 < first_peak < 0.29 and 2.5 < res.g.max() < 3.5     # water O–O
    ref = InterRDF(ow, hw, nbins=100, range=(0, 13.0), exclusion_block=(1, 2)).run()
    res = rdf((pos, None, box), ow.indices, hw.indices, r_max=1.3, n_bins=100,
              exclude_same_molecule=True, molecule_ids=np.arange(len(pos)) // 3)
    assert res.n_pairs == ow.n_atoms * hw.n_atoms - ow.n_atoms * 2
    _agree_with_float32_reference(res, ref)
    assert res.counts[res.r < 0.12].sum() == 0           # no intramolecular O–H left


@pytest.fixture(scope="module")
def lj_trajectory():
    """An LJ liquid run by mdzoom (reduced units read as nm): 21 frames of 500 atoms."""
    import mdzoom.core as mz

    pos, edge = mz.fcc_lattice(5, density=0.8442)
    top = mz.Topology.atomic_fluid(len(pos))
    system = mz.System(top, box=edge, forces=[mz.LennardJones(1.0, 1.0, cutoff=2.5)])
    v = mz.maxwell_boltzmann(top.masses, 1.5 / mz.KB, seed=1)
    h5 = mz.AnalysisOutput(lambda tr: tr, every=10)          # keeps the frames
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.005), mz.State(pos, v, box=edge),
                        outputs=[h5], seed=1)
    sim.run(200, progress=False)
    return h5.trajectory()


def test_lj_liquid_trajectory_agrees_with_mdanalysis(lj_trajectory):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.analysis.rdf import InterRDF

    tr = lj_trajectory
    u = _mda_universe(mda, tr.positions, tr.boxes[0])
    x32 = u.trajectory.timeseries(order="fac").astype(np.float64) / 10.0
    r_max = 0.49 * tr.boxes[0, 0, 0]
    ref = InterRDF(u.atoms, u.atoms, nbins=75, range=(0, 10 * r_max),
                   exclusion_block=(1, 1)).run()
    res = rdf((x32, tr.times, tr.boxes), r_max=r_max, n_bins=75)
    _agree_with_float32_reference(res, ref)
    assert res.n_frames == 21
    assert 1.0 < res.r[np.argmax(res.g)] < 1.2 and res.g.max() > 2.0   # LJ first shell


def test_accumulator_equals_rdf_and_group_b():
    rng = np.random.default_rng(5)
    box = np.diag([3.0, 3.0, 3.0])
    x = ideal_gas(rng, box, 3, 300)
    a, b = np.arange(100), np.arange(50, 300)              # overlapping groups
    acc = RDFAccumulator(300, a, b, r_max=1.2, n_bins=30)
    for frame in x:
        acc.add(frame, box)
    res = rdf((x, None, box), a, b, r_max=1.2, n_bins=30)
    np.testing.assert_array_equal(acc.results().counts, res.counts)
    assert res.n_pairs == 100 * 250 - 50
    d = x[:, a][:, :, None] - x[:, b][:, None, :]
    d -= np.round(d / 3.0) * 3.0
    r = np.sqrt((d ** 2).sum(-1))
    r = r[(r > 0) & (r < 1.2)]
    np.testing.assert_array_equal(res.counts, np.histogram(r, bins=res.edges)[0])
    with pytest.raises(ValueError, match="needs a Topology"):
        rdf((x, None, box), r_max=1.0, exclude_same_molecule=True)
