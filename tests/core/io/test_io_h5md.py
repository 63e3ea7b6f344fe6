"""H5MD trajectory writing and reading (incl. MDAnalysis compatibility)."""

import h5py
import numpy as np
import pytest

from mdzoom.core.io import (H5MDWriter, box_from_lengths_angles, read_h5md,
                            write_gro)

N = 5


def _frames(n_frames, *, triclinic=False, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n_frames):
        if triclinic:
            box = box_from_lengths_angles(3.0 + 0.1 * i, 3.2, 3.4, 75.0, 85.0, 95.0)
        else:
            box = np.diag([3.0 + 0.1 * i, 3.2, 3.4])
        yield dict(step=10 * i, time=0.02 * i,
                   positions=rng.uniform(0, 3, (N, 3)), box=box,
                   velocities=rng.normal(size=(N, 3)),
                   observables={"potential_energy": -100.0 - i, "temperature": 300.0 + i})


def _write(path, n_frames=3, **kwargs):
    frames = list(_frames(n_frames, triclinic=kwargs.pop("triclinic", False)))
    with H5MDWriter(path, N, write_velocities=True, **kwargs) as writer:
        for f in frames:
            writer.append(**f)
    return frames


def test_round_trip(tmp_path):
    path = tmp_path / "traj.h5md"
    frames = _write(path, species=np.arange(N), triclinic=True)
    traj = read_h5md(path)
    assert traj.n_frames == 3
    np.testing.assert_array_equal(traj.positions, [f["positions"] for f in frames])
    np.testing.assert_array_equal(traj.velocities, [f["velocities"] for f in frames])
    np.testing.assert_array_equal(traj.boxes, [f["box"] for f in frames])
    np.testing.assert_array_equal(traj.steps, [0, 10, 20])
    np.testing.assert_array_equal(traj.times, [0.0, 0.02, 0.04])
    assert traj.forces is None
    np.testing.assert_array_equal(traj.species, np.arange(N))
    steps, times, values = traj.observables["potential_energy"]
    np.testing.assert_array_equal(steps, [0, 10, 20])
    np.testing.assert_array_equal(times, [0.0, 0.02, 0.04])
    np.testing.assert_array_equal(values, [-100.0, -101.0, -102.0])
    assert set(traj.observables) == {"potential_energy", "temperature"}


def test_layout_and_units(tmp_path):
    path = tmp_path / "traj.h5md"
    with H5MDWriter(path, N, write_velocities=True, write_forces=True,
                    author="me", creator_version="9.9") as writer:
        f = next(_frames(1))
        writer.append(**f, forces=np.ones((N, 3)))
    with h5py.File(path, "r") as h5:
        np.testing.assert_array_equal(h5["h5md"].attrs["version"], [1, 1])
        assert h5["h5md/author"].attrs["name"] == "me"
        assert h5["h5md/creator"].attrs["version"] == "9.9"
        g = h5["particles/all"]
        assert g["box"].attrs["dimension"] == 3
        assert list(g["box"].attrs["boundary"]) == ["periodic"] * 3
        assert g["box/edges/value"].shape == (1, 3, 3)
        assert g["box/edges/value"].attrs["unit"] == "nm"
        assert g["position/value"].attrs["unit"] == "nm"
        assert g["position/time"].attrs["unit"] == "ps"
        assert g["velocity/value"].attrs["unit"] == "nm ps-1"
        assert g["force/value"].attrs["unit"] == "kJ mol-1 nm-1"
        assert g["position/value"].maxshape == (None, N, 3)
        assert g["position/value"].chunks is not None
        assert h5["observables/temperature/value"].shape == (1,)


def test_data_on_disk_after_each_append(tmp_path):
    path = tmp_path / "traj.h5md"
    frames = list(_frames(2))
    writer = H5MDWriter(path, N, write_velocities=True)
    try:
        writer.append(**frames[0])
        writer.append(**frames[1])
        # a second, read-only handle sees both frames while the writer is open
        with h5py.File(path, "r") as h5:
            np.testing.assert_array_equal(h5["particles/all/position/value"][1],
                                          frames[1]["positions"])
            np.testing.assert_array_equal(h5["particles/all/position/step"][:], [0, 10])
    finally:
        writer.close()
    assert writer.closed
    with pytest.raises(ValueError, match="closed"):
        writer.append(**frames[0])


def test_truncate_after_and_append_mode(tmp_path):
    path = tmp_path / "traj.h5md"
    frames = _write(path, n_frames=4)
    with H5MDWriter(path, N, mode="a", write_velocities=True) as writer:
        assert writer.n_frames == 4
        writer.truncate_after(15)                 # keeps steps 0 and 10
        assert writer.n_frames == 2
        new = next(_frames(1, seed=7))
        new.update(step=20, time=0.04)
        writer.append(**new)
    traj = read_h5md(path)
    np.testing.assert_array_equal(traj.steps, [0, 10, 20])
    np.testing.assert_array_equal(traj.positions[:2], [f["positions"] for f in frames[:2]])
    np.testing.assert_array_equal(traj.positions[2], new["positions"])
    np.testing.assert_array_equal(traj.boxes[2], new["box"])
    assert traj.velocities.shape == (3, N, 3)
    for steps, times, values in traj.observables.values():
        np.testing.assert_array_equal(steps, [0, 10, 20])
        assert times.shape == values.shape == (3,)


def test_append_rejects_non_increasing_step(tmp_path):
    path = tmp_path / "traj.h5md"
    _write(path, n_frames=2)
    with H5MDWriter(path, N, mode="a", write_velocities=True) as writer:
        with pytest.raises(ValueError, match="truncate_after"):
            writer.append(**next(_frames(1)))      # step 0 again
        assert writer.n_frames == 2               # nothing partially written


def test_append_mode_validates_particle_count(tmp_path):
    path = tmp_path / "traj.h5md"
    _write(path, n_frames=1)
    with pytest.raises(ValueError, match=f"holds {N} particles.*n_particles={N + 1}"):
        H5MDWriter(path, N + 1, mode="a", write_velocities=True)
    with pytest.raises(ValueError, match="has velocity data.*write_velocities=False"):
        H5MDWriter(path, N, mode="a", write_velocities=False)
    with pytest.raises(ValueError, match="has no force data.*write_forces=True"):
        H5MDWriter(path, N, mode="a", write_forces=True)


def test_append_mode_defaults_to_the_files_elements(tmp_path):
    path = tmp_path / "traj.h5md"
    _write(path, n_frames=2)                       # with velocities
    with H5MDWriter(path, N, mode="a") as writer:
        assert writer.write_velocities and not writer.write_forces
        writer.truncate_after(0)
        frame = next(_frames(1))
        frame["step"] = 5
        with pytest.raises(ValueError, match="velocity data required"):
            writer.append(**{**frame, "velocities": None})
        writer.append(**frame)
    np.testing.assert_array_equal(read_h5md(path).steps, [0, 5])


def test_append_mode_starts_a_new_file(tmp_path):
    path = tmp_path / "new.h5md"
    with H5MDWriter(path, N, mode="a") as writer:
        assert writer.write_velocities is False
        writer.append(0, 0.0, np.ones((N, 3)), np.eye(3))
    np.testing.assert_array_equal(read_h5md(path).positions, np.ones((1, N, 3)))


def test_without_box(tmp_path):
    path = tmp_path / "gas.h5md"
    with H5MDWriter(path, N) as writer:
        writer.append(0, 0.0, np.zeros((N, 3)), None)
        with pytest.raises(ValueError, match="box must be None"):
            writer.append(1, 0.1, np.zeros((N, 3)), np.eye(3))
    traj = read_h5md(path)
    assert traj.boxes is None and traj.n_frames == 1
    with h5py.File(path, "r") as h5:
        assert list(h5["particles/all/box"].attrs["boundary"]) == ["none"] * 3


def test_read_missing_group_is_clear(tmp_path):
    path = tmp_path / "traj.h5md"
    _write(path, n_frames=1)
    with pytest.raises(ValueError, match=r"particles/protein.*\['all'\]"):
        read_h5md(path, group="protein")


@pytest.mark.parametrize("triclinic", [False, True])
def test_mdanalysis_reads_the_file(tmp_path, make_frame, triclinic):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.lib.mdamath import triclinic_vectors

    topology = make_frame(n=N, box="ortho")
    gro = tmp_path / "top.gro"
    write_gro(gro, topology)
    path = tmp_path / "traj.h5md"
    frames = _write(path, n_frames=3, triclinic=triclinic)
    u = mda.Universe(str(gro), str(path))
    assert len(u.trajectory) == 3
    for ts, f in zip(u.trajectory, frames):
        np.testing.assert_allclose(ts.positions, f["positions"] * 10, atol=1e-4)
        np.testing.assert_allclose(ts.velocities, f["velocities"] * 10, rtol=1e-5,
                                   atol=1e-5)
        np.testing.assert_allclose(triclinic_vectors(ts.dimensions), f["box"] * 10,
                                   atol=1e-3)
        assert ts.time == pytest.approx(f["time"])
        assert ts.data["step"] == f["step"]
        assert ts.data["potential_energy"] == f["observables"]["potential_energy"]
