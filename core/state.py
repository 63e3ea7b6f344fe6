"""State: what changes during a simulation, and all a checkpoint must store of it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["State", "as_box"]


def as_box(box) -> np.ndarray:
    """Normalise a box to a (3, 3) float64 matrix of row vectors [nm].

    Accepts a scalar (cube edge), three edge lengths (orthorhombic) or a 3×3 matrix.
    """
    b = np.asarray(box, dtype=np.float64)
    if b.ndim == 0:
        return np.eye(3) * float(b)
    if b.shape == (3,):
        return np.diag(b)
    if b.shape == (3, 3):
        if b[0, 1] != 0 or b[0, 2] != 0 or b[1, 2] != 0:
            raise ValueError("box must be lower-triangular (GROMACS convention: a along x, "
                             f"b in the xy plane); got\n{b}")
        if np.any(np.diag(b) <= 0):
            raise ValueError(f"box diagonal must be positive; got {np.diag(b)}")
        return b.copy()
    raise ValueError(f"box must be a scalar, 3 lengths or a 3x3 matrix; got shape {b.shape}")


@dataclass
class State:
    """Dynamical state of a system.

    Attributes
    ----------
    positions : (N, 3) float64 [nm]   unwrapped (particles are never folded into the box)
    velocities : (N, 3) float64 [nm/ps]
    box : (3, 3) float64 [nm]   row vectors a, b, c
    step : int
    time : float [ps]
    """

    positions: np.ndarray
    velocities: np.ndarray | None = None
    box: np.ndarray = field(default_factory=lambda: np.eye(3))
    step: int = 0
    time: float = 0.0

    def __post_init__(self):
        self.positions = np.ascontiguousarray(self.positions, dtype=np.float64)
        if self.positions.ndim != 2 or self.positions.shape[1] != 3:
            raise ValueError(f"positions must have shape (N, 3); got {self.positions.shape}")
        if self.velocities is None:
            self.velocities = np.zeros_like(self.positions)
        else:
            self.velocities = np.ascontiguousarray(self.velocities, dtype=np.float64)
            if self.velocities.shape != self.positions.shape:
                raise ValueError(f"velocities shape {self.velocities.shape} != positions "
                                 f"shape {self.positions.shape}")
        self.box = as_box(self.box)
        self.step = int(self.step)
        self.time = float(self.time)

    @property
    def n_particles(self) -> int:
        return self.positions.shape[0]

    @property
    def volume(self) -> float:
        """Box volume [nm³]."""
        return float(abs(np.linalg.det(self.box)))

    def copy(self) -> "State":
        return State(self.positions.copy(), self.velocities.copy(), self.box.copy(),
                     self.step, self.time)

    def wrapped_positions(self) -> np.ndarray:
        """Positions folded into the primary cell (fractional coordinates in [0, 1))."""
        frac = self.positions @ np.linalg.inv(self.box)
        frac -= np.floor(frac)
        return frac @ self.box
