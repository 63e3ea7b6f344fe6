"""Checkpoint files (HDF5): everything needed to continue a run bit-for-bit.

Stored: positions, velocities, box, step, time, the random seed, the integrator's
description, and the neighbour list's reference positions and box — rebuilding the list
from those reproduces the exact pair order, so forces (and hence the trajectory) after a
resume are identical to an uninterrupted run's.
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
VERSION = 1


class CheckpointError(ValueError):
    pass


def _describe(obj) -> str:
    if dataclasses.is_dataclass(obj):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        fields = {k: v for k, v in fields.items() if isinstance(v, (int, float, str, bool))}
    else:
        fields = {}
    return json.dumps({"class": type(obj).__name__, "params": fields}, sort_keys=True)


def write_checkpoint(path, state: State, *, seed: int, integrator, neighbours=None,
                     extra: dict | None = None):
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
            g.create_dataset("reference_positions", data=neighbours.reference_positions)
            g.create_dataset("reference_box", data=neighbours.reference_box)
            g.attrs["skin"] = neighbours.skin
        for k, v in (extra or {}).items():
            f.attrs[f"extra:{k}"] = json.dumps(v)
    os.replace(tmp, path)


def read_checkpoint(path) -> dict:
    """Return a dict: state, seed, integrator (JSON str), neighbours (dict or None), extra."""
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
            nl = {"reference_positions": g["reference_positions"][...],
                  "reference_box": g["reference_box"][...], "skin": float(g.attrs["skin"])}
        extra = {k[6:]: json.loads(v) for k, v in f.attrs.items() if k.startswith("extra:")}
        return {"state": state, "seed": int(f.attrs["seed"]),
                "integrator": str(f.attrs["integrator"]), "neighbours": nl, "extra": extra}
