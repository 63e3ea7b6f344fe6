"""Checkpoint files (HDF5): everything needed to continue a run bit-for-bit.

Stored: positions, velocities, box, step, time, the random seed, the integrator's
description, and the neighbour list's reference positions and box — rebuilding the list
from those reproduces the exact pair order, so forces (and hence the trajectory) after a
resume are identical to an uninterrupted run's.

Version 2 adds the stepper's own state (``stepper_state``: name → float64 array, e.g. the
Nosé–Hoover chain variables and the energy a thermostat has exchanged), stored as exact
datasets in the group ``stepper``, and describes nested dataclasses (a thermostat inside
an integrator) in the integrator description. Version 1 files still read (with an empty
``stepper_state``).
"""

from __future__ import annotations

import dataclasses
import json
import os

import h5py
import numpy as np

from .state import State

__all__ = ["write_checkpoint", "read_checkpoint", "CheckpointError"]

FORMAT = "mdzoom-checkpoint"
VERSION = 2


class CheckpointError(ValueError):
    pass


def _jsonable(v):
    """A JSON-able form of a description's field, or None to leave it out (None values are
    left out so adding an optional field keeps old checkpoints' descriptions equal)."""
    if isinstance(v, (bool, int, float, str, np.integer, np.floating)):
        return v.item() if isinstance(v, np.generic) else v
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return _describe_dict(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        items = [_jsonable(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
        return None if any(x is None for x in items) else items
    return None


def _describe_dict(obj) -> dict:
    fields = {}
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            val = _jsonable(getattr(obj, f.name))
            if val is not None:
                fields[f.name] = val
    return {"class": type(obj).__name__, "params": fields}


def _describe(obj) -> str:
    return json.dumps(_describe_dict(obj), sort_keys=True)


def write_checkpoint(path, state: State, *, seed: int, integrator, neighbours=None,
                     extra: dict | None = None, stepper_state: dict | None = None,
                     force_lists: dict | None = None):
    """Write atomically (temporary file, then rename) so a crash never leaves half a file."""
    path = os.fspath(path)
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["version"] = VERSION
        f.attrs["step"] = state.step
        f.attrs["time"] = state.time
        f.attrs["seed"] = np.uint64(seed)
        f.attrs["integrator"] = _describe(integrator)
        f.attrs["n_particles"] = state.n_particles
        f.create_dataset("positions", data=state.positions)
        f.create_dataset("velocities", data=state.velocities)
        f.create_dataset("box", data=state.box)
        if neighbours is not None and neighbours.reference_box is not None:
            g = f.create_group("neighbours")
            for k, v in neighbours.snapshot().items():
                g.create_dataset(k, data=v)
            g.attrs["skin"] = neighbours.skin
        for name, snap in (force_lists or {}).items():     # lists bound forces own
            g = f.require_group("force_lists").create_group(name)
            for k, v in snap.items():
                g.create_dataset(k, data=v)
        for k, v in (extra or {}).items():
            f.attrs[f"extra:{k}"] = json.dumps(v)
        g = f.create_group("stepper")
        for k, v in (stepper_state or {}).items():
            g.create_dataset(k, data=np.asarray(v, dtype=np.float64))
    os.replace(tmp, path)


def read_checkpoint(path) -> dict:
    """Return a dict: state, seed, integrator (JSON str), neighbours (dict or None), extra,
    stepper_state (name → array; empty for version-1 files)."""
    path = os.fspath(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise CheckpointError(f"{path}: not an mdzoom checkpoint (format attribute is "
                                  f"{f.attrs.get('format')!r})")
        if int(f.attrs["version"]) > VERSION:
            raise CheckpointError(f"{path}: checkpoint version {f.attrs['version']} is newer "
                                  f"than this mdzoom reads ({VERSION})")
        state = State(f["positions"][...], f["velocities"][...], f["box"][...],
                      int(f.attrs["step"]), float(f.attrs["time"]))
        nl = None
        if "neighbours" in f:
            g = f["neighbours"]
            nl = {k: d[()] for k, d in g.items()}
            nl["skin"] = float(g.attrs["skin"])
        force_lists = {name: {k: d[()] for k, d in g.items()}
                       for name, g in f.get("force_lists", {}).items()}
        extra = {k[6:]: json.loads(v) for k, v in f.attrs.items() if k.startswith("extra:")}
        stepper_state = {}
        if "stepper" in f:
            stepper_state = {k: d[()] for k, d in f["stepper"].items()}
        return {"state": state, "seed": int(f.attrs["seed"]),
                "integrator": str(f.attrs["integrator"]), "neighbours": nl, "extra": extra,
                "force_lists": force_lists,
                "stepper_state": stepper_state}
