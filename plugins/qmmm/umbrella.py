"""Umbrella sampling: a harmonic bias on a collective variable, a CV recorder, and a
driver that runs the windows as independent jobs through ``mdzoom.core.ensemble``.

- ``UmbrellaBias(cv, center, k)``: U = ½ k (ξ − ξ0)² [kJ/mol] as a core ``Force``
  (describe, then bind), energy term ``COM Pull En.`` (GROMACS's name for pull
  potentials), forces −k (ξ − ξ0) ∂ξ/∂x, its own virial. Periodic CVs (dihedrals) use
  the periodic difference.
- ``CVOutput(cvs, path=None, every=1)``: an ``Output`` that records ξ(t) in memory and,
  with a path, in a text file (``step time ξ…``; the window header ``mdzoom pmf`` reads).
- ``umbrella_windows(centers, k, cv, config, ...)`` → one ``UmbrellaWindow`` per centre,
  each holding an ``mdzoom.core.ensemble.Member`` whose run configuration is the user's
  plus the bias; ``run_umbrella(windows, out_dir, ...)`` runs them with ``run_ensemble``
  (a local process pool by default, any executor — Dask's — when given), reads ξ(t)
  back from each window's ``traj.h5md``, writes ``<window>/cv.dat`` and an index
  ``umbrella.toml``, and returns the windows' samples ready for ``wham``/``mbar_pmf`` or
  ``mdzoom pmf umbrella.toml``.

>>> from mdzoom.plugins.qmmm.cv import Distance
>>> bias = UmbrellaBias(Distance(0, 1), center=0.5, k=2000.0)     # doctest: +SKIP
>>> system.add_force(bias)                                        # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mdzoom.core.force import BoundForce, Force
from mdzoom.core.outputs import Output
from mdzoom.core.results import Results

from .cv import cv_from_spec, cv_series, minimum_image, periodic_difference

__all__ = ["UmbrellaBias", "CVOutput", "UmbrellaWindow", "umbrella_windows",
           "run_umbrella", "write_cv_file", "read_cv_file", "write_index", "read_windows",
           "CV_FILE", "INDEX_FILE"]

CV_FILE = "cv.dat"              # ξ(t) of a window, beside its traj.h5md
INDEX_FILE = "umbrella.toml"    # the windows of an umbrella run: files, centres, k


# --------------------------------------------------------------------------- the bias


@dataclass
class UmbrellaBias(Force):
    """Harmonic umbrella U = ½ k (ξ − center)² on a collective variable.

    In a run configuration (once registered as ``umbrella``)::

        [[forces]]
        type = "umbrella"
        cv = {type = "distance", atoms = [0, 1]}     # see cv.cv_from_spec
        center = 0.5
        k = 2000.0

    Parameters
    ----------
    cv : CollectiveVariable or a table for ``cv_from_spec``
        (``mdzoom.plugins.qmmm.cv``: value/gradient/periodic)
    center : float [nm or rad]
    k : float [kJ mol⁻¹ unit⁻²]   (kJ/mol/nm² for distances, kJ/mol/rad² for angles)
    term : str   energy term name (default GROMACS's ``COM Pull En.``)
    """

    cv: object
    center: float
    k: float
    term: str = "COM Pull En."

    def __post_init__(self):
        if isinstance(self.cv, dict):           # from a run configuration's [[forces]]
            self.cv = cv_from_spec(self.cv)
        self.center = float(self.center)
        self.k = float(self.k)
        if not self.k >= 0 or not np.isfinite(self.k):
            raise ValueError(f"UmbrellaBias: k must be >= 0 and finite; got {self.k}")
        for attr in ("gradient", "value"):
            if not callable(getattr(self.cv, attr, None)):
                raise TypeError(f"UmbrellaBias: cv must have a {attr}() method (a "
                                f"collective variable); got {type(self.cv).__name__}")

    def energy(self, xi) -> float:
        """U(ξ) [kJ/mol]."""
        d = periodic_difference(xi, self.center, getattr(self.cv, "periodic", None))
        return 0.5 * self.k * float(d) ** 2

    def bind(self, system, context):
        atoms = tuple(getattr(self.cv, "atoms", ()))
        bad = [a for a in atoms if a < 0 or a >= system.n_particles]
        if bad:
            raise IndexError(f"UmbrellaBias on {getattr(self.cv, 'name', self.cv)}: particle "
                             f"{bad[0]} out of range for {system.n_particles} particles")
        return _BoundUmbrella(self, atoms)


class _BoundUmbrella(BoundForce):
    def __init__(self, desc, atoms):
        self.desc = desc
        self.terms = (desc.term,)
        self.atoms = np.asarray(atoms, dtype=np.int64)
        self.last_value = None       # ξ of the last evaluation
        self.last_virial = None

    def _forces(self, state, forces_out):
        d = self.desc
        xi, g = d.cv.gradient(state.positions, state.box)
        diff = float(periodic_difference(xi, d.center, getattr(d.cv, "periodic", None)))
        f = -d.k * diff * g
        forces_out += f
        self.last_value = float(xi)
        return 0.5 * d.k * diff * diff, f

    def compute(self, state, forces_out):
        return self._forces(state, forces_out)[0]

    def compute_virial(self, state, forces_out):
        """Ξ = −½ Σ_a x_a ⊗ f_a over the CV's atoms, placed at the minimum image of the
        first (a CV is translation invariant, so this is the virial of the bias)."""
        e, f = self._forces(state, forces_out)
        vir = np.zeros((3, 3))
        if self.atoms.size:
            x = state.positions[self.atoms]
            xw = x[0] + minimum_image(x - x[0], state.box)
            vir = -0.5 * np.einsum("ia,ib->ab", xw, f[self.atoms])
        self.last_virial = vir
        return e


# --------------------------------------------------------------------------- recording


def _header(name, cvs, center, k, temperature=None):
    cvs = list(cvs)
    lines = [f"# mdzoom umbrella window {name}"]
    if cvs:
        lines.append("# cv: " + "; ".join(f"{getattr(c, 'name', type(c).__name__)} "
                                          f"[{getattr(c, 'unit', '')}]" for c in cvs))
    if center is not None:
        lines.append("# center: " + " ".join(f"{v:.10g}" for v in np.atleast_1d(center)))
    if k is not None:
        lines.append("# k: " + " ".join(f"{v:.10g}" for v in np.atleast_1d(k)))
    per = [getattr(c, "periodic", None) for c in cvs]
    if any(p is not None for p in per):
        lines.append("# periodic: " + " ".join("none" if p is None else f"{p:.17g}"
                                               for p in per))
    if temperature is not None:
        lines.append(f"# temperature: {float(temperature):.10g}")
    n_xi = len(cvs) or (np.size(center) if center is not None else 1)
    cols = ["step", "time"] + (["xi"] if n_xi == 1 else [f"xi{i + 1}" for i in range(n_xi)])
    lines.append("# columns: " + " ".join(cols))
    return "\n".join(lines) + "\n"


class CVOutput(Output):
    """Records collective variables every ``every`` steps (a core ``Output``).

    Parameters
    ----------
    cvs : CV or sequence of CVs
    path : path, optional   text file ``step time ξ…`` (with the ``# …`` header of
                            :func:`write_cv_file`); without it, memory only
    every : int             steps between records (1: every step)
    center, k : optional    written to the header (what ``mdzoom pmf`` needs)

    ``output.results`` → Results(step (T,), time (T,) [ps], xi (T,) or (T, D)).
    """

    def __init__(self, cvs, path=None, every=1, *, center=None, k=None, temperature=None,
                 name="window"):
        super().__init__(every)
        self.cvs = list(cvs) if isinstance(cvs, (list, tuple)) else [cvs]
        self.path = None if path is None else os.fspath(path)
        self.center, self.k, self.temperature, self.name = center, k, temperature, name
        self._rows = []
        self._fh = None

    def open(self, sim):
        if self.path is not None and self._fh is None:
            self._fh = open(self.path, "w")
            self._fh.write(_header(self.name, self.cvs, self.center, self.k,
                                   self.temperature))
            self._fh.flush()

    def resume(self, sim):
        step = sim.state.step
        self._rows = [r for r in self._rows if r[0] < step]
        if self.path is not None:
            if self._fh is not None:
                self._fh.close()
            self._fh = open(self.path, "w")
            self._fh.write(_header(self.name, self.cvs, self.center, self.k,
                                   self.temperature))
            for r in self._rows:
                self._fh.write(_row(r))
            self._fh.flush()

    def report(self, sim):
        st = sim.state
        row = (st.step, st.time) + tuple(c.value(st.positions, st.box) for c in self.cvs)
        self._rows.append(row)
        if self._fh is not None:
            self._fh.write(_row(row))
            self._fh.flush()

    def close(self):
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @property
    def results(self) -> Results:
        a = np.array(self._rows, dtype=np.float64).reshape(-1, 2 + len(self.cvs))
        xi = a[:, 2] if len(self.cvs) == 1 else a[:, 2:]
        return Results(step=a[:, 0].astype(np.int64), time=a[:, 1], xi=xi)


def _row(r):
    return f"{int(r[0])} {r[1]:.6f} " + " ".join(f"{v:.10g}" for v in r[2:]) + "\n"


def write_cv_file(path, steps, times, xi, *, name="window", cvs=(), center=None, k=None,
                  temperature=None):
    """Write ξ(t) of one window: ``# key: value`` header lines (cv, center, k, periodic,
    temperature, columns) and rows ``step time ξ…``."""
    xi = np.asarray(xi, dtype=np.float64)
    xi2 = xi.reshape(len(steps), -1)
    with open(path, "w") as fh:
        fh.write(_header(name, cvs, center, k, temperature))
        for s, t, v in zip(steps, times, xi2):
            fh.write(_row((s, t, *v)))
    return path


def read_cv_file(path) -> Results:
    """Read a window file (:func:`write_cv_file`, :class:`CVOutput`, or any whitespace
    table whose last column(s) are ξ and whose header may give ``center``, ``k``,
    ``periodic`` and ``temperature`` as ``# key: values``).

    Returns Results(step, time, xi (T,) or (T, D), center, k, periodic, temperature,
    path) — header values None where absent. Raises ValueError naming the file and line
    on malformed input.
    """
    path = Path(path)
    meta, rows, ncol = {}, [], None
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.strip()
            if not s:
                continue
            if s.startswith("#") or s.startswith("@"):
                body = s.lstrip("#@ ").strip()
                if ":" in body:
                    key, _, val = body.partition(":")
                    meta[key.strip().lower()] = val.strip()
                continue
            try:
                vals = [float(v) for v in s.split()]
            except ValueError:
                raise ValueError(f"{path}:{lineno}: expected numbers (step time ξ…), got "
                                 f"{s[:60]!r}") from None
            if ncol is None:
                ncol = len(vals)
            elif len(vals) != ncol:
                raise ValueError(f"{path}:{lineno}: expected {ncol} columns like the first "
                                 f"row, got {len(vals)}")
            rows.append(vals)
    if not rows:
        raise ValueError(f"{path}: no data rows (expected lines 'step time ξ')")
    a = np.array(rows)
    cols = meta.get("columns", "").split()
    n_xi = len([c for c in cols if c.startswith("xi")]) or (1 if ncol < 3 else ncol - 2)
    if ncol < n_xi + 1:
        raise ValueError(f"{path}: expected at least {n_xi + 1} columns (time ξ), got {ncol}")
    xi = a[:, -n_xi:] if n_xi > 1 else a[:, -1]
    if ncol >= n_xi + 2:
        step, time = a[:, 0].astype(np.int64), a[:, 1]
    else:
        step, time = np.arange(len(a)), a[:, 0]

    def numbers(key):
        if key not in meta:
            return None
        try:
            v = [float(x) for x in meta[key].replace(",", " ").split()]
        except ValueError:
            raise ValueError(f"{path}: header '# {key}: {meta[key]}' is not numeric") from None
        return v[0] if len(v) == 1 else v

    per = None
    if meta.get("periodic"):
        try:
            p = [None if t.lower() == "none" else float(t) for t in meta["periodic"].split()]
        except ValueError:
            raise ValueError(f"{path}: header '# periodic: {meta['periodic']}' is not a "
                             "period or 'none'") from None
        per = p[0] if len(p) == 1 else p
    return Results(step=step, time=time, xi=xi, center=numbers("center"), k=numbers("k"),
                   periodic=per, temperature=numbers("temperature"), path=path)


def write_index(path, windows, temperature=None, jacobian=None):
    """Write ``umbrella.toml``: temperature, optional jacobian, and ``[[windows]]`` with
    file (relative to the index), center, k and, where set, periodic."""
    path = Path(path)
    lines = ["# umbrella-sampling windows (mdzoom.plugins.qmmm.umbrella); "
             "mdzoom pmf reads this file"]
    if temperature is not None:
        lines.append(f"temperature = {float(temperature)!r}")
    if jacobian is not None:
        lines.append(f'jacobian = "{jacobian}"')
    for w in windows:
        lines.append("")
        lines.append("[[windows]]")
        rel = os.path.relpath(Path(w["file"]).resolve(), path.resolve().parent)
        lines.append(f'file = "{Path(rel).as_posix()}"')
        for key in ("center", "k"):
            v = [float(x) for x in np.atleast_1d(w[key])]
            lines.append(f"{key} = {v[0]!r}" if len(v) == 1 else
                         f"{key} = [{', '.join(repr(x) for x in v)}]")
        per = w.get("periodic")
        per = list(per) if isinstance(per, (list, tuple)) else [per]
        if any(p is not None for p in per):
            pv = [float(p) if p is not None else 0.0 for p in per]
            lines.append(f"periodic = {pv[0]!r}" if len(pv) == 1 else
                         f"periodic = [{', '.join(repr(x) for x in pv)}]")
    path.write_text("\n".join(lines) + "\n")
    return path


def read_windows(paths) -> Results:
    """Windows from an index TOML (``umbrella.toml``) or from window files.

    Returns Results(samples [K arrays], centers (K,) or (K, D), k, periodic, temperature
    (None if no file gives it), jacobian (None unless the index sets it), files).
    Raises ValueError naming the file and the missing or malformed item.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    if not paths:
        raise ValueError("no input: give an umbrella.toml or window files")
    windows, temperature, jacobian = [], None, None
    if len(paths) == 1 and paths[0].suffix == ".toml":
        from mdzoom.core.config import read_toml

        index = paths[0]
        data = read_toml(index)
        unknown = sorted(set(data) - {"temperature", "jacobian", "windows"})
        if unknown:
            raise ValueError(f"{index}: unknown key(s) {', '.join(unknown)}; expected "
                             "temperature, jacobian, [[windows]]")
        if not isinstance(data.get("windows"), list) or not data["windows"]:
            raise ValueError(f"{index}: no [[windows]] (each: file, center, k)")
        temperature, jacobian = data.get("temperature"), data.get("jacobian")
        for n, w in enumerate(data["windows"], 1):
            if "file" not in w:
                raise ValueError(f"{index}: [[windows]] #{n} has no 'file'")
            f = index.parent / w["file"]
            if not f.is_file():
                raise FileNotFoundError(2, "window file not found", os.fspath(f))
            r = read_cv_file(f)
            for key in ("center", "k", "periodic"):
                if key in w:
                    v = w[key]
                    if key == "periodic":
                        v = [None if p == 0 else p for p in np.atleast_1d(v)]
                        v = v[0] if len(v) == 1 else v
                    r[key] = v
            windows.append(r)
    else:
        for p in paths:
            if not p.is_file():
                raise FileNotFoundError(2, "window file not found", os.fspath(p))
            windows.append(read_cv_file(p))
    for w in windows:
        for key in ("center", "k"):
            if w[key] is None:
                raise ValueError(f"{w.path}: no {key} (expected a '# {key}: …' header line "
                                 "or a value in the index TOML)")
        if temperature is None and w.temperature is not None:
            temperature = w.temperature
    dims = {np.size(w.center) for w in windows}
    if len(dims) != 1:
        raise ValueError("windows mix one- and two-coordinate centres")
    return Results(samples=[w.xi for w in windows],
                   centers=np.array([w.center for w in windows], dtype=float),
                   k=np.array([np.broadcast_to(w.k, np.shape(w.center)) for w in windows],
                              dtype=float),
                   periodic=windows[0].periodic, temperature=temperature, jacobian=jacobian,
                   files=[w.path for w in windows])


# --------------------------------------------------------------------------- driver


@dataclass
class UmbrellaWindow:
    """One window: its name, CV(s), centre, force constant, and the ensemble member that
    runs it (its ``config`` is a ``RunConfig`` with the bias among its forces)."""

    name: str
    cv: object
    center: object
    k: object
    member: object


def _as_list(cv):
    return list(cv) if isinstance(cv, (list, tuple)) else [cv]


def _load_base(config):
    """A RunConfig from a TOML path, a parsed dict or a RunConfig."""
    from mdzoom.core.config import RunConfig, load_config, parse_config

    if isinstance(config, RunConfig):
        return copy.deepcopy(config)
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    if isinstance(config, dict):
        return parse_config(copy.deepcopy(config))
    raise TypeError(f"config must be a TOML path, a dict or a RunConfig; got "
                    f"{type(config).__name__}")


def umbrella_windows(centers, k, cv, config, *, steps=None, record_every=10,
                     structures=None, name_format="w{index:03d}", plot=False,
                     energy_every=None) -> list[UmbrellaWindow]:
    """Run specifications of an umbrella-sampling set.

    Parameters
    ----------
    centers : (K,) or (K, D)   window centres [nm or rad]; (K, D) with D CVs
    k : float, (K,), (D,) or (K, D) [kJ mol⁻¹ unit⁻²]   force constants
    cv : CV or sequence of D CVs
    config : TOML path, dict or RunConfig
        The unbiased run (``docs/config.md``): system, forces, integrator (a thermostat:
        Langevin), steps. Each window is this plus ``UmbrellaBias`` force(s).
    steps : int, optional   total steps of each window (default: the config's)
    record_every : int      steps between recorded ξ (the H5MD trajectory interval)
    structures : sequence of K paths, optional
        Per-window starting structures (e.g. from a pulling run); default the config's.
    name_format : str       window names, ``str.format`` with ``index`` and ``center``
    plot : bool             energy.png per window
    energy_every : int, optional   energy.log interval (default: the config's)

    Returns a list of :class:`UmbrellaWindow`; pass it to :func:`run_umbrella`.
    """
    from mdzoom.core.ensemble import Member

    cvs = _as_list(cv)
    dim = len(cvs)
    c = np.asarray(centers, dtype=np.float64)
    c = c.reshape(-1, dim) if (c.ndim == 1 and dim == 1) or c.ndim == 2 else None
    if c is None or c.shape[1] != dim or c.shape[0] == 0:
        raise ValueError(f"centers must have shape (K,) for one CV or (K, {dim}) for {dim}; "
                         f"got {np.shape(centers)}")
    n = c.shape[0]
    ka = np.asarray(k, dtype=np.float64)
    if ka.ndim == 0:
        kk = np.full((n, dim), float(ka))
    elif dim > 1 and ka.shape == (dim,):
        kk = np.tile(ka, (n, 1))
    elif ka.shape == (n,):
        kk = np.repeat(ka[:, None], dim, axis=1)
    elif ka.shape == (n, dim):
        kk = ka
    else:
        raise ValueError(f"k must be a number, (K,), (D,) or (K, D); got shape {ka.shape}")
    if structures is not None and len(structures) != n:
        raise ValueError(f"{n} windows need {n} structures; got {len(structures)}")
    if int(record_every) < 1:
        raise ValueError(f"record_every must be >= 1; got {record_every}")
    base = _load_base(config)
    out = []
    for i in range(n):
        cfg = copy.deepcopy(base)
        cfg.forces = list(cfg.forces) + [UmbrellaBias(cv_, c[i, d], kk[i, d])
                                         for d, cv_ in enumerate(cvs)]
        cfg.force_specs = list(cfg.force_specs) + [
            {"type": "umbrella", "cv": getattr(cv_, "name", repr(cv_)),
             "center": float(c[i, d]), "k": float(kk[i, d])} for d, cv_ in enumerate(cvs)]
        if steps is not None:
            cfg = cfg.with_total_steps(int(steps))
        cfg.output = dataclasses.replace(
            base.output, trajectory_every=int(record_every), plot=bool(plot),
            energy_every=base.output.energy_every if energy_every is None
            else int(energy_every))
        if structures is not None:
            p = Path(structures[i])
            if not p.is_file():
                raise FileNotFoundError(2, "window structure not found", os.fspath(p))
            cfg.system = dict(cfg.system)
            cfg.system.pop("builder", None)
            cfg.system["structure"] = p.resolve()
        name = name_format.format(index=i, center=c[i, 0] if dim == 1 else tuple(c[i]))
        center = float(c[i, 0]) if dim == 1 else c[i].copy()
        kw = float(kk[i, 0]) if dim == 1 else kk[i].copy()
        out.append(UmbrellaWindow(name, cv if dim == 1 and not isinstance(cv, (list, tuple))
                                  else cvs, center, kw, Member(name, cfg)))
    return out


def _temperature_of(cfg):
    for st in getattr(cfg, "stages", []) or []:
        t = getattr(st.integrator, "temperature", None)
        if t is not None:
            return float(t)
    return None


def run_umbrella(windows, out_dir, *, executor=None, workers=None, base_seed=0,
                 resume=True, discard=0, progress=None, threads_per_member=1,
                 jacobian=None) -> Results:
    """Run the windows through ``mdzoom.core.ensemble.run_ensemble`` and collect ξ(t).

    Parameters
    ----------
    windows : list of UmbrellaWindow (:func:`umbrella_windows`)
    out_dir : path       each window runs in ``out_dir/<name>/``
    executor : concurrent.futures.Executor, optional
        Default: a local process pool (``workers`` processes); Dask: pass
        ``client.get_executor()``. Seeds derive from ``base_seed`` and the window names.
    resume : bool        finished windows are not rerun (see ``docs/ensemble.md``)
    discard : int        leading steps of each window left out of ξ (equilibration)
    jacobian : str, optional   written to the index for ``mdzoom pmf``

    Returns Results(samples [K arrays (T,) or (T, D)], centers, k, periodic, temperature,
    names, files (cv.dat paths), index (umbrella.toml path), ensemble (EnsembleResult)).
    Raises RuntimeError listing the windows that failed (with their errors).
    """
    from mdzoom.core.ensemble import run_ensemble
    from mdzoom.core.io.h5md import read_h5md

    windows = list(windows)
    if not windows:
        raise ValueError("no windows")
    out_dir = Path(out_dir)
    result = run_ensemble([w.member for w in windows], executor, out_dir=out_dir,
                          resume=resume, base_seed=base_seed, workers=workers,
                          threads_per_member=threads_per_member, progress=progress)
    if not result.ok:
        msgs = "; ".join(f"{r['name']}: {r['error']}" for r in result.failed)
        raise RuntimeError(f"{len(result.failed)} of {len(windows)} umbrella windows failed: "
                           f"{msgs} (see failed.json in their directories)")
    temperature = _temperature_of(windows[0].member.config)
    samples, files, entries = [], [], []
    for w, row in zip(windows, result.rows):
        wdir = Path(row["out_dir"])
        traj = read_h5md(wdir / "traj.h5md")
        keep = traj.steps >= int(discard)
        cvs = _as_list(w.cv)
        boxes = traj.boxes[keep] if traj.boxes is not None else None
        cols = [cv_series(cv_, traj.positions[keep], boxes) for cv_ in cvs]
        xi = cols[0] if len(cols) == 1 else np.stack(cols, axis=1)
        f = write_cv_file(wdir / CV_FILE, traj.steps[keep], traj.times[keep], xi,
                          name=w.name, cvs=cvs, center=w.center, k=w.k,
                          temperature=temperature)
        per = [getattr(cv_, "periodic", None) for cv_ in cvs]
        samples.append(xi)
        files.append(f)
        entries.append({"file": f, "center": w.center, "k": w.k,
                        "periodic": per[0] if len(per) == 1 else per})
    index = write_index(out_dir / INDEX_FILE, entries, temperature, jacobian)
    cvs0 = _as_list(windows[0].cv)
    per = [getattr(cv_, "periodic", None) for cv_ in cvs0]
    return Results(samples=samples, centers=np.array([w.center for w in windows]),
                   k=np.array([w.k for w in windows]),
                   periodic=per[0] if len(per) == 1 else per, temperature=temperature,
                   names=[w.name for w in windows], files=files, index=index,
                   ensemble=result)
