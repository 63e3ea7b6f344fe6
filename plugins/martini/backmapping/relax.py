"""Relaxation of a placed all-atom structure with the user's all-atom force field.

Stages: steepest-descent minimisation (``mdzoom.core.minimize``), a short Langevin MD
(``LangevinBAOAB``, small dt) with heavy atoms restrained to their placed positions, a
final minimisation. Throughout, every CG bead's mapped centre (forward-mapping weights)
is restrained to the CG bead position (``BeadCentreRestraints``), so the relaxed
structure maps back onto the CG one, and every double and amide bond is held in its
template cis/trans form by a torsion restraint (``TorsionRestraints``, V = k (1 − cos(φ −
φ_ref))), which is zero at the reference form and only resists a flip. The restraint
energies are terms of their own (``Bead Rest.``, ``Position Rest. (backmap)``,
``Torsion Rest. (backmap)``) and are left out of the reported potential energy.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from mdzoom.core.force import BoundForce, Force

__all__ = ["BeadCentreRestraints", "HeavyAtomRestraints", "TorsionRestraints", "relax_system",
           "RESTRAINT_TERMS"]

RESTRAINT_TERMS = ("Bead Rest.", "Position Rest. (backmap)", "Torsion Rest. (backmap)")


def _min_image(d, box):
    for k in (2, 1, 0):
        if box[k, k] > 0:
            d -= np.round(d[..., k] / box[k, k])[..., None] * box[k]
    return d


@dataclass(eq=False)
class BeadCentreRestraints(Force):
    """V = ½ k Σ_b |Σ_i w_bi x_i − B_b|² over groups of atoms.

    Parameters
    ----------
    atoms : (G, k) int      atoms of each of G molecules (one block of equal molecules)
    weights : (nb, k)       bead weights per molecule (rows sum to 1)
    targets : (G, nb, 3) [nm]   bead positions
    k : float [kJ mol⁻¹ nm⁻²]
    """

    groups: list = None        # [(atoms, weights, targets)]
    k: float = 5000.0

    def bind(self, system, context):
        return _BoundBead(self)


class _BoundBead(BoundForce):
    terms = ("Bead Rest.",)

    def __init__(self, desc):
        self.groups = [(np.asarray(a), np.asarray(w), np.asarray(t)) for a, w, t in desc.groups]
        self.k = float(desc.k)

    def compute(self, state, forces_out):
        x, box = state.positions, state.box
        e = 0.0
        for atoms, w, targets in self.groups:
            xs = x[atoms]                                       # (G, k, 3)
            # unwrap each molecule around its first atom (molecules may straddle the box)
            xs = xs[:, :1] + _min_image(xs - xs[:, :1], box)
            c = np.einsum("bk,gkx->gbx", w, xs)
            d = _min_image(c - targets, box)
            e += 0.5 * self.k * float((d ** 2).sum())
            f = -self.k * np.einsum("bk,gbx->gkx", w, d)
            np.add.at(forces_out, atoms.ravel(), f.reshape(-1, 3))
        self.last_terms = {"Bead Rest.": e}
        return e


@dataclass(eq=False)
class HeavyAtomRestraints(Force):
    """V = ½ k Σ_i |x_i − r_i|² (minimum image) on the atoms ``atoms``."""

    atoms: np.ndarray = None
    reference: np.ndarray = None
    k: float = 1000.0

    def bind(self, system, context):
        return _BoundPos(self)


class _BoundPos(BoundForce):
    terms = ("Position Rest. (backmap)",)

    def __init__(self, desc):
        self.atoms = np.asarray(desc.atoms)
        self.ref = np.asarray(desc.reference, dtype=float)
        self.k = float(desc.k)

    def compute(self, state, forces_out):
        d = _min_image(state.positions[self.atoms] - self.ref, state.box)
        forces_out[self.atoms] -= self.k * d
        e = 0.5 * self.k * float((d ** 2).sum())
        self.last_terms = {self.terms[0]: e}
        return e


@dataclass(eq=False)
class TorsionRestraints(Force):
    """V = Σ k (1 − cos(φ − φ0)) over torsions i–j–k–l (IUPAC φ, minimum image).

    Parameters
    ----------
    atoms : (M, 4) int
    phi0 : (M,) [rad]     reference torsion (0 cis, π trans)
    k : float [kJ/mol]    barrier 2k against a flip
    """

    atoms: np.ndarray = None
    phi0: np.ndarray = None
    k: float = 250.0

    def bind(self, system, context):
        return _BoundTorsion(self)


class _BoundTorsion(BoundForce):
    terms = ("Torsion Rest. (backmap)",)

    def __init__(self, desc):
        self.atoms = np.ascontiguousarray(np.asarray(desc.atoms, dtype=np.int64).reshape(-1, 4))
        self.phi0 = np.ascontiguousarray(np.asarray(desc.phi0, dtype=np.float64).ravel())
        self.k = np.full(len(self.atoms), float(desc.k))

    def compute(self, state, forces_out):
        from ._kernels import torsion_restraints

        e = float(torsion_restraints(state.positions, np.asarray(state.box, np.float64),
                                     self.atoms, self.phi0, self.k, forces_out))
        self.last_terms = {self.terms[0]: e}
        return e


def potential_without_restraints(sim):
    terms = sim.energy_terms()
    return float(terms["Potential"]) - sum(float(terms.get(t, 0.0)) for t in RESTRAINT_TERMS)


def _untangle(sim, steps=200, max_move=0.005):
    """Steepest descent with each atom's move capped at ``max_move`` [nm] (forces of
    near-overlapping atoms are astronomically large, which the adaptive step of
    ``minimize`` cannot use); constraints are re-imposed after every move."""
    ev, stepper, st = sim.evaluator, sim.stepper, sim.state
    if stepper.constraints:
        stepper.constrain_start(st)
    for _ in range(steps):
        ev.compute(st)
        f = np.nan_to_num(ev.forces, nan=0.0, posinf=0.0, neginf=0.0)
        norm = np.sqrt((f ** 2).sum(axis=1))
        if norm.max() < 1e4:
            break
        scale = max_move / np.maximum(norm, 1e4)
        x_old = st.positions.copy()
        st.positions += scale[:, None] * f
        for c in stepper.constraints:
            c.constrain_positions(x_old, st.positions, stepper.inv_m, st.box)
    sim._prepared = False


def _restrained_md(mz, system_md, integ, state, steps, seed, threads, progress, rep, say):
    """The restrained MD stage; returns its Simulation. A constraint failure (SETTLE or
    SHAKE: an atom still under a huge force after the minimisation) is retried once from
    the minimised structure at a quarter of the time step (four times the steps); if that
    fails too, the stage is skipped and the structure stays as minimised — said in
    ``report["notes"]``, never silently."""
    from mdzoom.core.constraints import ConstraintError

    start = state.positions.copy()
    for attempt, factor in enumerate((1, 4)):
        st = state.copy() if hasattr(state, "copy") else state
        st.positions[:] = start
        st.velocities[:] = 0.0
        integ_k = integ if factor == 1 else mz.LangevinBAOAB(
            dt=integ.dt / factor, temperature=integ.temperature, friction=integ.friction)
        md = mz.Simulation(system_md, integ_k, st, seed=seed, threads=threads)
        try:
            md.run(steps * factor, progress=progress, desc="restrained MD")
            if factor > 1:
                rep["notes"].append(f"restrained MD retried at dt = {integ_k.dt:g} ps after "
                                    "a constraint failure at the default time step")
            return md
        except ConstraintError as exc:
            say(f"restrained MD at dt = {integ_k.dt:g} ps failed: {exc}")
    st.positions[:] = start
    st.velocities[:] = 0.0
    rep["notes"].append("restrained MD skipped: constraint failures at two time steps; "
                        "the structure is only minimised (check the atoms under the "
                        "largest forces)")
    return mz.Simulation(system_md, integ, st, seed=seed, threads=threads)


def relax_system(out, bead_groups, *, include_dirs=(), seed=0, minimize_steps=500,
                 md_steps=200, md_dt=0.0005, temperature=300.0, k_heavy=1000.0,
                 k_bead=5000.0, torsions=None, k_torsion=250.0, threads=None, progress=None,
                 say=lambda s: None):
    """Relax ``out`` (a BackmappedSystem) in place; fills ``out.report`` with energies
    [kJ/mol] and timings [s]. ``torsions``: ((M, 4) atoms, (M,) φ_ref [rad]) held by a
    ``TorsionRestraints`` of strength ``k_torsion`` [kJ/mol] in every stage."""
    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs
    from mdzoom.core.minimize import minimize

    rep = out.report
    with tempfile.TemporaryDirectory() as tmp:
        top = os.path.join(tmp, "aa.top")
        gro = os.path.join(tmp, "aa.gro")
        out.write_top(top, absolute=True)
        out.write_gro(gro)
        t0 = time.perf_counter()
        try:
            system, state, _ = load_gromacs(top, gro, include_dirs=tuple(include_dirs))
        except KeyError as exc:
            raise RuntimeError(f"cannot build the all-atom system for {rep['forcefield']}: "
                               f"{exc}; the force field's bonded types come from the "
                               f"plugin that registers them ('mdzoom plugins')") from None
    state.positions[:] = out.placed                 # full precision, not the .gro's
    bead = BeadCentreRestraints(groups=[(a, w, b) for a, w, b in bead_groups], k=k_bead)
    heavy_idx = np.flatnonzero(out.heavy)
    pos = HeavyAtomRestraints(atoms=heavy_idx, reference=out.placed[heavy_idx].copy(),
                              k=k_heavy)
    base = list(system.forces)
    restraints = [bead]
    if torsions is not None and len(torsions[0]):
        restraints.append(TorsionRestraints(atoms=torsions[0], phi0=torsions[1], k=k_torsion))
    system_r = mz.System(system.topology, system.box, base + restraints,
                         system.constraints, system.virtual_sites)
    integ = mz.LangevinBAOAB(dt=md_dt, temperature=temperature, friction=5.0)
    sim = mz.Simulation(system_r, integ, state, seed=seed, threads=threads)
    rep["t_build"] = time.perf_counter() - t0
    rep["energy_placed"] = potential_without_restraints(sim)
    say(f"built the {rep['forcefield']} system ({state.n_particles} atoms) in "
        f"{rep['t_build']:.2f} s; placed potential energy {rep['energy_placed']:.4g} kJ/mol")
    t1 = time.perf_counter()
    _untangle(sim, steps=min(200, minimize_steps))
    r = minimize(sim, max_steps=minimize_steps, f_tol=100.0, progress=progress)
    rep["t_minimize"] = time.perf_counter() - t1
    rep["energy_minimized"] = potential_without_restraints(sim)
    say(f"minimised: {r.steps} steps, Fmax {r.max_force:.3g}, E {rep['energy_minimized']:.6g} "
        f"kJ/mol ({rep['t_minimize']:.1f} s)")
    if md_steps > 0:
        t2 = time.perf_counter()
        system_md = mz.System(system.topology, system.box, base + restraints + [pos],
                              system.constraints, system.virtual_sites)
        md = _restrained_md(mz, system_md, integ, sim.state, md_steps, seed, threads,
                            progress, rep, say)
        sim = mz.Simulation(system_r, integ, md.state, seed=seed, threads=threads)
        r = minimize(sim, max_steps=minimize_steps, f_tol=100.0, progress=progress)
        rep["t_md"] = time.perf_counter() - t2
        say(f"restrained MD {md_steps} × {md_dt} ps and minimisation ({r.steps} steps) in "
            f"{rep['t_md']:.1f} s")
    rep["energy_relaxed"] = potential_without_restraints(sim)
    rep["energy_terms"] = {k: float(v) for k, v in sim.energy_terms().items()}
    rep["max_force"] = float(r.max_force)
    say(f"relaxed potential energy {rep['energy_relaxed']:.6g} kJ/mol "
        f"({rep['energy_relaxed'] / state.n_particles:.3f} per atom)")
    out.positions = sim.state.positions.copy()
    out.system = system
    out.state = sim.state
    return out
