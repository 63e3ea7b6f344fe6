"""Shared helpers of the Martini plugin's tests."""

import subprocess

import pytest

MARTINI_EM_MDP = ("integrator = steep\nnsteps = 0\ncutoff-scheme = Verlet\n"
                  "coulombtype = reaction-field\nrcoulomb = 1.1\nepsilon_r = 15\n"
                  "epsilon_rf = 0\nvdw_modifier = Potential-shift-verlet\nrvdw = 1.1\n")


@pytest.fixture
def grompp():
    """``grompp(folder, maxwarn=0)``: run ``gmx grompp`` on folder/cg.gro + cg.top with
    the standard Martini settings; returns the CompletedProcess."""
    def run(folder, maxwarn=0):
        (folder / "em.mdp").write_text(MARTINI_EM_MDP)
        return subprocess.run(["gmx", "grompp", "-f", "em.mdp", "-c", "cg.gro", "-p",
                               "cg.top", "-o", "cg.tpr", "-maxwarn", str(maxwarn)],
                              cwd=folder, capture_output=True, text=True)
    return run
