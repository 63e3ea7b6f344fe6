"""S_CD and CG bond P2: exact synthetic values, chain detection from the bond graph, and
the CHARMM36 POPC patch against a second, name-based implementation."""

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from mdzoom.core.analysis import acyl_chains, p2_bond_order, scd
from mdzoom.core.topology import MoleculeType, Topology

DATA = Path(__file__).resolve().parents[2] / "data" / "martini_mapping"


def _ester_molecule(with_elements=True):
    """CG–O–C1(=O)–C2H2–C3H2–C4H3 plus a methyl on the glycerol-side carbon."""
    g = nx.Graph()
    atoms = [("CG", "C"), ("OE", "O"), ("C1", "C"), ("O1", "O"), ("C2", "C"), ("C3", "C"),
             ("C4", "C"), ("H2A", "H"), ("H2B", "H"), ("H3A", "H"), ("H3B", "H"),
             ("H4A", "H"), ("H4B", "H"), ("H4C", "H")]
    mass = {"C": 12.011, "O": 15.999, "H": 1.008}
    for k, (name, el) in enumerate(atoms):
        attrs = dict(name=name, mass=mass[el])
        if with_elements:
            attrs["element"] = el
        g.add_node(k, **attrs)
    g.add_edges_from([(0, 1), (1, 2), (2, 3), (2, 4), (4, 5), (5, 6), (4, 7), (4, 8),
                      (5, 9), (5, 10), (6, 11), (6, 12), (6, 13)])
    return MoleculeType("EST", g)


def _positions(n_copies, box_edge=None):
    """Carbon 2: both C–H along ±z (S = 1); carbon 3: both in the xy plane (S = −0.5);
    carbon 4: one along z, two in-plane ((1 − 0.5 − 0.5)/3 = 0)."""
    b = 0.11
    local = np.zeros((14, 3))
    local[0] = [-0.3, 0, 0]
    local[1] = [-0.15, 0, 0]
    local[3] = [0, 0.12, 0]
    local[4] = [0.15, 0, 0]
    local[5] = [0.30, 0, 0]
    local[6] = [0.45, 0, 0]
    local[7] = local[4] + [0, 0, b]
    local[8] = local[4] - [0, 0, b]
    local[9] = local[5] + [0, b, 0]
    local[10] = local[5] + [b * 0.6, -b * 0.8, 0]
    local[11] = local[6] + [0, 0, -b]
    local[12] = local[6] + [b, 0, 0]
    local[13] = local[6] + [0, b, 0]
    pos = np.concatenate([local + [0.0, 0.0, 1.0 * k] for k in range(n_copies)])
    if box_edge is not None:
        pos = pos % box_edge                     # split molecules across the box
    return pos


def test_chain_detection_from_the_bond_graph():
    for with_elements in (True, False):            # elements, or masses only
        chains = acyl_chains(_ester_molecule(with_elements))
        assert len(chains) == 1
        assert chains[0]["label"] == "C1"
        assert chains[0]["names"] == ["C1", "C2", "C3", "C4"]
        assert [len(h) for h in chains[0]["hydrogens"]] == [0, 2, 2, 3]
    ketone = _ester_molecule()
    ketone.graph.remove_edge(0, 1)                 # O no longer bridges two carbons
    ketone.graph.add_edge(0, 2)
    assert acyl_chains(ketone) == []


def test_scd_exact_synthetic_values_and_minimum_image():
    mt = _ester_molecule()
    top = Topology([mt], [("EST", 3)])
    pos = _positions(3)
    res = scd(pos, top)
    (chain,) = res.chains
    assert res.quantity == "S_CD" and chain.label == "C1" and chain.molecule_type == "EST"
    assert chain.carbons == ["C2", "C3", "C4"]
    np.testing.assert_array_equal(chain.carbon_numbers, [2, 3, 4])
    np.testing.assert_allclose(chain.scd, [1.0, -0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(chain.scd_err, 0.0, atol=1e-12)
    # wrapped into a small periodic box: bond vectors take the minimum image
    wrapped = scd((_positions(3, box_edge=0.4), None, 0.4), top)
    np.testing.assert_allclose(wrapped.chains[0].scd, [1.0, -0.5, 0.0], atol=1e-12)
    # normal along x: C2's H perpendicular; C3's H at 90° and cos θ = 0.6; C4's along
    # −z, +x, +y
    along_x = scd(pos, top, normal=(2.0, 0, 0)).chains[0].scd
    np.testing.assert_allclose(along_x, [-0.5, 0.5 * (-0.5 + 1.5 * 0.36 - 0.5), 0.0],
                               atol=1e-12)
    # a MoleculeType with the copies' first atoms
    by_type = scd(pos, mt, molecules=[0, 14, 28])
    np.testing.assert_allclose(by_type.chains[0].scd, chain.scd)


def test_scd_averages_over_frames():
    top = Topology([_ester_molecule()], [("EST", 1)])
    a = _positions(1)
    b = a.copy()
    b[7] = b[4] + [0.11, 0, 0]                     # one H of C2 turns into the plane
    res = scd(np.stack([a, b]), top)
    assert res.n_frames == 2
    assert res.chains[0].scd[0] == pytest.approx((1.0 + 0.25) / 2)
    assert np.isnan(res.chains[0].scd_err[0])      # one molecule: no spread


def _load_popc():
    from mdzoom.core.gromacs import topology_from_gromacs
    from mdzoom.core.io import read_structure
    from mdzoom.core.io.top import read_top

    top = topology_from_gromacs(read_top(str(DATA / "popc_patch.top")))
    frame = read_structure(str(DATA / "popc_patch.gro"))
    return top, frame.positions, frame.box


def _scd_by_names(top, pos, box, carbon, hydrogens):
    """Second implementation: loop over POPC residues, look atoms up by name."""
    names = np.array(top.names)
    resnames = np.array(top.resnames)
    resids = top.resids
    edges = np.diag(box)
    vals = []
    for r in np.unique(resids[resnames == "POPC"]):
        sel = np.flatnonzero(resids == r)
        where = {names[i]: i for i in sel}
        per_h = []
        for h in hydrogens:
            if h not in where:
                continue
            v = pos[where[h]] - pos[where[carbon]]
            v -= np.round(v / edges) * edges
            per_h.append(1.5 * (v[2] / np.linalg.norm(v)) ** 2 - 0.5)
        vals.append(np.mean(per_h))
    return np.mean(vals)


def test_popc_patch_scd_profile():
    top, pos, box = _load_popc()
    res = scd((pos, None, box), top)
    assert [(c.label, len(c.carbons)) for c in res.chains] == [("C21", 17), ("C31", 15)]
    sn2, sn1 = res.chains
    assert sn1.carbons[0] == "C32" and sn1.carbons[-1] == "C316"
    assert sn1.n_molecules == 31
    # sn-1 (palmitoyl): negative everywhere, plateau C4–C8 ≈ −0.2 (CHARMM36 and
    # ²H NMR: |S_CD| ≈ 0.15–0.22; Seelig & Seelig 1977, Klauda et al. 2010)
    assert np.all(sn1.scd < 0)
    plateau = sn1.scd[2:7]                         # carbons 4..8
    assert -0.25 < plateau.mean() < -0.13
    # sn-2 (oleoyl) double-bond carbons C9 and C10 (one H each) are nearly disordered
    i9, i10 = sn2.carbons.index("C29"), sn2.carbons.index("C210")
    assert sn2.n_hydrogens[i9] == 1 and sn2.n_hydrogens[i10] == 1
    assert abs(sn2.scd[i9]) < 0.12 and abs(sn2.scd[i10]) < 0.12
    assert abs(sn2.scd[i9]) < abs(sn2.scd[2:7].mean())
    # cross-check against the name-based implementation
    for k in range(2, 17):
        hs = [f"H{k}X", f"H{k}Y", f"H{k}Z"]
        assert sn1.scd[k - 2] == pytest.approx(_scd_by_names(top, pos, box, f"C3{k}", hs),
                                               abs=1e-12)
    for k in range(2, 19):
        hs = [f"H{k}R", f"H{k}S", f"H{k}T", f"H{k}1"]
        assert sn2.scd[k - 2] == pytest.approx(_scd_by_names(top, pos, box, f"C2{k}", hs),
                                               abs=1e-12)


def test_p2_bond_order_of_cg_beads():
    g = nx.Graph()
    for k, name in enumerate(["PO4", "GL1", "C1A", "C2A"]):
        g.add_node(k, name=name, mass=72.0)
    g.add_edges_from([(0, 1), (1, 2), (2, 3)])
    lipid = MoleculeType("LIP", g)
    water = MoleculeType.single_particle("W", mass=72.0)
    top = Topology([lipid, water], [("W", 2), ("LIP", 2)])
    one = np.array([[0, 0, 3.0], [0.47, 0, 3.0], [0.47, 0, 2.53], [0.47, 0.3, 2.13]])
    pos = np.concatenate([np.zeros((2, 3)), one, one + [1.0, 1.0, 0.0]])
    res = p2_bond_order(pos, top)
    assert res.quantity == "P2 (CG bond order)" and "S_CD" in res.note
    assert res.labels == ["LIP:PO4-GL1", "LIP:GL1-C1A", "LIP:C1A-C2A"]
    np.testing.assert_allclose(res.p2, [-0.5, 1.0, 1.5 * 0.8 ** 2 - 0.5], atol=1e-12)
    assert res.bonds[1].beads == ("GL1", "C1A")
    only = p2_bond_order(pos, top, bonds=[("C2A", "C1A")])
    assert only.labels == ["LIP:C1A-C2A"]
    with pytest.raises(KeyError, match="available"):
        p2_bond_order(pos, top, molecules="POPC")
    with pytest.raises(ValueError, match="no ester-linked acyl chain"):
        scd(pos, top, molecules="LIP")
