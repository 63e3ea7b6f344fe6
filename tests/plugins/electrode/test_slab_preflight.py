"""Slab pre-flight checks of the electrode plugin (through the core's run_checks)."""

from pathlib import Path

import numpy as np

from mdzoom.core.cli import main
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.preflight import run_checks
from mdzoom.core.state import State

DATA = Path(__file__).resolve().parents[2] / "data"
SLAB = DATA / "ewald_slab"


def codes(system, state):
    return {f.code: f.severity for f in run_checks(system, None, {}, state=state)
            if f.code.startswith("slab-")}


def load(gro="neutral.gro", mdp="3dc.mdp"):
    top = "topol_charged.top" if gro == "charged.gro" else "topol_neutral.top"
    return load_gromacs(SLAB / top, SLAB / gro, SLAB / mdp)[:2]


def test_plain_3d_slab_is_warned_and_3dc_is_clean():
    assert codes(*load(mdp="3d.mdp")) == {"slab-without-correction": "warning"}
    assert codes(*load()) == {}


def test_split_slab_small_gap_and_net_charge():
    system, state = load()
    x = state.positions.copy()
    x[:, 2] = np.mod(x[:, 2] + 3.0, 6.0)           # the slab now straddles z = 0
    assert codes(system, State(x, box=state.box))["slab-across-z-boundary"] == "error"
    small = state.box.copy()
    small[2, 2] = 4.5                               # 4.5 nm box for a 1.97 nm slab
    system.box = small
    assert codes(system, State(state.positions, box=small)) == {
        "slab-gap-too-small": "warning"}
    assert codes(*load("charged.gro")) == {"slab-net-charge": "note"}


def test_bulk_liquid_has_no_slab_findings():
    d = DATA / "gromacs" / "tip3p_box"
    system, state, _ = load_gromacs(d / "processed.top", d / "conf.gro", d / "run.mdp")
    assert codes(system, state) == {}


def test_mdzoom_check_reports_it(capsys):
    assert main(["check", "-p", str(SLAB / "topol_neutral.top"), "-c",
                 str(SLAB / "neutral.gro"), "-f", str(SLAB / "3d.mdp")]) == 0
    out = capsys.readouterr().out
    assert "slab-without-correction" in out and "ewald-geometry = 3dc" in out
