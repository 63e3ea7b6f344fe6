"""The native NDDO engine: MNDO, AM1 and PM3 energies, heats of formation and gradients.

>>> from mdzoom.plugins.qmmm.nddo import NDDO
>>> res = NDDO("am1").compute([8, 1, 1], xyz_angstrom)           # doctest: +SKIP
>>> res.heat_of_formation, res.gradient                          # kJ/mol, kJ/mol/nm

Units at the interface: positions in Å (``unit="angstrom"``, the XYZ convention) or nm
(``unit="nm"``); results in mdzoom units — energies kJ/mol, gradients kJ/mol/nm. The
native eV values are kept (``energy_ev``, ``hof_kcal``) for comparison with MOPAC-family
programs, which use 1 eV = 23.061 kcal/mol (``parameters.KCAL_PER_EV``).

Gradient: with the converged density held fixed, each pair energy is differentiated by
central differences (step ``gradient_step`` bohr), as MOPAC does; the pair frame is
rebuilt for each displaced geometry, so pairs lying exactly along a Cartesian axis are
handled like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .hamiltonian import (build_pairs, embedding_analytic, embedding_energies,
                          embedding_gradient,
                          embedding_hamiltonian, pair_gradient)
from .integrals import (_STO6G_ROW, ANGULAR, OVERLAP_TABLE, STO6G_COEF, STO6G_EXP,
                        distribution_charges)
from .parameters import BOHR, KCAL_PER_EV, KJ_PER_KCAL, NUMBERS, element_arrays
from .scf import initial_density, run_scf

KJ_PER_EV = KCAL_PER_EV * KJ_PER_KCAL
_BLAS = None


def _one_blas_thread():
    """Run the SCF's small LAPACK calls on one BLAS thread: with numpy's multi-threaded
    OpenBLAS a 44×44 eigh took 1.6 ms instead of 20 µs on this 2-core machine (threads
    woken for tiny work), which made a 20-atom AM1 gradient 220 ms instead of 8 ms."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


@dataclass
class QMResult:
    """One QM calculation. Energies kJ/mol, gradients kJ/mol/nm (rows = atoms)."""

    method: str
    numbers: np.ndarray
    charge: int
    energy: float                 # E_electronic + E_core, kJ/mol
    heat_of_formation: float      # kJ/mol
    gradient: np.ndarray | None   # (n_atoms, 3) kJ/mol/nm
    energy_ev: float
    electronic_ev: float
    core_ev: float
    hof_kcal: float
    orbital_energies_ev: np.ndarray
    density: np.ndarray
    iterations: int
    point_charge_gradient: np.ndarray | None = None
    point_charge_energies: np.ndarray | None = None   # (m,) kJ/mol, each charge with the QM region
    extra: dict = field(default_factory=dict)

    def mulliken_charges(self):
        """Core charge minus the diagonal density of each atom (ZDO Mulliken), e."""
        return self.extra["core"] - self.extra["populations"]


def as_numbers(symbols_or_numbers):
    out = []
    for s in symbols_or_numbers:
        if isinstance(s, (int, np.integer)):
            out.append(int(s))
        else:
            key = str(s).strip().capitalize()
            if key not in NUMBERS:
                raise ValueError(f"element {s!r}: the NDDO engine has H, C, N, O, S, Cl")
            out.append(NUMBERS[key])
    return np.array(out, dtype=np.int64)


class NDDO:
    """MNDO / AM1 / PM3 (``method``), closed-shell RHF.

    Parameters: ``scf_tolerance`` (eV, energy change), ``density_tolerance`` (eV, largest
    |FP − PF|), ``max_iterations``, ``gradient_step`` (bohr), ``overlaps`` ("sto-6g", the
    six-Gaussian fits sqm and Sparrow use, or "slater", exact; see ``integrals``),
    ``analytic_embedding`` (point-charge terms in closed form with exact gradients, the
    default; False: the generic pair-frame integrals with central differences, the same
    numbers to ~1e-9, 6× slower).
    """

    name = "nddo"
    methods = ("mndo", "am1", "pm3")

    def __init__(self, method="am1", *, scf_tolerance=1e-9, density_tolerance=1e-8,
                 max_iterations=300, gradient_step=1e-4, overlaps="sto-6g",
                 analytic_embedding=True):
        self.method = method.lower()
        if overlaps not in ("sto-6g", "slater"):
            raise ValueError(f"overlaps {overlaps!r}: use 'sto-6g' (as sqm and Sparrow) or "
                             "'slater' (exact)")
        self.overlaps = overlaps
        self.analytic_embedding = bool(analytic_embedding)
        element_arrays(self.method, [1])          # validates the method name
        self.scf_tolerance = scf_tolerance
        self.density_tolerance = density_tolerance
        self.max_iterations = max_iterations
        self.gradient_step = gradient_step
        self._guess = None

    def compute(self, numbers, positions, charge=0, *, point_charges=None, unit="angstrom",
                gradient=True, reuse_density=False, embedding="qmmm_int=1"):
        """Energy, heat of formation and (``gradient=True``) gradients.

        numbers : atomic numbers or symbols, shape (n,)
        positions : (n, 3) in ``unit`` ("angstrom" or "nm")
        charge : total charge of the QM region (e)
        point_charges : optional (m, 4) array of x, y, z (same ``unit``) and q (e): MM
            charges the QM electrons and cores feel (electrostatic embedding, ``embedding``
            "qmmm_int=1" as sqm's default or "qmmm_int=2" with the QM atoms' Gaussians).
            The energy then includes the QM–MM electrostatics (not MM–MM), and
            ``point_charge_gradient`` (m, 3) kJ/mol/nm is returned.
        reuse_density : start the SCF from the previous call's density (MD).
        """
        with _one_blas_thread():
            return self._compute(numbers, positions, charge, point_charges, unit, gradient,
                                 reuse_density, embedding)

    def _compute(self, numbers, positions, charge, point_charges, unit, gradient,
                 reuse_density, embedding):
        numbers = as_numbers(numbers)
        x = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        if len(x) != len(numbers):
            raise ValueError(f"{len(numbers)} atoms but {len(x)} positions")
        scale = {"angstrom": 1.0, "nm": 10.0}[unit]
        xb = x * scale / BOHR
        par = element_arrays(self.method, numbers)
        n = len(numbers)
        norb = par["norb"]
        first = np.concatenate([[0], np.cumsum(norb)[:-1]]).astype(np.int64)
        nbasis = int(norb.sum())
        dq = np.zeros((n, 10, 4))
        dpos = np.zeros((n, 10, 4, 3))
        drho = np.zeros((n, 10, 4))
        dcnt = np.zeros((n, 10), dtype=np.int64)
        for a in range(n):
            dq[a], dpos[a], drho[a], dcnt[a] = distribution_charges(
                par["D1"][a], par["D2"][a], par["rho0"][a], par["rho1"][a], par["rho2"][a],
                norb[a])
        hcore = np.zeros((nbasis, nbasis))
        for a in range(n):
            f = first[a]
            hcore[f, f] = par["uss"][a]
            for i in range(1, norb[a]):
                hcore[f + i, f + i] = par["upp"][a]
        npairs = n * (n - 1) // 2
        w_all = np.zeros((max(npairs, 1), 10, 10))
        pairs = np.zeros((max(npairs, 1), 2), dtype=np.int64)
        args = (numbers, norb, par["n"], par["zs"], par["zp"], par["betas"], par["betap"],
                par["alpha"], par["core"], par["gauss"], dq, dpos, drho, dcnt,
                OVERLAP_TABLE, ANGULAR, STO6G_EXP, STO6G_COEF, _STO6G_ROW,
                self.overlaps == "sto-6g")
        e_core = build_pairs(xb, *args, first, hcore, w_all, pairs)
        if embedding not in ("qmmm_int=1", "qmmm_int=2"):
            raise ValueError(f"embedding {embedding!r}: use 'qmmm_int=1' or 'qmmm_int=2'")
        gaussian_core = embedding == "qmmm_int=2"
        if point_charges is not None and len(point_charges):
            pc = np.asarray(point_charges, dtype=np.float64).reshape(-1, 4)
            xm = pc[:, :3] * scale / BOHR
            qm = np.ascontiguousarray(pc[:, 3])
            emb = (xm, qm, first, numbers, norb, par["core"], par["alpha"], par["gauss"],
                   dq, dpos, drho, dcnt, gaussian_core)
            e_core += embedding_hamiltonian(xb, *emb, hcore)
        else:
            emb = None
        pairs = pairs[:npairs]
        w_all = w_all[:npairs]
        n_el = int(round(par["core"].sum())) - int(charge)
        if reuse_density and self._guess is not None and self._guess.shape == hcore.shape:
            P0 = self._guess
        else:
            P0 = initial_density(par["core"], norb, first, charge)
        P, F, eps, e_el, iters = run_scf(
            hcore, w_all, pairs, first, norb, par, n_el, P0, tolerance=self.scf_tolerance,
            density_tolerance=self.density_tolerance, max_iterations=self.max_iterations)
        self._guess = P
        e_tot = e_el + e_core
        hof_kcal = (e_tot - par["eisol"].sum()) * KCAL_PER_EV + par["eheat"].sum()
        grad = grad_pc = e_pc = None
        g = np.zeros((n, 3))
        if gradient:
            pair_gradient(P, xb, first, *args, self.gradient_step, g)    # sets g
        if emb is not None:
            # QM–MM pair energies (∂E/∂s of switched charges) and their gradients
            e_pc = np.zeros(len(emb[0]))
            gm = np.zeros((len(emb[0]), 3))
            if self.analytic_embedding:
                embedding_analytic(P, xb, *emb, gradient, e_pc, g, gm)
            else:
                embedding_energies(P, xb, *emb, e_pc)
                if gradient:
                    embedding_gradient(P, xb, *emb, self.gradient_step, g, gm)
            e_pc *= KJ_PER_EV
            grad_pc = gm / BOHR * KJ_PER_EV * 10.0 if gradient else None
        if gradient:
            grad = g / BOHR * KJ_PER_EV * 10.0           # eV/bohr → kJ/mol/nm
        pops = np.array([np.trace(P[first[a]:first[a] + norb[a], first[a]:first[a] + norb[a]])
                         for a in range(n)])
        return QMResult(self.method, numbers, int(charge), e_tot * KJ_PER_EV,
                        hof_kcal * KJ_PER_KCAL, grad, e_tot, e_el, e_core, hof_kcal, eps, P,
                        iters, point_charge_gradient=grad_pc, point_charge_energies=e_pc,
                        extra={"core": par["core"], "populations": pops})
