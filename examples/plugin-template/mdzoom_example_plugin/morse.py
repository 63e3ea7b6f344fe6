"""Bonded example forces: a Morse bond and a flat-bottom position restraint.

Both follow mdzoom's *describe, then bind* pattern (``mdzoom.core.force``):

- the description is a parameter-only dataclass (picklable, comparable) that a user or
  a TOML ``[[forces]]`` table builds: ``MorseBond(D_e=400.0, a=20.0, r0=0.11)``;
- ``bind(system, context)`` turns it into a bound evaluator holding contiguous arrays;
- the bound evaluator's ``compute(state, forces_out) -> energy`` calls a numba kernel
  from ``_kernels.py`` once per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mdzoom.core import BoundForce, Force

from . import _kernels as _k

__all__ = ["MorseBond", "FlatBottomRestraint"]


def _per_item(value, m, name):
    """Broadcast a scalar or (m,) parameter to a contiguous float64 (m,) array."""
    arr = np.asarray(value, dtype=np.float64)
    try:
        return np.ascontiguousarray(np.broadcast_to(arr, (m,)))
    except ValueError:
        raise ValueError(f"{name} must be a scalar or have {m} values; got shape "
                         f"{arr.shape}") from None


@dataclass
class MorseBond(Force):
    """V = D_e (1 − e^{−a (r − r0)})² on bonded pairs (term ``Morse``).

    Near r0 it is a harmonic bond of force constant k = 2 D_e a², and it dissociates to
    D_e at large r.

    Parameters
    ----------
    pairs : (M, 2) int array or None
        Particle index pairs. ``None`` takes every bond of the topology graph; each
        parameter left as ``None`` is then read from the edge attribute of the same name
        (``D_e``, ``a``, ``r0``).
    D_e : float or (M,) [kJ/mol]    well depth
    a : float or (M,) [nm⁻¹]        width parameter
    r0 : float or (M,) [nm]         equilibrium length
    """

    pairs: np.ndarray | None = None
    D_e: float | np.ndarray | None = None
    a: float | np.ndarray | None = None
    r0: float | np.ndarray | None = None

    def bind(self, system, context):
        return _BoundMorseBond(self, system)


class _BoundMorseBond(BoundForce):
    terms = ("Morse",)

    def __init__(self, desc, system):
        params = {"D_e": desc.D_e, "a": desc.a, "r0": desc.r0}
        missing = [name for name, v in params.items() if v is None]
        if desc.pairs is None:
            top = system.topology
            pairs = top.bonds
            if missing:
                params.update(zip(missing, top.bond_parameters(*missing)))
        else:
            if missing:
                raise ValueError(f"MorseBond with explicit pairs needs {', '.join(missing)}")
            pairs = np.asarray(desc.pairs, dtype=np.int64).reshape(-1, 2)
        m = pairs.shape[0]
        self.pairs = np.ascontiguousarray(pairs, dtype=np.int64)
        self.d_e = _per_item(params["D_e"], m, "D_e")
        self.a = _per_item(params["a"], m, "a")
        self.r0 = _per_item(params["r0"], m, "r0")
        if m and (self.pairs.min() < 0 or self.pairs.max() >= system.n_particles):
            raise IndexError(f"Morse bond index out of range for {system.n_particles} "
                             "particles")

    def compute(self, state, forces_out):
        return _k.morse_bonds(state.positions, state.box, self.pairs, self.d_e, self.a,
                              self.r0, forces_out)


@dataclass
class FlatBottomRestraint(Force):
    """Keep particles within ``r_fb`` of a reference point (term ``Restraint``).

    V = ½ k (d − r_fb)² where d = |x − reference| > r_fb, and 0 inside the sphere. The
    distance uses the minimum image, so wrapped and unwrapped coordinates both work
    (r_fb plus the excursion must stay below half the box).

    Parameters
    ----------
    particles : (M,) int array    restrained particle indices
    reference : (3,) or (M, 3) [nm]   one point for all, or one per particle
    r_fb : float or (M,) [nm]     radius of the flat bottom
    k : float or (M,) [kJ mol⁻¹ nm⁻²]   force constant beyond it
    """

    particles: np.ndarray
    reference: np.ndarray
    r_fb: float | np.ndarray = 0.0
    k: float | np.ndarray = 1000.0

    def bind(self, system, context):
        return _BoundFlatBottom(self, system)


class _BoundFlatBottom(BoundForce):
    terms = ("Restraint",)

    def __init__(self, desc, system):
        particles = np.asarray(desc.particles, dtype=np.int64).reshape(-1)
        m = particles.size
        if m and (particles.min() < 0 or particles.max() >= system.n_particles):
            raise IndexError(f"restrained particle index out of range for "
                             f"{system.n_particles} particles")
        ref = np.asarray(desc.reference, dtype=np.float64)
        if ref.shape not in ((3,), (m, 3)):
            raise ValueError(f"reference must have shape (3,) or ({m}, 3); got {ref.shape}")
        self.particles = np.ascontiguousarray(particles)
        self.reference = np.ascontiguousarray(np.broadcast_to(ref, (m, 3)))
        self.r_fb = _per_item(desc.r_fb, m, "r_fb")
        self.k = _per_item(desc.k, m, "k")
        if np.any(self.r_fb < 0):
            raise ValueError("r_fb must be >= 0")

    def compute(self, state, forces_out):
        return _k.flat_bottom(state.positions, state.box, self.particles, self.reference,
                              self.r_fb, self.k, forces_out)
