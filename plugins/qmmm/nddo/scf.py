"""Closed-shell (RHF) SCF for the NDDO methods, with DIIS.

The NDDO basis is treated as orthonormal (ZDO), so the Roothaan equations are an ordinary
symmetric eigenproblem F C = C ε and the DIIS error vector is the commutator FP − PF.
"""

from __future__ import annotations

import numpy as np

from .hamiltonian import fock_matrix


class SCFConvergenceError(RuntimeError):
    """The SCF did not converge; the message gives the iteration count and residuals."""


def initial_density(core, norb, first, charge):
    """Diagonal guess: each atom's valence electrons spread evenly over its orbitals, the
    molecular charge shared in proportion to the core charges."""
    n = int(first[-1] + norb[-1])
    P = np.zeros((n, n))
    total = core.sum()
    for a in range(len(core)):
        electrons = core[a] - charge * core[a] / total
        for i in range(norb[a]):
            P[first[a] + i, first[a] + i] = electrons / norb[a]
    return P


def run_scf(hcore, w_all, pairs, first, norb, par, n_electrons, P0, *, tolerance=1e-9,
            density_tolerance=1e-8, max_iterations=300, diis_size=8):
    """Converge the closed-shell density.

    Returns (P, F, orbital energies (eV), E_electronic (eV), iterations). Converged when
    the electronic energy changes by less than ``tolerance`` eV and the largest element of
    FP − PF is below ``density_tolerance`` eV. DIIS (Pulay) from the second iteration;
    if it stalls, a damped fallback is tried before giving up.
    """
    if n_electrons % 2:
        raise ValueError(f"{n_electrons} electrons: only closed-shell (even electron "
                         "count) molecules are supported (RHF); check the charge")
    nocc = n_electrons // 2
    P = P0.copy()
    fs, es = [], []
    e_old = np.inf
    history = []
    damping = 0.0
    for it in range(1, max_iterations + 1):
        F = fock_matrix(P, hcore, w_all, pairs, first, norb, par["gss"], par["gsp"],
                        par["gpp"], par["gp2"], par["hsp"])
        e_el = 0.5 * float(np.sum(P * (hcore + F)))
        err = F @ P - P @ F
        emax = float(np.abs(err).max())
        history.append((e_el, emax))
        if abs(e_el - e_old) < tolerance and emax < density_tolerance:
            eps, C = np.linalg.eigh(F)
            return P, F, eps, e_el, it
        e_old = e_el
        fs.append(F)
        es.append(err)
        if len(fs) > diis_size:
            fs.pop(0)
            es.pop(0)
        if len(fs) >= 2 and damping == 0.0:
            m = len(fs)
            B = -np.ones((m + 1, m + 1))
            B[m, m] = 0.0
            for i in range(m):
                for j in range(i, m):
                    B[i, j] = B[j, i] = float(np.sum(es[i] * es[j]))
            rhs = np.zeros(m + 1)
            rhs[m] = -1.0
            try:
                coef = np.linalg.solve(B, rhs)[:m]
                F = sum(c * f for c, f in zip(coef, fs))
            except np.linalg.LinAlgError:
                fs, es = [F], [err]
        eps, C = np.linalg.eigh(F)
        Pn = 2.0 * C[:, :nocc] @ C[:, :nocc].T
        P = damping * P + (1.0 - damping) * Pn if damping else Pn
        if it == max_iterations // 2 and damping == 0.0:
            damping, fs, es = 0.5, [], []          # DIIS stalled: damp and start over
    last = history[-3:]
    raise SCFConvergenceError(
        f"SCF did not converge in {max_iterations} iterations (last energies "
        f"{', '.join(f'{e:.8f}' for e, _ in last)} eV; largest |FP − PF| "
        f"{last[-1][1]:.2e} eV, asked < {density_tolerance:.0e}). Check the geometry "
        "(atoms too close?), the charge and the multiplicity (only closed shells), or "
        "raise max_iterations.")
