"""Plugin manager and registry: discovery, lookup errors, lifecycle hooks, switches."""

import types

import pytest

import mdzoom.core as mz
from mdzoom.core import hookimpl
from mdzoom.core.plugins import BUILTIN_PLUGINS, Finding, PluginManager

from mdz_testsystems import lj_fluid


def test_builtins_are_ordinary_plugins_and_registered_components_are_attributed():
    pm = PluginManager(entry_points=False)
    names = [name for name, _ in pm.pm.list_name_plugin()]
    assert names == list(BUILTIN_PLUGINS)
    reg = pm.registry
    assert reg.get_force("lennard-jones") is mz.LennardJones
    assert reg.get_integrator("langevin") is mz.LangevinBAOAB
    owners = {e.name: e.plugin for e in reg.entries("force")}
    assert owners["harmonic-bond"] == "mdzoom.core.builtin_plugin"
    assert ".gro" in reg.names("reader") and reg.get_reader(".GRO") is reg.get_reader(".gro")


def test_unknown_names_list_what_is_available_with_their_plugins():
    reg = PluginManager(entry_points=False).registry
    with pytest.raises(KeyError) as err:
        reg.get_force("morse")
    msg = str(err.value)
    assert msg.startswith("unknown force 'morse'; available: nonbonded (mdzoom.core.builtin_plugin)")
    assert "lennard-jones" in msg and "python" in msg
    with pytest.raises(KeyError, match="unknown forcefield 'martini2'; available: \\(none\\)"):
        reg.get_forcefield("martini2")


def test_user_plugin_registers_and_duplicate_names_fail_loudly():
    mine = types.ModuleType("my_plugin")

    @hookimpl
    def mdzoom_forces(registry):
        registry.add_force("spring", mz.HarmonicBond)

    mine.mdzoom_forces = mdzoom_forces
    pm = PluginManager(entry_points=False, plugins=[mine])
    assert pm.registry.get_force("spring") is mz.HarmonicBond

    clash = types.ModuleType("clash")

    @hookimpl
    def mdzoom_forces(registry):  # noqa: F811
        registry.add_force("lennard-jones", mz.HarmonicBond)

    clash.mdzoom_forces = mdzoom_forces
    pm.register(clash, name="clash")
    with pytest.raises(ValueError, match="registered twice: by mdzoom.core.builtin_plugin "
                                         "and by clash"):
        pm.registry


def test_lifecycle_and_preflight_hooks_reach_plugins():
    seen = []
    spy = types.SimpleNamespace()

    @hookimpl
    def mdzoom_simulation_start(simulation):
        seen.append(("start", simulation.state.step))

    @hookimpl
    def mdzoom_simulation_end(simulation):
        seen.append(("end", simulation.state.step))

    @hookimpl
    def mdzoom_preflight(system, integrator, settings):
        if integrator.dt > 0.004:
            return [Finding("dt-large", "warning", f"dt = {integrator.dt} ps")]
        return []

    spy.mdzoom_simulation_start = mdzoom_simulation_start
    spy.mdzoom_simulation_end = mdzoom_simulation_end
    spy.mdzoom_preflight = mdzoom_preflight
    pm = PluginManager(entry_points=False, plugins=[spy])
    system, state = lj_fluid(cells=4)
    integ = mz.VelocityVerlet(dt=0.005)
    findings = pm.preflight(system, integ, {})
    assert [f.code for f in findings] == ["dt-large"]
    sim = mz.Simulation(system, integ, state, skin=0.3, plugin_manager=pm)
    sim.run(10, progress=False)
    assert seen == [("start", 0), ("end", 10)]


def test_autoload_switch_and_tracing(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr("pluggy.PluginManager.load_setuptools_entrypoints",
                        lambda self, group, name=None: calls.append(group) or 0)
    monkeypatch.setenv("MDZOOM_DISABLE_PLUGIN_AUTOLOAD", "1")
    PluginManager()
    assert calls == []
    monkeypatch.delenv("MDZOOM_DISABLE_PLUGIN_AUTOLOAD")
    PluginManager()
    assert calls == ["mdzoom"]
    monkeypatch.setenv("MDZOOM_TRACE_HOOKS", "1")
    pm = PluginManager(entry_points=False)
    pm.preflight(None, None, {})
    assert "mdzoom_preflight" in capsys.readouterr().err
