"""Electrode lattices (graphene/graphite, fcc(111), generic 2D) and electrode cells."""

from __future__ import annotations

import numpy as np
import pytest

from mdzoom.plugins.electrode.lattices import (fcc111, graphene_layer, graphite, lattice_2d,
                                               rectangular_cell)


def _distances(slab):
    """All pair distances with the minimum image in x, y (z open); inf on the diagonal."""
    p = slab.positions
    lx, ly = slab.lateral_box
    d = p[:, None, :] - p[None, :, :]
    d[..., 0] -= lx * np.round(d[..., 0] / lx)
    d[..., 1] -= ly * np.round(d[..., 1] / ly)
    r = np.linalg.norm(d, axis=-1)
    np.fill_diagonal(r, np.inf)
    return r


def _coordination(r, bond, tol=1e-6):
    return (r < bond + tol).sum(axis=1)


# ---------------------------------------------------------------------------- lattices
def test_graphene_layer_bonds_count_and_density():
    a = 0.246
    s = graphene_layer(3, 2, a=a, z=0.7)
    assert s.positions.shape == (4 * 3 * 2, 3)
    assert np.allclose(s.positions[:, 2], 0.7) and np.all(s.layer == 0)
    assert s.lateral_box == pytest.approx((3 * a, 2 * a * np.sqrt(3)))
    r = _distances(s)
    bond = a / np.sqrt(3)
    assert bond == pytest.approx(0.142, abs=5e-4)
    # every atom (also at the box edges: periodicity) has exactly 3 neighbours at 0.142 nm
    assert r.min(axis=1) == pytest.approx(np.full(len(r), bond), abs=1e-9)
    assert np.all(_coordination(r, bond) == 3)
    # second neighbours at a (6 of them)
    second = np.sort(r, axis=1)[:, 3:9]
    assert second == pytest.approx(np.full_like(second, a), abs=1e-9)
    assert len(s.positions) / s.area == pytest.approx(4 / (a * a * np.sqrt(3)))   # 38.2 nm⁻²
    x, y = s.positions[:, 0], s.positions[:, 1]
    assert x.min() >= 0 and x.max() < s.lateral_box[0] and y.min() >= 0
    assert y.max() < s.lateral_box[1]


def test_graphite_ab_stacking():
    s = graphite(3, 3, 2, spacing=0.335)
    n_layer = 4 * 3 * 2
    assert len(s.positions) == 3 * n_layer
    assert np.bincount(s.layer).tolist() == [n_layer] * 3
    assert np.unique(np.round(s.positions[:, 2], 9)).tolist() == pytest.approx([0, 0.335,
                                                                                 0.67])
    r = _distances(s)
    for k in range(3):                        # in-plane: graphene bonds
        m = s.layer == k
        assert np.all(_coordination(r[np.ix_(m, m)], 0.246 / np.sqrt(3)) == 3)
    # AB: half of layer 1 sits directly above layer-0 atoms (r = spacing), half over holes
    m0, m1 = s.layer == 0, s.layer == 1
    above = (np.abs(r[np.ix_(m1, m0)] - 0.335) < 1e-9).any(axis=1)
    assert above.sum() == n_layer // 2
    # ABA: layer 2 is layer 0 shifted up
    p0, p2 = s.positions[m0], s.positions[s.layer == 2]
    assert np.allclose(p2[:, :2], p0[:, :2]) and np.allclose(p2[:, 2] - p0[:, 2], 0.67)


def test_fcc111_gold_neighbours_and_abc():
    a = 0.4078
    b = a / np.sqrt(2)
    s = fcc111(4, 3, 2, a=a)
    assert len(s.positions) == 2 * 3 * 2 * 4
    assert s.lateral_box == pytest.approx((3 * b, 2 * b * np.sqrt(3)))
    assert s.lateral_box[1] / 2 == pytest.approx(a * np.sqrt(6) / 2)
    r = _distances(s)
    assert r.min() == pytest.approx(b, abs=1e-12)
    cn = _coordination(r, b)
    surface = (s.layer == 0) | (s.layer == 3)
    assert np.all(cn[surface] == 9) and np.all(cn[~surface] == 12)     # bulk fcc: 12
    m = s.layer == 0
    assert np.all(_coordination(r[np.ix_(m, m)], b) == 6)
    # ABC: layer 3 lies over layer 0, layers 1 and 2 over the two different hollows
    z = np.unique(np.round(s.positions[:, 2], 9))
    assert np.diff(z) == pytest.approx(np.full(3, a / np.sqrt(3)))
    p = [s.positions[s.layer == k, :2] for k in range(4)]
    assert np.allclose(p[3], p[0])
    assert not np.allclose(p[1], p[0]) and not np.allclose(p[2], p[0])
    assert not np.allclose(p[1], p[2])
    per_layer = np.sum(s.layer == 0) / s.area
    assert per_layer == pytest.approx(2 / (b * b * np.sqrt(3)))                # 13.9 nm⁻²
    assert per_layer == pytest.approx(13.89, abs=0.01)


def test_lattice_2d_rectangular_and_mxene_like():
    # a rectangular cell: 2 sites, 2 layers
    s = lattice_2d([[0.3, 0.0], [0.0, 0.4]], [[0, 0, 0.0], [0.5, 0.5, 0.2]], 3, 2, z0=1.0)
    assert len(s.positions) == 12 and s.lateral_box == pytest.approx((0.9, 0.8))
    assert np.bincount(s.layer).tolist() == [6, 6]
    assert np.allclose(s.positions[s.layer == 1, 2], 1.2)
    # a hexagonal MXene-like sheet (M2X: metal planes at ±0.1, X between), made rectangular
    a = 0.307
    hexa = np.array([[a, 0.0], [-0.5 * a, 0.5 * np.sqrt(3) * a]])
    basis = [[0, 0, 0.0], [1 / 3, 2 / 3, 0.11], [2 / 3, 1 / 3, -0.11]]
    with pytest.raises(ValueError, match="not rectangular"):
        lattice_2d(hexa, basis, 2, 2)
    cell, rb = rectangular_cell(hexa, basis)
    assert cell == pytest.approx(np.diag([a, a * np.sqrt(3)]))
    assert len(rb) == 6
    s = lattice_2d(cell, rb, 4, 2)
    assert len(s.positions) == 3 * 2 * 4 * 2
    assert np.bincount(s.layer).tolist() == [16, 16, 16]
    r = _distances(s)
    for k in range(3):                        # each plane is a triangular net of side a
        m = s.layer == k
        assert np.all(_coordination(r[np.ix_(m, m)], a) == 6)
        assert r[np.ix_(m, m)].min() == pytest.approx(a)
    # the same sheet from the primitive cell with a rotated first vector
    rot = np.array([[np.cos(0.4), -np.sin(0.4)], [np.sin(0.4), np.cos(0.4)]])
    cell2, rb2 = rectangular_cell(hexa @ rot.T, basis)
    assert cell2 == pytest.approx(cell)
    with pytest.raises(ValueError, match="shape"):
        lattice_2d(cell, [[0, 0]], 1, 1)


# ------------------------------------------------------------------------------- cells
@pytest.fixture(scope="module")
def graphite_cell(tmp_path_factory):
    from mdzoom.plugins.electrode.cell import build_cell

    return build_cell("graphite", 2.0, n_layers=2, cutoff=0.8, sigma=0.5, concentration=1.0,
                      seed=1, folder=tmp_path_factory.mktemp("graphite"))


def _check_cell(c, n_layers, atoms_per_layer, charged_per_electrode):
    x = c.state.positions
    box = np.diag(c.system.box)
    top = c.system.topology
    n_el = n_layers * atoms_per_layer
    assert len(c.left) == len(c.right) == n_el
    assert top.n_particles == 2 * n_el + 3 * c.n_water + 2 * c.n_salt
    expected = {"ELL": 1, "ELR": 1, "SOL": c.n_water, "NA": c.n_salt, "CL": c.n_salt}
    assert dict(top.molecules) == {k: v for k, v in expected.items() if v}
    # salt and water counts follow concentration × volume and bulk density
    assert c.n_salt == round(0.602214076 * c.info["concentration"] * c.volume)
    assert c.n_water + c.n_salt == round(33.4 * c.volume)
    assert c.volume == pytest.approx(c.area * (c.z_right - c.z_left - 0.4))
    assert c.area == pytest.approx(box[0] * box[1])
    # geometry: facing planes, mirror symmetry, vacuum factor 3, electrolyte in the gap
    zl, zr = x[c.left, 2], x[c.right, 2]
    assert zl.max() == pytest.approx(c.z_left, abs=1e-6)
    assert zr.min() == pytest.approx(c.z_right, abs=1e-6)
    assert box[2] == pytest.approx(3 * (zr.max() - zl.min()), abs=1e-5)
    assert np.allclose(x[c.right, :2], x[c.left, :2])                 # mirror images
    assert np.allclose(zr, c.z_left + c.z_right - zl, atol=1e-6)
    ze = x[c.electrolyte, 2]
    assert ze.min() > c.z_left + 0.3 and ze.max() < c.z_right - 0.3
    # minimum distances: electrolyte–electrode ≥ 0.3 nm, molecule centres ≥ 0.25 nm
    d = x[c.electrolyte][:, None] - x[np.r_[c.left, c.right]][None]
    d[..., :2] -= box[:2] * np.round(d[..., :2] / box[:2])
    assert np.linalg.norm(d, axis=-1).min() >= 0.3
    mol = np.asarray(top.molecule_index)[c.electrolyte]
    first = np.r_[True, mol[1:] != mol[:-1]]          # O of each water, every ion
    centres = x[c.electrolyte][first]
    d = centres[:, None] - centres[None]
    d[..., :2] -= box[:2] * np.round(d[..., :2] / box[:2])
    r = np.linalg.norm(d, axis=-1)
    np.fill_diagonal(r, np.inf)
    assert r.min() >= 0.25
    # any two atoms of different molecules (water H's included) keep some distance
    xe = x[c.electrolyte]
    d = xe[:, None] - xe[None]
    d[..., :2] -= box[:2] * np.round(d[..., :2] / box[:2])
    r = np.linalg.norm(d, axis=-1)
    r[mol[:, None] == mol[None, :]] = np.inf
    assert r.min() > 0.15
    # charges: neutral, ±σA on the electrodes, spread uniformly over the charged atoms
    q = np.asarray(top.charges, dtype=float)
    assert abs(q.sum()) < 1e-9
    assert abs(q[c.electrolyte].sum()) < 1e-9
    assert q[c.left].sum() == pytest.approx(c.sigma * c.area, abs=1e-6)
    assert q[c.right].sum() == pytest.approx(-c.sigma * c.area, abs=1e-6)
    assert len(c.charged_left) == len(c.charged_right) == charged_per_electrode
    qc = q[c.charged_left]
    assert np.allclose(qc, c.sigma * c.area / charged_per_electrode, atol=1e-9)
    assert np.allclose(q[c.charged_right], -qc)
    uncharged = np.setdiff1d(c.left, c.charged_left)
    assert np.all(q[uncharged] == 0)
    if len(c.charged_left) < len(c.left):          # "facing": the layer next to the gap
        assert np.allclose(x[c.charged_left, 2], c.z_left)
        assert np.allclose(x[c.charged_right, 2], c.z_right)


def _check_frozen(c):
    constraints = pytest.importorskip("mdzoom.core.constraints")
    if not hasattr(constraints, "FrozenAtoms"):
        pytest.skip("the core has no FrozenAtoms yet")
    frozen = [k for k in c.system.constraints if isinstance(k, constraints.FrozenAtoms)]
    assert len(frozen) == 1
    assert np.array_equal(np.sort(frozen[0].atoms), np.r_[c.left, c.right])


def test_graphite_cell(graphite_cell):
    c = graphite_cell
    _check_cell(c, n_layers=2, atoms_per_layer=4 * c.info["nx"] * c.info["ny"],
                charged_per_electrode=4 * c.info["nx"] * c.info["ny"])
    assert c.n_salt >= 1 and c.n_water > 100
    _check_frozen(c)


def test_graphite_cell_files_load_and_energy(graphite_cell):
    from mdzoom.core.ewald import PME
    from mdzoom.core.force import ForceEvaluator
    from mdzoom.core.gromacs import load_gromacs

    c = graphite_cell
    mdp = open(c.paths["mdp"]).read()
    assert "ewald-geometry  = 3dc" in mdp
    system, state, settings = load_gromacs(c.paths["top"], c.paths["gro"], c.paths["mdp"])
    assert np.allclose(state.positions, c.state.positions)
    pme = [f for f in system.forces if isinstance(f, PME)]
    assert len(pme) == 1 and pme[0].geometry == "3dc"
    ev = ForceEvaluator(c.system)
    energy = ev.compute(c.state)
    assert np.isfinite(energy)
    assert {"LJ (SR)", "Coulomb (SR)", "Coul. recip."} <= set(ev.terms)
    assert np.all(np.isfinite(ev.forces))
    # the index file has the groups named in the docs
    ndx = open(c.paths["ndx"]).read()
    for g in ("Electrodes", "Left", "Right", "Electrolyte"):
        assert f"[ {g} ]" in ndx


def test_gold_cell_all_layers_tip3p(tmp_path):
    from mdzoom.plugins.electrode.cell import build_cell

    c = build_cell("fcc111", 2.0, n_layers=2, water="tip3p", cutoff=0.8, sigma=-0.3,
                   charged="all", concentration=0.5, seed=3, folder=tmp_path)
    per_layer = 2 * c.info["nx"] * c.info["ny"]
    _check_cell(c, n_layers=2, atoms_per_layer=per_layer,
                charged_per_electrode=2 * per_layer)
    assert c.z_right - c.z_left == pytest.approx(2.0)
    assert "0.315061" in open(c.paths["top"]).read()          # TIP3P oxygen σ


def test_build_cell_errors(tmp_path):
    from mdzoom.plugins.electrode.cell import build_cell

    with pytest.raises(ValueError, match="available: graphite, fcc111"):
        build_cell("copper", folder=tmp_path)
    with pytest.raises(ValueError, match="vacuum_factor"):
        build_cell("graphite", vacuum_factor=2.0, folder=tmp_path)
    with pytest.raises(ValueError, match="available: spce, tip3p"):
        build_cell("graphite", water="tip4p", folder=tmp_path)
    with pytest.raises(ValueError, match="smaller than"):
        build_cell("graphite", nx=4, ny=3, cutoff=0.8, folder=tmp_path)
    with pytest.raises(ValueError, match="charged"):
        build_cell("graphite", charged="left", folder=tmp_path)


def test_custom_electrode_from_lattice_2d(tmp_path):
    from mdzoom.plugins.electrode.cell import ElectrodeSpec, build_cell

    a = 0.307                                  # MXene-like M2X sheet, one LJ type
    hexa = np.array([[a, 0.0], [-0.5 * a, 0.5 * np.sqrt(3) * a]])
    cell, basis = rectangular_cell(hexa, [[0, 0, 0.0], [1 / 3, 2 / 3, 0.11],
                                          [2 / 3, 1 / 3, -0.11]])
    spec = ElectrodeSpec("m2x", lambda n, nx, ny: lattice_2d(cell, basis, nx, ny),
                         (cell[0, 0], cell[1, 1]), "MX", "Ti", 47.867, 0.30, 0.5, 1,
                         "test values")
    c = build_cell(spec, 1.8, cutoff=0.8, sigma=0.2, concentration=0.0, seed=4,
                   folder=tmp_path)
    per_layer = 2 * c.info["nx"] * c.info["ny"]
    _check_cell(c, n_layers=3, atoms_per_layer=per_layer, charged_per_electrode=per_layer)
    assert c.n_salt == 0


def test_cell_short_dynamics_keeps_electrodes_fixed(graphite_cell):
    constraints = pytest.importorskip("mdzoom.core.constraints")
    if not hasattr(constraints, "FrozenAtoms"):
        pytest.skip("the core has no FrozenAtoms yet")
    from mdzoom.core.integrators import LangevinBAOAB
    from mdzoom.core.minimize import minimize
    from mdzoom.core.simulation import Simulation

    c = graphite_cell
    state = c.state.copy() if hasattr(c.state, "copy") else c.state
    x0 = state.positions.copy()
    sim = Simulation(c.system, LangevinBAOAB(dt=0.002, temperature=300.0), state, seed=2)
    minimize(sim, max_steps=50, progress=False)
    sim.run(20)
    x = sim.state.positions
    el = np.r_[c.left, c.right]
    assert np.array_equal(x[el], x0[el])
    assert np.all(sim.state.velocities[el] == 0)
    ze = x[c.electrolyte, 2]
    assert ze.min() > c.z_left + 0.1 and ze.max() < c.z_right - 0.1
