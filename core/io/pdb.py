"""PDB structure files (fixed columns, Angstrom in the file, nm in memory).

Only what a simulation needs is read: ATOM/HETATM records of the first
MODEL, CRYST1 (the cell) and TITLE.  Columns used (1-based)::

    ATOM/HETATM: 13-16 name, 18-21 resname, 23-26 resSeq,
                 31-38 x, 39-46 y, 47-54 z, 77-78 element
    CRYST1:      7-15 a, 16-24 b, 25-33 c, 34-40 alpha, 41-47 beta,
                 48-54 gamma
"""

from __future__ import annotations

import os

import numpy as np

from .boxes import box_from_lengths_angles, lengths_angles_from_box
from .errors import FileFormatError
from .frame import ELEMENT_SYMBOLS, Frame, guess_element, unwrap_resids

__all__ = ["read_pdb", "write_pdb"]

_ANGSTROM = 0.1  # nm
_COORD_FIELDS = (("x", 30, 38), ("y", 38, 46), ("z", 46, 54))
_CRYST1_FIELDS = (("a", 6, 15), ("b", 15, 24), ("c", 24, 33),
                  ("alpha", 33, 40), ("beta", 40, 47), ("gamma", 47, 54))


def _number(path, lineno, line, label, start, end, kind=float):
    text = line[start:end]
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise FileFormatError(
            path, lineno,
            f"expected {what} for {label} in columns {start + 1}-{end}, "
            f"got {text!r}") from None


def _element(line: str) -> str:
    """Element from columns 77-78, else guessed from the name field."""
    symbol = line[76:78].strip()
    if symbol:
        symbol = symbol.capitalize()
        if symbol in ELEMENT_SYMBOLS:
            return symbol
    field = line[12:16]
    name = field.strip()
    # PDB convention: a two-letter element starts in column 13 ("FE  "),
    # a one-letter one in column 14 (" CA " is an alpha carbon).
    two = name[:2].capitalize()
    if (field[:1].isalpha() and len(name) <= 2 and two in ELEMENT_SYMBOLS
            and len(two) == 2):
        return two
    return guess_element(name)


def _parse_cryst1(path, lineno, line):
    if len(line.rstrip()) < 54:
        raise FileFormatError(
            path, lineno,
            "expected CRYST1 with a, b, c, alpha, beta, gamma in columns "
            f"7-54, got {line!r}")
    a, b, c, alpha, beta, gamma = (
        _number(path, lineno, line, label, s, e)
        for label, s, e in _CRYST1_FIELDS)
    # Zero lengths or the 1 A dummy cell written by some tools mean "no box".
    if min(a, b, c) <= 0.0 or (a == b == c == 1.0):
        return None
    try:
        return box_from_lengths_angles(a * _ANGSTROM, b * _ANGSTROM,
                                       c * _ANGSTROM, alpha, beta, gamma)
    except ValueError as err:
        raise FileFormatError(path, lineno, f"expected a valid cell: {err}") from None


def read_pdb(path) -> Frame:
    """Read the first model of a PDB file.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Frame
        Positions (N, 3) in nm, box (3, 3) in nm from CRYST1 (GROMACS
        convention, None when absent), elements from columns 77-78 or
        guessed from the atom name, velocities None.  Residue numbers
        wrapped at 10000 are unwrapped.

    Raises
    ------
    FileFormatError
        For short or unparsable ATOM/HETATM/CRYST1 records or a file
        without atoms; the message gives the path and line number.
    """
    names, resnames, resids, elements, coords = [], [], [], [], []
    titles = []
    box = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            record = line[:6].strip().upper()
            if record in ("ATOM", "HETATM"):
                if len(line.rstrip()) < 54:
                    raise FileFormatError(
                        path, lineno,
                        f"expected {record} record with x, y, z in columns "
                        f"31-54, got {line!r}")
                names.append(line[12:16].strip())
                resnames.append(line[17:21].strip())
                resids.append(_number(path, lineno, line, "resSeq", 22, 26, int))
                coords.append([_number(path, lineno, line, label, s, e)
                               for label, s, e in _COORD_FIELDS])
                elements.append(_element(line))
            elif record == "CRYST1":
                box = _parse_cryst1(path, lineno, line)
            elif record == "TITLE":
                titles.append(line[10:].strip())
            elif record == "MODEL" and coords:
                break
            elif record in ("ENDMDL", "END") and coords:
                break
    if not coords:
        raise FileFormatError(path, None,
                              "expected at least one ATOM or HETATM record")
    return Frame(positions=np.array(coords) * _ANGSTROM, box=box, names=names,
                 resnames=resnames, resids=unwrap_resids(resids, 10000),
                 elements=elements, velocities=None, title=" ".join(titles))


def _name_field(name: str, element: str) -> str:
    """Atom name aligned in columns 13-16 following the PDB convention."""
    if len(name) >= 4 or len(element) == 2:
        return "%-4.4s" % name
    return " %-3s" % name


def write_pdb(path, frame: Frame) -> None:
    """Write a frame as a PDB file.

    Writes a TITLE (when ``frame.title`` is set), CRYST1 from ``frame.box``
    (lengths in Angstrom ``%9.3f``, angles ``%7.2f``; omitted when the box is
    None), one ATOM record per atom (coordinates in Angstrom ``%8.3f``,
    serial modulo 100000, resSeq modulo 10000, element in columns 77-78)
    and END.

    Raises
    ------
    ValueError
        When a coordinate does not fit the 8-character field.
    """
    pos = frame.positions / _ANGSTROM
    if pos.size and (pos.max() >= 9999.9995 or pos.min() <= -999.9995):
        raise ValueError(
            f"{os.fspath(path)}: coordinates outside [-99.9999, 999.9999] nm "
            "do not fit the PDB %8.3f format")
    out = []
    if frame.title:
        out.append("TITLE     " + frame.title.replace("\n", " "))
    if frame.box is not None:
        a, b, c, alpha, beta, gamma = lengths_angles_from_box(frame.box)
        out.append("CRYST1%9.3f%9.3f%9.3f%7.2f%7.2f%7.2f P 1           1" % (
            a / _ANGSTROM, b / _ANGSTROM, c / _ANGSTROM, alpha, beta, gamma))
    elements = frame.elements
    if elements is None:
        elements = [guess_element(name) for name in frame.names]
    for i in range(frame.n_particles):
        element = elements[i]
        x, y, z = pos[i]
        out.append(
            "ATOM  %5d %s %-4.4s %4d    %8.3f%8.3f%8.3f%6.2f%6.2f          "
            "%2.2s  " % ((i + 1) % 100000, _name_field(frame.names[i], element),
                         frame.resnames[i], frame.resids[i] % 10000, x, y, z,
                         1.0, 0.0, element.upper()))
    out.append("END")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
