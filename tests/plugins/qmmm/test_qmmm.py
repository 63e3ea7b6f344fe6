"""QM/MM coupling: set-up of the MM side, forces against finite differences (QM atoms, MM
atoms, link atoms, MM charges inside the switching shell), and NVE energy conservation.

Systems are GROMACS inputs read by the core (tests/data/gromacs): the TIP3P box with one
water made QM, and the solvated pentapeptide with the CH3 side chain of Ala 2 made QM
(link atom on the CB–CA bond). The MM force field comes through the registry; this
plugin never imports the all-atom plugin.
"""

from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.state import State
from mdzoom.plugins.qmmm.qmmm import QMMMForce, make_qmmm_system, switch

DATA = Path(__file__).resolve().parents[2] / "data" / "gromacs"


def load(name):
    d = DATA / name
    return load_gromacs(d / "processed.top", d / "conf.gro", d / "run.mdp")[:2]


def fd_check(system, state, atoms, h=1e-5):
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    f = ev.forces.copy()
    worst = 0.0
    for i in atoms:
        for k in range(3):
            e = []
            for sgn in (1, -1):
                x = state.positions.copy()
                x[i, k] += sgn * h
                ev.compute(State(x, box=state.box))
                e.append(ev.energy)
            fd = -(e[0] - e[1]) / (2 * h)
            worst = max(worst, abs(fd - f[i, k]) / max(1.0, abs(f[i, k])))
    return worst


def test_switch_is_smooth():
    d = np.linspace(0.6, 1.3, 2001)
    s, ds = switch(d, 0.8, 1.2)
    assert s[0] == 1.0 and s[-1] == 0.0
    assert np.allclose(np.gradient(s, d), ds, atol=2e-3)
    assert np.all(np.diff(s) <= 1e-15)


def test_mm_side_is_set_up():
    system, _ = load("aapaa_tip3p_hbonds")
    qm = [16, 17, 18, 19]                     # Ala 2: CB, HB1-3
    qs = make_qmmm_system(system, qm, link_charge="shift")
    top = qs.topology
    assert np.all(top.charges[qm] == 0.0)
    assert top.charges[14] == 0.0            # M1 = CA
    # 'shift' moves CA's charge onto N, HA and C and keeps the total
    q0 = system.topology.charges
    assert top.charges.sum() == pytest.approx(q0.sum() - q0[qm].sum(), abs=1e-12)
    assert top.charges[[12, 15, 20]] == pytest.approx(q0[[12, 15, 20]] + q0[14] / 3)
    start, index = top.exclusions
    for a in qm:
        assert set(qm) - {a} <= set(index[start[a]:start[a + 1]].tolist())
    # bonded terms entirely inside the QM region are gone, the rest kept
    for f0, f1 in zip(system.forces, qs.forces):
        if hasattr(f0, "atoms") and np.size(f0.atoms):
            a0, a1 = np.asarray(f0.atoms), np.asarray(f1.atoms)
            inside = np.all(np.isin(a0.reshape(len(a0), -1), qm), axis=1)
            assert len(a1) == len(a0) - inside.sum()
            assert not np.any(np.all(np.isin(a1.reshape(len(a1), -1), qm), axis=1))
    qmmm = qs.forces[-1]
    assert isinstance(qmmm, QMMMForce)
    q1, m1, g = qmmm.links[0]
    assert (q1, m1) == (16, 14) and g == pytest.approx(0.109 / 0.153)
    # the other copies of a molecule type are untouched
    assert dict(top.molecules)["SOL"] == dict(system.topology.molecules)["SOL"]


def test_qm_water_forces_match_finite_differences():
    system, state = load("tip3p_box")
    qs = make_qmmm_system(system, [0, 1, 2], cutoff=0.9, switch_width=0.3)
    ev = ForceEvaluator(qs, skin=0.0)
    ev.compute(state)
    assert "QM/MM" in ev.terms
    # MM atoms in the switching shell 0.6–0.9 nm from the QM centre, and inside it
    c = state.positions[:3].mean(axis=0)
    d = state.positions - c
    d -= np.rint(d / np.diag(state.box)) * np.diag(state.box)
    r = np.linalg.norm(d, axis=1)
    shell = np.flatnonzero((r > 0.65) & (r < 0.85))[:3]
    inner = np.flatnonzero((r > 0.3) & (r < 0.5))[:2]
    assert len(shell) == 3 and len(inner) == 2
    assert fd_check(qs, state, [0, 1, 2, *inner, *shell]) < 2e-4


def test_link_atom_forces_match_finite_differences():
    system, state = load("aapaa_tip3p_hbonds")
    qs = make_qmmm_system(system, [16, 17, 18, 19], cutoff=1.0, switch_width=0.2)
    # QM atoms, M1 (CA 14), the M2 atoms (N 12, HA 15, C 20), a water oxygen nearby
    assert fd_check(qs, state, [16, 17, 14, 12, 15, 20, 60]) < 2e-4


def _nve(system, state, steps=200, dt=0.001):
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=dt), state, seed=3, skin=0.1)
    sim.state.velocities[:] = mz.maxwell_boltzmann(system.masses, 300.0, seed=5)
    sim.run(20, progress=False)       # the first step removes the velocity components the
    rec = mz.EnergyRecorder(every=5)  # SETTLE constraints forbid (a jump in E_kin)
    sim.outputs.append(rec)
    sim.run(steps, progress=False)
    r = rec.results
    t = r["time"] - r["time"][0]
    e = r["Total Energy"]
    return np.polyfit(t, e, 1)[0] * 1000.0, float(np.std(e)), r     # kJ/mol/ns, kJ/mol


def test_qm_water_nve_conserves_energy_as_well_as_mm():
    """A QM water among 577 MM TIP3P (PME, SETTLE), NVE at 1 fs for 0.2 ps, against the
    all-MM box from the same start: the QM/MM coupling (embedding with its switch, QM
    forces) must not make energy conservation worse. Measured: slope 6.9e3 vs 6.2e3
    kJ/mol/ns (the short window sees the box's own transient), σ(E) 0.88 vs 0.89 kJ/mol."""
    system, state = load("tip3p_box")
    slope_mm, sd_mm, _ = _nve(system, state)
    system, state = load("tip3p_box")
    qs = make_qmmm_system(system, [0, 1, 2], cutoff=0.9, switch_width=0.2)
    slope, sd, r = _nve(qs, state)
    print(f"NVE 1 fs, 0.2 ps: QM/MM slope {slope:+.0f} kJ/mol/ns, σ {sd:.3f} kJ/mol; "
          f"all-MM slope {slope_mm:+.0f}, σ {sd_mm:.3f}; QM/MM term "
          f"{np.mean(r['QM/MM']):.1f} kJ/mol")
    assert np.isfinite(r["Total Energy"]).all()
    assert sd < 1.2 * sd_mm + 0.1
    assert abs(slope) < 1.5 * abs(slope_mm) + 1000.0


def test_bad_set_ups_are_refused():
    system, _ = load("tip3p_box")
    with pytest.raises(ValueError, match="empty"):
        make_qmmm_system(system, [])
    with pytest.raises(ValueError, match="adjacent"):
        make_qmmm_system(system, [0, 1, 2, 9, 10, 11])   # waters 0 and 3
    with pytest.raises(ValueError, match="link_charge"):
        make_qmmm_system(system, [0, 1, 2], link_charge="spread")
    with pytest.raises(ValueError, match="half the shortest box"):
        make_qmmm_system(system, [0, 1, 2], cutoff=1.4)      # box 2.6 nm


def _qmmm_toml(tmp_path, steps=20):
    d = DATA / "tip3p_box"
    cfg = tmp_path / "qmmm.toml"
    cfg.write_text(f'''
[system]
topology = "{d / 'processed.top'}"
structure = "{d / 'conf.gro'}"
mdp = "{d / 'run.mdp'}"

[[transforms]]
type = "qmmm"
qm_atoms = "index 0-2"
cutoff = 0.9

[velocities]
temperature = 300.0
seed = 1

[integrator]
type = "langevin"
dt = 0.001
temperature = 300.0
friction = 5.0

[run]
steps = {steps}
seed = 3

[output]
dir = "out"
trajectory_every = 5
energy_every = 5
plot = false
''')
    return cfg


def test_qmmm_from_a_run_configuration(tmp_path):
    """GROMACS inputs in [system] + [[transforms]] type = "qmmm": mdzoom run's path."""
    from mdzoom.core.config import build_system, load_config, run_config

    cfg = load_config(_qmmm_toml(tmp_path))
    built = build_system(cfg)
    assert isinstance(built.system.forces[-1], QMMMForce)
    assert list(built.system.forces[-1].qm_atoms) == [0, 1, 2]
    summary = run_config(cfg, progress=False)
    log = (tmp_path / "out" / "energy.log").read_text()
    assert "QM/MM" in log
    assert summary["steps"] == 20 and summary["n_particles"] == 1734


def test_qmmm_umbrella_windows_through_the_ensemble(tmp_path):
    """Two umbrella windows on the O(QM)–O(MM) distance, QM/MM from the TOML, run as
    ensemble members by run_umbrella; each window's ξ stays near its centre."""
    from mdzoom.plugins.qmmm.cv import Distance
    from mdzoom.plugins.qmmm.umbrella import run_umbrella, umbrella_windows

    system, state = load("tip3p_box")
    box = np.diag(state.box)
    d = state.positions[3::3] - state.positions[0]
    r = np.linalg.norm(d - np.rint(d / box) * box, axis=1)
    partner, r0 = 3 + 3 * int(np.argmin(r)), float(r.min())     # nearest MM oxygen
    centres = [r0 - 0.01, r0 + 0.02]
    cfg = _qmmm_toml(tmp_path, steps=40)
    windows = umbrella_windows(centres, 5000.0, Distance(0, partner), cfg, record_every=5)
    res = run_umbrella(windows, tmp_path / "us", workers=2, base_seed=5)
    for xi, c in zip(res["samples"], centres):
        assert len(xi) >= 8 and abs(np.mean(xi) - c) < 0.05, (c, xi)
