"""Martini-specific bonded terms, matching ``gmx energy`` term by term.

Parameter-only descriptions (picklable, comparable) in GROMACS topology-file units — nm,
kJ/mol and degrees, the numbers of an ``[ angles ]`` line. Scalars broadcast over all
interactions; binding converts degrees once and checks the indices::

    >>> from mdzoom.plugins.martini.bonded import RestrictedBending
    >>> bending = RestrictedBending(atoms=[[0, 1, 2]], theta0=135.0, k=15.0)

| class | GROMACS function | energy term |
|---|---|---|
| ``RestrictedBending`` | angles 10 | ``Restr. Angles`` |

The generic function types Martini topologies also use (bonds 1, angles 2, dihedrals 1
and 2, …) are the all-atom plugin's; the GROMACS system builder finds them through the
registry, so this plugin never imports that one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mdzoom.core.bonded import IndexedForce as _ArrayParams
from mdzoom.core.bonded import KernelBoundForce as _BoundBonded

from . import _kernels as _k

__all__ = ["RestrictedBending"]


@dataclass(eq=False)
class RestrictedBending(_ArrayParams):
    """V = ½ k (cos θ − cos θ0)² / sin² θ (GROMACS angles func 10, "ReB").

    The restricted bending potential of Bulacu et al., J. Chem. Theory Comput. 9, 3282
    (2013): like a G96 angle near θ0, but it diverges at θ = 180°, so a Martini angle
    cannot straighten (where the dihedrals through it would become undefined). θ is the
    angle i–j–k.

    Parameters
    ----------
    atoms : (M, 3) int
    theta0 : float or (M,) [deg]
    k : float or (M,) [kJ/mol]
    """

    atoms: np.ndarray
    theta0: float | np.ndarray
    k: float | np.ndarray

    term = "Restr. Angles"

    def bind(self, system, context):
        atoms = self._indices(system, 3)
        m = len(atoms)
        return _BoundBonded(self.term, _k.restricted_bending,
                            (atoms, np.cos(np.deg2rad(self._param("theta0", m))),
                             self._param("k", m)))
