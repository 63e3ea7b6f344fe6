"""AA → Martini 3 mapping: graph matching, bead centres, water grouping, PBC, output.

Inputs: tests/data/martini_mapping (a CHARMM36 POPC patch with TIP3P water and Na⁺/Cl⁻,
one DPPC; made by make_aa_patch.py there). Tests needing GROMACS or the Martini 3 .itp
files skip without them (MDZOOM_MARTINI3_DIR, or shared/data/martini3 beside the repo).
"""

import os
import shutil
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mdzoom.core.topology import MoleculeType, Topology
from mdzoom.plugins.martini.mapping import MappingError, Martini3Mapping, load_aa
from mdzoom.plugins.martini.mapping.clustering import cluster_groups, minimum_image

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "martini_mapping"

# Martini 3 bead order ([ atoms ] of martini_v3.0.0_phospholipids_v1.itp)
POPC_BEADS = "NC3 PO4 GL1 GL2 C1A D2A C3A C4A C1B C2B C3B C4B".split()
DPPC_BEADS = "NC3 PO4 GL1 GL2 C1A C2A C3A C4A C1B C2B C3B C4B".split()
# POPC [ bonds ] of the same file: (i, j) 1-based, b0 [nm]
POPC_BONDS = [(1, 2, 0.40), (2, 3, 0.42), (3, 4, 0.312), (3, 5, 0.47), (5, 6, 0.47),
              (6, 7, 0.47), (7, 8, 0.47), (4, 9, 0.47), (9, 10, 0.47), (10, 11, 0.47),
              (11, 12, 0.47)]

# The published atom → bead assignment, written out independently of the data files:
# CHARMM36 heavy-atom names, "name:weight" for atoms split between two beads.
_TAIL_PALMITOYL = {"1": "{c}2 {c}3 {c}4 {c}5:0.5", "2": "{c}5:0.5 {c}6 {c}7 {c}8 {c}9 {c}10:0.5",
                   "3": "{c}10:0.5 {c}11 {c}12 {c}13 {c}14:0.5", "4": "{c}14:0.5 {c}15 {c}16"}
HEAD = {"NC3": "N C12 C13 C14 C15 C11:0.5", "PO4": "C11:0.5 P O11 O12 O13 O14",
        "GL1": "C1 C2 O21 O22 C21:0.5", "GL2": "C3 O31 C31 O32"}
POPC_SPEC = dict(HEAD, C1A="C21:0.5 C22 C23 C24 C25:0.5", D2A="C25:0.5 C26 C27 C28 C29",
                 C3A="C210 C211 C212 C213 C214:0.5", C4A="C214:0.5 C215 C216 C217 C218",
                 C1B="C32 C33 C34 C35:0.5", C2B="C35:0.5 C36 C37 C38 C39 C310:0.5",
                 C3B="C310:0.5 C311 C312 C313 C314:0.5", C4B="C314:0.5 C315 C316")
DPPC_SPEC = dict(HEAD, C1A="C21:0.5 C22 C23 C24 C25:0.5",
                 C2A="C25:0.5 C26 C27 C28 C29 C210:0.5",
                 C3A="C210:0.5 C211 C212 C213 C214:0.5", C4A="C214:0.5 C215 C216",
                 C1B="C32 C33 C34 C35:0.5", C2B="C35:0.5 C36 C37 C38 C39 C310:0.5",
                 C3B="C310:0.5 C311 C312 C313 C314:0.5", C4B="C314:0.5 C315 C316")


@pytest.fixture(scope="module")
def patch():
    return load_aa(DATA / "popc_patch.top", DATA / "popc_patch.gro")


@pytest.fixture(scope="module")
def dppc():
    return load_aa(DATA / "dppc.top", DATA / "dppc.gro")


@pytest.fixture(scope="module")
def scheme():
    return Martini3Mapping()


@pytest.fixture(scope="module")
def cg(patch, scheme):
    return scheme.map(*patch)


def martini3_dir():
    env = os.environ.get("MDZOOM_MARTINI3_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "data" / "martini3"
    return path if (path / "martini_v3.0.0.itp").is_file() else None


# --------------------------------------------------------------------------- helpers


def expected_centres(topology, positions, box, molname, spec):
    """Bead centres computed from atom names: every atom (H with its heavy atom) weight
    × 1, each bead's atoms put next to the bead's first atom by minimum image."""
    mt = topology.molecule_type(molname)
    g = mt.graph
    by_name = {g.nodes[n]["name"]: n for n in g}
    owner = {n: next(m for m in g[n] if g.nodes[m]["element"] != "H")
             for n in g if g.nodes[n]["element"] == "H"}
    L = np.diag(box)
    out = []
    start = 0
    for name, count in topology.molecules:
        n = topology.molecule_type(name).n_particles
        if name == molname:
            for c in range(count):
                x = positions[start + c * n: start + (c + 1) * n]
                beads = []
                for bead, atoms in spec.items():
                    w = np.zeros(n)
                    for tok in atoms.split():
                        label, _, wt = tok.partition(":")
                        w[by_name[label]] += float(wt or 1.0)
                    for h, heavy in owner.items():
                        w[h] = w[heavy]
                    members = np.flatnonzero(w)
                    ref = x[members[0]]
                    d = x[members] - ref
                    d -= np.round(d / L) * L
                    beads.append(ref + (w[members, None] * d).sum(0) / w.sum())
                out.append(beads)
        start += n * count
    return np.array(out)


def cg_molecules(cg, name):
    """(count, n_beads, 3) positions of the CG molecules called ``name``."""
    blocks, start = [], 0
    for mol, count in cg.molecules:
        nb = {"POPC": 12, "DPPC": 12}.get(mol, 1)
        if mol == name:
            blocks.append(cg.positions[start:start + count * nb].reshape(count, nb, 3))
        start += count * nb
    return np.concatenate(blocks)


def same_modulo_box(a, b, box):
    d = minimum_image(np.asarray(a) - np.asarray(b), box)
    return np.abs(d).max()


def renamed(topology, rng=None):
    """The same topology with every atom, residue and molecule-type name changed and,
    with ``rng``, the atoms of each multi-atom molecule type in a shuffled order.
    Returns (topology, permutations) where ``perm[new] = old`` per molecule type."""
    types, perms = [], {}
    for mt in topology.molecule_types:
        n = mt.n_particles
        perm = rng.permutation(n) if (rng is not None and n > 1) else np.arange(n)
        inv = np.argsort(perm)
        g = nx.Graph()
        for new, old in enumerate(perm):
            d = dict(mt.graph.nodes[int(old)])
            d.update(name=f"A{new}", resname="RES", type=f"T{new}")
            g.add_node(new, **d)
        g.add_edges_from((int(inv[u]), int(inv[v])) for u, v in mt.graph.edges)
        types.append(MoleculeType(f"M_{mt.name.lower()}x", g, mt.nrexcl))
        perms[mt.name] = perm
    mols = [(f"M_{n.lower()}x", c) for n, c in topology.molecules]
    return Topology(types, mols), perms


def permute_positions(topology, positions, perms):
    out, start = [], 0
    for name, count in topology.molecules:
        n = topology.molecule_type(name).n_particles
        block = positions[start:start + n * count].reshape(count, n, 3)
        out.append(block[:, perms[name]].reshape(-1, 3))
        start += n * count
    return np.concatenate(out)


# --------------------------------------------------------------------------- definitions


def test_definitions_load_with_martini3_bead_order(scheme):
    defs = {d.name: d for d in scheme.definitions}
    assert defs["POPC"].beads == POPC_BEADS
    assert defs["DPPC"].beads == DPPC_BEADS
    assert (defs["water"].cg_molecule, defs["water"].cluster) == ("W", 4)
    assert defs["Na+"].cg_molecule == "NA" and defs["Cl-"].cg_molecule == "CL"
    assert defs["POPC"].formula() == "C42H82NO8P"
    assert defs["DPPC"].formula() == "C40H80NO8P"


def test_definitions_agree_with_the_martini3_itp_files(scheme):
    ff = martini3_dir()
    if ff is None:
        pytest.skip("Martini 3 .itp files not available (set MDZOOM_MARTINI3_DIR)")
    molecules = {}
    for itp in ff.glob("martini_v3.0*_*.itp"):    # also martini_v3.0_sterols_v1.0.itp
        current, section = None, None
        for line in itp.read_text().splitlines():
            line = line.split(";")[0].strip()
            if line.startswith("["):
                section = line.strip("[] ").lower()
                continue
            if not line or line.startswith("#"):
                continue
            if section == "moleculetype":
                current = line.split()[0]
                molecules[(itp.name, current)] = []
            elif section == "atoms" and current and len(line.split()) >= 5:
                molecules[(itp.name, current)].append((line.split()[4], line.split()[3]))
    for d in scheme.definitions:
        if not (ff / d.itp).is_file():
            continue    # not beside the others (the sterol itp; test_chol_mapping.py checks CHOL)
        atoms = molecules[(d.itp, d.cg_molecule)]
        assert [a for a, _ in atoms] == d.beads, d.name
        assert {r for _, r in atoms} == {d.cg_resname}, d.name


def test_no_symmetry_of_a_lipid_graph_moves_atoms_between_beads(scheme):
    """Every automorphism of the labelled heavy-atom graph keeps the bead weights, so a
    match is unambiguous (choline methyls and phosphate oxygens may swap, nothing else
    that matters)."""
    from networkx.algorithms import isomorphism

    for d in scheme.definitions:
        g = d.graph
        nm = lambda a, b: (a["element"], a["n_h"]) == (b["element"], b["n_h"])  # noqa: E731
        w = np.zeros((len(d.beads), g.number_of_nodes()))
        for b, bw in enumerate(d.weights):
            for n, v in bw.items():
                w[b, n] = v
        count = 0
        for auto in isomorphism.GraphMatcher(g, g, node_match=nm).isomorphisms_iter():
            perm = np.array([auto[n] for n in range(g.number_of_nodes())])
            assert np.array_equal(w[:, perm], w), d.name
            count += 1
        assert count >= 1


# --------------------------------------------------------------------------- mapping


def test_patch_maps_to_martini3_molecules_in_order(cg):
    assert cg.molecules == [("POPC", 31), ("W", 323), ("NA", 4), ("CL", 4)]
    assert cg.n_beads == 31 * 12 + 323 + 8
    assert cg.names[:12] == POPC_BEADS and set(cg.resnames[:12]) == {"POPC"}
    assert cg.itps == ["martini_v3.0.0.itp", "martini_v3.0.0_phospholipids_v1.itp",
                       "martini_v3.0.0_solvents_v1.itp", "martini_v3.0.0_ions_v1.itp"]
    # 1295 waters: 3 are left over and reported
    assert len(cg.dropped) == 1 and "3 water" in cg.dropped[0]


def test_popc_beads_are_the_weighted_centres(patch, cg):
    topology, x, box = patch
    expected = expected_centres(topology, x, box, "POPC", POPC_SPEC)
    assert same_modulo_box(cg_molecules(cg, "POPC"), expected, box) < 1e-9


def test_dppc_maps_with_martini3_bead_order_and_centres(dppc, scheme):
    topology, x, box = dppc
    cg = scheme.map(topology, x, box)
    assert cg.molecules == [("DPPC", 1)]
    assert cg.names == DPPC_BEADS
    expected = expected_centres(topology, x, box, "DPPC", DPPC_SPEC)
    assert same_modulo_box(cg.positions[None], expected, box) < 1e-9


def test_ions_map_by_element_and_charge(patch, cg):
    topology, x, box = patch
    na = cg.positions[cg.n_beads - 8:cg.n_beads - 4]
    start = topology.n_particles - 8
    assert np.allclose(na, x[start:start + 4])
    assert cg.names[-8:] == ["NA"] * 4 + ["CL"] * 4


def test_renamed_and_reordered_atoms_still_map(patch, scheme, cg):
    topology, x, box = patch
    new_top, perms = renamed(topology, rng=np.random.default_rng(3))
    new_x = permute_positions(topology, x, perms)
    cg2 = scheme.map(new_top, new_x, box)
    assert cg2.molecules == cg.molecules
    lipids = slice(0, 31 * 12)
    assert same_modulo_box(cg2.positions[lipids], cg.positions[lipids], box) < 1e-9
    assert np.allclose(cg2.positions[-8:], cg.positions[-8:])


def test_one_lipid_type_holding_many_lipids_maps_each(patch, scheme, cg):
    """pdb2gmx puts all lipids in one molecule type: its disconnected parts are matched
    one by one."""
    topology, x, box = patch
    popc = topology.molecule_type("POPC")
    g = nx.disjoint_union_all([popc.graph] * 31)
    big = MoleculeType("Other", nx.convert_node_labels_to_integers(g), 3)
    rest = [mt for mt in topology.molecule_types if mt.name != "POPC"]
    top2 = Topology([big, *rest], [("Other", 1)] + topology.molecules[1:])
    cg2 = scheme.map(top2, x, box)
    assert cg2.molecules == cg.molecules
    assert same_modulo_box(cg2.positions[:31 * 12], cg.positions[:31 * 12], box) < 1e-9


def test_unknown_molecule_is_reported_by_atom_names(patch, scheme):
    topology, x, box = patch
    g = nx.Graph()
    atoms = [("C1", "C", 12.011), ("C2", "C", 12.011), ("OH", "O", 15.999)] + \
        [(f"H{k}", "H", 1.008) for k in range(6)]
    for k, (name, el, m) in enumerate(atoms):
        g.add_node(k, name=name, element=el, mass=m, charge=0.0, resname="ETOH", resid=1)
    g.add_edges_from([(0, 1), (1, 2), (0, 3), (0, 4), (0, 5), (1, 6), (1, 7), (2, 8)])
    etoh = MoleculeType("ETH", g)
    top2 = Topology([*topology.molecule_types, etoh], [*topology.molecules, ("ETH", 2)])
    x2 = np.concatenate([x, x[:9] + 0.1, x[:9] + 0.2])
    with pytest.raises(MappingError) as err:
        scheme.map(top2, x2, box)
    text = str(err.value)
    assert "'ETH'" in text and "C1 C2 OH H0" in text and "ETOH 1" in text
    assert "C2H6O" in text and "POPC (C42H82NO8P)" in text and "water (H2O)" in text
    cg = scheme.map(top2, x2, box, allow_unmatched=True)
    assert cg.molecules[0] == ("POPC", 31) and any("ETH" in d for d in cg.dropped)


def test_same_composition_but_other_bonds_is_not_popc(patch, scheme):
    topology, x, box = patch
    popc = topology.molecule_type("POPC")
    g = popc.graph.copy()
    by = {g.nodes[n]["name"]: n for n in g}
    # move the oleoyl chain's end from C217 to C216: same atoms, different graph
    g.remove_edge(by["C217"], by["C218"])
    g.add_edge(by["C216"], by["C218"])
    bad = MoleculeType("POPX", g, 3)
    top2 = Topology([bad], [("POPX", 1)])
    with pytest.raises(MappingError, match="POPC: same composition, but the bonds differ"):
        scheme.map(top2, x[:popc.n_particles], box)


def test_charge_tells_an_ion_apart(scheme):
    na = MoleculeType.single_particle("NA0", mass=22.99, charge=0.0, element="Na")
    with pytest.raises(MappingError, match="charge"):
        scheme.map(Topology([na], [("NA0", 1)]), np.zeros((1, 3)), np.eye(3) * 3)


# --------------------------------------------------------------------------- water


def test_water_groups_use_each_water_once_and_sit_at_their_centre(patch, cg):
    topology, x, box = patch
    start = topology.n_particles - 8 - 3 * 1295
    water_atoms = set(range(start, start + 3 * 1295))
    first_w = 31 * 12
    used = []
    for k in range(323):
        src = cg.sources[31 + k]
        assert len(src) == 12
        used.extend(src.tolist())
        # independent centre: each water's COG (made whole), then the four around the first
        w = x[src].reshape(4, 3, 3)
        d = minimum_image(w - w[:, :1], box)
        centres = w[:, 0] + d.mean(axis=1)
        rel = minimum_image(centres - centres[0], box)
        bead = centres[0] + rel.mean(axis=0)
        assert same_modulo_box(cg.positions[first_w + k], bead, box) < 1e-9
        assert np.linalg.norm(rel - rel.mean(0), axis=1).max() < 0.75   # a compact group
    assert len(used) == len(set(used)) == 3 * (1295 - 3)
    assert set(used) <= water_atoms


def test_cluster_groups_is_a_partition_under_pbc():
    rng = np.random.default_rng(0)
    box = np.diag([2.0, 2.5, 3.0])
    pts = rng.random((403, 3)) * np.diag(box)
    groups, left = cluster_groups(pts, 4, box)
    assert groups.shape == (100, 4) and len(left) == 3
    assert sorted(np.concatenate([groups.ravel(), left]).tolist()) == list(range(403))
    # points straddling the boundary are grouped through it
    edge = np.array([[0.02, 1, 1], [1.98, 1, 1], [0.05, 1.05, 1], [1.95, 0.95, 1]])
    g, left = cluster_groups(edge, 4, box)
    assert g.shape == (1, 4) and len(left) == 0


# --------------------------------------------------------------------------- PBC and geometry


def test_lipids_split_across_the_box_map_whole(patch, cg):
    topology, x, box = patch
    popc = topology.molecule_type("POPC")
    n = popc.n_particles
    bonds = np.array(list(popc.graph.edges))
    lipids = x[:31 * n].reshape(31, n, 3)
    split = np.linalg.norm(lipids[:, bonds[:, 0]] - lipids[:, bonds[:, 1]], axis=2).max(1) > 1.0
    assert split.sum() >= 3, "the test patch should hold lipids split by the box"
    beads = cg_molecules(cg, "POPC")
    for i, j, _ in POPC_BONDS:
        r = np.linalg.norm(beads[:, i - 1] - beads[:, j - 1], axis=1)
        assert r.max() < 0.8


def test_a_lipid_shifted_across_the_boundary_gives_the_same_cg_lipid(dppc, scheme):
    topology, x, box = dppc
    ref = scheme.map(topology, x, box).positions
    L = np.diag(box)
    shift = np.array([L[0] / 2 + 0.3, 0.0, L[2] / 2])      # puts the lipid across x = 0, z = 0
    xs = x + shift
    xs -= np.floor(xs / L) * L                              # atoms wrapped one by one
    cg = scheme.map(topology, xs, box).positions
    d = cg - cg[0]
    assert np.abs(d - (ref - ref[0])).max() < 1e-9          # whole, same shape
    assert same_modulo_box(cg, ref + shift, box) < 1e-9


def test_mapped_popc_bond_lengths_are_near_martini3_b0(cg):
    beads = cg_molecules(cg, "POPC")
    for i, j, b0 in POPC_BONDS:
        r = np.linalg.norm(beads[:, i - 1] - beads[:, j - 1], axis=1)
        assert np.all(np.abs(r - b0) < 0.2), (i, j, b0, r.min(), r.max())


# --------------------------------------------------------------------------- speed


def test_mapping_ten_thousand_atoms_is_fast(patch):
    topology, x, box = patch
    reps = 2
    L = np.diag(box)
    big_x = np.concatenate([x + np.array([k * L[0], 0, 0]) for k in range(reps)])
    mols = []
    for _ in range(reps):
        mols.extend(topology.molecules)
    big = Topology(topology.molecule_types, mols)
    big_box = box.copy()
    big_box[0, 0] *= reps
    assert big.n_particles >= 10_000
    t0 = time.perf_counter()
    cg = Martini3Mapping().map(big, big_x, big_box)       # definitions loaded here too
    elapsed = time.perf_counter() - t0
    assert cg.molecules[0] == ("POPC", 31)
    assert elapsed < 2.5, f"mapping {big.n_particles} atoms took {elapsed:.2f} s"


# --------------------------------------------------------------------------- output


def test_written_files(tmp_path, cg, monkeypatch):
    from mdzoom.core.io import read_gro

    monkeypatch.delenv("MDZOOM_MARTINI3_DIR", raising=False)    # bare include names

    cg.write_gro(tmp_path / "cg.gro")
    frame = read_gro(tmp_path / "cg.gro")
    assert frame.names == cg.names and np.allclose(frame.positions, cg.positions, atol=6e-4)
    cg.write_top(tmp_path / "cg.top")
    text = (tmp_path / "cg.top").read_text()
    assert '#include "martini_v3.0.0.itp"' in text
    assert text.index("phospholipids") < text.index("solvents") < text.index("ions")
    assert text.rstrip().endswith("POPC         31\nW            323\nNA           4\n"
                                  "CL           4")
    ff = tmp_path / "ff"
    ff.mkdir()
    with pytest.raises(FileNotFoundError, match="martini_v3.0.0.itp"):
        cg.write_top(tmp_path / "cg2.top", ff_dir=ff)
    for name in cg.itps:
        (ff / name).write_text("")
    (tmp_path / "out").mkdir()
    cg.write_top(tmp_path / "out" / "cg3.top", ff_dir=os.path.relpath(ff))
    assert '#include "../ff/martini_v3.0.0.itp"' in (tmp_path / "out" / "cg3.top").read_text()


@pytest.mark.skipif(shutil.which("gmx") is None, reason="GROMACS (gmx) not installed")
def test_grompp_accepts_the_cg_system(tmp_path, cg, grompp):
    ff = martini3_dir()
    if ff is None:
        pytest.skip("Martini 3 .itp files not available (set MDZOOM_MARTINI3_DIR)")
    cg.write_gro(tmp_path / "cg.gro")
    cg.write_top(tmp_path / "cg.top", ff_dir=ff)
    res = grompp(tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]


# --------------------------------------------------------------------------- plugin + CLI


@pytest.fixture
def plugin_manager(monkeypatch):
    from mdzoom.core import plugins

    pm = plugins.PluginManager(entry_points=False)       # the built-in Martini plugin
    monkeypatch.setattr(plugins, "_default", pm)
    return pm


def test_registered_as_martini3(plugin_manager):
    from mdzoom.plugins.martini.mapping import MappingScheme

    assert isinstance(plugin_manager.registry.get_mapping("martini3"), MappingScheme)


def test_cli_map(tmp_path, plugin_manager, capsys):
    from mdzoom.core.cli import main

    rc = main(["map", "-c", str(DATA / "popc_patch.gro"), "-p", str(DATA / "popc_patch.top"),
               "--to", "martini3", "-o", str(tmp_path / "cg.gro"),
               "-t", str(tmp_path / "cg.top")])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "mapped 8047 atoms to 703 martini3 beads" in out.out
    assert "3 water molecule(s) left out" in out.err
    assert (tmp_path / "cg.gro").is_file() and "[ molecules ]" in (tmp_path / "cg.top").read_text()
    rc = main(["map", "-c", str(DATA / "popc_patch.gro"), "-p", str(DATA / "popc_patch.top"),
               "--to", "martini2"])
    assert rc == 1 and "unknown mapping 'martini2'" in capsys.readouterr().err
