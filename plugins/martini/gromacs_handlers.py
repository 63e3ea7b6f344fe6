"""Handlers that turn the Martini-specific GROMACS function types into forces.

Registered as forces named ``"gromacs:<section>:<func>"`` (see ``mdzoom.core.gromacs``):
each receives ``atoms`` (M, k) int64, ``params`` (M, p) float64 as written in the
topology (degrees stay degrees; B-state columns are ignored) and the core's
``GromacsContext``, and returns a force description.
"""

from __future__ import annotations

from .bonded import RestrictedBending

__all__ = ["HANDLERS"]


def _restricted_bending(atoms, p, ctx):
    """[ angles ] func 10: θ0 [deg], k [kJ/mol]."""
    return RestrictedBending(atoms, p[:, 0].copy(), p[:, 1].copy())


HANDLERS = {
    "gromacs:angles:10": _restricted_bending,
}
