"""Smoke test of examples/sn2_qmmm (build + a tiny run through the whole pipeline)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sn2_qmmm"


def _load(name):
    """build.py as ``sn2_build``; run.py as ``run`` with its folder on sys.path, so that
    the spawned workers of its process pool can import the job functions by name."""
    import importlib

    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    if name == "run":
        return importlib.import_module("run")
    spec = importlib.util.spec_from_file_location("sn2_build", EXAMPLE / "build.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sn2_build", mod)
    spec.loader.exec_module(mod)
    return mod


def test_build_reads_back(tmp_path):
    build = _load("build")
    out, n_kept, n_removed = build.build(tmp_path / "system")
    system, state = build.check(out)
    assert system.n_particles == 6 + 3 * n_kept and n_kept + n_removed == 578
    assert np.allclose(state.positions[0], 1.3, atol=1e-3)      # C at the box centre
    assert np.allclose(system.topology.charges[:6], 0.0)


@pytest.mark.slow
def test_tiny_run(tmp_path):
    build = _load("build")
    run = _load("run")
    sysdir, _, _ = build.build(tmp_path / "system")
    out = tmp_path / "out"
    s = run.main(["--quick", "--system", str(sysdir), "--out", str(out), "--workers", "2",
                  "--windows", "3", "--equil-steps", "10", "--steps", "40", "--shots", "2",
                  "--t-shot", "0.005", "--no-progress"])
    for f in ("summary.json", "pmf.png", "kappa.png", "pmf.csv", "kappa.npz"):
        assert (out / f).exists()
    assert json.loads((out / "summary.json").read_text())["mode"] == "quick"
    assert np.isfinite(s["barrier_kJ_mol"]) and s["ms_per_step_qmmm_md"]["mean"] > 0
