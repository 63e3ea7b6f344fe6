"""Frame validation, box conversions, element guessing and errors."""

import pickle

import numpy as np
import pytest

from mdzoom.core.io import (FileFormatError, Frame, box_from_lengths_angles,
                            guess_element, is_orthorhombic,
                            lengths_angles_from_box, to_lower_triangular)


def test_frame_normalises_types_and_counts_particles():
    frame = Frame(positions=[[0, 0, 0], [1, 2, 3]], box=[2.0, 3.0, 4.0],
                  names=["A", "B"], resnames=["R", "R"], resids=[1, 2])
    assert frame.n_particles == 2
    assert frame.positions.dtype == np.float64
    assert frame.resids.dtype == np.int64
    np.testing.assert_array_equal(frame.box, np.diag([2.0, 3.0, 4.0]))
    assert frame.elements is None and frame.velocities is None
    assert frame.title == ""


@pytest.mark.parametrize("kwargs, match", [
    ({"names": ["A"]}, "names"),
    ({"resids": [1, 2, 3]}, "resids"),
    ({"velocities": np.zeros((3, 3))}, "velocities"),
    ({"box": np.zeros((2, 2))}, "box"),
    ({"positions": np.zeros((2, 2))}, "positions"),
])
def test_frame_rejects_inconsistent_shapes(kwargs, match):
    args = dict(positions=np.zeros((2, 3)), box=None, names=["A", "B"],
                resnames=["R", "R"], resids=[1, 1])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Frame(**args)


def test_orthorhombic_box_is_exactly_diagonal():
    box = box_from_lengths_angles(2.0, 3.0, 4.0, 90.0, 90.0, 90.0)
    np.testing.assert_array_equal(box, np.diag([2.0, 3.0, 4.0]))
    assert is_orthorhombic(box)


def test_triclinic_box_round_trip_and_convention():
    params = (3.0, 3.5, 4.0, 70.0, 80.0, 100.0)
    box = box_from_lengths_angles(*params)
    assert box[0, 1] == box[0, 2] == box[1, 2] == 0.0     # lower triangular
    assert box[0, 0] > 0 and box[1, 1] > 0 and box[2, 2] > 0
    assert not is_orthorhombic(box)
    np.testing.assert_allclose(lengths_angles_from_box(box), params, rtol=1e-12)


def test_rhombic_dodecahedron_matches_gromacs():
    # GROMACS "dodecahedron" (xy-square) box for d = 1: 60, 60, 90 degrees.
    box = box_from_lengths_angles(1.0, 1.0, 1.0, 60.0, 60.0, 90.0)
    expected = np.array([[1, 0, 0], [0, 1, 0], [0.5, 0.5, np.sqrt(0.5)]])
    np.testing.assert_allclose(box, expected, atol=1e-12)


def test_invalid_cell_is_rejected():
    with pytest.raises(ValueError):
        box_from_lengths_angles(1.0, 1.0, 1.0, 10.0, 10.0, 90.0)
    with pytest.raises(ValueError):
        box_from_lengths_angles(0.0, 1.0, 1.0, 90.0, 90.0, 90.0)


def test_to_lower_triangular_rotates_consistently():
    rng = np.random.default_rng(3)
    box = box_from_lengths_angles(3.0, 3.5, 4.0, 70.0, 80.0, 100.0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    rotated = box @ q
    new_box, rot = to_lower_triangular(rotated)
    np.testing.assert_allclose(new_box, box, atol=1e-12)
    np.testing.assert_allclose(rotated @ rot, box, atol=1e-12)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("name, element", [
    ("OW", "O"), ("HW1", "H"), ("1HB", "H"), ("CA", "C"), ("Cl1", "Cl"),
    ("NA", "Na"), ("CLA", "Cl"), ("Fe", "Fe"), ("123", "X"),
])
def test_guess_element(name, element):
    assert guess_element(name) == element


def test_file_format_error_message_and_pickling():
    err = FileFormatError("conf.gro", 5, "expected 6 columns, got 'abc'")
    assert str(err) == "conf.gro:5: expected 6 columns, got 'abc'"
    assert isinstance(err, ValueError)
    assert err.path == "conf.gro" and err.line == 5
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.line == 5
    assert str(FileFormatError("t.h5", None, "no group")) == "t.h5: no group"
