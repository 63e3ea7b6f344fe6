"""``mdzoom run -p topol.top -c conf.gro -f md.mdp``: GROMACS inputs run directly."""

from pathlib import Path

import numpy as np

from mdzoom.core.cli import main
from mdzoom.core.io import read_gro, read_h5md

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs" / "tip3p_box"


def test_run_gromacs_inputs(tmp_path, capsys):
    mdp = tmp_path / "md.mdp"
    text = (DATA / "run.mdp").read_text()
    text = text.replace("nsteps          = 0", "nsteps          = 20")
    text = text.replace("nstenergy       = 1", "nstenergy       = 5")
    mdp.write_text(text + "dt = 0.002\nnstxout-compressed = 10\n"
                          "gen-vel = yes\ngen-temp = 300\ngen-seed = 7\n")
    out = tmp_path / "out"
    rc = main(["run", "-p", str(DATA / "processed.top"), "-c", str(DATA / "conf.gro"),
               "-f", str(mdp), "-o", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    traj = read_h5md(out / "traj.h5md")
    assert traj.steps.tolist() == [0, 10, 20]
    final = read_gro(out / "confout.gro")
    # SETTLE kept every water rigid (to the .gro precision)
    x = final.positions.reshape(-1, 3, 3)
    d_oh = np.linalg.norm(x[:, 1] - x[:, 0], axis=1)
    assert np.allclose(d_oh, 0.09572, atol=2e-3)
    log = (out / "energy.log").read_text().splitlines()
    assert len(log) == 1 + 5      # header + steps 0, 5, 10, 15, 20


def test_unsupported_coupling_is_refused(tmp_path, capsys):
    mdp = tmp_path / "md.mdp"
    mdp.write_text((DATA / "run.mdp").read_text() + "pcoupl = Parrinello-Rahman\n"
                   "tau-p = 2\nref-p = 1\ncompressibility = 4.5e-5\n")
    rc = main(["run", "-p", str(DATA / "processed.top"), "-c", str(DATA / "conf.gro"),
               "-f", str(mdp), "-o", str(tmp_path / "o")])
    assert rc == 1 and "pcoupl" in capsys.readouterr().err
