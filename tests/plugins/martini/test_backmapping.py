"""CG → AA backmapping: round trip AA → Martini 3 → AA of the committed CHARMM36 POPC
patch (tests/data/martini_mapping, 8,047 atoms; force-field files in
tests/data/martini_backmapping, templates in plugins/martini/backmapping/data/charmm36).

Energy criterion, precisely: the relaxed potential energy per atom (restraint terms left
out) is finite and within ±ENERGY_TOL_PER_ATOM of the original patch's per-atom potential
energy, both evaluated with the same CHARMM36 topology and the same (default) run
settings by the core's GROMACS builder.
"""

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from mdzoom.plugins.martini.backmapping import backmap, load_templates
from mdzoom.plugins.martini.backmapping.placement import chirality_ok
from mdzoom.plugins.martini.mapping import Martini3Mapping, load_aa
from mdzoom.plugins.martini.mapping.clustering import minimum_image

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "martini_mapping"

FF = ROOT / "tests" / "data" / "martini_backmapping" / "charmm36_popc_patch.itp"
ENERGY_TOL_PER_ATOM = 3.0           # [kJ/mol]
N_POPC = 31


@pytest.fixture(scope="module")
def roundtrip():
    top, x, box = load_aa(DATA / "popc_patch.top", DATA / "popc_patch.gro")
    cg = Martini3Mapping().map(top, x, box)
    aa = backmap(cg, cg.positions, cg.box, load_templates("charmm36"), [FF], threads=1,
                 seed=1)
    return top, x, box, cg, aa


def test_counts_and_order(roundtrip):
    top, x, box, cg, aa = roundtrip
    nw = dict(cg.molecules)["W"]
    assert aa.molecules == [("POPC", N_POPC), ("HOH", 4 * nw), ("SOD", 4), ("CLA", 4)]
    assert len(aa.positions) == N_POPC * 134 + 3 * 4 * nw + 8


def test_heavy_atom_rmsd(roundtrip):
    top, x, box, cg, aa = roundtrip
    n = N_POPC * 134                    # lipids come first in both, same atom order
    h = aa.heavy[:n]
    d = minimum_image(aa.positions[:n] - x[:n], box)
    rmsd = float(np.sqrt((d[h] ** 2).sum(axis=1).mean()))
    print(f"POPC heavy-atom RMSD to the original after relaxation: {rmsd:.4f} nm")
    assert rmsd < 0.15


def test_bonds_within_10_percent(roundtrip):
    aa = roundtrip[4]
    x, box = aa.positions, aa.box
    checked = 0
    for f in aa.system.forces:
        if type(f).__name__ == "HarmonicBonds":
            a = np.asarray(f.atoms)
            b0 = np.broadcast_to(np.asarray(f.b0, float), (len(a),))
            r = np.linalg.norm(minimum_image(x[a[:, 1]] - x[a[:, 0]], box), axis=1)
            dev = np.abs(r - b0) / b0
            assert dev.max() < 0.10, f"worst bond deviates {dev.max():.1%}"
            checked += len(a)
    assert checked > N_POPC * 100


def test_no_overlaps(roundtrip):
    aa = roundtrip[4]
    box = np.diag(aa.box)
    x = np.mod(aa.positions, box)
    pairs = cKDTree(x, boxsize=box).query_pairs(0.08, output_type="ndarray")
    bonded = set()
    for f in aa.system.forces:
        if type(f).__name__ == "HarmonicBonds":
            bonded |= {tuple(sorted(p)) for p in np.asarray(f.atoms).tolist()}
    close = [tuple(p) for p in pairs.tolist() if tuple(sorted(p)) not in bonded]
    assert not close, f"{len(close)} non-bonded pairs closer than 0.08 nm"


def test_chirality_preserved(roundtrip):
    aa = roundtrip[4]
    t = load_templates("charmm36")["POPC"]
    assert aa.report["chiral_inverted_after_relax"] == 0
    # independent check against the original structure's handedness
    top, x0 = roundtrip[0], roundtrip[1]
    from mdzoom.plugins.martini.backmapping.templates import mapping_definitions, match_labels

    mt = top.molecule_type("POPC")
    lab = match_labels(mt.graph, list(range(mt.n_particles)), mapping_definitions()["POPC"])
    order = [lab[k] for k in t.labels]
    n = N_POPC * 134
    for xs in (x0[:n], aa.positions[:n]):
        xs = xs.reshape(N_POPC, 134, 3)[:, order]
        assert chirality_ok(t, xs, roundtrip[2]).all()


def test_energy_in_range_of_original(roundtrip):
    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs

    aa = roundtrip[4]
    system, state, _ = load_gromacs(DATA / "popc_patch.top", DATA / "popc_patch.gro")
    e0 = mz.Simulation(system, mz.VelocityVerlet(dt=0.001), state,
                       threads=1).potential_energy() / state.n_particles
    e = aa.report["energy_relaxed"] / len(aa.positions)
    print(f"potential energy per atom: original {e0:.3f}, backmapped {e:.3f} kJ/mol")
    assert np.isfinite(e)
    assert abs(e - e0) < ENERGY_TOL_PER_ATOM


def test_cli_no_relax(tmp_path, roundtrip):
    import argparse

    from mdzoom.plugins.martini.backmapping.cli import add_backmap_command

    parser = argparse.ArgumentParser(prog="mdzoom")
    add_backmap_command(parser.add_subparsers())
    cg = roundtrip[3]
    cg.write_gro(tmp_path / "cg.gro")
    cg.write_top(tmp_path / "cg.top")
    args = parser.parse_args(["backmap", "-c", str(tmp_path / "cg.gro"), "-p", str(tmp_path / "cg.top"),
               "--to", "charmm36", "--ff", str(FF), "-o", str(tmp_path / "aa.gro"),
               "-t", str(tmp_path / "aa.top"), "--no-relax"])
    assert args.func(args) == 0
    text = (tmp_path / "aa.top").read_text()
    assert "HOH" in text and "POPC" in text
