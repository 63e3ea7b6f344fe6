"""LJ and Coulomb pair kernels against analytic two-particle values and finite differences."""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.nonbonded import force_switch_constants

from mdz_testsystems import lj_fluid, random_gas


def pair_system(r, force, charges=(0.0, 0.0), box=10.0):
    import networkx as nx

    mts = []
    for k, q in enumerate(charges):
        g = nx.Graph()
        g.add_node(0, name=f"P{k}", type="P", mass=1.0, charge=q)
        mts.append(mz.MoleculeType(f"P{k}", g, nrexcl=0))
    top = mz.Topology(mts, [("P0", 1), ("P1", 1)])
    system = mz.System(top, box=box, forces=[force])
    x = np.array([[1.0, 1.0, 1.0], [1.0 + r, 1.0, 1.0]])
    return system, mz.State(x, box=system.box)


def lj(r, s=0.3, e=0.5):
    return 4 * e * ((s / r) ** 12 - (s / r) ** 6)


@pytest.mark.parametrize("r", [0.28, 0.35, 0.9, 1.19])
def test_lj_plain_and_shift_two_particles(r):
    rc = 1.2
    for mod, shift in (("none", 0.0), ("potential-shift", lj(rc))):
        system, state = pair_system(r, mz.LennardJones(0.3, 0.5, cutoff=rc, modifier=mod))
        e, f, terms = testing.evaluate(system, state)
        assert e == pytest.approx(lj(r) - shift, rel=1e-12, abs=1e-14)
        assert terms["LJ (SR)"] == pytest.approx(e)
        # force on particle 0 is along -x for repulsion (r < 2^(1/6) σ)
        dvdr = 4 * 0.5 * (-12 * 0.3 ** 12 / r ** 13 + 6 * 0.3 ** 6 / r ** 7)
        assert f[0, 0] == pytest.approx(dvdr, rel=1e-10)
        assert f[1, 0] == pytest.approx(-dvdr, rel=1e-10)


def test_beyond_cutoff_is_zero():
    system, state = pair_system(1.25, mz.LennardJones(0.3, 0.5, cutoff=1.2))
    e, f, _ = testing.evaluate(system, state)
    assert e == 0.0 and not f.any()


def test_force_switch_is_smooth_and_matches_unswitched_inside():
    rc, r1 = 1.2, 0.9
    fsw = mz.LennardJones(0.3, 0.5, cutoff=rc, modifier="force-switch", switch_distance=r1)
    # below r1 the force is the plain LJ force, the energy is shifted by a constant
    (s1, st1), (s2, st2) = pair_system(0.5, fsw), pair_system(0.7, fsw)
    e1, f1, _ = testing.evaluate(s1, st1)
    e2, f2, _ = testing.evaluate(s2, st2)
    assert (e1 - e2) == pytest.approx(lj(0.5) - lj(0.7), rel=1e-10)
    dvdr = 4 * 0.5 * (-12 * 0.3 ** 12 / 0.5 ** 13 + 6 * 0.3 ** 6 / 0.5 ** 7)
    assert f1[0, 0] == pytest.approx(dvdr, rel=1e-10)
    # energy and force go continuously to zero at rc
    s, st = pair_system(rc - 1e-7, fsw)
    e, f, _ = testing.evaluate(s, st)
    assert abs(e) < 1e-10 and np.abs(f).max() < 1e-6
    # the switch constants satisfy F(rc) = 0 and Φ(rc) = 0 for both powers
    for alpha in (6, 12):
        a, b, c = force_switch_constants(alpha, r1, rc)
        d = rc - r1
        assert alpha / rc ** (alpha + 1) + a * d ** 2 + b * d ** 3 == pytest.approx(0, abs=1e-9)
        assert rc ** -alpha - a / 3 * d ** 3 - b / 4 * d ** 4 - c == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("method,eps_rf", [("cutoff", 1.0), ("reaction-field", 78.0),
                                           ("reaction-field", 0.0)])
def test_coulomb_two_charges(method, eps_rf):
    rc, r, q = 1.1, 0.6, (0.8, -0.4)
    force = mz.Nonbonded(cutoff=rc, lj=None, coulomb=method, epsilon_r=2.0, epsilon_rf=eps_rf)
    system, state = pair_system(r, force, charges=q)
    e, f, terms = testing.evaluate(system, state)
    er = 2.0
    erf = 1.0 if method == "cutoff" else eps_rf
    krf = 1 / (2 * rc ** 3) if erf == 0 else (erf - er) / ((2 * erf + er) * rc ** 3)
    crf = 1 / rc + krf * rc ** 2
    expect = mz.COULOMB / er * q[0] * q[1] * (1 / r + krf * r ** 2 - crf)
    assert terms["Coulomb (SR)"] == pytest.approx(expect, rel=1e-12)
    # potential is zero at the cutoff (shifted), force matches −dV/dr
    dvdr = mz.COULOMB / er * q[0] * q[1] * (-1 / r ** 2 + 2 * krf * r)
    assert f[0, 0] == pytest.approx(dvdr, rel=1e-10)


@pytest.mark.parametrize("modifier", ["none", "potential-shift", "force-switch"])
def test_finite_difference_mixed_lj_coulomb(modifier):
    top, pos = random_gas(n=64, box=3.0)
    force = mz.Nonbonded(cutoff=1.2, lj={"A": (0.3, 0.8), "B": (0.35, 0.4)},
                         modifier=modifier, switch_distance=1.0 if modifier == "force-switch"
                         else None, coulomb="reaction-field", epsilon_r=1.0, epsilon_rf=62.0)
    system = mz.System(top, box=3.0, forces=[force])
    state = mz.State(pos, box=system.box)
    testing.check_finite_difference(system, state, h=1e-6, rtol=1e-6, atol=1e-5)
    testing.check_translation_invariance(system, state)
    testing.check_pickling(force, system, state)


def test_triclinic_box_energy_matches_orthorhombic_image():
    # the same infinite crystal described by an orthorhombic box and by a sheared one:
    # with 4 fcc cells, b_x = L/2 is two lattice constants, a lattice translation
    system, state = lj_fluid(cells=4)
    e_ortho, _, _ = testing.evaluate(system, state)
    L = state.box[0, 0]
    sheared = np.array([[L, 0, 0], [L / 2, L, 0], [0, 0, L]])
    s2 = mz.System(system.topology, sheared, system.forces)
    e2, _, _ = testing.evaluate(s2, mz.State(state.positions, box=sheared))
    assert e2 == pytest.approx(e_ortho, rel=1e-12)
    # a genuinely triclinic box: energy must be translation invariant and FD-consistent
    tric = np.array([[L, 0, 0], [0.3 * L, L, 0], [-0.2 * L, 0.25 * L, L]])
    s3 = mz.System(system.topology, tric, system.forces)
    st3 = mz.State(state.positions @ np.linalg.inv(state.box) @ tric, box=tric)
    testing.check_translation_invariance(s3, st3)
    testing.check_finite_difference(s3, st3, h=1e-6, rtol=1e-6, atol=1e-5)


def test_missing_lj_type_lists_what_was_given():
    top, pos = random_gas(n=8)
    system = mz.System(top, box=3.0, forces=[mz.Nonbonded(cutoff=1.0, lj={"A": (0.3, 1.0)})])
    with pytest.raises(KeyError, match="no LJ parameters for particle type.*B.*given: A"):
        testing.evaluate(system, mz.State(pos, box=system.box))


def test_bad_modifier_lists_available():
    with pytest.raises(ValueError, match="available: none, potential-shift, force-switch"):
        mz.Nonbonded(modifier="switch")
