"""CG → AA backmapping: place template fragments on the beads, then relax.

    from mdzoom.plugins.martini.backmapping import backmap, load_templates

    aa = backmap(cg_topology, cg_positions, box, load_templates("charmm36"),
                 ff_files=["charmm36.ff/forcefield.itp", "popc.itp", ...])
    aa.write_gro("aa.gro"); aa.write_top("aa.top")

The all-atom force field is the user's GROMACS files (``ff_files``: ``#include`` d in
order; they define the atom types and the molecule types). The relaxation builds the AA
``System`` with ``mdzoom.core.gromacs.load_gromacs``, whose bonded terms come from the
handlers registered in the plugin registry (``gromacs:<section>:<func>``), so whichever
plugin provides the force field is used without being imported here.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from ..mapping.definitions import MappingError
from .placement import (chirality_ok, fix_chirality, fix_stereo, make_beads_whole,
                        place_molecules, stereo_ok)
from .templates import mapping_definitions, match_labels

__all__ = ["backmap", "relax_backmapped", "BackmappedSystem", "read_ff_molecule_types"]


@dataclass
class BackmappedSystem:
    """The all-atom result.

    Attributes
    ----------
    positions : (N, 3) [nm]      relaxed (or only placed, with ``relax=False``)
    placed : (N, 3) [nm]         as placed from the templates, before relaxation
    box : (3, 3) [nm]
    names, resnames : list[str]; resids : (N,) int
    molecules : list[(str, int)] AA ``[ molecules ]`` in the CG order
    ff_files : list[str]         force-field files the .top includes
    heavy : (N,) bool            heavy atoms
    report : dict                counts, fixed chiral centres, energies, timings
    system, state                the relaxed AA System and State (None without relax)
    context : dict               what ``relax_backmapped`` needs (restraints, plans)
    """

    positions: np.ndarray
    placed: np.ndarray
    box: np.ndarray
    names: list
    resnames: list
    resids: np.ndarray
    molecules: list
    ff_files: list
    heavy: np.ndarray
    report: dict = field(default_factory=dict)
    system: object = None
    state: object = None
    context: dict = None

    def frame(self, positions=None):
        from mdzoom.core.io import Frame

        return Frame(self.positions if positions is None else positions, self.box,
                     self.names, self.resnames, self.resids, title="backmapped by mdzoom")

    def write_gro(self, path, positions=None):
        from mdzoom.core.io import write_structure

        write_structure(os.fspath(path), self.frame(positions))

    def write_top(self, path, absolute=False):
        """``#include`` s of the force-field files (relative to the .top's folder unless
        ``absolute``), then ``[ system ]`` and ``[ molecules ]``."""
        path = os.fspath(path)
        start = os.path.dirname(os.path.abspath(path))
        inc = [os.path.abspath(f) if absolute else os.path.relpath(os.path.abspath(f), start)
               for f in self.ff_files]
        lines = ["; all-atom topology written by mdzoom backmap", ""]
        lines += [f'#include "{f}"' for f in inc]
        lines += ["", "[ system ]", "backmapped by mdzoom", "", "[ molecules ]"]
        lines += [f"{n:<12s} {c}" for n, c in self.molecules]
        with open(path, "w") as fh:
            fh.write("\n".join(lines) + "\n")


def read_ff_molecule_types(ff_files, include_dirs=()):
    """Molecule types defined by the force-field files: ``{name: MoleculeType}`` (graphs
    with elements, masses, names)."""
    from mdzoom.core.gromacs import topology_from_gromacs
    from mdzoom.core.io.top import read_top

    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.top")
        with open(probe, "w") as fh:
            fh.write("".join(f'#include "{os.path.abspath(f)}"\n' for f in ff_files))
        top = read_top(probe, include_dirs=tuple(include_dirs))
        names = list(top.molecule_types)
        if not names:
            raise MappingError(f"no [ moleculetype ] in {', '.join(map(str, ff_files))}")
        top.molecules = [(n, 1) for n in names]
        topo = topology_from_gromacs(top)
    return {n: topo.molecule_type(n) for n in names}


def _cg_blocks(cg_topology):
    if hasattr(cg_topology, "molecules"):
        blocks = list(cg_topology.molecules)
    else:
        blocks = list(cg_topology)
    return [(str(n), int(c)) for n, c in blocks]


def backmap(cg_topology, cg_positions, box, templates, ff_files, *, forcefield="charmm36",
            include_dirs=(), relax=True, seed=0, minimize_steps=500, md_steps=200,
            md_dt=0.0005, temperature=300.0, k_heavy=1000.0, k_bead=5000.0,
            k_torsion=250.0, threads=None, progress=None, log=None, cg_names=None,
            cg_resnames=None, protein_templates=None):
    """Backmap a CG system to all atoms.

    Parameters
    ----------
    cg_topology : Topology or MappedSystem or list[(cg molecule, count)]
        Only the ``[ molecules ]`` blocks are used (bead counts from the templates), and
        the bead and residue names when it has them (``names``, ``resnames``).
    cg_positions : (M, 3) [nm]
    box : (3, 3) [nm]
    templates : dict[str, BackmapTemplate]   ``load_templates(forcefield)``
    ff_files : list[str]      AA GROMACS files (.itp), ``#include`` d in this order
    forcefield : str          name of the AA force field (for messages and checks that
        the templates were made for it)
    relax : bool              energy minimisation, restrained MD, energy minimisation
    minimize_steps, md_steps, md_dt [ps], temperature [K]
    k_heavy : float [kJ mol⁻¹ nm⁻²]   position restraints of heavy atoms on their placed
        positions (during MD only)
    k_bead : float [kJ mol⁻¹ nm⁻²]    restraint of each bead's mapped centre on the CG bead
        (all stages)
    k_torsion : float [kJ/mol]        k of the restraint k (1 − cos(φ − φ_ref)) holding each
        double and amide bond in its template cis/trans form (all stages)
    log : callable(str) or None       progress messages (the CLI prints them)
    cg_names, cg_resnames : list[str] or None   bead and residue names of the CG
        structure (default: ``cg_topology.names`` / ``.resnames`` when it has them);
        they pick the all-atom protein molecule type of a CG protein
    protein_templates : ProteinTemplates or None   amino-acid templates (default: those
        shipped for ``forcefield``, ``data/<forcefield>/aminoacids``)

    A CG molecule with no template is taken as a protein: the all-atom molecule type
    (from ``ff_files``) is split into residues and matched by the forward mapping's
    residue matcher (graph isomorphism); the one whose beads and residue names equal the
    CG molecule's (or, without names, the one of the same name) is placed residue by
    residue (``protein.place_protein``).

    Returns
    -------
    BackmappedSystem
    """
    t0 = time.perf_counter()
    say = log or (lambda s: None)
    x_cg = np.asarray(cg_positions, dtype=np.float64)
    box = np.asarray(box, dtype=np.float64).reshape(3, 3) if box is not None else None
    rng = np.random.default_rng(seed)
    defs = mapping_definitions()
    aa_types = read_ff_molecule_types(ff_files, include_dirs)
    blocks = _cg_blocks(cg_topology)
    if cg_names is None and not isinstance(cg_topology, (list, tuple)):
        cg_names = getattr(cg_topology, "names", None)
        cg_resnames = getattr(cg_topology, "resnames", None)
    ptemplates = protein_templates
    protein_plans = {}
    pos_parts, names, resnames, resids, molecules, heavy = [], [], [], [], [], []
    bead_groups = []           # (atom indices (count, k), weights (nb, k), beads (count, nb, 3))
    # *_wrong: torsions placed from the templates in the wrong cis/trans form; *_fixed:
    # of those, repaired at placement; *_wrong_after_relax: filled by _final_checks
    report = {"forcefield": forcefield, "chiral_fixed": 0, "chiral_centres": 0,
              "double_bonds": 0, "double_bonds_wrong": 0, "double_bonds_fixed": 0,
              "amide_bonds": 0, "amide_bonds_wrong": 0, "amide_bonds_fixed": 0,
              "hydrogens_built": 0, "hydrogens_dropped": 0, "notes": []}
    tors_atoms, tors_phi = [], []
    type_cache = {}
    off_cg, off_aa, resid = 0, 0, 0
    for cg_name, count in blocks:
        t = templates.get(cg_name)
        if t is None:
            if ptemplates is None:
                from .protein import load_protein_templates

                ptemplates = load_protein_templates(forcefield)
            if cg_name not in type_cache:
                type_cache[cg_name] = _find_protein_type(
                    cg_name, aa_types, protein_plans, off_cg, cg_names, cg_resnames,
                    templates, forcefield, ff_files)
            if type_cache[cg_name] is not None and ptemplates is not None:
                plan = type_cache[cg_name]
                nb = len(plan.beads)
                stride = cg_particles_per_copy(cg_topology, cg_name, nb)
                beads = x_cg[off_cg:off_cg + count * stride].reshape(
                    count, stride, 3)[:, :nb].copy()
                off_cg += count * stride
                if stride > nb:
                    report["virtual_sites_skipped"] = report.get("virtual_sites_skipped", 0) \
                        + count * (stride - nb)
                xs, tors = _protein_block(plan, beads, box, ptemplates, report)
                n_at = plan.n_particles
                tors_atoms.append((off_aa + np.arange(count)[:, None, None] * n_at +
                                   tors[None]).reshape(-1, 4))
                tors_phi.append(np.full(count * len(tors), np.pi))
                pos_parts.append(xs.reshape(-1, 3))
                names, resnames, resids, resid, heavy, molecules = _add_names(
                    aa_types[plan.name], count, names, resnames, resids, resid, heavy,
                    molecules)
                idx = off_aa + np.arange(count)[:, None] * n_at + plan.atoms[None, :]
                bead_groups.append((idx, plan.weights, beads))
                off_aa += count * n_at
                continue
            if type_cache[cg_name] is not None:
                raise MappingError(f"CG molecule {cg_name!r} is a protein, but there are no "
                                   f"{forcefield} amino-acid templates (data/{forcefield}/"
                                   f"aminoacids)")
        if t is None:
            raise MappingError(f"no backmapping template for CG molecule {cg_name!r} "
                               f"({forcefield}); available: {', '.join(sorted(templates))}")
        if t.forcefield != forcefield:
            raise MappingError(f"template {cg_name} was made for {t.forcefield}, not "
                               f"{forcefield}")
        d = defs[t.definition]
        nb = len(t.beads)
        beads = x_cg[off_cg:off_cg + count * nb].reshape(count, nb, 3).copy()
        off_cg += count * nb
        if cg_name not in type_cache:
            type_cache[cg_name] = _find_aa_type(t, d, aa_types, forcefield, ff_files)
        mt, order = type_cache[cg_name]
        beads = make_beads_whole(beads, t, d, box)
        xs = place_molecules(t, beads, rng)                   # (count*cluster, n_t, 3)
        if t.chiral:
            report["chiral_centres"] += len(t.chiral) * len(xs)
            report["chiral_fixed"] += fix_chirality(t, xs, d.graph)
        n_mol = len(xs)
        n_at = mt.n_particles
        if t.stereo:
            kinds = np.array([s[5] for s in t.stereo])
            wrong = ~stereo_ok(t, xs)
            fixed = fix_stereo(t, xs, d.graph)
            pos = {k: i for i, k in enumerate(t.labels)}
            for kind in ("double", "amide"):
                report[f"{kind}_bonds"] += int((kinds == kind).sum()) * n_mol
                report[f"{kind}_bonds_wrong"] += int(wrong[:, kinds == kind].sum())
                report[f"{kind}_bonds_fixed"] += fixed[kind]
            local = order[np.array([[pos[k] for k in s[:4]] for s in t.stereo])]   # (m, 4)
            tors_atoms.append((off_aa + np.arange(n_mol)[:, None, None] * n_at +
                               local[None]).reshape(-1, 4))
            tors_phi.append(np.tile([0.0 if s[4] == "cis" else np.pi for s in t.stereo],
                                    n_mol))
        x_mol = np.zeros((n_mol, n_at, 3))
        x_mol[:, order] = xs                                  # template order → topology
        pos_parts.append(x_mol.reshape(-1, 3))
        names, resnames, resids, resid, heavy, molecules = _add_names(
            mt, n_mol, names, resnames, resids, resid, heavy, molecules)
        # bead-centre restraint groups (forward-mapping weights, topology indices)
        w = _weights(t, d, mt, order)
        per = t.cluster
        idx = off_aa + np.arange(count)[:, None] * (n_at * per) + \
            np.concatenate([np.arange(n_at) + k * n_at for k in range(per)])[None, :]
        wfull = np.tile(w, (1, per)) / per
        bead_groups.append((idx, wfull, beads))
        off_aa += n_mol * n_at
    placed = np.concatenate(pos_parts)
    out = BackmappedSystem(positions=placed.copy(), placed=placed, box=box, names=names,
                           resnames=resnames, resids=np.concatenate(resids),
                           molecules=molecules, ff_files=[os.fspath(f) for f in ff_files],
                           heavy=np.concatenate(heavy), report=report)
    report["t_place"] = time.perf_counter() - t0
    say(f"placed {len(placed)} atoms from {len(x_cg)} beads in {report['t_place']:.2f} s; "
        f"chiral centres repaired: {report['chiral_fixed']} of {report['chiral_centres']}; "
        f"cis/trans repaired: double bonds {report['double_bonds_fixed']} of "
        f"{report['double_bonds']}, amide bonds {report['amide_bonds_fixed']} of "
        f"{report['amide_bonds']}")
    out.context = {"bead_groups": bead_groups, "templates": templates, "blocks": blocks,
                   "type_cache": type_cache, "include_dirs": include_dirs,
                   "centres": report.pop("_centres", {}),
                   "torsions": (np.concatenate(tors_atoms) if tors_atoms else
                                np.zeros((0, 4), np.int64),
                                np.concatenate(tors_phi) if tors_phi else np.zeros(0))}
    if relax:
        relax_backmapped(out, seed=seed, minimize_steps=minimize_steps, md_steps=md_steps,
                         md_dt=md_dt, temperature=temperature, k_heavy=k_heavy,
                         k_bead=k_bead, k_torsion=k_torsion, threads=threads,
                         progress=progress, log=log)
    report["t_total"] = time.perf_counter() - t0
    return out


def relax_backmapped(out, *, seed=0, minimize_steps=500, md_steps=200, md_dt=0.0005,
                     temperature=300.0, k_heavy=1000.0, k_bead=5000.0, k_torsion=250.0,
                     threads=None, progress=None, log=None):
    """Relax a system placed by ``backmap(..., relax=False)`` from ``out.placed`` (with
    the same restraints ``backmap`` uses: bead centres, heavy atoms during MD, and the
    cis/trans torsions), then count chirality and cis/trans violations into
    ``out.report``. Parameters as ``backmap``'s."""
    from .relax import relax_system

    ctx = out.context
    if ctx is None:
        raise ValueError("relax_backmapped needs a system placed by backmap()")
    relax_system(out, ctx["bead_groups"], include_dirs=ctx["include_dirs"], seed=seed,
                 minimize_steps=minimize_steps, md_steps=md_steps, md_dt=md_dt,
                 temperature=temperature, k_heavy=k_heavy, k_bead=k_bead,
                 torsions=ctx["torsions"], k_torsion=k_torsion, threads=threads,
                 progress=progress, say=log or (lambda s: None))
    _final_checks(out, ctx["templates"], ctx["blocks"], ctx["type_cache"], ctx["centres"])
    return out


def _final_checks(out, templates, blocks, type_cache, centres=None):
    """Chirality and cis/trans of the relaxed structure (counts of violations; bond
    vectors by minimum image, as the relaxed positions may be wrapped)."""
    from .protein import ProteinPlan, peptide_omegas, protein_chirality_ok

    off = 0
    bad_chi = 0
    bad = {"double": 0, "amide": 0}
    omegas = []
    for cg_name, count in blocks:
        entry = type_cache.get(cg_name)
        if isinstance(entry, ProteinPlan):
            n = entry.n_particles
            x = out.positions[off:off + count * n].reshape(count, n, 3)
            off += count * n
            cen = (centres or {}).get(entry.name)
            if cen is not None:
                bad_chi += int((~protein_chirality_ok(x, cen, out.box)).sum())
            om = np.abs(peptide_omegas(x, entry.peptide_torsions, out.box))
            bad["amide"] += int((om < np.pi / 2).sum())
            omegas.append(om.ravel())
            continue
        t = templates[cg_name]
        mt, order = entry
        n = count * t.cluster
        x = out.positions[off:off + n * mt.n_particles].reshape(n, mt.n_particles, 3)
        off += n * mt.n_particles
        xs = x[:, order]
        if t.chiral:
            bad_chi += int((~chirality_ok(t, xs, out.box)).sum())
        if t.stereo:
            wrong = ~stereo_ok(t, xs, out.box)
            kinds = np.array([s[5] for s in t.stereo])
            for kind in bad:
                bad[kind] += int(wrong[:, kinds == kind].sum())
    out.report["chiral_inverted_after_relax"] = bad_chi
    out.report["double_bonds_wrong_after_relax"] = bad["double"]
    out.report["amide_bonds_wrong_after_relax"] = bad["amide"]
    if omegas and len(np.concatenate(omegas)):
        out.report["omega_min_abs_deg"] = float(np.degrees(np.concatenate(omegas).min()))


def _add_names(mt, n_mol, names, resnames, resids, resid, heavy, molecules):
    """Append the atom names, residue names and numbers (one per residue of the
    topology, counting on), heavy-atom flags and the ``[ molecules ]`` block of
    ``n_mol`` copies of ``mt``."""
    g = mt.graph
    n_at = mt.n_particles
    names += [g.nodes[i].get("name", "X") for i in range(n_at)] * n_mol
    resnames += [g.nodes[i].get("resname", mt.name) for i in range(n_at)] * n_mol
    rid = np.array([int(g.nodes[i].get("resid", 1)) for i in range(n_at)])
    _, local = np.unique(rid, return_inverse=True)
    n_res = int(local.max()) + 1 if n_at else 1
    resids.append((resid + 1 + local[None, :] + n_res * np.arange(n_mol)[:, None]).ravel())
    resid += n_res * n_mol
    el = np.array([str(g.nodes[i].get("element", "")) != "H" and
                   float(g.nodes[i].get("mass", 1.0)) > 1.5 for i in range(n_at)])
    heavy.append(np.tile(el, n_mol))
    if molecules and molecules[-1][0] == mt.name:
        molecules[-1] = (mt.name, molecules[-1][1] + n_mol)
    else:
        molecules.append((mt.name, n_mol))
    return names, resnames, resids, resid, heavy, molecules


#: protonation/tautomer residue names (CHARMM, AMBER) → the amino acid, for comparing the
#: residue names of CG beads (martinize2 keeps the input's, e.g. HSD) with the plan's
_RESIDUE_VARIANTS = {"HSD": "HIS", "HSE": "HIS", "HSP": "HIS", "HID": "HIS", "HIE": "HIS",
                     "HIP": "HIS", "HIH": "HIS", "CYX": "CYS", "CYM": "CYS", "ASH": "ASP",
                     "ASPP": "ASP", "GLH": "GLU", "GLUP": "GLU", "LYN": "LYS", "LSN": "LYS"}


def _residue_kind(resname) -> str:
    name = str(resname)[:5]
    return _RESIDUE_VARIANTS.get(name, name)


def cg_particles_per_copy(cg_topology, name, n_beads) -> int:
    """Particles per copy of CG molecule ``name`` whose residues give ``n_beads`` beads.

    More than ``n_beads`` when the CG molecule type (``cg_topology`` a core ``Topology``
    or a parsed ``GromacsTopology``) carries extra *virtual sites* after the residue beads
    — the Gō-model sites of GōMartini 3 (martinize2 ``-go``: one mass-less ``CA`` site on
    every backbone bead, appended to the molecule): these are skipped, the residue beads
    carry all the backmapping needs. Any other extra particle is an error. With only
    ``[ molecules ]`` blocks (no molecule types), ``n_beads``.
    """
    masses = None
    if hasattr(cg_topology, "molecule_type"):
        try:
            g = cg_topology.molecule_type(name).graph
        except KeyError:
            g = None
        if g is not None:
            masses = [float(g.nodes[i].get("mass", 1.0)) for i in range(g.number_of_nodes())]
    elif isinstance(getattr(cg_topology, "molecule_types", None), dict) and \
            name in cg_topology.molecule_types:
        masses = [float(a.mass) for a in cg_topology.molecule_types[name].atoms]
    if masses is None or len(masses) == n_beads:
        return n_beads
    extra = masses[n_beads:]
    if len(masses) < n_beads or any(m > 0 for m in extra):
        raise MappingError(
            f"CG molecule {name!r} has {len(masses)} particles, its residues give {n_beads} "
            "beads; backmapping skips only mass-less virtual sites after the residue beads "
            "(Gō-model sites), and these are not")
    return len(masses)


def _find_protein_type(cg_name, aa_types, plans, off_cg, cg_names, cg_resnames, templates,
                       forcefield, ff_files):
    """The ProteinPlan of the all-atom molecule type that backmaps CG molecule
    ``cg_name`` (beads from ``off_cg``): its residues are matched by graph isomorphism;
    with CG names, the one whose beads and residue names equal the CG's (the one named
    ``cg_name`` first), else the one named ``cg_name``. None when no type is a protein."""
    from .protein import protein_plan

    why = {}
    for name, mt in aa_types.items():
        if name not in plans:
            plans[name] = protein_plan(mt)
        if plans[name][0] is None:
            why[name] = plans[name][1]
    cands = [p for p, _ in plans.values() if p is not None]
    cands.sort(key=lambda p: p.name != cg_name)
    if cg_names is not None:
        for p in cands:
            nb = len(p.beads)
            if list(cg_names[off_cg:off_cg + nb]) == p.beads and (
                    cg_resnames is None or
                    [_residue_kind(r) for r in cg_resnames[off_cg:off_cg + nb]] ==
                    [_residue_kind(r) for r in p.bead_resnames]):
                return p
    else:
        for p in cands:
            if p.name == cg_name:
                return p
    if cands:
        raise MappingError(
            f"CG molecule {cg_name!r}: no template and no all-atom protein in the "
            f"{forcefield} files ({', '.join(map(str, ff_files))}) whose residues give its "
            f"beads; proteins there: " + ", ".join(
                f"{p.name} ({len(p.residues)} residues, {len(p.beads)} beads)" for p in cands)
            + f"; templates: {', '.join(sorted(templates))}")
    return None


def _protein_block(plan, beads, box, ptemplates, report):
    """Place ``count`` copies of a protein: (count, n, 3) positions, (m, 4) ω torsions."""
    from .protein import place_protein

    beads = _protein_beads_whole(plan, beads, box)
    xs, info = place_protein(ptemplates, plan, beads)
    report["chiral_centres"] += info["chiral_centres"]
    report["chiral_fixed"] += info["chiral_fixed"]
    report["amide_bonds"] += len(plan.peptide_torsions) * len(beads)
    report["amide_bonds_wrong"] += info["amide_wrong"]
    report["amide_bonds_fixed"] += info["amide_fixed"]
    report["hydrogens_built"] += info["built_h"]
    report["hydrogens_dropped"] += info["dropped_h"]
    report.setdefault("_centres", {})[plan.name] = info["centres"]
    return xs, plan.peptide_torsions


def _protein_beads_whole(plan, beads, box):
    """Make each copy whole along its chains (BB–BB, BB–SC and SC–SC inside residues;
    consecutive chains joined for this purpose)."""
    import networkx as nx

    from ..mapping.clustering import minimum_image
    from .templates import bead_graph

    if box is None:
        return beads
    g = nx.Graph()
    g.add_nodes_from(range(len(plan.beads)))
    for r, m in zip(plan.residues, plan.definition.residues):
        for u, v in bead_graph(m.definition).edges:
            g.add_edge(r.first_bead + u, r.first_bead + v)
    order = [i for chain in plan.chains for i in chain]
    for i, j in zip(order, order[1:]):
        g.add_edge(plan.residues[i].first_bead, plan.residues[j].first_bead)
    for parent, child in nx.bfs_edges(g, 0):
        beads[:, child] = beads[:, parent] + minimum_image(beads[:, child] - beads[:, parent],
                                                           box)
    return beads


def _find_aa_type(t, d, aa_types, forcefield, ff_files):
    """The AA molecule type that matches the template's definition, and the template →
    topology atom order."""
    for name, mt in aa_types.items():
        g = mt.graph
        comp = sorted(n for n in g.nodes if float(g.nodes[n].get("mass", 1.0)) > 0)
        if len(comp) != t.n_atoms:
            continue
        lab = match_labels(g, comp, d)
        if lab is None or set(lab) != set(t.labels):
            continue
        order = np.array([lab[k] for k in t.labels], dtype=np.int64)
        if mt.n_particles != len(order):
            raise MappingError(f"{forcefield} molecule type {name} has virtual sites; "
                               f"backmapping does not place them yet")
        return mt, order
    raise MappingError(
        f"no [ moleculetype ] in the {forcefield} files ({', '.join(map(str, ff_files))}) "
        f"matches {t.definition} (for CG {t.cg_molecule}; {t.n_atoms} atoms, matched by "
        f"bonds and elements); molecule types there: {', '.join(aa_types)}")


def _weights(t, d, mt, order):
    """(n_beads, n_atoms) forward-mapping weights in topology order (rows sum to 1)."""
    dlab = {a["label"]: n for n, a in d.graph.nodes(data=True)}
    w = np.zeros((len(d.beads), mt.n_particles))
    for k, i in zip(t.labels, order):
        node = dlab[k.split(":")[0]]
        for b, bw in enumerate(d.weights):
            if node in bw:
                f = float(mt.graph.nodes[i].get("mass", 1.0)) if d.center == "mass" else 1.0
                w[b, i] = bw[node] * f
    return w / w.sum(axis=1, keepdims=True)


def progress_printer(prefix="mdzoom backmap"):
    return lambda s: print(f"{prefix}: {s}", file=sys.stderr, flush=True)
