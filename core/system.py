"""System: topology + box + forces (+ constraints). What a force field builds."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .state import as_box
from .topology import Topology

__all__ = ["System"]


@dataclass
class System:
    """A topology, a periodic box and the list of forces acting on it.

    Parameters
    ----------
    topology : Topology
    box : (3, 3) float64 [nm] (a scalar or 3 lengths are accepted)
    forces : list of Force descriptions (parameter-only objects; see ``mdzoom.core.force``)
    constraints : list
        Constraint descriptions (``DistanceConstraints`` solved by SHAKE/RATTLE,
        ``Settle`` for rigid water; see ``mdzoom.core.constraints``).
    virtual_sites : list
        Virtual-site descriptions (``VirtualSites3``; see ``mdzoom.core.virtual_sites``):
        massless sites the force evaluator places from real atoms before each force
        evaluation and whose forces it spreads back onto them.
    """

    topology: Topology
    box: np.ndarray
    forces: list = field(default_factory=list)
    constraints: list = field(default_factory=list)
    virtual_sites: list = field(default_factory=list)

    def __post_init__(self):
        self.box = as_box(self.box)

    def add_force(self, force):
        """Append a force description; returns it so calls can be chained."""
        self.forces.append(force)
        return force

    @property
    def n_particles(self) -> int:
        return self.topology.n_particles

    @property
    def masses(self) -> np.ndarray:
        return self.topology.masses

    @property
    def n_constraints(self) -> int:
        """Degrees of freedom the constraints remove (SETTLE: 3 per water)."""
        return sum(int(c.n_constraints) for c in self.constraints)

    @property
    def n_virtual_sites(self) -> int:
        return sum(int(v.n_sites) for v in self.virtual_sites)

    @property
    def degrees_of_freedom(self) -> int:
        """3N − 3 (centre-of-mass motion removed) − constrained degrees of freedom − 3 per
        virtual site (sites are not integrated)."""
        return 3 * self.n_particles - 3 - self.n_constraints - 3 * self.n_virtual_sites

    def __repr__(self):
        names = ", ".join(type(f).__name__ for f in self.forces)
        return f"System({self.topology!r}, forces=[{names}])"
