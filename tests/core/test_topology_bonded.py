"""Topology compilation (graphs → arrays, exclusions) and the harmonic bond."""

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing


def chain(n=4, k=1000.0, r0=0.15, nrexcl=2):
    g = nx.Graph()
    for i in range(n):
        g.add_node(i, name=f"C{i}", type="C", mass=12.0, charge=0.1 * (i - 1.5), resid=1)
    for i in range(n - 1):
        g.add_edge(i, i + 1, k=k, r0=r0)
    return mz.MoleculeType("CHAIN", g, nrexcl=nrexcl)


def test_arrays_compiled_from_graphs():
    water = mz.MoleculeType.single_particle("W", mass=72.0)
    top = mz.Topology([chain(), water], [("CHAIN", 2), ("W", 3), ("CHAIN", 1)])
    assert top.n_particles == 4 * 2 + 3 + 4
    assert top.masses.tolist() == [12.0] * 8 + [72.0] * 3 + [12.0] * 4
    assert top.type_names == ["C", "W"]
    assert top.molecule_index.tolist() == [0] * 4 + [1] * 4 + [2, 3, 4] + [5] * 4
    assert top.resids.tolist() == [1] * 4 + [2] * 4 + [3, 4, 5] + [6] * 4
    # bonds are offset per molecule copy
    assert top.bonds.tolist() == [[0, 1], [1, 2], [2, 3], [4, 5], [5, 6], [6, 7],
                                  [11, 12], [12, 13], [13, 14]]
    k, r0 = top.bond_parameters("k", "r0")
    assert np.all(k == 1000.0) and np.all(r0 == 0.15)
    assert top.charges.sum() == pytest.approx(0.0)


def test_exclusions_follow_nrexcl():
    top = mz.Topology([chain(5, nrexcl=2)], [("CHAIN", 2)])
    start, index = top.exclusions
    row = lambda i: index[start[i]:start[i + 1]].tolist()  # noqa: E731
    assert row(0) == [1, 2]
    assert row(2) == [0, 1, 3, 4]
    assert row(5) == [6, 7]        # second copy, offset by 5
    assert row(9) == [7, 8]


def test_unknown_molecule_type_lists_available():
    with pytest.raises(ValueError, match="unknown molecule type 'SOL'; available: CHAIN"):
        mz.Topology([chain()], [("SOL", 1)])


def test_harmonic_bond_energy_forces_and_exclusion_from_pairs():
    top = mz.Topology([chain(3, k=500.0, r0=0.2)], [("CHAIN", 1)])
    x = np.array([[1.0, 1.0, 1.0], [1.25, 1.0, 1.0], [1.25, 1.1, 1.0]])
    system = mz.System(top, box=3.0, forces=[mz.HarmonicBond(),
                                             mz.Nonbonded(cutoff=1.0, lj={"C": (0.3, 0.5)})])
    state = mz.State(x, box=system.box)
    e, f, terms = testing.evaluate(system, state)
    assert terms["Bond"] == pytest.approx(0.5 * 500 * (0.05 ** 2 + 0.1 ** 2))
    assert terms["LJ (SR)"] == 0.0       # all pairs within nrexcl = 2 bonds are excluded
    testing.check_finite_difference(system, state, particles=[0, 1, 2], h=1e-6, rtol=1e-7)
    testing.check_translation_invariance(system, state)
    # a bond across the periodic boundary uses the minimum image
    wrapped = state.copy()
    wrapped.positions[1, 0] += 3.0
    e2, _, _ = testing.evaluate(system, wrapped)
    assert e2 == pytest.approx(e)


def test_triclinic_bond_minimum_image():
    box = np.array([[3.0, 0, 0], [1.0, 3.0, 0], [-1.2, 0.9, 3.0]])
    top = mz.Topology([chain(2, k=100.0, r0=0.1)], [("CHAIN", 1)])
    system = mz.System(top, box=box, forces=[mz.HarmonicBond()])
    x = np.array([[0.1, 0.1, 0.1], [0.25, 0.1, 0.1]])
    e0, _, _ = testing.evaluate(system, mz.State(x, box=box))
    for image in ([1, 0, 0], [0, -1, 1], [2, 1, -1]):
        moved = x.copy()
        moved[1] += np.asarray(image) @ box
        e, _, _ = testing.evaluate(system, mz.State(moved, box=box))
        assert e == pytest.approx(e0, rel=1e-12)
