"""File formats: structures (.gro, .pdb, .xyz) and H5MD trajectories.

Everything in memory is in nm, ps, kJ/mol; readers and writers convert
(Angstrom for PDB and XYZ).  Boxes are (3, 3) row-vector matrices in the
GROMACS convention.

>>> from mdzoom.core.io import read_structure, write_structure  # doctest: +SKIP
>>> frame = read_structure("conf.gro")                          # doctest: +SKIP
>>> write_structure("conf.pdb", frame)                          # doctest: +SKIP
"""

from __future__ import annotations

import os

from .boxes import (box_from_lengths_angles, is_orthorhombic,
                    lengths_angles_from_box, to_lower_triangular)
from .errors import FileFormatError
from .frame import Frame, guess_element
from .gro import read_gro, write_gro
from .h5md import H5MDTrajectory, H5MDWriter, read_h5md
from .pdb import read_pdb, write_pdb
from .xyz import read_xyz, read_xyz_frames, write_xyz

__all__ = [
    "Frame",
    "FileFormatError",
    "guess_element",
    "box_from_lengths_angles",
    "lengths_angles_from_box",
    "is_orthorhombic",
    "to_lower_triangular",
    "read_gro",
    "write_gro",
    "read_pdb",
    "write_pdb",
    "read_xyz",
    "read_xyz_frames",
    "write_xyz",
    "H5MDWriter",
    "H5MDTrajectory",
    "read_h5md",
    "read_structure",
    "write_structure",
    "STRUCTURE_FORMATS",
]

#: Extension -> (reader, writer) for :func:`read_structure` / :func:`write_structure`.
STRUCTURE_FORMATS = {
    ".gro": (read_gro, write_gro),
    ".pdb": (read_pdb, write_pdb),
    ".xyz": (read_xyz, write_xyz),
}


def _format_for(path):
    ext = os.path.splitext(os.fspath(path))[1].lower()
    try:
        return STRUCTURE_FORMATS[ext]
    except KeyError:
        supported = ", ".join(sorted(STRUCTURE_FORMATS))
        raise ValueError(
            f"{os.fspath(path)}: unknown structure extension {ext!r}; "
            f"supported: {supported}") from None


def read_structure(path) -> Frame:
    """Read a structure file, choosing the format from the extension.

    Supported: .gro, .pdb, .xyz (case-insensitive).  Raises ValueError
    listing the supported extensions for any other.
    """
    return _format_for(path)[0](path)


def write_structure(path, frame: Frame) -> None:
    """Write ``frame`` in the format given by the extension of ``path``."""
    _format_for(path)[1](path, frame)


# GROMACS topologies and run parameters (.top/.itp, .mdp).
from .mdp import MdpOptions, read_mdp  # noqa: E402
from .top import (AtomDef, AtomType, Defaults, GromacsTopology,  # noqa: E402
                  Interaction, MoleculeTypeDef, check_coordinates, read_top)
from .top_preprocessor import Line, preprocess  # noqa: E402
from .top_writer import write_top  # noqa: E402

__all__ += [
    "read_top",
    "write_top",
    "check_coordinates",
    "GromacsTopology",
    "Defaults",
    "AtomType",
    "AtomDef",
    "Interaction",
    "MoleculeTypeDef",
    "preprocess",
    "Line",
    "read_mdp",
    "MdpOptions",
]
