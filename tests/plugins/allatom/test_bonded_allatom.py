"""All-atom bonded terms: analytic energies, gradients, invariances, periodic images."""

import json
import os
import pickle

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.plugins.allatom import bonded as b

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "data", "allatom_bonded")
D2R = np.pi / 180.0


def system_of(n, forces, box=5.0):
    g = nx.Graph()
    for i in range(n):
        g.add_node(i, name=f"A{i}", type="A", mass=12.0)
    top = mz.Topology([mz.MoleculeType("MOL", g, nrexcl=0)], [("MOL", 1)])
    return mz.System(top, box=box, forces=list(forces))


def energy(force, x, box=5.0):
    x = np.asarray(x, float)
    system = system_of(len(x), [force], box)
    e, f, terms = testing.evaluate(system, mz.State(x, box=system.box))
    return e, f, terms


def dihedral_positions(phi_deg, origin=(1.0, 1.0, 1.0)):
    """i–j–k–l with φ(i, j, k, l) = phi_deg by construction (IUPAC: positive clockwise
    seen from j towards k)."""
    p = np.deg2rad(phi_deg)
    x = np.array([[0.12, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.15],
                  [0.11 * np.cos(p), 0.11 * np.sin(p), 0.15]])
    return x + np.asarray(origin)


def reference_forces():
    """Every class with the parameters of the GROMACS reference molecule."""
    with open(os.path.join(DATA, "params.json")) as fh:
        p = json.load(fh)
    return p, build_forces(p)


def build_forces(p):
    def cols(name, n_atoms):
        rows = p[name]
        atoms = np.array([r[:n_atoms] for r in rows], dtype=np.int64)
        params = np.array([r[n_atoms:] for r in rows], dtype=float)
        return atoms, params

    out = {}
    for name in ("HarmonicBonds", "HarmonicPotentials", "G96Bonds"):
        a, q = cols(name, 2)
        out[name] = getattr(b, name)(a, q[:, 0], q[:, 1])
    for name in ("HarmonicAngles", "G96Angles"):
        a, q = cols(name, 3)
        out[name] = getattr(b, name)(a, q[:, 0], q[:, 1])
    a, q = cols("UreyBradley", 3)
    out["UreyBradley"] = b.UreyBradley(a, q[:, 0], q[:, 1], q[:, 2], q[:, 3])
    for name in ("PeriodicTorsions", "PeriodicImpropers"):
        a, q = cols(name, 4)
        out[name] = getattr(b, name)(a, q[:, 0], q[:, 1], q[:, 2].astype(int))
    a, q = cols("HarmonicImpropers", 4)
    out["HarmonicImpropers"] = b.HarmonicImpropers(a, q[:, 0], q[:, 1])
    a, q = cols("RyckaertBellemans", 4)
    out["RyckaertBellemans"] = b.RyckaertBellemans(a, q)
    a, q = cols("Pairs14", 2)
    charges = np.asarray(p["charges"])
    out["Pairs14"] = b.Pairs14(a, q[:, 0], q[:, 1],
                               p["fudgeQQ"] * charges[a[:, 0]] * charges[a[:, 1]],
                               epsilon_r=p["epsilon_r"])
    a, q = cols("PositionRestraints", 1)
    return out, a[:, 0], q


def molecule():
    """The reference molecule (whole, centred in a 5 nm box) and all its forces."""
    from mdzoom.core.io import read_gro

    p, (forces, pr_atoms, pr_k) = reference_forces()
    conf = read_gro(os.path.join(DATA, "cubic", "conf.gro"))
    ref = read_gro(os.path.join(DATA, "cubic", "ref.gro"))
    forces["PositionRestraints"] = b.PositionRestraints(pr_atoms, ref.positions[pr_atoms],
                                                        pr_k)
    return conf.positions, conf.box, forces


X, BOX, FORCES = molecule()
NAMES = sorted(FORCES)


# ---------------------------------------------------------------------------------------
# analytic energies


def test_bonds_analytic():
    x = [[1.0, 1.0, 1.0], [1.2, 1.0, 1.0]]
    e, f, terms = energy(b.HarmonicBonds([[0, 1]], b0=0.15, kb=1000.0), x)
    assert terms == {"Bond": pytest.approx(0.5 * 1000 * 0.05 ** 2), "Potential": e}
    assert f[0, 0] == pytest.approx(1000 * 0.05) and f[1, 0] == pytest.approx(-50.0)
    e, _, terms = energy(b.HarmonicPotentials([[0, 1]], b0=0.15, kb=1000.0), x)
    assert list(terms) == ["Harmonic Pot.", "Potential"] and e == pytest.approx(1.25)
    e, f, terms = energy(b.G96Bonds([[0, 1]], b0=0.15, kb=1e6), x)
    assert terms["G96Bond"] == pytest.approx(0.25 * 1e6 * (0.04 - 0.0225) ** 2)
    assert f[1, 0] == pytest.approx(-1e6 * (0.04 - 0.0225) * 0.2)


def test_angles_analytic():
    x = [[1.1, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.2, 1.0]]      # θ = 90°
    e, _, terms = energy(b.HarmonicAngles([[0, 1, 2]], theta0=100.0, k=400.0), x)
    assert terms["Angle"] == pytest.approx(0.5 * 400 * (10 * D2R) ** 2, rel=1e-12)
    e, _, terms = energy(b.G96Angles([[0, 1, 2]], theta0=100.0, k=400.0), x)
    assert terms["G96Angle"] == pytest.approx(0.5 * 400 * np.cos(100 * D2R) ** 2, rel=1e-12)
    e, _, terms = energy(b.UreyBradley([[0, 1, 2]], theta0=100.0, k_theta=400.0,
                                       r13=0.2, k_ub=5000.0), x)
    r13 = np.hypot(0.1, 0.2)
    assert terms["U-B"] == pytest.approx(0.5 * 400 * (10 * D2R) ** 2
                                         + 0.5 * 5000 * (r13 - 0.2) ** 2, rel=1e-12)


@pytest.mark.parametrize("phi", [-150.0, -60.0, 0.0, 45.0, 120.0, 180.0])
def test_dihedral_sign_and_periodic_torsion(phi):
    x = dihedral_positions(phi)
    force = b.PeriodicTorsions([[0, 1, 2, 3], [0, 1, 2, 3]], phi_s=[30.0, 0.0],
                               k=[5.0, 2.0], multiplicity=[1, 3])
    e, _, terms = energy(force, x)
    expect = 5 * (1 + np.cos((phi - 30) * D2R)) + 2 * (1 + np.cos(3 * phi * D2R))
    assert terms["Proper Dih."] == pytest.approx(expect, rel=1e-12, abs=1e-12)
    e, _, terms = energy(b.PeriodicImpropers([[0, 1, 2, 3]], 30.0, 5.0, 1), x)
    assert terms["Per. Imp. Dih."] == pytest.approx(5 * (1 + np.cos((phi - 30) * D2R)))


def test_harmonic_improper_wraps_the_difference():
    # φ = −170°, ξ0 = 170°: ξ − ξ0 = −340° is taken as +20°
    e, _, terms = energy(b.HarmonicImpropers([[0, 1, 2, 3]], xi0=170.0, k=200.0),
                         dihedral_positions(-170.0))
    assert terms["Improper Dih."] == pytest.approx(0.5 * 200 * (20 * D2R) ** 2, rel=1e-12)
    e, _, _ = energy(b.HarmonicImpropers([[0, 1, 2, 3]], xi0=-10.0, k=200.0),
                     dihedral_positions(25.0))
    assert e == pytest.approx(0.5 * 200 * (35 * D2R) ** 2, rel=1e-12)


@pytest.mark.parametrize("phi", [180.0, 60.0, -75.0])
def test_ryckaert_bellemans_polymer_convention(phi):
    c = np.array([9.28, 12.16, -13.12, -3.06, 26.24, -31.5])
    e, _, terms = energy(b.RyckaertBellemans([[0, 1, 2, 3]], c), dihedral_positions(phi))
    cpsi = np.cos((phi - 180.0) * D2R)
    assert terms["Ryckaert-Bell."] == pytest.approx(np.polyval(c[::-1], cpsi), rel=1e-12)
    if phi == 180.0:                                           # trans: ψ = 0, V = Σ Cn
        assert e == pytest.approx(c.sum())


def test_pairs14_two_terms():
    x = [[1.0, 1.0, 1.0], [1.0, 1.3, 1.0]]
    force = b.Pairs14([[0, 1]], c6=0.002, c12=3e-6, qq=-0.25 * 0.8333, epsilon_r=2.0)
    e, f, terms = energy(force, x)
    lj = 3e-6 / 0.3 ** 12 - 0.002 / 0.3 ** 6
    coul = mz.COULOMB * -0.25 * 0.8333 / (2.0 * 0.3)
    assert terms["LJ-14"] == pytest.approx(lj, rel=1e-12)
    assert terms["Coulomb-14"] == pytest.approx(coul, rel=1e-12)
    assert e == pytest.approx(lj + coul)
    dvdr = -12 * 3e-6 / 0.3 ** 13 + 6 * 0.002 / 0.3 ** 7 - coul / 0.3
    assert f[1, 1] == pytest.approx(-dvdr) and f[0, 1] == pytest.approx(dvdr)


def test_position_restraints_minimum_image():
    ref = np.array([[0.05, 2.0, 4.98]])
    x = np.array([[4.97, 2.1, 0.01]])                  # displacement (−0.08, 0.1, 0.03)
    e, f, terms = energy(b.PositionRestraints([0], ref, k=[[100.0, 200.0, 300.0]]), x)
    d = np.array([-0.08, 0.1, 0.03])
    assert terms["Position Rest."] == pytest.approx(0.5 * np.dot([100, 200, 300], d * d))
    assert f[0] == pytest.approx(-np.array([100, 200, 300]) * d)


# ---------------------------------------------------------------------------------------
# gradients and invariances, on the GROMACS reference molecule


@pytest.mark.parametrize("name", NAMES)
def test_finite_difference(name):
    system = system_of(len(X), [FORCES[name]], BOX)
    state = mz.State(X, box=BOX)
    testing.check_finite_difference(system, state, particles=range(len(X)), h=1e-6,
                                    rtol=1e-7, atol=1e-5)


def test_translation_invariance_and_pickling():
    system = system_of(len(X), [f for n, f in FORCES.items() if n != "PositionRestraints"],
                       BOX)
    state = mz.State(X, box=BOX)
    testing.check_translation_invariance(system, state)
    for force in FORCES.values():
        testing.check_pickling(force, system, state)
        clone = pickle.loads(pickle.dumps(force))
        assert clone == force and clone is not force


def test_rotation_invariance():
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = q * np.sign(np.linalg.det(q))                     # proper rotation
    centre = BOX.sum(axis=0) / 2
    x_rot = (X - centre) @ rot.T + centre
    forces = dict(FORCES)
    pr = forces.pop("PositionRestraints")
    forces["PositionRestraints"] = b.PositionRestraints(
        pr.atoms, (pr.reference - centre) @ rot.T + centre, np.mean(pr.k))   # isotropic k
    forces_old = dict(FORCES, PositionRestraints=b.PositionRestraints(
        pr.atoms, pr.reference, np.mean(pr.k)))
    e0, f0, t0 = testing.evaluate(system_of(len(X), forces_old.values(), BOX),
                                  mz.State(X, box=BOX))
    e1, f1, t1 = testing.evaluate(system_of(len(X), forces.values(), BOX),
                                  mz.State(x_rot, box=BOX))
    for term in t0:
        assert t1[term] == pytest.approx(t0[term], rel=1e-10, abs=1e-10), term
    np.testing.assert_allclose(f1, f0 @ rot.T, rtol=1e-8, atol=1e-7)


def test_periodic_images_triclinic():
    """Each atom moved by a different lattice vector: identical energies and forces."""
    box = np.array([[5.0, 0.0, 0.0], [1.2, 4.8, 0.0], [-0.9, 1.1, 4.6]])
    rng = np.random.default_rng(7)
    x0 = X - X.mean(axis=0)                                  # molecule on the box corner
    forces = list(FORCES.values())
    e0, f0, t0 = testing.evaluate(system_of(len(X), forces, box), mz.State(x0, box=box))
    for _ in range(3):
        x = x0 + rng.integers(-2, 3, size=(len(X), 3)) @ box
        e, f, t = testing.evaluate(system_of(len(X), forces, box), mz.State(x, box=box))
        for term in t0:
            assert t[term] == pytest.approx(t0[term], rel=1e-10, abs=1e-10), term
        np.testing.assert_allclose(f, f0, rtol=1e-8, atol=1e-7)
    # orthorhombic box: a molecule split across the boundary
    cubic = np.diag([3.0, 3.0, 3.0])
    split = x0 + np.array([0.02, 0.0, 2.99])
    e1, _, _ = testing.evaluate(system_of(len(X), forces, cubic), mz.State(split, box=cubic))
    e2, _, _ = testing.evaluate(system_of(len(X), forces, cubic),
                                mz.State(split - np.floor(split / 3.0) * 3.0, box=cubic))
    assert e2 == pytest.approx(e1, rel=1e-12)


# ---------------------------------------------------------------------------------------
# degenerate geometries and input checks


def test_collinear_atoms_give_finite_zero_dihedral_forces():
    x = np.array([[1.0, 1.0, 0.88], [1.0, 1.0, 1.0], [1.0, 1.0, 1.15], [1.1, 1.0, 1.15]])
    for force in (b.PeriodicTorsions([[0, 1, 2, 3]], 0.0, 5.0, 3),
                  b.HarmonicImpropers([[0, 1, 2, 3]], 20.0, 100.0),
                  b.RyckaertBellemans([[0, 1, 2, 3]], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])):
        e, f, _ = energy(force, x)
        assert np.isfinite(e) and np.all(f == 0.0)
    # a straight angle: the harmonic angle force vanishes instead of dividing by sin θ
    line = [[1.0, 1.0, 1.0], [1.15, 1.0, 1.0], [1.3, 1.0, 1.0]]
    e, f, _ = energy(b.HarmonicAngles([[0, 1, 2]], 180.0, 300.0), line)
    assert e == pytest.approx(0.0, abs=1e-20) and np.all(f == 0.0)
    e, f, _ = energy(b.HarmonicAngles([[0, 1, 2]], 120.0, 300.0), line)
    assert e == pytest.approx(0.5 * 300 * (60 * D2R) ** 2) and np.all(np.isfinite(f))
    e, f, _ = energy(b.G96Angles([[0, 1, 2]], 120.0, 300.0), line)
    assert np.all(np.isfinite(f))


def test_equality_and_input_errors():
    a = b.HarmonicAngles([[0, 1, 2]], [109.5], [400.0])
    assert a == b.HarmonicAngles(np.array([[0, 1, 2]]), np.array([109.5]), [400])
    assert a != b.HarmonicAngles([[0, 1, 2]], 109.0, 400.0)
    assert a != b.G96Angles([[0, 1, 2]], 109.5, 400.0)
    with pytest.raises(IndexError, match="out of range for 3 particles"):
        energy(b.HarmonicBonds([[0, 3]], 0.1, 1.0), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"atoms must have shape \(M, 4\)"):
        energy(b.PeriodicTorsions([[0, 1, 2]], 0.0, 1.0, 1), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"kb must be a scalar or have shape \(2,\)"):
        energy(b.HarmonicBonds([[0, 1], [1, 2]], 0.1, [1.0, 2.0, 3.0]), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="multiplicity must be integer"):
        energy(b.PeriodicTorsions([[0, 1, 2, 3]], 0.0, 1.0, 1.5), np.eye(4, 3))
    e, f, _ = energy(b.HarmonicBonds(np.zeros((0, 2), int), 0.1, 1.0), np.zeros((2, 3)))
    assert e == 0.0 and not f.any()
