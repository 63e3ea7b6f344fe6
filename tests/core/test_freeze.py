"""freezegrps/freezedim from an .mdp (groups from an index file or the default groups)."""

from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.cli import main
from mdzoom.core.gromacs import default_groups, load_gromacs
from mdzoom.core.io import read_gro
from mdzoom.core.io.errors import FileFormatError
from mdzoom.core.io.ndx import read_ndx, write_ndx

DATA = Path(__file__).resolve().parents[1] / "data" / "ewald_slab"


def mdp(tmp_path, extra, nsteps=0):
    text = (DATA / "3dc.mdp").read_text().replace("nsteps = 0", f"nsteps = {nsteps}")
    for key in ("rcoulomb", "rvdw", "rlist"):     # room for the neighbour-list skin
        text = text.replace(f"{key} = 0.9", f"{key} = 0.8")
    p = tmp_path / "run.mdp"
    p.write_text(text + extra)
    return p


def test_ndx_round_trip_and_errors(tmp_path):
    groups = {"Electrode": np.arange(0, 40), "Ions": np.array([3, 7, 100])}
    write_ndx(tmp_path / "i.ndx", groups)
    back = read_ndx(tmp_path / "i.ndx")
    assert list(back) == ["Electrode", "Ions"]
    assert all(np.array_equal(back[k], groups[k]) for k in groups)
    (tmp_path / "bad.ndx").write_text("[ A ]\n1 2 x\n")
    with pytest.raises(FileFormatError, match="bad.ndx:2: expected atom numbers"):
        read_ndx(tmp_path / "bad.ndx")
    (tmp_path / "bad2.ndx").write_text("1 2 3\n")
    with pytest.raises(FileFormatError, match="before the first"):
        read_ndx(tmp_path / "bad2.ndx")


def test_freezegrps_from_index_and_default_groups(tmp_path):
    write_ndx(tmp_path / "i.ndx", {"Anchor": np.arange(0, 30)})
    p = mdp(tmp_path, "freezegrps = Anchor NA\nfreezedim = Y Y Y Y Y Y\n")
    system, state, _ = load_gromacs(DATA / "topol_neutral.top", DATA / "neutral.gro", p,
                                    index=tmp_path / "i.ndx")
    frozen = [c for c in system.constraints if isinstance(c, mz.FrozenAtoms)]
    na = default_groups(system.topology)["NA"]
    assert len(frozen) == 1 and na.size == 2
    assert np.array_equal(frozen[0].atoms, np.union1d(np.arange(30), na))


def test_freeze_errors(tmp_path):
    top, gro = DATA / "topol_neutral.top", DATA / "neutral.gro"
    with pytest.raises(ValueError, match="only some"):
        load_gromacs(top, gro, mdp(tmp_path, "freezegrps = NA\nfreezedim = Y Y N\n"))
    with pytest.raises(ValueError, match="needs 3"):
        load_gromacs(top, gro, mdp(tmp_path, "freezegrps = NA\nfreezedim = Y Y\n"))
    with pytest.raises(ValueError, match="'Wall'.*-n index.ndx.*available: System"):
        load_gromacs(top, gro, mdp(tmp_path, "freezegrps = Wall\nfreezedim = Y Y Y\n"))


def test_mdzoom_run_keeps_the_frozen_group_in_place(tmp_path):
    """Martini 3 water (898 W): the beads with z < 1.5 nm frozen through an index file,
    40 steps of 20 fs at 300 K: frozen beads end where they started, the rest moved."""
    w = Path(__file__).resolve().parents[1] / "data" / "martini" / "m3_water"
    start = read_gro(w / "conf.gro").positions
    wall = np.flatnonzero(start[:, 2] < 1.5)
    write_ndx(tmp_path / "i.ndx", {"Wall": wall})
    p = tmp_path / "run.mdp"
    p.write_text((w / "run.mdp").read_text().replace("nsteps                   = 0",
                                                     "nsteps = 40")
                 + "dt = 0.02\ntcoupl = V-rescale\ntc-grps = System\ntau-t = 1.0\n"
                   "ref-t = 300\nfreezegrps = Wall\nfreezedim = Y Y Y\n")
    out = tmp_path / "out"
    assert main(["run", "-p", str(w / "processed.top"), "-c", str(w / "conf.gro"),
                 "-f", str(p), "-n", str(tmp_path / "i.ndx"), "-o", str(out),
                 "--no-progress"]) == 0
    end = read_gro(out / "confout.gro").positions
    mobile = np.setdiff1d(np.arange(len(start)), wall)
    assert wall.size > 100
    assert np.abs(end[wall] - start[wall]).max() < 1e-3       # .gro has 3 decimals
    assert np.abs(end[mobile] - start[mobile]).max() > 0.05


def test_export_writes_the_freeze_group(tmp_path):
    """GROMACS export of frozen atoms: index.ndx + freezegrps, read back identically; with
    gmx_d, grompp accepts it (skipped without GROMACS)."""
    import shutil
    import subprocess

    from mdzoom.core.export import to_gromacs

    w = Path(__file__).resolve().parents[1] / "data" / "martini" / "m3_water"
    start = read_gro(w / "conf.gro").positions
    wall = np.flatnonzero(start[:, 2] < 1.5)
    write_ndx(tmp_path / "i.ndx", {"Wall": wall})
    p = tmp_path / "run.mdp"
    p.write_text((w / "run.mdp").read_text() + "freezegrps = Wall\nfreezedim = Y Y Y\n")
    system, state, settings = load_gromacs(w / "processed.top", w / "conf.gro", p,
                                           index=tmp_path / "i.ndx")
    paths = to_gromacs(system, state, settings, tmp_path / "gmx")
    assert read_ndx(paths["ndx"])["Frozen"].tolist() == wall.tolist()
    s2, _, _ = load_gromacs(paths["top"], paths["gro"], paths["mdp"], index=paths["ndx"])
    frozen = [c for c in s2.constraints if isinstance(c, mz.FrozenAtoms)]
    assert len(frozen) == 1 and np.array_equal(frozen[0].atoms, wall)
    gmx = shutil.which("gmx_d")
    if gmx:
        res = subprocess.run([gmx, "-quiet", "grompp", "-f", "run.mdp", "-c", "conf.gro",
                              "-p", "topol.top", "-n", "index.ndx", "-o", "t.tpr"],
                             cwd=tmp_path / "gmx", capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-2000:]
