"""Ewald sum, smooth PME and the Ewald real space: physics checks and GROMACS 2022 (gmx_d).

Reference numbers come from ``tests/data/ewald/make_reference.py`` (GROMACS double
precision, ``mdrun -rerun``): ``reference.json`` holds the systems and ``gmx energy``
terms. GROMACS 2022 derives its Coulomb constant from CODATA 2018 (138.93545764…), ours
is 138.935458, a 2.6e-9 relative difference that bounds the agreement of every Coulomb
term; ``gmx energy`` prints 6 decimals and ``gmx dump`` forces 6 significant digits.
"""

import importlib.util
import math
import os

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.ewald import PME, EwaldSum, ewald_coefficient, pme_grid

_spec = importlib.util.spec_from_file_location(
    "ewald_reference_systems",
    os.path.join(os.path.dirname(__file__), "..", "data", "ewald", "reference_systems.py"))
refsys = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refsys)


def charged_gas(n=80, box=2.2, seed=0, net=0, triclinic=False):
    """n random point charges ±0.6 e (``net`` extra +0.6 e), no overlaps closer than ~0.2 nm."""
    rng = np.random.default_rng(seed)
    n_plus = (n + net) // 2
    mts = [mz.MoleculeType.single_particle("P", charge=0.6, mass=10.0),
           mz.MoleculeType.single_particle("M", charge=-0.6, mass=10.0)]
    top = mz.Topology(mts, [("P", n_plus), ("M", n - n_plus)])
    if triclinic:
        cell = np.array([[box, 0, 0], [0.3 * box, box, 0], [-0.25 * box, 0.2 * box, box]])
    else:
        cell = np.diag([box] * 3)
    k = int(np.ceil(n ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)
    grid = grid[rng.permutation(len(grid))[:n]]
    frac = (grid + 0.5 + rng.uniform(-0.2, 0.2, (n, 3))) / k
    return top, frac @ cell, cell


def energy_terms(top, x, box, forces):
    system = mz.System(top, box, forces)
    return testing.evaluate(system, mz.State(x, box=system.box))


# ---------------------------------------------------------------- parameters as GROMACS
def test_ewald_coefficient_matches_gromacs():
    # GROMACS reports ewald-coeff 3.47046 nm⁻¹ for rc = 0.9 nm, ewald-rtol = 1e-5
    assert ewald_coefficient(0.9, 1e-5) == pytest.approx(3.470459, abs=1e-6)
    for rc, rtol in ((1.0, 1e-5), (1.2, 1e-6), (0.8, 1e-3)):
        beta = ewald_coefficient(rc, rtol)
        assert math.erfc(beta * rc) == pytest.approx(rtol, rel=1e-9)


def test_pme_grid_matches_grompp():
    ref = refsys.reference()
    for name in ("ions", "ions_tric", "water"):
        box = np.array(ref[name]["box"])
        for run in ref[name]["runs"].values():
            o = run["options"]
            if "spacing" in o:
                assert pme_grid(box, o["spacing"], 2 * (o["order"] - 1)) == tuple(run["grid"])
    assert pme_grid([20.0, 13.0, 7.0], 0.12) == (168, 112, 60)
    assert pme_grid([0.3] * 3, 0.12) == (6, 6, 6)


# ---------------------------------------------------------------- against GROMACS
@pytest.mark.parametrize("name,run", refsys.runs())
def test_terms_and_forces_match_gromacs(name, run):
    system, state, ref = refsys.build(name, run)
    e, f, terms = testing.evaluate(system, state)
    for term, value in ref["energies"].items():
        # all terms agree to ~3e-9 (Coulomb constant, printing); assert with margin
        tol = 1e-7 * abs(value) + 2e-6
        assert terms[term] == pytest.approx(value, abs=tol), term
    fref = np.array(ref["forces"])
    assert np.abs(f - fref).max() < 2e-5 * np.abs(fref).max()


# ---------------------------------------------------------------- Ewald sum vs PME
@pytest.mark.parametrize("triclinic,net", [(False, 0), (False, 3), (True, 0), (True, 3)])
def test_pme_converges_to_ewald_sum(triclinic, net):
    top, x, box = charged_gas(net=net, triclinic=triclinic)
    e_ref, f_ref, t_ref = energy_terms(top, x, box, [EwaldSum(cutoff=0.9, precision=1e-14)])
    fscale = np.sqrt((f_ref ** 2).mean())
    errors = []
    for spacing, order in ((0.16, 4), (0.12, 4), (0.08, 4), (0.12, 6), (0.05, 8)):
        e, f, t = energy_terms(top, x, box, [PME(cutoff=0.9, spacing=spacing, order=order)])
        assert t["Coulomb (SR)"] == t_ref["Coulomb (SR)"]  # self + exclusions, exact
        errors.append((abs(e - e_ref), np.sqrt(((f - f_ref) ** 2).mean()) / fscale))
    # finer grid and higher order both reduce the error; the finest is essentially exact
    assert errors[2][1] < errors[1][1] < errors[0][1]
    assert errors[3][1] < errors[1][1] / 5
    assert errors[4][0] < 1e-5 * abs(t_ref["Coul. recip."]) and errors[4][1] < 1e-7
    # GROMACS defaults (order 4, spacing 0.12) give a few 1e-3 relative reciprocal forces
    assert errors[1][1] < 6e-3


def test_pme_error_falls_as_spacing_to_the_order():
    # reciprocal force error of order-p PME falls roughly as h^p
    top, x, box = charged_gas(n=60, box=2.0)
    _, f_ref, _ = energy_terms(top, x, box, [EwaldSum(cutoff=0.9, precision=1e-14)])
    for order in (4, 6):
        errs = []
        for k in (20, 40):
            _, f, _ = energy_terms(top, x, box, [PME(cutoff=0.9, grid=(k, k, k), order=order)])
            errs.append(np.sqrt(((f - f_ref) ** 2).mean()))
        rate = math.log2(errs[0] / errs[1])
        assert rate > order - 1.0, (order, rate)


def test_pme_error_consistent_with_rtol():
    """The real-space truncation error erfc(β rc) ~ rtol and the reciprocal PME error at
    GROMACS's default grid are of a size: total force error ~1e-3 at rtol 1e-5."""
    top, x, box = charged_gas(n=100, box=2.5, seed=4)
    rc = 0.9
    exact = [mz.Nonbonded(cutoff=1.2, lj=None, coulomb="ewald", ewald_rtol=1e-12,
                          coulomb_modifier="none"),
             EwaldSum(cutoff=1.2, rtol=1e-12, precision=1e-16)]
    e0, f0, _ = energy_terms(top, x, box, exact)
    approx = [mz.Nonbonded(cutoff=rc, lj=None, coulomb="pme", ewald_rtol=1e-5,
                           coulomb_modifier="none"), PME(rtol=1e-5, cutoff=rc)]
    e1, f1, _ = energy_terms(top, x, box, approx)
    rel_f = np.sqrt(((f1 - f0) ** 2).mean() / (f0 ** 2).mean())
    assert 1e-5 < rel_f < 3e-3
    assert abs(e1 - e0) < 2e-3 * abs(e0)


def test_ewald_total_is_independent_of_beta_even_when_charged():
    # real + reciprocal + self + background must not depend on the splitting β;
    # without the net-charge term it would shift by −πfQ²/(2Vβ²)
    top, x, box = charged_gas(n=40, box=2.0, net=4, seed=2)
    totals = []
    for rtol in (1e-9, 1e-12):
        e, _, _ = energy_terms(top, x, box, [
            mz.Nonbonded(cutoff=0.95, lj=None, coulomb="ewald", ewald_rtol=rtol,
                         coulomb_modifier="none"),
            EwaldSum(cutoff=0.95, rtol=rtol, precision=1e-15)])
        totals.append(e)
    assert totals[0] == pytest.approx(totals[1], rel=1e-7)


def test_madelung_constant_of_rock_salt():
    a = 0.5640  # NaCl lattice constant [nm]; nearest-neighbour distance a/2
    base = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    cells = np.stack(np.meshgrid(*[np.arange(2)] * 3, indexing="ij"), -1).reshape(-1, 3)
    na = ((cells[:, None, :] + base[None]) * a).reshape(-1, 3)
    cl = na + np.array([0.5, 0, 0]) * a
    mts = [mz.MoleculeType.single_particle("NA", charge=1.0),
           mz.MoleculeType.single_particle("CL", charge=-1.0)]
    top = mz.Topology(mts, [("NA", len(na)), ("CL", len(cl))])
    box = np.diag([2 * a] * 3)
    rc = 0.55
    e, f, _ = energy_terms(top, np.vstack([na, cl]), box, [
        mz.Nonbonded(cutoff=rc, lj=None, coulomb="ewald", ewald_rtol=1e-13,
                     coulomb_modifier="none"),
        EwaldSum(cutoff=rc, rtol=1e-13, precision=1e-15)])
    madelung = -e / (len(na) * mz.COULOMB / (a / 2))
    assert madelung == pytest.approx(1.747565, abs=1e-6)
    assert np.abs(f).max() < 1e-6  # every ion sits at a centre of symmetry


# ---------------------------------------------------------------- conformance
def _water(nmol=27, box=0.95, seed=1):
    rng = np.random.default_rng(seed)
    g = nx.Graph()
    for k, (t, q) in enumerate((("OW", -0.82), ("HW", 0.41), ("HW", 0.41))):
        g.add_node(k, name=t, type=t, mass=1.0, charge=q)
    g.add_edges_from([(0, 1), (0, 2)])
    top = mz.Topology([mz.MoleculeType("SOL", g, nrexcl=2)], [("SOL", nmol)])
    k = round(nmol ** (1 / 3))
    o = (np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)
         + 0.5) * box / k
    h1 = o + 0.1 * np.array([1, 0, 0])
    h2 = o + 0.1 * np.array([-0.334, 0.943, 0])
    x = np.stack([o, h1, h2], 1).reshape(-1, 3) + rng.normal(0, 0.005, (3 * nmol, 3))
    return top, x, np.diag([box] * 3)


@pytest.mark.parametrize("recip", ["ewald", "pme"])
def test_finite_difference_and_translation(recip):
    top, x, box = _water()
    box = np.array([[0.95, 0, 0], [0.2, 0.95, 0], [-0.15, 0.1, 0.95]])
    x = x @ np.linalg.inv(np.diag([0.95] * 3)) @ box
    rf = EwaldSum(cutoff=0.45, precision=1e-12) if recip == "ewald" else \
        PME(cutoff=0.45, spacing=0.05, order=6)
    forces = [mz.Nonbonded(cutoff=0.45, lj={"OW": (0.3166, 0.65), "HW": (0.0, 0.0)},
                           combination="geometric", coulomb=recip), rf]
    system = mz.System(top, box, forces)
    state = mz.State(x, box=box)
    testing.check_finite_difference(system, state, h=1e-6, rtol=1e-6, atol=1e-4)
    if recip == "ewald":
        testing.check_translation_invariance(system, state, rtol=1e-9, atol=1e-8)
    else:  # PME is translation invariant only to within its discretisation error
        testing.check_translation_invariance(system, state, rtol=5e-4, atol=1e-3)
    testing.check_pickling(rf, system, state)


def test_exclusion_correction_is_the_missing_pairs():
    # with exclusions, real-space + corrections equal the no-exclusion sum minus the
    # bare Coulomb energy of the excluded pairs
    top, x, box = _water(nmol=8, box=0.9)
    ew = [mz.Nonbonded(cutoff=0.44, lj=None, coulomb="ewald", ewald_rtol=1e-12,
                       coulomb_modifier="none"),
          EwaldSum(cutoff=0.44, rtol=1e-12, precision=1e-14)]
    e_excl, _, _ = energy_terms(top, x, box, ew)
    g = top.molecule_types[0].graph
    flat = mz.Topology([mz.MoleculeType("SOL", g, nrexcl=0)], [("SOL", 8)])
    e_all, _, _ = energy_terms(flat, x, box, ew)
    q = flat.charges
    bare = sum(mz.COULOMB * q[3 * m + i] * q[3 * m + j] / np.linalg.norm(
        x[3 * m + i] - x[3 * m + j]) for m in range(8) for i, j in ((0, 1), (0, 2), (1, 2)))
    assert e_excl == pytest.approx(e_all - bare, rel=1e-8)


def test_unknown_coulomb_lists_available():
    with pytest.raises(ValueError, match="available: cutoff, reaction-field, pme, ewald"):
        mz.Nonbonded(coulomb="p3m")
    with pytest.raises(ValueError, match="order"):
        PME(order=3)
