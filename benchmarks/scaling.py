"""Martini 3 water from 10k to 1M beads: mdzoom's cost per step and memory against
GROMACS, same boxes, same run — where a user should switch to the export path.

Systems: the equilibrated 10,648-W box of ``martini.py`` (``prepare``: inserted,
minimised and equilibrated 20 ps in GROMACS) replicated k × k × k with ``gmx genconf``
(k = 1 … 5: 10,648 → 1,331,000 beads). Standard Martini settings (RF ε_r 15, 1.1 nm,
potential-shift, 20 fs), NVE.

- mdzoom: every size in a fresh process (``--worker``), ``load_gromacs`` + velocity
  Verlet, skin 0.2 nm; timed steps after a 20-step warm-up (compilation excluded);
  peak resident memory of that process (``ru_maxrss``), set-up time (reading the files
  and building the System) reported apart.
- GROMACS 2022 (mixed precision, ``martini.py``'s ``gromacs_run``: ``-ntomp T -nb cpu
  -pin on -resethway``), time only.

Figures: ms per step, million particle-steps/s, ns/day, peak memory [MB] per size; the
exponent b of a least-squares fit t_step ∝ N^b over the sizes (1 = linear cost); the
largest size measured; ``switch_beads``: the first size at which mdzoom gives fewer than
``--min-ns-per-day`` (default 100 ns/day: a 1 µs Martini study then takes more than ten
days here), the point past which ``mdzoom export --to gromacs`` (or ``--to openmm`` on a
GPU) is the better path. ``ratio`` = mdzoom's particle-steps/s / GROMACS's at the
largest size.

Usage: ``python benchmarks/scaling.py [--k 1,2,3,4,5] [--threads 2] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import martini  # noqa: E402  (the same builders as the throughput benchmark)

DT = martini.DT


def _steps_for(n):
    """Timed mdzoom steps: about 5e7 particle-steps (≈ 10 s), 20 to 5,000."""
    return max(20, min(5000, int(5e7 / n)))


def _gmx_steps_for(n):
    """GROMACS steps: about 1e8 particle-steps, 100 to 10,000 (``-resethway`` times the
    second half; shorter runs gave GROMACS figures up to 1.5× higher than 10,000 steps)."""
    return max(100, min(10000, int(1e8 / n)))


def worker(top, gro, mdp, threads, steps):
    """One mdzoom size in this process; prints one JSON line."""
    import numba

    import mdzoom.core as mz
    from mdzoom.core.gromacs import load_gromacs

    numba.set_num_threads(threads)
    t0 = time.perf_counter()
    system, state, _ = load_gromacs(top, gro, mdp)
    sim = mz.Simulation(system, mz.VelocityVerlet(dt=DT), state, seed=1, skin=0.2)
    setup = time.perf_counter() - t0
    sim.run(20, progress=False)
    t0 = time.perf_counter()
    sim.run(steps, progress=False)
    wall = time.perf_counter() - t0
    n = system.n_particles
    print(json.dumps({"n": n, "steps": steps, "setup_s": setup,
                      "ms_per_step": 1e3 * wall / steps,
                      "particle_steps_per_s": n * steps / wall / 1e6,
                      "ns_per_day": steps * DT * 1e-3 / wall * 86400,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _mdzoom(top, gro, mdp, threads, steps):
    out = subprocess.run([sys.executable, __file__, "--worker", str(top), str(gro), str(mdp),
                          str(threads), str(steps)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"mdzoom worker failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _exponent(ns, ts):
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", default="1,2,3,4,5", help="replications per axis")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-ns-per-day", type=float, default=100.0)
    p.add_argument("--no-reference", action="store_true", help="mdzoom only")
    p.add_argument("--json", action="store_true")
    p.add_argument("--worker", nargs=5, metavar=("TOP", "GRO", "MDP", "THREADS", "STEPS"))
    a = p.parse_args(argv)
    if a.worker:
        top, gro, mdp, threads, steps = a.worker
        worker(top, gro, mdp, int(threads), int(steps))
        return 0
    ks = [int(k) for k in a.k.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        top, gro, mdp, _ = martini.prepare(tmp, equil_ps=20.0)
        n1 = martini._n_particles(gro)
        for k in ks:
            name = f"w{k}"
            big = tmp / f"{name}.gro"
            martini._gmx(["genconf", "-f", str(gro), "-nbox", str(k), str(k), str(k),
                          "-o", big.name], tmp)
            n = n1 * k ** 3
            btop = tmp / f"{name}.top"
            btop.write_text(top.read_text().replace(f"W {n1}", f"W {n}"))
            steps = _steps_for(n)
            row = {"k": k, "n": n, "mdzoom": _mdzoom(btop, big, mdp, a.threads, steps)}
            if not a.no_reference:
                row["gromacs"] = martini.gromacs_run(tmp, btop, big, a.threads,
                                                     _gmx_steps_for(n))
            rows.append(row)
            m = row["mdzoom"]
            line = (f"{n:>9,d} beads  mdzoom {m['ms_per_step']:8.2f} ms/step "
                    f"{m['particle_steps_per_s']:5.2f} M/s {m['ns_per_day']:8.1f} ns/day "
                    f"{m['peak_mb']:7.0f} MB (set-up {m['setup_s']:.1f} s)")
            if "gromacs" in row:
                g = row["gromacs"]
                line += (f" | GROMACS {g['ms_per_step']:8.2f} ms/step "
                         f"{g['particle_steps_per_s']:5.2f} M/s")
            print(line, flush=True)
    ns = np.array([r["n"] for r in rows], float)
    t_mz = np.array([r["mdzoom"]["ms_per_step"] for r in rows])
    switch = next((r["n"] for r in rows
                   if r["mdzoom"]["ns_per_day"] < a.min_ns_per_day), None)
    out = {"metric": "Martini 3 water, cost per step vs size (20 fs, NVE)",
           "unit": "million particle-steps/s at the largest size",
           "threads": a.threads, "sizes": [int(v) for v in ns],
           "mdzoom": rows[-1]["mdzoom"]["particle_steps_per_s"],
           "ms_per_step": {"mdzoom": t_mz.tolist()},
           "peak_mb": {"mdzoom": [r["mdzoom"]["peak_mb"] for r in rows]},
           "setup_s": {"mdzoom": [r["mdzoom"]["setup_s"] for r in rows]},
           "exponent": {"mdzoom": _exponent(ns, t_mz) if len(ns) > 1 else None},
           "min_ns_per_day": a.min_ns_per_day, "switch_beads": switch}
    if not a.no_reference:
        t_g = np.array([r["gromacs"]["ms_per_step"] for r in rows])
        out["gromacs"] = rows[-1]["gromacs"]["particle_steps_per_s"]
        out["ms_per_step"]["gromacs"] = t_g.tolist()
        out["exponent"]["gromacs"] = _exponent(ns, t_g) if len(ns) > 1 else None
        out["ratio"] = out["mdzoom"] / out["gromacs"]
        out["ratio_per_size"] = [r["mdzoom"]["particle_steps_per_s"]
                                 / r["gromacs"]["particle_steps_per_s"] for r in rows]
    if switch is None:
        advice = (f"mdzoom stays above {a.min_ns_per_day:g} ns/day up to {int(ns[-1]):,d} "
                  "beads here")
    else:
        advice = (f"from about {switch:,d} beads mdzoom gives fewer than "
                  f"{a.min_ns_per_day:g} ns/day on {a.threads} threads: use mdzoom export "
                  "--to gromacs (or --to openmm on a GPU)")
    out["advice"] = advice
    print(advice)
    if a.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
