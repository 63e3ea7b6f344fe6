"""``mdzoom demo`` (the multiscale demo of the Martini plugin), shortened to 1,500 CG steps.

Checks behaviour that could fail at every stage: the mapping gives the expected CG
system, the CG run keeps the bilayer (area per lipid in a physical range), diffusion is
reported raw and scaled by the stated factor, the backmapped patch has both acyl chains
detected with a negative S_CD plateau, and every promised file is written.
"""

import json

import numpy as np
import pytest

from mdzoom.core.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    rc = main(["demo", "--out", str(out), "--steps", "1500", "--threads", "1",
               "--no-progress"])
    return rc, out


def test_default_demo_is_multiscale(demo_run, capsys):
    rc, out = demo_run
    assert rc == 0
    assert (out / "demo.png").read_bytes()[:8] == PNG_MAGIC
    for name in ("cg.gro", "cg.top", "martini3/martini_v3.0.0.itp", "md/traj.h5md",
                 "md/energy.log", "aa_backmapped.gro", "aa_backmapped.top", "summary.json"):
        assert (out / name).is_file(), name


def test_summary_numbers(demo_run):
    summary = json.loads((demo_run[1] / "summary.json").read_text())
    assert summary["lipids"] == 31 and summary["beads"] == 31 * 12 + 323 + 8
    # 30 ps from a mapped CHARMM36 bilayer: the APL stays near the input's 0.68 nm²
    assert 0.55 < summary["apl_nm2"] < 0.80
    assert summary["D_raw_nm2_per_ps"] > 0
    assert summary["D_scaled_nm2_per_ps"] == pytest.approx(summary["D_raw_nm2_per_ps"] / 4)
    assert "scaled" in summary["diffusion_scaling_note"]
    for key in ("scd_backmapped", "scd_input"):
        chains = summary[key]
        assert len(chains) == 2                                     # sn-1 and sn-2
        lengths = sorted(len(v) for v in chains.values())
        assert lengths == [15, 17]                                  # palmitoyl C2–16, oleoyl C2–18
        for v in chains.values():
            plateau = np.mean(v[2:7])                               # carbons 4–8
            assert -0.30 < plateau < -0.05
    rep = summary["backmap_report"]
    assert rep["chiral_centres"] == 31 and rep["double_bonds"] == 31


def test_list_marks_multiscale_default(capsys):
    assert main(["demo", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    default = [ln for ln in lines if ln.startswith("*")]
    assert len(default) == 1 and default[0].split()[1] == "multiscale"
