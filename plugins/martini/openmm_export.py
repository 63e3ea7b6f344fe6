"""OpenMM converters for the Martini bonded forces (used by ``mdzoom.core.openmm_export``).

Registered as forces named ``"openmm:<ClassName>"``; each is
``fn(force, system, openmm) -> list[openmm.Force]``, named with the mdzoom energy term.
OpenMM is only touched through the module passed in (this module imports without it).

- ``RestrictedBending``: a periodic ``CustomAngleForce``
  ``0.5*k*(cos(theta) - cos0)^2/sin(theta)^2`` with per-angle ``cos0`` and ``k``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["OPENMM_CONVERTERS"]


def restricted_bending(force, system, mm):
    a = np.asarray(force.atoms, dtype=np.int64).reshape(-1, 3)
    m = len(a)
    cos0 = np.cos(np.deg2rad(np.broadcast_to(np.asarray(force.theta0, float), (m,))))
    k = np.broadcast_to(np.asarray(force.k, float), (m,))
    f = mm.CustomAngleForce("0.5*k*(cos(theta) - cos0)^2/sin(theta)^2")
    f.addPerAngleParameter("cos0")
    f.addPerAngleParameter("k")
    for (i, j, l), c, kk in zip(a, cos0, k):
        f.addAngle(int(i), int(j), int(l), [float(c), float(kk)])
    f.setName(force.term)
    f.setUsesPeriodicBoundaryConditions(True)
    return [f]


OPENMM_CONVERTERS = {
    "openmm:RestrictedBending": restricted_bending,
}
