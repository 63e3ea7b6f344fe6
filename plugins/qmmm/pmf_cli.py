"""``mdzoom pmf``: a potential of mean force from umbrella windows (WHAM or MBAR).

::

    mdzoom pmf umbrella.toml [--method wham|mbar] [--bins N [N]] [--range LO HI [LO HI]]
               [--jacobian none|distance|polar] [--temperature K] [--bootstrap N]
               [--discard N] [--path X1 Y1 X2 Y2] [-o OUT]
    mdzoom pmf w000/cv.dat w001/cv.dat … (the same options)

Input: the index ``umbrella.toml`` that ``run_umbrella`` writes (``temperature``,
optional ``jacobian``, ``[[windows]]`` with ``file``, ``center``, ``k`` and optional
``periodic``), or window files directly: a whitespace table ``step time ξ`` (or ``time ξ``;
two ξ columns for a 2D PMF) with ``# center: …``, ``# k: …`` and optionally
``# temperature: …`` and ``# periodic: …`` header lines (``CVOutput`` writes them).

Output (``-o OUT``, default ``pmf``): ``OUT.csv`` (1D: xi, W, dW, W_uncorrected,
dW_uncorrected, counts; 2D: xi1, xi2, W, dW, counts; kJ/mol, inf where unsampled),
``OUT.json`` (method, temperature, Jacobian applied, window free energies, statistical
inefficiencies, for 2D the minimum free-energy path) and ``OUT.png`` (1D: W with its
error band, the uncorrected W dashed when a Jacobian was applied; 2D: the map with the
minimum free-energy path between the two deepest minima, or those given by ``--path``).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_pmf_command", "run_pmf", "compute_pmf", "write_pmf", "plot_pmf"]


def add_pmf_command(subcommands):
    """Add the ``pmf`` verb to the ``mdzoom`` argument parser (``mdzoom_cli`` hook)."""
    p = subcommands.add_parser(
        "pmf", help="potential of mean force from umbrella-sampling windows (WHAM/MBAR)",
        description="Unbias umbrella-sampling windows into a PMF W(ξ) [kJ/mol] with WHAM "
                    "(bootstrap errors) or MBAR (pymbar 4, analytical errors), in one or "
                    "two coordinates. The Jacobian of a distance (+2kT ln r) or polar angle "
                    "(+kT ln sin θ) is applied once when asked; the uncorrected W is "
                    "written beside it (use that one in TST rates).",
        epilog="Example: mdzoom pmf us/umbrella.toml --jacobian distance --bins 60 -o pmf "
               "(writes pmf.csv, pmf.json, pmf.png)")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="umbrella.toml (index of windows) or window files (step time ξ, "
                        "with '# center:' and '# k:' header lines)")
    p.add_argument("--method", choices=("wham", "mbar"), default="wham",
                   help="estimator (default wham; mbar needs: pip install pymbar)")
    p.add_argument("--bins", type=int, nargs="+", default=None, metavar="N",
                   help="number of bins (one per coordinate; default 100 in 1D, 50 x 50 "
                        "in 2D)")
    p.add_argument("--range", type=float, nargs="+", default=None, metavar="X",
                   help="histogram range LO HI (and LO2 HI2 in 2D) [nm or rad]; default the "
                        "samples' range")
    p.add_argument("--jacobian", choices=("none", "distance", "polar"), default=None,
                   help="correction applied to W: none (default, or the index's), distance "
                        "(+2kT ln r), polar (+kT ln sin θ)")
    p.add_argument("--temperature", "-T", type=float, default=None, metavar="K",
                   help="temperature [K] (default: from the index or the window headers)")
    p.add_argument("--bootstrap", type=int, default=50, metavar="N",
                   help="WHAM bootstrap resamples for the errors (default 50; 0: none)")
    p.add_argument("--discard", type=int, default=0, metavar="N",
                   help="samples dropped at the start of each window (equilibration)")
    p.add_argument("--path", type=float, nargs=4, default=None,
                   metavar=("X1", "Y1", "X2", "Y2"),
                   help="2D: end points of the minimum free-energy path (default: the two "
                        "deepest minima)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("-o", dest="out", default="pmf", metavar="OUT",
                   help="output prefix: OUT.csv, OUT.json, OUT.png (default pmf)")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    p.set_defaults(func=run_pmf)
    return p


def compute_pmf(windows, *, method="wham", bins=None, range=None, jacobian=None,
                temperature=None, bootstrap=50, discard=0, seed=0, path=None):
    """The PMF of windows as ``read_windows`` returns them (Results: samples, centers, k,
    periodic, temperature, jacobian). Returns the estimator's Results; for 2D also
    ``mfep`` (the minimum free-energy path Results) unless no path can be found."""
    from .wham import mbar_pmf, minimum_free_energy_path, wham

    T = temperature if temperature is not None else windows.get("temperature")
    if T is None:
        raise ValueError("no temperature: give --temperature (the windows' files and index "
                         "do not state one)")
    jac = jacobian if jacobian is not None else (windows.get("jacobian") or "none")
    samples = [np.asarray(s)[int(discard):] for s in windows.samples]
    for f, s in zip(windows.files, samples):
        if len(s) < 2:
            raise ValueError(f"{f}: fewer than 2 samples left after --discard {discard}")
    dim = 1 if np.ndim(windows.centers) == 1 else np.shape(windows.centers)[1]
    if dim > 2:
        raise ValueError(f"{windows.files[0]}: {dim} coordinates; mdzoom pmf handles 1 or 2 "
                         "(use the Python API, e.g. pool replicas into one column)")
    if bins is None:
        bins = 100 if dim == 1 else (50, 50)
    elif len(bins) == 1:
        bins = bins[0] if dim == 1 else (bins[0], bins[0])
    elif len(bins) == dim:
        bins = tuple(bins)
    else:
        raise ValueError(f"--bins takes one number or one per coordinate ({dim})")
    rng = None
    if range is not None:
        if len(range) != 2 * dim:
            raise ValueError(f"--range takes {2 * dim} numbers (LO HI per coordinate); got "
                             f"{len(range)}")
        rng = tuple(range) if dim == 1 else ((range[0], range[1]), (range[2], range[3]))
    kw = dict(temperature=float(T), bins=bins, range=rng, periodic=windows.get("periodic"),
              jacobian=jac)
    if method == "wham":
        res = wham(samples, windows.centers, windows.k, n_bootstrap=bootstrap, seed=seed,
                   **kw)
    elif method == "mbar":
        res = mbar_pmf(samples, windows.centers, windows.k, n_bootstrap=bootstrap, seed=seed,
                       **kw)
    else:
        raise ValueError(f"unknown method {method!r}; available: wham, mbar")
    res["files"] = [os.fspath(f) for f in windows.files]
    if dim == 2:
        if path is None:
            ends = _two_deepest_minima(res)
        else:
            ends = ((path[0], path[1]), (path[2], path[3]))
        res["mfep"] = None
        if ends is not None:
            res["mfep"] = minimum_free_energy_path(res, ends[0], ends[1])
    return res


def _two_deepest_minima(res):
    """The two deepest local minima of a 2D W (8-neighbour), or None if fewer than two."""
    W = np.asarray(res["W"], dtype=float)
    pad = np.pad(np.where(np.isfinite(W), W, np.inf), 1, constant_values=np.inf)
    nx, ny = W.shape
    is_min = np.isfinite(W)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                is_min &= W <= pad[1 + dx:1 + dx + nx, 1 + dy:1 + dy + ny]
    ii, jj = np.nonzero(is_min)
    if ii.size < 2:
        return None
    order = np.argsort(W[ii, jj])
    x, y = res["x"], res["y"]
    return (x[ii[order[0]]], y[jj[order[0]]]), (x[ii[order[1]]], y[jj[order[1]]])


def _num(v):
    v = float(v)
    return v if np.isfinite(v) else ("inf" if v > 0 else "-inf" if v < 0 else "nan")


def write_pmf(res, prefix):
    """Write ``prefix.csv`` and ``prefix.json``; returns their paths."""
    prefix = Path(prefix)
    csv_path, json_path = prefix.with_suffix(".csv"), prefix.with_suffix(".json")
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        if res.dim == 1:
            w.writerow(["xi", "W_kJ_mol", "dW_kJ_mol", "W_uncorrected_kJ_mol",
                        "dW_uncorrected_kJ_mol", "counts"])
            dW = res.dW if res.dW is not None else np.full(res.W.shape, np.nan)
            dWu = res.dW_uncorrected if res.dW_uncorrected is not None else dW
            for row in zip(res.x, res.W, dW, res.W_uncorrected, dWu, res.counts):
                w.writerow([f"{row[0]:.8g}"] + [_num(v) for v in row[1:5]] + [int(row[5])])
        else:
            w.writerow(["xi1", "xi2", "W_kJ_mol", "dW_kJ_mol", "counts"])
            dW = res.dW if res.dW is not None else np.full(res.W.shape, np.nan)
            for i, a in enumerate(res.x):
                for j, b in enumerate(res.y):
                    w.writerow([f"{a:.8g}", f"{b:.8g}", _num(res.W[i, j]), _num(dW[i, j]),
                                int(res.counts[i, j])])
    meta = {"method": res.method, "temperature_K": res.T, "kT_kJ_mol": res.kT,
            "jacobian": res.jacobian, "dimensions": res.dim, "note": res.note,
            "window_centers": np.asarray(res.centers).tolist(),
            "window_k": np.asarray(res.k).tolist(),
            "window_free_energies_kJ_mol": np.asarray(res.f_windows).tolist(),
            "statistical_inefficiency": np.asarray(res.statistical_inefficiency).tolist(),
            "n_samples": np.asarray(res.n_samples).tolist(),
            "iterations": res.iterations, "converged": bool(res.converged),
            "files": res.get("files", []), "csv": os.fspath(csv_path)}
    if res.dim == 2 and res.get("mfep") is not None:
        m = res.mfep
        meta["minimum_free_energy_path"] = {
            "points": m.path.tolist(), "W_kJ_mol": [_num(v) for v in m.W],
            "barrier_kJ_mol": m.barrier, "saddle": m.saddle.tolist()}
    with open(json_path, "w") as fh:
        json.dump(meta, fh, indent=1)
    return csv_path, json_path


def plot_pmf(res, png_path, dpi=110):
    """PNG of the PMF: 1D curve with error band; 2D map with the minimum free-energy
    path. Returns ``png_path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if res.dim == 1:
        x, W = res.x, np.where(np.isfinite(res.W), res.W, np.nan)
        ax.plot(x, W, color="C0", label=f"W ({res.method})")
        if res.dW is not None:
            dW = np.where(np.isfinite(res.dW), res.dW, np.nan)
            ax.fill_between(x, W - dW, W + dW, color="C0", alpha=0.3, lw=0,
                            label="± 1σ")
        if res.jacobian_key != "none":
            Wu = np.where(np.isfinite(res.W_uncorrected), res.W_uncorrected, np.nan)
            ax.plot(x, Wu, color="C1", ls="--", label="uncorrected (−kT ln P)")
        ax.set_xlabel("ξ")
        ax.set_ylabel("W [kJ/mol]")
        ax.legend(frameon=False)
    else:
        W = np.ma.masked_invalid(np.where(np.isfinite(res.W), res.W, np.nan))
        mesh = ax.pcolormesh(res.edges[0], res.edges[1], W.T, cmap="viridis", shading="flat")
        fig.colorbar(mesh, ax=ax, label="W [kJ/mol]")
        if np.isfinite(res.W).sum() > 4:
            ax.contour(res.x, res.y, W.T, levels=12, colors="white", linewidths=0.5,
                       alpha=0.6)
        m = res.get("mfep")
        if m is not None:
            ax.plot(m.path[:, 0], m.path[:, 1], color="red", lw=1.8,
                    label=f"MFEP (barrier {m.barrier:.1f} kJ/mol)")
            ax.plot(*m.saddle, marker="x", color="red", ms=9)
            ax.legend(frameon=False, loc="upper right")
        ax.set_xlabel("ξ₁")
        ax.set_ylabel("ξ₂")
    ax.set_title(f"PMF, {res.method.upper()}, {res.T:g} K, Jacobian: {res.jacobian_key}")
    fig.tight_layout()
    fig.savefig(png_path, dpi=dpi)
    return png_path


def run_pmf(args) -> int:
    from .umbrella import read_windows

    windows = read_windows(args.inputs)
    res = compute_pmf(windows, method=args.method, bins=args.bins, range=args.range,
                      jacobian=args.jacobian, temperature=args.temperature,
                      bootstrap=args.bootstrap, discard=args.discard, seed=args.seed,
                      path=args.path)
    prefix = Path(args.out)
    if prefix.suffix in (".csv", ".json", ".png"):
        prefix = prefix.with_suffix("")
    if prefix.parent != Path("."):
        prefix.parent.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = write_pmf(res, prefix)
    files = [csv_path, json_path]
    if not args.no_plot:
        files.append(plot_pmf(res, prefix.with_suffix(".png")))
    finite = np.isfinite(res.W)
    span = float(np.max(res.W[finite]) - np.min(res.W[finite])) if finite.any() else 0.0
    print(f"{res.method.upper()} PMF of {len(windows.samples)} windows at {res.T:g} K, "
          f"{int(finite.sum())} of {res.W.size} bins sampled, range {span:.2f} kJ/mol, "
          f"Jacobian: {res.jacobian_key}")
    if res.dim == 2 and res.get("mfep") is not None:
        print(f"minimum free-energy path: barrier {res.mfep.barrier:.2f} kJ/mol at "
              f"({res.mfep.saddle[0]:.4g}, {res.mfep.saddle[1]:.4g})")
    if not res.converged:
        print("mdzoom pmf: warning: WHAM did not converge", file=sys.stderr)
    print("wrote " + ", ".join(os.fspath(f) for f in files))
    return 0
