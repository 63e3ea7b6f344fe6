"""Run configuration files: parsing, validation messages, running, resuming."""

import os
from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.cli import main
from mdzoom.core.config import ConfigError, build_system, load_config, parse_config, run_config
from mdzoom.core.io import Frame, read_h5md, write_gro

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _restore_numba_threads(monkeypatch):
    """Runs here use ``threads = 1`` (tiny systems); give the next test all threads back."""
    import numba

    monkeypatch.delenv("MDZOOM_DEBUG", raising=False)
    # main() sets a default OMP_WAIT_POLICY; keep the test process's environment as it was
    monkeypatch.setenv("OMP_WAIT_POLICY", os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    n = numba.get_num_threads()
    yield
    numba.set_num_threads(n)

SMALL = """
title = "small LJ"

[system]
builder = "lj-fluid"
cells = 4
density = 0.8442
temperature = 120.0

[[forces]]
type = "lennard-jones"
cutoff = 2.5

[run]
seed = 11
skin = 0.3
threads = 1
{run_extra}

{integration}

[output]
dir = "out"
trajectory_every = 20
energy_every = 10
checkpoint_every = {ckpt}
plot = {plot}
"""

SINGLE = """
[integrator]
type = "verlet"
dt = 0.005
"""

STAGES = """
[[stages]]
name = "nvt"
steps = {n1}
[stages.integrator]
type = "langevin"
dt = 0.005
temperature = 86.6
friction = 1.0

[[stages]]
name = "nve"
steps = {n2}
[stages.integrator]
type = "verlet"
dt = 0.005
"""


def small_config(tmp_path, name="run.toml", *, steps=100, stages=None, ckpt=0, plot="false"):
    if stages is None:
        integration, run_extra = SINGLE, f"steps = {steps}"
    else:
        integration, run_extra = STAGES.format(n1=stages[0], n2=stages[1]), ""
    path = tmp_path / name
    path.write_text(SMALL.format(integration=integration, run_extra=run_extra, ckpt=ckpt,
                                 plot=plot))
    return path


def error_line(capsys, argv):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mdzoom: error: ") and "\n" not in err, err
    return err


# --------------------------------------------------------------------------- parsing


def test_example_and_demo_configs_parse():
    cfg = load_config(REPO / "examples" / "run_lj.toml")
    assert [s.name for s in cfg.stages] == ["nvt", "nve"]
    assert isinstance(cfg.stages[0].integrator, mz.LangevinBAOAB)
    assert isinstance(cfg.stages[1].integrator, mz.VelocityVerlet)
    assert isinstance(cfg.forces[0], mz.Nonbonded) and cfg.forces[0].cutoff == 2.5
    assert cfg.output.dir == REPO / "examples" / "lj-out"
    assert cfg.total_steps == 4000 and cfg.seed == 2024 and cfg.skin == 0.3

    from mdzoom.core.demo import demo_config_path

    demo = load_config(demo_config_path())
    assert demo.stages[-1].integrator_type == "verlet"
    short = demo.with_total_steps(50)
    assert short.total_steps == 50 and all(s.steps >= 1 for s in short.stages)
    assert short.output.trajectory_every <= 5 and short.output.energy_every <= 5


def test_build_lj_fluid(tmp_path):
    cfg = load_config(small_config(tmp_path))
    built = build_system(cfg)
    assert built.system.n_particles == 256
    T = mz.velocities.temperature(built.state.velocities, built.system.masses, 3 * 256 - 3)
    assert T == pytest.approx(120.0)


@pytest.mark.parametrize("data, match", [
    ({"sytem": {}}, r"unknown key 'sytem'.*top-level"),
    ({"system": {"builder": "lj-fluid", "cells": 2, "density": 0.8, "colour": 1}},
     r"\[system\]: unknown key 'colour'"),
    ({"system": {"builder": "fcc", "cells": 2, "density": 0.8}},
     r"unknown builder 'fcc'; available: lj-fluid"),
    ({"system": {"builder": "lj-fluid", "cells": "two", "density": 0.8}},
     r"cells must be an integer"),
    ({"forces": [{"type": "lennard-jones", "sigmaa": 1.0}]},
     r"\[\[forces\]\] #1: unknown key 'sigmaa' for 'lennard-jones'; allowed: type, sigma"),
    ({"forces": [{"type": "lj"}]}, r"unknown force 'lj'; available: .*lennard-jones"),
    ({"forces": [{"sigma": 1.0}]}, r"missing key 'type'"),
    ({"integrator": {"type": "leapfrog"}},
     r"\[integrator\]: unknown integrator 'leapfrog'; available: verlet"),
    ({"integrator": {"type": "verlet", "dt": "2 fs"}}, r"dt must be a number"),
    ({"integrator": {"type": "verlet", "dt": -1.0}},
     r"\[integrator\]: .*dt must be a positive, finite time step in ps; got -1.0"),
    ({"integrator": {"type": "langevin", "dt": 0.0}}, r"\[integrator\]: .*dt must be a pos"),
    ({"run": {"steps": -1}}, r"\[run\]: steps must be >= 0"),
    ({"output": {"every": 5}}, r"\[output\]: unknown key 'every'"),
    ({"velocities": {"temperature": 1.0, "sed": 1}}, r"\[velocities\]: unknown key 'sed'"),
    ({"stages": [{"steps": 5, "integrator": {"type": "verlet"}}]},
     r"either \[integrator\].*or \[\[stages\]\]"),
])
def test_validation_messages(data, match):
    base = {"system": {"builder": "lj-fluid", "cells": 4, "density": 0.8442},
            "forces": [{"type": "lennard-jones"}],
            "integrator": {"type": "verlet", "dt": 0.005}, "run": {"steps": 10}}
    base.update(data)
    with pytest.raises(ConfigError, match=match) as info:
        parse_config(base, path="my.toml")
    assert str(info.value).startswith("my.toml: ")


def test_stage_keys_are_checked():
    data = {"system": {"builder": "lj-fluid", "cells": 4, "density": 0.8442},
            "forces": [{"type": "lennard-jones"}],
            "stages": [{"steps": 5, "integrator": {"type": "verlet", "tau": 1}}]}
    with pytest.raises(ConfigError, match=r"\[\[stages\]\] #1 integrator: unknown key 'tau'"):
        parse_config(data, path="s.toml")
    data["stages"] = [{"steps": 5, "thermostat": "x", "integrator": {"type": "verlet"}}]
    with pytest.raises(ConfigError, match=r"\[\[stages\]\] #1: unknown key 'thermostat'"):
        parse_config(data, path="s.toml")


# --------------------------------------------------------------------------- CLI errors


def test_cli_unknown_key(tmp_path, capsys):
    path = small_config(tmp_path)
    path.write_text(path.read_text().replace("[output]", "[output]\nfrequency = 3"))
    err = error_line(capsys, ["run", str(path)])
    assert "run.toml" in err and "'frequency'" in err and "[output]" in err


def test_cli_unknown_force_lists_available(tmp_path, capsys):
    path = small_config(tmp_path)
    path.write_text(path.read_text().replace('"lennard-jones"', '"morse"'))
    err = error_line(capsys, ["run", str(path)])
    assert "run.toml" in err and "unknown force 'morse'" in err
    assert "lennard-jones (mdzoom.core.builtin_plugin)" in err


def test_cli_missing_files(tmp_path, capsys):
    err = error_line(capsys, ["run", str(tmp_path / "nope.toml")])
    assert "nope.toml" in err
    path = small_config(tmp_path)
    text = path.read_text().replace('builder = "lj-fluid"\ncells = 4\ndensity = 0.8442\n',
                                    'structure = "missing.gro"\n')
    path.write_text(text)
    err = error_line(capsys, ["run", str(path)])
    assert "run.toml" in err and "missing.gro" in err
    path.write_text("[system\nbuilder = 1")
    err = error_line(capsys, ["run", str(path)])
    assert "run.toml" in err and "invalid TOML" in err


def test_cli_resume_without_checkpoint(tmp_path, capsys):
    path = small_config(tmp_path)
    err = error_line(capsys, ["run", str(path), "--resume"])
    assert "checkpoint.h5" in err and "no checkpoint" in err


# --------------------------------------------------------------------------- running


def test_run_structure_file_with_types(tmp_path):
    pos, edge = mz.fcc_lattice(4, density=0.8442)
    n = len(pos)
    names = ["AR" if k % 2 else "KR" for k in range(n)]
    write_gro(tmp_path / "start.gro", Frame(pos, np.eye(3) * edge, names, names,
                                            np.arange(1, n + 1)))
    (tmp_path / "s.toml").write_text("""
[system]
structure = "start.gro"
types = { AR = "Ar", KR = "Kr" }
mass = { Ar = 1.0, Kr = 2.0 }

[velocities]
temperature = 80.0
seed = 3

[[forces]]
type = "nonbonded"
cutoff = 2.5
lj = { Ar = [1.0, 1.0], Kr = [1.05, 1.2] }

[integrator]
type = "verlet"
dt = 0.004

[run]
steps = 30
seed = 1
skin = 0.3
threads = 1

[output]
dir = "o"
trajectory_every = 10
energy_every = 10
plot = false
""")
    cfg = load_config(tmp_path / "s.toml")
    built = build_system(cfg)
    assert built.system.topology.type_names == ["Kr", "Ar"]
    assert np.allclose(built.system.masses[:2], [2.0, 1.0])
    summary = run_config(cfg, progress=False)
    assert summary["final_step"] == 30 and summary["n_particles"] == n
    assert summary["energy_drift"] is not None
    out = tmp_path / "o"
    assert {"traj.h5md", "energy.log", "checkpoint.h5", "conf.gro"} <= {
        p.name for p in out.iterdir()}
    # the final structure keeps the input's atom names
    assert mz.io.read_gro(out / "conf.gro").names[:2] == ["KR", "AR"]


def _interrupt_at(monkeypatch, step):
    real = mz.EnergyLog.report

    def report(self, sim):
        if sim.state.step == step:
            raise KeyboardInterrupt
        real(self, sim)

    monkeypatch.setattr(mz.EnergyLog, "report", report)


@pytest.mark.parametrize("stop, every, resumed_at", [
    (130, 50, 100),   # inside the NVE stage
    (70, 50, 50),     # inside the Langevin stage, crosses the stage boundary on resume
    (100, 50, 50),    # killed before the checkpoint of step 100 was written
    (90, 40, 80),     # checkpoint exactly at the stage boundary
])
def test_resume_after_interrupt_is_bit_for_bit(tmp_path, capsys, monkeypatch, stop, every,
                                               resumed_at):
    for d in ("ref", "split"):
        (tmp_path / d).mkdir()
    ref = small_config(tmp_path / "ref", stages=(80, 120), ckpt=every)
    assert main(["run", str(ref), "--no-progress"]) == 0

    split = small_config(tmp_path / "split", stages=(80, 120), ckpt=every)
    with monkeypatch.context() as m:
        _interrupt_at(m, stop)
        assert main(["run", str(split), "--no-progress"]) == 130
    assert "--resume" in capsys.readouterr().err
    assert main(["run", str(split), "--resume", "--no-progress"]) == 0
    assert f"resuming from {tmp_path / 'split' / 'out' / 'checkpoint.h5'} at step " \
           f"{resumed_at} of 200" in capsys.readouterr().out

    a = mz.checkpoint.read_checkpoint(tmp_path / "ref" / "out" / "checkpoint.h5")
    b = mz.checkpoint.read_checkpoint(tmp_path / "split" / "out" / "checkpoint.h5")
    assert a["state"].step == b["state"].step == 200
    assert np.array_equal(a["state"].positions, b["state"].positions)
    assert np.array_equal(a["state"].velocities, b["state"].velocities)
    la = mz.EnergyLog.read(tmp_path / "ref" / "out" / "energy.log")
    lb = mz.EnergyLog.read(tmp_path / "split" / "out" / "energy.log")
    assert np.array_equal(la["step"], np.arange(0, 201, 10))
    assert np.array_equal(la["step"], lb["step"])
    assert np.array_equal(la["Total Energy"], lb["Total Energy"])
    assert np.array_equal(la["Temperature"], lb["Temperature"])
    ta = read_h5md(tmp_path / "ref" / "out" / "traj.h5md")
    tb = read_h5md(tmp_path / "split" / "out" / "traj.h5md")
    assert np.array_equal(ta.steps, tb.steps) and np.array_equal(ta.positions, tb.positions)


def test_resume_extends_a_finished_run(tmp_path, capsys):
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "run"
    ref_dir.mkdir(), run_dir.mkdir()
    ref = small_config(ref_dir, steps=120)
    assert main(["run", str(ref), "--no-progress"]) == 0
    path = small_config(run_dir, steps=60)
    assert main(["run", str(path), "--no-progress"]) == 0
    # already complete: nothing to do, outputs untouched
    assert main(["run", str(path), "--resume", "--no-progress"]) == 0
    assert "done: 0 steps" in capsys.readouterr().out
    path.write_text(path.read_text().replace("steps = 60", "steps = 120"))
    assert main(["run", str(path), "--resume", "--no-progress"]) == 0
    a = mz.checkpoint.read_checkpoint(ref_dir / "out" / "checkpoint.h5")["state"]
    b = mz.checkpoint.read_checkpoint(run_dir / "out" / "checkpoint.h5")["state"]
    assert b.step == 120 and np.array_equal(a.positions, b.positions)
    path.write_text(path.read_text().replace("steps = 120", "steps = 90"))
    err = error_line(capsys, ["run", str(path), "--resume"])
    assert "past the configured total" in err


def test_run_summary_and_out_override(tmp_path, capsys):
    path = small_config(tmp_path, stages=(40, 60), plot="true")
    assert main(["run", str(path), "--out", str(tmp_path / "elsewhere"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "done: 100 steps of 256 particles" in out
    assert "energy drift" in out and "mean T" in out and "million atom-steps/s" in out
    assert (tmp_path / "elsewhere" / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "out").exists()
