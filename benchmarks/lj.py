"""The classic LAMMPS ``in.lj`` benchmark: mdzoom beside LAMMPS and GROMACS, same run.

System: 32,000 LJ atoms, fcc at reduced density 0.8442, T* = 1.44 initial (melts to
≈ 0.72), rc = 2.5σ, skin 0.3σ (rebuild when an atom moved skin/2), NVE, dt = 0.005τ.
Reduced units are read as nm, ps, kJ/mol, amu (σ = ε = m = 1).

Figures: million atom-steps per second of the timed run (numba compilation and each
engine's setup excluded; mdzoom's compile time is reported separately), at 1 and 2
threads / MPI ranks. Also:

- mdzoom's built-in ``LennardJones`` and the example plugin's ``PluginLennardJones``
  (a third-party numba force through the public API) — the plugin must not be slower;
- NVE energy drift per atom per τ on the 4,000-atom version (``--drift``), mdzoom beside
  LAMMPS with the same protocol.

Usage: ``python benchmarks/lj.py [--steps 500] [--cells 20] [--threads 1,2] [--json]``.
With ``--json`` the last line printed is one JSON object: ``mdzoom``, ``lammps``,
``gromacs`` (figures at the largest thread count), ``metric``, ``unit``, ``ratio`` =
mdzoom / lammps, ``ratio_gromacs``, and per-thread-count details.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "examples" / "plugin-template"))

import _reference_engines as ref  # noqa: E402


def mdzoom_lj(n_steps=500, cells=20, threads=1, force="builtin", warmup=20):
    """Run in.lj in mdzoom; returns atom_steps_per_s (millions), compile_s, builds, ..."""
    import numba

    import mdzoom.core as mz

    numba.set_num_threads(threads)
    pos, box = mz.fcc_lattice(cells, density=ref.FCC_DENSITY)
    n = len(pos)
    top = mz.Topology.atomic_fluid(n)
    if force == "builtin":
        f = mz.LennardJones(1.0, 1.0, cutoff=ref.R_CUT)
    else:
        from mdzoom_example_plugin.lj import PluginLennardJones

        f = PluginLennardJones(1.0, 1.0, cutoff=ref.R_CUT)
    system = mz.System(top, box=box, forces=[f])
    v = mz.maxwell_boltzmann(top.masses, ref.T_INITIAL / mz.KB, seed=ref.VELOCITY_SEED)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=ref.DT), mz.State(pos, v, box=box),
                        seed=1, skin=ref.SKIN)
    t0 = time.perf_counter()
    sim.run(warmup, progress=False)          # compiles (or loads the numba cache)
    compile_s = time.perf_counter() - t0
    builds0 = sim.neighbours.n_builds
    t0 = time.perf_counter()
    sim.run(n_steps, progress=False)
    wall = time.perf_counter() - t0
    return {"engine": "mdzoom", "force": force, "threads": threads, "n_atoms": n,
            "n_steps": n_steps, "wall_s": wall, "compile_s": compile_s,
            "atom_steps_per_s": n * n_steps / wall / 1e6,
            "neighbor_builds": sim.neighbours.n_builds - builds0,
            "temperature": sim.temperature() * mz.KB}


def mdzoom_nve_drift(n_steps=10_000, cells=10, equil_steps=1_000, thermo_every=100):
    """The protocol of ``ref.lammps_nve_drift`` in mdzoom: drift of E/N per τ (signed)."""
    import mdzoom.core as mz

    pos, box = mz.fcc_lattice(cells, density=ref.FCC_DENSITY)
    top = mz.Topology.atomic_fluid(len(pos))
    system = mz.System(top, box=box, forces=[mz.LennardJones(1.0, 1.0, cutoff=ref.R_CUT)])
    v = mz.maxwell_boltzmann(top.masses, ref.T_INITIAL / mz.KB, seed=ref.VELOCITY_SEED)
    rec = mz.EnergyRecorder(every=thermo_every)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=ref.DT), mz.State(pos, v, box=box),
                        seed=1, skin=ref.SKIN)
    sim.run(equil_steps, progress=False)
    sim.outputs.append(rec)
    sim.run(n_steps, progress=False)
    r = rec.results
    t = r["time"] - r["time"][0]
    e = r["Total Energy"] / len(pos)
    slope, icpt = np.polyfit(t, e, 1)
    return {"drift_per_atom_per_tau": float(slope),
            "rms_about_fit_per_atom": float(np.std(e - (slope * t + icpt))),
            "temp_mean": float(np.mean(r["Temperature"]) * mz.KB), "n_atoms": len(pos)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--cells", type=int, default=20)
    p.add_argument("--threads", default="1,2", help="comma-separated thread/rank counts")
    p.add_argument("--no-reference", action="store_true", help="mdzoom only")
    p.add_argument("--drift", action=argparse.BooleanOptionalAction, default=True,
                   help="also compare NVE energy drift (4,000 atoms, 10,000 steps)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    counts = [int(t) for t in args.threads.split(",")]
    avail = {k: False for k in ("lammps", "lammps_mpi", "gromacs")} if args.no_reference \
        else ref.available_engines()

    rows = {}
    for t in counts:
        row = {"mdzoom": mdzoom_lj(args.steps, args.cells, t, "builtin"),
               "mdzoom_plugin": mdzoom_lj(args.steps, args.cells, t, "plugin")}
        if avail["lammps"] and (t == 1 or avail["lammps_mpi"]):
            row["lammps"] = ref.lammps_lj(args.steps, args.cells, procs=t, suffix="opt")
        if avail["gromacs"]:
            row["gromacs"] = ref.gromacs_lj(args.steps, args.cells, threads=t)
        rows[t] = row
        print(f"\n== {t} thread(s) / rank(s), {row['mdzoom']['n_atoms']} atoms, "
              f"{args.steps} steps ==")
        for name, r in row.items():
            extra = (f"  (compile/cache load {r['compile_s']:.1f} s, "
                     f"{r['neighbor_builds']} list builds)") if "compile_s" in r else \
                (f"  ({r.get('pair_style', r.get('kernel', ''))}, "
                 f"{r.get('neighbor_builds', '?')} list builds)" if name == "lammps" else "")
            print(f"  {name:14s} {r['atom_steps_per_s']:6.2f} M atom-steps/s{extra}")
        for refname in ("lammps", "gromacs"):
            if refname in row:
                print(f"  ratio mdzoom/{refname}: "
                      f"{row['mdzoom']['atom_steps_per_s'] / row[refname]['atom_steps_per_s']:.2f}")
        print(f"  ratio plugin/built-in: "
              f"{row['mdzoom_plugin']['atom_steps_per_s'] / row['mdzoom']['atom_steps_per_s']:.2f}")

    drift = {}
    if args.drift:
        drift["mdzoom"] = mdzoom_nve_drift()
        if avail["lammps"]:
            d = ref.lammps_nve_drift()
            drift["lammps"] = {k: d[k] for k in ("drift_per_atom_per_tau",
                                                 "rms_about_fit_per_atom", "temp_mean")}
        print("\n== NVE energy drift, 4,000 atoms, 10,000 steps after 1,000 of melting ==")
        for name, d in drift.items():
            print(f"  {name:8s} drift {d['drift_per_atom_per_tau']:+.2e} ε/atom/τ, "
                  f"RMS about fit {d['rms_about_fit_per_atom']:.1e} ε/atom, "
                  f"<T*> {d['temp_mean']:.3f}")

    top = rows[max(counts)]
    summary = {"metric": "LJ in.lj throughput (32,000 atoms)" if args.cells == 20 else
               "LJ in.lj throughput", "unit": "million atom-steps/s",
               "threads": max(counts)}
    for name in ("mdzoom", "lammps", "gromacs"):
        if name in top:
            summary[name] = round(top[name]["atom_steps_per_s"], 3)
    summary["mdzoom_plugin"] = round(top["mdzoom_plugin"]["atom_steps_per_s"], 3)
    if "lammps" in top:
        summary["ratio"] = round(summary["mdzoom"] / summary["lammps"], 3)
    if "gromacs" in top:
        summary["ratio_gromacs"] = round(summary["mdzoom"] / summary["gromacs"], 3)
    summary["plugin_ratio"] = round(summary["mdzoom_plugin"] / summary["mdzoom"], 3)
    summary["per_threads"] = {
        str(t): {name: round(r["atom_steps_per_s"], 3) for name, r in row.items()}
        for t, row in rows.items()}
    summary["mdzoom_compile_s"] = round(rows[counts[0]]["mdzoom"]["compile_s"], 2)
    if drift:
        summary["nve_drift_per_atom_per_tau"] = {
            k: float(f"{v['drift_per_atom_per_tau']:.3e}") for k, v in drift.items()}
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
