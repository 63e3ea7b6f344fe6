"""Martini 2 and martinize2-protein energies and forces against gmx_d (tests/data/martini_more).

The references were made by ``tests/data/martini_more/make_references.py`` (GROMACS 2022.5
``gmx_d mdrun -rerun``, martinize2 from vermouth 0.15.0, insane 1.2.0), reaction field
(epsilon_r 15, epsilon_rf 0), rc 1.1 nm, potential-shifted LJ:

- ``martini2``: Martini 2.2 (``[ defaults ] 1 1``, C6/C12 ``nonbond_params``) — an A6PA6
  helix from ``martinize2 -ff martini22 -elastic`` (rubber bands as ``[ bonds ]`` func 6,
  backbone constraints, G96 angles, proper dihedrals) above a 32-DPPC bilayer, W, three
  BENZ (``[ constraints ]``), 6 NA+ and 6 CL-;
- ``protein``: Martini 3.0.0 cobrotoxin from ``martinize2 -ff martini3001 -elastic``
  (elastic network as bonds func 1, disulfide and ring constraints, angles func 10 and 2,
  dihedrals func 1 and 2, exclusions, a Trp ``virtual_sitesn`` func 2) in W with 3 CL.

Tolerances as in test_martini_gromacs_reference.py: bonded terms 1e-5 relative (or 1e-3
kJ/mol), LJ and short-range Coulomb 1e-4 relative, force RMS difference below 0.01
kJ/mol/nm. Measured when written: every bonded and LJ term within 5e-15 relative (3e-13
for the 0.24 kJ/mol improper term), ``Coulomb (SR)`` 2.6e-9 relative (the two codes'
Coulomb constants differ by that), force RMS difference 2.4e-8 (martini2) and 8.5e-9
(protein) kJ/mol/nm.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs

DATA = Path(__file__).resolve().parents[2] / "data" / "martini_more"
BONDED = {"Bond", "G96Bond", "Harmonic Pot.", "Angle", "G96Angle", "Restr. Angles",
          "U-B", "Proper Dih.", "Ryckaert-Bell.", "Improper Dih.", "Per. Imp. Dih.",
          "LJ-14", "Coulomb-14", "Position Rest."}
NONBONDED = {"LJ (SR)", "Coulomb (SR)", "Potential"}
SYSTEMS = ["martini2", "protein"]
# (section, function type) that each system is meant to exercise, and the energy terms
COVERAGE = {
    "martini2": ({("bonds", "1"), ("bonds", "6"), ("constraints", "1"), ("angles", "2"),
                  ("dihedrals", "1")},
                 {"Bond", "Harmonic Pot.", "G96Angle", "Proper Dih."}),
    "protein": ({("bonds", "1"), ("constraints", "1"), ("angles", "2"), ("angles", "10"),
                 ("dihedrals", "1"), ("dihedrals", "2"), ("virtual_sitesn", "2"),
                 ("exclusions", None)},
                {"Bond", "G96Angle", "Restr. Angles", "Proper Dih.", "Improper Dih."}),
}
FUNC_COLUMN = {"bonds": 2, "constraints": 2, "angles": 3, "dihedrals": 4,
               "virtual_sitesn": 1}

_cache = {}


def evaluate(name):
    if name not in _cache:
        d = DATA / name
        system, state, _ = load_gromacs(d / "processed.top", d / "conf.gro", d / "run.mdp")
        ev = ForceEvaluator(system, skin=0.0)
        ev.compute(state)
        ref = json.loads((d / "reference.json").read_text())
        _cache[name] = (dict(ev.terms), ev.forces.copy(), ref)
    return _cache[name]


def interaction_kinds(top):
    kinds, section = set(), None
    for line in top.read_text().splitlines():
        m = re.match(r"\s*\[\s*(\w+)\s*\]", line)
        if m:
            section = m.group(1)
            continue
        tok = line.split(";")[0].split()
        if not tok or tok[0].startswith("#"):
            continue
        if section in FUNC_COLUMN:
            kinds.add((section, tok[FUNC_COLUMN[section]]))
        elif section == "exclusions":
            kinds.add((section, None))
    return kinds


@pytest.mark.parametrize("name", SYSTEMS)
def test_reference_covers_intended_types(name):
    """The committed topology and reference really hold the interactions this file is for."""
    want_kinds, want_terms = COVERAGE[name]
    kinds = interaction_kinds(DATA / name / "processed.top")
    assert want_kinds <= kinds, want_kinds - kinds
    ref = json.loads((DATA / name / "reference.json").read_text())["terms"]
    assert want_terms <= set(ref), want_terms - set(ref)
    assert set(ref) <= BONDED | NONBONDED, set(ref) - BONDED - NONBONDED


@pytest.mark.parametrize("name", SYSTEMS)
def test_terms_match_gromacs(name):
    terms, _, ref = evaluate(name)
    ref = ref["terms"]
    missing = set(ref) - set(terms)
    assert not missing, f"terms GROMACS reports but we do not: {missing}"
    for term, expect in ref.items():
        got = terms[term]
        if term in BONDED:
            assert abs(got - expect) <= max(1e-5 * abs(expect), 1e-3), (term, got, expect)
        else:
            assert got == pytest.approx(expect, rel=1e-4, abs=1e-6), (term, got, expect)


@pytest.mark.parametrize("name", SYSTEMS)
def test_forces_match_gromacs(name):
    """All rows, the virtual site's included: both codes spread its force (row = 0)."""
    _, forces, _ = evaluate(name)
    ref_forces = np.loadtxt(DATA / name / "forces.txt")
    assert forces.shape == ref_forces.shape
    rms = np.sqrt(np.mean(np.sum((forces - ref_forces) ** 2, axis=1)))
    worst = np.max(np.linalg.norm(forces - ref_forces, axis=1))
    assert rms < 0.01, f"force RMS difference {rms:.3g} kJ/mol/nm (worst atom {worst:.3g})"
