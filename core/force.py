"""Forces: describe, then bind.

A *force description* is a parameter-only object (usually a dataclass): picklable,
comparable, what a user or a force field puts in ``System.forces``. Binding it to a
system yields a *bound force*, the evaluator a ``Simulation`` owns::

    class MyForce(Force):
        def bind(self, system, context) -> BoundForce: ...

    class MyBound(BoundForce):
        terms = ("My term",)
        def compute(self, state, forces_out) -> float:
            ...  # add −∂U/∂x into forces_out (N, 3) [kJ mol⁻¹ nm⁻¹]
            return energy  # [kJ/mol]

A bound force that needs neighbours asks ``context.neighbour_list(cutoff)`` at bind time
and reads the list's arrays in ``compute``; the engine refreshes it before each
evaluation. A bound force with more than one energy term sets ``last_terms`` (term name
→ kJ/mol) in ``compute``; with one term the engine files the returned energy under it.
Term names follow ``gmx energy`` (``Bond``, ``LJ (SR)``, ``Coulomb (SR)``, …).

Virtual sites (``System.virtual_sites``) are handled here, so every integrator,
minimiser and single-point evaluation gets them: ``compute`` constructs the site
positions in ``state.positions`` first and spreads the forces on the sites onto their
constructing atoms last (the rows of the sites end up zero). Bound forces see the sites
as ordinary particles.
"""

from __future__ import annotations

import numpy as np

from .neighbours import NeighbourList

__all__ = ["Force", "BoundForce", "BindContext", "ForceEvaluator"]


class Force:
    """Base of force descriptions. Subclasses implement ``bind(system, context)``."""

    def bind(self, system, context) -> "BoundForce":  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} does not implement bind()")


class BoundForce:
    """Base of bound evaluators.

    Attributes
    ----------
    terms : tuple[str, ...]   energy term names this force contributes
    last_terms : dict[str, float] | None   per-term energies of the last ``compute``
    """

    terms: tuple = ("Custom",)
    last_terms: dict | None = None

    def compute(self, state, forces_out) -> float:  # pragma: no cover - interface
        raise NotImplementedError


class BindContext:
    """What a force may ask for while it is being bound.

    ``neighbour_list(cutoff)`` returns the simulation's shared list; it is built for the
    largest cutoff requested, so kernels must still test ``r < cutoff`` themselves.
    """

    def __init__(self, system, skin=0.1):
        self.system = system
        self.skin = float(skin)
        self._cutoffs = []
        self._nl = None

    def neighbour_list(self, cutoff) -> NeighbourList:
        self._cutoffs.append(float(cutoff))
        if self._nl is None:
            self._nl = NeighbourList(self.system.n_particles, float(cutoff), self.skin,
                                     self.system.topology.exclusions)
        self._nl.cutoff = max(self._cutoffs)
        return self._nl

    @property
    def neighbours(self) -> NeighbourList | None:
        return self._nl


class ForceEvaluator:
    """Binds a system's forces and evaluates them all in one call per step."""

    def __init__(self, system, skin=0.1):
        self.system = system
        self.context = BindContext(system, skin)
        self.bound = [f.bind(system, self.context) for f in system.forces]
        self.virtual_sites = [v.bind(system) for v in getattr(system, "virtual_sites", ())]
        self.neighbours = self.context.neighbours
        self.forces = np.zeros((system.n_particles, 3))
        self.energy = 0.0
        self.terms = {}

    def compute(self, state, forces_out=None) -> float:
        """Zero ``forces_out`` (default: ``self.forces``), add all forces, return U [kJ/mol]."""
        f = self.forces if forces_out is None else forces_out
        f[:] = 0.0
        if self.virtual_sites:
            for vs in self.virtual_sites:
                vs.construct(state.positions, state.box)
        if self.neighbours is not None:
            self.neighbours.update(state.positions, state.box)
        total = 0.0
        terms = {}
        for b in self.bound:
            e = float(b.compute(state, f))
            total += e
            if b.last_terms:
                for name, v in b.last_terms.items():
                    terms[name] = terms.get(name, 0.0) + v
            else:
                name = b.terms[0]
                terms[name] = terms.get(name, 0.0) + e
        if self.virtual_sites:
            for vs in reversed(self.virtual_sites):
                vs.spread(state.positions, f, state.box)
        terms["Potential"] = total
        self.energy = total
        self.terms = terms
        return total
