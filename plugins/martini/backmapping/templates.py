"""Backmapping templates: per-bead all-atom fragments in a local bead frame.

A template belongs to one CG molecule (``POPC``, ``W``, ``NA`` …) and one all-atom force
field (``charmm36``). It is *derived*, not written by hand: from one reference all-atom
structure of the molecule and the forward mapping definition (``mapping/data``), by
``derive_template``. Atoms are keyed by the definition's heavy-atom labels (``C21``) and,
for hydrogens, ``LABEL:Hk`` (the k-th hydrogen of that heavy atom, in topology order), so
a template fits any all-atom topology whose molecule matches the definition's graph —
atom names are never used. The format is in ``data/README.md``.

Frame construction (per bead ``b`` at position ``B``)
-----------------------------------------------------
The *reference beads* of ``b`` are the beads within ``FRAME_HOPS`` bonds of it in the
bead graph (two beads are bonded when they share a heavy atom or hold two bonded heavy
atoms). The local frame has its origin at ``B``; x points to the first reference bead
(lowest bead index at the smallest hop count), y lies in the plane of the first two that
are not collinear, z = x × y. The template stores, in that frame, the reference beads'
positions (``ref``) and the atoms owned by ``b`` (``atoms[*].xyz``; an atom split between
beads belongs to the one with the larger weight, the first on a tie; hydrogens follow
their heavy atom). Placement fits the stored ``ref`` onto the actual neighbour beads by
a weighted rotation about ``B`` (Kabsch; weight 1/hops), which needs no explicit frame
and stays defined when the neighbours are nearly collinear.

Rigid ring systems
------------------
A fused ring system (``rigid_units``: a ring block of the heavy-atom graph with its
one-atom substituents — methyls, hydroxyl and carbonyl O) whose atoms fill three or more
beads is placed as one rigid body instead: one weighted Kabsch fit with translation of
the stored bead centres (``rigid[*].ref_xyz``) onto the actual ones, applied to all its
atoms (``rigid[*].xyz``). A proper rotation cannot invert a stereocentre, and one fit
over many beads averages out the scatter of the individual beads, where bead-by-bead
placement rotates each bead's atoms on its own and breaks the ring bonds between them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ..mapping.definitions import MappingDefinition, MappingError
from ..mapping.matching import _heavy_labels, element_of

__all__ = ["BackmapTemplate", "derive_template", "save_template", "load_template",
           "load_templates", "bead_graph", "match_labels", "stereo_bonds", "stereo_states",
           "stereocentres", "rigid_units", "TEMPLATE_DIR", "FRAME_HOPS"]

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
FRAME_HOPS = 3


@dataclass
class BackmapTemplate:
    """All-atom fragments of one CG molecule (see module docstring).

    Attributes
    ----------
    cg_molecule : str          CG [ moleculetype ] name
    definition : str           name of the forward mapping definition (``POPC``, ``water``)
    forcefield : str           all-atom force field the geometry comes from
    beads : list[str]
    cluster : int              AA molecules per bead (4 for water)
    ref : list[(list[int], (m, 3) array)]   per bead: reference bead indices, their
        positions in the bead frame [nm]
    ref_hops : list[list[int]]
    labels : list[str]         atom keys (``C21``, ``C21:H1``)
    elements : list[str]
    owner : (n,) int           bead each atom is placed from
    local : (n, 3) float       atom position in its bead's frame [nm]
    chiral : list[(centre, a, b, c, sign)]   labels; sign of det(a−x, b−x, c−x): every
        stereocentre (``stereocentres``); a, b, c are its heavy neighbours but the one
        that repair moves (its H, else its smallest non-ring branch)
    double_bonds : list[(a, b, c, d, "cis"|"trans")]   torsion a–b=c–d about each
        non-ring double bond (``stereo_bonds``), its form in the reference structure
    amide_bonds : list[(a, b, c, d, "cis"|"trans")]    torsion a–C(=O)–N–d about each
        amide (peptide) bond, its form in the reference structure
    rigid : list[(list[int], (k, 3) array, list[str], (m, 3) array)]   per rigid ring
        system (``rigid_units``): its beads, their centres and its atoms' keys and
        positions, both about the beads' centroid [nm]
    source : str
    """

    cg_molecule: str
    definition: str
    forcefield: str
    beads: list
    cluster: int
    ref: list
    ref_hops: list
    labels: list
    elements: list
    owner: np.ndarray
    local: np.ndarray
    chiral: list = field(default_factory=list)
    double_bonds: list = field(default_factory=list)
    amide_bonds: list = field(default_factory=list)
    rigid: list = field(default_factory=list)
    source: str = ""

    @property
    def n_atoms(self):
        return len(self.labels)

    @property
    def stereo(self):
        """Every torsion whose cis/trans form is kept: ``(a, b, c, d, form, kind)`` with
        kind ``"double"`` or ``"amide"``."""
        return [(*r, "double") for r in self.double_bonds] + \
            [(*r, "amide") for r in self.amide_bonds]


def bead_graph(d: MappingDefinition) -> nx.Graph:
    """Beads bonded when they share a heavy atom or hold two bonded heavy atoms."""
    g = nx.Graph()
    g.add_nodes_from(range(len(d.beads)))
    holders = {}
    for b, w in enumerate(d.weights):
        for a in w:
            holders.setdefault(a, []).append(b)
    for hs in holders.values():
        for i in hs:
            for j in hs:
                if i < j:
                    g.add_edge(i, j)
    for u, v in d.graph.edges:
        for i in holders[u]:
            for j in holders[v]:
                if i != j:
                    g.add_edge(i, j)
    return g


def match_labels(graph, comp, d: MappingDefinition):
    """Definition label → local particle index for a molecule-type component ``comp``
    that matches ``d`` (heavy atoms by VF2 on (element, n_H), hydrogens as
    ``LABEL:Hk``); None when it does not match."""
    from networkx.algorithms import isomorphism

    parsed, _ = _heavy_labels(graph, comp, "count")
    if parsed is None:
        return None
    heavy, labels, owner, _ = parsed
    if sorted(labels.values()) != sorted((a["element"], a["n_h"])
                                         for _, a in d.graph.nodes(data=True)):
        return None
    hg = nx.Graph()
    for n in heavy:
        hg.add_node(n, lab=labels[n])
    hg.add_edges_from(graph.subgraph(heavy).edges)
    dg = nx.Graph(d.graph)
    nx.set_node_attributes(dg, {n: (a["element"], a["n_h"]) for n, a in
                                d.graph.nodes(data=True)}, "lab")
    gm = isomorphism.GraphMatcher(hg, dg, node_match=lambda a, b: a["lab"] == b["lab"])
    if not gm.is_isomorphic():
        return None
    out = {}
    for an, dn in gm.mapping.items():
        lab = d.graph.nodes[dn]["label"]
        out[lab] = an
        hs = sorted(h for h, o in owner.items() if o == an)
        for k, h in enumerate(hs, 1):
            out[f"{lab}:H{k}"] = h
    return out


def _frame(vectors):
    """Rows x, y, z of the local frame from reference vectors (first non-collinear)."""
    x = vectors[0] / np.linalg.norm(vectors[0])
    for v in vectors[1:]:
        y = v - (v @ x) * x
        if np.linalg.norm(y) > 1e-3 * np.linalg.norm(v):
            y /= np.linalg.norm(y)
            return np.array([x, y, np.cross(x, y)])
    a = np.array([1.0, 0, 0]) if abs(x[0]) < 0.9 else np.array([0, 1.0, 0])
    y = a - (a @ x) * x
    y /= np.linalg.norm(y)
    return np.array([x, y, np.cross(x, y)])


def _signed_volume(xc, xa, xb, xd):
    return float(np.linalg.det(np.array([xa - xc, xb - xc, xd - xc])))


def derive_template(d: MappingDefinition, mt, positions, *, forcefield, source=""):
    """Make a template from one reference molecule.

    Parameters
    ----------
    d : MappingDefinition          forward mapping of the molecule
    mt : mdzoom.core.topology.MoleculeType   its all-atom molecule type
    positions : (n_atoms, 3) [nm]  one whole molecule (or, for ``cluster`` > 1, one
        molecule of the cluster, e.g. one water)
    forcefield : str
    """
    x = np.asarray(positions, dtype=np.float64)
    g = mt.graph
    comp = sorted(n for n in g.nodes if float(g.nodes[n].get("mass", 1.0)) > 0)
    lab2idx = match_labels(g, comp, d)
    if lab2idx is None:
        raise MappingError(f"molecule type {mt.name!r} does not match definition {d.name}")
    labels = list(lab2idx)
    idx = np.array([lab2idx[k] for k in labels])
    elements = [element_of(g.nodes[i]) for i in idx]
    dlab = {a["label"]: n for n, a in d.graph.nodes(data=True)}
    owner = []
    for k in labels:
        w = d.weights
        node = dlab[k.split(":")[0]]
        shares = [w[b].get(node, 0.0) for b in range(len(d.beads))]
        owner.append(int(np.argmax(shares)))
    owner = np.array(owner)
    # bead centres exactly as the forward mapping puts them
    centres = _bead_centres(d, mt, lab2idx, x)
    if d.cluster > 1:
        centres = np.array([x[idx].mean(axis=0)])        # one molecule of the cluster
    bg = bead_graph(d)
    ref, ref_hops = [], []
    local = np.zeros((len(labels), 3))
    for b in range(len(d.beads)):
        hops = nx.single_source_shortest_path_length(bg, b, cutoff=FRAME_HOPS)
        others = sorted((h, j) for j, h in hops.items() if j != b)
        beads = [j for _, j in others]
        vec = centres[beads] - centres[b]
        rot = _frame(vec) if len(beads) else np.eye(3)
        ref.append((beads, vec @ rot.T))
        ref_hops.append([h for h, _ in others])
        mine = owner == b
        local[mine] = (x[idx[mine]] - centres[b]) @ rot.T
    chiral = []
    for centre, names, _ in stereocentres(d.graph):
        s = _signed_volume(x[lab2idx[centre]], *(x[lab2idx[m]] for m in names))
        chiral.append((centre, *names, 1 if s > 0 else -1))
    rigid = []
    for beads, atoms in rigid_units(d):
        keys = [k for k in labels if k.split(":")[0] in atoms]
        c0 = centres[beads].mean(axis=0)
        rot = _frame(centres[beads] - c0)
        rigid.append((beads, (centres[beads] - c0) @ rot.T, keys,
                      (x[[lab2idx[k] for k in keys]] - c0) @ rot.T))
    lab_xyz = {k: x[i] for k, i in lab2idx.items()}
    states = stereo_states(d.graph, lab_xyz)
    double = [r[:5] for r in states if r[5] == "double"]
    amide = [r[:5] for r in states if r[5] == "amide"]
    return BackmapTemplate(cg_molecule=d.cg_molecule, definition=d.name,
                           forcefield=forcefield, beads=list(d.beads), cluster=d.cluster,
                           ref=ref, ref_hops=ref_hops, labels=labels, elements=elements,
                           owner=owner, local=local, chiral=chiral, double_bonds=double,
                           amide_bonds=amide, rigid=rigid, source=source)


def _equivalent(graph, centre, m1, m2):
    """True when an automorphism of ``graph`` (nodes labelled by element and H count)
    fixes ``centre`` and maps neighbour ``m1`` onto ``m2``: the two branches are the same
    constitution, so ``centre`` is no stereocentre."""
    from networkx.algorithms import isomorphism

    def marked(m):
        g = nx.Graph(graph)
        for n, a in graph.nodes(data=True):
            g.nodes[n]["key"] = (a["element"], a.get("n_h", 0), n == centre, n == m)
        return g

    gm = isomorphism.GraphMatcher(marked(m1), marked(m2),
                                  node_match=lambda a, b: a["key"] == b["key"])
    return gm.is_isomorphic()


def _branch(graph, centre, m):
    """Heavy atoms reached from neighbour ``m`` without passing ``centre`` — None when
    that reaches the centre's other neighbours too (the bond is in a ring)."""
    g = nx.Graph(graph)
    g.remove_node(centre)
    comp = nx.node_connected_component(g, m)
    if any(o in comp for o in graph[centre] if o != m):
        return None
    return comp


def stereocentres(graph):
    """Tetrahedral stereocentres of a definition's heavy-atom graph.

    A centre is an sp3 carbon (four neighbours, hydrogens included, at most one of them
    H) whose heavy neighbours lead into pairwise different branches: no automorphism of
    the graph (elements, H counts) fixes it and swaps two of them. This takes ring-fusion
    carbons with no H (cholesterol's C10, C13) and leaves out prochiral ones (the C25 of
    an iso-propyl end, whose two methyls are alike).

    Returns
    -------
    list[(centre, (a, b, c), moved)]   labels, in graph order. ``moved`` is the
        substituent that ``fix_chirality`` puts back on the other side — the H, or with
        four heavy neighbours the one heading the smallest branch that is not in a ring
        (a methyl), None when all four bonds are ring bonds; a, b, c are the other
        three heavy neighbours, sorted by label.
    """
    nodes = graph.nodes

    def lab(n):
        return str(nodes[n]["label"])

    out = []
    for n, a in graph.nodes(data=True):
        nh = int(a.get("n_h", 0))
        nb = sorted(graph[n], key=lab)
        if a["element"] != "C" or nh > 1 or len(nb) + nh != 4:
            continue
        if any(nodes[m1]["element"] == nodes[m2]["element"] and
               _equivalent(graph, n, m1, m2) for i, m1 in enumerate(nb) for m2 in nb[i + 1:]):
            continue
        if nh == 1:
            out.append((lab(n), tuple(lab(m) for m in nb), f"{lab(n)}:H1"))
            continue
        sizes = [(len(b), lab(m), m) for m in nb if (b := _branch(graph, n, m)) is not None]
        moved = min(sizes)[2] if sizes else None
        rest = [m for m in nb if m != moved][:3]
        out.append((lab(n), tuple(lab(m) for m in rest),
                    lab(moved) if moved is not None else None))
    return out


def rigid_units(d: MappingDefinition, min_beads=3):
    """Ring systems placed as one rigid body: ``[(beads, heavy-atom labels)]``.

    A unit is a ring block of the definition's heavy-atom graph (a biconnected component
    with a cycle; blocks sharing an atom — spiro rings — merged) plus the heavy atoms
    bonded only to it (methyls, OH, =O). Its beads are those holding at least half of
    their heavy-atom weight in the unit; a unit with fewer than ``min_beads`` such beads
    (nothing to fit a rotation on) is left to bead-by-bead placement.
    """
    g = d.graph
    blocks = [set(b) for b in nx.biconnected_components(g) if len(b) > 2]
    merged = []
    for b in blocks:
        for m in [m for m in merged if m & b]:
            b |= m
            merged.remove(m)
        merged.append(b)
    out = []
    for atoms in merged:
        atoms = set(atoms)
        atoms |= {m for n in list(atoms) for m in g[n] if m not in atoms and g.degree(m) == 1}
        beads = [b for b, w in enumerate(d.weights)
                 if w and sum(v for k, v in w.items() if k in atoms) >= 0.5 * sum(w.values())]
        if len(beads) >= min_beads:
            out.append((beads, {g.nodes[n]["label"] for n in atoms}))
    return out


# Valences of the atoms that can carry a double bond in the graph criterion below.
_VALENCE = {"C": 4, "N": 3, "O": 2}


def stereo_bonds(graph):
    """Torsions whose cis/trans form must be kept, from a heavy-atom graph.

    ``graph`` is a mapping definition's molecule graph: heavy atoms with ``label``,
    ``element`` and ``n_h`` (bonded hydrogens). The graph has no bond orders, so they
    are inferred:

    - An atom is *unsaturated* when it is C, N or O and its valence (4, 3, 2) exceeds its
      number of neighbours (heavy + H) by exactly one (sp2 C with 3 neighbours, carbonyl
      O, imine N). Double bonds are a maximum matching of the unsaturated atoms along
      their bonds (Kekulé assignment): in a conjugated chain C=C–C=O it pairs C=C and
      C=O, where the plain "both ends have 3 neighbours" test would also flag the single
      bond between them. P and S (hypervalent) are never unsaturated.
    - A **double bond** u=v gives a stereo torsion a–u=v–d when it is not in a ring (ring
      bonds cannot isomerise; aromatic rings have no unique Kekulé form) and both ends
      have another heavy neighbour; a and d are the ones with the smallest label.
    - An **amide (peptide) bond** is a C–N bond not in a ring whose C is double-bonded to
      an O and whose N is saturated with 3 neighbours (C(=O)–N(H)–Cα, also proline's
      N); torsion a–C–N–d with a the C's other heavy neighbour (Cα) and d the N's
      (Cα before Cδ by label).

    Returns
    -------
    list[(a, b, c, d, kind)]   labels, kind ``"double"`` or ``"amide"``, in graph order
    """
    nodes = graph.nodes

    def lab(n):
        return str(nodes[n]["label"])

    def n_nb(n):
        return graph.degree(n) + int(nodes[n].get("n_h", 0))

    unsat = [n for n in graph.nodes
             if nodes[n]["element"] in _VALENCE and _VALENCE[nodes[n]["element"]] - n_nb(n) == 1]
    sub = graph.subgraph(unsat)
    matched = {frozenset(e) for e in nx.max_weight_matching(sub, maxcardinality=True)}
    ring = {frozenset(e) for e in graph.edges} - {frozenset(e) for e in nx.bridges(graph)}
    partner = {}
    for e in matched:
        u, v = tuple(e)
        partner[u], partner[v] = v, u
    out = []
    for u, v in graph.edges:
        e = frozenset((u, v))
        if e in ring:
            continue
        if e in matched:
            ou = sorted((m for m in graph[u] if m != v), key=lab)
            ov = sorted((m for m in graph[v] if m != u), key=lab)
            if ou and ov:
                out.append((lab(ou[0]), lab(u), lab(v), lab(ov[0]), "double"))
            continue
        for c, n in ((u, v), (v, u)):
            if nodes[c]["element"] != "C" or nodes[n]["element"] != "N":
                continue
            o = partner.get(c)
            if o is None or nodes[o]["element"] != "O" or n in partner or n_nb(n) != 3:
                continue
            oc = sorted((m for m in graph[c] if m not in (o, n)), key=lab)
            on = sorted((m for m in graph[n] if m != c), key=lab)
            if oc and on:
                out.append((lab(oc[0]), lab(c), lab(n), lab(on[0]), "amide"))
    return out


def stereo_states(graph, xyz):
    """``stereo_bonds(graph)`` with the form each has in the geometry ``xyz``
    (``{label: (3,) [nm]}``, a whole molecule): ``(a, b, c, d, form, kind)``, form
    ``"cis"`` when |φ(a, b, c, d)| < 90°, else ``"trans"``."""
    out = []
    for a, b, c, d, kind in stereo_bonds(graph):
        phi = dihedral(*(np.asarray(xyz[k], dtype=float) for k in (a, b, c, d)))
        out.append((a, b, c, d, "cis" if abs(phi) < np.pi / 2 else "trans", kind))
    return out


def _bead_centres(d, mt, lab2idx, x):
    """Forward-mapping bead centres of one molecule (weights as the mapper's)."""
    g = mt.graph
    dlab = {a["label"]: n for n, a in d.graph.nodes(data=True)}
    out = np.zeros((len(d.beads), 3))
    for b, w in enumerate(d.weights):
        tot = 0.0
        acc = np.zeros(3)
        for key, i in lab2idx.items():
            node = dlab[key.split(":")[0]]
            if node in w:
                f = w[node] * (float(g.nodes[i].get("mass", 1.0)) if d.center == "mass"
                               else 1.0)
                acc += f * x[i]
                tot += f
        out[b] = acc / tot
    return out


def dihedral(a, b, c, d):
    """Dihedral angle [rad] of four points (…, 3), IUPAC sign."""
    b0, b1, b2 = a - b, c - b, d - c
    b1n = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
    v = b0 - np.sum(b0 * b1n, axis=-1, keepdims=True) * b1n
    w = b2 - np.sum(b2 * b1n, axis=-1, keepdims=True) * b1n
    xx = np.sum(v * w, axis=-1)
    yy = np.sum(np.cross(b1n, v) * w, axis=-1)
    return np.arctan2(yy, xx)


# ---------------------------------------------------------------------- files
def save_template(t: BackmapTemplate, path):
    """Write a template as JSON (format in ``data/README.md``), 4 decimals (1e-4 nm)."""
    r4 = lambda a: [round(float(v), 4) for v in a]      # noqa: E731
    data = {
        "cg_molecule": t.cg_molecule, "definition": t.definition,
        "forcefield": t.forcefield, "cluster": t.cluster, "source": t.source,
        "frame_hops": FRAME_HOPS,
        "beads": [{"name": name, "ref_beads": t.ref[b][0], "ref_hops": t.ref_hops[b],
                   "ref_xyz": [r4(v) for v in t.ref[b][1]]}
                  for b, name in enumerate(t.beads)],
        "atoms": [{"key": k, "element": e, "bead": int(o), "xyz": r4(v)}
                  for k, e, o, v in zip(t.labels, t.elements, t.owner, t.local)],
        "chiral": [list(c) for c in t.chiral],
        "double_bonds": [list(c) for c in t.double_bonds],
        "amide_bonds": [list(c) for c in t.amide_bonds],
    }
    if t.rigid:
        data["rigid"] = [{"beads": [int(b) for b in beads], "ref_xyz": [r4(v) for v in ref],
                          "atoms": list(keys), "xyz": [r4(v) for v in xyz]}
                         for beads, ref, keys, xyz in t.rigid]
    with open(path, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")


def load_template(path) -> BackmapTemplate:
    with open(path) as fh:
        data = json.load(fh)
    beads = data["beads"]
    atoms = data["atoms"]
    return BackmapTemplate(
        cg_molecule=data["cg_molecule"], definition=data["definition"],
        forcefield=data["forcefield"], beads=[b["name"] for b in beads],
        cluster=int(data.get("cluster", 1)),
        ref=[(list(b["ref_beads"]), np.array(b["ref_xyz"], dtype=float).reshape(-1, 3))
             for b in beads],
        ref_hops=[list(b["ref_hops"]) for b in beads],
        labels=[a["key"] for a in atoms], elements=[a["element"] for a in atoms],
        owner=np.array([a["bead"] for a in atoms], dtype=np.int64),
        local=np.array([a["xyz"] for a in atoms], dtype=float).reshape(-1, 3),
        chiral=[tuple(c) for c in data.get("chiral", [])],
        double_bonds=[tuple(c) for c in data.get("double_bonds", [])],
        amide_bonds=[tuple(c) for c in data.get("amide_bonds", [])],
        rigid=[(list(r["beads"]), np.array(r["ref_xyz"], dtype=float).reshape(-1, 3),
                list(r["atoms"]), np.array(r["xyz"], dtype=float).reshape(-1, 3))
               for r in data.get("rigid", [])],
        source=data.get("source", ""))


def load_templates(forcefield, folder=None) -> dict:
    """All templates of a force field: ``{cg_molecule: BackmapTemplate}`` from
    ``folder`` (default: the shipped ``data/<forcefield>/``)."""
    folder = folder or os.path.join(TEMPLATE_DIR, forcefield)
    if not os.path.isdir(folder):
        have = sorted(f for f in os.listdir(TEMPLATE_DIR)
                      if os.path.isdir(os.path.join(TEMPLATE_DIR, f)))
        raise MappingError(f"no backmapping templates for force field {forcefield!r}; "
                           f"available: {', '.join(have)} ({TEMPLATE_DIR})")
    out = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".json"):
            t = load_template(os.path.join(folder, f))
            out[t.cg_molecule] = t
    return out


def mapping_definitions(folder=None) -> dict:
    """``{name: MappingDefinition}`` of the molecule definitions of a mapping scheme
    folder (default: the Martini 3 one); files that are not molecule definitions are
    skipped."""
    from ..mapping.definitions import DATA_DIR, load_definition

    folder = folder or os.path.join(DATA_DIR, "martini3")
    out = {}
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".toml") or f == "scheme.toml":
            continue
        try:
            d = load_definition(os.path.join(folder, f))
        except MappingError:
            continue
        if d.kind == "molecule":
            out[d.name] = d
    return out
