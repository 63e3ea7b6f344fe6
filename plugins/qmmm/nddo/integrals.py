"""Two-centre integrals of the NDDO methods (numba kernels).

Everything here works in atomic units of length (bohr) and returns eV.

Local frame of an atom pair A–B: z' along B − A, x' and y' completing a right-handed
orthonormal set (any choice: the model is cylindrically symmetric about z', so results do
not depend on it; the choice here is stable for pairs exactly along a Cartesian axis).
Local orbitals of an sp atom are ordered s, p_x', p_y', p_z'.

**Two-electron integrals** (Dewar & Thiel, Theor. Chim. Acta 46, 89 (1977)): each charge
distribution φ_μφ_ν on one atom is a small set of point charges, each with an additive
term ρ, and (μν|λσ) = Σ_i Σ_j q_i q_j / sqrt(|r_i − r_j|² + (ρ_i + ρ_j)²):

- ss: a unit monopole (ρ0);
- s p_k: a dipole, +½ at +D1 along k and −½ at −D1 (ρ1);
- p_k p_k: the monopole (ρ0) plus a linear quadrupole, +¼ at ±2·D2 along k and −½ at the
  centre (ρ2);
- p_x' p_z' and p_y' p_z': a square quadrupole, ±¼ at (±D2, ±D2) in that plane, + where
  the two coordinates have the same sign (ρ2);
- p_x' p_y': the same quadrupole as (p_u² − p_v²)/2 with u, v at 45° (±1/8 at 2·D2 along
  the diagonals), which keeps (p_x'p_y'|p_x'p_y') = ½[(p_x'p_x'|p_x'p_x') − (p_x'p_x'|p_y'p_y')]
  as cylindrical symmetry requires.

The 10 local distributions of an sp atom are stored in packed order
(s s), (s x), (x x), (s y), (x y), (y y), (s z), (x z), (y z), (z z), i.e. pair (i ≤ j) at
index j(j+1)/2 + i. A hydrogen atom has only (s s).

**Overlaps** of the Slater orbitals (n = 1, 2, 3; s and p), two ways:

- ``"sto-6g"`` (default, as Amber's sqm and SCINE Sparrow compute them): each Slater
  orbital is replaced by R. F. Stewart's least-squares six-Gaussian fit (J. Chem. Phys.
  52, 431 (1970); 1s, 2s, 2p, 3s, 3p, exponents scaled by ζ²), whose overlaps are closed
  form. They differ from the exact Slater overlaps by up to ~1e-4, which moves heats of
  formation by up to ~0.1 kcal/mol; the reference programs agree with each other this way.
- ``"slater"``: exact, in prolate spheroidal coordinates:
  S = N_a N_b (R/2)^(n_a+n_b+1) · c · Σ_ij C_ij A_i(p) B_j(q), with p = R(ζ_a+ζ_b)/2,
  q = R(ζ_a−ζ_b)/2 and the polynomial coefficients C_ij built once (``overlap_tables``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.polynomial import polynomial as P

from .parameters import EV_PER_HARTREE

# packed index of local orbital pair (i, j), i <= j
PACK = np.array([[0, 1, 3, 6], [1, 2, 4, 7], [3, 4, 5, 8], [6, 7, 8, 9]], dtype=np.int64)
MAX_CHARGES = 4


def distribution_charges(D1, D2, rho0, rho1, rho2, norb):
    """Point charges of the local distributions of one atom.

    Returns (q (10, 4), pos (10, 4, 3), rho (10, 4), count (10,)) in bohr; for a hydrogen
    (norb = 1) only distribution 0 is filled.
    """
    q = np.zeros((10, MAX_CHARGES))
    pos = np.zeros((10, MAX_CHARGES, 3))
    rho = np.zeros((10, MAX_CHARGES))
    cnt = np.zeros(10, dtype=np.int64)

    def put(k, charges):
        for m, (c, xyz, r) in enumerate(charges):
            q[k, m], pos[k, m], rho[k, m] = c, xyz, r
        cnt[k] = len(charges)

    put(0, [(1.0, (0.0, 0.0, 0.0), rho0)])
    if norb == 1:
        return q, pos, rho, cnt
    for axis in range(3):
        e = np.zeros(3)
        e[axis] = 1.0
        put(PACK[0, axis + 1], [(0.5, D1 * e, rho1), (-0.5, -D1 * e, rho1)])
        # monopole + linear quadrupole; the quadrupole's centre charge −½ and the
        # monopole are kept as two charges at the origin (different ρ)
        put(PACK[axis + 1, axis + 1], [(1.0, 0.0 * e, rho0), (0.25, 2 * D2 * e, rho2),
                                       (0.25, -2 * D2 * e, rho2), (-0.5, 0.0 * e, rho2)])
    for a, b in ((0, 2), (1, 2)):          # xz, yz: square quadrupoles
        ea, eb = np.zeros(3), np.zeros(3)
        ea[a], eb[b] = D2, D2
        put(PACK[a + 1, b + 1], [(0.25, ea + eb, rho2), (0.25, -ea - eb, rho2),
                                 (-0.25, ea - eb, rho2), (-0.25, -ea + eb, rho2)])
    s = math.sqrt(2.0) * D2                # xy: (p_u² − p_v²)/2 at 45°
    put(PACK[1, 2], [(0.125, (s, s, 0.0), rho2), (0.125, (-s, -s, 0.0), rho2),
                     (-0.125, (s, -s, 0.0), rho2), (-0.125, (-s, s, 0.0), rho2)])
    return q, pos, rho, cnt


# ----------------------------------------------------------------------------- overlaps
# kinds: 0 s-s, 1 s-pσ, 2 pσ-s, 3 pσ-pσ, 4 pπ-pπ; angular factors after the φ integral
_ANGULAR = np.array([0.5, math.sqrt(3.0) / 2.0, math.sqrt(3.0) / 2.0, 1.5, 0.75])
MAX_POWER = 12


def _poly_product(*factors):
    """Product of bivariate polynomials given as 2-D coefficient arrays c[i, j] λ^i μ^j."""
    out = np.array([[1.0]])
    for f in factors:
        out = P.polymul2d(out, f) if hasattr(P, "polymul2d") else _mul2d(out, f)
    return out


def _mul2d(a, b):
    out = np.zeros((a.shape[0] + b.shape[0] - 1, a.shape[1] + b.shape[1] - 1))
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[i, j] != 0.0:
                out[i:i + b.shape[0], j:j + b.shape[1]] += a[i, j] * b
    return out


def overlap_tables():
    """C[n_a−1, n_b−1, kind, i, j]: coefficients of λ^i μ^j in the overlap integrand."""
    lam_plus_mu = np.array([[0.0, 1.0], [1.0, 0.0]])      # λ + μ
    lam_minus_mu = np.array([[0.0, -1.0], [1.0, 0.0]])    # λ − μ
    one_plus = np.array([[1.0, 0.0], [0.0, 1.0]])         # 1 + λμ
    minus_one_plus = np.array([[-1.0, 0.0], [0.0, 1.0]])  # λμ − 1
    lam2_minus_mu2 = np.zeros((3, 3))
    lam2_minus_mu2[2, 0], lam2_minus_mu2[0, 2] = 1.0, -1.0
    rho2 = np.zeros((3, 3))                                # (λ² − 1)(1 − μ²)
    rho2[2, 0], rho2[0, 0], rho2[2, 2], rho2[0, 2] = 1.0, -1.0, -1.0, 1.0
    table = np.zeros((3, 3, 5, MAX_POWER, MAX_POWER))
    for na in (1, 2, 3):
        for nb in (1, 2, 3):
            for kind in range(5):
                pa = kind in (2, 3, 4)
                pb = kind in (1, 3, 4)
                if (pa and na == 1) or (pb and nb == 1):
                    continue
                f = [lam2_minus_mu2]
                f += [lam_plus_mu] * (na - 1 - pa) + [lam_minus_mu] * (nb - 1 - pb)
                if kind == 4:
                    f.append(rho2)
                else:
                    if pa:
                        f.append(one_plus)
                    if pb:
                        f.append(minus_one_plus)
                c = _poly_product(*f)
                table[na - 1, nb - 1, kind, :c.shape[0], :c.shape[1]] = c
    return table


OVERLAP_TABLE = overlap_tables()
ANGULAR = _ANGULAR


@numba.njit(cache=True)
def _a_integrals(p, out):
    """A_k(p) = ∫_1^∞ λ^k e^{−pλ} dλ, k = 0 … len(out)−1 (upward recursion, stable)."""
    e = math.exp(-p)
    out[0] = e / p
    for k in range(1, out.shape[0]):
        out[k] = (e + k * out[k - 1]) / p


@numba.njit(cache=True)
def _b_integrals(q, out):
    """B_k(q) = ∫_{−1}^{1} μ^k e^{−qμ} dμ: power series for |q| ≤ 3, recursion above."""
    kmax = out.shape[0]
    if abs(q) <= 3.0:
        for k in range(kmax):
            s = 0.0
            term = 1.0                    # (−q)^m / m!
            for m in range(60):
                if (k + m) % 2 == 0:
                    s += 2.0 * term / (k + m + 1)
                term *= -q / (m + 1)
            out[k] = s
    else:
        ep, em = math.exp(q), math.exp(-q)
        out[0] = (ep - em) / q
        sign = -1.0                       # (−1)^k
        for k in range(1, kmax):
            out[k] = (-em + sign * ep) / q + k * out[k - 1] / q
            sign = -sign


@numba.njit(cache=True)
def _norm(n, zeta):
    f = 1.0
    for k in range(2, 2 * n + 1):
        f *= k
    return (2.0 * zeta) ** (n + 0.5) / math.sqrt(f)


@numba.njit(cache=True)
def _store_overlap(kind, s, out):
    """Put the overlap of kind 0 s-s, 1 s-pσ, 2 pσ-s, 3 pσ-pσ, 4 pπ-pπ into out (4×4)."""
    if kind == 0:
        out[0, 0] = s
    elif kind == 1:
        out[0, 3] = s
    elif kind == 2:
        out[3, 0] = s
    elif kind == 3:
        out[3, 3] = s
    else:
        out[1, 1] = s
        out[2, 2] = s


@numba.njit(cache=True)
def local_overlaps(na, za_s, za_p, nb, zb_s, zb_p, norb_a, norb_b, r, table, angular, out):
    """Overlaps in the pair frame (B at +z'): out[μ, ν], μ on A, ν on B (4×4, s x y z)."""
    out[:, :] = 0.0
    ak = np.empty(MAX_POWER)
    bk = np.empty(MAX_POWER)
    for kind in range(5):
        pa = kind == 2 or kind == 3 or kind == 4
        pb = kind == 1 or kind == 3 or kind == 4
        if (pa and norb_a == 1) or (pb and norb_b == 1):
            continue
        za = za_p if pa else za_s
        zb = zb_p if pb else zb_s
        p = 0.5 * r * (za + zb)
        q = 0.5 * r * (za - zb)
        _a_integrals(p, ak)
        _b_integrals(q, bk)
        c = table[na - 1, nb - 1, kind]
        s = 0.0
        for i in range(MAX_POWER):
            for j in range(MAX_POWER):
                if c[i, j] != 0.0:
                    s += c[i, j] * ak[i] * bk[j]
        s *= _norm(na, za) * _norm(nb, zb) * (0.5 * r) ** (na + nb + 1) * angular[kind]
        _store_overlap(kind, s, out)


# STO-6G (Stewart 1970): exponents for ζ = 1 and contraction coefficients of normalised
# primitives; rows 1s, 2s, 2p, 3s, 3p
STO6G_EXP = np.array([
    [2.310303149e01, 4.235915534e00, 1.185056519e00, 4.070988982e-01, 1.580884151e-01,
     6.510953954e-02],
    [2.768496241e01, 5.077140627e00, 1.426786050e00, 2.040335729e-01, 9.260298399e-02,
     4.416183978e-02],
    [5.868285913e00, 1.530329631e00, 5.475665231e-01, 2.288932733e-01, 1.046655969e-01,
     4.948220127e-02],
    [3.273031938e00, 9.200611311e-01, 3.593349765e-01, 8.636686991e-02, 4.797373812e-02,
     2.724741144e-02],
    [5.077973607e00, 1.340786940e00, 2.248434849e-01, 1.131741848e-01, 6.076408893e-02,
     3.315424265e-02]])
STO6G_COEF = np.array([
    [9.163596280e-03, 4.936149294e-02, 1.685383049e-01, 3.705627997e-01, 4.164915298e-01,
     1.303340841e-01],
    [-4.151277819e-03, -2.067024148e-02, -5.150303337e-02, 3.346271174e-01, 5.621061301e-01,
     1.712994697e-01],
    [7.924233646e-03, 5.144104825e-02, 1.898400060e-01, 4.049863191e-01, 4.012362861e-01,
     1.051855189e-01],
    [-6.775596947e-03, -5.639325779e-02, -1.587856086e-01, 5.534527651e-01, 5.015351020e-01,
     7.223633674e-02],
    [-3.329929840e-03, -1.419488340e-02, 1.639395770e-01, 4.485358256e-01, 3.908813050e-01,
     7.411456232e-02]])
_STO6G_ROW = np.array([[0, 0], [1, 2], [3, 4]])      # [n − 1, l] → row


@numba.njit(cache=True)
def local_overlaps_sto6g(na, za_s, za_p, nb, zb_s, zb_p, norb_a, norb_b, r, sexp, scoef,
                         srow, out):
    """Overlaps of the STO-6G fits in the pair frame (B at +z'), out[μ, ν] (4×4)."""
    out[:, :] = 0.0
    r2 = r * r
    for kind in range(5):
        pa = kind == 2 or kind == 3 or kind == 4
        pb = kind == 1 or kind == 3 or kind == 4
        if (pa and norb_a == 1) or (pb and norb_b == 1):
            continue
        ra = srow[na - 1, 1 if pa else 0]
        rb = srow[nb - 1, 1 if pb else 0]
        za = za_p if pa else za_s
        zb = zb_p if pb else zb_s
        s = 0.0
        for i in range(6):
            a = sexp[ra, i] * za * za
            for j in range(6):
                b = sexp[rb, j] * zb * zb
                p = a + b
                base = (4.0 * a * b / (p * p)) ** 0.75 * math.exp(-a * b / p * r2)
                if kind == 0:
                    v = base
                elif kind == 1:          # s on A, pσ on B (B at +z): −2a√b R/p
                    v = -base * 2.0 * a * math.sqrt(b) * r / p
                elif kind == 2:          # pσ on A, s on B: +2b√a R/p
                    v = base * 2.0 * b * math.sqrt(a) * r / p
                elif kind == 3:
                    v = base * 4.0 * math.sqrt(a * b) * (0.5 / p - a * b * r2 / (p * p))
                else:
                    v = base * 4.0 * math.sqrt(a * b) * (0.5 / p)
                s += scoef[ra, i] * scoef[rb, j] * v
        _store_overlap(kind, s, out)


# ----------------------------------------------------------------------------- frames
@numba.njit(cache=True)
def pair_frame(d, out):
    """Rows of ``out`` (3×3): x', y', z' for the unit vector ``d`` (z' = d)."""
    out[2, :] = d
    # the Cartesian axis least parallel to d, orthogonalised against it
    ax = 0
    if abs(d[1]) < abs(d[ax]):
        ax = 1
    if abs(d[2]) < abs(d[ax]):
        ax = 2
    v = np.zeros(3)
    v[ax] = 1.0
    dot = v[0] * d[0] + v[1] * d[1] + v[2] * d[2]
    x = v - dot * d
    x /= math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
    out[0, :] = x
    out[1, 0] = d[1] * x[2] - d[2] * x[1]
    out[1, 1] = d[2] * x[0] - d[0] * x[2]
    out[1, 2] = d[0] * x[1] - d[1] * x[0]


@numba.njit(cache=True)
def orbital_rotation(frame, out):
    """C (4×4): molecular orbital i = Σ_k C[i, k] · local orbital k (s, p_x, p_y, p_z)."""
    out[:, :] = 0.0
    out[0, 0] = 1.0
    for i in range(3):
        for k in range(3):
            out[1 + i, 1 + k] = frame[k, i]


@numba.njit(cache=True)
def pair_rotation(c, norb, out):
    """M (10×10): molecular distribution P = Σ_Q M[P, Q] · local distribution Q."""
    out[:, :] = 0.0
    for i in range(norb):
        for j in range(i, norb):
            pij = PACK_NB[i, j]
            for k in range(norb):
                for l in range(k, norb):
                    pkl = PACK_NB[k, l]
                    if k == l:
                        out[pij, pkl] = c[i, k] * c[j, k]
                    else:
                        out[pij, pkl] = c[i, k] * c[j, l] + c[i, l] * c[j, k]


PACK_NB = PACK


@numba.njit(cache=True)
def local_repulsion(qa, pa, ra, na_, qb, pb, rb, nb_, r, ndist_a, ndist_b, out):
    """Local two-electron integrals out[P, Q] (eV), P on A, Q on B, B at +z' (bohr)."""
    for P_ in range(ndist_a):
        for Q_ in range(ndist_b):
            s = 0.0
            for i in range(na_[P_]):
                for j in range(nb_[Q_]):
                    dx = pa[P_, i, 0] - pb[Q_, j, 0]
                    dy = pa[P_, i, 1] - pb[Q_, j, 1]
                    dz = pa[P_, i, 2] - pb[Q_, j, 2] - r
                    add = ra[P_, i] + rb[Q_, j]
                    s += qa[P_, i] * qb[Q_, j] / math.sqrt(dx * dx + dy * dy + dz * dz
                                                           + add * add)
            out[P_, Q_] = s * EV_PER_HARTREE_NB


EV_PER_HARTREE_NB = EV_PER_HARTREE
