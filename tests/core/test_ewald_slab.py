"""Slab electrostatics: ``ewald-geometry = 3dc`` (Yeh–Berkowitz + Ballenegger–Arnold–Cerdà).

Analytic checks (EW3DC − tin-foil = 2π f M_z²/V, finite-difference forces and virial, an
empty parallel-plate capacitor) and GROMACS 2022 (``gmx_d``) references made by
``tests/data/ewald_slab/make_reference.py``: an SPC/E slab with ions (neutral and +2 e)
in a 1.86 × 1.86 × 6 nm box, PME with ewald-geometry 3d and 3dc. GROMACS's Coulomb
constant differs from ours by 2.6e-9 relative, which bounds the agreement.
"""

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.ewald import PME, EwaldSum, pme_grid, slab_correction
from mdzoom.core.export import to_gromacs
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import _mdp_settings, load_gromacs
from mdzoom.core.units import COULOMB

DATA = Path(__file__).resolve().parents[1] / "data" / "ewald_slab"
EPS0_INV = 4.0 * math.pi * COULOMB          # 1/ε₀ [kJ mol⁻¹ nm e⁻²]
QP = 1e-9                                   # probe charge [e]: its own images are O(QP²)


def slab_of_charges(n=40, net=0, seed=1, lxy=1.6, lz=6.0, thickness=1.5, z0=1.0):
    """n random charges ±0.5 e (``net`` extra +0.5 e) in a slab z0 … z0+thickness of an
    lxy × lxy × lz box, no pair closer than ~0.15 nm."""
    rng = np.random.default_rng(seed)
    n_plus = (n + net) // 2
    top = mz.Topology([mz.MoleculeType.single_particle("P", charge=0.5, mass=10.0),
                       mz.MoleculeType.single_particle("M", charge=-0.5, mass=10.0)],
                      [("P", n_plus), ("M", n - n_plus)])
    k = (4, 4, 4)
    grid = np.stack(np.meshgrid(*[np.arange(m) for m in k], indexing="ij"), -1).reshape(-1, 3)
    grid = grid[rng.permutation(len(grid))[:n]]
    frac = (grid + 0.5 + rng.uniform(-0.25, 0.25, (n, 3))) / np.array(k)
    x = frac * np.array([lxy, lxy, thickness]) + np.array([0.0, 0.0, z0])
    return top, x, np.diag([lxy, lxy, lz])


def ewald(geometry, rc=0.75, **kw):
    return [mz.Nonbonded(cutoff=rc, lj=None, coulomb="ewald", ewald_rtol=1e-12,
                         coulomb_modifier="none"),
            EwaldSum(cutoff=rc, rtol=1e-12, precision=1e-14, geometry=geometry, **kw)]


def terms(top, x, box, forces):
    system = mz.System(top, box, forces)
    return testing.evaluate(system, mz.State(x, box=box))


# ------------------------------------------------------------------ analytic checks
@pytest.mark.parametrize("net", [0, 2])
def test_3dc_minus_tinfoil_is_the_slab_term(net):
    top, x, box = slab_of_charges(net=net)
    q = top.charges
    e3, f3, t3 = terms(top, x, box, ewald("3d"))
    e3c, f3c, t3c = terms(top, x, box, ewald("3dc"))
    vol, lz = np.prod(np.diag(box)), box[2, 2]
    mz_, qs = float(q @ x[:, 2]), float(q.sum())
    expect = 2 * math.pi * COULOMB / vol * (mz_ ** 2 - qs * (q @ x[:, 2] ** 2)
                                            - qs * qs * lz * lz / 12)
    assert abs(expect) > 1.0                            # a test that can fail
    assert e3c - e3 == pytest.approx(expect, rel=1e-9)
    # filed in "Coul. recip." as GROMACS does; the short-range part is untouched
    assert t3c["Coul. recip."] - t3["Coul. recip."] == pytest.approx(expect, rel=1e-9)
    assert t3c["Coulomb (SR)"] == t3["Coulomb (SR)"]
    df = f3c - f3
    assert np.abs(df[:, :2]).max() < 1e-9
    np.testing.assert_allclose(df[:, 2], -4 * math.pi * COULOMB / vol * q * (mz_ - qs * x[:, 2]),
                               rtol=1e-9, atol=1e-9)
    # the same with PME (the correction does not depend on the reciprocal method)
    pme = [mz.Nonbonded(cutoff=0.75, lj=None, coulomb="pme"), PME(cutoff=0.75, spacing=0.1)]
    pme_c = [pme[0], PME(cutoff=0.75, spacing=0.1, geometry="3dc")]
    assert terms(top, x, box, pme_c)[0] - terms(top, x, box, pme)[0] == \
        pytest.approx(expect, rel=1e-9)


@pytest.mark.parametrize("net", [0, 2])
def test_3dc_forces_are_minus_the_gradient(net):
    top, x, box = slab_of_charges(n=16, net=net, lxy=1.6, lz=4.5, thickness=1.2)
    system = mz.System(top, box, ewald("3dc"))
    testing.check_finite_difference(system, mz.State(x, box=box), particles=[0, 5, 11],
                                    h=1e-6, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("net", [0, 3])
def test_slab_virial_is_half_the_strain_derivative(net):
    # Ξ = ½ ∂E/∂ε under the affine deformation x → x(1 + ε), box → box(1 + ε)
    top, x, _ = slab_of_charges(n=20, net=net)
    box = np.array([[1.6, 0, 0], [0.3, 1.5, 0], [-0.2, 0.25, 6.0]])
    q = top.charges
    vir = np.zeros((3, 3))
    slab_correction(x, box, q, COULOMB, np.zeros_like(x), vir)
    h = 1e-6
    fd = np.zeros((3, 3))
    # a lower-triangular box (as Ewald needs) stays so under the strains with b ≤ a
    for a in range(3):
        for b in range(a + 1):
            e = []
            for s in (h, -h):
                strain = np.eye(3)
                strain[a, b] += s
                e.append(slab_correction(x @ strain, box @ strain, q, COULOMB,
                                         np.zeros_like(x)))
            fd[a, b] = 0.5 * (e[0] - e[1]) / (2 * h)
    for a in range(3):
        for b in range(a + 1):
            assert vir[a, b] == pytest.approx(fd[a, b], rel=1e-6, abs=1e-6), (a, b)
    assert abs(vir[2, 2]) > 1.0


def capacitor(gap_factor, sigma=1.0, d=1.0, a=0.25, lxy=1.0, probes=()):
    """Plates of point charges +σ (at z1) and −σ (at z1 + d) on square lattices of
    spacing a, in an lxy × lxy box with a vacuum gap of gap_factor·d; probe charges QP
    at ``probes`` (z offsets from z1, in the lattice-cell centre)."""
    k = int(round(lxy / a))
    q_site = sigma * lxy * lxy / (k * k)
    lz = d * (1 + gap_factor)
    z1 = 0.5 * (lz - d)
    xy = (np.stack(np.meshgrid(np.arange(k), np.arange(k), indexing="ij"), -1)
          .reshape(-1, 2) * a)
    plate = lambda z: np.column_stack([xy, np.full(len(xy), z)])  # noqa: E731
    xp = np.array([[0.5 * a, 0.5 * a, z1 + dz] for dz in probes]).reshape(-1, 3)
    x = np.concatenate([plate(z1), plate(z1 + d), xp])
    mts = [mz.MoleculeType.single_particle("A", charge=q_site),
           mz.MoleculeType.single_particle("B", charge=-q_site),
           mz.MoleculeType.single_particle("T", charge=QP)]
    mols = [("A", k * k), ("B", k * k)] + ([("T", len(probes))] if probes else [])
    return mz.Topology(mts[:2] + mts[2:] * bool(probes), mols), x, np.diag([lxy, lxy, lz])


@pytest.mark.parametrize("gap_factor", [3, 6])
def test_empty_capacitor_field_and_potential(gap_factor):
    sigma, d = 1.0, 1.0
    # field: force on probes between the plates (mid-plane and off-centre) and outside
    inside, outside = (0.5, 0.4), (-0.6, d + 0.6)
    top, x, box = capacitor(gap_factor, sigma, d, probes=inside + outside)
    _, f, _ = terms(top, x, box, ewald("3dc", rc=0.45))
    field = f[-4:, 2] / QP
    # lattice corrugation ~ 2·exp(−2π·0.4/0.25) ~ 1e-4 at the nearer probe (measured:
    # 1.4e-5 at the mid-plane); Ewald settings 1e-12
    np.testing.assert_allclose(field[:2], sigma * EPS0_INV, rtol=3e-4)
    assert np.abs(field[2:]).max() < 1e-5 * sigma * EPS0_INV    # no field outside
    assert np.abs(f[-4:, :2]).max() / QP < 3e-4 * sigma * EPS0_INV
    # without the correction (tin-foil) the field is wrong by the images' σd/(ε₀L_z)
    _, f3, _ = terms(top, x, box, ewald("3d", rc=0.45))
    assert f3[-4, 2] / QP == pytest.approx(sigma * EPS0_INV * (1 - d / box[2, 2]),
                                             rel=1e-3)
    # ΔΦ = σd/ε₀: a probe's energy below minus above the capacitor
    e = []
    for dz in (-0.6, d + 0.6):
        t, xx, b = capacitor(gap_factor, sigma, d, probes=(dz,))
        e.append(terms(t, xx, b, ewald("3dc", rc=0.45))[0])
    assert (e[0] - e[1]) / QP == pytest.approx(sigma * d * EPS0_INV, rel=1e-5)


def test_capacitor_does_not_depend_on_the_gap():
    # plates are laterally uniform up to corrugation exp(−2π·gap/a): 3× and 6× agree to
    # the Ewald accuracy (1e-12 relative settings; 1e-8 allows for round-off)
    fields = []
    for g in (3, 6):
        top, x, box = capacitor(g, probes=(0.5, 0.2))
        fields.append(terms(top, x, box, ewald("3dc", rc=0.45))[1][-2:, 2] / QP)
    np.testing.assert_allclose(fields[0], fields[1], rtol=1e-8)


# --------------------------------------------------------------- options and refusals
def test_pme_grid_of_an_elongated_box_as_grompp():
    # gmx_d grompp, 1.86206 × 1.86206 × 6.0 nm, fourierspacing 0.08: "24x24x80" (above 44
    # GROMACS takes only sizes divisible by 4, so L/spacing = 75 gives 80)
    assert pme_grid(np.diag([1.86206, 1.86206, 6.0]), 0.08, 6) == (24, 24, 80)
    # also from gmx_d grompp: 50 and 90 are skipped
    assert pme_grid([4.0, 4.0, 7.2], 0.08, 6) == (52, 52, 96)
    assert pme_grid([4.2, 3.3, 10.6], 0.12, 6) == (36, 28, 96)


def test_options_are_validated():
    with pytest.raises(ValueError, match="available: 3d, 3dc"):
        PME(geometry="2d")
    with pytest.raises(NotImplementedError, match="epsilon_surface"):
        EwaldSum(epsilon_surface=1.0)
    with pytest.raises(ValueError, match="epsilon-surface"):
        _mdp_settings({"coulombtype": "PME", "epsilon-surface": 80})
    assert PME() == PME(geometry="3d", epsilon_surface=0.0)


def test_load_gromacs_and_export_keep_the_geometry(tmp_path):
    system, state, settings = load_gromacs(DATA / "topol_neutral.top", DATA / "neutral.gro",
                                           DATA / "3dc.mdp")
    (pme,) = [f for f in system.forces if isinstance(f, PME)]
    assert pme.geometry == "3dc" and pme.epsilon_surface == 0.0
    # a Python-built system: the exported .mdp must carry the geometry
    s2 = mz.System(system.topology, system.box, system.forces)
    paths = to_gromacs(s2, state, None, tmp_path / "py")
    text = Path(paths["mdp"]).read_text()
    assert "3dc" in text and "epsilon-surface" in text
    s3, st3, _ = load_gromacs(paths["top"], paths["gro"], paths["mdp"])
    (pme3,) = [f for f in s3.forces if isinstance(f, PME)]
    assert pme3.geometry == "3dc"
    ev1, ev2 = ForceEvaluator(system, skin=0.0), ForceEvaluator(s3, skin=0.0)
    ev1.compute(state)
    ev2.compute(st3)
    assert ev2.terms["Coul. recip."] == pytest.approx(ev1.terms["Coul. recip."], rel=1e-8)


# ------------------------------------------------------------------------ gmx_d
@pytest.mark.parametrize("structure", ["neutral", "charged"])
@pytest.mark.parametrize("geometry", ["3d", "3dc"])
def test_matches_gmx_d(structure, geometry):
    ref = json.loads((DATA / "reference.json").read_text())[f"{structure}_{geometry}"]
    system, state, _ = load_gromacs(DATA / f"topol_{structure}.top",
                                    DATA / f"{structure}.gro", DATA / f"{geometry}.mdp")
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    (bound,) = [b for b in ev.bound if isinstance(getattr(b, "desc", None), PME)]
    assert list(bound.grid_shape) == ref["grid"]          # the grid grompp chose
    e = ref["energies"]
    for term in ("Coulomb (SR)", "Coul. recip.", "LJ (SR)", "Potential"):
        assert ev.terms[term] == pytest.approx(e[term], rel=1e-7), term
    f = np.array(ref["forces"])
    rms = np.sqrt(np.mean(np.sum((ev.forces - f) ** 2, axis=1)))
    assert rms < 1e-6 * np.sqrt(np.mean(np.sum(f ** 2, axis=1))) + 1e-3


def test_gmx_d_3dc_shift_and_virial_convention():
    ref = json.loads((DATA / "reference.json").read_text())
    for s in ("neutral", "charged"):
        r3, r3c = ref[f"{s}_3d"]["energies"], ref[f"{s}_3dc"]["energies"]
        # GROMACS 2022 adds nothing to its virial for the 3dc correction
        for k in ("Vir-XX", "Vir-YY", "Vir-ZZ"):
            assert r3c[k] == r3[k]
        system, state, _ = load_gromacs(DATA / f"topol_{s}.top", DATA / f"{s}.gro",
                                        DATA / "3dc.mdp")
        q, z = system.topology.charges, state.positions[:, 2]
        # gmx energy's Mu-Z [Debye] is Σ qᵢzᵢ of the positions as given
        assert r3c["Mu-Z"] == pytest.approx(float(q @ z) * 48.0320471, rel=1e-6)
        ev3c = ForceEvaluator(system, skin=0.0)
        ev3c.compute(state, virial=True)
        s3, st3, _ = load_gromacs(DATA / f"topol_{s}.top", DATA / f"{s}.gro",
                                  DATA / "3d.mdp")
        ev3 = ForceEvaluator(s3, skin=0.0)
        ev3.compute(st3, virial=True)
        # ours: ½ ∂E/∂ε of the correction (checked by finite differences above)
        dvir = np.zeros((3, 3))
        e = slab_correction(state.positions, state.box, q, COULOMB,
                            np.zeros_like(state.positions), dvir)
        np.testing.assert_allclose(ev3c.virial - ev3.virial, dvir, atol=1e-6 * abs(e))


# ------------------------------------------------------------------------ speed
def test_slab_correction_costs_little():
    # the O(N) correction against one PME evaluation of the same extended box
    top, x, box = slab_of_charges(n=64, lxy=2.0, lz=8.0, thickness=2.0)
    times = {}
    for g in ("3d", "3dc"):
        system = mz.System(top, box, [mz.Nonbonded(cutoff=0.9, lj=None, coulomb="pme"),
                                      PME(cutoff=0.9, geometry=g)])
        ev = ForceEvaluator(system, skin=0.0)
        st = mz.State(x, box=box)
        ev.compute(st)
        best = math.inf
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(5):
                ev.compute(st)
            best = min(best, time.perf_counter() - t0)
        times[g] = best
    assert times["3dc"] < 1.5 * times["3d"] + 5e-3, times


def test_openmm_export_refuses_the_slab_correction():
    pytest.importorskip("openmm")
    import dataclasses

    from mdzoom.core.ewald import PME
    from mdzoom.core.openmm_export import to_openmm

    system, state, _ = load_gromacs(DATA / "topol_neutral.top", DATA / "neutral.gro",
                                    DATA / "3d.mdp")
    system.forces = [dataclasses.replace(f, geometry="3dc") if isinstance(f, PME) else f
                     for f in system.forces]
    with pytest.raises(NotImplementedError, match="3dc.*export to GROMACS"):
        to_openmm(system, state)


def test_matches_lammps_ewald_with_slab_correction():
    """The neutral slab against LAMMPS (Ewald 1e-10 + kspace_modify slab, the same 6 nm
    extended box; tests/data/ewald_slab/make_lammps_reference.py). Without potential
    shifts on either side: LJ equal to 2e-12, total Coulomb (real + reciprocal + EW3DC)
    to 0.06 kJ/mol of −10752 (PME on a 0.04 nm grid), forces RMS to 3.6e-5 relative."""
    import dataclasses

    ref = json.loads((DATA / "lammps_reference.json").read_text())
    system, state, _ = load_gromacs(DATA / "topol_neutral.top", DATA / "neutral.gro",
                                    DATA / "3dc.mdp")
    nb, pme = system.forces
    system.forces = [dataclasses.replace(nb, modifier="none", coulomb_modifier="none"),
                     dataclasses.replace(pme, spacing=0.04)]
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    e = ref["energies_kj"]
    assert ev.terms["LJ (SR)"] == pytest.approx(e["evdwl"], rel=1e-9)
    coulomb = ev.terms["Coulomb (SR)"] + ev.terms["Coul. recip."]
    assert coulomb == pytest.approx(e["ecoul"] + e["elong"], abs=0.2)
    f = np.asarray(ref["forces_kj_per_nm"])
    assert np.sqrt(((ev.forces - f) ** 2).mean() / (f ** 2).mean()) < 1e-4
    # and the slab term matters here: without it the forces are off by far more
    system.forces[1] = dataclasses.replace(system.forces[1], geometry="3d")
    ev3 = ForceEvaluator(system, skin=0.0)
    ev3.compute(state)
    assert np.sqrt(((ev3.forces - f) ** 2).mean() / (f ** 2).mean()) > 1e-3
