"""XYZ and extended-XYZ reading and writing."""

import numpy as np
import pytest

from mdzoom.core.io import (FileFormatError, box_from_lengths_angles, read_xyz,
                            read_xyz_frames, write_xyz)


@pytest.mark.parametrize("box", ["ortho", "triclinic", None])
def test_round_trip(tmp_path, make_frame, box):
    frame = make_frame(box=box)
    path = tmp_path / "a.xyz"
    write_xyz(path, frame, comment="hello world")
    back = read_xyz(path)
    np.testing.assert_allclose(back.positions, frame.positions, atol=1e-9)
    assert back.names == frame.elements and back.elements == frame.elements
    assert back.resnames == ["UNK"] * frame.n_particles
    np.testing.assert_array_equal(back.resids, np.ones(frame.n_particles))
    assert back.title == "hello world"
    if box is None:
        assert back.box is None
        assert path.read_text().splitlines()[1] == "hello world"
    else:
        np.testing.assert_allclose(back.box, frame.box, atol=1e-9)


def test_file_is_in_angstrom(tmp_path, make_frame):
    frame = make_frame(n=2, box=None)
    path = tmp_path / "a.xyz"
    write_xyz(path, frame)
    lines = path.read_text().splitlines()
    assert lines[0] == "2" and lines[1] == frame.title
    symbol, *xyz = lines[2].split()
    assert symbol == "O"
    np.testing.assert_allclose([float(v) for v in xyz], frame.positions[0] * 10)


def test_append_frames(tmp_path, make_frame):
    path = tmp_path / "traj.xyz"
    frames = [make_frame(box=None, seed=s) for s in range(3)]
    write_xyz(path, frames[0], comment="frame 0")
    for i, frame in enumerate(frames[1:], start=1):
        write_xyz(path, frame, comment=f"frame {i}", append=True)
    back = read_xyz_frames(path)
    assert len(back) == 3
    for i, (b, f) in enumerate(zip(back, frames)):
        np.testing.assert_allclose(b.positions, f.positions, atol=1e-9)
        assert b.title == f"frame {i}"
    np.testing.assert_allclose(read_xyz(path).positions, frames[0].positions, atol=1e-9)


def test_read_extended_xyz_from_other_tools(tmp_path):
    # ASE-style: extra columns and an upper-triangular (rotated) lattice.
    box = box_from_lengths_angles(1.0, 1.2, 1.4, 80.0, 85.0, 95.0)  # nm
    rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    lattice = (box @ rotation) * 10.0
    pos = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) @ rotation      # A
    text = ("2\n"
            f'Properties=species:S:1:pos:R:3:forces:R:3 Lattice="'
            + " ".join(map(str, lattice.ravel())) + '" energy=-1.5 pbc="T T T"\n'
            f"Si {pos[0, 0]} {pos[0, 1]} {pos[0, 2]} 0.1 0.2 0.3\n"
            f"O {pos[1, 0]} {pos[1, 1]} {pos[1, 2]} 0.1 0.2 0.3\n")
    path = tmp_path / "ase.xyz"
    path.write_text(text)
    frame = read_xyz(path)
    assert frame.names == ["Si", "O"]
    np.testing.assert_allclose(frame.box, box, atol=1e-12)
    np.testing.assert_allclose(frame.positions, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]],
                               atol=1e-12)


def test_error_bad_atom_count(tmp_path):
    path = tmp_path / "bad.xyz"
    path.write_text("two\ncomment\nC 0 0 0\n")
    with pytest.raises(FileFormatError) as info:
        read_xyz(path)
    assert str(info.value).startswith(f"{path}:1: expected a non-negative atom count")


def test_error_bad_atom_line(tmp_path):
    path = tmp_path / "bad.xyz"
    path.write_text("2\ncomment\nC 0 0 0\nH 1.0 abc 2.0\n")
    with pytest.raises(FileFormatError) as info:
        read_xyz(path)
    assert str(info.value).startswith(f"{path}:4: expected numbers for x, y, z")


def test_error_truncated_second_frame(tmp_path):
    path = tmp_path / "bad.xyz"
    path.write_text("1\nc\nC 0 0 0\n2\nc\nC 0 0 0\n")
    assert read_xyz(path).n_particles == 1
    with pytest.raises(FileFormatError) as info:
        read_xyz_frames(path)
    assert str(info.value).startswith(f"{path}:7: expected 2 atom lines")


def test_error_bad_lattice(tmp_path):
    path = tmp_path / "bad.xyz"
    path.write_text('1\nLattice="1 0 0 0 1 0"\nC 0 0 0\n')
    with pytest.raises(FileFormatError) as info:
        read_xyz(path)
    assert str(info.value).startswith(f"{path}:2: expected Lattice with 9 numbers")
