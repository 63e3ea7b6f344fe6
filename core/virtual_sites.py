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

The other functions of ``[ virtual_sites3 ]`` are not linear in the positions (r_ij =
mic(x_j − x_i), r_jk = mic(x_k − x_j), r_ik = mic(x_k − x_i)):

- ``VirtualSites3FD`` (function 2, ``3fd``): x_s = x_i + b·t/|t|, t = r_ij + a·r_jk —
  distance b [nm] from i towards a point on the line j–k;
- ``VirtualSites3FAD`` (function 3, ``3fad``): x_s = x_i + d cos θ·q̂ + d sin θ·p̂,
  q = r_ij, p = r_jk − (q·r_jk/q·q)q — distance d from i at angle θ [deg] from r_ij, in
  the plane of i, j, k;
- ``VirtualSites3OUT`` (function 4, ``3out``): x_s = x_i + a·r_ij + b·r_ik +
  c·(r_ij × r_ik) (c [nm⁻¹]) — out of the plane; Martini 3 cholesterol's ring beads.

Their forces are spread by the chain rule of the construction (F_i + F_j + F_k = F_s and
the torque is kept, but the weights depend on the geometry), and the virial changes:
``spread(x, f, box, virial)`` adds GROMACS's correction (``vsite.cpp``,
``VirialHandling::NonLinear``) Ξ += −½[−(x_s − x_i) ⊗ F_s + Σ_c (x_c − x_i) ⊗ ΔF_c], so
that the virial computed with the force on the site at x_s becomes the virial of the
spread forces on the real atoms, ½ ∂U/∂ε with the sites built from the strained atoms.
The ``ForceEvaluator`` passes its virial when it computes one.

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

__all__ = ["VirtualSite", "VirtualSites3", "BoundVirtualSites3", "VirtualSites3FD",
           "BoundVirtualSites3FD", "VirtualSites3FAD", "BoundVirtualSites3FAD",
           "VirtualSites3OUT", "BoundVirtualSites3OUT", "VirtualSitesN",
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


# Non-linear constructions (GROMACS 3fd, 3fad, 3out). Each ``spread`` kernel applies the
# chain rule of its construction and adds to ``vir`` (3, 3) GROMACS's correction of the
# virial, Ξ += −½ [−(x_s − x_i) ⊗ F_s + Σ_c (x_c − x_i) ⊗ ΔF_c] over the constructing
# atoms c (ΔF_c what the site gave them): the virial computed with the force on the
# site at x_s becomes the one of the spread forces on the real atoms.
@numba.njit(cache=True, error_model="numpy")
def _add_dxdf(vir, s0, s1, s2, f0, f1, f2, p0, p1, p2, g0, g1, g2, q0, q1, q2, h0, h1, h2):
    """vir −= ½ [−s ⊗ f + p ⊗ g + q ⊗ h] (the outer products of the virial correction)."""
    vir[0, 0] -= 0.5 * (-s0 * f0 + p0 * g0 + q0 * h0)
    vir[0, 1] -= 0.5 * (-s0 * f1 + p0 * g1 + q0 * h1)
    vir[0, 2] -= 0.5 * (-s0 * f2 + p0 * g2 + q0 * h2)
    vir[1, 0] -= 0.5 * (-s1 * f0 + p1 * g0 + q1 * h0)
    vir[1, 1] -= 0.5 * (-s1 * f1 + p1 * g1 + q1 * h1)
    vir[1, 2] -= 0.5 * (-s1 * f2 + p1 * g2 + q1 * h2)
    vir[2, 0] -= 0.5 * (-s2 * f0 + p2 * g0 + q2 * h0)
    vir[2, 1] -= 0.5 * (-s2 * f1 + p2 * g1 + q2 * h1)
    vir[2, 2] -= 0.5 * (-s2 * f2 + p2 * g2 + q2 * h2)


@numba.njit(cache=True, error_model="numpy")
def construct3fd(x, box, sites, atoms, a, b):
    """3fd: x_s = x_i + b·t/|t|, t = r_ij + a·r_jk (r_ij = mic(x_j − x_i)), in place."""
    for n in range(sites.shape[0]):
        s = sites[n]
        i = atoms[n, 0]
        j = atoms[n, 1]
        k = atoms[n, 2]
        p0, p1, p2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], box)
        q0, q1, q2 = minimum_image(x[k, 0] - x[j, 0], x[k, 1] - x[j, 1], x[k, 2] - x[j, 2], box)
        t0 = p0 + a[n] * q0
        t1 = p1 + a[n] * q1
        t2 = p2 + a[n] * q2
        c = b[n] / np.sqrt(t0 * t0 + t1 * t1 + t2 * t2)
        x[s, 0] = x[i, 0] + c * t0
        x[s, 1] = x[i, 1] + c * t1
        x[s, 2] = x[i, 2] + c * t2


@numba.njit(cache=True, error_model="numpy")
def spread3fd(x, f, box, sites, atoms, a, b, vir):
    """Spread the 3fd site forces: g = (b/|t|)(F_s − t̂(t̂·F_s)), F_i += F_s − g,
    F_j += (1 − a)g, F_k += a·g; F_s = 0; virial correction into ``vir``."""
    for n in range(sites.shape[0]):
        s = sites[n]
        i = atoms[n, 0]
        j = atoms[n, 1]
        k = atoms[n, 2]
        p0, p1, p2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], box)
        q0, q1, q2 = minimum_image(x[k, 0] - x[j, 0], x[k, 1] - x[j, 1], x[k, 2] - x[j, 2], box)
        t0 = p0 + a[n] * q0
        t1 = p1 + a[n] * q1
        t2 = p2 + a[n] * q2
        inv2 = 1.0 / (t0 * t0 + t1 * t1 + t2 * t2)
        c = b[n] * np.sqrt(inv2)
        f0 = f[s, 0]
        f1 = f[s, 1]
        f2 = f[s, 2]
        proj = (t0 * f0 + t1 * f1 + t2 * f2) * inv2
        g0 = c * (f0 - proj * t0)
        g1 = c * (f1 - proj * t1)
        g2 = c * (f2 - proj * t2)
        w = 1.0 - a[n]
        f[i, 0] += f0 - g0
        f[i, 1] += f1 - g1
        f[i, 2] += f2 - g2
        f[j, 0] += w * g0
        f[j, 1] += w * g1
        f[j, 2] += w * g2
        f[k, 0] += a[n] * g0
        f[k, 1] += a[n] * g1
        f[k, 2] += a[n] * g2
        f[s, 0] = 0.0
        f[s, 1] = 0.0
        f[s, 2] = 0.0
        # (x_j − x_i)⊗(1 − a)g + (x_k − x_i)⊗a·g = t⊗g
        _add_dxdf(vir, c * t0, c * t1, c * t2, f0, f1, f2, t0, t1, t2, g0, g1, g2,
                  0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@numba.njit(cache=True, error_model="numpy")
def construct3fad(x, box, sites, atoms, a, b):
    """3fad: x_s = x_i + a·q̂ + b·p̂, q = r_ij, p = r_jk − (q·r_jk / q·q) q (the part of
    r_jk normal to q); a = d cos θ, b = d sin θ [nm]. In place."""
    for n in range(sites.shape[0]):
        s = sites[n]
        i = atoms[n, 0]
        j = atoms[n, 1]
        k = atoms[n, 2]
        q0, q1, q2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], box)
        w0, w1, w2 = minimum_image(x[k, 0] - x[j, 0], x[k, 1] - x[j, 1], x[k, 2] - x[j, 2], box)
        qq = q0 * q0 + q1 * q1 + q2 * q2
        c1 = (q0 * w0 + q1 * w1 + q2 * w2) / qq
        p0 = w0 - c1 * q0
        p1 = w1 - c1 * q1
        p2 = w2 - c1 * q2
        ca = a[n] / np.sqrt(qq)
        cb = b[n] / np.sqrt(p0 * p0 + p1 * p1 + p2 * p2)
        x[s, 0] = x[i, 0] + ca * q0 + cb * p0
        x[s, 1] = x[i, 1] + ca * q1 + cb * p1
        x[s, 2] = x[i, 2] + ca * q2 + cb * p2


@numba.njit(cache=True, error_model="numpy")
def spread3fad(x, f, box, sites, atoms, a, b, vir):
    """Spread the 3fad site forces by the chain rule of ``construct3fad``.

    With F the site force, u = q/|q|, v = p/|p|, c1 = q·w/q·q (w = r_jk):
    F_p = (b/|p|)(F − v(v·F)) (through p), F_w = F_p − q(q·F_p)/q·q,
    F_q = (a/|q|)(F − u(u·F)) − [w(q·F_p)/q·q + c1 F_p − 2 c1 q(q·F_p)/q·q];
    F_i += F − F_q, F_j += F_q − F_w, F_k += F_w; F_s = 0; virial correction.
    """
    for n in range(sites.shape[0]):
        s = sites[n]
        i = atoms[n, 0]
        j = atoms[n, 1]
        k = atoms[n, 2]
        q0, q1, q2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], box)
        w0, w1, w2 = minimum_image(x[k, 0] - x[j, 0], x[k, 1] - x[j, 1], x[k, 2] - x[j, 2], box)
        qq = q0 * q0 + q1 * q1 + q2 * q2
        c1 = (q0 * w0 + q1 * w1 + q2 * w2) / qq
        p0 = w0 - c1 * q0
        p1 = w1 - c1 * q1
        p2 = w2 - c1 * q2
        pp = p0 * p0 + p1 * p1 + p2 * p2
        ca = a[n] / np.sqrt(qq)
        cb = b[n] / np.sqrt(pp)
        f0 = f[s, 0]
        f1 = f[s, 1]
        f2 = f[s, 2]
        # through p: F_p = cb (F − p (p·F)/p·p)
        pf = (p0 * f0 + p1 * f1 + p2 * f2) / pp
        fp0 = cb * (f0 - pf * p0)
        fp1 = cb * (f1 - pf * p1)
        fp2 = cb * (f2 - pf * p2)
        uf = (q0 * fp0 + q1 * fp1 + q2 * fp2) / qq
        fw0 = fp0 - uf * q0
        fw1 = fp1 - uf * q1
        fw2 = fp2 - uf * q2
        # through q: directly (q̂) and through p
        qf = (q0 * f0 + q1 * f1 + q2 * f2) / qq
        fq0 = ca * (f0 - qf * q0) - (w0 * uf + c1 * fp0 - 2.0 * c1 * uf * q0)
        fq1 = ca * (f1 - qf * q1) - (w1 * uf + c1 * fp1 - 2.0 * c1 * uf * q1)
        fq2 = ca * (f2 - qf * q2) - (w2 * uf + c1 * fp2 - 2.0 * c1 * uf * q2)
        f[i, 0] += f0 - fq0
        f[i, 1] += f1 - fq1
        f[i, 2] += f2 - fq2
        f[j, 0] += fq0 - fw0
        f[j, 1] += fq1 - fw1
        f[j, 2] += fq2 - fw2
        f[k, 0] += fw0
        f[k, 1] += fw1
        f[k, 2] += fw2
        f[s, 0] = 0.0
        f[s, 1] = 0.0
        f[s, 2] = 0.0
        # r_ij⊗(F_q − F_w) + (r_ij + r_jk)⊗F_w = q⊗F_q + w⊗F_w
        _add_dxdf(vir, ca * q0 + cb * p0, ca * q1 + cb * p1, ca * q2 + cb * p2, f0, f1, f2,
                  q0, q1, q2, fq0, fq1, fq2, w0, w1, w2, fw0, fw1, fw2)


@numba.njit(cache=True, error_model="numpy")
def construct3out(x, box, sites, atoms, a, b, c):
    """3out: x_s = x_i + a·r_ij + b·r_ik + c·(r_ij × r_ik) (minimum images), in place."""
    for n in range(sites.shape[0]):
        s = sites[n]
        i = atoms[n, 0]
        j = atoms[n, 1]
        k = atoms[n, 2]
        q0, q1, q2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], box)
        r0, r1, r2 = minimum_image(x[k, 0] - x[i, 0], x[k, 1] - x[i, 1], x[k, 2] - x[i, 2], box)
        x[s, 0] = x[i, 0] + a[n] * q0 + b[n] * r0 + c[n] * (q1 * r2 - q2 * r1)
        x[s, 1] = x[i, 1] + a[n] * q1 + b[n] * r1 + c[n] * (q2 * r0 - q0 * r2)
        x[s, 2] = x[i, 2] + a[n] * q2 + b[n] * r2 + c[n] * (q0 * r1 - q1 * r0)


@numba.njit(cache=True, error_model="numpy")
def spread3out(x, f, box, sites, atoms, a, b, c, vir):
    """Spread the 3out site forces: F_j += a·F + c·(r_ik × F), F_k += b·F + c·(F × r_ij),
    F_i += F − (those two); F_s = 0; virial correction into ``vir``."""
    for n in range(sites.shape[0]):
        s = sites[n]
        i = atoms[n, 0]
        j = atoms[n, 1]
        k = atoms[n, 2]
        q0, q1, q2 = minimum_image(x[j, 0] - x[i, 0], x[j, 1] - x[i, 1], x[j, 2] - x[i, 2], box)
        r0, r1, r2 = minimum_image(x[k, 0] - x[i, 0], x[k, 1] - x[i, 1], x[k, 2] - x[i, 2], box)
        f0 = f[s, 0]
        f1 = f[s, 1]
        f2 = f[s, 2]
        an = a[n]
        bn = b[n]
        cn = c[n]
        gj0 = an * f0 + cn * (r1 * f2 - r2 * f1)
        gj1 = an * f1 + cn * (r2 * f0 - r0 * f2)
        gj2 = an * f2 + cn * (r0 * f1 - r1 * f0)
        gk0 = bn * f0 + cn * (f1 * q2 - f2 * q1)
        gk1 = bn * f1 + cn * (f2 * q0 - f0 * q2)
        gk2 = bn * f2 + cn * (f0 * q1 - f1 * q0)
        f[i, 0] += f0 - gj0 - gk0
        f[i, 1] += f1 - gj1 - gk1
        f[i, 2] += f2 - gj2 - gk2
        f[j, 0] += gj0
        f[j, 1] += gj1
        f[j, 2] += gj2
        f[k, 0] += gk0
        f[k, 1] += gk1
        f[k, 2] += gk2
        f[s, 0] = 0.0
        f[s, 1] = 0.0
        f[s, 2] = 0.0
        s0 = an * q0 + bn * r0 + cn * (q1 * r2 - q2 * r1)
        s1 = an * q1 + bn * r1 + cn * (q2 * r0 - q0 * r2)
        s2 = an * q2 + bn * r2 + cn * (q0 * r1 - q1 * r0)
        _add_dxdf(vir, s0, s1, s2, f0, f1, f2, q0, q1, q2, gj0, gj1, gj2, r0, r1, r2,
                  gk0, gk1, gk2)


# ---------------------------------------------------------------------- descriptions
class VirtualSite:
    """Base of virtual-site descriptions: ``sites`` (V,) int and ``bind(system)``."""

    sites: np.ndarray

    @property
    def n_sites(self) -> int:
        return int(np.asarray(self.sites).size)

    def bind(self, system):  # pragma: no cover - interface
        raise NotImplementedError


def _check_three(desc, params):
    """Normalise and check ``sites`` (V,), ``atoms`` (V, 3) and the per-site parameters
    ``params`` (names of attributes; a scalar applies to every site) of ``desc``."""
    name = type(desc).__name__
    desc.sites = np.ascontiguousarray(np.asarray(desc.sites, dtype=np.int64).ravel())
    v = desc.sites.size
    desc.atoms = np.ascontiguousarray(np.asarray(desc.atoms, dtype=np.int64).reshape(-1, 3))
    if desc.atoms.shape[0] != v:
        raise ValueError(f"{name}: {v} sites but atoms has shape {desc.atoms.shape}")
    for p in params:
        w = np.asarray(getattr(desc, p), dtype=np.float64)
        if w.ndim == 0:
            w = np.full(v, float(w))
        if w.shape != (v,):
            raise ValueError(f"{name}: {v} sites but {p} has shape {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"{name}: {p} has non-finite values")
        setattr(desc, p, np.ascontiguousarray(w))
    if np.unique(desc.sites).size != v:
        raise ValueError(f"{name}: a site index repeats")
    own = np.nonzero((desc.atoms == desc.sites[:, None]).any(1))[0]
    if own.size:
        raise ValueError(f"{name}: site {int(desc.sites[own[0]])} is one of its own "
                         "constructing atoms")


def _check_bound(desc, constructing, system):
    """Indices inside the system and massless sites (what every bound site kind checks)."""
    name = type(desc).__name__
    n = system.n_particles
    idx = np.concatenate([desc.sites, np.asarray(constructing, dtype=np.int64).ravel()])
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx[(idx < 0) | (idx >= n)][0])
        raise IndexError(f"{name}: particle {bad} is outside 0..{n - 1}")
    m = np.asarray(system.masses, dtype=np.float64)
    heavy = np.nonzero(m[desc.sites] != 0)[0]
    if heavy.size:
        s = int(desc.sites[heavy[0]])
        raise ValueError(f"{name}: virtual site {s} has mass {m[s]}; virtual sites "
                         "must be massless (mass 0 in the topology)")


class _ThreeAtomSites(VirtualSite):
    """Shared by the ``[ virtual_sites3 ]`` kinds: checks, equality, binding."""

    _params: tuple = ()
    _bound: type = None

    def __post_init__(self):
        _check_three(self, self._params)

    def __eq__(self, other):
        return (type(other) is type(self) and np.array_equal(self.sites, other.sites)
                and np.array_equal(self.atoms, other.atoms)
                and all(np.array_equal(getattr(self, p), getattr(other, p))
                        for p in self._params))

    def bind(self, system):
        return self._bound(self, system)


@dataclass(eq=False)
class VirtualSites3(_ThreeAtomSites):
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

    _params = ("a", "b")


class BoundVirtualSites3:
    """``VirtualSites3`` bound to a system: ``construct(x, box)``, ``spread(x, f, box)``."""

    def __init__(self, desc: VirtualSites3, system):
        _check_bound(desc, desc.atoms, system)
        self.desc = desc
        self.sites = desc.sites
        self.atoms = desc.atoms
        self.a = desc.a
        self.b = desc.b

    def construct(self, x, box):
        """Place the sites (rows of ``x``, in place) from their constructing atoms."""
        construct3(x, box, self.sites, self.atoms, self.a, self.b)

    def spread(self, x, f, box, virial=None):
        """Move the forces on the sites onto their constructing atoms (in place). Linear
        with weights summing to 1: the virial is unchanged (``virial`` is not touched)."""
        spread3(f, self.sites, self.atoms, self.a, self.b)


VirtualSites3._bound = BoundVirtualSites3


@dataclass(eq=False)
class VirtualSites3FD(_ThreeAtomSites):
    """A site at a fixed distance from atom i towards a point on the line j–k.

    GROMACS ``[ virtual_sites3 ]`` function 2 (``3fd``)::

        x_s = x_i + b · t / |t|,   t = r_ij + a·r_jk,   r_ij = x_j − x_i (minimum image)

    Parameters
    ----------
    sites : (V,) int        index of each virtual site
    atoms : (V, 3) int      its constructing particles i, j, k
    a : (V,) float          where on j→k the direction points (0: at j, 1: at k) [1]
    b : (V,) float          distance of the site from atom i [nm]
    """

    sites: np.ndarray
    atoms: np.ndarray
    a: np.ndarray
    b: np.ndarray

    _params = ("a", "b")


@dataclass(eq=False)
class VirtualSites3FAD(_ThreeAtomSites):
    """A site at a fixed angle and distance in the plane of i, j, k.

    GROMACS ``[ virtual_sites3 ]`` function 3 (``3fad``): the site is at distance ``d``
    from atom i, at angle ``theta`` from r_ij, in the plane of i, j, k on k's side::

        x_s = x_i + d cos θ · q/|q| + d sin θ · p/|p|,
        q = r_ij,  p = r_jk − (q·r_jk / q·q) q   (minimum images)

    Parameters
    ----------
    sites : (V,) int        index of each virtual site
    atoms : (V, 3) int      its constructing particles i, j, k
    theta : (V,) float      angle between x_s − x_i and r_ij [deg] (as in the topology)
    d : (V,) float          distance of the site from atom i [nm]
    """

    sites: np.ndarray
    atoms: np.ndarray
    theta: np.ndarray
    d: np.ndarray

    _params = ("theta", "d")


@dataclass(eq=False)
class VirtualSites3OUT(_ThreeAtomSites):
    """A site out of the plane of i, j, k (Martini 3 sterols).

    GROMACS ``[ virtual_sites3 ]`` function 4 (``3out``)::

        x_s = x_i + a·r_ij + b·r_ik + c·(r_ij × r_ik)   (minimum images)

    Parameters
    ----------
    sites : (V,) int        index of each virtual site
    atoms : (V, 3) int      its constructing particles i, j, k
    a : (V,) float          weight of r_ij [1]
    b : (V,) float          weight of r_ik [1]
    c : (V,) float          weight of r_ij × r_ik [nm⁻¹]
    """

    sites: np.ndarray
    atoms: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray

    _params = ("a", "b", "c")


class BoundVirtualSites3FD:
    """``VirtualSites3FD`` bound: ``construct(x, box)``, ``spread(x, f, box, virial)``."""

    def __init__(self, desc: VirtualSites3FD, system):
        _check_bound(desc, desc.atoms, system)
        self.desc = desc
        self.sites = desc.sites
        self.atoms = desc.atoms
        self.a = desc.a
        self.b = desc.b
        self._vir = np.zeros((3, 3))

    def construct(self, x, box):
        """Place the sites (rows of ``x``, in place) from their constructing atoms."""
        construct3fd(x, box, self.sites, self.atoms, self.a, self.b)

    def spread(self, x, f, box, virial=None):
        """Move the forces on the sites onto their constructing atoms (in place); with
        ``virial`` (3, 3) add the correction of the non-linear construction to it."""
        spread3fd(x, f, box, self.sites, self.atoms, self.a, self.b,
                  self._vir if virial is None else virial)


class BoundVirtualSites3FAD(BoundVirtualSites3FD):
    """``VirtualSites3FAD`` bound (a = d cos θ, b = d sin θ [nm], as grompp converts)."""

    def __init__(self, desc: VirtualSites3FAD, system):
        _check_bound(desc, desc.atoms, system)
        self.desc = desc
        self.sites = desc.sites
        self.atoms = desc.atoms
        theta = np.deg2rad(desc.theta)
        self.a = np.ascontiguousarray(desc.d * np.cos(theta))
        self.b = np.ascontiguousarray(desc.d * np.sin(theta))
        self._vir = np.zeros((3, 3))

    def construct(self, x, box):
        construct3fad(x, box, self.sites, self.atoms, self.a, self.b)

    def spread(self, x, f, box, virial=None):
        spread3fad(x, f, box, self.sites, self.atoms, self.a, self.b,
                   self._vir if virial is None else virial)


class BoundVirtualSites3OUT(BoundVirtualSites3FD):
    """``VirtualSites3OUT`` bound: ``construct(x, box)``, ``spread(x, f, box, virial)``."""

    def __init__(self, desc: VirtualSites3OUT, system):
        super().__init__(desc, system)
        self.c = desc.c

    def construct(self, x, box):
        construct3out(x, box, self.sites, self.atoms, self.a, self.b, self.c)

    def spread(self, x, f, box, virial=None):
        spread3out(x, f, box, self.sites, self.atoms, self.a, self.b, self.c,
                   self._vir if virial is None else virial)


VirtualSites3FD._bound = BoundVirtualSites3FD
VirtualSites3FAD._bound = BoundVirtualSites3FAD
VirtualSites3OUT._bound = BoundVirtualSites3OUT


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
        _check_bound(desc, desc.atoms, system)
        self.desc = desc
        self.sites = desc.sites
        self.offsets = desc.offsets
        self.atoms = desc.atoms
        self.weights = desc.weights

    def construct(self, x, box):
        """Place the sites (rows of ``x``, in place) from their constructing atoms."""
        construct_n(x, box, self.sites, self.offsets, self.atoms, self.weights)

    def spread(self, x, f, box, virial=None):
        """Move the forces on the sites onto their constructing atoms (in place). Linear
        with weights summing to 1: the virial is unchanged (``virial`` is not touched)."""
        spread_n(f, self.sites, self.offsets, self.atoms, self.weights)


def virtual_site_indices(system) -> np.ndarray:
    """Sorted indices (int64) of all virtual sites of ``system`` (empty if it has none)."""
    vs = getattr(system, "virtual_sites", None) or ()
    if not vs:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate([np.asarray(v.sites, dtype=np.int64) for v in vs]))
