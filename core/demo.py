"""``mdzoom demo [NAME]``: complete runs on data shipped in the package.

Demos are registered through the ``mdzoom_demos`` hook like any other component, as
``Demo`` objects; ``mdzoom demo`` without a name runs the highest-ranked one (with the
built-in plugins: the Martini plugin's multiscale demo). The core's own demo, ``lj``, is a
``mdzoom run`` of the shipped configuration ``data/demo_lj.toml`` (a Lennard-Jones fluid
in reduced units: Langevin equilibration, then NVE production), so reading that file is
reading the demo.

>>> from mdzoom.core.demo import run_demo
>>> summary = run_demo("mdzoom-demo", steps=200, progress=False)   # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

from .config import load_config, run_config

__all__ = ["DEMO_CONFIG", "Demo", "LJ_DEMO", "default_demo", "demo_config_path", "run_demo"]


@dataclass(frozen=True)
class Demo:
    """A demo for ``mdzoom demo NAME``.

    name : str        the CLI name
    summary : str     one line for ``mdzoom demo --list``
    run : callable    ``run(out, steps=None, progress=None, echo=print, threads=None) -> dict``;
                      writes into directory ``out``, prints through ``echo`` (None: silent)
    rank : int        ``mdzoom demo`` without a name runs the highest rank
    """

    name: str
    summary: str
    run: Callable
    rank: int = 0


def default_demo(registry) -> Demo:
    """The highest-ranked registered demo (the last registered among equals)."""
    entries = registry.entries("demo")
    if not entries:
        raise ValueError("no demo is registered (are all plugins disabled?)")
    return max(reversed(entries), key=lambda e: e.obj.rank).obj

DEMO_CONFIG = "demo_lj.toml"


def demo_config_path() -> Path:
    """Path of the shipped demo configuration (``mdzoom/core/data/demo_lj.toml``)."""
    return Path(os.fspath(resources.files("mdzoom.core") / "data" / DEMO_CONFIG))


def run_demo(out="mdzoom-demo", steps=None, progress=None, echo=None, threads=None) -> dict:
    """Run the demo into directory ``out``; return the summary dict of ``run_config``.

    ``steps`` overrides the total number of steps (the equilibration:production split is
    kept and periodic outputs are made frequent enough for ~10 frames); ``threads``
    sets the number of numba threads (default: all cores).
    """
    cfg = load_config(demo_config_path())
    if steps is not None:
        cfg = cfg.with_total_steps(steps)
    if threads is not None:
        cfg.threads = int(threads)
    if echo is not None:
        s = cfg.system
        echo(f"mdzoom demo: {cfg.title}")
        echo(f"  {4 * s['cells'] ** 3} atoms (fcc start), sigma = epsilon = m = 1, rc = 2.5 "
             f"sigma potential-shift, dt = 0.005 tau; config: {demo_config_path()}")
        echo("  " + ", then ".join(f"{st.name} {st.steps} steps ({st.integrator_type})"
                                   for st in cfg.stages))
    return run_config(cfg, progress=progress, out_dir=out, echo=echo)


def _run_lj_demo(out, steps=None, progress=None, echo=print, threads=None) -> dict:
    from .config import format_summary

    summary = run_demo(out, steps=steps, progress=progress, echo=echo, threads=threads)
    if echo is not None:
        echo(format_summary(summary, reduced_units=True))
    return summary


LJ_DEMO = Demo("lj", "Lennard-Jones fluid (reduced units): Langevin equilibration, then NVE; "
                     "energy drift and a PNG of the energies", _run_lj_demo, rank=0)
