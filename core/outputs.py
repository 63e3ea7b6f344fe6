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
           "AnalysisOutput", "ENERGY_COLUMNS"]

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


class AnalysisOutput(Output):
    """Runs a registered analysis on the frames of a running simulation.

    Frames (positions, box, time; velocities when asked) are kept in memory at every
    report; :meth:`results` runs the analysis on them and returns the same
    :class:`~mdzoom.core.results.Results` as the offline analysis of the same frames
    (e.g. of an ``H5MDOutput`` written with the same ``every``). An analysis that
    provides a streaming accumulator (``fn.accumulator``, e.g. ``rdf``) is fed frame by
    frame instead and keeps no frames.

    Parameters
    ----------
    analysis : str or callable
        A name registered through the ``mdzoom_analyses`` hook (``"rmsd"``, ``"rmsf"``,
        ``"rg"``, ``"rdf"``, ``"msd"``, …) or a function ``fn(trajectory, **params)``.
    every : int
        Steps between frames.
    velocities : bool, optional
        Keep velocities too (default: only for ``vacf``).
    **params
        Passed to the analysis. The system's Topology is passed as ``topology=``
        when the analysis takes that parameter and it is not given.

    >>> out = AnalysisOutput("rdf", every=100, r_max=1.2, n_bins=120)  # doctest: +SKIP
    >>> sim = Simulation(system, integrator, state, outputs=[out])     # doctest: +SKIP
    >>> sim.run(10_000); g = out.results().g                           # doctest: +SKIP

    Resuming from a checkpoint drops the kept frames at or after the checkpoint's step;
    an accumulator that has seen such frames starts over (with a warning).
    """

    def __init__(self, analysis, every=100, *, velocities=None, **params):
        super().__init__(every)
        self.analysis = analysis
        self.params = params
        self.velocities = velocities
        self._fn = None
        self._acc = None
        self._topology = None
        self._n = None
        self._steps, self._times, self._pos, self._boxes, self._vel = [], [], [], [], []
        self._cache = None

    @property
    def name(self) -> str:
        a = self.analysis
        return a if isinstance(a, str) else getattr(a, "__name__", type(a).__name__)

    def _resolve(self, sim):
        if self._fn is not None:
            return
        fn = self.analysis
        if isinstance(fn, str):
            pm = getattr(sim, "plugin_manager", None)
            if pm is None:
                from .plugins import get_plugin_manager
                pm = get_plugin_manager()
            fn = pm.registry.get_analysis(fn)
        if not callable(fn):
            raise TypeError(f"analysis must be a registered name or a callable; got {fn!r}")
        self._fn = fn
        if self.velocities is None:
            self.velocities = self.name == "vacf"

    def _with_topology(self, fn, params):
        import inspect

        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return params
        if "topology" in sig.parameters and "topology" not in params \
                and self._topology is not None:
            params = dict(params, topology=self._topology)
        return params

    def open(self, sim):
        self._resolve(sim)
        self._topology = sim.system.topology
        self._n = sim.system.n_particles
        factory = getattr(self._fn, "accumulator", None)
        if factory is not None and self._acc is None:
            self._acc = factory(self._n, **self._with_topology(factory, self.params))

    def resume(self, sim):
        step = sim.state.step
        keep = [k for k, s in enumerate(self._steps) if s < step]
        if self._acc is not None and len(keep) < len(self._steps):
            import warnings

            warnings.warn(f"AnalysisOutput({self.name!r}): its accumulator has seen frames "
                          f"after step {step}; it starts over", UserWarning, stacklevel=2)
            self._acc = None
            keep = []
        n_kept = len(self._steps)
        for name in ("_steps", "_times", "_pos", "_boxes", "_vel"):
            lst = getattr(self, name)
            if len(lst) == n_kept:
                setattr(self, name, [lst[k] for k in keep])
        self._cache = None

    def report(self, sim):
        st = sim.state
        self._steps.append(st.step)
        self._times.append(st.time)
        if self._acc is not None:
            self._acc.add(st.positions, st.box)
        else:
            self._pos.append(st.positions.copy())
            self._boxes.append(None if st.box is None else np.array(st.box, dtype=float))
            if self.velocities:
                self._vel.append(st.velocities.copy())
        self._cache = None

    @property
    def n_frames(self) -> int:
        return len(self._steps)

    def trajectory(self):
        """The kept frames as a ``Trajectory`` (not for accumulating analyses)."""
        from .analysis import Trajectory

        if self._acc is not None:
            raise ValueError(f"AnalysisOutput({self.name!r}) accumulates frame by frame "
                             "and keeps no frames")
        if not self._pos:
            raise ValueError(f"AnalysisOutput({self.name!r}) has no frame yet (run the "
                             "simulation first)")
        boxes = None if any(b is None for b in self._boxes) else np.array(self._boxes)
        vel = np.array(self._vel) if self.velocities and self._vel else None
        return Trajectory(np.array(self._pos), np.array(self._times, dtype=float), boxes,
                          vel)

    def results(self) -> Results:
        """The analysis of the frames reported so far (cached until the next frame)."""
        if self._cache is None:
            if self._fn is None:
                raise ValueError(f"AnalysisOutput({self.name!r}) has no frame yet (run "
                                 "the simulation first)")
            if self._acc is not None:
                if not self._steps:
                    raise ValueError(f"AnalysisOutput({self.name!r}) has no frame yet")
                self._cache = self._acc.results()
            else:
                self._cache = self._fn(self.trajectory(),
                                       **self._with_topology(self._fn, self.params))
        return self._cache
