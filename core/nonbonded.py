"""Short-range non-bonded forces: Lennard-Jones 12-6 and Coulomb, one pass over the list.

LJ cutoff modifiers follow GROMACS (``vdw-modifier``):

- ``"none"``: plain truncation, V = C12/r¹² − C6/r⁶ for r < rc.
- ``"potential-shift"``: V − V(rc), so the energy is continuous at rc (GROMACS default).
- ``"force-switch"``: the force goes smoothly to zero between ``switch_distance`` and rc
  (GROMACS manual, "Modified non-bonded interactions").

Coulomb (``coulombtype``): ``"cutoff"`` is GROMACS's Verlet-scheme Cut-off, i.e. a
reaction field with ε_rf = 1 (so the potential is shifted to zero at rc);
``"reaction-field"`` uses ``epsilon_rf`` (0 means ε_rf = ∞, conducting boundary).
``"pme"`` / ``"ewald"`` (the same thing here) is the Ewald real-space part
f·qᵢqⱼ·erfc(βr)/r with β from ``ewald_rtol`` and the cutoff (``ewald.ewald_coefficient``),
shifted by erfc(β·rc)/rc (GROMACS ``coulomb-modifier = Potential-shift``); pair it with an
``ewald.PME`` or ``ewald.EwaldSum`` force for the reciprocal part and the corrections.

``rf_exclusion_correction=True`` reproduces GROMACS's Verlet-scheme reaction field
exactly: excluded pairs within rc get f·qᵢqⱼ·(k_rf r² − c_rf) and every particle the self
term −½ f qᵢ² c_rf (all in ``Coulomb (SR)``).

``dispersion_correction`` (GROMACS ``DispCorr``; ``"Ener"`` and ``"EnerPres"`` give the
same energy, term ``Disper. corr.``) adds the long-range dispersion energy of a
homogeneous fluid, ½ N ⟨C6⟩ (ρ D₆ − s₆), as GROMACS's ``DispersionCorrection`` does:
D₆ = ∫ 4πr² [−r⁻⁶ − g(r)] dr over all space for the modified dispersion g actually used
(so the constant of a potential shift or force switch inside the cutoff is included),
s₆ the constant difference at r → 0 (removing the self pair), ⟨C6⟩ the average over all
particle pairs that are not excluded.

Systems made only of three-site molecules (every atom excludes exactly the other two of
its triple: rigid water) with Ewald electrostatics and a plain or shifted LJ take a
faster path (``_Triples``): a list of molecule pairs instead of atom pairs, nine atom
pairs per listed molecule pair; when all molecules are alike (a water box) a SIMD kernel
with polynomial Ewald terms (``_water_kernels``) that skips the energies on steps that
report none (``compute_forces``). Same pairs, same physics (energies agree with the
general kernel to 1e-10, forces to 1e-9 relative); ``TRIPLES_KERNEL = False`` turns it
off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import math

import numpy as np

from . import _pair_kernels as _k
from . import _water_kernels as _wk
from .force import BoundForce, Force
from .neighbours import NeighbourList, box_heights
from .units import COULOMB

__all__ = ["Nonbonded", "LennardJones", "force_switch_constants",
           "dispersion_correction_constants", "dispersion_virial_constant", "average_c6"]

_MODIFIERS = ("none", "potential-shift", "force-switch")
_COULOMB = (None, "cutoff", "reaction-field", "pme", "ewald")
_COULOMB_MODIFIERS = ("potential-shift", "none")
_DISPCORR = ("no", "Ener", "EnerPres")

#: use the molecule-pair kernel for systems of three-site molecules with Ewald (rigid
#: water); set False to force the general atom-pair kernel (benchmarks, tests)
TRIPLES_KERNEL = True


def dispersion_correction_constants(modifier, rc, switch_distance=None):
    """(D₆ [nm⁻³], s₆ [nm⁻⁶]) of GROMACS's dispersion correction for one LJ modifier.

    The energy is ½ N ⟨C6⟩ (ρ D₆ − s₆) with ρ = N/V.
    """
    rc3 = rc ** 3
    if modifier == "none":
        return -4.0 * math.pi / (3.0 * rc3), 0.0
    if modifier == "potential-shift":
        return -8.0 * math.pi / (3.0 * rc3), -1.0 / rc3 ** 2
    if modifier == "force-switch":
        r1 = float(switch_distance)
        a, b, c = force_switch_constants(6.0, r1, rc)
        # inside r1 the switched r⁻⁶ is r⁻⁶ − c; in [r1, rc] r⁻⁶ − a/3 Δ³ − b/4 Δ⁴ − c
        x, w = np.polynomial.legendre.leggauss(12)
        r = 0.5 * (rc - r1) * x + 0.5 * (rc + r1)
        dr = r - r1
        sw = 0.5 * (rc - r1) * np.sum(w * 4 * np.pi * r * r
                                      * (-a / 3 * dr ** 3 - b / 4 * dr ** 4 - c))
        d6 = -4.0 * math.pi * c * r1 ** 3 / 3.0 + sw - 4.0 * math.pi / (3.0 * rc3)
        return d6, -c
    raise ValueError(f"no dispersion correction for LJ modifier {modifier!r}")


def dispersion_virial_constant(modifier, rc, switch_distance=None):
    """W₆ [nm⁻³] of the dispersion-correction virial (GROMACS ``EnerPres``).

    W₆ = ∫ 4πr² (−r w'(r)) dr with w = r⁻⁶ − g(r) the part of r⁻⁶ the modified
    dispersion g leaves out (a potential shift changes no force, so it adds nothing);
    the virial is Ξ = ½ N ρ ⟨C6⟩ W₆/6 on the diagonal, the pressure −2 Ξ_aa/V.
    """
    w6 = 8.0 * math.pi / rc ** 3
    if modifier in ("none", "potential-shift"):
        return w6
    if modifier == "force-switch":
        r1 = float(switch_distance)
        a, b, _ = force_switch_constants(6.0, r1, rc)
        x, w = np.polynomial.legendre.leggauss(12)
        r = 0.5 * (rc - r1) * x + 0.5 * (rc + r1)
        dr = r - r1
        return w6 - 0.5 * (rc - r1) * float(np.sum(w * 4 * np.pi * r ** 3
                                                   * (a * dr ** 2 + b * dr ** 3)))
    raise ValueError(f"no dispersion correction for LJ modifier {modifier!r}")


def average_c6(type_ids, c6_table, n_types, excluded_pairs=None):
    """⟨C6⟩ over all particle pairs i < j less the excluded ones (GROMACS
    ``set_avcsixtwelve``). ``c6_table`` flattened (T·T,); ``excluded_pairs`` (P, 2)."""
    counts = np.bincount(type_ids, minlength=n_types).astype(np.float64)
    c6 = np.asarray(c6_table).reshape(n_types, n_types)
    npair_ij = np.outer(counts, counts)
    npair_ij[np.diag_indices(n_types)] = counts * (counts - 1) / 2
    iu = np.triu_indices(n_types)
    csix = float(np.sum(npair_ij[iu] * c6[iu]))
    npair = float(np.sum(npair_ij[iu]))
    if excluded_pairs is not None and len(excluded_pairs):
        ti = type_ids[excluded_pairs[:, 0]]
        tj = type_ids[excluded_pairs[:, 1]]
        csix -= float(np.sum(c6[ti, tj]))
        npair -= len(excluded_pairs)
    return csix / npair if npair > 0 else 0.0


def force_switch_constants(alpha, r1, rc):
    """GROMACS force-switch constants (A, B, C) for the r^-alpha term, shape (3,)."""
    a = -alpha * ((alpha + 4) * rc - (alpha + 1) * r1) / (rc ** (alpha + 2) * (rc - r1) ** 2)
    b = alpha * ((alpha + 3) * rc - (alpha + 1) * r1) / (rc ** (alpha + 2) * (rc - r1) ** 3)
    c = 1.0 / rc ** alpha - a / 3.0 * (rc - r1) ** 3 - b / 4.0 * (rc - r1) ** 4
    return np.array([a, b, c])


@dataclass
class Nonbonded(Force):
    """LJ + Coulomb pair force over the shared neighbour list.

    Parameters
    ----------
    cutoff : float [nm]
    lj : dict[type name, (sigma [nm], epsilon [kJ/mol])], a single (sigma, epsilon), or None
        Per-type parameters (a single pair applies to every type); pairs use
        Lorentz–Berthelot combination unless ``combination="geometric"``.
        ``pair_overrides`` maps (type a, type b) to explicit (sigma, epsilon);
        ``c6c12_overrides`` maps (type a, type b) to explicit (C6 [kJ mol⁻¹ nm⁶],
        C12 [kJ mol⁻¹ nm¹²]) and wins over both (force fields written in C6/C12, e.g.
        GROMACS comb-rule 1, including C6 = 0 with C12 > 0). ``None`` switches LJ off.
    modifier : "none" | "potential-shift" | "force-switch"
    switch_distance : float [nm]   start of the force switch (required for force-switch)
    coulomb : None | "cutoff" | "reaction-field" | "pme" | "ewald"
    epsilon_r, epsilon_rf : float   relative permittivity inside / beyond the cutoff
    ewald_rtol : float       erfc(β·cutoff) for the Ewald real space (GROMACS ``ewald-rtol``)
    coulomb_modifier : "potential-shift" | "none"   Ewald real-space shift at the cutoff
    rf_exclusion_correction : bool   GROMACS Verlet-scheme RF terms for excluded pairs
        and self (default off: plain pair sum)
    dispersion_correction : "no" | "Ener" | "EnerPres"   long-range dispersion energy
    """

    cutoff: float = 1.0
    lj: dict | tuple | None = None
    modifier: str = "potential-shift"
    switch_distance: float | None = None
    combination: str = "lorentz-berthelot"
    pair_overrides: dict = field(default_factory=dict)
    c6c12_overrides: dict = field(default_factory=dict)
    coulomb: str | None = None
    epsilon_r: float = 1.0
    epsilon_rf: float = 1.0
    ewald_rtol: float = 1e-5
    coulomb_modifier: str = "potential-shift"
    rf_exclusion_correction: bool = False
    dispersion_correction: str = "no"

    def __post_init__(self):
        if self.modifier not in _MODIFIERS:
            raise ValueError(f"unknown LJ modifier {self.modifier!r}; available: "
                             f"{', '.join(_MODIFIERS)}")
        if self.coulomb not in _COULOMB:
            raise ValueError(f"unknown Coulomb method {self.coulomb!r}; available: "
                             "cutoff, reaction-field, pme, ewald")
        if self.coulomb_modifier not in _COULOMB_MODIFIERS:
            raise ValueError(f"unknown Coulomb modifier {self.coulomb_modifier!r}; "
                             f"available: {', '.join(_COULOMB_MODIFIERS)}")
        if self.dispersion_correction not in _DISPCORR:
            raise ValueError(f"unknown dispersion correction {self.dispersion_correction!r};"
                             f" available: {', '.join(_DISPCORR)}")
        if self.modifier == "force-switch":
            if self.switch_distance is None or not 0 < self.switch_distance < self.cutoff:
                raise ValueError("force-switch needs 0 < switch_distance < cutoff; got "
                                 f"{self.switch_distance}")
        if self.combination not in ("lorentz-berthelot", "geometric"):
            raise ValueError(f"unknown combination rule {self.combination!r}; available: "
                             "lorentz-berthelot, geometric")

    # ------------------------------------------------------------------ tables
    def c6_c12_tables(self, type_names):
        """Flattened (T·T,) C6 [kJ mol⁻¹ nm⁶] and C12 [kJ mol⁻¹ nm¹²] tables."""
        nt = len(type_names)
        c6 = np.zeros((nt, nt))
        c12 = np.zeros((nt, nt))
        if self.lj is None:
            return c6.ravel(), c12.ravel()
        lj = self.lj
        if not isinstance(lj, dict):
            lj = {t: tuple(lj) for t in type_names}
        missing = [t for t in type_names if t not in lj]
        if missing:
            raise KeyError(f"no LJ parameters for particle type(s) {missing}; "
                           f"given: {', '.join(map(str, lj))}")
        for a, ta in enumerate(type_names):
            for b, tb in enumerate(type_names):
                direct = (self.c6c12_overrides.get((ta, tb))
                          or self.c6c12_overrides.get((tb, ta)))
                if direct is not None:
                    c6[a, b], c12[a, b] = direct
                    continue
                pair = self.pair_overrides.get((ta, tb)) or self.pair_overrides.get((tb, ta))
                if pair is not None:
                    sig, eps = pair
                else:
                    (sa, ea), (sb, eb) = lj[ta], lj[tb]
                    eps = np.sqrt(ea * eb)
                    sig = 0.5 * (sa + sb) if self.combination == "lorentz-berthelot" \
                        else np.sqrt(sa * sb)
                c6[a, b] = 4.0 * eps * sig ** 6
                c12[a, b] = 4.0 * eps * sig ** 12
        return c6.ravel(), c12.ravel()

    def bind(self, system, context):
        return _BoundNonbonded(self, system, context)


def LennardJones(sigma=1.0, epsilon=1.0, cutoff=2.5, modifier="potential-shift",
                 switch_distance=None, types=None):
    """LJ-only ``Nonbonded`` for simple fluids: the same (sigma, epsilon) for ``types``.

    ``types=None`` applies to every particle type of the system (resolved at bind time).
    """
    params = (sigma, epsilon) if types is None else {t: (sigma, epsilon) for t in types}
    return Nonbonded(cutoff=cutoff, lj=params, modifier=modifier,
                     switch_distance=switch_distance)


class _BoundNonbonded(BoundForce):
    def __init__(self, desc: Nonbonded, system, context):
        top = system.topology
        self.desc = desc
        self.types = np.ascontiguousarray(top.type_ids, dtype=np.int32)
        self.n_types = len(top.type_names)
        self.c6, self.c12 = desc.c6_c12_tables(top.type_names)
        self.charges = np.ascontiguousarray(top.charges)
        rc = desc.cutoff
        self.rc2 = rc * rc
        self.has_lj = desc.lj is not None
        self.has_coul = desc.coulomb is not None and np.any(self.charges != 0)
        # Σq², once: a BLAS dot per step wakes OpenBLAS's threads, whose spinning then
        # slows the next numba kernel (measured: Martini bilayer pair step 6 → 14.6 ms)
        self.q2_sum = float(np.sum(self.charges * self.charges))
        self.dispcorr = desc.dispersion_correction != "no" and self.has_lj
        self.terms = tuple(t for t, on in (("LJ (SR)", True),
                                           ("Disper. corr.", self.dispcorr),
                                           ("Coulomb (SR)", desc.coulomb is not None)) if on)
        shift = desc.modifier == "potential-shift"
        self.vshift6 = rc ** -6 if shift else 0.0
        self.vshift12 = rc ** -12 if shift else 0.0
        self.lj_mode = _k.LJ_FORCE_SWITCH if desc.modifier == "force-switch" else _k.LJ_SHIFT
        if self.lj_mode == _k.LJ_FORCE_SWITCH:
            self.rsw = float(desc.switch_distance)
            self.sw6 = force_switch_constants(6.0, self.rsw, rc)
            self.sw12 = force_switch_constants(12.0, self.rsw, rc)
        else:
            self.rsw, self.sw6, self.sw12 = 0.0, np.zeros(3), np.zeros(3)
        self.coul_prefactor = COULOMB / desc.epsilon_r
        if desc.coulomb == "reaction-field" and desc.epsilon_rf == 0:
            k_rf = 1.0 / (2.0 * rc ** 3)
        else:
            eps_rf = 1.0 if desc.coulomb == "cutoff" else desc.epsilon_rf
            k_rf = (eps_rf - desc.epsilon_r) / ((2 * eps_rf + desc.epsilon_r) * rc ** 3)
        self.k_rf = k_rf
        self.c_rf = 1.0 / rc + k_rf * rc * rc
        self.coul_mode = _k.COUL_RF
        self.beta = 0.0
        if desc.coulomb in ("pme", "ewald"):
            from .ewald import ewald_coefficient

            self.coul_mode = _k.COUL_EWALD
            self.beta = ewald_coefficient(rc, desc.ewald_rtol)
            self.k_rf = 0.0
            self.c_rf = math.erfc(self.beta * rc) / rc \
                if desc.coulomb_modifier == "potential-shift" else 0.0
        self.rf_excl = (desc.rf_exclusion_correction and self.has_coul
                        and self.coul_mode == _k.COUL_RF)
        if self.rf_excl or self.dispcorr:
            start, index = top.exclusions
            i = np.repeat(np.arange(len(start) - 1, dtype=np.int64), np.diff(start))
            keep = index > i
            self.excluded_pairs = np.ascontiguousarray(
                np.stack([i[keep], index[keep]], axis=1).reshape(-1, 2))
        if self.dispcorr:
            self.avg_c6 = average_c6(self.types, self.c6, self.n_types, self.excluded_pairs)
            self.disp_d6, self.disp_s6 = dispersion_correction_constants(
                desc.modifier, rc, desc.switch_distance)
            self.disp_w6 = dispersion_virial_constant(desc.modifier, rc, desc.switch_distance)
        self.triples = None
        if TRIPLES_KERNEL and self._triples_apply(system, context.skin):
            self.triples = _Triples(self, system, context.skin)
            self.nl = None
        else:
            self.nl = context.neighbour_list(desc.cutoff)
        self.last_terms = {}

    def _triples_apply(self, system, skin):
        """Three-site molecules (first atom + two, e.g. rigid water) with Ewald and a
        plain or shifted LJ: every atom excludes exactly the other two of its triple."""
        if (self.coul_mode != _k.COUL_EWALD or not self.has_coul
                or self.lj_mode != _k.LJ_SHIFT):
            return False
        n = self.types.shape[0]
        start, index = system.topology.exclusions
        if n == 0 or n % 3 or len(index) != 2 * n or np.any(np.diff(start) != 2):
            return False
        first = 3 * (np.arange(n) // 3)
        got = np.sort(np.asarray(index).reshape(n, 2), axis=1)
        want = np.sort(np.stack([first + (np.arange(n) - first + 1) % 3,
                                 first + (np.arange(n) - first + 2) % 3], axis=1), axis=1)
        if not np.array_equal(got, want):
            return False
        # a molecule-centre list of radius rc + 2·(O–H + margin) + skin must fit the box
        return self.desc.cutoff + 2 * 0.2 + skin < 0.5 * box_heights(system.box).min()

    def compute(self, state, forces_out):
        if self.triples is not None:
            e_lj, e_coul = self.triples.compute(state, forces_out)
            return self._finish(state, e_lj, e_coul)
        nl = self.nl
        types = nl.gather(self.types)
        buffers = nl.force_buffers()
        if self._lj1():
            a6, a12 = self.c6[0], self.c12[0]
            e_lj = _k.lj1_forces(nl.positions, nl.neighbours, nl.counts, nl.n_zero_shift,
                                 nl.shifts, a6, a12, self.rc2,
                                 a12 * self.vshift12 - a6 * self.vshift6, nl.chunk_bounds,
                                 buffers)
            e_coul = 0.0
        elif self._ljrf():
            e_lj, e_coul = _k.ljrf_forces(*self._ljrf_args(nl, types), nl.chunk_bounds,
                                          buffers)
        elif not self.has_coul and self.lj_mode == _k.LJ_SHIFT:
            e_lj = _k.lj_forces(nl.positions, nl.neighbours, nl.counts, nl.shifts, types,
                                self.n_types, self.c6, self.c12, self.rc2, self.vshift6,
                                self.vshift12, nl.chunk_bounds, buffers)
            e_coul = 0.0
        else:
            e_lj, e_coul = _k.lj_coulomb_forces(
                nl.positions, nl.neighbours, nl.counts, nl.shifts, types, self.n_types,
                self.c6, self.c12, nl.gather(self.charges), self.rc2 if self.has_lj else 0.0,
                self.lj_mode, self.vshift6, self.vshift12, self.rsw, self.sw6, self.sw12,
                self.rc2 if self.has_coul else 0.0, self.coul_prefactor, self.k_rf, self.c_rf,
                nl.chunk_bounds, buffers, self.coul_mode, self.beta)
        nl.reduce_forces(buffers, forces_out)
        if self.rf_excl:
            box = np.ascontiguousarray(state.box, dtype=np.float64)
            e_coul += _k.rf_exclusion_correction(
                np.ascontiguousarray(state.positions, dtype=np.float64), self.charges,
                self.excluded_pairs, box, np.linalg.inv(box), self.coul_prefactor, self.k_rf,
                self.c_rf, self.rc2, forces_out)
            e_coul -= 0.5 * self.coul_prefactor * self.c_rf * self.q2_sum
        return self._finish(state, e_lj, e_coul)

    def _ljrf(self):
        """Shifted (or plain) LJ with charges under reaction field / plain cutoff, one
        cutoff (Martini): the SIMD ``ljrf`` kernels (forces-only and virial forms give
        bit-identical forces)."""
        return (self.has_coul and self.lj_mode == _k.LJ_SHIFT
                and self.coul_mode == _k.COUL_RF)

    def _ljrf_args(self, nl, types):
        c6, c12 = (self.c6, self.c12) if self.has_lj else (0.0 * self.c6, 0.0 * self.c12)
        return (nl.positions, nl.neighbours, nl.counts, nl.shifts, types,
                self.n_types, c6, c12, self.vshift6, self.vshift12, nl.gather(self.charges),
                self.coul_prefactor, self.rc2, self.k_rf, self.c_rf)

    def _lj1(self):
        """One particle type, shifted or plain LJ, no charges: the SIMD ``lj1`` kernels
        (their forces-only and virial forms give bit-identical forces)."""
        return (not self.has_coul and self.has_lj and self.lj_mode == _k.LJ_SHIFT
                and self.n_types == 1 and not self.rf_excl)

    def neighbour_snapshot(self):
        """The molecule-pair list of the rigid-water path, for checkpoints (or None)."""
        if self.triples is None or self.triples.nl is None:
            return None
        snap = dict(self.triples.nl.snapshot())
        snap["molecule_radius"] = np.float64(self.triples.radius)
        return snap

    def restore_neighbours(self, snap):
        if self.triples is not None:
            self.triples.restore(snap)

    def compute_forces(self, state, forces_out):
        """Forces only, energies skipped where that saves time (the rigid-water path);
        the ``ForceEvaluator`` calls this on steps that report no energy."""
        if self.triples is not None:
            self.triples.compute(state, forces_out, energy=False)
        else:
            self.compute(state, forces_out)

    def compute_virial(self, state, forces_out):
        """``compute`` plus ``self.last_virial`` (3, 3) [kJ/mol], Ξ = −½ Σ r⊗f of the pair
        sum, the RF exclusion terms and the dispersion correction (only with ``EnerPres``,
        as GROMACS: ``Ener`` corrects the energy alone). Separate kernels, so steps that
        need no virial run the plain ones."""
        if self.triples is not None:
            e_lj, e_coul, vir = self.triples.compute(state, forces_out, virial=True)
            self.last_virial = vir + self._dispersion_virial(state)
            return self._finish(state, e_lj, e_coul)
        nl = self.nl
        buffers = nl.force_buffers()
        if self._lj1():
            a6, a12 = self.c6[0], self.c12[0]
            e_lj, vir = _k.lj1_virial(nl.positions, nl.neighbours, nl.counts,
                                      nl.n_zero_shift, nl.shifts, a6, a12, self.rc2,
                                      a12 * self.vshift12 - a6 * self.vshift6,
                                      nl.chunk_bounds, buffers)
            nl.reduce_forces(buffers, forces_out)
            self.last_virial = vir + self._dispersion_virial(state)
            return self._finish(state, e_lj, 0.0)
        if self._ljrf():
            e_lj, e_coul, vir = _k.ljrf_virial(*self._ljrf_args(nl, nl.gather(self.types)),
                                               nl.chunk_bounds, buffers)
        else:
            e_lj, e_coul, vir = _k.lj_coulomb_virial(
                nl.positions, nl.neighbours, nl.counts, nl.shifts, nl.gather(self.types),
                self.n_types, self.c6, self.c12, nl.gather(self.charges),
                self.rc2 if self.has_lj else 0.0, self.lj_mode, self.vshift6,
                self.vshift12, self.rsw, self.sw6, self.sw12,
                self.rc2 if self.has_coul else 0.0, self.coul_prefactor, self.k_rf,
                self.c_rf, nl.chunk_bounds, buffers, self.coul_mode, self.beta)
        nl.reduce_forces(buffers, forces_out)
        if self.rf_excl:
            x = np.ascontiguousarray(state.positions, dtype=np.float64)
            box = np.ascontiguousarray(state.box, dtype=np.float64)
            e_coul += _k.rf_exclusion_correction(
                x, self.charges, self.excluded_pairs, box, np.linalg.inv(box),
                self.coul_prefactor, self.k_rf, self.c_rf, self.rc2, forces_out)
            e_coul -= 0.5 * self.coul_prefactor * self.c_rf * self.q2_sum
            pairs = self.excluded_pairs
            d = _k.min_image(x, pairs, box)
            inside = np.sum(d * d, axis=1) < self.rc2
            fs = -2.0 * self.coul_prefactor * self.k_rf * (
                self.charges[pairs[:, 0]] * self.charges[pairs[:, 1]])
            vir = vir + _k.pair_virial(d[inside], fs[inside])
        self.last_virial = vir + self._dispersion_virial(state)
        return self._finish(state, e_lj, e_coul)

    def _dispersion_virial(self, state):
        """GROMACS ``DispCorr = EnerPres``: ½ N ρ ⟨C6⟩ W₆/6 on the diagonal (``Ener``:
        the energy only, no virial)."""
        if not self.dispcorr or self.desc.dispersion_correction != "EnerPres":
            return np.zeros((3, 3))
        n = self.types.shape[0]
        rho = n / abs(np.linalg.det(state.box))
        return np.eye(3) * (0.5 * n * rho * self.avg_c6 * self.disp_w6 / 6.0)

    def dispersion_pressure(self, state) -> float:
        """GROMACS's ``Pres. DC (bar)``: the dispersion-correction pressure [bar]."""
        from .units import PRESSURE_CONVERSION

        vol = abs(np.linalg.det(state.box))
        return -2.0 / vol * float(self._dispersion_virial(state)[0, 0]) * PRESSURE_CONVERSION

    def _finish(self, state, e_lj, e_coul):
        self.last_terms = {"LJ (SR)": e_lj}
        total = e_lj + e_coul
        if self.dispcorr:
            n = self.types.shape[0]
            rho = n / abs(np.linalg.det(state.box))
            e_disp = 0.5 * n * self.avg_c6 * (rho * self.disp_d6 - self.disp_s6)
            self.last_terms["Disper. corr."] = e_disp
            total += e_disp
        if self.desc.coulomb is not None:
            self.last_terms["Coulomb (SR)"] = e_coul
        return total


class _Triples:
    """Short-range LJ + Ewald for a system made only of three-site molecules.

    The list holds pairs of molecules (first atoms) within rc + 2R + skin, R the largest
    distance of an atom from its molecule's first atom (+ 0.002 nm); each listed pair
    evaluates its nine atom pairs with r < rc. So it holds the same atom pairs as an atom
    list, is rebuilt when a first atom moved skin/2 (or R grew: flexible molecules), and
    is 9× shorter. Identical molecules use ``_water_kernels.water_forces``; mixed ones and
    the virial steps the tabulated erfc/exp(−x²) of ``_pair_kernels.erfc_exp``.
    """

    def __init__(self, bound, system, skin):
        self.b = bound
        n = bound.types.shape[0]
        self.m = n // 3
        self.skin = skin
        self.radius = None
        self.nl = None
        self.tab = _k._ERFC_TAB
        self.inv_h = 1.0 / _k.ERFC_H
        self.lj_on = (bound.c6 != 0) | (bound.c12 != 0)
        self._types = bound.types.reshape(self.m, 3)
        self._qs = bound.charges.reshape(self.m, 3)
        self._ys = np.zeros((self.m, 3, 3))
        # identical molecules (a water box): the nine pair parameters are constants
        self.identical = bool(np.all(self._types == self._types[0])
                              and np.all(self._qs == self._qs[0]))
        if self.identical:
            t, q = self._types[0], self._qs[0]
            tt = (t[:, None] * bound.n_types + t[None, :]).ravel()
            self.qq9 = np.ascontiguousarray(bound.coul_prefactor * np.outer(q, q).ravel())
            self.a6_9 = np.ascontiguousarray(bound.c6[tt])
            self.a12_9 = np.ascontiguousarray(bound.c12[tt])
            self.lj_shift9 = np.ascontiguousarray(self.a12_9 * bound.vshift12
                                                  - self.a6_9 * bound.vshift6)
            self.cp, self.cq, self.poly_scale = _wk.ewald_polynomials(bound.beta,
                                                                      bound.desc.cutoff)
        self._builds = -1

    def restore(self, snap):
        """Recreate the molecule list exactly as a checkpoint saved it."""
        self.radius = float(snap["molecule_radius"])
        self.nl = NeighbourList(self.m, self.b.desc.cutoff + 2 * self.radius, self.skin)
        self.nl.restore(snap)
        self._builds = -1

    def compute(self, state, forces_out, virial=False, energy=True):
        """(U_LJ, U_Coul), or (U_LJ, U_Coul, Ξ) with ``virial=True``; with
        ``energy=False`` the energies may be skipped (returned as 0)."""
        b = self.b
        x = np.ascontiguousarray(state.positions, dtype=np.float64)
        box = np.ascontiguousarray(state.box, dtype=np.float64)
        centres = np.ascontiguousarray(x[0::3])
        if self.nl is None:
            inv_box = np.linalg.inv(box)
            r2 = _k.gather_triples(x, np.arange(self.m), np.zeros((self.m, 3)), box,
                                   inv_box, self._ys)
            self.radius = math.sqrt(r2) + 0.002
            self.nl = NeighbourList(self.m, b.desc.cutoff + 2 * self.radius, self.skin)
        nl = self.nl
        nl.update(centres, box)
        inv_box = np.linalg.inv(box)
        r2 = _k.gather_triples(x, nl.order, nl.offsets, box, inv_box, self._ys)
        if math.sqrt(r2) > self.radius:      # a molecule stretched: widen and rebuild
            self.radius = math.sqrt(r2) + 0.002
            nl.cutoff = b.desc.cutoff + 2 * self.radius
            nl.build(centres, box)
            _k.gather_triples(x, nl.order, nl.offsets, box, inv_box, self._ys)
        if self._builds != nl.n_builds:
            self._builds = nl.n_builds
            self.types = np.ascontiguousarray(self._types[nl.order])
            self.qs = np.ascontiguousarray(self._qs[nl.order])
            self.buffers = np.empty((nl.n_chunks, self.m, 3, 3))
        far2 = (b.desc.cutoff + 2 * self.radius) ** 2
        if self.identical:
            e_lj, e_coul, w = _wk.water_forces(
                self._ys, nl.neighbours, nl.counts, nl.shifts, self.qq9, self.a6_9,
                self.a12_9, self.lj_shift9, b.rc2, far2, self.poly_scale, b.beta, b.c_rf,
                self.cp, self.cq, energy or virial, virial, nl.chunk_bounds, self.buffers)
            _k.reduce_triples(self.buffers, nl.order, forces_out)
            if virial:
                return e_lj, e_coul, -0.5 * w
            return e_lj, e_coul
        if virial:
            e_lj, e_coul, vir = _k.ewald_lj_triples_virial(
                self._ys, nl.neighbours, nl.counts, nl.shifts, self.types, b.n_types, b.c6,
                b.c12, self.lj_on, self.qs, b.coul_prefactor, b.rc2, far2, b.vshift6,
                b.vshift12, b.c_rf, b.beta, self.tab, self.inv_h, nl.chunk_bounds,
                self.buffers)
            _k.reduce_triples(self.buffers, nl.order, forces_out)
            return e_lj, e_coul, vir
        e_lj, e_coul = _k.ewald_lj_triples_forces(
            self._ys, nl.neighbours, nl.counts, nl.shifts, self.types, b.n_types, b.c6,
            b.c12, self.lj_on, self.qs, b.coul_prefactor, b.rc2, far2,
            max(b.desc.cutoff - 2 * self.radius, 0.0) ** 2,
            b.vshift6, b.vshift12, b.c_rf, b.beta,
            self.tab, self.inv_h, nl.chunk_bounds, self.buffers)
        _k.reduce_triples(self.buffers, nl.order, forces_out)
        return e_lj, e_coul

