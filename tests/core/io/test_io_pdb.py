"""PDB reading and writing."""

import numpy as np
import pytest

from mdzoom.core.io import (FileFormatError, lengths_angles_from_box, read_pdb,
                            write_pdb)


@pytest.mark.parametrize("box", ["ortho", "triclinic", None])
def test_round_trip(tmp_path, make_frame, box):
    frame = make_frame(box=box, velocities=True)
    path = tmp_path / "conf.pdb"
    write_pdb(path, frame)
    back = read_pdb(path)
    np.testing.assert_allclose(back.positions, frame.positions, atol=5e-5)
    assert back.names == frame.names
    assert back.resnames == frame.resnames
    assert back.elements == frame.elements
    np.testing.assert_array_equal(back.resids, frame.resids)
    assert back.velocities is None
    assert back.title == frame.title
    if box is None:
        assert back.box is None
    else:
        # lengths to 0.001 A, angles to 0.01 degree
        np.testing.assert_allclose(lengths_angles_from_box(back.box),
                                   lengths_angles_from_box(frame.box), atol=6e-3)
        np.testing.assert_allclose(back.box, frame.box, atol=1e-3)
        assert back.box[0, 1] == back.box[0, 2] == back.box[1, 2] == 0.0


def test_written_columns(tmp_path, make_frame):
    frame = make_frame(n=6, box="ortho")
    path = tmp_path / "a.pdb"
    write_pdb(path, frame)
    lines = path.read_text().splitlines()
    cryst = next(l for l in lines if l.startswith("CRYST1"))
    assert cryst[6:54] == "   31.000   42.000   53.000  90.00  90.00  90.00"
    atoms = [l for l in lines if l.startswith("ATOM")]
    assert len(atoms) == 6 and lines[-1] == "END"
    first = atoms[0]
    assert first[12:16] == " OW " and first[17:20] == "SOL"
    assert float(first[30:38]) == pytest.approx(frame.positions[0, 0] * 10, abs=5e-4)
    assert first[76:78] == " O"
    assert atoms[4][76:78] == "NA" and atoms[5][76:78] == "CL"


PDB_TEXT = """\
TITLE     small test
CRYST1   30.000   40.000   50.000  90.00 100.00  90.00 P 1           1
MODEL        1
ATOM      1  N   ALA A   1      11.104   6.134  -6.504  1.00  0.00           N
ATOM      2  CA  ALA A   1      11.639   6.071  -5.147  1.00  0.00
HETATM    3 FE   HEM A   2       1.000   2.000   3.000  1.00  0.00
HETATM    4  OW  HOH A   3      -1.000  -2.000  -3.500  1.00  0.00           O
TER
ENDMDL
MODEL        2
ATOM      1  N   ALA A   1      99.104   6.134  -6.504  1.00  0.00           N
ENDMDL
END
"""


def test_read_reference_file(tmp_path):
    path = tmp_path / "ref.pdb"
    path.write_text(PDB_TEXT)
    frame = read_pdb(path)
    assert frame.n_particles == 4                      # only the first MODEL
    assert frame.names == ["N", "CA", "FE", "OW"]
    assert frame.resnames == ["ALA", "ALA", "HEM", "HOH"]
    np.testing.assert_array_equal(frame.resids, [1, 1, 2, 3])
    assert frame.elements == ["N", "C", "Fe", "O"]   # CA guessed as carbon
    np.testing.assert_allclose(frame.positions[0], [1.1104, 0.6134, -0.6504])
    assert frame.title == "small test"
    beta = np.deg2rad(100.0)
    expected = np.array([[3.0, 0, 0], [0, 4.0, 0],
                         [5.0 * np.cos(beta), 0, 5.0 * np.sin(beta)]])
    np.testing.assert_allclose(frame.box, expected, atol=1e-12)


def test_read_without_cryst1_has_no_box(tmp_path):
    path = tmp_path / "nobox.pdb"
    path.write_text("\n".join(l for l in PDB_TEXT.splitlines()
                              if not l.startswith("CRYST1")) + "\n")
    assert read_pdb(path).box is None


def _error(path):
    with pytest.raises(FileFormatError) as info:
        read_pdb(path)
    return info.value


def test_error_bad_coordinate(tmp_path):
    lines = PDB_TEXT.splitlines()
    lines[4] = lines[4][:38] + "   abcde" + lines[4][46:]
    path = tmp_path / "bad.pdb"
    path.write_text("\n".join(lines) + "\n")
    err = _error(path)
    assert str(err).startswith(f"{path}:5: expected a number for y in columns 39-46")
    assert "abcde" in str(err) and err.line == 5


def test_error_short_atom_record(tmp_path):
    lines = PDB_TEXT.splitlines()
    lines[3] = lines[3][:40]
    path = tmp_path / "short.pdb"
    path.write_text("\n".join(lines) + "\n")
    assert str(_error(path)).startswith(
        f"{path}:4: expected ATOM record with x, y, z in columns 31-54")


def test_error_bad_cryst1(tmp_path):
    lines = PDB_TEXT.splitlines()
    lines[1] = "CRYST1   30.000   xx.000"
    path = tmp_path / "cryst.pdb"
    path.write_text("\n".join(lines) + "\n")
    err = _error(path)
    assert str(err).startswith(f"{path}:2: expected CRYST1") and err.line == 2


def test_error_no_atoms(tmp_path):
    path = tmp_path / "empty.pdb"
    path.write_text("REMARK nothing\nEND\n")
    err = _error(path)
    assert str(err) == f"{path}: expected at least one ATOM or HETATM record"
