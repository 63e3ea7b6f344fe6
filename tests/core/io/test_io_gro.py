"""GROMACS .gro reading and writing."""

import numpy as np
import pytest

from mdzoom.core.io import FileFormatError, Frame, read_gro, write_gro


@pytest.mark.parametrize("box", ["ortho", "triclinic", None])
def test_round_trip(tmp_path, make_frame, box):
    frame = make_frame(box=box, velocities=True)
    path = tmp_path / "conf.gro"
    write_gro(path, frame)
    back = read_gro(path)
    np.testing.assert_allclose(back.positions, frame.positions, atol=5e-4)
    np.testing.assert_allclose(back.velocities, frame.velocities, atol=5e-5)
    assert back.names == frame.names
    assert back.resnames == frame.resnames
    np.testing.assert_array_equal(back.resids, frame.resids)
    assert back.title == frame.title
    assert back.elements is None
    if box is None:
        assert back.box is None
    else:
        np.testing.assert_allclose(back.box, frame.box, atol=5e-6)


def test_box_line_has_3_or_9_numbers(tmp_path, make_frame):
    path = tmp_path / "a.gro"
    write_gro(path, make_frame(box="ortho"))
    assert len(path.read_text().splitlines()[-1].split()) == 3
    write_gro(path, make_frame(box="triclinic"))
    assert len(path.read_text().splitlines()[-1].split()) == 9


def test_write_format_is_fixed_columns(tmp_path, make_frame):
    frame = make_frame(n=3, velocities=True)
    path = tmp_path / "a.gro"
    write_gro(path, frame)
    lines = path.read_text().splitlines()
    assert lines[1] == "    3"
    x, y, z = frame.positions[0]
    vx, vy, vz = frame.velocities[0]
    expected = "%5d%-5s%5s%5d%8.3f%8.3f%8.3f%8.4f%8.4f%8.4f" % (
        1, "SOL", "OW", 1, x, y, z, vx, vy, vz)
    assert lines[2] == expected


GRO_WITH_VELOCITIES = """\
Two waters, t= 0.0
    6
    1SOL     OW    1   0.126   1.624   1.679  0.1227 -0.0580  0.0434
    1SOL    HW1    2   0.190   1.661   1.747  0.8085  0.3191 -0.7791
    1SOL    HW2    3   0.177   1.568   1.613 -0.9045 -2.6469  1.3180
    2SOL     OW    4   1.275   0.053   0.622  0.2519  0.3140 -0.1734
    2SOL    HW1    5   1.337   0.002   0.680 -1.0641 -1.1349  0.0257
    2SOL    HW2    6   1.326   0.120   0.568  1.9427 -0.8216 -0.0244
   1.82060   1.82060   1.82060
"""


def test_read_file_with_velocities(tmp_path):
    path = tmp_path / "water.gro"
    path.write_text(GRO_WITH_VELOCITIES)
    frame = read_gro(path)
    assert frame.n_particles == 6
    assert frame.title == "Two waters, t= 0.0"
    assert frame.names == ["OW", "HW1", "HW2"] * 2
    assert frame.resnames == ["SOL"] * 6
    np.testing.assert_array_equal(frame.resids, [1, 1, 1, 2, 2, 2])
    np.testing.assert_allclose(frame.positions[1], [0.190, 1.661, 1.747])
    np.testing.assert_allclose(frame.velocities[5], [1.9427, -0.8216, -0.0244])
    np.testing.assert_allclose(frame.box, np.diag([1.8206] * 3))


def test_read_without_velocities(tmp_path):
    lines = GRO_WITH_VELOCITIES.splitlines()
    path = tmp_path / "novel.gro"
    path.write_text("\n".join([lines[0], lines[1]] + [l[:44] for l in lines[2:8]]
                              + [lines[8]]) + "\n")
    frame = read_gro(path)
    assert frame.velocities is None
    np.testing.assert_allclose(frame.positions[3], [1.275, 0.053, 0.622])


def test_read_high_precision(tmp_path):
    # %10.5f positions and %10.6f velocities (gmx editconf -ndec 5).
    text = ("hi-prec\n    2\n"
            "    1MOL      C    1   1.12345   2.23456   3.34567"
            "  0.123456 -1.234567  2.345678\n"
            "    1MOL      H    2  -0.00001  10.00000   0.50000"
            "  0.000000  0.000000  0.000000\n"
            "   5.00000   5.00000   5.00000   0.00000   0.00000"
            "   1.00000   0.00000   1.00000   1.00000\n")
    path = tmp_path / "prec.gro"
    path.write_text(text)
    frame = read_gro(path)
    np.testing.assert_allclose(frame.positions, [[1.12345, 2.23456, 3.34567],
                                                 [-0.00001, 10.0, 0.5]])
    np.testing.assert_allclose(frame.velocities[0], [0.123456, -1.234567, 2.345678])
    expected_box = np.array([[5.0, 0, 0], [1.0, 5.0, 0], [1.0, 1.0, 5.0]])
    np.testing.assert_allclose(frame.box, expected_box)


def test_100000_atom_index_wrap(tmp_path):
    n = 100002
    rng = np.random.default_rng(1)
    frame = Frame(positions=rng.uniform(0, 9, size=(n, 3)), box=np.diag([9.0] * 3),
                  names=["AR"] * n, resnames=["AR"] * n, resids=np.arange(1, n + 1))
    path = tmp_path / "big.gro"
    write_gro(path, frame)
    lines = path.read_text().splitlines()
    # atom 99999 keeps its number, atom 100000 -> 0, atom 100001 -> 1
    assert lines[2 + 99998][:5] == "99999" and lines[2 + 99998][15:20] == "99999"
    assert lines[2 + 99999][:5] == "    0" and lines[2 + 99999][15:20] == "    0"
    assert lines[2 + 100000][:5] == "    1" and lines[2 + 100000][15:20] == "    1"
    back = read_gro(path)
    assert back.n_particles == n
    np.testing.assert_allclose(back.positions, frame.positions, atol=5e-4)
    np.testing.assert_array_equal(back.resids, frame.resids)   # unwrapped


def _write(tmp_path, text, name="conf.gro"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _expect_error(path, line, *fragments):
    with pytest.raises(FileFormatError) as info:
        read_gro(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:{line}: "), msg
    assert info.value.line == line and info.value.path == str(path)
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


def test_error_bad_atom_count(tmp_path):
    path = _write(tmp_path, "title\n  abc\n")
    _expect_error(path, 2, "expected a non-negative atom count", "abc")


def test_error_too_few_atom_lines(tmp_path):
    lines = GRO_WITH_VELOCITIES.splitlines()
    path = _write(tmp_path, "\n".join(lines[:5]) + "\n")       # 3 of 6 atoms
    _expect_error(path, 6, "expected 6 atom lines", "after 3")


def test_error_short_atom_line(tmp_path):
    lines = GRO_WITH_VELOCITIES.splitlines()
    lines[4] = "abc"
    path = _write(tmp_path, "\n".join(lines) + "\n")
    _expect_error(path, 5, "expected 9 columns", "'abc'")


def test_error_short_atom_line_without_velocities(tmp_path):
    text = "t\n    2\n    1SOL     OW    1   0.126   1.624   1.679\nabc\n 1 1 1\n"
    path = _write(tmp_path, text)
    _expect_error(path, 4, "expected 6 columns (resid+resname, name, index, x, y, z)",
                  "'abc'")


def test_error_unparsable_number(tmp_path):
    lines = GRO_WITH_VELOCITIES.splitlines()
    lines[3] = lines[3][:28] + "   x.yz " + lines[3][36:]
    path = _write(tmp_path, "\n".join(lines) + "\n")
    _expect_error(path, 4, "expected a number for y", "columns 29-36", "x.yz")


@pytest.mark.parametrize("box_line", ["", "1.0 2.0", "1 2 3 4 5", "a b c"])
def test_error_bad_box_line(tmp_path, box_line):
    lines = GRO_WITH_VELOCITIES.splitlines()
    lines[8] = box_line
    path = _write(tmp_path, "\n".join(lines) + "\n")
    _expect_error(path, 9, "expected box line with 3 or 9 numbers")


def test_error_missing_box_line(tmp_path):
    lines = GRO_WITH_VELOCITIES.splitlines()
    path = _write(tmp_path, "\n".join(lines[:8]) + "\n")
    _expect_error(path, 9, "expected box line", "end of file")


def test_write_rejects_coordinates_that_do_not_fit(tmp_path, make_frame):
    frame = make_frame(n=2)
    frame.positions[0, 0] = 12345.0
    with pytest.raises(ValueError, match="do not fit"):
        write_gro(tmp_path / "x.gro", frame)
