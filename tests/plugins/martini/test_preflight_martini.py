"""Martini pre-flight checks: ``martini-timestep`` (above 30 fs a warning, above 40 fs an
error) and ``martini-mixed-resolution`` (Martini beads with atomistic molecules)."""

from pathlib import Path

import networkx as nx
import numpy as np

import mdzoom.core as mz
from mdzoom.core.gromacs import topology_from_gromacs
from mdzoom.core.gromacs_run import check_gromacs
from mdzoom.core.io.top import read_top
from mdzoom.core.plugins import PluginManager
from mdzoom.core.preflight import run_checks

DATA = Path(__file__).resolve().parents[2] / "data"
PM = PluginManager(entry_points=False)


def _found(system, integrator, **settings):
    return {f.code: f for f in run_checks(system, integrator, settings, plugin_manager=PM)}


def _beads():
    return mz.MoleculeType.single_particle("W", type="W", mass=72.0)


def _aa_water():
    g = nx.Graph()
    for k, (el, m) in enumerate((("O", 15.999), ("H", 1.008), ("H", 1.008))):
        g.add_node(k, name=["OW", "HW1", "HW2"][k], type=["OW", "HW", "HW"][k], element=el,
                   mass=m, charge=[-0.834, 0.417, 0.417][k], resname="SOL")
    g.add_edges_from([(0, 1), (0, 2)])
    return mz.MoleculeType("SOL", g)


def test_martini_time_step():
    system = mz.System(mz.Topology([_beads()], [("W", 100)]), box=5.0, forces=[])
    for dt, severity in ((0.035, "warning"), (0.045, "error")):
        f = _found(system, mz.VelocityVerlet(dt=dt)).get("martini-timestep")
        assert f is not None and f.severity == severity and f.plugin == "mdzoom.plugins.martini"
        assert "20 fs" in f.message and "dt = 0.02" in f.fix
    assert "martini-timestep" not in _found(system, mz.VelocityVerlet(dt=0.02))
    assert "martini-timestep" not in _found(system, mz.Brownian(dt=0.05))
    # not Martini: no Martini rule
    lj = mz.System(mz.Topology.atomic_fluid(100, "LJ", mass=72.0), box=5.0, forces=[])
    assert "martini-timestep" not in _found(lj, mz.VelocityVerlet(dt=0.045))


def test_martini_time_step_from_an_mdp(tmp_path):
    """The Martini 3 bilayer of the reference data, run at 50 fs, then at 20 fs."""
    mdp = tmp_path / "md.mdp"
    text = (DATA / "martini" / "equil.mdp").read_text()
    mdp.write_text(text.replace("dt                       = 0.02", "dt = 0.05"))
    found = check_gromacs(DATA / "martini" / "processed.top", DATA / "martini" / "conf.gro",
                          mdp)
    assert [(f.code, f.severity) for f in found] == [("martini-timestep", "error")]
    mdp.write_text(text)
    assert check_gromacs(DATA / "martini" / "processed.top", DATA / "martini" / "conf.gro",
                         mdp) == []


def test_martini_with_atomistic_molecules():
    mixed = mz.System(mz.Topology([_beads(), _aa_water()], [("W", 50), ("SOL", 20)]),
                      box=5.0, forces=[])
    f = _found(mixed, mz.VelocityVerlet(dt=0.002)).get("martini-mixed-resolution")
    assert f is not None and f.severity == "error"
    assert "W" in f.message and "SOL" in f.message and "--force" in f.fix
    cg = mz.System(mz.Topology([_beads()], [("W", 50)]), box=5.0, forces=[])
    assert "martini-mixed-resolution" not in _found(cg, mz.VelocityVerlet(dt=0.02))
    aa = mz.System(mz.Topology([_aa_water()], [("SOL", 20)]), box=5.0, forces=[])
    assert "martini-mixed-resolution" not in _found(aa, mz.VelocityVerlet(dt=0.002))


def test_martini_popc_with_charmm_popc():
    """Real topologies: Martini 3 POPC (reference bilayer) beside CHARMM36 POPC (the
    all-atom patch) in one system is an error; either alone is not."""
    cg = topology_from_gromacs(read_top(str(DATA / "martini" / "processed.top")))
    aa = topology_from_gromacs(read_top(str(DATA / "martini_mapping" / "popc_patch.top"),
                                        include_dirs=[str(DATA / "martini_mapping")]))
    popc_cg = cg.molecule_type("POPC")
    popc_aa = aa.molecule_type("POPC")
    popc_aa = mz.MoleculeType("POPC_AA", popc_aa.graph, popc_aa.nrexcl)
    both = mz.Topology([popc_cg, popc_aa], [("POPC", 2), ("POPC_AA", 2)])
    system = mz.System(both, box=np.full(3, 8.0), forces=[])
    assert _found(system, mz.VelocityVerlet(dt=0.002))["martini-mixed-resolution"].severity \
        == "error"
    for top, dt in ((cg, 0.02), (aa, 0.002)):
        assert "martini-mixed-resolution" not in _found(mz.System(top, box=8.0, forces=[]),
                                                        mz.VelocityVerlet(dt=dt))
