"""OpenMM export: energies and forces of the exported System against mdzoom's, term by term.

Reference platform (double precision). Cut-off / reaction-field systems agree to machine
precision, GROMACS's RF exclusion and self terms included (they are exported exactly).
With PME the LJ and bonded terms agree to machine precision; the Coulomb energy differs by
(a) the PME discretisation error of both engines (GROMACS's order-4 B-splines here,
OpenMM's order 5, same β and grid) and (b) GROMACS's real-space potential shift
erfc(β rc)/rc, which OpenMM does not apply: f Σ_{non-excluded pairs r<rc} qᵢqⱼ erfc(βrc)/rc,
computed here analytically. ``Disper. corr.`` comes out of OpenMM's single-precision
long-range-correction integral, ~1e-6 relative.

Agreement measured (2025, OpenMM 8.6.1, Reference platform), relative:

| system | bonded + LJ + RF Coulomb | Disper. corr. | Potential | forces RMS |
|---|---|---|---|---|
| a6pa6_amber/charmm/opls/gromos_vac (RF) | ≤ 2e-14 | — | ≤ 4e-14 | ≤ 3e-15 |
| tip3p_box (PME) | 1e-14 | 5e-7 | 3e-4 (Coulomb 8e-5) | 7e-5 |
| aapaa_tip3p_hbonds (PME) | 2e-14 | 4e-7 | 7e-4 (Coulomb 1.4e-4) | 7e-5 |
| a6pa6_amber_tip3p_pme (PME) | 2e-14 | 5e-7 | 5e-5 (Coulomb 3.4e-5) | 1.5e-4 |

With a finer PME grid (0.06 nm) and the shift subtracted, Coulomb agrees to 4e-6 (tip3p_box)
and 9e-6 (aapaa_tip3p_hbonds) relative, forces RMS to 6e-6.
"""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

openmm = pytest.importorskip("openmm")

from mdzoom.core.ewald import PME, ewald_coefficient  # noqa: E402
from mdzoom.core.force import ForceEvaluator  # noqa: E402
from mdzoom.core.gromacs import load_gromacs  # noqa: E402
from mdzoom.core.nonbonded import LennardJones  # noqa: E402
from mdzoom.core.openmm_export import (openmm_energy_terms, to_openmm,  # noqa: E402
                                       to_openmm_simulation)
from mdzoom.core.plugins import get_plugin_manager  # noqa: E402
from mdzoom.core.state import State  # noqa: E402
from mdzoom.core.system import System  # noqa: E402
from mdzoom.core.topology import Topology  # noqa: E402
from mdzoom.core.units import COULOMB  # noqa: E402
from mdzoom.plugins.allatom.openmm_export import OPENMM_CONVERTERS  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs"
SYSTEMS = sorted(p.name for p in DATA.iterdir() if (p / "processed.top").exists())
PME_SYSTEMS = [s for s in SYSTEMS if "pme" in (DATA / s / "run.mdp").read_text().lower()]
RF_SYSTEMS = [s for s in SYSTEMS if s not in PME_SYSTEMS]
BONDED = {"Bond", "G96Bond", "Harmonic Pot.", "Angle", "G96Angle", "U-B", "Proper Dih.",
          "Ryckaert-Bell.", "Improper Dih.", "Per. Imp. Dih.", "LJ-14", "Coulomb-14",
          "Position Rest."}


@pytest.fixture(scope="module")
def registry():
    """The registry with the allatom converters, registered exactly as the allatom plugin's
    ``mdzoom_forces`` does (``registry.add_force(name, fn)`` for OPENMM_CONVERTERS)."""
    reg = get_plugin_manager().registry
    if "openmm:HarmonicBonds" not in reg.names("force"):
        reg.current_plugin = "mdzoom.plugins.allatom"
        for name, fn in OPENMM_CONVERTERS.items():
            reg.add_force(name, fn)
        reg.current_plugin = "<user>"
    return reg


def _mdzoom(system, state):
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    return dict(ev.terms), ev.forces.copy()


def _openmm(system, state, registry, **kw):
    omm, pos, box = to_openmm(system, state, registry=registry, **kw)
    ctx = openmm.Context(omm, openmm.VerletIntegrator(0.001),
                         openmm.Platform.getPlatformByName("Reference"))
    ctx.setPeriodicBoxVectors(*box)
    ctx.setPositions(pos)
    return openmm_energy_terms(ctx, forces=True)


def _load(name, tmp_path=None, **mdp_changes):
    d = DATA / name
    mdp = d / "run.mdp"
    if mdp_changes:
        lines = [ln for ln in mdp.read_text().splitlines()
                 if ln.split("=")[0].strip().lower() not in
                 {k.lower().replace("_", "-") for k in mdp_changes}]
        lines += [f"{k.replace('_', '-')} = {v}" for k, v in mdp_changes.items()]
        mdp = tmp_path / "run.mdp"
        mdp.write_text("\n".join(lines) + "\n")
    return load_gromacs(d / "processed.top", d / "conf.gro", mdp)[:2]


def _force_rms(f, ref):
    return (np.sqrt(np.mean(np.sum((f - ref) ** 2, axis=1)))
            / np.sqrt(np.mean(np.sum(ref ** 2, axis=1))))


def _check_exact_terms(ref, got, skip=()):
    for term, e in ref.items():
        if term in skip or term == "Potential":
            continue
        tol = 1e-5 if term in BONDED else 1e-9
        if term == "Disper. corr.":
            tol = 1e-5          # OpenMM integrates the 1/V part in single precision
        assert got[term] == pytest.approx(e, rel=tol, abs=1e-9), (term, got[term], e)


# ------------------------------------------------------------------ cut-off / RF systems
@pytest.mark.parametrize("name", RF_SYSTEMS)
def test_reaction_field_systems_match_term_by_term(name, registry):
    system, state = _load(name)
    ref, f_ref = _mdzoom(system, state)
    got, f = _openmm(system, state, registry, separate_dispersion=True)
    assert set(got) == set(ref)
    _check_exact_terms(ref, got)
    assert got["Potential"] == pytest.approx(ref["Potential"], rel=1e-10)
    assert _force_rms(f, f_ref) < 1e-10


@pytest.mark.parametrize("changes", [
    {"epsilon-rf": "0"},                                       # conducting boundary
    {"coulombtype": "Cut-off"},                                # GROMACS: RF with ε_rf = 1
    {"epsilon-r": "2", "epsilon-rf": "10", "DispCorr": "EnerPres"},
    {"vdw-modifier": "Force-switch", "rvdw-switch": "0.9", "DispCorr": "Ener"},
    {"vdw-modifier": "None", "DispCorr": "EnerPres"},
])
def test_reaction_field_variants(changes, registry, tmp_path):
    system, state = _load("a6pa6_opls_vac", tmp_path, **changes)
    ref, f_ref = _mdzoom(system, state)
    got, f = _openmm(system, state, registry, separate_dispersion=True)
    _check_exact_terms(ref, got)
    assert got["Potential"] == pytest.approx(ref["Potential"], rel=1e-7)
    assert _force_rms(f, f_ref) < 1e-9
    # the default (1/V part of the dispersion correction riding on the LJ force)
    merged, _ = _openmm(system, state, registry)
    assert merged["Potential"] == pytest.approx(ref["Potential"], rel=1e-7)


# ------------------------------------------------------------------ PME systems
def _ewald_shift_energy(system, state):
    """GROMACS's real-space shift: −f/ε_r erfc(βrc)/rc Σ_{non-excluded pairs r<rc} qᵢqⱼ."""
    from scipy.spatial import cKDTree

    nb = system.forces[0]
    rc = float(nb.cutoff)
    c_sh = math.erfc(ewald_coefficient(rc, nb.ewald_rtol) * rc) / rc
    box = np.diag(state.box)
    x = np.mod(state.positions, box)
    pairs = cKDTree(x, boxsize=box).query_pairs(rc, output_type="ndarray")
    n = system.n_particles
    start, index = system.topology.exclusions
    i = np.repeat(np.arange(n), np.diff(start))
    excluded = np.minimum(i, index) * n + np.maximum(i, index)
    keys = pairs.min(1) * n + pairs.max(1)
    keep = ~np.isin(keys, excluded)
    q = system.topology.charges
    qq = q[pairs[keep, 0]] * q[pairs[keep, 1]]
    return -COULOMB / nb.epsilon_r * c_sh * float(qq.sum())


def _coulomb(t):
    return t["Coulomb (SR)"] + t["Coul. recip."]


@pytest.mark.parametrize("name", PME_SYSTEMS)
def test_pme_systems(name, registry):
    system, state = _load(name)
    ref, f_ref = _mdzoom(system, state)
    got, f = _openmm(system, state, registry, separate_dispersion=True)
    assert set(got) == set(ref)
    _check_exact_terms(ref, got, skip=("Coulomb (SR)", "Coul. recip."))
    scale = abs(ref["Coulomb (SR)"]) + abs(ref["Coul. recip."])
    # reciprocal-space (discretisation) error of order-4 (ours, GROMACS) vs order-5 PME
    assert abs(_coulomb(got) - _coulomb(ref)) < 2e-4 * scale
    assert abs(got["Potential"] - ref["Potential"]) < 2e-4 * scale
    assert _force_rms(f, f_ref) < 1e-3


@pytest.mark.parametrize("name", ["tip3p_box", "aapaa_tip3p_hbonds"])
def test_pme_fine_grid_after_shift(name, registry):
    """On a 0.06 nm grid both PMEs are near exact: what is left is the real-space shift."""
    system, state = _load(name)
    system.forces = [dataclasses.replace(f, spacing=0.06) if isinstance(f, PME) else f
                     for f in system.forces]
    ref, f_ref = _mdzoom(system, state)
    got, f = _openmm(system, state, registry)
    shift = _ewald_shift_energy(system, state)
    assert abs(shift) > 1e-3                    # the shift is there, and …
    scale = abs(ref["Coulomb (SR)"]) + abs(ref["Coul. recip."])
    assert abs(_coulomb(got) + shift - _coulomb(ref)) < 2e-5 * scale    # … explains it
    assert abs(got["Potential"] + shift - ref["Potential"]) < 2e-5 * scale
    assert _force_rms(f, f_ref) < 2e-4


# ------------------------------------------------------------------ LJ fluid
def _lj_fluid(n=216, density=0.7, seed=3):
    rng = np.random.default_rng(seed)
    side = (n / density) ** (1 / 3) * 0.34
    m = int(round(n ** (1 / 3)))
    g = (np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5)
    x = g * side / m + rng.normal(0, 0.01, g.shape)
    top = Topology.atomic_fluid(n, "Ar", mass=39.948)
    return top, np.eye(3) * side, x


@pytest.mark.parametrize("modifier,disp", [("potential-shift", "no"),
                                           ("potential-shift", "EnerPres"),
                                           ("none", "Ener"), ("force-switch", "EnerPres")])
def test_lj_fluid(modifier, disp, registry):
    top, box, x = _lj_fluid()
    lj = LennardJones(sigma=0.34, epsilon=0.996, cutoff=0.9, modifier=modifier,
                      switch_distance=0.7 if modifier == "force-switch" else None)
    lj = dataclasses.replace(lj, dispersion_correction=disp)
    system = System(top, box, [lj])
    state = State(x, box=box)
    ref, f_ref = _mdzoom(system, state)
    got, f = _openmm(system, state, registry, separate_dispersion=True)
    _check_exact_terms(ref, got)
    assert got["Potential"] == pytest.approx(ref["Potential"], rel=1e-6)
    assert _force_rms(f, f_ref) < 1e-10


# ------------------------------------------------------------------ API
def test_unconvertible_force_names_itself(registry):
    from mdzoom.core.force import Force

    class Mystery(Force):
        def bind(self, system, context):
            raise NotImplementedError

    top, box, x = _lj_fluid(n=8)
    with pytest.raises(NotImplementedError, match="Mystery.*openmm:Mystery.*HarmonicBonds"):
        to_openmm(System(top, box, [Mystery()]), State(x, box=box), registry=registry)


def test_force_method_wins(registry):
    from mdzoom.core.force import Force

    class Constant(Force):
        def bind(self, system, context):
            raise NotImplementedError

        def to_openmm(self, system, mm):
            f = mm.CustomExternalForce("12.5")
            f.addParticle(0, [])
            f.setName("Constant")
            return [f]

    top, box, x = _lj_fluid(n=27)
    omm, pos, vecs = to_openmm(System(top, box, [Constant()]), State(x, box=box),
                               registry=registry)
    ctx = openmm.Context(omm, openmm.VerletIntegrator(0.001),
                         openmm.Platform.getPlatformByName("Reference"))
    ctx.setPeriodicBoxVectors(*vecs)
    ctx.setPositions(pos)
    assert openmm_energy_terms(ctx) == pytest.approx({"Constant": 12.5, "Potential": 12.5})


def test_simulation_runs_with_constraints(registry):
    system, state = _load("aapaa_tip3p_hbonds")
    sim = to_openmm_simulation(system, state, platform="CPU")
    omm = sim.system
    assert omm.getNumConstraints() == sum(
        3 * len(c.oxygens) if hasattr(c, "oxygens") else len(c.pairs)
        for c in system.constraints)
    np.testing.assert_allclose([omm.getParticleMass(i)._value for i in range(5)],
                               system.masses[:5])
    assert sim.topology.getNumAtoms() == system.n_particles
    sim.context.applyConstraints(1e-8)
    sim.step(5)
    e = sim.context.getState(getEnergy=True).getPotentialEnergy()._value
    assert np.isfinite(e)
