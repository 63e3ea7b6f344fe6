"""Hand a ``System`` over to GROMACS or OpenMM (when one machine's numba engine is not enough).

>>> import mdzoom.core as mz                                          # doctest: +SKIP
>>> from mdzoom.core.gromacs import load_gromacs                      # doctest: +SKIP
>>> system, state, settings = load_gromacs("topol.top", "conf.gro", "run.mdp")  # doctest: +SKIP
>>> mz.to_gromacs(system, state, settings, "export")                  # doctest: +SKIP
{'top': 'export/topol.top', 'gro': 'export/conf.gro', 'mdp': 'export/run.mdp'}
>>> omm_system, sim = mz.to_openmm_files(system, state, "system.xml")  # doctest: +SKIP

GROMACS (:func:`to_gromacs`)
----------------------------
``topol.top`` is one self-contained file (no ``#include``: the folder is portable).

- A System read from GROMACS files (``load_gromacs``, whose ``settings`` keep the parsed
  ``GromacsTopology``) gets that topology written back (``io.write_top``: every interaction
  with its resolved parameters, all-atom, Martini or mixed alike). Forces added to the
  System after loading are not in that topology: they are refused, by name.
- A System built in Python gets a topology generated from its descriptions:
  ``Nonbonded`` (atom types, charges, C6/C12 of every type pair as comb-rule 1 with
  ``[ nonbond_params ]``, so any combination rule and override is exact), ``PME``,
  ``HarmonicBond`` (``[ bonds ]`` function 1 on graph edges, 6 — no exclusions — on other
  pairs), ``DistanceConstraints`` (``[ constraints ]`` 1 on graph edges, else 2), ``Settle``
  (``[ settles ]``), graph edges without a bond as function 5 (exclusions only) and the
  graph's explicit exclusions. Anything else — another force, virtual sites, interactions
  between molecules, molecules of one type that differ — is refused with a message naming it.

``conf.gro`` has ``precision`` decimals (default 8: positions %13.8f, velocities %13.9f,
box %14.8f); GROMACS reads any precision (it finds the field width from the decimal
points). ``run.mdp`` is the parsed ``.mdp`` (with a force-field preset's defaults made
explicit) for a System read from GROMACS, else translated from the descriptions (see
``docs/export.md`` for the table).

OpenMM (:func:`to_openmm_files`)
--------------------------------
``openmm.XmlSerializer.serialize`` of the System made by
:func:`mdzoom.core.openmm_export.to_openmm` (which converts and refuses; see there), plus a
PDB of the topology and positions beside it; returns the ``openmm.System`` and an
``openmm.app.Simulation`` at the state, on the platform asked for (``None``: OpenMM's
fastest, CUDA or OpenCL where there is a GPU).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["to_gromacs", "to_openmm_files", "gromacs_topology", "mdp_options",
           "write_mdp", "GRO_PRECISION"]

#: decimals of the positions in the exported .gro (5e-9 nm rounding: energies change by
#: ~|F|·5e-9, below 1e-8 relative for ordinary systems)
GRO_PRECISION = 10

_WRITTEN = "Nonbonded (LJ, Coulomb), PME, HarmonicBond; constraints: DistanceConstraints, Settle"


# ============================================================================ GROMACS
def to_gromacs(system, state, settings=None, out_dir="mdzoom-export", *,
               precision=GRO_PRECISION):
    """Write ``out_dir/topol.top``, ``conf.gro`` and ``run.mdp``; returns their paths.

    Frozen atoms (``FrozenAtoms``) also write ``index.ndx`` with the group ``Frozen`` named
    by ``freezegrps`` in ``run.mdp`` (``gmx grompp -n index.ndx``); ``paths["ndx"]``.

    settings : dict or None
        ``load_gromacs``'s settings (its ``"gromacs_topology"`` is written back, its
        ``"mdp"`` becomes ``run.mdp``), or for a System built in Python optional
        ``"integrator"`` (an mdzoom integrator description, with its thermostat and
        barostat), ``"nsteps"`` and ``"mdp"`` (a dict of .mdp options applied last).
    precision : int   decimals of the positions in ``conf.gro``
    """
    from .io import write_gro
    from .io.frame import Frame
    from .io.top_writer import write_top

    settings = dict(settings or {})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    top = gromacs_topology(system, settings)
    options = mdp_options(system, settings)
    paths = {"top": out / "topol.top", "gro": out / "conf.gro", "mdp": out / "run.mdp"}
    write_top(paths["top"], top)
    t = system.topology
    box = state.box if state.box is not None else system.box
    write_gro(paths["gro"], Frame(positions=np.asarray(state.positions, dtype=np.float64),
                                  box=np.asarray(box, dtype=np.float64),
                                  names=list(t.names), resnames=list(t.resnames),
                                  resids=np.asarray(t.resids), elements=None,
                                  velocities=state.velocities,
                                  title="written by mdzoom (mdzoom.core.export)"),
              precision=precision)
    from .constraints import FrozenAtoms

    frozen = [c for c in system.constraints if isinstance(c, FrozenAtoms)]
    options.pop("freezegrps", None)
    options.pop("freezedim", None)
    if frozen:
        # frozen atoms go to GROMACS as one freeze group of an index file (grompp -n)
        from .io.ndx import write_ndx

        atoms = np.unique(np.concatenate([c.atoms for c in frozen]))
        paths["ndx"] = out / "index.ndx"
        write_ndx(paths["ndx"], {"System": np.arange(system.n_particles), "Frozen": atoms})
        options["freezegrps"] = ["Frozen"]
        options["freezedim"] = ["Y", "Y", "Y"]
    write_mdp(paths["mdp"], options)
    return {k: os.fspath(v) for k, v in paths.items()}


def gromacs_topology(system, settings=None):
    """The ``GromacsTopology`` to write for ``system`` (see the module doc)."""
    settings = settings or {}
    top = settings.get("gromacs_topology")
    if top is not None:
        if top.n_atoms != system.n_particles:
            raise ValueError(f"the System has {system.n_particles} particles, the GROMACS "
                             f"topology it was read from {top.n_atoms}")
        built = list(settings.get("gromacs_forces") or [])
        now = [type(f).__name__ for f in system.forces]
        extra = list(now)
        for name in built:
            if name in extra:
                extra.remove(name)
        if extra:
            raise NotImplementedError(
                f"cannot export force(s) {', '.join(extra)} added after reading the GROMACS "
                "files: the topology written back holds only what was read")
        return top
    return _generate_topology(system)


# ---------------------------------------------------------------- generated topologies
def _nonbonded(system):
    from .ewald import PME, EwaldSum
    from .nonbonded import Nonbonded

    nbs = [f for f in system.forces if isinstance(f, Nonbonded)]
    recs = [f for f in system.forces if isinstance(f, (PME, EwaldSum))]
    if len(nbs) > 1:
        raise NotImplementedError("cannot export more than one Nonbonded force to GROMACS "
                                  "(it has one set of atom types and one cutoff)")
    if any(isinstance(f, EwaldSum) for f in recs):
        raise NotImplementedError("cannot export force EwaldSum to GROMACS (its k-vector "
                                  "parameters have no .mdp equivalent); use PME")
    if len(recs) > 1:
        raise NotImplementedError("cannot export more than one PME force to GROMACS")
    return (nbs[0] if nbs else None), (recs[0] if recs else None)


def _check_forces(system):
    from .bonded import HarmonicBond
    from .ewald import PME, EwaldSum
    from .nonbonded import Nonbonded

    for f in system.forces:
        if not isinstance(f, (Nonbonded, PME, EwaldSum, HarmonicBond)):
            raise NotImplementedError(
                f"cannot write force {type(f).__name__} to a GROMACS topology for a System "
                f"built in Python; written: {_WRITTEN} (a System read from GROMACS files "
                "exports whatever it holds)")
    from .constraints import DistanceConstraints, FrozenAtoms, Settle

    for c in system.constraints:
        if not isinstance(c, (DistanceConstraints, Settle, FrozenAtoms)):
            raise NotImplementedError(f"cannot write constraint {type(c).__name__} to a "
                                      "GROMACS topology; available: DistanceConstraints, "
                                      "Settle, FrozenAtoms (as freezegrps + index.ndx)")
    if system.virtual_sites:
        names = ", ".join(sorted({type(v).__name__ for v in system.virtual_sites}))
        raise NotImplementedError(f"cannot write virtual sites ({names}) of a System built in "
                                  "Python to a GROMACS topology; only Systems read from "
                                  "GROMACS files keep theirs")


class _Molecules:
    """Global particle index → (molecule type name, molecule number, local index)."""

    def __init__(self, topology):
        names, mol, local = [], [], []
        self.first = {}                         # molecule type → its first particle
        m = 0
        for name, count in topology.molecules:
            n = topology.molecule_type(name).n_particles
            for c in range(count):
                names.append(name)
                self.first.setdefault(name, len(local))
                mol.extend([m] * n)
                local.extend(range(n))
                m += 1
        self.type_of = names                    # per molecule
        self.mol = np.asarray(mol, dtype=np.int64)
        self.local = np.asarray(local, dtype=np.int64)
        self.count = {name: 0 for name, _ in topology.molecules}
        for name in names:
            self.count[name] += 1

    def per_type(self, what, atoms, params):
        """{molecule type: sorted list of (local atoms, params)}, the same for every
        molecule of the type (else an error naming ``what``)."""
        atoms = np.asarray(atoms, dtype=np.int64)
        per_mol = {}
        for row, p in zip(atoms, params):
            ms = set(self.mol[row].tolist())
            if len(ms) != 1:
                raise NotImplementedError(
                    f"cannot export {what} between molecules (particles {row.tolist()}): "
                    "GROMACS topologies hold interactions inside a molecule type")
            m = ms.pop()
            per_mol.setdefault(m, []).append((tuple(self.local[row].tolist()), tuple(p)))
        out = {}
        for m, items in per_mol.items():
            name = self.type_of[m]
            items = sorted(items)
            if name in out and out[name] != items:
                raise NotImplementedError(
                    f"cannot export {what}: molecules of type {name!r} differ (a GROMACS "
                    "molecule type is written once; give each variant its own type)")
            out[name] = items
        for name, items in out.items():
            have = sum(1 for m in per_mol if self.type_of[m] == name)
            if have != self.count[name]:
                raise NotImplementedError(
                    f"cannot export {what}: {have} of the {self.count[name]} molecules of "
                    f"type {name!r} have it (a GROMACS molecule type is written once)")
        return out


def _generate_topology(system):
    from .bonded import HarmonicBond
    from .constraints import DistanceConstraints, Settle
    from .gromacs import ELEMENTS
    from .io.top import AtomDef, AtomType, Defaults, GromacsTopology, Interaction, \
        MoleculeTypeDef

    _check_forces(system)
    topo = system.topology
    nb, _ = _nonbonded(system)
    types = list(topo.type_names)
    nt = len(types)
    if nb is not None:
        c6, c12 = (a.reshape(nt, nt) for a in nb.c6_c12_tables(types))
    else:
        c6 = c12 = np.zeros((nt, nt))
    charges = np.asarray(topo.charges, dtype=np.float64)
    if nb is None or nb.coulomb is None:
        charges = np.zeros_like(charges)      # no Coulomb force: no Coulomb in GROMACS
    atomic = {v: k for k, v in ELEMENTS.items()}
    masses = np.asarray(topo.masses, dtype=np.float64)
    type_ids = np.asarray(topo.type_ids)
    elements = topo.elements
    atomtypes = {}
    for a, name in enumerate(types):
        first = int(np.flatnonzero(type_ids == a)[0])
        atomtypes[name] = AtomType(name, name, atomic.get(elements[first], 0),
                                   float(masses[first]), 0.0, "A",
                                   float(c6[a, a]), float(c12[a, a]))
    nonbond = {}
    for a in range(nt):
        for b in range(a + 1, nt):
            key = tuple(sorted((types[a], types[b])))
            nonbond[key] = (1, float(c6[a, b]), float(c12[a, b]))

    mols = _Molecules(topo)
    sections = {name: {} for name, _ in topo.molecules}
    # bonds: explicit pairs or the graph's edges with k, r0
    for f in system.forces:
        if not isinstance(f, HarmonicBond):
            continue
        pairs, k, r0 = f.parameters(system)
        for name, items in mols.per_type("HarmonicBond", pairs,
                                         list(zip(r0.tolist(), k.tolist()))).items():
            sections[name].setdefault("bonds", []).extend(items)
    for c in system.constraints:
        if isinstance(c, DistanceConstraints):
            pairs = np.asarray(c.pairs, dtype=np.int64).reshape(-1, 2)
            lengths = np.broadcast_to(np.asarray(c.lengths, float), (len(pairs),))
            for name, items in mols.per_type("DistanceConstraints", pairs,
                                             [(d,) for d in lengths.tolist()]).items():
                sections[name].setdefault("constraints", []).extend(items)
        elif isinstance(c, Settle):
            o = np.asarray(c.oxygens, dtype=np.int64)
            rows = np.stack([o, o + 1, o + 2], axis=1)
            for name, items in mols.per_type("Settle", rows,
                                             [(float(c.d_oh), float(c.d_hh))] * len(o)).items():
                g = topo.molecule_type(name).graph
                for (a, b, cc), _ in items:
                    if not (g.has_edge(a, b) and g.has_edge(a, cc)):
                        raise NotImplementedError(
                            f"cannot export Settle on molecule type {name!r}: its graph has "
                            "no O-H bonds, so GROMACS would exclude pairs mdzoom does not")
                sections[name].setdefault("settles", []).extend(items)

    molecule_types = {}
    for mt in topo.molecule_types:
        if mt.name not in sections:
            continue
        g = mt.graph
        sec = sections[mt.name]
        atoms = []
        for k in range(mt.n_particles):
            d = g.nodes[k]
            gi = mols.first[mt.name] + k
            atoms.append(AtomDef(k + 1, types[type_ids[gi]], int(d.get("resid", 1)),
                                 str(d.get("resname", mt.name) or mt.name)[:5],
                                 str(d.get("name", f"A{k + 1}") or f"A{k + 1}"), k + 1,
                                 float(charges[gi]), float(masses[gi])))
        inter = {}
        covered = set()
        bonds = []
        for (i, j), (r0, kb) in sec.get("bonds", ()):
            edge = g.has_edge(i, j)
            bonds.append(Interaction(1 if edge else 6, (i, j), (r0, kb)))
            if edge:
                covered.add(frozenset((i, j)))
        cons = []
        for (i, j), (d,) in sec.get("constraints", ()):
            edge = g.has_edge(i, j)
            cons.append(Interaction(1 if edge else 2, (i, j), (d,)))
            if edge:
                covered.add(frozenset((i, j)))
        for u, v in sorted((min(a, b), max(a, b)) for a, b in g.edges):
            if frozenset((u, v)) not in covered:
                bonds.append(Interaction(5, (u, v), ()))     # exclusions only
        if bonds:
            inter["bonds"] = bonds
        if cons:
            inter["constraints"] = cons
        if sec.get("settles"):
            inter["settles"] = [Interaction(1, (o,), p) for (o, _, _), p in sec["settles"]]
        excl = g.graph.get("exclusions", ())
        if excl:
            inter["exclusions"] = [Interaction(0, (int(a), int(b)), ()) for a, b in excl]
        molecule_types[mt.name] = MoleculeTypeDef(mt.name, int(mt.nrexcl), atoms, inter)
    return GromacsTopology(Defaults(1, 1, False, 1.0, 1.0), atomtypes, nonbond, {},
                           molecule_types, "mdzoom system",
                           [(n, int(c)) for n, c in topo.molecules], [])


# --------------------------------------------------------------------------- .mdp
def mdp_options(system, settings=None):
    """The ``.mdp`` options (GROMACS spelling → value) to write for ``system``: the parsed
    ``settings["mdp"]`` of a System read from GROMACS (a preset's defaults included),
    else translated from its forces and ``settings["integrator"]`` (``docs/export.md``)."""
    from .io.mdp import MdpOptions, normalize_mdp_key

    settings = settings or {}
    mdp = settings.get("mdp")
    if settings.get("gromacs_topology") is not None:
        base = mdp if isinstance(mdp, MdpOptions) else MdpOptions(
            {normalize_mdp_key(k): v for k, v in (mdp or {}).items()})
        values = base.as_dict()
    else:
        values = MdpOptions().as_dict()
        values.update(_physics_options(system))
        values.update(_integrator_options(settings.get("integrator")))
        if mdp:
            src = mdp.as_dict() if isinstance(mdp, MdpOptions) else mdp
            values.update({normalize_mdp_key(k): v for k, v in src.items()})
    if settings.get("nsteps") is not None:
        values["nsteps"] = int(settings["nsteps"])
    # the topology is written preprocessed: its #includes and #defines are already applied
    values["include"] = ""
    values["define"] = ""
    return values


def _physics_options(system):
    nb, pme = _nonbonded(system)
    o = {"cutoff-scheme": "Verlet", "pbc": "xyz", "constraints": "none"}
    if nb is None:
        o.update({"coulombtype": "Cut-off", "vdw-modifier": "Potential-shift"})
        return o
    rc = float(nb.cutoff)
    o.update({"rvdw": rc, "rcoulomb": rc, "rlist": rc, "vdwtype": "Cut-off",
              "vdw-modifier": {"potential-shift": "Potential-shift", "none": "None",
                               "force-switch": "Force-switch"}[nb.modifier],
              "DispCorr": {"no": "no", "Ener": "Ener", "EnerPres": "EnerPres"}[
                  nb.dispersion_correction],
              "epsilon-r": float(nb.epsilon_r)})
    if nb.modifier == "force-switch":
        o["rvdw-switch"] = float(nb.switch_distance)
    charged = bool(np.any(np.asarray(system.topology.charges) != 0))
    if nb.coulomb is None:
        o["coulombtype"] = "Cut-off"
    elif nb.coulomb in ("cutoff", "reaction-field"):
        if charged and not nb.rf_exclusion_correction:
            raise NotImplementedError(
                f"cannot export Nonbonded(coulomb={nb.coulomb!r}) without "
                "rf_exclusion_correction=True: GROMACS always adds the reaction-field terms "
                "of excluded pairs and of each particle; set it to compare like with like")
        o["coulombtype"] = "Cut-off" if nb.coulomb == "cutoff" else "Reaction-Field"
        o["epsilon-rf"] = 1.0 if nb.coulomb == "cutoff" else float(nb.epsilon_rf)
    else:
        if nb.coulomb == "ewald" or pme is None:
            raise NotImplementedError(f"cannot export Nonbonded(coulomb={nb.coulomb!r}) "
                                      "without a PME force; available: PME")
        if abs(float(pme.cutoff) - rc) > 1e-12 or pme.beta is not None \
                or abs(float(pme.rtol) - float(nb.ewald_rtol)) > 0:
            raise NotImplementedError("cannot export a PME whose cutoff, rtol or explicit "
                                      "beta differ from its Nonbonded's (GROMACS derives β "
                                      "from rcoulomb and ewald-rtol)")
        o.update({"coulombtype": "PME", "ewald-rtol": float(nb.ewald_rtol),
                  "fourierspacing": float(pme.spacing), "pme-order": int(pme.order),
                  "ewald-geometry": str(pme.geometry),
                  "epsilon-surface": float(pme.epsilon_surface),
                  "coulomb-modifier": {"potential-shift": "Potential-shift",
                                       "none": "None"}[nb.coulomb_modifier]})
        if pme.grid is not None:
            o.update(dict(zip(("fourier-nx", "fourier-ny", "fourier-nz"),
                              map(int, pme.grid))))
    return o


def _listify(v):
    return list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v]


def _thermostat_options(th):
    from .thermostats import Berendsen, NoseHooverChain, VRescale

    name = {VRescale: "V-rescale", NoseHooverChain: "Nose-Hoover",
            Berendsen: "Berendsen"}.get(type(th))
    if name is None:
        raise NotImplementedError(f"cannot export thermostat {type(th).__name__}; "
                                  "available: VRescale, NoseHooverChain, Berendsen")
    groups = ["System"] if th.groups is None else [str(g) for g in th.groups]
    n = len(groups)
    temp = [float(x) for x in _listify(th.temperature)] * (n if np.ndim(th.temperature) == 0
                                                          else 1)
    tau = [float(x) for x in _listify(th.tau)] * (n if np.ndim(th.tau) == 0 else 1)
    o = {"tcoupl": name, "tc-grps": groups, "ref-t": temp, "tau-t": tau,
         "nsttcouple": 1}
    return o


def _barostat_options(b):
    from .barostats import BerendsenBarostat, CRescale
    from .mtk import MTKBarostat

    name = {CRescale: "C-rescale", BerendsenBarostat: "Berendsen",
            MTKBarostat: "Parrinello-Rahman"}.get(type(b))
    if name is None:
        raise NotImplementedError(f"cannot export barostat {type(b).__name__}; available: "
                                  "CRescale, BerendsenBarostat, MTKBarostat")
    ptype = {"isotropic": "isotropic", "semi-isotropic": "semiisotropic",
             "anisotropic": "anisotropic"}.get(b.coupling)
    if ptype is None:
        raise NotImplementedError(f"cannot export barostat coupling {b.coupling!r}; "
                                  "available: isotropic, semi-isotropic, anisotropic")
    p = [float(x) for x in _listify(b.pressure)]
    k = [float(x) for x in _listify(b.compressibility)]
    if ptype == "anisotropic":
        p, k = p[:3] + [0.0] * 3, k[:3] + [0.0] * 3
    return {"pcoupl": name, "pcoupltype": ptype, "tau-p": float(b.tau), "ref-p": p,
            "compressibility": k, "nstpcouple": int(b.nstpcouple)}


def _integrator_options(integ):
    from .integrators import Brownian, LangevinBAOAB, VelocityVerlet

    if integ is None:
        return {"integrator": "md", "dt": 0.001, "nsteps": 0}
    if isinstance(integ, VelocityVerlet):
        o = {"integrator": "md", "dt": float(integ.dt)}      # leap-frog: GROMACS's GPU path
        if integ.thermostat is not None:
            o.update(_thermostat_options(integ.thermostat))
        if integ.barostat is not None:
            o.update(_barostat_options(integ.barostat))
        return o
    if isinstance(integ, (LangevinBAOAB, Brownian)):
        return {"integrator": "sd" if isinstance(integ, LangevinBAOAB) else "bd",
                "dt": float(integ.dt), "tc-grps": ["System"],
                "ref-t": [float(integ.temperature)], "tau-t": [1.0 / float(integ.friction)],
                "bd-fric": 0.0}
    raise NotImplementedError(f"cannot export integrator {type(integ).__name__}; "
                              "available: VelocityVerlet (md), LangevinBAOAB (sd), "
                              "Brownian (bd)")


def _mdp_value(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return " ".join(_mdp_value(x) for x in v)
    if isinstance(v, float) and np.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


def write_mdp(path, options):
    """Write ``options`` (GROMACS spelling → value) as an ``.mdp``; empty values are left
    out (GROMACS's default applies)."""
    lines = ["; written by mdzoom (mdzoom.core.export): every option mdzoom knows, explicit"]
    width = max((len(k) for k in options), default=0)
    for k, v in options.items():
        if v is None or (isinstance(v, (str, list, tuple)) and len(v) == 0):
            continue
        lines.append(f"{k:<{width}} = {_mdp_value(v)}")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


# ============================================================================ OpenMM
def to_openmm_files(system, state, path_xml, *, integrator=None, platform=None,
                    properties=None, registry=None, separate_dispersion=False):
    """Write ``openmm.XmlSerializer.serialize`` of the exported System to ``path_xml`` and
    a PDB (topology, positions, box) beside it (same name, ``.pdb``); return
    ``(openmm.System, openmm.app.Simulation)`` at ``state``.

    integrator : an OpenMM integrator (default ``VerletIntegrator(0.001)``)
    platform : None (OpenMM's fastest: CUDA/OpenCL with a GPU) or a platform name
    separate_dispersion : the 1/V part of ``DispCorr`` in its own force (an extra pair
        loop) instead of riding on the LJ force, for a term-by-term comparison
    """
    from .openmm_export import _import_openmm, to_openmm_simulation

    mm = _import_openmm()
    from openmm import app, unit

    sim = to_openmm_simulation(system, state, integrator, platform, registry=registry,
                               properties=properties, separate_dispersion=separate_dispersion)
    omm = sim.system
    path_xml = Path(path_xml)
    path_xml.parent.mkdir(parents=True, exist_ok=True)
    path_xml.write_text(mm.XmlSerializer.serialize(omm), encoding="utf-8")
    pos = [mm.Vec3(*map(float, r)) for r in np.asarray(state.positions)] * unit.nanometer
    with open(path_xml.with_suffix(".pdb"), "w", encoding="utf-8") as fh:
        app.PDBFile.writeFile(sim.topology, pos, fh, keepIds=False)
    return omm, sim
