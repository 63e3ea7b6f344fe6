"""Proteins: split a molecule into residues along its backbone and match each residue.

A connected all-atom part that no molecule definition maps is tried as a protein:

1. **Peptide bonds by pattern, not names.** A bond C–N is a peptide bond when C is a
   carbonyl carbon (it holds an oxygen with no other heavy neighbour) and N has another
   carbon neighbour (Cα) that holds a carbonyl carbon of its own. Side-chain amides
   (Asn, Gln: the N has no second heavy neighbour) and Arg's guanidinium are not cut.
   Disulfide bonds (S–S) are cut too and kept for the CG topology.
2. **Residues by isomorphism.** Each piece (heavy atoms, labelled by element and, for
   carbons only, the number of bonded hydrogens) is matched to the scheme's residue
   definitions (``kind = "residue"``). Hydrogens on N, O and S are not compared, so
   protonation states and tautomers (HIS δ/ε/both, ASP/GLU/LYS/ARG/CYS neutral or
   charged) and the NH3+ / NH2 of an N-terminus match the same definition. A C-terminal
   carboxylate's second oxygen (OXT; COO⁻ or COOH) is recognised as an extra oxygen on
   the backbone carbonyl: it joins the backbone bead with the weight of O.
3. **Symmetric side chains** (Phe/Tyr ring flips, Asp/Glu carboxylate oxygens, ...): of
   the equivalent isomorphisms the one that agrees most with the atom names (labels are
   CHARMM/AMBER-like names) is taken, so the output is deterministic and equals
   martinize2's when names are standard; otherwise any of them is equally valid.

Bead positions follow martinize2 (vermouth ``martini3001``): the centre of mass of the
bead's atoms, hydrogens on carbon excluded (weight 0: the ``!`` entries of vermouth's
mapping files) and hydrogens on N, O, S counted with their heavy atom.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from networkx.algorithms import isomorphism

__all__ = ["ProteinDefinition", "ResidueMatch", "match_protein"]


@dataclass
class ResidueMatch:
    """One matched residue of a chain.

    Attributes
    ----------
    definition : MappingDefinition (kind ``"residue"``)
    atoms : dict[int, int]
        Definition node → topology node (heavy atoms).
    oxt : int or None
        Topology node of a C-terminal second carboxylate oxygen.
    charge : float
        Sum of the all-atom charges of the residue's atoms (hydrogens included) [e].
    hydrogens : dict[int, int]
        Definition node → number of hydrogens bonded in the all-atom input.
    first_bead : int
        Index of its BB bead in the CG molecule.
    """

    definition: object
    atoms: dict
    oxt: int | None
    charge: float
    hydrogens: dict
    first_bead: int = 0

    @property
    def name(self):
        return self.definition.name


@dataclass
class ProteinDefinition:
    """A CG protein molecule made from matched residues (plays the part of a
    ``MappingDefinition`` for the scheme's assembly)."""

    name: str
    cg_molecule: str
    itp: str
    beads: list
    bead_resnames: list
    bead_resids: list
    residues: list
    disulfides: list = field(default_factory=list)   # (residue index, residue index)
    chain_starts: list = field(default_factory=list)  # residue index where a chain starts
    center: str = "mass"
    cluster: int = 1
    charge: float | None = None
    bead_types: dict = field(default_factory=dict)
    kind: str = "protein"
    itp_text: str | None = None
    secondary_structure: str | None = None   # Martini classes used for itp_text

    @property
    def cg_resname(self):
        return self.bead_resnames[0]

    @property
    def n_residues(self):
        return len(self.residues)

    @property
    def sequence(self):
        return [r.name for r in self.residues]


def _label(el, nh):
    return (el, nh if el == "C" else 0)


def _carbonyl_carbons(hg, el):
    out = set()
    for n in hg:
        if el[n] == "C" and any(el[m] == "O" and hg.degree(m) == 1 for m in hg[n]):
            out.add(n)
    return out


def peptide_bonds(hg, el):
    """(C, N) peptide bonds of a heavy-atom graph ``hg`` with elements ``el``."""
    carbonyl = _carbonyl_carbons(hg, el)
    bonds = []
    for c in carbonyl:
        for n in hg[c]:
            if el[n] != "N":
                continue
            if any(el[ca] == "C" and ca != c and any(c2 != c and c2 in carbonyl
                                                     for c2 in hg[ca])
                   for ca in hg[n]):
                bonds.append((c, n))
    return bonds


class _ResidueIndex:
    def __init__(self, residues):
        self.residues = list(residues)
        self.by_key = {}
        self.graphs = {}
        for d in self.residues:
            g = nx.Graph(d.graph)
            for n, a in d.graph.nodes(data=True):
                g.nodes[n]["lab"] = _label(a["element"], a["n_h"])
            self.graphs[d.name] = g
            key = frozenset(Counter(nx.get_node_attributes(g, "lab").values()).items())
            self.by_key.setdefault(key, []).append(d)

    def match(self, rg, names):
        """Best (definition, mapping def node → topology node) for a residue graph."""
        key = frozenset(Counter(nx.get_node_attributes(rg, "lab").values()).items())
        for d in self.by_key.get(key, []):
            gm = isomorphism.GraphMatcher(rg, self.graphs[d.name],
                                          node_match=lambda a, b: a["lab"] == b["lab"])
            best, best_score = None, -1
            for k, iso in enumerate(gm.isomorphisms_iter()):
                score = sum(names.get(t, "") == d.graph.nodes[dn]["label"]
                            for t, dn in iso.items())
                if score > best_score:
                    best, best_score = iso, score
                if k >= 63:
                    break
            if best is not None:
                return d, {dn: t for t, dn in best.items()}
        return None, None


def match_protein(g, comp, heavy, elements, owner, residue_index, name):
    """Try to map a connected part as a protein.

    Parameters
    ----------
    g : networkx.Graph
        The molecule type's graph (``name``, ``charge``, ``mass`` attributes).
    comp : list[int]
        The part's nodes (hydrogens included), sorted.
    heavy : list[int]
    elements : dict[int, str]
    owner : dict[int, int]
        Hydrogen → its heavy atom.
    residue_index : _ResidueIndex
    name : str
        CG molecule name to give it.

    Returns
    -------
    (ProteinDefinition, weights (n_beads, len(comp))) or (None, reasons)
    """
    hg = g.subgraph(heavy).copy()
    el = {n: elements[n] for n in heavy}
    nh = Counter(owner.values())
    bonds = peptide_bonds(hg, el)
    if not bonds:
        return None, ["not a protein: no peptide bond (C(=O)–N–C–C(=O)) found"]
    cut = hg.copy()
    cut.remove_edges_from(bonds)
    ss = [(u, v) for u, v in cut.edges if el[u] == "S" and el[v] == "S"]
    cut.remove_edges_from(ss)
    pieces = [sorted(c) for c in nx.connected_components(cut)]
    res_of = {n: i for i, p in enumerate(pieces) for n in p}
    # chain order: follow peptide bonds from residues no peptide bond points to
    nxt = {}
    has_prev = set()
    for c, n in bonds:
        a, b = res_of[c], res_of[n]
        if a in nxt or b in has_prev or a == b:
            return None, [f"not a linear chain: residue of atom "
                          f"{g.nodes[c].get('name', c)} has several peptide bonds"]
        nxt[a] = b
        has_prev.add(b)
    starts = sorted((i for i in range(len(pieces)) if i not in has_prev),
                    key=lambda i: pieces[i][0])
    order, chain_starts = [], []
    for s in starts:
        chain_starts.append(len(order))
        i = s
        while i is not None:
            order.append(i)
            i = nxt.get(i)
    if len(order) != len(pieces):
        return None, ["not a linear chain: the peptide bonds form a ring"]
    names = {n: str(g.nodes[n].get("name", "")) for n in comp}
    matches, reasons = [], []
    for i in order:
        rg = nx.Graph(hg.subgraph(pieces[i]))
        for n in rg:
            rg.nodes[n]["lab"] = _label(el[n], nh[n])
        d, atoms = residue_index.match(rg, names)
        oxt = None
        if d is None:
            # a C-terminal carboxylate: drop one of two terminal oxygens on a carbon
            for c in pieces[i]:
                ox = sorted(m for m in rg[c] if el[m] == "O" and rg.degree(m) == 1)
                if el[c] != "C" or len(ox) != 2:
                    continue
                drop = max(ox, key=lambda o: (names[o] in ("OXT", "OC2", "O2"), o))
                d, atoms = residue_index.match(rg.subgraph(set(rg) - {drop}), names)
                if d is not None and atoms[d.backbone[2]] == c:
                    oxt = drop
                    break
                d = None
        if d is None:
            first = pieces[i][0]
            reasons.append(
                f"residue {g.nodes[first].get('resname', '?')} "
                f"{g.nodes[first].get('resid', '?')} (atoms "
                f"{' '.join(names[n] for n in pieces[i])}): no residue definition matches "
                f"(tried {', '.join(r.name for r in residue_index.residues)})")
            continue
        members = set(pieces[i]) | {h for h, hv in owner.items() if hv in set(pieces[i])}
        charge = sum(float(g.nodes[n].get("charge", 0.0)) for n in members)
        hyd = {dn: nh[t] for dn, t in atoms.items()}
        matches.append(ResidueMatch(d, atoms, oxt, charge, hyd))
    if reasons:
        return None, reasons[:5] + ([f"... and {len(reasons) - 5} more"]
                                    if len(reasons) > 5 else [])
    beads, resnames, resids = [], [], []
    for k, r in enumerate(matches):
        r.first_bead = len(beads)
        beads += r.definition.beads
        resnames += [r.definition.cg_resname] * len(r.definition.beads)
        resids += [k + 1] * len(r.definition.beads)
    res_of_atom = {}
    for k, r in enumerate(matches):
        for t in r.atoms.values():
            res_of_atom[t] = k
    disulfides = sorted(tuple(sorted((res_of_atom[u], res_of_atom[v]))) for u, v in ss)
    pdef = ProteinDefinition(name=name, cg_molecule=name, itp=f"{name}.itp", beads=beads,
                             bead_resnames=resnames, bead_resids=resids, residues=matches,
                             disulfides=disulfides, chain_starts=chain_starts)
    # weights
    pos = {n: i for i, n in enumerate(comp)}
    hyd_of = {}
    for h, hv in owner.items():
        hyd_of.setdefault(hv, []).append(h)
    w = np.zeros((len(beads), len(comp)))
    for r in matches:
        d = r.definition
        for b, bw in enumerate(d.weights):
            row = r.first_bead + b
            for dn, share in bw.items():
                t = r.atoms[dn]
                extra = [r.oxt] if (r.oxt is not None and dn == d.backbone[3]) else []
                for a in [t] + extra:
                    w[row, pos[a]] += share
                    if dn not in d.h_excluded:
                        for h in hyd_of.get(a, []):
                            w[row, pos[h]] += share
    w *= np.array([float(g.nodes[n].get("mass", 1.0)) for n in comp])[None, :]
    w /= w.sum(axis=1, keepdims=True)
    return pdef, w
