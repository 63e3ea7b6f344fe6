"""Martini 3 energies and forces against gmx_d (tests/data/martini).

The references were made by ``tests/data/martini/make_bilayer.py`` (insane 1.2.0, GROMACS
2022.5, ``gmx_d mdrun -rerun``): a POPC bilayer (64 lipids, Martini 3 v1 parameters, 1464 W)
equilibrated 20 ns with semi-isotropic C-rescale, its laterally compressed variant, and a
Martini 3 water box equilibrated 2 ns NPT. Reaction field (epsilon_r 15, epsilon_rf 0),
rc 1.1 nm, potential-shifted LJ from ``[ nonbond_params ]`` (sigma/epsilon, comb-rule 2
defaults), harmonic bonds and G96 angles (angle type 2).
Tolerances as in tests/plugins/allatom/test_gromacs_reference.py: bonded terms 1e-5
relative (or 1e-3 kJ/mol), LJ and short-range Coulomb 1e-4 relative, force RMS difference
below 0.01 kJ/mol/nm.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs

DATA = Path(__file__).resolve().parents[2] / "data" / "martini"
BONDED = {"Bond", "G96Bond", "Harmonic Pot.", "Angle", "G96Angle", "Restricted Angles",
          "U-B", "Proper Dih.", "Ryckaert-Bell.", "Improper Dih.", "Per. Imp. Dih.",
          "LJ-14", "Coulomb-14", "Position Rest."}
# (folder, structure, key of the reference terms in reference.json)
CASES = [("bilayer", ".", "conf.gro", "terms"),
         ("bilayer_compressed", ".", "conf_compressed.gro", "terms_compressed"),
         ("m3_water", "m3_water", "conf.gro", "terms")]


def evaluate(folder, conf):
    d = DATA / folder
    system, state, _ = load_gromacs(d / "processed.top", d / conf, d / "run.mdp")
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    return ev.terms, ev.forces.copy(), json.loads((d / "reference.json").read_text())


def check_terms(terms, ref):
    missing = set(ref) - set(terms)
    assert not missing, f"terms GROMACS reports but we do not: {missing}"
    for term, expect in ref.items():
        got = terms[term]
        if term in BONDED:
            assert abs(got - expect) <= max(1e-5 * abs(expect), 1e-3), (term, got, expect)
        elif term in ("LJ (SR)", "Coulomb (SR)", "Potential"):
            assert got == pytest.approx(expect, rel=1e-4, abs=1e-6), (term, got, expect)


@pytest.mark.parametrize("name,folder,conf,key", CASES, ids=[c[0] for c in CASES])
def test_terms_match_gromacs(name, folder, conf, key):
    terms, _, ref = evaluate(folder, conf)
    check_terms(terms, ref[key])


@pytest.mark.parametrize("folder", [".", "m3_water"], ids=["bilayer", "m3_water"])
def test_forces_match_gromacs(folder):
    _, forces, _ = evaluate(folder, "conf.gro")
    ref_forces = np.loadtxt(DATA / folder / "forces.txt")
    assert forces.shape == ref_forces.shape
    rms = np.sqrt(np.mean(np.sum((forces - ref_forces) ** 2, axis=1)))
    worst = np.max(np.linalg.norm(forces - ref_forces, axis=1))
    assert rms < 0.01, f"force RMS difference {rms:.3g} kJ/mol/nm (worst atom {worst:.3g})"


def test_reference_bilayer_is_equilibrated():
    """The committed structure is a fluid bilayer near the Martini 3 area per lipid."""
    ref = json.loads((DATA / "reference.json").read_text())
    apl = ref["area_per_lipid"]
    assert 0.55 < apl["mean_nm2"] < 0.70
    assert apl["block_error_nm2"] < 0.01
    box = ref["box_nm"]
    assert box[0] * box[1] / 32 == pytest.approx(apl["mean_nm2"], rel=0.05)
    cbox = ref["box_compressed_nm"]
    assert cbox[0] == pytest.approx(0.93 * box[0], abs=2e-5)
    assert cbox[0] * cbox[1] * cbox[2] == pytest.approx(box[0] * box[1] * box[2], rel=1e-4)
