"""Virtual sites: massless interaction sites placed from real atoms (GROMACS ``vsites``).

Describe, then bind, like forces and constraints. A description goes in
``System.virtual_sites``::

    # TIP4P: M = O + a·(H1 − O) + b·(H2 − O)
    m_sites = VirtualSites3(sites=o + 3, atoms=np.stack([o, o + 1, o + 2], 1),
                            a=0.128012065, b=0.128012065)
    system = System(topology, box, forces, constraints=[Settle(o, 0.09572, 0.15139)],
                    virtual_sites=[m_sites])

The ``ForceEvaluator`` binds them and, in every ``compute``, first *constructs* the site
positions from their constructing atoms, then evaluates the forces, then *spreads* the
force on each site onto its constructing atoms (and zeroes it) — so integrators,
minimisers and single-point energies see only forces on real atoms. Sites have mass 0:
integrators do not move them (``inv_m = 0``), keep their velocities at 0, and leave
3 degrees of freedom per site out of the count. A system without virtual sites pays
nothing.

``VirtualSites3`` is GROMACS ``[ virtual_sites3 ]`` function 1 (``3``):

    x_s = x_i + a·(x_j − x_i) + b·(x_k − x_i)

with the differences taken as minimum images (a molecule may straddle the boundary);
its force spreading is linear: F_i += (1 − a − b)·F_s, F_j += a·F_s, F_k += b·F_s.

``VirtualSitesN`` is GROMACS ``[ virtual_sitesn ]`` (functions 1 COG, 2 COM, 3 COW; the
weights are 1, the masses or the given weights): a weighted mean of any number of atoms,

    x_s = x_1 + Σ_i (w_i / W)·mic(x_i − x_1),   W = Σ_i w_i,

differences taken relative to the first constructing atom (GROMACS's ``constr_vsiten``),
so a site of a molecule straddling the boundary lands beside it; spreading:
F_i += (w_i / W)·F_s. It holds its ragged atom lists CSR-style: site ``v`` is built
from ``atoms[offsets[v]:offsets[v + 1]]`` with ``weights`` of the same slice.

Descriptions are applied in list order (a site may be built from sites of an earlier
description) and spread in reverse order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from ._bonded_kernels import minimum_image

__all__ = ["VirtualSite", "VirtualSites3", "BoundVirtualSites3", "VirtualSitesN",
           "BoundVirtualSitesN", "virtual_site_indices"]


# ---------------------------------------------------------------------- kernels
@numba.njit(cache=True, error_model="numpy")
def construct3(x, box, sites, atoms, a, b):
    """x[s] = x[i] + a·mic(x[j] − x[i]) + b·mic(x[k] − x[i]), in place."""
    for n in range(sites.shape[0]):
        s = sites[n]
        i = atoms[n, 0]
        j = atoms[n, 1]
        k = atoms[n, 2]
        d0, d1, d2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], box)
        e0, e1, e2 = minimum_image(x[k, 0] - x[i, 0], x[k, 1] - x[i, 1], x[k, 2] - x[i, 2], box)
        x[s, 0] = x[i, 0] + a[n] * d0 + b[n] * e0
        x[s, 1] = x[i, 1] + a[n] * d1 + b[n] * e1
        x[s, 2] = x[i, 2] + a[n] * d2 + b[n] * e2


@numba.njit(cache=True, error_model="numpy")
def spread3(f, sites, atoms, a, b):
    """F_i += (1−a−b)F_s, F_j += a·F_s, F_k += b·F_s; then F_s = 0 (in place)."""
    for n in range(sites.shape[0]):
        s = sites[n]
        i = atoms[n, 0]
        j = atoms[n, 1]
        k = atoms[n, 2]
        c = 1.0 - a[n] - b[n]
        for d in range(3):
            fs = f[s, d]
            f[i, d] += c * fs
            f[j, d] += a[n] * fs
            f[k, d] += b[n] * fs
            f[s, d] = 0.0


@numba.njit(cache=True, error_model="numpy")
def construct_n(x, box, sites, offsets, atoms, weights):
    """x[s] = x[a₀] + Σ_i (w_i/W)·mic(x[a_i] − x[a₀]) for every site, in place.

    sites (V,) int64; offsets (V + 1,) int64; atoms (K,) int64 and weights (K,) float64:
    site v's constructing atoms and their weights are the slice offsets[v]:offsets[v+1],
    its first atom a₀ the reference of the minimum-image differences; box (3, 3) [nm].
    """
    for v in range(sites.shape[0]):
        lo = offsets[v]
        hi = offsets[v + 1]
        r = atoms[lo]
        wsum = 0.0
        for n in range(lo, hi):
            wsum += weights[n]
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        for n in range(lo + 1, hi):
            i = atoms[n]
            d0, d1, d2 = minimum_image(x[i, 0] - x[r, 0], x[i, 1] - x[r, 1],
                                       x[i, 2] - x[r, 2], box)
            c = weights[n] / wsum
            s0 += c * d0
            s1 += c * d1
            s2 += c * d2
        s = sites[v]
        x[s, 0] = x[r, 0] + s0
        x[s, 1] = x[r, 1] + s1
        x[s, 2] = x[r, 2] + s2


@numba.njit(cache=True, error_model="numpy")
def spread_n(f, sites, offsets, atoms, weights):
    """F[a_i] += (w_i/W)·F[s] over each site's constructing atoms; then F[s] = 0."""
    for v in range(sites.shape[0]):
        lo = offsets[v]
        hi = offsets[v + 1]
        s = sites[v]
        wsum = 0.0
        for n in range(lo, hi):
            wsum += weights[n]
        f0 = f[s, 0]
        f1 = f[s, 1]
        f2 = f[s, 2]
        f[s, 0] = 0.0
        f[s, 1] = 0.0
        f[s, 2] = 0.0
        for n in range(lo, hi):
            i = atoms[n]
            c = weights[n] / wsum
            f[i, 0] += c * f0
            f[i, 1] += c * f1
            f[i, 2] += c * f2


# ---------------------------------------------------------------------- descriptions
class VirtualSite:
    """Base of virtual-site descriptions: ``sites`` (V,) int and ``bind(system)``."""

    sites: np.ndarray

    @property
    def n_sites(self) -> int:
        return int(np.asarray(self.sites).size)

    def bind(self, system):  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(eq=False)
class VirtualSites3(VirtualSite):
    """Sites on the plane of three atoms: x_s = x_i + a·(x_j − x_i) + b·(x_k − x_i).

    GROMACS ``[ virtual_sites3 ]`` function 1 (TIP4P's M site).

    Parameters
    ----------
    sites : (V,) int        index of each virtual site
    atoms : (V, 3) int      its constructing particles i, j, k
    a : (V,) float          weight of x_j − x_i (a scalar applies to every site)
    b : (V,) float          weight of x_k − x_i (a scalar applies to every site)
    """

    sites: np.ndarray
    atoms: np.ndarray
    a: np.ndarray
    b: np.ndarray

    def __post_init__(self):
        self.sites = np.ascontiguousarray(np.asarray(self.sites, dtype=np.int64).ravel())
        v = self.sites.size
        self.atoms = np.ascontiguousarray(np.asarray(self.atoms, dtype=np.int64).reshape(-1, 3))
        if self.atoms.shape[0] != v:
            raise ValueError(f"VirtualSites3: {v} sites but atoms has shape {self.atoms.shape}")
        for name in ("a", "b"):
            w = np.asarray(getattr(self, name), dtype=np.float64)
            if w.ndim == 0:
                w = np.full(v, float(w))
            if w.shape != (v,):
                raise ValueError(f"VirtualSites3: {v} sites but {name} has shape {w.shape}")
            if not np.all(np.isfinite(w)):
                raise ValueError(f"VirtualSites3: {name} has non-finite weights")
            setattr(self, name, np.ascontiguousarray(w))
        if np.unique(self.sites).size != v:
            raise ValueError("VirtualSites3: a site index repeats")
        own = np.nonzero((self.atoms == self.sites[:, None]).any(1))[0]
        if own.size:
            raise ValueError(f"VirtualSites3: site {int(self.sites[own[0]])} is one of its own "
                             "constructing atoms")

    def __eq__(self, other):
        return (type(other) is type(self) and np.array_equal(self.sites, other.sites)
                and np.array_equal(self.atoms, other.atoms)
                and np.array_equal(self.a, other.a) and np.array_equal(self.b, other.b))

    def bind(self, system):
        return BoundVirtualSites3(self, system)


class BoundVirtualSites3:
    """``VirtualSites3`` bound to a system: ``construct(x, box)``, ``spread(x, f, box)``."""

    def __init__(self, desc: VirtualSites3, system):
        n = system.n_particles
        idx = np.concatenate([desc.sites, desc.atoms.ravel()])
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = int(idx[(idx < 0) | (idx >= n)][0])
            raise IndexError(f"VirtualSites3: particle {bad} is outside 0..{n - 1}")
        m = np.asarray(system.masses, dtype=np.float64)
        heavy = np.nonzero(m[desc.sites] != 0)[0]
        if heavy.size:
            s = int(desc.sites[heavy[0]])
            raise ValueError(f"VirtualSites3: virtual site {s} has mass {m[s]}; virtual sites "
                             "must be massless (mass 0 in the topology)")
        self.desc = desc
        self.sites = desc.sites
        self.atoms = desc.atoms
        self.a = desc.a
        self.b = desc.b

    def construct(self, x, box):
        """Place the sites (rows of ``x``, in place) from their constructing atoms."""
        construct3(x, box, self.sites, self.atoms, self.a, self.b)

    def spread(self, x, f, box):
        """Move the forces on the sites onto their constructing atoms (in place)."""
        spread3(f, self.sites, self.atoms, self.a, self.b)


@dataclass(eq=False)
class VirtualSitesN(VirtualSite):
    """Sites at a weighted mean of n atoms: x_s = Σ w_i x_i / Σ w_i (minimum image).

    GROMACS ``[ virtual_sitesn ]``: function 1 (COG, w_i = 1), 2 (COM, w_i = m_i),
    3 (COW, w_i given) — Martini uses them for the centres of rings.

    Parameters
    ----------
    sites : (V,) int          index of each virtual site
    offsets : (V + 1,) int    site v is built from ``atoms[offsets[v]:offsets[v + 1]]``
                              (non-decreasing, offsets[0] = 0, offsets[-1] = K; at least
                              one atom per site)
    atoms : (K,) int          constructing particles, concatenated site by site; the first
                              of each site is the reference of the minimum-image differences
    weights : (K,) float      w_i ≥ 0 (any unit, e.g. amu for COM), positive sum per site;
                              None means 1 for every atom (COG)

    ``VirtualSitesN.from_lists(sites, [[i, j, ...], ...], [[w_i, w_j, ...], ...])`` builds
    the CSR arrays from per-site lists.
    """

    sites: np.ndarray
    offsets: np.ndarray
    atoms: np.ndarray
    weights: np.ndarray | None = None

    def __post_init__(self):
        name = "VirtualSitesN"
        self.sites = np.ascontiguousarray(np.asarray(self.sites, dtype=np.int64).ravel())
        v = self.sites.size
        self.offsets = np.ascontiguousarray(np.asarray(self.offsets, dtype=np.int64).ravel())
        self.atoms = np.ascontiguousarray(np.asarray(self.atoms, dtype=np.int64).ravel())
        k = self.atoms.size
        if self.offsets.shape != (v + 1,):
            raise ValueError(f"{name}: {v} sites need {v + 1} offsets; got shape "
                             f"{self.offsets.shape}")
        if self.offsets[0] != 0 or self.offsets[-1] != k:
            raise ValueError(f"{name}: offsets must run from 0 to len(atoms) = {k}; got "
                             f"{int(self.offsets[0])}..{int(self.offsets[-1])}")
        counts = np.diff(self.offsets)
        if np.any(counts < 1):
            bad = int(np.nonzero(counts < 1)[0][0])
            raise ValueError(f"{name}: site {int(self.sites[bad])} has no constructing atoms "
                             "(offsets must increase)")
        w = np.ones(k) if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        if w.ndim == 0:
            w = np.full(k, float(w))
        if w.shape != (k,):
            raise ValueError(f"{name}: {k} constructing atoms but weights has shape {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(f"{name}: weights must be finite and non-negative")
        self.weights = np.ascontiguousarray(w)
        if v:
            sums = np.add.reduceat(w, self.offsets[:-1])
            if np.any(sums <= 0):
                bad = int(np.nonzero(sums <= 0)[0][0])
                raise ValueError(f"{name}: the weights of site {int(self.sites[bad])} sum to "
                                 f"{sums[bad]}; they must have a positive sum (a COM site "
                                 "of massless atoms?)")
        if np.unique(self.sites).size != v:
            raise ValueError(f"{name}: a site index repeats")
        own = np.nonzero(self.atoms == np.repeat(self.sites, counts))[0]
        if own.size:
            raise ValueError(f"{name}: site {int(self.atoms[own[0]])} is one of its own "
                             "constructing atoms")

    @classmethod
    def from_lists(cls, sites, atoms, weights=None):
        """From per-site lists: ``atoms[v]`` the constructing atoms of ``sites[v]``,
        ``weights[v]`` theirs (None: all 1, COG)."""
        atoms = [np.asarray(a, dtype=np.int64).ravel() for a in atoms]
        offsets = np.concatenate([[0], np.cumsum([a.size for a in atoms])]).astype(np.int64)
        flat = np.concatenate(atoms) if atoms else np.zeros(0, np.int64)
        w = None
        if weights is not None:
            w = np.concatenate([np.asarray(q, dtype=np.float64).ravel() for q in weights]) \
                if len(weights) else np.zeros(0)
        return cls(sites, offsets, flat, w)

    def __eq__(self, other):
        return (type(other) is type(self) and np.array_equal(self.sites, other.sites)
                and np.array_equal(self.offsets, other.offsets)
                and np.array_equal(self.atoms, other.atoms)
                and np.array_equal(self.weights, other.weights))

    def bind(self, system):
        return BoundVirtualSitesN(self, system)


class BoundVirtualSitesN:
    """``VirtualSitesN`` bound to a system: ``construct(x, box)``, ``spread(x, f, box)``."""

    def __init__(self, desc: VirtualSitesN, system):
        n = system.n_particles
        idx = np.concatenate([desc.sites, desc.atoms])
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            bad = int(idx[(idx < 0) | (idx >= n)][0])
            raise IndexError(f"VirtualSitesN: particle {bad} is outside 0..{n - 1}")
        m = np.asarray(system.masses, dtype=np.float64)
        heavy = np.nonzero(m[desc.sites] != 0)[0]
        if heavy.size:
            s = int(desc.sites[heavy[0]])
            raise ValueError(f"VirtualSitesN: virtual site {s} has mass {m[s]}; virtual sites "
                             "must be massless (mass 0 in the topology)")
        self.desc = desc
        self.sites = desc.sites
        self.offsets = desc.offsets
        self.atoms = desc.atoms
        self.weights = desc.weights

    def construct(self, x, box):
        """Place the sites (rows of ``x``, in place) from their constructing atoms."""
        construct_n(x, box, self.sites, self.offsets, self.atoms, self.weights)

    def spread(self, x, f, box):
        """Move the forces on the sites onto their constructing atoms (in place)."""
        spread_n(f, self.sites, self.offsets, self.atoms, self.weights)


def virtual_site_indices(system) -> np.ndarray:
    """Sorted indices (int64) of all virtual sites of ``system`` (empty if it has none)."""
    vs = getattr(system, "virtual_sites", None) or ()
    if not vs:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate([np.asarray(v.sites, dtype=np.int64) for v in vs]))
