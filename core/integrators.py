"""Integrators: velocity Verlet (NVE), Langevin BAOAB (NVT), overdamped Langevin.

Descriptions are parameter-only dataclasses; ``bind(system, evaluator)`` returns the
stepper a ``Simulation`` owns. Random forces come from a counter-based generator keyed
by (seed, step, particle), so a run resumed from a checkpoint continues bit-for-bit and
results do not depend on the number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _integrator_kernels as _k
from .units import KB

__all__ = ["Integrator", "VelocityVerlet", "LangevinBAOAB", "Brownian"]


class Integrator:
    """Base of integrator descriptions. ``dt`` [ps]."""

    dt: float

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
        if np.any(m <= 0):
            raise ValueError("all masses must be positive for dynamics (virtual sites are not "
                             "integrated; remove zero-mass particles)")
        self.masses = m
        self.inv_m = 1.0 / m
        self.forces_valid = False

    def prepare(self, state):
        """Compute forces for the current state (called before the first step)."""
        self.evaluator.compute(state)
        self.forces_valid = True

    def step(self, state, n, seed):  # pragma: no cover - interface
        raise NotImplementedError

    def degrees_of_freedom(self):
        n_con = len(self.system.constraints)
        return 3 * self.system.n_particles - n_con - (0 if self.thermostatted else 3)


@dataclass
class VelocityVerlet(Integrator):
    """Velocity Verlet, NVE. ``dt`` [ps]."""

    dt: float = 0.002

    def bind(self, system, evaluator):
        return _BoundVerlet(self, system, evaluator)


class _BoundVerlet(BoundIntegrator):
    def step(self, state, n, seed):
        ev = self.evaluator
        x, v, dt = state.positions, state.velocities, self.desc.dt
        for _ in range(n):
            _k.kick_drift(x, v, ev.forces, self.inv_m, 0.5 * dt, dt)
            ev.compute(state)
            _k.kick(v, ev.forces, self.inv_m, 0.5 * dt)
            state.step += 1
            state.time += dt


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
        ev = self.evaluator
        x, v, dt = state.positions, state.velocities, self.desc.dt
        for _ in range(n):
            _k.baoa(x, v, ev.forces, self.inv_m, 0.5 * dt, self.c1, self.noise, seed, state.step)
            ev.compute(state)
            _k.kick(v, ev.forces, self.inv_m, 0.5 * dt)
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

    def __init__(self, desc, system, evaluator):
        super().__init__(desc, system, evaluator)
        if desc.friction <= 0:
            raise ValueError(f"Brownian dynamics needs friction > 0; got {desc.friction}")
        self.mobility = self.inv_m / desc.friction
        self.noise = np.sqrt(2.0 * KB * desc.temperature * self.mobility * desc.dt)

    def step(self, state, n, seed):
        ev = self.evaluator
        x, v, dt = state.positions, state.velocities, self.desc.dt
        for _ in range(n):
            _k.brownian(x, v, ev.forces, self.mobility, self.noise, dt, seed, state.step)
            state.step += 1
            state.time += dt
            ev.compute(state)
