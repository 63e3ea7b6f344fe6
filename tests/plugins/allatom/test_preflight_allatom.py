"""All-atom pre-flight check ``mixed-forcefield-families``: a CHARMM protein with a GROMOS
lipid is flagged, the same protein with a CHARMM lipid is not."""

from pathlib import Path

import networkx as nx
import pytest

import mdzoom.core as mz
from mdzoom.core.gromacs import topology_from_gromacs
from mdzoom.core.io.top import read_top
from mdzoom.core.plugins import PluginManager
from mdzoom.core.preflight import run_checks
from mdzoom.plugins.allatom.preflight import forcefield_family, molecule_families

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs"
FAMILIES = {"amber": "AMBER", "charmm": "CHARMM", "gromos": "GROMOS", "opls": "OPLS-AA"}
PM = PluginManager(entry_points=False)


@pytest.fixture(scope="module")
def tops():
    return {k: read_top(str(DATA / f"a6pa6_{k}_vac" / "processed.top")) for k in FAMILIES}


def _lipid(types):
    """A lipid-like chain molecule type 'LIP' with the given atom types."""
    g = nx.Graph()
    for k, t in enumerate(types):
        g.add_node(k, name=f"A{k}", type=t, mass=14.0, charge=0.0, resname="LIP")
    g.add_edges_from((k, k + 1) for k in range(len(types) - 1))
    return mz.MoleculeType("LIP", g)


GROMOS_LIPID = ["CH3", "NL", "CH2", "OA", "P", "OM", "OM", "OA", "CH1", "OE", "C", "O",
                "CH2", "CH2", "CH3"]                       # GROMOS 54A7-style DPPC pieces
CHARMM_LIPID = ["CTL3", "NTL", "CTL2", "OSLP", "PL", "O2L", "O2L", "OSLP", "CTL1", "OSL",
                "CL", "OBL", "CTL2", "CTL2", "CTL3", "HAL2", "HAL3", "HL"]


def _checked(protein, lipid):
    top = mz.Topology([protein.molecule_type("Protein"), lipid],
                      [("Protein", 1), ("LIP", 4)])
    system = mz.System(top, box=6.0, forces=[])
    return run_checks(system, mz.VelocityVerlet(dt=0.001), {}, plugin_manager=PM)


def test_charmm_protein_with_gromos_lipid(tops):
    protein = topology_from_gromacs(tops["charmm"])
    found = [f for f in _checked(protein, _lipid(GROMOS_LIPID))
             if f.code == "mixed-forcefield-families"]
    assert found and found[0].severity == "warning"
    assert found[0].plugin == "mdzoom.plugins.allatom"
    assert "CHARMM: Protein" in found[0].message and "GROMOS: LIP" in found[0].message
    assert found[0].fix
    fixed = _checked(protein, _lipid(CHARMM_LIPID))
    assert "mixed-forcefield-families" not in {f.code for f in fixed}


def test_each_reference_topology_is_one_family(tops):
    for key, family in FAMILIES.items():
        assert set(molecule_families(topology_from_gromacs(tops[key])).values()) == {family}


def test_no_atom_type_is_taken_for_another_family(tops):
    """Every [ atomtypes ] name of the four GROMACS ports is its own family or neutral."""
    for key, family in FAMILIES.items():
        wrong = {t: forcefield_family(t) for t in tops[key].atomtypes
                 if forcefield_family(t) not in (None, family)}
        assert not wrong, (key, wrong)
    assert forcefield_family("OW") is None and forcefield_family("C") is None   # shared
    assert forcefield_family("c3") == "AMBER" and forcefield_family("CG331") == "CHARMM"
