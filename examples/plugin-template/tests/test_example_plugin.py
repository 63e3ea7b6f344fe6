"""What a plugin's own test suite looks like: mdzoom's conformance checks on its forces.

Run from the plugin's folder after ``pip install -e .``::

    pytest tests
"""

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing

pytest.importorskip("mdzoom_example_plugin", reason="pip install -e . first")
from mdzoom_example_plugin import FlatBottomRestraint, MorseBond, PluginLennardJones


@pytest.fixture
def diatomics():
    """Eight CO-like diatomics with Morse parameters on the bond, at 300 K."""
    g = nx.Graph()
    g.add_node(0, type="C", mass=12.0)
    g.add_node(1, type="O", mass=16.0)
    g.add_edge(0, 1, D_e=100.0, a=10.0, r0=0.2)          # kJ/mol, 1/nm, nm
    top = mz.Topology([mz.MoleculeType("CO", g, nrexcl=1)], [("CO", 8)])
    rng = np.random.default_rng(0)
    centres = (np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1)
               .reshape(-1, 3) + 0.5) * 1.5
    u = rng.normal(size=(8, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    x = np.repeat(centres, 2, axis=0)
    x[0::2] -= 0.1 * u
    x[1::2] += 0.1 * u
    v = mz.maxwell_boltzmann(top.masses, 300.0, seed=1)
    return top, mz.State(x, v, box=3.0)


@pytest.mark.parametrize("force", [
    MorseBond(),
    FlatBottomRestraint(particles=[0, 3, 5], reference=[1.5, 1.5, 1.5], r_fb=0.5, k=100.0),
    PluginLennardJones(sigma=0.3, epsilon=0.5, cutoff=0.9),
])
def test_conformance(force, diatomics):
    top, state = diatomics
    system = mz.System(top, state.box, [force])
    testing.check_finite_difference(system, state)
    testing.check_pickling(force, system, state)
    if not isinstance(force, FlatBottomRestraint):       # tied to a fixed point in space
        testing.check_translation_invariance(system, state)


def test_nve(diatomics):
    top, state = diatomics
    system = mz.System(top, state.box, [MorseBond(),
                                        PluginLennardJones(sigma=0.3, epsilon=0.5, cutoff=0.9)])
    testing.check_nve_drift(system, state, dt=0.0005, n_steps=1000, max_drift=1e-4)


def test_registered_by_the_entry_point():
    pm = mz.PluginManager(entry_points=True)
    if "example" not in pm.registry.by_plugin():
        pytest.skip("package not installed (no entry point): pip install -e .")
    assert pm.registry.get_force("morse-bond") is MorseBond
