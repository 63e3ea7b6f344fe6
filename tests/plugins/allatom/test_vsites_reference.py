"""TIP4P (``[ virtual_sites3 ]`` function 1) energies and forces against gmx_d.

References from ``tests/data/gromacs_vsites/make_reference.py`` (gmx_d 2022.5, ``mdrun
-rerun``): 515 OPLS-AA TIP4P waters in a 2.5 nm box, PME and reaction field. GROMACS
spreads the force on M onto O, H, H and writes zero for M; so do we. Tolerances: LJ and
short-range Coulomb 1e-4 relative, reciprocal space 2e-3, forces RMS < 1e-2 kJ/mol/nm.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.virtual_sites import VirtualSites3

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs_vsites"


def evaluate(name):
    d = DATA / name
    system, state, _ = load_gromacs(d / "processed.top", d / "conf.gro", d / "run.mdp")
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    ref = json.loads((d / "reference.json").read_text())["terms"]
    return system, ev.terms, ev.forces.copy(), ref, np.loadtxt(d / "forces.txt")


@pytest.mark.parametrize("name", ["tip4p_pme", "tip4p_rf"])
def test_tip4p_matches_gromacs(name):
    system, terms, forces, ref, ref_forces = evaluate(name)
    (vs,) = system.virtual_sites
    assert isinstance(vs, VirtualSites3)
    assert vs.sites.size == system.n_particles // 4
    assert np.array_equal(vs.sites, np.arange(3, system.n_particles, 4))
    assert np.allclose(vs.a, 0.128012065) and np.allclose(vs.b, 0.128012065)
    missing = set(ref) - set(terms)
    assert not missing, f"terms GROMACS reports but we do not: {missing}"
    for term, expect in ref.items():
        got = terms[term]
        if term in ("LJ (SR)", "Coulomb (SR)", "Disper. corr."):
            assert got == pytest.approx(expect, rel=1e-4), (term, got, expect)
        elif term == "Coul. recip.":
            assert got == pytest.approx(expect, rel=2e-3), (term, got, expect)
        elif term == "Potential":
            assert got == pytest.approx(expect, rel=1e-4), (term, got, expect)
    real = system.masses > 0
    assert np.all(forces[~real] == 0.0) and np.all(ref_forces[~real] == 0.0)
    diff = forces[real] - ref_forces[real]
    rms = np.sqrt(np.mean(np.sum(diff ** 2, axis=1)))
    assert rms < 1e-2, f"force RMS difference {rms:.3g} kJ/mol/nm on the real atoms"
