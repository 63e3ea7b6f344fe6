"""Unwrapping: across boundaries, under box scaling (NPT), triclinic boxes, inputs."""

import numpy as np
import pytest

from mdzoom.core.analysis import as_trajectory, unwrap, unwrap_positions


def _wrap(x, box):
    """Fold (N, 3) positions into the (3, 3) row-vector box, fractional in [0, 1)."""
    s = x @ np.linalg.inv(box)
    return (s - np.floor(s)) @ box


def test_random_walk_across_boundaries_is_recovered_exactly():
    rng = np.random.default_rng(1)
    box = np.diag([2.0, 2.5, 3.0])
    steps = rng.normal(0.0, 0.15, (1000, 50, 3))
    steps[0] = rng.uniform(0.0, 2.0, (50, 3))
    true = np.cumsum(steps, axis=0)
    wrapped = np.array([_wrap(x, box) for x in true])
    assert np.abs(true - wrapped).max() > 10.0          # many boundary crossings
    out = unwrap((wrapped, None, box))
    np.testing.assert_allclose(out - out[0], true - true[0], atol=1e-9)


def test_triclinic_box_is_recovered_exactly():
    rng = np.random.default_rng(2)
    box = np.array([[3.0, 0.0, 0.0], [1.0, 2.8, 0.0], [-0.7, 0.9, 2.6]])
    true = np.cumsum(rng.normal(0.0, 0.25, (300, 40, 3)), axis=0)
    wrapped = np.array([_wrap(x, box) for x in true])
    out = unwrap_positions(wrapped, np.broadcast_to(box, (300, 3, 3)))
    np.testing.assert_allclose(out - out[0], true - true[0], atol=1e-9)


def test_box_scaling_keeps_the_physical_displacements():
    """NPT: the barostat rescales box and positions every frame. The true (toroidal)
    path adds each frame's physical displacement (rescaling + motion); the displacement
    scheme recovers it, while the 'closest image to the previous unwrapped position'
    heuristic drifts once a particle is several boxes away."""
    rng = np.random.default_rng(3)
    n_t, n = 2000, 30
    box = np.eye(3) * 3.0
    w = rng.uniform(0, 3.0, (n, 3))
    wrapped = [w]
    boxes = [box]
    true = [w.copy()]
    for _ in range(n_t - 1):
        mu = 1.0 + rng.normal(0.0, 0.01)                      # isotropic rescaling
        step = rng.normal(0.0, 0.15, (n, 3))
        new_box = boxes[-1] * mu
        moved = wrapped[-1] * mu + step                       # the physical new position
        true.append(true[-1] + (moved - wrapped[-1]))
        wrapped.append(_wrap(moved, new_box))
        boxes.append(new_box)
    wrapped, boxes, true = np.array(wrapped), np.array(boxes), np.array(true)
    out = unwrap((wrapped, None, boxes))
    np.testing.assert_allclose(out, true, atol=1e-8)
    # the heuristic scheme (gmx trjconv -pbc nojump) does not give the true path
    heur = [wrapped[0]]
    for t in range(1, n_t):
        L = boxes[t, 0, 0]
        heur.append(wrapped[t] - np.round((wrapped[t] - heur[-1]) / L) * L)
    assert np.abs(np.array(heur) - true).max() > 0.5


def test_non_periodic_and_single_frame_pass_through():
    x = np.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_array_equal(unwrap(x), x)
    np.testing.assert_array_equal(unwrap(x[0])[0], x[0])


def test_too_sparse_frames_warn():
    x = np.array([[[0.1, 0.1, 0.1]], [[1.05, 0.1, 0.1]]])
    with pytest.warns(UserWarning, match="too far apart"):
        unwrap((x, None, 2.0))


def test_as_trajectory_accepts_h5md_files_and_objects(tmp_path):
    from mdzoom.core.io import H5MDWriter, read_h5md

    rng = np.random.default_rng(4)
    path = tmp_path / "t.h5md"
    with H5MDWriter(path, 5) as w:
        for k in range(3):
            w.append(k * 10, k * 0.02, rng.uniform(0, 2, (5, 3)), np.eye(3) * 2.0)
    from_path = as_trajectory(str(path))
    from_obj = as_trajectory(read_h5md(path))
    assert from_path.positions.shape == (3, 5, 3)
    np.testing.assert_allclose(from_path.times, [0.0, 0.02, 0.04])
    np.testing.assert_allclose(from_obj.boxes[2], np.eye(3) * 2.0)
    one = as_trajectory(np.zeros((5, 3)), boxes=[1.0, 2.0, 3.0])
    assert one.positions.shape == (1, 5, 3) and one.boxes.shape == (1, 3, 3)
    with pytest.raises(ValueError, match="times must have shape"):
        as_trajectory((np.zeros((3, 5, 3)), [0.0, 1.0]))
