"""Ensembles of independent simulations run through any ``concurrent.futures.Executor``.

Each member is a run configuration (``docs/config.md``) with its own overrides (a
temperature, a number of steps, any dotted TOML key) and its own output directory
(``traj.h5md``, ``energy.log``, ``checkpoint.h5``, ``done.json``). Members run in worker
processes: a local process pool by default, a Dask cluster (one machine, an existing
scheduler, or SLURM jobs through ``dask-jobqueue``) when one is given. The schema of a
sweep file and the semantics below are documented in ``docs/ensemble.md``.

- **Seeds** are derived from ``(base_seed, member name)`` with
  ``numpy.random.SeedSequence``: the same member gets the same seed whatever the
  executor, the number of workers and the order in which members run, so a sweep run on a
  laptop and on a cluster gives the same numbers bit for bit.
- **Failures** are caught per member (exception type, message, traceback) and reported in
  the result table; the other members finish. A worker that dies (killed, out of memory)
  is reported the same way.
- **Resume** (the default): a member with ``done.json`` is not rerun; one with a
  checkpoint continues from it (``run_config(resume=True)``, bit for bit); the others
  start afresh.

>>> members = [Member(f"T{t:g}", "examples/run_lj.toml", {"temperature": t})
...            for t in (80.0, 90.0, 100.0)]                    # doctest: +SKIP
>>> result = run_ensemble(members, out_dir="sweep-out")         # doctest: +SKIP
>>> result.ok, result.to_csv("sweep-out/results.csv")           # doctest: +SKIP
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import csv
import dataclasses
import hashlib
import itertools
import json
import os
import socket
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Member", "EnsembleResult", "run_ensemble", "run_member", "member_seed",
           "executor_from_config", "load_sweep", "Sweep", "OVERRIDE_KEYS", "DONE_FILE"]

DONE_FILE = "done.json"          # written atomically when a member has finished
FAILED_FILE = "failed.json"      # the last failure of a member (removed on success)
SPEC_FILE = "member.json"        # what the member is: name, config, overrides, seed
RUNNING_FILE = "running.json"    # host and pid of the process running it now
LOG_FILE = "run.log"             # run_config's status messages

#: Override keys with a meaning of their own; anything else is a dotted TOML path.
OVERRIDE_KEYS = {
    "seed": "the member's seed (default: derived from base_seed and the name)",
    "steps": "total number of steps (stages keep their proportions)",
    "temperature": "[K] `temperature` of every integrator (thermostat) that has one",
    "threads": "numba threads of this member (default: threads_per_member)",
    "replica": "no effect on the run: only tells members apart (and so their seeds)",
}

# result-table columns, in order; override keys follow
COLUMNS = ("name", "status", "seed", "reused", "n_particles", "final_step", "total_steps",
           "resumed_from", "wall_time_s", "steps_per_s", "mean_temperature",
           "energy_drift", "final_potential_energy", "final_total_energy",
           "state_digest", "out_dir", "error")


# --------------------------------------------------------------------------- members


@dataclass
class Member:
    """One simulation of an ensemble.

    Attributes
    ----------
    name : str            unique within the ensemble; names the output directory and,
                          with ``base_seed``, derives the seed
    config : path | dict | RunConfig
                          a TOML run configuration: its path, its parsed contents (a dict
                          as ``tomllib`` returns; relative paths are relative to ``base_dir``
                          or the current directory) or a ``RunConfig`` (then only the
                          overrides seed, steps, threads and replica apply)
    overrides : dict      ``{"temperature": 90.0, "steps": 2000, "run.skin": 0.2,
                          "stages.0.integrator.friction": 5.0, …}`` (see ``OVERRIDE_KEYS``)
    out_dir : path | None the member's directory (default: ``<ensemble out_dir>/<name>``)
    base_dir : path | None
                          relative paths of a dict config (default: the current directory)
    """

    name: str
    config: object
    overrides: dict = field(default_factory=dict)
    out_dir: object = None
    base_dir: object = None


def member_seed(base_seed: int, name: str) -> int:
    """The seed of member ``name``: a 63-bit integer from ``numpy.random.SeedSequence``
    with entropy ``base_seed`` and the UTF-8 bytes of the name as spawn key. Stable across
    processes, machines, executors and numpy versions (SeedSequence's hash is fixed)."""
    ss = np.random.SeedSequence(int(base_seed), spawn_key=tuple(name.encode("utf-8")))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _set_path(data, dotted, value):
    """Set ``data[a][b][0][c] = value`` for ``dotted = "a.b.0.c"``."""
    parts = dotted.split(".")
    node = data
    for k, part in enumerate(parts[:-1]):
        where = ".".join(parts[:k + 1])
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise KeyError(f"override {dotted!r}: {where!r} is not an index of a list "
                               f"of {len(node)}") from None
        elif isinstance(node, dict):
            if part not in node:
                node[part] = {}
            node = node[part]
        else:
            raise KeyError(f"override {dotted!r}: {'.'.join(parts[:k])!r} is a value, "
                           "not a table")
    last = parts[-1]
    if isinstance(node, list):
        try:
            node[int(last)] = value
        except (ValueError, IndexError):
            raise KeyError(f"override {dotted!r}: {last!r} is not an index of a list of "
                           f"{len(node)}") from None
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise KeyError(f"override {dotted!r}: {'.'.join(parts[:-1])!r} is a value, "
                       "not a table")


def _check_override_key(key):
    if "." not in key and key not in OVERRIDE_KEYS:
        raise KeyError(f"unknown override {key!r}; available: {', '.join(OVERRIDE_KEYS)}, "
                       "or a dotted TOML path such as run.skin or "
                       "stages.0.integrator.friction")


def _set_temperature(data, value):
    tables = []
    if isinstance(data.get("integrator"), dict):
        tables.append(data["integrator"])
    for st in data.get("stages", []) or []:
        if isinstance(st, dict) and isinstance(st.get("integrator"), dict):
            tables.append(st["integrator"])
    hit = [t for t in tables if "temperature" in t]
    if not hit:
        raise KeyError("override 'temperature': no integrator of this config has a "
                       "temperature (use a dotted path such as velocities.temperature)")
    for t in hit:
        t["temperature"] = value


def build_member_config(member: Member, seed: int, threads=None):
    """The ``RunConfig`` of a member: its config with the overrides and the seed applied.

    The seed replaces ``[run] seed`` and the initial-velocity seed (both, as ``mdzoom
    run`` does when ``[velocities]`` has no seed), so replicas differ.
    """
    from .config import ConfigError, RunConfig, load_config, parse_config, read_toml

    ov = dict(member.overrides)
    for key in ov:
        _check_override_key(key)
    dotted = {k: v for k, v in ov.items() if "." in k}
    src = member.config
    if isinstance(src, RunConfig):
        bad = sorted(set(dotted) | ({"temperature"} & set(ov)))
        if bad:
            raise ConfigError(f"member {member.name!r}: overrides {', '.join(bad)} need the "
                              "config as a TOML path or dict, not a RunConfig")
        cfg = copy.deepcopy(src)
    else:
        if isinstance(src, (str, os.PathLike)):
            path = Path(src)
            if dotted or "temperature" in ov:
                data = read_toml(path)
            else:
                data = None
            base_dir = path.resolve().parent
        elif isinstance(src, dict):
            path, data = None, src
            base_dir = Path(member.base_dir) if member.base_dir is not None else Path.cwd()
        else:
            raise TypeError(f"member {member.name!r}: config must be a TOML path, a dict or "
                            f"a RunConfig; got {type(src).__name__}")
        if data is None:
            cfg = load_config(path)
        else:
            data = copy.deepcopy(data)
            if "temperature" in ov:
                _set_temperature(data, ov["temperature"])
            for k, v in dotted.items():
                _set_path(data, k, v)
            cfg = parse_config(data, path=path, base_dir=base_dir)
    if "steps" in ov:
        output = cfg.output
        cfg = dataclasses.replace(cfg.with_total_steps(int(ov["steps"])), output=output)
    cfg.seed = int(seed)
    temperature = (cfg.velocities or {}).get("temperature", cfg.system.get("temperature"))
    if temperature is not None:
        cfg.velocities = {"temperature": float(temperature), "seed": int(seed)}
    if "threads" in ov:
        cfg.threads = int(ov["threads"])
    elif threads is not None:
        cfg.threads = int(threads)
    return cfg


# --------------------------------------------------------------------------- worker side


def _write_json(path, obj):
    """Write JSON atomically (a reader sees the old file or the new one, never half)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=1, default=_json_default)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, Path):
        return os.fspath(obj)
    return repr(obj)


def _spec_record(member, seed):
    cfg = member.config
    if isinstance(cfg, (str, os.PathLike)):
        source = os.fspath(Path(cfg).resolve())
    elif isinstance(cfg, dict):
        source = hashlib.sha256(json.dumps(cfg, sort_keys=True, default=_json_default)
                                .encode()).hexdigest()[:16]
    else:
        source = f"RunConfig({getattr(cfg, 'path', None)})"
    return json.loads(json.dumps({"name": member.name, "config": source,
                                  "overrides": member.overrides, "seed": int(seed)},
                                 default=_json_default))


def _final_values(out: Path):
    """Final energies (last energy.log row) and a digest of the final state."""
    from .checkpoint import read_checkpoint
    from .config import CHECKPOINT, ENERGY_LOG
    from .outputs import EnergyLog

    vals = {"final_potential_energy": None, "final_total_energy": None, "state_digest": None}
    if (out / ENERGY_LOG).is_file():
        try:
            log = EnergyLog.read(out / ENERGY_LOG)
            for key, col in (("final_potential_energy", "Potential Energy"),
                             ("final_total_energy", "Total Energy")):
                if col in log and len(log[col]):
                    vals[key] = float(log[col][-1])
        except (ValueError, IndexError, OSError):
            pass
    if (out / CHECKPOINT).is_file():
        st = read_checkpoint(out / CHECKPOINT)["state"]
        h = hashlib.sha256()
        for a in (st.positions, st.velocities, st.box):
            h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
        vals["state_digest"] = h.hexdigest()[:16]
    return vals


def run_member(task: dict) -> dict:
    """Run one member in this process; return its result row (never raises).

    ``task`` (what ``run_ensemble`` ships to a worker; picklable): member, seed, out_dir,
    resume, threads. Writes ``member.json``, ``running.json``, ``run.log`` and, at the
    end, ``done.json`` (the row, atomically) or ``failed.json``.
    """
    member, seed, out = task["member"], task["seed"], Path(task["out_dir"])
    row = {"name": member.name, "status": "failed", "seed": seed, "reused": False,
           "out_dir": os.fspath(out), "error": None}
    try:
        from .config import CHECKPOINT, run_config

        out.mkdir(parents=True, exist_ok=True)
        spec = _spec_record(member, seed)
        done = out / DONE_FILE
        resume = bool(task["resume"])
        if resume and done.is_file():
            with open(done) as fh:
                return {**json.load(fh), "reused": True}
        if resume and (out / SPEC_FILE).is_file():
            with open(out / SPEC_FILE) as fh:
                old = json.load(fh)
            if old != spec:
                raise ValueError(f"member {member.name!r}: {os.fspath(out)} holds a run of a "
                                 f"different spec ({old}); rerun without resume or choose "
                                 "another directory")
        for stale in (done, out / FAILED_FILE):
            if stale.exists():
                stale.unlink()
        _write_json(out / SPEC_FILE, spec)
        _write_json(out / RUNNING_FILE, {"host": socket.gethostname(), "pid": os.getpid(),
                                         "started": time.time()})
        cfg = build_member_config(member, seed, task.get("threads"))
        resume_ck = resume and (out / CHECKPOINT).is_file()
        with open(out / LOG_FILE, "a") as log:
            def echo(msg):
                log.write(msg + "\n")
                log.flush()
            summary = run_config(cfg, progress=False, resume=resume_ck, out_dir=out,
                                 echo=echo, allow_errors=task.get("allow_errors", False))
        row.update({k: summary.get(k) for k in
                    ("n_particles", "final_step", "total_steps", "resumed_from",
                     "wall_time_s", "steps_per_s", "mean_temperature", "energy_drift")})
        row.update(_final_values(out))
        row["status"] = "done"
        row["summary"] = summary
        _write_json(done, row)
    except BaseException as exc:  # noqa: BLE001 - reported in the table, not raised
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
        try:
            _write_json(out / FAILED_FILE, row)
        except OSError:
            pass
    finally:
        try:
            (out / RUNNING_FILE).unlink()
        except OSError:
            pass
    return row


# --------------------------------------------------------------------------- driver


@dataclass
class EnsembleResult:
    """What ``run_ensemble`` returns.

    Attributes
    ----------
    rows : list[dict]    one per member, in the order given; the columns of ``COLUMNS``,
                         the override keys, and for failed members ``traceback``
    wall_time_s : float
    """

    rows: list
    wall_time_s: float = 0.0

    @property
    def failed(self) -> list:
        """The rows of the members that failed."""
        return [r for r in self.rows if r["status"] != "done"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def columns(self) -> list:
        extra = []
        for r in self.rows:
            for k in r.get("overrides", {}):
                if k not in COLUMNS and k not in extra:
                    extra.append(k)
        return list(COLUMNS) + extra

    def row(self, name) -> dict:
        for r in self.rows:
            if r["name"] == name:
                return r
        raise KeyError(f"no member {name!r}; members: {', '.join(r['name'] for r in self.rows)}")

    def table(self) -> list:
        """Rows as flat dicts with exactly ``columns`` (override values as columns)."""
        cols = self.columns
        return [{c: r.get(c, r.get("overrides", {}).get(c)) for c in cols} for r in self.rows]

    def to_csv(self, path):
        """Write the table as CSV (one row per member)."""
        cols = self.columns
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in self.table():
                w.writerow({c: "" if r[c] is None else r[c] for c in cols})

    def format(self) -> str:
        """A plain-text table for a terminal."""
        cols = ["name", "status", "final_step", "wall_time_s", "mean_temperature",
                "final_total_energy"]
        extra = [c for c in self.columns if c not in COLUMNS]
        cols[2:2] = extra

        def fmt(v):
            if v is None:
                return "-"
            if isinstance(v, float):
                return f"{v:.6g}"
            if isinstance(v, bool):
                return "reused" if v else ""
            return str(v)

        body = [[fmt(r[c]) for c in cols] for r in self.table()]
        widths = [max(len(c), *(len(b[k]) for b in body)) if body else len(c)
                  for k, c in enumerate(cols)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths)) for b in body]
        for r in self.failed:
            lines.append(f"FAILED {r['name']}: {r['error']}")
        return "\n".join(lines)


def _local_executor(max_workers):
    import multiprocessing as mp

    return cf.ProcessPoolExecutor(max_workers=max_workers, mp_context=mp.get_context("spawn"))


def executor_from_config(scheduler=None, workers=None):
    """An executor for ``run_ensemble``: a Dask ``ClientExecutor`` connected to
    ``scheduler`` (an address such as ``tcp://host:8786``, or a scheduler-file path ending
    in ``.json``) or, without one, a local process pool of ``workers`` processes (spawn
    start method; default: one per core). The caller shuts it down (a ``with`` block)."""
    if not scheduler:
        return _local_executor(workers)
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("running an ensemble on a Dask scheduler needs dask.distributed: "
                          "pip install 'mdzoom[dask]'") from None
    if str(scheduler).endswith(".json"):
        client = Client(scheduler_file=os.fspath(scheduler))
    else:
        client = Client(scheduler)
    return _OwnedClientExecutor(client)


class _OwnedClientExecutor:
    """``client.get_executor(pure=False)`` that also closes its client on shutdown."""

    def __init__(self, client):
        self.client = client
        self._ex = client.get_executor(pure=False)

    def submit(self, fn, *args, **kwargs):
        return self._ex.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, **kwargs):
        self._ex.shutdown(wait=wait)
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
        return False


def _progress_bar(progress, total):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit="member", desc="ensemble")


def run_ensemble(members, executor=None, *, out_dir="ensemble-out", resume=True,
                 base_seed=0, workers=None, threads_per_member=1, progress=None,
                 allow_errors=False, on_result=None) -> EnsembleResult:
    """Run every member (each in its own directory) and gather their results in one table.

    Parameters
    ----------
    members : list[Member]        names must be unique
    executor : Executor, optional any ``concurrent.futures.Executor``:
                                  ``dask.distributed.Client(...).get_executor()``,
                                  a ``ProcessPoolExecutor``…; default: a local process pool
                                  of ``workers`` processes (spawn), shut down at the end
    out_dir : path                members write into ``out_dir/<name>`` (unless their
                                  ``out_dir`` says otherwise)
    resume : bool                 keep finished members (``done.json``) and continue
                                  interrupted ones from their checkpoint; False reruns all
    base_seed : int               member seeds derive from it and the names (``member_seed``)
    threads_per_member : int | None
                                  numba threads of each member (None: the config's)
    progress : bool | None        a progress bar over finished members (None: on a terminal)
    allow_errors : bool           passed to ``run_config`` (pre-flight errors)
    on_result : callable, optional
                                  called with each row as it arrives (in completion order)

    Never raises for a member's failure: see ``EnsembleResult.failed``.
    """
    members = list(members)
    names = [m.name for m in members]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"member names must be unique; repeated: {', '.join(dup)}")
    for m in members:
        if not m.name or "/" in m.name or m.name in (".", ".."):
            raise ValueError(f"invalid member name {m.name!r} (it names a directory)")
        for key in m.overrides:
            _check_override_key(key)
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    rows = {}
    tasks = []
    for m in members:
        seed = int(m.overrides["seed"]) if "seed" in m.overrides else member_seed(base_seed,
                                                                                  m.name)
        mdir = Path(m.out_dir) if m.out_dir is not None else out_dir / m.name
        done = mdir / DONE_FILE
        if resume and done.is_file():
            try:
                with open(done) as fh:
                    row = json.load(fh)
                with open(mdir / SPEC_FILE) as fh:
                    same = json.load(fh) == _spec_record(m, seed)
            except (OSError, ValueError):
                same = False
            if same:
                rows[m.name] = {**row, "reused": True}
                continue
        tasks.append({"member": m, "seed": seed, "out_dir": os.fspath(mdir.resolve()),
                      "resume": resume, "threads": threads_per_member,
                      "allow_errors": allow_errors,
                      "token": uuid.uuid4().hex})   # a fresh task key for Dask on every call
    bar = _progress_bar(progress, len(members))
    if bar is not None:
        bar.update(len(rows))
    own = executor is None and tasks
    if own:
        executor = _local_executor(workers or min(len(tasks), os.cpu_count() or 1))
    try:
        futures = {executor.submit(run_member, t): t for t in tasks}
        for fut in cf.as_completed(futures):
            t = futures[fut]
            try:
                row = fut.result()
            except BaseException as exc:  # noqa: BLE001 - the worker died, the pool broke…
                if isinstance(exc, KeyboardInterrupt):
                    raise
                row = {"name": t["member"].name, "status": "failed", "seed": t["seed"],
                       "reused": False, "out_dir": t["out_dir"],
                       "error": f"{type(exc).__name__}: {exc}" if str(exc)
                       else type(exc).__name__,
                       "traceback": "".join(traceback.format_exception_only(exc))}
            rows[row["name"]] = row
            if on_result is not None:
                on_result(row)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if own:
            executor.shutdown(wait=True, cancel_futures=True)
    ordered = []
    for m in members:
        r = {**dict.fromkeys(COLUMNS), **rows[m.name]}
        r["overrides"] = dict(m.overrides)
        r.pop("summary", None)
        ordered.append(r)
    return EnsembleResult(ordered, time.perf_counter() - t0)


# --------------------------------------------------------------------------- sweep files


_SWEEP_KEYS = ("config", "out_dir", "base_seed", "threads_per_member", "workers",
               "scheduler", "name_format", "overrides", "grid", "members")


@dataclass
class Sweep:
    """A parsed sweep file (``docs/ensemble.md``)."""

    path: Path | None
    members: list
    out_dir: Path
    base_seed: int = 0
    threads_per_member: int | None = 1
    workers: int | None = None
    scheduler: str | None = None


def _member_name(fmt, values):
    if fmt:
        return fmt.format(**values)
    return "_".join(f"{k}{v:g}" if isinstance(v, float) else f"{k}{v}"
                    for k, v in values.items())


def load_sweep(path) -> Sweep:
    """Read a sweep TOML file: a base config, common overrides, and members as a grid
    (cartesian product) and/or an explicit ``[[members]]`` list."""
    from .config import ConfigError, read_toml

    path = Path(path)
    data = read_toml(path)
    where = os.fspath(path)
    unknown = sorted(set(data) - set(_SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                          f"available: {', '.join(_SWEEP_KEYS)}")
    if "config" not in data:
        raise ConfigError(f"{where}: `config` (the base run configuration) is required")
    base = path.resolve().parent
    config = base / data["config"]
    common = dict(data.get("overrides", {}))
    fmt = data.get("name_format")
    members = []
    grid = data.get("grid", {})
    if grid:
        keys = list(grid)
        for k in keys:
            if not isinstance(grid[k], list) or not grid[k]:
                raise ConfigError(f"{where}: [grid] {k} must be a non-empty list")
        for combo in itertools.product(*(grid[k] for k in keys)):
            values = dict(zip(keys, combo))
            members.append(Member(_member_name(fmt, values), config, {**common, **values}))
    for k, entry in enumerate(data.get("members", [])):
        entry = dict(entry)
        name = entry.pop("name", None)
        if not name:
            raise ConfigError(f"{where}: [[members]] #{k + 1} needs a name")
        cfg = base / entry.pop("config") if "config" in entry else config
        members.append(Member(str(name), cfg, {**common, **entry}))
    if not members:
        raise ConfigError(f"{where}: no members: give a [grid] or [[members]]")
    for m in members:
        try:
            for key in m.overrides:
                _check_override_key(key)
        except KeyError as exc:
            raise ConfigError(f"{where}: member {m.name!r}: {exc.args[0]}") from None
    return Sweep(path=path, members=members, out_dir=base / data.get("out_dir", "sweep-out"),
                 base_seed=int(data.get("base_seed", 0)),
                 threads_per_member=data.get("threads_per_member", 1),
                 workers=data.get("workers"), scheduler=data.get("scheduler"))
