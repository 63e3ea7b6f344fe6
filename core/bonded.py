"""Bonded forces of the core (more bonded types arrive with the all-atom plugin)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _bonded_kernels as _k
from .force import BoundForce, Force

__all__ = ["HarmonicBond"]


@dataclass
class HarmonicBond(Force):
    """V = ½ k (r − r0)² on bonded pairs.

    Parameters
    ----------
    pairs : (M, 2) int array or None
        Particle index pairs. ``None`` takes every bond of the topology graph, with
        ``k`` and ``r0`` read from the edge attributes of the same names.
    k : float or (M,) [kJ mol⁻¹ nm⁻²]
    r0 : float or (M,) [nm]
    """

    pairs: np.ndarray | None = None
    k: float | np.ndarray | None = None
    r0: float | np.ndarray | None = None

    def bind(self, system, context):
        return _BoundHarmonicBond(self, system)


class _BoundHarmonicBond(BoundForce):
    terms = ("Bond",)

    def __init__(self, desc, system):
        top = system.topology
        if desc.pairs is None:
            pairs = top.bonds
            k, r0 = top.bond_parameters("k", "r0") if (desc.k is None or desc.r0 is None) \
                else (desc.k, desc.r0)
        else:
            pairs = np.asarray(desc.pairs, dtype=np.int64).reshape(-1, 2)
            k, r0 = desc.k, desc.r0
            if k is None or r0 is None:
                raise ValueError("HarmonicBond with explicit pairs needs k and r0")
        m = pairs.shape[0]
        self.pairs = np.ascontiguousarray(pairs, dtype=np.int64)
        self.k = np.ascontiguousarray(np.broadcast_to(np.asarray(k, float), (m,)))
        self.r0 = np.ascontiguousarray(np.broadcast_to(np.asarray(r0, float), (m,)))
        if m and (self.pairs.min() < 0 or self.pairs.max() >= system.n_particles):
            raise IndexError(f"bond index out of range for {system.n_particles} particles")

    def compute(self, state, forces_out):
        return _k.harmonic_bonds(state.positions, state.box, self.pairs, self.k, self.r0,
                                 forces_out)
