"""Holonomic constraints: SHAKE/RATTLE for bond lengths, SETTLE for rigid water.

Describe, then bind, like forces. A description is a parameter-only dataclass that goes in
``System.constraints``::

    water = Settle(oxygens=np.arange(0, 3 * n_waters, 3), d_oh=0.1, d_hh=0.16330)
    bonds = DistanceConstraints.from_topology(topology, "h-bonds")
    system = System(topology, box, forces, constraints=[water, bonds])

The integrators bind them (``desc.bind(system)``) and call, on the bound object,

``constrain_positions(x_ref, x_new, inv_m, box, *, v=None, dt=None, step=None)``
    Move ``x_new`` (in place) onto the constraint surface, along the constraint
    directions of ``x_ref`` (the constrained positions before the move). With ``v`` and
    ``dt`` the velocities get the matching correction Δx/dt. Returns the
    *displacement virial* −½ Σ r_ij ⊗ m_i Δx_i, (3, 3) [amu nm²]; divided by
    (time over which the move happened) × dt it is the constraint virial [kJ/mol].
``constrain_velocities(x, v, inv_m, box, *, step=None)``
    Remove the velocity components along the constraints (RATTLE's second stage), in
    place. Returns −½ Σ r_ij ⊗ m_i Δv_i, (3, 3) [amu nm²/ps]; divided by dt it is the
    constraint virial [kJ/mol].

Constraint virials follow GROMACS: Ξ = −½ Σ_i r_i ⊗ f_i, written as a sum over
constrained pairs so it is periodic-image safe. ``n_constraints`` is the number of
degrees of freedom removed (SETTLE: 3 per water). ``deviations(x, v, box)`` gives each
constraint's relative length error and |cos| between bond and relative velocity, and
``tol`` the level the solver guarantees.

Unsatisfiable input fails loudly: indices out of range, massless particles, a SHAKE
iteration that does not converge (naming the constraint, its atoms and the step).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _constraint_kernels as _k

__all__ = ["Constraint", "DistanceConstraints", "Settle", "FrozenAtoms", "ConstraintError"]

_NO_V = np.zeros((0, 3))


class ConstraintError(RuntimeError):
    """A constraint solver could not satisfy its constraints."""


def _at(step):
    return f" at step {step}" if step is not None else ""


class Constraint:
    """Base of constraint descriptions: ``n_constraints`` and ``bind(system)``."""

    @property
    def n_constraints(self) -> int:  # pragma: no cover - interface
        raise NotImplementedError

    def bind(self, system):  # pragma: no cover - interface
        raise NotImplementedError


# ---------------------------------------------------------------------- SHAKE / RATTLE
@dataclass(eq=False)
class DistanceConstraints(Constraint):
    """Fixed distances |r_i − r_j| = d, solved by SHAKE (positions) and RATTLE (velocities).

    Coupled constraints (an atom in several of them, e.g. CH₃, or a triangle) are solved
    together by the iteration.

    Parameters
    ----------
    pairs : (M, 2) int     particle indices
    lengths : (M,) float [nm]   (a scalar applies to every pair)
    tolerance : float      relative: |r − d|/d ≤ tolerance; for velocities
                           |r̂ · v̂_ij| ≤ tolerance
    max_iterations : int
    """

    pairs: np.ndarray
    lengths: np.ndarray
    tolerance: float = 1e-10
    max_iterations: int = 1000

    def __post_init__(self):
        self.pairs = np.ascontiguousarray(np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2))
        m = self.pairs.shape[0]
        lengths = np.asarray(self.lengths, dtype=np.float64)
        if lengths.ndim == 0:
            lengths = np.full(m, float(lengths))
        if lengths.shape != (m,):
            raise ValueError(f"DistanceConstraints: {m} pairs but lengths has shape "
                             f"{lengths.shape}")
        self.lengths = np.ascontiguousarray(lengths)
        if m and not np.all(self.lengths > 0):
            k = int(np.argmin(self.lengths))
            raise ValueError(f"DistanceConstraints: constraint {k} {tuple(self.pairs[k])} has "
                             f"length {self.lengths[k]} nm; lengths must be positive")
        same = np.nonzero(self.pairs[:, 0] == self.pairs[:, 1])[0]
        if same.size:
            raise ValueError(f"DistanceConstraints: constraint {same[0]} joins particle "
                             f"{self.pairs[same[0], 0]} to itself")
        if not self.tolerance > 0:
            raise ValueError(f"DistanceConstraints: tolerance must be > 0; got {self.tolerance}")
        if int(self.max_iterations) < 1:
            raise ValueError("DistanceConstraints: max_iterations must be >= 1")

    def __eq__(self, other):
        return (type(other) is type(self) and np.array_equal(self.pairs, other.pairs)
                and np.array_equal(self.lengths, other.lengths)
                and self.tolerance == other.tolerance
                and self.max_iterations == other.max_iterations)

    @property
    def n_constraints(self) -> int:
        return int(self.pairs.shape[0])

    @classmethod
    def from_topology(cls, topology, bonds="h-bonds", *, length="r0", lengths=None,
                      **kwargs) -> "DistanceConstraints":
        """Constrain the topology's bonds (GROMACS ``constraints = h-bonds | all-bonds``).

        ``h-bonds``: bonds with a hydrogen (element ``H``, or no element and a name
        starting with ``H``). Lengths come from the edge attribute ``length`` unless
        ``lengths`` (scalar or (M,)) is given.
        """
        if bonds not in ("h-bonds", "all-bonds"):
            raise ValueError(f"unknown bond selection {bonds!r}; available: h-bonds, all-bonds")
        pairs = topology.bonds
        if lengths is None:
            (d,) = topology.bond_parameters(length)
        else:
            d = np.broadcast_to(np.asarray(lengths, dtype=np.float64), (pairs.shape[0],))
        if bonds == "h-bonds":
            el = topology.elements
            names = topology.names
            is_h = np.array([(e.upper() == "H") if e else str(n).upper().startswith("H")
                             for e, n in zip(el, names)], dtype=bool)
            sel = is_h[pairs[:, 0]] | is_h[pairs[:, 1]] if pairs.size else np.zeros(0, bool)
            pairs, d = pairs[sel], np.asarray(d)[sel]
        return cls(pairs, np.array(d, dtype=np.float64), **kwargs)

    def bind(self, system):
        return BoundDistanceConstraints(self, system)


class BoundDistanceConstraints:
    """SHAKE/RATTLE bound to a system (scratch arrays; no per-call allocation)."""

    def __init__(self, desc: DistanceConstraints, system):
        self.desc = desc
        n = system.n_particles
        pairs = desc.pairs
        if pairs.size and (pairs.min() < 0 or pairs.max() >= n):
            k = int(np.nonzero((pairs < 0).any(1) | (pairs >= n).any(1))[0][0])
            raise IndexError(f"DistanceConstraints: constraint {k} {tuple(pairs[k])} names a "
                             f"particle outside 0..{n - 1}")
        masses = np.asarray(system.masses, dtype=np.float64)
        if pairs.size:
            bad = np.nonzero((masses[pairs] <= 0).any(1))[0]
            if bad.size:
                k = int(bad[0])
                raise ValueError(f"DistanceConstraints: constraint {k} {tuple(pairs[k])} "
                                 "involves a massless particle (virtual sites cannot be "
                                 "constrained)")
            key = np.sort(pairs, axis=1)
            uniq, counts = np.unique(key, axis=0, return_counts=True)
            if (counts > 1).any():
                raise ValueError(f"DistanceConstraints: pair {tuple(uniq[counts > 1][0])} is "
                                 "constrained twice")
        self.pairs = np.ascontiguousarray(pairs, dtype=np.int64)
        self.d2 = np.ascontiguousarray(desc.lengths ** 2)
        self.tol = float(desc.tolerance)
        self.max_iter = int(desc.max_iterations)
        self.n_constraints = desc.n_constraints
        self.atoms = np.unique(self.pairs)
        self._g = np.zeros(self.pairs.shape[0])
        self._vir = np.zeros((3, 3))
        self.last_iterations = 0

    def _fail(self, what, code, k, x, step):
        i, j = (int(a) for a in self.pairs[k])
        d = float(np.sqrt(self.d2[k]))
        if code == -2:
            raise ConstraintError(
                f"SHAKE{_at(step)}: constraint {k} (particles {i}-{j}, {d:.5g} nm) rotated by "
                "90 degrees or more within one step: the system is blowing up (time step "
                "too large or bad forces)")
        r = float(np.linalg.norm(x[i] - x[j]))
        raise ConstraintError(
            f"{what} did not converge in {self.max_iter} iterations{_at(step)}: worst is "
            f"constraint {k} (particles {i}-{j}, length {d:.5g} nm, now {r:.5g} nm); raise "
            "max_iterations or the tolerance, or reduce the time step")

    def constrain_positions(self, x_ref, x_new, inv_m, box, *, v=None, dt=None, step=None):
        vir = self._vir
        vir[:] = 0.0
        vv = _NO_V if v is None else v
        inv_dt = 0.0 if v is None else 1.0 / dt
        it, k = _k.shake(x_ref, x_new, vv, inv_dt, inv_m, box, self.pairs, self.d2, self.tol,
                         self.max_iter, self._g, vir)
        if it < 0:
            self._fail("SHAKE", it, k, x_new, step)
        self.last_iterations = it
        return -0.5 * vir

    def constrain_velocities(self, x, v, inv_m, box, *, step=None):
        vir = self._vir
        vir[:] = 0.0
        it, k = _k.rattle_velocities(x, v, inv_m, box, self.pairs, self.d2, self.tol,
                                     self.max_iter, self._g, vir)
        if it < 0:
            self._fail("RATTLE (velocities)", it, k, x, step)
        return -0.5 * vir

    def deviations(self, x, v, box):
        """(relative length errors (M,), |cos| between bond and relative velocity (M,))."""
        p = np.empty(self.pairs.shape[0])
        q = np.empty(self.pairs.shape[0])
        _k.distance_deviations(x, v, box, self.pairs, self.d2, p, q)
        return p, q


# ---------------------------------------------------------------------- SETTLE
@dataclass(eq=False)
class Settle(Constraint):
    """Rigid 3-site water by SETTLE (Miyamoto & Kollman, J. Comput. Chem. 13, 952 (1992)).

    Each water is O, H, H at consecutive indices ``o, o+1, o+2``; both hydrogens must have
    the same mass. Velocities are constrained analytically (the exact solution of the
    three RATTLE velocity equations of the triangle). Removes 3 degrees of freedom per
    water.

    Parameters
    ----------
    oxygens : (W,) int   index of each water's oxygen
    d_oh : float [nm]    O–H distance (SPC: 0.1)
    d_hh : float [nm]    H–H distance (SPC: 0.1633)
    """

    oxygens: np.ndarray
    d_oh: float = 0.1
    d_hh: float = 0.16330

    def __post_init__(self):
        self.oxygens = np.ascontiguousarray(np.asarray(self.oxygens, dtype=np.int64).ravel())
        if not (self.d_oh > 0 and 0 < self.d_hh < 2 * self.d_oh):
            raise ValueError(f"Settle: need d_oh > 0 and 0 < d_hh < 2·d_oh; got d_oh="
                             f"{self.d_oh}, d_hh={self.d_hh}")

    def __eq__(self, other):
        return (type(other) is type(self) and np.array_equal(self.oxygens, other.oxygens)
                and self.d_oh == other.d_oh and self.d_hh == other.d_hh)

    @property
    def n_constraints(self) -> int:
        return 3 * int(self.oxygens.size)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The equivalent ``DistanceConstraints`` input: pairs (3W, 2), lengths (3W,)."""
        o = self.oxygens
        pairs = np.stack([np.stack([o, o + 1], 1), np.stack([o, o + 2], 1),
                          np.stack([o + 1, o + 2], 1)], 1).reshape(-1, 2)
        lengths = np.tile([self.d_oh, self.d_oh, self.d_hh], o.size)
        return pairs, lengths

    def bind(self, system):
        return BoundSettle(self, system)


class BoundSettle:
    """SETTLE bound to a system."""

    #: residual below which ``prepare`` leaves a starting state alone (SETTLE itself is
    #: exact to rounding)
    tol = 1e-10

    def __init__(self, desc: Settle, system):
        self.desc = desc
        n = system.n_particles
        o = desc.oxygens
        if o.size:
            bad = np.nonzero((o < 0) | (o + 2 >= n))[0]
            if bad.size:
                raise IndexError(f"Settle: water {int(bad[0])} at oxygen {int(o[bad[0]])} needs "
                                 f"particles o, o+1, o+2 inside 0..{n - 1}")
            atoms = np.concatenate([o, o + 1, o + 2])
            if np.unique(atoms).size != atoms.size:
                raise ValueError("Settle: waters overlap (an oxygen index repeats or two "
                                 "oxygens are fewer than 3 apart)")
            m = np.asarray(system.masses, dtype=np.float64)
            mo, m1, m2 = m[o], m[o + 1], m[o + 2]
            bad = np.nonzero((mo <= 0) | (m1 <= 0) | (m2 <= 0))[0]
            if bad.size:
                raise ValueError(f"Settle: water {int(bad[0])} (oxygen {int(o[bad[0]])}) has a "
                                 "massless particle")
            bad = np.nonzero(m1 != m2)[0]
            if bad.size:
                raise ValueError(f"Settle: water {int(bad[0])} (oxygen {int(o[bad[0]])}) has "
                                 f"hydrogens of different masses {m1[bad[0]]}, {m2[bad[0]]}")
        self.oxygens = o
        self.d_oh = float(desc.d_oh)
        self.d_hh = float(desc.d_hh)
        self.n_constraints = desc.n_constraints
        self.atoms = np.sort(np.concatenate([o, o + 1, o + 2]))
        p, d = desc.pairs()
        self._pairs = np.ascontiguousarray(p)
        self._d2 = np.ascontiguousarray(d ** 2)
        self._vir = np.zeros((3, 3))

    def constrain_positions(self, x_ref, x_new, inv_m, box, *, v=None, dt=None, step=None):
        vir = self._vir
        vir[:] = 0.0
        vv = _NO_V if v is None else v
        inv_dt = 0.0 if v is None else 1.0 / dt
        w = _k.settle_positions(x_ref, x_new, vv, inv_dt, inv_m, box, self.oxygens,
                                self.d_oh, self.d_hh, vir)
        if w >= 0:
            o = int(self.oxygens[w])
            raise ConstraintError(
                f"SETTLE{_at(step)}: water {w} (particles {o}-{o + 2}) moved too far in one "
                "step to be put back on its rigid geometry (time step too large, bad "
                "forces, or starting coordinates far from the water geometry)")
        return -0.5 * vir

    def constrain_velocities(self, x, v, inv_m, box, *, step=None):
        vir = self._vir
        vir[:] = 0.0
        w = _k.settle_velocities(x, v, inv_m, box, self.oxygens, vir)
        if w >= 0:
            o = int(self.oxygens[w])
            raise ConstraintError(f"SETTLE (velocities){_at(step)}: water {w} (particles "
                                  f"{o}-{o + 2}) is degenerate (collinear atoms)")
        return -0.5 * vir

    def deviations(self, x, v, box):
        """(relative length errors (3W,), |cos| between bond and relative velocity (3W,))."""
        p = np.empty(self._pairs.shape[0])
        q = np.empty(self._pairs.shape[0])
        _k.distance_deviations(x, v, box, self._pairs, self._d2, p, q)
        return p, q


# ---------------------------------------------------------------------- frozen atoms
@dataclass(eq=False)
class FrozenAtoms(Constraint):
    """Particles held fixed in space (GROMACS ``freezegrps`` in all three dimensions):
    electrode atoms, walls, an anchored solute.

    After every move a frozen particle is put back where it was and its velocity set to
    zero; forces still act on it (they reach the virial through the constraint's
    displacement virial, which for an absolute-position constraint depends on the
    origin: run such systems at constant volume). Removes 3 degrees of freedom per
    particle. ``atoms`` : (n,) particle indices.
    """

    atoms: np.ndarray

    def __post_init__(self):
        a = np.unique(np.asarray(self.atoms, dtype=np.int64).ravel())
        if a.size == 0:
            raise ValueError("FrozenAtoms: no atoms given")
        self.atoms = a

    def __eq__(self, other):
        return type(other) is type(self) and np.array_equal(self.atoms, other.atoms)

    @property
    def n_constraints(self) -> int:
        return 3 * int(self.atoms.size)

    def bind(self, system):
        return BoundFrozenAtoms(self, system)


class BoundFrozenAtoms:
    tol = 1e-10

    def __init__(self, desc: FrozenAtoms, system):
        n = system.n_particles
        a = desc.atoms
        if a.min() < 0 or a.max() >= n:
            raise IndexError(f"FrozenAtoms: particle index outside 0..{n - 1} "
                             f"(got {int(a.min())}..{int(a.max())})")
        self.atoms = a
        self.n_constraints = desc.n_constraints
        self._m = np.asarray(system.masses, dtype=np.float64)[a]

    def constrain_positions(self, x_ref, x_new, inv_m, box, *, v=None, dt=None, step=None):
        a = self.atoms
        dx = x_ref[a] - x_new[a]
        x_new[a] = x_ref[a]
        if v is not None:
            v[a] = 0.0
        return -0.5 * np.einsum("ia,ib->ab", x_ref[a], self._m[:, None] * dx)

    def constrain_velocities(self, x, v, inv_m, box, *, step=None):
        a = self.atoms
        dv = -v[a]
        v[a] = 0.0
        return -0.5 * np.einsum("ia,ib->ab", x[a], self._m[:, None] * dv)

    def deviations(self, x, v, box):
        """(zeros: positions are whatever the start gives, |v| of each frozen particle)."""
        return (np.zeros(self.atoms.size),
                np.linalg.norm(v[self.atoms], axis=1) if v is not None and len(v)
                else np.zeros(self.atoms.size))
