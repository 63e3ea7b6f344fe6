"""Long-range dispersion correction (GROMACS ``DispCorr``) on ``Nonbonded``."""

import importlib.util
import math
import os

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.nonbonded import (average_c6, dispersion_correction_constants,
                                   force_switch_constants)

_spec = importlib.util.spec_from_file_location(
    "ewald_reference_systems",
    os.path.join(os.path.dirname(__file__), "..", "data", "ewald", "reference_systems.py"))
refsys = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refsys)


def _g6(r, modifier, rc, r1):
    """The dispersion function actually used, −Φ₆(r) (C6 = 1), zero beyond rc."""
    if modifier == "none":
        v = -r ** -6.0
    elif modifier == "potential-shift":
        v = -(r ** -6.0 - rc ** -6.0)
    else:
        a, b, c = force_switch_constants(6.0, r1, rc)
        dr = np.clip(r - r1, 0.0, None)
        v = -(r ** -6.0 - a / 3 * dr ** 3 - b / 4 * dr ** 4 - c)
    return np.where(r < rc, v, 0.0)


@pytest.mark.parametrize("modifier", ["none", "potential-shift", "force-switch"])
def test_constants_are_the_integral_of_the_missing_dispersion(modifier):
    rc, r1 = 1.2, 0.9
    d6, s6 = dispersion_correction_constants(modifier, rc, r1)
    # inside: the difference true − used is the constant s6 below r1 (rc for a shift)
    r = np.array([0.3, 0.5, 0.85])
    assert np.allclose(-r ** -6.0 - _g6(r, modifier, rc, r1), s6, rtol=1e-12, atol=1e-12)
    # D6 = ∫ 4πr² (true − used) dr: the constant part analytically, the rest numerically
    r0 = {"none": rc, "potential-shift": rc, "force-switch": r1}[modifier]
    x, w = np.polynomial.legendre.leggauss(60)
    rr = 0.5 * (rc - r0) * x + 0.5 * (rc + r0)
    middle = 0.5 * (rc - r0) * np.sum(w * 4 * np.pi * rr ** 2
                                      * (-rr ** -6.0 - _g6(rr, modifier, rc, r1)))
    expect = 4 * np.pi * s6 * r0 ** 3 / 3 + middle - 4 * np.pi / (3 * rc ** 3)
    assert d6 == pytest.approx(expect, rel=1e-12)


def test_plain_cutoff_is_the_textbook_formula():
    top = mz.Topology.atomic_fluid(500)
    x = np.random.default_rng(0).uniform(0, 4.0, (500, 3))
    force = mz.Nonbonded(cutoff=1.0, lj=(0.34, 0.99), modifier="none",
                         dispersion_correction="Ener")
    _, _, terms = testing.evaluate(mz.System(top, 4.0, [force]), mz.State(x, box=4.0))
    c6 = 4 * 0.99 * 0.34 ** 6
    assert terms["Disper. corr."] == pytest.approx(
        -2 / 3 * np.pi * 500 ** 2 / 64.0 * c6 / 1.0 ** 3, rel=1e-12)


def test_average_c6_leaves_out_excluded_pairs():
    types = np.array([0, 1, 1] * 4)
    c6 = np.array([[2.0, 0.0], [0.0, 0.0]]).ravel()
    pairs = np.array([(3 * m + a, 3 * m + b) for m in range(4) for a, b in
                      ((0, 1), (0, 2), (1, 2))])
    n = 12
    assert average_c6(types, c6, 2) == pytest.approx(2.0 * 6 / (n * (n - 1) / 2))
    assert average_c6(types, c6, 2, pairs) == pytest.approx(2.0 * 6 / (n * (n - 1) / 2 - 12))


@pytest.mark.parametrize("name,run", [("ions", "pme"), ("ions", "pme_fswitch"),
                                      ("ions_tric", "pme"), ("water", "pme"),
                                      ("water", "pme_plain_lj"), ("water", "rf")])
def test_matches_gromacs(name, run):
    system, state, ref = refsys.build(name, run)
    nb = [f for f in system.forces if isinstance(f, mz.Nonbonded)]
    _, _, terms = testing.evaluate(mz.System(system.topology, system.box, nb), state)
    # gmx energy prints 6 decimals: that is the resolution here (~3e-8 relative)
    assert terms["Disper. corr."] == pytest.approx(ref["energies"]["Disper. corr."],
                                                   rel=1e-6)


def test_options_and_volume_dependence():
    top = mz.Topology.atomic_fluid(200)
    x = np.random.default_rng(1).uniform(0, 3.0, (200, 3))
    e = {}
    for mode in ("no", "Ener", "EnerPres"):
        f = mz.Nonbonded(cutoff=1.0, lj=(0.3, 1.0), dispersion_correction=mode)
        _, _, terms = testing.evaluate(mz.System(top, 3.0, [f]), mz.State(x, box=3.0))
        e[mode] = terms.get("Disper. corr.")
    assert e["no"] is None and e["Ener"] == e["EnerPres"] < 0
    # ½N⟨C6⟩(ρD6 − s6): doubling the volume halves the ρ part, the s6 part stays
    f = mz.Nonbonded(cutoff=1.0, lj=(0.3, 1.0), dispersion_correction="Ener")
    box2 = np.diag([3.0, 3.0, 6.0])
    _, _, t2 = testing.evaluate(mz.System(top, box2, [f]), mz.State(x, box=box2))
    d6, s6 = dispersion_correction_constants("potential-shift", 1.0)
    c6 = 4 * 0.3 ** 6
    assert t2["Disper. corr."] == pytest.approx(100 * c6 * (200 / 54.0 * d6 - s6), rel=1e-12)
    with pytest.raises(ValueError, match="available: no, Ener, EnerPres"):
        mz.Nonbonded(dispersion_correction="AllEner")
    assert math.isfinite(e["Ener"])
