"""Export a ``System`` to OpenMM (a GPU engine for when one CPU is not enough).

>>> from mdzoom.core.gromacs import load_gromacs                    # doctest: +SKIP
>>> from mdzoom.core.openmm_export import to_openmm_simulation, openmm_energy_terms
>>> system, state, _ = load_gromacs("topol.top", "conf.gro", "run.mdp")  # doctest: +SKIP
>>> sim = to_openmm_simulation(system, state, platform="CUDA")     # doctest: +SKIP
>>> openmm_energy_terms(sim.context)                                # doctest: +SKIP
{'LJ (SR)': …, 'Coulomb (SR)': …, 'Bond': …, 'Potential': …}

Who converts what
-----------------
The core converts what the core owns: ``Nonbonded`` (with the ``PME`` / ``EwaldSum``
reciprocal part that goes with it), constraints (``DistanceConstraints``, ``Settle`` →
``System.addConstraint``; OpenMM recognises rigid waters and uses SETTLE), virtual sites
(``VirtualSites3`` → ``ThreeParticleAverageSite``, ``VirtualSites3OUT`` →
``OutOfPlaneSite``, ``VirtualSites3FD`` / ``VirtualSites3FAD`` → ``LocalCoordinatesSite``
with x̂ along the site's direction from atom i and ŷ in the plane of i, j, k;
``VirtualSitesN`` → ``Two``/``ThreeParticleAverageSite`` or, for 4 atoms or more, a
``LocalCoordinatesSite`` with a zero offset whose frame comes from the first three
atoms, which must not be collinear), masses and the box. OpenMM builds virtual sites
without periodic images: molecules must be whole in the positions it gets, as for its
constraints. Every other force description is converted by its owner, looked up in this order:

1. a method on the description, ``force.to_openmm(system, openmm) -> list[openmm.Force]``;
2. a converter in the registry, registered as a *force* named ``"openmm:<ClassName>"``
   (``registry.add_force("openmm:HarmonicBonds", fn)``) with the same signature
   ``fn(force, system, openmm) -> list[openmm.Force]``;
3. otherwise a ``NotImplementedError`` naming the force and listing the converters there are.

A converter names each OpenMM force it returns with the mdzoom energy term it computes
(``f.setName("Bond")``); forces with the same name share one force group, so
:func:`openmm_energy_terms` gives a breakdown that compares to ``ForceEvaluator.terms``.

Physics, and where OpenMM's conventions differ
----------------------------------------------
- **LJ** goes into a ``CustomNonbondedForce`` with the C6/C12 tables per type pair
  (``Discrete2DFunction``, so any combination rule and ``nonbond_params`` work) and the
  GROMACS modifier written into the expression: potential-shift (V − V(rc)), force-switch
  (GROMACS's polynomial) or none. OpenMM's ``NonbondedForce`` cannot shift LJ: its energy
  would differ by Σ_{pairs r<rc} V(rc), which depends on the configuration; we avoid it.
- **Dispersion correction** (GROMACS ``DispCorr``) is ½N⟨C6⟩(ρD₆ − s₆) with ⟨C6⟩ averaged
  over non-excluded pairs. The 1/V part is made exactly with a ``CustomNonbondedForce``
  long-range correction (an expression equal to −a/r⁶ for r ≥ rc only, zero on the pairs;
  OpenMM's coefficient is 2πN²∫_rc^∞ E r² dr, evaluated by OpenMM in single precision,
  ~1e-7 relative), the constant −½N⟨C6⟩s₆ by a ``CustomExternalForce`` constant. OpenMM's
  own ``setUseDispersionCorrection`` is not used: it includes the C12 term and no shift.
  The 1/V part rides on the LJ force (free) unless ``separate_dispersion=True`` (an extra
  pair loop, for a term-by-term comparison).
- **Coulomb** goes into a ``NonbondedForce`` (ε = 0 for every particle; charges scaled by
  √(f_mdzoom/(f_OpenMM·ε_r)), so ``epsilon_r`` and the 2.6e-9 difference of Coulomb
  constants are exact). Excluded pairs are exceptions with zero charge product.
  *Reaction field / cut-off*: OpenMM's ``CutoffPeriodic`` is the same pair potential
  f qq(1/r + k_rf r² − c_rf) with ε_solvent = ε_rf/ε_r (ε_rf = 0, "infinity", becomes
  1e10). GROMACS also gives excluded pairs within rc f qq(k_rf r² − c_rf) and each
  particle −½ f q² c_rf; OpenMM does not, so when the ``Nonbonded`` has
  ``rf_exclusion_correction`` we add those exactly: a periodic ``CustomBondForce`` over
  the excluded pairs and a constant ``CustomExternalForce``.
  *PME*: ``NonbondedForce.PME`` with the same β and grid (``setPMEParameters``);
  reciprocal space in its own group. Differences that remain, both within the
  reciprocal-space error: OpenMM's B-splines are order 5 (GROMACS's default 4), and
  OpenMM does not shift the real-space potential by erfc(β rc)/rc (GROMACS
  ``coulomb-modifier = Potential-shift``): the energy differs by
  f Σ_{non-excluded pairs r<rc} qᵢqⱼ erfc(βrc)/rc, forces are the same.
  OpenMM files the self and exclusion corrections differently from GROMACS, so compare
  ``Coulomb (SR) + Coul. recip.``.
"""

from __future__ import annotations

import math

import numpy as np

from .units import COULOMB

__all__ = ["to_openmm", "to_openmm_simulation", "openmm_energy_terms", "openmm_topology",
           "OPENMM_COULOMB", "MAX_FORCE_GROUPS"]

#: OpenMM's 1/(4π ε₀) [kJ mol⁻¹ nm e⁻²] (CODATA 2018, as in its SimTKOpenMMRealType.h)
OPENMM_COULOMB = 1.0 / (4.0 * math.pi * 1e-6 * 8.8541878128e-12
                        / (1.602176634e-19 ** 2 * 6.02214076e23))
MAX_FORCE_GROUPS = 32
_EPS_RF_INFINITY = 1e10


def _import_openmm():
    try:
        import openmm
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("the OpenMM export needs OpenMM: pip install openmm "
                          "(or conda install -c conda-forge openmm)") from None
    return openmm


# ----------------------------------------------------------------------------- non-bonded
def _excluded_pairs(topology):
    start, index = topology.exclusions
    i = np.repeat(np.arange(len(start) - 1, dtype=np.int64), np.diff(start))
    keep = index > i
    return np.stack([i[keep], index[keep]], axis=1).reshape(-1, 2)


def _lj_expression(desc):
    rc = float(desc.cutoff)
    if desc.modifier == "force-switch":
        from .nonbonded import force_switch_constants

        r1 = float(desc.switch_distance)
        a6, b6, c6 = map(float, force_switch_constants(6.0, r1, rc))
        a12, b12, c12 = map(float, force_switch_constants(12.0, r1, rc))
        sh6 = f"({c6!r} + step(r - {r1!r})*({a6 / 3!r}*dr^3 + {b6 / 4!r}*dr^4))"
        sh12 = f"({c12!r} + step(r - {r1!r})*({a12 / 3!r}*dr^3 + {b12 / 4!r}*dr^4))"
        tail = f"; dr = r - {r1!r}"
    elif desc.modifier == "potential-shift":
        sh6, sh12, tail = repr(rc ** -6), repr(rc ** -12), ""
    else:
        sh6, sh12, tail = "0", "0", ""
    lj = f"c12tab(type1, type2)*(ir6*ir6 - {sh12}) - c6tab(type1, type2)*(ir6 - {sh6})"
    return lj, f"; ir6 = 1/r^6{tail}"


def _dispersion(desc, system, c6_table, types):
    """(a, constant): E = ½N²⟨C6⟩D₆/V + constant, realised with −a/r⁶ beyond rc."""
    from .nonbonded import average_c6, dispersion_correction_constants

    nt = c6_table.shape[0]
    avg = average_c6(types, c6_table.ravel(), nt, _excluded_pairs(system.topology))
    d6, s6 = dispersion_correction_constants(desc.modifier, float(desc.cutoff),
                                             desc.switch_distance)
    n = system.n_particles
    rc = float(desc.cutoff)
    # OpenMM: coefficient = 2πN² ∫_rc^∞ (−a/r⁶) r² dr = −2πN² a/(3 rc³)  ≡ ½ N² ⟨C6⟩ D₆
    a = -3.0 * rc ** 3 * avg * d6 / (4.0 * math.pi)
    return float(a), float(-0.5 * n * avg * s6)


def _constant_force(mm, name, energy):
    f = mm.CustomExternalForce(repr(float(energy)))
    f.addParticle(0, [])
    f.setName(name)
    return f


def _convert_nonbonded(desc, reciprocal, system, mm, separate_dispersion):
    top = system.topology
    n = system.n_particles
    rc = float(desc.cutoff)
    excl = _excluded_pairs(top)
    types = np.asarray(top.type_ids, dtype=np.int64)
    out = []
    if desc.lj is not None:
        names = top.type_names
        nt = len(names)
        c6, c12 = (t.reshape(nt, nt) for t in desc.c6_c12_tables(names))
        lj, defs = _lj_expression(desc)
        disp = desc.dispersion_correction != "no"
        if disp:
            a, const = _dispersion(desc, system, c6, types)
        if disp and not separate_dispersion:
            expr = f"select(step(r - {rc!r}), {-a!r}*ir6, {lj})" + defs
        else:
            expr = lj + defs
        f = mm.CustomNonbondedForce(expr)
        f.addPerParticleParameter("type")
        f.addTabulatedFunction("c6tab", mm.Discrete2DFunction(nt, nt, c6.T.ravel().tolist()))
        f.addTabulatedFunction("c12tab", mm.Discrete2DFunction(nt, nt,
                                                               c12.T.ravel().tolist()))
        for t in types:
            f.addParticle([float(t)])
        for i, j in excl:
            f.addExclusion(int(i), int(j))
        f.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
        f.setCutoffDistance(rc)
        f.setUseSwitchingFunction(False)
        f.setUseLongRangeCorrection(disp and not separate_dispersion)
        f.setName("LJ (SR)")
        out.append(f)
        if disp:
            if separate_dispersion:
                d = mm.CustomNonbondedForce(f"select(step(r - {rc!r}), {-a!r}/r^6, 0)")
                for _ in range(n):
                    d.addParticle([])
                for i, j in excl:
                    d.addExclusion(int(i), int(j))
                d.setNonbondedMethod(mm.CustomNonbondedForce.CutoffPeriodic)
                d.setCutoffDistance(rc)
                d.setUseLongRangeCorrection(True)
                d.setName("Disper. corr.")
                out.append(d)
            out.append(_constant_force(mm, "Disper. corr.", const))
    charges = np.asarray(top.charges, dtype=np.float64)
    if desc.coulomb is not None and np.any(charges != 0):
        eps_r = float(desc.epsilon_r)
        scale = math.sqrt(COULOMB / (OPENMM_COULOMB * eps_r))
        nb = mm.NonbondedForce()
        for q in charges:
            nb.addParticle(float(q) * scale, 1.0, 0.0)
        for i, j in excl:
            nb.addException(int(i), int(j), 0.0, 1.0, 0.0)
        nb.setCutoffDistance(rc)
        nb.setUseDispersionCorrection(False)
        nb.setUseSwitchingFunction(False)
        nb.setName("Coulomb (SR)")
        if desc.coulomb in ("pme", "ewald"):
            if reciprocal is None:
                raise ValueError("Nonbonded(coulomb='pme') needs its PME (or EwaldSum) force "
                                 "in the system for the reciprocal part")
            from .ewald import PME, ewald_coefficient, pme_grid

            if getattr(reciprocal, "geometry", "3d") != "3d":
                raise NotImplementedError(
                    f"{type(reciprocal).__name__}(geometry={reciprocal.geometry!r}): the "
                    "slab correction (ewald-geometry = 3dc) has no OpenMM counterpart in this "
                    "export; export to GROMACS instead (mdzoom export --to gromacs)")
            beta = ewald_coefficient(rc, desc.ewald_rtol)
            if isinstance(reciprocal, PME):
                order = int(reciprocal.order)
                grid = reciprocal.grid or pme_grid(system.box, reciprocal.spacing,
                                                   min_size=2 * (order - 1))
            else:   # EwaldSum: a fine PME grid stands in for the direct sum
                grid = pme_grid(system.box, 0.08)
            nb.setNonbondedMethod(mm.NonbondedForce.PME)
            nb.setPMEParameters(beta, *(int(g) for g in grid))
        else:
            if desc.coulomb == "reaction-field" and desc.epsilon_rf == 0:
                eps_rf = _EPS_RF_INFINITY
            elif desc.coulomb == "cutoff":
                eps_rf = 1.0
            else:
                eps_rf = float(desc.epsilon_rf)
            nb.setNonbondedMethod(mm.NonbondedForce.CutoffPeriodic)
            nb.setReactionFieldDielectric(eps_rf / eps_r)
            if desc.rf_exclusion_correction:
                out += _rf_exclusion_forces(mm, desc, charges, excl, rc, eps_r, eps_rf)
        out.append(nb)
    return out


def _rf_exclusion_forces(mm, desc, charges, excl, rc, eps_r, eps_rf):
    """GROMACS's RF terms of excluded pairs (r < rc) and of each particle with itself."""
    k_rf = (eps_rf - eps_r) / ((2 * eps_rf + eps_r) * rc ** 3)
    if desc.coulomb == "reaction-field" and desc.epsilon_rf == 0:
        k_rf = 1.0 / (2.0 * rc ** 3)
    c_rf = 1.0 / rc + k_rf * rc * rc
    pref = COULOMB / eps_r
    out = []
    qq = charges[excl[:, 0]] * charges[excl[:, 1]] if len(excl) else np.zeros(0)
    keep = qq != 0
    if keep.any():
        f = mm.CustomBondForce(f"step({rc!r} - r)*qq*({pref * k_rf!r}*r^2 - {pref * c_rf!r})")
        f.addPerBondParameter("qq")
        for (i, j), v in zip(excl[keep], qq[keep]):
            f.addBond(int(i), int(j), [float(v)])
        f.setUsesPeriodicBoundaryConditions(True)
        f.setName("Coulomb (SR)")
        out.append(f)
    out.append(_constant_force(mm, "Coulomb (SR)",
                               -0.5 * pref * c_rf * float(np.dot(charges, charges))))
    return out


# ----------------------------------------------------------------------------- assembly
def _converter(force, system, registry, mm):
    method = getattr(force, "to_openmm", None)
    if callable(method):
        return lambda: method(system, mm)
    name = f"openmm:{type(force).__name__}"
    if registry is None:
        from .plugins import get_plugin_manager

        registry = get_plugin_manager().registry
    if name in registry.names("force"):
        fn = registry.get_force(name)
        return lambda: fn(force, system, mm)
    avail = sorted(n[len("openmm:"):] for n in registry.names("force")
                   if n.startswith("openmm:"))
    raise NotImplementedError(
        f"cannot export force {type(force).__name__} ({type(force).__module__}) to OpenMM: "
        f"it has no to_openmm(system, openmm) method and no converter is registered as "
        f"'{name}'; converters available: Nonbonded, PME, EwaldSum (core), "
        f"{', '.join(avail) or '(none)'}")


def to_openmm(system, state=None, *, registry=None, separate_dispersion=False):
    """Convert ``system`` (and ``state``) to ``(openmm.System, positions, box)``.

    positions : (N, 3) float64 [nm] (``state.positions``, or None without a state);
    box : three ``openmm.Vec3`` [nm], the rows of ``state.box`` (else ``system.box``).
    Forces with the same name (the mdzoom term) share a force group; the PME
    reciprocal part has its own group named ``Coul. recip.``. See the module doc for
    the conventions; ``registry`` defaults to the process-wide plugin registry.
    """
    mm = _import_openmm()
    from .constraints import DistanceConstraints, Settle
    from .ewald import PME, EwaldSum
    from .nonbonded import Nonbonded

    box = np.asarray(state.box if state is not None and state.box is not None
                     else system.box, dtype=np.float64)
    omm = mm.System()
    for m in system.masses:
        omm.addParticle(float(m))
    vecs = [mm.Vec3(*map(float, row)) for row in box]
    omm.setDefaultPeriodicBoxVectors(*vecs)
    for c in system.constraints:
        if isinstance(c, Settle):
            for o in np.asarray(c.oxygens, dtype=np.int64):
                o = int(o)
                omm.addConstraint(o, o + 1, float(c.d_oh))
                omm.addConstraint(o, o + 2, float(c.d_oh))
                omm.addConstraint(o + 1, o + 2, float(c.d_hh))
        elif isinstance(c, DistanceConstraints):
            for (i, j), d in zip(c.pairs, c.lengths):
                omm.addConstraint(int(i), int(j), float(d))
        else:
            raise NotImplementedError(f"cannot export constraint {type(c).__name__} to "
                                      "OpenMM; available: DistanceConstraints, Settle")
    for vs in getattr(system, "virtual_sites", ()):
        _add_virtual_sites(omm, vs, mm)
    reciprocal = [f for f in system.forces if isinstance(f, (PME, EwaldSum))]
    nonbonded = [f for f in system.forces if isinstance(f, Nonbonded)]
    if reciprocal and not any(f.coulomb in ("pme", "ewald") for f in nonbonded):
        raise NotImplementedError("a PME/EwaldSum force exports to OpenMM only together with "
                                  "a Nonbonded(coulomb='pme') (OpenMM's NonbondedForce holds "
                                  "both)")
    if len(reciprocal) > 1 or len(nonbonded) > 1:
        raise NotImplementedError("the OpenMM export handles one Nonbonded (and one PME) per "
                                  "system")
    converted = []
    for force in system.forces:
        if isinstance(force, (PME, EwaldSum)):
            continue
        if isinstance(force, Nonbonded):
            converted += _convert_nonbonded(force, reciprocal[0] if reciprocal else None,
                                            system, mm, separate_dispersion)
            continue
        made = list(_converter(force, system, registry, mm)())
        for f in made:
            if not f.getName() or f.getName() == type(f).__name__:
                f.setName(type(force).__name__)
        converted += made
    groups = {}
    for f in converted:
        name = f.getName()
        if name not in groups:
            if len(groups) >= MAX_FORCE_GROUPS - 1:
                raise ValueError(f"more than {MAX_FORCE_GROUPS - 1} energy terms; OpenMM has "
                                 f"{MAX_FORCE_GROUPS} force groups")
            groups[name] = len(groups)
        f.setForceGroup(groups[name])
        if isinstance(f, mm.NonbondedForce) and f.getNonbondedMethod() in (
                mm.NonbondedForce.PME, mm.NonbondedForce.Ewald):
            f.setReciprocalSpaceForceGroup(MAX_FORCE_GROUPS - 1)
        omm.addForce(f)
    positions = None if state is None else np.array(state.positions, dtype=np.float64)
    return omm, positions, tuple(vecs)


def _add_virtual_sites(omm, vs, mm):
    """Set OpenMM virtual sites for one mdzoom description (see the module doc)."""
    from .virtual_sites import (VirtualSites3, VirtualSites3FAD, VirtualSites3FD,
                                VirtualSites3OUT, VirtualSitesN)

    def vec(*v):
        return mm.Vec3(*map(float, v))

    kind = type(vs)
    if kind is VirtualSitesN:
        for v, s in enumerate(vs.sites):
            lo, hi = int(vs.offsets[v]), int(vs.offsets[v + 1])
            atoms = [int(a) for a in vs.atoms[lo:hi]]
            w = vs.weights[lo:hi] / vs.weights[lo:hi].sum()
            if len(atoms) == 1:
                raise NotImplementedError(f"VirtualSitesN site {int(s)} has one constructing "
                                          "atom; OpenMM has no one-particle virtual site")
            if len(atoms) == 2:
                site = mm.TwoParticleAverageSite(*atoms, *map(float, w))
            elif len(atoms) == 3:
                site = mm.ThreeParticleAverageSite(*atoms, *map(float, w))
            else:     # the frame only orients a zero offset: x and y from the first three
                x_w = np.zeros(len(atoms))
                y_w = np.zeros(len(atoms))
                x_w[:2] = (-1.0, 1.0)
                y_w[[0, 2]] = (-1.0, 1.0)
                site = mm.LocalCoordinatesSite(atoms, list(map(float, w)), list(map(float, x_w)),
                                               list(map(float, y_w)), vec(0, 0, 0))
            omm.setVirtualSite(int(s), site)
        return
    if kind not in (VirtualSites3, VirtualSites3FD, VirtualSites3FAD, VirtualSites3OUT):
        raise NotImplementedError(f"cannot export virtual sites {kind.__name__} to OpenMM; "
                                  "available: VirtualSites3, VirtualSites3FD, "
                                  "VirtualSites3FAD, VirtualSites3OUT, VirtualSitesN")
    for n, s in enumerate(vs.sites):
        i, j, k = (int(a) for a in vs.atoms[n])
        if kind is VirtualSites3:                    # x_i + a r_ij + b r_ik
            a, b = float(vs.a[n]), float(vs.b[n])
            site = mm.ThreeParticleAverageSite(i, j, k, 1.0 - a - b, a, b)
        elif kind is VirtualSites3OUT:               # the same definition in OpenMM
            site = mm.OutOfPlaneSite(i, j, k, float(vs.a[n]), float(vs.b[n]), float(vs.c[n]))
        elif kind is VirtualSites3FD:
            # x̂ along t = r_ij + a r_jk = −x_i + (1 − a) x_j + a x_k; site at b x̂
            a = float(vs.a[n])
            site = mm.LocalCoordinatesSite(i, j, k, vec(1, 0, 0), vec(-1, 1 - a, a),
                                           vec(0, -1, 1), vec(vs.b[n], 0, 0))
        else:
            # x̂ along r_ij, ŷ the part of r_jk normal to it (OpenMM's ŷ = ẑ × x̂ with
            # ẑ ∝ x̂ × r_jk): site at (d cos θ, d sin θ, 0)
            th = np.deg2rad(float(vs.theta[n]))
            d = float(vs.d[n])
            site = mm.LocalCoordinatesSite(i, j, k, vec(1, 0, 0), vec(-1, 1, 0),
                                           vec(0, -1, 1), vec(d * np.cos(th), d * np.sin(th), 0))
        omm.setVirtualSite(int(s), site)


def _group_names(omm_system):
    import openmm as mm

    names = {}
    for f in omm_system.getForces():
        names.setdefault(f.getForceGroup(), f.getName())
        if isinstance(f, mm.NonbondedForce) and f.getReciprocalSpaceForceGroup() >= 0 \
                and f.getNonbondedMethod() in (mm.NonbondedForce.PME, mm.NonbondedForce.Ewald):
            names[f.getReciprocalSpaceForceGroup()] = "Coul. recip."
    return names


def openmm_energy_terms(context, forces=False):
    """Energy per mdzoom term [kJ/mol] of an OpenMM ``Context`` made from :func:`to_openmm`
    (one evaluation per force group), plus ``Potential``.

    With ``forces=True`` returns ``(terms, forces (N, 3) [kJ mol⁻¹ nm⁻¹])``.
    """
    import openmm.unit as u

    names = _group_names(context.getSystem())
    terms = {}
    for g, name in sorted(names.items()):
        st = context.getState(getEnergy=True, groups={g})
        e = st.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
        terms[name] = terms.get(name, 0.0) + e
    st = context.getState(getEnergy=True, getForces=forces)
    terms["Potential"] = st.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
    if forces:
        f = np.asarray(st.getForces(asNumpy=True).value_in_unit(
            u.kilojoule_per_mole / u.nanometer))
        return terms, f
    return terms


def openmm_topology(topology, box=None):
    """An ``openmm.app.Topology``: a chain per molecule, residues, atoms, elements, bonds."""
    _import_openmm()
    from openmm import Vec3, app

    top = app.Topology()
    names, resnames, elements = topology.names, topology.resnames, topology.elements
    resids, mol = topology.resids, topology.molecule_index
    atoms = []
    chain = residue = None
    last_mol = last_res = None
    for k in range(topology.n_particles):
        if mol[k] != last_mol:
            chain = top.addChain()
            last_mol, last_res = mol[k], None
        if resids[k] != last_res:
            residue = top.addResidue(resnames[k] or "UNK", chain, id=str(int(resids[k])))
            last_res = resids[k]
        el = None
        if elements[k]:
            try:
                el = app.Element.getBySymbol(elements[k])
            except KeyError:
                el = None
        atoms.append(top.addAtom(names[k] or f"A{k}", el, residue))
    for i, j in np.asarray(topology.bonds).reshape(-1, 2):
        top.addBond(atoms[int(i)], atoms[int(j)])
    if box is not None:
        top.setPeriodicBoxVectors([Vec3(*map(float, r)) for r in np.asarray(box)])
    return top


def to_openmm_simulation(system, state, integrator=None, platform="CPU", *, registry=None,
                         properties=None, separate_dispersion=False):
    """An ``openmm.app.Simulation`` of ``system`` at ``state`` (positions, velocities, box).

    integrator : an OpenMM integrator (default ``VerletIntegrator(0.001)``: 1 fs)
    platform : "Reference" | "CPU" | "CUDA" | "OpenCL" (or an ``openmm.Platform``)
    properties : platform properties, e.g. ``{"Precision": "double"}`` for CUDA
    """
    mm = _import_openmm()
    from openmm import app

    omm, positions, box = to_openmm(system, state, registry=registry,
                                    separate_dispersion=separate_dispersion)
    if integrator is None:
        integrator = mm.VerletIntegrator(0.001)
    if isinstance(platform, str):
        names = [mm.Platform.getPlatform(k).getName() for k in range(mm.Platform.getNumPlatforms())]
        if platform not in names:
            hint = (" (a GPU platform needs a GPU, its driver and OpenMM's GPU build, e.g. "
                    "pip install 'openmm[cuda12]')" if platform in ("CUDA", "OpenCL", "HIP")
                    else "")
            raise ValueError(f"OpenMM has no platform {platform!r} here; available: "
                             f"{', '.join(names)}{hint}")
        platform = mm.Platform.getPlatformByName(platform)
    sim = app.Simulation(openmm_topology(system.topology, np.asarray(state.box)), omm,
                         integrator, platform, properties or {})
    sim.context.setPeriodicBoxVectors(*box)
    sim.context.setPositions(positions)
    if state.velocities is not None:
        sim.context.setVelocities(np.asarray(state.velocities, dtype=np.float64))
    return sim
