"""OpenMM converters for the all-atom bonded forces (used by ``mdzoom.core.openmm_export``).

Registered as forces named ``"openmm:<ClassName>"``; each is
``fn(force, system, openmm) -> list[openmm.Force]`` and names what it returns with the
mdzoom energy term, so the export puts each term in its own force group. OpenMM is only
touched through the ``openmm`` module passed in (this module imports without it).

Conventions, all exact:

- bonded geometry is periodic (minimum image), as GROMACS and our kernels do;
- angles, phases in OpenMM are radians (ours are degrees in the descriptions);
- ``PeriodicTorsions``/``PeriodicImpropers``: k(1 + cos(nφ − φs)), OpenMM's
  ``PeriodicTorsionForce`` with the same IUPAC dihedral;
- ``RyckaertBellemans``: OpenMM's ``RBTorsionForce`` uses the same polymer convention
  ψ = φ − 180°, so C0…C5 go over unchanged;
- ``HarmonicImpropers``: ½k(ξ − ξ0)² with ξ − ξ0 wrapped into [−180°, 180°), as a
  ``CustomTorsionForce`` (min(|Δ|, 2π − |Δ|) is that wrap);
- ``UreyBradley``: ``HarmonicAngleForce`` + ``HarmonicBondForce`` on atoms 1–3, both
  named ``U-B``;
- ``Pairs14``: two periodic ``CustomBondForce`` (``LJ-14``: c12/r¹² − c6/r⁶ and
  ``Coulomb-14``: f qq/(ε_r r)), no cutoff — rather than NonbondedForce exceptions, so that
  LJ-14 and Coulomb-14 stay separate terms and the pair needs no σ/ε form;
- G96 bonds and angles, harmonic potentials (bonds 6) and position restraints as custom
  forces. Position restraints use the minimum-image distance when the three force
  constants are equal; anisotropic ones use plain x − x₀ (fine unless the atom crosses
  the box).
"""

from __future__ import annotations

import numpy as np

from mdzoom.core import COULOMB

from .cmap import openmm_cmap

__all__ = ["OPENMM_CONVERTERS"]


def _atoms(force, width):
    return np.asarray(force.atoms, dtype=np.int64).reshape(-1, width) if width > 1 \
        else np.asarray(force.atoms, dtype=np.int64).reshape(-1)


def _p(force, name, m, shape=()):
    return np.broadcast_to(np.asarray(getattr(force, name), dtype=float), (m,) + shape)


def _named(f, name):
    f.setName(name)
    if hasattr(f, "setUsesPeriodicBoundaryConditions"):
        f.setUsesPeriodicBoundaryConditions(True)
    return f


def harmonic_bonds(force, system, mm):
    a = _atoms(force, 2)
    b0, kb = _p(force, "b0", len(a)), _p(force, "kb", len(a))
    f = mm.HarmonicBondForce()
    for (i, j), r, k in zip(a, b0, kb):
        f.addBond(int(i), int(j), float(r), float(k))
    return [_named(f, force.term)]


def g96_bonds(force, system, mm):
    a = _atoms(force, 2)
    f = mm.CustomBondForce("0.25*kb*(r^2 - b0^2)^2")
    f.addPerBondParameter("b0")
    f.addPerBondParameter("kb")
    for (i, j), r, k in zip(a, _p(force, "b0", len(a)), _p(force, "kb", len(a))):
        f.addBond(int(i), int(j), [float(r), float(k)])
    return [_named(f, "G96Bond")]


def harmonic_angles(force, system, mm):
    a = _atoms(force, 3)
    t0 = np.deg2rad(_p(force, "theta0", len(a)))
    f = mm.HarmonicAngleForce()
    for (i, j, k), t, kk in zip(a, t0, _p(force, "k", len(a))):
        f.addAngle(int(i), int(j), int(k), float(t), float(kk))
    return [_named(f, "Angle")]


def g96_angles(force, system, mm):
    a = _atoms(force, 3)
    c0 = np.cos(np.deg2rad(_p(force, "theta0", len(a))))
    f = mm.CustomAngleForce("0.5*k*(cos(theta) - c0)^2")
    f.addPerAngleParameter("c0")
    f.addPerAngleParameter("k")
    for (i, j, k), c, kk in zip(a, c0, _p(force, "k", len(a))):
        f.addAngle(int(i), int(j), int(k), [float(c), float(kk)])
    return [_named(f, "G96Angle")]


def urey_bradley(force, system, mm):
    a = _atoms(force, 3)
    m = len(a)
    t0 = np.deg2rad(_p(force, "theta0", m))
    ang = mm.HarmonicAngleForce()
    bond = mm.HarmonicBondForce()
    for (i, j, k), t, kt, r13, kub in zip(a, t0, _p(force, "k_theta", m), _p(force, "r13", m),
                                          _p(force, "k_ub", m)):
        ang.addAngle(int(i), int(j), int(k), float(t), float(kt))
        bond.addBond(int(i), int(k), float(r13), float(kub))
    return [_named(ang, "U-B"), _named(bond, "U-B")]


def periodic_torsions(force, system, mm):
    a = _atoms(force, 4)
    m = len(a)
    phase = np.deg2rad(_p(force, "phi_s", m))
    mult = _p(force, "multiplicity", m)
    f = mm.PeriodicTorsionForce()
    zero = mm.CustomTorsionForce("k*(1 + cos(n*theta - ph))")   # multiplicity 0: OpenMM's
    for name in ("n", "ph", "k"):                               # PeriodicTorsionForce
        zero.addPerTorsionParameter(name)                       # refuses it
    for (i, j, k, l), n, ph, kk in zip(a, mult, phase, _p(force, "k", m)):
        if int(round(n)) > 0:
            f.addTorsion(int(i), int(j), int(k), int(l), int(round(n)), float(ph), float(kk))
        else:
            zero.addTorsion(int(i), int(j), int(k), int(l), [float(n), float(ph), float(kk)])
    out = [_named(f, force.term)]
    if zero.getNumTorsions():
        out.append(_named(zero, force.term))
    return out


def harmonic_impropers(force, system, mm):
    a = _atoms(force, 4)
    xi0 = np.deg2rad(_p(force, "xi0", len(a)))
    f = mm.CustomTorsionForce("0.5*k*min(d, 6.283185307179586 - d)^2; d = abs(theta - xi0)")
    f.addPerTorsionParameter("xi0")
    f.addPerTorsionParameter("k")
    for (i, j, k, l), x, kk in zip(a, xi0, _p(force, "k", len(a))):
        f.addTorsion(int(i), int(j), int(k), int(l), [float(x), float(kk)])
    return [_named(f, "Improper Dih.")]


def ryckaert_bellemans(force, system, mm):
    a = _atoms(force, 4)
    c = _p(force, "c", len(a), (6,))
    f = mm.RBTorsionForce()
    for (i, j, k, l), cc in zip(a, c):
        f.addTorsion(int(i), int(j), int(k), int(l), *map(float, cc))
    return [_named(f, "Ryckaert-Bell.")]


def pairs14(force, system, mm):
    a = _atoms(force, 2)
    m = len(a)
    lj = mm.CustomBondForce("c12/r^12 - c6/r^6")
    lj.addPerBondParameter("c6")
    lj.addPerBondParameter("c12")
    coul = mm.CustomBondForce(f"{COULOMB / float(force.epsilon_r)!r}*qq/r")
    coul.addPerBondParameter("qq")
    for (i, j), c6, c12, qq in zip(a, _p(force, "c6", m), _p(force, "c12", m),
                                   _p(force, "qq", m)):
        lj.addBond(int(i), int(j), [float(c6), float(c12)])
        coul.addBond(int(i), int(j), [float(qq)])
    return [_named(lj, "LJ-14"), _named(coul, "Coulomb-14")]


def position_restraints(force, system, mm):
    idx = _atoms(force, 1)
    m = len(idx)
    ref = _p(force, "reference", m, (3,))
    k = _p(force, "k", m, (3,))
    iso = bool(np.all(k == k[:, :1]))
    if iso:
        f = mm.CustomExternalForce("0.5*k*periodicdistance(x, y, z, x0, y0, z0)^2")
        params = ("k", "x0", "y0", "z0")
    else:
        f = mm.CustomExternalForce("0.5*(kx*(x - x0)^2 + ky*(y - y0)^2 + kz*(z - z0)^2)")
        params = ("kx", "ky", "kz", "x0", "y0", "z0")
    for name in params:
        f.addPerParticleParameter(name)
    for i, r, kk in zip(idx, ref, k):
        vals = ([kk[0]] if iso else list(kk)) + list(r)
        f.addParticle(int(i), [float(v) for v in vals])
    f.setName("Position Rest.")
    return [f]


OPENMM_CONVERTERS = {
    "openmm:HarmonicBonds": harmonic_bonds,
    "openmm:HarmonicPotentials": harmonic_bonds,
    "openmm:G96Bonds": g96_bonds,
    "openmm:HarmonicAngles": harmonic_angles,
    "openmm:G96Angles": g96_angles,
    "openmm:UreyBradley": urey_bradley,
    "openmm:PeriodicTorsions": periodic_torsions,
    "openmm:PeriodicImpropers": periodic_torsions,
    "openmm:HarmonicImpropers": harmonic_impropers,
    "openmm:RyckaertBellemans": ryckaert_bellemans,
    "openmm:Pairs14": pairs14,
    "openmm:PositionRestraints": position_restraints,
    "openmm:CMAPTorsions": openmm_cmap,
}
