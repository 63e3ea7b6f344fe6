"""``mdzoom energy``: GROMACS inputs in, gmx energy's breakdown out (text, JSON, forces)."""

import json
from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs" / "a6pa6_opls_vac"


def test_energy_json_and_forces(tmp_path, capsys):
    forces = tmp_path / "f.txt"
    rc = main(["energy", "-p", str(DATA / "processed.top"), "-c", str(DATA / "conf.gro"),
               "-f", str(DATA / "run.mdp"), "--json", "--forces", str(forces)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ref = json.loads((DATA / "reference.json").read_text())["terms"]
    assert list(out["terms"])[-1] == "Potential"
    for term, value in ref.items():
        assert out["terms"][term] == pytest.approx(value, rel=1e-6, abs=1e-3)
    f = np.loadtxt(forces)
    assert f.shape == (137, 3)
    assert np.sqrt(np.mean((f - np.loadtxt(DATA / "forces.txt")) ** 2)) < 0.01


def test_energy_table_and_clear_errors(tmp_path, capsys):
    rc = main(["energy", "-p", str(DATA / "processed.top"), "-c", str(DATA / "conf.gro")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "Ryckaert-Bell." in text and "Potential" in text
    bad = tmp_path / "bad.mdp"
    bad.write_text("coulombtype = PPPM\n")
    rc = main(["energy", "-p", str(DATA / "processed.top"), "-c", str(DATA / "conf.gro"),
               "-f", str(bad)])
    err = capsys.readouterr().err
    assert rc == 1 and "bad.mdp" in err and "PPPM" in err
    wrong = tmp_path / "few.gro"
    lines = (DATA / "conf.gro").read_text().splitlines()
    wrong.write_text("\n".join([lines[0], "3", *lines[2:5], lines[-1]]) + "\n")
    rc = main(["energy", "-p", str(DATA / "processed.top"), "-c", str(wrong)])
    err = capsys.readouterr().err
    assert rc == 1 and "3 atoms" in err
