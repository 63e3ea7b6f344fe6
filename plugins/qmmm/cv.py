"""Collective variables (CVs) with analytic gradients, minimum-image aware.

Every CV follows one small protocol (umbrella biases, WHAM, rate code rely on it)::

    cv.value(positions, box) -> float
    cv.gradient(positions, box) -> (value, grad)     # grad (N, 3) over all N particles
    cv.periodic      # None, or the period (2π for a dihedral)
    cv.name, cv.unit # "distance(0,1)", "nm"
    cv.atoms         # the particle indices it depends on (tuple of int)

``positions`` is (N, 3) [nm]; ``box`` is None (no periodicity), a scalar, three edge
lengths or a (3, 3) lower-triangular matrix of row vectors [nm] (``State.box``), a zero
diagonal element meaning no periodicity along that vector. Difference vectors take the
minimum image exactly as the core's kernels do (``mdzoom.core.kernels.minimum_image``:
GROMACS's shifts along c, then b, then a), so a CV agrees with the forces of the engine
for orthorhombic and triclinic boxes. Values are in nm (distances) or radians (angles);
gradients in 1/nm or rad/nm.

>>> import numpy as np
>>> x = np.array([[0.1, 0.0, 0.0], [2.9, 0.0, 0.0]])
>>> round(Distance(0, 1).value(x, 3.0), 6)       # across the boundary of a 3 nm cube
0.2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CollectiveVariable", "Distance", "DistanceDifference", "Angle", "Dihedral",
           "COMDistance", "minimum_image", "periodic_difference", "cv_series",
           "cv_from_spec", "CV_TYPES"]

TWO_PI = 2.0 * np.pi


# --------------------------------------------------------------------------- geometry


def _as_box(box):
    """None, or a (3, 3) float64 matrix (zeros on the diagonal allowed: not periodic)."""
    if box is None:
        return None
    b = np.asarray(box, dtype=np.float64)
    if b.ndim == 0:
        return np.eye(3) * float(b)
    if b.shape == (3,):
        return np.diag(b)
    if b.shape != (3, 3):
        raise ValueError(f"box must be None, a scalar, 3 lengths or a 3x3 matrix; got shape "
                         f"{b.shape}")
    return b


def minimum_image(d, box) -> np.ndarray:
    """Minimum-image difference vector(s) ``d`` (..., 3) [nm] for ``box`` (see module
    docstring); the core kernels' convention (shifts along c, then b, then a)."""
    d = np.array(d, dtype=np.float64)
    b = _as_box(box)
    if b is None:
        return d
    for a in (2, 1, 0):
        if b[a, a] > 0.0:
            n = np.rint(d[..., a] / b[a, a])
            d -= n[..., None] * b[a]
    return d


def periodic_difference(a, b, period):
    """``a − b`` wrapped into [−period/2, period/2) (plain difference for period None)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if period is None:
        return d
    return d - period * np.floor(d / period + 0.5)


def _vec(x, i, j, box):
    """Minimum image of x[j] − x[i] (3,) (scalar arithmetic: this runs every MD step)."""
    d0, d1, d2 = (x[j] - x[i]).tolist()
    if box is not None:
        b = _as_box(box).tolist()
        if b[2][2] > 0.0:
            n = round(d2 / b[2][2])
            d0, d1, d2 = d0 - n * b[2][0], d1 - n * b[2][1], d2 - n * b[2][2]
        if b[1][1] > 0.0:
            n = round(d1 / b[1][1])
            d0, d1 = d0 - n * b[1][0], d1 - n * b[1][1]
        if b[0][0] > 0.0:
            d0 -= round(d0 / b[0][0]) * b[0][0]
    return np.array((d0, d1, d2))


def _positions(positions):
    x = np.asarray(positions, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 3:
        raise ValueError(f"positions must have shape (N, 3); got {x.shape}")
    return x


def _check_atoms(cv, n):
    bad = [a for a in cv.atoms if a < 0 or a >= n] if max(cv.atoms) >= n or \
        min(cv.atoms) < 0 else ()
    if bad:
        raise IndexError(f"{cv.name}: particle index {bad[0]} out of range for {n} particles")


# --------------------------------------------------------------------------- protocol


class CollectiveVariable:
    """Base class of CVs: subclasses implement ``gradient``; ``value`` defaults to it."""

    periodic = None
    unit = "nm"

    @property
    def name(self) -> str:  # pragma: no cover - overridden
        return type(self).__name__

    @property
    def atoms(self) -> tuple:  # pragma: no cover - overridden
        return ()

    def value(self, positions, box=None) -> float:
        """ξ [nm or rad] of one configuration ``positions`` (N, 3) [nm]."""
        return self.gradient(positions, box)[0]

    def gradient(self, positions, box=None):  # pragma: no cover - interface
        """``(ξ, ∂ξ/∂x)``: the value and its gradient (N, 3) [unit/nm]."""
        raise NotImplementedError


@dataclass(frozen=True)
class Distance(CollectiveVariable):
    """r = |x_j − x_i| [nm] (minimum image)."""

    i: int
    j: int

    @property
    def name(self):
        return f"distance({self.i},{self.j})"

    @property
    def atoms(self):
        return (int(self.i), int(self.j))

    def value(self, positions, box=None):
        x = _positions(positions)
        d0, d1, d2 = _vec(x, self.i, self.j, box).tolist()
        return math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)

    def gradient(self, positions, box=None):
        x = _positions(positions)
        _check_atoms(self, x.shape[0])
        d = _vec(x, self.i, self.j, box)
        d0, d1, d2 = d.tolist()
        r = math.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        g = np.zeros_like(x)
        if r > 0.0:
            u = d / r
            g[self.j] += u
            g[self.i] -= u
        return r, g


@dataclass(frozen=True)
class DistanceDifference(CollectiveVariable):
    """ξ = r(i, j) − r(k, l) [nm]: the S_N2 coordinate (breaking minus forming bond)."""

    i: int
    j: int
    k: int
    l: int  # noqa: E741 - the usual name of the fourth atom

    @property
    def name(self):
        return f"distance_difference({self.i},{self.j};{self.k},{self.l})"

    @property
    def atoms(self):
        return tuple(dict.fromkeys(int(a) for a in (self.i, self.j, self.k, self.l)))

    def value(self, positions, box=None):
        x = _positions(positions)
        return float(np.linalg.norm(_vec(x, self.i, self.j, box))
                     - np.linalg.norm(_vec(x, self.k, self.l, box)))

    def gradient(self, positions, box=None):
        r1, g1 = Distance(self.i, self.j).gradient(positions, box)
        r2, g2 = Distance(self.k, self.l).gradient(positions, box)
        return r1 - r2, g1 - g2


@dataclass(frozen=True)
class Angle(CollectiveVariable):
    """θ ∈ [0, π] [rad] between x_i − x_j and x_k − x_j (vertex j).

    θ = atan2(|a × b|, a · b) (accurate near 0 and π); the gradient
    ∂θ/∂a = (â × (â × b̂)) / (|a| |â × b̂|) stays accurate for nearly collinear atoms and is
    set to zero for exactly collinear ones (where it is undefined).
    """

    i: int
    j: int
    k: int
    unit = "rad"

    @property
    def name(self):
        return f"angle({self.i},{self.j},{self.k})"

    @property
    def atoms(self):
        return tuple(dict.fromkeys(int(a) for a in (self.i, self.j, self.k)))

    def value(self, positions, box=None):
        x = _positions(positions)
        a = _vec(x, self.j, self.i, box)
        b = _vec(x, self.j, self.k, box)
        return float(np.arctan2(np.linalg.norm(np.cross(a, b)), np.dot(a, b)))

    def gradient(self, positions, box=None):
        x = _positions(positions)
        _check_atoms(self, x.shape[0])
        a = _vec(x, self.j, self.i, box)
        b = _vec(x, self.j, self.k, box)
        c = np.cross(a, b)
        nc = float(np.linalg.norm(c))
        theta = float(np.arctan2(nc, np.dot(a, b)))
        g = np.zeros_like(x)
        na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
        if nc > 0.0 and na > 0.0 and nb > 0.0:
            # ∂θ/∂a = (a × c) / (|a|² |c|), ∂θ/∂b = −(b × c) / (|b|² |c|)
            ga = np.cross(a, c) / (na * na * nc)
            gb = -np.cross(b, c) / (nb * nb * nc)
            g[self.i] += ga
            g[self.k] += gb
            g[self.j] -= ga + gb
        return theta, g


@dataclass(frozen=True)
class Dihedral(CollectiveVariable):
    """φ ∈ (−π, π] [rad] of i-j-k-l, IUPAC/GROMACS convention (φ = 0 cis; the core's
    ``mdzoom.core.kernels.dihedral``): r_ij = x_i − x_j, r_kj = x_k − x_j,
    r_kl = x_k − x_l, m = r_ij × r_kj, n = r_kj × r_kl, φ = atan2(|r_kj| r_ij·n, m·n).

    Gradient (Blondel & Karplus, J. Comput. Chem. 17, 1132 (1996); Bekker's form):
    ∂φ/∂x_i = |r_kj|/|m|² m, ∂φ/∂x_l = −|r_kj|/|n|² n, and x_j, x_k from those with the
    projections p = r_ij·r_kj/|r_kj|², q = r_kl·r_kj/|r_kj|²; no division by sin φ, so it
    is stable at φ = 0 and ±π. Zero when i-j-k or j-k-l are collinear. Periodic (2π).
    """

    i: int
    j: int
    k: int
    l: int  # noqa: E741
    periodic = TWO_PI
    unit = "rad"

    @property
    def name(self):
        return f"dihedral({self.i},{self.j},{self.k},{self.l})"

    @property
    def atoms(self):
        return tuple(dict.fromkeys(int(a) for a in (self.i, self.j, self.k, self.l)))

    def _vectors(self, x, box):
        r_ij = _vec(x, self.j, self.i, box)
        r_kj = _vec(x, self.j, self.k, box)
        r_kl = _vec(x, self.l, self.k, box)
        return r_ij, r_kj, r_kl

    def value(self, positions, box=None):
        x = _positions(positions)
        r_ij, r_kj, r_kl = self._vectors(x, box)
        m, n = np.cross(r_ij, r_kj), np.cross(r_kj, r_kl)
        return float(np.arctan2(np.linalg.norm(r_kj) * np.dot(r_ij, n), np.dot(m, n)))

    def gradient(self, positions, box=None):
        x = _positions(positions)
        _check_atoms(self, x.shape[0])
        r_ij, r_kj, r_kl = self._vectors(x, box)
        m, n = np.cross(r_ij, r_kj), np.cross(r_kj, r_kl)
        nkj2 = float(np.dot(r_kj, r_kj))
        nkj = np.sqrt(nkj2)
        phi = float(np.arctan2(nkj * np.dot(r_ij, n), np.dot(m, n)))
        g = np.zeros_like(x)
        m2, n2 = float(np.dot(m, m)), float(np.dot(n, n))
        if m2 <= 1e-16 * nkj2 * np.dot(r_ij, r_ij) or n2 <= 1e-16 * nkj2 * np.dot(r_kl, r_kl):
            return phi, g
        gi = nkj / m2 * m
        gl = -nkj / n2 * n
        p = np.dot(r_ij, r_kj) / nkj2
        q = np.dot(r_kl, r_kj) / nkj2
        gj = (p - 1.0) * gi - q * gl
        gk = (q - 1.0) * gl - p * gi
        g[self.i] += gi
        g[self.j] += gj
        g[self.k] += gk
        g[self.l] += gl
        return phi, g


@dataclass(frozen=True)
class COMDistance(CollectiveVariable):
    """|R_b − R_a| [nm] between the centres of mass of two groups (minimum image).

    Parameters
    ----------
    group_a, group_b : sequence of int   particle indices (disjoint or not)
    masses : array_like (N,) [amu], optional
        Masses of *all* particles (e.g. ``system.masses``), indexed by the groups; None
        weighs every particle equally (geometric centres).

    Each group is made whole first: its members are placed at the minimum image of its
    first member, so a group must span less than half the box.
    """

    group_a: tuple
    group_b: tuple
    masses: tuple | None = field(default=None, repr=False)

    def __post_init__(self):
        ga = tuple(int(a) for a in np.atleast_1d(self.group_a))
        gb = tuple(int(b) for b in np.atleast_1d(self.group_b))
        if not ga or not gb:
            raise ValueError("COMDistance: both groups need at least one particle")
        object.__setattr__(self, "group_a", ga)
        object.__setattr__(self, "group_b", gb)
        if self.masses is not None:
            m = np.asarray(self.masses, dtype=np.float64).ravel()
            top = max(ga + gb)
            if m.size <= top:
                raise ValueError(f"COMDistance: masses has {m.size} entries, the groups "
                                 f"index particle {top}; pass the masses of all particles")
            if np.any(m[list(ga + gb)] <= 0):
                raise ValueError("COMDistance: masses of the group members must be > 0")
            object.__setattr__(self, "masses", tuple(float(v) for v in m))

    @property
    def name(self):
        return f"com_distance({len(self.group_a)} vs {len(self.group_b)} particles)"

    @property
    def atoms(self):
        return tuple(dict.fromkeys(self.group_a + self.group_b))

    def _weights(self, group):
        if self.masses is None:
            w = np.ones(len(group))
        else:
            w = np.array([self.masses[a] for a in group])
        return w / w.sum()

    def _com(self, x, group, box):
        idx = np.asarray(group)
        d = minimum_image(x[idx] - x[idx[0]], box)
        return x[idx[0]] + self._weights(group) @ d

    def value(self, positions, box=None):
        return self.gradient(positions, box)[0]

    def gradient(self, positions, box=None):
        x = _positions(positions)
        _check_atoms(self, x.shape[0])
        d = minimum_image(self._com(x, self.group_b, box) - self._com(x, self.group_a, box),
                          box)
        r = float(np.linalg.norm(d))
        g = np.zeros_like(x)
        if r > 0.0:
            u = d / r
            np.add.at(g, np.asarray(self.group_b), self._weights(self.group_b)[:, None] * u)
            np.add.at(g, np.asarray(self.group_a), -self._weights(self.group_a)[:, None] * u)
        return r, g


def cv_series(cv, positions, boxes=None) -> np.ndarray:
    """ξ of every frame of a trajectory: positions (T, N, 3) [nm], boxes None, (3, 3)
    or (T, 3, 3) [nm] → (T,) [nm or rad]."""
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must have shape (T, N, 3); got {pos.shape}")
    if boxes is None:
        bx = [None] * pos.shape[0]
    else:
        b = np.asarray(boxes, dtype=np.float64)
        bx = [b] * pos.shape[0] if b.ndim < 3 else list(b)
    return np.array([cv.value(p, bb) for p, bb in zip(pos, bx)], dtype=np.float64)


#: names of the CV types in run configurations: ``{type = "distance", atoms = [0, 1]}``
CV_TYPES = {"distance": (Distance, 2), "distance_difference": (DistanceDifference, 4),
            "angle": (Angle, 3), "dihedral": (Dihedral, 4), "com_distance": (COMDistance, None)}


def cv_from_spec(spec) -> CollectiveVariable:
    """A CV from a table (a TOML inline table in a run configuration)::

        {type = "distance", atoms = [0, 1]}
        {type = "distance_difference", atoms = [0, 1, 1, 2]}     # r(0,1) − r(1,2)
        {type = "angle", atoms = [0, 1, 2]}
        {type = "dihedral", atoms = [0, 1, 2, 3]}
        {type = "com_distance", group_a = [0, 1], group_b = [2, 3], masses = [...]}

    Atom indices are 0-based particle indices. A CV object is returned unchanged.
    """
    if not isinstance(spec, dict):
        if callable(getattr(spec, "gradient", None)):
            return spec
        raise TypeError(f"a collective variable must be a CV object or a table such as "
                        f"{{type = \"distance\", atoms = [0, 1]}}; got {spec!r}")
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in CV_TYPES:
        raise ValueError(f"unknown collective variable type {kind!r}; available: "
                         f"{', '.join(CV_TYPES)}")
    cls, n_atoms = CV_TYPES[kind]
    if n_atoms is None:
        unknown = sorted(set(spec) - {"group_a", "group_b", "masses"})
        if unknown or "group_a" not in spec or "group_b" not in spec:
            raise ValueError(f"cv {kind!r} takes group_a, group_b and optional masses; got "
                             f"{', '.join(sorted(spec)) or 'nothing'}")
        return cls(spec["group_a"], spec["group_b"], spec.get("masses"))
    atoms = spec.pop("atoms", None)
    if spec:
        raise ValueError(f"cv {kind!r} takes only atoms; unknown key(s) "
                         f"{', '.join(sorted(spec))}")
    if atoms is None or len(atoms) != n_atoms or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in atoms):
        raise ValueError(f"cv {kind!r} needs atoms = a list of {n_atoms} particle indices; "
                         f"got {atoms!r}")
    return cls(*(int(a) for a in atoms))
