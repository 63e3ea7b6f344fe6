"""GROMACS topology reader: sections, parameter resolution, errors, real force fields."""

import collections
import json
import math
import shutil
import textwrap
from pathlib import Path

import pytest

from mdzoom.core.io import FileFormatError
from mdzoom.core.io.top import check_coordinates, read_top

DATA = Path(__file__).resolve().parents[2] / "data" / "top"
GMX_TOP = Path("/usr/share/gromacs/top")
needs_gmx_top = pytest.mark.skipif(not (GMX_TOP / "amber99sb-ildn.ff").is_dir(),
                                   reason="needs an installed GROMACS force-field folder")

HEAD = """\
[ defaults ]
; nbfunc comb-rule gen-pairs fudgeLJ fudgeQQ
1 2 yes 0.5 0.8333

[ atomtypes ]
; name bt at.num mass charge ptype sigma eps
CT  CT  6 12.01  0.0 A 0.34 0.45
HC  HC  1  1.008 0.0 A 0.26 0.06
OS  OS  8 16.00  0.0 A 0.30 0.71
"""


def write(folder, name, text):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def mol_top(tmp_path, types_text, mol_text, head=HEAD, name="t.top"):
    text = head + types_text + textwrap.dedent("""
        [ moleculetype ]
        M 3

        [ atoms ]
        1 HC 1 RES H1 1 0.1
        2 CT 1 RES C1 1 -0.2 12.5
        3 CT 1 RES C2 2 0.0
        4 OS 1 RES O3 2
        5 HC 1 RES H5 3
        """) + textwrap.dedent(mol_text) + "\n[ system ]\nsys\n\n[ molecules ]\nM 2\n"
    return write(tmp_path, name, text)


# ---------------------------------------------------------------------------
# basic sections
# ---------------------------------------------------------------------------

def test_defaults_atomtypes_atoms(tmp_path):
    top = read_top(mol_top(tmp_path, "", ""))
    d = top.defaults
    assert (d.nbfunc, d.comb_rule, d.gen_pairs, d.fudge_lj, d.fudge_qq) == (1, 2, True, 0.5, 0.8333)
    ct = top.atomtypes["CT"]
    assert (ct.bond_type, ct.atomic_number, ct.mass, ct.ptype, ct.v, ct.w) == (
        "CT", 6, 12.01, "A", 0.34, 0.45)
    mol = top.molecule_types["M"]
    assert mol.nrexcl == 3 and mol.n_atoms == 5
    a = mol.atoms
    assert (a[0].charge, a[0].mass) == (0.1, 1.008)          # mass from the type
    assert (a[1].charge, a[1].mass) == (-0.2, 12.5)          # both explicit
    assert (a[3].charge, a[3].mass, a[3].cgnr) == (0.0, 16.0, 2)   # both from the type
    assert top.system_name == "sys" and top.molecules == [("M", 2)]
    assert top.n_atoms == 10
    assert top.files == [str(tmp_path / "t.top")]


@pytest.mark.parametrize("line, expect", [
    ("opls_135 CT 6 12.011 -0.18 A 3.5e-01 2.76e-01", ("CT", 6)),     # 8 columns
    ("opls_135 CT 12.011 -0.18 A 3.5e-01 2.76e-01", ("CT", -1)),      # 7: bond type
    ("opls_135 6 12.011 -0.18 A 3.5e-01 2.76e-01", ("opls_135", 6)),  # 7: at.num
    ("opls_135 12.011 -0.18 A 3.5e-01 2.76e-01", ("opls_135", -1)),   # 6 columns
])
def test_atomtypes_column_variants(tmp_path, line, expect):
    path = write(tmp_path, "t.top", "[ defaults ]\n1 3 yes 0.5 0.5\n[ atomtypes ]\n"
                 + line + "\n")
    t = read_top(path).atomtypes["opls_135"]
    assert (t.bond_type, t.atomic_number) == expect
    assert (t.mass, t.charge, t.ptype, t.v, t.w) == (12.011, -0.18, "A", 0.35, 0.276)


def test_defaults_short_form(tmp_path):
    path = write(tmp_path, "t.top", "[ defaults ]\n1 1\n")
    d = read_top(path).defaults
    assert (d.comb_rule, d.gen_pairs, d.fudge_lj, d.fudge_qq) == (1, False, 1.0, 1.0)


def test_explicit_parameters_and_all_sections(tmp_path):
    top = read_top(mol_top(tmp_path, "", """
        [ bonds ]
        1 2 1 0.109 284512.0
        2 3 2 0.153 7.15e6
        3 4 5
        4 5 6 0.096 462750.4
        [ pairs ]
        1 4 1 0.3 0.2
        1 4 2 0.5 0.1 -0.2 0.3 0.2
        [ angles ]
        1 2 3 1 109.5 292.88
        2 3 4 2 109.5 520
        3 4 5 5 108.5 460.24 0.2 1000.0
        [ dihedrals ]
        1 2 3 4 9 0.0 0.6 3
        1 2 3 4 1 180 1.0 2 180 2.0
        2 3 4 5 3 0.6 1.8 0.0 -2.4 0.0 0.0
        1 2 3 4 2 0.0 167.4
        1 2 3 4 4 180 4.6 2
        [ constraints ]
        1 2 1 0.109
        [ exclusions ]
        1 4 5
        [ position_restraints ]
        2 1 1000 1000 500
        [ settles ]
        3 1 0.09572 0.15139
        [ virtual_sites3 ]
        5 2 3 4 1 0.128 0.128
        """))
    it = top.molecule_types["M"].interactions
    assert [(i.func, i.atoms, i.params) for i in it["bonds"]] == [
        (1, (0, 1), (0.109, 284512.0)), (2, (1, 2), (0.153, 7.15e6)), (5, (2, 3), ()),
        (6, (3, 4), (0.096, 462750.4))]
    assert it["pairs"][1].params == (0.5, 0.1, -0.2, 0.3, 0.2)
    assert it["angles"][2].params == (108.5, 460.24, 0.2, 1000.0)
    assert it["dihedrals"][1].params == (180.0, 1.0, 2.0, 180.0, 2.0)   # with B state
    assert it["dihedrals"][2].params == (0.6, 1.8, 0.0, -2.4, 0.0, 0.0)
    assert it["exclusions"][0].atoms == (0, 3, 4)
    assert it["position_restraints"][0].params == (1000.0, 1000.0, 500.0)
    assert (it["settles"][0].atoms, it["settles"][0].params) == ((2,), (0.09572, 0.15139))
    assert it["virtual_sites3"][0].atoms == (4, 1, 2, 3)
    src = it["bonds"][0].source
    assert src[0] == str(tmp_path / "t.top")
    assert (tmp_path / "t.top").read_text().splitlines()[src[1] - 1].split() == [
        "1", "2", "1", "0.109", "284512.0"]


# ---------------------------------------------------------------------------
# parameter resolution
# ---------------------------------------------------------------------------

TYPES = """
[ bondtypes ]
CT HC 1 0.109 284512.0
CT CT 1 0.1526 259408.0
OS CT 1 0.141 267776.0

[ constrainttypes ]
HC CT 1 0.1095

[ angletypes ]
HC CT CT 1 109.5 292.88
OS CT CT 1 109.5 418.4
CT OS HC 5 108.5 460.24 0.2 1000.0

[ pairtypes ]
HC OS 1 0.28 0.1
"""


def test_bonds_angles_constraints_resolved_both_directions(tmp_path):
    top = read_top(mol_top(tmp_path, TYPES, """
        [ bonds ]
        1 2 1
        2 1 1
        3 2 1
        4 3 1
        [ constraints ]
        2 1 1
        [ angles ]
        3 2 1 1
        1 2 3 1
        2 3 4 1
        3 4 5 5
        """))
    it = top.molecule_types["M"].interactions
    assert [i.params for i in it["bonds"]] == [(0.109, 284512.0)] * 2 + [
        (0.1526, 259408.0), (0.141, 267776.0)]
    assert it["constraints"][0].params == (0.1095,)
    assert [i.params for i in it["angles"]] == [(109.5, 292.88)] * 2 + [
        (109.5, 418.4), (108.5, 460.24, 0.2, 1000.0)]


def test_bonded_type_column_is_used_for_lookup(tmp_path):
    head = HEAD.replace("CT  CT  6", "CT  CX  6")
    top = read_top(mol_top(tmp_path, "[ bondtypes ]\nCX HC 1 0.2 1000\n", "[ bonds ]\n1 2 1\n",
                           head=head))
    assert top.molecule_types["M"].interactions["bonds"][0].params == (0.2, 1000.0)


def test_pairs_from_pairtypes_or_generated(tmp_path):
    top = read_top(mol_top(tmp_path, TYPES, "[ pairs ]\n1 4 1\n4 1 1\n1 3 1\n"))
    pairs = top.molecule_types["M"].interactions["pairs"]
    assert [(p.params, p.generate) for p in pairs] == [
        ((0.28, 0.1), False), ((0.28, 0.1), False), ((), True)]
    # generated: arithmetic sigma, geometric epsilon times fudgeLJ
    v, w = top.generated_pair_params("HC", "CT")
    assert v == pytest.approx(0.30) and w == pytest.approx(0.5 * math.sqrt(0.06 * 0.45))


def test_generated_pairs_use_nonbond_params_and_comb_rule_1(tmp_path):
    head = """\
        [ defaults ]
        1 1 yes 0.5 0.5
        [ atomtypes ]
        A 1.0 0.0 A 4e-3 4e-6
        B 1.0 0.0 A 1e-3 1e-6
        [ nonbond_params ]
        A B 1 7e-3 7e-6
        """
    path = write(tmp_path, "t.top", head)
    top = read_top(path)
    assert top.generated_pair_params("A", "A") == pytest.approx((2e-3, 2e-6))
    assert top.generated_pair_params("B", "A") == pytest.approx((3.5e-3, 3.5e-6))
    assert top.nonbonded_params("A", "B") == (7e-3, 7e-6)
    assert top.nonbond_params[("A", "B")] == (1, 7e-3, 7e-6)


def test_pairs_without_gen_pairs_need_pairtypes(tmp_path):
    head = HEAD.replace("1 2 yes 0.5 0.8333", "1 2 no 1.0 1.0")
    path = mol_top(tmp_path, TYPES, "[ pairs ]\n1 4 1\n1 3 1\n", head=head)
    with pytest.raises(FileFormatError) as err:
        read_top(path)
    assert err.value.line == _line_of(path, "1 3 1") and "gen-pairs is 'no'" in str(err.value)


def _line_of(path, text, nth=1):
    lines = [i + 1 for i, line in enumerate(Path(path).read_text().splitlines())
             if line.strip() == text]
    return lines[nth - 1]


DIHEDRALS = """
[ dihedraltypes ]
; wildcards at both ends: 2 real matches
X  CT CT X   9   0.0   0.6   3
; more specific (3 real matches) appears later: must win
HC CT CT X   9   0.0   0.7   2
; fully specific, two adjacent lines: two periodic terms
HC CT CT OS  9   0.0   0.8   1
HC CT CT OS  9 180.0   0.9   2
; old 2-type form = X CT OS X
CT OS        9   0.0   1.5   3
; improper: 2-type form of func 2 = HC X X OS
HC OS        2   0.0  50.0
; same types in a different table (func 4) must not leak into func 9
CT CT OS HC  4 180.0   4.6   2
"""


def dih(tmp_path, atoms_line, extra=""):
    top = read_top(mol_top(tmp_path, DIHEDRALS + extra, "[ dihedrals ]\n" + atoms_line + "\n"))
    return [(i.func, i.atoms, i.params)
            for i in top.molecule_types["M"].interactions["dihedrals"]]


def test_dihedral_most_specific_match_with_multiple_terms(tmp_path):
    # HC CT CT OS: the fully specific entry, both its lines
    assert dih(tmp_path, "1 2 3 4 9") == [(9, (0, 1, 2, 3), (0.0, 0.8, 1.0)),
                                          (9, (0, 1, 2, 3), (180.0, 0.9, 2.0))]
    # the same four atoms listed backwards match the reversed entry
    assert [p for _, _, p in dih(tmp_path, "4 3 2 1 9")] == [(0.0, 0.8, 1.0), (180.0, 0.9, 2.0)]


def test_dihedral_wildcards_fewest_wins(tmp_path):
    # CT CT CT HC? we only have 5 atoms: use HC CT CT HC (atoms 1 2 3 5 by types)
    assert dih(tmp_path, "1 2 3 5 9") == [(9, (0, 1, 2, 4), (0.0, 0.7, 2.0))]
    # func 1 uses the same table as 9
    assert dih(tmp_path, "1 2 3 5 1") == [(1, (0, 1, 2, 4), (0.0, 0.7, 2.0))]


def test_dihedral_two_type_form_and_improper(tmp_path):
    # X CT OS X from the 2-type line
    assert dih(tmp_path, "2 3 4 5 9") == [(9, (1, 2, 3, 4), (0.0, 1.5, 3.0))]
    # improper func 2: HC X X OS
    assert dih(tmp_path, "1 2 3 4 2") == [(2, (0, 1, 2, 3), (0.0, 50.0))]
    # func 4 has its own table
    assert dih(tmp_path, "2 3 4 5 4") == [(4, (1, 2, 3, 4), (180.0, 4.6, 2.0))]


def test_dihedral_first_of_equally_specific_entries_wins(tmp_path):
    extra = "[ dihedraltypes ]\nX CT OS X 9 0.0 9.9 1\n"   # redefinition replaces
    assert dih(tmp_path, "2 3 4 5 9", extra) == [(9, (1, 2, 3, 4), (0.0, 9.9, 1.0))]
    extra = "[ dihedraltypes ]\nCT CT X X 9 0.0 9.9 1\n"   # same count, later: loses
    assert dih(tmp_path, "2 3 4 5 9", extra) == [(9, (1, 2, 3, 4), (0.0, 1.5, 3.0))]


def test_unresolvable_dihedral_names_types(tmp_path):
    path = mol_top(tmp_path, DIHEDRALS, "[ dihedrals ]\n1 2 3 4 3\n")
    with pytest.raises(FileFormatError) as err:
        read_top(path)
    msg = str(err.value)
    assert err.value.line == _line_of(path, "1 2 3 4 3")
    assert "HC CT CT OS" in msg and "dihedraltypes" in msg and "func 3" in msg


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mol_text, bad_line, words", [
    ("[ bonds ]\n1 2 1\n1 5 1\n", "1 5 1", ["bondtypes", "HC HC"]),
    ("[ bonds ]\n1 2 3 0.1 2 3\n", "1 2 3 0.1 2 3", ["unsupported function type 3",
                                                     "supported: 1, 2, 5, 6"]),
    ("[ bonds ]\n1 6 1\n", "1 6 1", ["atom index 6 out of range", "5 atoms"]),
    ("[ bonds ]\n1 2 1 0.1\n", "1 2 1 0.1", ["expected 2 or 4 parameters, got 1"]),
    ("[ angles ]\n1 2 3 1 abc 3\n", "1 2 3 1 abc 3", ["expected a number", "'abc'"]),
    ("[ angles ]\n1 2\n", "1 2", ["expected 3 atom indices"]),
    ("[ settles ]\n1 1\n", "1 1", ["[ settles ] func 1: expected 2 parameters"]),
    ("[ dihedrals ]\n1 2 3 4 7\n", "1 2 3 4 7", ["supported: 1, 2, 3, 4, 9"]),
    ("[ foo ]\nx\n", "[ foo ]", ["unknown or unsupported section [ foo ]"]),
    ("[ virtual_sites2 ]\n1 2 3 1 0.5\n", "[ virtual_sites2 ]", ["virtual_sites3"]),
])
def test_molecule_errors(tmp_path, mol_text, bad_line, words):
    path = mol_top(tmp_path, TYPES, mol_text)
    with pytest.raises(FileFormatError) as err:
        read_top(path)
    assert err.value.path == str(path)
    assert err.value.line == _line_of(path, bad_line)
    for w in words:
        assert w in str(err.value)


def test_unknown_atom_type_names_where_types_were_defined(tmp_path):
    ff = write(tmp_path, "ff.itp", HEAD)
    path = write(tmp_path, "t.top", '#include "ff.itp"\n[ moleculetype ]\nM 3\n[ atoms ]\n'
                 "1 CT 1 R C 1\n2 CQ 1 R C 1\n")
    with pytest.raises(FileFormatError) as err:
        read_top(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}:6:")
    assert "'CQ'" in msg and str(ff) in msg and "CT" in msg


def test_unknown_atom_type_without_any_atomtypes(tmp_path):
    path = write(tmp_path, "t.top", "[ defaults ]\n1 2\n[ moleculetype ]\nM 3\n[ atoms ]\n"
                 "1 CT 1 R C 1\n")
    with pytest.raises(FileFormatError, match=r"t.top:6: .*no \[ atomtypes \] were read"):
        read_top(path)


def test_missing_defaults(tmp_path):
    path = write(tmp_path, "t.top", "; ff\n[ atomtypes ]\nCT 12.0 0.0 A 0.3 0.4\n")
    with pytest.raises(FileFormatError) as err:
        read_top(path)
    assert err.value.line == 2 and "before [ defaults ]" in str(err.value)
    path = write(tmp_path, "u.top", "; nothing\n")
    with pytest.raises(FileFormatError, match="no \\[ defaults \\]"):
        read_top(path)


def test_second_defaults(tmp_path):
    path = write(tmp_path, "t.top", "[ defaults ]\n1 2\n[ defaults ]\n1 2\n")
    with pytest.raises(FileFormatError, match=r"t.top:3: second \[ defaults \]"):
        read_top(path)


def test_undefined_molecule_lists_defined(tmp_path):
    path = mol_top(tmp_path, "", "")
    text = path.read_text().replace("M 2", "M 2\nWAT 5")
    path.write_text(text)
    with pytest.raises(FileFormatError) as err:
        read_top(path)
    assert err.value.line == _line_of(path, "WAT 5")
    assert "'WAT' is not defined; defined: M" in str(err.value)


def test_atoms_must_be_consecutive(tmp_path):
    path = write(tmp_path, "t.top", HEAD + "[ moleculetype ]\nM 3\n[ atoms ]\n"
                 "1 CT 1 R C 1\n3 CT 1 R C 1\n")
    with pytest.raises(FileFormatError, match="expected 2, got 3"):
        read_top(path)


def test_bad_atomtypes_line(tmp_path):
    path = write(tmp_path, "t.top", "[ defaults ]\n1 2\n[ atomtypes ]\nCT 12 0.0 0.3 0.4 5\n")
    with pytest.raises(FileFormatError, match=r"t.top:4: .*particle type"):
        read_top(path)


def test_check_coordinates(tmp_path):
    top = read_top(mol_top(tmp_path, "", ""))
    check_coordinates(top, 10, "conf.gro")
    with pytest.raises(FileFormatError) as err:
        check_coordinates(top, 11, "conf.gro")
    msg = str(err.value)
    assert msg.startswith("conf.gro: has 11 atoms") and "gives 10" in msg
    assert "M 2 x 5 = 10" in msg


def test_defines_select_sections(tmp_path):
    path = mol_top(tmp_path, TYPES, """
        #ifdef POSRES
        [ position_restraints ]
        2 1 POSRES_FC POSRES_FC POSRES_FC
        #endif
        """)
    top = read_top(path)
    assert "position_restraints" not in top.molecule_types["M"].interactions
    top = read_top(path, defines="-DPOSRES -DPOSRES_FC=500")
    assert top.molecule_types["M"].interactions["position_restraints"][0].params == (
        500.0,) * 3


# ---------------------------------------------------------------------------
# real force fields, compared with gmx grompp + gmx dump (tests/data/top/)
# ---------------------------------------------------------------------------

# (section, func) -> GROMACS interaction type in `gmx dump`
FTYPE = {("bonds", 1): "BONDS", ("angles", 1): "ANGLES", ("angles", 5): "UREY_BRADLEY",
         ("dihedrals", 1): "PDIHS", ("dihedrals", 9): "PDIHS", ("dihedrals", 4): "PIDIHS",
         ("dihedrals", 2): "IDIHS", ("dihedrals", 3): "RBDIHS", ("pairs", 1): "LJ14",
         ("cmap", 1): "CMAP", ("position_restraints", 1): "POSRES", ("settles", 1): "SETTLE"}


def _dropped_by_grompp(ftype, params):
    """grompp leaves out torsions/angles with zero force constants."""
    if ftype in ("PDIHS", "PIDIHS"):
        return params[1] == 0.0
    if ftype in ("ANGLES", "UREY_BRADLEY", "IDIHS", "RBDIHS"):
        return all(p == 0.0 for p in params)
    return False


def _as_dump(top, mol):
    """This reader's interactions in `gmx dump`'s form: {ftype: sorted rows}."""
    out = collections.defaultdict(list)
    for section, interactions in mol.interactions.items():
        if section == "exclusions":
            continue
        for it in interactions:
            ftype = FTYPE[(section, it.func)]
            params = it.params
            atoms = list(it.atoms)
            if _dropped_by_grompp(ftype, params):
                continue
            if ftype == "SETTLE":
                atoms = [atoms[0], atoms[0] + 1, atoms[0] + 2]
            if ftype == "LJ14":
                if it.generate:
                    sig, eps = top.generated_pair_params(*(mol.atoms[a].type for a in atoms))
                else:
                    sig, eps = params
                params = (4 * eps * sig**6, 4 * eps * sig**12)
            if ftype in ("POSRES", "CMAP"):
                params = ()
            out[ftype].append(tuple(atoms) + tuple(params))
    return {k: sorted(v) for k, v in out.items()}


def _compare_with_reference(top, ref):
    for mol_name, ref_mol in ref["moltypes"].items():
        mine = _as_dump(top, top.molecule_types[mol_name])
        assert sorted(mine) == sorted(ref_mol), mol_name
        for ftype, rows in ref_mol.items():
            # the dump's POSRES/CMAP parameters are not compared (atoms only)
            keep = {"POSRES": 1, "CMAP": 5}.get(ftype)
            theirs = sorted(tuple(r[:keep]) for r in rows)
            assert len(mine[ftype]) == len(theirs), (mol_name, ftype)
            for a, b in zip(mine[ftype], theirs):
                assert len(a) == len(b) and all(
                    math.isclose(x, y, rel_tol=2e-5, abs_tol=1e-7) for x, y in zip(a, b)), \
                    (mol_name, ftype, a, b)


def _reference(ff):
    return json.loads((DATA / ff / "reference.json").read_text())


def test_processed_amber_topology_matches_gmx_dump():
    """Runs without GROMACS: the `grompp -pp` output is committed."""
    top = read_top(DATA / "amber" / "processed.top")
    _compare_with_reference(top, _reference("amber"))
    assert top.n_atoms == 66


@needs_gmx_top
@pytest.mark.parametrize("ff", ["amber", "charmm", "opls"])
def test_pdb2gmx_topology_matches_gmx_dump(ff):
    top = read_top(DATA / ff / "topol.top", defines="-DPOSRES")
    _compare_with_reference(top, _reference(ff))
    assert any(str(GMX_TOP) in f for f in top.files)
    frame_atoms = int((DATA / ff / "conf.gro").read_text().splitlines()[1])
    check_coordinates(top, frame_atoms, DATA / ff / "conf.gro")
    with pytest.raises(FileFormatError, match="Protein_chain_A 1 x 57 = 57; SOL 3 x 3 = 9"):
        check_coordinates(top, frame_atoms - 3, DATA / ff / "conf.gro")


@needs_gmx_top
def test_force_field_found_through_gmxlib(tmp_path, monkeypatch):
    """A topology copied elsewhere still finds amber99sb-ildn.ff via GMXLIB."""
    shutil.copy(DATA / "amber" / "topol.top", tmp_path / "topol.top")
    shutil.copy(DATA / "amber" / "posre.itp", tmp_path / "posre.itp")
    lib = tmp_path / "lib"
    shutil.copytree(GMX_TOP / "amber99sb-ildn.ff", lib / "amber99sb-ildn.ff")
    monkeypatch.setenv("GMXLIB", str(lib))
    top = read_top(tmp_path / "topol.top")
    assert any(f.startswith(str(lib)) for f in top.files)
    assert top.molecule_types["Protein_chain_A"].n_atoms == 57


# ---------------------------------------------------------------------------
# Martini: restricted bending (angles func 10) and [ virtual_sitesn ]
# ---------------------------------------------------------------------------

MARTINI_DATA = Path(__file__).resolve().parents[2] / "data" / "martini_bonded"
MARTINI3 = Path(__file__).resolve().parents[4] / "shared" / "data" / "martini3"


def test_restricted_bending_angles_and_angletypes(tmp_path):
    types = "[ angletypes ]\nHC CT CT 10 130.0 25.0\n"
    top = read_top(mol_top(tmp_path, types, """
        [ angles ]
        1 2 3 10 135.0 15.0
        2 3 4 10 120 35 125 40
        3 2 1 10
        """))
    angles = top.molecule_types["M"].interactions["angles"]
    assert [(a.func, a.atoms, a.params) for a in angles] == [
        (10, (0, 1, 2), (135.0, 15.0)), (10, (1, 2, 3), (120.0, 35.0, 125.0, 40.0)),
        (10, (2, 1, 0), (130.0, 25.0))]
    assert top.angletypes[(10, "HC", "CT", "CT")] == (130.0, 25.0)


def test_restricted_bending_without_parameters_or_angletype(tmp_path):
    path = mol_top(tmp_path, TYPES, "[ angles ]\n1 2 3 10\n")     # TYPES has func 1 only
    with pytest.raises(FileFormatError) as err:
        read_top(path)
    assert err.value.line == _line_of(path, "1 2 3 10")
    assert "angletypes" in str(err.value) and "func 10" in str(err.value)


def test_virtual_sitesn_cog_com_cow(tmp_path):
    top = read_top(mol_top(tmp_path, "", """
        [ virtual_sitesn ]
        ; site func atoms
        3 1 1 2 4
        3 2 2 1 5
        5 3 1 0.5 2 1.5 4 2
        5 3 4 1
        """))
    (a, b, c, d) = top.molecule_types["M"].interactions["virtual_sitesn"]
    assert (a.func, a.atoms, a.params) == (1, (2, 0, 1, 3), (1.0, 1.0, 1.0))
    # COM: the masses of [ atoms ] (12.5 given on the line; 1.008 from type HC)
    assert (b.func, b.atoms, b.params) == (2, (2, 1, 0, 4), (12.5, 1.008, 1.008))
    assert (c.func, c.atoms, c.params) == (3, (4, 0, 1, 3), (0.5, 1.5, 2.0))
    assert (d.func, d.atoms, d.params) == (3, (4, 3), (1.0,))
    assert a.source == (str(tmp_path / "t.top"), _line_of(tmp_path / "t.top", "3 1 1 2 4"))


@pytest.mark.parametrize("line, words", [
    ("3 1", ["expected 'site func atom1 atom2 ...'", "at least one constructing atom"]),
    ("3 3 1 0.5 2", ["func 3: expected pairs 'atom weight'", "got 3 values"]),
    ("3 3 1 0.5 2 -1", ["func 3: negative weight"]),
    ("3 3 1 0.5 2 x", ["expected a number for a weight", "'x'"]),
    ("3 3 1 0 2 0", ["weights of the constructing atoms sum to 0"]),
    ("3 4 1 2", ["unsupported function type 4", "supported: 1, 2, 3"]),
    ("3 1 1 3 4", ["site 3 is one of its own constructing atoms"]),
    ("3 1 1 9", ["atom index 9 out of range", "5 atoms"]),
    ("3 1 1 a", ["expected an integer atom index", "'a'"]),
])
def test_virtual_sitesn_errors(tmp_path, line, words):
    path = mol_top(tmp_path, "", f"[ virtual_sitesn ]\n{line}\n")
    with pytest.raises(FileFormatError) as err:
        read_top(path)
    assert err.value.path == str(path) and err.value.line == _line_of(path, line)
    assert str(err.value).startswith(f"{path}:{err.value.line}: ")
    for w in words:
        assert w in str(err.value), str(err.value)


def test_virtual_sitesn_com_of_massless_atoms(tmp_path):
    path = mol_top(tmp_path, "", "[ virtual_sitesn ]\n1 2 2 3\n")
    text = path.read_text().replace("2 CT 1 RES C1 1 -0.2 12.5", "2 CT 1 RES C1 1 -0.2 0")
    path.write_text(text.replace("3 CT 1 RES C2 2 0.0", "3 CT 1 RES C2 2 0.0 0.0"))
    with pytest.raises(FileFormatError, match=r"func 2: the masses of the constructing "
                                              r"atoms sum to 0\.0"):
        read_top(path)


def test_martini3_processed_topology():
    """The committed grompp -pp output of real Martini 3 molecules (TXE, MIND)."""
    top = read_top(MARTINI_DATA / "processed.top")
    txe = top.molecule_types["TXE"].interactions["angles"]
    assert [(a.func, a.atoms, a.params) for a in txe] == [
        (10, (0, 1, 2), (135.0, 15.0)), (2, (0, 1, 2), (135.0, 5.0))]
    mind = top.molecule_types["MIND"].interactions
    (vs,) = mind["virtual_sitesn"]
    assert (vs.func, vs.atoms, vs.params) == (1, (2, 0, 1, 3, 4), (1.0,) * 4)
    assert [a.mass for a in top.molecule_types["MIND"].atoms] == [45, 45, 0, 45, 45]
    assert len(mind["constraints"]) == 5 and mind["dihedrals"][0].func == 2
    assert mind["exclusions"][0].atoms == (0, 1, 2, 3, 4)


@pytest.mark.skipif(not (MARTINI3 / "martini_v3.0.0.itp").is_file(),
                    reason="needs the Martini 3 files in shared/data/martini3")
def test_real_martini3_files(tmp_path):
    """All of the official Martini 3.0.0 solvents, small molecules, ions, phospholipids."""
    names = ["martini_v3.0.0.itp"] + [f"martini_v3.0.0_{p}_v1.itp" for p in
                                      ("solvents", "small_molecules", "ions", "phospholipids")]
    path = write(tmp_path, "t.top", "".join(f'#include "{n}"\n' for n in names)
                 + "[ system ]\nx\n[ molecules ]\nTXE 1\nMIND 2\nW 3\n")
    top = read_top(path, include_dirs=[str(MARTINI3)])
    assert top.n_atoms == 3 + 10 + 3
    (a10, a2) = top.molecule_types["TXE"].interactions["angles"]
    assert (a10.func, a10.params, a10.source[1]) == (10, (135.0, 15.0), 481)
    assert a10.source[0].endswith("martini_v3.0.0_solvents_v1.itp") and a2.func == 2
    (vs,) = top.molecule_types["MIND"].interactions["virtual_sitesn"]
    assert (vs.atoms, vs.params) == ((2, 0, 1, 3, 4), (1.0, 1.0, 1.0, 1.0))
    # the only users of the two in these files
    assert [n for n, m in top.molecule_types.items()
            if any(a.func == 10 for a in m.interactions.get("angles", ()))] == ["TXE"]
    assert [n for n, m in top.molecule_types.items()
            if "virtual_sitesn" in m.interactions] == ["MIND"]
