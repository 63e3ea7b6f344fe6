"""PNG figures of results a person would rather see than read.

Uses matplotlib's object API with the Agg canvas directly (no ``pyplot``), so it never
changes the backend or global state of a notebook or GUI session it is called from.

>>> from mdzoom.core.plotting import plot_energy_log
>>> plot_energy_log("out/energy.log", "out/energy.png", n_particles=4000)  # doctest: +SKIP
"""

from __future__ import annotations

import os

import numpy as np

from .units import KB

__all__ = ["plot_energy_log"]

_ENERGIES = (("Potential", "potential"), ("Kinetic En.", "kinetic"),
             ("Total Energy", "total"))


def plot_energy_log(log_path, png_path, *, n_particles=None, stage_starts=None, title=None,
                    dpi=110):
    """Plot an ``EnergyLog`` file: energies (top) and temperature (bottom) vs time.

    Parameters
    ----------
    log_path : path   an energy log written by ``mdzoom.core.EnergyLog``
    png_path : path   the PNG to write
    n_particles : int, optional   divide energies by it (energy per particle)
    stage_starts : list[int], optional   steps where a new stage begins (dashed lines)
    title : str, optional

    The temperature axis has a second scale in k_B T [kJ/mol] (T* in LJ reduced units
    with ε = 1 kJ/mol). Raises ValueError when the log has no rows. Returns ``png_path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .outputs import EnergyLog

    log_path = os.fspath(log_path)
    with open(log_path) as fh:
        rows = sum(1 for line in fh if line.strip() and not line.startswith("#"))
    if rows == 0:
        raise ValueError(f"{log_path}: no energy rows to plot")
    log = EnergyLog.read(log_path)
    t = log["time"]
    scale = 1.0 / n_particles if n_particles else 1.0

    fig = Figure(figsize=(7.5, 6.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax_e, ax_t = fig.subplots(2, 1, sharex=True)
    style = "-" if rows > 1 else "o"
    for key, label in _ENERGIES:
        if key in log:
            ax_e.plot(t, log[key] * scale, style, label=label, lw=1.2)
    ax_e.set_ylabel("energy per particle [kJ/mol]" if n_particles else "energy [kJ/mol]")
    ax_e.legend(loc="best", frameon=False, ncols=3)
    ax_e.grid(alpha=0.3)
    if "Temperature" in log:
        ax_t.plot(t, log["Temperature"], style, color="tab:red", lw=1.2)
        sec = ax_t.secondary_yaxis("right", functions=(lambda x: x * KB, lambda y: y / KB))
        sec.set_ylabel("$k_B T$ [kJ/mol]")
    ax_t.set_ylabel("temperature [K]")
    ax_t.set_xlabel("time [ps]")
    ax_t.grid(alpha=0.3)
    if stage_starts:
        steps = log["step"]
        for s in stage_starts:
            if rows > 1 and steps[0] <= s <= steps[-1]:
                ts = float(np.interp(s, steps, t))
                for ax in (ax_e, ax_t):
                    ax.axvline(ts, color="0.5", ls="--", lw=0.8)
    if title:
        fig.suptitle(title)
    fig.savefig(os.fspath(png_path), dpi=dpi)
    return png_path
