"""Trajectory analysis speed: MSD and RMSF, mdzoom beside MDAnalysis on the same data.

System: a synthetic trajectory of 10,000 particles × 1,000 frames (``--atoms``,
``--frames``), generated with a fixed seed:

- MSD: free Brownian particles (D = 0.01 nm²/ps, 1 ps frames), unwrapped coordinates
  (what MDAnalysis' ``EinsteinMSD`` requires); mdzoom's ``msd`` gets the same array
  (no box, so no unwrapping) — and, reported separately, the same walk folded into a
  5 nm box with the box, so that mdzoom unwraps it first.
- RMSF: a rigid "protein" of 10,000 particles with independent Gaussian fluctuations
  (σ from 0.02 to 0.2 nm), every frame rotated and translated at random. mdzoom's
  ``rmsf`` (fit to frame 0 → average → refit to the average → RMSF) against the same
  workflow in MDAnalysis (``AverageStructure`` + ``AlignTraj(in_memory=True)`` +
  ``RMSF``). MDAnalysis stores float32 coordinates; both get the same float32 values.

MDAnalysis' FFT MSD needs ``tidynamics`` (``pip install tidynamics``); without it the
benchmark falls back to its O(T²) ``fft=False`` algorithm and says so. Timings exclude
numba compilation (a small warm-up run first) and MDAnalysis' Universe set-up; the
results are cross-checked (max relative difference printed).

Usage: ``python benchmarks/analysis.py [--atoms 10000] [--frames 1000] [--no-reference]
[--json]``. With ``--json`` the last line printed is one JSON object: ``mdzoom`` and
``mdanalysis`` (seconds for MSD + RMSF), ``metric``, ``unit`` ("s"), ``ratio`` =
mdanalysis / mdzoom time (the README's convention: > 1 means mdzoom wins), and the
per-analysis times and ratios.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def make_msd_data(n_atoms, n_frames, seed=1, d_coef=0.01, dt=1.0):
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, np.sqrt(2 * d_coef * dt), (n_frames, n_atoms, 3))
    steps[0] = rng.uniform(0.0, 5.0, (n_atoms, 3))
    return np.cumsum(steps, axis=0).astype(np.float32), dt


def make_rmsf_data(n_atoms, n_frames, seed=2):
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(seed)
    ref = rng.normal(0.0, 1.5, (n_atoms, 3))
    sigma = np.linspace(0.02, 0.2, n_atoms)[:, None]
    rots = Rotation.random(n_frames, random_state=seed).as_matrix()
    out = np.empty((n_frames, n_atoms, 3), dtype=np.float32)
    for t in range(n_frames):
        x = ref + rng.normal(0.0, 1.0, (n_atoms, 3)) * sigma
        out[t] = x @ rots[t] + rng.uniform(2.0, 8.0, 3)
    return out


def _timed(fn, repeat=1):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def mdzoom_times(msd_x, dt, rmsf_x, repeat):
    from mdzoom.core.analysis import msd, rmsf

    t0 = time.perf_counter()                      # compile / load the numba cache
    msd((msd_x[:20, :50].astype(np.float64), dt * np.arange(20), 5.0))
    rmsf(rmsf_x[:5, :50].astype(np.float64))
    warm = time.perf_counter() - t0
    x64 = msd_x.astype(np.float64)
    times = dt * np.arange(len(x64))
    t_msd, r_msd = _timed(lambda: msd((x64, times, None)), repeat)
    wrapped = x64 - np.floor(x64 / 5.0) * 5.0
    t_msd_wrap, _ = _timed(lambda: msd((wrapped, times, 5.0)), repeat)
    y64 = rmsf_x.astype(np.float64)
    t_rmsf, r_rmsf = _timed(lambda: rmsf(y64), repeat)
    return {"msd_s": t_msd, "msd_wrapped_s": t_msd_wrap, "rmsf_s": t_rmsf,
            "warmup_s": warm}, r_msd, r_rmsf


def mdanalysis_times(msd_x, dt, rmsf_x, repeat):
    import warnings

    import MDAnalysis as mda
    from MDAnalysis.analysis import align, rms
    from MDAnalysis.analysis.msd import EinsteinMSD
    from MDAnalysis.coordinates.memory import MemoryReader

    try:
        import tidynamics  # noqa: F401
        fft = True
    except ImportError:
        fft = False
    warnings.filterwarnings("ignore", module="MDAnalysis")
    n = msd_x.shape[1]
    u = mda.Universe.empty(n, trajectory=True)
    u.load_new(msd_x * 10.0, format=MemoryReader, dt=dt)          # Å
    t_msd, r_msd = _timed(lambda: EinsteinMSD(u, select="all", fft=fft).run(), repeat)

    def rmsf_workflow():
        v = mda.Universe.empty(rmsf_x.shape[1], trajectory=True)
        v.load_new(rmsf_x * 10.0, format=MemoryReader)
        avg = align.AverageStructure(v, v, select="all", ref_frame=0).run()
        align.AlignTraj(v, avg.results.universe, select="all", in_memory=True).run()
        return rms.RMSF(v.atoms).run()

    t_rmsf, r_rmsf = _timed(rmsf_workflow, repeat)
    return {"msd_s": t_msd, "rmsf_s": t_rmsf, "msd_fft": fft}, r_msd, r_rmsf


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--atoms", type=int, default=10_000)
    p.add_argument("--frames", type=int, default=1_000)
    p.add_argument("--repeat", type=int, default=2,
                   help="best of N timings (the first call pays for fresh memory)")
    p.add_argument("--no-reference", action="store_true", help="mdzoom only")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    msd_x, dt = make_msd_data(args.atoms, args.frames)
    rmsf_x = make_rmsf_data(args.atoms, args.frames)
    print(f"== {args.atoms} particles × {args.frames} frames ==")
    mz, mz_msd, mz_rmsf = mdzoom_times(msd_x, dt, rmsf_x, args.repeat)
    print(f"  mdzoom      MSD {mz['msd_s']:7.3f} s  (wrapped + unwrapping: "
          f"{mz['msd_wrapped_s']:.3f} s)   RMSF {mz['rmsf_s']:7.3f} s   "
          f"(compile/cache load {mz['warmup_s']:.1f} s)")
    summary = {"metric": f"MSD + RMSF wall time ({args.atoms} particles, {args.frames} "
                         "frames)", "unit": "s",
               "mdzoom": round(mz["msd_s"] + mz["rmsf_s"], 4),
               "mdzoom_msd": round(mz["msd_s"], 4), "mdzoom_rmsf": round(mz["rmsf_s"], 4),
               "mdzoom_msd_wrapped": round(mz["msd_wrapped_s"], 4)}
    if not args.no_reference:
        try:
            ref, ref_msd, ref_rmsf = mdanalysis_times(msd_x, dt, rmsf_x, args.repeat)
        except ImportError as exc:
            print(f"  MDAnalysis not available ({exc})")
        else:
            note = "" if ref["msd_fft"] else "  (fft=False: install tidynamics for FFT)"
            print(f"  MDAnalysis  MSD {ref['msd_s']:7.3f} s{note}   RMSF "
                  f"{ref['rmsf_s']:7.3f} s")
            d_msd = np.max(np.abs(mz_msd.msd[1:] - ref_msd.results.timeseries[1:]
                                  / 100.0) / (ref_msd.results.timeseries[1:] / 100.0))
            d_rmsf = np.max(np.abs(mz_rmsf.rmsf - ref_rmsf.results.rmsf / 10.0)
                            / (ref_rmsf.results.rmsf / 10.0))
            print(f"  agreement (max relative difference): MSD {d_msd:.1e}, RMSF "
                  f"{d_rmsf:.1e}")
            r_msd = ref["msd_s"] / mz["msd_s"]
            r_rmsf = ref["rmsf_s"] / mz["rmsf_s"]
            total = ref["msd_s"] + ref["rmsf_s"]
            print(f"  ratio MDAnalysis/mdzoom time: MSD {r_msd:.2f}, RMSF {r_rmsf:.2f}, "
                  f"total {total / summary['mdzoom']:.2f}")
            summary.update(
                mdanalysis=round(total, 4), mdanalysis_msd=round(ref["msd_s"], 4),
                mdanalysis_rmsf=round(ref["rmsf_s"], 4), mdanalysis_msd_fft=ref["msd_fft"],
                ratio=round(total / summary["mdzoom"], 3), ratio_msd=round(r_msd, 3),
                ratio_rmsf=round(r_rmsf, 3),
                max_rel_diff={"msd": float(f"{d_msd:.2e}"), "rmsf": float(f"{d_rmsf:.2e}")})
    summary["mdzoom_compile_s"] = round(mz["warmup_s"], 2)
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
