"""GROMACS .gro structure files (fixed columns, nm and nm/ps).

Layout of an atom line (1-based columns)::

    1-5 resid | 6-10 resname | 11-15 atom name | 16-20 atom index |
    x y z (width w each) | optional vx vy vz (width w each)

``w`` is 8 for the usual ``%8.3f`` precision; like GROMACS, the reader
derives it from the distance between the decimal points of the first atom
line, so higher-precision files are read too.  The last line holds the box:
3 numbers (orthorhombic) or 9 numbers in the order
``v1(x) v2(y) v3(z) v1(y) v1(z) v2(x) v2(z) v3(x) v3(y)``.
"""

from __future__ import annotations

import itertools
import os

import numpy as np

from .boxes import is_orthorhombic
from .errors import FileFormatError
from .frame import Frame, unwrap_resids

__all__ = ["read_gro", "write_gro"]

_COORD_START = 20
_ATOM_COLUMNS = "6 columns (resid+resname, name, index, x, y, z)"
_AXES = "xyz"
# (row, column) of the 9 box numbers in file order.
_BOX_ORDER = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2),
              (1, 0), (1, 2), (2, 0), (2, 1))
_WRAP = 100000


def _field_width(path, lineno: int, line: str) -> int:
    """Coordinate field width from the spacing of the decimal points."""
    dots = []
    start = _COORD_START
    for _ in range(3):
        pos = line.find(".", start)
        if pos < 0:
            raise FileFormatError(
                path, lineno,
                f"expected {_ATOM_COLUMNS} with decimal points in x, y and z, "
                f"got {line!r}")
        dots.append(pos)
        start = pos + 1
    width = dots[1] - dots[0]
    if dots[2] - dots[1] != width or width < 2:
        raise FileFormatError(
            path, lineno,
            "expected equally spaced decimal points in x, y and z "
            f"(fixed-width fields), got {line!r}")
    return width


def _parse_float(path, lineno, line, start, width, label) -> float:
    text = line[start:start + width]
    try:
        return float(text)
    except ValueError:
        raise FileFormatError(
            path, lineno,
            f"expected a number for {label} in columns {start + 1}-"
            f"{start + width}, got {text!r}") from None


def _parse_atoms_fast(atom_lines, width, has_velocities):
    """Resids (N,) and numbers (N, 3 or 6); ValueError on any bad line."""
    n_fields = 6 if has_velocities else 3
    need = _COORD_START + n_fields * width
    if any(len(line) < need for line in atom_lines):
        raise ValueError("short atom line")
    starts = range(_COORD_START, need, width)
    resids = np.array([int(line[0:5]) for line in atom_lines], dtype=np.int64)
    values = np.array([float(line[s:s + width])
                       for line in atom_lines for s in starts], dtype=np.float64)
    return resids, values.reshape(len(atom_lines), n_fields)


def _check_atoms(path, atom_lines, width, has_velocities):
    """Raise FileFormatError for the first malformed atom line."""
    n_fields = 6 if has_velocities else 3
    what = _ATOM_COLUMNS if not has_velocities else (
        "9 columns (resid+resname, name, index, x, y, z, vx, vy, vz)")
    labels = [*_AXES, *("v" + a for a in _AXES)][:n_fields]
    for i, line in enumerate(atom_lines):
        lineno = 3 + i
        if len(line) < _COORD_START + n_fields * width:
            raise FileFormatError(path, lineno, f"expected {what}, got {line!r}")
        try:
            int(line[0:5])
        except ValueError:
            raise FileFormatError(
                path, lineno,
                f"expected an integer resid in columns 1-5, got {line[0:5]!r}"
            ) from None
        for k, label in enumerate(labels):
            _parse_float(path, lineno, line, _COORD_START + k * width, width, label)


def _parse_box(path, lineno: int, line: str | None) -> np.ndarray | None:
    expected = ("expected box line with 3 or 9 numbers (v1(x) v2(y) v3(z) "
                "[v1(y) v1(z) v2(x) v2(z) v3(x) v3(y)])")
    if line is None:
        raise FileFormatError(path, lineno, f"{expected}, got end of file")
    try:
        values = [float(tok) for tok in line.split()]
    except ValueError:
        values = []
    if len(values) not in (3, 9):
        raise FileFormatError(path, lineno, f"{expected}, got {line!r}")
    box = np.zeros((3, 3))
    for (row, col), value in zip(_BOX_ORDER, values):
        box[row, col] = value
    if not np.any(box):
        return None
    return box


def read_gro(path) -> Frame:
    """Read the first frame of a GROMACS .gro file.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Frame
        Positions (N, 3) in nm, velocities (N, 3) in nm/ps when present,
        box (3, 3) in nm (None for an all-zero box line), ``elements`` None.
        Residue numbers wrapped at 100000 are unwrapped (see
        :func:`~mdzoom.core.io.frame.unwrap_resids`).

    Raises
    ------
    FileFormatError
        For a bad atom count, too few atom lines, an unparsable number or a
        bad box line; the message gives the path and line number.
    """
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = (raw.rstrip("\r\n") for raw in fh)
        title = next(lines, None)
        if title is None:
            raise FileFormatError(path, 1, "expected a title line, got an empty file")
        count_line = next(lines, None)
        try:
            n_atoms = int(count_line.split()[0])
        except (AttributeError, IndexError, ValueError):
            n_atoms = -1
        if n_atoms < 0:
            got = "end of file" if count_line is None else repr(count_line)
            raise FileFormatError(
                path, 2, f"expected a non-negative atom count, got {got}")
        atom_lines = list(itertools.islice(lines, n_atoms))
        if len(atom_lines) < n_atoms:
            raise FileFormatError(
                path, 3 + len(atom_lines),
                f"expected {n_atoms} atom lines, got end of file after "
                f"{len(atom_lines)}")
        box_line = next(lines, None)

    width, has_velocities = 8, False
    if atom_lines:
        width = _field_width(path, 3, atom_lines[0])
        has_velocities = bool(atom_lines[0][_COORD_START + 3 * width:].strip())
    try:
        resids, values = _parse_atoms_fast(atom_lines, width, has_velocities)
    except ValueError:
        # Slow path: find the offending line and raise a precise error.
        _check_atoms(path, atom_lines, width, has_velocities)
        raise
    names = [line[10:15].strip() for line in atom_lines]
    resnames = [line[5:10].strip() for line in atom_lines]
    positions = values[:, :3]
    velocities = values[:, 3:] if has_velocities else None
    box = _parse_box(path, 3 + n_atoms, box_line)
    return Frame(positions=positions, box=box, names=names, resnames=resnames,
                 resids=unwrap_resids(resids, _WRAP), elements=None,
                 velocities=velocities, title=title)


def _box_line(box, precision=3) -> str:
    fmt = "%10.5f" if precision == 3 else f" %{precision + 6}.{max(5, precision)}f"
    if box is None:
        return (fmt * 3) % (0.0, 0.0, 0.0)
    box = np.asarray(box, dtype=np.float64)
    order = _BOX_ORDER[:3] if is_orthorhombic(box) else _BOX_ORDER
    return "".join(fmt % box[r, c] for r, c in order)


def write_gro(path, frame: Frame, precision: int = 3) -> None:
    """Write a frame as a GROMACS .gro file.

    Positions (nm) use ``%8.3f``, velocities (nm/ps, when
    ``frame.velocities`` is not None) ``%8.4f``.  ``precision`` (default 3)
    is the number of decimals of the positions, as ``gmx editconf -ndec``:
    fields ``%{p+5}.{p}f`` for positions and ``%{p+5}.{p+1}f`` for velocities
    (GROMACS and :func:`read_gro` find the width from the decimal points), the
    box with max(5, p) decimals.  Residue numbers and atom
    indices are written modulo 100000, names and resnames are cut to 5
    characters, as GROMACS does.  The box line has 3 numbers for an
    orthorhombic box and 9 otherwise (all zeros when ``frame.box`` is None).

    Raises
    ------
    ValueError
        When a coordinate or velocity does not fit its 8-character field.
    """
    pos = frame.positions
    if pos.size and (pos.max() >= 9999.9995 or pos.min() <= -999.9995):
        raise ValueError(
            f"{os.fspath(path)}: coordinates outside [-999.999, 9999.999] nm "
            "do not fit the .gro %8.3f format")
    vel = frame.velocities
    if vel is not None and vel.size and np.abs(vel).max() >= 999.99995:
        raise ValueError(
            f"{os.fspath(path)}: velocities beyond +-999.9999 nm/ps do not "
            "fit the .gro %8.4f format")
    out = [frame.title.replace("\n", " ").replace("\r", " "),
           "%5d" % frame.n_particles]
    precision = int(precision)
    if precision < 1:
        raise ValueError(f"precision must be >= 1 decimal, got {precision}")
    w = precision + 5
    fmt = "%5d%-5.5s%5.5s%5d" + f"%{w}.{precision}f" * 3
    columns = [(frame.resids % _WRAP).tolist(), frame.resnames, frame.names,
               [(i + 1) % _WRAP for i in range(frame.n_particles)],
               *pos.T.tolist()]
    if vel is not None:
        fmt += f"%{w}.{precision + 1}f" * 3
        columns += vel.T.tolist()
    out.extend(fmt % row for row in zip(*columns))
    out.append(_box_line(frame.box, precision))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")
