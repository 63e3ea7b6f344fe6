"""The template third-party plugin (examples/plugin-template) works through the public API.

The plugin is registered exactly as ``pip install`` would register it: a distribution's
``*.dist-info`` with the entry points its ``pyproject.toml`` declares, found on
``sys.path`` by ``importlib.metadata`` and loaded by the plugin manager's entry-point scan.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import testing
from mdzoom.core.io import read_h5md
from mdz_testsystems import lj_fluid, random_gas

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "plugin-template"

# Morse parameters used throughout: k = 2 D_e a² = 20 000 kJ mol⁻¹ nm⁻²
D_E, A, R0 = 100.0, 10.0, 0.2          # kJ/mol, 1/nm, nm
M1, M2 = 12.0, 16.0                    # amu


# --------------------------------------------------------------------------- installing


def _install_fake_distribution(site, name, version, entry_points):
    """Write ``<name>-<version>.dist-info`` as pip would: METADATA + entry_points.txt."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{k} = {v}" for k, v in eps.items())
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))
    return info


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site directory holding the template's dist-info, on sys.path with the package."""
    project = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["project"]
    site = tmp_path / "site"
    _install_fake_distribution(site, project["name"], project["version"],
                               project["entry-points"])
    monkeypatch.syspath_prepend(str(TEMPLATE))
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.fixture
def pm(site):
    return mz.PluginManager(entry_points=True)


@pytest.fixture
def registry(pm):
    return pm.registry


def test_pyproject_declares_the_entry_point():
    project = tomllib.loads((TEMPLATE / "pyproject.toml").read_text())["project"]
    assert project["name"] == "mdzoom-example-plugin"
    assert "mdzoom" in project["dependencies"]
    assert project["entry-points"]["mdzoom"] == {"example": "mdzoom_example_plugin.plugin"}


def test_entry_point_registers_forces_and_analysis(pm):
    reg = pm.registry
    mine = reg.by_plugin()["example"]
    assert sorted(mine["force"]) == ["flat-bottom-restraint", "morse-bond",
                                     "plugin-lennard-jones"]
    assert mine["analysis"] == ["bond-length-distribution"]
    owners = {e.name: e.plugin for e in reg.entries("force")}
    assert owners["morse-bond"] == "example"
    assert owners["lennard-jones"] == "mdzoom.core.builtin_plugin"   # built-ins still there
    import mdzoom_example_plugin as ex

    assert reg.get_force("morse-bond") is ex.MorseBond
    assert reg.get_analysis("bond-length-distribution") is ex.bond_length_distribution
    info = {p["name"]: p for p in pm.plugin_info()}
    assert "0.1.0" in info["example"]["version"]
    assert "mdzoom-example-plugin" in info["example"]["version"]
    assert info["example"]["hooks"] == ["mdzoom_analyses", "mdzoom_forces"]
    assert info["example"]["registered"] == mine


def test_duplicate_name_from_a_second_plugin_names_both(site):
    (site / "copycat_mdzoom_plugin.py").write_text(textwrap.dedent("""
        from mdzoom.core import hookimpl

        @hookimpl
        def mdzoom_forces(registry):
            registry.add_force("morse-bond", object)
        """))
    _install_fake_distribution(site, "copycat", "1.0",
                               {"mdzoom": {"copycat": "copycat_mdzoom_plugin"}})
    pm = mz.PluginManager(entry_points=True)
    with pytest.raises(ValueError, match="morse-bond") as err:
        pm.registry
    assert "example" in str(err.value) and "copycat" in str(err.value)


# --------------------------------------------------------------------------- systems


def _diatomics(n_molecules, *, params_on_edges=True):
    g = nx.Graph()
    g.add_node(0, name="C", type="C", mass=M1)
    g.add_node(1, name="O", type="O", mass=M2)
    if params_on_edges:
        g.add_edge(0, 1, D_e=D_E, a=A, r0=R0)
    else:
        g.add_edge(0, 1)
    top = mz.Topology([mz.MoleculeType("CO", g, nrexcl=1)], [("CO", n_molecules)])
    return top


def _diatomic_positions(centres, r, rng):
    u = rng.normal(size=(len(centres), 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    r = np.broadcast_to(r, (len(centres),))[:, None]
    x = np.empty((2 * len(centres), 3))
    x[0::2] = centres - 0.5 * r * u
    x[1::2] = centres + 0.5 * r * u
    return x


def _morse(r):
    return D_E * (1.0 - np.exp(-A * (r - R0))) ** 2


def _morse_force(r):  # −dV/dr
    e = np.exp(-A * (r - R0))
    return -2.0 * D_E * A * e * (1.0 - e)


def _grid_centres(n_side, box):
    g = (np.arange(n_side) + 0.5) * box / n_side
    return np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)


# --------------------------------------------------------------------------- Morse bond


@pytest.mark.parametrize("r", [0.15, 0.19, 0.2, 0.23, 0.3, 0.6])
def test_simulation_picks_up_morse_energy(registry, r):
    Morse = registry.get_force("morse-bond")
    top = _diatomics(1)
    system = mz.System(top, 3.0, [Morse()])           # parameters from the bond's edge
    # the molecule straddles the periodic boundary: the kernel must take the minimum image
    x = np.array([[0.05, 1.0, 1.0], [0.05 - r * 0.6, 1.0 + r * 0.8, 1.0]])
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=0.001), mz.State(x, box=system.box),
                        seed=0)
    terms = sim.energy_terms()
    assert terms["Morse"] == pytest.approx(_morse(r), rel=1e-12, abs=1e-12)
    assert terms["Potential"] == terms["Morse"]
    f = sim.forces
    d = np.array([-0.6, 0.8, 0.0])                      # unit vector 0 → 1
    np.testing.assert_allclose(f[1], _morse_force(r) * d, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(f[0], -f[1], rtol=0, atol=1e-12)


def test_morse_explicit_pairs_and_per_bond_parameters(registry):
    Morse = registry.get_force("morse-bond")
    top = _diatomics(2, params_on_edges=False)
    rng = np.random.default_rng(3)
    x = _diatomic_positions(np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]), [0.21, 0.25], rng)
    force = Morse(pairs=np.array([[0, 1], [2, 3]]), D_e=np.array([D_E, 2 * D_E]), a=A, r0=R0)
    e, _, terms = testing.evaluate(mz.System(top, 3.0, [force]), mz.State(x, box=3.0))
    assert e == pytest.approx(_morse(0.21) + 2 * _morse(0.25), rel=1e-12)
    with pytest.raises(ValueError, match="D_e"):
        testing.evaluate(mz.System(top, 3.0, [Morse(pairs=[[0, 1]], a=A, r0=R0)]),
                         mz.State(x, box=3.0))
    with pytest.raises(KeyError, match="D_e"):             # no parameters on the edges either
        testing.evaluate(mz.System(top, 3.0, [Morse()]), mz.State(x, box=3.0))


def test_morse_conformance_checks(registry):
    Morse = registry.get_force("morse-bond")
    rng = np.random.default_rng(7)
    box = np.array([[3.0, 0, 0], [0.7, 2.9, 0], [-0.4, 0.5, 3.1]])     # triclinic
    top = _diatomics(8)
    x = _diatomic_positions(_grid_centres(2, 3.0), rng.uniform(0.16, 0.3, 8), rng)
    state = mz.State(x, box=box)
    for force in (Morse(), Morse(pairs=top.bonds, D_e=D_E, a=np.full(8, A), r0=R0)):
        system = mz.System(top, box, [force])
        testing.check_finite_difference(system, state, particles=range(16))
        testing.check_translation_invariance(system, state)
        testing.check_pickling(force, system, state)


def test_nve_diatomics_with_plugin_lj_conserve_energy(registry):
    Morse = registry.get_force("morse-bond")
    LJ = registry.get_force("plugin-lennard-jones")
    rng = np.random.default_rng(11)
    top = _diatomics(8)
    system = mz.System(top, 3.0, [Morse(), LJ(sigma=0.3, epsilon=0.5, cutoff=0.9)])
    x = _diatomic_positions(_grid_centres(2, 3.0), R0, rng)
    v = mz.maxwell_boltzmann(top.masses, 300.0, seed=2)
    drift, fluct = testing.check_nve_drift(system, mz.State(x, v, box=system.box),
                                           dt=0.0005, n_steps=2000, max_drift=1e-4, every=10)
    assert fluct < 1e-3           # kJ/mol per particle: total energy stays put


class _BondLength(mz.Output):
    def __init__(self):
        super().__init__(every=1)
        self.t, self.r = [], []

    def report(self, sim):
        x = sim.state.positions
        self.t.append(sim.state.time)
        self.r.append(np.linalg.norm(x[1] - x[0]))


def test_vibrational_period_of_a_diatomic(registry):
    Morse = registry.get_force("morse-bond")
    top = _diatomics(1)
    system = mz.System(top, 3.0, [Morse()])
    mu = M1 * M2 / (M1 + M2)
    omega = A * np.sqrt(2.0 * D_E / mu)                   # rad/ps
    period = 2.0 * np.pi / omega
    dt = period / 200
    x = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0 + R0 + 0.002]])   # small stretch, at rest
    rec = _BondLength()
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=dt), mz.State(x, box=system.box),
                        outputs=[rec], seed=0)
    sim.run(int(10.5 * 200), progress=False)
    t, r = np.array(rec.t), np.array(rec.r)
    y = r - 0.5 * (r.max() + r.min())
    up = np.nonzero((y[:-1] < 0) & (y[1:] >= 0))[0]
    crossings = t[up] - y[up] * (t[up + 1] - t[up]) / (y[up + 1] - y[up])
    assert len(crossings) >= 9
    measured = (crossings[-1] - crossings[0]) / (len(crossings) - 1)
    assert measured == pytest.approx(period, rel=0.01)
    assert r.min() == pytest.approx(R0 - 0.002, abs=2e-4)    # it oscillates about r0


# --------------------------------------------------------------------------- flat bottom


def test_flat_bottom_restraint(registry):
    Restraint = registry.get_force("flat-bottom-restraint")
    top = mz.Topology.atomic_fluid(4)
    ref = np.array([1.5, 1.5, 1.5])
    k, r_fb = 500.0, 0.3
    d = np.array([0.1, 0.29, 0.45, 0.8])                   # distances from ref
    u = np.array([[1, 0, 0], [0, 1, 0], [0.6, 0, 0.8], [0, -0.8, 0.6]])
    x = ref + d[:, None] * u
    force = Restraint(particles=[0, 1, 2, 3], reference=ref, r_fb=r_fb, k=k)
    system = mz.System(top, 3.0, [force])
    state = mz.State(x, box=system.box)
    e, f, terms = testing.evaluate(system, state)
    excess = np.maximum(d - r_fb, 0.0)
    assert terms["Restraint"] == pytest.approx(np.sum(0.5 * k * excess ** 2), rel=1e-12)
    np.testing.assert_allclose(f, -k * excess[:, None] * u, rtol=1e-12, atol=1e-12)
    # inside the flat bottom: nothing at all
    inside = mz.System(top, 3.0, [Restraint(particles=[0, 1], reference=ref, r_fb=r_fb, k=k)])
    e_in, f_in, _ = testing.evaluate(inside, state)
    assert e_in == 0.0 and not f_in.any()
    testing.check_finite_difference(system, state, particles=range(4))
    testing.check_pickling(force, system, state)
    # one reference point per particle
    per = Restraint(particles=[2, 3], reference=np.array([ref, ref]), r_fb=[r_fb, 0.0], k=k)
    e_per, _, _ = testing.evaluate(mz.System(top, 3.0, [per]), state)
    assert e_per == pytest.approx(0.5 * k * (excess[2] ** 2 + d[3] ** 2), rel=1e-12)


# --------------------------------------------------------------------------- plugin LJ


def test_plugin_lj_equals_builtin_lj(registry):
    LJ = registry.get_force("plugin-lennard-jones")
    builtin, state = lj_fluid()
    rng = np.random.default_rng(0)
    state.positions += rng.uniform(-0.05, 0.05, state.positions.shape)   # off the lattice
    plugin = mz.System(builtin.topology, builtin.box, [LJ(sigma=1.0, epsilon=1.0, cutoff=2.5)])
    e_ref, f_ref, t_ref = testing.evaluate(builtin, state)
    e, f, t = testing.evaluate(plugin, state)
    assert set(t) == set(t_ref) == {"LJ (SR)", "Potential"}
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12, atol=1e-12 * np.abs(f_ref).max())
    testing.check_finite_difference(plugin, state)


def test_plugin_lj_equals_builtin_in_triclinic_box_with_two_types(registry):
    LJ = registry.get_force("plugin-lennard-jones")
    top, x = random_gas(n=80, box=3.0, seed=4, charges=False)
    box = np.array([[3.0, 0, 0], [0.8, 3.0, 0], [0.5, -0.6, 3.0]])
    state = mz.State(x, box=box)
    kw = dict(sigma=0.25, epsilon=0.8, cutoff=1.0)
    e_ref, f_ref, _ = testing.evaluate(mz.System(top, box, [mz.LennardJones(**kw)]), state)
    e, f, _ = testing.evaluate(mz.System(top, box, [LJ(**kw)]), state)
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12, atol=1e-12 * np.abs(f_ref).max())


def test_plugin_lj_rejects_bad_parameters(registry):
    with pytest.raises(ValueError, match="sigma"):
        registry.get_force("plugin-lennard-jones")(sigma=-1.0)


# --------------------------------------------------------------------------- analysis


def _boltzmann_mean_bond_length(temperature):
    """⟨r⟩ of a free Morse diatomic: ∫ r³ e^{−βV} dr / ∫ r² e^{−βV} dr."""
    r = np.linspace(R0 - 0.1, R0 + 0.2, 20001)
    w = r ** 2 * np.exp(-_morse(r) / (mz.KB * temperature))
    return np.sum(r * w) / np.sum(w)


def test_bond_length_distribution_of_a_thermal_run(registry, tmp_path):
    Morse = registry.get_force("morse-bond")
    analyse = registry.get_analysis("bond-length-distribution")
    rng = np.random.default_rng(5)
    top = _diatomics(27)
    system = mz.System(top, 3.0, [Morse()])
    x = _diatomic_positions(_grid_centres(3, 3.0), R0, rng)
    v = mz.maxwell_boltzmann(top.masses, 300.0, seed=6)
    path = tmp_path / "traj.h5"
    sim = mz.Simulation(system, mz.LangevinBAOAB(dt=0.001, temperature=300.0, friction=10.0),
                        mz.State(x, v, box=system.box), outputs=[mz.H5MDOutput(path, every=20)],
                        seed=1)
    sim.run(3000, progress=False)
    sim.close()
    traj = read_h5md(path)
    res = analyse(traj, bonds=top.bonds, bins=40, start=25)
    assert isinstance(res, mz.Results)
    assert res.lengths.shape == (traj.n_frames - 25, 27)
    widths = np.diff(res.bin_edges)
    assert np.sum(res.density * widths) == pytest.approx(1.0)
    assert res.counts.sum() == res.lengths.size
    hist_mean = np.sum(res.bin_centres * res.density * widths)
    assert hist_mean == pytest.approx(res.mean, abs=0.5 * widths.max())
    assert res.mean == pytest.approx(R0, rel=0.03)                       # within a few %
    assert res.mean == pytest.approx(_boltzmann_mean_bond_length(300.0), rel=0.005)
    k = 2.0 * D_E * A ** 2                                                # harmonic limit
    assert res.std == pytest.approx(np.sqrt(mz.KB * 300.0 / k), rel=0.15)
    with pytest.raises(ValueError, match="bonds"):
        analyse(traj)
