"""``mdzoom run -p topol.top -c conf.gro -f md.mdp``: GROMACS inputs run directly."""

from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.cli import main
from mdzoom.core.io import read_gro, read_h5md

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs" / "tip3p_box"


def _run_water(tmp_path, capsys, nsteps, nstenergy, extra):
    """``mdzoom run`` on the TIP3P box with ``run.mdp`` + ``extra`` lines; returns out dir."""
    mdp = tmp_path / "md.mdp"
    text = (DATA / "run.mdp").read_text()
    text = text.replace("nsteps          = 0", f"nsteps          = {nsteps}")
    text = text.replace("nstenergy       = 1", f"nstenergy       = {nstenergy}")
    mdp.write_text(text + extra)
    out = tmp_path / "out"
    rc = main(["run", "-p", str(DATA / "processed.top"), "-c", str(DATA / "conf.gro"),
               "-f", str(mdp), "-o", str(out), "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    return out


def test_run_gromacs_inputs(tmp_path, capsys):
    out = _run_water(tmp_path, capsys, 20, 5, "dt = 0.002\nnstxout-compressed = 10\n"
                     "gen-vel = yes\ngen-temp = 300\ngen-seed = 7\n")
    traj = read_h5md(out / "traj.h5md")
    assert traj.steps.tolist() == [0, 10, 20]
    final = read_gro(out / "confout.gro")
    # SETTLE kept every water rigid (to the .gro precision)
    x = final.positions.reshape(-1, 3, 3)
    d_oh = np.linalg.norm(x[:, 1] - x[:, 0], axis=1)
    assert np.allclose(d_oh, 0.09572, atol=2e-3)
    log = (out / "energy.log").read_text().splitlines()
    assert len(log) == 1 + 5      # header + steps 0, 5, 10, 15, 20


def test_run_gromacs_crescale_semiisotropic(tmp_path, capsys):
    """pcoupl = C-rescale, semiisotropic, on SETTLE water: the box moves, Lx == Ly."""
    out = _run_water(tmp_path, capsys, 40, 20,
                     "dt = 0.002\nnstxout-compressed = 20\n"
                     "gen-vel = yes\ngen-temp = 300\ngen-seed = 11\n"
                     "tcoupl = V-rescale\ntc_grps = System\ntau_t = 0.1\nref_t = 300\n"
                     "pcoupl = C-rescale\npcoupltype = semiisotropic\ntau_p = 0.5\n"
                     "ref_p = 1 1\ncompressibility = 4.5e-5 4.5e-5\nnstpcouple = 10\n")
    traj = read_h5md(out / "traj.h5md")
    assert traj.steps.tolist() == [0, 20, 40]
    box0, box = np.diag(traj.boxes[0]), np.diag(traj.boxes[-1])
    assert np.allclose(box0, 2.6)
    # the unminimised box (LJ (SR) > 0) starts at ~7e4 bar: the box grows
    assert (box > box0).all() and (box < 1.1 * box0).all()
    assert box[0] == box[1]                                       # x and y scale together
    assert box[2] != box[0]                                       # z on its own
    x = read_gro(out / "confout.gro").positions.reshape(-1, 3, 3)
    d_oh = np.linalg.norm(x[:, 1] - x[:, 0], axis=1)
    assert np.allclose(d_oh, 0.09572, atol=2e-3)                  # SETTLE kept


NVT = "tcoupl = V-rescale\ntc-grps = System\ntau-t = 0.1\nref-t = 300\n"


def test_ld_seed_makes_stochastic_runs_repeatable(tmp_path, capsys):
    """Same ld-seed: the V-rescale + C-rescale run repeats bit for bit; another seed (or
    none) gives another trajectory."""
    extra = ("dt = 0.002\nnstxout-compressed = 10\ngen-vel = yes\ngen-temp = 300\n"
             "gen-seed = 3\n" + NVT + "pcoupl = C-rescale\ntau_p = 0.5\n"
             "ref-p = 1\ncompressibility = 4.5e-5\nnstpcouple = 5\n")
    finals = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        (tmp_path / name).mkdir()
        out = _run_water(tmp_path / name, capsys, 20, 10, extra + f"ld-seed = {seed}\n")
        traj = read_h5md(out / "traj.h5md")
        finals[name] = (traj.positions[-1], traj.boxes[-1])
    assert np.array_equal(finals["a"][0], finals["b"][0])
    assert np.array_equal(finals["a"][1], finals["b"][1])
    assert not np.array_equal(finals["a"][0], finals["c"][0])


@pytest.mark.parametrize("extra, message", [
    ("pcoupl = C-rescale\n", "pcoupl = C-rescale needs a thermostat"),
    (NVT + "pcoupl = Parrinello-Rahman\n",
     "pcoupl = Parrinello-Rahman (MTKBarostat) does not handle constraints"),
    (NVT + "pcoupl = C-rescale\nintegrator = sd\n", "needs integrator = md or md-vv"),
    (NVT + "pcoupl = C-rescale\npcoupltype = surface-tension\n",
     "pcoupltype = 'surface-tension' is not supported"),
])
def test_unsupported_coupling_is_refused(tmp_path, capsys, extra, message):
    mdp = tmp_path / "md.mdp"
    text = (DATA / "run.mdp").read_text().replace("integrator      = md\n", "")
    mdp.write_text(text + "tau-p = 2\nref-p = 1\ncompressibility = 4.5e-5\n" + extra)
    rc = main(["run", "-p", str(DATA / "processed.top"), "-c", str(DATA / "conf.gro"),
               "-f", str(mdp), "-o", str(tmp_path / "o")])
    assert rc == 1 and message in capsys.readouterr().err
