"""GROMACS ``[ virtual_sites3 ]`` functions 2 (3fd), 3 (3fad) and 4 (3out), with 1 (3)
alongside: construction, force spreading (the chain rule of each construction), the
virial, NVE, agreement with gmx_d, ``write_top`` and the OpenMM export; the 3out geometry
of the Martini 3 cholesterol; and, where its .itp is available, a Martini 3 cholesterol
in water against gmx_d.

References: ``tests/data/gromacs_vsites/make_reference_vsites3.py`` (gmx_d 2022.5,
``mdrun -nsteps 0``): 24 rigid molecules with one site of each function (``vsites3_rf``)
or of one function alone (``vsites3_<kind>``) and 24 LJ atoms, reaction field.
"""

import json
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.virtual_sites import (VirtualSites3, VirtualSites3FAD, VirtualSites3FD,
                                       VirtualSites3OUT)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "gromacs_vsites"
VARIANTS = ["vsites3_rf", "vsites3_3", "vsites3_3fd", "vsites3_3fad", "vsites3_3out"]
GMX_D = shutil.which(os.environ.get("GMX_D", "gmx_d"))


def load(name):
    d = DATA / name
    return load_gromacs(d / "topol.top", d / "conf.gro", d / "run.mdp")[:2]


# ---------------------------------------------------------------------- the definitions
def mic(d, L):
    return d - L * np.rint(d / L) if L else d


def construct_ref(kind, x, p, L=None):
    """The GROMACS definitions (reference manual, "Virtual interaction sites"), in numpy;
    x (3, 3) the constructing atoms i, j, k; p the parameters as in the topology."""
    xi = x[0]
    rij, rjk, rik = mic(x[1] - x[0], L), mic(x[2] - x[1], L), mic(x[2] - x[0], L)
    if kind == "3":
        return xi + p[0] * rij + p[1] * rik
    if kind == "3fd":
        t = rij + p[0] * rjk
        return xi + p[1] * t / np.linalg.norm(t)
    if kind == "3fad":
        perp = rjk - (rij @ rjk) / (rij @ rij) * rij
        th = np.deg2rad(p[0])
        return (xi + p[1] * np.cos(th) * rij / np.linalg.norm(rij)
                + p[1] * np.sin(th) * perp / np.linalg.norm(perp))
    return xi + p[0] * rij + p[1] * rik + p[2] * np.cross(rij, rik)


KINDS = {"3": (VirtualSites3, (0.7, -0.3)), "3fd": (VirtualSites3FD, (0.35, 0.21)),
         "3fad": (VirtualSites3FAD, (118.0, 0.17)), "3out": (VirtualSites3OUT,
                                                             (-0.45, 0.8, 7.5))}


class _Particles:
    """The least a bound virtual site needs of a system."""

    def __init__(self, n):
        self.n_particles = n
        self.masses = np.r_[np.ones(3), np.zeros(n - 3)]      # atoms 0, 1, 2 real


def bound(kind, p=None):
    cls, default = KINDS[kind]
    desc = cls([3], [[0, 1, 2]], *(np.atleast_1d(v) for v in (p or default)))
    return desc, desc.bind(_Particles(4))


def frame(rng, L=None):
    x = rng.normal(0, 0.12, (4, 3)) + 1.0
    if L:
        x[:3] = (x[:3] + L - 1.0) % L        # around the box corner, wrapped one by one
    return x


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("L", [None, 2.0])
def test_construction_matches_the_definition(kind, L):
    rng = np.random.default_rng(11)
    box = np.eye(3) * (L or 1e3)
    _, vs = bound(kind)
    for _ in range(20):
        x = frame(rng, L)
        vs.construct(x, box)
        # x_i + minimum-image vectors: beside atom i, not an image away
        expect = construct_ref(kind, x[:3], KINDS[kind][1], L)
        assert np.abs(x[3] - expect).max() < 1e-13
    if L:
        assert np.any(np.abs(x[1:3] - x[0]) > L / 2)       # the last one did straddle
    if kind in ("3fd", "3fad"):
        d = KINDS[kind][1][1]
        assert np.linalg.norm(x[3] - x[0]) == pytest.approx(d, abs=1e-14)
    if kind == "3fad":                                      # the angle with r_ij
        u, v = mic(x[3] - x[0], L), mic(x[1] - x[0], L)
        ang = np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))
        assert ang == pytest.approx(118.0, abs=1e-9)


@pytest.mark.parametrize("kind", list(KINDS))
def test_spreading_is_the_transpose_of_the_construction_jacobian(kind):
    # F_c = (∂x_s/∂x_c)ᵀ F_s for c = i, j, k; the total force and torque are kept
    rng = np.random.default_rng(5)
    box = np.eye(3) * 1e3
    _, vs = bound(kind)
    h = 1e-6
    for _ in range(5):
        x = frame(rng)
        vs.construct(x, box)
        fs = rng.normal(0, 10.0, 3)
        f = np.zeros((4, 3))
        f[3] = fs
        vs.spread(x, f, box)
        assert np.all(f[3] == 0.0)
        for c in range(3):
            jac = np.zeros((3, 3))
            for d in range(3):
                xp, xm = x.copy(), x.copy()
                xp[c, d] += h
                xm[c, d] -= h
                vs.construct(xp, box)
                vs.construct(xm, box)
                jac[:, d] = (xp[3] - xm[3]) / (2 * h)
            np.testing.assert_allclose(f[c], jac.T @ fs, rtol=0, atol=1e-7 * np.abs(fs).max())
        assert np.allclose(f[:3].sum(0), fs, atol=1e-12)
        assert np.allclose(np.cross(x[:3], f[:3]).sum(0), np.cross(x[3], fs), atol=1e-11)


@pytest.mark.parametrize("name", VARIANTS)
def test_finite_difference_on_real_atoms(name):
    system, state = load(name)
    per = 3 + system.n_virtual_sites // 24
    real = [per * m + c for m in (0, 5, 17) for c in range(3)]    # molecule 0 straddles
    e, f, _ = testing.evaluate(system, state)
    assert np.all(f[system.masses == 0] == 0.0)
    testing.check_finite_difference(system, state, particles=real, h=1e-6, rtol=1e-7,
                                    atol=1e-6)


def strain_virial(system, state, eps=1e-6):
    """½ ∂U/∂E_ab under x → x(1 + E), box → box(1 + E) (sites built from the strained
    atoms), central differences, a ≥ b."""
    out = np.full((3, 3), np.nan)
    ev = ForceEvaluator(system, skin=0.0)
    for a in range(3):
        for b in range(a + 1):
            e = np.zeros((3, 3))
            e[a, b] = eps
            u = [ev.compute(mz.State(state.positions @ (np.eye(3) + s * e),
                                     box=state.box @ (np.eye(3) + s * e))) for s in (1, -1)]
            out[a, b] = 0.5 * (u[0] - u[1]) / (2 * eps)
    return out


@pytest.mark.parametrize("name", VARIANTS)
def test_virial_is_the_strain_derivative(name):
    system, state = load(name)
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state, virial=True)
    vir = ev.virial
    # without the correction of the non-linear sites: the virial of the forces on the
    # sites where they are
    plain = ForceEvaluator(system, skin=0.0)
    plain.virtual_sites = []
    plain.compute(state, virial=True)
    ref = strain_virial(system, state)
    low = np.tril_indices(3)
    scale = np.abs(vir).max()
    np.testing.assert_allclose(vir[low], ref[low], rtol=0, atol=1e-6 * scale)
    np.testing.assert_allclose(vir, vir.T, rtol=0, atol=1e-6 * scale)
    correction = np.abs(vir - plain.virial).max()
    if name in ("vsites3_rf", "vsites3_3fd", "vsites3_3fad", "vsites3_3out"):
        assert correction > 1e-3 * scale            # the test sees the correction
    else:
        assert correction < 1e-12 * scale           # function 1 is linear: none


@pytest.mark.parametrize("name", VARIANTS)
def test_matches_gromacs(name):
    system, state = load(name)
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    ref = json.loads((DATA / name / "reference.json").read_text())["terms"]
    assert set(ref) == {"LJ (SR)", "Coulomb (SR)", "Potential"}
    for term, expect in ref.items():
        # Coulomb: mdzoom's 138.935458 vs GROMACS 2022's 138.9354578… (1.2e-9)
        assert ev.terms[term] == pytest.approx(expect, rel=1e-8, abs=1e-9), term
    ref_f = np.loadtxt(DATA / name / "forces.txt")
    real = system.masses > 0
    assert np.all(ev.forces[~real] == 0.0)
    diff = np.linalg.norm(ev.forces[real] - ref_f[real], axis=1)
    size = np.linalg.norm(ref_f[real], axis=1)
    worst = float(np.max(diff / np.maximum(size, 1.0)))
    print(f"{name}: max |ΔF|/|F| {worst:.2g} (max |F| {size.max():.1f} kJ/mol/nm)")
    assert worst < 1e-6


def test_topology_builds_each_function():
    system, _ = load("vsites3_rf")
    kinds = [type(v) for v in system.virtual_sites]
    assert kinds == [VirtualSites3, VirtualSites3FD, VirtualSites3FAD, VirtualSites3OUT]
    v1, v2, v3, v4 = system.virtual_sites
    assert np.array_equal(v4.sites, np.arange(24) * 7 + 6)
    assert np.array_equal(v4.atoms, np.arange(24)[:, None] * 7 + [0, 1, 2])
    assert (v2.a[0], v2.b[0]) == (0.6, 0.18)
    assert (v3.theta[0], v3.d[0]) == (160.0, 0.12)
    assert (v4.a[0], v4.b[0], v4.c[0]) == (-0.4, 0.3, 6.0)
    assert system.n_virtual_sites == 96 and system.degrees_of_freedom == 3 * 96 - 3 - 72


def test_write_top_round_trip(tmp_path):
    from mdzoom.core.io import read_top, write_top

    d = DATA / "vsites3_rf"
    write_top(tmp_path / "flat.top", read_top(str(d / "topol.top")))
    text = (tmp_path / "flat.top").read_text()
    assert "4 1 2 3 1 0.35 0.4" in text and "5 1 2 3 2 0.6 0.18" in text
    assert "6 1 2 3 3 160 0.12" in text and "7 1 2 3 4 -0.4 0.3 6" in text
    a, state = load("vsites3_rf")
    b = load_gromacs(tmp_path / "flat.top", d / "conf.gro", d / "run.mdp")[0]
    assert a.virtual_sites == b.virtual_sites
    e_a, f_a, _ = testing.evaluate(a, state)
    e_b, f_b, _ = testing.evaluate(b, state)
    assert e_a == e_b and np.array_equal(f_a, f_b)


def test_nve_energy_conservation_rigid_molecules():
    """24 rigid molecules (constraints) with all four site kinds + 24 LJ atoms, velocity
    Verlet at 2 fs for 2 ps from 300 K (measured drift 1.9e-6 kJ/mol/ps per particle)."""
    system, state = load("vsites3_rf")
    state.velocities = mz.maxwell_boltzmann(system.masses, 300.0, seed=4)
    drift, fluct = testing.check_nve_drift(system, state, dt=0.002, n_steps=1000,
                                           max_drift=2e-5, every=10, skin=0.1)
    print(f"vsites3 NVE drift {drift:.3g} kJ/mol/ps per particle, fluctuation {fluct:.3g}")


def test_kernels_are_cached():
    from mdzoom.core import virtual_sites as v

    for fn in (v.construct3fd, v.spread3fd, v.construct3fad, v.spread3fad, v.construct3out,
               v.spread3out, v._add_dxdf):
        assert type(fn._cache).__name__ != "NullCache", fn


def test_descriptions_check_compare_and_pickle():
    with pytest.raises(ValueError, match="own constructing"):
        VirtualSites3OUT([3], [[0, 1, 3]], 0.1, 0.1, 1.0)
    with pytest.raises(ValueError, match="c has shape"):
        VirtualSites3OUT([3, 7], [[0, 1, 2], [4, 5, 6]], 0.1, 0.2, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="theta has non-finite"):
        VirtualSites3FAD([3], [[0, 1, 2]], np.nan, 0.1)
    with pytest.raises(ValueError, match="a site index repeats"):
        VirtualSites3FD([3, 3], [[0, 1, 2], [0, 1, 2]], 0.1, 0.1)
    for kind, (cls, p) in KINDS.items():
        vs = cls([3], [[0, 1, 2]], *p)
        assert vs == cls(np.array([3]), np.array([[0, 1, 2]]), *([v] for v in p))
        assert pickle.loads(pickle.dumps(vs)) == vs
        other = cls([3], [[0, 1, 2]], *(v * 1.5 for v in p))
        assert vs != other
    assert VirtualSites3FD([3], [[0, 1, 2]], 0.1, 0.1) != VirtualSites3([3], [[0, 1, 2]], 0.1,
                                                                        0.1)
    heavy = _Particles(4)
    heavy.masses = np.ones(4)
    with pytest.raises(ValueError, match="must be massless"):
        VirtualSites3OUT([3], [[0, 1, 2]], 0.1, 0.1, 1.0).bind(heavy)
    with pytest.raises(IndexError, match="particle 9 is outside"):
        VirtualSites3FAD([3], [[0, 1, 9]], 100.0, 0.1).bind(_Particles(4))


# ---------------------------------------------------------------------- OpenMM
@pytest.mark.parametrize("name", VARIANTS)
def test_openmm_export(name):
    pytest.importorskip("openmm")
    from mdzoom.core.openmm_export import openmm_energy_terms, to_openmm_simulation

    system, state = load(name)
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    # OpenMM builds sites without periodic images: molecules made whole around atom i
    per = 3 + system.n_virtual_sites // 24
    x = state.positions.copy()
    L = state.box[0, 0]
    for m in range(24):
        o = per * m
        x[o:o + per] = x[o] + mic(x[o:o + per] - x[o], L)
    state.positions = x
    e = ev.compute(state)
    sim = to_openmm_simulation(system, state, platform="Reference")
    sim.context.computeVirtualSites()
    s = sim.context.getState(getEnergy=True, getForces=True, getPositions=True)
    assert np.abs(np.asarray(s.getPositions(asNumpy=True)._value) - x).max() < 1e-12
    assert openmm_energy_terms(sim.context)["Potential"] == pytest.approx(e, rel=1e-8)
    f = np.asarray(s.getForces(asNumpy=True)._value)
    real = system.masses > 0
    assert np.abs(f[real] - ev.forces[real]).max() < 1e-7 * np.abs(ev.forces).max()


# ---------------------------------------------------------------------- Martini 3 sterols
# The Martini 3 cholesterol, [ moleculetype ] CHOL of martini_v3.0_sterols_v1.0.itp
# (Borges-Araújo et al., J. Chem. Theory Comput. 19, 7387 (2023), doi:10.1021/acs.jctc.3c00547;
# github.com/Martini-Force-Field-Initiative/M3-Sterol-Parameters, commit 421efda; the
# repository states no licence, so only these numbers are transcribed, as in
# tests/plugins/martini/test_chol_mapping.py): the constraint frame C1, R2, R1 [nm] and the
# five 3out sites, all built from i = C1, j = R2, k = R1 (a, b [1]; c [nm⁻¹]).
CHOL_FRAME = {("C1", "R2"): 0.75012, ("C1", "R1"): 0.78504, ("R2", "R1"): 0.34797}
CHOL_VSITES = {"ROH": (1.08999, 0.35891, 0.22947), "R3": (-0.41067, 0.83597, -0.05311),
               "R4": (0.69138, -0.10352, 0.17476), "R5": (0.77524, 0.22413, 0.92700),
               "R6": (0.06219, 0.32398, 0.76967)}
# distances [nm] of the eight rigid beads in the itp geometry, as tabulated (3 decimals)
# in tests/plugins/martini/test_chol_mapping.py
CHOL_DISTANCES = {
    ("ROH", "R1"): 0.431, ("ROH", "R2"): 0.349, ("ROH", "R3"): 0.810, ("ROH", "R4"): 0.645,
    ("ROH", "R5"): 0.380, ("ROH", "R6"): 0.808, ("ROH", "C1"): 1.079, ("R1", "R2"): 0.348,
    ("R1", "R3"): 0.428, ("R1", "R4"): 0.463, ("R1", "R5"): 0.361, ("R1", "R6"): 0.528,
    ("R1", "C1"): 0.785, ("R2", "R3"): 0.551, ("R2", "R4"): 0.310, ("R2", "R5"): 0.252,
    ("R2", "R6"): 0.527, ("R2", "C1"): 0.750, ("R3", "R4"): 0.368, ("R3", "R5"): 0.565,
    ("R3", "R6"): 0.277, ("R3", "C1"): 0.403, ("R4", "R5"): 0.370, ("R4", "R6"): 0.273,
    ("R4", "C1"): 0.449, ("R5", "R6"): 0.468, ("R5", "C1"): 0.781, ("R6", "C1"): 0.358}


def test_martini3_cholesterol_3out_geometry():
    # the frame, rotated at random and wrapped into a 3 nm box across its corner
    a, b, c = CHOL_FRAME[("C1", "R2")], CHOL_FRAME[("C1", "R1")], CHOL_FRAME[("R2", "R1")]
    u = (a * a + b * b - c * c) / (2 * a)
    local = np.array([[0, 0, 0], [a, 0, 0], [u, np.sqrt(b * b - u * u), 0]])   # C1 R2 R1
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))                                   # a proper rotation
    L = 3.0
    names = list(CHOL_VSITES)
    x = np.zeros((3 + len(names), 3))
    x[:3] = (local - local.mean(0)) @ q.T % L
    sites = np.arange(3, 3 + len(names))
    p = np.array([CHOL_VSITES[n] for n in names])
    vs = VirtualSites3OUT(sites, np.tile([0, 1, 2], (len(names), 1)), *p.T)
    vs.bind(_Particles(len(x))).construct(x, np.eye(3) * L)
    pos = {"C1": x[0], "R2": x[0] + mic(x[1] - x[0], L), "R1": x[0] + mic(x[2] - x[0], L)}
    for n, s in zip(names, sites):
        assert np.abs(x[s] - construct_ref("3out", x[:3], CHOL_VSITES[n], L)).max() < 1e-13
        pos[n] = x[s]
    for (m, n), d in CHOL_DISTANCES.items():
        assert np.linalg.norm(pos[m] - pos[n]) == pytest.approx(d, abs=6e-4), (m, n)
    # the handedness: R5 and R6 (the methyl beads) on the side of r_ij × r_ik
    normal = np.cross(pos["R2"] - pos["C1"], pos["R1"] - pos["C1"])
    normal /= np.linalg.norm(normal)
    assert (pos["R5"] - pos["C1"]) @ normal > 0.2 and (pos["R6"] - pos["C1"]) @ normal > 0.19


STEROLS_ITP = "martini_v3.0_sterols_v1.0.itp"
MARTINI_ITPS = ["martini_v3.0.0.itp", STEROLS_ITP, "martini_v3.0.0_solvents_v1.itp"]
MARTINI_MDP = """\
integrator      = md
dt              = 0.02
nsteps          = 0
continuation    = yes
cutoff-scheme   = Verlet
nstcalcenergy   = 1
nstenergy       = 1
nstfout         = 1
verlet-buffer-tolerance = -1
rlist           = 1.1
coulombtype     = reaction-field
rcoulomb        = 1.1
epsilon-r       = 15
epsilon-rf      = 0
vdw-modifier    = Potential-shift-verlet
rvdw            = 1.1
"""


def martini3_dir():
    env = os.environ.get("MDZOOM_MARTINI3_DIR")
    path = Path(env) if env else ROOT.parent / "shared" / "data" / "martini3"
    return path if all((path / f).is_file() for f in MARTINI_ITPS) else None


def _water_around(solute, L, spacing=0.47, clearance=0.43):
    """W beads on a cubic lattice (Martini water density ≈ 1 bead per 0.47³ nm³), none
    closer than ``clearance`` to the solute (minimum image)."""
    n = int(L // spacing)
    g = (np.arange(n) + 0.5) * (L / n)
    w = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    d = mic(w[:, None] - solute[None], L)
    return w[np.linalg.norm(d, axis=2).min(1) > clearance]


def _gmx_d(*args, cwd, stdin=None):
    res = subprocess.run([GMX_D, "-quiet", *args], cwd=cwd, input=stdin, text=True,
                         capture_output=True)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    return res.stdout + res.stderr


@pytest.mark.skipif(GMX_D is None, reason="gmx_d (GROMACS, double precision) not installed")
def test_martini3_cholesterol_in_water_matches_gmx_d(tmp_path, capsys):
    """``mdzoom energy`` on the Martini 3 cholesterol (mapped from the CHARMM36 structure
    of tests/data/martini_mapping, five of its nine beads 3out sites) in 4 nm of W beads,
    against gmx_d ``mdrun -nsteps 0`` (which builds the sites from the real beads)."""
    ff = martini3_dir()
    if ff is None:
        pytest.skip(f"{STEROLS_ITP} (and the Martini 3 core files) not available: put "
                    "them in MDZOOM_MARTINI3_DIR")
    import importlib.util

    from mdzoom.core.cli import main
    from mdzoom.plugins.martini.mapping import Martini3Mapping, load_aa

    mapping = ROOT / "tests" / "data" / "martini_mapping"
    cg = Martini3Mapping().map(*load_aa(mapping / "chol.top", mapping / "chol.gro"))
    assert cg.names == "ROH R1 R2 R3 R4 R5 R6 C1 C2".split()
    L = 4.0
    chol = cg.positions - cg.positions.mean(0) + L / 2
    water = _water_around(chol, L)
    rows = [("CHOL", n, p) for n, p in zip(cg.names, chol)] + [("W", "W", p) for p in water]
    lines = ["Martini 3 cholesterol in water", f"{len(rows):5d}"]
    for k, (res, name, p) in enumerate(rows):
        lines.append(f"{(1 if k < 9 else k - 7) % 100000:5d}{res:<5s}{name:>5s}"
                     f"{(k + 1) % 100000:5d}" + "".join(f"{v:12.7f}" for v in p))
    lines.append(f"{L:12.7f}{L:12.7f}{L:12.7f}")
    (tmp_path / "conf.gro").write_text("\n".join(lines) + "\n")
    (tmp_path / "topol.top").write_text(
        "".join(f'#include "{ff / f}"\n' for f in MARTINI_ITPS)
        + f"\n[ system ]\nCHOL in water\n\n[ molecules ]\nCHOL 1\nW {len(water)}\n")
    (tmp_path / "run.mdp").write_text(MARTINI_MDP)

    assert main(["energy", "-p", str(tmp_path / "topol.top"), "-c", str(tmp_path / "conf.gro"),
                 "-f", str(tmp_path / "run.mdp"), "--json",
                 "--forces", str(tmp_path / "forces.txt")]) == 0
    ours = json.loads(capsys.readouterr().out)["terms"]
    f = np.loadtxt(tmp_path / "forces.txt")

    _gmx_d("grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "topol.top", "-o", "t.tpr",
           cwd=tmp_path)
    _gmx_d("mdrun", "-s", "t.tpr", "-e", "run.edr", "-o", "run.trr", "-g", "run.log", "-c",
           "out.gro", "-nt", "1", cwd=tmp_path)
    spec = importlib.util.spec_from_file_location("make_reference_vsites3",
                                                  DATA / "make_reference_vsites3.py")
    ref_tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref_tools)
    ref = ref_tools.energies(tmp_path)
    _, ref_f = ref_tools.trr_first_frame(tmp_path / "run.trr")
    assert {"LJ (SR)", "Coulomb (SR)", "Potential"} <= set(ref)
    for term, expect in ref.items():
        assert ours[term] == pytest.approx(expect, rel=1e-7, abs=1e-7), (term, ours, ref)
    real = np.r_[np.array(list(MASSES_CHOL.values())) > 0, np.ones(len(water), bool)]
    diff = np.linalg.norm(f[real] - ref_f[real], axis=1)
    size = np.linalg.norm(ref_f[real], axis=1)
    worst = float(np.max(diff / np.maximum(size, 1.0)))
    print(f"Martini 3 CHOL in water: max |ΔF|/|F| {worst:.2g}; terms {ours} vs gmx_d {ref}")
    assert worst < 1e-6
    assert np.all(f[~real] == 0.0)


# [ atoms ] masses of CHOL [amu] (the five sites mass-less)
MASSES_CHOL = {"ROH": 0.0, "R1": 159.8, "R2": 157.0, "R3": 0.0, "R4": 0.0, "R5": 0.0,
               "R6": 0.0, "C1": 115.2, "C2": 72.0}


def test_openmm_export_of_virtual_sitesn(tmp_path):
    # [ virtual_sitesn ] over 2 (COG), 3 (COM) and 4 (COW) atoms: Two/ThreeParticleAverage
    # and LocalCoordinatesSite in OpenMM
    pytest.importorskip("openmm")
    from mdzoom.core.openmm_export import to_openmm_simulation

    top = """[ defaults ]
1 2 no 1.0 1.0
[ atomtypes ]
A 0 0.0 0.0 A 0.30 0.5
V 0 0.0 0.0 A 0.25 0.4
[ moleculetype ]
M 1
[ atoms ]
1 A 1 M A1 1 0.3 12.0
2 A 1 M A2 2 -0.2 14.0
3 A 1 M A3 3 0.1 16.0
4 A 1 M A4 4 -0.1 20.0
5 V 1 M V5 5 0.25 0.0
6 V 1 M V6 6 -0.3 0.0
7 V 1 M V7 7 -0.05 0.0
[ virtual_sitesn ]
5 1 1 3
6 2 2 3 4
7 3 1 0.5 2 1.0 3 0.25 4 2.0
[ exclusions ]
5 1 2 3 4 6 7
6 1 2 3 4 7
7 1 2 3 4
[ system ]
vsitesn
[ molecules ]
M 12
"""
    rng = np.random.default_rng(3)
    L, body = 3.0, rng.normal(0, 0.08, (4, 3))
    x, atoms = [], np.zeros((0, 3))                 # whole molecules inside the box
    while len(x) < 12 * 7:
        mol = rng.uniform(0.4, L - 0.4, 3) + body @ np.linalg.qr(rng.normal(size=(3, 3)))[0]
        if not len(atoms) or np.linalg.norm(mol[:, None] - atoms[None], axis=2).min() > 0.35:
            atoms = np.vstack([atoms, mol])
            x.extend(np.vstack([mol, np.repeat(mol[:1], 3, 0)]))     # sites: built later
    gro = ["vsitesn", f"{len(x):5d}"]
    gro += [f"{k // 7 + 1:5d}{'M':<5s}{'X':>5s}{k + 1:5d}" + "".join(f"{v:12.7f}" for v in p)
            for k, p in enumerate(x)]
    gro.append(f"{L:12.7f}{L:12.7f}{L:12.7f}")
    (tmp_path / "t.top").write_text(top)
    (tmp_path / "c.gro").write_text("\n".join(gro) + "\n")
    (tmp_path / "r.mdp").write_text("coulombtype = Reaction-Field\nepsilon-rf = 0\n"
                                    "rcoulomb = 1.0\nrvdw = 1.0\n")
    system, state, _ = load_gromacs(tmp_path / "t.top", tmp_path / "c.gro", tmp_path / "r.mdp")
    ev = ForceEvaluator(system, skin=0.0)
    e = ev.compute(state)
    sim = to_openmm_simulation(system, state, platform="Reference")
    sim.context.computeVirtualSites()
    s = sim.context.getState(getEnergy=True, getForces=True, getPositions=True)
    assert np.abs(np.asarray(s.getPositions(asNumpy=True)._value)
                  - state.positions).max() < 1e-12
    assert s.getPotentialEnergy()._value == pytest.approx(e, rel=1e-8)
    f = np.asarray(s.getForces(asNumpy=True)._value)
    real = system.masses > 0
    assert np.abs(f[real] - ev.forces[real]).max() < 1e-7 * np.abs(ev.forces).max()
