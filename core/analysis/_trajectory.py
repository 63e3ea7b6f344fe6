"""One normaliser for every trajectory input the analyses accept.

Units: positions and boxes in nm, times in ps, velocities in nm/ps.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["Trajectory", "as_trajectory"]


@dataclass
class Trajectory:
    """A trajectory as plain arrays (T frames, N particles).

    Attributes
    ----------
    positions : numpy.ndarray, shape (T, N, 3), float64 [nm]
    times : numpy.ndarray, shape (T,), float64 [ps]
    boxes : numpy.ndarray, shape (T, 3, 3), float64 [nm], or None
        Row-vector box matrices (GROMACS convention); None when not periodic.
    velocities : numpy.ndarray, shape (T, N, 3), float64 [nm/ps], or None
    """

    positions: np.ndarray
    times: np.ndarray
    boxes: np.ndarray | None = None
    velocities: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_particles(self) -> int:
        return int(self.positions.shape[1])


def _frames(a, name, n_frames=None, tail=None):
    a = np.asarray(a, dtype=np.float64)
    if tail is not None and a.shape == tail:          # one frame given without a T axis
        a = a[None]
    if tail is not None and a.shape[1:] != tail:
        raise ValueError(f"{name} must have shape (T, {', '.join(map(str, tail))}) "
                         f"or {tail}; got {a.shape}")
    if n_frames is not None and a.shape[0] != n_frames:
        if a.shape[0] == 1:
            a = np.broadcast_to(a, (n_frames,) + a.shape[1:])
        else:
            raise ValueError(f"{name} has {a.shape[0]} frames, positions have {n_frames}")
    return a


def _boxes(boxes, n_frames):
    if boxes is None:
        return None
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim == 0:                                     # cubic edge
        b = np.eye(3) * float(b)
    if b.shape == (3,):                                 # orthorhombic edges
        b = np.diag(b)
    if b.ndim == 2 and b.shape[1] == 3 and b.shape[0] == n_frames and b.shape != (3, 3):
        b = b[:, :, None] * np.eye(3)                   # (T, 3) edges per frame
    return np.ascontiguousarray(_frames(b, "boxes", n_frames, (3, 3)))


def as_trajectory(traj, times=None, boxes=None, velocities=None) -> Trajectory:
    """Bring any accepted trajectory input to a :class:`Trajectory`.

    Parameters
    ----------
    traj
        One of: an ``H5MDTrajectory`` (or any object with ``positions`` and optionally
        ``times``/``time``, ``boxes``/``box`` and ``velocities``, e.g. a ``Frame``); a
        path to an ``.h5md`` file (read with ``read_h5md``); a positions array of shape
        (T, N, 3) or (N, 3) (one frame); a tuple ``(positions[, times[, boxes]])``; or a
        :class:`Trajectory` (returned as is unless overrides are given).
    times : array_like, shape (T,) [ps], optional
        Overrides the input's times. Without any times, frame ``k`` is at ``k`` ps
        (a time step of 1 ps).
    boxes : array_like [nm], optional
        Overrides the input's boxes: (T, 3, 3), (3, 3), (T, 3) or (3,) edges, or a scalar
        cubic edge.
    velocities : array_like, shape (T, N, 3) [nm/ps], optional

    Returns
    -------
    Trajectory
    """
    vel = None
    if isinstance(traj, Trajectory) and times is None and boxes is None and velocities is None:
        return traj
    if isinstance(traj, (str, os.PathLike)):
        from ..io.h5md import read_h5md
        traj = read_h5md(traj)
    if isinstance(traj, tuple):
        parts = list(traj) + [None] * (3 - len(traj))
        if not 1 <= len(traj) <= 3:
            raise ValueError("a trajectory tuple is (positions[, times[, boxes]]); "
                             f"got {len(traj)} items")
        pos, t, b = parts
    elif hasattr(traj, "positions"):
        pos = traj.positions
        t = getattr(traj, "times", None)
        if t is None:
            t = getattr(traj, "time", None)
        b = getattr(traj, "boxes", None)
        if b is None:
            b = getattr(traj, "box", None)
        vel = getattr(traj, "velocities", None)
    else:
        pos, t, b = traj, None, None
    pos = np.asarray(pos, dtype=np.float64)
    if pos.ndim == 2:
        pos = pos[None]
    if pos.ndim != 3 or pos.shape[2] != 3:
        raise ValueError(f"positions must have shape (T, N, 3) or (N, 3); got {pos.shape}")
    n_frames = pos.shape[0]
    if times is not None:
        t = times
    if boxes is not None:
        b = boxes
    if velocities is not None:
        vel = velocities
    if t is None:
        t = np.arange(n_frames, dtype=np.float64)
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    if t.shape != (n_frames,):
        raise ValueError(f"times must have shape ({n_frames},); got {t.shape}")
    if vel is not None:
        vel = np.asarray(vel, dtype=np.float64)
        if vel.ndim == 2:
            vel = vel[None]
        if vel.shape != pos.shape:
            raise ValueError(f"velocities must match positions {pos.shape}; got {vel.shape}")
    return Trajectory(pos, t, _boxes(b, n_frames), vel)
