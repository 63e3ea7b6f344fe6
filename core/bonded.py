"""Bonded forces of the core (more bonded types arrive with the all-atom plugin)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import _bonded_kernels as _k
from .force import BoundForce, Force

__all__ = ["HarmonicBond", "IndexedForce", "KernelBoundForce"]


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

    def parameters(self, system):
        """``(pairs (M, 2) int64, k (M,), r0 (M,))`` as bound: the explicit pairs, or
        every bond of the topology graph with its ``k``/``r0`` edge attributes (unless
        ``k`` and ``r0`` are given)."""
        top = system.topology
        if self.pairs is None:
            pairs = top.bonds
            k, r0 = top.bond_parameters("k", "r0") if (self.k is None or self.r0 is None) \
                else (self.k, self.r0)
        else:
            pairs = np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2)
            k, r0 = self.k, self.r0
            if k is None or r0 is None:
                raise ValueError("HarmonicBond with explicit pairs needs k and r0")
        m = pairs.shape[0]
        return (np.ascontiguousarray(pairs, dtype=np.int64),
                np.ascontiguousarray(np.broadcast_to(np.asarray(k, float), (m,))),
                np.ascontiguousarray(np.broadcast_to(np.asarray(r0, float), (m,))))

    def to_openmm(self, system, mm):
        """``[openmm.HarmonicBondForce]`` named ``Bond`` (``mdzoom.core.openmm_export``)."""
        b = _BoundHarmonicBond(self, system)
        f = mm.HarmonicBondForce()
        for (i, j), k, r0 in zip(b.pairs, b.k, b.r0):
            f.addBond(int(i), int(j), float(r0), float(k))
        f.setName("Bond")
        f.setUsesPeriodicBoundaryConditions(system.box is not None)
        return [f]


class _BoundHarmonicBond(BoundForce):
    terms = ("Bond",)

    def __init__(self, desc, system):
        self.pairs, self.k, self.r0 = desc.parameters(system)
        m = self.pairs.shape[0]
        if m and (self.pairs.min() < 0 or self.pairs.max() >= system.n_particles):
            raise IndexError(f"bond index out of range for {system.n_particles} particles")

    def compute(self, state, forces_out):
        return _k.harmonic_bonds(state.positions, state.box, self.pairs, self.k, self.r0,
                                 forces_out)


class IndexedForce(Force):
    """Base of force descriptions holding index and parameter arrays (a dataclass
    subclass with an ``atoms`` field): element-wise dataclass equality, and checked
    conversion helpers for ``bind``: ``_indices(system, width)`` → (M, width) int64
    (or (M,) for width 1) within range, ``_param(name, m, shape=(), dtype=float)`` → a
    scalar or per-interaction field broadcast to (m,) + shape. Used by the all-atom and
    Martini plugins' bonded forces; open to any plugin."""

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if not np.array_equal(np.asarray(a), np.asarray(b)):
                return False
        return True

    __hash__ = None

    def _indices(self, system, width):
        atoms = np.asarray(self.atoms, dtype=np.int64)
        shape = (-1, width) if width > 1 else (-1,)
        try:
            atoms = np.ascontiguousarray(atoms.reshape(shape))
        except ValueError:
            raise ValueError(f"{type(self).__name__}: atoms must have shape (M, {width}); "
                             f"got {np.shape(self.atoms)}") from None
        n = system.n_particles
        if atoms.size and (atoms.min() < 0 or atoms.max() >= n):
            raise IndexError(f"{type(self).__name__}: atom index out of range for {n} "
                             f"particles (got {atoms.min()}..{atoms.max()})")
        return atoms

    def _param(self, name, m, shape=(), dtype=float):
        value = np.asarray(getattr(self, name), dtype=dtype)
        try:
            return np.ascontiguousarray(np.broadcast_to(value, (m,) + shape))
        except ValueError:
            raise ValueError(f"{type(self).__name__}: {name} must be a scalar or have shape "
                             f"{(m,) + shape} (one per interaction); got {value.shape}") from None


class KernelBoundForce(BoundForce):
    """A bound force that calls one kernel ``kernel(x, box, *args, forces_out) -> U`` with
    fixed argument arrays, filing U under the energy term ``term``."""

    def __init__(self, term, kernel, args):
        self.terms = (term,)
        self._kernel = kernel
        self._args = args

    def compute(self, state, forces_out):
        return self._kernel(state.positions, state.box, *self._args, forces_out)
