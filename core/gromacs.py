"""Build a ``System`` from GROMACS inputs (``.top`` + ``.gro`` [+ ``.mdp``]).

The core owns the readers and the non-bonded physics (LJ with the three combination
rules and ``nonbond_params``, cutoff / reaction-field / PME electrostatics, dispersion
correction, constraints). Bonded interactions are supplied by plugins: every
``(section, function type)`` of a topology is looked up in the registry as a force
named ``"gromacs:<section>:<func>"`` — e.g. ``"gromacs:angles:5"`` — whose registered
object is a callable ``handler(atoms, params, context) -> Force | None``:

``atoms`` (M, k) int64 global particle indices; ``params`` (M, p) float64 parameters as
written in the topology (degrees stay degrees); ``context`` a ``GromacsContext`` with
the defaults, per-atom charges/types and the frame (for position restraints).

The core itself handles ``[ settles ]``, ``[ constraints ]``, ``[ virtual_sites3 ]``
(functions 1 ``3``, 2 ``3fd``, 3 ``3fad``, 4 ``3out`` become one ``VirtualSites3``,
``VirtualSites3FD``, ``VirtualSites3FAD``, ``VirtualSites3OUT`` per function in
``System.virtual_sites``, with the topology's parameters; 3fad's θ [deg], d [nm]) and
``[ virtual_sitesn ]`` (functions 1, 2, 3 become one ``VirtualSitesN`` per function, with
the weights the reader resolved: 1, the constructing atoms' ``[ atoms ]`` masses — in
Martini the site itself has mass 0 and its constructing beads carry the mass — or the
given weights). Like grompp
(checked with gmx_d 2022.5), a virtual site gets no generated exclusions: only those
of the topology's ``[ exclusions ]`` (TIP4P lists them).

So the all-atom plugin registers the AMBER/CHARMM/OPLS function types and the Martini
plugin adds its own (angle type 10, …) without either importing the other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .state import State
from .system import System
from .topology import MoleculeType, Topology

__all__ = ["GromacsContext", "build_system", "load_gromacs", "gromacs_lj_tables",
           "topology_from_gromacs",
           "EXCLUSION_BONDS", "ELEMENTS"]

#: function types of [ bonds ] that are chemical bonds (they generate exclusions)
EXCLUSION_BONDS = {1, 2, 3, 4, 5, 7, 8, 9}

ELEMENTS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F", 11: "Na", 12: "Mg", 15: "P", 16: "S",
            17: "Cl", 19: "K", 20: "Ca", 26: "Fe", 29: "Cu", 30: "Zn", 35: "Br", 53: "I"}


@dataclass
class GromacsContext:
    """What a bonded-interaction handler may need besides its atoms and parameters.

    ``generate`` (M,) bool marks, for ``[ pairs ]``, the rows whose parameters GROMACS
    generates from the atom types (gen-pairs; ``generated_c6c12`` includes fudgeLJ).
    """

    topology: object              # the parsed GromacsTopology (defaults, atomtypes, …)
    charges: np.ndarray           # (N,) [e]
    atom_types: list              # (N,) atom type names
    frame: object = None          # structure the positions came from (reference positions)
    mdp: object = None
    generate: np.ndarray | None = None

    @property
    def defaults(self):
        return self.topology.defaults

    def generated_c6c12(self, i, j):
        """(C6, C12) of a generated 1-4 pair of atoms i, j, fudgeLJ applied, as grompp
        makes it (``GromacsTopology.generated_pair_params``)."""
        v, w = self.topology.generated_pair_params(self.atom_types[i], self.atom_types[j])
        return self.to_c6c12(v, w)

    def to_c6c12(self, v, w):
        """Convert (v, w) as written in this topology (σ/ε or C6/C12) to (C6, C12)."""
        return _vw_to_c6c12(v, w, self.topology.defaults.comb_rule)


def gromacs_lj_tables(top, type_names):
    """(c6, c12) tables (T, T) [kJ mol⁻¹ nm⁶, nm¹²] for the given atom type names:
    ``[ nonbond_params ]`` where listed, else the topology's combination rule
    (``GromacsTopology.nonbonded_params``)."""
    nt = len(type_names)
    c6 = np.zeros((nt, nt))
    c12 = np.zeros((nt, nt))
    for a, ta in enumerate(type_names):
        for b, tb in enumerate(type_names):
            v, w = top.nonbonded_params(ta, tb)
            c6[a, b], c12[a, b] = _vw_to_c6c12(v, w, top.defaults.comb_rule)
    return c6, c12


def _vw_to_c6c12(v, w, comb):
    if comb == 1:
        return v, w
    return 4 * w * v ** 6, 4 * w * v ** 12


def _molecule_graph(mdef, top):
    g = nx.Graph()
    for k, a in enumerate(mdef.atoms):
        atype = top.atomtypes.get(a.type)
        z = getattr(atype, "atomic_number", 0) if atype is not None else 0
        g.add_node(k, name=a.name, type=a.type, resname=a.residue, resid=int(a.resnr),
                   mass=float(a.mass), charge=float(a.charge),
                   element=ELEMENTS.get(int(z or 0), ""))
    inter = mdef.interactions
    for it in inter.get("bonds", ()):
        if it.func in EXCLUSION_BONDS:
            g.add_edge(*it.atoms[:2])
    for it in inter.get("constraints", ()):
        if it.func == 1:
            g.add_edge(*it.atoms[:2])
    for it in inter.get("settles", ()):
        o = it.atoms[0]
        g.add_edge(o, o + 1)
        g.add_edge(o, o + 2)
        g.add_edge(o + 1, o + 2)
    excl = []
    for it in inter.get("exclusions", ()):
        first = it.atoms[0]
        excl.extend((first, other) for other in it.atoms[1:])
    if excl:
        g.graph["exclusions"] = excl
    return MoleculeType(mdef.name, g, nrexcl=int(mdef.nrexcl))


def _gather_interactions(top):
    """{(section, func): (atoms (M,k), params list)} over the whole system, global indices."""
    out = {}
    offset = 0
    for name, count in top.molecules:
        mdef = top.molecule_types[name]
        n = len(mdef.atoms)
        for section, items in mdef.interactions.items():
            if section in ("exclusions",):
                continue
            for it in items:
                key = (section, int(it.func))
                atoms, params, gen = out.setdefault(key, ([], [], []))
                for c in range(count):
                    atoms.append([a + offset + c * n for a in it.atoms])
                    params.append(tuple(it.params))
                    gen.append(getattr(it, "generate", False))
        offset += n * count
    return out


def topology_from_gromacs(top):
    """The mdzoom ``Topology`` of a parsed ``GromacsTopology``: one molecule graph per
    molecule type (nodes: name, type, resname, resid, mass, charge, element from the atom
    type's atomic number; edges: bonds, constraints, settles) and the ``[ molecules ]``
    counts. Builds no forces, so it is fast (what a mapping needs)."""
    mol_types = [_molecule_graph(top.molecule_types[name], top)
                 for name in dict.fromkeys(n for n, _ in top.molecules)]
    return Topology(mol_types, [(n, c) for n, c in top.molecules])


def build_system(top, frame, mdp=None, registry=None):
    """System + State from a parsed topology, a frame (positions, box) and mdp options.

    Returns ``(system, state, settings)``; ``settings`` records the run options the
    System does not hold (integrator, dt, nsteps, temperature coupling …).
    """
    from .constraints import DistanceConstraints, Settle
    from .nonbonded import Nonbonded
    from .plugins import get_plugin_manager
    from .virtual_sites import (VirtualSites3, VirtualSites3FAD, VirtualSites3FD,
                                VirtualSites3OUT, VirtualSitesN)

    # [ virtual_sites3 ] function → description; parameters in topology order (3fad: θ, d)
    _VSITES3 = {1: VirtualSites3, 2: VirtualSites3FD, 3: VirtualSites3FAD,
                4: VirtualSites3OUT}
    registry = registry or get_plugin_manager().registry
    topology = topology_from_gromacs(top)
    if frame.positions.shape[0] != topology.n_particles:
        raise ValueError(f"the structure has {frame.positions.shape[0]} atoms, the topology's "
                         f"[ molecules ] add up to {topology.n_particles}")
    box = frame.box
    if box is None:
        raise ValueError("the structure has no box; GROMACS-style runs need one")
    opts = _mdp_settings(mdp)
    charges = np.asarray(topology.charges)
    atom_types = [topology.type_names[t] for t in topology.type_ids]
    ctx = GromacsContext(top, charges, atom_types, frame, mdp)
    forces = []
    # --- non-bonded
    c6, c12 = gromacs_lj_tables(top, topology.type_names)
    c6c12 = {(ta, tb): (c6[a, b], c12[a, b]) for a, ta in enumerate(topology.type_names)
             for b, tb in enumerate(topology.type_names)}
    nb = Nonbonded(cutoff=opts["rc"], lj={t: (0.0, 0.0) for t in topology.type_names},
                   modifier=opts["vdw_modifier"], switch_distance=opts["rvdw_switch"],
                   c6c12_overrides=c6c12, coulomb=opts["coulomb"],
                   epsilon_r=opts["epsilon_r"], epsilon_rf=opts["epsilon_rf"],
                   **opts["nonbonded_extra"])
    forces.append(nb)
    if opts["reciprocal"] is not None:
        forces.append(opts["reciprocal"])
    # --- bonded, from plugins
    constraints = []
    virtual_sites = []
    con_pairs, con_lengths = [], []        # one SHAKE set: coupled constraints solve together
    hcon = opts["constraints"]
    for (section, func), (atoms, params, gen) in sorted(_gather_interactions(top).items()):
        if section == "virtual_sitesn":
            # ragged rows (site, c1..cn) with the reader's resolved weights (w1..wn)
            virtual_sites.append(VirtualSitesN.from_lists([a[0] for a in atoms],
                                                          [a[1:] for a in atoms], params))
            continue
        atoms = np.asarray(atoms, dtype=np.int64)
        if section == "settles":
            p = np.asarray(params, dtype=float)
            constraints.append(Settle(atoms[:, 0], float(p[0, 0]), float(p[0, 1])))
            continue
        if section == "virtual_sites3":
            if func not in _VSITES3:
                raise NotImplementedError(f"[ virtual_sites3 ] function {func} is not "
                                          "supported; available: 1 (3), 2 (3fd), 3 (3fad), "
                                          "4 (3out)")
            p = np.asarray(params, dtype=float)
            kind = _VSITES3[func]
            virtual_sites.append(kind(atoms[:, 0], atoms[:, 1:4],
                                      *(p[:, c] for c in range(p.shape[1]))))
            continue
        if section == "constraints":
            p = np.asarray(params, dtype=float)
            con_pairs.append(atoms[:, :2])
            con_lengths.append(p[:, 0])
            continue
        if section == "bonds" and hcon != "none" and func in (1, 2):
            p = np.asarray(params, dtype=float)
            is_h = np.array([[ctx_el == "H" for ctx_el in
                              (topology.elements[i], topology.elements[j])] for i, j in atoms])
            take = is_h.any(axis=1) if hcon == "h-bonds" else np.ones(len(atoms), bool)
            if take.any():
                con_pairs.append(atoms[take])
                con_lengths.append(p[take, 0])
            atoms, params = atoms[~take], [q for q, t in zip(params, take) if not t]
            gen = [x for x, t in zip(gen, take) if not t]
            if len(atoms) == 0:
                continue
        handler = registry.get_force(f"gromacs:{section}:{func}")
        width = max(len(q) for q in params) if params else 0
        p = np.full((len(params), width), np.nan)
        for r, q in enumerate(params):
            p[r, :len(q)] = q
        ctx.generate = np.asarray(gen, dtype=bool)
        force = handler(atoms, p, ctx)
        if force is not None:
            forces.append(force)
    if con_pairs:
        constraints.append(DistanceConstraints(np.concatenate(con_pairs),
                                               np.concatenate(con_lengths)))
    system = System(topology, box, forces, constraints, virtual_sites)
    v = frame.velocities if frame.velocities is not None else None
    state = State(frame.positions, v, box=box)
    return system, state, opts


_COULOMB = {"cut-off": "cutoff", "reaction-field": "reaction-field", "pme": "pme",
            "ewald": "ewald"}
_MODIFIERS = {"potential-shift": "potential-shift", "none": "none",
              "force-switch": "force-switch", "potential-shift-verlet": "potential-shift"}


def _mdp_settings(mdp):
    """Translate mdp options into our force/constraint settings (GROMACS defaults)."""
    get = (lambda k, d=None: mdp.get(k, d)) if mdp is not None else (lambda k, d=None: d)
    rvdw = float(get("rvdw", 1.0))
    rcoul = float(get("rcoulomb", 1.0))
    if abs(rvdw - rcoul) > 1e-12:
        raise ValueError(f"rvdw = {rvdw} and rcoulomb = {rcoul} differ; mdzoom uses one "
                         "cutoff for both (as GROMACS does for most setups)")
    ctype = str(get("coulombtype", "Cut-off")).lower()
    if ctype not in _COULOMB:
        raise ValueError(f"coulombtype {ctype!r} is not supported; available: "
                         "Cut-off, Reaction-Field, Ewald, PME")
    vmod = str(get("vdw-modifier", "Potential-shift")).lower()
    if vmod not in _MODIFIERS:
        raise ValueError(f"vdw-modifier {vmod!r} is not supported; available: "
                         "Potential-shift, None, Force-switch")
    coulomb = _COULOMB[ctype]
    eps_r = float(get("epsilon-r", 1.0))
    eps_rf = float(get("epsilon-rf", 0.0 if coulomb == "reaction-field" else 1.0))
    if coulomb == "cutoff":                      # GROMACS Verlet: RF with ε_rf = 1
        coulomb, eps_rf = "reaction-field", 1.0
    extra = {}
    if coulomb == "reaction-field":              # RF terms of excluded and self pairs
        extra["rf_exclusion_correction"] = True
    disp = str(get("dispcorr", get("DispCorr", "no"))).lower()
    if disp != "no":
        extra["dispersion_correction"] = {"ener": "Ener", "enerpres": "EnerPres"}[disp]
    reciprocal = None
    if coulomb in ("pme", "ewald"):
        from .ewald import PME

        nb_coulomb = coulomb
        geometry = str(get("ewald-geometry", "3d")).lower()
        eps_surface = float(get("epsilon-surface", 0.0))
        if geometry not in ("3d", "3dc"):
            raise ValueError(f"ewald-geometry = {geometry} is not supported; available: "
                             "3d, 3dc")
        if eps_surface != 0:
            raise ValueError(f"epsilon-surface = {eps_surface} is not supported (GROMACS "
                             "takes that dipole term from molecules made whole across the "
                             "box, mdzoom does not); available: epsilon-surface = 0, or "
                             "ewald-geometry = 3dc for slabs")
        reciprocal = PME(rtol=float(get("ewald-rtol", 1e-5)), cutoff=rcoul,
                         spacing=float(get("fourierspacing", 0.12)),
                         order=int(get("pme-order", 4)), epsilon_r=eps_r,
                         geometry=geometry, epsilon_surface=eps_surface)
        extra["ewald_rtol"] = float(get("ewald-rtol", 1e-5))
        coulomb = nb_coulomb
    cons = str(get("constraints", "none")).lower()
    if cons not in ("none", "h-bonds", "all-bonds"):
        raise ValueError(f"constraints = {cons} is not supported; available: none, h-bonds, "
                         "all-bonds")
    return {"rc": rvdw, "coulomb": coulomb, "epsilon_r": eps_r, "epsilon_rf": eps_rf,
            "vdw_modifier": _MODIFIERS[vmod],
            "rvdw_switch": float(get("rvdw-switch", 0.0)) if vmod == "force-switch" else None,
            "nonbonded_extra": extra, "reciprocal": reciprocal, "constraints": cons,
            "integrator": str(get("integrator", "md")), "dt": float(get("dt", 0.001)),
            "nsteps": int(get("nsteps", 0))}


def load_gromacs(top_path, structure_path, mdp_path=None, include_dirs=(), registry=None,
                 index=None):
    """Read ``.top`` + structure (+ ``.mdp``) and build ``(system, state, settings)``.

    ``index``: a GROMACS index file (``.ndx``) for the groups the ``.mdp`` names
    (``freezegrps``); without one, the default groups (``default_groups``) are used.

    ``settings`` also keeps ``"gromacs_topology"`` (the parsed ``GromacsTopology``) and
    ``"gromacs_forces"`` (the class names of the forces built), which
    :func:`mdzoom.core.export.to_gromacs` uses to write the topology back."""
    from .io import read_structure
    from .io.mdp import read_mdp
    from .io.top import read_top

    mdp = read_mdp(mdp_path) if mdp_path else None
    defines = None
    if mdp is not None and mdp.get("define"):
        defines = mdp.get("define")
    top = read_top(os.fspath(top_path), include_dirs=include_dirs, defines=defines)
    frame = read_structure(os.fspath(structure_path))
    mdp, preset = apply_run_defaults(top, mdp)
    system, state, settings = build_system(top, frame, mdp, registry=registry)
    frozen = _frozen_atoms(mdp, system.topology, index)
    if frozen is not None:
        system.constraints.append(frozen)
    settings["preset"] = preset
    settings["mdp"] = mdp
    # what the export (mdzoom.core.export.to_gromacs) writes back: the parsed topology
    # and the forces built from it (forces added later are not in the topology)
    settings["gromacs_topology"] = top
    settings["gromacs_forces"] = [type(f).__name__ for f in system.forces]
    return system, state, settings


def default_groups(topology) -> dict:
    """GROMACS-like default groups: ``System``, every molecule type name and every residue
    name (0-based indices), for ``.mdp`` group options when no index file is given."""
    n = topology.n_particles
    groups = {"System": np.arange(n, dtype=np.int64)}
    start = 0
    by_type: dict = {}
    for name, count in topology.molecules:
        k = topology.molecule_type(name).n_particles * count
        by_type.setdefault(name, []).append(np.arange(start, start + k))
        start += k
    for name, parts in by_type.items():
        groups.setdefault(name, np.concatenate(parts))
    res = np.asarray(topology.resnames)
    for name in dict.fromkeys(topology.resnames):
        groups.setdefault(name, np.flatnonzero(res == name))
    return groups


def _frozen_atoms(mdp, topology, index):
    """A FrozenAtoms for ``freezegrps`` (all three dimensions frozen), or None."""
    if mdp is None or not mdp.get("freezegrps"):
        return None
    from .constraints import FrozenAtoms

    names = list(mdp.get("freezegrps"))
    dims = [str(d).upper() for d in mdp.get("freezedim") or []]
    if len(dims) != 3 * len(names):
        raise ValueError(f"freezedim has {len(dims)} entries; it needs 3 (Y/N for x y z) per "
                         f"freezegrps group ({len(names)} groups)")
    groups = default_groups(topology)
    if index is not None:
        from .io.ndx import read_ndx

        groups.update(read_ndx(index))
    atoms = []
    for k, name in enumerate(names):
        d = dims[3 * k:3 * k + 3]
        if d == ["N", "N", "N"]:
            continue
        if d != ["Y", "Y", "Y"]:
            raise ValueError(f"freezegrps {name!r}: freezedim {' '.join(d)} freezes only some "
                             "dimensions; mdzoom freezes atoms in all three (Y Y Y)")
        if name not in groups:
            raise ValueError(f"freezegrps names group {name!r}, which is neither in the index "
                             f"file{'' if index else ' (none given: -n index.ndx)'} nor a "
                             f"default group; available: {', '.join(list(groups)[:20])}")
        idx = np.asarray(groups[name], dtype=np.int64)
        if idx.size and idx.max() >= topology.n_particles:
            raise ValueError(f"index group {name!r} names atom {int(idx.max()) + 1} of a "
                             f"{topology.n_particles}-atom system")
        atoms.append(idx)
    atoms = np.concatenate(atoms) if atoms else np.zeros(0, np.int64)
    return FrozenAtoms(atoms) if atoms.size else None


def apply_run_defaults(top, mdp):
    """``(options, preset name or None)``: the ``.mdp`` options with a force-field
    family's run defaults (hook ``mdzoom_run_defaults``, e.g. the Martini plugin's
    reaction field ε_r = 15, 1.1 nm, 20 fs) in place of GROMACS's defaults for every
    option the ``.mdp`` does not set; ``mdp`` may be None (no file)."""
    from .io.mdp import MdpOptions, normalize_mdp_key
    from .plugins import get_plugin_manager

    answer = get_plugin_manager().pm.hook.mdzoom_run_defaults(topology=top)
    if not answer:
        return mdp, None
    name, options = answer
    explicit = mdp.explicit if mdp is not None else frozenset()
    values = {normalize_mdp_key(k): v for k, v in options.items()}
    if mdp is not None:
        values.update({k: mdp[k] for k in explicit})
    merged = MdpOptions(values, explicit=explicit,
                        source=mdp.source if mdp is not None else None,
                        path=mdp.path if mdp is not None else None)
    return merged, name
