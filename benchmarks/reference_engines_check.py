"""Smoke check: run every reference engine once with defaults and print.

Usage (from the repository root)::

    .venv/bin/python benchmarks/reference_engines_check.py

Takes about a minute on two cores.  Engines that are not installed are
reported and skipped.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _reference_engines as ref  # noqa: E402


def _show(label: str, result: dict) -> None:
    thermo = result.get("thermo") or []
    scalars = {k: v for k, v in result.items() if k != "thermo"}
    print(f"\n== {label}")
    for key, value in scalars.items():
        if isinstance(value, float):
            value = f"{value:.6g}"
        print(f"  {key:26s} {value}")
    if thermo:
        print(f"  thermo ({len(thermo)} rows): first / last")
        for row in (thermo[0], thermo[-1]):
            print("   ", "  ".join(
                f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in row.items()))


def _attempt(label: str, func, **kwargs) -> None:
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"\n(warning: 1-min load average is {load:.2f} before "
              f"'{label}'; other processes may distort the timing)")
    try:
        _show(label, func(**kwargs))
    except RuntimeError as exc:
        print(f"\n== {label}: FAILED\n{exc}")


def main() -> int:
    engines = ref.available_engines()
    print("available engines:", engines)
    positions, box = ref.fcc_lattice(20, ref.FCC_DENSITY)
    print(f"fcc_lattice(20): {len(positions)} atoms, box {box:.6f} sigma")

    if engines["lammps"]:
        _attempt("LAMMPS in.lj, 1 proc, -sf opt", ref.lammps_lj)
    if engines["lammps_mpi"]:
        _attempt("LAMMPS in.lj, 2 MPI procs, -sf opt", ref.lammps_lj,
                 procs=2)
    if engines["lammps"]:
        _attempt("LAMMPS NVE drift (4,000 atoms, shifted LJ)",
                 ref.lammps_nve_drift)
    if engines["gromacs"]:
        _attempt("GROMACS in.lj, 1 thread (mixed precision)", ref.gromacs_lj)
        _attempt("GROMACS in.lj, 2 threads (mixed precision)",
                 ref.gromacs_lj, threads=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
