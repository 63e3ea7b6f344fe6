"""The :class:`Frame` container shared by all structure readers and writers.

Units: nm for positions and box, nm/ps for velocities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Frame", "guess_element"]

# All element symbols (Z = 1..118).
_SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co "
    "Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb "
    "Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os "
    "Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm "
    "Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og"
).split()
ELEMENT_SYMBOLS = frozenset(_SYMBOLS)

# Whole atom names (upper case) that conventionally denote ions.  "CA" is
# deliberately absent: in biomolecular files it is an alpha carbon.
_ION_NAMES = {
    "NA": "Na", "NA+": "Na", "SOD": "Na", "CL": "Cl", "CL-": "Cl",
    "CLA": "Cl", "K": "K", "K+": "K", "POT": "K", "CAL": "Ca", "MG": "Mg",
    "ZN": "Zn", "FE": "Fe", "CU": "Cu", "MN": "Mn", "LI": "Li", "BR": "Br",
    "CS": "Cs", "RB": "Rb",
}


def guess_element(name: str) -> str:
    """Guess the element symbol from an atom name.

    Leading digits are ignored (``"1HB"`` -> ``"H"``).  A mixed-case
    two-letter symbol is kept (``"Cl1"`` -> ``"Cl"``), well-known ion names
    are mapped (``"NA"``, ``"CLA"`` -> ``"Na"``, ``"Cl"``), anything else
    gives its first letter (``"CA"`` -> ``"C"``, ``"OW"`` -> ``"O"``).
    Returns ``"X"`` when the name contains no letter.
    """
    stripped = name.strip()
    if stripped.upper() in _ION_NAMES:
        return _ION_NAMES[stripped.upper()]
    letters = stripped.lstrip("0123456789")
    end = 0
    while end < len(letters) and letters[end].isalpha():
        end += 1
    letters = letters[:end]
    if not letters:
        return "X"
    if (len(letters) >= 2 and letters[0].isupper() and letters[1].islower()
            and letters[:2] in ELEMENT_SYMBOLS):
        return letters[:2]
    return letters[0].upper()


def unwrap_resids(raw, modulus: int) -> np.ndarray:
    """Undo the modulo wrapping of residue numbers in fixed-column formats.

    GROMACS writes ``resid % 100000`` in .gro files (PDB: ``% 10000``).  A
    wrap is recognised where the raw number jumps from ``modulus - 1`` to
    ``0``; every following resid is shifted by ``modulus``.

    Parameters
    ----------
    raw : array_like of int, shape (N,)
    modulus : int

    Returns
    -------
    numpy.ndarray of int64, shape (N,)
    """
    raw = np.asarray(raw, dtype=np.int64)
    if raw.size < 2:
        return raw.copy()
    wraps = (raw[1:] == 0) & (raw[:-1] == modulus - 1)
    offset = np.concatenate(([0], np.cumsum(wraps, dtype=np.int64)))
    return raw + modulus * offset


@dataclass
class Frame:
    """One configuration of a system, as stored in a structure file.

    Attributes
    ----------
    positions : numpy.ndarray, shape (N, 3), float64
        Coordinates in nm.
    box : numpy.ndarray, shape (3, 3), float64, or None
        Periodic cell in nm as row vectors ``(a, b, c)`` in the GROMACS
        convention (lower triangular for triclinic cells); None when the
        system is not periodic.  A length-3 array is accepted and turned
        into a diagonal (orthorhombic) box.
    names : list of str, length N
        Atom names.
    resnames : list of str, length N
        Residue name of each atom.
    resids : numpy.ndarray, shape (N,), int64
        Residue number of each atom.
    elements : list of str, length N, or None
        Element symbols, when the file provides them.
    velocities : numpy.ndarray, shape (N, 3), float64, or None
        Velocities in nm/ps.
    title : str
        Free-text title / comment line.
    """

    positions: np.ndarray
    box: np.ndarray | None
    names: list[str]
    resnames: list[str]
    resids: np.ndarray
    elements: list[str] | None = None
    velocities: np.ndarray | None = None
    title: str = ""

    def __post_init__(self):
        self.positions = np.array(self.positions, dtype=np.float64)
        if self.positions.ndim != 2 or self.positions.shape[1] != 3:
            raise ValueError(
                f"positions must have shape (N, 3), got {self.positions.shape}")
        n = self.positions.shape[0]
        if self.box is not None:
            box = np.array(self.box, dtype=np.float64)
            if box.shape == (3,):
                box = np.diag(box)
            if box.shape != (3, 3):
                raise ValueError(
                    f"box must have shape (3, 3) or (3,), got {box.shape}")
            self.box = box
        self.names = [str(s) for s in self.names]
        self.resnames = [str(s) for s in self.resnames]
        self.resids = np.array(self.resids, dtype=np.int64).reshape(-1)
        if self.elements is not None:
            self.elements = [str(s) for s in self.elements]
        for label, seq in (("names", self.names), ("resnames", self.resnames),
                           ("resids", self.resids),
                           ("elements", self.elements)):
            if seq is not None and len(seq) != n:
                raise ValueError(
                    f"{label} has length {len(seq)}, expected {n} (one per atom)")
        if self.velocities is not None:
            self.velocities = np.array(self.velocities, dtype=np.float64)
            if self.velocities.shape != (n, 3):
                raise ValueError(
                    f"velocities must have shape ({n}, 3), "
                    f"got {self.velocities.shape}")

    @property
    def n_particles(self) -> int:
        """Number of particles N."""
        return int(self.positions.shape[0])
