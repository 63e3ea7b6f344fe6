"""``mdzoom demo``: a complete run on data shipped in the package.

The demo is a ``mdzoom run`` of the shipped configuration ``data/demo_lj.toml`` (a
Lennard-Jones fluid in reduced units: Langevin equilibration, then NVE production), so
reading that file is reading the demo.

>>> from mdzoom.core.demo import run_demo
>>> summary = run_demo("mdzoom-demo", steps=200, progress=False)   # doctest: +SKIP
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .config import load_config, run_config

__all__ = ["DEMO_CONFIG", "demo_config_path", "run_demo"]

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
