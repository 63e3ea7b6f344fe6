"""Units and physical constants.

mdzoom works in GROMACS/OpenMM units everywhere: nm, ps, kJ/mol, e, amu, K, bar.
The names below are *multipliers* (ASE style): a quantity written ``2 * fs`` is in ps,
``3.5 * angstrom`` is in nm, ``1 * kcal`` is in kJ. No Quantity wrappers.

>>> from mdzoom.core.units import fs, angstrom
>>> 2 * fs
0.002
"""

__all__ = [
    "nm", "angstrom", "bohr", "ps", "fs", "ns", "kJ", "kcal", "eV", "hartree",
    "amu", "K", "bar", "atm", "e",
    "KB", "BOLTZMANN", "COULOMB", "ONE_4PI_EPS0", "AVOGADRO", "PRESSURE_CONVERSION",
]

# length [nm]
nm = 1.0
angstrom = 0.1
bohr = 0.052917721090

# time [ps]
ps = 1.0
fs = 1.0e-3
ns = 1.0e3

# energy [kJ/mol]
kJ = 1.0
kcal = 4.184
eV = 96.48533212
hartree = 2625.4996394799

# mass [amu], temperature [K], charge [e], pressure [bar]
amu = 1.0
K = 1.0
e = 1.0
bar = 1.0
atm = 1.01325

#: Boltzmann constant [kJ mol⁻¹ K⁻¹] (GROMACS value)
KB = 0.0083144626
BOLTZMANN = KB
#: Coulomb constant 1/(4π ε0) [kJ mol⁻¹ nm e⁻²] (GROMACS value)
COULOMB = 138.935458
ONE_4PI_EPS0 = COULOMB
AVOGADRO = 6.02214076e23
#: 1 kJ mol⁻¹ nm⁻³ expressed in bar (GROMACS PRESFAC)
PRESSURE_CONVERSION = 16.6054
