"""Shared fixtures for the file-format tests."""

import numpy as np
import pytest

from mdzoom.core.io import Frame, box_from_lengths_angles


def _frame(n=7, *, box="ortho", velocities=False, seed=0):
    rng = np.random.default_rng(seed)
    if box == "ortho":
        box_matrix = np.diag([3.1, 4.2, 5.3])
    elif box == "triclinic":
        box_matrix = box_from_lengths_angles(3.0, 3.5, 4.0, 70.0, 80.0, 100.0)
    else:
        box_matrix = None
    names = ["OW", "HW1", "HW2", "CA", "NA", "CL", "C1"] * (n // 7 + 1)
    elements = ["O", "H", "H", "C", "Na", "Cl", "C"] * (n // 7 + 1)
    return Frame(
        positions=rng.uniform(0.0, 3.0, size=(n, 3)),
        box=box_matrix,
        names=names[:n],
        resnames=(["SOL", "SOL", "SOL", "ALA", "NA", "CL", "LIG"]
                  * (n // 7 + 1))[:n],
        resids=np.arange(n) // 3 + 1,
        elements=elements[:n],
        velocities=rng.normal(0.0, 0.5, size=(n, 3)) if velocities else None,
        title="test system",
    )


@pytest.fixture
def make_frame():
    """Factory: make_frame(n=7, box='ortho'|'triclinic'|None, velocities=False)."""
    return _frame
