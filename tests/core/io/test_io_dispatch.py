"""read_structure / write_structure dispatch and the public API."""

import numpy as np
import pytest

import mdzoom.core.io as io


@pytest.mark.parametrize("ext", [".gro", ".pdb", ".xyz", ".GRO"])
def test_dispatch_round_trip(tmp_path, make_frame, ext):
    frame = make_frame(box="triclinic")
    path = tmp_path / f"conf{ext}"
    io.write_structure(path, frame)
    back = io.read_structure(str(path))
    np.testing.assert_allclose(back.positions, frame.positions, atol=5e-4)
    np.testing.assert_allclose(back.box, frame.box, atol=1e-3)


def test_format_is_chosen_by_extension(tmp_path, make_frame):
    frame = make_frame(n=3, box=None)
    io.write_structure(tmp_path / "a.pdb", frame)
    assert (tmp_path / "a.pdb").read_text().startswith("TITLE")
    io.write_structure(tmp_path / "a.xyz", frame)
    assert (tmp_path / "a.xyz").read_text().splitlines()[0] == "3"


@pytest.mark.parametrize("func", ["read_structure", "write_structure"])
def test_unknown_extension_lists_supported(tmp_path, make_frame, func):
    path = tmp_path / "conf.mol2"
    args = (path,) if func == "read_structure" else (path, make_frame())
    with pytest.raises(ValueError) as info:
        getattr(io, func)(*args)
    msg = str(info.value)
    assert "'.mol2'" in msg and ".gro, .pdb, .xyz" in msg and str(path) in msg


def test_all_is_explicit_and_complete():
    for name in io.__all__:
        assert hasattr(io, name), name
    for name in ("Frame", "FileFormatError", "read_gro", "write_gro", "read_pdb",
                 "write_pdb", "read_xyz", "read_xyz_frames", "write_xyz",
                 "H5MDWriter", "read_h5md", "H5MDTrajectory",
                 "box_from_lengths_angles", "lengths_angles_from_box",
                 "read_structure", "write_structure"):
        assert name in io.__all__, name
