"""Steinhardt q6 and ten Wolde–Frenkel solid-like particles: spherical harmonics against
scipy, perfect lattices (cubic and triclinic cells) 100 % solid, a random gas ~0 %, a
half-crystal box; the growth onset and rate on a synthetic N_s(t)."""

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.analysis import (growth_onset, solid_particles, spherical_harmonics,
                                  steinhardt_q)

BASES = {"fcc": [[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]],
         "bcc": [[0, 0, 0], [.5, .5, .5]], "sc": [[0, 0, 0]]}


def lattice(kind, n, a=0.5):
    """n³ cubic unit cells of lattice constant a [nm]: positions and the (3, 3) box."""
    g = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    x = (g[:, None, :] + np.array(BASES[kind])[None]).reshape(-1, 3) * a
    return x, np.eye(3) * n * a


def test_spherical_harmonics():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(200, 3))
    v[0] = [0, 0, 1]                                     # both poles
    v[1] = [0, 0, -2]
    for l in (4, 6, 8):
        y = spherical_harmonics(v, l)
        # addition theorem: Σ_m |Y_lm|² = (2l + 1)/(4π) in every direction
        np.testing.assert_allclose((np.abs(y) ** 2).sum(axis=1), (2 * l + 1) / (4 * np.pi),
                                   rtol=1e-12)
    special = pytest.importorskip("scipy.special")
    if not hasattr(special, "sph_harm_y"):
        pytest.skip("scipy < 1.15 has no sph_harm_y")
    r = np.linalg.norm(v, axis=1)
    theta, phi = np.arccos(v[:, 2] / r), np.arctan2(v[:, 1], v[:, 0])
    ref = np.stack([special.sph_harm_y(6, m, theta, phi) for m in range(-6, 7)], axis=1)
    np.testing.assert_allclose(spherical_harmonics(v, 6), ref, atol=1e-13)


@pytest.mark.parametrize("kind, r_cut, q6, n_nb", [("fcc", 0.43, 0.57452, 12),
                                                    ("bcc", 0.60, 0.51069, 14)])
def test_perfect_lattices_are_solid(kind, r_cut, q6, n_nb):
    x, box = lattice(kind, 5)
    res = solid_particles((x, None, box), r_cut, per_particle=True)
    assert res.n_solid[0] == res.n == x.shape[0] == res.largest_cluster[0]
    assert res.fraction[0] == 1.0 and res.in_largest.all()
    np.testing.assert_allclose(res.q[0], q6, atol=5e-5)
    assert np.all(res.n_neighbours == n_nb) and np.all(res.n_connections == n_nb)
    # slightly thermal: σ = 4 % of a per axis still leaves nearly all solid-like
    xt = x + np.random.default_rng(1).normal(0, 0.02, x.shape)
    assert solid_particles((xt, None, box), r_cut).fraction[0] > 0.95
    # simple cubic has only 6 neighbours: never 7 connections
    xs, bs = lattice("sc", 5)
    assert solid_particles((xs, None, bs), 0.6).n_solid[0] == 0


def test_fcc_in_a_triclinic_primitive_cell():
    """fcc as the rhombohedral primitive cell (a/2)(0,1,1),(1,0,1),(1,1,0) × 6³."""
    a, n = 0.5, 6
    prim = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    g = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    x = g @ prim
    box = n * prim
    res = steinhardt_q((x, None, box), 0.43)
    np.testing.assert_allclose(res.q[0], 0.57452, atol=5e-5)
    assert np.all(res.n_neighbours == 12)
    assert solid_particles((x, None, box), 0.43).n_solid[0] == n ** 3


def test_q6_against_brute_force_in_a_skewed_box():
    rng = np.random.default_rng(3)
    box = np.array([[2.0, 0, 0], [0.7, 1.9, 0], [-0.5, 0.6, 2.1]])
    x = rng.random((300, 3)) @ box
    rc = 0.45
    res = steinhardt_q((x, None, box), rc)
    inv = np.linalg.inv(box)
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1)
                       for k in (-1, 0, 1)]) @ box
    for i in range(0, 300, 37):
        d = x[None, :, :] - x[i] + shifts[:, None, :]      # every image of every particle
        s = d @ inv
        d = (s - np.round(s)) @ box                         # then the nearest one
        v = np.unique(np.round(d.reshape(-1, 3), 12), axis=0)
        r = np.linalg.norm(v, axis=1)
        v = v[(r > 0) & (r < rc)]
        qlm = spherical_harmonics(v, 6).mean(axis=0)
        q6 = np.sqrt(4 * np.pi / 13 * (np.abs(qlm) ** 2).sum())
        assert res.n_neighbours[0, i] == len(v)
        assert res.q[0, i] == pytest.approx(q6, abs=1e-12)


def test_random_gas_and_half_crystal():
    rng = np.random.default_rng(2)
    x, box = lattice("fcc", 6)
    edge = box[0, 0]
    gas = rng.random(x.shape) * edge                     # same density, random
    res = solid_particles((np.array([x, gas]), np.array([0.0, 1.0]), box), 0.43)
    assert res.n_solid[0] == x.shape[0]
    assert res.fraction[1] < 0.01 and res.largest_cluster[1] < 5
    # one half of the box crystal, the other half random: N_s ≈ half minus interfaces
    half = x.copy()
    melt = half[:, 0] >= edge / 2
    half[melt, 0] = edge / 2 + rng.random(melt.sum()) * edge / 2
    half[melt, 1:] = rng.random((melt.sum(), 2)) * edge
    res = solid_particles((half, None, box), 0.43)
    assert 0.6 * (~melt).sum() < res.n_solid[0] <= (~melt).sum() + 10
    assert res.largest_cluster[0] >= 0.95 * res.n_solid[0]
    # only a subset: the crystal half alone, a slab with free (100) surfaces whose atoms
    # keep 8 neighbours, all connected: all solid-like
    sub = solid_particles((half, None, box), 0.43, particles=np.flatnonzero(~melt))
    assert sub.n == sub.n_solid[0] == (~melt).sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_growth_onset_and_rate(seed):
    rng = np.random.default_rng(seed)
    t = np.arange(600) * 0.5                             # ps
    t_on, rate, sigma = 100.0, 0.4, 3.0                  # ps, 1/ps, particles
    n_s = 20 + rng.normal(0, sigma, t.size) + rate * np.maximum(t - t_on, 0)
    res = growth_onset(t, n_s)
    assert abs(res.onset_time - t_on) <= 3 * 0.5         # within 3 frames
    assert abs(res.rate - rate) < 3 * res.rate_err and res.rate_err < 0.01
    assert res.fit_window == (res.onset_time, t[-1]) and res.growing
    assert res.baseline_mean == pytest.approx(20, abs=1.0)
    # the threshold rule is later (by ≈ kσ/rate) and still fits the rate after its onset
    thr = growth_onset(t, n_s, method="threshold", baseline_window=(0, 50))
    assert t_on < thr.onset_time < t_on + 60
    assert abs(thr.rate - rate) < 3 * thr.rate_err
    # a saturating box: the fit stops at fit_end
    sat = np.minimum(n_s, 60.0)
    cut = growth_onset(t, sat, fit_end=180.0)
    assert cut.fit_window[1] <= 180.0 and abs(cut.rate - rate) < 4 * cut.rate_err


def test_no_growth_and_registration():
    n_s = 20 + np.random.default_rng(5).normal(0, 3, 400)
    res = growth_onset(np.arange(400.0), n_s)
    assert not res.growing
    with pytest.raises(ValueError, match="hinge, threshold"):
        growth_onset(np.arange(400.0), n_s, method="other")
    reg = mz.get_plugin_manager().registry
    assert reg.get_analysis("nucleation") is solid_particles
    assert reg.get_analysis("q6") is steinhardt_q
    assert reg.get_analysis("growth-onset") is growth_onset


@pytest.mark.slow
def test_supercooled_lj_liquid_crystallises():
    """864 LJ atoms (σ = 1 nm, ε = 1 kJ/mol, m = 1 amu: τ = 1 ps) at ρ* = 1.0, melted
    at T* = 2.5, then quenched to T* = 0.55 (deep supercooling) for 150 ps: N_s starts
    at ~0, ends ≥ 85 % solid-like in one cluster; the growth fit is positive (≈ 10 /ps,
    measured) after an onset before the 80 %-of-final time. ~30 s."""
    kb = mz.KB
    pos, edge = mz.fcc_lattice(6, density=1.0)
    top = mz.Topology.atomic_fluid(len(pos), "LJ", mass=1.0)
    system = mz.System(top, box=edge, forces=[mz.LennardJones(
        sigma=1.0, epsilon=1.0, cutoff=2.5, modifier="potential-shift")])
    state = mz.State(pos, mz.maxwell_boltzmann(top.masses, 2.5 / kb, seed=1), box=system.box)
    melt = mz.Simulation(system, mz.LangevinBAOAB(0.005, temperature=2.5 / kb, friction=1.0),
                         state, skin=0.3, seed=1)
    melt.run(2000, progress=False)
    frames = []

    class Frames(mz.Output):
        def report(self, sim):
            frames.append(sim.state.positions.copy())

    quench = mz.Simulation(system, mz.LangevinBAOAB(0.005, temperature=0.55 / kb,
                                                    friction=1.0),
                           melt.state, skin=0.3, seed=2)
    quench.outputs.append(Frames(200))
    quench.run(30000, progress=False)
    res = solid_particles((np.array(frames), np.arange(len(frames)) * 1.0,
                           np.asarray(system.box)), 1.40)
    print("\nN_s(t):", res.n_solid.tolist())
    assert res.fraction[:10].max() < 0.02
    assert res.fraction[-10:].mean() > 0.85
    assert res.largest_cluster[-1] > 0.95 * res.n_solid[-1]
    final = res.n_solid[-20:].mean()
    t80 = res.times[np.argmax(res.n_solid >= 0.8 * final)]
    g = growth_onset(res.times, res.n_solid, fit_end=t80)
    print(g.note, g.rate, g.rate_err)
    assert g.growing and g.onset_time < t80 and g.rate > 1.0
