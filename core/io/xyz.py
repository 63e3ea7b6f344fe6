"""XYZ files (plain and extended XYZ), Angstrom in the file, nm in memory.

Each frame is::

    <number of atoms>
    <comment line>
    <element> <x> <y> <z>      (one line per atom, Angstrom)

An extended-XYZ comment line may carry ``Lattice="ax ay az bx by bz cx cy
cz"`` (cell row vectors in Angstrom) and ``Properties=species:S:1:pos:R:3``
describing the atom columns; both are honoured on reading and written when
the frame has a box.
"""

from __future__ import annotations

import re

import numpy as np

from .boxes import to_lower_triangular
from .errors import FileFormatError
from .frame import ELEMENT_SYMBOLS, Frame, guess_element

__all__ = ["read_xyz", "read_xyz_frames", "write_xyz"]

_ANGSTROM = 0.1  # nm
_LATTICE = re.compile(r'Lattice\s*=\s*"([^"]*)"', re.IGNORECASE)
_PROPERTIES = re.compile(r"Properties\s*=\s*(\S+)", re.IGNORECASE)
_COMMENT = re.compile(r'(?:^|\s)comment\s*=\s*"([^"]*)"', re.IGNORECASE)


def _columns(path, lineno, comment):
    """Column indices of the species and of x from ``Properties=``."""
    match = _PROPERTIES.search(comment)
    if match is None:
        return 0, 1
    parts = match.group(1).split(":")
    if len(parts) % 3:
        raise FileFormatError(
            path, lineno,
            f"expected Properties=name:type:ncols[:...], got {match.group(1)!r}")
    species = pos = None
    column = 0
    for i in range(0, len(parts), 3):
        name, ncols = parts[i].lower(), parts[i + 2]
        if name == "species":
            species = column
        elif name == "pos":
            pos = column
        column += int(ncols) if ncols.isdigit() else 1
    if species is None or pos is None:
        raise FileFormatError(
            path, lineno,
            f"expected 'species' and 'pos' in Properties, got {match.group(1)!r}")
    return species, pos


def _parse_lattice(path, lineno, comment):
    match = _LATTICE.search(comment)
    if match is None:
        return None
    try:
        values = [float(v) for v in match.group(1).split()]
    except ValueError:
        values = []
    if len(values) != 9:
        raise FileFormatError(
            path, lineno,
            f"expected Lattice with 9 numbers, got {match.group(1)!r}")
    return np.array(values).reshape(3, 3) * _ANGSTROM


def _read_frame(path, lines, lineno):
    """Parse one frame starting at ``lineno`` (1-based); None at EOF."""
    count_line = next(lines, None)
    while count_line is not None and not count_line.strip():
        lineno += 1                      # tolerate blank lines between frames
        count_line = next(lines, None)
    if count_line is None:
        return None, lineno
    try:
        n_atoms = int(count_line.split()[0])
    except ValueError:
        n_atoms = -1
    if n_atoms < 0:
        raise FileFormatError(
            path, lineno, f"expected a non-negative atom count, got {count_line!r}")
    comment = next(lines, None)
    if comment is None:
        raise FileFormatError(path, lineno + 1, "expected a comment line, got end of file")
    species_col, pos_col = _columns(path, lineno + 1, comment)
    box = _parse_lattice(path, lineno + 1, comment)
    n_cols = max(species_col, pos_col + 2) + 1
    names = []
    positions = np.empty((n_atoms, 3))
    for i in range(n_atoms):
        atom_lineno = lineno + 2 + i
        line = next(lines, None)
        if line is None:
            raise FileFormatError(
                path, atom_lineno,
                f"expected {n_atoms} atom lines, got end of file after {i}")
        tokens = line.split()
        if len(tokens) < n_cols:
            raise FileFormatError(
                path, atom_lineno,
                f"expected {n_cols} columns (element, x, y, z), got {line!r}")
        names.append(tokens[species_col])
        try:
            positions[i] = [float(t) for t in tokens[pos_col:pos_col + 3]]
        except ValueError:
            raise FileFormatError(
                path, atom_lineno,
                f"expected numbers for x, y, z, got {line!r}") from None
    positions *= _ANGSTROM
    if box is not None and np.any(np.triu(box, 1)):
        try:
            box, rotation = to_lower_triangular(box)
        except ValueError as err:
            raise FileFormatError(path, lineno + 1, f"expected a valid Lattice: {err}") from None
        positions = positions @ rotation
    title = comment.strip()
    match = _COMMENT.search(comment)
    if box is not None:
        title = match.group(1) if match else ""
    frame = Frame(positions=positions, box=box, names=names,
                  resnames=["UNK"] * n_atoms, resids=np.ones(n_atoms, np.int64),
                  elements=[n if n in ELEMENT_SYMBOLS else guess_element(n)
                            for n in names],
                  velocities=None, title=title)
    return frame, lineno + 2 + n_atoms


def _iter_frames(path):
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = (raw.rstrip("\r\n") for raw in fh)
        lineno = 1
        while True:
            frame, lineno = _read_frame(path, lines, lineno)
            if frame is None:
                return
            yield frame


def read_xyz(path) -> Frame:
    """Read the first frame of an XYZ file.

    Returns
    -------
    Frame
        Positions (N, 3) in nm; ``names`` and ``elements`` are the element
        symbols of the file, resnames ``"UNK"``, resids 1, velocities None.
        ``box`` (3, 3) in nm comes from an extended-XYZ ``Lattice="..."``;
        a lattice that is not lower triangular is rotated, together with
        the positions, into the GROMACS convention.  ``title`` is the
        comment line (for extended XYZ the value of ``comment="..."``).

    Raises
    ------
    FileFormatError
        For a bad atom count, missing or malformed atom lines, or a bad
        ``Lattice``; the message gives the path and line number.
    """
    frame = next(_iter_frames(path), None)
    if frame is None:
        raise FileFormatError(path, 1, "expected an atom count, got an empty file")
    return frame


def read_xyz_frames(path) -> list[Frame]:
    """Read every frame of a (multi-frame) XYZ file; see :func:`read_xyz`."""
    frames = list(_iter_frames(path))
    if not frames:
        raise FileFormatError(path, 1, "expected an atom count, got an empty file")
    return frames


def _comment_line(frame: Frame, comment: str) -> str:
    text = (comment or frame.title).replace("\n", " ").replace("\r", " ")
    if frame.box is None:
        return text
    lattice = " ".join("%.8f" % v for v in (frame.box / _ANGSTROM).ravel())
    line = f'Lattice="{lattice}" Properties=species:S:1:pos:R:3 pbc="T T T"'
    if text:
        line += f' comment="{text.replace(chr(34), chr(39))}"'
    return line


def write_xyz(path, frame: Frame, comment: str = "", *, append: bool = False) -> None:
    """Write a frame to an XYZ file (coordinates in Angstrom, ``%.8f``).

    Parameters
    ----------
    path : str or os.PathLike
    frame : Frame
        Atoms are labelled with ``frame.elements`` when available, else with
        elements guessed from ``frame.names``.
    comment : str
        Comment line; defaults to ``frame.title``.  With a box the line is
        extended XYZ (``Lattice=... Properties=... comment="..."``).
    append : bool
        Append the frame to an existing file (multi-frame XYZ) instead of
        overwriting it.
    """
    symbols = frame.elements
    if symbols is None:
        symbols = [guess_element(name) for name in frame.names]
    out = ["%d" % frame.n_particles, _comment_line(frame, comment)]
    pos = frame.positions / _ANGSTROM
    for symbol, (x, y, z) in zip(symbols, pos):
        out.append("%-3s %16.8f %16.8f %16.8f" % (symbol, x, y, z))
    with open(path, "a" if append else "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
