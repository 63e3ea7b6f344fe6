"""CG → AA backmapping of a Martini 3 protein: round trip AA → CG → AA of the CHARMM36
test peptide FGMTRSAFANLPLWKQQH (tests/data/martini_backmapping/peptide.gro, 299 atoms,
18 residues: Gly, Pro, Phe/Trp, Arg/Lys, an HSD C-terminus; made by make_peptide.py)
with the shipped amino-acid templates (plugins/martini/backmapping/data/charmm36/
aminoacids, made by make_aminoacid_templates.py from a different structure set).

Energy criterion, precisely: the relaxed potential energy (restraint terms left out) is
finite and within ±ENERGY_TOL_PER_ATOM × N of the original peptide's, both evaluated with
the same CHARMM36 topology (no CMAP) and the same default run settings by the core's
GROMACS builder.
"""

from pathlib import Path

import numpy as np
from backmap_checks import bond_deviation, close_nonbonded_pairs
import pytest

from mdzoom.plugins.martini.backmapping import (backmap, load_protein_templates,
                                                load_templates, relax_backmapped)
from mdzoom.plugins.martini.backmapping.protein import (UNIT, ProteinTemplates,
                                                        fix_peptide_bonds, peptide_ok,
                                                        peptide_omegas, place_protein,
                                                        protein_plan, trans_unit)
from mdzoom.plugins.martini.backmapping.templates import dihedral
from mdzoom.plugins.martini.mapping import Martini3Mapping, load_aa
from mdzoom.plugins.martini.mapping.clustering import minimum_image

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "martini_backmapping"
FF = DATA / "charmm36_peptide.itp"
ENERGY_TOL_PER_ATOM = 1.0            # [kJ/mol]
N_RES = 18
N_ATOMS = 299


@pytest.fixture(scope="module")
def original():
    top, x, box = load_aa(DATA / "peptide.top", DATA / "peptide.gro")
    cg = Martini3Mapping().map(top, x, box)
    return top, x, box, cg


@pytest.fixture(scope="module")
def roundtrip(original):
    top, x, box, cg = original
    aa = backmap(cg, cg.positions, cg.box, load_templates("charmm36"), [FF], threads=1,
                 seed=1)
    return aa


def _plan(top):
    plan, why = protein_plan(top.molecule_type("Protein"))
    assert plan is not None, why
    return plan


def test_counts_order_and_residues(original, roundtrip):
    top, x, box, cg = original
    aa = roundtrip
    assert cg.molecules == [("Protein", 1)]
    assert aa.molecules == [("Protein", 1)]
    assert len(aa.positions) == N_ATOMS
    assert aa.names == top.names
    assert np.array_equal(aa.resids, top.resids - top.resids.min() + 1)
    assert sorted(set(aa.resids.tolist())) == list(range(1, N_RES + 1))
    plan = _plan(top)
    assert [r.name for r in plan.residues] == ["PHE", "GLY", "MET", "THR", "ARG", "SER",
                                               "ALA", "PHE", "ALA", "ASN", "LEU", "PRO",
                                               "LEU", "TRP", "LYS", "GLN", "GLN", "HIS"]
    rep = aa.report
    # NH3+ (2 H beyond the template's amide H), HSD lacks the template's (HSP) Hε2
    assert rep["hydrogens_built"] == 2 and rep["hydrogens_dropped"] == 1


def test_heavy_atom_rmsd(original, roundtrip):
    x, box = original[1], original[2]
    aa = roundtrip
    h = aa.heavy
    rmsd = {}
    for what, pos in (("placed", aa.placed), ("relaxed", aa.positions)):
        d = minimum_image(pos - x, box)
        rmsd[what] = float(np.sqrt((d[h] ** 2).sum(axis=1).mean()))
    print(f"peptide heavy-atom RMSD to the original: placed {rmsd['placed']:.4f} nm, "
          f"relaxed {rmsd['relaxed']:.4f} nm")
    assert rmsd["relaxed"] < 0.15


def test_all_peptide_bonds_trans(original, roundtrip):
    aa = roundtrip
    plan = _plan(original[0])
    assert len(plan.peptide_torsions) == N_RES - 1       # found across residues
    omega = np.degrees(np.abs(peptide_omegas(aa.positions[None], plan.peptide_torsions,
                                             aa.box)))[0]
    omega0 = np.degrees(np.abs(peptide_omegas(original[1][None], plan.peptide_torsions,
                                              original[2])))[0]
    rep = aa.report
    print(f"min |omega|: original {omega0.min():.1f}°, backmapped {omega.min():.1f}° "
          f"(report {rep['omega_min_abs_deg']:.1f}°); amide bonds {rep['amide_bonds']}, "
          f"wrong at placement {rep['amide_bonds_wrong']}, after relaxation "
          f"{rep['amide_bonds_wrong_after_relax']}")
    assert rep["amide_bonds"] == N_RES - 1
    assert rep["amide_bonds_wrong_after_relax"] == 0
    assert omega.min() > 150.0
    assert rep["energy_terms"]["Torsion Rest. (backmap)"] < 1.0 * (N_RES - 1)


def _chiral_rows(plan):
    """(m, 4) atoms (centre, a, b, c) of every chiral centre the templates list."""
    pt = load_protein_templates("charmm36")
    return np.array([[r.heavy[k] for k in (centre, a, b, c)] for r in plan.residues
                     for centre, a, b, c, _ in pt.residues[r.name].chiral])


def _chiral_signs(pos, rows, box):
    xc = pos[rows[:, 0]]
    v = np.stack([minimum_image(pos[rows[:, k]] - xc, box) for k in (1, 2, 3)], axis=1)
    return np.sign(np.linalg.det(v))


def test_chirality_preserved(original, roundtrip):
    """Every Cα (L), Thr/Ile Cβ and the prochiral Val Cβ / Leu Cγ have the original's
    handedness, atom by atom (signed volume in the topology's own atom order)."""
    top, x, box, _ = original
    aa = roundtrip
    plan = _plan(top)
    rows = _chiral_rows(plan)

    kinds = [f"{plan.residues[i].name}" for i in range(len(plan.residues))]
    n_ca = sum(1 for k in kinds if k != "GLY")
    assert len(rows) == n_ca + 1 + 2                     # + Thr Cβ, 2 × Leu Cγ
    same = _chiral_signs(x, rows, box) == _chiral_signs(aa.positions, rows, box)
    print(f"chiral centres with the original's handedness: {int(same.sum())} of "
          f"{len(rows)} ({n_ca} Cα); repaired at placement {aa.report['chiral_fixed']}")
    assert same.all()
    assert aa.report["chiral_inverted_after_relax"] == 0


def test_bonds_within_10_percent(original, roundtrip):
    worst, checked = bond_deviation(roundtrip)
    print(f"{checked} bonds, worst deviation {worst:.2%}")
    assert checked == original[0].molecule_type("Protein").graph.number_of_edges()
    assert worst < 0.10


def test_no_overlaps(roundtrip):
    aa = roundtrip
    close = close_nonbonded_pairs(aa, 0.08)
    assert not close, f"{len(close)} non-bonded pairs closer than 0.08 nm"


def test_energy_in_range_of_original(roundtrip):
    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs

    aa = roundtrip
    system, state, _ = load_gromacs(DATA / "peptide.top", DATA / "peptide.gro")
    e0 = mz.Simulation(system, mz.VelocityVerlet(dt=0.001), state,
                       threads=1).potential_energy()
    e = aa.report["energy_relaxed"]
    print(f"potential energy: original {e0:.1f}, placed {aa.report['energy_placed']:.4g}, "
          f"relaxed {e:.1f} kJ/mol ({N_ATOMS} atoms)")
    assert np.isfinite(e)
    assert abs(e - e0) < ENERGY_TOL_PER_ATOM * N_ATOMS


def _cis_unit(unit):
    """The peptide unit with H and Cα2 rotated about C–N to ω = 0."""
    u = np.array(unit, float)
    axis = (u[3] - u[1]) / np.linalg.norm(u[3] - u[1])
    om = dihedral(u[0], u[1], u[3], u[5])
    a = -om
    v = u[[4, 5]] - u[3]
    u[[4, 5]] = u[3] + v * np.cos(a) + np.cross(axis, v) * np.sin(a) + \
        np.outer(v @ axis, axis) * (1 - np.cos(a))
    return u


def test_trans_unit():
    pt = load_protein_templates("charmm36")
    assert UNIT == ("CA1", "C", "O", "N", "H", "CA2")
    u = pt.unit
    assert abs(np.degrees(dihedral(u[0], u[1], u[3], u[5]))) > 175
    cis = _cis_unit(u)
    assert abs(np.degrees(dihedral(cis[0], cis[1], cis[3], cis[5]))) < 1e-6
    back = trans_unit(cis)
    assert abs(np.degrees(dihedral(back[0], back[1], back[3], back[5]))) > 179.9
    assert np.allclose(trans_unit(u), u)


def test_one_cis_peptide_bond_is_repaired(original):
    """Flip one ω of a placement to cis (the C, O, N, H of that bond rebuilt as a cis
    unit between the same Cα): the check finds exactly that one and the repair puts it
    back trans, leaving the other bonds alone."""
    top, x, box, cg = original
    plan = _plan(top)
    pt = load_protein_templates("charmm36")
    beads = cg.positions[None].copy()
    xs, info = place_protein(pt, plan, beads)
    assert info["amide_wrong"] == 0 and peptide_ok(xs, plan.peptide_torsions).all()
    k = 10                                       # Leu11–Pro12: an X–Pro bond, built trans
    ca1, c, n, ca2 = plan.peptide_torsions[k]
    res_c = next(r for r in plan.residues if r.heavy["C"] == c)
    o = res_c.heavy["O"]
    from mdzoom.plugins.martini.backmapping.protein import _place_unit

    before = xs.copy()
    xs[:, c], xs[:, o], xs[:, n], _ = _place_unit(_cis_unit(pt.unit), xs[:, ca1],
                                                  xs[:, ca2], xs[:, c], xs[:, o], xs[:, n])
    ok = peptide_ok(xs, plan.peptide_torsions)
    assert (~ok).sum() == 1 and not ok[0, k]
    assert fix_peptide_bonds(pt, plan, xs) == 1
    om = np.degrees(np.abs(peptide_omegas(xs, plan.peptide_torsions)))
    print(f"after repair: omega of bond {k} {om[0, k]:.1f}°, min {om.min():.1f}°")
    assert om.min() > 150
    moved = np.flatnonzero(np.abs(xs - before).max(axis=(0, 2)) > 1e-9)
    assert set(moved) <= {c, o, n}


def test_cis_placement_repaired_and_held_through_relaxation(original):
    """Templates whose peptide unit is cis place every one of the 17 peptide bonds cis;
    the placement check finds all of them, rebuilds them trans, and the relaxation
    (with the ω torsion restraints) keeps them trans."""
    top, x, box, cg = original
    pt = load_protein_templates("charmm36")
    bad = ProteinTemplates(forcefield=pt.forcefield, residues=pt.residues,
                           fragments=pt.fragments, fragment_atoms=pt.fragment_atoms,
                           unit=_cis_unit(pt.unit), source="cis unit (test)")
    aa = backmap(cg, cg.positions, cg.box, load_templates("charmm36"), [FF], threads=1,
                 seed=2, relax=False, protein_templates=bad)
    rep = aa.report
    assert rep["amide_bonds_wrong"] == N_RES - 1
    assert rep["amide_bonds_fixed"] == N_RES - 1
    plan = _plan(top)
    assert peptide_ok(aa.placed[None], plan.peptide_torsions).all()
    relax_backmapped(aa, seed=2, threads=1)
    om = np.degrees(np.abs(peptide_omegas(aa.positions[None], plan.peptide_torsions,
                                          aa.box)))
    d = minimum_image(aa.positions - x, box)
    rmsd = float(np.sqrt((d[aa.heavy] ** 2).sum(axis=1).mean()))
    print(f"cis placement repaired: min |omega| after relaxation {om.min():.1f}°, heavy "
          f"RMSD {rmsd:.4f} nm")
    assert rep["amide_bonds_wrong_after_relax"] == 0 and om.min() > 150
    assert rmsd < 0.15


def test_cli_protein(tmp_path, original):
    """``mdzoom map`` output (CG .gro/.top with the generated protein .itp) backmaps
    through ``mdzoom backmap``."""
    import argparse

    from mdzoom.core.io import read_structure
    from mdzoom.plugins.martini.backmapping.cli import add_backmap_command

    cg = original[3]
    cg.write_gro(tmp_path / "cg.gro")
    cg.write_top(tmp_path / "cg.top")
    parser = argparse.ArgumentParser(prog="mdzoom")
    add_backmap_command(parser.add_subparsers())
    args = parser.parse_args(["backmap", "-c", str(tmp_path / "cg.gro"), "-p",
                              str(tmp_path / "cg.top"), "--ff", str(FF), "-o",
                              str(tmp_path / "aa.gro"), "-t", str(tmp_path / "aa.top"),
                              "--md-steps", "50", "--minimize-steps", "200"])
    assert args.func(args) == 0
    frame = read_structure(str(tmp_path / "aa.gro"))
    assert len(frame.positions) == N_ATOMS
    assert "Protein" in (tmp_path / "aa.top").read_text()
    plan = _plan(original[0])
    om = np.abs(peptide_omegas(frame.positions[None], plan.peptide_torsions, frame.box))
    assert np.degrees(om.min()) > 150


def test_inverted_centres_are_repaired(original):
    """Mirror the Cα of Phe1 and of Thr4 and the Thr Cβ of a placement through the plane
    of their heavy neighbours (D-amino acid, wrong Thr Cβ): the check finds exactly
    those and the repair restores every handedness."""
    from mdzoom.plugins.martini.backmapping.protein import (fix_protein_chirality,
                                                            protein_chirality_ok)

    top, x, box, cg = original
    plan = _plan(top)
    pt = load_protein_templates("charmm36")
    xs, info = place_protein(pt, plan, cg.positions[None].copy())
    centres = info["centres"]
    assert info["chiral_fixed"] == 0 and protein_chirality_ok(xs, centres).all()
    thr = plan.residues[3]
    targets = [plan.residues[0].heavy["CA"], thr.heavy["CA"], thr.heavy["CB"]]
    rows = [int(np.flatnonzero(centres[:, 0] == t)[0]) for t in targets]
    for k in rows:
        ci, a, b, d = centres[k, :4]
        n = np.cross(xs[0, b] - xs[0, a], xs[0, d] - xs[0, a])
        n /= np.linalg.norm(n)
        xs[0, ci] -= 2 * ((xs[0, ci] - xs[0, a]) @ n) * n
    ok = protein_chirality_ok(xs, centres)
    assert sorted(np.flatnonzero(~ok[0]).tolist()) == sorted(rows)
    n = fix_protein_chirality(xs, centres, plan)
    print(f"inverted centres: {len(rows)}, reflections to repair them: {n}")
    assert n >= len(rows) - 1
    assert protein_chirality_ok(xs, centres).all()


def test_go_model_protein_backmaps(original, tmp_path):
    """A GōMartini 3 peptide made by martinize2 -go (tests/data/martini_backmapping/
    go_peptide: 47 residue beads + 18 mass-less Gō sites ``CA`` appended) backmaps through
    ``mdzoom backmap``: the Gō sites are skipped, every ω is trans, every centre keeps its
    handedness and the heavy atoms return to the original."""
    import argparse

    from mdzoom.core.io import read_structure
    from mdzoom.plugins.martini.backmapping.cli import add_backmap_command

    go = DATA / "go_peptide"
    cg = read_structure(str(go / "cg.gro"))
    assert len(cg.positions) == 65 and list(cg.names[47:]) == ["CA"] * 18
    parser = argparse.ArgumentParser(prog="mdzoom")
    add_backmap_command(parser.add_subparsers())
    args = parser.parse_args(["backmap", "-c", str(go / "cg.gro"), "-p",
                              str(go / "go_peptide.top"), "--ff", str(FF), "-o",
                              str(tmp_path / "aa.gro"), "-t", str(tmp_path / "aa.top")])
    assert args.func(args) == 0
    aa = read_structure(str(tmp_path / "aa.gro"))
    top, x0, box0 = original[:3]
    assert len(aa.positions) == N_ATOMS and list(aa.names) == list(top.names)
    plan = _plan(top)
    omega = np.degrees(np.abs(peptide_omegas(aa.positions[None], plan.peptide_torsions,
                                             aa.box)))[0]
    assert omega.min() > 150.0
    rows = _chiral_rows(plan)
    assert (_chiral_signs(aa.positions, rows, aa.box) == _chiral_signs(x0, rows, box0)).all()
    heavy = np.array([not n.startswith("H") for n in top.names])
    d = minimum_image(aa.positions[heavy] - x0[heavy], box0)   # martinize2 kept the frame
    rmsd = float(np.sqrt((d ** 2).sum(axis=1).mean()))
    print(f"Go-model peptide: min |omega| {omega.min():.1f} deg, {len(rows)} chiral centres "
          f"kept, heavy-atom RMSD {rmsd:.3f} nm")
    assert rmsd < 0.15


def test_extra_particles_that_are_not_virtual_sites_are_refused():
    from mdzoom.core.io.top import read_top
    from mdzoom.plugins.martini.backmapping.backmap import cg_particles_per_copy
    from mdzoom.plugins.martini.mapping.definitions import MappingError

    top = read_top(str(DATA / "go_peptide" / "go_peptide.top"))
    assert cg_particles_per_copy(top, "molecule", 47) == 65
    assert cg_particles_per_copy(top, "molecule", 65) == 65
    with pytest.raises(MappingError, match="not"):
        cg_particles_per_copy(top, "molecule", 40)      # beads 41-47 have mass
