"""Kabsch, RMSD, RMSF, radius of gyration and selections: exact cases and a cross-check
with MDAnalysis (RMSD, RMSF, Rg, RDF, MSD) on a trajectory produced by mdzoom (a6pa6
peptide, CHARMM, vacuum)."""

from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.analysis import (kabsch, radius_of_gyration, resolve_indices, rmsd, rmsf,
                                  select)
from mdzoom.core.io import box_from_lengths_angles, read_gro, read_h5md

# MDAnalysis warns that an in-memory or H5MD reader without dt "has no dt information"
pytestmark = pytest.mark.filterwarnings("ignore:Reader has no dt:UserWarning")

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs" / "a6pa6_charmm_vac"


def random_rotation(rng):
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a*a + b*b - c*c - d*d, 2*(b*c - a*d), 2*(b*d + a*c)],
                     [2*(b*c + a*d), a*a - b*b + c*c - d*d, 2*(c*d - a*b)],
                     [2*(b*d - a*c), 2*(c*d + a*b), a*a - b*b - c*c + d*d]])


@pytest.fixture(scope="module")
def peptide(tmp_path_factory):
    """51 frames of the 137-atom peptide, Langevin at 1000 K (large fluctuations, so that
    MDAnalysis' float32 coordinates do not limit the comparison), written as H5MD."""
    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs, topology_from_gromacs
    from mdzoom.core.io.top import read_top

    path = tmp_path_factory.mktemp("peptide") / "traj.h5md"
    system, state, _ = load_gromacs(DATA / "processed.top", DATA / "conf.gro",
                                    DATA / "run.mdp")
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=0.001, temperature=1000.0,
                                                 friction=5.0),
                        state, outputs=[mz.H5MDOutput(path, every=40)], seed=7)
    sim.run(2000, progress=False)
    sim.close()
    return path, topology_from_gromacs(read_top(DATA / "processed.top"))


# --------------------------------------------------------------------------- Kabsch


def test_kabsch_on_rotated_translated_copy_gives_rmsd_zero():
    rng = np.random.default_rng(0)
    P = rng.normal(0.0, 1.0, (40, 3))
    R = random_rotation(rng)
    Q = P @ R + np.array([1.0, -2.0, 3.5])
    w = rng.uniform(1.0, 16.0, 40)
    for weights in (None, w):
        Rk = kabsch(P, Q, weights)
        np.testing.assert_allclose(Rk, R, atol=1e-12)
        assert np.linalg.det(Rk) == pytest.approx(1.0, abs=1e-12)
    res = rmsd(np.stack([P, Q, Q + 5.0]))
    np.testing.assert_allclose(res.rmsd, 0.0, atol=1e-12)
    res = rmsd(np.stack([P, Q]), weights=w)
    assert res.rmsd[1] == pytest.approx(0.0, abs=1e-12) and res.weights == "given"


def test_kabsch_never_reflects():
    rng = np.random.default_rng(1)
    P = rng.normal(size=(12, 3))
    mirror = P * [1.0, 1.0, -1.0]                         # only a reflection maps P to it
    R = kabsch(P, mirror)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-12)
    res = rmsd(np.stack([P, mirror]))
    assert res.rmsd[1] > 0.1


def test_rmsd_without_superposition_and_given_reference():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 20, 3))
    res = rmsd(x, reference=2, superpose=False)
    np.testing.assert_allclose(res.rmsd, np.sqrt(((x - x[2]) ** 2).sum(-1).mean(-1)),
                               rtol=1e-12)
    ref = x[0] @ random_rotation(rng) + 1.0
    res = rmsd(x, reference=ref)
    assert res.rmsd[0] == pytest.approx(0.0, abs=1e-12)
    sub = rmsd(x, selection=np.arange(10), fit_selection=np.arange(10, 20))
    assert sub.n_atoms == 10 and sub.n_fit_atoms == 10


# --------------------------------------------------------------------------- MDAnalysis


def test_rmsd_rmsf_rg_rdf_msd_agree_with_mdanalysis(peptide):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.analysis import align, rms

    path, top = peptide
    u = mda.Universe(str(DATA / "conf.gro"), str(path))
    # the coordinates MDAnalysis works with (float32 Å), given to mdzoom in nm
    pos = u.trajectory.timeseries(order="fac").astype(np.float64) / 10.0
    traj = (pos, read_h5md(path).times, read_h5md(path).boxes)
    masses = u.atoms.masses.astype(np.float64)
    assert pos.shape == (51, 137, 3)

    ref = rms.RMSD(u, select="all").run().results.rmsd[1:, 2] / 10.0
    np.testing.assert_allclose(rmsd(traj).rmsd[1:], ref, rtol=1e-6)
    ref_m = rms.RMSD(u, select="name CA", weights="mass").run().results.rmsd[1:, 2] / 10.0
    ca = np.flatnonzero(u.atoms.names == "CA")
    np.testing.assert_allclose(rmsd(traj, selection=ca, weights=masses).rmsd[1:], ref_m,
                               rtol=1e-6)

    rg_ref = np.array([u.atoms.radius_of_gyration() for _ in u.trajectory]) / 10.0
    np.testing.assert_allclose(radius_of_gyration(traj, masses=masses).rg, rg_ref,
                               rtol=1e-6)

    from MDAnalysis.analysis.msd import EinsteinMSD
    from MDAnalysis.analysis.rdf import InterRDF

    from mdzoom.core.analysis import msd, rdf
    ref_msd = EinsteinMSD(u, select="all", fft=False).run().results.timeseries[1:] / 100.0
    np.testing.assert_allclose(msd((pos, traj[1], None)).msd[1:], ref_msd, rtol=1e-6)
    carbons = u.select_atoms("name C*")
    ref_rdf = InterRDF(carbons, carbons, nbins=50, range=(0, 20.0),
                       exclusion_block=(1, 1)).run()
    res_rdf = rdf(traj, carbons.indices, r_max=2.0, n_bins=50)
    np.testing.assert_array_equal(res_rdf.counts, ref_rdf.results.count)
    np.testing.assert_allclose(res_rdf.g, ref_rdf.results.rdf, rtol=1e-6)

    avg = align.AverageStructure(u, u, select="all", ref_frame=0).run()
    align.AlignTraj(u, avg.results.universe, select="all", in_memory=True).run()
    rmsf_ref = rms.RMSF(u.atoms).run().results.rmsf / 10.0
    res = rmsf(traj)
    np.testing.assert_allclose(res.rmsf, rmsf_ref, rtol=1e-6)
    assert res.rmsf.min() > 0.02                     # fluctuations well above float32 noise


def test_mass_weights_and_selection_strings_from_the_topology(peptide):
    path, top = peptide
    a = rmsd(path, selection="name CA", weights="mass", topology=top)
    ca = select(top, "name CA")
    b = rmsd(path, selection=ca, weights=np.asarray(top.masses))
    np.testing.assert_allclose(a.rmsd, b.rmsd, rtol=1e-12)
    assert a.n_atoms == 13
    rg = radius_of_gyration(path, topology=top)
    assert rg.weighting == "mass" and 0.5 < rg.mean < 2.0
    per_res = rmsf(path, selection="name CA", per="residue", topology=top)
    assert per_res.rmsf.shape == (13,) and list(per_res.resids) == list(range(1, 14))
    np.testing.assert_allclose(per_res.rmsf, per_res.rmsf_atoms)   # one CA per residue
    heavy = rmsf(path, per="residue", topology=top, selection="not element H")
    res_of = np.asarray(top.resids)[heavy.indices]
    msf = heavy.rmsf_atoms ** 2
    np.testing.assert_allclose(heavy.rmsf[0], np.sqrt(msf[res_of == 1].mean()), rtol=1e-12)


def test_molecules_made_whole_along_bonds_in_a_triclinic_box(peptide):
    path, top = peptide
    tr = read_h5md(path)
    box = box_from_lengths_angles(3.0, 3.2, 3.4, 75.0, 80.0, 95.0)
    # move the peptide across a corner of the box, then fold every atom into it
    x = tr.positions - tr.positions[:, :1] + 0.05
    s = x @ np.linalg.inv(box)
    wrapped = (s - np.floor(s)) @ box
    boxes = np.broadcast_to(box, (tr.n_frames, 3, 3))
    assert np.ptp(wrapped[0], axis=0).max() > 2.0                  # split by the folding
    ref_rg = radius_of_gyration((x, tr.times, None), topology=top)
    got = radius_of_gyration((wrapped, tr.times, boxes), topology=top)
    np.testing.assert_allclose(got.rg, ref_rg.rg, rtol=1e-10)
    assert "whole" in got.note
    broken = radius_of_gyration((wrapped, tr.times, boxes), topology=top, whole=False)
    assert broken.rg.max() > 1.5 * ref_rg.rg.max()
    np.testing.assert_allclose(rmsd((wrapped, tr.times, boxes), topology=top).rmsd,
                               rmsd((x, tr.times, None)).rmsd, atol=1e-10)
    np.testing.assert_allclose(rmsf((wrapped, tr.times, boxes), topology=top).rmsf,
                               rmsf((x, tr.times, None)).rmsf, rtol=1e-9)


# --------------------------------------------------------------------------- selections


def test_selection_language_on_topology_and_structure(peptide):
    _, top = peptide
    frame = read_gro(DATA / "conf.gro")
    for obj in (top, frame):
        ca = select(obj, "name CA")
        assert ca.size == 13 and all(frame.names[i] == "CA" for i in ca)
        assert np.array_equal(select(obj, "resname PRO"),
                              np.flatnonzero(np.array(frame.resnames) == "PRO"))
        both = select(obj, "resid 1-3 and (name C* or name N) and not name CB")
        assert set(np.array(frame.names)[both]) <= {"C", "CA", "N"}
        assert np.array_equal(select(obj, "index 0-4 10"), [0, 1, 2, 3, 4, 10])
        assert select(obj, "all").size == 137
        assert np.array_equal(select(obj, "element H"),
                              np.flatnonzero([n.startswith("H") for n in frame.names]))
    assert select(top, "moltype " + top.molecules[0][0]).size == 137
    with pytest.raises(ValueError, match="matched no particle.*names present"):
        select(top, "name XYZ")
    with pytest.raises(ValueError, match="unknown keyword 'nmae'; available"):
        select(top, "nmae CA")
    with pytest.raises(ValueError, match="needs a Topology"):
        select(frame, "moltype Protein")
    with pytest.raises(ValueError, match="missing"):
        select(top, "(name CA")
    assert np.array_equal(resolve_indices("index 2-4", 10), [2, 3, 4])
    with pytest.raises(ValueError, match="needs a topology"):
        resolve_indices("name CA", 10)


def test_registered_as_plugin_analyses():
    from mdzoom.core import PluginManager
    from mdzoom.core.analysis import rdf

    reg = PluginManager(entry_points=False).registry
    assert reg.get_analysis("rmsd") is rmsd
    assert reg.get_analysis("rmsf") is rmsf
    assert reg.get_analysis("rg") is radius_of_gyration
    assert reg.get_analysis("rdf") is rdf
