"""Initial velocities and simple structure builders."""

from __future__ import annotations

import numpy as np

from .units import KB

__all__ = ["maxwell_boltzmann", "remove_com_motion", "fcc_lattice", "temperature"]


def remove_com_motion(velocities, masses):
    """Subtract the centre-of-mass velocity in place; returns ``velocities``."""
    m = np.asarray(masses, dtype=np.float64)
    vcom = (m[:, None] * velocities).sum(axis=0) / m.sum()
    velocities -= vcom
    return velocities


def temperature(velocities, masses, dof) -> float:
    """Instantaneous temperature 2·KE/(dof·k_B) [K]."""
    ke = 0.5 * float(np.sum(np.asarray(masses)[:, None] * velocities ** 2))
    return 2.0 * ke / (dof * KB)


def maxwell_boltzmann(masses, temperature_K, seed=None, *, remove_com=True, exact=True):
    """Velocities (N, 3) [nm/ps] drawn from the Maxwell–Boltzmann distribution at T [K].

    With ``remove_com`` the centre-of-mass motion is removed; with ``exact`` the result is
    rescaled so its instantaneous temperature (3N − 3 degrees of freedom when the COM is
    removed) is exactly ``temperature_K``.
    """
    m = np.asarray(masses, dtype=np.float64)
    massive = m > 0                      # virtual sites (mass 0) get zero velocity
    rng = np.random.default_rng(seed)
    v = np.zeros((m.size, 3))
    v[massive] = rng.standard_normal((int(massive.sum()), 3)) * np.sqrt(
        KB * temperature_K / m[massive])[:, None]
    n = int(massive.sum())
    if remove_com and n > 1:
        v[massive] = remove_com_motion(v[massive], m[massive])
    if exact and temperature_K > 0 and n > 1:
        dof = 3 * n - (3 if remove_com else 0)
        v *= np.sqrt(temperature_K / temperature(v, m, dof))
    return v


def fcc_lattice(cells, density=None, lattice_constant=None):
    """Face-centred cubic lattice of ``cells``³ unit cells (4 sites each).

    Give either the number density [nm⁻³] or the lattice constant [nm]. Returns
    positions (4·cells³, 3) [nm] and the cubic box edge [nm]. Sites are ordered cell by
    cell (x fastest), as LAMMPS's ``create_atoms`` does.
    """
    if (density is None) == (lattice_constant is None):
        raise ValueError("give exactly one of density or lattice_constant")
    a = lattice_constant if lattice_constant is not None else (4.0 / density) ** (1.0 / 3.0)
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    idx = np.arange(cells)
    cz, cy, cx = np.meshgrid(idx, idx, idx, indexing="ij")
    origins = np.stack([cx.ravel(), cy.ravel(), cz.ravel()], axis=1)
    pos = (origins[:, None, :] + basis[None, :, :]).reshape(-1, 3) * a
    return pos, cells * a
