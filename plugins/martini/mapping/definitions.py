"""Mapping definitions: data files that say which all-atom atoms form which CG bead.

The format is described in ``data/README.md`` beside this module. A definition holds the
heavy-atom graph of the all-atom molecule (node label ``(element, n_hydrogens)``) and,
per bead, the heavy atoms and their weights.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field

import networkx as nx

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["MappingDefinition", "MappingError", "SchemeData", "load_definition",
           "load_scheme_data", "DATA_DIR"]

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

_LABEL_RE = re.compile(r"^([A-Z][a-z]?)(?:H(\d*))?$")


class MappingError(ValueError):
    """Atoms that no definition maps, or a definition file that is wrong."""


@dataclass
class MappingDefinition:
    """One molecule's AA → CG mapping.

    Attributes
    ----------
    name : str
        What messages call it.
    cg_molecule, cg_resname : str
        CG ``[ moleculetype ]`` name and the residue name written to the .gro.
    itp : str
        File name of the CG force-field file that defines ``cg_molecule``.
    graph : networkx.Graph
        Heavy atoms, nodes ``0..n-1`` with attributes ``label`` (the file's name for the
        atom), ``element`` and ``n_h`` (bonded hydrogens).
    beads : list[str]
        CG bead names, in CG order.
    weights : list[dict[int, float]]
        Per bead, heavy-atom node → weight (an atom may be shared between beads).
    charge : float or None
        Required total AA charge [e] (rounded), or None.
    center : str
        ``"geometry"`` (every atom, hydrogens included, counts 1) or ``"mass"``.
    cluster : int
        AA molecules per CG bead (1 normally; 4 for water, grouped in space).
    bead_types : dict[str, str]
        Optional bead-type overrides.
    source : str
        The file it was read from.
    kind : str
        ``"molecule"`` or ``"residue"`` (an amino acid of a protein chain).
    backbone : tuple[int, ...]
        Residues only: nodes of the backbone N, CA, C, O.
    h_excluded : frozenset[int]
        Nodes whose hydrogens weigh 0 in the bead centres (martinize2's ``!``).
    """

    name: str
    cg_molecule: str
    cg_resname: str
    itp: str
    graph: nx.Graph
    beads: list
    weights: list
    charge: float | None = None
    center: str = "geometry"
    cluster: int = 1
    bead_types: dict = field(default_factory=dict)
    source: str = ""
    kind: str = "molecule"
    backbone: tuple = ()
    h_excluded: frozenset = frozenset()

    def __post_init__(self):
        self.composition = Counter((d["element"], d["n_h"]) for _, d in self.graph.nodes(data=True))
        self.elements = Counter(d["element"] for _, d in self.graph.nodes(data=True))

    @property
    def n_heavy(self) -> int:
        return self.graph.number_of_nodes()

    def formula(self, hydrogens=True) -> str:
        """Hill-order formula of the AA molecule, e.g. ``C42H82NO8P``."""
        counts = Counter()
        for (el, nh), c in self.composition.items():
            counts[el] += c
            if hydrogens:
                counts["H"] += nh * c
        return hill_formula(counts)


def hill_formula(counts) -> str:
    """``{"C": 2, "H": 6, "O": 1}`` → ``"C2H6O"`` (C, H first, then alphabetical)."""
    keys = sorted(counts, key=lambda e: (e != "C", e != "H", e)) if "C" in counts \
        else sorted(counts)
    return "".join(f"{e}{counts[e] if counts[e] > 1 else ''}" for e in keys if counts[e])


def _parse_label(text, where):
    m = _LABEL_RE.match(text.strip())
    if not m:
        raise MappingError(f"{where}: {text!r} is not an element with optional hydrogens "
                           f"(e.g. 'C', 'CH2', 'OH2', 'Na')")
    el, h = m.group(1), m.group(2)
    return el, (0 if h is None else (int(h) if h else 1))


def load_definition(path) -> MappingDefinition:
    """Read one definition file (TOML; format in ``data/README.md``)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: {exc}") from None
    where = os.path.basename(path)
    kind = data.get("kind", "molecule")
    if kind not in ("molecule", "residue"):
        raise MappingError(f"{where}: kind {kind!r} is unknown (use 'molecule' or "
                           f"'residue')")
    required = ("name", "cg_molecule", "itp", "graph", "beads") if kind == "molecule" \
        else ("name", "graph", "beads", "backbone")
    for key in required:
        if key not in data:
            raise MappingError(f"{where}: missing key {key!r}")
    atoms = data["graph"].get("atoms", {})
    if not atoms:
        raise MappingError(f"{where}: [graph.atoms] is empty")
    g = nx.Graph()
    index = {}
    for k, (label, spec) in enumerate(atoms.items()):
        if label[:1] in "+-":
            raise MappingError(f"{where}: {label!r}: atoms of neighbouring residues "
                               f"('+N', '-C') are not supported yet")
        el, nh = _parse_label(spec, f"{where} [graph.atoms] {label}")
        index[label] = k
        g.add_node(k, label=label, element=el, n_h=nh)
    for path_text in data["graph"].get("bonds", []):
        labels = path_text.split("-")
        for a, b in zip(labels, labels[1:]):
            for lab in (a, b):
                if lab not in index:
                    raise MappingError(f"{where}: bond path {path_text!r} names {lab!r}, "
                                       f"which is not in [graph.atoms]")
            if a == b:
                raise MappingError(f"{where}: bond path {path_text!r} bonds {a!r} to itself")
            g.add_edge(index[a], index[b])
    if g.number_of_nodes() > 1 and not nx.is_connected(g):
        parts = [sorted(g.nodes[n]["label"] for n in c) for c in nx.connected_components(g)]
        raise MappingError(f"{where}: the graph is not connected: {parts}")
    beads, weights = [], []
    used = Counter()
    for bead, spec in data["beads"].items():
        w = {}
        for token in spec.split():
            label, _, weight = token.partition(":")
            if label not in index:
                raise MappingError(f"{where}: bead {bead} names {label!r}, which is not in "
                                   f"[graph.atoms]")
            try:
                value = float(weight) if weight else 1.0
            except ValueError:
                raise MappingError(f"{where}: bead {bead}: bad weight in {token!r}") from None
            if value <= 0:
                raise MappingError(f"{where}: bead {bead}: weight of {label} must be > 0")
            w[index[label]] = w.get(index[label], 0.0) + value
            used[label] += 1
        if not w:
            raise MappingError(f"{where}: bead {bead} has no atoms")
        beads.append(bead)
        weights.append(w)
    missing = [lab for lab in index if not used[lab]]
    if missing:
        raise MappingError(f"{where}: heavy atoms in no bead: {', '.join(missing)}")
    center = data.get("center", "geometry")
    if center not in ("geometry", "mass"):
        raise MappingError(f"{where}: center must be 'geometry' or 'mass', got {center!r}")
    cluster = int(data.get("cluster", 1))
    if cluster < 1 or (cluster > 1 and len(beads) != 1):
        raise MappingError(f"{where}: cluster = {cluster} needs exactly one bead")
    charge = data.get("charge")
    backbone = ()
    if kind == "residue":
        backbone = data["backbone"]
        if not (isinstance(backbone, list) and len(backbone) == 4
                and all(b in index for b in backbone)):
            raise MappingError(f"{where}: backbone must list the labels of N, CA, C and O, "
                               f"got {backbone!r}")
        n_, ca, c_, o_ = (index[b] for b in backbone)
        if not (g.has_edge(n_, ca) and g.has_edge(ca, c_) and g.has_edge(c_, o_)):
            raise MappingError(f"{where}: backbone {backbone} is not bonded N-CA-C-O")
        backbone = (n_, ca, c_, o_)
    excluded = data.get("hydrogens_excluded", "").split()
    for lab in excluded:
        if lab not in index:
            raise MappingError(f"{where}: hydrogens_excluded names {lab!r}, which is not "
                               f"in [graph.atoms]")
    name = str(data["name"])
    return MappingDefinition(
        name=name, cg_molecule=str(data.get("cg_molecule", name)),
        cg_resname=str(data.get("cg_resname", data.get("cg_molecule", name))),
        itp=str(data.get("itp", "")),
        graph=g, beads=beads, weights=weights,
        charge=None if charge is None else float(charge), center=center, cluster=cluster,
        bead_types=dict(data.get("bead_types", {})), source=path, kind=kind,
        backbone=backbone, h_excluded=frozenset(index[lab] for lab in excluded))


@dataclass
class SchemeData:
    """A scheme folder: its definitions and the force-field file included first."""

    name: str
    forcefield_itp: str
    itp_order: list
    definitions: list
    residues: list = field(default_factory=list)
    protein_topology: str | None = None   # path of the protein parameter file, if any


def load_scheme_data(folder) -> SchemeData:
    """Read ``scheme.toml`` and every other ``*.toml`` (a definition) in ``folder`` and its
    sub-folders (``aminoacids/``); molecule and residue definitions are kept apart. The
    protein parameter file that ``scheme.toml`` names (``protein_topology``) is not a
    definition."""
    folder = os.fspath(folder)
    with open(os.path.join(folder, "scheme.toml"), "rb") as fh:
        meta = tomllib.load(fh)
    params = meta.get("protein_topology")
    skip = {"scheme.toml"} | ({params} if params else set())
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths += [os.path.join(root, f) for f in sorted(files)
                  if f.endswith(".toml") and not (root == folder and f in skip)]
    loaded = [load_definition(p) for p in paths]
    defs = [d for d in loaded if d.kind == "molecule"]
    residues = [d for d in loaded if d.kind == "residue"]
    for group in (defs, residues):
        names = Counter(d.name for d in group)
        dup = [n for n, c in names.items() if c > 1]
        if dup:
            raise MappingError(f"{folder}: definitions named twice: {', '.join(dup)}")
    return SchemeData(name=str(meta["name"]), forcefield_itp=str(meta["forcefield_itp"]),
                      itp_order=list(meta.get("itp_order", [])), definitions=defs,
                      residues=residues,
                      protein_topology=os.path.join(folder, params) if params else None)
