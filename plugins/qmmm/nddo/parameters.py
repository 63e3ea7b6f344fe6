"""MNDO, AM1 and PM3 parameters for H, C, N, O, S and Cl, and the quantities derived from them.

Parameters are transcribed from the original papers (the same numbers as MOPAC's tables):

- MNDO: M. J. S. Dewar, W. Thiel, J. Am. Chem. Soc. 99, 4899 and 4907 (1977) (H, C, N, O);
  Cl: M. J. S. Dewar, H. S. Rzepa, J. Comput. Chem. 4, 158 (1983);
  S: M. J. S. Dewar, C. H. Reynolds, J. Comput. Chem. 7, 140 (1986).
- AM1: M. J. S. Dewar, E. G. Zoebisch, E. F. Healy, J. J. P. Stewart, J. Am. Chem. Soc. 107,
  3902 (1985) (H, C, N, O); Cl: M. J. S. Dewar, E. G. Zoebisch, J. Mol. Struct. (Theochem)
  180, 1 (1988); S: M. J. S. Dewar, Y.-C. Yuan, Inorg. Chem. 29, 3881 (1990).
- PM3: J. J. P. Stewart, J. Comput. Chem. 10, 209 (1989).

Per element: ``uss``, ``upp`` (one-centre one-electron energies, eV), ``betas``, ``betap``
(resonance parameters, eV), ``zs``, ``zp`` (Slater exponents, 1/bohr), ``alpha`` (core-core
exponent, 1/Å), ``gss``, ``gsp``, ``gpp``, ``gp2``, ``hsp`` (one-centre two-electron
integrals, eV) and, for AM1 and PM3, ``gauss``: (K eV, L 1/Å², M Å) triples of the
core-core Gaussians.

Derived (``derived()``), in atomic units as the Dewar–Thiel multipole model uses them:
``D1`` (sp dipole charge separation, bohr), ``D2`` (pp quadrupole separation, bohr),
``rho0``/``rho1``/``rho2`` (additive terms of monopoles, dipoles and quadrupoles, bohr,
chosen so the model reproduces Gss, Hsp and Hpp = (Gpp − Gp2)/2 at zero distance), and
``eisol`` (energy of the isolated atom, eV). Heats of formation use the experimental
atomic heats of formation ``EHEAT`` (kcal/mol).
"""

from __future__ import annotations

import math

import numpy as np

# the conventions of Amber's sqm (AU_TO_EV, BOHRS_TO_A, EV_TO_KCAL), which MOPAC shares
# but for its bohr (0.529167 Å); heats of formation depend on them at the 1e-4 level
EV_PER_HARTREE = 27.21
BOHR = 0.529177249
KCAL_PER_EV = 23.061
KJ_PER_KCAL = 4.184

SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 16: "S", 17: "Cl"}
NUMBERS = {v: k for k, v in SYMBOLS.items()}
CORE_CHARGE = {1: 1, 6: 4, 7: 5, 8: 6, 16: 6, 17: 7}
PRINCIPAL_N = {1: 1, 6: 2, 7: 2, 8: 2, 16: 3, 17: 3}
VALENCE = {1: (1, 0), 6: (2, 2), 7: (2, 3), 8: (2, 4), 16: (2, 4), 17: (2, 5)}   # s, p electrons
# experimental heats of formation of the gaseous atoms, kcal/mol (as in MOPAC)
EHEAT = {1: 52.102, 6: 170.89, 7: 113.0, 8: 59.559, 16: 66.40, 17: 28.99}

_KEYS = ("uss", "upp", "betas", "betap", "zs", "zp", "alpha", "gss", "gsp", "gpp", "gp2", "hsp")


def _table(rows):
    return {z: dict(zip(_KEYS, vals[:12]), gauss=tuple(vals[12:])) for z, vals in rows.items()}


MNDO = _table({
    1: (-11.906276, 0.0, -6.989064, 0.0, 1.331967, 0.0, 2.544134, 12.848, 0.0, 0.0, 0.0, 0.0),
    6: (-52.279745, -39.205558, -18.985044, -7.934122, 1.787537, 1.787537, 2.546380,
        12.23, 11.47, 11.08, 9.84, 2.43),
    7: (-71.932122, -57.172319, -20.495758, -20.495758, 2.255614, 2.255614, 2.861342,
        13.59, 12.66, 12.98, 11.59, 3.14),
    8: (-99.644309, -77.797472, -32.688082, -32.688082, 2.699905, 2.699905, 3.160604,
        15.42, 14.48, 14.52, 12.98, 3.94),
    16: (-72.242281, -56.973207, -10.761670, -10.108433, 2.312962, 2.009146, 2.478026,
         12.88, 11.26, 9.90, 8.83, 2.26),
    17: (-100.227166, -77.378667, -14.262320, -14.262320, 3.784645, 2.036263, 2.542201,
         15.03, 13.16, 11.30, 9.97, 2.42),
})

AM1 = _table({
    1: (-11.396427, 0.0, -6.173787, 0.0, 1.188078, 0.0, 2.882324, 12.848, 0.0, 0.0, 0.0, 0.0,
        (0.122796, 5.0, 1.2), (0.005090, 5.0, 1.8), (-0.018336, 2.0, 2.1)),
    6: (-52.028658, -39.614239, -15.715783, -7.719283, 1.808665, 1.685116, 2.648274,
        12.23, 11.47, 11.08, 9.84, 2.43,
        (0.011355, 5.0, 1.6), (0.045924, 5.0, 1.85), (-0.020061, 5.0, 2.05),
        (-0.001260, 5.0, 2.65)),
    7: (-71.86, -57.167581, -20.29911, -18.238666, 2.31541, 2.15794, 2.947286,
        13.59, 12.66, 12.98, 11.59, 3.14,
        (0.025251, 5.0, 1.5), (0.028953, 5.0, 2.1), (-0.005806, 2.0, 2.4)),
    8: (-97.83, -78.26238, -29.272773, -29.272773, 3.108032, 2.524039, 4.455371,
        15.42, 14.48, 14.52, 12.98, 3.94,
        (0.280962, 5.0, 0.847918), (0.081430, 7.0, 1.445071)),
    16: (-56.694056, -48.717049, -3.920566, -7.905278, 2.366515, 1.667263, 2.461648,
         11.786329, 8.663127, 10.039308, 7.781688, 2.532137,
         (-0.509195, 4.593691, 0.770665), (-0.011863, 5.865731, 1.503313),
         (0.012334, 13.557336, 2.009173)),
    17: (-111.613948, -76.640107, -24.59467, -14.637216, 3.631376, 2.076799, 2.919368,
         15.03, 13.16, 11.30, 9.97, 2.42,
         (0.094243, 4.0, 1.3), (0.027168, 4.0, 2.1)),
})

PM3 = _table({
    1: (-13.073321, 0.0, -5.626512, 0.0, 0.967807, 0.0, 3.356386, 14.794208, 0.0, 0.0, 0.0,
        0.0, (1.12875, 5.096282, 1.537465), (-1.060329, 6.003788, 1.570189)),
    6: (-47.27032, -36.266918, -11.910015, -9.802755, 1.565085, 1.842345, 2.707807,
        11.200708, 10.265027, 10.796292, 9.042566, 2.29098,
        (0.050107, 6.003165, 1.642214), (0.050733, 6.002979, 0.892488)),
    7: (-49.335672, -47.509736, -14.062521, -20.043848, 2.028094, 2.313728, 2.830545,
        11.904787, 7.348565, 11.754672, 10.807277, 1.136713,
        (1.501674, 5.901148, 1.71074), (-1.505772, 6.004658, 1.716149)),
    8: (-86.993002, -71.87958, -45.202651, -24.752515, 3.796544, 2.389402, 3.217102,
        15.75576, 10.62116, 13.654016, 12.406095, 0.593883,
        (-1.131128, 6.002477, 1.607311), (1.137891, 5.950512, 1.598395)),
    16: (-49.895371, -44.392583, -8.827465, -8.091415, 1.891185, 1.658972, 2.269706,
         8.964667, 6.785936, 9.968164, 7.970247, 4.041836,
         (-0.399191, 6.000669, 0.962123), (-0.054899, 6.001845, 1.579944)),
    17: (-100.626747, -53.614396, -27.52856, -11.593922, 2.24621, 2.15101, 2.517296,
         16.013601, 8.048115, 7.522215, 7.504154, 3.481153,
         (-0.171591, 6.000802, 1.087502), (-0.013458, 1.966618, 2.292891)),
})

METHODS = {"mndo": MNDO, "am1": AM1, "pm3": PM3}


def method_table(method):
    try:
        return METHODS[method.lower()]
    except KeyError:
        raise ValueError(f"unknown semi-empirical method {method!r}; choose one of "
                         f"{', '.join(sorted(METHODS))}") from None


def _secant(f, target, x1):
    """Five secant steps on f(x) = target from x1, x1 + 0.04: the fixed procedure with which
    MOPAC (and sqm, which copies it) derive the additive terms. The methods were
    parameterised with these values, which for the quadrupole term differ from the exact
    root by up to 1 % (and by 0.01–0.08 kcal/mol in heats of formation), so they are the
    ones used here."""
    x2 = x1 + 0.04
    for _ in range(5):
        f1, f2 = f(x1), f(x2)
        if abs(f2 - f1) < 1e-25:
            break
        x1, x2 = x2, x1 + (x2 - x1) * (target - f1) / (f2 - f1)
    return x2


def _additive_dipole(hsp, d1):
    """ρ1 (bohr): the two ±½ dipoles at ±D1 give Hsp at zero distance."""
    def f(a):          # a = 1/(2ρ1), hartree
        return 0.5 * a - 0.5 / math.sqrt(4.0 * d1 * d1 + 1.0 / (a * a))

    guess = (hsp / (EV_PER_HARTREE * d1 * d1)) ** (1.0 / 3.0)
    return 0.5 / _secant(f, hsp / EV_PER_HARTREE, guess)


def _additive_quadrupole(hpp, d2):
    """ρ2 (bohr): two linear quadrupoles give Hpp = (Gpp − Gp2)/2 at zero distance."""
    def f(a):
        return (0.25 * a - 0.5 / math.sqrt(4.0 * d2 * d2 + 1.0 / (a * a))
                + 0.25 / math.sqrt(8.0 * d2 * d2 + 1.0 / (a * a)))

    guess = (16.0 * hpp / (EV_PER_HARTREE * 48.0 * d2 ** 4)) ** 0.2
    return 0.5 / _secant(f, hpp / EV_PER_HARTREE, guess)


def eisol(z, p):
    """Energy (eV) of the isolated atom in its valence configuration (s^ns p^np)."""
    ns, npe = VALENCE[z]
    if npe == 0:
        return ns * p["uss"] + (ns * (ns - 1) // 2) * p["gss"]
    low = min(npe, 6 - npe)
    gssc = max(ns - 1, 0)
    gspc = ns * npe
    gp2c = (npe * (npe - 1)) // 2 + 0.5 * ((low * (low - 1)) // 2)
    gppc = -0.5 * ((low * (low - 1)) // 2)
    hspc = -0.5 * npe * ns
    return (p["uss"] * ns + p["upp"] * npe + p["gss"] * gssc + p["gsp"] * gspc
            + p["gp2"] * gp2c + p["gpp"] * gppc + p["hsp"] * hspc)


def derived(z, p):
    """D1, D2, ρ0, ρ1, ρ2 (bohr) and EISOL (eV) of element ``z`` with parameters ``p``."""
    n = PRINCIPAL_N[z]
    rho0 = 0.5 * EV_PER_HARTREE / p["gss"]
    if z == 1:
        return {"D1": 0.0, "D2": 0.0, "rho0": rho0, "rho1": rho0, "rho2": rho0,
                "eisol": eisol(z, p)}
    zs, zp = p["zs"], p["zp"]
    d1 = ((2 * n + 1) * (4.0 * zs * zp) ** (n + 0.5) / (zs + zp) ** (2 * n + 2)
          / math.sqrt(3.0))
    d2 = math.sqrt((4 * n * n + 6 * n + 2) / 20.0) / zp
    # as MOPAC and sqm: Hpp is held ≥ 0.1 eV for the quadrupole additive term (matters
    # for PM3 Cl, whose Gpp − Gp2 is 0.018 eV); the Fock matrix uses the true Hpp
    hpp = max(0.5 * (p["gpp"] - p["gp2"]), 0.1)
    return {"D1": d1, "D2": d2, "rho0": rho0, "rho1": _additive_dipole(p["hsp"], d1),
            "rho2": _additive_quadrupole(hpp, d2), "eisol": eisol(z, p)}


def element_arrays(method, numbers):
    """Per-atom parameter arrays for the numba kernels.

    Returns a dict of float64 arrays of length n_atoms (``uss``, ``upp``, ``betas``,
    ``betap``, ``zs``, ``zp``, ``alpha``, ``gss`` … ``hsp``, ``D1``, ``D2``, ``rho0``,
    ``rho1``, ``rho2``, ``eisol``, ``core`` (core charge), ``n`` (principal quantum
    number)), ``norb`` (1 or 4) and ``gauss`` (n_atoms, 4, 3) padded with K = 0.
    """
    table = method_table(method)
    numbers = np.asarray(numbers, dtype=np.int64)
    unknown = sorted({int(z) for z in numbers if int(z) not in table})
    if unknown:
        raise ValueError(f"{method.upper()} here has parameters for "
                         f"{', '.join(SYMBOLS[z] for z in sorted(table))}; no parameters "
                         f"for atomic number(s) {unknown}")
    out = {k: np.array([table[int(z)][k] for z in numbers], dtype=np.float64) for k in _KEYS}
    der = [derived(int(z), table[int(z)]) for z in numbers]
    for k in ("D1", "D2", "rho0", "rho1", "rho2", "eisol"):
        out[k] = np.array([d[k] for d in der], dtype=np.float64)
    out["core"] = np.array([CORE_CHARGE[int(z)] for z in numbers], dtype=np.float64)
    out["n"] = np.array([PRINCIPAL_N[int(z)] for z in numbers], dtype=np.int64)
    out["norb"] = np.array([1 if int(z) == 1 else 4 for z in numbers], dtype=np.int64)
    gauss = np.zeros((len(numbers), 4, 3))
    for i, z in enumerate(numbers):
        for k, g in enumerate(table[int(z)]["gauss"]):
            gauss[i, k] = g
    out["gauss"] = gauss
    out["eheat"] = np.array([EHEAT[int(z)] for z in numbers], dtype=np.float64)
    out["numbers"] = numbers
    return out
