"""``mdzoom analyze NAME …``: exit codes, summaries, JSON and PNG plots."""

import json
from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.analysis import rmsf
from mdzoom.core.cli import main
from mdzoom.core.io import H5MDWriter, read_gro

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs" / "a6pa6_charmm_vac"
GRO, TOP = str(DATA / "conf.gro"), str(DATA / "processed.top")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def traj(tmp_path_factory):
    """12 frames of the peptide with random displacements (a diffusing, fluctuating
    molecule), 0.5 ps apart, in its 5.47 nm box."""
    frame = read_gro(GRO)
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("cli") / "traj.h5md"
    with H5MDWriter(path, frame.n_particles) as w:
        x = frame.positions.copy()
        for k in range(12):
            w.append(k * 250, 0.5 * k, x + rng.normal(0.0, 0.02, x.shape), frame.box)
            x = x + rng.normal(0.0, 0.03, x.shape)
    return str(path)


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_json_output_equals_the_python_api(capsys, traj):
    status, out, err = run(capsys, "analyze", "rmsf", "-f", traj, "-s", TOP,
                           "--select", "name CA", "--param", "per=residue", "--json")
    assert status == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    from mdzoom.core.analysis.command import load_topology
    top = load_topology(TOP)
    ref = rmsf(traj, selection="name CA", per="residue", topology=top)
    np.testing.assert_allclose(data["rmsf"], ref.rmsf, rtol=1e-12)
    assert data["per"] == "residue" and len(data["resids"]) == 13


@pytest.mark.parametrize("argv", [
    ["rmsd", "-s", GRO, "--select", "name CA"],
    ["rg", "-s", TOP],
    ["rdf", "--param", "r_max=1.2", "--param", "n_bins=60", "-s", GRO,
     "--select", "element C", "--select2", "element H"],
    ["rmsf", "-s", TOP, "--select", "not element H"],
    ["msd", "--param", "dims=xy", "-b", "1", "-e", "5"],
], ids=["rmsd", "rg", "rdf", "rmsf", "msd"])
def test_summary_and_png(capsys, traj, tmp_path, argv):
    png = tmp_path / "plot.png"
    status, out, err = run(capsys, "analyze", argv[0], "-f", traj, *argv[1:],
                           "--png", str(png))
    assert status == 0, err
    assert out.startswith(argv[0]) and "note:" in out and str(png) in out
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000


def test_frame_selection_and_structure_file_as_trajectory(capsys, traj):
    status, out, _ = run(capsys, "analyze", "rg", "-f", traj, "--stride", "3", "--json")
    assert status == 0 and len(json.loads(out)["rg"]) == 4
    status, out, _ = run(capsys, "analyze", "rg", "-f", GRO, "-s", TOP, "--json")
    assert status == 0 and len(json.loads(out)["rg"]) == 1


@pytest.mark.parametrize("argv, message", [
    (["nosuch"], "unknown analysis 'nosuch'"),
    (["rmsd", "--select", "name CA"], "needs a topology"),
    (["rmsd", "-s", GRO, "--select", "name XX"], "matched no particle"),
    (["rmsd", "--param", "foo=1"], "no parameter 'foo'; available: reference"),
    (["rmsd", "--param", "foo"], "expects key=value"),
    (["rdf", "--param", "r_max=4"], "below half the smallest box height"),
    (["rg", "-b", "100"], "no frame between"),
    (["block-average", "--png", "x.png"], "does not take a trajectory"),
], ids=["unknown", "no-topology", "empty", "param", "param-syntax", "rmax", "begin",
        "not-a-trajectory-analysis"])
def test_user_errors_exit_1_with_one_line(capsys, traj, argv, message):
    status, out, err = run(capsys, "analyze", argv[0], "-f", traj, *argv[1:])
    assert status == 1
    assert err.startswith("mdzoom: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file_and_help(capsys, tmp_path):
    status, _, err = run(capsys, "analyze", "rg", "-f", str(tmp_path / "none.h5md"))
    assert status == 1 and "none.h5md" in err
    status, out, _ = run(capsys, "analyze", "--help")
    assert status == 0 and "--select" in out and "--param" in out
    status, _, _ = run(capsys, "analyze", "rg")                   # -f is required
    assert status == 2
