"""A pair force written entirely by the plugin, over mdzoom's shared neighbour list.

``PluginLennardJones`` is the LJ 12-6 potential with potential shift — the same physics
as ``mdzoom.core.LennardJones(sigma, epsilon, cutoff)`` — but its numba kernel lives in
this package. It shows how a third-party pair force gets neighbours:

1. at bind time, ask ``context.neighbour_list(cutoff)``; every pair force of a simulation
   shares one list, built for the largest cutoff asked for (plus a skin);
2. in ``compute``, read the list's arrays (``positions``, ``neighbours``, ``counts``,
   ``shifts``, ``chunk_bounds``; see ``mdzoom.core.neighbours``). The engine refreshes
   them before each evaluation, so ``compute`` ignores ``state.positions``;
3. run the kernel over the list's chunks into ``nl.force_buffers()`` and finish with
   ``nl.reduce_forces(buffers, forces_out)``, which adds them in particle order.

The benchmark ``benchmarks/lj.py`` runs it beside the built-in force to show that a
plugin pays no penalty for being a plugin.
"""

from __future__ import annotations

from dataclasses import dataclass

from mdzoom.core import BoundForce, Force

from . import _kernels as _k

__all__ = ["PluginLennardJones"]


@dataclass
class PluginLennardJones(Force):
    """V = 4ε[(σ/r)¹² − (σ/r)⁶] − V(rc) for r < rc, one (σ, ε) for every pair (``LJ (SR)``).

    Pairs excluded by the topology (bonded neighbours up to ``nrexcl``) are skipped, as
    the shared list never holds them.

    Parameters
    ----------
    sigma : float [nm]
    epsilon : float [kJ/mol]
    cutoff : float [nm]
    """

    sigma: float = 1.0
    epsilon: float = 1.0
    cutoff: float = 2.5

    def __post_init__(self):
        if not (self.sigma > 0 and self.epsilon >= 0 and self.cutoff > 0):
            raise ValueError("need sigma > 0, epsilon >= 0 and cutoff > 0; got "
                             f"{self.sigma}, {self.epsilon}, {self.cutoff}")

    def bind(self, system, context):
        return _BoundPluginLJ(self, context)


class _BoundPluginLJ(BoundForce):
    terms = ("LJ (SR)",)

    def __init__(self, desc, context):
        self.nl = context.neighbour_list(desc.cutoff)
        rc = float(desc.cutoff)
        self.c6 = 4.0 * desc.epsilon * desc.sigma ** 6
        self.c12 = 4.0 * desc.epsilon * desc.sigma ** 12
        self.rc2 = rc * rc
        self.vshift = self.c12 * rc ** -12 - self.c6 * rc ** -6

    def compute(self, state, forces_out):
        nl = self.nl
        buffers = nl.force_buffers()
        energy = _k.lj_shifted(nl.positions, nl.neighbours, nl.counts, nl.shifts, self.c6,
                               self.c12, self.rc2, self.vshift, nl.chunk_bounds, buffers)
        nl.reduce_forces(buffers, forces_out)
        return energy
