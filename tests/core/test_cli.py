"""The ``mdzoom`` command, run in-process through ``main(argv)``."""

import json
import os

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import plugins as plugins_module
from mdzoom.core.cli import main
from mdzoom.core.io import read_gro, read_h5md

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _restore_numba_threads(monkeypatch):
    import numba

    monkeypatch.delenv("MDZOOM_DEBUG", raising=False)
    # main() sets a default OMP_WAIT_POLICY; keep the test process's environment as it was
    monkeypatch.setenv("OMP_WAIT_POLICY", os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    n = numba.get_num_threads()
    yield
    numba.set_num_threads(n)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mdzoom {mz.__version__}" == "mdzoom 0.1.0"


def test_no_verb_prints_help(capsys):
    assert main([]) == 2
    assert "plugins" in capsys.readouterr().out


def test_usage_error_exits_2(capsys):
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_plugins_text_and_json(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "mdzoom.core.builtin_plugin 0.1.0" in out
    assert "lennard-jones" in out and "langevin" in out
    assert main(["plugins", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    core = next(p for p in info if p["name"] == "mdzoom.core.builtin_plugin")
    assert "lennard-jones" in core["registered"]["force"]
    assert "verlet" in core["registered"]["integrator"]
    assert core["version"] == "0.1.0"


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # MDAnalysis mass guess
def test_demo_tiny(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "lj", "--out", str(out), "--steps", "40", "--threads", "1",
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    for needle in ("2048 particles", "million atom-steps/s", "energy drift", "mean T*",
                   "traj.h5md", "energy.png"):
        assert needle in text, needle
    for name in ("traj.h5md", "energy.log", "checkpoint.h5", "conf.gro", "energy.png"):
        assert (out / name).is_file(), name
    assert (out / "energy.png").read_bytes()[:8] == PNG_MAGIC
    traj = read_h5md(out / "traj.h5md")
    assert traj.positions.shape[1:] == (2048, 3) and traj.n_frames >= 5
    assert traj.steps[-1] == 40
    log = mz.EnergyLog.read(out / "energy.log")
    assert log["step"][-1] == 40 and np.all(np.isfinite(log["Total Energy"]))
    gro = read_gro(out / "conf.gro")
    assert gro.n_particles == 2048

    mda = pytest.importorskip("MDAnalysis")
    u = mda.Universe(str(out / "conf.gro"), str(out / "traj.h5md"))
    assert len(u.atoms) == 2048 and len(u.trajectory) == traj.n_frames
    u.trajectory[-1]
    # MDAnalysis works in Å
    assert np.allclose(u.atoms.positions, traj.positions[-1] * 10.0, atol=1e-3)


def test_demo_list_and_unknown(capsys):
    assert main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = {ln[2:].split()[0]: ln.startswith("*") for ln in lines}
    assert "lj" in names and not names["lj"]          # the plugins' flagship outranks it
    assert sum(names.values()) == 1
    assert main(["demo", "nosuch", "--steps", "5"]) == 1
    assert "unknown demo 'nosuch'; available: lj" in capsys.readouterr().err


def test_demo_rejects_bad_steps(capsys):
    assert main(["demo", "--steps", "0"]) == 1
    assert capsys.readouterr().err.strip() == "mdzoom: error: --steps must be >= 1; got 0"
    assert main(["demo", "--threads", "0"]) == 2
    assert "--threads: must be >= 1" in capsys.readouterr().err


class _VerbPlugin:
    """A plugin adding two verbs: one that succeeds, one that fails."""

    @plugins_module.hookimpl
    def mdzoom_cli(self, subcommands):
        p = subcommands.add_parser("hello", help="say hello")
        p.add_argument("--name", default="world")
        p.set_defaults(func=lambda args: print(f"hello {args.name}") or 0)
        p = subcommands.add_parser("fail", help="fail")
        p.add_argument("--kind", default="user")
        p.set_defaults(func=self.fail)

    @staticmethod
    def fail(args):
        if args.kind == "user":
            raise ValueError("bad input.txt: expected a number\non line 3")
        if args.kind == "lookup":
            mz.get_plugin_manager().registry.get_force("nope")
        if args.kind == "interrupt":
            raise KeyboardInterrupt
        raise RuntimeError("a real bug")


@pytest.fixture
def with_verb_plugin(monkeypatch):
    pm = mz.PluginManager(entry_points=False, plugins=[_VerbPlugin()])
    monkeypatch.setattr(plugins_module, "_default", pm)
    return pm


def test_plugin_adds_subcommand(with_verb_plugin, capsys):
    assert main(["hello", "--name", "mdzoom"]) == 0
    assert capsys.readouterr().out.strip() == "hello mdzoom"
    assert main(["--help"]) == 0
    assert "hello" in capsys.readouterr().out


def test_user_errors_are_one_line(with_verb_plugin, capsys):
    assert main(["fail"]) == 1
    err = capsys.readouterr().err
    assert err == "mdzoom: error: bad input.txt: expected a number on line 3\n"
    assert main(["fail", "--kind", "lookup"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mdzoom: error: unknown force 'nope'; available: ")
    assert err.count("\n") == 1


def test_bugs_keep_their_traceback(with_verb_plugin):
    with pytest.raises(RuntimeError, match="a real bug"):
        main(["fail", "--kind", "bug"])
    with pytest.raises(ValueError, match="bad input.txt"):
        main(["--debug", "fail"])
    with pytest.raises(ValueError, match="bad input.txt"):
        main(["fail", "--debug"])


def test_interrupt_exits_130(with_verb_plugin, capsys):
    assert main(["fail", "--kind", "interrupt"]) == 130
    assert "mdzoom: interrupted" in capsys.readouterr().err
