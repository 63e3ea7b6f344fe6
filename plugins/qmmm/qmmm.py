"""QM/MM: a quantum region embedded in the point charges of any MM force field.

``make_qmmm_system(system, qm_atoms, ...)`` takes a System built by any registered force
field (a GROMACS topology read by the core, a Python-built one, …) and returns a new
System in which

- the QM atoms carry no MM charge (so the MM Coulomb, PME included, has no QM–QM and
  QM–MM terms: the electrostatic embedding replaces them);
- QM–QM pairs are non-bonded exclusions (no MM Lennard-Jones inside the QM region; the
  MM Lennard-Jones between QM and MM atoms stays, as in Amber and CHARMM);
- bonded interactions (any ``IndexedForce``: bonds, angles, dihedrals, 1-4 pairs, CMAP …)
  whose atoms are all QM are dropped; those with at least one MM atom stay;
- covalent QM–MM bonds get a hydrogen link atom each: on the Q1–M1 bond at
  r_L = r_Q1 + g (r_M1 − r_Q1) (g = 1.09 Å / typical Q1–M1 bond length); its force is
  redistributed F_Q1 += (1 − g) F_L, F_M1 += g F_L; the M1 charge is removed from the
  embedding (``link_charge="zero"``) or moved in equal parts onto the M2 atoms bonded to M1
  (``"shift"``, which keeps the MM total charge);
- a ``QMMMForce`` computes the QM energy in the field of the MM charges within
  ``cutoff`` of the QM region's centre, each scaled by a smooth switch
  S = 1 − 10f³ + 15f⁴ − 6f⁵, f = (d − r_on)/(cutoff − r_on), so energy and forces stay
  continuous as charges enter and leave.

The QM engine is any registered one (``mdzoom_qm_engines``; this plugin's mndo/am1/pm3).
The QM energy reported is the heat of formation (kJ/mol), a constant shift of the total
energy, under the term ``QM/MM``. The molecules holding QM atoms become their own
molecule types (several of them, if adjacent in particle order, one merged type), so
other copies of the same molecule are untouched.

Limits: the embedding is not periodic (QM-Ewald is not implemented): MM charges are
taken at the minimum image from the QM centre, and the QM region must be smaller than
half the box. The QM/MM force has no virial: run NVE/NVT, not NPT.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from mdzoom.core import BoundForce, Force
from mdzoom.core.bonded import IndexedForce
from mdzoom.core.system import System
from mdzoom.core.topology import MoleculeType, Topology

__all__ = ["QMMMForce", "QMMMTransform", "make_qmmm_system", "switch", "LINK_BOND_LENGTHS"]

_NUMBER = {"H": 1, "C": 6, "N": 7, "O": 8, "S": 16, "CL": 17}
# typical single-bond lengths Q1–M1 (nm) for the link-atom ratio g = 0.109 / r
LINK_BOND_LENGTHS = {frozenset(("C",)): 0.1530, frozenset(("C", "N")): 0.1470,
                     frozenset(("C", "O")): 0.1430, frozenset(("C", "S")): 0.1820,
                     frozenset(("N",)): 0.1450, frozenset(("O",)): 0.1480,
                     frozenset(("N", "O")): 0.1460}
LINK_H_DISTANCE = 0.109


def switch(d, r_on, r_off):
    """(S, dS/dd) of the quintic switch: 1 below r_on, 0 above r_off (d in nm)."""
    d = np.asarray(d, dtype=np.float64)
    if r_off <= r_on:
        return (d < r_off).astype(float), np.zeros_like(d)
    f = np.clip((d - r_on) / (r_off - r_on), 0.0, 1.0)
    s = 1.0 - f ** 3 * (10.0 - 15.0 * f + 6.0 * f * f)
    ds = -30.0 * f * f * (1.0 - f) ** 2 / (r_off - r_on)
    return s, ds


def _element(topology, i):
    el = (topology.elements[i] or "").strip() if topology.elements else ""
    if not el:
        name = topology.names[i].strip()
        el = name[:2] if name[:2].upper() == "CL" else name[:1]
    el = el.upper()
    if el not in _NUMBER:
        raise ValueError(f"QM atom {i} ({topology.names[i]}): element {el!r} is not one the "
                         "QM engine has (H, C, N, O, S, Cl)")
    return el


@dataclass(eq=False)
class QMMMForce(Force):
    """The QM energy of ``qm_atoms`` (+ link atoms) embedded in the MM charges.

    qm_atoms : (n,) particle indices; numbers : (n,) their atomic numbers
    links : (k, 3) rows (Q1, M1, g) as float: link H on the Q1–M1 bond at ratio g
    engine : registered QM engine name; qm_charge : total charge of the QM region (e)
    cutoff, switch_width : embedding cutoff from the QM centre and switch width (nm);
        the cutoff must stay below half the shortest box length
    embedding : "qmmm_int=1" or "qmmm_int=2" (this plugin's engines)
    engine_options : extra keyword arguments of the engine factory
    """

    qm_atoms: np.ndarray
    numbers: np.ndarray
    links: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    engine: str = "am1"
    qm_charge: int = 0
    cutoff: float | None = 1.2
    switch_width: float = 0.2
    embedding: str = "qmmm_int=1"
    engine_options: dict = field(default_factory=dict)

    def bind(self, system, context):
        return _BoundQMMM(self, system)


class _BoundQMMM(BoundForce):
    terms = ("QM/MM",)

    def __init__(self, desc, system):
        from mdzoom.core.plugins import get_plugin_manager

        factory = get_plugin_manager().registry.get_qm_engine(desc.engine)
        self.engine = factory(**desc.engine_options)
        self.desc = desc
        self.qm = np.asarray(desc.qm_atoms, dtype=np.int64)
        links = np.asarray(desc.links, dtype=np.float64).reshape(-1, 3)
        self.q1 = links[:, 0].astype(np.int64)
        self.m1 = links[:, 1].astype(np.int64)
        self.g = links[:, 2]
        self.numbers = np.concatenate([np.asarray(desc.numbers, dtype=np.int64),
                                       np.ones(len(links), dtype=np.int64)])
        q = np.asarray(system.topology.charges, dtype=np.float64)
        is_qm = np.zeros(system.n_particles, dtype=bool)
        is_qm[self.qm] = True
        self.mm = np.flatnonzero((q != 0.0) & ~is_qm)
        self.q_mm = q[self.mm]
        self.kwargs = {}
        if desc.embedding != "qmmm_int=1":
            self.kwargs["embedding"] = desc.embedding
        self.last_result = None

    def compute(self, state, forces_out):
        x = np.asarray(state.positions, dtype=np.float64)
        box = np.asarray(state.box, dtype=np.float64)
        inv = np.linalg.inv(box)

        def mic(d):
            return d - np.rint(d @ inv) @ box

        x0 = x[self.qm[0]]
        xq = x0 + mic(x[self.qm] - x0)                   # QM region made whole
        centre = xq.mean(axis=0)
        xm1 = x[self.q1] + mic(x[self.m1] - x[self.q1]) if len(self.q1) else np.zeros((0, 3))
        xq1 = xq[np.searchsorted(self.qm, self.q1)] if len(self.q1) else np.zeros((0, 3))
        xlink = xq1 + self.g[:, None] * (xm1 - xq1)
        d = mic(x[self.mm] - centre)
        dist = np.sqrt((d * d).sum(axis=1))
        cut = self.desc.cutoff
        if cut is None:
            sel = np.arange(len(self.mm))
            s, ds = np.ones(len(sel)), np.zeros(len(sel))
        else:
            sel = np.flatnonzero(dist < cut)
            s, ds = switch(dist[sel], cut - self.desc.switch_width, cut)
        pc = np.empty((len(sel), 4))
        pc[:, :3] = centre + d[sel]
        pc[:, 3] = self.q_mm[sel] * s
        res = self.engine.compute(self.numbers, np.vstack([xq, xlink]), self.desc.qm_charge,
                                  point_charges=pc, unit="nm", reuse_density=True,
                                  **self.kwargs)
        self.last_result = res
        g = np.asarray(res.gradient)
        nq = len(self.qm)
        np.add.at(forces_out, self.qm, -g[:nq])
        if len(self.q1):
            fl = -g[nq:]
            np.add.at(forces_out, self.q1, (1.0 - self.g)[:, None] * fl)
            np.add.at(forces_out, self.m1, self.g[:, None] * fl)
        if len(sel):
            forces_out[self.mm[sel]] -= np.asarray(res.point_charge_gradient)
            if cut is not None and np.any(ds != 0.0):
                # E depends on each scale s(d): ∂E/∂s = E_m / s (E_m linear in the scale)
                e_m = np.asarray(res.point_charge_energies)
                active = ds != 0.0
                dEds = np.zeros(len(sel))
                dEds[active] = e_m[active] / np.where(s[active] > 0, s[active], 1.0)
                dEds[active & (s <= 0)] = 0.0
                unit = d[sel] / dist[sel, None]
                f = -(dEds * ds)[:, None] * unit          # force on the charge
                forces_out[self.mm[sel]] += f
                np.add.at(forces_out, self.qm, -f.sum(axis=0) / nq)
        return float(res.heat_of_formation)


# --------------------------------------------------------------------------- set-up
def _molecule_ranges(topology):
    """(start, stop, type name) of every molecule copy, in particle order."""
    out = []
    i = 0
    for name, count in topology.molecules:
        n = topology.molecule_type(name).n_particles
        for _ in range(count):
            out.append((i, i + n, name))
            i += n
    return out


def _find_links(topology, qm_set):
    links = []
    for i, j in np.asarray(topology.bonds).reshape(-1, 2):
        i, j = int(i), int(j)
        if (i in qm_set) != (j in qm_set):
            q1, m1 = (i, j) if i in qm_set else (j, i)
            links.append((q1, m1))
    return sorted(links)


def _bonded_neighbours(topology, atom):
    b = np.asarray(topology.bonds).reshape(-1, 2)
    return sorted({int(j) for i, j in b if i == atom} | {int(i) for i, j in b if j == atom})


def make_qmmm_system(system, qm_atoms, *, engine="am1", qm_charge=0, cutoff=1.2,
                     switch_width=0.2, link_charge="zero", embedding="qmmm_int=1",
                     link_ratio=None, engine_options=None):
    """A QM/MM copy of ``system`` (see the module docstring); ``qm_atoms`` are particle
    indices (any iterable). Returns the new System; its last force is the QMMMForce."""
    top = system.topology
    qm = np.unique(np.asarray(list(qm_atoms), dtype=np.int64))
    if qm.size == 0:
        raise ValueError("the QM region is empty")
    if qm.min() < 0 or qm.max() >= top.n_particles:
        raise IndexError(f"QM atom index out of range for {top.n_particles} particles")
    if link_charge not in ("zero", "shift"):
        raise ValueError(f"link_charge {link_charge!r}: use 'zero' or 'shift'")
    half = 0.5 * float(np.min(np.diag(system.box)))
    if cutoff is None or not 0.0 < cutoff < half:
        raise ValueError(f"embedding cutoff {cutoff!r} nm: give a cutoff below half the shortest "
                         f"box length ({half:.3f} nm); the embedding takes MM charges at the "
                         "minimum image from the QM centre, so it cannot take them all")
    if not 0.0 <= switch_width <= cutoff:
        raise ValueError(f"switch_width {switch_width} nm must lie in [0, cutoff]")
    qm_set = set(qm.tolist())
    elements = [_element(top, int(i)) for i in qm]
    links = _find_links(top, qm_set)
    link_rows = []
    for q1, m1 in links:
        if link_ratio is not None:
            g = float(link_ratio)
        else:
            pair = frozenset((_element(top, q1), (top.elements[m1] or top.names[m1][:1]).upper()))
            r = LINK_BOND_LENGTHS.get(pair)
            if r is None:
                raise ValueError(f"no typical bond length for the {'–'.join(sorted(pair))} "
                                 f"QM–MM bond {q1}–{m1}: pass link_ratio")
            g = LINK_H_DISTANCE / r
        link_rows.append((q1, m1, g))
    # new charges for the embedding and the MM Coulomb
    charges = np.array(top.charges, dtype=np.float64)
    charges[qm] = 0.0
    for q1, m1 in links:
        qm1 = charges[m1]
        charges[m1] = 0.0
        if link_charge == "shift":
            m2 = [j for j in _bonded_neighbours(top, m1) if j not in qm_set]
            if not m2:
                raise ValueError(f"link_charge='shift': MM atom {m1} has no MM neighbours")
            charges[m2] += qm1 / len(m2)
    new_top = _isolate(top, qm, charges, set(np.flatnonzero(charges != top.charges).tolist()))
    forces = [_without_qm_interactions(f, qm_set) for f in system.forces]
    qmmm = QMMMForce(qm, np.array([_NUMBER[e] for e in elements]),
                     np.array(link_rows, dtype=np.float64).reshape(-1, 3), engine,
                     int(qm_charge), cutoff, switch_width, embedding, dict(engine_options or {}))
    return System(new_top, system.box.copy(), forces + [qmmm], list(system.constraints),
                  list(system.virtual_sites))


def _without_qm_interactions(force, qm_set):
    """An IndexedForce without the interactions whose atoms are all QM; others as they are."""
    if not isinstance(force, IndexedForce):
        return force
    atoms = np.asarray(force.atoms)
    m = atoms.shape[0] if atoms.ndim else 0
    if m == 0:
        return force
    flat = atoms.reshape(m, -1)
    keep = ~np.all(np.isin(flat, list(qm_set)), axis=1)
    if keep.all():
        return force
    changes = {}
    for f in dataclasses.fields(force):
        v = getattr(force, f.name)
        arr = np.asarray(v) if not isinstance(v, (str, dict)) else None
        if arr is not None and arr.ndim and arr.shape[0] == m:
            changes[f.name] = arr[keep]
    return dataclasses.replace(force, **changes)


def _isolate(top, qm, charges, changed):
    """New Topology: molecules holding QM atoms or changed charges become their own type
    (adjacent ones merged into one), with the new charges and QM–QM exclusions."""
    ranges = _molecule_ranges(top)
    mol_of = np.empty(top.n_particles, dtype=np.int64)
    for k, (a, b, _) in enumerate(ranges):
        mol_of[a:b] = k
    qm_mols = sorted(set(mol_of[qm].tolist()))
    touched = sorted(set(qm_mols) | {int(mol_of[i]) for i in changed})
    if qm_mols != list(range(qm_mols[0], qm_mols[-1] + 1)):
        raise ValueError(f"the QM atoms lie in molecules {qm_mols[0]}…{qm_mols[-1]} with other "
                         "molecules between them; order the particles so the molecules "
                         "holding QM atoms are adjacent")
    groups = []          # lists of molecule indices that become one new type
    for k in touched:
        if groups and k == groups[-1][-1] + 1 and (k in qm_mols) and (groups[-1][-1] in qm_mols):
            groups[-1].append(k)
        else:
            groups.append([k])
    group_of = {k: gi for gi, grp in enumerate(groups) for k in grp}
    qm_set = set(qm.tolist())
    new_types, new_mols = [], []
    existing = {mt.name for mt in top.molecule_types}
    used_types = set()
    k = 0
    while k < len(ranges):
        if k in group_of:
            grp = groups[group_of[k]]
            graph = nx.Graph()
            excl = set()
            offset = 0
            start = ranges[grp[0]][0]
            for mk in grp:
                a, b, name = ranges[mk]
                mt = top.molecule_type(name)
                for node, data in mt.graph.nodes(data=True):
                    graph.add_node(node + offset, **dict(data))
                for u, v, data in mt.graph.edges(data=True):
                    graph.add_edge(u + offset, v + offset, **dict(data))
                excl |= {(u + offset, v + offset) for u, v in mt.excluded_pairs()}
                offset += b - a
            for node in graph.nodes:
                graph.nodes[node]["charge"] = float(charges[start + node])
            local_qm = sorted(i - start for i in qm_set if start <= i < start + offset)
            excl |= {(u, v) for ii, u in enumerate(local_qm) for v in local_qm[ii + 1:]}
            graph.graph["exclusions"] = sorted(excl)
            base = "_".join(dict.fromkeys(ranges[mk][2] for mk in grp)) + "_QMMM"
            name, n = base, 1
            while name in existing:
                n += 1
                name = f"{base}{n}"
            existing.add(name)
            new_types.append(MoleculeType(name, graph, nrexcl=0))
            new_mols.append((name, 1))
            k = grp[-1] + 1
            continue
        name = ranges[k][2]
        if name not in used_types:
            new_types.append(top.molecule_type(name))
            used_types.add(name)
        if new_mols and new_mols[-1][0] == name:
            new_mols[-1] = (name, new_mols[-1][1] + 1)
        else:
            new_mols.append((name, 1))
        k += 1
    return Topology(new_types, new_mols)


@dataclass
class QMMMTransform:
    """``[[transforms]] type = "qmmm"`` of a run configuration: ``apply(system, state)``
    returns ``make_qmmm_system(system, qm_atoms, …)``.

    qm_atoms : particle indices (a list) or a selection string (``"resname SN2"``, the
        core's selection language)
    The other keys are ``make_qmmm_system``'s (engine, qm_charge, cutoff [nm],
    switch_width [nm], link_charge, embedding, link_ratio, engine_options).
    """

    qm_atoms: object
    engine: str = "am1"
    qm_charge: int = 0
    cutoff: float = 1.2
    switch_width: float = 0.2
    link_charge: str = "zero"
    embedding: str = "qmmm_int=1"
    link_ratio: float | None = None
    engine_options: dict = field(default_factory=dict)

    def apply(self, system, state=None):
        from mdzoom.core.analysis.selection import resolve_indices

        atoms = resolve_indices(self.qm_atoms, system.n_particles, system.topology,
                                what="qm_atoms")
        return make_qmmm_system(system, atoms, engine=self.engine, qm_charge=self.qm_charge,
                                cutoff=self.cutoff, switch_width=self.switch_width,
                                link_charge=self.link_charge, embedding=self.embedding,
                                link_ratio=self.link_ratio,
                                engine_options=self.engine_options)
