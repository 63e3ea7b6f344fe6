"""Martini 3 water (10,648 W beads, 20 fs): mdzoom beside GROMACS and OpenMM, same run.

System (built at benchmark time in a temporary directory, the same files for all three
engines): ``gmx insert-molecules`` puts 10,648 single-bead W molecules at random into a
cube of 10.838 nm (≈ 1,000 kg/m³), steepest descent removes the overlaps, and GROMACS
equilibrates it (``--equil-ps``, default 100 ps: V-rescale 300 K, τ_T 1 ps; C-rescale
1 bar, τ_p 4 ps, 4.5e-5 bar⁻¹; 20 fs). Its ``confout`` (positions and velocities, box
≈ 10.89 nm) starts every engine. Force field: ``martini_v3.0.0.itp`` (W–W from its
``[ nonbond_params ]``: σ = 0.47 nm, ε = 4.65 kJ/mol) and the W molecule of
``martini_v3.0.0_solvents_v1.itp`` (one bead, type W, no charge; copied into a small
.itp so that the readers need not parse the other solvents).

Settings (the standard Martini 3 ones): dt 0.02 ps, reaction field ε_r 15, ε_rf 0 (= ∞),
rcoulomb = rvdw = 1.1 nm, LJ potential-shift, NVE for the timings.

- mdzoom: ``load_gromacs(top, gro, mdp)`` (W has no charge, so the non-bonded force is
  plain shifted LJ of one type: ``_pair_kernels.lj1_forces``), ``VelocityVerlet(dt=0.02)``
  with a Verlet list of skin ``--skin`` (default 0.2 nm), rebuilt when a bead moved
  skin/2 (exact: no pair within rc is ever missed); energies only at the last step.
- OpenMM: ``GromacsTopFile`` of the same parameters (a copy whose ``[ defaults ]`` line
  has the five fields OpenMM's reader insists on; it turns ``[ nonbond_params ]`` into
  a tabulated ``CustomNonbondedForce`` beside a zero-charge ``NonbondedForce``),
  ``CutoffPeriodic`` 1.1 nm, long-range dispersion corrections off (Martini uses none),
  ``CMMotionRemover`` every 100 steps, ``VerletIntegrator``, CPU platform, ``Threads``.
  OpenMM's plain cutoff does not shift the LJ energy (timing unaffected).
  ``openmm_plain``: the same with the two non-bonded forces replaced by one
  ``NonbondedForce`` of W's σ, ε (OpenMM's fastest CPU path; ``ratio_openmm`` is
  against the faster of the two).
- GROMACS 2022 (mixed precision): ``nstlist 20`` and the default
  ``verlet-buffer-tolerance`` 0.005 kJ/mol/ps (mdrun then picks its own outer list and
  dynamic pruning), ``nstcalcenergy 100``, ``gmx mdrun -ntmpi 1 -ntomp T -nb cpu -pin
  on -resethway``; ns/day from md.log.

Figures: million particle-steps per second and ns/day of the timed run (numba
compilation, context creation and mdrun set-up excluded) at each thread count. NVE
energy drift (``--drift-steps``, default 10,000 steps = 200 ps, after 500 steps): slope
of a least-squares line through the total energy sampled every 100
steps, in kJ/mol/ns per bead, for mdzoom and GROMACS (mixed precision, its defaults).

Usage: ``python benchmarks/martini.py [--steps 1000] [--threads 1,2] [--skin 0.2]
[--json]``; ``--skin-scan 0.1,0.15,0.2,0.25,0.3`` also times mdzoom at those skins.
With ``--json`` the last line is one JSON object: ``mdzoom``, ``gromacs``, ``openmm``
(million particle-steps/s at the largest thread count), ``metric``, ``unit``, ``ratio``
= mdzoom/gromacs, ``ratio_openmm``, ns/day, per-thread figures, drifts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _reference_engines import run_gmx  # noqa: E402

N_BEADS = 10_648
BOX = 10.838                 # nm: 10,648 × 72 u at 1,000 kg/m³
DT = 0.02
GMX = os.environ.get("GMX", "gmx")
MARTINI_DIR = Path(os.environ.get("MARTINI3_DIR", "/work/shared/data/martini3"))
FF_ITP = "martini_v3.0.0.itp"
W_ITP = """; the W molecule of martini_v3.0.0_solvents_v1.itp (water, 4 molecules per bead)
[ moleculetype ]
; molname  nrexcl
  W        1

[ atoms ]
;id  type  resnr  residu  atom  cgnr  charge
 1    W     1      W       W     1     0
"""

MDP_COMMON = """cutoff-scheme = Verlet
nstlist = 20
verlet-buffer-tolerance = 0.005
coulombtype = reaction-field
rcoulomb = 1.1
epsilon_r = 15
epsilon_rf = 0
vdw_type = cutoff
vdw-modifier = Potential-shift
rvdw = 1.1
nstcalcenergy = 100
"""


def _gmx(args, cwd, stdin=None):
    return run_gmx(args, cwd, stdin, exe=GMX)


def _openmm_top(ff_path):
    """The same W parameters for OpenMM's reader: ``[ defaults ]`` with five fields."""
    atomtype = nb = None
    with open(ff_path) as fh:
        for line in fh:
            tok = line.split(";")[0].split()
            if len(tok) == 6 and tok[0] == "W" and atomtype is None:
                atomtype = " ".join(tok)
            elif len(tok) == 5 and tok[0] == "W" and tok[1] == "W":
                nb = " ".join(tok)
    if atomtype is None or nb is None:
        raise RuntimeError(f"no W atom type / W-W nonbond_params in {ff_path}")
    return (f"[ defaults ]\n1 2 no 1.0 1.0\n\n[ atomtypes ]\n{atomtype}\n\n"
            f"[ nonbond_params ]\n{nb}\n\n{W_ITP}\n[ system ]\nMartini 3 water\n\n"
            f"[ molecules ]\nW {N_BEADS}\n")


def prepare(tmp, equil_ps=100.0, seed=7):
    """Insert, minimise, equilibrate in GROMACS; returns (top, gro, mdp, openmm_top)."""
    tmp = Path(tmp)
    shutil.copy(MARTINI_DIR / FF_ITP, tmp / FF_ITP)
    (tmp / "w.itp").write_text(W_ITP)
    (tmp / "topol.top").write_text(f'#include "{FF_ITP}"\n#include "w.itp"\n\n[ system ]\n'
                                   f"Martini 3 water\n\n[ molecules ]\nW {N_BEADS}\n")
    (tmp / "omm.top").write_text(_openmm_top(tmp / FF_ITP))
    (tmp / "w1.gro").write_text("W\n1\n    1W        W    1   0.000   0.000   0.000\n"
                                "   1.00000   1.00000   1.00000\n")
    _gmx(["insert-molecules", "-ci", "w1.gro", "-nmol", str(N_BEADS), "-box", str(BOX),
          str(BOX), str(BOX), "-seed", str(seed), "-try", "50", "-o", "ins.gro"], tmp)
    n = int((tmp / "ins.gro").read_text().splitlines()[1])
    if n != N_BEADS:
        raise RuntimeError(f"gmx insert-molecules placed {n} of {N_BEADS} beads")
    (tmp / "em.mdp").write_text(MDP_COMMON + "integrator = steep\nnsteps = 1000\n"
                                "emtol = 100\n")
    _gmx(["grompp", "-f", "em.mdp", "-c", "ins.gro", "-p", "topol.top", "-o", "em.tpr"], tmp)
    _gmx(["mdrun", "-s", "em.tpr", "-deffnm", "em", "-nb", "cpu", "-ntmpi", "1"], tmp)
    nsteps = int(round(equil_ps / DT))
    (tmp / "eq.mdp").write_text(MDP_COMMON + f"""integrator = md
dt = {DT}
nsteps = {nsteps}
tcoupl = v-rescale
tc-grps = System
tau-t = 1.0
ref-t = 300
pcoupl = c-rescale
tau-p = 4.0
ref-p = 1.0
compressibility = 4.5e-5
gen-vel = yes
gen-temp = 300
gen-seed = {seed}
""")
    _gmx(["grompp", "-f", "eq.mdp", "-c", "em.gro", "-p", "topol.top", "-o", "eq.tpr",
          "-maxwarn", "1"], tmp)
    _gmx(["mdrun", "-s", "eq.tpr", "-deffnm", "eq", "-nb", "cpu", "-ntmpi", "1"], tmp)
    (tmp / "run.mdp").write_text(MDP_COMMON + f"integrator = md\ndt = {DT}\nnsteps = 0\n")
    return tmp / "topol.top", tmp / "eq.gro", tmp / "run.mdp", tmp / "omm.top"


BILAYER_DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "martini"
BILAYER_NBOX = (2, 4, 1)          # 64-lipid patch (6.5 × 3.25 nm) → 13.0 × 13.0 nm, 512 POPC


def prepare_bilayer(tmp, equil_ps=20.0, seed=7):
    """The tests' equilibrated 64-POPC Martini 3 bilayer (tests/data/martini, made by
    make_bilayer.py) replicated ``BILAYER_NBOX`` with ``gmx genconf``, then 20 ps NVT
    (V-rescale 300 K, velocities generated) in GROMACS; returns (top, gro, mdp, omm_top).
    OpenMM reads the same processed topology (its [ nonbond_params ] become a tabulated
    ``CustomNonbondedForce``)."""
    tmp = Path(tmp)
    nx, ny, nz = BILAYER_NBOX
    _gmx(["genconf", "-f", str(BILAYER_DATA / "conf.gro"), "-nbox", str(nx), str(ny),
          str(nz), "-o", "big.gro"], tmp)
    reps = nx * ny * nz
    text = (BILAYER_DATA / "processed.top").read_text()
    head, _, mols = text.partition("[ molecules ]")
    lines = [ln for ln in mols.splitlines() if ln.split() and not ln.startswith(";")]
    # genconf repeats the whole box, so the molecule blocks repeat in the same order
    body = "\n".join(lines) + "\n"
    (tmp / "topol.top").write_text(head + "[ molecules ]\n" + body * reps)
    # OpenMM's reader wants all five [ defaults ] fields
    (tmp / "omm.top").write_text(re.sub(r"(\[ defaults \]\s*\n)\s*1\s+2\b[^\n]*",
                                        r"\g<1>1 2 no 1.0 1.0",
                                        (tmp / "topol.top").read_text(), count=1))
    nsteps = int(round(equil_ps / DT))
    (tmp / "eq.mdp").write_text(MDP_COMMON + f"""integrator = md
dt = {DT}
nsteps = {nsteps}
tcoupl = v-rescale
tc-grps = System
tau-t = 1.0
ref-t = 300
gen-vel = yes
gen-temp = 300
gen-seed = {seed}
""")
    _gmx(["grompp", "-f", "eq.mdp", "-c", "big.gro", "-p", "topol.top", "-o", "eq.tpr",
          "-maxwarn", "1"], tmp)
    _gmx(["mdrun", "-s", "eq.tpr", "-deffnm", "eq", "-nb", "cpu", "-ntmpi", "1"], tmp)
    (tmp / "run.mdp").write_text(MDP_COMMON + f"integrator = md\ndt = {DT}\nnsteps = 0\n")
    return tmp / "topol.top", tmp / "eq.gro", tmp / "run.mdp", tmp / "omm.top"


def _n_particles(gro):
    return int(Path(gro).read_text().splitlines()[1])


def _rates(n, steps, wall):
    return {"wall_s": wall, "ms_per_step": wall / steps * 1e3,
            "particle_steps_per_s": n * steps / wall / 1e6,
            "ns_per_day": steps * DT / 1000.0 / wall * 86400.0}


def _drift(times_ps, energies, n):
    t = np.asarray(times_ps, dtype=float)
    e = np.asarray(energies, dtype=float)
    slope, icpt = np.polyfit(t, e, 1)
    return {"drift_kj_mol_ns_per_bead": float(slope * 1000.0 / n),
            "rms_about_fit_kj_mol_per_bead": float(np.std(e - (slope * t + icpt)) / n),
            "span_ps": float(t[-1] - t[0])}


# ----------------------------------------------------------------------------- mdzoom
def mdzoom_run(top, gro, mdp, threads, steps, skin, drift_steps=0, settle_steps=500):
    import numba

    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs

    numba.set_num_threads(threads)
    system, state, _ = load_gromacs(top, gro, mdp)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=DT), state, seed=1, skin=skin)
    t0 = time.perf_counter()
    sim.run(20, progress=False)                # compiles (or loads the numba cache)
    compile_s = time.perf_counter() - t0
    b0 = sim.neighbours.n_builds
    t0 = time.perf_counter()
    sim.run(steps, progress=False)
    wall = time.perf_counter() - t0
    n = system.n_particles
    out = {"threads": threads, "steps": steps, "skin": skin, "n_particles": n,
           "compile_s": compile_s, "list_builds": sim.neighbours.n_builds - b0,
           "temperature": sim.temperature(), **_rates(n, steps, wall)}
    if drift_steps:
        sim.run(settle_steps, progress=False)
        rec = mz.EnergyRecorder(every=100)
        sim.outputs.append(rec)
        sim.run(drift_steps, progress=False)
        r = rec.results
        out["drift"] = _drift(r["time"], r["Total Energy"], n)
        out["drift"]["temperature"] = float(np.mean(r["Temperature"]))
    return out


# ----------------------------------------------------------------------------- OpenMM
def _w_sigma_epsilon(omm_top):
    """(σ [nm], ε [kJ/mol]) of the W–W ``[ nonbond_params ]`` line of ``omm_top``."""
    for line in Path(omm_top).read_text().splitlines():
        tok = line.split(";")[0].split()
        if len(tok) == 5 and tok[:3] == ["W", "W", "1"]:
            return float(tok[3]), float(tok[4])
    raise RuntimeError(f"no W W nonbond_params in {omm_top}")


def _gro_velocities(gro):
    lines = Path(gro).read_text().splitlines()
    n = int(lines[1])
    return np.array([[float(ln[44:52]), float(ln[52:60]), float(ln[60:68])]
                     for ln in lines[2:2 + n]])


def openmm_run(omm_top, gro, threads, steps, plain=False):
    """``plain=False``: the System ``GromacsTopFile`` makes. ``plain=True``: its
    ``CustomNonbondedForce`` (tabulated ``[ nonbond_params ]``) and zero-charge
    ``NonbondedForce`` replaced by one ``NonbondedForce`` with W's σ, ε (the same LJ;
    OpenMM's fastest CPU path)."""
    import openmm as mm
    from openmm import app, unit

    g = app.GromacsGroFile(str(gro))
    t = app.GromacsTopFile(str(omm_top), periodicBoxVectors=g.getPeriodicBoxVectors())
    system = t.createSystem(nonbondedMethod=app.CutoffPeriodic,
                            nonbondedCutoff=1.1 * unit.nanometer)
    for f in system.getForces():          # Martini's RF: ε_r 15 (charges / √15), ε_rf ∞
        if isinstance(f, mm.NonbondedForce):
            f.setReactionFieldDielectric(1e10)
            for k in range(f.getNumParticles()):
                q, sig, eps = f.getParticleParameters(k)
                f.setParticleParameters(k, q / 15 ** 0.5, sig, eps)
            for k in range(f.getNumExceptions()):
                i, j, qq, sig, eps = f.getExceptionParameters(k)
                f.setExceptionParameters(k, i, j, qq / 15.0, sig, eps)
    if plain:
        for k in reversed(range(system.getNumForces())):
            if isinstance(system.getForce(k), (mm.NonbondedForce, mm.CustomNonbondedForce)):
                system.removeForce(k)
        sig, eps = _w_sigma_epsilon(omm_top)
        nb = mm.NonbondedForce()
        nb.setNonbondedMethod(mm.NonbondedForce.CutoffPeriodic)
        nb.setCutoffDistance(1.1)
        nb.setUseDispersionCorrection(False)
        for _ in range(system.getNumParticles()):
            nb.addParticle(0.0, sig, eps)
        system.addForce(nb)
    kinds = []
    for f in system.getForces():
        kinds.append(type(f).__name__)
        if isinstance(f, mm.NonbondedForce):
            f.setUseDispersionCorrection(False)
        elif isinstance(f, mm.CustomNonbondedForce):
            f.setUseLongRangeCorrection(False)
        elif isinstance(f, mm.CMMotionRemover):
            f.setFrequency(100)
    integ = mm.VerletIntegrator(DT * unit.picoseconds)
    ctx = mm.Context(system, integ, mm.Platform.getPlatformByName("CPU"),
                     {"Threads": str(threads)})
    ctx.setPositions(g.getPositions())
    ctx.setVelocities(_gro_velocities(gro))
    integ.step(20)
    ctx.getState(getEnergy=True)
    t0 = time.perf_counter()
    integ.step(steps)
    ctx.getState(getEnergy=True)               # waits for the steps to finish
    wall = time.perf_counter() - t0
    return {"threads": threads, "steps": steps, "forces": kinds,
            **_rates(system.getNumParticles(), steps, wall)}


# ----------------------------------------------------------------------------- GROMACS
def _nve_mdp(steps, nstenergy=1000):
    return MDP_COMMON + f"""integrator = md
dt = {DT}
nsteps = {steps}
tcoupl = no
pcoupl = no
continuation = yes
nstenergy = {nstenergy}
nstlog = {max(nstenergy, 1000)}
"""


def _mdrun(tmp, top, gro, name, threads, steps, nstenergy=1000, resethway=True):
    tmp = Path(tmp)
    (tmp / f"{name}.mdp").write_text(_nve_mdp(steps, nstenergy))
    _gmx(["grompp", "-f", f"{name}.mdp", "-c", str(gro), "-p", str(top), "-o",
          f"{name}.tpr", "-po", f"{name}_out.mdp"], tmp)
    args = ["mdrun", "-s", f"{name}.tpr", "-deffnm", name, "-nt", str(threads), "-ntmpi",
            "1", "-ntomp", str(threads), "-nb", "cpu", "-pin", "on"]
    _gmx(args + (["-resethway"] if resethway else []), tmp)
    return (tmp / f"{name}.log").read_text()


def gromacs_run(tmp, top, gro, threads, steps):
    n_beads = _n_particles(gro)
    log = _mdrun(tmp, top, gro, f"nve{threads}", threads, steps)
    perf = float(re.search(r"^Performance:\s+(\S+)", log, re.M).group(1))
    steps_per_s = perf * 1000.0 / DT / 86400.0
    outer = re.search(r"outer list: updated every\s+(\d+) steps, buffer ([\d.]+) nm, "
                      r"rlist ([\d.]+) nm", log)
    inner = re.search(r"inner list: updated every\s+(\d+) steps, buffer ([\d.]+) nm, "
                      r"rlist ([\d.]+) nm", log)
    return {"threads": threads, "steps": steps, "ns_per_day": perf,
            "particle_steps_per_s": n_beads * steps_per_s / 1e6,
            "ms_per_step": 1e3 / steps_per_s,
            "outer_list": outer.group(0) if outer else None,
            "inner_list": inner.group(0) if inner else None}


def gromacs_drift(tmp, top, gro, threads, steps, settle_steps=500):
    """NVE drift of GROMACS's total energy (mixed precision, default buffer)."""
    tmp = Path(tmp)
    _mdrun(tmp, top, gro, "settle", threads, settle_steps, resethway=False)
    _mdrun(tmp, top, tmp / "settle.gro", "drift", threads, steps, nstenergy=100,
           resethway=False)
    _gmx(["energy", "-f", "drift.edr", "-o", "drift.xvg"], tmp, stdin="Total-Energy\n\n")
    rows = [ln.split() for ln in (tmp / "drift.xvg").read_text().splitlines()
            if ln and ln[0] not in "#@"]
    data = np.array(rows, dtype=float)
    return _drift(data[:, 0], data[:, 1], _n_particles(gro))


# ----------------------------------------------------------------------------- main
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=1000, help="timed steps (mdzoom, OpenMM)")
    p.add_argument("--gmx-steps", type=int, default=10000)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--skin", type=float, default=0.2, help="mdzoom Verlet skin [nm]")
    p.add_argument("--skin-scan", default="", help="comma-separated skins to time too")
    p.add_argument("--equil-ps", type=float, default=100.0)
    p.add_argument("--drift", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--drift-steps", type=int, default=10000)
    p.add_argument("--no-reference", action="store_true", help="mdzoom only")
    p.add_argument("--system", choices=("water", "bilayer"), default="water",
                   help="water: 10,648 W beads; bilayer: 512 POPC + 11,712 W (17,856 beads)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    bilayer = args.system == "bilayer"
    counts = [int(t) for t in args.threads.split(",")]
    have_openmm = not args.no_reference
    try:
        import openmm  # noqa: F401
    except ImportError:
        have_openmm = False
    have_gmx = not args.no_reference and shutil.which(GMX) is not None
    if shutil.which(GMX) is None:
        raise SystemExit("this benchmark builds its system with GROMACS: gmx not found")

    rows, scan, drift = {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="martini_") as tmp:
        if bilayer:
            top, gro, mdp, omm_top = prepare_bilayer(tmp)
        else:
            top, gro, mdp, omm_top = prepare(tmp, args.equil_ps)
        n_beads = _n_particles(gro)
        label = (f"{n_beads:,} beads: 512 POPC + W bilayer, Martini 3" if bilayer
                 else f"{n_beads:,} Martini 3 W beads")
        for t in counts:
            row = {"mdzoom": mdzoom_run(top, gro, mdp, t, args.steps, args.skin)}
            if have_gmx:
                row["gromacs"] = gromacs_run(tmp, top, gro, t, args.gmx_steps)
            if have_openmm:
                row["openmm"] = openmm_run(omm_top, gro, t, args.steps)
                if not bilayer:      # one bead type: one plain NonbondedForce is the same
                    row["openmm_plain"] = openmm_run(omm_top, gro, t, args.steps, plain=True)
            rows[t] = row
            print(f"\n== {t} thread(s), {label}, 20 fs, RF, rc 1.1 nm ==")
            for name, r in row.items():
                extra = ""
                if name == "mdzoom":
                    extra = (f"  (skin {r['skin']} nm: {r['list_builds']} list builds in "
                             f"{r['steps']} steps; compile/cache load {r['compile_s']:.1f} s)")
                elif name == "gromacs" and r.get("outer_list"):
                    extra = f"  ({r['outer_list']}; {r['inner_list']})"
                print(f"  {name:8s} {r['particle_steps_per_s']:6.2f} M particle-steps/s "
                      f"{r['ns_per_day']:8.1f} ns/day{extra}")
            for ref in ("gromacs", "openmm", "openmm_plain"):
                if ref in row:
                    ratio = row["mdzoom"]["ns_per_day"] / row[ref]["ns_per_day"]
                    print(f"  ratio mdzoom/{ref}: {ratio:.2f}")
        if args.skin_scan:
            tmax = max(counts)
            print(f"\n== mdzoom skin scan, {tmax} thread(s) ==")
            for skin in (float(s) for s in args.skin_scan.split(",")):
                r = mdzoom_run(top, gro, mdp, tmax, args.steps, skin)
                scan[str(skin)] = {k: r[k] for k in ("particle_steps_per_s", "ns_per_day",
                                                     "list_builds")}
                print(f"  skin {skin:5.3f} nm: {r['particle_steps_per_s']:6.2f} M "
                      f"particle-steps/s, {r['list_builds']} builds / {args.steps} steps")
        if args.drift:
            tmax = max(counts)
            drift["mdzoom"] = mdzoom_run(top, gro, mdp, tmax, 100, args.skin,
                                         args.drift_steps)["drift"]
            if have_gmx:
                drift["gromacs"] = gromacs_drift(tmp, top, gro, tmax, args.drift_steps)
            print(f"\n== NVE energy drift, {args.drift_steps} steps "
                  f"({args.drift_steps * DT:.0f} ps) after 500 ==")
            for name, d in drift.items():
                print(f"  {name:8s} {d['drift_kj_mol_ns_per_bead']:+.4f} kJ/mol/ns per bead"
                      f" (RMS about fit {d['rms_about_fit_kj_mol_per_bead']:.1e} kJ/mol "
                      f"per bead)")

    top_row = rows[max(counts)]
    summary = {"metric": f"Martini 3 throughput ({label}, 20 fs)",
               "unit": "million particle-steps/s", "threads": max(counts),
               "skin": args.skin}
    for name in ("mdzoom", "gromacs", "openmm"):
        if name in top_row:
            summary[name] = round(top_row[name]["particle_steps_per_s"], 3)
    if "gromacs" in summary:
        summary["ratio"] = round(summary["mdzoom"] / summary["gromacs"], 3)
    if "openmm" in summary:
        best = summary["openmm"]
        if "openmm_plain" in top_row:
            summary["openmm_plain"] = round(top_row["openmm_plain"]["particle_steps_per_s"],
                                            3)
            best = max(best, summary["openmm_plain"])
        summary["ratio_openmm"] = round(summary["mdzoom"] / best, 3)
    summary["ns_per_day"] = {k: round(r["ns_per_day"], 1) for k, r in top_row.items()}
    summary["per_threads"] = {
        str(t): {k: {"particle_steps_per_s": round(r["particle_steps_per_s"], 3),
                     "ns_per_day": round(r["ns_per_day"], 1)} for k, r in row.items()}
        for t, row in rows.items()}
    summary["mdzoom_list_builds_per_1000_steps"] = round(
        1000 * top_row["mdzoom"]["list_builds"] / top_row["mdzoom"]["steps"], 1)
    if scan:
        summary["mdzoom_skin_scan"] = scan
    if drift:
        summary["nve_drift_kj_mol_ns_per_bead"] = {
            k: float(f"{d['drift_kj_mol_ns_per_bead']:.3e}") for k, d in drift.items()}
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
