"""Any potential as a force: a user's Python or numba function of the coordinates.

>>> import numpy as np
>>> def well(x, box):              # U(x) [kJ/mol] of positions (N, 3) [nm]
...     return float(np.sum(x ** 2))
>>> force = PythonForce(well)      # gradient by central finite differences
>>> force_exact = PythonForce(well, gradient=lambda x, box: 2 * x)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .force import BoundForce, Force

__all__ = ["PythonForce"]


@dataclass
class PythonForce(Force):
    """Force from ``energy(positions, box) -> float`` [kJ/mol].

    Parameters
    ----------
    energy : callable (positions (N, 3) [nm], box (3, 3) [nm]) -> float [kJ/mol]
    gradient : callable (positions, box) -> (N, 3) [kJ mol⁻¹ nm⁻¹], optional
        ∂U/∂x. Without it the gradient is taken by central finite differences with step
        ``fd_step`` [nm] (2·3N energy calls: fine for small systems and tests). A callable
        returning ``(energy, gradient)`` can be passed as ``energy_and_gradient`` instead.
    term : str   energy term name
    """

    energy: Callable | None = None
    gradient: Callable | None = None
    energy_and_gradient: Callable | None = None
    term: str = "Custom"
    fd_step: float = 1e-6

    def __post_init__(self):
        if self.energy is None and self.energy_and_gradient is None:
            raise ValueError("PythonForce needs energy= or energy_and_gradient=")

    def bind(self, system, context):
        return _BoundPythonForce(self)


def finite_difference_gradient(energy, x, box, h=1e-6):
    """Central-difference ∂U/∂x of ``energy(x, box)``, shape of ``x``."""
    g = np.zeros_like(x)
    xp = x.copy()
    for idx in np.ndindex(x.shape):
        orig = xp[idx]
        xp[idx] = orig + h
        up = energy(xp, box)
        xp[idx] = orig - h
        um = energy(xp, box)
        xp[idx] = orig
        g[idx] = (up - um) / (2 * h)
    return g


class _BoundPythonForce(BoundForce):
    def __init__(self, desc):
        self.desc = desc
        self.terms = (desc.term,)

    def compute(self, state, forces_out):
        d = self.desc
        x = state.positions
        if d.energy_and_gradient is not None:
            e, g = d.energy_and_gradient(x, state.box)
        else:
            e = d.energy(x, state.box)
            g = d.gradient(x, state.box) if d.gradient is not None \
                else finite_difference_gradient(d.energy, x, state.box, d.fd_step)
        forces_out -= np.asarray(g, dtype=np.float64).reshape(x.shape)
        return float(e)
