"""Round trip of the GROMACS writers: read → ``write_top`` + ``write_gro`` → read.

For every reference system in ``tests/data/gromacs`` (processed.top + conf.gro + run.mdp):

- the re-read topology, built with the ORIGINAL conf.gro, gives the same energy terms
  (relative 1e-10) and forces as the original topology: the writer loses nothing;
- the written .gro (``%8.3f``: positions rounded to 1e-3 nm, as in the original file,
  so here they come back exactly) reproduces the energies with the re-read topology;
- when ``gmx`` is on the PATH, ``gmx grompp`` accepts the written pair of files.
"""

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import build_system
from mdzoom.core.io import read_gro, read_mdp, read_top, write_gro, write_top

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs"
SYSTEMS = sorted(p.name for p in DATA.iterdir() if (p / "processed.top").exists())


def _terms(top, frame, mdp):
    system, state, _ = build_system(top, frame, mdp)
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    return system, dict(ev.terms), ev.forces.copy()


@pytest.fixture(scope="module", params=SYSTEMS)
def written(request, tmp_path_factory):
    d = DATA / request.param
    out = tmp_path_factory.mktemp(request.param)
    mdp = read_mdp(d / "run.mdp")
    top = read_top(str(d / "processed.top"))
    frame = read_gro(d / "conf.gro")
    write_top(out / "topol.top", top)
    write_gro(out / "conf.gro", frame)
    return d, out, top, frame, mdp


def test_topology_round_trip_gives_identical_energies(written):
    d, out, top, frame, mdp = written
    top2 = read_top(str(out / "topol.top"))
    sys1, ref, f_ref = _terms(top, frame, mdp)
    sys2, got, f_got = _terms(top2, frame, mdp)       # the ORIGINAL conf.gro
    assert set(got) == set(ref)
    for term, e in ref.items():
        assert got[term] == pytest.approx(e, rel=1e-10, abs=1e-10), term
    np.testing.assert_allclose(f_got, f_ref, rtol=1e-9, atol=1e-9)
    # the same particles, parameters and constraints
    np.testing.assert_array_equal(sys2.topology.masses, sys1.topology.masses)
    np.testing.assert_array_equal(sys2.topology.charges, sys1.topology.charges)
    assert sys2.topology.type_names == sys1.topology.type_names
    for a, b in zip(sys1.topology.exclusions, sys2.topology.exclusions):
        np.testing.assert_array_equal(a, b)
    assert [type(c) for c in sys2.constraints] == [type(c) for c in sys1.constraints]
    assert sys2.n_constraints == sys1.n_constraints


def test_written_gro_reproduces_energies(written):
    d, out, top, frame, mdp = written
    frame2 = read_gro(out / "conf.gro")
    assert frame2.n_particles == frame.n_particles
    assert frame2.names == frame.names and frame2.resnames == frame.resnames
    np.testing.assert_array_equal(frame2.resids, frame.resids)
    # %8.3f: within half the last digit (the original has the same precision, so exact)
    assert np.max(np.abs(frame2.positions - frame.positions)) <= 5e-4 + 1e-12
    np.testing.assert_allclose(frame2.box, frame.box, atol=5e-6)
    top2 = read_top(str(out / "topol.top"))
    _, ref, _ = _terms(top, frame, mdp)
    _, got, _ = _terms(top2, frame2, mdp)
    # loose: a 1e-3 nm rounding of positions changes stiff bond energies by ~kb·b·δ
    for term, e in ref.items():
        assert got[term] == pytest.approx(e, rel=1e-3, abs=0.5), term


GMX = shutil.which("gmx") or shutil.which("gmx_d") or shutil.which("gmx_mpi")


def _grompp(top, gro, mdp, tpr, maxwarn):
    return subprocess.run(
        [GMX, "grompp", "-f", str(mdp), "-p", str(top), "-c", str(gro), "-o", str(tpr),
         "-po", str(tpr.with_suffix(".mdout.mdp")), "-maxwarn", str(maxwarn)],
        cwd=tpr.parent, capture_output=True, text=True, timeout=300)


def _warnings(stderr):
    m = re.search(r"There (?:were (\d+) warnings|was (1) warning)", stderr)
    return int(next(g for g in m.groups() if g)) if m else 0


@pytest.mark.skipif(GMX is None, reason="GROMACS (gmx) is not installed")
def test_grompp_accepts_written_files(written):
    """grompp takes the written pair with no more warnings than the original inputs
    (the reference .mdp files themselves draw one, e.g. epsilon-rf = epsilon-r), and the
    two run inputs are equivalent by ``gmx check -s1 -s2`` (only the random ``ld_seed``
    may differ)."""
    d, out, top, frame, mdp = written
    ref = _grompp(d / "processed.top", d / "conf.gro", d / "run.mdp", out / "ref.tpr", 10)
    assert ref.returncode == 0, ref.stderr[-3000:]
    n_warn = _warnings(ref.stderr)
    proc = _grompp(out / "topol.top", out / "conf.gro", d / "run.mdp", out / "run.tpr",
                   n_warn)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check = subprocess.run([GMX, "check", "-s1", str(out / "ref.tpr"), "-s2",
                            str(out / "run.tpr")], cwd=out, capture_output=True, text=True,
                           timeout=300)
    assert check.returncode == 0, check.stderr[-3000:]
    # gmx check prints "comparing …" per block and one line per difference
    diffs = [ln for ln in check.stdout.splitlines()
             if ln.strip() and not ln.startswith("comparing") and "ld_seed" not in ln]
    assert not diffs, "gmx check finds differences:\n" + "\n".join(diffs[:20])
