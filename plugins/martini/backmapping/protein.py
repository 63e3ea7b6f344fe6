"""Proteins: CG → AA backmapping of Martini 3 chains, residue by residue.

A protein is not one template: its all-atom molecule type is split into residues by the
forward mapping's own matcher (``mapping.protein``: peptide bonds by pattern, residues by
graph isomorphism — names never matter), and each residue is built from

- **a backbone fragment** (N, Cα, C, O) chosen from a library cut from reference
  structures (helix, turns, β strand, polyproline II): the fragment whose stored
  neighbour BB beads (i−2, i−1, i+1, i+2, relative to BB i) fit the actual ones best
  (weighted Kabsch, weight 1 for i±1 and ½ for i±2; missing neighbours at chain ends
  get weight 0) is rotated onto them about BB i;
- **an ideal trans peptide unit** (Cα–C(=O)–N(–H)–Cα, averaged over the reference's
  peptide bonds) fitted onto each pair of consecutive Cα (weight 10) and the fragments'
  C, O, N (weight 1): it replaces C(i), O(i), N(i+1) and H(i+1), so every ω is trans
  (≈180°) by construction — the CG holds no cis information, and X–Pro bonds are built
  trans as well;
- **the residue template** (one reference residue per amino acid, ``ResidueTemplate``):
  rigidly fitted on the placed N, Cα, C it gives the Cα/N hydrogens and Cβ (so Cα has
  the reference's L handedness); every side-chain bead's atoms are rotated about the
  bead to fit the residue's other beads and the placed N, Cα, Cβ.

Hydrogens the user's topology has and the template lacks (N-terminal NH3+, Pro's NH2+,
neutral/charged variants, the C-terminal OXT and its H) are built from the heavy-atom
geometry (tetrahedral or trigonal); those the template has and the topology lacks (HIS
δ/ε tautomers against the doubly protonated template, disulfide Sγ) are left out. Then
every chiral centre (Cα, Thr/Ile Cβ, and the prochiral Val Cβ / Leu Cγ as the reference
names them) is checked by signed volume and repaired, and every peptide bond found
across residues (``peptide_torsions``: the generic amide detection of
``templates.stereo_bonds`` on each pair of consecutive residues) is checked and a cis
one rebuilt trans (``fix_peptide_bonds``). The relaxation holds them trans with the
torsion restraint of the lipids' double bonds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from ..mapping.definitions import MappingError
from ..mapping.matching import element_of
from .templates import TEMPLATE_DIR, dihedral, stereo_bonds

__all__ = ["ResidueTemplate", "ProteinTemplates", "ProteinPlan", "protein_plan",
           "derive_protein_templates", "save_protein_templates", "load_protein_templates",
           "place_protein", "peptide_omegas", "fix_peptide_bonds", "protein_chirality_ok",
           "fix_protein_chirality", "peptide_ok", "trans_unit",
           "CONTEXT"]

CONTEXT = (-2, -1, 1, 2)                # neighbour BB beads a backbone fragment fits
CONTEXT_WEIGHT = np.array([0.5, 1.0, 1.0, 0.5])
SC_WEIGHT = 1.0                         # own side-chain beads in the fragment refit
UNIT = ("CA1", "C", "O", "N", "H", "CA2")
H_BOND = {"C": 0.109, "N": 0.101, "O": 0.097, "S": 0.134}      # [nm] X–H bond lengths
SUBDIR = "aminoacids"


# ---------------------------------------------------------------- data classes
@dataclass
class ResidueTemplate:
    """One amino acid as found in the reference structure.

    Attributes
    ----------
    name : str                 residue definition (``HIS``); bead names ``beads``
    labels : list[str]         heavy-atom labels of the definition, ``LABEL:Hk`` for the
        k-th hydrogen of LABEL (topology order of the reference)
    elements : list[str]
    owner : (n,) int           bead holding each atom (hydrogens: their heavy atom's)
    xyz : (n, 3) [nm]          reference coordinates, Cα at the origin, x along Cα→C,
        N in the xy plane
    bead_xyz : (nb, 3) [nm]    the reference's bead centres (forward mapping), same frame
    chiral : list[(centre, a, b, c, sign)]   sign of det(a−x, b−x, c−x)
    """

    name: str
    beads: list
    labels: list
    elements: list
    owner: np.ndarray
    xyz: np.ndarray
    bead_xyz: np.ndarray
    chiral: list = field(default_factory=list)
    source: str = ""

    def index(self, label):
        return self.labels.index(label)


@dataclass
class ProteinTemplates:
    """The amino-acid templates of one force field.

    Attributes
    ----------
    residues : dict[str, ResidueTemplate]
    fragments : (F, 4, 3) [nm]   BB(i+k) − BB(i), k in ``CONTEXT``
    fragment_atoms : (F, 4, 3) [nm]   N, Cα, C, O − BB(i)
    unit : (6, 3) [nm]           ideal trans peptide unit ``UNIT`` (Cα1 at the origin)
    """

    forcefield: str
    residues: dict
    fragments: np.ndarray
    fragment_atoms: np.ndarray
    unit: np.ndarray
    source: str = ""


@dataclass
class ResiduePlan:
    name: str                  # residue definition name
    first_bead: int
    heavy: dict                # label → local topology index
    hydrogens: dict            # label → sorted local indices of its hydrogens
    oxt: int | None = None
    oxt_h: list = field(default_factory=list)


@dataclass
class ProteinPlan:
    """An all-atom protein molecule type matched residue by residue.

    Attributes
    ----------
    name : str
    definition : mapping.protein.ProteinDefinition   (beads, residues, chains)
    atoms : (k,) int, weights : (nb, k)   forward-mapping bead weights (bead restraints)
    residues : list[ResiduePlan]
    chains : list[list[int]]               residue indices of each chain
    peptide_torsions : (m, 4) int          Cα(i), C(i), N(i+1), Cα(i+1) (local indices)
    n_particles : int
    neighbours : dict[int, list[int]]      heavy neighbours of each heavy atom
    """

    name: str
    definition: object
    atoms: np.ndarray
    weights: np.ndarray
    residues: list
    chains: list
    peptide_torsions: np.ndarray
    n_particles: int
    neighbours: dict
    elements: list

    @property
    def beads(self):
        return list(self.definition.beads)

    @property
    def bead_resnames(self):
        return list(self.definition.bead_resnames)


# ---------------------------------------------------------------- matching
_INDEX = []


def _scheme_index():
    if not _INDEX:
        from ..mapping.definitions import DATA_DIR, load_scheme_data
        from ..mapping.matching import _Index

        data = load_scheme_data(os.path.join(DATA_DIR, "martini3"))
        _INDEX.append(_Index(data.definitions, "count", data.residues))
    return _INDEX[0]


def protein_plan(mt):
    """Match a molecule type as one protein; ``(ProteinPlan, None)`` or ``(None, why)``."""
    from ..mapping.matching import plan_molecule_type

    pieces, unmatched = plan_molecule_type(mt, _scheme_index())
    g = mt.graph
    real = [n for n in g.nodes if float(g.nodes[n].get("mass", 1.0)) > 0]
    if unmatched or len(pieces) != 1 or \
            getattr(pieces[0].definition, "kind", "") != "protein":
        why = "; ".join(r for u in unmatched for r in u.reasons[:2]) or \
            "not one protein molecule"
        return None, why
    piece = pieces[0]
    if len(piece.atoms) != len(real):
        return None, "the molecule type holds more than the protein"
    if len(real) != mt.n_particles:
        return None, "virtual sites are not placed by backmapping yet"
    pdef = piece.definition
    elements = [element_of(g.nodes[n]) for n in range(mt.n_particles)]
    owner = {}
    for n in g.nodes:
        if elements[n] == "H":
            hv = [m for m in g[n] if elements[m] != "H"]
            owner[n] = hv[0]
    hyd = {}
    for h, hv in sorted(owner.items()):
        hyd.setdefault(hv, []).append(h)
    residues = []
    for r in pdef.residues:
        d = r.definition
        heavy = {d.graph.nodes[dn]["label"]: int(t) for dn, t in r.atoms.items()}
        residues.append(ResiduePlan(
            name=d.name, first_bead=r.first_bead, heavy=heavy,
            hydrogens={lab: hyd.get(t, []) for lab, t in heavy.items()},
            oxt=None if r.oxt is None else int(r.oxt),
            oxt_h=[] if r.oxt is None else hyd.get(r.oxt, [])))
    starts = list(pdef.chain_starts) + [len(residues)]
    chains = [list(range(a, b)) for a, b in zip(starts, starts[1:])]
    neighbours = {n: [m for m in g[n] if elements[m] != "H"] for n in g.nodes
                  if elements[n] != "H"}
    plan = ProteinPlan(name=mt.name, definition=pdef, atoms=piece.atoms,
                       weights=piece.weights, residues=residues, chains=chains,
                       peptide_torsions=np.zeros((0, 4), np.int64),
                       n_particles=mt.n_particles, neighbours=neighbours,
                       elements=elements)
    plan.peptide_torsions = peptide_torsions(plan, g)
    return plan, None


def peptide_torsions(plan, graph):
    """Cα–C–N–Cα of every peptide bond, found across residues: ``stereo_bonds`` (the
    amide detection of the templates) on the heavy atoms of each pair of consecutive
    residues of a chain, keeping the amides whose C and N lie in different residues."""
    out = []
    for chain in plan.chains:
        for i, j in zip(chain, chain[1:]):
            g = nx.Graph()
            where = {}
            for k in (i, j):
                r = plan.residues[k]
                atoms = dict(r.heavy)
                if r.oxt is not None:
                    atoms["OXT"] = r.oxt
                for lab, t in atoms.items():
                    nh = sum(1 for m in graph[t] if plan.elements[m] == "H")
                    g.add_node(t, label=f"{k - i}:{lab}", element=plan.elements[t], n_h=nh)
                    where[f"{k - i}:{lab}"] = t
            g.add_edges_from((u, v) for u, v in graph.subgraph(list(g.nodes)).edges)
            for a, b, c, d, kind in stereo_bonds(g):
                if kind == "amide" and b[0] != c[0]:
                    out.append([where[a], where[b], where[c], where[d]])
    return np.array(out, dtype=np.int64).reshape(-1, 4)


# ---------------------------------------------------------------- derivation
def _kabsch_rot(p, q, w):
    """Rotation R (3, 3) with R p_i ≈ q_i (both already centred), weights w."""
    h = np.einsum("m,mi,mj->ij", w, p, q)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(vt.T @ u.T))
    return vt.T @ np.diag([1, 1, d]) @ u.T


def _superpose(p, q, w):
    """(R, t) with R p_i + t ≈ q_i (weighted, translation included)."""
    w = np.asarray(w, float)
    cp = (w[:, None] * p).sum(0) / w.sum()
    cq = (w[:, None] * q).sum(0) / w.sum()
    r = _kabsch_rot(p - cp, q - cq, w)
    return r, cq - r @ cp


def _residue_frame(xn, xca, xc):
    x = (xc - xca) / np.linalg.norm(xc - xca)
    y = (xn - xca) - ((xn - xca) @ x) * x
    y /= np.linalg.norm(y)
    return np.array([x, y, np.cross(x, y)])


def derive_protein_templates(references, *, forcefield, source=""):
    """Templates from reference proteins.

    Parameters
    ----------
    references : list[(MoleculeType, (n, 3) positions [nm])]   whole molecules
    forcefield : str

    One residue template per amino acid: the first residue of that kind that has
    neighbours on both sides and, among those, the most hydrogens (so His is HSP, Lys
    NH3+). Backbone fragments from every residue with two neighbours on each side; the
    peptide unit averaged over every non-Pro peptide bond.
    """
    chosen = {}
    frags, frag_atoms, units = [], [], []
    for mt, x in references:
        x = np.asarray(x, float)
        plan, why = protein_plan(mt)
        if plan is None:
            raise MappingError(f"reference {mt.name}: {why}")
        beads = plan.weights @ x[plan.atoms]
        for chain in plan.chains:
            for pos, i in enumerate(chain):
                r = plan.residues[i]
                bb = beads[r.first_bead]
                if 1 <= pos < len(chain) - 1:
                    nh = sum(len(v) for v in r.hydrogens.values())
                    if r.name not in chosen or nh > chosen[r.name][0]:
                        chosen[r.name] = (nh, plan, r, x, beads)
                if 2 <= pos < len(chain) - 2:
                    ctx = [beads[plan.residues[chain[pos + k]].first_bead] - bb for k in CONTEXT]
                    frags.append(ctx)
                    frag_atoms.append([x[r.heavy[a]] - bb for a in ("N", "CA", "C", "O")])
                if pos < len(chain) - 1:
                    s = plan.residues[chain[pos + 1]]
                    if s.name != "PRO" and s.hydrogens["N"]:
                        units.append([x[r.heavy["CA"]], x[r.heavy["C"]], x[r.heavy["O"]],
                                      x[s.heavy["N"]], x[s.hydrogens["N"][0]],
                                      x[s.heavy["CA"]]])
    residues = {}
    for name, (_, plan, r, x, beads) in sorted(chosen.items()):
        residues[name] = _residue_template(plan, r, x, beads, source)
    units = np.array(units)
    ref = units[0] - units[0, 0]
    aligned = []
    for u in units:
        rot, t = _superpose(u, ref, np.ones(6))
        aligned.append(u @ rot.T + t)
    unit = np.mean(aligned, axis=0)
    unit -= unit[0]
    ex = unit[5] / np.linalg.norm(unit[5])
    ey = unit[2] - (unit[2] @ ex) * ex
    ey /= np.linalg.norm(ey)
    unit = unit @ np.array([ex, ey, np.cross(ex, ey)]).T
    return ProteinTemplates(forcefield=forcefield, residues=residues,
                            fragments=np.array(frags), fragment_atoms=np.array(frag_atoms),
                            unit=unit, source=source)


def _residue_template(plan, r, x, beads, source):
    labels, idx = [], []
    for lab, t in r.heavy.items():
        labels.append(lab)
        idx.append(t)
        for k, h in enumerate(r.hydrogens[lab], 1):
            labels.append(f"{lab}:H{k}")
            idx.append(h)
    d = next(res.definition for res in plan.definition.residues
             if res.first_bead == r.first_bead)
    dlab = {a["label"]: n for n, a in d.graph.nodes(data=True)}
    owner = []
    for lab in labels:
        node = dlab[lab.split(":")[0]]
        owner.append(int(np.argmax([w.get(node, 0.0) for w in d.weights])))
    xyz = x[idx]
    ca = x[r.heavy["CA"]]
    rot = _residue_frame(x[r.heavy["N"]], ca, x[r.heavy["C"]])
    local = (xyz - ca) @ rot.T
    bead_xyz = (beads[r.first_bead:r.first_bead + len(d.beads)] - ca) @ rot.T
    chiral = []
    for n, a in d.graph.nodes(data=True):
        nb = sorted(d.graph[n], key=lambda m: d.graph.nodes[m]["label"])
        if a["n_h"] == 1 and len(nb) == 3 and a["element"] == "C":
            names = [d.graph.nodes[m]["label"] for m in nb]
            v = np.array([x[r.heavy[m]] - x[r.heavy[a["label"]]] for m in names])
            chiral.append((a["label"], *names, 1 if np.linalg.det(v) > 0 else -1))
    return ResidueTemplate(name=r.name, beads=list(d.beads), labels=labels,
                           elements=[plan.elements[i] for i in idx],
                           owner=np.array(owner), xyz=local, bead_xyz=bead_xyz,
                           chiral=chiral, source=source)


# ---------------------------------------------------------------- files
def _r4(a):
    return [round(float(v), 4) for v in np.ravel(a)]


def save_protein_templates(pt: ProteinTemplates, folder):
    """One JSON per residue (``<name>.json``) and ``backbone.json`` (fragments, unit)."""
    os.makedirs(folder, exist_ok=True)
    for name, t in pt.residues.items():
        data = {"residue": name, "forcefield": pt.forcefield, "source": t.source,
                "frame": "CA at the origin, x along CA->C, N in the xy plane [nm]",
                "beads": [{"name": b, "xyz": _r4(v)} for b, v in zip(t.beads, t.bead_xyz)],
                "atoms": [{"key": k, "element": e, "bead": int(o), "xyz": _r4(v)}
                          for k, e, o, v in zip(t.labels, t.elements, t.owner, t.xyz)],
                "chiral": [list(c) for c in t.chiral]}
        with open(os.path.join(folder, f"{name.lower()}.json"), "w") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
    data = {"forcefield": pt.forcefield, "source": pt.source, "context": list(CONTEXT),
            "unit_atoms": list(UNIT), "unit": [_r4(v) for v in pt.unit],
            "fragments": [{"context": [_r4(v) for v in c], "N_CA_C_O": [_r4(v) for v in a]}
                          for c, a in zip(pt.fragments, pt.fragment_atoms)]}
    with open(os.path.join(folder, "backbone.json"), "w") as fh:
        json.dump(data, fh, indent=0, separators=(",", ":"))
        fh.write("\n")


def load_protein_templates(forcefield, folder=None):
    """``ProteinTemplates`` from ``folder`` (default ``data/<forcefield>/aminoacids``);
    None when the folder does not exist."""
    folder = folder or os.path.join(TEMPLATE_DIR, forcefield, SUBDIR)
    path = os.path.join(folder, "backbone.json")
    if not os.path.isfile(path):
        return None
    with open(path) as fh:
        bb = json.load(fh)
    residues = {}
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".json") or f == "backbone.json":
            continue
        with open(os.path.join(folder, f)) as fh:
            d = json.load(fh)
        residues[d["residue"]] = ResidueTemplate(
            name=d["residue"], beads=[b["name"] for b in d["beads"]],
            labels=[a["key"] for a in d["atoms"]], elements=[a["element"] for a in d["atoms"]],
            owner=np.array([a["bead"] for a in d["atoms"]], dtype=np.int64),
            xyz=np.array([a["xyz"] for a in d["atoms"]], float).reshape(-1, 3),
            bead_xyz=np.array([b["xyz"] for b in d["beads"]], float).reshape(-1, 3),
            chiral=[tuple(c) for c in d["chiral"]], source=d.get("source", ""))
    return ProteinTemplates(
        forcefield=bb["forcefield"], residues=residues,
        fragments=np.array([f["context"] for f in bb["fragments"]], float),
        fragment_atoms=np.array([f["N_CA_C_O"] for f in bb["fragments"]], float),
        unit=np.array(bb["unit"], float), source=bb.get("source", ""))


# ---------------------------------------------------------------- placement
def _kabsch_batch(p, q, w):
    """Rotations (n, 3, 3), R p ≈ q: p, q (n, m, 3) centred, w (n, m)."""
    h = np.einsum("nm,nmi,nmj->nij", w, p, q)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    dm = np.zeros((len(p), 3, 3))
    dm[:, 0, 0] = dm[:, 1, 1] = 1
    dm[:, 2, 2] = np.where(d == 0, 1, d)
    return np.einsum("nji,njk,nlk->nil", vt, dm, u)


def _superpose_batch(p, q, w):
    """Apply-ready (R (n,3,3), cp (n,3), cq (n,3)): x ↦ R (x − cp) + cq."""
    ws = w.sum(axis=1, keepdims=True)
    cp = np.einsum("nm,nmi->ni", w, p) / ws
    cq = np.einsum("nm,nmi->ni", w, q) / ws
    return _kabsch_batch(p - cp[:, None], q - cq[:, None], w), cp, cq


def _choose_fragments(pt, q, w, chunk=4096):
    """Best fragment per row: q (n, 4, 3) actual context (relative to BB i), w (n, 4).
    Returns (index (n,), rotation (n, 3, 3))."""
    p = pt.fragments                                      # (F, 4, 3)
    pp = np.einsum("fmi,fmi->fm", p, p)
    best = np.zeros(len(q), np.int64)
    for s in range(0, len(q), chunk):
        qq, ww = q[s:s + chunk], w[s:s + chunk]
        h = np.einsum("nm,fmi,nmj->nfij", ww, p, qq)
        sv = np.linalg.svd(h, compute_uv=False)
        det = np.sign(np.linalg.det(h))
        trace = sv[..., 0] + sv[..., 1] + np.where(det < 0, -1, 1) * sv[..., 2]
        e = np.einsum("nm,fm->nf", ww, pp) - 2 * trace
        best[s:s + chunk] = np.argmin(e, axis=1)
    rot = _kabsch_batch(p[best], q, w)
    return best, rot


def place_protein(pt: ProteinTemplates, plan: ProteinPlan, beads):
    """All-atom positions of ``count`` copies of a protein from their beads.

    Parameters
    ----------
    pt : ProteinTemplates
    plan : ProteinPlan
    beads : (count, n_beads, 3) [nm], whole molecules

    Returns
    -------
    x : (count, n_particles, 3) [nm] in the topology's order
    info : dict   ``chiral_centres``, ``chiral_fixed``, ``amide_wrong``, ``amide_fixed``,
        ``built_h`` (hydrogens built from geometry), ``dropped_h`` (template hydrogens the
        topology lacks), ``centres`` ((m, 5) chiral centre, a, b, c local indices + sign)
    """
    beads = np.asarray(beads, float)
    c = len(beads)
    res = plan.residues
    nres = len(res)
    missing = sorted({r.name for r in res} - set(pt.residues))
    if missing:
        raise MappingError(f"no {pt.forcefield} amino-acid template for "
                           f"{', '.join(missing)}; available: {', '.join(sorted(pt.residues))}")
    x = np.full((c, plan.n_particles, 3), np.nan)
    info = {"built_h": 0, "dropped_h": 0}
    bbi = np.array([r.first_bead for r in res])
    bb = beads[:, bbi]                                            # (c, R, 3)
    # --- 1. backbone fragments
    q = np.zeros((c, nres, len(CONTEXT), 3))
    w = np.zeros((nres, len(CONTEXT)))
    for chain in plan.chains:
        for pos, i in enumerate(chain):
            for m, k in enumerate(CONTEXT):
                if 0 <= pos + k < len(chain):
                    q[:, i, m] = bb[:, chain[pos + k]] - bb[:, i]
                    w[i, m] = CONTEXT_WEIGHT[m]
    ww = np.broadcast_to(w, (c, nres, len(CONTEXT))).reshape(-1, len(CONTEXT))
    fidx, rot = _choose_fragments(pt, q.reshape(-1, len(CONTEXT), 3), ww)
    rot = rot.reshape(c, nres, 3, 3)
    fidx = fidx.reshape(c, nres)
    # refit each fragment with the residue's own side-chain beads added (their template
    # positions carried into the fragment by its N, Cα, C): pins the rotation at chain
    # ends, where the neighbour beads alone leave it loose
    for i, r in enumerate(res):
        t = pt.residues[r.name]
        nb = len(t.beads)
        if nb < 2:
            continue
        lab = {k: m for m, k in enumerate(t.labels)}
        fa = pt.fragment_atoms[fidx[:, i]]                            # (c, 4, 3)
        tp = np.broadcast_to(t.xyz[[lab["N"], lab["CA"], lab["C"]]], (c, 3, 3))
        r3, cp, cq = _superpose_batch(tp, fa[:, :3], np.ones((c, 3)))
        sc = np.einsum("nij,kj->nki", r3, t.bead_xyz[1:]) + \
            (cq - np.einsum("nij,nj->ni", r3, cp))[:, None]
        p = np.concatenate([pt.fragments[fidx[:, i]], sc], axis=1)
        qq = np.concatenate([q[:, i], beads[:, r.first_bead + 1:r.first_bead + nb] -
                             bb[:, i, None]], axis=1)
        wi = np.broadcast_to(np.concatenate([w[i], np.full(nb - 1, SC_WEIGHT)]),
                             qq.shape[:2])
        rot[:, i] = _kabsch_batch(p, qq, wi)
    atoms4 = pt.fragment_atoms[fidx]                              # (c, R, 4, 3)
    bbx = bb[:, :, None] + np.einsum("crij,crmj->crmi", rot, atoms4)   # N, CA, C, O
    hn = np.full((c, nres, 3), np.nan)
    # --- 2. trans peptide units between consecutive residues
    for chain in plan.chains:
        for i, j in zip(chain, chain[1:]):
            bbx[:, i, 2], bbx[:, i, 3], bbx[:, j, 0], h = _place_unit(
                pt.unit, bbx[:, i, 1], bbx[:, j, 1], bbx[:, i, 2], bbx[:, i, 3],
                bbx[:, j, 0])
            hn[:, j] = h
    # --- 3. residues
    centres = []
    for i, r in enumerate(res):
        t = pt.residues[r.name]
        _place_residue(t, r, plan, beads, bbx[:, i], hn[:, i], x, info)
        for centre, a, b, d, sign in t.chiral:
            centres.append([r.heavy[centre], r.heavy[a], r.heavy[b], r.heavy[d], sign])
    # --- 4. hydrogens and atoms the templates lack
    _build_missing(plan, x, info)
    if np.isnan(x).any():
        bad = np.flatnonzero(np.isnan(x).any(axis=(0, 2)))
        raise MappingError(f"{plan.name}: atoms left unplaced: {bad[:10].tolist()}")
    centres = np.array(centres, dtype=np.int64).reshape(-1, 5)
    info["centres"] = centres
    info["chiral_centres"] = len(centres) * c
    info["chiral_fixed"] = fix_protein_chirality(x, centres, plan)
    wrong = ~peptide_ok(x, plan.peptide_torsions)
    info["amide_wrong"] = int(wrong.sum())
    info["amide_fixed"] = fix_peptide_bonds(pt, plan, x)
    return x, info


def _place_unit(unit, ca1, ca2, c, o, n):
    """Fit the ideal unit on (Cα1, Cα2 weight 10; C, O, N weight 1) per copy; return
    its C, O, N, H (each (count, 3))."""
    cnt = len(ca1)
    tmpl = unit[[0, 5, 1, 2, 3]]
    p = np.broadcast_to(tmpl, (cnt, 5, 3))
    q = np.stack([ca1, ca2, c, o, n], axis=1)
    w = np.broadcast_to(np.array([10.0, 10.0, 1.0, 1.0, 1.0]), (cnt, 5))
    r, cp, cq = _superpose_batch(p, q, w)
    pts = np.einsum("nij,kj->nki", r, unit) + (cq - np.einsum("nij,nj->ni", r, cp))[:, None]
    return pts[:, 1], pts[:, 2], pts[:, 3], pts[:, 4]


def _place_residue(t, r, plan, beads, bb4, hn, x, info):
    """Atoms of one residue (all copies) into ``x`` (count, n, 3)."""
    c = len(beads)
    lab = {k: i for i, k in enumerate(t.labels)}
    tn, tca, tc = (t.xyz[lab[a]] for a in ("N", "CA", "C"))
    # rigid fit of the template's N, CA, C on the placed ones
    p = np.broadcast_to(np.array([tn, tca, tc]), (c, 3, 3))
    rot, cp, cq = _superpose_batch(p, bb4[:, :3], np.ones((c, 3)))
    frame = np.einsum("nij,kj->nki", rot, t.xyz) + (cq - np.einsum("nij,nj->ni", rot, cp))[:, None]
    pos = {}                                  # template label → (c, 3)
    for k, a in enumerate(("N", "CA", "C", "O")):
        pos[a] = bb4[:, k]
    for k, key in enumerate(t.labels):
        if t.owner[k] == 0 or key == "CB":
            if key not in pos:
                pos[key] = frame[:, k]
    # side-chain beads
    nb = len(t.beads)
    actual = beads[:, r.first_bead:r.first_bead + nb]
    for b in range(1, nb):
        refs_t, refs_a = [], []
        for o in range(nb):
            if o != b:
                refs_t.append(t.bead_xyz[o])
                refs_a.append(actual[:, o])
        for a in ("N", "CA", "CB"):
            if a in lab and a in pos:
                refs_t.append(t.xyz[lab[a]])
                refs_a.append(pos[a])
        pt_ = np.array(refs_t) - t.bead_xyz[b]
        qa = np.stack(refs_a, axis=1) - actual[:, b, None]
        rb = _kabsch_batch(np.broadcast_to(pt_, qa.shape), qa, np.ones(qa.shape[:2]))
        mine = [k for k, key in enumerate(t.labels) if t.owner[k] == b and key != "CB"]
        xs = actual[:, b, None] + np.einsum("nij,kj->nki", rb, t.xyz[mine] - t.bead_xyz[b])
        for m, k in enumerate(mine):
            pos[t.labels[k]] = xs[:, m]
    # into topology order; hydrogens by count
    for label, ti in r.heavy.items():
        x[:, ti] = pos[label]
        hs = r.hydrogens[label]
        have = [k for k in range(1, 10) if f"{label}:H{k}" in pos]
        for m, h in enumerate(hs):
            if label == "N" and m == 0 and not np.isnan(hn).any():
                x[:, h] = hn
            elif m < len(have):
                x[:, h] = pos[f"{label}:H{have[m]}"]
        info["dropped_h"] += max(0, len(have) - len(hs)) * c


def _build_missing(plan, x, info):
    """OXT and every hydrogen still unplaced, from the geometry of their neighbours."""
    c = len(x)
    for r in plan.residues:
        if r.oxt is not None and np.isnan(x[:, r.oxt]).any():
            cc, ca, o = x[:, r.heavy["C"]], x[:, r.heavy["CA"]], x[:, r.heavy["O"]]
            d = -(_unit(ca - cc) + _unit(o - cc))
            x[:, r.oxt] = cc + 0.126 * _unit(d)
    todo = {}
    for r in plan.residues:
        items = [(r.heavy[lab], hs) for lab, hs in r.hydrogens.items()]
        if r.oxt is not None:
            items.append((r.oxt, r.oxt_h))
        for heavy, hs in items:
            new = [h for h in hs if np.isnan(x[:, h]).any()]
            if new:
                todo[heavy] = (hs, new)
    for heavy, (hs, new) in todo.items():
        known = [x[:, m] for m in plan.neighbours[heavy]] + \
            [x[:, h] for h in hs if h not in new]
        total = len(plan.neighbours[heavy]) + len(hs)
        hint = None
        first = plan.neighbours[heavy][0] if plan.neighbours[heavy] else None
        if first is not None:
            second = [m for m in plan.neighbours[first] if m != heavy]
            if second:
                hint = x[:, second[0]]
        dirs = _h_directions(x[:, heavy], known, total, len(new), hint)
        bond = H_BOND.get(plan.elements[heavy], 0.1)
        for h, dvec in zip(new, dirs):
            x[:, h] = x[:, heavy] + bond * dvec
        info["built_h"] += len(new) * c


def _unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _perp(a, hint):
    """Unit vectors (c, 3) perpendicular to a (c, 3), towards ``hint`` when given."""
    if hint is None:
        hint = np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    p = hint - np.sum(hint * a, axis=1, keepdims=True) * a
    bad = np.linalg.norm(p, axis=1) < 1e-6
    if bad.any():
        alt = np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
        p[bad] = alt[bad] - np.sum(alt[bad] * a[bad], axis=1, keepdims=True) * a[bad]
    return _unit(p)


def _h_directions(xc, known, total, n_new, hint):
    """Unit vectors of ``n_new`` new substituents of the atom at xc (c, 3) that has the
    ``known`` ones (list of (c, 3)) and ``total`` in all: tetrahedral (4), trigonal (3)
    or bent (2, 109.5°)."""
    u = [_unit(k - xc) for k in known]
    m = len(u)
    tet = np.radians(109.47)
    if m == 0:
        base = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3)
        return [np.broadcast_to(b, xc.shape) for b in base[:n_new]]
    if total >= 4:
        if m == 1:
            a = u[0]
            p = _perp(a, None if hint is None else hint - xc)
            qv = np.cross(a, p)
            out = []
            for phi in np.radians([60.0, 180.0, 300.0]):
                out.append(np.cos(tet) * a + np.sin(tet) * (np.cos(phi) * p + np.sin(phi) * qv))
            return out[:n_new]
        if m == 2:
            b = -_unit(u[0] + u[1])
            n = _unit(np.cross(u[0], u[1]))
            half = np.radians(54.74)
            return [np.cos(half) * b + np.sin(half) * n,
                    np.cos(half) * b - np.sin(half) * n][:n_new]
        return [-_unit(sum(u))]
    if total == 3:
        if m == 1:
            a = u[0]
            p = _perp(a, None if hint is None else hint - xc)
            ang = np.radians(120.0)
            return [np.cos(ang) * a + np.sin(ang) * p, np.cos(ang) * a - np.sin(ang) * p][:n_new]
        return [-_unit(u[0] + u[1])]
    a = u[0]
    p = _perp(a, None if hint is None else hint - xc)
    return [np.cos(tet) * a + np.sin(tet) * p]


# ---------------------------------------------------------------- checks and repairs
def _signed(x, centres):
    xc = x[:, centres[:, 0]]
    v = np.stack([x[:, centres[:, k]] - xc for k in (1, 2, 3)], axis=2)   # (c, m, 3, 3)
    return np.sign(np.linalg.det(v))


def protein_chirality_ok(x, centres, box=None):
    """(count, m) bool: each centre (rows centre, a, b, c, sign) has its sign."""
    from ..mapping.clustering import minimum_image

    if len(centres) == 0:
        return np.ones((len(x), 0), bool)
    xc = x[:, centres[:, 0]]
    v = np.stack([minimum_image(x[:, centres[:, k]] - xc, box) for k in (1, 2, 3)], axis=2)
    return np.sign(np.linalg.det(v)) == centres[None, :, 4]


def fix_protein_chirality(x, centres, plan, passes=3):
    """Reflect each inverted centre of ``x`` (count, n, 3) through the plane of its three
    heavy neighbours and put its hydrogen back opposite them, in place. Centres sharing
    atoms (Thr Cα and Cβ) are checked one after the other and the whole set again, up to
    ``passes`` times. Returns the number of reflections."""
    if len(centres) == 0:
        return 0
    hyd = {r.heavy[lab]: hs for r in plan.residues for lab, hs in r.hydrogens.items()}
    fixed = 0
    for _ in range(passes):
        if (_signed(x, centres) == centres[None, :, 4]).all():
            break
        for k in range(len(centres)):
            ci, a, b, d, sign = centres[k]
            bad = np.flatnonzero(_signed(x, centres[k:k + 1])[:, 0] != sign)
            for cpy in bad:
                xa, xb, xd = x[cpy, a], x[cpy, b], x[cpy, d]
                n = np.cross(xb - xa, xd - xa)
                n /= np.linalg.norm(n)
                new = x[cpy, ci] - 2 * ((x[cpy, ci] - xa) @ n) * n
                shift = new - x[cpy, ci]
                x[cpy, ci] = new
                hs = hyd.get(ci, [])
                out = _unit(3 * new - xa - xb - xd)
                for h in hs:
                    x[cpy, h] = new + H_BOND["C"] * out if len(hs) == 1 else x[cpy, h] + shift
            fixed += len(bad)
    return fixed


def peptide_omegas(x, torsions, box=None):
    """(count, m) ω [rad] of the peptide torsions (Cα, C, N, Cα), minimum image."""
    from ..mapping.clustering import minimum_image

    if len(torsions) == 0:
        return np.zeros((len(x), 0))
    a, b, c, d = (x[:, torsions[:, k]] for k in range(4))
    a = b + minimum_image(a - b, box)
    c = b + minimum_image(c - b, box)
    d = c + minimum_image(d - c, box)
    return dihedral(a, b, c, d)


def peptide_ok(x, torsions, box=None):
    """(count, m) bool: ω trans (|ω| > 90°)."""
    return np.abs(peptide_omegas(x, torsions, box)) > np.pi / 2


def fix_peptide_bonds(pt, plan, x):
    """Rebuild every cis peptide bond of ``x`` (count, n, 3) as the ideal trans unit
    fitted on its two Cα (the placed C, O, N only orient it about the Cα–Cα axis), in
    place; the amide H follows. Returns the number repaired."""
    tors = plan.peptide_torsions
    if len(tors) == 0:
        return 0
    bad = ~peptide_ok(x, tors)
    n_h = {}
    for r in plan.residues:
        if r.hydrogens.get("N"):
            n_h[r.heavy["N"]] = r.hydrogens["N"][0]
    o_of = {r.heavy["C"]: r.heavy["O"] for r in plan.residues}
    unit = trans_unit(pt.unit)
    for k in np.flatnonzero(bad.any(axis=0)):
        rows = np.flatnonzero(bad[:, k])
        ca1, cc, nn, ca2 = tors[k]
        oo = o_of[cc]
        c_, o_, n_, h_ = _place_unit(unit, x[rows, ca1], x[rows, ca2], x[rows, cc],
                                     x[rows, oo], x[rows, nn])
        x[rows, cc], x[rows, oo], x[rows, nn] = c_, o_, n_
        if nn in n_h:
            x[rows, n_h[nn]] = h_
    return int(bad.sum())


def trans_unit(unit):
    """The peptide unit (rows ``UNIT``) with ω = 180°: H and Cα2 rotated about C–N when
    the given one is not trans (a safeguard for templates made elsewhere)."""
    unit = np.array(unit, dtype=float)
    omega = float(dihedral(unit[0], unit[1], unit[3], unit[5]))
    if abs(omega) > np.pi / 2:
        return unit
    axis = _unit(unit[3] - unit[1])
    a = np.pi - omega
    v = unit[[4, 5]] - unit[3]
    unit[[4, 5]] = unit[3] + v * np.cos(a) + np.cross(axis, v) * np.sin(a) + \
        np.outer(v @ axis, axis) * (1 - np.cos(a))
    return unit
