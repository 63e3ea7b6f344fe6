"""Rigid TIP3P water with PME: mdzoom beside OpenMM (CPU platform) and GROMACS, same run.

System (built at benchmark time in a temporary directory, the same files for all three
engines): ``gmx solvate -cs spc216.gro -box 4.7 4.7 4.7`` → 3,385 TIP3P waters (10,155
atoms), amber99sb-ildn.ff/tip3p.itp (OW σ = 0.315061 nm, ε = 0.636386 kJ/mol, q_O =
−0.834, q_H = 0.417, SETTLE d_OH = 0.09572, d_HH = 0.15139 nm, masses 16.00 / 1.008 as
the .itp writes them). GROMACS equilibrates it first (v-rescale 300 K, 2 fs, ``--equil-ps``)
and its ``confout.gro`` (positions and velocities) starts every engine.

Settings: PME, rc = 1.0 nm (LJ and real space), 2 fs, NVE.

- mdzoom: ``load_gromacs(top, gro, mdp)`` (coulombtype PME, ewald-rtol 1e-5,
  fourierspacing 0.12, pme-order 4, vdw potential-shift, DispCorr EnerPres; settles →
  SETTLE), ``VelocityVerlet(dt=0.002)``, default skin; 200 Langevin steps to re-settle
  the 3-decimal .gro, then the timed NVE run.
- OpenMM: ``GromacsTopFile``/``GromacsGroFile`` of the same files, PME with
  ``ewaldErrorTolerance`` 5e-4 (OpenMM's default), rc 1.0 nm, plain LJ cutoff with its
  default dispersion correction, ``rigidWater``, ``VerletIntegrator`` 2 fs, CPU platform
  with ``Threads`` = 1 or 2.
- GROMACS: ``gmx grompp`` + ``gmx mdrun -nt T -ntmpi 1 -ntomp T -nb cpu -pin on`` (mixed
  precision), ``nstlist 10`` with the default ``verlet-buffer-tolerance`` 0.005 kJ/mol/ps,
  PME ewald-rtol 1e-5, NVE; ``-resethway`` so setup is excluded; ns/day from md.log.

Only steady-state steps are timed (numba compilation, context creation and mdrun setup
excluded). ``--drift`` also measures NVE energy drift (kJ/mol/ns per molecule, linear
fit of the total energy) for mdzoom and OpenMM over ``--drift-steps`` steps.

Usage: ``python benchmarks/water_pme.py [--steps 200] [--threads 1,2] [--json]``. With
``--json`` the last line is one JSON object: ``mdzoom``, ``openmm``, ``gromacs`` (ns/day at
the largest thread count), ``metric``, ``unit``, ``ratio`` = mdzoom/openmm,
``ratio_gromacs``, per-thread details and drifts.
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

BOX = 4.7
DT = 0.002
GMX = os.environ.get("GMX", "gmx")
GMX_TOP = "/usr/share/gromacs/top"

TOP = """#include "amber99sb-ildn.ff/forcefield.itp"
#include "amber99sb-ildn.ff/tip3p.itp"

[ system ]
TIP3P water, PME benchmark

[ molecules ]
"""

MDP_COMMON = """cutoff-scheme = Verlet
coulombtype = PME
rcoulomb = 1.0
rvdw = 1.0
vdw-modifier = Potential-shift
DispCorr = EnerPres
fourierspacing = 0.12
pme-order = 4
ewald-rtol = 1e-5
nstlist = 10
dt = 0.002
"""


def _gmx(args, cwd, stdin=None):
    return run_gmx(args, cwd, stdin, exe=GMX)


def prepare(tmp, equil_ps=4.0):
    """Solvate, equilibrate in GROMACS; returns paths (top, gro, mdp) in ``tmp``."""
    tmp = Path(tmp)
    (tmp / "topol.top").write_text(TOP)
    _gmx(["solvate", "-cs", "spc216.gro", "-box", str(BOX), str(BOX), str(BOX),
          "-o", "solv.gro", "-p", "topol.top"], tmp)
    nsteps = int(round(equil_ps / DT))
    (tmp / "eq.mdp").write_text(MDP_COMMON + f"""integrator = md
nsteps = {nsteps}
tcoupl = v-rescale
tc-grps = System
tau-t = 0.1
ref-t = 300
gen-vel = yes
gen-temp = 300
gen-seed = 2024
""")
    _gmx(["grompp", "-f", "eq.mdp", "-c", "solv.gro", "-p", "topol.top", "-o", "eq.tpr",
          "-maxwarn", "2"], tmp)
    _gmx(["mdrun", "-s", "eq.tpr", "-deffnm", "eq", "-nb", "cpu", "-ntmpi", "1"], tmp)
    (tmp / "run.mdp").write_text(MDP_COMMON + "integrator = md\nnsteps = 0\n")
    return tmp / "topol.top", tmp / "eq.gro", tmp / "run.mdp"


def _ns_per_day(steps, wall):
    return steps * DT / 1000.0 / wall * 86400.0


def _drift(times_ps, energies, n_mol):
    slope = np.polyfit(np.asarray(times_ps), np.asarray(energies), 1)[0]
    return float(slope * 1000.0 / n_mol)      # kJ/mol/ns per molecule


# ----------------------------------------------------------------------------- mdzoom
def mdzoom_run(top, gro, mdp, threads, steps, drift_steps=0, coupling_steps=0):
    import numba

    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs

    numba.set_num_threads(threads)
    system, state, _ = load_gromacs(top, gro, mdp, include_dirs=[GMX_TOP])
    eq = mz.Simulation(system, mz.LangevinBAOAB(dt=DT, temperature=300.0, friction=5.0),
                       state, seed=1)
    t0 = time.perf_counter()
    eq.run(200, progress=False)               # compiles; re-settles the 3-decimal .gro
    compile_s = time.perf_counter() - t0
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=DT), eq.state, seed=1)
    sim.run(10, progress=False)
    t0 = time.perf_counter()
    sim.run(steps, progress=False)
    wall = time.perf_counter() - t0
    out = {"threads": threads, "steps": steps, "wall_s": wall,
           "ns_per_day": _ns_per_day(steps, wall), "ms_per_step": wall / steps * 1e3,
           "compile_s": compile_s, "n_atoms": system.n_particles,
           "temperature": sim.temperature()}
    if coupling_steps:
        out.update(_coupling_overhead(mz, system, sim, coupling_steps))
    if drift_steps:
        rec = mz.EnergyRecorder(every=20)
        sim.outputs.append(rec)
        sim.run(drift_steps, progress=False)
        r = rec.results
        out["drift_kj_mol_ns_per_molecule"] = _drift(r["time"], r["Total Energy"],
                                                     system.n_particles // 3)
        out["drift_temperature"] = float(np.mean(r["Temperature"]))
    return out


def _coupling_overhead(mz, system, nve, steps, repeats=4):
    """Cost of V-rescale (tau-t 0.1 ps) + C-rescale (tau-p 5 ps, 1 bar) against NVE, at
    the default nstpcouple (min(100, tau-p/(25 dt)) = 100) and at GROMACS 2022's 10.

    Two figures each: ``wall`` = (NPT time / NVE time − 1), best of ``repeats``
    interleaved runs (noisy on a shared 2-core machine: ± a few %), and ``parts`` = the
    extra time of one coupling step (virial and energy pass, scaling, the force
    evaluation after it), timed directly, divided by nstpcouple and by an NVE step."""
    out = {}
    for label, nst in (("default", -1), ("nstpcouple_10", 10)):
        integ = mz.VelocityVerlet(dt=DT, thermostat=mz.VRescale(300.0, tau=0.1),
                                  barostat=mz.CRescale(1.0, tau=5.0, compressibility=4.5e-5,
                                                       nstpcouple=nst))
        npt = mz.Simulation(system, integ, nve.state.copy(), seed=1)
        n = npt.stepper.barostat.nst
        run_steps = max(steps // n, 1) * n
        npt.run(n, progress=False)
        walls = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            npt.run(run_steps, progress=False)
            walls.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            nve.run(run_steps, progress=False)
            walls.append(time.perf_counter() - t0)
        nve_step = min(walls[1::2]) / run_steps
        # one coupling step against a plain one, timed alone (best of `repeats`)
        ev, ba, st = npt.evaluator, npt.stepper.barostat, npt.state
        extra = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            ev.compute(st, virial=True, energy=True)
            ba.couple(st, ev.virial, 1)
            ba.mu[:] = 1.0                       # time the scaling without moving the box
            ba.apply(st, ev)
            t1 = time.perf_counter()
            ev.compute(st)
            t2 = time.perf_counter()
            extra.append((t1 - t0) - (t2 - t1))
        out[f"coupling_overhead_{label}"] = {
            "nstpcouple": n, "wall": min(walls[0::2]) / min(walls[1::2]) - 1.0,
            "parts": min(extra) / n / nve_step}
    return out


# ----------------------------------------------------------------------------- OpenMM
def openmm_run(top, gro, threads, steps, drift_steps=0):
    import openmm as mm
    from openmm import app, unit

    g = app.GromacsGroFile(str(gro))
    t = app.GromacsTopFile(str(top), periodicBoxVectors=g.getPeriodicBoxVectors(),
                           includeDir=GMX_TOP)
    system = t.createSystem(nonbondedMethod=app.PME, nonbondedCutoff=1.0 * unit.nanometer,
                            ewaldErrorTolerance=5e-4, rigidWater=True)
    integ = mm.VerletIntegrator(DT * unit.picoseconds)
    plat = mm.Platform.getPlatformByName("CPU")
    ctx = mm.Context(system, integ, plat, {"Threads": str(threads)})
    ctx.setPositions(g.getPositions())
    ctx.setVelocities(_gro_velocities(gro))
    ctx.applyConstraints(1e-6)
    ctx.applyVelocityConstraints(1e-6)
    integ.step(50)
    ctx.getState(getEnergy=True)
    t0 = time.perf_counter()
    integ.step(steps)
    ctx.getState(getEnergy=True)              # waits for the steps to finish
    wall = time.perf_counter() - t0
    out = {"threads": threads, "steps": steps, "wall_s": wall,
           "ns_per_day": _ns_per_day(steps, wall), "ms_per_step": wall / steps * 1e3,
           "ewald_error_tolerance": 5e-4}
    if drift_steps:
        times, energies = [], []
        for k in range(drift_steps // 20 + 1):
            s = ctx.getState(getEnergy=True)
            times.append(k * 20 * DT)
            energies.append((s.getPotentialEnergy() + s.getKineticEnergy())
                            .value_in_unit(unit.kilojoule_per_mole))
            integ.step(20)
        out["drift_kj_mol_ns_per_molecule"] = _drift(times, energies,
                                                     system.getNumParticles() // 3)
    return out


def _gro_velocities(gro):
    lines = Path(gro).read_text().splitlines()
    n = int(lines[1])
    return np.array([[float(ln[44:52]), float(ln[52:60]), float(ln[60:68])]
                     for ln in lines[2:2 + n]])


# ----------------------------------------------------------------------------- GROMACS
def gromacs_run(tmp, top, gro, threads, steps):
    tmp = Path(tmp)
    (tmp / "nve.mdp").write_text(MDP_COMMON + f"""integrator = md
nsteps = {steps}
tcoupl = no
continuation = yes
nstcalcenergy = 100
nstenergy = 1000
""")
    _gmx(["grompp", "-f", "nve.mdp", "-c", str(gro), "-p", str(top), "-o", "nve.tpr",
          "-maxwarn", "2"], tmp)
    name = f"nve{threads}"
    _gmx(["mdrun", "-s", "nve.tpr", "-deffnm", name, "-nt", str(threads), "-ntmpi", "1",
          "-ntomp", str(threads), "-nb", "cpu", "-pin", "on", "-resethway"], tmp)
    log = (tmp / f"{name}.log").read_text()
    perf = re.search(r"^Performance:\s+(\S+)", log, re.M)
    rlist = re.search(r"rlist\s*=\s*(\S+)", log)
    return {"threads": threads, "steps": steps, "ns_per_day": float(perf.group(1)),
            "rlist": float(rlist.group(1)) if rlist else None,
            "verlet_buffer_tolerance": 0.005}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=200, help="timed steps (mdzoom, OpenMM)")
    p.add_argument("--gmx-steps", type=int, default=2000)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--equil-ps", type=float, default=4.0)
    p.add_argument("--drift", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--drift-steps", type=int, default=2500)
    p.add_argument("--no-reference", action="store_true", help="mdzoom only")
    p.add_argument("--coupling-steps", type=int, default=400,
                   help="steps to time V-rescale + C-rescale against NVE (0: skip)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    counts = [int(t) for t in args.threads.split(",")]
    have_openmm = not args.no_reference
    try:
        import openmm  # noqa: F401
    except ImportError:
        have_openmm = False
    have_gmx = not args.no_reference and shutil.which(GMX) is not None

    rows = {}
    with tempfile.TemporaryDirectory(prefix="water_pme_") as tmp:
        top, gro, mdp = prepare(tmp, args.equil_ps)
        for t in counts:
            drift = args.drift_steps if args.drift and t == max(counts) else 0
            row = {"mdzoom": mdzoom_run(top, gro, mdp, t, args.steps, drift,
                                        args.coupling_steps if t == max(counts) else 0)}
            if have_openmm:
                row["openmm"] = openmm_run(top, gro, t, args.steps, drift)
            if have_gmx:
                row["gromacs"] = gromacs_run(tmp, top, gro, t, args.gmx_steps)
            rows[t] = row
            n = row["mdzoom"]["n_atoms"]
            print(f"\n== {t} thread(s), {n} atoms ({n // 3} TIP3P), PME, 2 fs ==")
            for name, r in row.items():
                extra = ""
                if "compile_s" in r:
                    extra = f"  (compile/cache load {r['compile_s']:.1f} s)"
                for key in ("coupling_overhead_default", "coupling_overhead_nstpcouple_10"):
                    if key in r:
                        c = r[key]
                        extra += (f"\n           V-rescale+C-rescale, nstpcouple "
                                  f"{c['nstpcouple']}: overhead {100 * c['wall']:+.1f} % "
                                  f"(wall), {100 * c['parts']:+.1f} % (coupling step "
                                  f"timed alone)")
                if "drift_kj_mol_ns_per_molecule" in r:
                    extra += f"  drift {r['drift_kj_mol_ns_per_molecule']:+.3f} kJ/mol/ns/mol"
                print(f"  {name:8s} {r['ns_per_day']:7.2f} ns/day{extra}")
            for ref in ("openmm", "gromacs"):
                if ref in row:
                    print(f"  ratio mdzoom/{ref}: "
                          f"{row['mdzoom']['ns_per_day'] / row[ref]['ns_per_day']:.2f}")

    top_row = rows[max(counts)]
    summary = {"metric": "TIP3P PME water throughput (10,155 atoms, 2 fs)",
               "unit": "ns/day", "threads": max(counts)}
    for name in ("mdzoom", "openmm", "gromacs"):
        if name in top_row:
            summary[name] = round(top_row[name]["ns_per_day"], 3)
    if "openmm" in summary:
        summary["ratio"] = round(summary["mdzoom"] / summary["openmm"], 3)
    if "gromacs" in summary:
        summary["ratio_gromacs"] = round(summary["mdzoom"] / summary["gromacs"], 3)
    summary["per_threads"] = {str(t): {k: round(r["ns_per_day"], 3) for k, r in row.items()}
                              for t, row in rows.items()}
    drifts = {k: round(r["drift_kj_mol_ns_per_molecule"], 4) for k, r in top_row.items()
              if "drift_kj_mol_ns_per_molecule" in r}
    if drifts:
        summary["nve_drift_kj_mol_ns_per_molecule"] = drifts
    for key in ("coupling_overhead_default", "coupling_overhead_nstpcouple_10"):
        if key in top_row["mdzoom"]:
            summary[f"mdzoom_{key}"] = {k: round(v, 4) for k, v in
                                        top_row["mdzoom"][key].items()}
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
