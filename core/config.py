"""Run configuration files (TOML) for ``mdzoom run``: parse, validate, run.

The schema is documented in ``docs/config.md``; ``examples/run_lj.toml`` is a complete
example and ``mdzoom/core/data/demo_lj.toml`` is what ``mdzoom demo`` runs. In short::

    title = "..."                      # optional
    [system]      builder = "lj-fluid" (cells, density, mass, temperature, type)
                  | structure = "conf.gro" (type, types, mass, charge, temperature)
                  | topology = "topol.top", structure = "conf.gro", mdp = "run.mdp"
                    (a GROMACS force field: its forces come from the topology and .mdp)
    [[forces]]    type = "<registered force>", keyword parameters …
    [[transforms]] type = "<registered transform>", keyword parameters …  (e.g. "qmmm")
    [integrator]  type = "<registered integrator>", keyword parameters …   ┐ either
    [run]         steps, seed, skin, threads                              ┘
    [[stages]]    name, steps, [stages.integrator] …                       ─ or stages
    [output]      dir, trajectory_every, energy_every, checkpoint_every, plot,
                  trajectory_velocities
    [velocities]  temperature, seed

Every unknown key is an error naming the key, its section and the file. Forces and
integrators are looked up by name in the plugin registry, so a plugin's components work
in a config file exactly like the built-in ones.

>>> cfg = load_config("examples/run_lj.toml")           # doctest: +SKIP
>>> summary = run_config(cfg, progress=False)            # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["ConfigError", "RunConfig", "Stage", "OutputConfig", "BuiltSystem",
           "load_config", "parse_config", "build_system", "run_config", "format_summary",
           "stage_findings", "BUILDERS"]


class ConfigError(ValueError):
    """A run configuration is invalid. The message names the file and the section."""


# --------------------------------------------------------------------------- schema

_TOP_KEYS = ("title", "system", "forces", "transforms", "integrator", "run", "stages",
             "output", "velocities")
_SYSTEM_COMMON = ("type", "mass", "temperature")
_SYSTEM_BUILDER = {"lj-fluid": ("builder", "cells", "density") + _SYSTEM_COMMON}
_SYSTEM_STRUCTURE = ("structure", "types", "charge") + _SYSTEM_COMMON
_SYSTEM_GROMACS = ("topology", "structure", "mdp", "index", "temperature")
_RUN_KEYS = ("steps", "seed", "skin", "threads")
_STAGE_KEYS = ("name", "steps", "integrator")
_OUTPUT_KEYS = ("dir", "trajectory_every", "energy_every", "checkpoint_every", "plot",
                "trajectory_velocities")
_VELOCITY_KEYS = ("temperature", "seed")

#: System builders usable as ``[system] builder = "<name>"``.
BUILDERS = tuple(_SYSTEM_BUILDER)

#: Output file names inside the output directory.
TRAJECTORY, ENERGY_LOG, CHECKPOINT, FINAL_STRUCTURE, ENERGY_PLOT = (
    "traj.h5md", "energy.log", "checkpoint.h5", "conf.gro", "energy.png")


@dataclass
class Stage:
    """One stretch of a run with one integrator.

    ``integrator_type`` is the registry name, ``integrator`` the built description.
    """

    name: str
    steps: int
    integrator_type: str
    integrator_params: dict
    integrator: object


@dataclass
class OutputConfig:
    """``[output]``: where and how often to write (0 switches a periodic output off)."""

    dir: Path
    trajectory_every: int = 100
    energy_every: int = 100
    checkpoint_every: int = 0
    plot: bool = True
    trajectory_velocities: bool = False


@dataclass
class RunConfig:
    """A parsed and validated run configuration (see ``docs/config.md``).

    Attributes
    ----------
    path : Path | None          the file it came from (named in error messages)
    base_dir : Path             relative paths in the file are relative to this
    title : str
    system : dict               the ``[system]`` table (validated)
    forces : list               built force descriptions, in file order
    force_specs : list[dict]    the ``[[forces]]`` tables as written
    transforms : list           built ``[[transforms]]`` (``apply(system, state)``), in order
    stages : list[Stage]        one stage when the file uses ``[integrator]`` + ``[run]``
    seed : int | None           seed of the random forces (None: drawn from the OS)
    skin : float | None [nm]    neighbour-list skin (None: the engine's default)
    threads : int | None        numba threads (None: all cores)
    output : OutputConfig
    velocities : dict | None    ``[velocities]`` (temperature [K], seed)
    """

    path: Path | None
    base_dir: Path
    title: str
    system: dict
    forces: list
    force_specs: list
    stages: list
    seed: int | None
    skin: float | None
    threads: int | None
    output: OutputConfig
    velocities: dict | None = None
    transforms: list = field(default_factory=list)

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    @property
    def stage_starts(self) -> list[int]:
        """First step of each stage."""
        return [int(v) for v in np.cumsum([0] + [s.steps for s in self.stages])[:-1]]

    def with_total_steps(self, n_steps) -> "RunConfig":
        """A copy whose stages share ``n_steps`` in the original proportions.

        Periodic outputs are made frequent enough to write at least ~10 frames and
        energy rows (used by ``mdzoom demo --steps``).
        """
        n_steps = int(n_steps)
        if n_steps < 1:
            raise ValueError(f"the number of steps must be >= 1; got {n_steps}")
        total = self.total_steps or 1
        bounds = [round(n_steps * c / total) for c in np.cumsum([s.steps for s in self.stages])]
        bounds[-1] = n_steps
        stages, prev = [], 0
        for s, b in zip(self.stages, bounds):
            stages.append(dataclasses.replace(s, steps=int(b - prev)))
            prev = b
        out = self.output
        cap = max(1, n_steps // 10)
        output = dataclasses.replace(
            out, trajectory_every=min(out.trajectory_every, cap) if out.trajectory_every else 0,
            energy_every=min(out.energy_every, cap) if out.energy_every else 0)
        return dataclasses.replace(self, stages=stages, output=output)


# --------------------------------------------------------------------------- parsing


def _where(path) -> str:
    return os.fspath(path) if path is not None else "<config>"


class _Checker:
    """Small helpers that raise ConfigError naming the file, the section and the key."""

    def __init__(self, path):
        self.file = _where(path)

    def fail(self, section, message):
        if section and not section.startswith("["):
            section = f"[{section}]"
        sec = f" {section}:" if section else ""
        raise ConfigError(f"{self.file}:{sec} {message}")

    def table(self, value, section):
        if not isinstance(value, dict):
            self.fail(section, f"must be a table, got {_tname(value)}")
        return value

    def keys(self, table, allowed, section, hint=""):
        for key in table:
            if key not in allowed:
                self.fail(section, f"unknown key {key!r}; allowed: {', '.join(allowed)}{hint}")

    def integer(self, table, key, section, default=None, minimum=None, required=False):
        if key not in table:
            if required:
                self.fail(section, f"missing required key {key!r}")
            return default
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(section, f"{key} must be an integer, got {_tname(v)} {v!r}")
        if minimum is not None and v < minimum:
            self.fail(section, f"{key} must be >= {minimum}, got {v}")
        return v

    def number(self, table, key, section, default=None, positive=False, required=False):
        if key not in table:
            if required:
                self.fail(section, f"missing required key {key!r}")
            return default
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(section, f"{key} must be a number, got {_tname(v)} {v!r}")
        if positive and not v > 0:
            self.fail(section, f"{key} must be > 0, got {v}")
        return float(v)

    def boolean(self, table, key, section, default):
        v = table.get(key, default)
        if not isinstance(v, bool):
            self.fail(section, f"{key} must be true or false, got {v!r}")
        return v

    def string(self, table, key, section, default=None, required=False):
        if key not in table:
            if required:
                self.fail(section, f"missing required key {key!r}")
            return default
        v = table[key]
        if not isinstance(v, str):
            self.fail(section, f"{key} must be a string, got {_tname(v)} {v!r}")
        return v


def _tname(v):
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(v), type(v).__name__)


def load_config(path) -> RunConfig:
    """Read and validate a TOML run configuration.

    Raises FileNotFoundError when the file is missing and ``ConfigError`` (a ValueError)
    naming the file, section and key for anything invalid.
    """
    path = Path(path)
    return parse_config(read_toml(path), path=path)


def read_toml(path) -> dict:
    """A TOML file as a dict; FileNotFoundError, or ``ConfigError`` naming the file for a
    folder or invalid TOML (run configurations, ensemble sweeps)."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise FileNotFoundError(f"{os.fspath(path)}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{os.fspath(path)}: is a directory, expected a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{os.fspath(path)}: invalid TOML: {exc}") from None


def parse_config(data: dict, path=None, base_dir=None, registry=None) -> RunConfig:
    """Validate an already-parsed TOML document (a dict) and build its components.

    ``path`` is only used in messages and, when ``base_dir`` is None, to resolve relative
    paths (its directory; the current directory without a path). ``registry`` defaults
    to the process-wide plugin manager's.
    """
    c = _Checker(path)
    if base_dir is None:
        base_dir = Path(path).resolve().parent if path is not None else Path.cwd()
    base_dir = Path(base_dir)
    if registry is None:
        from .plugins import get_plugin_manager

        registry = get_plugin_manager().registry
    c.keys(data, _TOP_KEYS, "", " (top-level sections)")
    title = c.string(data, "title", "", default="")

    system = _parse_system(c, data, base_dir)
    forces, force_specs = _parse_forces(c, data, registry,
                                        required="topology" not in system)
    transforms = _parse_transforms(c, data, registry)
    stages, run = _parse_stages(c, data, registry)

    out = c.table(data.get("output", {}), "output")
    c.keys(out, _OUTPUT_KEYS, "output")
    out_dir = c.string(out, "dir", "output", default="mdzoom-out")
    output = OutputConfig(
        dir=(base_dir / out_dir),
        trajectory_every=c.integer(out, "trajectory_every", "output", 100, minimum=0),
        energy_every=c.integer(out, "energy_every", "output", 100, minimum=0),
        checkpoint_every=c.integer(out, "checkpoint_every", "output", 0, minimum=0),
        plot=c.boolean(out, "plot", "output", True),
        trajectory_velocities=c.boolean(out, "trajectory_velocities", "output", False))

    velocities = None
    if "velocities" in data:
        vel = c.table(data["velocities"], "velocities")
        c.keys(vel, _VELOCITY_KEYS, "velocities")
        velocities = {"temperature": c.number(vel, "temperature", "velocities",
                                              required=True),
                      "seed": c.integer(vel, "seed", "velocities")}
        if velocities["temperature"] < 0:
            c.fail("velocities", f"temperature must be >= 0 K, got {velocities['temperature']}")
        if "temperature" in system:
            c.fail("system", "temperature is given both here and in [velocities]; give the "
                             "initial temperature once")

    return RunConfig(path=Path(path) if path is not None else None, base_dir=base_dir,
                     title=title, system=system, forces=forces, force_specs=force_specs,
                     stages=stages, seed=run["seed"], skin=run["skin"],
                     threads=run["threads"], output=output, velocities=velocities,
                     transforms=transforms)


def _parse_system(c, data, base_dir) -> dict:
    if "system" not in data:
        c.fail("", "missing section [system] (builder = \"lj-fluid\" or structure = "
                   "\"conf.gro\")")
    s = dict(c.table(data["system"], "system"))
    if "topology" in s:
        c.keys(s, _SYSTEM_GROMACS, "system", " (for topology = ...)")
        for key, required in (("topology", True), ("structure", True), ("mdp", False),
                              ("index", False)):
            if key not in s:
                if required:
                    c.fail("system", f"topology = ... needs {key} = \"<file>\" too")
                continue
            p = base_dir / c.string(s, key, "system")
            if not p.is_file():
                c.fail("system", f"{key} file not found: {os.fspath(p)}")
            s[key] = p
        if "temperature" in s:
            c.number(s, "temperature", "system")
        return s
    if ("builder" in s) == ("structure" in s):
        c.fail("system", "give exactly one of builder = \"<name>\" (available: "
                         f"{', '.join(BUILDERS)}) or structure = \"<file>\"")
    if "builder" in s:
        name = c.string(s, "builder", "system")
        if name not in _SYSTEM_BUILDER:
            c.fail("system", f"unknown builder {name!r}; available: {', '.join(BUILDERS)}")
        c.keys(s, _SYSTEM_BUILDER[name], "system", f" (for builder = {name!r})")
        c.integer(s, "cells", "system", minimum=1, required=True)
        c.number(s, "density", "system", positive=True, required=True)
        c.number(s, "mass", "system", positive=True)
    else:
        c.keys(s, _SYSTEM_STRUCTURE, "system", " (for structure = ...)")
        rel = c.string(s, "structure", "system")
        p = (base_dir / rel)
        if not p.is_file():
            c.fail("system", f"structure file not found: {os.fspath(p)}")
        s["structure"] = p
        types = s.get("types")
        if types is not None:
            c.table(types, "system.types")
            for k, v in types.items():
                if not isinstance(v, str):
                    c.fail("system.types", f"type of atom name {k!r} must be a string, "
                                           f"got {v!r}")
        for key in ("mass", "charge"):
            v = s.get(key)
            if isinstance(v, dict):
                for k, x in v.items():
                    if isinstance(x, bool) or not isinstance(x, (int, float)):
                        c.fail(f"system.{key}", f"{key} of type {k!r} must be a number, "
                                                f"got {x!r}")
            elif v is not None:
                c.number(s, key, "system")
    c.string(s, "type", "system")
    if "temperature" in s:
        c.number(s, "temperature", "system")
        if s["temperature"] < 0:
            c.fail("system", f"temperature must be >= 0 K, got {s['temperature']}")
    return s


def _parse_forces(c, data, registry, required=True):
    specs = data.get("forces", [])
    if not isinstance(specs, list):
        c.fail("forces", "write forces as an array of tables: [[forces]]")
    if not specs and required:
        c.fail("", "no [[forces]] given; available forces: "
                   f"{', '.join(registry.names('force')) or '(none)'}")
    forces = []
    for k, spec in enumerate(specs, 1):
        section = f"[[forces]] #{k}"
        spec = c.table(spec, section)
        forces.append(_build_component(c, spec, section, registry, "force"))
    return forces, [dict(s) for s in specs]


def _parse_transforms(c, data, registry):
    specs = data.get("transforms", [])
    if not isinstance(specs, list):
        c.fail("transforms", "write transforms as an array of tables: [[transforms]]")
    out = []
    for k, spec in enumerate(specs, 1):
        section = f"[[transforms]] #{k}"
        out.append(_build_component(c, c.table(spec, section), section, registry,
                                    "transform"))
    return out


def _parse_stages(c, data, registry):
    run = c.table(data.get("run", {}), "run")
    c.keys(run, _RUN_KEYS, "run")
    out = {"seed": c.integer(run, "seed", "run", minimum=0),
           "skin": c.number(run, "skin", "run"),
           "threads": c.integer(run, "threads", "run", minimum=1)}
    if out["skin"] is not None and out["skin"] < 0:
        c.fail("run", f"skin must be >= 0 nm, got {out['skin']}")
    if "stages" in data:
        if "integrator" in data:
            c.fail("", "give either [integrator] (with [run] steps) or [[stages]], not both")
        if "steps" in run:
            c.fail("run", "steps is set per stage when [[stages]] are given; remove it here")
        specs = data["stages"]
        if not isinstance(specs, list) or not specs:
            c.fail("stages", "write stages as a non-empty array of tables: [[stages]]")
        stages = []
        for k, spec in enumerate(specs, 1):
            spec = c.table(spec, f"[[stages]] #{k}")
            c.keys(spec, _STAGE_KEYS, f"[[stages]] #{k}")
            steps = c.integer(spec, "steps", f"[[stages]] #{k}", minimum=0, required=True)
            name = c.string(spec, "name", f"[[stages]] #{k}", default=f"stage {k}")
            if "integrator" not in spec:
                c.fail(f"[[stages]] #{k}", "missing [stages.integrator] table")
            isec = f"[[stages]] #{k} integrator"
            itab = c.table(spec["integrator"], isec)
            integ = _build_component(c, itab, isec, registry, "integrator")
            stages.append(Stage(name, steps, itab["type"],
                                {k2: v for k2, v in itab.items() if k2 != "type"}, integ))
        return stages, out
    if "integrator" not in data:
        c.fail("", "missing [integrator] (or [[stages]]); available integrators: "
                   f"{', '.join(registry.names('integrator'))}")
    itab = c.table(data["integrator"], "integrator")
    integ = _build_component(c, itab, "integrator", registry, "integrator")
    steps = c.integer(run, "steps", "run", minimum=0, required=True)
    return [Stage("run", steps, itab["type"],
                  {k: v for k, v in itab.items() if k != "type"}, integ)], out


def _build_component(c, table, section, registry, kind):
    """``{type = name, **params}`` → ``registry.get_<kind>(name)(**params)``."""
    if "type" not in table:
        c.fail(section, f"missing key 'type'; available {kind}s: "
                        f"{', '.join(registry.names(kind)) or '(none)'}")
    name = table["type"]
    if not isinstance(name, str):
        c.fail(section, f"type must be a string, got {name!r}")
    params = {k: v for k, v in table.items() if k != "type"}
    try:
        factory = getattr(registry, f"get_{kind}")(name)
    except KeyError as exc:
        c.fail(section, exc.args[0] if exc.args else str(exc))
    _check_params(c, section, name, factory, params)
    try:
        return factory(**params)
    except (TypeError, ValueError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        c.fail(section, f"{kind} {name!r}: {msg}")


def _check_params(c, section, name, factory, params):
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return
    ps = sig.parameters
    if not any(p.kind is p.VAR_KEYWORD for p in ps.values()):
        accepted = [k for k, p in ps.items()
                    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        for key in params:
            if key not in accepted:
                c.fail(section, f"unknown key {key!r} for {name!r}; allowed: "
                                f"type, {', '.join(accepted)}")
    if dataclasses.is_dataclass(factory):
        for f in dataclasses.fields(factory):
            if f.name in params and str(f.type) == "float":
                v = params[f.name]
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    c.fail(section, f"{f.name} must be a number, got {_tname(v)} {v!r}")


# --------------------------------------------------------------------------- building


@dataclass
class BuiltSystem:
    """What ``build_system`` returns: the system, its initial state and atom labels."""

    system: object
    state: object
    names: list = field(default_factory=list)
    resnames: list = field(default_factory=list)
    resids: np.ndarray | None = None


def _velocity_settings(cfg):
    if cfg.velocities is not None:
        return cfg.velocities["temperature"], cfg.velocities["seed"]
    if "temperature" in cfg.system:
        return float(cfg.system["temperature"]), None
    return None, None


def build_system(cfg: RunConfig) -> BuiltSystem:
    """Build the System (topology, box, forces) and the initial State of ``cfg``."""
    from .state import State
    from .system import System
    from .topology import MoleculeType, Topology
    from .velocities import fcc_lattice, maxwell_boltzmann

    s = cfg.system
    c = _Checker(cfg.path)
    type_name = s.get("type", "LJ")
    if "topology" in s:
        from .gromacs import load_gromacs

        try:
            system, state, _ = load_gromacs(s["topology"], s["structure"], s.get("mdp"),
                                            index=s.get("index"))
        except (ValueError, KeyError, OSError) as exc:
            c.fail("system", f"{os.fspath(s['topology'])}: {exc}")
        system.forces.extend(cfg.forces)
        top = system.topology
        pos, velocities = state.positions, state.velocities
        labels = (top.names, top.resnames, top.resids)
    elif "builder" in s:  # the only builder: "lj-fluid"
        pos, edge = fcc_lattice(int(s["cells"]), density=float(s["density"]))
        top = Topology.atomic_fluid(len(pos), type_name, mass=float(s.get("mass", 1.0)))
        box, velocities, labels = edge, None, None
    else:
        from .io import read_structure

        frame = read_structure(s["structure"])
        if frame.box is None:
            c.fail("system", f"{os.fspath(s['structure'])} has no periodic box")
        types_map = s.get("types")
        if types_map is None:
            ptypes = [type_name] * frame.n_particles
        else:
            missing = sorted(set(frame.names) - set(types_map))
            if missing:
                c.fail("system.types", f"no type for atom name(s) {', '.join(missing)}")
            ptypes = [types_map[n] for n in frame.names]
        top = _structure_topology(c, ptypes, s.get("mass", 1.0), s.get("charge", 0.0),
                                  MoleculeType, Topology)
        pos, box, velocities = frame.positions, frame.box, frame.velocities
        labels = (frame.names, frame.resnames, frame.resids)
    if "topology" not in s:
        system = System(top, box=box, forces=list(cfg.forces))
    system = _apply_transforms(c, cfg, system, State(pos, velocities, box=system.box))
    temperature, vseed = _velocity_settings(cfg)
    if temperature is not None:
        if vseed is None:
            vseed = cfg.seed
        velocities = maxwell_boltzmann(system.masses, temperature, seed=vseed)
    state = State(pos, velocities, box=system.box)
    if labels is None:
        labels = (top.names, top.resnames, top.resids)
    return BuiltSystem(system, state, list(labels[0]), list(labels[1]), np.asarray(labels[2]))


def _apply_transforms(c, cfg, system, state):
    for k, t in enumerate(cfg.transforms, 1):
        try:
            system = t.apply(system, state)
        except (ValueError, KeyError, IndexError) as exc:
            c.fail(f"[[transforms]] #{k}", f"{type(t).__name__}: {exc}")
    return system


def _structure_topology(c, ptypes, mass, charge, MoleculeType, Topology):
    def per_type(value, key):
        if not isinstance(value, dict):
            return {t: float(value) for t in set(ptypes)}
        missing = sorted(set(ptypes) - set(value))
        if missing:
            c.fail(f"system.{key}", f"no {key} for type(s) {', '.join(missing)}")
        return {t: float(v) for t, v in value.items()}

    masses, charges = per_type(mass, "mass"), per_type(charge, "charge")
    mts, seen = [], set()
    for t in ptypes:
        if t not in seen:
            seen.add(t)
            if masses[t] <= 0:
                c.fail("system.mass", f"mass of type {t!r} must be > 0, got {masses[t]}")
            mts.append(MoleculeType.single_particle(t, type=t, mass=masses[t],
                                                    charge=charges[t]))
    blocks = []
    for t in ptypes:
        if blocks and blocks[-1][0] == t:
            blocks[-1][1] += 1
        else:
            blocks.append([t, 1])
    return Topology(mts, [(t, n) for t, n in blocks])


# --------------------------------------------------------------------------- running


def _switch_integrator(sim, integrator):
    """Continue ``sim`` with another integrator, keeping state, neighbour list and outputs."""
    sim.set_integrator(integrator)


class _Stopwatch:
    """An output that notes (step, wall time) when it fires: the steady-state speed.

    Firing splits the step loop into chunks, which never changes the trajectory.
    """

    def __init__(self, every):
        from .triggers import every as _every

        self.trigger = _every(every)
        self.last_step = None
        self.marks = []

    def open(self, sim):
        pass

    def resume(self, sim):
        pass

    def report(self, sim):
        self.marks.append((sim.state.step, time.perf_counter()))

    def close(self):
        pass

    def rate(self, first_step, last_step) -> float | None:
        """Steps per second between the second mark at or after ``first_step`` and the
        last mark at or before ``last_step`` (the first interval of a stage holds the
        numba compilation of its kernels)."""
        marks = [m for m in self.marks if first_step <= m[0] <= last_step]
        if len(marks) < 3:
            return None
        (s0, t0), (s1, t1) = marks[1], marks[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None


def _stage_of(cfg, step) -> int:
    """Index of the stage whose integrator wrote a checkpoint at ``step``.

    A checkpoint at a stage's last step was written by that stage; step 0 by the first.
    """
    end = 0
    for k, s in enumerate(cfg.stages):
        end += s.steps
        if step <= end:
            return k
    return len(cfg.stages) - 1


def run_config(cfg: RunConfig, progress=None, *, resume=False, out_dir=None, echo=None,
               plugin_manager=None, allow_errors=False) -> dict:
    """Run a configuration; return a summary dict.

    Parameters
    ----------
    cfg : RunConfig
    progress : bool | None    progress bars (None: on for a terminal)
    resume : bool             continue from ``checkpoint.h5`` in the output directory up to
                              the configured total number of steps
    out_dir : path, optional  overrides ``[output] dir``
    echo : callable, optional receives one-line status messages (e.g. ``print``)
    allow_errors : bool or collection of check ids
                              run even if the pre-flight checks (``mdzoom.core.preflight``,
                              run for every stage before the first step) find errors
                              (all of them, or those named); warnings and notes are always
                              passed to ``echo``

    Writes into the output directory: ``traj.h5md``, ``energy.log``, ``checkpoint.h5``
    (periodically with ``checkpoint_every`` and always at the end), ``conf.gro`` (final
    frame) and ``energy.png`` (with ``plot = true``).
    """
    from .checkpoint import read_checkpoint
    from .outputs import CheckpointOutput, EnergyLog, H5MDOutput
    from .plugins import get_plugin_manager
    from .simulation import Simulation

    t_start = time.perf_counter()
    say = echo or (lambda msg: None)
    pm = plugin_manager or get_plugin_manager()
    out = Path(out_dir) if out_dir is not None else cfg.output.dir
    files = {"trajectory": out / TRAJECTORY, "energy": out / ENERGY_LOG,
             "checkpoint": out / CHECKPOINT, "structure": out / FINAL_STRUCTURE,
             "plot": out / ENERGY_PLOT}
    total = cfg.total_steps
    starts = cfg.stage_starts

    resume_step = None
    if resume:
        if not files["checkpoint"].is_file():
            raise FileNotFoundError(f"{os.fspath(files['checkpoint'])}: no checkpoint to "
                                    "resume from (run once without --resume)")
        resume_step = read_checkpoint(files["checkpoint"])["state"].step
        if resume_step > total:
            raise ConfigError(f"{_where(cfg.path)}: the checkpoint is at step {resume_step}, "
                              f"past the configured total of {total} steps")
    out.mkdir(parents=True, exist_ok=True)
    if not resume and files["checkpoint"].exists():
        files["checkpoint"].unlink()     # a fresh run must never be resumed from an old one

    built = build_system(cfg)
    system = built.system
    n = system.n_particles
    for j, st in enumerate(cfg.stages):
        _preflight(pm, system, built.state, st, cfg, say, final=j == len(cfg.stages) - 1,
                   allow_errors=allow_errors)

    done = resume_step is not None and resume_step >= total
    outputs = []
    if not done:
        o = cfg.output
        if o.trajectory_every:
            outputs.append(H5MDOutput(files["trajectory"], every=o.trajectory_every,
                                      velocities=o.trajectory_velocities))
        if o.energy_every:
            outputs.append(EnergyLog(files["energy"], every=o.energy_every))
        if o.checkpoint_every:
            outputs.append(CheckpointOutput(files["checkpoint"], every=o.checkpoint_every))

    stopwatch = _Stopwatch(max(1, total // 100))
    if not done:
        outputs.append(stopwatch)
    k = 0 if resume_step is None else _stage_of(cfg, resume_step)
    sim = Simulation(system, cfg.stages[k].integrator, built.state, outputs=outputs,
                     seed=cfg.seed, skin=cfg.skin, threads=cfg.threads, plugin_manager=pm)
    t_loop = 0.0
    first_step = 0
    try:
        if resume_step is not None:
            sim.load_checkpoint(files["checkpoint"])
            first_step = sim.state.step
            say(f"resuming from {os.fspath(files['checkpoint'])} at step {first_step} "
                f"of {total}")
            if not done and first_step == starts[k] + cfg.stages[k].steps:
                sim.run(0, progress=False)   # re-report the checkpoint's step as it was
        sim.potential_energy()               # bind + first force evaluation (compiles)
        t_ready = time.perf_counter()
        for j in range(k, len(cfg.stages)):
            stage = cfg.stages[j]
            end = starts[j] + stage.steps
            if sim.state.step >= end:
                continue
            if sim.integrator is not stage.integrator:
                _switch_integrator(sim, stage.integrator)
            say(f"stage {j + 1}/{len(cfg.stages)} {stage.name}: steps {sim.state.step}"
                f"-{end}, {stage.integrator_type} {_fmt_params(stage.integrator_params)}")
            sim.run(end - sim.state.step, progress=progress)
        t_loop = time.perf_counter() - t_ready
        sim.save_checkpoint(files["checkpoint"])
    finally:
        sim.close()
    _write_final_structure(files["structure"], sim.state, built, cfg)

    steps_run = sim.state.step - first_step
    # steady-state speed of each stage run here, after the interval that compiled its
    # kernels; the speed reported is the last stage's
    rate, steady = None, 0.0
    for j in range(k, len(cfg.stages)):
        a, b = max(first_step, starts[j]), starts[j] + cfg.stages[j].steps
        r = stopwatch.rate(a, b) if b > a else None
        if r is None:
            steady = None if b > a else steady
            continue
        rate = r
        if steady is not None:
            steady += (b - a) / r
    if rate is None and t_loop > 0 and steps_run:
        rate, steady = steps_run / t_loop, t_loop
    summary = {
        "title": cfg.title, "n_particles": n, "steps": steps_run, "total_steps": total,
        "final_step": sim.state.step, "resumed_from": resume_step,
        "wall_time_s": time.perf_counter() - t_start, "loop_time_s": t_loop,
        "steady_loop_time_s": steady if steps_run else None,
        "matom_steps_per_s": n * rate / 1e6 if rate else None,
        "steps_per_s": rate,
        "ns_per_day": None, "energy_drift": None, "drift_stage": None,
        "mean_temperature": None, "mean_kT": None, "files": {},
    }
    if summary["steps_per_s"]:
        dt = getattr(cfg.stages[-1].integrator, "dt", None)
        if dt:
            summary["ns_per_day"] = summary["steps_per_s"] * dt * 86400.0 / 1000.0
    if files["energy"].is_file():
        _energy_statistics(summary, files["energy"], cfg, n)
    if cfg.output.plot and files["energy"].is_file():
        from .plotting import plot_energy_log

        try:
            plot_energy_log(files["energy"], files["plot"], n_particles=n,
                            stage_starts=starts[1:] if len(starts) > 1 else None,
                            title=cfg.title or None)
        except ValueError as exc:   # e.g. no energy rows yet
            say(f"no plot: {exc}")
    summary["files"] = {k2: os.fspath(p) for k2, p in files.items() if p.is_file()}
    return summary


def _fmt_params(params) -> str:
    return "(" + ", ".join(f"{k} = {v}" for k, v in params.items()) + ")" if params else ""


def stage_findings(cfg: RunConfig, built=None, plugin_manager=None) -> list:
    """Pre-flight findings of every stage of ``cfg`` (``mdzoom check CONFIG.toml``),
    errors first; each finding's message names its stage when there are several."""
    from .preflight import run_checks

    built = built or build_system(cfg)
    out = []
    for j, st in enumerate(cfg.stages):
        found = run_checks(built.system, st.integrator,
                           _stage_settings(cfg, st, j == len(cfg.stages) - 1),
                           state=built.state, plugin_manager=plugin_manager)
        if len(cfg.stages) > 1:
            for f in found:
                f.message = f"stage {st.name!r}: {f.message}"
        out.extend(found)
    order = {"error": 0, "warning": 1, "note": 2}
    return sorted(out, key=lambda f: order[f.severity])


def _stage_settings(cfg, stage, final):
    return {"config": _where(cfg.path), "stage": stage.name, "steps": stage.steps,
            "final_stage": final, "integrator": stage.integrator_type,
            **stage.integrator_params}


def _preflight(pm, system, state, stage, cfg, say, final=True, allow_errors=False):
    from .preflight import enforce, report, run_checks

    findings = run_checks(system, stage.integrator, _stage_settings(cfg, stage, final),
                          state=state, plugin_manager=pm)
    report(findings, say, allowed=allow_errors is True)
    enforce(findings, allow_errors,
            where=f"{_where(cfg.path)}: stage {stage.name!r}")


def _write_final_structure(path, state, built, cfg):
    from .io import Frame, write_gro

    frame = Frame(positions=state.wrapped_positions(), box=state.box, names=built.names,
                  resnames=built.resnames, resids=built.resids,
                  velocities=state.velocities,
                  title=f"{cfg.title or 'mdzoom'} step {state.step} t= {state.time:.5f} ps")
    try:
        write_gro(path, frame)
    except ValueError:      # velocities too large for the fixed format: positions only
        frame.velocities = None
        write_gro(path, frame)


def _energy_statistics(summary, log_path, cfg, n):
    from .outputs import EnergyLog

    try:
        log = EnergyLog.read(log_path)
    except (ValueError, IndexError, OSError):
        return
    if "step" not in log or len(log["step"]) == 0:
        return
    last = len(cfg.stages) - 1
    start = cfg.stage_starts[last]
    sel = log["step"] >= start
    if "Temperature" in log and np.any(sel):
        from .units import KB

        summary["mean_temperature"] = float(np.mean(log["Temperature"][sel]))
        summary["mean_kT"] = KB * summary["mean_temperature"]
    nve = [k for k, s in enumerate(cfg.stages) if s.integrator_type == "verlet"]
    if nve and "Total Energy" in log:
        k = nve[-1]
        a = cfg.stage_starts[k]
        b = a + cfg.stages[k].steps
        sel = (log["step"] >= a) & (log["step"] <= b)
        if np.count_nonzero(sel) >= 2:
            t, e = log["time"][sel], log["Total Energy"][sel] / n
            if np.ptp(t) > 0:
                summary["energy_drift"] = float(np.polyfit(t - t[0], e, 1)[0])
                summary["drift_stage"] = cfg.stages[k].name


def format_summary(summary, reduced_units=False) -> str:
    """The end-of-run report printed by ``mdzoom run`` and ``mdzoom demo``."""
    s = summary
    lines = []
    head = (f"done: {s['steps']} steps of {s['n_particles']} particles in "
            f"{s['wall_time_s']:.1f} s wall")
    if s.get("steady_loop_time_s"):
        extra = s["wall_time_s"] - s["steady_loop_time_s"]
        if extra > 0.05 * s["wall_time_s"]:
            head += f" ({extra:.1f} s of it setup, numba compilation and output)"
    if s["resumed_from"] is not None:
        head += f"; resumed at step {s['resumed_from']}"
    lines.append(head)
    if s["matom_steps_per_s"]:
        sp = f"  speed         {s['matom_steps_per_s']:.3g} million atom-steps/s " \
             f"({s['steps_per_s']:.0f} steps/s"
        if s["ns_per_day"]:
            v = s["ns_per_day"]
            sp += f", {v:.0f} ns/day" if v >= 100 else f", {v:.3g} ns/day"
        lines.append(sp + ")")
    if s["energy_drift"] is not None:
        unit = "epsilon/tau per particle" if reduced_units else "kJ/mol/ps per particle"
        lines.append(f"  energy drift  {s['energy_drift']:+.3g} {unit} "
                     f"(NVE stage {s['drift_stage']!r})")
    if s["mean_temperature"] is not None:
        if reduced_units:
            lines.append(f"  mean T*       {s['mean_kT']:.4g} (k_B T/epsilon; "
                         f"{s['mean_temperature']:.4g} K with epsilon = 1 kJ/mol), last stage")
        else:
            lines.append(f"  mean T        {s['mean_temperature']:.4g} K (k_B T = "
                         f"{s['mean_kT']:.4g} kJ/mol), last stage")
    for label, p in s["files"].items():
        lines.append(f"  {label:<13} {p}")
    return "\n".join(lines)
