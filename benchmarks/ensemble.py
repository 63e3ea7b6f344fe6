"""Strong scaling of ``mdzoom.ensemble``: a fixed sweep on 1 and 2 workers.

Sweep: ``--members`` (8) LJ members of 256 atoms (fcc 4³ cells, ρ* = 0.8442, rc 2.5σ),
``--steps`` (default 6,000: ≈ 0.5 s each on one core; ``--steps 30000`` for members of a
few seconds) of Langevin then NVE, one
numba thread per member, energies every 100 steps and a checkpoint every 1,000 (as a real
sweep would write). Each member runs in its own process and directory; the figure is
members per minute of wall time for the whole sweep, *including* starting the workers
(spawn + import + loading the numba cache) — what a user waits for.

Executors: the local process pool (``run_ensemble``'s default) and, when
``dask.distributed`` is installed, a ``LocalCluster`` of the same number of worker
processes (one thread each). There is no reference engine for this one: the reference is
the same sweep on 1 worker, and ``ratio`` is the speed-up at 2 workers (2 is ideal).
Across N nodes the same code runs on a Dask cluster of N·cores single-threaded workers
(``docs/ensemble.md``); members are independent, so the speed-up is bounded only by the
number of members and the slowest member.

Usage: ``python benchmarks/ensemble.py [--members 8] [--steps 6000] [--workers 1,2]
[--no-dask] [--json]``. With ``--json`` the last line is one JSON object: ``mdzoom``
(members/min, local pool at the largest worker count), ``metric``, ``unit``,
``reference`` ("1 worker"), ``ratio`` (speed-up), and per-executor, per-count details.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
[system]
builder = "lj-fluid"
cells = 4
density = 0.8442
[velocities]
temperature = 173.19219164
[[forces]]
type = "lennard-jones"
cutoff = 2.5
modifier = "potential-shift"
[run]
skin = 0.3
[[stages]]
name = "nvt"
steps = {half}
[stages.integrator]
type = "langevin"
dt = 0.005
temperature = 86.59609582
friction = 1.0
[[stages]]
name = "nve"
steps = {half}
[stages.integrator]
type = "verlet"
dt = 0.005
[output]
trajectory_every = 0
energy_every = 100
checkpoint_every = 1000
plot = false
"""


def sweep(workdir, n_members, steps):
    from mdzoom.core.ensemble import Member

    cfg = Path(workdir) / "lj256.toml"
    cfg.write_text(CONFIG.format(half=steps // 2))
    return [Member(f"r{i}", cfg, {"replica": i}) for i in range(n_members)]


def time_local(members, workers, out):
    from mdzoom.core.ensemble import run_ensemble

    t0 = time.perf_counter()
    result = run_ensemble(members, out_dir=out, workers=workers, resume=False,
                          progress=False)
    return time.perf_counter() - t0, result


def time_dask(members, workers, out):
    from distributed import Client, LocalCluster

    from mdzoom.core.ensemble import run_ensemble

    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        result = run_ensemble(members, client.get_executor(), out_dir=out, resume=False,
                              progress=False)
    return time.perf_counter() - t0, result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", type=int, default=8)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    p.add_argument("--no-dask", action="store_true", help="local process pool only")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    counts = [int(c) for c in args.workers.split(",")]

    executors = {"local": time_local}
    if not args.no_dask:
        import importlib.util

        if importlib.util.find_spec("distributed") is not None:
            executors["dask"] = time_dask
        else:
            print("dask.distributed not installed: local pool only "
                  "(pip install 'mdzoom[dask]')")
    workdir = Path(tempfile.mkdtemp(prefix="mdzoom-ensemble-bench-"))
    try:
        members = sweep(workdir, args.members, args.steps)
        # warm the numba cache once so that no timing includes compilation
        time_local(members[:1], 1, workdir / "warm")
        details, digests = {}, {}
        print(f"{args.members} members × {args.steps} steps of 256 LJ atoms, "
              f"{os.cpu_count()} cores")
        print(f"{'executor':<8} {'workers':>7} {'wall s':>8} {'members/min':>12} "
              f"{'speed-up':>9}")
        for name, fn in executors.items():
            details[name] = {}
            for w in counts:
                wall, result = fn(members, w, workdir / f"{name}{w}")
                if not result.ok:
                    print(result.format())
                    raise SystemExit(f"{name} with {w} workers: members failed")
                digests[(name, w)] = [r["state_digest"] for r in result.rows]
                rate = 60.0 * args.members / wall
                base = details[name].get(str(counts[0]), {}).get("members_per_min", rate)
                details[name][str(w)] = {"wall_s": round(wall, 3),
                                         "members_per_min": round(rate, 3),
                                         "speedup": round(rate / base, 3)}
                print(f"{name:<8} {w:>7} {wall:>8.2f} {rate:>12.2f} {rate / base:>9.2f}")
        identical = len({tuple(d) for d in digests.values()}) == 1
        print(f"final states identical across executors and worker counts: {identical}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    top = str(counts[-1])
    summary = {
        "mdzoom": details["local"][top]["members_per_min"],
        "metric": f"ensemble throughput, {args.members} LJ members (256 atoms, "
                  f"{args.steps} steps), local process pool, {top} workers",
        "unit": "members/min",
        "reference": f"{counts[0]} worker",
        f"{counts[0]} worker": details["local"][str(counts[0])]["members_per_min"],
        "ratio": details["local"][top]["speedup"],
        "dask": details.get("dask", {}).get(top, {}).get("members_per_min"),
        "ratio_dask": details.get("dask", {}).get(top, {}).get("speedup"),
        "identical_results": identical,
        "details": details,
    }
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
