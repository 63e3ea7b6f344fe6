"""Order parameters of lipid tails: all-atom S_CD and coarse-grained bond P2.

Both are ``⟨P₂(cos θ)⟩ = ⟨(3 cos²θ − 1)/2⟩`` of a bond vector against the membrane
normal, but of *different bonds*, so they are different quantities and are labelled so:

- ``scd`` — the deuterium order parameter S_CD of C–H bonds (what ²H NMR measures, as
  |S_CD|); 1 for a C–H bond along the normal, −0.5 for one perpendicular to it. Lipid
  acyl chains have C–H bonds roughly perpendicular to the normal, hence S_CD < 0
  (POPC sn-1 plateau ≈ −0.2).
- ``p2_bond_order`` — the Martini bond order parameter P2 of the bond between
  consecutive coarse-grained beads (positive for tails aligned with the normal).

Bond vectors use the minimum image of the frame's box, so molecules split across the
box are fine. Units: nm for positions and boxes; order parameters are dimensionless.
"""

from __future__ import annotations

import numpy as np

from ..results import Results
from ..topology import MoleculeType, Topology
from ._trajectory import as_trajectory

__all__ = ["scd", "p2_bond_order", "acyl_chains"]

_ELEMENT_BY_MASS = {1: "H", 12: "C", 14: "N", 16: "O", 31: "P", 32: "S"}
_MAX_VECTORS = 1_000_000                      # bond vectors per frame chunk (~100 MB)


# --------------------------------------------------------------------------- graph


def _element(data) -> str:
    el = str(data.get("element") or "").strip()
    if el:
        return el.capitalize()
    mass = data.get("mass")
    if mass is not None and round(float(mass)) in _ELEMENT_BY_MASS:
        return _ELEMENT_BY_MASS[round(float(mass))]
    name = str(data.get("name", ""))
    return name[:1].upper()


def _is_ester_carbonyl(g, el, c):
    """C bonded to a terminal =O and to an –O– that is bonded to another carbon."""
    if el[c] != "C":
        return False
    carbonyl_o = ester_o = False
    for o in g.neighbors(c):
        if el[o] != "O":
            continue
        if g.degree(o) == 1:
            carbonyl_o = True
        elif g.degree(o) == 2 and any(el[x] == "C" and x != c for x in g.neighbors(o)):
            ester_o = True
    return carbonyl_o and ester_o


def acyl_chains(moltype: MoleculeType) -> list[dict]:
    """Find the ester-linked acyl chains of a molecule type from its bond graph.

    An acyl chain starts at an ester carbonyl carbon (bonded to a terminal =O and to an
    –O–C) and follows the unbranched carbon path to its end; no atom names are needed
    (elements come from the ``element`` attribute, else from the mass).

    Parameters
    ----------
    moltype : MoleculeType

    Returns
    -------
    list of dict
        In the order of the carbonyl carbons in the molecule, each with ``carbons``
        (local atom indices, carbonyl carbon = number 1 first), ``hydrogens`` (list, per
        carbon, of the local indices of its H), ``names`` (atom names of the carbons)
        and ``label`` (the carbonyl carbon's name) and ``branched`` (True when the path
        stopped at a branch rather than at the chain end).
    """
    g = moltype.graph
    el = {k: _element(d) for k, d in g.nodes(data=True)}
    chains = []
    for c1 in sorted(g.nodes):
        if not _is_ester_carbonyl(g, el, c1):
            continue
        alpha = [x for x in g.neighbors(c1) if el[x] == "C"]
        if len(alpha) != 1:
            continue
        path = [c1, alpha[0]]
        branched = False
        while True:
            nxt = [x for x in g.neighbors(path[-1]) if el[x] == "C" and x not in path]
            if len(nxt) != 1:
                branched = len(nxt) > 1
                break
            path.append(nxt[0])
        names = [str(g.nodes[k].get("name", k)) for k in path]
        chains.append(dict(
            carbons=path, names=names, label=names[0], branched=branched,
            hydrogens=[sorted(x for x in g.neighbors(k) if el[x] == "H") for k in path]))
    return chains


# --------------------------------------------------------------------------- copies


def _copies(topology, molecules):
    """[(MoleculeType, starts (M,) or index table (M, n))] to analyse."""
    if isinstance(topology, MoleculeType):
        if molecules is None:
            raise ValueError("with a MoleculeType, pass molecules= the global atom "
                             "indices of its copies: (M, n_atoms) or (M,) first atoms")
        idx = np.asarray(molecules, dtype=np.int64)
        n = topology.n_particles
        if idx.ndim == 1:
            idx = idx[:, None] + np.arange(n)[None, :]
        if idx.ndim != 2 or idx.shape[1] != n:
            raise ValueError(f"molecules must be (M, {n}) atom indices or (M,) first "
                             f"atoms of molecule type {topology.name!r}; got {idx.shape}")
        return [(topology, idx)]
    if not isinstance(topology, Topology):
        raise TypeError(f"expected a Topology or MoleculeType; got {type(topology).__name__}")
    if isinstance(molecules, str):
        molecules = [molecules]
    if molecules is not None:
        for name in molecules:
            topology.molecule_type(name)      # raises, listing what is available
    tables: dict[str, list] = {}
    offset = 0
    for name, count in topology.molecules:
        mt = topology.molecule_type(name)
        n = mt.n_particles
        if molecules is None or name in molecules:
            starts = offset + n * np.arange(count)
            tables.setdefault(name, []).append(starts[:, None] + np.arange(n)[None, :])
        offset += n * count
    return [(topology.molecule_type(name), np.concatenate(parts))
            for name, parts in tables.items()]


# --------------------------------------------------------------------------- vectors


def _unit_normal(normal):
    nvec = np.asarray(normal, dtype=np.float64)
    norm = np.linalg.norm(nvec)
    if nvec.shape != (3,) or norm == 0:
        raise ValueError(f"normal must be a non-zero 3-vector; got {normal!r}")
    return nvec / norm


def _p2_per_pair(positions, boxes, a, b, normal):
    """P₂(cos θ) of the minimum-image vectors b − a: (T, *a.shape)."""
    out = np.empty((positions.shape[0],) + a.shape)
    per_frame = max(a.size, 1)
    step = max(1, _MAX_VECTORS // per_frame)
    for t0 in range(0, positions.shape[0], step):
        pos = positions[t0:t0 + step]
        v = pos[:, b] - pos[:, a]                          # (t, *shape, 3)
        if boxes is not None:
            box = boxes[t0:t0 + step]
            inv = np.linalg.inv(box)
            s = np.einsum("t...j,tjk->t...k", v, inv)
            v = v - np.einsum("t...j,tjk->t...k", np.round(s), box)
        cos2 = (v @ normal) ** 2 / np.einsum("...k,...k->...", v, v)
        out[t0:t0 + step] = 1.5 * cos2 - 0.5
    return out


def _mean_and_sem(per_molecule):
    """Mean over molecules (axis 0) and standard error across molecules."""
    m = per_molecule.shape[0]
    mean = per_molecule.mean(axis=0)
    if m > 1:
        sem = per_molecule.std(axis=0, ddof=1) / np.sqrt(m)
    else:
        sem = np.full(mean.shape, np.nan)
    return mean, sem


# --------------------------------------------------------------------------- S_CD


def scd(traj, topology, molecules=None, normal=(0, 0, 1)) -> Results:
    """Deuterium order parameter S_CD per carbon of every ester-linked acyl chain.

    ``S_CD = ⟨(3 cos²θ − 1)/2⟩`` with θ the angle between a C–H bond and the membrane
    normal, averaged over the H atoms of each carbon, over frames and over molecules.
    Chains are found from the bond graph (:func:`acyl_chains`): carbon 1 is the ester
    carbonyl carbon (no H), so values are reported for carbons 2 … n. A carbon with
    one H (a double-bond carbon, e.g. oleoyl C9/C10) averages its single C–H bond.

    Parameters
    ----------
    traj
        Positions (T, N, 3) or one frame (N, 3) [nm], ``H5MDTrajectory``, ``.h5md``
        path, or ``(positions, times, boxes)``; with boxes, C–H vectors use the minimum
        image (molecules may be split across the box).
    topology : Topology or MoleculeType
        A ``Topology`` whose molecule graphs carry elements or masses; or one
        ``MoleculeType`` with ``molecules`` its copies' atom indices.
    molecules : str, list of str, or array_like of int, optional
        With a Topology: the molecule type name(s) to analyse (default: every type with
        an acyl chain). With a MoleculeType: the copies' global atom indices, (M, n) or
        first atoms (M,).
    normal : array_like, shape (3,)
        Membrane normal (default z); normalised here.

    Returns
    -------
    Results
        chains : list of Results, one per chain in the order found in the molecule, each
        with label (atom name of the carbonyl carbon), molecule_type, carbons (atom names
        of carbons 2 … n), carbon_numbers (2 … n), scd : (n−1,) S_CD, scd_err : (n−1,)
        standard error across molecules (NaN with one molecule), n_hydrogens : (n−1,)
        H per carbon, branched; quantity = "S_CD"; n_frames; normal; note.
    """
    tr = as_trajectory(traj)
    nvec = _unit_normal(normal)
    chains = []
    for mt, table in _copies(topology, molecules):
        found = acyl_chains(mt)
        if not found and molecules is not None:
            raise ValueError(f"molecule type {mt.name!r} has no ester-linked acyl chain "
                             "(looked for C(=O)–O–C in its bond graph; elements or "
                             "masses are needed)")
        for ch in found:
            c_loc, h_loc, slot = [], [], []
            for k, (c, hs) in enumerate(zip(ch["carbons"][1:], ch["hydrogens"][1:])):
                for h in hs:
                    c_loc.append(c)
                    h_loc.append(h)
                    slot.append(k)
            n_c = len(ch["carbons"]) - 1
            slot = np.array(slot, dtype=np.int64)
            if slot.size:
                p2 = _p2_per_pair(tr.positions, tr.boxes, table[:, c_loc], table[:, h_loc],
                                  nvec)                                   # (T, M, P)
                per_pair = p2.mean(axis=0)                                # (M, P)
                counts = np.bincount(slot, minlength=n_c)
                sums = np.zeros((table.shape[0], n_c))
                np.add.at(sums.T, slot, per_pair.T)
                with np.errstate(invalid="ignore", divide="ignore"):
                    per_mol = sums / counts
            else:
                counts = np.zeros(n_c, dtype=np.int64)
                per_mol = np.full((table.shape[0], n_c), np.nan)
            mean, sem = _mean_and_sem(per_mol)
            chains.append(Results(
                label=ch["label"], molecule_type=mt.name, carbons=ch["names"][1:],
                carbon_numbers=np.arange(2, n_c + 2), scd=mean, scd_err=sem,
                n_hydrogens=counts, branched=ch["branched"], n_molecules=table.shape[0]))
    if not chains:
        raise ValueError("no ester-linked acyl chain found in any molecule type "
                         "(looked for C(=O)–O–C in the bond graphs)")
    return Results(
        chains=chains, quantity="S_CD", n_frames=tr.n_frames, normal=nvec,
        note=("S_CD = <(3cos²θ − 1)/2> of C–H bonds vs the normal, averaged over the H of "
              "each carbon, frames and molecules; carbon 1 = ester carbonyl carbon; "
              "scd_err = standard error across molecules of their time averages."))


# --------------------------------------------------------------------------- P2


def p2_bond_order(traj, topology, molecules=None, normal=(0, 0, 1), bonds=None) -> Results:
    """Coarse-grained bond order parameter P2 of every bond (Martini convention).

    ``P2 = ⟨(3 cos²θ − 1)/2⟩`` with θ the angle between the vector joining two bonded
    beads and the membrane normal, averaged over frames and molecules. This is *not*
    the deuterium order parameter S_CD (which is about C–H bonds): the two are not
    numerically comparable without a model, and the result is labelled
    ``quantity = "P2 (CG bond order)"``.

    Parameters
    ----------
    traj
        As for :func:`scd`.
    topology : Topology or MoleculeType
    molecules : str, list of str, or array_like of int, optional
        As for :func:`scd`; default with a Topology: every molecule type with bonds.
    normal : array_like, shape (3,)
    bonds : list of (str, str), optional
        Only these bonds, by bead names (either order); default every bond of the graph.

    Returns
    -------
    Results
        bonds : list of Results(molecule_type, label "A-B", beads (A, B), indices (i, j)
        local bead indices, p2, p2_err); p2 : (B,) and p2_err : (B,) the same values as
        flat arrays; labels : list of "molecule_type:A-B"; quantity =
        "P2 (CG bond order)"; n_frames; normal; note. p2_err is the standard error
        across molecules of their time averages.
    """
    tr = as_trajectory(traj)
    nvec = _unit_normal(normal)
    wanted = None if bonds is None else {frozenset(b) for b in bonds}
    out = []
    for mt, table in _copies(topology, molecules):
        g = mt.graph
        edges = sorted((min(u, v), max(u, v)) for u, v in g.edges)
        names = {k: str(g.nodes[k].get("name", k)) for k in g.nodes}
        if wanted is not None:
            edges = [(u, v) for u, v in edges if frozenset((names[u], names[v])) in wanted]
        if not edges:
            continue
        a = [u for u, _ in edges]
        b = [v for _, v in edges]
        p2 = _p2_per_pair(tr.positions, tr.boxes, table[:, a], table[:, b], nvec)
        mean, sem = _mean_and_sem(p2.mean(axis=0))
        for k, (u, v) in enumerate(edges):
            out.append(Results(molecule_type=mt.name, label=f"{names[u]}-{names[v]}",
                               beads=(names[u], names[v]), indices=(u, v),
                               p2=float(mean[k]), p2_err=float(sem[k]),
                               n_molecules=table.shape[0]))
    if not out:
        raise ValueError("no bond to analyse (no molecule type with bonds"
                         + (" matching the requested bead names)" if bonds else ")"))
    return Results(
        bonds=out, p2=np.array([r.p2 for r in out]), p2_err=np.array([r.p2_err for r in out]),
        labels=[f"{r.molecule_type}:{r.label}" for r in out],
        quantity="P2 (CG bond order)", n_frames=tr.n_frames, normal=nvec,
        note=("P2 = <(3cos²θ − 1)/2> of bonded-bead vectors vs the normal (coarse-grained "
              "bond order parameter, a different quantity from the C–H S_CD); p2_err = "
              "standard error across molecules of their time averages."))
