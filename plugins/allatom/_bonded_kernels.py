"""numba kernels of the all-atom bonded terms, following GROMACS term by term.

Every kernel takes positions ``x`` (N, 3), the box (3, 3) (GROMACS lower-triangular row
vectors), the index array and per-interaction parameters (internal units: nm, rad,
kJ/mol), adds −∂U/∂x into ``forces_out`` and returns the energy [kJ/mol]. Angles and
dihedrals use GROMACS's conventions: vectors r_ij = x_i − x_j, r_kj = x_k − x_j,
r_kl = x_k − x_l; θ = atan2(|r_ij × r_kj|, r_ij · r_kj); φ is the angle between
m = r_ij × r_kj and n = r_kj × r_kl with the sign of r_ij · n (IUPAC, φ = 0 for cis).
"""

import numba
import numpy as np
from mdzoom.core.kernels import add_dihedral_force as _add_dihedral_force
from mdzoom.core.kernels import dihedral as _dihedral
from mdzoom.core.kernels import minimum_image

__all__ = ["harmonic_bonds", "g96_bonds", "harmonic_angles", "g96_angles", "urey_bradley",
           "periodic_torsions", "harmonic_impropers", "ryckaert_bellemans", "pairs14",
           "position_restraints", "cmap_torsions"]




@numba.njit(cache=True, inline="always")
def _vec(x, box, a, b):
    """Minimum-image x_a − x_b."""
    return minimum_image(x[a, 0] - x[b, 0], x[a, 1] - x[b, 1], x[a, 2] - x[b, 2], box)


# ---------------------------------------------------------------------------------------
# bonds


@numba.njit(cache=True, error_model="numpy")
def harmonic_bonds(x, box, atoms, b0, kb, forces_out):
    """V = ½ kb (r − b0)² (GROMACS bond func 1 and harmonic potential func 6)."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        d0, d1, d2 = _vec(x, box, i, j)
        r = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        dr = r - b0[t]
        energy += 0.5 * kb[t] * dr * dr
        fs = -kb[t] * dr / r if r > 0.0 else 0.0
        forces_out[i, 0] += fs * d0
        forces_out[i, 1] += fs * d1
        forces_out[i, 2] += fs * d2
        forces_out[j, 0] -= fs * d0
        forces_out[j, 1] -= fs * d1
        forces_out[j, 2] -= fs * d2
    return energy


@numba.njit(cache=True, error_model="numpy")
def g96_bonds(x, box, atoms, b0, kb, forces_out):
    """V = ¼ kb (r² − b0²)² (GROMOS-96 bond, func 2)."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        d0, d1, d2 = _vec(x, box, i, j)
        dr2 = d0 * d0 + d1 * d1 + d2 * d2 - b0[t] * b0[t]
        energy += 0.25 * kb[t] * dr2 * dr2
        fs = -kb[t] * dr2
        forces_out[i, 0] += fs * d0
        forces_out[i, 1] += fs * d1
        forces_out[i, 2] += fs * d2
        forces_out[j, 0] -= fs * d0
        forces_out[j, 1] -= fs * d1
        forces_out[j, 2] -= fs * d2
    return energy


# ---------------------------------------------------------------------------------------
# angles


@numba.njit(cache=True, inline="always")
def _add_angle_force(f, i, j, k, dvdt, a0, a1, a2, b0, b1, b2):
    """Add −dV/dθ ∇θ for θ between a = r_ij and b = r_kj (zero at θ = 0 or π)."""
    aa = a0 * a0 + a1 * a1 + a2 * a2
    bb = b0 * b0 + b1 * b1 + b2 * b2
    ab = a0 * b0 + a1 * b1 + a2 * b2
    c0 = a1 * b2 - a2 * b1
    c1 = a2 * b0 - a0 * b2
    c2 = a0 * b1 - a1 * b0
    s = np.sqrt(c0 * c0 + c1 * c1 + c2 * c2)  # |a||b| sin θ
    if s <= 1e-12 * np.sqrt(aa * bb):
        return
    # ∂θ/∂x_i = (ab/aa · a − b)/s,  ∂θ/∂x_k = (ab/bb · b − a)/s
    g = -dvdt / s
    fi0 = g * (ab / aa * a0 - b0)
    fi1 = g * (ab / aa * a1 - b1)
    fi2 = g * (ab / aa * a2 - b2)
    fk0 = g * (ab / bb * b0 - a0)
    fk1 = g * (ab / bb * b1 - a1)
    fk2 = g * (ab / bb * b2 - a2)
    f[i, 0] += fi0
    f[i, 1] += fi1
    f[i, 2] += fi2
    f[k, 0] += fk0
    f[k, 1] += fk1
    f[k, 2] += fk2
    f[j, 0] -= fi0 + fk0
    f[j, 1] -= fi1 + fk1
    f[j, 2] -= fi2 + fk2


@numba.njit(cache=True, inline="always")
def _theta(a0, a1, a2, b0, b1, b2):
    c0 = a1 * b2 - a2 * b1
    c1 = a2 * b0 - a0 * b2
    c2 = a0 * b1 - a1 * b0
    return np.arctan2(np.sqrt(c0 * c0 + c1 * c1 + c2 * c2), a0 * b0 + a1 * b1 + a2 * b2)


@numba.njit(cache=True, error_model="numpy")
def harmonic_angles(x, box, atoms, theta0, k, forces_out):
    """V = ½ k (θ − θ0)² (angle func 1); θ0 in rad."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        kk = atoms[t, 2]
        a0, a1, a2 = _vec(x, box, i, j)
        b0, b1, b2 = _vec(x, box, kk, j)
        dth = _theta(a0, a1, a2, b0, b1, b2) - theta0[t]
        energy += 0.5 * k[t] * dth * dth
        _add_angle_force(forces_out, i, j, kk, k[t] * dth, a0, a1, a2, b0, b1, b2)
    return energy


@numba.njit(cache=True, error_model="numpy")
def urey_bradley(x, box, atoms, theta0, k_theta, r13, k_ub, forces_out):
    """V = ½ kθ (θ − θ0)² + ½ k_UB (r_ik − r13)² (angle func 5); θ0 in rad."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        kk = atoms[t, 2]
        a0, a1, a2 = _vec(x, box, i, j)
        b0, b1, b2 = _vec(x, box, kk, j)
        dth = _theta(a0, a1, a2, b0, b1, b2) - theta0[t]
        energy += 0.5 * k_theta[t] * dth * dth
        _add_angle_force(forces_out, i, j, kk, k_theta[t] * dth, a0, a1, a2, b0, b1, b2)
        d0, d1, d2 = _vec(x, box, i, kk)
        r = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
        dr = r - r13[t]
        energy += 0.5 * k_ub[t] * dr * dr
        fs = -k_ub[t] * dr / r if r > 0.0 else 0.0
        forces_out[i, 0] += fs * d0
        forces_out[i, 1] += fs * d1
        forces_out[i, 2] += fs * d2
        forces_out[kk, 0] -= fs * d0
        forces_out[kk, 1] -= fs * d1
        forces_out[kk, 2] -= fs * d2
    return energy


@numba.njit(cache=True, error_model="numpy")
def g96_angles(x, box, atoms, cos_theta0, k, forces_out):
    """V = ½ k (cos θ − cos θ0)² (GROMOS-96 angle, func 2)."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        kk = atoms[t, 2]
        a0, a1, a2 = _vec(x, box, i, j)
        b0, b1, b2 = _vec(x, box, kk, j)
        ia = 1.0 / np.sqrt(a0 * a0 + a1 * a1 + a2 * a2)
        ib = 1.0 / np.sqrt(b0 * b0 + b1 * b1 + b2 * b2)
        cos = (a0 * b0 + a1 * b1 + a2 * b2) * ia * ib
        dc = cos - cos_theta0[t]
        energy += 0.5 * k[t] * dc * dc
        # ∂cos/∂x_i = b/(|a||b|) − cos a/|a|², likewise for k
        g = -k[t] * dc
        fi0 = g * (b0 * ia * ib - cos * a0 * ia * ia)
        fi1 = g * (b1 * ia * ib - cos * a1 * ia * ia)
        fi2 = g * (b2 * ia * ib - cos * a2 * ia * ia)
        fk0 = g * (a0 * ia * ib - cos * b0 * ib * ib)
        fk1 = g * (a1 * ia * ib - cos * b1 * ib * ib)
        fk2 = g * (a2 * ia * ib - cos * b2 * ib * ib)
        forces_out[i, 0] += fi0
        forces_out[i, 1] += fi1
        forces_out[i, 2] += fi2
        forces_out[kk, 0] += fk0
        forces_out[kk, 1] += fk1
        forces_out[kk, 2] += fk2
        forces_out[j, 0] -= fi0 + fk0
        forces_out[j, 1] -= fi1 + fk1
        forces_out[j, 2] -= fi2 + fk2
    return energy


# ---------------------------------------------------------------------------------------
# dihedrals


@numba.njit(cache=True, error_model="numpy")
def periodic_torsions(x, box, atoms, phi_s, k, multiplicity, forces_out):
    """V = k (1 + cos(nφ − φs)) (dihedral func 1, 4 and 9); φs in rad."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        kk = atoms[t, 2]
        ll = atoms[t, 3]
        g = _dihedral(x, box, i, j, kk, ll)
        mdphi = multiplicity[t] * g[0] - phi_s[t]
        energy += k[t] * (1.0 + np.cos(mdphi))
        _add_dihedral_force(forces_out, i, j, kk, ll,
                            -k[t] * multiplicity[t] * np.sin(mdphi), g)
    return energy


@numba.njit(cache=True, error_model="numpy")
def harmonic_impropers(x, box, atoms, xi0, k, forces_out):
    """V = ½ k (ξ − ξ0)² with ξ − ξ0 wrapped into [−π, π) (dihedral func 2); ξ0 in rad."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        kk = atoms[t, 2]
        ll = atoms[t, 3]
        g = _dihedral(x, box, i, j, kk, ll)
        dp = g[0] - xi0[t]
        if dp >= np.pi:
            dp -= 2.0 * np.pi
        elif dp < -np.pi:
            dp += 2.0 * np.pi
        energy += 0.5 * k[t] * dp * dp
        _add_dihedral_force(forces_out, i, j, kk, ll, k[t] * dp, g)
    return energy


@numba.njit(cache=True, error_model="numpy")
def ryckaert_bellemans(x, box, atoms, c, forces_out):
    """V = Σₙ Cₙ cosⁿψ, ψ = φ − 180° (dihedral func 3, polymer convention)."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        kk = atoms[t, 2]
        ll = atoms[t, 3]
        g = _dihedral(x, box, i, j, kk, ll)
        psi = g[0] - np.pi if g[0] >= 0.0 else g[0] + np.pi
        cp = np.cos(psi)
        v = 0.0
        dvdc = 0.0
        p = 1.0
        for n in range(6):
            v += c[t, n] * p
            if n < 5:
                dvdc += (n + 1) * c[t, n + 1] * p
            p *= cp
        energy += v
        _add_dihedral_force(forces_out, i, j, kk, ll, -np.sin(psi) * dvdc, g)
    return energy


@numba.njit(cache=True, error_model="numpy")
def cmap_torsions(x, box, atoms, map_index, coeff, forces_out):
    """CMAP (cmap func 1): V = Σ c[p, q] t^p u^q in the grid cell of (φ, ψ).

    φ = dihedral(a, b, c, d), ψ = dihedral(b, c, d, e); ``coeff`` (K, n, n, 4, 4) are the
    bicubic coefficients of each cell (``cmap.cmap_coefficients``); cell (i, j) spans
    φ ∈ [−π + i h, −π + (i+1) h), h = 2π/n, with t, u ∈ [0, 1) across it.
    """
    energy = 0.0
    n = coeff.shape[1]
    cells = n / (2.0 * np.pi)
    for t in range(atoms.shape[0]):
        a = atoms[t, 0]
        b = atoms[t, 1]
        c = atoms[t, 2]
        d = atoms[t, 3]
        e = atoms[t, 4]
        g1 = _dihedral(x, box, a, b, c, d)
        g2 = _dihedral(x, box, b, c, d, e)
        s1 = (g1[0] + np.pi) * cells              # grid coordinate, 0 at −π
        s2 = (g2[0] + np.pi) * cells
        if s1 >= n:
            s1 -= n
        if s2 >= n:
            s2 -= n
        i1 = min(int(s1), n - 1)
        i2 = min(int(s2), n - 1)
        tt = s1 - i1
        tu = s2 - i2
        m = map_index[t]
        v = 0.0
        dvdt = 0.0
        dvdu = 0.0
        for p in range(3, -1, -1):                # Horner in t over cubics in u
            cp0 = coeff[m, i1, i2, p, 0]
            cp1 = coeff[m, i1, i2, p, 1]
            cp2 = coeff[m, i1, i2, p, 2]
            cp3 = coeff[m, i1, i2, p, 3]
            row = ((cp3 * tu + cp2) * tu + cp1) * tu + cp0
            drow = (3.0 * cp3 * tu + 2.0 * cp2) * tu + cp1
            dvdt = dvdt * tt + v                  # d/dt of the Horner sum, before updating v
            v = v * tt + row
            dvdu = dvdu * tt + drow
        energy += v
        _add_dihedral_force(forces_out, a, b, c, d, dvdt * cells, g1)
        _add_dihedral_force(forces_out, b, c, d, e, dvdu * cells, g2)
    return energy


# ---------------------------------------------------------------------------------------
# pairs and restraints


@numba.njit(cache=True, error_model="numpy")
def pairs14(x, box, atoms, c6, c12, qq, coulomb, forces_out):
    """1-4 pairs: c12/r¹² − c6/r⁶ and coulomb·qq/r, no cutoff. Returns (E_LJ, E_Coul)."""
    elj = 0.0
    ecoul = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t, 0]
        j = atoms[t, 1]
        d0, d1, d2 = _vec(x, box, i, j)
        rinv2 = 1.0 / (d0 * d0 + d1 * d1 + d2 * d2)
        rinv = np.sqrt(rinv2)
        rinv6 = rinv2 * rinv2 * rinv2
        vlj = (c12[t] * rinv6 - c6[t]) * rinv6
        vc = coulomb * qq[t] * rinv
        elj += vlj
        ecoul += vc
        fs = (12.0 * c12[t] * rinv6 - 6.0 * c6[t]) * rinv6 * rinv2 + vc * rinv2
        forces_out[i, 0] += fs * d0
        forces_out[i, 1] += fs * d1
        forces_out[i, 2] += fs * d2
        forces_out[j, 0] -= fs * d0
        forces_out[j, 1] -= fs * d1
        forces_out[j, 2] -= fs * d2
    return elj, ecoul


@numba.njit(cache=True, error_model="numpy")
def position_restraints(x, box, atoms, reference, k, forces_out):
    """V = ½ Σ_d k_d (x_d − ref_d)², displacement by minimum image."""
    energy = 0.0
    for t in range(atoms.shape[0]):
        i = atoms[t]
        d0, d1, d2 = minimum_image(x[i, 0] - reference[t, 0], x[i, 1] - reference[t, 1],
                                   x[i, 2] - reference[t, 2], box)
        energy += 0.5 * (k[t, 0] * d0 * d0 + k[t, 1] * d1 * d1 + k[t, 2] * d2 * d2)
        forces_out[i, 0] -= k[t, 0] * d0
        forces_out[i, 1] -= k[t, 1] * d1
        forces_out[i, 2] -= k[t, 2] * d2
    return energy
