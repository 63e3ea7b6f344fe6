"""Outputs: what a simulation writes, and when.

Each output has a ``trigger`` (``every(n)``) and is called with the simulation on the
steps it fires. Outputs flush what they write at every report, so a killed run loses
nothing, and on resume from a checkpoint they drop anything written after the
checkpoint's step before appending.
"""

from __future__ import annotations

import os

import numpy as np

from .results import Results
from .triggers import every as _every

__all__ = ["Output", "EnergyLog", "H5MDOutput", "CheckpointOutput", "EnergyRecorder",
           "ENERGY_COLUMNS"]

#: observables every energy-writing output records, besides the force terms
ENERGY_COLUMNS = ("Potential", "Kinetic En.", "Total Energy", "Temperature")


class Output:
    """Base class. Subclasses implement ``report(sim)``; ``open``/``close``/``resume`` optional."""

    def __init__(self, every=100):
        self.trigger = _every(every) if isinstance(every, int) else every
        self.last_step = None

    def open(self, sim):
        pass

    def resume(self, sim):
        """Called by ``sim.load_checkpoint``: drop output at steps >= ``sim.state.step``.

        The resumed run reports the checkpoint's own step again (identically), so what
        was written before and after the checkpoint joins without gap or duplicate.
        """

    def report(self, sim):  # pragma: no cover - interface
        raise NotImplementedError

    def close(self):
        pass


def _observables(sim) -> dict[str, float]:
    obs = dict(sim.energy_terms())
    return obs


class EnergyLog(Output):
    """Plain-text energy table (one row per report, whitespace-separated, ``#`` header).

    Columns: step, time [ps], every energy term [kJ/mol], kinetic, total, temperature [K].
    """

    def __init__(self, path, every=100):
        super().__init__(every)
        self.path = os.fspath(path)
        self._fh = None
        self._columns = None

    def open(self, sim):
        if self._fh is not None:
            return
        self._columns = list(_observables(sim))
        exists = os.path.exists(self.path) and os.path.getsize(self.path) > 0
        if getattr(self, "_append", False) and exists:
            self._fh = open(self.path, "a")
        else:
            self._fh = open(self.path, "w")
            header = ["step", "time"] + [c.replace(" ", "_") for c in self._columns]
            self._fh.write("# " + " ".join(header) + "\n")
            self._fh.flush()

    def resume(self, sim):
        step = sim.state.step
        if os.path.exists(self.path):
            with open(self.path) as fh:
                lines = fh.readlines()
            keep = [ln for ln in lines if ln.startswith("#") or int(ln.split()[0]) < step]
            with open(self.path, "w") as fh:
                fh.writelines(keep)
        self._append = True

    def report(self, sim):
        obs = _observables(sim)
        vals = " ".join(f"{obs.get(c, float('nan')):.10g}" for c in self._columns)
        self._fh.write(f"{sim.state.step} {sim.state.time:.6f} {vals}\n")
        self._fh.flush()

    def close(self):
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @staticmethod
    def read(path) -> Results:
        """Read a log back: a Results of 1-D arrays keyed by column name."""
        with open(path) as fh:
            header = fh.readline().lstrip("#").split()
        data = np.loadtxt(path, ndmin=2).reshape(-1, len(header))
        return Results({h.replace("_", " "): data[:, k] for k, h in enumerate(header)})


class EnergyRecorder(Output):
    """Keeps energies in memory: ``recorder.results["Total Energy"]`` etc. (arrays)."""

    def __init__(self, every=100):
        super().__init__(every)
        self._rows = []

    def report(self, sim):
        self._rows.append({"step": sim.state.step, "time": sim.state.time,
                           **_observables(sim)})

    @property
    def results(self) -> Results:
        keys = self._rows[0].keys() if self._rows else ()
        return Results({k: np.array([r[k] for r in self._rows]) for k in keys})


class H5MDOutput(Output):
    """Trajectory in H5MD (readable by MDAnalysis), with energies as observables.

    Parameters
    ----------
    path : str
    every : int   steps between frames
    velocities : bool   also store velocities
    """

    def __init__(self, path, every=100, velocities=False):
        super().__init__(every)
        self.path = os.fspath(path)
        self.velocities = velocities
        self._writer = None
        self._mode = "w"

    def open(self, sim):
        if self._writer is not None:
            return
        from .io.h5md import H5MDWriter

        top = sim.system.topology
        self._writer = H5MDWriter(self.path, sim.system.n_particles, mode=self._mode,
                                  species=np.asarray(top.type_ids),
                                  write_velocities=self.velocities)

    def resume(self, sim):
        if os.path.exists(self.path):
            from .io.h5md import H5MDWriter

            with H5MDWriter(self.path, sim.system.n_particles, mode="a") as w:
                w.truncate_after(sim.state.step - 1)
            self._mode = "a"

    def report(self, sim):
        st = sim.state
        self._writer.append(st.step, st.time, st.positions, st.box,
                            velocities=st.velocities if self.velocities else None,
                            observables=_observables(sim))

    def close(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class CheckpointOutput(Output):
    """Writes a checkpoint every ``every`` steps (atomically: temp file, then rename)."""

    def __init__(self, path, every=1000):
        super().__init__(every)
        self.path = os.fspath(path)

    def report(self, sim):
        sim.save_checkpoint(self.path)
