"""CG → AA backmapping: round trip AA → Martini 3 → AA of the committed CHARMM36 POPC
patch (tests/data/martini_mapping, 8,047 atoms; force-field files in
tests/data/martini_backmapping, templates in plugins/martini/backmapping/data/charmm36).

Energy criterion, precisely: the relaxed potential energy per atom (restraint terms left
out) is finite and within ±ENERGY_TOL_PER_ATOM of the original patch's per-atom potential
energy, both evaluated with the same CHARMM36 topology and the same (default) run
settings by the core's GROMACS builder.
"""

from pathlib import Path

import numpy as np
from backmap_checks import bond_deviation, close_nonbonded_pairs
import pytest

from mdzoom.plugins.martini.backmapping import backmap, load_templates
from mdzoom.plugins.martini.backmapping.placement import chirality_ok, fix_stereo, stereo_ok
from mdzoom.plugins.martini.backmapping.templates import (BackmapTemplate, dihedral,
                                                          mapping_definitions, stereo_bonds,
                                                          stereo_states)
from mdzoom.plugins.martini.mapping import Martini3Mapping, load_aa
from mdzoom.plugins.martini.mapping.clustering import minimum_image

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "martini_mapping"

FF = ROOT / "tests" / "data" / "martini_backmapping" / "charmm36_popc_patch.itp"
ENERGY_TOL_PER_ATOM = 3.0           # [kJ/mol]
N_POPC = 31


@pytest.fixture(scope="module")
def roundtrip():
    top, x, box = load_aa(DATA / "popc_patch.top", DATA / "popc_patch.gro")
    cg = Martini3Mapping().map(top, x, box)
    aa = backmap(cg, cg.positions, cg.box, load_templates("charmm36"), [FF], threads=1,
                 seed=1)
    return top, x, box, cg, aa


def test_counts_and_order(roundtrip):
    top, x, box, cg, aa = roundtrip
    nw = dict(cg.molecules)["W"]
    assert aa.molecules == [("POPC", N_POPC), ("HOH", 4 * nw), ("SOD", 4), ("CLA", 4)]
    assert len(aa.positions) == N_POPC * 134 + 3 * 4 * nw + 8


def test_heavy_atom_rmsd(roundtrip):
    top, x, box, cg, aa = roundtrip
    n = N_POPC * 134                    # lipids come first in both, same atom order
    h = aa.heavy[:n]
    d = minimum_image(aa.positions[:n] - x[:n], box)
    rmsd = float(np.sqrt((d[h] ** 2).sum(axis=1).mean()))
    print(f"POPC heavy-atom RMSD to the original after relaxation: {rmsd:.4f} nm")
    assert rmsd < 0.15


def test_bonds_within_10_percent(roundtrip):
    worst, checked = bond_deviation(roundtrip[4])
    assert worst < 0.10, f"worst bond deviates {worst:.1%}"
    assert checked > N_POPC * 100


def test_no_overlaps(roundtrip):
    aa = roundtrip[4]
    close = close_nonbonded_pairs(aa, 0.08)
    assert not close, f"{len(close)} non-bonded pairs closer than 0.08 nm"


def test_chirality_preserved(roundtrip):
    aa = roundtrip[4]
    t = load_templates("charmm36")["POPC"]
    assert aa.report["chiral_inverted_after_relax"] == 0
    # independent check against the original structure's handedness
    top, x0 = roundtrip[0], roundtrip[1]
    from mdzoom.plugins.martini.backmapping.templates import mapping_definitions, match_labels

    mt = top.molecule_type("POPC")
    lab = match_labels(mt.graph, list(range(mt.n_particles)), mapping_definitions()["POPC"])
    order = [lab[k] for k in t.labels]
    n = N_POPC * 134
    for xs in (x0[:n], aa.positions[:n]):
        xs = xs.reshape(N_POPC, 134, 3)[:, order]
        assert chirality_ok(t, xs, roundtrip[2]).all()


def test_energy_in_range_of_original(roundtrip):
    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs

    aa = roundtrip[4]
    system, state, _ = load_gromacs(DATA / "popc_patch.top", DATA / "popc_patch.gro")
    e0 = mz.Simulation(system, mz.VelocityVerlet(dt=0.001), state,
                       threads=1).potential_energy() / state.n_particles
    e = aa.report["energy_relaxed"] / len(aa.positions)
    print(f"potential energy per atom: original {e0:.3f}, backmapped {e:.3f} kJ/mol")
    assert np.isfinite(e)
    assert abs(e - e0) < ENERGY_TOL_PER_ATOM


def test_cli_no_relax(tmp_path, roundtrip):
    import argparse

    from mdzoom.plugins.martini.backmapping.cli import add_backmap_command

    parser = argparse.ArgumentParser(prog="mdzoom")
    add_backmap_command(parser.add_subparsers())
    cg = roundtrip[3]
    cg.write_gro(tmp_path / "cg.gro")
    cg.write_top(tmp_path / "cg.top")
    args = parser.parse_args(["backmap", "-c", str(tmp_path / "cg.gro"), "-p", str(tmp_path / "cg.top"),
               "--to", "charmm36", "--ff", str(FF), "-o", str(tmp_path / "aa.gro"),
               "-t", str(tmp_path / "aa.top"), "--no-relax"])
    assert args.func(args) == 0
    text = (tmp_path / "aa.top").read_text()
    assert "HOH" in text and "POPC" in text


def _popc_labels(mt):
    from mdzoom.plugins.martini.backmapping.templates import match_labels

    return match_labels(mt.graph, list(range(mt.n_particles)), mapping_definitions()["POPC"])


def test_cis_trans_preserved(roundtrip):
    """The oleoyl C9=C10 bond is cis in every relaxed lipid; the report counts the bonds
    placed in the wrong form (and repaired) before relaxation."""
    aa = roundtrip[4]
    rep = aa.report
    print(f"double bonds wrong at placement {rep['double_bonds_wrong']} of "
          f"{rep['double_bonds']}, after relaxation {rep['double_bonds_wrong_after_relax']}")
    assert rep["double_bonds"] == N_POPC
    assert rep["double_bonds_wrong"] > 0          # the patch does exercise the repair
    assert rep["double_bonds_fixed"] == rep["double_bonds_wrong"]
    assert rep["double_bonds_wrong_after_relax"] == 0
    assert rep["amide_bonds"] == 0 and rep["amide_bonds_wrong_after_relax"] == 0
    assert rep["energy_terms"]["Torsion Rest. (backmap)"] < 1.0 * N_POPC
    # independent check in the template's atom order
    t = load_templates("charmm36")["POPC"]
    mt = roundtrip[0].molecule_type("POPC")
    lab = _popc_labels(mt)
    xs = aa.positions[:N_POPC * 134].reshape(N_POPC, 134, 3)[:, [lab[k] for k in t.labels]]
    assert stereo_ok(t, xs, aa.box).all()


def _graph(spec, bonds):
    """Definition-style heavy-atom graph: spec {label: (element, n_h)}, bonds 'A-B-C'."""
    import networkx as nx

    g = nx.Graph()
    for lab, (el, nh) in spec.items():
        g.add_node(lab, label=lab, element=el, n_h=nh)
    for chain in bonds:
        names = chain.split("-")
        g.add_edges_from(zip(names, names[1:]))
    return g


def test_stereo_detection_small_molecules():
    # N-methylbut-2-enamide C1–C2=C3–C4(=O5)–N6H–C7: conjugated, so C3–C4 (both ends
    # with three neighbours) is single; C2=C3 and the amide C4–N6 are stereo bonds
    g = _graph({"C1": ("C", 3), "C2": ("C", 1), "C3": ("C", 1), "C4": ("C", 0),
                "O5": ("O", 0), "N6": ("N", 1), "C7": ("C", 3)},
               ["C1-C2-C3-C4-N6-C7", "C4-O5"])
    assert sorted(stereo_bonds(g)) == [("C1", "C2", "C3", "C4", "double"),
                                       ("C3", "C4", "N6", "C7", "amide")]
    # cyclohexene's ring C=C, a terminal C=CH2, an ester and a carboxylate: none
    ring = _graph({f"C{i}": ("C", 1 if i < 3 else 2) for i in range(1, 7)},
                  ["C1-C2-C3-C4-C5-C6-C1"])
    assert stereo_bonds(ring) == []
    other = _graph({"C1": ("C", 2), "C2": ("C", 1), "C3": ("C", 2), "C4": ("C", 0),
                    "O5": ("O", 0), "O6": ("O", 0), "C7": ("C", 3)},
                   ["C1-C2-C3-C4-O6-C7", "C4-O5"])
    assert stereo_bonds(other) == []
    # proline-like amide: N in a ring, the C–N bond not; Cα (CA) before Cδ (CD)
    pro = _graph({"C": ("C", 0), "O": ("O", 0), "CX": ("C", 3), "N": ("N", 0),
                  "CA": ("C", 1), "CB": ("C", 2), "CG": ("C", 2), "CD": ("C", 2)},
                 ["CX-C-N-CA-CB-CG-CD-N", "C-O"])
    assert stereo_bonds(pro) == [("CX", "C", "N", "CA", "amide")]
    # the shipped POPC template's double bond is what the detection finds
    d = mapping_definitions()["POPC"]
    assert [s[:4] for s in stereo_bonds(d.graph)] == \
        [s[:4] for s in load_templates("charmm36")["POPC"].double_bonds]
    # states from geometry; repair of a trans copy
    cis = {"C1": [0.13, 0.08, 0], "C2": [0, 0, 0], "C3": [0, 0.134, 0],
           "C4": [0.13, 0.21, 0], "O5": [0.25, 0.15, 0], "N6": [0.13, 0.35, 0],
           "C7": [0.25, 0.42, 0]}
    assert [s[4] for s in stereo_states(g, cis)] == ["cis", "trans"]
    labels = list(cis)
    t = BackmapTemplate(cg_molecule="X", definition="X", forcefield="ff", beads=["B"],
                        cluster=1, ref=[([], np.zeros((0, 3)))], ref_hops=[[]],
                        labels=labels, elements=[k[0] for k in labels],
                        owner=np.zeros(len(labels), int), local=np.zeros((len(labels), 3)),
                        double_bonds=[("C1", "C2", "C3", "C4", "cis")],
                        amide_bonds=[("C3", "C4", "N6", "C7", "trans")])
    x = np.array([[cis[k] for k in labels]], float)
    x[0, 0] = [-0.13, 0.08, 0.02]                  # C1 across (trans), a bit out of plane
    assert stereo_ok(t, x).tolist() == [[False, True]]
    before = x.copy()
    assert fix_stereo(t, x, g) == {"double": 1, "amide": 0}
    assert stereo_ok(t, x).all()
    assert abs(dihedral(*x[0, :4])) < 1e-9
    # only the substituents of C2 and C3 moved (C1 and C4), bond C2=C3 kept
    moved = np.flatnonzero(np.abs(x - before).max(axis=-1)[0] > 1e-12)
    assert [labels[i] for i in moved] == ["C1", "C4"]
    for a, b in (("C1", "C2"), ("C3", "C4")):
        i, j = labels.index(a), labels.index(b)
        assert np.isclose(np.linalg.norm(x[0, i] - x[0, j]),
                          np.linalg.norm(before[0, i] - before[0, j]))


def test_torsion_restraint_forces():
    from mdzoom.plugins.martini.backmapping._kernels import torsion_restraints

    rng = np.random.default_rng(3)
    x = rng.normal(scale=0.15, size=(5, 3))
    box = np.diag([3.0, 3.0, 3.0])
    atoms = np.array([[0, 1, 2, 3], [4, 2, 1, 0]])
    phi0, k = np.array([0.0, np.pi]), np.array([250.0, 100.0])
    f = np.zeros_like(x)
    e = torsion_restraints(x, box, atoms, phi0, k, f)
    phi = [dihedral(*x[a]) for a in atoms]
    assert np.isclose(e, sum(kk * (1 - np.cos(p - p0)) for kk, p, p0 in zip(k, phi, phi0)))
    h = 1e-6
    for i in range(5):
        for c in range(3):
            xp, xm = x.copy(), x.copy()
            xp[i, c] += h
            xm[i, c] -= h
            num = -(torsion_restraints(xp, box, atoms, phi0, k, np.zeros_like(x)) -
                    torsion_restraints(xm, box, atoms, phi0, k, np.zeros_like(x))) / (2 * h)
            assert np.isclose(f[i, c], num, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("failures, expect_dt, note", [
    (1, 0.0005 / 4, "retried at dt = 0.000125"),
    (2, None, "restrained MD skipped"),
])
def test_restrained_md_retries_then_skips_on_constraint_failure(failures, expect_dt, note):
    """A constraint failure in the restrained MD is retried once at Δt/4 from the
    minimised positions; a second failure skips the stage and says so in the notes."""
    import types

    import mdzoom.core as mz
    from mdzoom.core.constraints import ConstraintError
    from mdzoom.plugins.martini.backmapping.relax import _restrained_md

    calls = []

    class FakeSim:
        def __init__(self, system, integ, state, seed=None, threads=None):
            self.integ, self.state = integ, state

        def run(self, n, progress=None, desc=None):
            calls.append((self.integ.dt, n))
            self.state.positions += 1.0                     # a failed run leaves a mess
            if len(calls) <= failures:
                raise ConstraintError("SETTLE at step 4: test")

    fake = types.SimpleNamespace(Simulation=FakeSim, LangevinBAOAB=mz.LangevinBAOAB)
    x0 = np.arange(6.0).reshape(2, 3)
    state = mz.State(x0.copy(), np.ones((2, 3)))
    rep = {"notes": []}
    md = _restrained_md(fake, None, mz.LangevinBAOAB(dt=0.0005, temperature=300.0,
                                                      friction=5.0),
                        state, 200, 1, None, None, rep, lambda s: None)
    assert calls[:2] == [(0.0005, 200), (0.0005 / 4, 800)][:len(calls)]
    assert any(note in n for n in rep["notes"])
    if expect_dt is None:                        # skipped: back at the minimised positions
        assert len(calls) == 2
        np.testing.assert_array_equal(md.state.positions, x0)
        assert not md.state.velocities.any()
    else:
        assert md.integ.dt == expect_dt
