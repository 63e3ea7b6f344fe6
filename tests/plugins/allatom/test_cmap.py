"""CHARMM CMAP (``[ cmap ]`` func 1, ``CMAPTorsions``) against GROMACS 2022.5 in double
precision, finite differences and OpenMM.

The reference (``tests/data/allatom_cmap``, written by ``make_reference.py`` there) is the
A6PA6 peptide in charmm27 with CMAP: ``full/`` the whole system (every term and the
forces), ``cmap_only/`` GROMACS's CMAP energy and forces alone on 8 frames (the pdb2gmx
helix, 5 with random φ/ψ, one with every φ, ψ within 0.001° of ±180°, one on grid nodes).
GROMACS is not needed at test time.

Measured (gmx_d 2022.5): ``CMAP Dih.`` ≤ 2e-13 relative on every frame; CMAP forces
≤ 2e-9 of the largest force (the 9 digits ``gmx dump`` prints). OpenMM 8.6.1 (Reference
platform, periodic splines where GROMACS extends the grid): energies ≤ 8e-9 relative,
forces ≤ 1.3e-7 of the largest.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.io.top import read_top
from mdzoom.plugins.allatom.cmap import CMAPTorsions, cmap_coefficients, gromacs_cmap

DATA = Path(__file__).resolve().parents[2] / "data" / "allatom_cmap"
CMAP_BOX = 12.0


@pytest.fixture(scope="module")
def full():
    system, state, _ = load_gromacs(DATA / "processed.top", DATA / "full" / "conf.gro",
                                    DATA / "full" / "run.mdp")
    return system, state, json.loads((DATA / "full" / "reference.json").read_text())


@pytest.fixture(scope="module")
def cmap_only(full):
    """(System with only the CMAP force, frames (F, N, 3), reference)."""
    system = full[0]
    cmap, = [f for f in system.forces if isinstance(f, CMAPTorsions)]
    box = np.eye(3) * CMAP_BOX
    lines = (DATA / "cmap_only" / "frames.gro").read_text().splitlines()
    n = system.n_particles
    frames = []
    for start in range(0, len(lines), n + 3):
        block = lines[start + 2:start + 2 + n]
        frames.append([[float(ln[20 + 20 * d:40 + 20 * d]) for d in range(3)] for ln in block])
    ref = json.loads((DATA / "cmap_only" / "reference.json").read_text())
    assert len(frames) == len(ref["cmap_energy"]) == 8
    return mz.System(system.topology, box, [cmap]), np.array(frames), ref


def test_full_system_matches_gromacs(full):
    system, state, ref = full
    e, f, terms = testing.evaluate(system, state)
    cmaps, = [x for x in system.forces if isinstance(x, CMAPTorsions)]
    assert len(cmaps.atoms) == 11 and np.asarray(cmaps.maps).shape == (3, 24, 24)
    expected = ref["terms"]
    assert terms["CMAP Dih."] == pytest.approx(expected["CMAP Dih."], rel=1e-6)   # 3e-15
    for term, value in expected.items():
        if term != "Potential":         # pairs and Coulomb: GROMACS tabulates, ~3e-9
            assert terms[term] == pytest.approx(value, rel=1e-5, abs=1e-3), term
    assert e == pytest.approx(expected["Potential"], rel=1e-8)
    fr = np.asarray(ref["forces"])
    assert np.abs(f - fr).max() < 1e-6 * np.abs(fr).max() + 1e-3   # measured 2e-4 kJ/mol/nm


@pytest.mark.parametrize("frame", range(8))
def test_cmap_energy_and_forces_match_gromacs(cmap_only, frame):
    system, frames, ref = cmap_only
    box = system.box
    e, f, terms = testing.evaluate(system, mz.State(frames[frame], box=box))
    assert set(terms) == {"CMAP Dih.", "Potential"}
    assert e == pytest.approx(ref["cmap_energy"][frame], rel=1e-6)      # measured ≤ 2e-13
    fr = np.asarray(ref["forces"][frame])
    assert np.abs(f - fr).max() <= 1e-5 * np.abs(fr).max()             # measured ≤ 2e-9


def test_forces_are_minus_gradient(cmap_only):
    system, frames, _ = cmap_only
    for frame in (1, 6):              # random angles; every angle near ±180°
        testing.check_finite_difference(system, mz.State(frames[frame], box=system.box),
                                        particles=np.arange(40), h=1e-6, rtol=1e-5,
                                        atol=1e-5)
    testing.check_translation_invariance(system, mz.State(frames[1], box=system.box))


# ------------------------------------------------------------------- one CMAP, chosen φ/ψ


def _dihedral(x, i, j, k, l):
    rij, rkj, rkl = x[i] - x[j], x[k] - x[j], x[k] - x[l]
    m, n = np.cross(rij, rkj), np.cross(rkj, rkl)
    phi = np.degrees(np.arctan2(np.linalg.norm(np.cross(m, n)), m.dot(n)))
    return phi if rij.dot(n) >= 0 else -phi


def _rotate(x, j, k, moving, angle_deg):
    u = (x[k] - x[j]) / np.linalg.norm(x[k] - x[j])
    a = np.radians(angle_deg)
    w = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    rot = np.eye(3) + np.sin(a) * w + (1 - np.cos(a)) * w @ w
    x[moving] = (x[moving] - x[k]) @ rot.T + x[k]


def five_atoms(phi, psi):
    """Positions (5, 3) [nm] of a C–N–CA–C–N chain with the given φ, ψ [deg]."""
    x = np.array([[0.0, 0.0, 0.0], [0.133, 0.0, 0.0], [0.19, 0.138, 0.0],
                  [0.34, 0.14, 0.03], [0.40, 0.27, -0.02]]) + 1.0
    for _ in range(3):
        _rotate(x, 1, 2, [3, 4], phi - _dihedral(x, 0, 1, 2, 3))
    for _ in range(3):
        _rotate(x, 2, 3, [4], psi - _dihedral(x, 1, 2, 3, 4))
    assert _dihedral(x, 0, 1, 2, 3) == pytest.approx(phi, abs=1e-9)
    assert _dihedral(x, 1, 2, 3, 4) == pytest.approx(psi, abs=1e-9)
    return x


@pytest.fixture(scope="module")
def charmm_map():
    top = read_top(DATA / "processed.top")
    _, n, _, values = top.cmaptypes[("C", "NH1", "CT1", "C", "NH1")]
    return np.asarray(values).reshape(n, n)


def _one(grid, x, box=None):
    box = np.eye(3) * 3.0 if box is None else box
    g = mz.Topology([mz.MoleculeType("M", _chain(), nrexcl=3)], [("M", 1)])
    system = mz.System(g, box, [CMAPTorsions([[0, 1, 2, 3, 4]], grid)])
    return system, mz.State(x, box=box)


def _chain():
    import networkx as nx

    g = nx.path_graph(5)
    for i in g:
        g.nodes[i].update(name=f"A{i}", type="X", mass=12.0, charge=0.0, resname="R",
                          resid=1)
    return g


def test_grid_nodes_reproduce_the_table(charmm_map):
    """At a node the interpolation returns the table value, [φ index, ψ index] order."""
    for i, j in ((0, 0), (8, 9), (23, 5), (3, 20)):
        system, state = _one(charmm_map, five_atoms(-180.0 + 15 * i + 1e-9,
                                                    -180.0 + 15 * j + 1e-9))
        e, _, _ = testing.evaluate(system, state)
        assert e == pytest.approx(charmm_map[i, j], abs=1e-6)


@pytest.mark.parametrize("where", ["phi", "psi", "both", "interior"])
def test_continuous_across_the_periodic_boundary(charmm_map, where):
    """φ, ψ = 180° − δ and −180° + δ are neighbours: energy and forces agree to O(δ);
    a finite difference at exactly 180° steps across the boundary."""
    delta = 1e-7
    edge = 15.0 if where == "interior" else 180.0        # interior: a cell edge
    other = 37.0

    def angles(side):
        a = side * edge - (delta if side > 0 else -delta) if where != "interior" \
            else edge + side * delta
        return {"phi": (a, other), "psi": (other, a), "both": (a, a),
                "interior": (a, other)}[where]

    out = []
    for side in (1.0, -1.0):
        system, state = _one(charmm_map, five_atoms(*angles(side)))
        out.append(testing.evaluate(system, state)[:2])
    (e1, f1), (e2, f2) = out
    assert e1 == pytest.approx(e2, abs=1e-6)
    assert np.abs(f1 - f2).max() < 1e-4 * np.abs(f1).max()
    at = {"phi": (180.0, other), "psi": (other, 180.0), "both": (180.0, 180.0),
          "interior": (edge, other)}[where]
    system, state = _one(charmm_map, five_atoms(*at))
    testing.check_finite_difference(system, state, particles=np.arange(5), h=1e-6,
                                    rtol=1e-5, atol=1e-5)


def test_split_over_the_box_edge(charmm_map):
    """Minimum image: a CMAP whose atoms are wrapped into a small box gives the same."""
    x = five_atoms(-65.0, 140.0)
    e0, f0, _ = testing.evaluate(*_one(charmm_map, x))
    box = np.array([[0.9, 0.0, 0.0], [0.2, 0.8, 0.0], [-0.1, 0.3, 0.85]])
    frac = (x - 1.0 + 0.05) @ np.linalg.inv(box)
    wrapped = (frac - np.floor(frac)) @ box
    system, state = _one(charmm_map, wrapped, box)
    e1, f1, _ = testing.evaluate(system, state)
    assert e1 == pytest.approx(e0, rel=1e-12)
    np.testing.assert_allclose(f1, f0, rtol=1e-9, atol=1e-9)
    testing.check_pickling(system.forces[0], system, state)


def test_constant_and_separable_maps():
    """A constant map gives its constant and no force; the spline derivatives of a smooth
    periodic map approach the analytic ones."""
    system, state = _one(np.full((24, 24), 3.5), five_atoms(-60.0, 130.0))
    e, f, _ = testing.evaluate(system, state)
    assert e == pytest.approx(3.5, rel=1e-13) and np.abs(f).max() < 1e-10
    n = 24
    ang = np.radians(-180.0 + 360.0 / n * np.arange(n))
    grid = 2.0 * np.cos(ang)[:, None] + np.sin(2 * ang)[None, :]
    c = cmap_coefficients(grid[None])
    i, j = 5, 17                  # the t-slope at a node ≈ dV/dφ · Δ (Δ = 15° in rad)
    assert c[0, i, j, 1, 0] == pytest.approx(-2.0 * np.sin(ang[i]) * 2 * np.pi / n, rel=1e-3)
    assert c[0, i, j, 0, 1] == pytest.approx(2.0 * np.cos(2 * ang[j]) * 2 * np.pi / n,
                                             rel=1e-3)


def test_missing_cmaptype_lists_available(full):
    system = full[0]

    class Ctx:
        topology = read_top(DATA / "processed.top")
        atom_types = ["CT3"] * system.n_particles

    with pytest.raises(ValueError, match="no \\[ cmaptypes \\] entry.*available: C NH1 CT1"):
        gromacs_cmap(np.array([[0, 1, 2, 3, 4]]), np.zeros((1, 0)), Ctx())


def test_bad_maps_are_refused():
    system, state = _one(np.zeros((5, 5)), five_atoms(10.0, 20.0))
    with pytest.raises(ValueError, match="even grid size"):
        testing.evaluate(system, state)


# ------------------------------------------------------------------------------ OpenMM


def test_openmm_cmap_agrees(cmap_only, full):
    openmm = pytest.importorskip("openmm")
    from mdzoom.core.openmm_export import openmm_energy_terms, to_openmm

    system, frames, _ = cmap_only
    omm, _, box = to_openmm(system, mz.State(frames[0], box=system.box))
    ctx = openmm.Context(omm, openmm.VerletIntegrator(0.001),
                         openmm.Platform.getPlatformByName("Reference"))
    ctx.setPeriodicBoxVectors(*box)
    for x in frames:
        ctx.setPositions(x)
        terms, f = openmm_energy_terms(ctx, forces=True)
        e, fm, _ = testing.evaluate(system, mz.State(x, box=system.box))
        # periodic (OpenMM) vs extended natural (GROMACS) splines: measured ≤ 8e-9 (energy),
        # ≤ 1.3e-7 of the largest force
        assert terms["CMAP Dih."] == pytest.approx(e, rel=1e-6, abs=1e-6)
        assert np.abs(f - fm).max() <= 1e-5 * np.abs(fm).max()
