"""NDDO Hamiltonian: pair blocks, core Hamiltonian, Fock matrix, pair energies (numba).

Units: positions in bohr inside the kernels, energies in eV. Atoms are described by the
arrays of ``parameters.element_arrays`` plus their distribution point charges
(``integrals.distribution_charges``), stacked per atom as ``dq (n, 10, 4)``,
``dpos (n, 10, 4, 3)``, ``drho (n, 10, 4)`` and ``dcnt (n, 10)``.

Per pair A–B (``pair_terms``):
- ``w`` (10×10): (μν|λσ) in the molecular frame, μν packed on A, λσ packed on B;
- ``hab`` (4×4): resonance integrals ½(β_μ + β_ν) S_μν;
- ``va``, ``vb`` (10): electron–core attraction −Z_B(μν|s_B s_B) on A, −Z_A(s_A s_A|λσ) on B;
- ``ecore``: the core–core repulsion
  Z_A Z_B (s_A s_A|s_B s_B) [1 + e^{−α_A R} + e^{−α_B R}] (R in Å; for N–H and O–H the
  heavy atom's term is R e^{−α R}), plus, for AM1 and PM3,
  Z_A Z_B / R · Σ_k K_k e^{−L_k (R − M_k)²} over the Gaussians of both atoms.

MM point charges (electrostatic embedding, the model of Amber's sqm): a charge q_m is a
"core" with one s function of zero width, so an electron on QM atom A feels
−q_m (μν_A|s_m) — the same multipole formulas with ρ_m = 0 — and the QM core
Z_A q_m γ + |Z_A q_m γ| (e^{−α_A R} + e^{−5 R}) with γ = (s_A s_A|s_m) and R in Å
(``qmmm_int = 1``); ``gaussian_core`` (``qmmm_int = 2``) adds
Z_A q_m / R Σ_k K_k e^{−L_k (R − M_k)²} of the QM atom's Gaussians.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .integrals import (PACK, local_overlaps, local_overlaps_sto6g, local_repulsion,
                        orbital_rotation, pair_frame, pair_rotation)
from .parameters import BOHR, EV_PER_HARTREE

EV_PER_HARTREE_NB = EV_PER_HARTREE


@numba.njit(cache=True)
def core_core(za, zb, core_a, core_b, alpha_a, alpha_b, gauss_a, gauss_b, gamma_ss, r_ang):
    """Core–core repulsion (eV) of two atoms at r_ang (Å), (s_A s_A|s_B s_B) = gamma_ss."""
    ea = math.exp(-alpha_a * r_ang)
    eb = math.exp(-alpha_b * r_ang)
    if za == 1 and (zb == 7 or zb == 8):
        f = 1.0 + ea + r_ang * eb
    elif zb == 1 and (za == 7 or za == 8):
        f = 1.0 + r_ang * ea + eb
    else:
        f = 1.0 + ea + eb
    e = core_a * core_b * gamma_ss * f
    g = 0.0
    for k in range(gauss_a.shape[0]):
        if gauss_a[k, 0] != 0.0:
            g += gauss_a[k, 0] * math.exp(-gauss_a[k, 1] * (r_ang - gauss_a[k, 2]) ** 2)
        if gauss_b[k, 0] != 0.0:
            g += gauss_b[k, 0] * math.exp(-gauss_b[k, 1] * (r_ang - gauss_b[k, 2]) ** 2)
    return e + core_a * core_b / r_ang * g


@numba.njit(cache=True)
def pair_terms(d, a, b, numbers, norb, nq, zs, zp, betas, betap, alpha, core, gauss,
               dq, dpos, drho, dcnt, table, angular, sexp, scoef, srow, sto6g, w, hab, va, vb):
    """Fill w, hab, va, vb for atoms a, b at separation d = x_b − x_a (bohr); return E_core."""
    r = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    unit = d / r
    frame = np.empty((3, 3))
    pair_frame(unit, frame)
    c = np.empty((4, 4))
    orbital_rotation(frame, c)
    na, nb = norb[a], norb[b]
    nda = 1 if na == 1 else 10
    ndb = 1 if nb == 1 else 10
    wloc = np.zeros((10, 10))
    local_repulsion(dq[a], dpos[a], drho[a], dcnt[a], dq[b], dpos[b], drho[b], dcnt[b], r,
                    nda, ndb, wloc)
    ma = np.empty((10, 10))
    mb = np.empty((10, 10))
    pair_rotation(c, na, ma)
    pair_rotation(c, nb, mb)
    # w = Ma · wloc · Mbᵀ over the used distributions
    tmp = np.zeros((10, 10))
    for p in range(nda):
        for q in range(ndb):
            s = 0.0
            for k in range(nda):
                s += ma[p, k] * wloc[k, q]
            tmp[p, q] = s
    for p in range(nda):
        for q in range(ndb):
            s = 0.0
            for k in range(ndb):
                s += tmp[p, k] * mb[q, k]
            w[p, q] = s
    for p in range(nda):
        va[p] = -core[b] * w[p, 0]
    for q in range(ndb):
        vb[q] = -core[a] * w[0, q]
    # overlaps → resonance integrals
    sloc = np.empty((4, 4))
    if sto6g:
        local_overlaps_sto6g(nq[a], zs[a], zp[a], nq[b], zs[b], zp[b], na, nb, r, sexp,
                             scoef, srow, sloc)
    else:
        local_overlaps(nq[a], zs[a], zp[a], nq[b], zs[b], zp[b], na, nb, r, table,
                       angular, sloc)
    for mu in range(na):
        bmu = betas[a] if mu == 0 else betap[a]
        for nu in range(nb):
            bnu = betas[b] if nu == 0 else betap[b]
            s = 0.0
            for k in range(na):
                for l in range(nb):
                    s += c[mu, k] * sloc[k, l] * c[nu, l]
            hab[mu, nu] = 0.5 * (bmu + bnu) * s
    return core_core(numbers[a], numbers[b], core[a], core[b], alpha[a], alpha[b],
                     gauss[a], gauss[b], wloc[0, 0], r * BOHR_NB)


BOHR_NB = BOHR


@numba.njit(cache=True)
def build_pairs(x, numbers, norb, nq, zs, zp, betas, betap, alpha, core, gauss, dq, dpos,
                drho, dcnt, table, angular, sexp, scoef, srow, sto6g, first, hcore, w_all, pairs):
    """Core Hamiltonian (off-diagonal resonance blocks and the electron–core attraction
    on the diagonal blocks) and all pair repulsion blocks; returns Σ E_core (eV)."""
    n = x.shape[0]
    hab = np.zeros((4, 4))
    va = np.zeros(10)
    vb = np.zeros(10)
    ecore = 0.0
    k = 0
    for a in range(n):
        for b in range(a + 1, n):
            d = x[b] - x[a]
            w = w_all[k]
            ecore += pair_terms(d, a, b, numbers, norb, nq, zs, zp, betas, betap, alpha,
                                core, gauss, dq, dpos, drho, dcnt, table, angular, sexp, scoef, srow, sto6g, w, hab,
                                va, vb)
            pairs[k, 0], pairs[k, 1] = a, b
            fa, fb = first[a], first[b]
            for mu in range(norb[a]):
                for nu in range(norb[b]):
                    hcore[fa + mu, fb + nu] = hab[mu, nu]
                    hcore[fb + nu, fa + mu] = hab[mu, nu]
            for mu in range(norb[a]):
                for nu in range(mu, norb[a]):
                    hcore[fa + mu, fa + nu] += va[PACK[mu, nu]]
                    if nu != mu:
                        hcore[fa + nu, fa + mu] += va[PACK[mu, nu]]
            for mu in range(norb[b]):
                for nu in range(mu, norb[b]):
                    hcore[fb + mu, fb + nu] += vb[PACK[mu, nu]]
                    if nu != mu:
                        hcore[fb + nu, fb + mu] += vb[PACK[mu, nu]]
            k += 1
    return ecore


@numba.njit(cache=True)
def _packed_density(P, f, norb, out):
    """Packed block density with weight 2 on off-diagonal pairs (Σ over ordered pairs)."""
    for mu in range(norb):
        for nu in range(mu, norb):
            out[PACK[mu, nu]] = P[f + mu, f + nu] * (1.0 if mu == nu else 2.0)


@numba.njit(cache=True)
def fock_matrix(P, hcore, w_all, pairs, first, norb, gss, gsp, gpp, gp2, hsp):
    """F = H + G(P) for the closed-shell total density P (eV)."""
    F = hcore.copy()
    n = first.shape[0]
    for a in range(n):
        f = first[a]
        if norb[a] == 1:
            F[f, f] += 0.5 * P[f, f] * gss[a]
            continue
        hpp = 0.5 * (gpp[a] - gp2[a])
        pss = P[f, f]
        ppp = P[f + 1, f + 1] + P[f + 2, f + 2] + P[f + 3, f + 3]
        F[f, f] += 0.5 * pss * gss[a] + ppp * (gsp[a] - 0.5 * hsp[a])
        for i in range(1, 4):
            pii = P[f + i, f + i]
            F[f + i, f + i] += (pss * (gsp[a] - 0.5 * hsp[a]) + 0.5 * pii * gpp[a]
                                + (ppp - pii) * (gp2[a] - 0.5 * hpp))
            v = P[f, f + i] * (1.5 * hsp[a] - 0.5 * gsp[a])
            F[f, f + i] += v
            F[f + i, f] += v
            for j in range(i + 1, 4):
                v = P[f + i, f + j] * (1.5 * hpp - 0.5 * gp2[a])
                F[f + i, f + j] += v
                F[f + j, f + i] += v
    pa = np.zeros(10)
    pb = np.zeros(10)
    for k in range(pairs.shape[0]):
        a, b = pairs[k, 0], pairs[k, 1]
        fa, fb, na, nb = first[a], first[b], norb[a], norb[b]
        w = w_all[k]
        _packed_density(P, fa, na, pa)
        _packed_density(P, fb, nb, pb)
        for mu in range(na):
            for nu in range(mu, na):
                s = 0.0
                p_ = PACK[mu, nu]
                for lam in range(nb):
                    for sig in range(lam, nb):
                        s += w[p_, PACK[lam, sig]] * pb[PACK[lam, sig]]
                F[fa + mu, fa + nu] += s
                if nu != mu:
                    F[fa + nu, fa + mu] += s
        for lam in range(nb):
            for sig in range(lam, nb):
                s = 0.0
                q_ = PACK[lam, sig]
                for mu in range(na):
                    for nu in range(mu, na):
                        s += w[PACK[mu, nu], q_] * pa[PACK[mu, nu]]
                F[fb + lam, fb + sig] += s
                if sig != lam:
                    F[fb + sig, fb + lam] += s
        for mu in range(na):
            for lam in range(nb):
                s = 0.0
                for nu in range(na):
                    for sig in range(nb):
                        s += P[fa + nu, fb + sig] * w[PACK[min(mu, nu), max(mu, nu)],
                                                      PACK[min(lam, sig), max(lam, sig)]]
                F[fa + mu, fb + lam] -= 0.5 * s
                F[fb + lam, fa + mu] -= 0.5 * s
    return F


@numba.njit(cache=True)
def pair_energy(P, d, a, b, first, numbers, norb, nq, zs, zp, betas, betap, alpha, core,
                gauss, dq, dpos, drho, dcnt, table, angular, sexp, scoef, srow, sto6g):
    """Energy (eV) of the pair A–B at fixed density P for separation d (bohr): resonance,
    electron–core attraction, two-centre Coulomb and exchange, core–core."""
    w = np.zeros((10, 10))
    hab = np.zeros((4, 4))
    va = np.zeros(10)
    vb = np.zeros(10)
    e = pair_terms(d, a, b, numbers, norb, nq, zs, zp, betas, betap, alpha, core, gauss,
                   dq, dpos, drho, dcnt, table, angular, sexp, scoef, srow, sto6g, w, hab, va, vb)
    fa, fb, na, nb = first[a], first[b], norb[a], norb[b]
    pa = np.zeros(10)
    pb = np.zeros(10)
    _packed_density(P, fa, na, pa)
    _packed_density(P, fb, nb, pb)
    for mu in range(na):
        for nu in range(nb):
            e += 2.0 * P[fa + mu, fb + nu] * hab[mu, nu]
    nda = 1 if na == 1 else 10
    ndb = 1 if nb == 1 else 10
    for p_ in range(nda):
        e += pa[p_] * va[p_]
    for q_ in range(ndb):
        e += pb[q_] * vb[q_]
    for p_ in range(nda):
        for q_ in range(ndb):
            e += pa[p_] * w[p_, q_] * pb[q_]
    for mu in range(na):
        for nu in range(na):
            for lam in range(nb):
                for sig in range(nb):
                    e -= 0.5 * P[fa + mu, fb + lam] * P[fa + nu, fb + sig] * w[
                        PACK[min(mu, nu), max(mu, nu)], PACK[min(lam, sig), max(lam, sig)]]
    return e


@numba.njit(cache=True)
def pair_gradient(P, x, first, numbers, norb, nq, zs, zp, betas, betap, alpha, core, gauss,
                  dq, dpos, drho, dcnt, table, angular, sexp, scoef, srow, sto6g, step, grad):
    """Nuclear gradient (eV/bohr) by central differences of each pair energy at fixed P."""
    n = x.shape[0]
    grad[:, :] = 0.0
    dd = np.empty(3)
    for a in range(n):
        for b in range(a + 1, n):
            for k in range(3):
                for j in range(3):
                    dd[j] = x[b, j] - x[a, j]
                dd[k] += step
                ep = pair_energy(P, dd, a, b, first, numbers, norb, nq, zs, zp, betas,
                                 betap, alpha, core, gauss, dq, dpos, drho, dcnt, table,
                                 angular, sexp, scoef, srow, sto6g)
                dd[k] -= 2.0 * step
                em = pair_energy(P, dd, a, b, first, numbers, norb, nq, zs, zp, betas,
                                 betap, alpha, core, gauss, dq, dpos, drho, dcnt, table,
                                 angular, sexp, scoef, srow, sto6g)
                g = (ep - em) / (2.0 * step)
                grad[b, k] += g
                grad[a, k] -= g


# ----------------------------------------------------------------------------- embedding
ALPHA_MM = 5.0      # 1/Å, exponent of the MM "core" in sqm's QM/MM core term


@numba.njit(cache=True)
def _mm_repulsion(d, a, norb, dq, dpos, drho, dcnt, w, frame, c, ma):
    """(μν_A | s_m) (eV) for a point charge at separation d = x_m − x_a (bohr), ρ_m = 0."""
    r = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
    pair_frame(d / r, frame)
    orbital_rotation(frame, c)
    nda = 1 if norb[a] == 1 else 10
    pair_rotation(c, norb[a], ma)
    for p_ in range(nda):
        s = 0.0
        for k in range(nda):
            if ma[p_, k] == 0.0:
                continue
            t = 0.0
            for i in range(dcnt[a, k]):
                dx = dpos[a, k, i, 0]
                dy = dpos[a, k, i, 1]
                dz = dpos[a, k, i, 2] - r
                add = drho[a, k, i]
                t += dq[a, k, i] / math.sqrt(dx * dx + dy * dy + dz * dz + add * add)
            s += ma[p_, k] * t
        w[p_] = s * EV_PER_HARTREE_NB
    return r


@numba.njit(cache=True)
def _mm_core(a, numbers, core, alpha, gauss, gamma, q, r_ang, gaussian_core):
    """QM core – MM charge term of sqm (qmmm_int = 1; = 2 adds the QM atom's Gaussians),
    eV, at r_ang (Å); see ``_mm_core_and_derivative``."""
    return _mm_core_and_derivative(a, core, alpha, gauss, gamma, 0.0, q, r_ang / BOHR_NB,
                                   gaussian_core)[0]


@numba.njit(cache=True)
def embedding_hamiltonian(x, xm, qm, first, numbers, norb, core, alpha, gauss, dq, dpos,
                          drho, dcnt, gaussian_core, hcore):
    """Add −q_m (μν_A|s_m) to the diagonal blocks of hcore; return Σ QM-core–MM (eV)."""
    w = np.zeros(10)
    frame = np.empty((3, 3))
    c = np.empty((4, 4))
    ma = np.empty((10, 10))
    e = 0.0
    d = np.empty(3)
    for a in range(x.shape[0]):
        f = first[a]
        for m in range(xm.shape[0]):
            for j in range(3):
                d[j] = xm[m, j] - x[a, j]
            r = _mm_repulsion(d, a, norb, dq, dpos, drho, dcnt, w, frame, c, ma)
            for mu in range(norb[a]):
                for nu in range(mu, norb[a]):
                    v = -qm[m] * w[PACK[mu, nu]]
                    hcore[f + mu, f + nu] += v
                    if nu != mu:
                        hcore[f + nu, f + mu] += v
            e += _mm_core(a, numbers, core, alpha, gauss, w[0], qm[m], r * BOHR_NB,
                          gaussian_core)
    return e


@numba.njit(cache=True)
def _mm_pair_energy(P, d, a, m, qm, first, numbers, norb, core, alpha, gauss, dq, dpos,
                    drho, dcnt, gaussian_core, w, frame, c, ma):
    r = _mm_repulsion(d, a, norb, dq, dpos, drho, dcnt, w, frame, c, ma)
    f = first[a]
    e = 0.0
    for mu in range(norb[a]):
        for nu in range(mu, norb[a]):
            e -= qm[m] * w[PACK[mu, nu]] * P[f + mu, f + nu] * (1.0 if mu == nu else 2.0)
    return e + _mm_core(a, numbers, core, alpha, gauss, w[0], qm[m], r * BOHR_NB,
                        gaussian_core)


@numba.njit(cache=True)
def embedding_gradient(P, x, xm, qm, first, numbers, norb, core, alpha, gauss, dq, dpos,
                       drho, dcnt, gaussian_core, step, grad, grad_mm):
    """Add the QM–MM gradient (eV/bohr) to grad (QM atoms) and grad_mm (point charges)."""
    w = np.zeros(10)
    frame = np.empty((3, 3))
    c = np.empty((4, 4))
    ma = np.empty((10, 10))
    d = np.empty(3)
    for a in range(x.shape[0]):
        for m in range(xm.shape[0]):
            for k in range(3):
                for j in range(3):
                    d[j] = xm[m, j] - x[a, j]
                d[k] += step
                ep = _mm_pair_energy(P, d, a, m, qm, first, numbers, norb, core, alpha,
                                     gauss, dq, dpos, drho, dcnt, gaussian_core, w, frame, c,
                                     ma)
                d[k] -= 2.0 * step
                em = _mm_pair_energy(P, d, a, m, qm, first, numbers, norb, core, alpha,
                                     gauss, dq, dpos, drho, dcnt, gaussian_core, w, frame, c,
                                     ma)
                g = (ep - em) / (2.0 * step)
                grad_mm[m, k] += g
                grad[a, k] -= g


@numba.njit(cache=True)
def embedding_energies(P, x, xm, qm, first, numbers, norb, core, alpha, gauss, dq, dpos,
                       drho, dcnt, gaussian_core, out):
    """Interaction energy (eV) of each point charge with the QM region at fixed P:
    Σ_A [−q_m Σ P (μν_A|s_m) + core term]; linear in a common scale of q_m, so it is also
    ∂E/∂s for charges scaled by s (used by the smooth embedding cutoff)."""
    w = np.zeros(10)
    frame = np.empty((3, 3))
    c = np.empty((4, 4))
    ma = np.empty((10, 10))
    d = np.empty(3)
    out[:] = 0.0
    for a in range(x.shape[0]):
        for m in range(xm.shape[0]):
            for j in range(3):
                d[j] = xm[m, j] - x[a, j]
            out[m] += _mm_pair_energy(P, d, a, m, qm, first, numbers, norb, core, alpha,
                                      gauss, dq, dpos, drho, dcnt, gaussian_core, w, frame,
                                      c, ma)


# ------------------------------------------------------- point charges, analytic form
@numba.njit(cache=True)
def _inv(dz, extra2, rho):
    """1/sqrt(dz² + extra2 + ρ²) and its derivative with respect to dz."""
    s = dz * dz + extra2 + rho * rho
    v = 1.0 / math.sqrt(s)
    return v, -dz * v * v * v


@numba.njit(cache=True)
def _mm_axis_integrals(a, r, dq, dpos, drho, out, dout):
    """The four (μν_A|s_m) of a point charge on the pair axis at distance r (bohr), eV:
    out = (ss, s-pσ, pσ-pσ, pπ-pπ), dout their r-derivatives (eV/bohr). With cylindrical
    symmetry these give every molecular-frame integral: (s p_i) = out[1] u_i and
    (p_i p_j) = out[3] δ_ij + (out[2] − out[3]) u_i u_j, u the unit vector A → charge."""
    # distributions 0 (ss), 6 (s z'), 9 (z'z'), 2 (x'x') of the packed local order
    for slot, k in enumerate((0, 6, 9, 2)):
        v = 0.0
        dv = 0.0
        for i in range(10):
            if i >= 4 or dq[a, k, i] == 0.0:
                break
            x = dpos[a, k, i, 0]
            y = dpos[a, k, i, 1]
            f, df = _inv(r - dpos[a, k, i, 2], x * x + y * y, drho[a, k, i])
            v += dq[a, k, i] * f
            dv += dq[a, k, i] * df
        out[slot] = v * EV_PER_HARTREE_NB
        dout[slot] = dv * EV_PER_HARTREE_NB


@numba.njit(cache=True)
def _mm_core_and_derivative(a, core, alpha, gauss, gamma, dgamma, q, r, gaussian_core):
    """sqm's QM core – MM charge energy (eV) and its r-derivative (eV/bohr), r in bohr."""
    ra = r * BOHR_NB
    zq = core[a] * q
    ea = math.exp(-alpha[a] * ra)
    em = math.exp(-ALPHA_MM * ra)
    expo = ea + em
    dexpo = (-alpha[a] * ea - ALPHA_MM * em) * BOHR_NB
    e = zq * gamma + abs(zq * gamma) * expo
    sgn = 1.0 if zq * gamma >= 0.0 else -1.0
    de = zq * dgamma + sgn * zq * dgamma * expo + abs(zq * gamma) * dexpo
    if gaussian_core:
        g = 0.0
        dg = 0.0
        for k in range(gauss.shape[1]):
            kk = gauss[a, k, 0]
            if kk != 0.0:
                t = kk * math.exp(-gauss[a, k, 1] * (ra - gauss[a, k, 2]) ** 2)
                g += t
                dg += -2.0 * gauss[a, k, 1] * (ra - gauss[a, k, 2]) * t
        e += zq / ra * g
        de += (-zq / (ra * ra) * g + zq / ra * dg) * BOHR_NB
    return e, de


@numba.njit(cache=True)
def embedding_analytic(P, x, xm, qm, first, numbers, norb, core, alpha, gauss, dq, dpos,
                       drho, dcnt, gaussian_core, want_grad, e_out, grad, grad_mm):
    """QM–MM pair energies at density P (e_out[m], eV) and, with ``want_grad``, their
    exact gradients (eV/bohr) added to grad (QM atoms) and grad_mm (charges)."""
    val = np.empty(4)
    der = np.empty(4)
    u = np.empty(3)
    e_out[:] = 0.0
    for a in range(x.shape[0]):
        f = first[a]
        sp = norb[a] > 1
        for m in range(xm.shape[0]):
            r2 = 0.0
            for j in range(3):
                u[j] = xm[m, j] - x[a, j]
                r2 += u[j] * u[j]
            r = math.sqrt(r2)
            for j in range(3):
                u[j] /= r
            _mm_axis_integrals(a, r, dq, dpos, drho, val, der)
            q = qm[m]
            pss = P[f, f]
            e_el = pss * val[0]
            de_dr = pss * der[0]
            g = np.zeros(3)
            if sp:
                pu = 0.0
                upu = 0.0
                tr = 0.0
                for i in range(3):
                    pu += P[f, f + 1 + i] * u[i]
                    tr += P[f + 1 + i, f + 1 + i]
                    for j in range(3):
                        upu += u[i] * P[f + 1 + i, f + 1 + j] * u[j]
                e_el += 2.0 * val[1] * pu + val[3] * tr + (val[2] - val[3]) * upu
                de_dr += 2.0 * der[1] * pu + der[3] * tr + (der[2] - der[3]) * upu
                if want_grad:
                    for i in range(3):
                        ppu = 0.0
                        for j in range(3):
                            ppu += P[f + 1 + i, f + 1 + j] * u[j]
                        # tangential parts: ∂u/∂d = (1 − u uᵀ)/r
                        g[i] += (2.0 * val[1] * (P[f, f + 1 + i] - pu * u[i])
                                 + 2.0 * (val[2] - val[3]) * (ppu - upu * u[i])) / r
            ec, dec = _mm_core_and_derivative(a, core, alpha, gauss, val[0], der[0], q, r,
                                              gaussian_core)
            e_out[m] += -q * e_el + ec
            if want_grad:
                for i in range(3):
                    gi = -q * (de_dr * u[i] + g[i]) + dec * u[i]
                    grad_mm[m, i] += gi
                    grad[a, i] -= gi
