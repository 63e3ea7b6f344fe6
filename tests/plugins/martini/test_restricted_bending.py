"""Martini plugin: restricted bending (GROMACS angles func 10) and Martini 3 topologies
against gmx_d.

Reference (``tests/data/martini_bonded/make_reference.py``, gmx_d 2022.5 double,
``mdrun -rerun``): real Martini 3.0.0 molecules TXE (angles 10 and 2 on one triple),
MIND (constraints, improper dihedral func 2, ``[ virtual_sitesn ]`` func 1, exclusions),
a test-only VSN (``virtual_sitesn`` funcs 2 and 3, a charged site), ions and water,
reaction field ε_r 15, ε_rf ∞, rc 1.1 nm. Measured when written: every term within
3e-9 relative (bonded ≤ 6e-13, ``Coulomb (SR)`` 2.6e-9 — the two codes' Coulomb
constants differ by that), forces on the real beads within 3.3e-11 of the largest.
"""

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.plugins import get_plugin_manager
from mdzoom.core.virtual_sites import VirtualSitesN
from mdzoom.plugins.martini import _kernels
from mdzoom.plugins.martini.bonded import RestrictedBending

DATA = Path(__file__).resolve().parents[2] / "data" / "martini_bonded"


def system_of(n, forces, box=5.0):
    g = nx.Graph()
    for i in range(n):
        g.add_node(i, name=f"B{i}", type="B", mass=72.0)
    top = mz.Topology([mz.MoleculeType("MOL", g, nrexcl=0)], [("MOL", 1)])
    return mz.System(top, box=box, forces=list(forces))


def triple(theta_deg, r1=0.33, r2=0.29, origin=(1.0, 1.0, 1.0)):
    t = np.deg2rad(theta_deg)
    x = np.array([[r1, 0.0, 0.0], [0.0, 0.0, 0.0], [r2 * np.cos(t), r2 * np.sin(t), 0.0]])
    return x + np.asarray(origin)


def energy(force, x, box=5.0):
    system = system_of(len(x), [force], box)
    return testing.evaluate(system, mz.State(np.asarray(x, float), box=system.box))


# ---------------------------------------------------------------------- analytic
@pytest.mark.parametrize("theta, theta0, k", [(90.0, 135.0, 15.0), (120.0, 135.0, 15.0),
                                              (160.0, 130.0, 35.0), (135.0, 135.0, 50.0)])
def test_energy_of_known_geometry(theta, theta0, k):
    e, f, terms = energy(RestrictedBending([[0, 1, 2]], theta0, k), triple(theta))
    c, c0 = np.cos(np.deg2rad(theta)), np.cos(np.deg2rad(theta0))
    expect = 0.5 * k * (c - c0) ** 2 / (1.0 - c * c)
    assert e == pytest.approx(expect, rel=1e-13, abs=1e-15)
    assert terms["Restr. Angles"] == pytest.approx(expect, rel=1e-13, abs=1e-15)
    if theta == 90.0:
        assert e == pytest.approx(0.5 * 15.0 * 0.5, rel=1e-13)      # cos²135° = ½
    assert np.allclose(f.sum(0), 0.0, atol=1e-12)                     # no net force
    assert np.allclose(np.cross(triple(theta), f).sum(0), 0.0, atol=1e-12)   # nor torque


def test_minimum_at_theta0_and_steeper_than_g96_towards_180():
    # dV/dθ = 0 at θ0; V grows without bound as θ → 180° (what "restricted" means)
    force = RestrictedBending([[0, 1, 2]], 130.0, 20.0)
    e0, f0, _ = energy(force, triple(130.0))
    assert e0 == pytest.approx(0.0, abs=1e-14) and np.abs(f0).max() < 1e-10
    energies = [energy(force, triple(t))[0] for t in (170.0, 178.0, 179.5)]
    assert energies[0] < energies[1] < energies[2] and energies[2] > 1e3


# ---------------------------------------------------------------------- gradients
def test_forces_are_minus_gradient_with_periodic_images():
    rng = np.random.default_rng(7)
    box = 3.0
    x, atoms = [], []
    for m, theta in enumerate((70.0, 100.0, 128.0, 150.0, 171.0)):
        p = triple(theta, origin=rng.uniform(0, box, 3))
        p = p @ np.linalg.qr(rng.normal(size=(3, 3)))[0].T       # random orientation
        x.extend(p)
        atoms.append([3 * m, 3 * m + 1, 3 * m + 2])
    x = np.array(x)
    x[0:3] += [box - x[1, 0] - 0.05, 0.0, 0.0]                  # triple 0 straddles x = L
    x %= box
    force = RestrictedBending(atoms, [135.0, 120.0, 110.0, 140.0, 160.0],
                              [15.0, 25.0, 35.0, 45.0, 10.0])
    system = system_of(len(x), [force], box)
    state = mz.State(x, box=system.box)
    testing.check_finite_difference(system, state, particles=range(len(x)), h=1e-6,
                                    rtol=1e-7, atol=1e-7)
    testing.check_translation_invariance(system, state)
    testing.check_pickling(force, system, state)


def test_kernel_is_cached_and_collinear_triple_is_harmless():
    assert type(_kernels.restricted_bending._cache).__name__ != "NullCache"  # cache=True
    x = np.array([[0.0, 0, 0], [0.3, 0, 0], [0.6, 0, 0]]) + 1.0
    f = np.zeros((3, 3))
    e = _kernels.restricted_bending(x, np.eye(3) * 5.0, np.array([[0, 1, 2]]),
                                    np.array([-0.7]), np.array([15.0]), f)
    assert e == 0.0 and np.all(f == 0.0)


def test_description_checks():
    with pytest.raises(ValueError, match=r"atoms must have shape \(M, 3\)"):
        ForceEvaluator(system_of(4, [RestrictedBending([[0, 1, 2, 3, 0]], 130.0, 1.0)]))
    with pytest.raises(IndexError, match="out of range"):
        ForceEvaluator(system_of(3, [RestrictedBending([[0, 1, 3]], 130.0, 1.0)]))
    with pytest.raises(ValueError, match="theta0 must be a scalar"):
        ForceEvaluator(system_of(3, [RestrictedBending([[0, 1, 2]], [1.0, 2.0], 1.0)]))


# ---------------------------------------------------------------------- registry
def test_registered_by_the_martini_plugin():
    reg = get_plugin_manager().registry
    assert reg.get_force("restricted-bending") is RestrictedBending
    handler = reg.get_force("gromacs:angles:10")
    atoms = np.array([[0, 1, 2], [3, 4, 5]])
    params = np.array([[135.0, 15.0, 135.0, 15.0], [120.0, 25.0, np.nan, np.nan]])
    force = handler(atoms, params, None)
    assert force == RestrictedBending(atoms, [135.0, 120.0], [15.0, 25.0])
    # generic types Martini uses stay with the all-atom plugin, found through the registry
    for name in ("gromacs:bonds:1", "gromacs:angles:2", "gromacs:dihedrals:2"):
        assert reg.get_force(name) is not None


def test_openmm_converter_matches_kernel():
    openmm = pytest.importorskip("openmm")
    from mdzoom.plugins.martini.openmm_export import restricted_bending

    x = np.concatenate([triple(100.0, origin=(0.2, 0.3, 0.4)),
                        triple(155.0, origin=(2.9, 1.0, 1.0))])
    x %= 3.0
    force = RestrictedBending([[0, 1, 2], [3, 4, 5]], [135.0, 120.0], [15.0, 30.0])
    e, f, _ = energy(force, x, box=3.0)
    omm = openmm.System()
    for _ in range(6):
        omm.addParticle(72.0)
    omm.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*r) for r in np.eye(3) * 3.0))
    (of,) = restricted_bending(force, None, openmm)
    assert of.getName() == "Restr. Angles"
    omm.addForce(of)
    ctx = openmm.Context(omm, openmm.VerletIntegrator(0.001),
                         openmm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(x)
    st = ctx.getState(getEnergy=True, getForces=True)
    assert st.getPotentialEnergy()._value == pytest.approx(e, rel=1e-10)
    assert np.allclose(st.getForces(asNumpy=True)._value, f, rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------- gmx_d
@pytest.fixture(scope="module")
def martini_reference():
    system, state, _ = load_gromacs(DATA / "processed.top", DATA / "conf.gro",
                                    DATA / "run.mdp")
    in_file = state.positions.copy()
    sites = np.concatenate([v.sites for v in system.virtual_sites])
    state.positions[sites] += 0.3                 # the evaluator must rebuild them
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    # conf.gro holds the sites exactly where the formula puts them (make_reference.py),
    # up to a box vector (a site is not wrapped into the box)
    d = state.positions[sites] - in_file[sites]
    d -= 3.6 * np.rint(d / 3.6)
    assert np.abs(d).max() < 1e-9
    ref = json.loads((DATA / "reference.json").read_text())
    return system, state, dict(ev.terms), ev.forces.copy(), ref["terms"], \
        np.loadtxt(DATA / "forces.txt")


def test_martini3_topology_builds_every_type(martini_reference):
    system, state, *_ = martini_reference
    kinds = {type(f).__name__ for f in system.forces}
    assert {"RestrictedBending", "G96Angles", "HarmonicBonds", "HarmonicImpropers",
            "Nonbonded"} <= kinds
    (rb,) = [f for f in system.forces if isinstance(f, RestrictedBending)]
    assert len(rb.atoms) == 4 and np.all(rb.theta0 == 135.0) and np.all(rb.k == 15.0)
    vs = system.virtual_sites
    assert [type(v) for v in vs] == [VirtualSitesN] * 3          # funcs 1, 2, 3
    cog, com, cow = vs
    assert cog.n_sites == 3 and np.all(cog.weights == 1.0) and np.all(np.diff(cog.offsets) == 4)
    assert com.n_sites == 2 and list(com.weights[:4]) == [36.0, 54.0, 72.0, 18.0]
    assert cow.n_sites == 2 and list(cow.weights[:3]) == [1.0, 2.0, 1.0]
    assert np.all(system.masses[np.concatenate([v.sites for v in vs])] == 0.0)
    assert system.n_virtual_sites == 7
    # MIND: 5 constraints per molecule, excluded site, explicit exclusions
    assert system.n_constraints == 15


def test_martini3_energies_match_gromacs(martini_reference):
    _, _, terms, _, ref, _ = martini_reference
    assert "Restr. Angles" in ref                     # GROMACS's name for angles func 10
    assert set(ref) == set(terms), (set(ref) ^ set(terms))
    for term, expect in ref.items():
        tol = 1e-8 if term in ("Coulomb (SR)", "Potential") else 1e-10
        assert terms[term] == pytest.approx(expect, rel=tol), (term, terms[term], expect)


def test_martini3_forces_match_gromacs(martini_reference):
    system, _, _, forces, _, ref_forces = martini_reference
    real = system.masses > 0
    assert np.all(forces[~real] == 0.0) and np.all(ref_forces[~real] == 0.0)
    scale = np.abs(ref_forces[real]).max()
    dev = np.abs(forces[real] - ref_forces[real]).max()
    assert dev < 1e-6 * scale, f"max force deviation {dev:.3g} (largest force {scale:.3g})"
