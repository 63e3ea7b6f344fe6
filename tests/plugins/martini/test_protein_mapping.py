"""AA → Martini 3 mapping of proteins: residues split along the backbone, matched by graph.

References (tests/data/martini_protein, made by make_reference.py there): martinize2's
CG structures of the A6PA6 peptide (CHARMM names, tests/data/gromacs/a6pa6_charmm_vac)
and of the solvated AAPAA peptide (AMBER names, tests/data/gromacs/aapaa_tip3p_hbonds).
vermouth is not imported here.
"""

import os
import shutil
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mdzoom.core.topology import MoleculeType, Topology
from mdzoom.plugins.martini.mapping import MappingError, Martini3Mapping, load_aa

ROOT = Path(__file__).resolve().parents[3]
GMXDATA = ROOT / "tests" / "data" / "gromacs"
DATA = ROOT / "tests" / "data" / "martini_protein"

# Martini 3 side-chain beads per residue (Souza et al. 2021, vermouth martini3001 blocks)
N_SC = dict(ALA=1, ARG=2, ASN=1, ASP=1, CYS=1, GLN=1, GLU=1, GLY=0, HIS=3, ILE=1, LEU=1,
            LYS=2, MET=1, PHE=3, PRO=1, SER=1, THR=1, TRP=5, TYR=4, VAL=1)
MASS = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "S": 32.06}


@pytest.fixture(scope="module")
def scheme():
    return Martini3Mapping()


def read_pdb(path):
    rows = [line for line in Path(path).read_text().splitlines() if line.startswith("ATOM")]
    x = np.array([[float(r[30:38]), float(r[38:46]), float(r[46:54])] for r in rows]) / 10
    return [r[12:16].strip() for r in rows], [r[17:20] for r in rows], x


def martini3_dir():
    env = os.environ.get("MDZOOM_MARTINI3_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "data" / "martini3"
    return path if (path / "martini_v3.0.0.itp").is_file() else None


# --------------------------------------------------------------------------- definitions


def test_twenty_residue_definitions_with_martini3_beads(scheme):
    residues = {d.name: d for d in scheme.data.residues}
    assert set(residues) == set(N_SC)
    for name, d in residues.items():
        assert d.beads == ["BB"] + [f"SC{k}" for k in range(1, N_SC[name] + 1)], name
        bb = d.weights[0]
        assert sorted(d.graph.nodes[n]["label"] for n in bb) == ["C", "CA", "N", "O"]
        assert d.center == "mass" and len(d.backbone) == 4
    assert residues["TRP"].formula() == "C11H10N2O"      # a residue inside a chain
    # molecule definitions are unchanged
    assert {d.name for d in scheme.definitions} >= {"POPC", "DPPC", "water"}


def test_neighbour_references_are_still_rejected(tmp_path):
    from mdzoom.plugins.martini.mapping import load_definition

    f = tmp_path / "x.toml"
    f.write_text('kind = "residue"\nname = "X"\nbackbone = ["N", "CA", "C", "O"]\n'
                 '[graph]\nbonds = ["N-CA-C-O", "C-+N"]\n[graph.atoms]\nN = "NH"\n'
                 'CA = "CH2"\nC = "C"\nO = "O"\n"+N" = "NH"\n[beads]\nBB = "N CA C O"\n')
    with pytest.raises(MappingError, match="neighbouring residues"):
        load_definition(f)


# --------------------------------------------------------------------------- synthetic chains


def chain(scheme, names, nterm_h=2, oxt=True, drop_h=()):
    """A MoleculeType built from the residue definitions' own graphs: hydrogens added as
    the labels say, peptide bonds C(i)–N(i+1), NH3+ (``nterm_h`` extra H) and OXT.
    ``drop_h``: (residue index, label) whose hydrogens to remove (protonation states)."""
    defs = {d.name: d for d in scheme.data.residues}
    g = nx.Graph()
    prev_c = None
    for i, rn in enumerate(names):
        d = defs[rn]
        node = {}
        for n, a in d.graph.nodes(data=True):
            k = g.number_of_nodes()
            node[n] = k
            g.add_node(k, name=a["label"], element=a["element"], mass=MASS[a["element"]],
                       charge=0.0, resname=rn, resid=i + 1)
        for u, v in d.graph.edges:
            g.add_edge(node[u], node[v])
        n_, ca, c_, o_ = d.backbone
        for n, a in d.graph.nodes(data=True):
            nh = a["n_h"] + (nterm_h if (i == 0 and n == n_) else 0)
            if (i, a["label"]) in drop_h:
                nh = 0
            for h in range(nh):
                k = g.number_of_nodes()
                g.add_node(k, name=f"H{h}{a['label']}", element="H", mass=1.008,
                           charge=0.0, resname=rn, resid=i + 1)
                g.add_edge(k, node[n])
        if prev_c is not None:
            g.add_edge(prev_c, node[n_])
        prev_c = node[c_]
        if oxt and i == len(names) - 1:
            k = g.number_of_nodes()
            g.add_node(k, name="OXT", element="O", mass=15.999, charge=0.0, resname=rn,
                       resid=i + 1)
            g.add_edge(k, node[c_])
    return MoleculeType("P", g, 3)


def expected_names(names):
    out = []
    for rn in names:
        out += ["BB"] + [f"SC{k}" for k in range(1, N_SC[rn] + 1)]
    return out


def map_graph(scheme, mt, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((mt.n_particles, 3)) * 3.0
    return scheme.map(Topology([mt], [("P", 1)]), x, np.eye(3) * 10.0)


@pytest.mark.parametrize("res", sorted(N_SC))
def test_each_amino_acid_maps_inside_a_chain_and_at_both_ends(scheme, res):
    for names in (["ALA", res, "GLY"], [res, "ALA"], ["ALA", res]):
        cg = map_graph(scheme, chain(scheme, names))
        assert cg.names == expected_names(names), names
        assert cg.resnames == [rn for rn in names for _ in range(1 + N_SC[rn])]
        assert cg.molecules == [("P", 1)]


def test_protonation_states_and_tautomers_match(scheme):
    names = ["ALA", "HIS", "HIS", "ASP", "GLU", "LYS", "CYS", "ALA"]
    variants = [(), ((1, "ND1"), (2, "NE2")), ((5, "NZ"), (6, "SG"))]
    for drop in variants:
        cg = map_graph(scheme, chain(scheme, names, drop_h=drop))
        assert cg.names == expected_names(names)
    # neutral N-terminus (NH2), COOH C-terminus (OXT with H) and no OXT at all
    cg = map_graph(scheme, chain(scheme, names, nterm_h=1))
    assert cg.names == expected_names(names)
    mt = chain(scheme, names, oxt=False)
    assert map_graph(scheme, mt).names == expected_names(names)


def test_disulfide_bonds_are_cut_and_recorded(scheme):
    mt = chain(scheme, ["CYS", "ALA", "ALA", "CYS"], drop_h=((0, "SG"), (3, "SG")))
    g = mt.graph
    sg = [n for n in g if g.nodes[n]["name"] == "SG"]
    g.add_edge(*sg)
    cg = map_graph(scheme, mt)
    assert cg.names == expected_names(["CYS", "ALA", "ALA", "CYS"])
    assert cg.proteins[0].disulfides == [(0, 3)]


def test_side_chain_amides_are_not_peptide_bonds(scheme):
    cg = map_graph(scheme, chain(scheme, ["ASN", "GLN", "ARG", "ASN"]))
    assert cg.proteins[0].sequence == ["ASN", "GLN", "ARG", "ASN"]


def test_unknown_residue_is_named_in_the_error(scheme):
    mt = chain(scheme, ["ALA", "ALA", "ALA"])
    g = mt.graph
    cb = [n for n in g if g.nodes[n]["name"] == "CB" and g.nodes[n]["resid"] == 2][0]
    k = g.number_of_nodes()
    g.add_node(k, name="CX", element="C", mass=12.011, charge=0.0, resname="ALX", resid=2)
    g.add_edge(k, cb)
    with pytest.raises(MappingError, match=r"residue ALA 2 .*no residue definition matches"):
        map_graph(scheme, MoleculeType("P", g, 3))


# --------------------------------------------------------------------------- vs martinize2


def test_a6pa6_charmm_beads_equal_martinize2(scheme):
    top, x, box = load_aa(GMXDATA / "a6pa6_charmm_vac" / "processed.top",
                          GMXDATA / "a6pa6_charmm_vac" / "conf.gro")
    cg = scheme.map(top, x, box)
    names, resnames, ref = read_pdb(DATA / "a6pa6_charmm_cg.pdb")
    assert cg.names == names and cg.resnames == resnames
    assert cg.molecules == [("Protein", 1)]
    assert list(cg.resids) == [int(k) for k in np.repeat(np.arange(1, 14), 2)]
    # martinize2 writes 3 decimals in Å; it uses integer masses (C 12, H 1, ...)
    assert np.abs(cg.positions - ref).max() < 2e-4


def test_aapaa_amber_in_water_beads_equal_martinize2(scheme):
    top, x, box = load_aa(GMXDATA / "aapaa_tip3p_hbonds" / "processed.top",
                          GMXDATA / "aapaa_tip3p_hbonds" / "conf.gro")
    cg = scheme.map(top, x, box)
    assert cg.molecules == [("Protein_chain_A", 1), ("W", 115)]
    names, resnames, ref = read_pdb(DATA / "aapaa_amber_cg.pdb")
    assert cg.names[:10] == names and cg.resnames[:10] == resnames
    d = np.abs(cg.positions[:10] - ref).max(axis=1)
    sc = np.array([n != "BB" for n in names])
    assert d[sc].max() < 2e-4
    # martinize2 -from amber drops the amide H ('H', 'H1') from BB (its amber mapping
    # calls it HN); mdzoom counts it, as with CHARMM names: a few 1e-3 nm apart
    assert d[~sc].max() < 6e-3
    assert d[names.index("BB", 4)] < 2e-4          # PRO has no amide H: equal


def test_renamed_and_shuffled_peptide_still_maps(scheme):
    top, x, box = load_aa(GMXDATA / "a6pa6_charmm_vac" / "processed.top",
                          GMXDATA / "a6pa6_charmm_vac" / "conf.gro")
    from test_mapping import permute_positions, renamed

    ref = scheme.map(top, x, box)
    top2, perms = renamed(top, np.random.default_rng(5))
    cg = scheme.map(top2, permute_positions(top, x, perms), box)
    assert cg.names == ref.names and cg.resnames == ref.resnames
    assert np.abs(cg.positions - ref.positions).max() < 1e-12


# --------------------------------------------------------------------------- end to end


def test_cli_maps_a_peptide_in_water(tmp_path, capsys, grompp):
    from mdzoom.core.cli import main

    d = GMXDATA / "aapaa_tip3p_hbonds"
    rc = main(["map", "-c", str(d / "conf.gro"), "-p", str(d / "processed.top"),
               "-o", str(tmp_path / "cg.gro"), "-t", str(tmp_path / "cg.top")])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "mapped 1446 atoms to 125 martini3 beads (Protein_chain_A 1, W 115)" in out.out
    assert "protein Protein_chain_A: 5 residues" in out.err
    assert "wrote Protein_chain_A.itp" in out.err
    text = (tmp_path / "cg.top").read_text()
    assert '#include "Protein_chain_A.itp"' in text and "Protein_chain_A 1" in text
    assert (tmp_path / "Protein_chain_A.itp").exists()
    ff = martini3_dir()
    if shutil.which("gmx") is None or ff is None:
        pytest.skip("GROMACS or the Martini 3 .itp files not available")
    # with the generated protein itp, grompp accepts the mapped system
    for name in ("martini_v3.0.0.itp", "martini_v3.0.0_solvents_v1.itp"):
        shutil.copy(ff / name, tmp_path / name)
    res = grompp(tmp_path, maxwarn=1)
    assert res.returncode == 0, res.stderr[-3000:]
