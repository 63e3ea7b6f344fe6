"""Virtual sites (``VirtualSites3``, GROMACS virtual_sites3 function 1): construction,
force spreading, invariances, dynamics with SETTLE, degrees of freedom, checkpoints."""

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.virtual_sites import VirtualSites3, construct3, spread3

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
