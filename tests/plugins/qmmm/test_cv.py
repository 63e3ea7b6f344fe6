"""Collective variables: analytic gradients against central finite differences, minimum
image in orthorhombic and triclinic boxes, degenerate geometries, dihedral wrapping."""

import pickle

import numpy as np
import pytest

from mdzoom.plugins.qmmm.cv import (Angle, COMDistance, Dihedral, Distance,
                                    DistanceDifference, cv_series, minimum_image,
                                    periodic_difference)

CUBE = 2.0
TRICLINIC = np.array([[2.0, 0.0, 0.0], [0.6, 1.9, 0.0], [-0.4, 0.5, 1.8]])


def fd_gradient(cv, x, box, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        d = periodic_difference(cv.value(xp, box), cv.value(xm, box), cv.periodic)
        g[idx] = d / (2 * h)
    return g


def check(cv, x, box, rtol=1e-6, atol=1e-6):
    v, g = cv.gradient(x, box)
    assert v == pytest.approx(cv.value(x, box), abs=1e-12)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, fd_gradient(cv, x, box), rtol=rtol, atol=atol)
    return v, g


def random_cluster(rng, n, spread=0.5, box=None):
    """n particles within ``spread`` nm of a random point, then wrapped by whole box
    vectors (so minimum images are needed to see the cluster)."""
    centre = rng.uniform(0, 2, 3)
    x = centre + rng.uniform(-spread, spread, (n, 3))
    if box is not None:
        b = np.asarray(box) if np.ndim(box) == 2 else np.eye(3) * box
        x += rng.integers(-2, 3, (n, 1)) * b[0] + rng.integers(-2, 3, (n, 1)) * b[2]
    return x


CVS = [Distance(0, 1), DistanceDifference(0, 1, 1, 2), Angle(0, 1, 2), Dihedral(0, 1, 2, 3),
       COMDistance([0, 1], [2, 3], masses=[1.0, 12.0, 16.0, 3.0])]


@pytest.mark.parametrize("box", [None, CUBE, TRICLINIC], ids=["none", "cube", "triclinic"])
@pytest.mark.parametrize("cv", CVS, ids=lambda c: type(c).__name__)
def test_gradient_matches_finite_differences(cv, box):
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = random_cluster(rng, 4, box=box)
        check(cv, x, box)


@pytest.mark.parametrize("cv", CVS, ids=lambda c: type(c).__name__)
def test_value_is_invariant_under_image_shifts(cv):
    rng = np.random.default_rng(2)
    x = random_cluster(rng, 4)
    v0 = cv.value(x, TRICLINIC)
    shifted = x + rng.integers(-3, 4, (4, 3)) @ TRICLINIC
    assert cv.value(shifted, TRICLINIC) == pytest.approx(v0, abs=1e-12)
    v1, g1 = cv.gradient(shifted, TRICLINIC)
    np.testing.assert_allclose(g1, cv.gradient(x, TRICLINIC)[1], atol=1e-12)


def test_distance_across_boundary_and_minimum_image_convention():
    x = np.array([[0.05, 0.1, 0.0], [1.95, 0.1, 0.0]])
    v, g = check(Distance(0, 1), x, CUBE)
    assert v == pytest.approx(0.1)
    np.testing.assert_allclose(g, [[1, 0, 0], [-1, 0, 0]], atol=1e-12)
    # same convention as the numba kernels of the core
    from mdzoom.core.kernels import minimum_image as kernel_mi
    rng = np.random.default_rng(3)
    for d in rng.uniform(-5, 5, (50, 3)):
        np.testing.assert_allclose(minimum_image(d, TRICLINIC),
                                   kernel_mi(d[0], d[1], d[2], TRICLINIC), atol=1e-12)
    # a zero diagonal element: no periodicity along that vector
    assert minimum_image([1.9, 1.9, 0], np.diag([2.0, 0.0, 0.0]))[1] == pytest.approx(1.9)


def test_distance_difference_is_sn2_coordinate():
    # nucleophile 0, carbon 1, leaving group 2 on a line: ξ = r(C–L) − r(Nu–C)
    x = np.array([[0.0, 0, 0], [0.25, 0, 0], [0.43, 0, 0]])
    v, g = check(DistanceDifference(1, 2, 0, 1), x, None)
    assert v == pytest.approx(0.18 - 0.25)
    np.testing.assert_allclose(g.sum(axis=0), 0, atol=1e-12)   # translation invariant


@pytest.mark.parametrize("eps", [1e-2, 1e-3])
def test_angle_nearly_collinear_and_axis_aligned(eps):
    for theta in (eps, np.pi - eps):
        x = np.array([[1.0, 0, 0], [0, 0, 0], [np.cos(theta), np.sin(theta), 0]]) * 0.3
        v, g = Angle(0, 1, 2).gradient(x, None)
        assert v == pytest.approx(theta, rel=1e-10)
        # |∂θ/∂x_k| = 1/|b| exactly, whatever θ
        assert np.linalg.norm(g[2]) == pytest.approx(1 / 0.3, rel=1e-9)
        check(Angle(0, 1, 2), x, None, rtol=1e-5, atol=1e-4)


def test_angle_exactly_collinear_has_zero_gradient():
    x = np.array([[1.0, 0, 0], [0, 0, 0], [-2.0, 0, 0]])
    v, g = Angle(0, 1, 2).gradient(x, None)
    assert v == pytest.approx(np.pi)
    assert np.all(g == 0) and np.all(np.isfinite(g))


def test_dihedral_convention_matches_core_kernel():
    from mdzoom.core.kernels import dihedral as kernel_dihedral
    rng = np.random.default_rng(4)
    for _ in range(20):
        x = random_cluster(rng, 4, box=TRICLINIC)
        assert Dihedral(0, 1, 2, 3).value(x, TRICLINIC) == pytest.approx(
            kernel_dihedral(x, TRICLINIC, 0, 1, 2, 3)[0], abs=1e-12)
    cis = np.array([[0, 1.0, 0], [0, 0, 0], [1.0, 0, 0], [1.0, 1.0, 0]])
    trans = cis.copy()
    trans[3, 1] = -1.0
    assert Dihedral(0, 1, 2, 3).value(cis) == pytest.approx(0.0)
    assert abs(Dihedral(0, 1, 2, 3).value(trans)) == pytest.approx(np.pi)
    assert Dihedral(0, 1, 2, 3).periodic == pytest.approx(2 * np.pi)


@pytest.mark.parametrize("delta", [1e-3, -1e-3, 1e-7])
def test_dihedral_near_pi_wraps_and_gradient_is_continuous(delta):
    phi = np.pi - delta
    x = np.array([[0, 1.0, 0], [0, 0, 0], [1.0, 0, 0], [1.0, np.cos(phi), np.sin(phi)]]) * 0.15
    cv = Dihedral(0, 1, 2, 3)
    v, g = check(cv, x, CUBE)
    expected = periodic_difference(phi, 0.0, 2 * np.pi)
    assert v == pytest.approx(float(expected), abs=1e-9)
    assert -np.pi <= v <= np.pi
    # the gradient on either side of ±π is the same vector field (no sign flip; it
    # changes by O(δ) only, while a flip would change it by 2 × 6.7 rad/nm)
    x2 = x.copy()
    x2[3] = np.array([1.0, np.cos(np.pi + delta), np.sin(np.pi + delta)]) * 0.15
    np.testing.assert_allclose(cv.gradient(x2, CUBE)[1], g, atol=20 * abs(delta))


def test_dihedral_degenerate_has_zero_gradient():
    x = np.array([[0, 0, 0], [1.0, 0, 0], [2.0, 0, 0], [2.0, 1.0, 0]])
    v, g = Dihedral(0, 1, 2, 3).gradient(x, None)
    assert np.all(g == 0)


def test_com_distance_whole_groups_across_boundary_and_equal_weights():
    x = np.array([[0.02, 0, 0], [1.98, 0, 0], [0.6, 0, 0], [0.8, 0, 0]])
    # group a straddles x = 0: its geometric centre is at 0, not 1
    cv = COMDistance([0, 1], [2, 3])
    v, g = check(cv, x, CUBE)
    assert v == pytest.approx(0.7)
    np.testing.assert_allclose(g[:, 0], [-0.5, -0.5, 0.5, 0.5], atol=1e-12)
    with pytest.raises(ValueError, match="masses of all particles"):
        COMDistance([0], [5], masses=[1.0, 2.0])


def test_errors_and_pickling_and_series():
    with pytest.raises(IndexError, match="out of range for 2 particles"):
        Distance(0, 3).gradient(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        Distance(0, 1).value(np.zeros(6))
    for cv in CVS:
        assert pickle.loads(pickle.dumps(cv)) == cv
        assert cv.name and cv.unit in ("nm", "rad")
    traj = np.array([[[0, 0, 0], [0.1 * (t + 1), 0, 0]] for t in range(5)], dtype=float)
    np.testing.assert_allclose(cv_series(Distance(0, 1), traj, CUBE),
                               [0.1, 0.2, 0.3, 0.4, 0.5])
