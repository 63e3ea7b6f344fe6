"""Match all-atom molecules to mapping definitions by graph isomorphism.

Work is per molecule *type* of a ``Topology`` (one graph for all its copies). A type's
graph is split into connected components (a pdb2gmx "Other" type may hold many lipids);
each component is reduced to its heavy atoms labelled ``(element, n_H)`` and compared
with the definitions of the same composition (networkx VF2). Components that repeat with
the same atom order reuse the first answer, so matching costs one isomorphism per kind
of molecule, not per molecule.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import networkx as nx
import numpy as np
from networkx.algorithms import isomorphism

from .definitions import MappingDefinition, hill_formula

__all__ = ["Piece", "Unmatched", "plan_molecule_type", "element_of"]

# standard atomic masses [amu] to recognise elements when the topology has none
_MASSES = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "F": 18.998, "Na": 22.990,
           "Mg": 24.305, "P": 30.974, "S": 32.06, "Cl": 35.45, "K": 39.098, "Ca": 40.078,
           "Zn": 65.38, "Br": 79.904, "I": 126.904}


def element_of(attrs) -> str:
    """Element symbol of a topology node: its ``element`` attribute, else from its mass
    (nearest standard mass within 0.6 amu), else ``""``."""
    el = str(attrs.get("element", "") or "")
    if el:
        return el[0].upper() + el[1:].lower()
    mass = float(attrs.get("mass", 0.0) or 0.0)
    best = min(_MASSES, key=lambda e: abs(_MASSES[e] - mass))
    return best if abs(_MASSES[best] - mass) < 0.6 else ""


@dataclass
class Piece:
    """One connected part of a molecule type matched to a definition.

    Attributes
    ----------
    definition : MappingDefinition
    atoms : numpy.ndarray, (k,) int64
        Local particle indices (inside the molecule type) of the part, hydrogens
        included, virtual sites excluded.
    weights : numpy.ndarray, (n_beads, k) float64
        Rows sum to 1: bead b sits at ``weights[b] @ x[atoms]``.
    tree : numpy.ndarray, (k - 1, 2) int64
        (parent, child) pairs, indices into ``atoms``, in breadth-first order from
        ``atoms[0]``: following them makes the part whole across periodic boundaries.
    """

    definition: MappingDefinition
    atoms: np.ndarray
    weights: np.ndarray
    tree: np.ndarray


@dataclass
class Unmatched:
    """A connected part no definition maps: for the error message."""

    atoms: np.ndarray          # local indices
    names: list
    residues: list             # "RESNAME RESID" strings, unique, in order
    formula: str
    reasons: list              # one sentence per definition considered


def _heavy_labels(g, comp, hydrogens):
    """Heavy atoms of a component, their labels and attached hydrogens, or a reason."""
    elements = {n: element_of(g.nodes[n]) for n in comp}
    heavy = [n for n in comp if elements[n] != "H"]
    owner = {}
    for n in comp:
        if elements[n] == "H":
            hv = [m for m in g[n] if elements.get(m, "H") != "H"]
            if len(hv) != 1:
                return None, (f"hydrogen {g.nodes[n].get('name', n)} is bonded to "
                              f"{len(hv)} heavy atoms")
            owner[n] = hv[0]
    if not heavy:
        return None, "no heavy atom"
    unknown = [g.nodes[n].get("name", str(n)) for n in heavy if not elements[n]]
    if unknown:
        return None, f"element unknown for {', '.join(unknown[:5])}"
    nh = Counter(owner.values())
    labels = {n: (elements[n], nh[n] if hydrogens == "count" else 0) for n in heavy}
    return (heavy, labels, owner, elements), None


class _Index:
    """Definitions by composition, for the cheap prefilter."""

    def __init__(self, definitions, hydrogens, residues=()):
        from .protein import _ResidueIndex

        self.hydrogens = hydrogens
        self.residues = _ResidueIndex(residues) if residues else None
        self.by_key = {}
        self.definitions = list(definitions)
        for d in self.definitions:
            self.by_key.setdefault(self.key_of_definition(d), []).append(d)

    def key_of_definition(self, d):
        if self.hydrogens == "count":
            return frozenset(d.composition.items())
        return frozenset(d.elements.items())

    @staticmethod
    def key_of_labels(labels):
        return frozenset(Counter(labels.values()).items())


def plan_molecule_type(mt, definitions, *, hydrogens="count", cache=None):
    """Split a molecule type into matched ``Piece`` s and ``Unmatched`` parts.

    Parameters
    ----------
    mt : mdzoom.core.topology.MoleculeType
    definitions : list[MappingDefinition] or _Index
    hydrogens : "count" | "ignore"
        Match heavy atoms by element and attached hydrogens (default), or by element
        only (united-atom inputs).
    cache : dict, optional
        Shared between calls: parts with identical labels and bonds reuse one match.

    Returns
    -------
    (pieces, unmatched) : (list[Piece], list[Unmatched]), pieces in the order of their
    first atom.
    """
    index = definitions if isinstance(definitions, _Index) else _Index(definitions, hydrogens)
    cache = {} if cache is None else cache
    g = mt.graph
    real = [n for n in g.nodes if float(g.nodes[n].get("mass", 1.0)) > 0.0]
    sub = g.subgraph(real)
    comps = sorted((sorted(c) for c in nx.connected_components(sub)), key=lambda c: c[0])
    pieces, unmatched = [], []
    n_protein = 0
    for comp in comps:
        name = mt.name if n_protein == 0 else f"{mt.name}_{n_protein + 1}"
        result = _match_component(g, comp, index, hydrogens, cache, name)
        if isinstance(result, Piece):
            if getattr(result.definition, "kind", "") == "protein":
                n_protein += 1
            pieces.append(result)
        else:
            unmatched.append(result)
    return pieces, unmatched


def _signature(g, comp, hydrogens):
    pos = {n: i for i, n in enumerate(comp)}
    els = tuple(element_of(g.nodes[n]) for n in comp)
    edges = tuple(sorted((min(pos[u], pos[v]), max(pos[u], pos[v]))
                         for u, v in g.subgraph(comp).edges))
    charge = round(sum(float(g.nodes[n].get("charge", 0.0)) for n in comp), 3)
    masses = tuple(round(float(g.nodes[n].get("mass", 1.0)), 3) for n in comp)
    return (hydrogens, els, edges, charge, masses)


def _match_component(g, comp, index, hydrogens, cache, name="protein"):
    key = _signature(g, comp, hydrogens)
    hit = cache.get(key)
    if hit is not None:
        if isinstance(hit, Piece):
            # same labels and bonds in the same order: positions i ↔ i
            return Piece(hit.definition, np.asarray(comp, dtype=np.int64), hit.weights,
                         hit.tree)
        return Unmatched(np.asarray(comp), [g.nodes[n].get("name", str(n)) for n in comp],
                         _residues(g, comp), hit.formula, hit.reasons)
    result = _match_new(g, comp, index, hydrogens, name)
    cache[key] = result
    return result


def _residues(g, comp):
    seen = {}
    for n in comp:
        d = g.nodes[n]
        seen.setdefault(f"{d.get('resname', '?')} {d.get('resid', '?')}", None)
    return list(seen)


def _unmatched(g, comp, formula, reasons):
    return Unmatched(np.asarray(comp), [g.nodes[n].get("name", str(n)) for n in comp],
                     _residues(g, comp), formula, reasons)


def _match_new(g, comp, index, hydrogens, name="protein"):
    counts = Counter(element_of(g.nodes[n]) or "?" for n in comp)
    formula = hill_formula(counts)
    parsed, why = _heavy_labels(g, comp, hydrogens)
    if parsed is None:
        return _unmatched(g, comp, formula, [why])
    heavy, labels, owner, elements = parsed
    candidates = index.by_key.get(index.key_of_labels(labels), [])
    if not candidates:
        reasons = ["no definition has this composition; tried: " + ", ".join(
            f"{d.name} ({d.formula(hydrogens == 'count')})" for d in index.definitions)]
        if index.residues is not None and hydrogens == "count" and len(heavy) > 3:
            from .protein import match_protein

            pdef, result = match_protein(g, comp, heavy, elements, owner, index.residues,
                                         name)
            if pdef is not None:
                return _tree_piece(g, comp, pdef, result)
            reasons += result
        return _unmatched(g, comp, formula, reasons)
    hg = nx.Graph()
    for n in heavy:
        hg.add_node(n, lab=labels[n])
    hg.add_edges_from((u, v) for u, v in g.subgraph(heavy).edges)
    charge = sum(float(g.nodes[n].get("charge", 0.0)) for n in comp)
    reasons = []
    for d in candidates:
        if d.charge is not None and abs(charge - d.charge) > 0.5:
            reasons.append(f"{d.name}: same composition, but charge {charge:+.2f} e "
                           f"instead of {d.charge:+.0f} e")
            continue
        dlab = {n: (a["element"], a["n_h"] if hydrogens == "count" else 0)
                for n, a in d.graph.nodes(data=True)}
        dg = nx.Graph(d.graph)
        nx.set_node_attributes(dg, dlab, "lab")
        gm = isomorphism.GraphMatcher(hg, dg, node_match=lambda a, b: a["lab"] == b["lab"])
        if not gm.is_isomorphic():
            reasons.append(f"{d.name}: same composition, but the bonds differ")
            continue
        return _piece(g, comp, d, gm.mapping, owner)
    return _unmatched(g, comp, formula, reasons)


def _piece(g, comp, d, mapping, owner):
    """Weights and the make-whole tree for a component matched to ``d``."""
    pos = {n: i for i, n in enumerate(comp)}
    nb = len(d.beads)
    w = np.zeros((nb, len(comp)))
    of_def = {dn: an for an, dn in mapping.items()}
    for b, bead_w in enumerate(d.weights):
        for dn, share in bead_w.items():
            an = of_def[dn]
            w[b, pos[an]] += share
    for h, heavy in owner.items():
        w[:, pos[h]] = w[:, pos[heavy]]
    if d.center == "mass":
        w *= np.array([float(g.nodes[n].get("mass", 1.0)) for n in comp])[None, :]
    w /= w.sum(axis=1, keepdims=True)
    return _tree_piece(g, comp, d, w)


def _tree_piece(g, comp, d, w):
    pos = {n: i for i, n in enumerate(comp)}
    sub = g.subgraph(comp)
    tree = np.array([(pos[u], pos[v]) for u, v in nx.bfs_edges(sub, comp[0])],
                    dtype=np.int64).reshape(-1, 2)
    return Piece(d, np.asarray(comp, dtype=np.int64), w, tree)
