"""All-atom bonded terms against GROMACS 2022 (double precision), term by term.

The reference (``tests/data/allatom_bonded``) was written by ``make_reference.py`` there:
one 10-atom molecule carrying every bonded function type, evaluated by ``gmx_d mdrun``
in a cubic box (molecule whole) and in a triclinic box (molecule split over the corner).
GROMACS is not needed at test time.
"""

import json
import os

import networkx as nx
import numpy as np
import pytest
from test_bonded_allatom import DATA, build_forces

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.io import read_gro
from mdzoom.plugins.allatom import bonded as b

TERMS = {"HarmonicBonds": "Bond", "G96Bonds": "G96Bond", "HarmonicPotentials": "Harmonic Pot.",
         "HarmonicAngles": "Angle", "G96Angles": "G96Angle", "UreyBradley": "U-B",
         "PeriodicTorsions": "Proper Dih.", "PeriodicImpropers": "Per. Imp. Dih.",
         "HarmonicImpropers": "Improper Dih.", "RyckaertBellemans": "Ryckaert-Bell.",
         "PositionRestraints": "Position Rest."}


def reference_system(box_kind):
    with open(os.path.join(DATA, "params.json")) as fh:
        p = json.load(fh)
    with open(os.path.join(DATA, box_kind, "reference.json")) as fh:
        ref = json.load(fh)
    conf = read_gro(os.path.join(DATA, box_kind, "conf.gro"))
    restraint_ref = read_gro(os.path.join(DATA, box_kind, "ref.gro")).positions
    forces, pr_atoms, pr_k = build_forces(p)
    forces["PositionRestraints"] = b.PositionRestraints(pr_atoms, restraint_ref[pr_atoms],
                                                        pr_k)
    g = nx.Graph()
    for i, (m, q) in enumerate(zip(p["masses"], p["charges"])):
        g.add_node(i, name=f"C{i}", type="CX", mass=m, charge=q, resname="MOL", resid=1)
    for name in ("HarmonicBonds", "G96Bonds"):
        g.add_edges_from((r[0], r[1]) for r in p[name])
    top = mz.Topology([mz.MoleculeType("MOL", g, nrexcl=3)], [("MOL", 1)])
    system = mz.System(top, box=conf.box, forces=list(forces.values()))
    assert system.masses.tolist() == pytest.approx(p["masses"])
    return system, mz.State(conf.positions, box=conf.box), ref


@pytest.mark.parametrize("box_kind", ["cubic", "triclinic"])
def test_terms_and_forces_match_gromacs(box_kind):
    system, state, ref = reference_system(box_kind)
    e, f, terms = testing.evaluate(system, state)
    expected = ref["energies"]
    assert set(expected) == set(TERMS.values()) | {"LJ-14", "Coulomb-14"}
    for term, value in expected.items():
        # measured: ≤ 3e-14 relative; LJ-14 and Coulomb-14 ~3e-9 (GROMACS tabulates pairs)
        assert terms[term] == pytest.approx(value, rel=1e-7, abs=1e-6), term
    assert e == pytest.approx(sum(expected.values()), rel=1e-8)
    rms = np.sqrt(np.mean((f - np.asarray(ref["forces"])) ** 2))
    assert rms < 1e-3, f"force RMS difference {rms:.3g} kJ/mol/nm"  # measured 4e-6
