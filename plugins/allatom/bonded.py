"""Bonded terms of GROMACS-format all-atom force fields, matching ``gmx energy`` term by term.

Each class is a parameter-only description (picklable, comparable) holding index arrays
and per-interaction parameters in GROMACS *topology-file* units — nm, kJ/mol and degrees
for angles and phases, exactly the numbers of a ``[ bonds ]``, ``[ angles ]``,
``[ dihedrals ]``, ``[ pairs ]`` or ``[ position_restraints ]`` line. Scalars broadcast
over all interactions. Binding converts degrees to radians once and checks indices::

    >>> import numpy as np
    >>> from mdzoom.plugins.allatom.bonded import HarmonicAngles, PeriodicTorsions
    >>> angles = HarmonicAngles(atoms=[[0, 1, 2]], theta0=109.5, k=400.0)
    >>> torsions = PeriodicTorsions(atoms=[[0, 1, 2, 3]], phi_s=0.0, k=[2.5], multiplicity=3)

| class | GROMACS function | energy term |
|---|---|---|
| ``HarmonicBonds`` | bonds 1 | ``Bond`` |
| ``HarmonicPotentials`` | bonds 6 (no exclusions) | ``Harmonic Pot.`` |
| ``G96Bonds`` | bonds 2 | ``G96Bond`` |
| ``HarmonicAngles`` | angles 1 | ``Angle`` |
| ``G96Angles`` | angles 2 | ``G96Angle`` |
| ``UreyBradley`` | angles 5 | ``U-B`` |
| ``PeriodicTorsions`` | dihedrals 1, 9 | ``Proper Dih.`` |
| ``PeriodicImpropers`` | dihedrals 4 | ``Per. Imp. Dih.`` |
| ``HarmonicImpropers`` | dihedrals 2 | ``Improper Dih.`` |
| ``RyckaertBellemans`` | dihedrals 3 | ``Ryckaert-Bell.`` |
| ``Pairs14`` | pairs 1 | ``LJ-14``, ``Coulomb-14`` |
| ``PositionRestraints`` | position_restraints 1 | ``Position Rest.`` |

Geometry follows GROMACS: minimum-image vectors in the (lower-triangular) box, the IUPAC
dihedral (φ = 0 for cis, sign of r_ij · (r_kj × r_kl)). A dihedral whose atoms are
collinear (a bond angle of 0° or 180°) has no defined gradient: its force is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mdzoom.core import COULOMB, BoundForce
from mdzoom.core.bonded import IndexedForce as _ArrayParams
from mdzoom.core.bonded import KernelBoundForce as _BoundBonded

from . import _bonded_kernels as _k

__all__ = ["HarmonicBonds", "HarmonicPotentials", "G96Bonds", "HarmonicAngles", "G96Angles",
           "UreyBradley", "PeriodicTorsions", "PeriodicImpropers", "HarmonicImpropers",
           "RyckaertBellemans", "Pairs14", "PositionRestraints"]


# ---------------------------------------------------------------------------------------
# bonds


@dataclass(eq=False)
class HarmonicBonds(_ArrayParams):
    """V = ½ kb (r − b0)² (GROMACS bonds func 1).

    Parameters
    ----------
    atoms : (M, 2) int
    b0 : float or (M,) [nm]
    kb : float or (M,) [kJ mol⁻¹ nm⁻²]
    """

    atoms: np.ndarray
    b0: float | np.ndarray
    kb: float | np.ndarray

    term = "Bond"

    def bind(self, system, context):
        atoms = self._indices(system, 2)
        m = len(atoms)
        return _BoundBonded(self.term, _k.harmonic_bonds,
                            (atoms, self._param("b0", m), self._param("kb", m)))


@dataclass(eq=False)
class HarmonicPotentials(HarmonicBonds):
    """Harmonic bonds that generate no exclusions (bonds func 6): term ``Harmonic Pot.``."""

    term = "Harmonic Pot."


@dataclass(eq=False)
class G96Bonds(_ArrayParams):
    """V = ¼ kb (r² − b0²)² (GROMOS-96 bonds, func 2).

    Parameters
    ----------
    atoms : (M, 2) int
    b0 : float or (M,) [nm]
    kb : float or (M,) [kJ mol⁻¹ nm⁻⁴]
    """

    atoms: np.ndarray
    b0: float | np.ndarray
    kb: float | np.ndarray

    def bind(self, system, context):
        atoms = self._indices(system, 2)
        m = len(atoms)
        return _BoundBonded("G96Bond", _k.g96_bonds,
                            (atoms, self._param("b0", m), self._param("kb", m)))


# ---------------------------------------------------------------------------------------
# angles


@dataclass(eq=False)
class HarmonicAngles(_ArrayParams):
    """V = ½ k (θ − θ0)² (angles func 1); θ is the angle i–j–k.

    Parameters
    ----------
    atoms : (M, 3) int
    theta0 : float or (M,) [deg]
    k : float or (M,) [kJ mol⁻¹ rad⁻²]
    """

    atoms: np.ndarray
    theta0: float | np.ndarray
    k: float | np.ndarray

    def bind(self, system, context):
        atoms = self._indices(system, 3)
        m = len(atoms)
        return _BoundBonded("Angle", _k.harmonic_angles,
                            (atoms, np.deg2rad(self._param("theta0", m)), self._param("k", m)))


@dataclass(eq=False)
class G96Angles(_ArrayParams):
    """V = ½ k (cos θ − cos θ0)² (GROMOS-96 angles, func 2).

    Parameters
    ----------
    atoms : (M, 3) int
    theta0 : float or (M,) [deg]
    k : float or (M,) [kJ/mol]
    """

    atoms: np.ndarray
    theta0: float | np.ndarray
    k: float | np.ndarray

    def bind(self, system, context):
        atoms = self._indices(system, 3)
        m = len(atoms)
        return _BoundBonded("G96Angle", _k.g96_angles,
                            (atoms, np.cos(np.deg2rad(self._param("theta0", m))),
                             self._param("k", m)))


@dataclass(eq=False)
class UreyBradley(_ArrayParams):
    """V = ½ kθ (θ − θ0)² + ½ k_UB (r_ik − r13)² (angles func 5, CHARMM).

    Parameters
    ----------
    atoms : (M, 3) int
    theta0 : float or (M,) [deg]
    k_theta : float or (M,) [kJ mol⁻¹ rad⁻²]
    r13 : float or (M,) [nm]
    k_ub : float or (M,) [kJ mol⁻¹ nm⁻²]
    """

    atoms: np.ndarray
    theta0: float | np.ndarray
    k_theta: float | np.ndarray
    r13: float | np.ndarray
    k_ub: float | np.ndarray

    def bind(self, system, context):
        atoms = self._indices(system, 3)
        m = len(atoms)
        return _BoundBonded("U-B", _k.urey_bradley,
                            (atoms, np.deg2rad(self._param("theta0", m)),
                             self._param("k_theta", m), self._param("r13", m),
                             self._param("k_ub", m)))


# ---------------------------------------------------------------------------------------
# dihedrals


@dataclass(eq=False)
class PeriodicTorsions(_ArrayParams):
    """V = k (1 + cos(n φ − φs)) (proper dihedrals func 1 and 9; one row per term).

    Parameters
    ----------
    atoms : (M, 4) int
    phi_s : float or (M,) [deg]
    k : float or (M,) [kJ/mol]
    multiplicity : int or (M,)
    """

    atoms: np.ndarray
    phi_s: float | np.ndarray
    k: float | np.ndarray
    multiplicity: int | np.ndarray

    term = "Proper Dih."

    def bind(self, system, context):
        atoms = self._indices(system, 4)
        m = len(atoms)
        mult = self._param("multiplicity", m)
        if np.any(mult != np.round(mult)):
            raise ValueError(f"{type(self).__name__}: multiplicity must be integer; "
                             f"got {mult[mult != np.round(mult)][:3]}")
        return _BoundBonded(self.term, _k.periodic_torsions,
                            (atoms, np.deg2rad(self._param("phi_s", m)), self._param("k", m),
                             mult))


@dataclass(eq=False)
class PeriodicImpropers(PeriodicTorsions):
    """Periodic improper dihedrals (func 4): same formula, term ``Per. Imp. Dih.``."""

    term = "Per. Imp. Dih."


@dataclass(eq=False)
class HarmonicImpropers(_ArrayParams):
    """V = ½ k (ξ − ξ0)², ξ − ξ0 wrapped into [−180°, 180°) (dihedrals func 2).

    Parameters
    ----------
    atoms : (M, 4) int
    xi0 : float or (M,) [deg]
    k : float or (M,) [kJ mol⁻¹ rad⁻²]
    """

    atoms: np.ndarray
    xi0: float | np.ndarray
    k: float | np.ndarray

    def bind(self, system, context):
        atoms = self._indices(system, 4)
        m = len(atoms)
        return _BoundBonded("Improper Dih.", _k.harmonic_impropers,
                            (atoms, np.deg2rad(self._param("xi0", m)), self._param("k", m)))


@dataclass(eq=False)
class RyckaertBellemans(_ArrayParams):
    """V = Σₙ₌₀⁵ Cₙ cosⁿψ with ψ = φ − 180° (dihedrals func 3, polymer convention).

    Parameters
    ----------
    atoms : (M, 4) int
    c : (6,) or (M, 6) [kJ/mol]   C0 … C5
    """

    atoms: np.ndarray
    c: np.ndarray

    def bind(self, system, context):
        atoms = self._indices(system, 4)
        return _BoundBonded("Ryckaert-Bell.", _k.ryckaert_bellemans,
                            (atoms, self._param("c", len(atoms), (6,))))


# ---------------------------------------------------------------------------------------
# pairs and restraints


@dataclass(eq=False)
class Pairs14(_ArrayParams):
    """1-4 pairs (pairs func 1): c12/r¹² − c6/r⁶ and f qq/(ε_r r), no cutoff.

    Reports two terms, ``LJ-14`` and ``Coulomb-14``, through ``last_terms``.

    Parameters
    ----------
    atoms : (M, 2) int
    c6 : float or (M,) [kJ mol⁻¹ nm⁶]
    c12 : float or (M,) [kJ mol⁻¹ nm¹²]
    qq : float or (M,) [e²]   q_i q_j already multiplied by fudgeQQ
    epsilon_r : float   relative dielectric constant (mdp ``epsilon-r``)
    """

    atoms: np.ndarray
    c6: float | np.ndarray
    c12: float | np.ndarray
    qq: float | np.ndarray
    epsilon_r: float = 1.0

    def bind(self, system, context):
        if not self.epsilon_r > 0:
            raise ValueError(f"Pairs14: epsilon_r must be positive; got {self.epsilon_r}")
        atoms = self._indices(system, 2)
        m = len(atoms)
        return _BoundPairs14(atoms, self._param("c6", m), self._param("c12", m),
                             self._param("qq", m), COULOMB / float(self.epsilon_r))


class _BoundPairs14(BoundForce):
    terms = ("LJ-14", "Coulomb-14")

    def __init__(self, atoms, c6, c12, qq, coulomb):
        self.atoms, self.c6, self.c12, self.qq, self.coulomb = atoms, c6, c12, qq, coulomb
        self.last_terms = {"LJ-14": 0.0, "Coulomb-14": 0.0}

    def compute(self, state, forces_out):
        elj, ecoul = _k.pairs14(state.positions, state.box, self.atoms, self.c6, self.c12,
                                self.qq, self.coulomb, forces_out)
        self.last_terms = {"LJ-14": elj, "Coulomb-14": ecoul}
        return elj + ecoul


@dataclass(eq=False)
class PositionRestraints(_ArrayParams):
    """V = ½ Σ_d k_d (x_d − ref_d)² on single atoms (position_restraints func 1).

    The reference is absolute (mdp ``refcoord-scaling = no``); the displacement is taken
    by minimum image.

    Parameters
    ----------
    atoms : (M,) int
    reference : (M, 3) [nm]
    k : float, (3,) or (M, 3) [kJ mol⁻¹ nm⁻²]   force constants along x, y, z
    """

    atoms: np.ndarray
    reference: np.ndarray
    k: float | np.ndarray

    def bind(self, system, context):
        atoms = self._indices(system, 1)
        m = len(atoms)
        return _BoundBonded("Position Rest.", _k.position_restraints,
                            (atoms, self._param("reference", m, (3,)),
                             self._param("k", m, (3,))))
