"""What ``mdzoom analyze NAME …`` does, apart from argument parsing (``core/cli.py``).

Generic over the analyses registered through the ``mdzoom_analyses`` hook: the
trajectory is read (``-f``), an optional topology or structure (``-s``) gives
selections, masses and molecules, ``--select``/``--select2`` are resolved to particle
indices and passed under the analysis' own parameter name, ``--param key=value`` pass
anything else, and the Results are printed as a summary, as JSON, or plotted to PNG.
"""

from __future__ import annotations

import ast
import inspect
import json
import os

import numpy as np

from ..results import Results

__all__ = ["load_trajectory", "load_topology", "parse_params", "run_analysis",
           "summarise", "to_jsonable", "SELECT_PARAMS", "SELECT2_PARAMS",
           "TRAJECTORY_PARAMS"]

#: parameter names ``--select`` fills, the first the analysis takes
SELECT_PARAMS = ("selection", "group_a", "particles", "atoms", "group")
#: names the first parameter of an analysis that takes a trajectory may have
TRAJECTORY_PARAMS = ("traj", "trajectory")
#: parameter names ``--select2`` fills
SELECT2_PARAMS = ("group_b", "fit_selection")


def load_trajectory(path):
    """An H5MD trajectory (``.h5md``/``.h5``) or a one-frame structure file."""
    from ..io import read_h5md, read_structure
    from ._trajectory import as_trajectory

    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext in (".h5md", ".h5", ".hdf5"):
        return as_trajectory(read_h5md(path))
    frame = read_structure(path)
    return as_trajectory((frame.positions, None, frame.box),
                         velocities=frame.velocities)


def load_topology(path, include_dirs=()):
    """A ``Topology`` from a ``.top`` file, or the ``Frame`` of a structure file."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext in (".top", ".itp"):
        from ..gromacs import topology_from_gromacs
        from ..io.top import read_top

        return topology_from_gromacs(read_top(os.fspath(path), include_dirs=include_dirs))
    from ..io import read_structure

    return read_structure(path)


def _topology_and_speedup(path, include_dirs=()):
    """``(topology, speedup)``: ``load_topology``, plus for a ``.top`` the factor its
    force-field plugin gives through ``mdzoom_dynamics_speedup`` (None for none)."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in (".top", ".itp"):
        return load_topology(path, include_dirs), None
    from ..gromacs import topology_from_gromacs
    from ..io.top import read_top
    from ..plugins import get_plugin_manager

    gtop = read_top(os.fspath(path), include_dirs=include_dirs)
    speedup = get_plugin_manager().pm.hook.mdzoom_dynamics_speedup(topology=gtop)
    return topology_from_gromacs(gtop), speedup


def _value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        low = text.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        if low in ("none", "null"):
            return None
        return text


def parse_params(items) -> dict:
    """``["key=value", …]`` → dict; values are Python literals when they parse as one
    (``1.2``, ``(10, 50)``, ``[0, 1]``, ``True``), else strings (``dims=xy``)."""
    out = {}
    for item in items or ():
        key, sep, val = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"--param expects key=value; got {item!r}")
        out[key] = _value(val)
    return out


def _parameters(fn):
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def _slice_frames(tr, begin, end, stride):
    from ._trajectory import Trajectory

    keep = np.ones(tr.n_frames, dtype=bool)
    if begin is not None:
        keep &= tr.times >= float(begin) - 1e-9
    if end is not None:
        keep &= tr.times <= float(end) + 1e-9
    idx = np.flatnonzero(keep)[::max(int(stride or 1), 1)]
    if idx.size == 0:
        raise ValueError(f"no frame between -b {begin} and -e {end} ps (the trajectory "
                         f"spans {tr.times[0]:g}–{tr.times[-1]:g} ps)")
    if idx.size == tr.n_frames:
        return tr
    return Trajectory(tr.positions[idx], tr.times[idx],
                      None if tr.boxes is None else tr.boxes[idx],
                      None if tr.velocities is None else tr.velocities[idx])


def run_analysis(name, trajectory, topology=None, select=None, select2=None, params=None,
                 begin=None, end=None, stride=1, registry=None, include_dirs=()):
    """Run a registered analysis as ``mdzoom analyze`` does; returns ``(fn, Results)``.

    ``topology``: a Topology/Frame, or a path (``.top``: its force-field plugin may give a
    dynamics speed-up through ``mdzoom_dynamics_speedup``, which analyses taking
    ``speedup`` (``msd``) then get unless ``params`` sets it)."""
    from .selection import resolve_indices

    if registry is None:
        from ..plugins import get_plugin_manager
        registry = get_plugin_manager().registry
    fn = registry.get_analysis(name)
    tr = load_trajectory(trajectory) if isinstance(trajectory, (str, os.PathLike)) \
        else trajectory
    tr = _slice_frames(tr, begin, end, stride)
    speedup = None
    if isinstance(topology, (str, os.PathLike)):
        topology, speedup = _topology_and_speedup(topology, include_dirs)
    if topology is not None:
        n_top = getattr(topology, "n_particles", None)
        if n_top is not None and n_top != tr.n_particles:
            raise ValueError(f"the topology has {n_top} particles, the trajectory "
                             f"{tr.n_particles}")
    sig = _parameters(fn)
    first = next(iter(sig), None)
    if sig and first not in TRAJECTORY_PARAMS:
        raise ValueError(f"analysis {name!r} does not take a trajectory (its first "
                         f"parameter is {first!r}); mdzoom analyze runs analyses "
                         f"fn(traj, **params) — call this one from Python")
    kwargs = dict(params or {})
    for spec, names, flag in ((select, SELECT_PARAMS, "--select"),
                              (select2, SELECT2_PARAMS, "--select2")):
        if spec is None:
            continue
        target = next((p for p in names if p in sig), None)
        if target is None:
            raise ValueError(f"analysis {name!r} takes no {flag} (it has none of the "
                             f"parameters {', '.join(names)}); use --param")
        kwargs[target] = resolve_indices(spec, tr.n_particles, topology, flag)
    if topology is not None and "topology" in sig and "topology" not in kwargs:
        kwargs["topology"] = topology
    if speedup is not None and "speedup" in sig and "speedup" not in kwargs:
        kwargs["speedup"] = speedup          # a CG force field: D raw and scaled, labelled
    unknown = [k for k in kwargs if k not in sig] \
        if not any(p.kind == p.VAR_KEYWORD for p in sig.values()) else []
    if unknown:
        avail = [p for p in sig if p not in ("traj", "trajectory")]
        raise ValueError(f"analysis {name!r} has no parameter {unknown[0]!r}; available: "
                         f"{', '.join(avail)}")
    return fn, fn(tr, **kwargs)


# --------------------------------------------------------------------------- output


def to_jsonable(obj):
    """Results (nested dicts, lists, numpy arrays and scalars) → JSON-ready objects;
    NaN and infinities become null."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def _fmt(v):
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    return str(v)


def summarise(name, res: Results, n_frames=None) -> str:
    """A short human-readable summary: scalars, array statistics, then the note."""
    lines = [f"{name}" + (f" ({n_frames} frames)" if n_frames is not None else "")]
    arrays = []
    for key, val in res.items():
        if key == "note":
            continue
        if isinstance(val, np.ndarray) and val.dtype.kind in "fiub":
            if val.size <= 6 and val.ndim == 1:
                lines.append(f"  {key:<16} {' '.join(_fmt(v) for v in val)}")
            elif val.size:
                arrays.append(f"  {key:<16} {'×'.join(map(str, val.shape)):>9}  "
                              f"min {_fmt(np.nanmin(val))}  mean {_fmt(np.nanmean(val))}  "
                              f"max {_fmt(np.nanmax(val))}")
        elif isinstance(val, (list, tuple)) and val and isinstance(val[0], dict):
            lines.append(f"  {key:<16} {len(val)} entries")
        elif isinstance(val, (list, tuple)):
            shown = " ".join(_fmt(v) for v in val[:6]) + (" …" if len(val) > 6 else "")
            lines.append(f"  {key:<16} {shown}")
        elif isinstance(val, (int, float, str, bool, np.integer, np.floating, np.bool_)):
            lines.append(f"  {key:<16} {_fmt(val)}")
    lines.extend(arrays)
    if "note" in res:
        lines.append(f"  note: {res['note']}")
    return "\n".join(lines)


def write_json(res) -> str:
    return json.dumps(to_jsonable(res), allow_nan=False)
