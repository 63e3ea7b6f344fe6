"""Pre-flight checks (``mdzoom.core.preflight``, ``mdzoom check``): one test per pitfall —
build the bad setup, assert the finding, fix it, assert the finding is gone."""

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core import preflight
from mdzoom.core.cli import main
from mdzoom.core.plugins import Finding, PluginManager, hookimpl
from mdzoom.core.preflight import PreflightError, enforce, run_checks

from mdz_testsystems import lj_fluid, random_gas

DATA = Path(__file__).resolve().parents[1] / "data"
PM = PluginManager(entry_points=False)


def checks(system, integrator, state=None, **settings):
    return run_checks(system, integrator, settings, state=state, plugin_manager=PM)


def codes(findings, severity=None):
    return {f.code for f in findings if severity is None or f.severity == severity}


def _chain(name, n, *, mass=12.0, types=None, elements=None, resnames=None, charges=None,
           ring=False):
    g = nx.Graph()
    for k in range(n):
        g.add_node(k, name=(elements[k] if elements else "C") + str(k),
                   type=types[k] if types else "C", mass=mass,
                   charge=charges[k] if charges else 0.0,
                   element=elements[k] if elements else "C",
                   resname=resnames[k] if resnames else name, resid=1 + k // 3)
    g.add_edges_from((k, k + 1) for k in range(n - 1))
    if ring:
        g.add_edge(n - 1, 0)
    return mz.MoleculeType(name, g, nrexcl=1)


def _system(mts, counts, positions, box, forces=None, constraints=()):
    top = mz.Topology(mts, counts)
    system = mz.System(top, box=box, forces=forces or [mz.LennardJones(0.3, 0.5, cutoff=1.0)],
                       constraints=list(constraints))
    return system, mz.State(np.asarray(positions, float), box=system.box)


NVE = mz.VelocityVerlet(dt=0.001)


# --------------------------------------------------------------------------- box size


def test_box_too_small_for_the_solute():
    n = 24
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([0.6 * np.cos(t), 0.6 * np.sin(t), 0.1 * np.sin(3 * t)], 1)  # Rg ≈ 0.6
    mol = _chain("P", n)
    system, state = _system([mol], [("P", 1)], ring + 1.25, 2.5)
    found = checks(system, NVE, state)
    assert "box-too-small" in codes(found, "warning")
    f = next(f for f in found if f.code == "box-too-small")
    assert "2·Rg + 2·rc" in f.message and f.fix
    system, state = _system([mol], [("P", 1)], ring + 2.0, 4.0)     # 2·0.6 + 2·1.0 < 4
    assert "box-too-small" not in codes(checks(system, NVE, state))
    assert "box-too-small" not in codes(checks(system, NVE))        # no positions: skipped


def test_cutoff_longer_than_half_the_box():
    system, state = lj_fluid(cells=3, cutoff=2.6)           # box 5.04σ: rc > L/2
    f = [f for f in checks(system, NVE, state) if f.code == "cutoff-exceeds-half-box"]
    assert f and f[0].severity == "error"
    system, state = lj_fluid(cells=3, cutoff=2.0)
    assert "cutoff-exceeds-half-box" not in codes(checks(system, NVE, state))


def test_molecule_longer_than_the_box():
    n = 30                                          # a rod 2.9 nm long in a 2.5 nm box
    rod = np.stack([np.arange(n) * 0.1, np.full(n, 1.0), np.full(n, 1.0)], 1)
    mol = _chain("R", n)
    system, state = _system([mol], [("R", 1)], np.mod(rod, 2.5), 2.5)
    found = checks(system, NVE, state)
    assert "molecule-spans-box" in codes(found, "error")
    assert found[0].code == "molecule-spans-box"                    # errors first
    system, state = _system([mol], [("R", 1)], rod + 1.0, 6.0)
    assert "molecule-spans-box" not in codes(checks(system, NVE, state))


def test_molecule_bonded_to_its_own_image():
    n = 25                                          # 25 × 0.1 nm closes around a 2.5 nm box
    x = np.stack([np.arange(n) * 0.1, np.full(n, 1.0), np.full(n, 1.0)], 1)
    system, state = _system([_chain("INF", n, ring=True)], [("INF", 1)], x, 2.5)
    f = [f for f in checks(system, NVE, state) if f.code == "molecule-spans-box"]
    assert f and f[0].severity == "error" and "own periodic image" in f[0].message
    system, state = _system([_chain("INF", n)], [("INF", 1)], x, 4.0)   # open chain
    assert "molecule-spans-box" not in codes(checks(system, NVE, state))


# --------------------------------------------------------------------------- electrostatics


def _charged_gas(coulomb, n_a=30, n_b=30, q_a=0.5, q_b=-0.5, **kw):
    g = []
    for name, q in (("A", q_a), ("B", q_b)):
        h = nx.Graph()
        h.add_node(0, name=name, type=name, mass=20.0, charge=q)
        g.append(mz.MoleculeType(name, h, nrexcl=0))
    top = mz.Topology(g, [("A", n_a), ("B", n_b)])
    nb = mz.Nonbonded(cutoff=1.0, lj=(0.3, 0.5), coulomb=coulomb, **kw)
    _, pos = random_gas(n=60, box=3.0)
    system = mz.System(top, box=3.0, forces=[nb])
    return system, mz.State(pos[:top.n_particles], box=system.box)


def test_plain_cutoff_coulomb_with_charges():
    system, state = _charged_gas("cutoff")
    assert "coulomb-plain-cutoff" in codes(checks(system, NVE, state), "warning")
    # GROMACS's Verlet cut-off is a reaction field with ε_rf = 1: the same finding
    system, state = _charged_gas("reaction-field", epsilon_rf=1.0)
    assert "coulomb-plain-cutoff" in codes(checks(system, NVE, state))
    for fixed in (dict(coulomb="reaction-field", epsilon_rf=0.0), dict(coulomb="pme"),
                  dict(coulomb="cutoff", epsilon_r=15.0)):   # screened (Martini-like)
        system, state = _charged_gas(**fixed)
        assert "coulomb-plain-cutoff" not in codes(checks(system, NVE, state)), fixed
    system, state = _charged_gas("cutoff", q_a=0.0, q_b=0.0)     # no charges
    assert "coulomb-plain-cutoff" not in codes(checks(system, NVE, state))
    system, state = _charged_gas("cutoff")
    assert "coulomb-plain-cutoff" not in codes(checks(system, NVE, state, mdp={"pbc": "no"}))


def test_net_charge_under_pme():
    system, state = _charged_gas("pme", n_a=31, n_b=29)      # Q = +1 e
    f = [f for f in checks(system, NVE, state) if f.code == "net-charge-ewald"]
    assert f and f[0].severity == "warning" and "+1.000 e" in f[0].message
    assert "counter-ion" in f[0].fix
    system, state = _charged_gas("pme")
    assert "net-charge-ewald" not in codes(checks(system, NVE, state))
    system, state = _charged_gas("reaction-field", n_a=31, n_b=29, epsilon_rf=0.0)
    assert "net-charge-ewald" not in codes(checks(system, NVE, state))   # no Ewald


def test_non_integer_net_charge():
    system, state = _charged_gas("pme", q_b=-0.4)             # Q = 30·0.1 = +3 e, integer
    assert "net-charge-non-integer" not in codes(checks(system, NVE, state))
    system, state = _charged_gas("pme", q_b=-0.49)            # Q = +0.3 e
    assert "net-charge-non-integer" in codes(checks(system, NVE, state), "warning")


# --------------------------------------------------------------------------- membranes


def _bilayer(n_side=4, box=(4.0, 4.0, 8.0), seed=0, aligned=True, protein_z=None,
             lys_charge=1.0):
    """A bilayer of 2·n_side² six-bead lipids (long axes along z, centres within ±1.1 nm
    of z = 4) and optionally a 9-bead peptide LEU-LYS-ALA whose LYS sits at
    ``protein_z``."""
    rng = np.random.default_rng(seed)
    lip = _chain("LIP", 6, mass=50.0, resnames=["LIP"] * 6)
    lx, ly, lz = box
    pos = []
    for side in (1, -1):
        for i in range(n_side):
            for j in range(n_side):
                base = np.array([(i + 0.5) * lx / n_side, (j + 0.5) * ly / n_side, lz / 2])
                z = side * (0.2 + 0.35 * np.arange(6)[::-1])
                mol = np.stack([np.zeros(6), np.zeros(6), z], 1)
                if not aligned:
                    r, _ = np.linalg.qr(rng.normal(size=(3, 3)))
                    mol = mol @ r
                    base[2] = rng.uniform(0, lz)
                pos.append(base + mol + rng.normal(0, 0.03, (6, 3)))
    mts, counts = [lip], [("LIP", 2 * n_side ** 2)]
    if protein_z is not None:
        names = ["LEU"] * 3 + ["LYS"] * 3 + ["ALA"] * 3
        q = [0.0] * 3 + [0.2, 0.3, lys_charge - 0.5] + [0.0] * 3
        mts.append(_chain("PEP", 9, resnames=names, charges=q))
        counts.append(("PEP", 1))
        pep = np.stack([0.3 * np.arange(9) - 1.2, np.zeros(9), np.zeros(9)], 1)
        pos.append(pep + [lx / 4, ly / 4 + 0.3, protein_z])
    top = mz.Topology(mts, counts)
    system = mz.System(top, box=list(box), forces=[mz.LennardJones(0.47, 3.5, cutoff=1.1)])
    return system, mz.State(np.concatenate(pos), box=system.box)


def _npt(coupling, barostat=mz.CRescale):
    beta = 4.5e-5 if coupling == "isotropic" else [4.5e-5, 4.5e-5]
    return mz.VelocityVerlet(dt=0.002, thermostat=mz.VRescale(300.0, 1.0),
                             barostat=barostat(1.0 if coupling == "isotropic" else [1, 1], 5.0,
                                               beta, coupling=coupling))


def test_membrane_detection_rule():
    system, state = _bilayer()
    geo = preflight._Geometry(system, state)
    m = geo.membrane
    assert m is not None and m.axis == 2 and m.molecule_types == ("LIP",)
    assert abs(m.midplane - 0.5) < 0.02 and m.thickness < 3.0
    system, state = _bilayer(aligned=False)           # same molecules, random: no membrane
    assert preflight._Geometry(system, state).membrane is None
    # the Martini 3 POPC bilayer of the reference data (64 POPC, 1464 W)
    from mdzoom.core.gromacs import load_gromacs

    system, state, _ = load_gromacs(DATA / "martini" / "processed.top",
                                    DATA / "martini" / "conf.gro")
    m = preflight._Geometry(system, state).membrane
    assert m is not None and m.axis == 2 and m.molecule_types == ("POPC",)


def test_isotropic_pressure_coupling_of_a_membrane():
    system, state = _bilayer()
    f = [f for f in checks(system, _npt("isotropic"), state)
         if f.code == "membrane-isotropic-pressure"]
    assert f and f[0].severity == "warning" and "semiisotropic" in f[0].fix
    assert "membrane-isotropic-pressure" not in codes(
        checks(system, _npt("semi-isotropic"), state))
    system, state = _bilayer(aligned=False)           # no membrane: isotropic is right
    assert "membrane-isotropic-pressure" not in codes(checks(system, _npt("isotropic"), state))


def test_charged_titratable_residue_in_the_membrane_core():
    system, state = _bilayer(protein_z=4.1)
    f = [f for f in checks(system, NVE, state) if f.code == "titratable-in-membrane"]
    assert f and f[0].severity == "warning" and "LYS" in f[0].message
    system, state = _bilayer(protein_z=6.8)           # in the water, not the core
    assert "titratable-in-membrane" not in codes(checks(system, NVE, state))
    system, state = _bilayer(protein_z=4.1, lys_charge=0.0)   # neutral form
    assert "titratable-in-membrane" not in codes(checks(system, NVE, state))


# --------------------------------------------------------------------------- time step


def _waters(n=27, box=3.0):
    mt = _chain("SOL", 3, mass=1.008, elements=["O", "H", "H"], charges=[-0.8, 0.4, 0.4])
    mt.graph.nodes[0]["mass"] = 15.999
    mt.graph.remove_edge(1, 2)
    mt.graph.add_edge(0, 2)
    k = np.arange(n)
    o = np.stack([k % 3, (k // 3) % 3, k // 9], 1) * (box / 3) + 0.5
    x = np.stack([o, o + [0.1, 0, 0], o + [-0.03, 0.095, 0]], 1).reshape(-1, 3)
    return mt, x


def test_time_step_with_flexible_bonds_to_hydrogen():
    mt, x = _waters()
    system, state = _system([mt], [("SOL", 27)], x, 3.0)
    for dt, sev in ((0.002, "warning"), (0.0025, "error")):
        f = [f for f in checks(system, mz.VelocityVerlet(dt=dt), state)
             if f.code == "timestep-unconstrained-h"]
        assert f and f[0].severity == sev, dt
        assert "constraints = h-bonds" in f[0].fix
    assert not codes(checks(system, mz.VelocityVerlet(dt=0.001), state)) & {
        "timestep-unconstrained-h", "timestep-constrained-h"}
    # the fix: rigid water
    settle = mz.Settle(np.arange(0, 81, 3), 0.1, 0.1633)
    system, state = _system([mt], [("SOL", 27)], x, 3.0, constraints=[settle])
    assert not codes(checks(system, mz.VelocityVerlet(dt=0.002), state)) & {
        "timestep-unconstrained-h", "timestep-constrained-h"}
    # constrained, but too long a step
    f = {f.code: f.severity for f in checks(system, mz.VelocityVerlet(dt=0.003), state)}
    assert f.get("timestep-constrained-h") == "warning"
    f = {f.code: f.severity for f in checks(system, mz.VelocityVerlet(dt=0.005), state)}
    assert f.get("timestep-constrained-h") == "error"
    # Brownian dynamics has no inertia: no time-step rule here
    assert "timestep-unconstrained-h" not in codes(
        checks(_system([mt], [("SOL", 27)], x, 3.0)[0], mz.Brownian(dt=0.005)))


# --------------------------------------------------------------------------- Berendsen


def test_berendsen_barostat_in_production():
    system, state = lj_fluid(cells=3)
    ber = mz.VelocityVerlet(dt=0.002, thermostat=mz.VRescale(1.0, 0.5),
                            barostat=mz.BerendsenBarostat(1.0, 5.0, 4.5e-5))
    f = [f for f in checks(system, ber, state) if f.code == "berendsen-barostat-production"]
    assert f and f[0].severity == "warning" and "C-rescale" in f[0].fix
    assert "berendsen-barostat-production" not in codes(
        checks(system, ber, state, production=False))
    assert "berendsen-barostat-production" not in codes(
        checks(system, ber, state, stage="npt-equilibration"))
    crs = mz.VelocityVerlet(dt=0.002, thermostat=mz.VRescale(1.0, 0.5),
                            barostat=mz.CRescale(1.0, 5.0, 4.5e-5))
    assert "berendsen-barostat-production" not in codes(checks(system, crs, state))


def test_berendsen_thermostat_in_production():
    system, state = lj_fluid(cells=3)
    ber = mz.VelocityVerlet(dt=0.002, thermostat=mz.Berendsen(1.0, 0.1))
    f = [f for f in checks(system, ber, state) if f.code == "berendsen-production"]
    assert f and f[0].fix and f[0].plugin == "mdzoom.core.builtin_plugin"
    assert "berendsen-production" not in codes(checks(system, ber, state, final_stage=False))
    vr = mz.VelocityVerlet(dt=0.002, thermostat=mz.VRescale(1.0, 0.1))
    assert "berendsen-production" not in codes(checks(system, vr, state))


def test_is_production_reads_names():
    class Mdp(dict):
        path = "/x/nvt.mdp"

    assert preflight.is_production({})
    assert not preflight.is_production({"mdp": Mdp()})
    assert not preflight.is_production({"stage": "equilibration"})
    assert preflight.is_production({"stage": "production"})
    assert preflight.is_production({"mdp_path": "md.mdp"})
    assert not preflight.is_production({"mdp_path": "em.mdp"})
    assert preflight.is_production({"stage": "eq", "production": True})


# --------------------------------------------------------------------------- machinery


def test_findings_are_tagged_sorted_and_enforced():
    class ThirdParty:
        @hookimpl
        def mdzoom_preflight(self, system, integrator, settings):
            return [Finding("my-note", "note", "a note"),
                    Finding("my-error", "error", "an error", fix="do this")]

    third_party = ThirdParty()
    pm = PluginManager(entry_points=False, plugins=[third_party])
    system, state = lj_fluid(cells=3)
    found = run_checks(system, NVE, {}, state=state, plugin_manager=pm)
    assert [f.severity for f in found] == sorted(
        (f.severity for f in found), key=["error", "warning", "note"].index)
    err = next(f for f in found if f.code == "my-error")
    assert err.plugin == pm.pm.get_name(third_party)                # tagged with its plugin
    assert err.to_dict() == {"check": "my-error", "severity": "error", "message": "an error",
                             "fix": "do this", "plugin": err.plugin}
    with pytest.raises(PreflightError, match=r"\[my-error\] an error Fix: do this.*--force"):
        enforce(found)
    assert enforce(found, allow=True) is found
    assert enforce(found, allow={"my-error"}) is found
    sim = mz.Simulation(system, NVE, state, plugin_manager=pm)
    assert {"my-error", "my-note"} <= codes(sim.check())
    assert "error" in preflight.format_findings(found).lower()
    with pytest.raises(ValueError, match="unknown severity"):
        Finding("x", "fatal", "no such severity")


def test_clean_setups_have_no_findings():
    """The reference systems the test suite runs have no errors."""
    from mdzoom.core.gromacs_run import check_gromacs

    system, state = lj_fluid(cells=3)
    assert checks(system, mz.VelocityVerlet(dt=0.005), state) == []
    found = check_gromacs(DATA / "gromacs" / "tip3p_box" / "processed.top",
                          DATA / "gromacs" / "tip3p_box" / "conf.gro",
                          DATA / "gromacs" / "tip3p_box" / "run.mdp")
    assert found == []
    found = check_gromacs(DATA / "martini" / "processed.top", DATA / "martini" / "conf.gro",
                          DATA / "martini" / "equil.mdp")
    assert found == []


# --------------------------------------------------------------------------- command line

WATER = DATA / "gromacs" / "tip3p_box"


def _mdp(tmp_path, extra, name="md.mdp"):
    """The water box's run.mdp with the options in ``extra`` replaced or added."""
    path = tmp_path / name
    new = {line.split("=")[0].strip() for line in extra.splitlines()}
    kept = [line for line in (WATER / "run.mdp").read_text().splitlines()
            if line.split("=")[0].strip() not in new]
    path.write_text("\n".join(kept) + "\n" + extra)
    return str(path)


def test_check_cli_json_and_exit_status(tmp_path, capsys):
    args = ["check", "-p", str(WATER / "processed.top"), "-c", str(WATER / "conf.gro")]
    assert main(args + ["-f", _mdp(tmp_path, "dt = 0.005\n"), "--json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert isinstance(found, list) and found
    for f in found:
        assert set(f) == {"check", "severity", "message", "fix", "plugin"}
        assert f["severity"] in ("error", "warning", "note") and f["message"] and f["fix"]
    assert ("timestep-constrained-h", "error") in {(f["check"], f["severity"]) for f in found}
    # a warning only: exit status 0
    assert main(args + ["-f", _mdp(tmp_path, "coulombtype = Cut-off\n"), "--json"]) == 0
    assert [f["check"] for f in json.loads(capsys.readouterr().out)] == ["coulomb-plain-cutoff"]
    # fixed: nothing
    assert main(args + ["-f", _mdp(tmp_path, "dt = 0.002\n"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # human output: one block per finding, with its fix
    assert main(args + ["-f", _mdp(tmp_path, "dt = 0.005\n")]) == 1
    out = capsys.readouterr().out
    assert "ERROR [timestep-constrained-h]" in out and "fix:" in out
    # settings mdzoom cannot run are an error finding, not a crash
    assert main(args + ["-f", _mdp(tmp_path, "pcoupl = C-rescale\n"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["check"] == "mdp-unsupported"


def test_run_stops_on_an_error_unless_forced(tmp_path, capsys, monkeypatch):
    mdp = _mdp(tmp_path, "dt = 0.005\nnsteps = 2\nnstenergy = 0\n")
    args = ["run", "-p", str(WATER / "processed.top"), "-c", str(WATER / "conf.gro"),
            "-f", mdp, "-o", str(tmp_path / "out"), "--no-progress"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "pre-flight check found 1 error" in err and "timestep-constrained-h" in err
    assert "--force" in err
    assert not (tmp_path / "out" / "confout.gro").exists()
    # (--force on that one would run into the crash the check predicts: SETTLE fails at
    # 5 fs.) A plugin's error on an otherwise sound setup: stops, and --force runs it.

    class Strict:
        @hookimpl
        def mdzoom_preflight(self, system, integrator, settings):
            return [Finding("site-policy", "error", "runs need approval", fix="ask")]

    from mdzoom.core import plugins

    monkeypatch.setattr(plugins, "_default", PluginManager(entry_points=False,
                                                           plugins=[Strict()]))
    args[args.index("-f") + 1] = _mdp(tmp_path, "dt = 0.002\nnsteps = 2\nnstenergy = 0\n")
    assert main(args) == 1
    assert "[site-policy] runs need approval Fix: ask" in capsys.readouterr().err
    assert main(args + ["--force"]) == 0
    assert "error (allowed): [site-policy]" in capsys.readouterr().out
    assert (tmp_path / "out" / "confout.gro").exists()


CONFIG = """
[system]
builder = "lj-fluid"
cells = 4
density = 0.8
mass = 72.0
type = "W"
temperature = 1.0

[[forces]]
type = "lennard-jones"
sigma = 1.0
epsilon = 1.0
cutoff = 2.5

[integrator]
type = "verlet"
dt = {dt}

[run]
steps = 4
seed = 1

[output]
dir = "out"
trajectory_every = 0
energy_every = 0
plot = false
"""


def test_toml_run_stops_on_an_error_unless_forced(tmp_path, capsys):
    """A fluid of Martini W beads at 50 fs: the Martini plugin's check, through the hook,
    stops ``mdzoom run CONFIG.toml``; ``--force`` runs it; ``mdzoom check`` lists it."""
    path = tmp_path / "run.toml"
    path.write_text(CONFIG.format(dt=0.05))
    assert main(["check", str(path), "--json"]) == 1
    found = json.loads(capsys.readouterr().out)
    assert ("martini-timestep", "error", "mdzoom.plugins.martini") in {
        (f["check"], f["severity"], f["plugin"]) for f in found}
    assert main(["run", str(path), "--no-progress"]) == 1
    assert "martini-timestep" in capsys.readouterr().err
    assert main(["run", str(path), "--no-progress", "--force"]) == 0
    path.write_text(CONFIG.format(dt=0.02))
    assert main(["check", str(path)]) == 0
    assert "no findings" in capsys.readouterr().out
