"""Virtual sites (``VirtualSites3``, GROMACS virtual_sites3 function 1): construction,
force spreading, invariances, dynamics with SETTLE, degrees of freedom, checkpoints; and
``VirtualSitesN`` (GROMACS virtual_sitesn functions 1-3, at the end of the file)."""

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.virtual_sites import (VirtualSites3, VirtualSitesN, construct3, construct_n,
                                       spread3, spread_n)

DATA = Path(__file__).resolve().parents[1] / "data" / "gromacs_vsites"


def tip4p_216():
    """216 TIP4P waters (SETTLE on O, H, H; M a virtual site), RF with ε_rf = ∞, rc 0.8."""
    return load_gromacs(DATA / "tip4p_216.top", DATA / "tip4p_216.gro",
                        DATA / "tip4p_216.mdp")[:2]


# ---------------------------------------------------------------------- a toy model
def _toy_topology(n_mol):
    g = nx.Graph()
    for k, (name, m) in enumerate((("A", 12.0), ("B", 1.0), ("C", 2.0), ("S", 0.0))):
        g.add_node(k, name=name, type=name, mass=m, charge=0.0, element="", resname="TOY",
                   resid=1)
    g.add_edges_from([(0, 1), (0, 2)])
    return mz.Topology([mz.MoleculeType("TOY", g, nrexcl=2)], [("TOY", n_mol)])


L = 2.0


def _mic(d):
    return d - L * np.rint(d / L)


def _site_energy(x, box):
    """Gaussian attraction between every pair of sites (minimum image), sites only."""
    s = x[3::4]
    e = 0.0
    for i in range(len(s)):
        d = _mic(s[i] - s[i + 1:])
        e -= 5.0 * np.exp(-np.sum(d * d, axis=1) / 0.3).sum()
    return e


def _site_gradient(x, box):
    g = np.zeros_like(x)
    s = x[3::4]
    for i in range(len(s)):
        for j in range(i + 1, len(s)):
            d = _mic(s[i] - s[j])
            w = 5.0 * np.exp(-d @ d / 0.3) * 2.0 / 0.3
            g[4 * i + 3] += w * d
            g[4 * j + 3] -= w * d
    return g


def toy_system(seed=0, n_mol=4):
    """Molecules A, B, C + site S with unusual weights (a > 1, b < 0), one straddling the
    periodic boundary; the only force acts on the sites."""
    rng = np.random.default_rng(seed)
    top = _toy_topology(n_mol)
    x = np.zeros((4 * n_mol, 3))
    for m in range(n_mol):
        o = rng.uniform(0, L, 3)
        x[4 * m] = o
        x[4 * m + 1] = o + rng.normal(0, 0.1, 3)
        x[4 * m + 2] = o + rng.normal(0, 0.1, 3)
    x[0] = [L - 0.02, 1.0, 1.0]                      # molecule 0 straddles x = L
    x[1] = [0.05, 1.05, 1.0]
    x[2] = [L - 0.05, 0.93, 1.08]
    o = np.arange(0, 4 * n_mol, 4)
    a = np.linspace(0.3, 1.4, n_mol)
    b = np.linspace(-0.4, 0.6, n_mol)
    vs = VirtualSites3(o + 3, np.stack([o, o + 1, o + 2], 1), a, b)
    force = mz.PythonForce(_site_energy, gradient=_site_gradient, term="Sites")
    system = mz.System(top, L, [force], virtual_sites=[vs])
    return system, mz.State(x, box=L)


# ---------------------------------------------------------------------- kernels
def test_construction_matches_formula_with_minimum_image():
    system, state = toy_system()
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    vs = system.virtual_sites[0]
    x = state.positions
    for n, s in enumerate(vs.sites):
        i, j, k = vs.atoms[n]
        expect = x[i] + vs.a[n] * _mic(x[j] - x[i]) + vs.b[n] * _mic(x[k] - x[i])
        assert np.allclose(x[s], expect, atol=1e-14)
    # the straddling molecule: its site is near atom 0, not half a box away
    assert np.linalg.norm(x[3] - x[0]) < 0.2


def test_spreading_is_linear_and_conserves_force_and_torque_free():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, (4, 3))
    sites, atoms = np.array([3]), np.array([[0, 1, 2]])
    a, b = np.array([0.7]), np.array([-0.2])
    box = np.eye(3) * 10.0
    construct3(x, box, sites, atoms, a, b)
    f = np.zeros((4, 3))
    fs = np.array([1.0, -2.0, 0.5])
    f[3] = fs
    spread3(f, sites, atoms, a, b)
    assert np.allclose(f[0], (1 - 0.7 + 0.2) * fs)
    assert np.allclose(f[1], 0.7 * fs)
    assert np.allclose(f[2], -0.2 * fs)
    assert np.all(f[3] == 0.0)
    assert np.allclose(f.sum(0), fs)                                  # total force kept
    assert np.allclose(np.cross(x[:3], f[:3]).sum(0), np.cross(x[3], fs))   # and torque


def test_finite_difference_on_real_atoms_toy():
    system, state = toy_system()
    e, f, _ = testing.evaluate(system, state)
    assert np.all(f[3::4] == 0.0)
    assert np.abs(f).max() > 0.1
    real = [k for k in range(system.n_particles) if k % 4 != 3]
    testing.check_finite_difference(system, state, particles=real, h=1e-6, rtol=1e-6,
                                    atol=1e-7)


def test_finite_difference_on_real_atoms_tip4p():
    system, state = tip4p_216()
    rng = np.random.default_rng(3)
    w = rng.choice(216, 3, replace=False)
    real = np.concatenate([4 * w, 4 * w + 1, 4 * w + 2])
    testing.check_finite_difference(system, state, particles=real, h=1e-5, rtol=1e-5,
                                    atol=1e-3)


def test_translation_invariance():
    testing.check_translation_invariance(*toy_system())
    system, state = tip4p_216()
    testing.check_translation_invariance(system, state, rtol=1e-9, atol=1e-7)


def test_description_checks():
    with pytest.raises(ValueError, match="own constructing"):
        VirtualSites3([3], [[0, 1, 3]], 0.1, 0.1)
    with pytest.raises(ValueError, match="b has shape"):
        VirtualSites3([3, 7], [[0, 1, 2], [4, 5, 6]], 0.1, [0.1, 0.2, 0.3])
    vs = VirtualSites3([3], [[0, 1, 2]], 0.1, 0.2)
    assert vs == VirtualSites3(np.array([3]), np.array([[0, 1, 2]]), [0.1], [0.2])
    import pickle

    assert pickle.loads(pickle.dumps(vs)) == vs


# ---------------------------------------------------------------------- integrators
def test_massless_particles_must_be_virtual_sites():
    system, state = toy_system()
    system_no_vs = mz.System(system.topology, system.box, system.forces)
    with pytest.raises(ValueError, match="particle 3 has mass 0|massless"):
        mz.VelocityVerlet().bind(system_no_vs, ForceEvaluator(system_no_vs))
    # a site with mass is refused
    heavy = mz.System(system.topology, system.box, system.forces,
                      virtual_sites=[VirtualSites3([2], [[0, 1, 3]], 0.5, 0.5)])
    with pytest.raises(ValueError, match="must be massless"):
        ForceEvaluator(heavy)


def test_degrees_of_freedom_exclude_sites():
    system, state = tip4p_216()
    assert system.n_virtual_sites == 216
    assert system.degrees_of_freedom == 6 * 216 - 3
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.002), state, seed=0)
    assert sim.stepper.degrees_of_freedom() == 6 * 216 - 3
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=0.002), state.copy(), seed=0)
    assert sim.stepper.degrees_of_freedom() == 6 * 216
    toy, _ = toy_system()
    assert toy.degrees_of_freedom == 3 * 12 - 3


def test_site_velocities_zero_and_kinetic_energy_ignores_sites():
    system, state = tip4p_216()
    assert np.abs(state.velocities[3::4]).max() > 0      # the .gro gives M a velocity
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.002), state, seed=0)
    sim.run(5, progress=False)
    v = sim.state.velocities
    assert np.all(v[3::4] == 0.0)
    m = system.masses
    assert sim.kinetic_energy() == pytest.approx(0.5 * np.sum(m[:, None] * v ** 2))
    # the sites sit where their construction puts them
    x = sim.state.positions
    vs = system.virtual_sites[0].bind(system)
    y = x.copy()
    vs.construct(y, sim.state.box)
    assert np.array_equal(y, x)


@pytest.mark.parametrize("integrator", [mz.LangevinBAOAB(dt=0.002, temperature=300.0),
                                        mz.Brownian(dt=0.0005, temperature=300.0,
                                                    friction=50.0)])
def test_thermostatted_integrators_run(integrator):
    system, state = tip4p_216()
    sim = mz.Simulation(system, integrator, state, seed=3)
    sim.run(20, progress=False)
    assert np.all(np.isfinite(sim.state.positions))
    assert np.all(sim.state.velocities[3::4] == 0.0)
    if isinstance(integrator, mz.LangevinBAOAB):
        assert 200 < sim.temperature() < 450


def test_nve_energy_conservation_tip4p_settle():
    """216 TIP4P waters, SETTLE + M site, velocity Verlet at 2 fs for 2 ps."""
    system, state = tip4p_216()
    drift, fluct = testing.check_nve_drift(system, state, dt=0.002, n_steps=1000,
                                           max_drift=2e-4, every=10)
    print(f"TIP4P NVE drift {drift:.3g} kJ/mol/ps per particle, fluctuation {fluct:.3g}")


def test_checkpoint_resume_bit_for_bit(tmp_path):
    system, state = tip4p_216()
    ref = mz.Simulation(system, mz.VelocityVerlet(dt=0.002), state.copy(), seed=7)
    ref.run(60, progress=False)
    first = mz.Simulation(system, mz.VelocityVerlet(dt=0.002), state.copy(), seed=7)
    first.run(25, progress=False)
    first.save_checkpoint(tmp_path / "s.chk")
    second = mz.Simulation(system, mz.VelocityVerlet(dt=0.002), seed=0)
    second.load_checkpoint(tmp_path / "s.chk")
    second.run(35, progress=False)
    assert np.array_equal(second.state.positions, ref.state.positions)
    assert np.array_equal(second.state.velocities, ref.state.velocities)


# ====================================================================== VirtualSitesN
# GROMACS [ virtual_sitesn ]: x_s = Σ w_i x_i / Σ w_i, minimum image relative to the
# first constructing atom; F_i += (w_i / Σ w) F_s.

LN = 2.5
# molecule layout: 5 real beads (masses below) + 1 site, site built from a subset
N_MASSES = (45.0, 36.0, 72.0, 54.0, 18.0, 0.0)
N_RECIPES = [([0, 1, 2, 3], None),                      # COG of 4
             ([4, 2, 1], [18.0, 72.0, 36.0]),           # COM-style weights
             ([1, 3], [0.25, 1.75]),                    # COW
             ([2, 0, 4, 1, 3], [1.0, 0.0, 2.0, 3.0, 0.5])]   # a zero weight is allowed


def _mic_n(d):
    return d - LN * np.rint(d / LN)


def _n_topology(n_mol):
    g = nx.Graph()
    for k, m in enumerate(N_MASSES):
        g.add_node(k, name=f"B{k}", type=f"B{k}", mass=m, charge=0.0, element="",
                   resname="VSN", resid=1)
    g.add_edges_from([(0, 1), (1, 2), (2, 3), (3, 4)])
    return mz.Topology([mz.MoleculeType("VSN", g, nrexcl=1)], [("VSN", n_mol)])


def _site_energy_n(x, box):
    """A smooth energy of the site positions only: each site pulled towards a fixed point
    (minimum image) and the sites pairwise attracting (Gaussian)."""
    s = x[5::6]
    d = _mic_n(s - np.array([1.1, 0.7, 1.9]))
    e = 3.0 * np.sum(np.sin(2 * np.pi * d / LN) ** 2)
    for i in range(len(s)):
        r = _mic_n(s[i] - s[i + 1:])
        e -= 4.0 * np.exp(-np.sum(r * r, axis=1) / 0.4).sum()
    return e


def toy_system_n(seed=2):
    """Four molecules, one per recipe; molecule 0 straddles all three box faces."""
    rng = np.random.default_rng(seed)
    n_mol = len(N_RECIPES)
    x = np.zeros((6 * n_mol, 3))
    sites, atoms, weights = [], [], []
    for m, (idx, w) in enumerate(N_RECIPES):
        o = rng.uniform(0.3, LN - 0.3, 3) if m else np.array([LN - 0.03, 0.02, LN - 0.01])
        x[6 * m:6 * m + 5] = (o + rng.normal(0, 0.15, (5, 3))) % LN
        sites.append(6 * m + 5)
        atoms.append([6 * m + i for i in idx])
        weights.append(np.ones(len(idx)) if w is None else w)
    vs = VirtualSitesN.from_lists(sites, atoms, weights)
    force = mz.PythonForce(_site_energy_n, term="Sites")
    system = mz.System(_n_topology(n_mol), LN, [force], virtual_sites=[vs])
    return system, mz.State(x, box=LN), vs


def test_n_construction_is_weighted_mean_with_minimum_image():
    system, state, vs = toy_system_n()
    ForceEvaluator(system, skin=0.0).compute(state)
    x = state.positions
    for v, s in enumerate(vs.sites):
        a = vs.atoms[vs.offsets[v]:vs.offsets[v + 1]]
        w = vs.weights[vs.offsets[v]:vs.offsets[v + 1]]
        d = _mic_n(x[a] - x[a[0]])                      # molecule made whole around a₀
        expect = x[a[0]] + (w[:, None] * d).sum(0) / w.sum()
        assert np.allclose(x[s], expect, atol=1e-14)
        # the weighted mean of the whole molecule, and beside its atoms, not a box away
        assert np.allclose(expect, (w[:, None] * (x[a[0]] + d)).sum(0) / w.sum())
        assert np.abs(_mic_n(x[s] - x[a])).max() < 0.8
        assert np.linalg.norm(x[s] - x[a[0]]) < 0.8
    # molecule 0 straddles the faces: its beads are on both sides of the box
    real0 = x[:5]
    assert (real0 < 0.5).any() and (real0 > LN - 0.5).any()


def test_n_construction_equals_plain_mean_without_periodicity():
    rng = np.random.default_rng(4)
    x = np.vstack([rng.uniform(1, 2, (4, 3)), np.zeros((1, 3))])
    box = np.eye(3) * 50.0
    w = np.array([45.0, 36.0, 72.0, 54.0])
    construct_n(x, box, np.array([4]), np.array([0, 4]), np.arange(4), w)
    assert np.allclose(x[4], (w[:, None] * x[:4]).sum(0) / w.sum(), atol=1e-15)


def test_n_spreading_weights_total_force_and_torque():
    rng = np.random.default_rng(5)
    x = np.vstack([rng.uniform(0, 1, (5, 3)), np.zeros((2, 3))])
    box = np.eye(3) * 10.0
    sites = np.array([5, 6])
    offsets = np.array([0, 3, 5])
    atoms = np.array([0, 2, 4, 1, 3])
    w = np.array([1.0, 2.0, 5.0, 0.5, 0.5])
    construct_n(x, box, sites, offsets, atoms, w)
    f = np.zeros((7, 3))
    fs = np.array([[1.0, -2.0, 0.5], [0.3, 0.1, -4.0]])
    f[5:] = fs
    spread_n(f, sites, offsets, atoms, w)
    assert np.all(f[5:] == 0.0)
    assert np.allclose(f[0], fs[0] / 8) and np.allclose(f[2], 2 * fs[0] / 8)
    assert np.allclose(f[4], 5 * fs[0] / 8)
    assert np.allclose(f[1], fs[1] / 2) and np.allclose(f[3], fs[1] / 2)
    assert np.allclose(f.sum(0), fs.sum(0))                                  # total force
    assert np.allclose(np.cross(x, f).sum(0), np.cross(x[5:], fs).sum(0))    # and torque


def test_n_finite_difference_on_real_atoms_across_the_boundary():
    system, state, vs = toy_system_n()
    e, f, terms = testing.evaluate(system, state)
    assert np.all(f[5::6] == 0.0) and np.abs(f).max() > 0.1
    # every constructing atom of every site, the straddling molecule included
    testing.check_finite_difference(system, state, particles=np.unique(vs.atoms), h=1e-6,
                                    rtol=1e-6, atol=1e-7)
    # moving everything by whole box vectors changes nothing (images are images)
    moved = state.copy()
    moved.positions[::2] += [LN, -2 * LN, LN]
    e1, f1, _ = testing.evaluate(system, moved)
    assert e1 == pytest.approx(e, rel=1e-12) and np.allclose(f1, f, rtol=0, atol=1e-6)


def test_n_kernels_are_cached():
    assert type(construct_n._cache).__name__ != "NullCache"
    assert type(spread_n._cache).__name__ != "NullCache"


def test_n_description_checks():
    ok = VirtualSitesN.from_lists([5, 6], [[0, 1], [2, 3, 4]], [[1, 2], [1, 1, 1]])
    assert list(ok.offsets) == [0, 2, 5] and list(ok.atoms) == [0, 1, 2, 3, 4]
    assert ok == VirtualSitesN([5, 6], [0, 2, 5], [0, 1, 2, 3, 4], [1, 2, 1, 1, 1])
    assert list(VirtualSitesN([3], [0, 3], [0, 1, 2]).weights) == [1.0, 1.0, 1.0]
    cases = [
        (([3], [0, 2, 3], [0, 1, 2]), "2 offsets"),
        (([3], [1, 3], [0, 1, 2]), "offsets must run from 0"),
        (([3, 4], [0, 0, 3], [0, 1, 2]), "site 3 has no constructing atoms"),
        (([3], [0, 3], [0, 1, 2], [1.0, 2.0]), "weights has shape"),
        (([3], [0, 3], [0, 1, 2], [1.0, -2.0, 1.0]), "non-negative"),
        (([3], [0, 2], [0, 1], [0.0, 0.0]), "sum to 0.0"),
        (([3], [0, 2], [0, 3]), "own constructing"),
        (([3, 3], [0, 1, 2], [0, 1]), "repeats"),
    ]
    for args, msg in cases:
        with pytest.raises(ValueError, match=msg):
            VirtualSitesN(*args)


def test_n_bind_checks_mass_and_indices():
    top = _n_topology(1)
    with pytest.raises(ValueError, match="virtual site 4 has mass 18.0"):
        ForceEvaluator(mz.System(top, LN, [], virtual_sites=[
            VirtualSitesN([4], [0, 2], [0, 1])]))
    with pytest.raises(IndexError, match="particle 9 is outside 0..5"):
        ForceEvaluator(mz.System(top, LN, [], virtual_sites=[
            VirtualSitesN([5], [0, 2], [0, 9])]))
    system = mz.System(top, LN, [], virtual_sites=[VirtualSitesN([5], [0, 2], [0, 1])])
    assert system.n_virtual_sites == 1 and system.degrees_of_freedom == 3 * 6 - 3 - 3


def test_n_from_gromacs_topology(tmp_path):
    """build_system turns [ virtual_sitesn ] funcs 1, 2, 3 into VirtualSitesN with the
    weights 1, the [ atoms ] masses (the site itself massless), the given weights."""
    (tmp_path / "t.top").write_text(
        "[ defaults ]\n1 2\n[ atomtypes ]\nC 72.0 0.0 A 0.47 2.0\n"
        "[ moleculetype ]\nR 1\n[ atoms ]\n"
        "1 C 1 R A 1 0 45\n2 C 1 R B 2 0 36\n3 C 1 R C 3 0 72\n"
        "4 C 1 R S 4 0 0\n5 C 1 R T 5 0 0\n6 C 1 R U 6 0 0\n"
        "[ virtual_sitesn ]\n4 1 1 2 3\n5 2 3 1\n6 3 2 0.5 3 1.5\n"
        "[ exclusions ]\n1 2 3 4 5 6\n2 3 4 5 6\n3 4 5 6\n4 5 6\n5 6\n"
        "[ system ]\nx\n[ molecules ]\nR 2\n")
    rows = ["t", "   12"]
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 2.8, (12, 3))
    x[:3] = [[2.95, 1.0, 1.0], [0.1, 1.1, 1.0], [0.05, 0.9, 1.2]]    # across x = L
    rows += [f"{1 + k // 6:5d}{'R':<5s}{'A':>5s}{k + 1:5d}" + "".join(f"{v:8.3f}" for v in p)
             for k, p in enumerate(x)]
    rows.append("   3.00000   3.00000   3.00000")
    (tmp_path / "c.gro").write_text("\n".join(rows) + "\n")
    (tmp_path / "r.mdp").write_text("coulombtype = reaction-field\nrvdw = 1.1\n"
                                    "rcoulomb = 1.1\nepsilon_rf = 0\n")
    system, state, _ = load_gromacs(tmp_path / "t.top", tmp_path / "c.gro", tmp_path / "r.mdp")
    cog, com, cow = system.virtual_sites
    assert list(cog.sites) == [3, 9] and list(cog.atoms) == [0, 1, 2, 6, 7, 8]
    assert list(cog.offsets) == [0, 3, 6] and np.all(cog.weights == 1.0)
    assert list(com.sites) == [4, 10] and list(com.weights) == [72.0, 45.0] * 2
    assert list(cow.sites) == [5, 11] and list(cow.weights) == [0.5, 1.5] * 2
    assert system.n_virtual_sites == 6
    ForceEvaluator(system, skin=0.0).compute(state)
    p = state.positions
    whole = np.array([[-0.05, 1.0, 1.0], [0.1, 1.1, 1.0], [0.05, 0.9, 1.2]])
    assert np.allclose(p[3] % 3.0, whole.mean(0) % 3.0, atol=1e-12)
    assert np.allclose(p[4] % 3.0, ((72 * whole[2] + 45 * whole[0]) / 117) % 3.0, atol=1e-12)
    assert np.allclose(p[5] % 3.0, ((0.5 * whole[1] + 1.5 * whole[2]) / 2) % 3.0, atol=1e-12)
