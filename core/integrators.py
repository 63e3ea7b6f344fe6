"""Integrators: velocity Verlet (NVE), Langevin BAOAB (NVT), overdamped Langevin.

Descriptions are parameter-only dataclasses; ``bind(system, evaluator)`` returns the
stepper a ``Simulation`` owns. Random forces come from a counter-based generator keyed
by (seed, step, particle), so a run resumed from a checkpoint continues bit-for-bit and
results do not depend on the number of threads.

Constraints (``System.constraints``: SHAKE/RATTLE ``DistanceConstraints``, SETTLE
``Settle``) are applied only when the system has some; an unconstrained system runs the
same fused kernels as before. With constraints:

- ``VelocityVerlet`` is velocity Verlet + RATTLE: positions constrained after the drift
  (reference: the positions before it, velocities corrected by Δx/dt), velocities after
  the second kick.
- ``LangevinBAOAB``: velocities constrained after each B and after O, positions after
  each A (velocities corrected by Δx/(dt/2)).
- ``Brownian``: positions constrained after the move (v = constrained Δx/dt).

``prepare`` (called before the first step and after loading a checkpoint) puts starting
positions and velocities that violate the constraints onto them, like GROMACS does at
the start of a run that is not a continuation; a state that already satisfies them (a
checkpoint) is left bit-for-bit untouched.

Virtual sites (``System.virtual_sites``) are massless and not integrated: their
``inv_m`` is 0, so kicks, drifts and noise leave them alone; the force evaluator places
them from their constructing atoms before every force evaluation (and spreads their
forces onto those atoms). ``prepare`` sets their velocities to 0, which the steps keep,
so they add nothing to the kinetic energy; each removes 3 degrees of freedom. A
massless particle that is not a virtual site is an error.

``stepper.constraint_virial`` is the constraint virial of the last step, (3, 3)
[kJ/mol], in GROMACS's convention Ξ = −½ Σ r ⊗ f: the total constraint impulse of the
step divided by dt. ``constraint_virial_sum`` / ``constraint_virial_steps`` accumulate
it over all steps taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _integrator_kernels as _k
from .units import KB
from .virtual_sites import virtual_site_indices

__all__ = ["Integrator", "VelocityVerlet", "LangevinBAOAB", "Brownian"]


class Integrator:
    """Base of integrator descriptions. ``dt`` [ps], positive and finite (checked when
    a description is made: a dataclass subclass calls this ``__post_init__``)."""

    dt: float

    def __post_init__(self):
        dt = self.dt
        if isinstance(dt, bool) or not isinstance(dt, (int, float, np.integer, np.floating)) \
                or not np.isfinite(dt) or dt <= 0:
            raise ValueError(f"dt must be a positive, finite time step in ps; got {dt!r}")

    def bind(self, system, evaluator):  # pragma: no cover - interface
        raise NotImplementedError


class BoundIntegrator:
    """Advances a ``State`` in place; owns nothing but constants and scratch."""

    thermostatted = False

    def __init__(self, desc, system, evaluator):
        self.desc = desc
        self.system = system
        self.evaluator = evaluator
        m = np.ascontiguousarray(system.masses, dtype=np.float64)
        vsites = virtual_site_indices(system)
        self.virtual_sites = vsites
        if vsites.size:
            real = np.ones(m.size, dtype=bool)
            real[vsites] = False
            bad = np.nonzero(real & ~(m > 0))[0]
            if bad.size:
                raise ValueError(f"particle {int(bad[0])} has mass {m[bad[0]]} and is not a "
                                 "virtual site; masses must be positive for dynamics")
            inv_m = np.zeros(m.size)
            inv_m[real] = 1.0 / m[real]
            self.inv_m = inv_m
        else:
            if np.any(m <= 0):
                raise ValueError("all masses must be positive for dynamics (massless "
                                 "particles must be virtual sites: System.virtual_sites)")
            self.inv_m = 1.0 / m
        self.masses = m
        self.forces_valid = False
        self.constraints = [c.bind(system) for c in system.constraints]
        if len(self.constraints) > 1:
            atoms = np.concatenate([c.atoms for c in self.constraints])
            uniq, counts = np.unique(atoms, return_counts=True)
            if (counts > 1).any():
                raise ValueError(f"particle {int(uniq[counts > 1][0])} belongs to more than one "
                                 "constraint set; put coupled constraints in one "
                                 "DistanceConstraints")
        self.n_constraints = sum(int(c.n_constraints) for c in self.constraints)
        self.constraint_virial = np.zeros((3, 3))
        self.constraint_virial_sum = np.zeros((3, 3))
        self.constraint_virial_steps = 0
        self._x_ref = np.empty((system.n_particles, 3)) if self.constraints else None

    #: whether ``prepare`` also constrains the starting velocities
    constrains_velocities = True

    def prepare(self, state):
        """Constrain the starting state if it violates the constraints, then compute
        forces (called before the first step)."""
        if self.virtual_sites.size:
            state.velocities[self.virtual_sites] = 0.0
        if self.constraints:
            self.constrain_start(state)
        self.evaluator.compute(state)
        self.forces_valid = True

    def constrain_start(self, state):
        """Put positions (and velocities) that violate the constraints onto them; leave a
        state that satisfies them to the solvers' tolerances untouched."""
        x, v, box = state.positions, state.velocities, state.box
        for c in self.constraints:
            p, _ = c.deviations(x, v, box)
            if p.size and p.max() > c.tol:
                c.constrain_positions(x.copy(), x, self.inv_m, box, step=state.step)
        if self.constrains_velocities:
            for c in self.constraints:
                _, q = c.deviations(x, v, box)
                if q.size and q.max() > c.tol:
                    c.constrain_velocities(x, v, self.inv_m, box, step=state.step)

    def _constrain_x(self, state, x_ref, h):
        """Constrain positions after a move of duration ``h`` [ps] (velocities get Δx/h);
        returns the constraint impulse virial −½ Σ r ⊗ mΔv [amu nm²/ps]."""
        vir = 0.0
        for c in self.constraints:
            vir = vir + c.constrain_positions(x_ref, state.positions, self.inv_m, state.box,
                                              v=state.velocities, dt=h, step=state.step)
        return vir / h

    def _constrain_v(self, state):
        vir = 0.0
        for c in self.constraints:
            vir = vir + c.constrain_velocities(state.positions, state.velocities, self.inv_m,
                                               state.box, step=state.step)
        return vir

    def _record_virial(self, vir):
        self.constraint_virial[:] = vir
        self.constraint_virial_sum += vir
        self.constraint_virial_steps += 1

    def step(self, state, n, seed):  # pragma: no cover - interface
        raise NotImplementedError

    thermostat = None

    def state_dict(self) -> dict:
        """The stepper's own state (thermostat variables) for a checkpoint: name → array."""
        return {}

    def load_state_dict(self, d):
        pass

    def degrees_of_freedom(self):
        """3N − 3 per virtual site − constrained degrees of freedom − 3 (COM) unless
        thermostatted."""
        return (3 * (self.system.n_particles - self.virtual_sites.size) - self.n_constraints
                - (0 if self.thermostatted else 3))


@dataclass
class VelocityVerlet(Integrator):
    """Velocity Verlet: NVE, or NVT with a ``thermostat`` (``VRescale``,
    ``NoseHooverChain``, ``Berendsen`` from ``mdzoom.core.thermostats``) applied for dt/2
    before and after each step. ``dt`` [ps]. ``barostat`` (``CRescale``,
    ``BerendsenBarostat`` from ``mdzoom.core.barostats``): pressure coupling every
    ``nstpcouple`` steps, the box scaled at the end of the coupling step (molecule
    centres for constrained systems); an extended-system barostat with its own ``step``
    (``MTKBarostat``) runs the whole propagator instead."""

    dt: float = 0.002
    thermostat: object = None
    barostat: object = None

    def bind(self, system, evaluator):
        return _BoundVerlet(self, system, evaluator)


class _BoundVerlet(BoundIntegrator):
    def __init__(self, desc, system, evaluator):
        super().__init__(desc, system, evaluator)
        th = desc.thermostat
        self.thermostat = th.bind(system, self) if th is not None else None
        ba = desc.barostat
        self.barostat = ba.bind(system, self) if ba is not None else None

    def state_dict(self):
        d = self.thermostat.state_dict() if self.thermostat is not None else {}
        if self.barostat is not None:
            d.update(self.barostat.state_dict())
        return d

    def load_state_dict(self, d):
        if self.thermostat is not None:
            self.thermostat.load_state_dict(d)
        if self.barostat is not None:
            self.barostat.load_state_dict(d)

    def step(self, state, n, seed):
        if self.barostat is not None:
            own = getattr(self.barostat, "step", None)
            if own is not None:     # extended-system barostats (MTK) own the propagator
                return own(self, state, n, seed)
            return self._step_coupled(state, n, seed)
        if self.thermostat is not None:
            return self._step_coupled(state, n, seed)
        if self.constraints:
            return self._step_constrained(state, n)
        ev = self.evaluator
        x, v, dt = state.positions, state.velocities, self.desc.dt
        for _ in range(n):
            _k.kick_drift(x, v, ev.forces, self.inv_m, 0.5 * dt, dt)
            ev.compute(state)
            _k.kick(v, ev.forces, self.inv_m, 0.5 * dt)
            state.step += 1
            state.time += dt

    def _step_constrained(self, state, n):
        ev = self.evaluator
        x, v, dt = state.positions, state.velocities, self.desc.dt
        x_ref = self._x_ref
        for _ in range(n):
            np.copyto(x_ref, x)
            _k.kick_drift(x, v, ev.forces, self.inv_m, 0.5 * dt, dt)
            vir = self._constrain_x(state, x_ref, dt)
            ev.compute(state)
            _k.kick(v, ev.forces, self.inv_m, 0.5 * dt)
            vir = vir + self._constrain_v(state)
            self._record_virial(vir / dt)
            state.step += 1
            state.time += dt

    def _step_coupled(self, state, n, seed):
        """[T(dt/2)] B A [F] B [T(dt/2)] [couple: scale, F again]. With constraints,
        RATTLE as in ``_step_constrained`` (scaling by group keeps velocity constraints
        unless one spans two groups, so the velocities are re-constrained after the
        thermostat when there are several). The barostat's virial is computed on the
        coupling steps' force evaluations only, and its pressure includes that step's
        constraint virial."""
        ev, th, ba = self.evaluator, self.thermostat, self.barostat
        x, v, dt = state.positions, state.velocities, self.desc.dt
        x_ref = self._x_ref
        fix_v = bool(self.constraints) and th is not None and th.n_groups > 1
        for _ in range(n):
            vir = 0.0
            if th is not None:
                th.apply(state, 0.5 * dt, seed, 0)
                if fix_v:
                    vir = vir + self._constrain_v(state)
            if x_ref is not None:
                np.copyto(x_ref, x)
            _k.kick_drift(x, v, ev.forces, self.inv_m, 0.5 * dt, dt)
            if x_ref is not None:
                vir = vir + self._constrain_x(state, x_ref, dt)
            couple = ba is not None and ba.due(state.step + 1)
            if couple:
                requested = ev.virial_requested
                ev.virial_requested = True
                try:
                    ev.compute(state)
                finally:
                    ev.virial_requested = requested
            else:
                ev.compute(state)
            _k.kick(v, ev.forces, self.inv_m, 0.5 * dt)
            if self.constraints:
                vir = vir + self._constrain_v(state)
            if th is not None:
                th.apply(state, 0.5 * dt, seed, 1)
                if fix_v:
                    vir = vir + self._constrain_v(state)
            if self.constraints:
                self._record_virial(vir / dt)
            state.step += 1
            state.time += dt
            if couple:
                total = ev.virial + (self.constraint_virial if self.constraints else 0.0)
                ba.couple(state, total, seed)
                ba.apply(state, ev)


@dataclass
class LangevinBAOAB(Integrator):
    """Langevin dynamics, BAOAB splitting (Leimkuhler & Matthews 2013).

    Parameters
    ----------
    dt : float [ps]
    temperature : float [K]
    friction : float [1/ps]   collision rate γ
    """

    dt: float = 0.002
    temperature: float = 300.0
    friction: float = 1.0

    def bind(self, system, evaluator):
        return _BoundBAOAB(self, system, evaluator)


class _BoundBAOAB(BoundIntegrator):
    thermostatted = True

    def __init__(self, desc, system, evaluator):
        super().__init__(desc, system, evaluator)
        self.c1 = float(np.exp(-desc.friction * desc.dt))
        self.noise = np.sqrt((1.0 - self.c1 ** 2) * KB * desc.temperature * self.inv_m)

    def step(self, state, n, seed):
        if self.constraints:
            return self._step_constrained(state, n, seed)
        ev = self.evaluator
        x, v, dt = state.positions, state.velocities, self.desc.dt
        for _ in range(n):
            _k.baoa(x, v, ev.forces, self.inv_m, 0.5 * dt, self.c1, self.noise, seed, state.step)
            ev.compute(state)
            _k.kick(v, ev.forces, self.inv_m, 0.5 * dt)
            state.step += 1
            state.time += dt

    def _step_constrained(self, state, n, seed):
        ev = self.evaluator
        x, v, dt = state.positions, state.velocities, self.desc.dt
        h = 0.5 * dt
        x_ref = self._x_ref
        for _ in range(n):
            _k.kick(v, ev.forces, self.inv_m, h)
            vir = self._constrain_v(state)
            np.copyto(x_ref, x)
            _k.drift(x, v, h)
            vir = vir + self._constrain_x(state, x_ref, h)
            _k.ornstein_uhlenbeck(v, self.c1, self.noise, seed, state.step)
            vir = vir + self._constrain_v(state)
            np.copyto(x_ref, x)
            _k.drift(x, v, h)
            vir = vir + self._constrain_x(state, x_ref, h)
            ev.compute(state)
            _k.kick(v, ev.forces, self.inv_m, h)
            vir = vir + self._constrain_v(state)
            self._record_virial(vir / dt)
            state.step += 1
            state.time += dt


@dataclass
class Brownian(Integrator):
    """Overdamped Langevin (Brownian) dynamics; T = 0 is gradient descent.

    Parameters
    ----------
    dt : float [ps]
    temperature : float [K]
    friction : float [1/ps]   γ; the mobility of particle i is 1/(m_i γ), D_i = kT/(m_i γ)
    """

    dt: float = 0.001
    temperature: float = 300.0
    friction: float = 10.0

    def bind(self, system, evaluator):
        return _BoundBrownian(self, system, evaluator)


class _BoundBrownian(BoundIntegrator):
    thermostatted = True
    constrains_velocities = False   # v is the step's displacement / dt

    def __init__(self, desc, system, evaluator):
        super().__init__(desc, system, evaluator)
        if desc.friction <= 0:
            raise ValueError(f"Brownian dynamics needs friction > 0; got {desc.friction}")
        self.mobility = self.inv_m / desc.friction
        self.noise = np.sqrt(2.0 * KB * desc.temperature * self.mobility * desc.dt)

    def step(self, state, n, seed):
        ev = self.evaluator
        x, v, dt = state.positions, state.velocities, self.desc.dt
        x_ref = self._x_ref
        for _ in range(n):
            if x_ref is not None:
                np.copyto(x_ref, x)
            _k.brownian(x, v, ev.forces, self.mobility, self.noise, dt, seed, state.step)
            if x_ref is not None:
                # constraint force f_c = m γ Δx / dt, so Ξ = (−½ Σ r ⊗ mΔx)·γ/dt
                self._record_virial(self._constrain_x(state, x_ref, dt) * self.desc.friction)
            state.step += 1
            state.time += dt
            ev.compute(state)
