"""The Martini run preset: recognised topologies, and .mdp options that win over it."""

import textwrap

import pytest

from mdzoom.core.io.top import read_top
from mdzoom.plugins.martini.presets import is_martini_type, martini_preset

M3_TOP = """\
[ defaults ]
1 2
[ atomtypes ]
W   72.0 0.000 A 0.47 4.65
TC5 36.0 0.000 A 0.34 1.5
[ nonbond_params ]
W TC5 1 0.405 2.0
[ moleculetype ]
W 1
[ atoms ]
1 W 1 W W 1 0
[ moleculetype ]
BENZ 1
[ atoms ]
1 TC5 1 BENZ R1 1 0
2 TC5 1 BENZ R2 2 0
[ bonds ]
1 2 1 0.29 5000
[ system ]
test
[ molecules ]
W 4
BENZ 1
"""


def _top(tmp_path, text):
    path = tmp_path / "topol.top"
    path.write_text(textwrap.dedent(text))
    return read_top(str(path))


def test_martini_bead_names():
    for name in ("P4", "TC5", "SN4a", "SQ3n", "Q5", "TQ5", "SX4e", "N6d", "P2ah", "C4h",
                 "W", "SW", "TW", "Nda", "SNda", "Qa", "BP4", "AC1"):
        assert is_martini_type(name), name
    for name in ("OW", "HW", "CT", "C", "N", "opls_135", "CH3", "P7", "Q6", "X5"):
        assert not is_martini_type(name), name


def test_martini3_topology_gets_the_preset(tmp_path):
    name, opts = martini_preset(_top(tmp_path, M3_TOP))
    assert name == "martini3"
    assert opts["epsilon-r"] == 15.0 and opts["epsilon-rf"] == 0.0
    assert opts["rcoulomb"] == opts["rvdw"] == 1.1 and opts["dt"] == 0.02


def test_martini2_by_combination_rule(tmp_path):
    text = M3_TOP.replace("1 2\n", "1 1\n", 1).replace("0.47 4.65", "0.21558 0.0023238") \
        .replace("0.34 1.5", "0.1 0.001").replace("W TC5 1 0.405 2.0", "W TC5 1 0.1 0.001") \
        .replace("TC5", "C5")
    assert martini_preset(_top(tmp_path, text))[0] == "martini2"


def test_all_atom_topology_is_not_martini(tmp_path):
    text = M3_TOP.replace("TC5", "CT")
    assert martini_preset(_top(tmp_path, text)) is None
    # generated pairs: an all-atom [ defaults ] line
    assert martini_preset(_top(tmp_path, M3_TOP.replace("1 2\n", "1 2 yes 0.5 0.8333\n",
                                                        1))) is None


DATA = __import__("pathlib").Path(__file__).resolve().parents[2] / "data" / "martini_bonded"


def test_load_gromacs_applies_the_preset_and_the_mdp_wins(tmp_path):
    """An .mdp that says nothing about electrostatics gets Martini's settings (same
    energies as the reference run.mdp, which spells them out); an option it sets wins."""
    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs

    def terms(mdp_text):
        path = tmp_path / "x.mdp"
        path.write_text(mdp_text)
        system, state, settings = load_gromacs(DATA / "processed.top", DATA / "conf.gro",
                                               path)
        ev = mz.ForceEvaluator(system, skin=0.0)
        ev.compute(state, energy=True)
        return dict(ev.terms), settings

    ref_sys, ref_state, ref_settings = load_gromacs(DATA / "processed.top",
                                                    DATA / "conf.gro", DATA / "run.mdp")
    ev = mz.ForceEvaluator(ref_sys, skin=0.0)
    ev.compute(ref_state, energy=True)
    plain, settings = terms("nsteps = 0\n")
    assert settings["preset"] == "martini3" and settings["dt"] == 0.02
    assert plain["Coulomb (SR)"] == pytest.approx(ev.terms["Coulomb (SR)"], rel=1e-12)
    assert plain["LJ (SR)"] == pytest.approx(ev.terms["LJ (SR)"], rel=1e-12)
    eps1, settings = terms("epsilon-r = 1\ndt = 0.01\n")
    assert settings["dt"] == 0.01
    assert eps1["Coulomb (SR)"] == pytest.approx(15.0 * plain["Coulomb (SR)"], rel=1e-9)


def test_mdzoom_run_reports_and_uses_the_preset(tmp_path):
    """``mdzoom run`` on a Martini topology with an .mdp that only asks for 5 steps: the
    preset's 20 fs step is used, and the run says where its settings came from."""
    from mdzoom.core.gromacs_run import run_gromacs

    mdp = tmp_path / "md.mdp"
    mdp.write_text("integrator = md\nnsteps = 5\nnstenergy = 0\n")
    said = []
    summary = run_gromacs(DATA / "processed.top", DATA / "conf.gro", mdp, tmp_path / "out",
                          echo=said.append, progress=False)
    assert summary["steps"] == 5
    assert any("martini3 topology" in line and "md.mdp" in line for line in said), said
    assert summary["ns_per_day"] > 0
