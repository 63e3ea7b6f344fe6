"""Hydrogen bonds: exact agreement with MDAnalysis on an SPC/E run made by mdzoom, the
same bonds in an equivalent triclinic cell and without periodicity; lifetimes on
synthetic h(t) with known answers."""

from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.analysis import donor_hydrogen_pairs, hbond_lifetimes, hydrogen_bonds
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.io.h5md import read_h5md

DATA = Path(__file__).resolve().parents[2] / "data" / "spce_box"


@pytest.fixture(scope="module")
def spce_run(tmp_path_factory):
    """11 frames, 30 fs apart, of 707 SPC/E waters (NVT, 298 K), written as H5MD."""
    system, state, _ = load_gromacs(DATA / "processed.top", DATA / "conf.gro",
                                    DATA / "run.mdp")
    state.velocities[:] = mz.maxwell_boltzmann(system.masses, 298.0, seed=3)
    path = tmp_path_factory.mktemp("hb") / "spce.h5md"
    sim = mz.Simulation(system, mz.VelocityVerlet(0.002, thermostat=mz.VRescale(298.0, tau=0.1)),
                        state, skin=0.1, seed=4)
    sim.outputs.append(mz.H5MDOutput(path, every=15))
    sim.run(150, progress=False)
    sim.outputs[-1].close()
    return system.topology, path


def _brute_force(x, box, pairs, acc, rc=0.30, angle=150.0):
    """Every (donor, hydrogen, acceptor) by the definition, all pairs at once, minimum
    image by rounding (orthorhombic box) or none."""
    d, h = pairs[:, 0], pairs[:, 1]
    da = x[acc][None, :, :] - x[d][:, None, :]             # (P, A, 3)
    dh = x[h] - x[d]                                        # (P, 3)
    if box is not None:
        edges = np.diag(box)
        da -= edges * np.round(da / edges)
        dh -= edges * np.round(dh / edges)
    ha = da - dh[:, None, :]
    cos = -np.einsum("pk,pak->pa", dh, ha) / (np.linalg.norm(dh, axis=1)[:, None]
                                              * np.linalg.norm(ha, axis=2))
    ok = ((da ** 2).sum(axis=2) <= rc * rc) & (acc[None, :] != d[:, None])
    ok &= np.degrees(np.arccos(np.clip(cos, -1, 1))) > angle
    p, a = np.nonzero(ok)
    return set(zip(d[p].tolist(), h[p].tolist(), acc[a].tolist()))


def test_counts_agree_with_mdanalysis(spce_run):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.analysis.hydrogenbonds import HydrogenBondAnalysis

    top, path = spce_run
    res = hydrogen_bonds(path, top)                        # defaults: 0.30 nm, 150°
    assert res.n_frames == 11 and len(res.pairs) == 1414 and res.acceptors.size == 707
    assert res.criteria["d_a_cutoff"] == 0.30

    u = mda.Universe(str(DATA / "conf.gro"), str(path))
    hba = HydrogenBondAnalysis(u, donors_sel="name OW", hydrogens_sel="name HW1 HW2",
                               acceptors_sel="name OW", d_h_cutoff=1.2, d_a_cutoff=3.0,
                               d_h_a_angle_cutoff=150)
    hba.run()
    ref_counts = hba.count_by_time()
    print("\nH-bonds per frame, mdzoom:", res.counts.tolist(),
          "\n                MDAnalysis:", ref_counts.tolist())
    np.testing.assert_array_equal(res.counts, ref_counts)
    ref = {tuple(r) for r in hba.results.hbonds[:, :4].astype(int)}
    mine = set(zip(res.frame.tolist(), res.donor.tolist(), res.hydrogen.tolist(),
                   res.acceptor.tolist()))
    assert mine == ref
    # water: ≈ 3.5 H-bonds per molecule at 298 K with these criteria (≈ 1.25 per O as donor)
    assert 1.1 < res.counts.mean() / 707 < 1.4
    np.testing.assert_allclose(np.sort(res.distance[res.frame == 0]),
                               np.sort(hba.results.hbonds[hba.results.hbonds[:, 0] == 0, 4]) / 10,
                               atol=1e-5)
    assert res.angle.min() > 150.0 and res.distance.max() <= 0.30


def test_triclinic_cell_and_brute_force(spce_run):
    top, path = spce_run
    traj = read_h5md(path)
    x = np.asarray(traj.positions[0], dtype=np.float64)
    box = np.asarray(traj.boxes[0], dtype=np.float64)
    cubic = hydrogen_bonds((x, None, box), top)
    pairs = donor_hydrogen_pairs(top)
    assert pairs.shape == (1414, 2) and set(pairs[:, 1] - pairs[:, 0]) == {1, 2}
    acc = np.arange(0, x.shape[0], 3)
    ref = _brute_force(x, box, pairs, acc)
    assert set(zip(cubic.donor.tolist(), cubic.hydrogen.tolist(),
                   cubic.acceptor.tolist())) == ref
    # the same periodic system in a skewed cell: b' = b + a, c' = c + a (unimodular)
    tri = box.copy()
    tri[1] += box[0]
    tri[2] += box[0]
    s = x @ np.linalg.inv(tri)
    xw = (s - np.floor(s)) @ tri                           # wrapped into the skewed cell
    skew = hydrogen_bonds((xw, None, tri), top)
    np.testing.assert_array_equal(skew.counts, cubic.counts)
    for key in ("donor", "hydrogen", "acceptor"):
        np.testing.assert_array_equal(skew[key], cubic[key])
    np.testing.assert_allclose(skew.distance, cubic.distance, atol=1e-6)


def test_non_periodic_and_explicit_selection(spce_run):
    top, path = spce_run
    x = np.asarray(read_h5md(path).positions[0], dtype=np.float64)[:150]  # 50 waters
    o = np.arange(0, 150, 3)
    pairs = np.stack([np.repeat(o, 2), np.ravel(np.c_[o + 1, o + 2])], axis=1)
    res = hydrogen_bonds(x, donors=pairs[:, 0], hydrogens=pairs[:, 1], acceptors=o,
                         d_a_cutoff=0.32, d_h_a_angle_cutoff=130.0)
    ref = _brute_force(x, None, pairs, o, rc=0.32, angle=130.0)
    assert res.counts[0] == len(ref) > 0
    assert set(zip(res.donor.tolist(), res.hydrogen.tolist(), res.acceptor.tolist())) == ref
    with pytest.raises(ValueError, match="topology"):
        hydrogen_bonds(x)
    with pytest.raises(ValueError, match="aligned"):
        hydrogen_bonds(x, donors=o, hydrogens=pairs[:, 1], acceptors=o)
    assert mz.get_plugin_manager().registry.get_analysis("hbonds") is hydrogen_bonds


# --------------------------------------------------------------------------- lifetimes


def _as_result(h, dt=1.0):
    """A hydrogen_bonds-like result from an (K bonds, T frames) 0/1 array."""
    k, t = np.nonzero(h)
    order = np.lexsort((k, t))
    k, t = k[order], t[order]
    return dict(times=np.arange(h.shape[1]) * dt, frame=t, donor=k, hydrogen=k + 10 ** 6,
                acceptor=np.zeros_like(k), counts=h.sum(axis=0))


def _definitions(h, max_lag):
    """C_c and C_i straight from their definitions (same time origins)."""
    n_t = h.shape[1]
    cc, ci = [], []
    for lag in range(max_lag + 1):
        den = h[:, :n_t - lag].sum()
        alive = np.ones_like(h[:, :n_t - lag], dtype=bool)
        for s in range(lag + 1):
            alive &= h[:, s:n_t - lag + s].astype(bool)
        cc.append(alive.sum() / den)
        ci.append((h[:, :n_t - lag] * h[:, lag:]).sum() / den)
    return np.array(cc), np.array(ci)


def test_lifetimes_match_definitions_on_small_series():
    h = np.array([[1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1],
                  [0, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0],
                  [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]])
    cc, ci = _definitions(h, 6)
    res_c = hbond_lifetimes(_as_result(h, 0.5), tau_max=3.0)
    res_i = hbond_lifetimes(_as_result(h, 0.5), tau_max=3.0, intermittent=True)
    np.testing.assert_allclose(res_c.C, cc, rtol=1e-14)
    np.testing.assert_allclose(res_i.C, ci, rtol=1e-14)
    assert res_c.C[0] == 1.0 and res_c.n_bonds == 3 and res_c.kind == "continuous"
    np.testing.assert_allclose(res_c.times, 0.5 * np.arange(7))
    assert res_i.tau_integral == pytest.approx(np.trapezoid(ci, res_i.times))


def test_markov_on_off_lifetimes():
    """Two-state chain per frame: on→off with 1 − e^(−k_off Δt), off→on with
    1 − e^(−k_on Δt). Then C_c(t) = e^(−k_off t) (lifetime 1/k_off) and
    C_i(t) = p + (1 − p) λ^n with p = b/(a + b), λ = 1 − a − b."""
    k_off, k_on, dt = 0.05, 0.025, 1.0                   # 1/ps, ps
    a, b = 1 - np.exp(-k_off * dt), 1 - np.exp(-k_on * dt)
    rng = np.random.default_rng(7)
    n_bonds, n_t = 300, 4000
    p_on = b / (a + b)
    h = np.empty((n_bonds, n_t), dtype=np.int8)
    h[:, 0] = rng.random(n_bonds) < p_on
    u = rng.random((n_bonds, n_t))
    for t in range(1, n_t):
        prev = h[:, t - 1] == 1
        h[:, t] = np.where(prev, u[:, t] >= a, u[:, t] < b)
    res = _as_result(h, dt)
    cont = hbond_lifetimes(res, tau_max=100.0)
    assert cont.tau_fit == pytest.approx(1 / k_off, rel=0.03)
    assert cont.tau == pytest.approx(1 / k_off, rel=0.03)
    lags = cont.times
    np.testing.assert_allclose(cont.C[:40], np.exp(-k_off * lags[:40]), atol=0.01)
    inter = hbond_lifetimes(res, tau_max=100.0, intermittent=True)
    expected = p_on + (1 - p_on) * (1 - a - b) ** np.arange(lags.size)
    np.testing.assert_allclose(inter.C, expected, atol=0.015)
    assert inter.kind == "intermittent" and "trapezoid" in inter.note
    with pytest.raises(ValueError, match="triplet, pair"):
        hbond_lifetimes(res, by="other")
