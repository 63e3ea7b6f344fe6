"""Export of Systems to GROMACS (.top/.gro/.mdp) and OpenMM (serialized System + PDB).

Round trips without GROMACS: export → ``load_gromacs`` of the written files → every energy
term equal to mdzoom's of the original System to 1e-8 relative. With ``gmx_d`` (skipped
without it): ``grompp`` accepts the exported folder and ``mdrun -rerun`` gives, per term,
mdzoom's energies within the reference tolerances of
``tests/plugins/allatom/test_gromacs_reference.py`` (bonded 1e-5 relative or 1e-3 kJ/mol,
LJ/short-range Coulomb/dispersion 1e-4, reciprocal 2e-3 or 0.5 kJ/mol, Potential 1e-4,
5e-4 with PME) — and the committed gmx_d references of the original inputs to 1e-6.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import mdzoom.core as mz
from mdzoom.core.cli import main
from mdzoom.core.export import mdp_options, to_gromacs
from mdzoom.core.force import ForceEvaluator
from mdzoom.core.gromacs import load_gromacs
from mdzoom.core.io import read_gro

DATA = Path(__file__).resolve().parents[1] / "data"
GMX = shutil.which("gmx_d")
needs_gmx = pytest.mark.skipif(GMX is None, reason="gmx_d (double-precision GROMACS) not found")
BONDED = {"Bond", "G96Bond", "Harmonic Pot.", "Angle", "G96Angle", "Restricted Angles", "U-B",
          "Proper Dih.", "Ryckaert-Bell.", "Improper Dih.", "Per. Imp. Dih.", "LJ-14",
          "Coulomb-14", "Position Rest.", "Constr. rmsd"}
# (id, folder, topology, structure) of GROMACS inputs
INPUTS = {"aapaa_pme_hbonds": (DATA / "gromacs" / "aapaa_tip3p_hbonds", "processed.top",
                               "conf.gro"),
          "martini_popc": (DATA / "martini", "processed.top", "conf.gro"),
          # mixed resolution: the all-atom peptide in Martini 3 W with a Martini NA⁺/CL⁻ pair
          "mixed_aa_cg": (DATA / "gromacs" / "aapaa_in_martini_w", "processed.top",
                          "conf.gro")}


def energies(system, state):
    ev = ForceEvaluator(system, skin=0.0)
    ev.compute(state)
    return dict(ev.terms)


def lj_fluid():
    """500 argon atoms (σ 0.34 nm, ε 0.996 kJ/mol, rc 1.0 nm, DispCorr EnerPres), a liquid
    density, off-lattice positions that are not multiples of 1e-3 nm."""
    pos, edge = mz.fcc_lattice(5, density=21.0)
    pos = pos + np.random.default_rng(7).normal(0.0, 0.01, pos.shape)
    lj = mz.Nonbonded(cutoff=1.0, lj=(0.34, 0.996), dispersion_correction="EnerPres")
    system = mz.System(mz.Topology.atomic_fluid(500, "AR", mass=39.948), box=edge,
                       forces=[lj])
    return system, mz.State(pos % edge, box=system.box)


def dimers():
    """Python-built charged dimers: a molecule type of two particles (±0.5 e, bonded in the
    graph), HarmonicBond on the graph edge, reaction field with GROMACS's exclusion terms."""
    import networkx as nx

    g = nx.Graph()
    g.add_node(0, name="A", type="A", mass=20.0, charge=0.5, resname="DIM", resid=1)
    g.add_node(1, name="B", type="B", mass=12.0, charge=-0.5, resname="DIM", resid=1)
    g.add_edge(0, 1, k=5000.0, r0=0.2)
    top = mz.Topology([mz.MoleculeType("DIM", g, nrexcl=1)], [("DIM", 256)])
    rng = np.random.default_rng(3)
    c, edge = mz.fcc_lattice(4, density=4.0)
    d = rng.normal(size=c.shape)
    d *= (0.2 + rng.normal(0, 0.01, (len(c), 1))) / np.linalg.norm(d, axis=1)[:, None]
    xyz = np.empty((2 * len(c), 3))
    xyz[0::2], xyz[1::2] = c, c + d
    nb = mz.Nonbonded(cutoff=1.1, lj={"A": (0.4, 1.5), "B": (0.3, 0.8)},
                      pair_overrides={("A", "B"): (0.33, 2.0)}, coulomb="reaction-field",
                      epsilon_r=2.5, epsilon_rf=0.0, rf_exclusion_correction=True)
    system = mz.System(top, box=edge, forces=[nb, mz.HarmonicBond()])
    return system, mz.State(xyz, box=system.box)


def load_inputs(name):
    folder, top, gro = INPUTS[name]
    return load_gromacs(folder / top, folder / gro, folder / "run.mdp")


def assert_same_terms(ref, got, rel=1e-8):
    # a System without Coulomb is read back with a zero Coulomb (SR) term
    extra = {k: v for k, v in got.items() if k not in ref}
    assert set(ref) <= set(got) and not any(extra.values()), (sorted(ref), sorted(got))
    for k, e in ref.items():
        assert got[k] == pytest.approx(e, rel=rel, abs=1e-9), (k, got[k], e)


# ------------------------------------------------------------ round trip, no GROMACS
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_gromacs_round_trip_of_gromacs_inputs(name, tmp_path):
    system, state, settings = load_inputs(name)
    paths = to_gromacs(system, state, settings, tmp_path)
    assert sorted(Path(p).name for p in paths.values()) == ["conf.gro", "run.mdp", "topol.top"]
    assert "#include" not in Path(paths["top"]).read_text()
    s2, st2, _ = load_gromacs(paths["top"], paths["gro"], paths["mdp"])
    assert_same_terms(energies(system, state), energies(s2, st2))


@pytest.mark.parametrize("build", [lj_fluid, dimers], ids=["lj_fluid", "dimers"])
def test_gromacs_round_trip_of_python_built_system(build, tmp_path):
    system, state = build()
    paths = to_gromacs(system, state, None, tmp_path)
    s2, st2, _ = load_gromacs(paths["top"], paths["gro"], paths["mdp"])
    # 10 decimals in conf.gro: positions within 5e-11 nm, energies to 1e-8
    assert np.abs(st2.positions - state.positions).max() <= 5.1e-11
    assert_same_terms(energies(system, state), energies(s2, st2))


def test_gro_precision_keeps_default_format(tmp_path):
    system, state = lj_fluid()
    to_gromacs(system, state, None, tmp_path / "p10")
    line = (tmp_path / "p10" / "conf.gro").read_text().splitlines()[2]
    assert len(line) == 20 + 6 * 15       # positions and velocities
    to_gromacs(system, state, None, tmp_path / "p3", precision=3)
    line = (tmp_path / "p3" / "conf.gro").read_text().splitlines()[2]
    assert len(line) == 20 + 6 * 8
    assert read_gro(tmp_path / "p3" / "conf.gro").positions[0] == pytest.approx(
        state.positions[0], abs=5e-4)


def test_mdp_translation_from_forces_and_integrator():
    system, _ = dimers()
    integ = mz.VelocityVerlet(dt=0.02, thermostat=mz.VRescale(temperature=310.0, tau=1.0),
                              barostat=mz.CRescale(pressure=[1.0, 1.0], tau=12.0,
                                                   compressibility=[3e-4, 3e-4],
                                                   coupling="semi-isotropic"))
    o = mdp_options(system, {"integrator": integ, "nsteps": 1000, "mdp": {"nstxout": 10}})
    assert o["coulombtype"] == "Reaction-Field" and o["epsilon-rf"] == 0.0
    assert o["epsilon-r"] == 2.5 and o["rvdw"] == o["rcoulomb"] == 1.1
    assert (o["integrator"], o["dt"], o["nsteps"], o["nstxout"]) == ("md", 0.02, 1000, 10)
    assert (o["tcoupl"], o["tc-grps"], o["ref-t"]) == ("V-rescale", ["System"], [310.0])
    assert (o["pcoupl"], o["pcoupltype"], o["ref-p"]) == ("C-rescale", "semiisotropic",
                                                          [1.0, 1.0])
    lang = mdp_options(system, {"integrator": mz.LangevinBAOAB(dt=0.002, temperature=300,
                                                               friction=2.0)})
    assert (lang["integrator"], lang["tau-t"]) == ("sd", [0.5])


def test_refuses_what_cannot_be_written(tmp_path):
    system, state = lj_fluid()
    system.forces.append(_Unknown())
    with pytest.raises(NotImplementedError, match="_Unknown"):
        to_gromacs(system, state, None, tmp_path)
    s, st, settings = load_inputs("martini_popc")
    s.forces.append(_Unknown())
    with pytest.raises(NotImplementedError, match="_Unknown.*added after reading"):
        to_gromacs(s, st, settings, tmp_path)
    sysd, std = dimers()
    sysd.forces[0] = mz.Nonbonded(cutoff=1.1, lj=(0.3, 1.0), coulomb="reaction-field")
    with pytest.raises(NotImplementedError, match="rf_exclusion_correction"):
        to_gromacs(sysd, std, None, tmp_path)


class _Unknown(mz.Force):
    def bind(self, system, context):  # pragma: no cover - never bound
        raise AssertionError


# ------------------------------------------------------------------------ CLI
def test_cli_export_gromacs(tmp_path, capsys):
    folder, top, gro = INPUTS["martini_popc"]
    out = tmp_path / "gmx"
    assert main(["export", "-p", str(folder / top), "-c", str(folder / gro), "-f",
                 str(folder / "run.mdp"), "--to", "gromacs", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "gmx grompp" in text and "gmx mdrun" in text
    assert {p.name for p in out.iterdir()} == {"topol.top", "conf.gro", "run.mdp"}


# -------------------------------------------------------------------- gmx_d
def gmx(*args, cwd, stdin=None):
    res = subprocess.run([GMX, "-quiet", *args], cwd=cwd, input=stdin, text=True,
                         capture_output=True)
    assert res.returncode == 0, f"gmx {' '.join(args)}:\n{res.stdout[-2000:]}{res.stderr[-3000:]}"
    return res.stdout + res.stderr


def gmx_energies(folder):
    """grompp the exported folder, mdrun -rerun its conf.gro, the terms up to Potential."""
    gmx("grompp", "-f", "run.mdp", "-c", "conf.gro", "-p", "topol.top", "-o", "topol.tpr",
        "-maxwarn", "0", cwd=folder)
    gmx("mdrun", "-s", "topol.tpr", "-rerun", "conf.gro", "-e", "rerun.edr", "-g", "rerun.log",
        "-nt", "1", cwd=folder)
    menu = subprocess.run([GMX, "-quiet", "energy", "-f", "rerun.edr"], cwd=folder,
                          input="0\n", text=True, capture_output=True)
    entries = re.findall(r"(\d+)\s+(\S+)", re.split(r"-{20,}", menu.stdout + menu.stderr)[1])
    numbers = []
    for num, name in entries:
        numbers.append(num)
        if name == "Potential":
            break
    gmx("energy", "-f", "rerun.edr", "-o", "energy.xvg", stdin="\n".join(numbers) + "\n\n",
        cwd=folder)
    text = (folder / "energy.xvg").read_text().splitlines()
    legends = [ln.split('"')[1] for ln in text if ln.startswith("@ s") and "legend" in ln]
    rows = [ln for ln in text if ln and ln[0] not in "#@"]
    return dict(zip(legends, map(float, rows[0].split()[1:])))


def assert_matches_gromacs(ours, theirs):
    missing = {k for k, v in theirs.items() if k not in ours and v != 0.0} - {
        "Pres. DC (bar)", "Constr. rmsd"}
    assert not missing, f"terms GROMACS reports but we do not: {missing}"
    pme = "Coul. recip." in theirs
    for term, expect in theirs.items():
        if term not in ours:
            continue
        got = ours[term]
        if term in BONDED:
            assert abs(got - expect) <= max(1e-5 * abs(expect), 1e-3), (term, got, expect)
        elif term in ("LJ (SR)", "Coulomb (SR)", "Disper. corr."):
            assert got == pytest.approx(expect, rel=1e-4, abs=1e-6), (term, got, expect)
        elif term == "Coul. recip.":
            assert got == pytest.approx(expect, rel=2e-3, abs=0.5), (term, got, expect)
        elif term == "Potential":
            assert got == pytest.approx(expect, rel=5e-4 if pme else 1e-4), (term, got, expect)


@needs_gmx
@pytest.mark.parametrize("name", sorted(INPUTS))
def test_gmx_d_accepts_export_of_gromacs_inputs(name, tmp_path):
    system, state, settings = load_inputs(name)
    to_gromacs(system, state, settings, tmp_path)
    theirs = gmx_energies(tmp_path)
    assert_matches_gromacs(energies(system, state), theirs)
    # and gmx_d gives what it gave for the original inputs
    ref = json.loads((INPUTS[name][0] / "reference.json").read_text())["terms"]
    for term, e in ref.items():
        assert theirs[term] == pytest.approx(e, rel=1e-6, abs=1e-6), (term, theirs[term], e)


@needs_gmx
@pytest.mark.parametrize("build", [lj_fluid, dimers], ids=["lj_fluid", "dimers"])
def test_gmx_d_accepts_export_of_python_built_system(build, tmp_path):
    system, state = build()
    to_gromacs(system, state, None, tmp_path)
    assert_matches_gromacs(energies(system, state), gmx_energies(tmp_path))


# ------------------------------------------------------------------------ OpenMM
def _context_terms(omm_system, state, openmm):
    from mdzoom.core.openmm_export import openmm_energy_terms

    ctx = openmm.Context(omm_system, openmm.VerletIntegrator(0.001),
                         openmm.Platform.getPlatformByName("Reference"))
    ctx.setPeriodicBoxVectors(*[openmm.Vec3(*map(float, r)) for r in state.box])
    ctx.setPositions(np.asarray(state.positions))
    return openmm_energy_terms(ctx)


@pytest.mark.parametrize("which", ["lj_fluid", "dimers", "martini_popc", "mixed_aa_cg"])
def test_openmm_files_match_to_openmm_and_mdzoom(which, tmp_path):
    openmm = pytest.importorskip("openmm")
    from mdzoom.core.export import to_openmm_files
    from mdzoom.core.openmm_export import to_openmm

    system, state = {"lj_fluid": lj_fluid, "dimers": dimers}[which]() \
        if which in ("lj_fluid", "dimers") else load_inputs(which)[:2]
    omm, sim = to_openmm_files(system, state, tmp_path / "system.xml", platform="Reference",
                               separate_dispersion=True)
    assert isinstance(omm, openmm.System) and sim.system is omm
    pdb = openmm.app.PDBFile(str(tmp_path / "system.pdb"))
    assert pdb.topology.getNumAtoms() == system.n_particles
    xml = openmm.XmlSerializer.deserialize((tmp_path / "system.xml").read_text())
    from_xml = _context_terms(xml, state, openmm)
    direct = _context_terms(to_openmm(system, state, separate_dispersion=True)[0], state,
                            openmm)
    assert from_xml == pytest.approx(direct, rel=1e-12, abs=1e-9)
    ours = energies(system, state)
    coulomb = ("Coulomb (SR)", "Coul. recip.")
    if "Coul. recip." in ours:
        # PME: OpenMM splits real/reciprocal space differently, has order-5 splines and no
        # real-space shift (tests/plugins/allatom/test_openmm_export.py); compare the sum
        scale = abs(ours["Coulomb (SR)"]) + abs(ours["Coul. recip."])
        total = sum(from_xml[t] - ours[t] for t in coulomb)
        assert abs(total) < 2e-4 * scale
        assert abs(from_xml["Potential"] - ours["Potential"]) < 2e-4 * scale
    else:
        # OpenMM's dispersion-correction integral is single precision (~5e-7)
        assert from_xml["Potential"] == pytest.approx(ours["Potential"], rel=1e-6)
    for term, e in ours.items():
        if "Coul. recip." in ours and term in (*coulomb, "Potential"):
            continue
        assert from_xml[term] == pytest.approx(e, rel=1e-6, abs=1e-6), (term, from_xml[term], e)


def test_openmm_unknown_platform_is_named(tmp_path):
    openmm = pytest.importorskip("openmm")
    from mdzoom.core.export import to_openmm_files

    system, state = lj_fluid()
    names = [openmm.Platform.getPlatform(k).getName()
             for k in range(openmm.Platform.getNumPlatforms())]
    if "CUDA" in names:
        pytest.skip("this machine has OpenMM's CUDA platform")
    with pytest.raises(ValueError, match="no platform 'CUDA'.*available: .*Reference.*GPU"):
        to_openmm_files(system, state, tmp_path / "system.xml", platform="CUDA")


def test_cli_export_openmm(tmp_path, capsys):
    pytest.importorskip("openmm")
    folder, top, gro = INPUTS["martini_popc"]
    xml = tmp_path / "omm" / "system.xml"
    assert main(["export", "-p", str(folder / top), "-c", str(folder / gro), "-f",
                 str(folder / "run.mdp"), "--to", "openmm", "-o", str(xml)]) == 0
    assert xml.exists() and xml.with_suffix(".pdb").exists()
    assert "system.xml" in capsys.readouterr().out
